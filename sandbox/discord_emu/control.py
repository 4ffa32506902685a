"""The control API under ``/_emu/``: what out-of-process tests and the demo use to drive and read the emulator."""

from __future__ import annotations

import base64

from aiohttp import web

from sandbox.discord_emu.member_actions import MemberActionsLayer
from sandbox.discord_emu.queries import QueriesLayer
from sandbox.discord_emu.records import EmuInteraction
from sandbox.discord_emu.routing import json_response
from sandbox.discord_emu.values import is_int
from sandbox.discord_payloads import JsonObj


class ControlLayer(MemberActionsLayer, QueriesLayer):
    """``/_emu/`` handlers."""

    @staticmethod
    async def _ctl_body(request: web.Request) -> JsonObj:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return body

    def _interaction_json(self, inter: EmuInteraction) -> JsonObj:
        return {
            "id": str(inter.id),
            "type": int(inter.type),
            "user_id": str(inter.user_id),
            "channel_id": str(inter.channel_id),
            "command": inter.command,
            "custom_id": inter.custom_id,
            "created_at": inter.created_at,
            "acked_at": inter.acked_at,
            "ack_type": int(inter.ack_type) if inter.ack_type is not None else None,
            "original_message_id": str(inter.original_message_id) if inter.original_message_id else None,
            "followup_ids": [str(i) for i in inter.followup_ids],
            "ephemeral_replies": self.ephemeral_replies(inter),
        }

    async def _ctl_slash(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        attachments = {
            name: (
                str(spec["filename"]),
                str(spec.get("content_type", "application/octet-stream")),
                base64.b64decode(spec["data_b64"]),
            )
            for name, spec in (body.get("attachments") or {}).items()
        }
        try:
            inter = await self.slash(
                int(body["user_id"]),
                int(body.get("channel_id", self.config.text_channel_id)),
                str(body["command"]),
                body.get("subcommand"),
                body.get("options") or {},
                attachments,
            )
        except (KeyError, LookupError, ValueError, RuntimeError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, self._interaction_json(inter))

    async def _ctl_click(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        try:
            inter = await self.click(int(body["user_id"]), int(body["message_id"]), str(body["custom_id"]))
        except (KeyError, ValueError, RuntimeError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, self._interaction_json(inter))

    async def _ctl_calls(self, _request: web.Request) -> web.StreamResponse:
        return json_response(200, [c.to_json() for c in self.calls])

    async def _ctl_messages(self, _request: web.Request) -> web.StreamResponse:
        out = []
        for m in sorted(self.messages.values(), key=lambda m: m.id):
            payload = self.message_payload(m)
            payload["deleted"] = m.deleted
            payload["source"] = str(m.source)
            out.append(payload)
        return json_response(200, out)

    async def _ctl_violations(self, _request: web.Request) -> web.StreamResponse:
        return json_response(200, self.violations)

    async def _ctl_interactions(self, _request: web.Request) -> web.StreamResponse:
        return json_response(200, [self._interaction_json(i) for i in self.interactions.values()])

    async def _ctl_faults(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        for name in ("rate_limit_next", "global_429_next", "server_error_after_store_next"):
            if name in body:
                value = body[name]
                if not is_int(value) or value < 0:
                    return json_response(400, {"error": f"{name} must be a non-negative integer"})
                setattr(self.faults, name, value)
        if "retry_after" in body:
            self.faults.retry_after = float(body["retry_after"])
        if body.get("drop_gateway"):
            try:
                self.drop_gateway()
            except RuntimeError as exc:
                return json_response(409, {"error": str(exc)})
        f = self.faults
        return json_response(
            200,
            {
                "rate_limit_next": f.rate_limit_next,
                "global_429_next": f.global_429_next,
                "server_error_after_store_next": f.server_error_after_store_next,
                "retry_after": f.retry_after,
            },
        )

    async def _ctl_clock(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        if "offset" in body:
            self.clock_offset = float(body["offset"])
        self.clock_offset += float(body.get("advance", 0))
        return json_response(200, {"clock_offset": self.clock_offset, "now": self.now()})

    async def _ctl_deny(self, request: web.Request) -> web.StreamResponse:
        body = await self._ctl_body(request)
        try:
            channel_id = int(body["channel_id"])
            names = [str(p) for p in body.get("permissions", [])]
            if body.get("allow"):
                self.allow(channel_id, *names)
            else:
                self.deny(channel_id, *names)
        except (KeyError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, {"channel_id": str(channel_id), "denied": int(self._denied_in(channel_id))})
