"""Finding a status message a placement posted before it could record it (the bot died between
Discord's answer and the store's write), so a restart adopts it instead of posting a second one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The channel's latest messages searched (newest first, whenever the post went out after waiting
#: for the channel's budget); a channel busier than this since the post gets a second one.
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class FoundStatus:
    """A status message found in a channel's history, and the thread started from it if any."""

    message_id: int
    thread_id: int | None


def find_status(messages: Iterable[Mapping[str, Any]], bot_user_id: int, job_id: int) -> FoundStatus | None:
    """The bot's own message whose embed footer names `job_id` ("job 12 · …"), not a result or a
    notice (those carry their own nonces and never count as the status)."""
    footer = re.compile(rf"job {job_id} ·")
    for message in messages:
        if str(message.get("author", {}).get("id")) != str(bot_user_id):
            continue
        if message.get("attachments") or str(message.get("nonce") or "").startswith(("pkr", "pkn")):
            continue
        for embed in message.get("embeds") or ():
            if footer.match(str((embed.get("footer") or {}).get("text", ""))):
                thread = message.get("thread") or {}
                thread_id = int(thread["id"]) if "id" in thread else None
                return FoundStatus(int(message["id"]), thread_id)
    return None
