"""Discord's message limits, checked by hand (clearer than schema errors, and stricter where the docs say so)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.discord_emu.components import walk_components
from sandbox.discord_emu.constants import (
    MAX_ACTION_ROWS,
    MAX_ATTACHMENTS,
    MAX_AUTHOR_NAME,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_EMBED_DESCRIPTION,
    MAX_EMBED_FIELDS,
    MAX_EMBED_TITLE,
    MAX_EMBED_TOTAL,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FOOTER,
    MAX_LABEL,
    MAX_NONCE,
    MAX_ROW_BUTTONS,
    MAX_SELECT_OPTIONS,
    MAX_V2_COMPONENTS,
)
from sandbox.discord_emu.errors import FieldError, too_long
from sandbox.discord_emu.values import is_int, str_len
from sandbox.discord_payloads import JsonObj, MessageFlag


def embed_errors(embeds: object) -> list[FieldError]:
    """Embed count, per-field lengths and the 6000-character total across all embeds."""
    if not isinstance(embeds, list):
        return []
    problems: list[FieldError] = []
    if len(embeds) > MAX_EMBEDS:
        problems.append(too_long(("embeds",), MAX_EMBEDS))
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        base: tuple[str | int, ...] = ("embeds", i)
        for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
            n = str_len(embed.get(key))
            total += n
            if n > limit:
                problems.append(too_long((*base, key), limit))
        for key, sub, limit in (("footer", "text", MAX_FOOTER), ("author", "name", MAX_AUTHOR_NAME)):
            part = embed.get(key)
            n = str_len(part.get(sub)) if isinstance(part, dict) else 0
            total += n
            if n > limit:
                problems.append(too_long((*base, key, sub), limit))
        fields = embed.get("fields") or []
        if isinstance(fields, list):
            if len(fields) > MAX_EMBED_FIELDS:
                problems.append(too_long((*base, "fields"), MAX_EMBED_FIELDS))
            for j, fld in enumerate(fields):
                if not isinstance(fld, dict):
                    continue
                for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
                    n = str_len(fld.get(key))
                    total += n
                    if n > limit:
                        problems.append(too_long((*base, "fields", j, key), limit))
    if total > MAX_EMBED_TOTAL:
        problems.append(
            FieldError(
                ("embeds",),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            )
        )
    return problems


def component_errors(components: object, *, v2: bool) -> list[FieldError]:
    """Rows, buttons per row, custom_id length/uniqueness, labels, select options, v2 totals."""
    if not isinstance(components, list):
        return []
    problems = _layout_errors(components, v2=v2)
    seen: set[str] = set()
    for path, comp in walk_components(components, ("components",)):
        problems += _custom_id_errors(path, comp.get("custom_id"), seen)
        if comp.get("type") == 2:
            problems += _button_errors(path, comp)
        if comp.get("type") == 3 and len(comp.get("options") or []) > MAX_SELECT_OPTIONS:
            problems.append(too_long((*path, "options"), MAX_SELECT_OPTIONS))
    return problems


def _layout_errors(components: list[Any], *, v2: bool) -> list[FieldError]:
    """V2: the total count; legacy: at most 5 action rows of 5 buttons or one select each."""
    problems: list[FieldError] = []
    if v2:
        count = sum(1 for _ in walk_components(components, ("components",)))
        if count > MAX_V2_COMPONENTS:
            problems.append(too_long(("components",), MAX_V2_COMPONENTS))
        return problems
    if len(components) > MAX_ACTION_ROWS:
        problems.append(too_long(("components",), MAX_ACTION_ROWS))
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            problems.append(
                FieldError(
                    ("components", i, "type"),
                    "COMPONENT_LAYOUT_INVALID",
                    "Top-level components must be action rows.",
                )
            )
            continue
        children = row.get("components") or []
        kinds = [c.get("type") for c in children if isinstance(c, dict)]
        buttons = sum(1 for k in kinds if k == 2)
        if buttons > MAX_ROW_BUTTONS:
            problems.append(too_long(("components", i, "components"), MAX_ROW_BUTTONS))
        if (buttons and len(kinds) != buttons) or len([k for k in kinds if k != 2]) > 1:
            problems.append(
                FieldError(
                    ("components", i, "components"),
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "An action row holds up to 5 buttons or exactly one select menu.",
                )
            )
    return problems


def _custom_id_errors(path: tuple[str | int, ...], custom_id: object, seen: set[str]) -> list[FieldError]:
    """A custom_id's length, and that no other component of the message has it (``seen`` so far)."""
    problems: list[FieldError] = []
    if isinstance(custom_id, str):
        if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
            problems.append(
                FieldError(
                    (*path, "custom_id"),
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_CUSTOM_ID} in length.",
                )
            )
        if custom_id in seen:
            problems.append(
                FieldError(
                    (*path, "custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            )
        seen.add(custom_id)
    return problems


def _button_errors(path: tuple[str | int, ...], comp: JsonObj) -> list[FieldError]:
    """A button's label length, and a custom_id for the styles that need one or a url for links."""
    problems: list[FieldError] = []
    custom_id = comp.get("custom_id")
    style = comp.get("style")
    if str_len(comp.get("label")) > MAX_LABEL:
        problems.append(too_long((*path, "label"), MAX_LABEL))
    if style in (1, 2, 3, 4) and not isinstance(custom_id, str):
        problems.append(
            FieldError(
                (*path, "custom_id"),
                "BASE_TYPE_REQUIRED",
                "A custom id is required for this button style.",
            )
        )
    if style == 5 and (custom_id is not None or not comp.get("url")):
        problems.append(
            FieldError(
                (*path, "url"),
                "BUTTON_COMPONENT_INVALID",
                "Link buttons need a url and no custom_id.",
            )
        )
    return problems


def message_body_errors(body: Mapping[str, Any]) -> list[FieldError]:
    """Discord's message limits for a create or edit body: content, embeds, components, nonce, attachments."""
    problems: list[FieldError] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        problems.append(too_long(("content",), MAX_CONTENT))
    problems += embed_errors(body.get("embeds"))
    raw_flags = body.get("flags")
    v2 = is_int(raw_flags) and bool(raw_flags & MessageFlag.IS_COMPONENTS_V2)
    problems += component_errors(body.get("components"), v2=v2)
    if v2 and (content or body.get("embeds")):
        problems.append(
            FieldError(
                ("content",),
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "Components V2 messages cannot have content or embeds.",
            )
        )
    nonce = body.get("nonce")
    if isinstance(nonce, str) and len(nonce) > MAX_NONCE:
        problems.append(too_long(("nonce",), MAX_NONCE))
    attachments = body.get("attachments")
    if isinstance(attachments, list) and len(attachments) > MAX_ATTACHMENTS:
        problems.append(too_long(("attachments",), MAX_ATTACHMENTS))
    return problems


def is_empty_message(body: Mapping[str, Any], *, has_files: bool) -> bool:
    """Discord's 50006: no content, embeds, files, components, stickers or poll."""
    return not (
        body.get("content")
        or body.get("embeds")
        or has_files
        or body.get("attachments")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
    )
