"""`pikabot jobs` without argparse: list, show, retry and cancel on a real SQLite file and simulator."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.domain.jobs import InputFile, Job, JobKind, JobRequest, JobState, Origin
from bot.domain.prompt import PikaOptions
from bot.engine.service import CancelOutcome, JobNotFound, NotRetryable, RecoveryReport
from bot.ops.operator_jobs import (
    DatabaseNotFound,
    JobQuery,
    cancel_job,
    format_age,
    format_job_details,
    format_job_table,
    job_details,
    list_jobs,
    open_runtime,
    retry_job,
)
from bot.providers.base import Account, SubmitRequest
from bot.providers.registry import SECRET_ENV
from bot.providers.useapi import UseapiPikaProvider
from bot.store import Database, JobStore
from bot.store.job_rows import JobUpdate
from sandbox.useapi_sim import DEFAULT_CHANNEL, JobStatus, RunningSimulator, SimConfig, start_simulator

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def settings_for(tmp_path: Path, base_url: str = "https://api.useapi.net/v1/", token: str = "t") -> Settings:
    """The bot's config: its database in tmp_path, useapi.net at `base_url`."""
    config = tmp_path / "pika.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "jobs.sqlite3"}"\n[useapi]\nbase_url = "{base_url}"\n',
        encoding="utf-8",
    )
    return load_settings(config, env={"USEAPI_TOKEN": token}, secret_env=SECRET_ENV)


@pytest.fixture
async def bot_store(tmp_path: Path) -> AsyncIterator[JobStore]:
    """The running bot's side: its own connection to the database file the operator opens too."""
    db = await Database.open(tmp_path / "jobs.sqlite3")
    try:
        yield JobStore(db)
    finally:
        await db.close()


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(SimConfig(job_complete_delay=0.1))
    try:
        yield running
    finally:
        await running.close()


def request(owner: int = 111, prompt: str = "a fox", **kwargs: object) -> JobRequest:
    fields: dict[str, object] = {"kind": JobKind.CREATE, "owner_id": owner, "origin": Origin(222, 333, 444)}
    fields.update(prompt=prompt, **kwargs)
    return JobRequest(**fields)  # type: ignore[arg-type]


async def failed_job(store: JobStore, now: float = T0) -> Job:
    """An animate job with an input image that failed upstream."""
    image = InputFile("image", "in.png", "image/png", PNG)
    job = await store.insert(request(kind=JobKind.ANIMATE, prompt="", inputs=(image,)), now)
    await store.transition(job.id, JobState.SUBMITTING, now + 1, JobUpdate(account="default"))
    failed = await store.transition(
        job.id,
        JobState.FAILED,
        now + 2,
        JobUpdate(error_code="upstream_failed", error_message="Pika said no"),
    )
    assert failed is not None
    return failed


# --- list ------------------------------------------------------------------------------------------


async def test_list_newest_first_with_filters(tmp_path: Path, bot_store: JobStore) -> None:
    """State and owner filters combine; the limit keeps the newest."""
    first = await bot_store.insert(request(owner=1), T0)
    second = await bot_store.insert(request(owner=2), T0 + 10)
    third = await bot_store.insert(request(owner=1), T0 + 20)
    await bot_store.transition(third.id, JobState.CANCELLED, T0 + 30)

    async with open_runtime(settings_for(tmp_path)) as runtime:
        store = runtime.store
        assert [j.id for j in await list_jobs(store, JobQuery())] == [third.id, second.id, first.id]
        assert [j.id for j in await list_jobs(store, JobQuery(state=JobState.QUEUED))] == [
            second.id,
            first.id,
        ]
        assert [j.id for j in await list_jobs(store, JobQuery(owner_id=1))] == [third.id, first.id]
        queued_of_1 = JobQuery(state=JobState.QUEUED, owner_id=1)
        assert [j.id for j in await list_jobs(store, queued_of_1)] == [first.id]
        assert [j.id for j in await list_jobs(store, JobQuery(limit=2))] == [third.id, second.id]
        assert await list_jobs(store, JobQuery(owner_id=99)) == []


