"""Lost callbacks (design: "Lost callbacks"): found within about two poll intervals, at a bounded cost.

useapi.net lists what it still runs: one GET pika/jobs per interval finds a job whose callback was
dropped, and a job still listed is never fetched on its own. API Glue and fal.ai have no such list:
a slow per-job poll finds theirs. Requests are counted in the simulators; nothing here asserts time.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.domain.jobs import JobKind, JobRequest, JobState, Origin
from bot.domain.params import VideoParams
from bot.engine.scheduler import Scheduler
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Account
from bot.providers.fal.pika import FalPikaProvider
from sandbox import apiglue_sim, fal_sim
from sandbox.useapi_sim import DEFAULT_CHANNEL, SimAccount, SimConfig, start_simulator
from tests.helpers.engine import Engine, is_job_fetch, is_listing, start_engine, start_provider_engine

SECOND = "1183508299895820391"


def request(
    owner: int, prompt: str = "a heron taking off", kind: JobKind = JobKind.CREATE, **kwargs: object
) -> JobRequest:
    return JobRequest(kind, owner, Origin(guild_id=1, channel_id=2), prompt, **kwargs)  # type: ignore[arg-type]


def listing_metric(engine: Engine, name: str, **labels: str) -> float:
    value = engine.service.metrics.registry.get_sample_value(name, {"provider": "useapi", **labels})
    return value or 0.0


async def test_a_dropped_callback_is_found_by_the_executing_list(tmp_path: Path) -> None:
    """Callbacks dropped, backstop poll 10 min away: the list finds each job, fetched once, delivered."""
    engine = await start_engine(tmp_path, poll_interval=0.3, callback_grace=600)
    engine.sim.sim.faults.drop_callbacks = True
    try:
        for n in range(3):
            await engine.service.submit(request(n, f"heron {n}"))
        jobs = await engine.wait_all_terminal(timeout=20)
        assert all(j.state is JobState.DELIVERED for j in jobs)
        assert sorted(engine.delivery.result_ids()) == sorted(j.id for j in jobs)
        requests = engine.sim.sim.requests
        assert not engine.sim.sim.callbacks_sent
        listings = sum(is_listing(r) for r in requests)
        assert listings >= 1
        fetched = [r.query["jobid"] for r in requests if is_job_fetch(r)]
        assert sorted(fetched) == sorted(
            j.upstream_id or "" for j in jobs
        )  # once each, after it left the list
        # The cost and what it found are on /metrics.
        assert listing_metric(engine, "pikabot_upstream_listings_total", status="ok") == listings
        assert listing_metric(engine, "pikabot_listing_confirms_total") == 3
    finally:
        await engine.stop()


async def test_jobs_still_executing_cost_one_list_per_interval_and_no_fetch(tmp_path: Path) -> None:
    """Jobs held upstream on two accounts: only the list is asked, at most once per interval for both."""
    interval = 0.2
    config = SimConfig(
        accounts={
            DEFAULT_CHANNEL: SimAccount(discord="MTEsim-discord-tokenxYz", max_jobs=10),
            SECOND: SimAccount(discord="MTEsim-discord-token2xYz", max_jobs=10),
        }
    )
    sim = await start_simulator(config)
    sim.sim.faults.hold_jobs = True
    sim.sim.faults.drop_callbacks = True
    sim.sim.faults.external_executing = {"1183508299895820399": 2}  # foreign ids in the list are ignored
    started = time.time()
    engine = await start_engine(tmp_path, sim=sim, poll_interval=interval, callback_grace=600)
    accounts = [Account(DEFAULT_CHANNEL, DEFAULT_CHANNEL, 2), Account(SECOND, SECOND, 2)]
    engine.service.scheduler = Scheduler(accounts, engine.service.scheduler.policy)
    try:
        for n in range(4):
            await engine.service.submit(request(n, f"held {n}"))
        await engine.wait_until(lambda jobs: all(j.state is JobState.RUNNING for j in jobs), timeout=10)
        assert {r.fields.get("channel") for r in sim.sim.requests if r.method == "POST"} == {
            DEFAULT_CHANNEL,
            SECOND,
        }
        await asyncio.sleep(interval * 8)
        assert not [r for r in sim.sim.requests if is_job_fetch(r)]
        listings = sum(is_listing(r) for r in sim.sim.requests)
        # useapi's list covers every account of the token: one request serves both accounts.
        assert 2 <= listings <= (time.time() - started) / interval + 1
        sim.sim.release_all()
        jobs = await engine.wait_all_terminal(timeout=20)
        assert all(j.state is JobState.DELIVERED for j in jobs)
        assert sum(is_job_fetch(r) for r in sim.sim.requests) == 4
    finally:
        await engine.stop()


async def test_a_failing_list_leaves_the_backstop_poll(tmp_path: Path) -> None:
    """The list answers 503: counted as an error, and the per-job backstop poll still finishes the job."""
    engine = await start_engine(tmp_path, poll_interval=0.2, callback_grace=1.0)
    engine.sim.sim.faults.drop_callbacks = True
    engine.sim.sim.faults.jobs_list_status = 503
    try:
        await engine.service.submit(request(1))
        jobs = await engine.wait_all_terminal(timeout=20)
        assert jobs[0].state is JobState.DELIVERED
        assert listing_metric(engine, "pikabot_upstream_listings_total", status="error") >= 1
        assert listing_metric(engine, "pikabot_listing_confirms_total") == 0
    finally:
        await engine.stop()


async def test_polling_only_never_asks_for_the_list(tmp_path: Path) -> None:
    """Without callbacks the per-job poll does the work, as before: no executing list."""
    engine = await start_engine(tmp_path, callbacks=False, poll_interval=0.2)
    try:
        await engine.service.submit(request(1))
        jobs = await engine.wait_all_terminal(timeout=20)
        assert jobs[0].state is JobState.DELIVERED
        assert not [r for r in engine.sim.sim.requests if is_listing(r)]
        assert [r for r in engine.sim.sim.requests if is_job_fetch(r)]
    finally:
        await engine.stop()


async def test_api_glue_dropped_callback_is_found_by_the_slow_poll(tmp_path: Path) -> None:
    """API Glue lists nothing: with its callback dropped, the slow per-job poll delivers the video."""
    glue = await apiglue_sim.start_simulator(apiglue_sim.SimConfig(queued_delay=0.05, progress_delay=0.05))
    glue.sim.faults.drop_callbacks = True
    provider = ApiGlueProvider(glue.base_url, glue.sim.config.api_token)
    # A 10-minute grace: before the slow poll, this job would have waited that long.
    engine = await start_provider_engine(
        tmp_path, provider, callback_base_url="http://127.0.0.1:9", callback_grace=600
    )
    try:
        job = await engine.service.submit(
            request(7, provider="apiglue", kind=JobKind.GENERATE, params=VideoParams(fps=12))
        )
        told = await engine.wait_told(job.id, timeout=20)
        assert told.state is JobState.DELIVERED
        posted = next(r for r in glue.sim.requests if r.path == "/web/generate")
        assert isinstance(posted.body, dict) and posted.body.get("webhookOverride")  # asked for, dropped
        assert any(r.method == "GET" and r.path.startswith("/web/jobs/") for r in glue.sim.requests)
    finally:
        await engine.stop()
        await glue.close()


async def test_fal_dropped_webhook_is_found_by_the_slow_poll(tmp_path: Path) -> None:
    """fal.ai lists nothing: with its webhook dropped, the slow per-job poll delivers the video."""
    fal = await fal_sim.start_simulator(fal_sim.SimConfig(queue_delay=0.01))
    fal.sim.faults.drop_webhooks = True
    provider = FalPikaProvider(
        fal.base_url, fal.sim.config.key, rest_base_url=fal.base_url, jwks_url=fal.jwks_url
    )
    # A 10-minute grace: before the slow poll, this job would have waited that long.
    engine = await start_provider_engine(
        tmp_path, provider, callback_base_url="http://127.0.0.1:9", callback_grace=600
    )
    try:
        job = await engine.service.submit(request(7, provider="fal"))
        told = await engine.wait_told(job.id, timeout=20)
        assert told.state is JobState.DELIVERED
        assert any("fal_webhook" in r.query for r in fal.sim.recorded if r.method == "POST")
        assert any(r.method == "GET" and r.path.endswith("/status") for r in fal.sim.recorded)
    finally:
        await engine.stop()
        await fal.close()
