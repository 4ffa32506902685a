"""The gateway websocket: HELLO, heartbeats, IDENTIFY (with shards), RESUME, member requests, and the knobs
that drop or forget sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets

from aiohttp import WSMsgType, web

from sandbox import discord_payloads as P
from sandbox.discord_emu.constants import (
    CLOSE_INVALID_SHARD,
    CLOSE_SHARDING_REQUIRED,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE,
    OP_REQUEST_MEMBERS,
    OP_RESUME,
    OP_VOICE,
    PRIVILEGED_INTENTS,
    MiB,
)
from sandbox.discord_emu.guilds import GuildsLayer
from sandbox.discord_emu.records import GatewayRecord
from sandbox.discord_emu.sessions import GatewayConn, GatewaySession, ShardSession
from sandbox.discord_emu.values import as_snowflake, is_int, shard_of
from sandbox.discord_payloads import JsonObj

log = logging.getLogger(__name__)


class GatewayLayer(GuildsLayer):
    """One session per shard over the websocket, as discord.py drives it."""

    def shard_sessions(self) -> list[ShardSession]:
        """The gateway sessions that receive events now, by shard."""
        return sorted(
            (
                ShardSession(s.session_id, s.shard, s.guild_ids, s.conn is not None, s.ready)
                for s in self._current.values()
            ),
            key=lambda view: view.shard,
        )

    def drop_gateway(self, shard: int = 0) -> None:
        """Close the websocket of the session holding ``shard`` (0 for an unsharded bot) with 4000.

        Not fatal: discord.py reconnects and RESUMEs; events meanwhile are buffered for the replay.
        """
        session = next(
            (s for s in self._current.values() if s.shard[0] == shard and s.conn is not None), None
        )
        if session is None or session.conn is None:
            raise RuntimeError(f"no gateway connection on shard {shard} to drop")
        conn, session.conn = session.conn, None
        conn.close(4000)

    def reset_session(self, shard: int | None = None) -> None:
        """Forget the gateway sessions (as after a bot restart), or only those of one shard id.

        ``wait_ready`` then waits for a new IDENTIFY. A connection still open on a forgotten session is
        closed with 4000; its RESUME then gets INVALID_SESSION.
        """
        for session in list(self._current.values()):
            if shard is not None and session.shard[0] != shard:
                continue
            self._current.pop(session.session_id, None)
            self._sessions.pop(session.session_id, None)
            if session.conn is not None:
                conn, session.conn = session.conn, None
                conn.close(4000)
        self._notify()

    def _ready_now(self, shard: int | None) -> bool:
        sessions = list(self._current.values())
        if shard is not None:
            return any(s.shard[0] == shard and s.ready for s in sessions)
        if not sessions or not all(s.ready for s in sessions):
            return False
        # Every shard of each shard count in use has its session: no guild is left unheard.
        counts = {s.shard[1] for s in sessions}
        return all({s.shard[0] for s in sessions if s.shard[1] == n} == set(range(n)) for n in counts)

    async def _gateway_writer(self, conn: GatewayConn) -> None:
        while True:
            item = await conn.queue.get()
            if item is None:
                return
            if isinstance(item, int):
                await conn.ws.close(code=item, message=b"emulator closed the connection")
                return
            frame, event = item
            try:
                await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            if event in ("READY", "GUILD_CREATE") and conn.session is not None:
                self._written_ready_frame(conn.session, event)

    def _written_ready_frame(self, session: GatewaySession, event: str) -> None:
        """READY and the GUILD_CREATEs queued at IDENTIFY are out: the session is ready after the last."""
        if session.ready:
            return
        if event == "GUILD_CREATE":
            session.unsent_guilds -= 1
        if session.unsent_guilds <= 0 and session.session_id in self._current:
            session.ready = True
            self._notify()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        self._learn_base_url(request)
        ws = web.WebSocketResponse(max_msg_size=4 * MiB)
        await ws.prepare(request)
        conn = GatewayConn(ws, request.query)
        self._conns.add(conn)
        if request.query.get("encoding", "json") != "json":
            self._violate(f"gateway: unsupported encoding {request.query.get('encoding')!r}")
        writer = asyncio.create_task(self._gateway_writer(conn))
        conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.config.heartbeat_interval_ms}})
        self.gateway_log.append(GatewayRecord("out", OP_HELLO, None, None, self.now()))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        self._gateway_frame(conn, msg.data)
                    except Exception as exc:
                        log.exception("emulator error on a gateway frame")
                        self._violate(f"gateway: emulator error {exc!r}")
                elif msg.type is WSMsgType.BINARY:
                    self._violate("gateway: binary frame from the client (only JSON text is negotiated)")
                    conn.close(4002)
        finally:
            self._conns.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client's own 1000/1001 close ends the session (Discord invalidates it); other codes keep it.
                if ws.close_code in (1000, 1001):
                    self._current.pop(session.session_id, None)
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._notify()
        return ws

    def _gateway_frame(self, conn: GatewayConn, raw: str) -> None:
        try:
            msg = json.loads(raw)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            self._violate(f"gateway: undecodable frame {raw[:100]!r}")
            conn.close(4002)
            return
        self.gateway_log.append(GatewayRecord("in", op, None, None, self.now()))
        data = msg.get("d")
        if op == OP_HEARTBEAT:
            conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            self._identify(conn, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            self._resume(conn, data if isinstance(data, dict) else {})
        elif op in (OP_REQUEST_MEMBERS, OP_PRESENCE, OP_VOICE) and conn.session is None:
            self._violate(f"gateway: opcode {op} before IDENTIFY")
            conn.close(4003)  # Not authenticated
        elif op == OP_REQUEST_MEMBERS and conn.session is not None:
            self._request_members(conn.session, data if isinstance(data, dict) else {})
        elif op in (OP_PRESENCE, OP_VOICE):
            pass  # presence and voice state updates are accepted and ignored
        else:
            self._violate(f"gateway: unexpected opcode {op}")

    def _request_members(self, session: GatewaySession, data: JsonObj) -> None:
        guild_id = as_snowflake(data.get("guild_id"))
        if guild_id not in session.guild_ids:
            self._violate(f"gateway: members requested for guild {data.get('guild_id')!r}, not on this shard")
            return
        self._send(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild_id),
                "members": [self.member_payload(u, guild_id=guild_id) for u in self._all_member_ids()],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            },
        )

    def _identify(self, conn: GatewayConn, data: JsonObj) -> None:
        if conn.session is not None:
            self._violate("gateway: IDENTIFY sent twice on one connection")
            conn.close(4005)
            return
        if data.get("token") != self.config.bot_token:
            self._violate("gateway: IDENTIFY with a wrong token")
            conn.close(4004)
            return
        intents = data.get("intents")
        if not is_int(intents):
            self._violate("gateway: IDENTIFY without integer intents")
            conn.close(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self.config.privileged_intents:
            self._violate(
                f"gateway: privileged intents {intents & PRIVILEGED_INTENTS:#x} not enabled for the app"
            )
            conn.close(4014)
            return
        shard = self._identify_shard(conn, data.get("shard"))
        if shard is None:
            return
        self.identifies += 1
        # A new session on a shard replaces the one before it (a restarted bot). Discord would feed
        # both, but the older belongs to a process that is gone; sessions of other shards stay.
        for old in [s for s in self._current.values() if s.shard == shard]:
            del self._current[old.session_id]
        guild_ids = tuple(g for g in self.guilds if shard_of(g, shard[1]) == shard[0])
        session = GatewaySession(
            secrets.token_hex(16),
            conn=conn,
            intents=intents,
            shard=shard,
            sharded="shard" in data,
            guild_ids=guild_ids,
            unsent_guilds=len(guild_ids),
        )
        self._sessions[session.session_id] = session
        self._current[session.session_id] = session
        conn.session = session
        base = self.config.public_base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        ready = P.ready_payload(
            self._user_payload(self.config.bot_user_id),
            guild_ids,
            session_id=session.session_id,
            resume_gateway_url=f"{base}/gateway",
            application_id=self.config.application_id,
            shard=shard if session.sharded else None,
        )
        self._send(session, "READY", ready)
        for guild_id in guild_ids:
            self._send(session, "GUILD_CREATE", self.guild_payload(guild_id))
        self._notify()

    def _identify_shard(self, conn: GatewayConn, raw: object) -> tuple[int, int] | None:
        """IDENTIFY's ``shard`` as (shard_id, num_shards), (0, 1) when absent; None after closing 4010/4011."""
        if raw is None:
            shard = (0, 1)
        elif (
            isinstance(raw, list)
            and len(raw) == 2
            and is_int(raw[0])
            and is_int(raw[1])
            and 0 <= raw[0] < raw[1]
        ):
            shard = (raw[0], raw[1])
        else:
            self._violate(
                f"gateway: IDENTIFY with shard {raw!r}: must be [shard_id, num_shards], 0 <= shard_id < num_shards"
            )
            conn.close(CLOSE_INVALID_SHARD)
            return None
        if shard[1] % self.config.shard_multiple:
            self._violate(
                f"gateway: IDENTIFY with {shard[1]} shards: must be a multiple of {self.config.shard_multiple}"
            )
            conn.close(CLOSE_INVALID_SHARD)
            return None
        held = sum(shard_of(g, shard[1]) == shard[0] for g in self.guilds)
        if held > self.config.max_guilds_per_session:
            self._violate(
                f"gateway: shard {list(shard)} would hold {held} guilds (at most "
                f"{self.config.max_guilds_per_session} per session): sharding required"
            )
            conn.close(CLOSE_SHARDING_REQUIRED)
            return None
        return shard

    def _resume(self, conn: GatewayConn, data: JsonObj) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        valid = (
            session is not None
            and session.session_id in self._current
            and data.get("token") == self.config.bot_token
            and (seq is None or is_int(seq))
        )
        oldest = session.buffer[0][0] if session is not None and session.buffer else 1
        if not valid or session is None or (is_int(seq) and seq + 1 < oldest):
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.close(4000)
        session.conn = conn
        conn.session = session
        last = seq if is_int(seq) else 0
        for s, frame, event in session.buffer:
            if s > last:
                conn.queue.put_nowait((frame, event))
        self.resumes += 1
        # The session keeps its shard: it goes on receiving the same guilds' events.
        self._send(session, "RESUMED", {"_trace": ["discord-emulator"]})
        self._notify()
