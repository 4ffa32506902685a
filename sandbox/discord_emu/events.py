"""Events out to the gateway: which sessions hear a guild's events, with the intents they asked for."""

from __future__ import annotations

from sandbox.discord_emu.constants import EVENT_INTENTS, INTENT_MESSAGE_CONTENT, OP_DISPATCH
from sandbox.discord_emu.records import GatewayRecord
from sandbox.discord_emu.sessions import GatewaySession
from sandbox.discord_emu.state import EmulatorState
from sandbox.discord_emu.values import as_snowflake, json_text
from sandbox.discord_payloads import JsonObj


class EventsLayer(EmulatorState):
    """Dispatching events to the gateway sessions whose shard holds the guild."""

    def _receivers(self, guild_id: int | None) -> list[GatewaySession]:
        """The sessions that receive a guild's events now (several when their shards overlap)."""
        return [session for session in self._current.values() if session.receives(guild_id)]

    def _dispatch(self, event: str, data: JsonObj, guild_id: int | None = None) -> list[GatewaySession]:
        """Send an event to every session whose shard holds its guild; returns the sessions sent to.

        The guild is ``guild_id``, else ``data["guild_id"]``; an event without one goes to shard 0.
        With nobody connected nothing is told (Discord would not queue it either).
        """
        if guild_id is None:
            guild_id = as_snowflake(data.get("guild_id"))
        return [session for session in self._receivers(guild_id) if self._send(session, event, data)]

    def _send(self, session: GatewaySession, event: str, data: JsonObj) -> bool:
        """Send one dispatch on one session, if its intents ask for it; False when they do not."""
        needed = EVENT_INTENTS.get(event, 0)
        if needed and not session.intents & needed:
            return False
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & INTENT_MESSAGE_CONTENT:
            data = self._without_content(data)
        session.seq += 1
        frame = json_text({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, frame, event))
        self.gateway_log.append(GatewayRecord("out", OP_DISPATCH, event, session.seq, self.now()))
        if session.conn is not None:
            session.conn.queue.put_nowait((frame, event))
        return True

    def _without_content(self, message: JsonObj) -> JsonObj:
        """Without MESSAGE_CONTENT, others' messages arrive blank unless they mention the bot (or are DMs)."""
        bot_id = str(self.config.bot_user_id)
        if message.get("author", {}).get("id") == bot_id or any(
            u.get("id") == bot_id for u in message["mentions"]
        ):
            return message
        return {**message, "content": "", "embeds": [], "attachments": [], "components": []}
