"""Finding a status message a placement posted before it could record it (the bot died between
Discord's answer and the store's write), so a restart adopts it instead of posting a second one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from discord.http import HTTPClient
from discord.utils import time_snowflake

#: Messages per page of history (Discord's most).
HISTORY_PAGE = 100
#: Pages read forward from the attempt: the post waited its turn in the channel's budget, so other
#: messages may come between the attempt and it, but not thousands.
HISTORY_PAGES = 10
#: How far before the attempt (by this machine's clock) the reading starts, for clock skew against
#: Discord's ids.
CLOCK_MARGIN = 60.0


def history_start(tried_at: float) -> int:
    """The snowflake to read a channel's history after, to see every message since `tried_at`."""
    return time_snowflake(datetime.fromtimestamp(tried_at - CLOCK_MARGIN, UTC))


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


async def search_history(
    http: HTTPClient, channel_id: int, bot_user_id: int, job_id: int, after: int
) -> FoundStatus | None:
    """The job's status message among the channel's messages after `after`, read forward a page at a
    time, so a channel busy since the attempt does not hide it."""
    for _ in range(HISTORY_PAGES):
        page = await http.logs_from(channel_id, HISTORY_PAGE, after=after)
        found = find_status(page, bot_user_id, job_id)
        if found is not None or len(page) < HISTORY_PAGE:
            return found
        after = max(int(message["id"]) for message in page)
    return None
