"""A protocol-level local stand-in for Discord that the real discord.py client connects to.

One aiohttp app on 127.0.0.1 serves the gateway websocket (``/gateway``: HELLO, heartbeats, IDENTIFY,
READY, GUILD_CREATE, RESUME, dispatches; one session per shard, each hearing its guilds), the REST routes discord.py 2.7 uses (``/api/v10/...``), a CDN
for attachment bytes (``/cdn/attachments/<id>/<filename>``) and a small control API (``/_emu/...``).

It enforces what Discord enforces and fails loudly otherwise: every breach (late or double ack, dead
interaction token, oversized content/embeds/components/files, malformed bodies per Discord's OpenAPI
spec, unknown routes, bad tokens) is answered with Discord's error body *and* appended to
``violations``, which tests assert is empty. Every REST call is recorded in ``calls``.

Deliberately independent: it imports nothing from the engine (``bot``/``cogs``) and nothing from
discord.py, so a misunderstanding of Discord in the bot cannot be mirrored (and hidden) here.
Facts it relies on: docs/discord.md (sections 8-9 for discord.py's needs, 1-7 for Discord's limits,
10 for sharding).

Run it standalone with ``python -m sandbox.discord_emu --port 0``; it prints its URLs as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import gzip
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeGuard, TypeVar

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web
from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox import discord_payloads as P
from sandbox.discord_payloads import (
    CallbackType,
    ChannelType,
    InteractionType,
    JsonObj,
    MessageFlag,
    MessageType,
    OptionType,
    Perm,
)
from sandbox.serving import bind, listen_arguments, serve_until_stopped

__all__ = [
    "DiscordEmulator",
    "EmuAttachment",
    "EmuChannel",
    "EmuConfig",
    "EmuFaults",
    "EmuGuild",
    "EmuInteraction",
    "EmuMessage",
    "EmuResponse",
    "GatewayRecord",
    "MessageSource",
    "RecordedCall",
    "RecordedFile",
    "RunningEmulator",
    "ShardSession",
    "shard_of",
    "start_emulator",
]

API_PREFIX: Final = "/api/v10"
SPEC_URI: Final = "urn:discord-openapi"
DEFAULT_SPEC: Final = Path(__file__).parent / "assets" / "discord-openapi.json.gz"
MiB: Final = 1024 * 1024

# Discord's documented limits (docs/discord.md; where the OpenAPI spec is looser, the docs win).
MAX_CONTENT: Final = 2000
MAX_EMBEDS: Final = 10
MAX_EMBED_TITLE: Final = 256
MAX_EMBED_DESCRIPTION: Final = 4096
MAX_EMBED_FIELDS: Final = 25
MAX_FIELD_NAME: Final = 256
MAX_FIELD_VALUE: Final = 1024
MAX_FOOTER: Final = 2048
MAX_AUTHOR_NAME: Final = 256
MAX_EMBED_TOTAL: Final = 6000
MAX_ACTION_ROWS: Final = 5
MAX_ROW_BUTTONS: Final = 5
MAX_V2_COMPONENTS: Final = 40
MAX_CUSTOM_ID: Final = 100
MAX_LABEL: Final = 80
MAX_SELECT_OPTIONS: Final = 25
MAX_NONCE: Final = 25
MAX_ATTACHMENTS: Final = 10
MAX_THREAD_NAME: Final = 100
AUTO_ARCHIVE_DURATIONS: Final = frozenset({60, 1440, 4320, 10080})
MAX_COMMAND_NAME: Final = 32
MAX_COMMAND_DESCRIPTION: Final = 100
MAX_COMMAND_OPTIONS: Final = 25
MAX_CHOICES: Final = 25
MAX_CHOICE_VALUE: Final = 100
MAX_COMMAND_CHARS: Final = 8000
MAX_GLOBAL_CHAT_COMMANDS: Final = 100
MAX_STRING_OPTION_LENGTH: Final = 6000
MAX_HISTORY: Final = 100

# Gateway opcodes and intents.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_VOICE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = (
    6,
    7,
    8,
    9,
    10,
    11,
)
INTENT_GUILDS: Final = 1 << 0
INTENT_GUILD_MEMBERS: Final = 1 << 1
INTENT_GUILD_PRESENCES: Final = 1 << 8
INTENT_GUILD_MESSAGES: Final = 1 << 9
INTENT_MESSAGE_CONTENT: Final = 1 << 15
PRIVILEGED_INTENTS: Final = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
#: Dispatches Discord only sends to sessions that asked for the intent (READY, GUILD_CREATE,
#: INTERACTION_CREATE and RESUMED always go out).
EVENT_INTENTS: Final = {
    "CHANNEL_UPDATE": INTENT_GUILDS,
    "GUILD_ROLE_CREATE": INTENT_GUILDS,
    "CHANNEL_DELETE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS,
    "THREAD_UPDATE": INTENT_GUILDS,
    "THREAD_DELETE": INTENT_GUILDS,
    "MESSAGE_CREATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_UPDATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE": INTENT_GUILD_MESSAGES,
}
REPLAY_BUFFER: Final = 2000
# Gateway close codes for a bad ``shard`` in IDENTIFY (docs/discord.md, section 10).
CLOSE_INVALID_SHARD: Final = 4010
CLOSE_SHARDING_REQUIRED: Final = 4011

# Discord JSON error codes used here.
UNKNOWN_CHANNEL: Final = 10003
UNKNOWN_GUILD: Final = 10004
UNKNOWN_MESSAGE: Final = 10008
UNKNOWN_USER: Final = 10013
UNKNOWN_WEBHOOK: Final = 10015
UNKNOWN_INTERACTION: Final = 10062
TOO_LARGE: Final = 40005
ALREADY_ACKNOWLEDGED: Final = 40060
CANNOT_EDIT_OTHERS: Final = 50005
EMPTY_MESSAGE: Final = 50006
MISSING_PERMISSIONS: Final = 50013
WRONG_CHANNEL_TYPE: Final = 50024
INVALID_WEBHOOK_TOKEN: Final = 50027
INVALID_FORM_BODY: Final = 50035
THREAD_ARCHIVED: Final = 50083
INVALID_JSON: Final = 50109
THREAD_ALREADY_CREATED: Final = 160004

_MENTION_USER: Final = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE: Final = re.compile(r"<@&(\d+)>")
_FILE_FIELD: Final = re.compile(r"files\[(\d+)\]|file(\d*)")
_INT_STRING: Final = re.compile(r"-?\d+")
_dumps = functools.partial(json.dumps, ensure_ascii=False)
_T = TypeVar("_T")
log = logging.getLogger(__name__)


def _now_wall() -> float:
    return time.time()


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: Discord's ``(guild_id >> 22) % num_shards``."""
    return (guild_id >> 22) % shard_count


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_snowflake(value: object) -> int | None:
    """Ids arrive as strings or (from discord.py, in places) JSON ints; both are accepted."""
    if _is_int(value):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


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


def _form_error(problems: Sequence[FieldError], what: str) -> DiscordHTTPError:
    detail = "; ".join(p.describe() for p in problems[:6])
    return DiscordHTTPError(
        400,
        INVALID_FORM_BODY,
        "Invalid Form Body",
        errors=errors_tree(problems),
        violation=f"{what}: {detail}",
    )


# --------------------------------------------------------------------------------------------------
# OpenAPI validation (Discord's own spec of REST v10, loaded and compiled once per process)
# --------------------------------------------------------------------------------------------------

_BASE_TYPE = Draft202012Validator.VALIDATORS["type"]


def _lenient_type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """Discord accepts int-parseable strings for integers and, from discord.py, ints for snowflakes."""
    wanted = types if isinstance(types, list) else [types]
    if isinstance(instance, str) and "integer" in wanted and _INT_STRING.fullmatch(instance):
        return
    if _is_int(instance) and "string" in wanted and schema.get("format") == "snowflake":
        return
    yield from _BASE_TYPE(validator, types, instance, schema)


# The spec README says `anyOf` means one-of; with the lenient types above, a digit-only nonce matches both
# the integer and the string branch of a real `oneOf`, which Discord accepts. Both are checked as "any".
_SpecValidator = validators.extend(
    Draft202012Validator,
    {"type": _lenient_type, "oneOf": Draft202012Validator.VALIDATORS["anyOf"]},
)

_KEYWORD_CODES: Final = {
    "maxLength": "BASE_TYPE_MAX_LENGTH",
    "minLength": "BASE_TYPE_MIN_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "required": "BASE_TYPE_REQUIRED",
    "type": "BASE_TYPE_BAD_TYPE",
    "enum": "BASE_TYPE_CHOICES",
    "const": "BASE_TYPE_CHOICES",
    "maximum": "NUMBER_TYPE_MAX",
    "minimum": "NUMBER_TYPE_MIN",
}


@functools.cache
def _spec_registry(path: str) -> tuple[Registry[Any], Any]:
    """Load the spec (plain or gzipped JSON) into a referencing registry; cached for the process."""
    raw = Path(path).read_bytes()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    spec = json.loads(raw)
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return registry, spec


@functools.cache
def _spec_validator(path: str, route: str, method: str, where: tuple[str, ...]) -> Any | None:
    """A compiled validator for one JSON schema of an operation (``where`` is the pointer below it).

    Local ``$ref``s met on the way (``responses/4XX`` -> ``components/responses/...``) are followed.
    """
    registry, spec = _spec_registry(path)
    parts: list[str] = ["paths", route, method]
    node = spec["paths"].get(route, {}).get(method)
    for part in where:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            parts = node["$ref"][2:].split("/")
            node = functools.reduce(lambda n, key: n[key], parts, spec)
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
        parts.append(part)
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)
    return _SpecValidator({"$ref": f"{SPEC_URI}#/{pointer}"}, registry=registry)


def _leaf_errors(error: ValidationError) -> list[ValidationError]:
    """For a failed any/oneOf, descend into the branch whose ``type`` discriminator matched."""
    if not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0] if sub.relative_schema_path else 0].append(sub)

    def excluded(errs: list[ValidationError]) -> bool:
        for e in errs:
            rel = list(e.relative_path)
            if e.validator in ("enum", "const") and rel == ["type"]:
                return True
            if e.validator == "type" and not rel:
                return True
        return False

    candidates = [errs for errs in branches.values() if not excluded(errs)]
    if not candidates:
        return [best_match([error])]
    chosen = min(candidates, key=len)
    return [leaf for sub in chosen for leaf in _leaf_errors(sub)]


def _spec_problems(validator: Any, body: object) -> list[FieldError]:
    problems: list[FieldError] = []
    for error in validator.iter_errors(body):
        for leaf in _leaf_errors(error):
            code = _KEYWORD_CODES.get(str(leaf.validator), "BASE_TYPE_INVALID")
            path = tuple(p if isinstance(p, int) else str(p) for p in leaf.absolute_path)
            problems.append(FieldError(path, code, f"{leaf.message[:300]} (schema: {leaf.validator})"))
    return problems


def validate_against_spec(spec_path: str, route: str, method: str, body: object) -> list[FieldError]:
    """Check a request body against ``method route``'s JSON requestBody schema in Discord's OpenAPI spec."""
    where = ("requestBody", "content", "application/json", "schema")
    validator = _spec_validator(spec_path, route, method, where)
    return [] if validator is None else _spec_problems(validator, body)


def validate_response_against_spec(
    spec_path: str, route: str, method: str, status: int, body: object
) -> list[FieldError]:
    """Check one of the emulator's own answers against the spec's response schema (used by its tests).

    The spec types field-error codes as integers, but Discord sends (and documents) strings such as
    ``BASE_TYPE_MAX_LENGTH`` under ``errors``; that subtree is left out of the check.
    """
    if isinstance(body, dict) and "errors" in body:
        body = {k: v for k, v in body.items() if k != "errors"}
    for key in (str(status), f"{status // 100}XX"):
        validator = _spec_validator(
            spec_path, route, method, ("responses", key, "content", "application/json", "schema")
        )
        if validator is not None:
            return _spec_problems(validator, body)
    return []


# --------------------------------------------------------------------------------------------------
# Discord's limits, checked by hand (clearer than schema errors, and stricter where the docs say so)
# --------------------------------------------------------------------------------------------------


def _too_long(path: tuple[str | int, ...], limit: int) -> FieldError:
    return FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _str_len(value: object) -> int:
    return len(value) if isinstance(value, str) else 0


def embed_errors(embeds: object) -> list[FieldError]:
    """Embed count, per-field lengths and the 6000-character total across all embeds."""
    if not isinstance(embeds, list):
        return []
    problems: list[FieldError] = []
    if len(embeds) > MAX_EMBEDS:
        problems.append(_too_long(("embeds",), MAX_EMBEDS))
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        base: tuple[str | int, ...] = ("embeds", i)
        for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
            n = _str_len(embed.get(key))
            total += n
            if n > limit:
                problems.append(_too_long((*base, key), limit))
        for key, sub, limit in (("footer", "text", MAX_FOOTER), ("author", "name", MAX_AUTHOR_NAME)):
            part = embed.get(key)
            n = _str_len(part.get(sub)) if isinstance(part, dict) else 0
            total += n
            if n > limit:
                problems.append(_too_long((*base, key, sub), limit))
        fields = embed.get("fields") or []
        if isinstance(fields, list):
            if len(fields) > MAX_EMBED_FIELDS:
                problems.append(_too_long((*base, "fields"), MAX_EMBED_FIELDS))
            for j, fld in enumerate(fields):
                if not isinstance(fld, dict):
                    continue
                for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
                    n = _str_len(fld.get(key))
                    total += n
                    if n > limit:
                        problems.append(_too_long((*base, "fields", j, key), limit))
    if total > MAX_EMBED_TOTAL:
        problems.append(
            FieldError(
                ("embeds",),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            )
        )
    return problems


def _walk_modal_inputs(modal: JsonObj) -> Iterator[tuple[JsonObj, JsonObj]]:
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


def _submitted_component(top: JsonObj, values: Mapping[str, str]) -> JsonObj | None:
    """A modal's top-level component as the submit carries it: rows keep their text inputs, labels
    their one component; text displays are not sent back."""
    kind = top.get("type")
    if kind == 1:
        return {"type": 1, "components": [_filled(c, values) for c in top.get("components") or []]}
    if kind == 18 and isinstance(top.get("component"), dict) and top["component"].get("type") == 4:
        return {"type": 18, "component": _filled(top["component"], values)}
    return None


def _walk_components(
    components: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], JsonObj]]:
    if not isinstance(components, list):
        return
    for i, comp in enumerate(components):
        if not isinstance(comp, dict):
            continue
        here = (*path, i)
        yield here, comp
        yield from _walk_components(comp.get("components"), (*here, "components"))
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            yield (*here, "accessory"), accessory