async def test_table_columns(bot_store: JobStore) -> None:
    """id, state, kind, provider, owner, created (UTC), age and error code, aligned under a header."""
    failed = await failed_job(bot_store)
    queued = await bot_store.insert(request(owner=7), T0 + 60)
    lines = format_job_table([queued, failed], now=T0 + 3 * 3600 + 60).splitlines()
    assert lines[0].split() == [
        "ID",
        "STATE",
        "KIND",
        "PROVIDER",
        "OWNER",
        "CREATED",
        "(UTC)",
        "AGE",
        "ERROR",
    ]
    assert lines[1].split() == [
        str(queued.id),
        "queued",
        "create",
        "useapi",
        "7",
        "2023-11-14",
        "22:14:20",
        "3h",
        "00m",
        "-",
    ]
    assert lines[2].split()[:5] == [str(failed.id), "failed", "animate", "useapi", "111"]
    assert lines[2].endswith("upstream_failed")
    assert lines[0].index("STATE") == lines[1].index("queued") == lines[2].index("failed")
    assert format_job_table([], now=T0) == "no jobs match"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0s"), (42, "42s"), (300, "5m"), (3 * 3600 + 300, "3h 05m"), (52 * 3600, "2d 4h")],
)
def test_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


# --- show ------------------------------------------------------------------------------------------


async def test_show_every_field_inputs_and_history(tmp_path: Path, bot_store: JobStore) -> None:
    """Every Job field is printed, inputs by name and size (never bytes), and each state change."""
    job = await failed_job(bot_store)
    async with open_runtime(settings_for(tmp_path)) as runtime:
        store = runtime.store
        details = await job_details(store, job.id)
        assert await job_details(store, 999) is None
    assert details is not None
    assert [(i.form_field, i.filename, i.size) for i in details.inputs] == [("image", "in.png", len(PNG))]
    assert [(e.from_state, e.to_state) for e in details.events] == [
        (None, JobState.QUEUED),
        (JobState.QUEUED, JobState.SUBMITTING),
        (JobState.SUBMITTING, JobState.FAILED),
    ]

    text = format_job_details(details, now=T0 + 3600)
    labels = {line.split()[0] for line in text.splitlines() if line.startswith("  ")}
    for field in dataclasses.fields(Job):
        assert field.name in labels or f"{field.name}.guild_id" in labels, field.name
    assert "  state                  failed" in text
    assert "origin.thread_id       444" in text
    assert "created_at             2023-11-14 22:13:20 UTC (1h 00m ago)" in text
    assert "error_message          Pika said no" in text
    assert "  image: in.png (image/png, 40 bytes)" in text
    assert "  2023-11-14 22:13:21 UTC  queued -> submitting" in text
    assert text.splitlines()[-1] == "  2023-11-14 22:13:22 UTC  submitting -> failed"


async def test_show_never_prints_the_callback_capability(bot_store: JobStore) -> None:
    """Only a hash of the callback token is stored, and not even that is shown; options are."""
    job = await bot_store.insert(request(options=PikaOptions(guidance=12)), T0)
    token_hash = "ab" * 32
    await bot_store.transition(job.id, JobState.SUBMITTING, T0, JobUpdate(callback_token_hash=token_hash))
    details = await job_details(bot_store, job.id)
    assert details is not None
    text = format_job_details(details, now=T0)
    assert token_hash not in text
    assert 'options                {"guidance": 12}' in text
    assert "inputs:\n  (none)" in text


async def test_missing_database_is_not_created(tmp_path: Path) -> None:
    """A wrong --config must not leave an empty database behind."""
    settings = settings_for(tmp_path)
    with pytest.raises(DatabaseNotFound, match="database not found"):
        async with open_runtime(settings):
            pass
    assert not (tmp_path / "jobs.sqlite3").exists()


# --- retry -----------------------------------------------------------------------------------------


async def test_retry_queues_a_linked_job(tmp_path: Path, bot_store: JobStore) -> None:
    """Same request and images, a new queued job whose parent is the old one; the old one is unchanged."""
    parent = await failed_job(bot_store)
    settings = settings_for(tmp_path)
    async with open_runtime(settings) as runtime:
        service = runtime.service
        child = await retry_job(service, parent.id)

    seen = await bot_store.get(child.id)  # the running bot's connection sees it
    assert seen is not None and seen.state is JobState.QUEUED
    assert seen.parent_id == parent.id and seen.kind is JobKind.ANIMATE
    assert seen.owner_id == parent.owner_id and seen.origin == parent.origin
    assert [(i.form_field, i.filename, i.data) for i in await bot_store.inputs(child.id)] == [
        ("image", "in.png", PNG)
    ]
    assert seen.next_attempt_at <= time.time()  # due now, not held: the bot's scheduler takes it
    assert await bot_store.get(parent.id) == parent


