"""Group commit: single-statement writes that arrive together share one transaction and one fsync.

Under ``synchronous=FULL`` every COMMIT waits for an fsync. Writes queued while a batch is being
written go into the next batch, which commits once; each caller is answered with its own rows only
after that COMMIT has returned, so nobody is told "done" before their row is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiosqlite

log = logging.getLogger(__name__)

Rows = list[sqlite3.Row]

# A batch bigger than this gains nothing more from sharing an fsync, and keeps readers on the
# shared connection from waiting behind one very long transaction.
MAX_BATCH = 256


@dataclass
class _Write:
    sql: str
    params: Sequence[object]
    on_commit: Callable[[Rows], None] | None
    future: asyncio.Future[Rows] = field(repr=False)


class WriteQueue:
    """Runs queued statements in batches on one connection, under the connection's write lock."""

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._conn = conn
        self._lock = lock
        self._pending: list[_Write] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(
        self, sql: str, params: Sequence[object], on_commit: Callable[[Rows], None] | None = None
    ) -> Rows:
        """Execute one statement (in a shared transaction) and return its rows once committed.

        `on_commit` sees the rows right after the commit, before any later write is answered,
        even if the caller has stopped waiting; it keeps in-memory mirrors of the table exact.
        """
        future: asyncio.Future[Rows] = asyncio.get_running_loop().create_future()
        self._pending.append(_Write(sql, params, on_commit, future))
        if self._drainer is None or self._drainer.done():
            # A task, not the first caller, drains: a caller cancelled mid-batch must not strand
            # the others' answers.
            self._drainer = asyncio.create_task(self._drain(), name="pikabot-group-commit")
        return await future

    async def wait_idle(self) -> None:
        """Wait until every queued write has been answered (before closing the connection)."""
        while self._drainer is not None and not self._drainer.done():
            # wait(), not await: a drainer that died has already failed its writes; close anyway.
            await asyncio.wait({self._drainer})

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                async with self._lock:
                    await self._write(batch)
        except BaseException:
            # Only cancellation at shutdown gets here; nobody may wait forever.
            for write in self._pending:
                _fail(write, ConnectionError("the write queue stopped"))
            self._pending = []
            raise

    async def _write(self, batch: list[_Write]) -> None:
        if len(batch) == 1:
            # Autocommit: the statement is its own transaction, one hop to the database thread.
            await self._alone(batch[0])
            return
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
            results = [list(await self._conn.execute_fetchall(w.sql, w.params)) for w in batch]
            await self._conn.execute("COMMIT")
        except asyncio.CancelledError:
            await self._abandon(batch)
            raise
        except Exception:
            # Some statement failed, or the commit did. Undo the batch and run each write alone,
            # exactly as without group commit: only the failing one sees its exception.
            log.debug("group commit of %d writes failed; writing them one by one", len(batch), exc_info=True)
            await self._rollback()
            for write in batch:
                await self._alone(write)
            return
        for write, rows in zip(batch, results, strict=True):
            _answer(write, rows)

    async def _alone(self, write: _Write) -> None:
        try:
            rows = list(await self._conn.execute_fetchall(write.sql, write.params))
        except asyncio.CancelledError:
            _fail(write, ConnectionError("the write queue stopped"))
            raise
        except Exception as exc:
            _fail(write, exc)
            return
        _answer(write, rows)

    async def _abandon(self, batch: list[_Write]) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(self._rollback())
        for write in batch:
            _fail(write, ConnectionError("the write queue stopped before the commit"))

    async def _rollback(self) -> None:
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await self._conn.execute("ROLLBACK")


def _answer(write: _Write, rows: Rows) -> None:
    if write.on_commit is not None:
        try:
            write.on_commit(rows)
        except Exception:  # a mirror's bug must not cost the caller its committed answer
            log.exception("on_commit hook failed for a committed write")
    if not write.future.done():
        write.future.set_result(rows)


def _fail(write: _Write, exc: BaseException) -> None:
    if not write.future.done():
        write.future.set_exception(exc)
