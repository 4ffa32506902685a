"""Error answers: the exception handlers raise, with useapi.net's JSON body."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body (which carries ``code`` = status)."""

    def __init__(self, status: int, payload: dict[str, object]) -> None:
        super().__init__(payload.get("error"))
        self.status = status
        self.payload = payload


def api_error(status: int, message: str, **extra: object) -> ApiError:
    """Build the documented ``{"error": …, …, "code": status}`` error."""
    return ApiError(status, {"error": message, **extra, "code": status})
