"""Request (and response) validation against Discord's own OpenAPI spec of REST v10, loaded and compiled
once per process.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox.discord_emu.errors import FieldError
from sandbox.discord_emu.values import is_int

SPEC_URI: Final = "urn:discord-openapi"
#: The copy shipped in sandbox/assets (package data, see pyproject.toml).
DEFAULT_SPEC: Final = Path(__file__).parent.parent / "assets" / "discord-openapi.json.gz"
_INT_STRING: Final = re.compile(r"-?\d+")

_BASE_TYPE = Draft202012Validator.VALIDATORS["type"]


def _lenient_type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """Discord accepts int-parseable strings for integers and, from discord.py, ints for snowflakes."""
    wanted = types if isinstance(types, list) else [types]
    if isinstance(instance, str) and "integer" in wanted and _INT_STRING.fullmatch(instance):
        return
    if is_int(instance) and "string" in wanted and schema.get("format") == "snowflake":
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
def spec_registry(path: str) -> tuple[Registry[Any], Any]:
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
    registry, spec = spec_registry(path)
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
