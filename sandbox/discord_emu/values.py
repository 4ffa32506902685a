"""Small helpers every part of the emulator shares: ids as Discord sends them, the wall clock, compact JSON."""

from __future__ import annotations

import functools
import json
import time
from typing import TypeGuard

json_text = functools.partial(json.dumps, ensure_ascii=False)


def now_wall() -> float:
    return time.time()


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: Discord's ``(guild_id >> 22) % num_shards``."""
    return (guild_id >> 22) % shard_count


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def as_snowflake(value: object) -> int | None:
    """Ids arrive as strings or (from discord.py, in places) JSON ints; both are accepted."""
    if is_int(value):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def str_len(value: object) -> int:
    return len(value) if isinstance(value, str) else 0
