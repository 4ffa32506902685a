"""Shared helpers for the bot.domain.prompt tests: the prompt kinds, the seed bound, error shortcuts."""

from __future__ import annotations

import pytest

from bot.domain.prompt import PikaOptions, PromptError, PromptKind, parse_prompt

CREATE = PromptKind.CREATE
ANIMATE = PromptKind.ANIMATE
ENCRYPT_TEXT = PromptKind.ENCRYPT_TEXT
ENCRYPT_IMAGE = PromptKind.ENCRYPT_IMAGE
ALL_KINDS = list(PromptKind)
ENCRYPT_KINDS = [ENCRYPT_TEXT, ENCRYPT_IMAGE]
PLAIN_KINDS = [CREATE, ANIMATE]
MAX_SEED = 2**63 - 1


def options_with(field: str, value: object) -> PikaOptions:
    return PikaOptions(**{field: value})  # type: ignore[arg-type]


def parse_error(raw: str, kind: PromptKind = CREATE) -> PromptError:
    with pytest.raises(PromptError) as info:
        parse_prompt(raw, kind)
    return info.value
