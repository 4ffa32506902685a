"""Discord's error answers: field errors in its ``errors`` vocabulary, and the exception route handlers raise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sandbox import discord_payloads as P
from sandbox.discord_emu.constants import INVALID_FORM_BODY
from sandbox.discord_payloads import JsonObj


@dataclass(frozen=True)
class FieldError:
    """One problem in a request body, at a JSON path, in Discord's ``errors`` vocabulary."""

    path: tuple[str | int, ...]
    code: str
    message: str

    def describe(self) -> str:
        """``embeds.0.title: Must be 256 or fewer in length.``"""
        where = ".".join(str(p) for p in self.path) or "(body)"
        return f"{where}: {self.message}"


def errors_tree(problems: Iterable[FieldError]) -> JsonObj:
    """Nest field errors the way Discord's 50035 body does: ``{"content": {"_errors": [...]}}``."""
    tree: JsonObj = {}
    for problem in problems:
        node = tree
        for part in problem.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": problem.code, "message": problem.message})
    return tree


class DiscordHTTPError(Exception):
    """Raised by route handlers: becomes Discord's JSON error response (and maybe a violation)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: JsonObj | None = None,
        violation: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: JsonObj | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: JsonObj = body if body is not None else P.error_payload(code, message, errors)
        self.violation = violation
        self.headers: dict[str, str] = dict(headers or {})


def form_error(problems: Sequence[FieldError], what: str) -> DiscordHTTPError:
    detail = "; ".join(p.describe() for p in problems[:6])
    return DiscordHTTPError(
        400,
        INVALID_FORM_BODY,
        "Invalid Form Body",
        errors=errors_tree(problems),
        violation=f"{what}: {detail}",
    )


def too_long(path: tuple[str | int, ...], limit: int) -> FieldError:
    return FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
