"""Live callback capabilities mirrored in memory, so a valid callback costs no SQLite round trip.

SQLite only: there one process owns the file. On PostgreSQL other processes issue and spend tokens
all the time, so JobStore.callback_target reads the table instead (one unique-index lookup).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.store.rows import Row


@dataclass(frozen=True)
class CallbackTarget:
    """The job a live callback token belongs to."""

    job_id: int
    provider: str


class CallbackTokens:
    """token hash -> job, a mirror of jobs.callback_token_hash (the table stays the truth).

    Exact for writes on its own connection: JobStore hands it every committed compare-and-set row,
    under the write lock, before anyone is answered. Writes by other connections (the operator CLI
    cancelling a job) are noticed through PRAGMA data_version, checked at most every `recheck`
    seconds; JobStore then reloads the mirror.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, recheck: float = 1.0) -> None:
        self._clock = clock
        self._recheck = recheck
        self._by_hash: dict[str, CallbackTarget] = {}
        self._by_job: dict[int, str] = {}
        self.loaded = False
        self.data_version: int | None = None
        self._checked_at = -math.inf

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, token_hash: str) -> CallbackTarget | None:
        """The job `token_hash` is live for, if any (call `due()` first)."""
        return self._by_hash.get(token_hash)

    def due(self) -> bool:
        """True when the mirror must be loaded, or another connection may have written since the check."""
        return not self.loaded or self._clock() - self._checked_at >= self._recheck

    def checked(self, data_version: int) -> None:
        """The database's data_version was read and matched: the mirror is current."""
        self.data_version = data_version
        self._checked_at = self._clock()

    def install(self, rows: Iterable[sqlite3.Row | tuple[int, str, str]], data_version: int) -> None:
        """Replace the mirror with the table's (id, provider, callback_token_hash) rows."""
        self._by_hash = {}
        self._by_job = {}
        for job_id, provider, token_hash in rows:
            self._set(int(job_id), str(provider), token_hash)
        self.loaded = True
        self.checked(data_version)

    def observe(self, rows: Iterable[Row]) -> None:
        """Committed jobs rows (RETURNING *): follow their token column."""
        if not self.loaded:
            return  # the first load reads the table itself, these rows included
        for row in rows:
            self._set(int(row["id"]), str(row["provider"]), row["callback_token_hash"])

    def _set(self, job_id: int, provider: str, token_hash: str | None) -> None:
        old = self._by_job.pop(job_id, None)
        if old is not None:
            self._by_hash.pop(old, None)
        if token_hash is not None:
            self._by_hash[token_hash] = CallbackTarget(job_id, provider)
            self._by_job[job_id] = token_hash
