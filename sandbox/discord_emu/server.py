"""HTTP plumbing: matching REST requests to route handlers, reading bodies, recording every call, the CDN."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Final

from aiohttp import BodyPartReader, WSCloseCode, web

from sandbox import discord_payloads as P
from sandbox.discord_emu.constants import API_PREFIX, INVALID_FORM_BODY, INVALID_JSON, TOO_LARGE
from sandbox.discord_emu.errors import DiscordHTTPError, form_error
from sandbox.discord_emu.ratelimits import RateLimitsLayer
from sandbox.discord_emu.records import RecordedCall, RecordedFile
from sandbox.discord_emu.routing import ROUTES_ATTR, Req, Resp, Route, UploadedFile, json_response
from sandbox.discord_emu.spec import validate_against_spec
from sandbox.discord_emu.values import as_snowflake

_FILE_FIELD: Final = re.compile(r"files\[(\d+)\]|file(\d*)")
log = logging.getLogger(__name__)


def _path_regex(template: str) -> re.Pattern[str]:
    """A route template (``/channels/{channel_id}/messages``) as the regex request paths are matched with."""
    # Snowflake parameters only match digits, so "@original"/"@me" never collide with them.
    pattern = re.sub(
        r"\\\{(\w+)\\\}",
        lambda m: f"(?P<{m[1]}>{'[0-9]+' if m[1].endswith('_id') else '[^/]+'})",
        re.escape(template),
    )
    return re.compile(f"^{pattern}$")


class ServerLayer(RateLimitsLayer):
    """The REST entry point that every ``/api/v10`` request goes through."""

    #: Every route handler of the emulator's layers (built once all of them are in place).
    _routes: list[Route]

    async def shutdown(self) -> None:
        """Cancel timers and close gateway connections (going away)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for conn in list(self._conns):
            conn.close(int(WSCloseCode.GOING_AWAY))

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self.shutdown()

    def _build_routes(self) -> list[Route]:
        routes = []
        seen: set[str] = set()
        # The handlers sit on the layers the emulator is made of: walk them all, nearest first (an
        # attribute a nearer layer redefines hides the farther one, as attribute lookup does).
        for layer in type(self).__mro__:
            for attr, function in vars(layer).items():
                if attr in seen:
                    continue
                seen.add(attr)
                for method, template, name, bot_auth in getattr(function, ROUTES_ATTR, ()):
                    handler = getattr(self, attr)
                    routes.append(Route(method, template, _path_regex(template), name, handler, bot_auth))
        return routes

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method:
                found = route.regex.match(path)
                if found:
                    return route, found.groupdict()
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            body: Any = None
            files: list[UploadedFile] = []
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):  # nested multipart: not something discord.py sends
                    continue
                data = await part.read(decode=False)
                name = part.name or ""
                if name == "payload_json":
                    body = self._parse_json(bytes(data))
                    continue
                match = _FILE_FIELD.fullmatch(name)
                index = None
                if match:
                    index = int(match.group(1) if match.group(1) is not None else (match.group(2) or 0))
                files.append(
                    UploadedFile(
                        name,
                        index,
                        part.filename or name,
                        part.headers.get("Content-Type", "application/octet-stream"),
                        bytes(data),
                    )
                )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        if ctype != "application/json":
            raise DiscordHTTPError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                violation=f"body sent as {ctype!r}, not application/json",
            )
        return self._parse_json(raw), []

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise DiscordHTTPError(
                400,
                INVALID_JSON,
                "The request body contains invalid JSON.",
                violation="request body is not valid JSON",
            ) from None

    async def _api(self, request: web.Request) -> web.StreamResponse:
        self._learn_base_url(request)
        path = request.path[len(API_PREFIX) :] or "/"
        query = dict(request.query)
        body: Any = None
        files: list[UploadedFile] = []
        route_name, template = "unknown", ""
        try:
            matched = self._match(request.method, path)
            if matched is None:
                raise DiscordHTTPError(
                    404, 0, "404: Not Found", violation=f"unknown route {request.method} {path}"
                )
            route, params = matched
            route_name, template = route.name, route.template
            if route.bot_auth:
                self._check_auth(request)
                self._check_global_rate()
            body, files = await self._read_body(request)
            self._check_request(route, request.method, path, body, files)
            resp = await route.handler(Req(request.method, path, params, query, body, files, request))
        except DiscordHTTPError as exc:
            if exc.violation:
                self._violate(f"{request.method} {path} -> {exc.status}: {exc.violation}")
            resp = Resp(exc.status, exc.body, exc.headers)
        except Exception as exc:
            # An emulator bug must fail the test run, not pass as one of Discord's retryable 500s.
            log.exception("emulator error on %s %s", request.method, path)
            self._violate(f"{request.method} {path} -> 500: emulator error {exc!r}")
            resp = Resp(500, P.error_payload(0, "500: Internal Server Error"))
        self.calls.append(
            RecordedCall(
                method=request.method,
                path=path,
                query=query,
                json=body,
                files=[
                    RecordedFile(f.field, f.filename, f.content_type, len(f.data), f.data[:64]) for f in files
                ],
                status=resp.status,
                at=self.now(),
                route=route_name,
                response=resp.body,
                template=template,
            )
        )
        self._notify()
        return json_response(resp.status, resp.body, resp.headers)

    def _check_request(
        self, route: Route, method: str, path: str, body: Any, files: list[UploadedFile]
    ) -> None:
        """What Discord refuses before any route looks at a request: too many bytes, a body off its schema."""
        total = sum(len(f.data) for f in files)
        if total > self.config.max_request_size:
            raise DiscordHTTPError(
                413,
                TOO_LARGE,
                "Request entity too large",
                violation=f"request carries {total} bytes of files",
            )
        if body is not None:
            problems = validate_against_spec(self._spec_path, route.template, method.lower(), body)
            if problems:
                raise form_error(problems, f"{method} {path} does not match Discord's schema")

    def _check_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.config.bot_token}":
            raise DiscordHTTPError(401, 0, "401: Unauthorized", violation="missing or wrong bot token")

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        aid = as_snowflake(request.match_info["attachment_id"])
        attachment = self.attachments.get(aid) if aid is not None else None
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type)
