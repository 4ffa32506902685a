"""The account routes (docs/useapi-pika.md 1.7): list, read, add or change, and delete accounts."""

from __future__ import annotations

from aiohttp import web

from sandbox.useapi_sim.config import SimAccount
from sandbox.useapi_sim.constants import CHANNEL_RE, MAX_JOBS_LIMIT
from sandbox.useapi_sim.errors import api_error
from sandbox.useapi_sim.server import ServerLayer
from sandbox.useapi_sim.values import mask_discord


class AccountsLayer(ServerLayer):
    """Account handlers."""

    def _account_json(self, channel: str, acct: SimAccount) -> dict[str, object]:
        out: dict[str, object] = {
            "channel": channel,
            "discord": mask_discord(acct.discord),
            "maxJobs": acct.max_jobs,
        }
        if acct.reply_url:
            out["replyUrl"] = acct.reply_url
        return out

    async def _get_accounts(self, _request: web.Request) -> web.StreamResponse:
        if not self.accounts:
            raise api_error(404, "Pika account configuration not found")
        return self._reply({ch: self._account_json(ch, acct) for ch, acct in self.accounts.items()})

    async def _get_account(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["channel"]
        acct = self.accounts.get(channel)
        if acct is None:
            raise api_error(404, f"Unable to locate account {channel}")
        return self._reply(self._account_json(channel, acct))

    async def _post_account(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["channel"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise api_error(400, "Request body must be a JSON object")
        self.accounts[channel] = self._validated_account(channel, body)
        return web.Response(status=204)

    def _validated_account(self, channel: str, body: dict[str, object]) -> SimAccount:
        discord, body_channel, max_jobs = body.get("discord"), body.get("channel"), body.get("maxJobs")
        if not isinstance(discord, str) or not discord.strip():
            raise api_error(400, "Required param discord is missing or empty")
        if not isinstance(body_channel, str) or not CHANNEL_RE.match(body_channel):
            raise api_error(400, f"Required param channel ({body_channel}) is not valid Discord channel id")
        if body_channel != channel:
            raise api_error(
                400, f"Required param channel ({body_channel}) not matching to /pika/account/{channel}"
            )
        if not isinstance(max_jobs, int) or isinstance(max_jobs, bool) or max_jobs < 1:
            raise api_error(400, "Required param maxJobs is missing or invalid")
        if max_jobs > MAX_JOBS_LIMIT:
            raise api_error(400, f"Required param maxJobs {max_jobs} can't be more that {MAX_JOBS_LIMIT}")
        for other, acct in self.accounts.items():
            if other != channel and acct.discord == discord:
                raise api_error(400, f"Channel {other} configuration has same discord value")
        reply_url = body.get("replyUrl")
        return SimAccount(discord, max_jobs, reply_url if isinstance(reply_url, str) else "")

    async def _delete_account(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["channel"]
        if self.accounts.pop(channel, None) is None:
            raise api_error(404, f"Unable to locate account {channel}")
        return web.Response(status=204)