def numbered_components(components: object) -> list[JsonObj]:
    """A stored copy: Discord's numeric ``id`` on every component (given ids kept, the rest counted up)."""
    copied: list[JsonObj] = json.loads(json.dumps(components)) if isinstance(components, list) else []
    walked = [comp for _, comp in _walk_components(copied, ())]
    taken = {c["id"] for c in walked if _is_int(c.get("id"))}
    counter = itertools.count(1)
    for comp in walked:
        if not _is_int(comp.get("id")):
            comp["id"] = next(n for n in counter if n not in taken)
        emoji = comp.get("emoji")
        if isinstance(emoji, dict):  # a unicode emoji comes back as {"name": ...}, without "id": null
            comp["emoji"] = {k: v for k, v in emoji.items() if v is not None}
    return copied


def component_errors(components: object, *, v2: bool) -> list[FieldError]:
    """Rows, buttons per row, custom_id length/uniqueness, labels, select options, v2 totals."""
    if not isinstance(components, list):
        return []
    problems: list[FieldError] = []
    if v2:
        count = sum(1 for _ in _walk_components(components, ("components",)))
        if count > MAX_V2_COMPONENTS:
            problems.append(_too_long(("components",), MAX_V2_COMPONENTS))
    else:
        if len(components) > MAX_ACTION_ROWS:
            problems.append(_too_long(("components",), MAX_ACTION_ROWS))
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
                problems.append(_too_long(("components", i, "components"), MAX_ROW_BUTTONS))
            if (buttons and len(kinds) != buttons) or len([k for k in kinds if k != 2]) > 1:
                problems.append(
                    FieldError(
                        ("components", i, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "An action row holds up to 5 buttons or exactly one select menu.",
                    )
                )
    seen: set[str] = set()
    for path, comp in _walk_components(components, ("components",)):
        custom_id = comp.get("custom_id")
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
        if comp.get("type") == 2:
            style = comp.get("style")
            if _str_len(comp.get("label")) > MAX_LABEL:
                problems.append(_too_long((*path, "label"), MAX_LABEL))
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
        if comp.get("type") == 3 and len(comp.get("options") or []) > MAX_SELECT_OPTIONS:
            problems.append(_too_long((*path, "options"), MAX_SELECT_OPTIONS))
    return problems


def message_body_errors(body: Mapping[str, Any]) -> list[FieldError]:
    """Discord's message limits for a create or edit body: content, embeds, components, nonce, attachments."""
    problems: list[FieldError] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        problems.append(_too_long(("content",), MAX_CONTENT))
    problems += embed_errors(body.get("embeds"))
    raw_flags = body.get("flags")
    v2 = _is_int(raw_flags) and bool(raw_flags & MessageFlag.IS_COMPONENTS_V2)
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
        problems.append(_too_long(("nonce",), MAX_NONCE))
    attachments = body.get("attachments")
    if isinstance(attachments, list) and len(attachments) > MAX_ATTACHMENTS:
        problems.append(_too_long(("attachments",), MAX_ATTACHMENTS))
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


def _name_ok(name: object, *, chat_input: bool) -> bool:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_COMMAND_NAME:
        return False
    if chat_input:
        return re.fullmatch(r"[-_'\w]+", name) is not None and name == name.lower()
    return True


def _option_errors(option: object, path: tuple[str | int, ...]) -> tuple[list[FieldError], int]:
    """Validate one command option recursively; returns problems and the characters it counts."""
    if not isinstance(option, dict):
        return [FieldError(path, "BASE_TYPE_BAD_TYPE", "Option must be an object.")], 0
    problems: list[FieldError] = []
    kind, name, description = option.get("type"), option.get("name"), option.get("description")
    chars = _str_len(name) + _str_len(description)
    if not _is_int(kind) or not OptionType.SUB_COMMAND <= kind <= OptionType.ATTACHMENT:
        problems.append(
            FieldError((*path, "type"), "BASE_TYPE_CHOICES", f"Value must be one of 1..11, got {kind!r}.")
        )
    if not _name_ok(name, chat_input=True):
        problems.append(
            FieldError((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", f"Invalid option name {name!r}.")
        )
    if not isinstance(description, str) or not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION:
        problems.append(
            FieldError((*path, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        )
    choices = option.get("choices") or []
    if isinstance(choices, list):
        if len(choices) > MAX_CHOICES:
            problems.append(_too_long((*path, "choices"), MAX_CHOICES))
        if choices and option.get("autocomplete"):
            problems.append(
                FieldError(
                    (*path, "autocomplete"),
                    "AUTOCOMPLETE_AND_CHOICES",
                    "Autocomplete and choices are exclusive.",
                )
            )
        for k, choice in enumerate(choices):
            if not isinstance(choice, dict):
                continue
            cname, value = choice.get("name"), choice.get("value")
            chars += _str_len(cname) + (len(str(value)) if value is not None else 0)
            if not isinstance(cname, str) or not 1 <= len(cname) <= MAX_CHOICE_VALUE:
                problems.append(
                    FieldError(
                        (*path, "choices", k, "name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                )
            if isinstance(value, str) and len(value) > MAX_CHOICE_VALUE:
                problems.append(_too_long((*path, "choices", k, "value"), MAX_CHOICE_VALUE))
    for key, low in (("min_length", 0), ("max_length", 1)):
        bound = option.get(key)
        if bound is not None and (not _is_int(bound) or not low <= bound <= MAX_STRING_OPTION_LENGTH):
            problems.append(
                FieldError(
                    (*path, key), "NUMBER_TYPE_MAX", f"{key} must be {low}..{MAX_STRING_OPTION_LENGTH}."
                )
            )
    subs = option.get("options")
    if kind in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
        sub_problems, sub_chars = _options_errors(subs, (*path, "options"), parent=kind)
        problems += sub_problems
        chars += sub_chars
    elif subs:
        problems.append(
            FieldError((*path, "options"), "BASE_TYPE_INVALID", "Only subcommands may have options.")
        )
    return problems, chars


def _options_errors(
    options: object, path: tuple[str | int, ...], *, parent: int | None
) -> tuple[list[FieldError], int]:
    if options is None:
        return [], 0
    if not isinstance(options, list):
        return [FieldError(path, "BASE_TYPE_BAD_TYPE", "Options must be a list.")], 0
    problems: list[FieldError] = []
    chars = 0
    if len(options) > MAX_COMMAND_OPTIONS:
        problems.append(_too_long(path, MAX_COMMAND_OPTIONS))
    kinds = [o.get("type") for o in options if isinstance(o, dict)]
    nested = [k for k in kinds if k in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)]
    if nested and len(nested) != len(kinds):
        problems.append(
            FieldError(
                path, "APPLICATION_COMMAND_OPTIONS_MIXED", "Subcommands cannot be mixed with other options."
            )
        )
    if parent == OptionType.SUB_COMMAND_GROUP and any(k != OptionType.SUB_COMMAND for k in kinds):
        problems.append(
            FieldError(path, "APPLICATION_COMMAND_OPTIONS_INVALID", "A group may only hold subcommands.")
        )
    if parent == OptionType.SUB_COMMAND and nested:
        problems.append(FieldError(path, "APPLICATION_COMMAND_OPTIONS_INVALID", "Subcommands cannot nest."))
    seen_optional = False
    names: set[str] = set()
    for i, option in enumerate(options):
        sub_problems, sub_chars = _option_errors(option, (*path, i))
        problems += sub_problems
        chars += sub_chars
        if not isinstance(option, dict):
            continue
        if option.get("name") in names:
            problems.append(
                FieldError(
                    (*path, i, "name"),
                    "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                    "Option names must be unique.",
                )
            )
        names.add(str(option.get("name")))
        if option.get("type") not in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
            if option.get("required"):
                if seen_optional:
                    problems.append(
                        FieldError(
                            (*path, i, "required"),
                            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                            "Required options must be placed before non-required options",
                        )
                    )
            else:
                seen_optional = True
    return problems, chars


def command_errors(commands: object, *, global_scope: bool) -> list[FieldError]:
    """The bulk-overwrite checks Discord applies to application commands (docs/discord.md section 5)."""
    if not isinstance(commands, list):
        return []
    problems: list[FieldError] = []
    seen: set[tuple[object, object]] = set()
    chat_inputs = 0
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, dict):
            continue
        kind = cmd.get("type") or 1
        name, description = cmd.get("name"), cmd.get("description")
        chat = kind == 1
        chat_inputs += chat
        if not _name_ok(name, chat_input=chat):
            problems.append(
                FieldError((i, "name"), "APPLICATION_COMMAND_INVALID_NAME", f"Invalid command name {name!r}.")
            )
        if chat and (
            not isinstance(description, str) or not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION
        ):
            problems.append(
                FieldError((i, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            )
        if not chat and description:
            problems.append(
                FieldError(
                    (i, "description"), "BASE_TYPE_INVALID", "Context menu commands have no description."
                )
            )
        if (kind, name) in seen:
            problems.append(
                FieldError(
                    (i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Duplicate command name {name!r}."
                )
            )
        seen.add((kind, name))
        opt_problems, chars = _options_errors(cmd.get("options"), (i, "options"), parent=None)
        problems += opt_problems
        chars += _str_len(name) + _str_len(description)
        if chars > MAX_COMMAND_CHARS:
            problems.append(
                FieldError(
                    (i,), "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds {MAX_COMMAND_CHARS} characters."
                )
            )
    if global_scope and chat_inputs > MAX_GLOBAL_CHAT_COMMANDS:
        problems.append(_too_long((), MAX_GLOBAL_CHAT_COMMANDS))
    return problems


# --------------------------------------------------------------------------------------------------
# Configuration, knobs and recorded state
# --------------------------------------------------------------------------------------------------


def _default_members() -> dict[int, str]:
    return {101: "alice", 102: "bob", 103: "carol", 104: "mod"}


@dataclass(frozen=True)
class EmuGuild:
    """A further guild the bot is in, beside EmuConfig's own: one text channel and the same members.

    Its roles are @everyone (the guild's id), Moderator (``guild_id + 1``) and the bot's managed role
    (``guild_id + 2``); the roles tests add with ``add_role`` exist only in the first guild.
    """

    guild_id: int
    name: str
    text_channel_id: int
    text_channel_name: str = "generate"


@dataclass
class EmuConfig:
    """The emulated application, guild and Discord's limits; defaults match the docs."""

    application_id: int = 900000000000000001
    bot_user_id: int = 900000000000000001
    bot_name: str = "pikabot"
    bot_token: str = "emu-bot-token"  # noqa: S105 - a fake token the emulator accepts
    guild_id: int = 900000000000000100
    guild_name: str = "Pika Sandbox"
    owner_id: int = 100
    text_channel_id: int = 900000000000000200
    text_channel_name: str = "generate"
    community_channel_id: int = 900000000000000201
    community_channel_name: str = "community"
    moderator_role_id: int = 900000000000000300
    bot_role_id: int = 900000000000000301
    members: dict[int, str] = field(default_factory=_default_members)
    moderator_ids: frozenset[int] = frozenset({104})
    attachment_size_limit: int = 10 * MiB
    max_request_size: int = 25 * MiB
    ack_deadline: float = 3.0
    token_ttl: float = 900.0
    global_rate: int = 50
    channel_rate: tuple[int, float] = (5, 5.0)
    nonce_window: float = 300.0
    heartbeat_interval_ms: int = 41250
    #: Privileged intents the application is approved for (IDENTIFY asking for others gets close 4014).
    privileged_intents: int = 0
    #: slash() refuses commands the bot never synced (Discord's client would not offer them).
    require_registered_commands: bool = True
    #: Discord's OpenAPI spec (plain or .gz); defaults to the copy shipped in sandbox/assets.
    openapi_path: Path | None = None
    #: ``http://host:port`` used in CDN URLs; start_emulator fills it in, else the first request does.
    public_base_url: str = ""
    #: Guilds beyond ``guild_id`` (e.g. one whose id falls on another shard).
    extra_guilds: tuple[EmuGuild, ...] = ()
    #: ``GET /gateway/bot``'s recommended number of shards.
    recommended_shards: int = 1
    #: Discord's cap on guilds per gateway session; an IDENTIFY that would hold more is closed 4011.
    max_guilds_per_session: int = 2500
    #: Large-bot sharding: the shard count must be a multiple of this, or IDENTIFY is closed 4010.
    shard_multiple: int = 1


@dataclass
class EmuFaults:
    """Fault injection knobs; counters are consumed one per affected request."""

    #: Next N ``POST /channels/{id}/messages`` answer a route-scoped 429 (discord.py retries them).
    rate_limit_next: int = 0
    #: Next N bot-token requests answer a global 429.
    global_429_next: int = 0
    #: Next N channel message creates store the message, then answer 500 (the client retries).
    server_error_after_store_next: int = 0
    #: ``retry_after`` (seconds) of injected 429s.
    retry_after: float = 0.2
    #: Seconds every interaction follow-up takes to answer (a slow Discord; results beat their thread).
    followup_delay: float = 0.0
    _drop: Callable[[int], None] | None = field(default=None, repr=False, compare=False)

    def drop_gateway(self, shard: int = 0) -> None:
        """Close the bot's websocket (on ``shard``) with 4000; discord.py reconnects and RESUMEs."""
        if self._drop is None:
            raise RuntimeError("faults are not attached to an emulator")
        self._drop(shard)


@dataclass(frozen=True)
class RecordedFile:
    """One uploaded file part as it arrived."""

    field: str
    filename: str
    content_type: str
    size: int
    head: bytes


@dataclass
class RecordedCall:
    """One REST request and the emulator's answer."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    status: int
    at: float
    route: str
    response: Any = None
    #: The route's path template, as named in Discord's OpenAPI spec ("" for unknown routes).
    template: str = ""

    def to_json(self) -> JsonObj:
        """A JSON-safe view for the control API."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "json": self.json,
            "files": [
                {"field": f.field, "filename": f.filename, "content_type": f.content_type, "size": f.size}
                for f in self.files
            ],
            "status": self.status,
            "at": self.at,
            "route": self.route,
            "template": self.template,
            "response": self.response,
        }


class MessageSource(StrEnum):
    """How a message was created, which decides what may edit it and how it is authored."""

    BOT = "bot"  # POST /channels/{id}/messages with the bot token
    INTERACTION = "interaction"  # an interaction callback (the @original response)
    FOLLOWUP = "followup"  # POST /webhooks/{app}/{token}
    USER = "user"  # seeded by a test (a member's message)


@dataclass
class EmuAttachment:
    """An attachment with its bytes, served by the emulator's CDN route."""

    id: int
    filename: str
    content_type: str
    data: bytes
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def payload(self, *, ephemeral: bool = False) -> JsonObj:
        """The attachment object Discord would send."""
        return P.attachment_payload(
            self.id,
            self.filename,
            size=self.size,
            url=self.url,
            content_type=self.content_type,
            description=self.description,
            ephemeral=ephemeral,
        )


@dataclass
class EmuMessage:
    """A stored message; ``deleted`` ones stay here for assertions but are invisible to the bot."""

    id: int
    channel_id: int
    author_id: int
    source: MessageSource
    created_at: float
    content: str = ""
    embeds: list[JsonObj] = field(default_factory=list)
    components: list[JsonObj] = field(default_factory=list)
    attachments: list[EmuAttachment] = field(default_factory=list)
    nonce: str | int | None = None
    allowed_mentions: JsonObj | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    flags: int = 0
    interaction_id: int | None = None
    reference: JsonObj | None = None
    edited_at: float | None = None
    deleted: bool = False
    deleted_by_bot: bool = False  # removed by the bot's own DELETE (e.g. a member's Delete button)
    edits: int = 0

    @property
    def ephemeral(self) -> bool:
        """True for flag 64 messages (visible only to the interaction user)."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    def custom_ids(self) -> list[str]:
        """Every custom_id on the message's components."""
        return [
            str(c["custom_id"])
            for _, c in _walk_components(self.components, ("components",))
            if "custom_id" in c
        ]


@dataclass
class EmuChannel:
    """A guild text channel or a thread."""

    id: int
    type: ChannelType
    name: str
    guild_id: int
    created_at: float
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: float = 0.0
    last_activity: float = 0.0
    invitable: bool = True
    rate_limit_per_user: int = 0
    message_count: int = 0
    member_ids: set[int] = field(default_factory=set)
    last_message_id: int | None = None
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        """Public or private thread."""
        return self.type in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)


@dataclass
class EmuResponse:
    """One thing the bot did with an interaction token."""

    kind: str  # callback | followup | edit_original | delete_original | edit_followup | delete_followup
    at: float
    callback_type: int | None = None
    body: Any = None
    message_id: int | None = None


@dataclass
class EmuInteraction:
    """An interaction the emulator dispatched and everything the bot answered to it."""

    id: int
    token: str
    type: InteractionType
    user_id: int
    channel_id: int
    created_at: float
    payload: JsonObj
    command: str | None = None
    custom_id: str | None = None
    message_id: int | None = None  # the clicked message, for components
    acked_at: float | None = None
    ack_type: CallbackType | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    responses: list[EmuResponse] = field(default_factory=list)
    modal: JsonObj | None = None
    #: ``[shard_id, num_shards]`` of each gateway session INTERACTION_CREATE went to.
    shards: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ack_latency(self) -> float | None:
        """Seconds between dispatch and the initial response."""
        return None if self.acked_at is None else self.acked_at - self.created_at


@dataclass(frozen=True)
class GatewayRecord:
    """One gateway frame, either direction (dispatch bodies are not kept; see ``payload`` for ops)."""

    direction: str  # "in" (from the bot) | "out"
    op: int
    t: str | None
    s: int | None
    at: float


@dataclass
class _UploadedFile:
    field: str
    index: int | None
    filename: str
    content_type: str
    data: bytes


@dataclass
class _Req:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[_UploadedFile]
    request: web.Request


@dataclass
class _Resp:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


_Handler = Callable[[_Req], Awaitable[_Resp]]


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    name: str
    handler: _Handler
    bot_auth: bool  # bot-token routes (and the global rate limit); webhook/interaction routes are not


@dataclass
class _Window:
    start: float = 0.0
    count: int = 0


class _GatewayConn:
    """One websocket connection; frames go through a queue so dispatching stays synchronous."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        # (frame, event name) to send; an int closes with that code; None stops the writer.
        self.queue: asyncio.Queue[tuple[str, str | None] | int | None] = asyncio.Queue()
        self.session: _GatewaySession | None = None

    def send(self, payload: JsonObj) -> None:
        self.queue.put_nowait((_dumps(payload), None))

    def close(self, code: int) -> None:
        self.queue.put_nowait(code)


@dataclass
class _GatewaySession:
    session_id: str
    seq: int = 0
    buffer: deque[tuple[int, str, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    conn: _GatewayConn | None = None
    intents: int = 0
    shard: tuple[int, int] = (0, 1)
    sharded: bool = False  # IDENTIFY carried ``shard`` (READY then echoes it)
    guild_ids: tuple[int, ...] = ()
    #: GUILD_CREATEs queued at IDENTIFY and not yet written: the session is ready at zero.
    unsent_guilds: int = 0
    ready: bool = False

    def receives(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events (events without a guild go to shard 0)."""
        shard_id, count = self.shard
        return shard_id == 0 if guild_id is None else shard_of(guild_id, count) == shard_id


@dataclass(frozen=True)
class ShardSession:
    """A gateway session that receives events now, as tests see it."""

    session_id: str
    shard: tuple[int, int]
    guild_ids: tuple[int, ...]
    connected: bool
    ready: bool


_ROUTES_ATTR: Final = "_emu_routes"
_F = TypeVar("_F", bound=Callable[..., Any])


def _route(
    method: str, template: str, *, name: str | None = None, bot_auth: bool = True
) -> Callable[[_F], _F]:
    """Mark a handler as serving ``method API_PREFIX+template`` (templates use the OpenAPI spec's names).

    ``bot_auth`` routes need the bot token and count against the global limit; webhook and interaction
    routes authenticate by their token in the path and are exempt, as on Discord.
    """

    def mark(handler: _F) -> _F:
        marks = [
            *getattr(handler, _ROUTES_ATTR, ()),
            (method, template, name or handler.__name__.lstrip("_"), bot_auth),
        ]
        setattr(handler, _ROUTES_ATTR, marks)
        return handler

    return mark


# --------------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Guild:
    id: int
    name: str
    moderator_role_id: int
    bot_role_id: int


class DiscordEmulator:
    """State, enforcement and recording for one emulated application in its guilds.

    Each gateway session receives the events of the guilds on its shard (one unsharded session
    receives everything); see docs/discord.md, section 10.
    """

    def __init__(self, config: EmuConfig | None = None) -> None:
        self.config = config or EmuConfig()
        self._spec_path = str(self.config.openapi_path or DEFAULT_SPEC)
        _spec_registry(self._spec_path)  # fail at construction, not at the first request
        self.calls: list[RecordedCall] = []
        self.violations: list[str] = []
        self.messages: dict[int, EmuMessage] = {}
        self.channels: dict[int, EmuChannel] = {}
        self.interactions: dict[int, EmuInteraction] = {}
        self.attachments: dict[int, EmuAttachment] = {}
        self.commands: dict[int | None, list[JsonObj]] = {}
        self.gateway_log: list[GatewayRecord] = []
        self.clock_offset: float = 0.0
        self.faults = EmuFaults()
        self.faults._drop = self.drop_gateway
        self.identifies = 0
        self.resumes = 0
        self._ids = P.SnowflakeGen()
        self._denied: dict[int, Perm] = defaultdict(lambda: Perm(0))
        #: Roles added by tests (plain: no permissions beyond @everyone's), and who holds them.
        self.extra_roles: dict[int, str] = {}
        self.member_roles: dict[int, set[int]] = defaultdict(set)
        self._by_token: dict[str, EmuInteraction] = {}
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._channel_windows: dict[int, _Window] = defaultdict(_Window)
        self._global_window = _Window()
        #: Every session ever identified (RESUME finds them here) and those that receive events now.
        self._sessions: dict[str, _GatewaySession] = {}
        self._current: dict[str, _GatewaySession] = {}
        self._conns: set[_GatewayConn] = set()
        self._changed = asyncio.Event()
        self._timers: list[asyncio.TimerHandle] = []
        self._routes = self._build_routes()
        self._started_at = self.now()
        cfg = self.config
        self.guilds: dict[int, _Guild] = {
            cfg.guild_id: _Guild(cfg.guild_id, cfg.guild_name, cfg.moderator_role_id, cfg.bot_role_id)
        }
        texts = [
            (cfg.guild_id, cfg.text_channel_id, cfg.text_channel_name),
            (cfg.guild_id, cfg.community_channel_id, cfg.community_channel_name),
        ]
        for extra in cfg.extra_guilds:
            if extra.guild_id in self.guilds:
                raise ValueError(f"guild {extra.guild_id} is configured twice")
            self.guilds[extra.guild_id] = _Guild(
                extra.guild_id, extra.name, extra.guild_id + 1, extra.guild_id + 2
            )
            texts.append((extra.guild_id, extra.text_channel_id, extra.text_channel_name))
        for guild_id, cid, name in texts:
            position = sum(c.guild_id == guild_id for c in self.channels.values())
            self.channels[cid] = EmuChannel(
                cid, ChannelType.GUILD_TEXT, name, guild_id, self._started_at, position=position
            )

    # ----- clock, ids, change notification ----------------------------------------------------

    def now(self) -> float:
        """The emulated wall clock: real time plus ``clock_offset`` (tests advance it, never sleep)."""
        return _now_wall() + self.clock_offset

    def _new_id(self) -> int:
        return self._ids.next(self.now())

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _violate(self, text: str) -> None:
        self.violations.append(text)
        self._notify()

    async def _wait_until(self, probe: Callable[[], _T | None], timeout: float, what: str) -> _T:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}; violations={self.violations}"
                )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ----- users, permissions ------------------------------------------------------------------

    def _user_payload(self, user_id: int) -> JsonObj:
        if user_id == self.config.bot_user_id:
            return P.user_payload(user_id, self.config.bot_name, bot=True)
        if user_id == self.config.owner_id:
            return P.user_payload(user_id, "owner")
        name = self.config.members.get(user_id)
        if name is None:
            raise KeyError(user_id)
        return P.user_payload(user_id, name)

    def _guild(self, guild_id: int | None) -> _Guild:
        return self.guilds[self.config.guild_id if guild_id is None else guild_id]

    def _role_ids(self, user_id: int, guild_id: int | None = None) -> list[int]:
        guild = self._guild(guild_id)
        if user_id == self.config.bot_user_id:
            return [guild.bot_role_id]
        base = [guild.moderator_role_id] if user_id in self.config.moderator_ids else []
        if guild.id != self.config.guild_id:
            return base  # roles added by tests live in the first guild only
        return base + sorted(self.member_roles.get(user_id, ()))

    def add_role(self, name: str) -> int:
        """Create a role in the first guild with no permissions beyond @everyone's (GUILD_ROLE_CREATE)."""
        role_id = self._new_id()
        self.extra_roles[role_id] = name
        self._dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(self.config.guild_id), "role": self._role_payloads()[role_id]},
        )
        return role_id

    def give_role(self, user_id: int, role_id: int) -> None:
        """Give a member a role (added with ``add_role``); their next interaction carries it."""
        self._user_payload(user_id)
        if role_id not in self.extra_roles:
            raise ValueError(f"unknown role {role_id}; create it with add_role()")
        self.member_roles[user_id].add(role_id)

    def _role_payloads(self, guild_id: int | None = None) -> dict[int, JsonObj]:
        """Every role in a guild (the first by default) by id, as Discord sends them."""
        guild = self._guild(guild_id)
        roles = {
            guild.id: P.role_payload(guild.id, "@everyone", P.EVERYONE_PERMS),
            guild.moderator_role_id: P.role_payload(
                guild.moderator_role_id, "Moderator", P.EVERYONE_PERMS | P.MODERATOR_PERMS, position=1
            ),
            guild.bot_role_id: P.role_payload(
                guild.bot_role_id, self.config.bot_name, P.BOT_ROLE_PERMS, position=2, managed=True
            ),
        }
        if guild.id != self.config.guild_id:
            return roles
        for position, (role_id, name) in enumerate(self.extra_roles.items(), start=3):
            roles[role_id] = P.role_payload(role_id, name, P.EVERYONE_PERMS, position=position)
        return roles

    def _base_perms(self, user_id: int) -> Perm:
        perms = P.EVERYONE_PERMS
        if user_id == self.config.bot_user_id:
            perms |= P.BOT_ROLE_PERMS
        if user_id in self.config.moderator_ids:
            perms |= P.MODERATOR_PERMS
        if user_id == self.config.owner_id:
            # Discord gives the guild owner every permission, whatever the roles say.
            for flag in Perm:
                perms |= flag
        return perms

    def _denied_in(self, channel_id: int) -> Perm:
        denied = self._denied.get(channel_id, Perm(0))
        channel = self.channels.get(channel_id)
        if channel is not None and channel.parent_id is not None:
            denied |= self._denied.get(channel.parent_id, Perm(0))  # threads inherit the parent's overwrites
        return denied

    def bot_permissions(self, channel_id: int) -> Perm:
        """The bot's effective permissions in a channel (base minus the ``deny`` knob)."""
        return self._base_perms(self.config.bot_user_id) & ~self._denied_in(channel_id)

    def member_payload(
        self,
        user_id: int,
        *,
        with_permissions: bool = False,
        channel_id: int | None = None,
        guild_id: int | None = None,
    ) -> JsonObj:
        """A guild member object (with ``permissions`` as interactions carry it, when asked).

        The member's roles are those of ``guild_id`` (the first guild by default).
        """
        perms = None
        if with_permissions:
            perms = (
                self.bot_permissions(channel_id)
                if user_id == self.config.bot_user_id and channel_id is not None
                else self._base_perms(user_id)
            )
        return P.member_payload(
            self._user_payload(user_id),
            self._role_ids(user_id, guild_id),
            joined_at=self._started_at - 86400,
            permissions=perms,
        )

    @staticmethod
    def _perm(value: str | Perm) -> Perm:
        if isinstance(value, Perm):
            return value
        try:
            return Perm[value.upper()]
        except KeyError:
            raise ValueError(f"unknown permission {value!r}; known: {[p.name for p in Perm]}") from None

    def deny(self, channel_id: int, *permissions: str | Perm) -> None:
        """Deny the bot permissions in a channel (threads inherit); REST answers 403 50013."""
        for p in permissions:
            self._denied[channel_id] |= self._perm(p)
        self._permissions_changed(channel_id)

    def allow(self, channel_id: int, *permissions: str | Perm) -> None:
        """Undo ``deny`` for the given permissions (all of them when none are named)."""
        if not permissions:
            self._denied.pop(channel_id, None)
        for p in permissions:
            self._denied[channel_id] &= ~self._perm(p)
        self._permissions_changed(channel_id)

    def _permissions_changed(self, channel_id: int) -> None:
        channel = self.channels.get(channel_id)
        if channel is not None and not channel.is_thread:
            self._dispatch("CHANNEL_UPDATE", self.channel_payload(channel))

    def _require(self, channel: EmuChannel, needed: Perm) -> None:
        missing = needed & ~self.bot_permissions(channel.id)
        if missing:
            raise DiscordHTTPError(403, MISSING_PERMISSIONS, "Missing Permissions")

    # ----- channels ----------------------------------------------------------------------------

    def channel_payload(self, channel: EmuChannel) -> JsonObj:
        """The channel or thread object as Discord sends it now."""
        if channel.is_thread:
            assert channel.parent_id is not None and channel.owner_id is not None
            return P.thread_payload(
                channel.id,
                channel.guild_id,
                channel.parent_id,
                owner_id=channel.owner_id,
                name=channel.name,
                thread_type=int(channel.type),
                archived=channel.archived,
                locked=channel.locked,
                auto_archive_duration=channel.auto_archive_duration,
                archive_timestamp=channel.archive_timestamp,
                created_at=channel.created_at,
                message_count=channel.message_count,
                member_count=len(channel.member_ids),
                invitable=channel.invitable,
                rate_limit_per_user=channel.rate_limit_per_user,
                last_message_id=channel.last_message_id,
            )
        denied = self._denied.get(channel.id, Perm(0))
        overwrites = (
            [P.overwrite_payload(self.config.bot_user_id, member=True, deny=int(denied))] if denied else []
        )
        return P.text_channel_payload(
            channel.id,
            channel.guild_id,
            channel.name,
            position=channel.position,
            overwrites=overwrites,
            last_message_id=channel.last_message_id,
        )

    def _refresh_archive(self, channel: EmuChannel) -> None:
        """Threads auto-archive after ``auto_archive_duration`` minutes of inactivity (emulated clock)."""
        if channel.is_thread and not channel.archived:
            expires = channel.last_activity + channel.auto_archive_duration * 60
            if self.now() >= expires:
                channel.archived = True
                channel.archive_timestamp = expires
                self._dispatch("THREAD_UPDATE", self.channel_payload(channel))

    def _channel_or_404(self, raw: str | int) -> EmuChannel:
        cid = _as_snowflake(raw)
        channel = self.channels.get(cid) if cid is not None else None
        if channel is None or channel.deleted:
            raise DiscordHTTPError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        self._refresh_archive(channel)
        return channel

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """Archive (and optionally lock) a thread, as a moderator or the inactivity timer would."""
        channel = self.channels[thread_id]
        if not channel.is_thread:
            raise ValueError(f"{thread_id} is not a thread")
        channel.archived, channel.locked, channel.archive_timestamp = True, locked, self.now()
        self._dispatch("THREAD_UPDATE", self.channel_payload(channel))
        self._notify()

    def delete_channel(self, channel_id: int) -> None:
        """Delete a thread or channel behind the bot's back; later REST calls get 404 10003."""
        channel = self.channels[channel_id]
        channel.deleted = True
        if channel.is_thread:
            self._dispatch(
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(channel.guild_id),
                    "parent_id": str(channel.parent_id),
                    "type": int(channel.type),
                },
            )
        else:
            self._dispatch("CHANNEL_DELETE", self.channel_payload(channel))
        self._notify()

    def _create_thread(
        self,
        parent: EmuChannel,
        *,
        thread_id: int,
        name: str,
        kind: ChannelType,
        auto_archive: int,
        invitable: bool,
        rate: int,
    ) -> EmuChannel:
        now = self.now()
        thread = EmuChannel(
            thread_id,
            kind,
            name,
            parent.guild_id,
            now,
            parent_id=parent.id,
            owner_id=self.config.bot_user_id,
            auto_archive_duration=auto_archive,
            archive_timestamp=now,
            last_activity=now,
            invitable=invitable,
            rate_limit_per_user=rate,
            member_ids={self.config.bot_user_id},
        )
        self.channels[thread_id] = thread
        self._dispatch("THREAD_CREATE", {**self.channel_payload(thread), "newly_created": True})
        self._notify()
        return thread

    # ----- messages ----------------------------------------------------------------------------

    def _cdn_url(self, attachment_id: int, filename: str) -> str:
        base = self.config.public_base_url.rstrip("/")
        if not base:
            raise RuntimeError("public_base_url is unknown: start the emulator with start_emulator() first")
        return f"{base}/cdn/attachments/{attachment_id}/{filename}"

    def add_attachment(self, filename: str, content_type: str, data: bytes) -> JsonObj:
        """Store bytes on the emulated CDN; returns the attachment object for ``resolved``."""
        return self._store_attachment(filename, content_type, data).payload(ephemeral=True)

    def _store_attachment(
        self, filename: str, content_type: str, data: bytes, description: str | None = None
    ) -> EmuAttachment:
        attachment_id = self._new_id()
        attachment = EmuAttachment(
            attachment_id, filename, content_type, data, self._cdn_url(attachment_id, filename), description
        )
        self.attachments[attachment_id] = attachment
        return attachment

    def message_payload(self, message: EmuMessage) -> JsonObj:
        """The message object as Discord sends it now (author, attachments with CDN URLs, ...)."""
        channel = self.channels.get(message.channel_id)
        guild_id = channel.guild_id if channel else self.config.guild_id
        interaction = self.interactions.get(message.interaction_id) if message.interaction_id else None
        from_app = message.source in (MessageSource.INTERACTION, MessageSource.FOLLOWUP)
        metadata = None
        if interaction is not None:
            metadata = P.interaction_metadata_payload(
                interaction.id,
                int(interaction.type),
                self._user_payload(interaction.user_id),
                guild_id=guild_id,
                message_id=interaction.message_id,
            )
        thread = self.channels.get(message.id)
        payload = P.message_payload(
            message.id,
            message.channel_id,
            guild_id=guild_id,
            author=self._user_payload(message.author_id),
            content=message.content,
            created_at=message.created_at,
            edited_at=message.edited_at,
            embeds=message.embeds,
            components=message.components,
            attachments=[a.payload(ephemeral=message.ephemeral) for a in message.attachments],
            mentions=[self._user_payload(u) for u in message.mention_ids],
            mention_roles=message.mention_role_ids,
            mention_everyone=message.mention_everyone,
            flags=message.flags,
            nonce=message.nonce,
            message_type=(
                MessageType.CHAT_INPUT_COMMAND
                if interaction is not None and interaction.type == InteractionType.APPLICATION_COMMAND
                else (19 if message.reference else MessageType.DEFAULT)
            ),
            webhook_id=self.config.application_id if from_app else None,
            application_id=self.config.application_id if from_app else None,
            interaction_metadata=metadata,
            thread=self.channel_payload(thread) if thread is not None and thread.is_thread else None,
        )
        if message.reference is not None:
            payload["message_reference"] = message.reference
        return payload

    def _mentions(self, content: str, allowed: object) -> tuple[list[int], list[int], bool]:
        """Who a message pings, honouring ``allowed_mentions`` (absent = Discord's default: everything)."""
        parse: set[str] = {"users", "roles", "everyone"}
        users: set[int] = set()
        roles: set[int] = set()
        if isinstance(allowed, dict):
            parse = {str(p) for p in allowed.get("parse") or []}
            users = {i for i in (_as_snowflake(u) for u in allowed.get("users") or []) if i is not None}
            roles = {i for i in (_as_snowflake(r) for r in allowed.get("roles") or []) if i is not None}
        known = {*self.config.members, self.config.bot_user_id, self.config.owner_id}
        mention_ids = []
        for raw in _MENTION_USER.findall(content):
            uid = int(raw)
            if uid in known and ("users" in parse or uid in users) and uid not in mention_ids:
                mention_ids.append(uid)
        role_ids = []
        for raw in _MENTION_ROLE.findall(content):
            rid = int(raw)
            if ("roles" in parse or rid in roles) and rid not in role_ids:
                role_ids.append(rid)
        everyone = ("@everyone" in content or "@here" in content) and "everyone" in parse
        return mention_ids, role_ids, everyone

    def _attachments_for(
        self, body: Mapping[str, Any], files: list[_UploadedFile], existing: list[EmuAttachment]
    ) -> list[EmuAttachment]:
        """Map ``attachments: [{id: n, filename}]`` to ``files[n]`` parts, keeping referenced old ones."""
        by_index = {f.index: f for f in files if f.index is not None}
        declared = body.get("attachments")
        kept: list[EmuAttachment] = []
        used: set[int] = set()
        new: list[EmuAttachment] = []
        if isinstance(declared, list):
            old = {a.id: a for a in existing}
            for k, entry in enumerate(declared):
                if not isinstance(entry, dict):
                    continue
                ref = _as_snowflake(entry.get("id"))
                if ref is not None and ref in old:
                    kept.append(old[ref])
                    continue
                upload = by_index.get(ref) if ref is not None else None
                if upload is None:
                    raise _form_error(
                        [
                            FieldError(
                                ("attachments", k, "id"),
                                "ATTACHMENT_NOT_FOUND",
                                f"No file part for attachment id {ref!r}.",
                            )
                        ],
                        "attachment without file",
                    )
                used.add(id(upload))
                filename = (
                    entry.get("filename") if isinstance(entry.get("filename"), str) else upload.filename
                )
                description = entry.get("description") if isinstance(entry.get("description"), str) else None
                new.append(self._store_upload(upload, str(filename), description))
        else:
            kept = list(existing)
        for upload in files:
            if id(upload) not in used:
                new.append(self._store_upload(upload, upload.filename, None))
        return kept + new

    def _store_upload(self, upload: _UploadedFile, filename: str, description: str | None) -> EmuAttachment:
        # discord.py uploads everything as application/octet-stream; Discord sniffs, we guess by name.
        guessed = mimetypes.guess_type(filename)[0]
        content_type = guessed or upload.content_type or "application/octet-stream"
        return self._store_attachment(filename, content_type, upload.data, description)

    def _check_files(self, files: list[_UploadedFile]) -> None:
        limit = self.config.attachment_size_limit
        for upload in files:
            if len(upload.data) > limit:
                raise DiscordHTTPError(
                    413,
                    TOO_LARGE,
                    "Request entity too large",
                    violation=f"file {upload.filename!r} is {len(upload.data)} bytes > attachment_size_limit {limit}",
                )
        if len(files) > MAX_ATTACHMENTS:
            raise _form_error([_too_long(("attachments",), MAX_ATTACHMENTS)], "too many files")

    def _check_message(
        self, body: Mapping[str, Any], files: list[_UploadedFile], *, creating: bool, what: str
    ) -> None:
        self._check_files(files)
        problems = message_body_errors(body)
        if problems:
            raise _form_error(problems, what)
        if creating and is_empty_message(body, has_files=bool(files)):
            raise DiscordHTTPError(
                400, EMPTY_MESSAGE, "Cannot send an empty message", violation=f"{what}: empty message"
            )

    def _new_message(
        self,
        channel: EmuChannel,
        body: Mapping[str, Any],
        files: list[_UploadedFile],
        *,
        source: MessageSource,
        author_id: int,
        interaction: EmuInteraction | None = None,
        flags: int = 0,
    ) -> EmuMessage:
        content = body.get("content") if isinstance(body.get("content"), str) else ""
        assert isinstance(content, str)
        mention_ids, role_ids, everyone = self._mentions(content, body.get("allowed_mentions"))
        body_flags = body.get("flags") if _is_int(body.get("flags")) else 0
        assert isinstance(body_flags, int)
        if source is MessageSource.BOT:
            body_flags &= ~MessageFlag.EPHEMERAL  # only interaction responses can be ephemeral
        nonce = body.get("nonce")
        message = EmuMessage(
            id=self._new_id(),
            channel_id=channel.id,
            author_id=author_id,
            source=source,
            created_at=self.now(),
            content=content,
            embeds=list(body.get("embeds") or []),
            components=numbered_components(body.get("components")),
            attachments=self._attachments_for(body, files, []),
            nonce=nonce if isinstance(nonce, str | int) and not isinstance(nonce, bool) else None,
            allowed_mentions=body.get("allowed_mentions"),
            mention_ids=mention_ids,
            mention_role_ids=role_ids,
            mention_everyone=everyone,
            flags=int(body_flags | flags),
            interaction_id=interaction.id if interaction else None,
            reference=self._reference(channel, body.get("message_reference")),
        )
        self.messages[message.id] = message
        if not message.ephemeral:
            channel.last_message_id = message.id
            channel.last_activity = message.created_at
            if channel.is_thread:
                channel.message_count += 1
            self._dispatch("MESSAGE_CREATE", self.message_payload(message))
        self._notify()
        return message

    def _reference(self, channel: EmuChannel, ref: object) -> JsonObj | None:
        if not isinstance(ref, dict):
            return None
        mid = _as_snowflake(ref.get("message_id"))
        target = self.messages.get(mid) if mid is not None else None
        if (target is None or target.deleted) and ref.get("fail_if_not_exists", True):
            raise DiscordHTTPError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                errors=errors_tree(
                    [FieldError(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")]
                ),
            )
        return {
            "type": 0,
            "message_id": str(mid),
            "channel_id": str(target.channel_id if target else channel.id),
            "guild_id": str(channel.guild_id),
        }

    def _edit_message(self, message: EmuMessage, body: Mapping[str, Any], files: list[_UploadedFile]) -> None:
        if "content" in body:
            message.content = body["content"] or ""
            ids, roles, everyone = self._mentions(
                message.content, body.get("allowed_mentions", message.allowed_mentions)
            )
            message.mention_ids, message.mention_role_ids, message.mention_everyone = ids, roles, everyone
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = numbered_components(body["components"])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "attachments" in body or files:
            message.attachments = self._attachments_for(body, files, message.attachments)
        if _is_int(body.get("flags")):
            # Only SUPPRESS_EMBEDS may change; ephemeral-ness is fixed at creation.
            keep = message.flags & ~MessageFlag.SUPPRESS_EMBEDS
            message.flags = keep | (body["flags"] & MessageFlag.SUPPRESS_EMBEDS)
        message.flags &= ~MessageFlag.LOADING
        message.edited_at = self.now()
        message.edits += 1
        if not message.ephemeral:
            self._dispatch("MESSAGE_UPDATE", self.message_payload(message))
        self._notify()

    def _delete_message(self, message: EmuMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            channel = self.channels.get(message.channel_id)
            self._dispatch(
                "MESSAGE_DELETE",
                {
                    "id": str(message.id),
                    "channel_id": str(message.channel_id),
                    "guild_id": str(channel.guild_id if channel else self.config.guild_id),
                },
            )
        self._notify()

    def post_user_message(
        self,
        user_id: int,
        channel_id: int,
        content: str,
        attachments: Sequence[tuple[str, str, bytes]] = (),
    ) -> EmuMessage:
        """Seed a message from a member (e.g. to start a thread from, or for history); ``attachments``
        are (filename, content type, bytes), stored on the emulated CDN."""
        channel = self.channels[channel_id]
        self._user_payload(user_id)  # KeyError for strangers
        message = self._new_message(
            channel, {"content": content}, [], source=MessageSource.USER, author_id=user_id
        )
        if attachments:
            # Attached before anyone reads it: MESSAGE_CREATE above carried none, which bots ignore.
            message.attachments = [self._store_attachment(*attachment) for attachment in attachments]
        return message

    # ----- assertions helpers ------------------------------------------------------------------

    def thread_messages(self, channel_id: int) -> list[EmuMessage]:
        """Visible (not deleted, not ephemeral) messages in a channel or thread, oldest first."""
        return sorted(
            (
                m
                for m in self.messages.values()
                if m.channel_id == channel_id and not m.deleted and not m.ephemeral
            ),
            key=lambda m: m.id,
        )

    def interaction_messages(self, interaction: EmuInteraction | int) -> list[EmuMessage]:
        """The original response and followups of an interaction, oldest first."""
        inter = self.interactions[interaction if isinstance(interaction, int) else interaction.id]
        ids = ([inter.original_message_id] if inter.original_message_id else []) + inter.followup_ids
        return [self.messages[i] for i in sorted(set(ids)) if i in self.messages]

    def ephemeral_replies(self, interaction: EmuInteraction | int) -> list[str]:
        """Current content of the interaction's ephemeral messages (deferred original, followups)."""
        return [m.content for m in self.interaction_messages(interaction) if m.ephemeral and not m.deleted]

    def threads(self, parent_id: int | None = None) -> list[EmuChannel]:
        """Threads (optionally of one parent), oldest first."""
        return sorted(
            (
                c
                for c in self.channels.values()
                if c.is_thread and (parent_id is None or c.parent_id == parent_id)
            ),
            key=lambda c: c.id,
        )

    def response_problems(self) -> list[str]:
        """Recorded answers that do not match the spec's response schema (the emulator's self-check)."""
        out = []
        for call in self.calls:
            if call.template and call.response is not None:
                method = call.method.lower()
                for p in validate_response_against_spec(
                    self._spec_path, call.template, method, call.status, call.response
                ):
                    out.append(f"{call.method} {call.template} {call.status}: {p.describe()}")
        return out

    @property
    def rate_limit_hits(self) -> list[RecordedCall]:
        """Every call answered 429."""
        return [c for c in self.calls if c.status == 429]

    def calls_to(self, route: str) -> list[RecordedCall]:
        """Recorded calls of one route name (e.g. ``create_message``)."""
        return [c for c in self.calls if c.route == route]

    async def wait_ready(self, timeout: float = 10, *, shard: int | None = None) -> None:  # noqa: ASYNC109
        """Wait until the bot has IDENTIFYed and been sent its GUILD_CREATEs.

        Without ``shard``: on every shard of each shard count in use (one session when unsharded);
        with it, on the session holding that shard id.
        """
        where = "" if shard is None else f" on shard {shard}"
        await self._wait_until(
            lambda: True if self._ready_now(shard) else None,
            timeout,
            f"the bot to identify and receive GUILD_CREATE{where}",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until the gateway has been RESUMEd ``count`` times in total."""
        await self._wait_until(lambda: True if self.resumes >= count else None, timeout, f"{count} RESUME(s)")

    async def wait_acked(self, interaction_id: int | EmuInteraction, timeout: float = 5) -> EmuInteraction:  # noqa: ASYNC109
        """Wait for the initial response to an interaction."""
        iid = interaction_id if isinstance(interaction_id, int) else interaction_id.id
        inter = self.interactions[iid]
        return await self._wait_until(
            lambda: inter if inter.acked_at is not None else None, timeout, f"an ack of interaction {iid}"
        )

    async def wait_for_message(
        self,
        predicate: Callable[[EmuMessage], bool],
        timeout: float = 10,  # noqa: ASYNC109
    ) -> EmuMessage:
        """Wait for a (non-deleted) message matching ``predicate``, including ones already stored."""

        def probe() -> EmuMessage | None:
            for message in sorted(self.messages.values(), key=lambda m: m.id):
                if not message.deleted and predicate(message):
                    return message
            return None

        return await self._wait_until(probe, timeout, "a matching message")

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked on every state change."""
        await self._wait_until(lambda: True if predicate() else None, timeout, what)

    # ----- interactions (the user side) --------------------------------------------------------

    def _find_command(self, name: str, guild_id: int) -> tuple[JsonObj | None, int | None]:
        for scope in (guild_id, None):
            for cmd in self.commands.get(scope, []):
                if cmd.get("name") == name and (cmd.get("type") or 1) == 1:
                    return cmd, scope
        if self.config.require_registered_commands:
            known = sorted({str(c.get("name")) for cmds in self.commands.values() for c in cmds})
            raise LookupError(f"/{name} is not a registered command (synced: {known})")
        return None, guild_id

    def _new_interaction(
        self,
        kind: InteractionType,
        user_id: int,
        channel: EmuChannel,
        data: JsonObj,
        *,
        message: EmuMessage | None = None,
        command: str | None = None,
        custom_id: str | None = None,
    ) -> EmuInteraction:
        if not self._receivers(channel.guild_id):
            raise RuntimeError(
                f"no bot session receives guild {channel.guild_id}'s events: start the bot and await "
                "emu.wait_ready() first"
            )
        iid = self._new_id()
        token = "emu." + secrets.token_urlsafe(48)
        payload = P.interaction_payload(
            iid,
            application_id=self.config.application_id,
            interaction_type=int(kind),
            token=token,
            data=data,
            guild_id=channel.guild_id,
            channel=self.channel_payload(channel),
            member=self.member_payload(user_id, with_permissions=True, guild_id=channel.guild_id),
            app_permissions=self.bot_permissions(channel.id),
            attachment_size_limit=self.config.attachment_size_limit,
            message=self.message_payload(message) if message is not None else None,
        )
        inter = EmuInteraction(
            id=iid,
            token=token,
            type=kind,
            user_id=user_id,
            channel_id=channel.id,
            created_at=self.now(),
            payload=payload,
            command=command,
            custom_id=custom_id,
            message_id=message.id if message else None,
        )
        self.interactions[iid] = inter
        self._by_token[token] = inter
        inter.shards = [session.shard for session in self._dispatch("INTERACTION_CREATE", payload)]
        loop = asyncio.get_running_loop()
        # Discord shows "The application did not respond" after 3 s; that is the bot's failure to report.
        self._timers.append(loop.call_later(self.config.ack_deadline + 0.05, self._check_acked, inter))
        self._notify()
        return inter

    def _check_acked(self, inter: EmuInteraction) -> None:
        if inter.acked_at is None:
            what = f"/{inter.command}" if inter.command else f"component {inter.custom_id!r}"
            self._violate(
                f"interaction {inter.id} ({what}) was not acknowledged within {self.config.ack_deadline}s"
            )

    def _option_type(self, spec: JsonObj | None, name: str, value: object) -> OptionType:
        if spec is not None:
            for opt in spec.get("options") or []:
                if opt.get("name") == name:
                    return OptionType(int(opt["type"]))
            raise ValueError(
                f"option {name!r} is not declared by the command (declared: {[o.get('name') for o in spec.get('options') or []]})"
            )
        if isinstance(value, bool):
            return OptionType.BOOLEAN
        if isinstance(value, int):
            return OptionType.INTEGER
        if isinstance(value, float):
            return OptionType.NUMBER
        if isinstance(value, str):
            return OptionType.STRING
        raise ValueError(f"cannot infer an option type for {value!r}")

    async def slash(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None = None,
        options: Mapping[str, object] | None = None,
        attachments: Mapping[str, tuple[str, str, bytes]] | None = None,
    ) -> EmuInteraction:
        """Dispatch a chat-input INTERACTION_CREATE as member ``user_id`` typing ``/command subcommand``.

        ``subcommand`` may be ``"group sub"``; ``attachments`` maps option name to (filename, type, bytes).
        """
        channel = self.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise ValueError(f"unknown channel {channel_id}")
        self._refresh_archive(channel)
        self._user_payload(user_id)
        cmd, scope = self._find_command(command, channel.guild_id)
        spec: JsonObj | None = cmd
        path = subcommand.split() if subcommand else []
        for part in path:
            found = (
                next((o for o in (spec or {}).get("options") or [] if o.get("name") == part), None)
                if spec
                else None
            )
            if spec is not None and found is None:
                raise ValueError(f"/{command} has no subcommand {part!r}")
            spec = found
        leaves: list[JsonObj] = []
        resolved: JsonObj = {}
        for name, value in (options or {}).items():
            kind = self._option_type(spec, name, value)
            if kind in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP, OptionType.ATTACHMENT):
                raise ValueError(f"option {name!r} has type {kind.name}; pass attachments via attachments=")
            if kind in (OptionType.USER, OptionType.MENTIONABLE):
                uid = _as_snowflake(value)
                if uid is None:
                    raise ValueError(f"option {name!r} needs a user id")
                resolved.setdefault("users", {})[str(uid)] = self._user_payload(uid)
                member = self.member_payload(uid, with_permissions=True, guild_id=channel.guild_id)
                member.pop("user")
                resolved.setdefault("members", {})[str(uid)] = member
            elif kind is OptionType.ROLE:
                role = self._role_payloads(channel.guild_id).get(_as_snowflake(value) or 0)
                if role is None:
                    raise ValueError(f"option {name!r} needs the id of a role in the guild, not {value!r}")
                resolved.setdefault("roles", {})[role["id"]] = role
            elif kind is OptionType.CHANNEL:
                picked = self.channels.get(_as_snowflake(value) or 0)
                if picked is None or picked.deleted or picked.guild_id != channel.guild_id:
                    raise ValueError(f"option {name!r} needs the id of a channel in the guild, not {value!r}")
                # Resolved channels are partial and carry the invoking member's permissions there.
                perms = self._base_perms(user_id) & ~self._denied_in(picked.id)
                entry = {**self.channel_payload(picked), "permissions": str(int(perms))}
                resolved.setdefault("channels", {})[entry["id"]] = entry
            leaves.append(P.command_option_payload(name, value, kind))
        for name, (filename, content_type, blob) in (attachments or {}).items():
            kind = self._option_type(spec, name, None) if spec is not None else OptionType.ATTACHMENT
            if kind is not OptionType.ATTACHMENT:
                raise ValueError(f"option {name!r} is {kind.name}, not an attachment")
            attachment = self.add_attachment(filename, content_type, blob)
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            leaves.append(P.command_option_payload(name, attachment["id"], OptionType.ATTACHMENT))
        if spec is not None:
            given = {leaf["name"] for leaf in leaves}
            missing = [
                o["name"] for o in spec.get("options") or [] if o.get("required") and o["name"] not in given
            ]
            if missing:
                raise ValueError(f"required options missing: {missing}")
        tree: list[JsonObj] = leaves
        for depth, part in reversed(list(enumerate(path))):
            kind = OptionType.SUB_COMMAND if depth == len(path) - 1 else OptionType.SUB_COMMAND_GROUP
            tree = [{"name": part, "type": int(kind), "options": tree}]
        command_id = int(cmd["id"]) if cmd is not None else self._new_id()
        data = P.chat_input_data_payload(command_id, command, tree, guild_id=scope, resolved=resolved or None)
        label = " ".join([command, *path])
        return self._new_interaction(
            InteractionType.APPLICATION_COMMAND, user_id, channel, data, command=label
        )

    async def click(self, user_id: int, message_id: int, custom_id: str) -> EmuInteraction:
        """Dispatch a button click (type 3) with the full message, components included."""
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise ValueError(f"unknown message {message_id}")
        component = next(
            (
                c
                for _, c in _walk_components(message.components, ("components",))
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            raise ValueError(
                f"message {message_id} has no component {custom_id!r} (has {message.custom_ids()})"
            )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; Discord's client cannot click it")
        self._user_payload(user_id)
        channel = self._channel_or_404(message.channel_id)
        data = P.component_data_payload(custom_id, int(component.get("type", 2)))
        return self._new_interaction(
            InteractionType.MESSAGE_COMPONENT, user_id, channel, data, message=message, custom_id=custom_id
        )

    async def message_command(self, user_id: int, message_id: int, name: str) -> EmuInteraction:
        """Dispatch a MESSAGE context-menu command (Apps → ``name`` on a message): type 2 with
        ``data.type`` 3, ``target_id`` and the message in ``resolved.messages``."""
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.ephemeral:
            raise ValueError(f"unknown message {message_id}")
        self._user_payload(user_id)
        channel = self._channel_or_404(message.channel_id)
        cmd = next(
            (
                c
                for scope in (channel.guild_id, None)
                for c in self.commands.get(scope, [])
                if c.get("type") == 3 and c.get("name") == name
            ),
            None,
        )
        if cmd is None:
            known = sorted(
                str(c.get("name")) for cmds in self.commands.values() for c in cmds if c.get("type") == 3
            )
            raise LookupError(f"{name!r} is not a registered message command (synced: {known})")
        scope = int(cmd["guild_id"]) if cmd.get("guild_id") else None
        data = P.message_command_data_payload(
            int(cmd["id"]), name, self.message_payload(message), guild_id=scope
        )
        return self._new_interaction(
            InteractionType.APPLICATION_COMMAND, user_id, channel, data, command=name
        )

    async def submit_modal(
        self, user_id: int, opened_by: EmuInteraction, values: Mapping[str, str]
    ) -> EmuInteraction:
        """Submit the modal the bot answered ``opened_by`` with (type 5), its text inputs filled from
        ``values`` by custom id (others keep the value the bot pre-filled). Discord's client enforces
        required, min_length and max_length before sending, so breaking them raises here."""
        modal = opened_by.modal
        if modal is None:
            raise ValueError(f"interaction {opened_by.id} was not answered with a modal")
        if opened_by.user_id != user_id:
            raise ValueError("only the member the modal was shown to can submit it")
        unknown = set(values) - {c.get("custom_id") for _, c in _walk_modal_inputs(modal)}
        if unknown:
            raise ValueError(f"the modal has no text input {sorted(unknown)}")
        components = [_submitted_component(top, values) for top in modal.get("components") or []]
        channel = self._channel_or_404(opened_by.channel_id)
        message = self.messages.get(opened_by.message_id) if opened_by.message_id else None
        data = P.modal_submit_data_payload(str(modal["custom_id"]), [c for c in components if c])
        return self._new_interaction(
            InteractionType.MODAL_SUBMIT,
            user_id,
            channel,
            data,
            message=message,
            custom_id=str(modal["custom_id"]),
        )

    def _interaction_for_token(self, app_raw: str, token: str, *, what: str) -> EmuInteraction:
        inter = self._by_token.get(token)
        if _as_snowflake(app_raw) != self.config.application_id or inter is None:
            raise DiscordHTTPError(
                404, UNKNOWN_WEBHOOK, "Unknown Webhook", violation=f"{what}: unknown application id or token"
            )
        age = self.now() - inter.created_at
        if age > self.config.token_ttl:
            raise DiscordHTTPError(
                401,
                INVALID_WEBHOOK_TOKEN,
                "Invalid Webhook Token",
                violation=f"{what}: interaction {inter.id} token used {age:.0f}s after creation (> {self.config.token_ttl:.0f}s)",
            )
        return inter

    # ----- gateway -----------------------------------------------------------------------------

    def _receivers(self, guild_id: int | None) -> list[_GatewaySession]:
        """The sessions that receive a guild's events now (several when their shards overlap)."""
        return [session for session in self._current.values() if session.receives(guild_id)]

    def _dispatch(self, event: str, data: JsonObj, guild_id: int | None = None) -> list[_GatewaySession]:
        """Send an event to every session whose shard holds its guild; returns the sessions sent to.

        The guild is ``guild_id``, else ``data["guild_id"]``; an event without one goes to shard 0.
        With nobody connected nothing is told (Discord would not queue it either).
        """
        if guild_id is None:
            guild_id = _as_snowflake(data.get("guild_id"))
        return [session for session in self._receivers(guild_id) if self._send(session, event, data)]

    def _send(self, session: _GatewaySession, event: str, data: JsonObj) -> bool:
        """Send one dispatch on one session, if its intents ask for it; False when they do not."""
        needed = EVENT_INTENTS.get(event, 0)
        if needed and not session.intents & needed:
            return False
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & INTENT_MESSAGE_CONTENT:
            data = self._without_content(data)
        session.seq += 1
        frame = _dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, frame, event))
        self.gateway_log.append(GatewayRecord("out", OP_DISPATCH, event, session.seq, self.now()))
        if session.conn is not None:
            session.conn.queue.put_nowait((frame, event))
        return True

    def _without_content(self, message: JsonObj) -> JsonObj:
        """Without MESSAGE_CONTENT, others' messages arrive blank unless they mention the bot (or are DMs)."""
        bot_id = str(self.config.bot_user_id)
        if message.get("author", {}).get("id") == bot_id or any(
            u.get("id") == bot_id for u in message["mentions"]
        ):
            return message
        return {**message, "content": "", "embeds": [], "attachments": [], "components": []}

    def shard_sessions(self) -> list[ShardSession]:
        """The gateway sessions that receive events now, by shard."""
        return sorted(
            (
                ShardSession(s.session_id, s.shard, s.guild_ids, s.conn is not None, s.ready)
                for s in self._current.values()
            ),
            key=lambda view: view.shard,
        )

    def drop_gateway(self, shard: int = 0) -> None:
        """Close the websocket of the session holding ``shard`` (0 for an unsharded bot) with 4000.

        Not fatal: discord.py reconnects and RESUMEs; events meanwhile are buffered for the replay.
        """
        session = next(
            (s for s in self._current.values() if s.shard[0] == shard and s.conn is not None), None
        )
        if session is None or session.conn is None:
            raise RuntimeError(f"no gateway connection on shard {shard} to drop")
        conn, session.conn = session.conn, None
        conn.close(4000)

    def reset_session(self, shard: int | None = None) -> None:
        """Forget the gateway sessions (as after a bot restart), or only those of one shard id.

        ``wait_ready`` then waits for a new IDENTIFY. A connection still open on a forgotten session is
        closed with 4000; its RESUME then gets INVALID_SESSION.
        """
        for session in list(self._current.values()):
            if shard is not None and session.shard[0] != shard:
                continue
            self._current.pop(session.session_id, None)
            self._sessions.pop(session.session_id, None)
            if session.conn is not None:
                conn, session.conn = session.conn, None
                conn.close(4000)
        self._notify()

    def _ready_now(self, shard: int | None) -> bool:
        sessions = list(self._current.values())
        if shard is not None:
            return any(s.shard[0] == shard and s.ready for s in sessions)
        if not sessions or not all(s.ready for s in sessions):
            return False
        # Every shard of each shard count in use has its session: no guild is left unheard.
        counts = {s.shard[1] for s in sessions}
        return all({s.shard[0] for s in sessions if s.shard[1] == n} == set(range(n)) for n in counts)

    async def _gateway_writer(self, conn: _GatewayConn) -> None:
        while True:
            item = await conn.queue.get()
            if item is None:
                return
            if isinstance(item, int):
                await conn.ws.close(code=item, message=b"emulator closed the connection")
                return
            frame, event = item
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            if event in ("READY", "GUILD_CREATE") and conn.session is not None:
                self._written_ready_frame(conn.session, event)

    def _written_ready_frame(self, session: _GatewaySession, event: str) -> None:
        """READY and the GUILD_CREATEs queued at IDENTIFY are out: the session is ready after the last."""
        if session.ready:
            return
        if event == "GUILD_CREATE":
            session.unsent_guilds -= 1
        if session.unsent_guilds <= 0 and session.session_id in self._current:
            session.ready = True
            self._notify()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        self._learn_base_url(request)
        ws = web.WebSocketResponse(max_msg_size=4 * MiB)
        await ws.prepare(request)
        conn = _GatewayConn(ws, request.query)
        self._conns.add(conn)
        if request.query.get("encoding", "json") != "json":
            self._violate(f"gateway: unsupported encoding {request.query.get('encoding')!r}")
        writer = asyncio.create_task(self._gateway_writer(conn))
        conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.config.heartbeat_interval_ms}})
        self.gateway_log.append(GatewayRecord("out", OP_HELLO, None, None, self.now()))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        self._gateway_frame(conn, msg.data)
                    except Exception as exc:
                        log.exception("emulator error on a gateway frame")
                        self._violate(f"gateway: emulator error {exc!r}")
                elif msg.type is WSMsgType.BINARY:
                    self._violate("gateway: binary frame from the client (only JSON text is negotiated)")
                    conn.close(4002)
        finally:
            self._conns.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client's own 1000/1001 close ends the session (Discord invalidates it); other codes keep it.
                if ws.close_code in (1000, 1001):
                    self._current.pop(session.session_id, None)
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._notify()
        return ws

    def _gateway_frame(self, conn: _GatewayConn, raw: str) -> None:
        try:
            msg = json.loads(raw)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            self._violate(f"gateway: undecodable frame {raw[:100]!r}")
            conn.close(4002)
            return
        self.gateway_log.append(GatewayRecord("in", op, None, None, self.now()))
        data = msg.get("d")
        if op == OP_HEARTBEAT:
            conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            self._identify(conn, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            self._resume(conn, data if isinstance(data, dict) else {})
        elif op in (OP_REQUEST_MEMBERS, OP_PRESENCE, OP_VOICE) and conn.session is None:
            self._violate(f"gateway: opcode {op} before IDENTIFY")
            conn.close(4003)  # Not authenticated
        elif op == OP_REQUEST_MEMBERS and conn.session is not None:
            self._request_members(conn.session, data if isinstance(data, dict) else {})
        elif op in (OP_PRESENCE, OP_VOICE):
            pass  # presence and voice state updates are accepted and ignored
        else:
            self._violate(f"gateway: unexpected opcode {op}")

    def _request_members(self, session: _GatewaySession, data: JsonObj) -> None:
        guild_id = _as_snowflake(data.get("guild_id"))
        if guild_id not in session.guild_ids:
            self._violate(f"gateway: members requested for guild {data.get('guild_id')!r}, not on this shard")
            return
        self._send(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild_id),
                "members": [self.member_payload(u, guild_id=guild_id) for u in self._all_member_ids()],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            },
        )

    def _all_member_ids(self) -> list[int]:
        return [*self.config.members, self.config.bot_user_id]

    def _identify(self, conn: _GatewayConn, data: JsonObj) -> None:
        if conn.session is not None:
            self._violate("gateway: IDENTIFY sent twice on one connection")
            conn.close(4005)
            return
        if data.get("token") != self.config.bot_token:
            self._violate("gateway: IDENTIFY with a wrong token")
            conn.close(4004)
            return
        intents = data.get("intents")
        if not _is_int(intents):
            self._violate("gateway: IDENTIFY without integer intents")
            conn.close(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self.config.privileged_intents:
            self._violate(
                f"gateway: privileged intents {intents & PRIVILEGED_INTENTS:#x} not enabled for the app"
            )
            conn.close(4014)
            return
        shard = self._identify_shard(conn, data.get("shard"))
        if shard is None:
            return
        self.identifies += 1
        # A new session on a shard replaces the one before it (a restarted bot). Discord would feed
        # both, but the older belongs to a process that is gone; sessions of other shards stay.
        for old in [s for s in self._current.values() if s.shard == shard]:
            del self._current[old.session_id]
        guild_ids = tuple(g for g in self.guilds if shard_of(g, shard[1]) == shard[0])
        session = _GatewaySession(
            secrets.token_hex(16),
            conn=conn,
            intents=intents,
            shard=shard,
            sharded="shard" in data,
            guild_ids=guild_ids,
            unsent_guilds=len(guild_ids),
        )
        self._sessions[session.session_id] = session
        self._current[session.session_id] = session
        conn.session = session
        base = self.config.public_base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        ready = P.ready_payload(
            self._user_payload(self.config.bot_user_id),
            guild_ids,
            session_id=session.session_id,
            resume_gateway_url=f"{base}/gateway",
            application_id=self.config.application_id,
            shard=shard if session.sharded else None,
        )
        self._send(session, "READY", ready)
        for guild_id in guild_ids:
            self._send(session, "GUILD_CREATE", self.guild_payload(guild_id))
        self._notify()

    def _identify_shard(self, conn: _GatewayConn, raw: object) -> tuple[int, int] | None:
        """IDENTIFY's ``shard`` as (shard_id, num_shards), (0, 1) when absent; None after closing 4010/4011."""
        if raw is None:
            shard = (0, 1)
        elif (
            isinstance(raw, list)
            and len(raw) == 2
            and _is_int(raw[0])
            and _is_int(raw[1])
            and 0 <= raw[0] < raw[1]
        ):
            shard = (raw[0], raw[1])
        else:
            self._violate(
                f"gateway: IDENTIFY with shard {raw!r}: must be [shard_id, num_shards], 0 <= shard_id < num_shards"
            )
            conn.close(CLOSE_INVALID_SHARD)
            return None
        if shard[1] % self.config.shard_multiple:
            self._violate(
                f"gateway: IDENTIFY with {shard[1]} shards: must be a multiple of {self.config.shard_multiple}"
            )
            conn.close(CLOSE_INVALID_SHARD)
            return None
        held = sum(shard_of(g, shard[1]) == shard[0] for g in self.guilds)
        if held > self.config.max_guilds_per_session:
            self._violate(
                f"gateway: shard {list(shard)} would hold {held} guilds (at most "
                f"{self.config.max_guilds_per_session} per session): sharding required"
            )
            conn.close(CLOSE_SHARDING_REQUIRED)
            return None
        return shard

    def guild_payload(self, guild_id: int | None = None) -> JsonObj:
        """GUILD_CREATE's ``d`` for one guild (the first by default)."""
        guild = self._guild(guild_id)
        present = [c for c in self.channels.values() if c.guild_id == guild.id and not c.deleted]
        channels = [self.channel_payload(c) for c in present if not c.is_thread]
        threads = [self.channel_payload(c) for c in present if c.is_thread and not c.archived]
        members = [self.member_payload(u, guild_id=guild.id) for u in self._all_member_ids()]
        return P.guild_create_payload(
            guild.id,
            guild.name,
            owner_id=self.config.owner_id,
            roles=list(self._role_payloads(guild.id).values()),
            channels=channels,
            members=members,
            threads=threads,
            joined_at=self._started_at - 86400,
        )

    def _resume(self, conn: _GatewayConn, data: JsonObj) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        valid = (
            session is not None
            and session.session_id in self._current
            and data.get("token") == self.config.bot_token
            and (seq is None or _is_int(seq))
        )
        oldest = session.buffer[0][0] if session is not None and session.buffer else 1
        if not valid or session is None or (_is_int(seq) and seq + 1 < oldest):
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.close(4000)
        session.conn = conn
        conn.session = session
        last = seq if _is_int(seq) else 0
        for s, frame, event in session.buffer:
            if s > last:
                conn.queue.put_nowait((frame, event))
        self.resumes += 1
        # The session keeps its shard: it goes on receiving the same guilds' events.
        self._send(session, "RESUMED", {"_trace": ["discord-emulator"]})
        self._notify()

    # ----- HTTP plumbing -----------------------------------------------------------------------

    def _learn_base_url(self, request: web.Request) -> None:
        if not self.config.public_base_url:
            self.config = replace(self.config, public_base_url=f"{request.scheme}://{request.host}")

    def make_app(self) -> web.Application:
        """The aiohttp application: REST under /api/v10, /gateway, /cdn, /_emu control API."""
        app = web.Application(client_max_size=self.config.max_request_size + MiB)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        app.router.add_post("/_emu/slash", self._ctl_slash)
        app.router.add_post("/_emu/click", self._ctl_click)
        app.router.add_get("/_emu/calls", self._ctl_calls)
        app.router.add_get("/_emu/messages", self._ctl_messages)
        app.router.add_get("/_emu/violations", self._ctl_violations)
        app.router.add_get("/_emu/interactions", self._ctl_interactions)
        app.router.add_post("/_emu/faults", self._ctl_faults)
        app.router.add_post("/_emu/clock", self._ctl_clock)
        app.router.add_post("/_emu/deny", self._ctl_deny)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self.shutdown()

    async def shutdown(self) -> None:
        """Cancel timers and close gateway connections (going away)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for conn in list(self._conns):
            conn.close(int(WSCloseCode.GOING_AWAY))

    def _build_routes(self) -> list[_Route]:
        routes = []
        for attr, function in vars(type(self)).items():
            for method, template, name, bot_auth in getattr(function, _ROUTES_ATTR, ()):
                handler = getattr(self, attr)
                # Snowflake parameters only match digits, so "@original"/"@me" never collide with them.
                pattern = re.sub(
                    r"\\\{(\w+)\\\}",
                    lambda m: f"(?P<{m[1]}>{'[0-9]+' if m[1].endswith('_id') else '[^/]+'})",
                    re.escape(template),
                )
                routes.append(_Route(method, template, re.compile(f"^{pattern}$"), name, handler, bot_auth))
        return routes

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method:
                found = route.regex.match(path)
                if found:
                    return route, found.groupdict()
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[_UploadedFile]]:
        if not request.can_read_body:
            return None, []
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            body: Any = None
            files: list[_UploadedFile] = []
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
                    _UploadedFile(
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

    @staticmethod
    def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
        # Exactly "application/json": discord.py compares the header by equality (pitfall 1, no charset).
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status, body=_dumps(body).encode(), content_type="application/json", headers=headers
        )

    async def _api(self, request: web.Request) -> web.StreamResponse:
        self._learn_base_url(request)
        path = request.path[len(API_PREFIX) :] or "/"
        query = dict(request.query)
        body: Any = None
        files: list[_UploadedFile] = []
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
            total = sum(len(f.data) for f in files)
            if total > self.config.max_request_size:
                raise DiscordHTTPError(
                    413,
                    TOO_LARGE,
                    "Request entity too large",
                    violation=f"request carries {total} bytes of files",
                )
            if body is not None:
                problems = validate_against_spec(
                    self._spec_path, route.template, request.method.lower(), body
                )
                if problems:
                    raise _form_error(problems, f"{request.method} {path} does not match Discord's schema")
            resp = await route.handler(_Req(request.method, path, params, query, body, files, request))
        except DiscordHTTPError as exc:
            if exc.violation:
                self._violate(f"{request.method} {path} -> {exc.status}: {exc.violation}")
            resp = _Resp(exc.status, exc.body, exc.headers)
        except Exception as exc:
            # An emulator bug must fail the test run, not pass as one of Discord's retryable 500s.
            log.exception("emulator error on %s %s", request.method, path)
            self._violate(f"{request.method} {path} -> 500: emulator error {exc!r}")
            resp = _Resp(500, P.error_payload(0, "500: Internal Server Error"))
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
        return self._json_response(resp.status, resp.body, resp.headers)

    def _check_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.config.bot_token}":
            raise DiscordHTTPError(401, 0, "401: Unauthorized", violation="missing or wrong bot token")

    # ----- rate limits -------------------------------------------------------------------------

    def _rate_headers(self, limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": f"{_now_wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _too_many(
        self, retry_after: float, headers: dict[str, str], *, is_global: bool, scope: str
    ) -> DiscordHTTPError:
        headers = {
            **headers,
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
            # discord.py only retries a 429 carrying Via (else it assumes a Cloudflare ban).
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return DiscordHTTPError(
            429, 0, "", body=P.rate_limit_payload(retry_after, is_global=is_global), headers=headers
        )

    def _check_global_rate(self) -> None:
        if self.faults.global_429_next > 0:
            self.faults.global_429_next -= 1
            raise self._too_many(self.faults.retry_after, {}, is_global=True, scope="global")
        now = self.now()
        window = self._global_window
        if now - window.start >= 1.0:
            window.start, window.count = now, 0
        if window.count >= self.config.global_rate:
            raise self._too_many(window.start + 1.0 - now, {}, is_global=True, scope="global")
        window.count += 1

    def _channel_rate(self, channel: EmuChannel) -> dict[str, str]:
        """Per-channel message-create bucket; returns the headers for a successful answer."""
        limit, per = self.config.channel_rate
        bucket = "emu-channel-message-create"
        now = self.now()
        window = self._channel_windows[channel.id]
        if now - window.start >= per:
            window.start, window.count = now, 0
        reset_after = max(window.start + per - now, 0.001)
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            headers = self._rate_headers(limit, 0, self.faults.retry_after, bucket)
            raise self._too_many(self.faults.retry_after, headers, is_global=False, scope="user")
        if window.count >= limit:
            headers = self._rate_headers(limit, 0, reset_after, bucket)
            raise self._too_many(reset_after, headers, is_global=False, scope="user")
        window.count += 1
        return self._rate_headers(limit, limit - window.count, reset_after, bucket)

    # ----- REST: login, gateway, commands ------------------------------------------------------

    @_route("GET", "/users/@me", name="get_my_user")
    async def _get_me(self, _req: _Req) -> _Resp:
        user = self._user_payload(self.config.bot_user_id)
        return _Resp(body={**user, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})

    @_route("GET", "/oauth2/applications/@me", name="get_my_application")
    async def _get_app(self, _req: _Req) -> _Resp:
        cfg = self.config
        return _Resp(
            body=P.application_payload(
                cfg.application_id,
                cfg.bot_name,
                self._user_payload(cfg.owner_id),
                bot=self._user_payload(cfg.bot_user_id),
            )
        )

    def _ws_url(self) -> str:
        return self.config.public_base_url.replace("http://", "ws://", 1) + "/gateway"

    @_route("GET", "/gateway", bot_auth=False)
    async def _get_gateway(self, _req: _Req) -> _Resp:
        return _Resp(body=P.gateway_payload(self._ws_url()))

    @_route("GET", "/gateway/bot", name="get_bot_gateway")
    async def _get_gateway_bot(self, _req: _Req) -> _Resp:
        return _Resp(body=P.gateway_bot_payload(self._ws_url(), shards=self.config.recommended_shards))

    def _command_scope(self, req: _Req) -> int | None:
        if _as_snowflake(req.params["application_id"]) != self.config.application_id:
            raise DiscordHTTPError(
                403, MISSING_PERMISSIONS, "Missing Access", violation="commands for another application"
            )
        raw = req.params.get("guild_id")
        if raw is None:
            return None
        guild_id = _as_snowflake(raw)
        if guild_id is None or guild_id not in self.guilds:
            raise DiscordHTTPError(
                403, 50001, "Missing Access", violation=f"commands for unknown guild {raw}"
            )
        return guild_id

    @_route("GET", "/applications/{application_id}/commands")
    @_route("GET", "/applications/{application_id}/guilds/{guild_id}/commands", name="list_guild_commands")
    async def _list_commands(self, req: _Req) -> _Resp:
        return _Resp(body=self.commands.get(self._command_scope(req), []))

    @_route("PUT", "/applications/{application_id}/commands", name="bulk_set_commands")
    @_route(
        "PUT", "/applications/{application_id}/guilds/{guild_id}/commands", name="bulk_set_guild_commands"
    )
    async def _put_commands(self, req: _Req) -> _Resp:
        scope = self._command_scope(req)
        body = req.body if isinstance(req.body, list) else []
        problems = command_errors(body, global_scope=scope is None)
        if problems:
            raise _form_error(problems, "invalid application commands")
        old = {(c.get("type") or 1, c.get("name")): c for c in self.commands.get(scope, [])}
        stored = []
        for cmd in body:
            previous = old.get((cmd.get("type") or 1, cmd.get("name")))
            command_id = int(previous["id"]) if previous else self._new_id()
            stored.append(
                P.application_command_payload(
                    cmd,
                    command_id=command_id,
                    application_id=self.config.application_id,
                    guild_id=scope,
                    version=self._new_id(),
                )
            )
        self.commands[scope] = stored
        return _Resp(body=stored)

    # ----- REST: interactions and webhooks -----------------------------------------------------

    _ALLOWED_CALLBACKS: Final = {
        InteractionType.APPLICATION_COMMAND: {4, 5, 9},
        InteractionType.MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
        InteractionType.AUTOCOMPLETE: {8},
        InteractionType.MODAL_SUBMIT: {4, 5, 6, 7},
    }

    @_route(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        name="interaction_callback",
        bot_auth=False,
    )
    async def _callback(self, req: _Req) -> _Resp:
        iid = _as_snowflake(req.params["interaction_id"])
        inter = self.interactions.get(iid) if iid is not None else None
        if inter is None or inter.token != req.params["interaction_token"]:
            raise DiscordHTTPError(
                404,
                UNKNOWN_INTERACTION,
                "Unknown interaction",
                violation="callback for an unknown interaction",
            )
        if inter.acked_at is not None:
            raise DiscordHTTPError(
                400,
                ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
                violation=f"interaction {inter.id} acknowledged twice",
            )
        age = self.now() - inter.created_at
        if age > self.config.ack_deadline:
            raise DiscordHTTPError(
                404,
                UNKNOWN_INTERACTION,
                "Unknown interaction",
                violation=f"interaction {inter.id} acknowledged after {age:.2f}s (> {self.config.ack_deadline}s)",
            )
        body = req.body if isinstance(req.body, dict) else {}
        kind = body.get("type")
        if kind not in self._ALLOWED_CALLBACKS.get(inter.type, set()):
            raise _form_error(
                [
                    FieldError(
                        ("type",),
                        "INTERACTION_RESPONSE_TYPE_INVALID",
                        f"Callback type {kind!r} is not valid for interaction type {int(inter.type)}.",
                    )
                ],
                "invalid callback type",
            )
        callback = CallbackType(kind)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        assert isinstance(data, dict)
        channel = self._channel_or_404(inter.channel_id)
        message: EmuMessage | None = None
        loading = False
        if callback in (CallbackType.CHANNEL_MESSAGE_WITH_SOURCE, CallbackType.UPDATE_MESSAGE):
            self._check_message(
                data,
                req.files,
                creating=callback is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
                what="interaction response",
            )
        if callback is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE and data and set(data) - {"flags"}:
            raise _form_error(
                [FieldError(("data",), "BASE_TYPE_INVALID", "A deferred response only takes flags.")],
                "deferred response with data",
            )
        inter.acked_at, inter.ack_type = self.now(), callback
        if callback is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._new_message(
                channel,
                data,
                req.files,
                source=MessageSource.INTERACTION,
                author_id=self.config.bot_user_id,
                interaction=inter,
            )
            inter.original_message_id = message.id
        elif callback is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = int(data.get("flags") or 0) & MessageFlag.EPHEMERAL
            message = self._new_message(
                channel,
                {},
                [],
                source=MessageSource.INTERACTION,
                author_id=self.config.bot_user_id,
                interaction=inter,
                flags=flags | MessageFlag.LOADING,
            )
            inter.original_message_id = message.id
            loading = True
        elif callback in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            # For components, @original is the message the component sits on.
            inter.original_message_id = inter.message_id
            if callback is CallbackType.UPDATE_MESSAGE and inter.message_id is not None:
                message = self.messages[inter.message_id]
                self._edit_message(message, data, req.files)
        elif callback is CallbackType.MODAL:
            inter.modal = data
        inter.responses.append(
            EmuResponse("callback", self.now(), int(callback), body, message.id if message else None)
        )
        self._notify()
        if req.query.get("with_response", "").lower() not in ("1", "true"):
            return _Resp(204)  # Discord answers 204 unless asked; discord.py >= 2.5 always asks
        payload = self.message_payload(message) if message is not None else None
        return _Resp(
            body=P.callback_response_payload(
                inter.id,
                int(inter.type),
                int(callback),
                message=payload,
                loading=loading,
                ephemeral=bool(message and message.ephemeral),
            )
        )

    def _acked(self, inter: EmuInteraction, what: str) -> None:
        if inter.acked_at is None:
            raise DiscordHTTPError(
                404,
                UNKNOWN_WEBHOOK,
                "Unknown Webhook",
                violation=f"{what} before the interaction was acknowledged",
            )

    @_route("POST", "/webhooks/{webhook_id}/{webhook_token}", name="execute_webhook", bot_auth=False)
    async def _followup(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="followup"
        )
        self._acked(inter, "followup")
        if self.faults.followup_delay > 0:
            await asyncio.sleep(self.faults.followup_delay)
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=True, what="followup")
        original = self.messages.get(inter.original_message_id) if inter.original_message_id else None
        if original is not None and original.flags & MessageFlag.LOADING and not original.deleted:
            # Discord: the first follow-up after a deferred response replaces the "thinking…" message,
            # which keeps its ephemeral flag whatever the follow-up asks.
            self._edit_message(original, body, req.files)
            inter.responses.append(EmuResponse("followup", self.now(), None, body, original.id))
            if req.query.get("wait", "").lower() not in ("1", "true"):
                return _Resp(204)
            return _Resp(body=self.message_payload(original))
        channel = self._channel_or_404(inter.channel_id)
        flags = int(body.get("flags") or 0) & MessageFlag.EPHEMERAL
        message = self._new_message(
            channel,
            body,
            req.files,
            source=MessageSource.FOLLOWUP,
            author_id=self.config.bot_user_id,
            interaction=inter,
            flags=flags,
        )
        inter.followup_ids.append(message.id)
        inter.responses.append(EmuResponse("followup", self.now(), None, body, message.id))
        if req.query.get("wait", "").lower() not in ("1", "true"):
            return _Resp(204)
        return _Resp(body=self.message_payload(message))

    def _original(self, inter: EmuInteraction, what: str) -> EmuMessage:
        self._acked(inter, what)
        mid = inter.original_message_id
        message = self.messages.get(mid) if mid is not None else None
        if message is None or message.deleted:
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def _owned_followup(self, inter: EmuInteraction, raw: str) -> EmuMessage:
        mid = _as_snowflake(raw)
        message = self.messages.get(mid) if mid is not None else None
        if (
            message is None
            or message.deleted
            or (message.interaction_id != inter.id and mid != inter.message_id)
        ):
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    @_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", bot_auth=False)
    async def _get_original(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="get @original"
        )
        return _Resp(body=self.message_payload(self._original(inter, "get @original")))

    def _webhook_edit(self, inter: EmuInteraction, message: EmuMessage, req: _Req, kind: str) -> _Resp:
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=False, what=kind)
        channel = self._channel_or_404(message.channel_id)
        if channel.is_thread and channel.archived and not message.ephemeral:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        self._edit_message(message, body, req.files)
        inter.responses.append(EmuResponse(kind, self.now(), None, body, message.id))
        return _Resp(body=self.message_payload(message))

    @_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", bot_auth=False)
    async def _edit_original(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="edit @original"
        )
        return self._webhook_edit(inter, self._original(inter, "edit @original"), req, "edit_original")

    @_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", bot_auth=False)
    async def _delete_original(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="delete @original"
        )
        message = self._original(inter, "delete @original")
        self._delete_message(message)
        inter.responses.append(EmuResponse("delete_original", self.now(), None, None, message.id))
        return _Resp(204)

    @_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", bot_auth=False)
    async def _get_followup(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="get followup"
        )
        return _Resp(body=self.message_payload(self._owned_followup(inter, req.params["message_id"])))

    @_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", bot_auth=False)
    async def _edit_followup(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="edit followup"
        )
        return self._webhook_edit(
            inter, self._owned_followup(inter, req.params["message_id"]), req, "edit_followup"
        )

    @_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", bot_auth=False)
    async def _delete_followup(self, req: _Req) -> _Resp:
        inter = self._interaction_for_token(
            req.params["webhook_id"], req.params["webhook_token"], what="delete followup"
        )
        message = self._owned_followup(inter, req.params["message_id"])
        self._delete_message(message)
        inter.responses.append(EmuResponse("delete_followup", self.now(), None, None, message.id))
        return _Resp(204)

    # ----- REST: channel messages --------------------------------------------------------------

    def _visible_message(self, channel: EmuChannel, raw: str) -> EmuMessage:
        mid = _as_snowflake(raw)
        message = self.messages.get(mid) if mid is not None else None
        if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
            raise DiscordHTTPError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def _check_nonce(self, body: Mapping[str, Any]) -> EmuMessage | None:
        """With ``enforce_nonce``, the same author + nonce within the window returns the earlier message."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        key = (self.config.bot_user_id, str(nonce))
        seen = self._nonces.get(key)
        if seen is None:
            return None
        message_id, at = seen
        message = self.messages.get(message_id)
        if message is None or message.deleted or self.now() - at > self.config.nonce_window:
            return None
        return message

    @_route("POST", "/channels/{channel_id}/messages")
    async def _create_message(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        headers = self._channel_rate(channel)
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=True, what="create message")
        needed = Perm.VIEW_CHANNEL | (
            Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        )
        if req.files:
            needed |= Perm.ATTACH_FILES
        self._require(channel, needed)
        existing = self._check_nonce(body)
        if existing is not None:
            if existing.channel_id != channel.id:
                existing = None
            else:
                return _Resp(body=self.message_payload(existing), headers=headers)
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
            channel.archived = False  # sending into an unlocked archived thread unarchives it
            self._dispatch("THREAD_UPDATE", self.channel_payload(channel))
        message = self._new_message(
            channel, body, req.files, source=MessageSource.BOT, author_id=self.config.bot_user_id
        )
        if message.nonce is not None and body.get("enforce_nonce"):
            self._nonces[(self.config.bot_user_id, str(message.nonce))] = (message.id, message.created_at)
        if self.faults.server_error_after_store_next > 0:
            self.faults.server_error_after_store_next -= 1
            return _Resp(500, P.error_payload(0, "500: Internal Server Error"))
        return _Resp(body=self.message_payload(message), headers=headers)

    @_route("GET", "/channels/{channel_id}/messages")
    async def _list_messages(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        try:
            limit = int(req.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_HISTORY:
            raise _form_error(
                [FieldError(("limit",), "NUMBER_TYPE_MAX", "Must be between 1 and 100.")], "history limit"
            )
        visible = self.thread_messages(channel.id)
        before, after = _as_snowflake(req.query.get("before")), _as_snowflake(req.query.get("after"))
        if after is not None:
            chosen = [m for m in visible if m.id > after][:limit]
        else:
            chosen = [m for m in visible if before is None or m.id < before][-limit:]
        return _Resp(body=[self.message_payload(m) for m in sorted(chosen, key=lambda m: -m.id)])

    @_route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def _get_message(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return _Resp(body=self.message_payload(self._visible_message(channel, req.params["message_id"])))

    @_route("PATCH", "/channels/{channel_id}/messages/{message_id}", name="edit_message")
    async def _edit_channel_message(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._visible_message(channel, req.params["message_id"])
        if message.author_id != self.config.bot_user_id:
            raise DiscordHTTPError(
                403,
                CANNOT_EDIT_OTHERS,
                "Cannot edit a message authored by another user",
                violation="edited someone else's message",
            )
        body = req.body if isinstance(req.body, dict) else {}
        self._check_message(body, req.files, creating=False, what="edit message")
        if channel.is_thread and channel.archived:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        self._edit_message(message, body, req.files)
        return _Resp(body=self.message_payload(message))

    @_route("DELETE", "/channels/{channel_id}/messages/{message_id}", name="delete_message")
    async def _delete_channel_message(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        message = self._visible_message(channel, req.params["message_id"])
        if message.author_id != self.config.bot_user_id:
            self._require(channel, Perm.MANAGE_MESSAGES)
        message.deleted_by_bot = True
        self._delete_message(message)
        return _Resp(204)

    # ----- REST: threads and channels ----------------------------------------------------------

    def _thread_params(self, body: Mapping[str, Any]) -> tuple[str, int]:
        problems = []
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_THREAD_NAME:
            problems.append(
                FieldError(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            )
        auto_archive = body.get("auto_archive_duration")
        if auto_archive is None:
            auto_archive = 1440
        if auto_archive not in AUTO_ARCHIVE_DURATIONS:
            problems.append(
                FieldError(
                    ("auto_archive_duration",),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {60, 1440, 4320, 10080}.",
                )
            )
        if problems:
            raise _form_error(problems, "invalid thread")
        assert isinstance(name, str)
        return name, int(auto_archive)

    @_route("POST", "/channels/{channel_id}/threads", name="create_thread")
    async def _create_thread_route(self, req: _Req) -> _Resp:
        parent = self._channel_or_404(req.params["channel_id"])
        body = req.body if isinstance(req.body, dict) else {}
        if parent.type is not ChannelType.GUILD_TEXT:
            raise DiscordHTTPError(
                400,
                WRONG_CHANNEL_TYPE,
                "Cannot execute action on this channel type",
                violation="thread inside a thread",
            )
        name, auto_archive = self._thread_params(body)
        raw_type = body.get("type")
        kind = ChannelType.PRIVATE_THREAD if raw_type is None else raw_type  # Discord's default is private
        if kind not in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD):
            raise _form_error(
                [FieldError(("type",), "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")],
                "invalid thread type",
            )
        kind = ChannelType(kind)
        self._require(
            parent,
            Perm.VIEW_CHANNEL
            | (
                Perm.CREATE_PUBLIC_THREADS
                if kind is ChannelType.PUBLIC_THREAD
                else Perm.CREATE_PRIVATE_THREADS
            ),
        )
        thread = self._create_thread(
            parent,
            thread_id=self._new_id(),
            name=name,
            kind=kind,
            auto_archive=auto_archive,
            invitable=bool(body.get("invitable", True)),
            rate=int(body.get("rate_limit_per_user") or 0),
        )
        return _Resp(201, self.channel_payload(thread))

    @_route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def _create_thread_from_message(self, req: _Req) -> _Resp:
        parent = self._channel_or_404(req.params["channel_id"])
        message = self._visible_message(parent, req.params["message_id"])
        body = req.body if isinstance(req.body, dict) else {}
        if parent.type is not ChannelType.GUILD_TEXT:
            raise DiscordHTTPError(
                400,
                WRONG_CHANNEL_TYPE,
                "Cannot execute action on this channel type",
                violation="thread inside a thread",
            )
        name, auto_archive = self._thread_params(body)
        self._require(parent, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        if message.id in self.channels:
            raise DiscordHTTPError(
                400, THREAD_ALREADY_CREATED, "A thread has already been created for this message"
            )
        thread = self._create_thread(
            parent,
            thread_id=message.id,  # a thread started from a message shares its id
            name=name,
            kind=ChannelType.PUBLIC_THREAD,
            auto_archive=auto_archive,
            invitable=True,
            rate=int(body.get("rate_limit_per_user") or 0),
        )
        return _Resp(201, self.channel_payload(thread))

    @_route("GET", "/channels/{channel_id}")
    async def _get_channel(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL)
        return _Resp(body=self.channel_payload(channel))

    @_route("PATCH", "/channels/{channel_id}")
    async def _update_channel(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        body = req.body if isinstance(req.body, dict) else {}
        if not channel.is_thread:
            self._require(channel, Perm.MANAGE_CHANNELS)
        if channel.archived and body.get("archived") is not False:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        if "name" in body:
            name, _ = self._thread_params(
                {"name": body["name"], "auto_archive_duration": channel.auto_archive_duration}
            )
            channel.name = name
        if body.get("auto_archive_duration") is not None:
            _, channel.auto_archive_duration = self._thread_params({"name": channel.name, **body})
        if "locked" in body or ("archived" in body and channel.locked):
            self._require(channel, Perm.MANAGE_THREADS)
        if "locked" in body:
            channel.locked = bool(body["locked"])
        if "archived" in body:
            channel.archived = bool(body["archived"])
            channel.archive_timestamp = channel.last_activity = self.now()
        if "invitable" in body:
            channel.invitable = bool(body["invitable"])
        if body.get("rate_limit_per_user") is not None:
            channel.rate_limit_per_user = int(body["rate_limit_per_user"])
        payload = self.channel_payload(channel)
        self._dispatch("THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE", payload)
        self._notify()
        return _Resp(body=payload)

    @_route("DELETE", "/channels/{channel_id}", name="delete_channel")
    async def _delete_channel_route(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS)
        payload = self.channel_payload(channel)
        self.delete_channel(channel.id)
        return _Resp(body=payload)

    def _thread_or_400(self, raw: str) -> EmuChannel:
        channel = self._channel_or_404(raw)
        if not channel.is_thread:
            raise DiscordHTTPError(
                400,
                WRONG_CHANNEL_TYPE,
                "Cannot execute action on this channel type",
                violation="thread member op on a non-thread",
            )
        if channel.archived:
            raise DiscordHTTPError(400, THREAD_ARCHIVED, "Thread is archived")
        return channel

    @_route("PUT", "/channels/{channel_id}/thread-members/@me")
    async def _join_thread(self, req: _Req) -> _Resp:
        channel = self._thread_or_400(req.params["channel_id"])
        channel.member_ids.add(self.config.bot_user_id)
        return _Resp(204)

    @_route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
    async def _add_thread_member(self, req: _Req) -> _Resp:
        channel = self._thread_or_400(req.params["channel_id"])
        uid = _as_snowflake(req.params["user_id"])
        if uid is None or uid not in self._all_member_ids():
            raise DiscordHTTPError(404, UNKNOWN_USER, "Unknown User")
        channel.member_ids.add(uid)
        self._notify()
        return _Resp(204)

    @_route("POST", "/channels/{channel_id}/typing")
    async def _typing(self, req: _Req) -> _Resp:
        channel = self._channel_or_404(req.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL)
        return _Resp(204)

    # ----- REST: guild reads -------------------------------------------------------------------

    def _guild_or_404(self, raw: str) -> int:
        guild_id = _as_snowflake(raw)
        if guild_id is None or guild_id not in self.guilds:
            raise DiscordHTTPError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild_id

    @_route("GET", "/guilds/{guild_id}")
    async def _get_guild(self, req: _Req) -> _Resp:
        payload = self.guild_payload(self._guild_or_404(req.params["guild_id"]))
        for gateway_only in (
            "channels",
            "members",
            "threads",
            "voice_states",
            "presences",
            "joined_at",
            "large",
            "member_count",
        ):
            payload.pop(gateway_only, None)
        return _Resp(body=payload)

    @_route("GET", "/guilds/{guild_id}/channels")
    async def _list_guild_channels(self, req: _Req) -> _Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        return _Resp(
            body=[
                self.channel_payload(c)
                for c in self.channels.values()
                if c.guild_id == guild_id and not c.is_thread and not c.deleted
            ]
        )

    @_route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def _get_member(self, req: _Req) -> _Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        uid = _as_snowflake(req.params["user_id"])
        if uid is None or uid not in self._all_member_ids():
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return _Resp(body=self.member_payload(uid, guild_id=guild_id))

    @_route("GET", "/guilds/{guild_id}/threads/active")
    async def _active_threads(self, req: _Req) -> _Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        threads = [c for c in self.threads() if c.guild_id == guild_id and not c.deleted and not c.archived]
        return _Resp(body={"threads": [self.channel_payload(t) for t in threads], "members": []})

    # ----- CDN ---------------------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        aid = _as_snowflake(request.match_info["attachment_id"])
        attachment = self.attachments.get(aid) if aid is not None else None
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    # ----- control API (/_emu/, out-of-process tests and the demo) -----------------------------

    @staticmethod
    async def _ctl_body(request: web.Request) -> JsonObj:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return body

    def _interaction_json(self, inter: EmuInteraction) -> JsonObj:
        return {
            "id": str(inter.id),
            "type": int(inter.type),
            "user_id": str(inter.user_id),
            "channel_id": str(inter.channel_id),
            "command": inter.command,
            "custom_id": inter.custom_id,
            "created_at": inter.created_at,
            "acked_at": inter.acked_at,
            "ack_type": int(inter.ack_type) if inter.ack_type is not None else None,
            "original_message_id": str(inter.original_message_id) if inter.original_message_id else None,
            "followup_ids": [str(i) for i in inter.followup_ids],
            "ephemeral_replies": self.ephemeral_replies(inter),
        }

    async def _ctl_slash(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        attachments = {
            name: (
                str(spec["filename"]),
                str(spec.get("content_type", "application/octet-stream")),
                base64.b64decode(spec["data_b64"]),
            )
            for name, spec in (body.get("attachments") or {}).items()
        }
        try:
            inter = await self.slash(
                int(body["user_id"]),
                int(body.get("channel_id", self.config.text_channel_id)),
                str(body["command"]),
                body.get("subcommand"),
                body.get("options") or {},
                attachments,
            )
        except (KeyError, LookupError, ValueError, RuntimeError) as exc:
            return self._json_response(400, {"error": str(exc)})
        return self._json_response(200, self._interaction_json(inter))

    async def _ctl_click(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        try:
            inter = await self.click(int(body["user_id"]), int(body["message_id"]), str(body["custom_id"]))
        except (KeyError, ValueError, RuntimeError) as exc:
            return self._json_response(400, {"error": str(exc)})
        return self._json_response(200, self._interaction_json(inter))

    async def _ctl_calls(self, _request: web.Request) -> web.StreamResponse:
        return self._json_response(200, [c.to_json() for c in self.calls])

    async def _ctl_messages(self, _request: web.Request) -> web.StreamResponse:
        out = []
        for m in sorted(self.messages.values(), key=lambda m: m.id):
            payload = self.message_payload(m)
            payload["deleted"] = m.deleted
            payload["source"] = str(m.source)
            out.append(payload)
        return self._json_response(200, out)

    async def _ctl_violations(self, _request: web.Request) -> web.StreamResponse:
        return self._json_response(200, self.violations)

    async def _ctl_interactions(self, _request: web.Request) -> web.StreamResponse:
        return self._json_response(200, [self._interaction_json(i) for i in self.interactions.values()])

    async def _ctl_faults(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        for name in ("rate_limit_next", "global_429_next", "server_error_after_store_next"):
            if name in body:
                value = body[name]
                if not _is_int(value) or value < 0:
                    return self._json_response(400, {"error": f"{name} must be a non-negative integer"})
                setattr(self.faults, name, value)
        if "retry_after" in body:
            self.faults.retry_after = float(body["retry_after"])
        if body.get("drop_gateway"):
            try:
                self.drop_gateway()
            except RuntimeError as exc:
                return self._json_response(409, {"error": str(exc)})
        f = self.faults
        return self._json_response(
            200,
            {
                "rate_limit_next": f.rate_limit_next,
                "global_429_next": f.global_429_next,
                "server_error_after_store_next": f.server_error_after_store_next,
                "retry_after": f.retry_after,
            },
        )

    async def _ctl_clock(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        if "offset" in body:
            self.clock_offset = float(body["offset"])
        self.clock_offset += float(body.get("advance", 0))
        return self._json_response(200, {"clock_offset": self.clock_offset, "now": self.now()})

    async def _ctl_deny(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        try:
            channel_id = int(body["channel_id"])
            names = [str(p) for p in body.get("permissions", [])]
            if body.get("allow"):
                self.allow(channel_id, *names)
            else:
                self.deny(channel_id, *names)
        except (KeyError, ValueError) as exc:
            return self._json_response(400, {"error": str(exc)})
        return self._json_response(
            200, {"channel_id": str(channel_id), "denied": int(self._denied_in(channel_id))}
        )


# --------------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------------


@dataclass
class RunningEmulator:
    """An emulator served on a real socket; point discord.py at ``api_base_url`` and ``gateway_url``."""

    emu: DiscordEmulator
    runner: web.AppRunner
    host: str
    port: int

    @property
    def root_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """The value for ``discord.http.Route.BASE``."""
        return f"{self.root_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def control_url(self) -> str:
        """Base of the ``/_emu/`` control API."""
        return f"{self.root_url}/_emu"

    async def close(self) -> None:
        """Close gateway connections and stop serving."""
        await self.emu.shutdown()
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningEmulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def start_emulator(
    config: EmuConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Serve a new emulator on ``host:port`` (0 = a free port) and return a handle to it."""
    emu = DiscordEmulator(config)
    runner, bound_port = await bind(emu.make_app(), host, port, shutdown_timeout=1.0)
    emu.config = replace(emu.config, public_base_url=f"http://{host}:{bound_port}")
    return RunningEmulator(emu=emu, runner=runner, host=host, port=bound_port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local Discord emulator (gateway + REST v10)")
    listen_arguments(parser)
    parser.add_argument("--token", default=EmuConfig.bot_token, help="the bot token it accepts")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    running = await start_emulator(EmuConfig(bot_token=args.token), host=args.host, port=args.port)
    urls = {
        "api_base_url": running.api_base_url,
        "gateway_url": running.gateway_url,
        "control_url": running.control_url,
    }
    await serve_until_stopped(running, json.dumps(urls))


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: serve until SIGINT/SIGTERM, printing the URLs (JSON) first."""
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
