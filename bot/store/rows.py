"""What a query returns, whichever backend ran it: rows readable by column name or position."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, overload


class Row(Protocol):
    """A result row by column name or position: sqlite3.Row and asyncpg.Record both are."""

    # Name first, then position: mypy matches overloads in order, and asyncpg's stubs list str first.
    @overload
    def __getitem__(self, key: str, /) -> Any: ...
    @overload
    def __getitem__(self, key: int, /) -> Any: ...


Rows = Sequence[Row]
Params = Sequence[object]
