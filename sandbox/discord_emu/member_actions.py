"""The user side of interactions: a member runs a slash or message command, clicks a button or submits a
modal, and the emulator dispatches the INTERACTION_CREATE Discord would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping

from sandbox import discord_payloads as P
from sandbox.discord_emu.components import submitted_component, walk_components, walk_modal_inputs
from sandbox.discord_emu.messages import MessagesLayer
from sandbox.discord_emu.records import EmuChannel, EmuInteraction, EmuMessage
from sandbox.discord_emu.values import as_snowflake
from sandbox.discord_payloads import InteractionType, JsonObj, OptionType


class MemberActionsLayer(MessagesLayer):
    """Interactions as members cause them (what tests call to drive the bot)."""

    def _find_command(self, name: str, guild_id: int) -> tuple[JsonObj | None, int | None]:
        for scope in (guild_id, None):
            for cmd in self.commands.get(scope, []):
                if cmd.get("name") == name and (cmd.get("type") or 1) == 1:
                    return cmd, scope
        if self.config.require_registered_commands:
            known = sorted({str(c.get("name")) for cmds in self.commands.values() for c in cmds})
            raise LookupError(f"/{name} is not a registered command (synced: {known})")
        return None, guild_id

    def _new_interaction(
        self,
        kind: InteractionType,
        user_id: int,
        channel: EmuChannel,
        data: JsonObj,
        *,
        message: EmuMessage | None = None,
        command: str | None = None,
        custom_id: str | None = None,
    ) -> EmuInteraction:
        if not self._receivers(channel.guild_id):
            raise RuntimeError(
                f"no bot session receives guild {channel.guild_id}'s events: start the bot and await "
                "emu.wait_ready() first"
            )
        iid = self._new_id()
        token = "emu." + secrets.token_urlsafe(48)
        payload = P.interaction_payload(
            iid,
            application_id=self.config.application_id,
            interaction_type=int(kind),
            token=token,
            data=data,
            guild_id=channel.guild_id,
            channel=self.channel_payload(channel),
            member=self.member_payload(user_id, with_permissions=True, guild_id=channel.guild_id),
            app_permissions=self.bot_permissions(channel.id),
            attachment_size_limit=self.config.attachment_size_limit,
            message=self.message_payload(message) if message is not None else None,
        )
        inter = EmuInteraction(
            id=iid,
            token=token,
            type=kind,
            user_id=user_id,
            channel_id=channel.id,
            created_at=self.now(),
            payload=payload,
            command=command,
            custom_id=custom_id,
            message_id=message.id if message else None,
        )
        self.interactions[iid] = inter
        self._by_token[token] = inter
        inter.shards = [session.shard for session in self._dispatch("INTERACTION_CREATE", payload)]
        loop = asyncio.get_running_loop()
        # Discord shows "The application did not respond" after 3 s; that is the bot's failure to report.
        self._timers.append(loop.call_later(self.config.ack_deadline + 0.05, self._check_acked, inter))
        self._notify()
        return inter

    def _check_acked(self, inter: EmuInteraction) -> None:
        if inter.acked_at is None:
            what = f"/{inter.command}" if inter.command else f"component {inter.custom_id!r}"
            self._violate(
                f"interaction {inter.id} ({what}) was not acknowledged within {self.config.ack_deadline}s"
            )

    def _option_type(self, spec: JsonObj | None, name: str, value: object) -> OptionType:
        if spec is not None:
            for opt in spec.get("options") or []:
                if opt.get("name") == name:
                    return OptionType(int(opt["type"]))
            raise ValueError(
                f"option {name!r} is not declared by the command (declared: {[o.get('name') for o in spec.get('options') or []]})"
            )
        if isinstance(value, bool):
            return OptionType.BOOLEAN
        if isinstance(value, int):
            return OptionType.INTEGER
        if isinstance(value, float):
            return OptionType.NUMBER
        if isinstance(value, str):
            return OptionType.STRING
        raise ValueError(f"cannot infer an option type for {value!r}")

    async def slash(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None = None,
        options: Mapping[str, object] | None = None,
        attachments: Mapping[str, tuple[str, str, bytes]] | None = None,
    ) -> EmuInteraction:
        """Dispatch a chat-input INTERACTION_CREATE as member ``user_id`` typing ``/command subcommand``.

        ``subcommand`` may be ``"group sub"``; ``attachments`` maps option name to (filename, type, bytes).
        """
        channel = self.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise ValueError(f"unknown channel {channel_id}")
        self._refresh_archive(channel)
        self._user_payload(user_id)
        cmd, scope = self._find_command(command, channel.guild_id)
        path = subcommand.split() if subcommand else []
        spec = self._subcommand_spec(cmd, command, path)
        resolved: JsonObj = {}
        leaves = [
            self._option_leaf(spec, name, value, resolved, user_id=user_id, channel=channel)
            for name, value in (options or {}).items()
        ]
        leaves += [
            self._attachment_leaf(spec, name, upload, resolved)
            for name, upload in (attachments or {}).items()
        ]
        if spec is not None:
            given = {leaf["name"] for leaf in leaves}
            missing = [
                o["name"] for o in spec.get("options") or [] if o.get("required") and o["name"] not in given
            ]
            if missing:
                raise ValueError(f"required options missing: {missing}")
        tree: list[JsonObj] = leaves
        for depth, part in reversed(list(enumerate(path))):
            kind = OptionType.SUB_COMMAND if depth == len(path) - 1 else OptionType.SUB_COMMAND_GROUP
            tree = [{"name": part, "type": int(kind), "options": tree}]
        command_id = int(cmd["id"]) if cmd is not None else self._new_id()
        data = P.chat_input_data_payload(command_id, command, tree, guild_id=scope, resolved=resolved or None)
        label = " ".join([command, *path])
        return self._new_interaction(
            InteractionType.APPLICATION_COMMAND, user_id, channel, data, command=label
        )

    @staticmethod
    def _subcommand_spec(cmd: JsonObj | None, command: str, path: list[str]) -> JsonObj | None:
        """The declaration of the (sub)command whose options the member fills (None when unregistered)."""
        spec: JsonObj | None = cmd
        for part in path:
            found = (
                next((o for o in (spec or {}).get("options") or [] if o.get("name") == part), None)
                if spec
                else None
            )
            if spec is not None and found is None:
                raise ValueError(f"/{command} has no subcommand {part!r}")
            spec = found
        return spec

    def _option_leaf(
        self,
        spec: JsonObj | None,
        name: str,
        value: object,
        resolved: JsonObj,
        *,
        user_id: int,
        channel: EmuChannel,
    ) -> JsonObj:
        """One option as the interaction carries it; users, roles and channels also go into ``resolved``."""
        kind = self._option_type(spec, name, value)
        if kind in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP, OptionType.ATTACHMENT):
            raise ValueError(f"option {name!r} has type {kind.name}; pass attachments via attachments=")
        if kind in (OptionType.USER, OptionType.MENTIONABLE):
            uid = as_snowflake(value)
            if uid is None:
                raise ValueError(f"option {name!r} needs a user id")
            resolved.setdefault("users", {})[str(uid)] = self._user_payload(uid)
            member = self.member_payload(uid, with_permissions=True, guild_id=channel.guild_id)
            member.pop("user")
            resolved.setdefault("members", {})[str(uid)] = member
        elif kind is OptionType.ROLE:
            role = self._role_payloads(channel.guild_id).get(as_snowflake(value) or 0)
            if role is None:
                raise ValueError(f"option {name!r} needs the id of a role in the guild, not {value!r}")
            resolved.setdefault("roles", {})[role["id"]] = role
        elif kind is OptionType.CHANNEL:
            picked = self.channels.get(as_snowflake(value) or 0)
            if picked is None or picked.deleted or picked.guild_id != channel.guild_id:
                raise ValueError(f"option {name!r} needs the id of a channel in the guild, not {value!r}")
            # Resolved channels are partial and carry the invoking member's permissions there.
            perms = self._base_perms(user_id) & ~self._denied_in(picked.id)
            entry = {**self.channel_payload(picked), "permissions": str(int(perms))}
            resolved.setdefault("channels", {})[entry["id"]] = entry
        return P.command_option_payload(name, value, kind)

    def _attachment_leaf(
        self, spec: JsonObj | None, name: str, upload: tuple[str, str, bytes], resolved: JsonObj
    ) -> JsonObj:
        """An attachment option: the file goes onto the emulated CDN and into ``resolved``."""
        filename, content_type, blob = upload
        kind = self._option_type(spec, name, None) if spec is not None else OptionType.ATTACHMENT
        if kind is not OptionType.ATTACHMENT:
            raise ValueError(f"option {name!r} is {kind.name}, not an attachment")
        attachment = self.add_attachment(filename, content_type, blob)
        resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        return P.command_option_payload(name, attachment["id"], OptionType.ATTACHMENT)

    async def click(self, user_id: int, message_id: int, custom_id: str) -> EmuInteraction:
        """Dispatch a button click (type 3) with the full message, components included."""
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise ValueError(f"unknown message {message_id}")
        component = next(
            (
                c
                for _, c in walk_components(message.components, ("components",))
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            raise ValueError(
                f"message {message_id} has no component {custom_id!r} (has {message.custom_ids()})"
            )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; Discord's client cannot click it")
        self._user_payload(user_id)
        channel = self._channel_or_404(message.channel_id)
        data = P.component_data_payload(custom_id, int(component.get("type", 2)))
        return self._new_interaction(
            InteractionType.MESSAGE_COMPONENT, user_id, channel, data, message=message, custom_id=custom_id
        )

    async def message_command(self, user_id: int, message_id: int, name: str) -> EmuInteraction:
        """Dispatch a MESSAGE context-menu command (Apps → ``name`` on a message): type 2 with
        ``data.type`` 3, ``target_id`` and the message in ``resolved.messages``."""
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.ephemeral:
            raise ValueError(f"unknown message {message_id}")
        self._user_payload(user_id)
        channel = self._channel_or_404(message.channel_id)
        cmd = next(
            (
                c
                for scope in (channel.guild_id, None)
                for c in self.commands.get(scope, [])
                if c.get("type") == 3 and c.get("name") == name
            ),
            None,
        )
        if cmd is None:
            known = sorted(
                str(c.get("name")) for cmds in self.commands.values() for c in cmds if c.get("type") == 3
            )
            raise LookupError(f"{name!r} is not a registered message command (synced: {known})")
        scope = int(cmd["guild_id"]) if cmd.get("guild_id") else None
        data = P.message_command_data_payload(
            int(cmd["id"]), name, self.message_payload(message), guild_id=scope
        )
        return self._new_interaction(
            InteractionType.APPLICATION_COMMAND, user_id, channel, data, command=name
        )

    async def submit_modal(
        self, user_id: int, opened_by: EmuInteraction, values: Mapping[str, str]
    ) -> EmuInteraction:
        """Submit the modal the bot answered ``opened_by`` with (type 5), its text inputs filled from
        ``values`` by custom id (others keep the value the bot pre-filled). Discord's client enforces
        required, min_length and max_length before sending, so breaking them raises here."""
        modal = opened_by.modal
        if modal is None:
            raise ValueError(f"interaction {opened_by.id} was not answered with a modal")
        if opened_by.user_id != user_id:
            raise ValueError("only the member the modal was shown to can submit it")
        unknown = set(values) - {c.get("custom_id") for _, c in walk_modal_inputs(modal)}
        if unknown:
            raise ValueError(f"the modal has no text input {sorted(unknown)}")
        components = [submitted_component(top, values) for top in modal.get("components") or []]
        channel = self._channel_or_404(opened_by.channel_id)
        message = self.messages.get(opened_by.message_id) if opened_by.message_id else None
        data = P.modal_submit_data_payload(str(modal["custom_id"]), [c for c in components if c])
        return self._new_interaction(
            InteractionType.MODAL_SUBMIT,
            user_id,
            channel,
            data,
            message=message,
            custom_id=str(modal["custom_id"]),
        )
