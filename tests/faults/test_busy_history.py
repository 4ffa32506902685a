"""A status message is found after a crash even when the channel got busy before the restart: the
search reads forward from the attempt, not only the channel's latest messages."""

from __future__ import annotations

from pathlib import Path

from tests.faults.test_crashes import submit_jobs
from tests.helpers.process import ProcessStack


def status_posts(stack: ProcessStack) -> list[int]:
    """Ids of the bot's status messages (embeds, no video) in the request channel."""
    emu = stack.emulator.emu
    return [
        m.id
        for m in emu.messages.values()
        if m.channel_id == emu.config.text_channel_id
        and m.author_id == emu.config.bot_user_id
        and m.embeds
        and not m.attachments
        and not m.deleted
    ]


def chatter(stack: ProcessStack, count: int) -> None:
    emu = stack.emulator.emu
    for n in range(count):
        emu.post_user_message(101 + n % 3, emu.config.text_channel_id, f"chatter {n}")


async def test_a_status_message_in_a_busy_channel_is_adopted_not_posted_again(tmp_path: Path) -> None:
    """The bot dies after posting a job's status message and before recording it. 150 member messages
    came just before it (so it is on the second page read forward) and 250 after it (so it is not
    among the latest 100). The restarted bot adopts it: one status message, one thread."""
    stack = await ProcessStack.start(tmp_path)
    try:
        await stack.launch(crash_at="place.posted:1")
        chatter(stack, 150)
        await submit_jobs(stack, 1)
        await stack.wait_killed()
        assert len(status_posts(stack)) == 1
        chatter(stack, 250)
        await stack.launch()
        await stack.settle(1)
        assert await stack.terminate() == 0
        assert len(status_posts(stack)) == 1
        stack.check()
    finally:
        await stack.close()
