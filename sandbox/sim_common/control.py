"""Control API answers (``/_sim/``) that read the same in every simulator: records and fault knobs."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# As the simulators' own answers: non-ASCII text (prompts) is sent as is, so tests read it back.
_dumps: Final = functools.partial(json.dumps, ensure_ascii=False)

ERR_CONTROL_BODY: Final = "body must be a JSON object"


def records_response(records: Iterable[DataclassInstance]) -> web.Response:
    """The records as a JSON list (``/_sim/requests``, ``/_sim/callbacks``)."""
    return web.json_response([asdict(r) for r in records], dumps=_dumps)


def knobs_response(knobs: DataclassInstance) -> web.Response:
    """The fault knobs as they are now."""
    return web.json_response(asdict(knobs), dumps=_dumps)


async def post_knobs(
    request: web.Request, knobs: DataclassInstance, update: Callable[[Mapping[str, object]], None]
) -> web.Response:
    """``POST /_sim/faults``: `update` with the JSON object sent; 400 when it is not one or is refused."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return web.json_response({"error": ERR_CONTROL_BODY}, status=400)
    try:
        update(body)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return knobs_response(knobs)
