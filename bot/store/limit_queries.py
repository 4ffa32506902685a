"""The SQL behind the per-member limits and the daily budgets, mixed into JobStore."""

from __future__ import annotations

from bot.domain.budget import Spend
from bot.domain.limits import MemberLimits, MemberUsage
from bot.store.admission import read_spend, read_usage
from bot.store.backend import Database


class LimitQueries:
    """Queries on guild_limits, budget_alerts and the jobs the limits count."""

    db: Database

    async def member_usage(self, guild_id: int | None, owner_id: int, since: float) -> MemberUsage:
        """One member's unfinished jobs, jobs since `since`, and latest request, in one guild."""
        return await read_usage(self.db, self.db.dialect, guild_id, owner_id, since)

    async def spend(self, guild_id: int | None, owner_id: int, since: float) -> Spend:
        """USD the guild, and the member in it, have spent on jobs created since `since` (billable
        jobs only: queued, under way, finished with a video, or taken by upstream in any state)."""
        return await read_spend(self.db, self.db.dialect, guild_id, owner_id, since)

    async def claim_budget_alert(self, guild_id: int, day_start: float, threshold: int, now: float) -> bool:
        """Record that a guild's `threshold` % budget alert goes out today; False if it already did
        (in this process, before a restart, or in another process: the primary key decides)."""
        rows = await self.db.write_returning(
            """INSERT INTO budget_alerts (guild_id, day_start, threshold, alerted_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (guild_id, day_start, threshold) DO NOTHING RETURNING guild_id""",
            (guild_id, day_start, threshold, now),
            None,
        )
        return bool(rows)

    async def guild_limits(self, guild_id: int, default: MemberLimits) -> MemberLimits:
        """The limits in force in a guild: its overrides on top of the configured default."""
        row = await self.db.fetch_one(
            "SELECT in_flight, per_day, cooldown, guild_budget_usd, member_budget_usd "
            "FROM guild_limits WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return default
        return MemberLimits(
            in_flight=default.in_flight if row[0] is None else int(row[0]),
            per_day=default.per_day if row[1] is None else int(row[1]),
            cooldown=default.cooldown if row[2] is None else float(row[2]),
            guild_budget_usd=default.guild_budget_usd if row[3] is None else float(row[3]),
            member_budget_usd=default.member_budget_usd if row[4] is None else float(row[4]),
        )

    async def set_guild_limits(
        self,
        guild_id: int,
        now: float,
        *,
        in_flight: int | None,
        per_day: int | None,
        cooldown: float | None,
        guild_budget_usd: float | None = None,
        member_budget_usd: float | None = None,
    ) -> None:
        """Override (or, with None, reset to the default) a guild's limits and daily budgets."""
        await self.db.execute(
            """INSERT INTO guild_limits (guild_id, in_flight, per_day, cooldown, guild_budget_usd,
                                         member_budget_usd, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (guild_id) DO UPDATE SET in_flight = excluded.in_flight,
                   per_day = excluded.per_day, cooldown = excluded.cooldown,
                   guild_budget_usd = excluded.guild_budget_usd,
                   member_budget_usd = excluded.member_budget_usd, updated_at = excluded.updated_at""",
            (guild_id, in_flight, per_day, cooldown, guild_budget_usd, member_budget_usd, now),
        )
