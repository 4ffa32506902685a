"""REST routes that read guilds: the guild, its channels, a member, the active threads."""

from __future__ import annotations

from sandbox.discord_emu.constants import UNKNOWN_GUILD
from sandbox.discord_emu.errors import DiscordHTTPError
from sandbox.discord_emu.guilds import GuildsLayer
from sandbox.discord_emu.routing import Req, Resp, api_route
from sandbox.discord_emu.values import as_snowflake


class RestGuildsLayer(GuildsLayer):
    """Guild reads."""

    def _guild_or_404(self, raw: str) -> int:
        guild_id = as_snowflake(raw)
        if guild_id is None or guild_id not in self.guilds:
            raise DiscordHTTPError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild_id

    @api_route("GET", "/guilds/{guild_id}")
    async def _get_guild(self, req: Req) -> Resp:
        payload = self.guild_payload(self._guild_or_404(req.params["guild_id"]))
        for gateway_only in (
            "channels",
            "members",
            "threads",
            "voice_states",
            "presences",
            "joined_at",
            "large",
            "member_count",
        ):
            payload.pop(gateway_only, None)
        return Resp(body=payload)

    @api_route("GET", "/guilds/{guild_id}/channels")
    async def _list_guild_channels(self, req: Req) -> Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        return Resp(
            body=[
                self.channel_payload(c)
                for c in self.channels.values()
                if c.guild_id == guild_id and not c.is_thread and not c.deleted
            ]
        )

    @api_route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def _get_member(self, req: Req) -> Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        uid = as_snowflake(req.params["user_id"])
        if uid is None or uid not in self._all_member_ids():
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return Resp(body=self.member_payload(uid, guild_id=guild_id))

    @api_route("GET", "/guilds/{guild_id}/threads/active")
    async def _active_threads(self, req: Req) -> Resp:
        guild_id = self._guild_or_404(req.params["guild_id"])
        threads = [c for c in self.threads() if c.guild_id == guild_id and not c.deleted and not c.archived]
        return Resp(body={"threads": [self.channel_payload(t) for t in threads], "members": []})
