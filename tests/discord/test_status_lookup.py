"""Finding the status message a placement posted before a crash, in a channel's history as Discord
returns it (message objects, newest first)."""

from __future__ import annotations

from typing import Any

from discord.utils import snowflake_time

from bot.discord.status_lookup import CLOCK_MARGIN, FoundStatus, find_status, history_start

BOT = 900000000000000001


def message(
    message_id: int, footer: str, *, author: int = BOT, nonce: str | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(message_id),
        "author": {"id": str(author)},
        "embeds": [{"title": "Pika · Create", "footer": {"text": footer}}],
        "attachments": [],
    }
    if nonce is not None:
        out["nonce"] = nonce
    return {**out, **extra}


def test_the_bots_status_message_for_the_job_is_found_with_its_thread() -> None:
    history = [
        message(50, "job 12 · useapi.net"),  # another job whose id starts alike
        message(40, "job 1 · useapi.net", author=123),  # someone quoting the footer
        message(30, "job 1 · fal.ai · $0.20", thread={"id": "30", "name": "a fox"}),
    ]
    assert find_status(history, BOT, 1) == FoundStatus(message_id=30, thread_id=30)


def test_a_status_message_without_a_thread_yet() -> None:
    assert find_status([message(7, "job 3 · useapi.net", nonce="pks3")], BOT, 3) == FoundStatus(7, None)


def test_results_and_notices_are_not_the_status() -> None:
    history = [
        message(9, "job 4 · useapi.net", nonce="pkr4"),
        message(8, "job 4 · useapi.net", nonce="pkn4"),
        message(7, "job 4 · useapi.net", attachments=[{"id": "1", "filename": "a.mp4"}]),
    ]
    assert find_status(history, BOT, 4) is None


def test_nothing_to_find_in_an_empty_or_foreign_history() -> None:
    assert find_status([], BOT, 1) is None
    assert find_status([{"id": "5", "author": {"id": str(BOT)}, "content": "hello"}], BOT, 1) is None


def test_history_is_read_from_a_minute_before_the_attempt() -> None:
    """The search starts at a snowflake of the attempt's time less the clock margin, to the millisecond."""
    tried_at = 1_796_400_000.25
    assert snowflake_time(history_start(tried_at)).timestamp() == tried_at - CLOCK_MARGIN
