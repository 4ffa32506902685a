"""REST routing: the ``api_route`` mark route handlers carry, and the request and response they take and give."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from aiohttp import web

from sandbox.discord_emu.values import json_text


@dataclass
class UploadedFile:
    field: str
    index: int | None
    filename: str
    content_type: str
    data: bytes


@dataclass
class Req:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[UploadedFile]
    request: web.Request


@dataclass
class Resp:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Req], Awaitable[Resp]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    name: str
    handler: Handler
    bot_auth: bool  # bot-token routes (and the global rate limit); webhook/interaction routes are not


ROUTES_ATTR: Final = "_emu_routes"
_F = TypeVar("_F", bound=Callable[..., Any])


def api_route(
    method: str, template: str, *, name: str | None = None, bot_auth: bool = True
) -> Callable[[_F], _F]:
    """Mark a handler as serving ``method API_PREFIX+template`` (templates use the OpenAPI spec's names).

    ``bot_auth`` routes need the bot token and count against the global limit; webhook and interaction
    routes authenticate by their token in the path and are exempt, as on Discord.
    """

    def mark(handler: _F) -> _F:
        marks = [
            *getattr(handler, ROUTES_ATTR, ()),
            (method, template, name or handler.__name__.lstrip("_"), bot_auth),
        ]
        setattr(handler, ROUTES_ATTR, marks)
        return handler

    return mark


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    """Discord's JSON answer (or an empty one when ``body`` is None)."""
    # Exactly "application/json": discord.py compares the header by equality (pitfall 1, no charset).
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        status=status, body=json_text(body).encode(), content_type="application/json", headers=headers
    )
