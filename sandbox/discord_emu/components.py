"""Message components and modals: walking them, numbering them as Discord stores them, and filling a
modal's text inputs as Discord's client submits them.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping

from sandbox.discord_emu.values import is_int
from sandbox.discord_payloads import JsonObj


def walk_modal_inputs(modal: JsonObj) -> Iterator[tuple[JsonObj, JsonObj]]:
    """(top-level component, text input) for each text input of a modal, in a row or a label."""
    for top in modal.get("components") or []:
        inner = top.get("components") or (
            [top["component"]] if isinstance(top.get("component"), dict) else []
        )
        for comp in inner:
            if comp.get("type") == 4:
                yield top, comp


def _filled(text_input: JsonObj, values: Mapping[str, str]) -> JsonObj:
    """A text input as a submit carries it, checked as Discord's client checks it before sending."""
    custom_id = str(text_input["custom_id"])
    value = values.get(custom_id, text_input.get("value") or "")
    if text_input.get("required", True) and not value:
        raise ValueError(f"text input {custom_id!r} is required")
    if value and len(value) < int(text_input.get("min_length") or 0):
        raise ValueError(f"text input {custom_id!r} is shorter than min_length")
    if len(value) > int(text_input.get("max_length") or 4000):
        raise ValueError(f"text input {custom_id!r} is longer than max_length")
    out: JsonObj = {"type": 4, "custom_id": custom_id, "value": value}
    if text_input.get("id") is not None:
        out["id"] = text_input["id"]
    return out


def submitted_component(top: JsonObj, values: Mapping[str, str]) -> JsonObj | None:
    """A modal's top-level component as the submit carries it: rows keep their text inputs, labels
    their one component; text displays are not sent back."""
    kind = top.get("type")
    if kind == 1:
        return {"type": 1, "components": [_filled(c, values) for c in top.get("components") or []]}
    if kind == 18 and isinstance(top.get("component"), dict) and top["component"].get("type") == 4:
        return {"type": 18, "component": _filled(top["component"], values)}
    return None


def walk_components(
    components: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], JsonObj]]:
    if not isinstance(components, list):
        return
    for i, comp in enumerate(components):
        if not isinstance(comp, dict):
            continue
        here = (*path, i)
        yield here, comp
        yield from walk_components(comp.get("components"), (*here, "components"))
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield (*here, "accessory"), accessory


def numbered_components(components: object) -> list[JsonObj]:
    """A stored copy: Discord's numeric ``id`` on every component (given ids kept, the rest counted up)."""
    copied: list[JsonObj] = json.loads(json.dumps(components)) if isinstance(components, list) else []
    walked = [comp for _, comp in walk_components(copied, ())]
    taken = {c["id"] for c in walked if is_int(c.get("id"))}
    counter = itertools.count(1)
    for comp in walked:
        if not is_int(comp.get("id")):
            comp["id"] = next(n for n in counter if n not in taken)
        emoji = comp.get("emoji")
        if isinstance(emoji, dict):  # a unicode emoji comes back as {"name": ...}, without "id": null
            comp["emoji"] = {k: v for k, v in emoji.items() if v is not None}
    return copied
