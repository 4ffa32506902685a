"""``pikabot jobs`` once its arguments are parsed: open the bot's database, run one action (list,
show, retry or cancel), print the answer with secrets redacted, and return the exit status."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final

from bot.config import Settings
from bot.domain.jobs import JobState
from bot.domain.limits import LimitExceeded
from bot.engine.service import JobNotFound, NotRetryable
from bot.observability.logsetup import SecretRedactor
from bot.ops import operator_jobs
from bot.ops.exit_status import EXIT_CONFIG, EXIT_REFUSED
from bot.runtime import Runtime
from bot.store import DatabaseUnavailable, MigrationError


async def run_jobs(args: argparse.Namespace, settings: Settings, redactor: SecretRedactor) -> int:
    """Open the bot's database, run the parsed action and print its answer; returns the exit status."""
    try:
        async with operator_jobs.open_runtime(settings) as runtime:
            return await _JOB_ACTIONS[args.action](args, runtime, redactor)
    except (operator_jobs.DatabaseNotFound, MigrationError, DatabaseUnavailable) as exc:
        print(redactor.redact(f"config: {exc}"), file=sys.stderr)
        return EXIT_CONFIG


async def _jobs_list(args: argparse.Namespace, runtime: Runtime, redactor: SecretRedactor) -> int:
    state = JobState(args.state) if args.state is not None else None
    query = operator_jobs.JobQuery(state=state, owner_id=args.owner, limit=args.limit)
    jobs = await operator_jobs.list_jobs(runtime.store, query)
    print(redactor.redact(operator_jobs.format_job_table(jobs, time.time())))
    return 0


async def _jobs_show(args: argparse.Namespace, runtime: Runtime, redactor: SecretRedactor) -> int:
    details = await operator_jobs.job_details(runtime.store, args.job_id)
    if details is None:
        print(f"job {args.job_id} not found", file=sys.stderr)
        return EXIT_REFUSED
    print(redactor.redact(operator_jobs.format_job_details(details, time.time())))
    return 0


async def _jobs_retry(args: argparse.Namespace, runtime: Runtime, redactor: SecretRedactor) -> int:
    try:
        job = await operator_jobs.retry_job(runtime.service, args.job_id)
    except JobNotFound:
        print(f"job {args.job_id} not found", file=sys.stderr)
        return EXIT_REFUSED
    except (NotRetryable, LimitExceeded) as exc:
        print(redactor.redact(f"job {args.job_id} not retried: {exc}"), file=sys.stderr)
        return EXIT_REFUSED
    except LookupError as exc:  # the job's provider is not in this config
        print(redactor.redact(f"config: {exc}"), file=sys.stderr)
        return EXIT_CONFIG
    print(f"job {job.id} queued as a retry of job {args.job_id}; the running bot will run it")
    return 0


async def _jobs_cancel(args: argparse.Namespace, runtime: Runtime, redactor: SecretRedactor) -> int:
    try:
        report = await operator_jobs.cancel_job(runtime.service, args.job_id)
    except LookupError as exc:  # the job's provider is not in this config
        print(redactor.redact(f"config: {exc}"), file=sys.stderr)
        return EXIT_CONFIG
    print(redactor.redact(report.describe()), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else EXIT_REFUSED


_JOB_ACTIONS: Final[dict[str, Callable[[argparse.Namespace, Runtime, SecretRedactor], Awaitable[int]]]] = {
    "list": _jobs_list,
    "show": _jobs_show,
    "retry": _jobs_retry,
    "cancel": _jobs_cancel,
}
