"""The SQLite job store: connection, migrations and the JobStore query object."""

from bot.store.database import Database, MigrationError
from bot.store.job_store import JobEvent, JobStore, JobUpdate, StateCount

__all__ = ["Database", "JobEvent", "JobStore", "JobUpdate", "MigrationError", "StateCount"]
