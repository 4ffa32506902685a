"""The emulator, put together from its layers, and its aiohttp app.

Each layer is a class over one shared state (``state.EmulatorState``) that builds on the layers whose
methods it calls, so every call is one mypy can check: events, channels, guilds (members, roles,
permissions), messages, the gateway, member actions (the user side of interactions), queries (what
tests read and await), rate limits, the server (REST plumbing), the REST route groups and the control
API. Route handlers are found on whichever layer holds them.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.discord_emu.config import EmuConfig
from sandbox.discord_emu.constants import API_PREFIX, MiB
from sandbox.discord_emu.control import ControlLayer
from sandbox.discord_emu.rest_application import RestApplicationLayer
from sandbox.discord_emu.rest_channels import RestChannelsLayer
from sandbox.discord_emu.rest_guilds import RestGuildsLayer
from sandbox.discord_emu.rest_interactions import RestInteractionsLayer
from sandbox.discord_emu.rest_messages import RestMessagesLayer
from sandbox.discord_emu.server import ServerLayer


class DiscordEmulator(
    ControlLayer,
    ServerLayer,
    RestApplicationLayer,
    RestInteractionsLayer,
    RestMessagesLayer,
    RestChannelsLayer,
    RestGuildsLayer,
):
    """State, enforcement and recording for one emulated application in its guilds.

    Each gateway session receives the events of the guilds on its shard (one unsharded session
    receives everything); see docs/discord.md, section 10.
    """

    def __init__(self, config: EmuConfig | None = None) -> None:
        super().__init__(config)
        self.faults._drop = self.drop_gateway
        self._routes = self._build_routes()

    def make_app(self) -> web.Application:
        """The aiohttp application: REST under /api/v10, /gateway, /cdn, /_emu control API."""
        app = web.Application(client_max_size=self.config.max_request_size + MiB)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        app.router.add_post("/_emu/slash", self._ctl_slash)
        app.router.add_post("/_emu/click", self._ctl_click)
        app.router.add_get("/_emu/calls", self._ctl_calls)
        app.router.add_get("/_emu/messages", self._ctl_messages)
        app.router.add_get("/_emu/violations", self._ctl_violations)
        app.router.add_get("/_emu/interactions", self._ctl_interactions)
        app.router.add_post("/_emu/faults", self._ctl_faults)
        app.router.add_post("/_emu/clock", self._ctl_clock)
        app.router.add_post("/_emu/deny", self._ctl_deny)
        app.on_shutdown.append(self._on_shutdown)
        return app
