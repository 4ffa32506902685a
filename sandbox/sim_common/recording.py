"""Recording what a simulator receives: the fields every recorded request starts with, and the
middleware that records each request with the status it was answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

#: Control API paths; tests drive the simulators through them, so they are not what a client sent.
CONTROL_PREFIX = "/_sim/"


@dataclass
class RequestHead:
    """Method, path, query, headers and content type of a received request (each simulator's
    ``RecordedRequest`` adds what it keeps of the body)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    content_type: str

    @classmethod
    def of(cls, request: web.Request) -> Self:
        """The record of `request`, without its Authorization header (tests print records)."""
        return cls(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            content_type=request.content_type,
        )


class Answered(Protocol):
    """A record that learns the status its request was answered with."""

    status: int | None


R = TypeVar("R", bound=Answered)


def recording_middleware(sink: list[R], start: Callable[[web.Request], Awaitable[R]]) -> Middleware:
    """Append ``start(request)`` to `sink` for each request outside ``/_sim/``, then set its status."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        rec = await start(request)
        sink.append(rec)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            rec.status = exc.status
            raise
        rec.status = response.status
        return response

    return record
