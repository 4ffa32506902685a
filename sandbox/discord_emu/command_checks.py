"""The checks Discord applies to a bulk overwrite of application commands (docs/discord.md section 5)."""

from __future__ import annotations

import re

from sandbox.discord_emu.constants import (
    MAX_CHOICE_VALUE,
    MAX_CHOICES,
    MAX_COMMAND_CHARS,
    MAX_COMMAND_DESCRIPTION,
    MAX_COMMAND_NAME,
    MAX_COMMAND_OPTIONS,
    MAX_GLOBAL_CHAT_COMMANDS,
    MAX_STRING_OPTION_LENGTH,
)
from sandbox.discord_emu.errors import FieldError, too_long
from sandbox.discord_emu.values import is_int, str_len
from sandbox.discord_payloads import JsonObj, OptionType


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
    chars = str_len(name) + str_len(description)
    if not is_int(kind) or not OptionType.SUB_COMMAND <= kind <= OptionType.ATTACHMENT:
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
    choice_problems, choice_chars = _choices_errors(option, path)
    problems += choice_problems
    chars += choice_chars
    for key, low in (("min_length", 0), ("max_length", 1)):
        bound = option.get(key)
        if bound is not None and (not is_int(bound) or not low <= bound <= MAX_STRING_OPTION_LENGTH):
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


def _choices_errors(option: JsonObj, path: tuple[str | int, ...]) -> tuple[list[FieldError], int]:
    """An option's choices: how many, not beside autocomplete, name and value lengths; and their characters."""
    problems: list[FieldError] = []
    chars = 0
    choices = option.get("choices") or []
    if not isinstance(choices, list):
        return problems, chars
    if len(choices) > MAX_CHOICES:
        problems.append(too_long((*path, "choices"), MAX_CHOICES))
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
        chars += str_len(cname) + (len(str(value)) if value is not None else 0)
        if not isinstance(cname, str) or not 1 <= len(cname) <= MAX_CHOICE_VALUE:
            problems.append(
                FieldError(
                    (*path, "choices", k, "name"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            )
        if isinstance(value, str) and len(value) > MAX_CHOICE_VALUE:
            problems.append(too_long((*path, "choices", k, "value"), MAX_CHOICE_VALUE))
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
        problems.append(too_long(path, MAX_COMMAND_OPTIONS))
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
        chars += str_len(name) + str_len(description)
        if chars > MAX_COMMAND_CHARS:
            problems.append(
                FieldError(
                    (i,), "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds {MAX_COMMAND_CHARS} characters."
                )
            )
    if global_scope and chat_inputs > MAX_GLOBAL_CHAT_COMMANDS:
        problems.append(too_long((), MAX_GLOBAL_CHAT_COMMANDS))
    return problems
