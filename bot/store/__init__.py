"""The SQLite job store: connection, migrations and the JobStore query object."""

from bot.store.database import Database, MigrationError
from bot.store.job_rows import JobEvent, JobUpdate, StateCount
from bot.store.job_store import JobStore

__all__ = ["Database", "JobEvent", "JobStore", "JobUpdate", "MigrationError", "StateCount"]
