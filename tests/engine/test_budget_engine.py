"""Daily budgets at intake, with the priced fal.ai provider: refused before submit with what is
left, and the guild's admins alerted once at 80 % and once at 100 %, across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.budget import BudgetExceeded, cents
from bot.domain.jobs import JobKind, JobRequest, Origin
from bot.providers.fal.pika import FalPikaProvider
from sandbox.fal_sim import RunningFalSimulator, SimConfig, start_simulator
from tests.helpers.engine import ProviderEngine, start_provider_engine

GUILD = 1


def fal_provider(fal: RunningFalSimulator) -> FalPikaProvider:
    return FalPikaProvider(
        fal.base_url, fal.sim.config.key, rest_base_url=fal.base_url, jwks_url=fal.jwks_url
    )


def create(owner: int) -> JobRequest:
    return JobRequest(
        kind=JobKind.CREATE, owner_id=owner, origin=Origin(GUILD, 2), prompt="fog", provider="fal"
    )


async def refused(engine: ProviderEngine, owner: int) -> BudgetExceeded:
    with pytest.raises(BudgetExceeded) as caught:
        await engine.service.submit(create(owner))
    return caught.value


async def test_budgets_refuse_before_submit_and_alert_once(tmp_path: Path) -> None:
    """Member budget 1.5 clips, guild budget 2.4 clips: the second clip of a member and the third of
    the guild are refused, never stored nor sent; 80 % and 100 % alerts go out once, even after a restart."""
    fal = await start_simulator(SimConfig(queue_delay=0.01))
    engine = await start_provider_engine(tmp_path, fal_provider(fal))
    try:
        first = await engine.service.submit(create(7))
        assert first.cost_usd
        price = first.cost_usd
        await engine.store.set_guild_limits(
            GUILD,
            0.0,
            in_flight=None,
            per_day=None,
            cooldown=None,
            guild_budget_usd=2.4 * price,
            member_budget_usd=1.5 * price,
        )
        member = await refused(engine, 7)
        assert not member.guild_wide
        left = cents(1.5 * price) - cents(price)
        assert f"only ${left // 100}.{left % 100:02d} of your" in str(member)
        assert "It resets at 00:00 UTC, in" in str(member)
        assert engine.delivery.guild_alerts == []

        await engine.service.submit(create(8))  # 2 clips of 2.4: 83 %
        assert [(g, t[:1]) for g, t in engine.delivery.guild_alerts] == [(GUILD, "💸")]
        assert "daily budget" in engine.delivery.guild_alerts[0][1]

        guild = await refused(engine, 9)
        assert guild.guild_wide and "of this server's" in str(guild)
        assert [t[:1] for _, t in engine.delivery.guild_alerts] == ["💸", "🛑"]
        await refused(engine, 10)
        assert len(engine.delivery.guild_alerts) == 2  # once per threshold and day
        assert len(await engine.store.all_jobs()) == 2  # refusals are never stored
        assert engine.delivery.alerts == []  # not every guild's alerts channel: this guild's only
    finally:
        await engine.stop()

    again = await start_provider_engine(tmp_path, fal_provider(fal))
    try:
        await refused(again, 11)
        assert again.delivery.guild_alerts == []  # the claims are stored: no second alert
    finally:
        await again.stop()
        await fal.close()
