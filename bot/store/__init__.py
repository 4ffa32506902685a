"""The job store: one JobStore and SettingsStore over a SQLite or PostgreSQL backend."""

from bot.store.admission import Standing
from bot.store.backend import Database, DatabaseUnavailable, MigrationError
from bot.store.job_rows import JobEvent, JobUpdate, StateCount
from bot.store.job_store import JobStore

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "JobEvent",
    "JobStore",
    "JobUpdate",
    "MigrationError",
    "Standing",
    "StateCount",
]
