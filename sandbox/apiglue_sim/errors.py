"""Error answers: the exception handlers raise, and the bodies of the status and HTML fault knobs."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body."""

    def __init__(self, status: int, payload: dict[str, object]) -> None:
        super().__init__(payload.get("error"))
        self.status = status
        self.payload = payload


def api_error(status: int, message: str) -> ApiError:
    """Build an error as ``{"error": message, "code": status}`` (UNCONFIRMED shape, see the package doc)."""
    return ApiError(status, {"error": message, "code": status})


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status, ``Server Error`` for one the standard does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def html_502() -> web.Response:
    """The Cloudflare-like 502 HTML page of the ``html_error`` knob."""
    html = (
        "<html><head><title>502 Bad Gateway</title></head><body>"
        "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
    )
    return web.Response(status=502, text=html, content_type="text/html")
