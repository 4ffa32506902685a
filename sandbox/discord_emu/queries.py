"""What tests read and wait for: an interaction's replies, recorded calls, and waits on any state change."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.discord_emu.gateway import GatewayLayer
from sandbox.discord_emu.messages import MessagesLayer
from sandbox.discord_emu.records import EmuInteraction, EmuMessage, RecordedCall
from sandbox.discord_emu.spec import validate_response_against_spec


class QueriesLayer(MessagesLayer, GatewayLayer):
    """Reading and awaiting the emulator's state from tests."""

    def interaction_messages(self, interaction: EmuInteraction | int) -> list[EmuMessage]:
        """The original response and followups of an interaction, oldest first."""
        inter = self.interactions[interaction if isinstance(interaction, int) else interaction.id]
        ids = ([inter.original_message_id] if inter.original_message_id else []) + inter.followup_ids
        return [self.messages[i] for i in sorted(set(ids)) if i in self.messages]

    def ephemeral_replies(self, interaction: EmuInteraction | int) -> list[str]:
        """Current content of the interaction's ephemeral messages (deferred original, followups)."""
        return [m.content for m in self.interaction_messages(interaction) if m.ephemeral and not m.deleted]

    def response_problems(self) -> list[str]:
        """Recorded answers that do not match the spec's response schema (the emulator's self-check)."""
        out = []
        for call in self.calls:
            if call.template and call.response is not None:
                method = call.method.lower()
                for p in validate_response_against_spec(
                    self._spec_path, call.template, method, call.status, call.response
                ):
                    out.append(f"{call.method} {call.template} {call.status}: {p.describe()}")
        return out

    @property
    def rate_limit_hits(self) -> list[RecordedCall]:
        """Every call answered 429."""
        return [c for c in self.calls if c.status == 429]

    def calls_to(self, route: str) -> list[RecordedCall]:
        """Recorded calls of one route name (e.g. ``create_message``)."""
        return [c for c in self.calls if c.route == route]

    async def wait_ready(self, timeout: float = 10, *, shard: int | None = None) -> None:  # noqa: ASYNC109
        """Wait until the bot has IDENTIFYed and been sent its GUILD_CREATEs.

        Without ``shard``: on every shard of each shard count in use (one session when unsharded);
        with it, on the session holding that shard id.
        """
        where = "" if shard is None else f" on shard {shard}"
        await self._wait_until(
            lambda: True if self._ready_now(shard) else None,
            timeout,
            f"the bot to identify and receive GUILD_CREATE{where}",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until the gateway has been RESUMEd ``count`` times in total."""
        await self._wait_until(lambda: True if self.resumes >= count else None, timeout, f"{count} RESUME(s)")

    async def wait_acked(self, interaction_id: int | EmuInteraction, timeout: float = 5) -> EmuInteraction:  # noqa: ASYNC109
        """Wait for the initial response to an interaction."""
        iid = interaction_id if isinstance(interaction_id, int) else interaction_id.id
        inter = self.interactions[iid]
        return await self._wait_until(
            lambda: inter if inter.acked_at is not None else None, timeout, f"an ack of interaction {iid}"
        )

    async def wait_for_message(
        self,
        predicate: Callable[[EmuMessage], bool],
        timeout: float = 10,  # noqa: ASYNC109
    ) -> EmuMessage:
        """Wait for a (non-deleted) message matching ``predicate``, including ones already stored."""

        def probe() -> EmuMessage | None:
            for message in sorted(self.messages.values(), key=lambda m: m.id):
                if not message.deleted and predicate(message):
                    return message
            return None

        return await self._wait_until(probe, timeout, "a matching message")

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked on every state change."""
        await self._wait_until(lambda: True if predicate() else None, timeout, what)