async def test_retry_refusals(tmp_path: Path, bot_store: JobStore) -> None:
    """An unfinished job is not retried; an unknown one is not found."""
    queued = await bot_store.insert(request(), T0)
    settings = settings_for(tmp_path)
    async with open_runtime(settings) as runtime:
        service = runtime.service
        with pytest.raises(NotRetryable, match="still queued"):
            await retry_job(service, queued.id)
        with pytest.raises(JobNotFound):
            await retry_job(service, 999)


# --- cancel ----------------------------------------------------------------------------------------


async def test_cancel_queued_job_leaves_the_notice_to_the_bot(tmp_path: Path, bot_store: JobStore) -> None:
    """Cancelled locally; the member is not marked as told, so the running bot posts the notice."""
    job = await bot_store.insert(request(), T0)
    settings = settings_for(tmp_path)
    async with open_runtime(settings) as runtime:
        service = runtime.service
        report = await cancel_job(service, job.id)

    assert report.ok and report.outcome is CancelOutcome.CANCELLED
    assert (
        report.describe()
        == f"job {job.id} cancelled before it started (it was queued); the member will be told"
    )
    after = await bot_store.get(job.id)
    assert after is not None and after.state is JobState.CANCELLED
    assert after.needs_notice and after.delivery_attempts == 1
    assert [j.id for j in await bot_store.needing_notice(time.time() + 60, 10)] == [job.id]


async def test_cancel_running_job_upstream(
    tmp_path: Path, bot_store: JobStore, sim: RunningSimulator
) -> None:
    """A running job is cancelled at useapi.net (the simulator records the call), then locally."""
    sim.sim.faults.hold_jobs = True  # keep the upstream job running until cancelled
    token = sim.sim.config.api_token
    job = await bot_store.insert(request(), T0)
    client = UseapiPikaProvider(sim.base_url, token)  # the running bot's submit, done by hand
    try:
        upstream = await client.submit(
            SubmitRequest(
                job_id=job.id,
                kind=JobKind.CREATE,
                prompt="a fox",
                options=PikaOptions(),
                account=Account(DEFAULT_CHANNEL, DEFAULT_CHANNEL, 10),
                reply_ref=str(job.id),
            )
        )
    finally:
        await client.close()
    await bot_store.transition(job.id, JobState.SUBMITTING, T0, JobUpdate(account=DEFAULT_CHANNEL))
    await bot_store.transition(job.id, JobState.RUNNING, T0, JobUpdate(upstream_id=upstream.upstream_id))

    settings = settings_for(tmp_path, base_url=sim.base_url, token=token)
    async with open_runtime(settings) as runtime:
        service = runtime.service
        report = await cancel_job(service, job.id)

    assert report.ok, report.describe()
    assert (
        report.describe()
        == f"job {job.id} cancelled upstream at useapi (it was running); the member will be told"
    )
    cancels = [r for r in sim.sim.requests if r.path == "/v1/pika/jobs/cancel/"]
    assert [r.query["jobid"] for r in cancels] == [upstream.upstream_id]
    assert sim.sim.jobs[upstream.upstream_id].status is JobStatus.CANCELLED
    after = await bot_store.get(job.id)
    assert after is not None and after.state is JobState.CANCELLED


async def test_cancel_finished_or_missing_job(tmp_path: Path, bot_store: JobStore) -> None:
    """Nothing to cancel: refused in words, and nothing changes."""
    failed = await failed_job(bot_store)
    settings = settings_for(tmp_path)
    async with open_runtime(settings) as runtime:
        service = runtime.service
        finished = await cancel_job(service, failed.id)
        missing = await cancel_job(service, 999)
    assert not finished.ok and finished.outcome is CancelOutcome.ALREADY_FINISHED
    assert finished.describe() == f"job {failed.id} is already failed; nothing to cancel"
    assert not missing.ok and missing.describe() == "job 999 not found"
    assert await bot_store.get(failed.id) == failed


async def test_operator_opens_the_bots_own_assembly_without_loop_or_server(
    tmp_path: Path, bot_store: JobStore
) -> None:
    """`pikabot jobs` assembles the engine like `pikabot run` (Runtime.open): same metered providers,
    but no loop (no recovery sweep) and no webhook server bound."""
    await bot_store.insert(request(), T0)
    async with open_runtime(settings_for(tmp_path)) as runtime:
        assert runtime.webhooks is None
        assert runtime.recovery == RecoveryReport()  # recovery is the running bot's
        assert set(runtime.providers) == {"useapi"}
        assert type(runtime.providers["useapi"]).__name__ == "MeteredProvider"
