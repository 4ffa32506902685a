"""MemberDefaultsStore: each member's /pika defaults, one row per member."""

from __future__ import annotations

from bot.domain.member_defaults import MemberDefaults
from bot.store.backend import Database


class MemberDefaultsStore:
    """Read, write and clear a member's defaults. Not cached: another process may change them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> MemberDefaults:
        """A member's defaults; none set (ping on) when they have no row."""
        row = await self.db.fetch_one(
            "SELECT aspect_ratio, resolution, model, negative, ping FROM member_defaults WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return MemberDefaults()
        return MemberDefaults(row[0], row[1], row[2], row[3], bool(row[4]))

    async def update(self, user_id: int, now: float, defaults: MemberDefaults) -> None:
        """Replace a member's defaults."""
        await self.db.execute(
            """INSERT INTO member_defaults (user_id, aspect_ratio, resolution, model, negative, ping, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET aspect_ratio = excluded.aspect_ratio,
                   resolution = excluded.resolution, model = excluded.model,
                   negative = excluded.negative, ping = excluded.ping, updated_at = excluded.updated_at""",
            (
                user_id,
                defaults.aspect_ratio,
                defaults.resolution,
                defaults.model,
                defaults.negative,
                int(defaults.ping),
                now,
            ),
        )

    async def clear(self, user_id: int) -> None:
        """Forget a member's defaults (back to the commands' own)."""
        await self.db.execute("DELETE FROM member_defaults WHERE user_id = ?", (user_id,))
