"""Error answers: fal's ErrorObjects and error bodies (section 1.8), and the exception handlers raise."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from sandbox.fal_sim.constants import ERRORS_DOC, MISSING, MODEL_ERRORS, REQUEST_ERRORS


def error_object(
    loc: Sequence[str | int],
    msg: str,
    type_: str,
    *,
    input_value: object = MISSING,
    ctx: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """One ErrorObject of a 422 ``detail`` list (section 1.8): loc, msg, type, url, ctx?, input?."""
    out: dict[str, object] = {"loc": list(loc), "msg": msg, "type": type_, "url": f"{ERRORS_DOC}#{type_}"}
    if ctx:
        out["ctx"] = dict(ctx)
    if input_value is not MISSING:
        out["input"] = copy.deepcopy(input_value)
    return out


def model_error_body(
    type_: str, loc: Sequence[str | int] = ("body",), input_value: object = MISSING
) -> tuple[int, dict[str, object]]:
    """``(status, {"detail": [ErrorObject]})`` for a model error type of section 1.8."""
    status, msg = MODEL_ERRORS.get(type_, (422, type_.replace("_", " ")))
    return status, {"detail": [error_object(loc, msg, type_, input_value=input_value)]}


def request_error_body(error_type: str) -> tuple[int, dict[str, object]]:
    """``(status, {"detail": text, "error_type": code})`` for a request error type of section 1.8."""
    status, text = REQUEST_ERRORS.get(error_type, (500, error_type.replace("_", " ")))
    return status, {"detail": text, "error_type": error_type}


class ApiError(Exception):
    """An error answer: HTTP status, JSON body and extra headers."""

    def __init__(self, status: int, payload: object, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})


def detail_error(status: int, text: str) -> ApiError:
    return ApiError(status, {"detail": text})
