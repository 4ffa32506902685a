"""REST routes of the application itself: who the bot is, where the gateway is, and its commands."""

from __future__ import annotations

from sandbox import discord_payloads as P
from sandbox.discord_emu.command_checks import command_errors
from sandbox.discord_emu.constants import MISSING_PERMISSIONS
from sandbox.discord_emu.errors import DiscordHTTPError, form_error
from sandbox.discord_emu.guilds import GuildsLayer
from sandbox.discord_emu.routing import Req, Resp, api_route
from sandbox.discord_emu.values import as_snowflake


class RestApplicationLayer(GuildsLayer):
    """Login, gateway discovery and application command sync."""

    @api_route("GET", "/users/@me", name="get_my_user")
    async def _get_me(self, _req: Req) -> Resp:
        user = self._user_payload(self.config.bot_user_id)
        return Resp(body={**user, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})

    @api_route("GET", "/oauth2/applications/@me", name="get_my_application")
    async def _get_app(self, _req: Req) -> Resp:
        cfg = self.config
        return Resp(
            body=P.application_payload(
                cfg.application_id,
                cfg.bot_name,
                self._user_payload(cfg.owner_id),
                bot=self._user_payload(cfg.bot_user_id),
            )
        )

    def _ws_url(self) -> str:
        return self.config.public_base_url.replace("http://", "ws://", 1) + "/gateway"

    @api_route("GET", "/gateway", bot_auth=False)
    async def _get_gateway(self, _req: Req) -> Resp:
        return Resp(body=P.gateway_payload(self._ws_url()))

    @api_route("GET", "/gateway/bot", name="get_bot_gateway")
    async def _get_gateway_bot(self, _req: Req) -> Resp:
        return Resp(body=P.gateway_bot_payload(self._ws_url(), shards=self.config.recommended_shards))

    def _command_scope(self, req: Req) -> int | None:
        if as_snowflake(req.params["application_id"]) != self.config.application_id:
            raise DiscordHTTPError(
                403, MISSING_PERMISSIONS, "Missing Access", violation="commands for another application"
            )
        raw = req.params.get("guild_id")
        if raw is None:
            return None
        guild_id = as_snowflake(raw)
        if guild_id is None or guild_id not in self.guilds:
            raise DiscordHTTPError(
                403, 50001, "Missing Access", violation=f"commands for unknown guild {raw}"
            )
        return guild_id

    @api_route("GET", "/applications/{application_id}/commands")
    @api_route("GET", "/applications/{application_id}/guilds/{guild_id}/commands", name="list_guild_commands")
    async def _list_commands(self, req: Req) -> Resp:
        return Resp(body=self.commands.get(self._command_scope(req), []))

    @api_route("PUT", "/applications/{application_id}/commands", name="bulk_set_commands")
    @api_route(
        "PUT", "/applications/{application_id}/guilds/{guild_id}/commands", name="bulk_set_guild_commands"
    )
    async def _put_commands(self, req: Req) -> Resp:
        scope = self._command_scope(req)
        body = req.body if isinstance(req.body, list) else []
        problems = command_errors(body, global_scope=scope is None)
        if problems:
            raise form_error(problems, "invalid application commands")
        old = {(c.get("type") or 1, c.get("name")): c for c in self.commands.get(scope, [])}
        stored = []
        for cmd in body:
            previous = old.get((cmd.get("type") or 1, cmd.get("name")))
            command_id = int(previous["id"]) if previous else self._new_id()
            stored.append(
                P.application_command_payload(
                    cmd,
                    command_id=command_id,
                    application_id=self.config.application_id,
                    guild_id=scope,
                    version=self._new_id(),
                )
            )
        self.commands[scope] = stored
        return Resp(body=stored)
