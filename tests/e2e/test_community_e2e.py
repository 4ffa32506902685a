"""The community channel end to end: a thread per job, announcements of videos made elsewhere, the digest."""

from __future__ import annotations

from bot.discord.community import DIGEST_TITLE, jump_url
from sandbox.discord_emu import EmuMessage
from sandbox.stack import LocalStack
from tests.e2e.test_guild_settings_e2e import admin
from tests.helpers.bot_e2e import emu_ids, reply_of, result_in

ALICE, BOB = 101, 102


def digests(stack: LocalStack) -> list[EmuMessage]:
    """The digest messages still visible in the community channel."""
    emu = stack.emulator.emu
    return [
        m
        for m in emu.thread_messages(emu.config.community_channel_id)
        if m.embeds and m.embeds[0].get("title") == DIGEST_TITLE
    ]


def announcements(stack: LocalStack) -> list[EmuMessage]:
    """The "video is ready" posts in the community channel."""
    emu = stack.emulator.emu
    return [m for m in emu.thread_messages(emu.config.community_channel_id) if "video is ready" in m.content]


async def digest_listing(stack: LocalStack, links: list[str]) -> EmuMessage:
    """Wait until the one digest lists exactly these links, in this order (newest first)."""

    def lists_them() -> bool:
        found = digests(stack)
        if len(found) != 1:
            return False
        description = str(found[0].embeds[0].get("description", ""))
        shown = [line.rsplit("](", 1)[-1].rstrip(")") for line in description.split("\n")]
        return shown == links

    await stack.emulator.emu.wait_for(lists_them, 10, f"the digest to list {links}")
    (digest,) = digests(stack)
    return digest


async def create(stack: LocalStack, user_id: int, channel_id: int, prompt: str) -> None:
    """/pika create, answered "queued"."""
    interaction = await stack.emulator.emu.slash(user_id, channel_id, "pika", "create", {"prompt": prompt})
    await reply_of(stack, interaction, "Follow it in")


async def test_community_jobs_get_their_own_threads_and_one_digest(stack: LocalStack) -> None:
    """In the community channel: a thread per job, results mention the requester, the channel holds only
    thread starters and one digest, which is edited (not posted again) when the next video lands."""
    emu = stack.emulator.emu
    _, guild_id = emu_ids(stack)
    community = emu.config.community_channel_id
    changed = await admin(stack, community_channel=community, announce_results=True)
    await reply_of(stack, changed, "Community channel set")

    await create(stack, ALICE, community, "a fox in the commons")
    (first_thread,) = emu.threads(community)
    assert emu.messages[first_thread.id].channel_id == community  # started from the status message
    first = await result_in(stack, first_thread.id)
    assert first.content.startswith(f"<@{ALICE}> your video is ready") and first.mention_ids == [ALICE]
    first_link = jump_url(guild_id, first_thread.id, first.id)
    digest = await digest_listing(stack, [first_link])
    assert f"<@{ALICE}>" in str(digest.embeds[0]["description"]) and "a fox in the commons" in str(
        digest.embeds[0]["description"]
    )
    assert digest.mention_ids == []

    await create(stack, BOB, community, "an owl at dusk")
    _, second_thread = emu.threads(community)
    second = await result_in(stack, second_thread.id)
    assert second.mention_ids == [BOB]
    second_link = jump_url(guild_id, second_thread.id, second.id)
    edited = await digest_listing(stack, [second_link, first_link])
    assert edited.id == digest.id and edited.edits >= 1

    # Asked in the community channel: no announcement (its thread is right there).
    assert announcements(stack) == []
    starters = {thread.id for thread in emu.threads(community)}
    assert {m.id for m in emu.thread_messages(community)} == starters | {digest.id}


async def test_a_video_made_elsewhere_is_announced_without_a_ping(stack: LocalStack) -> None:
    """Asked in another channel: the community channel gets a jump link to the video, pinging nobody."""
    emu = stack.emulator.emu
    channel_id, guild_id = emu_ids(stack)
    community = emu.config.community_channel_id
    changed = await admin(stack, community_channel=community, announce_results=True)
    await reply_of(stack, changed, "announced in the community channel")

    await create(stack, ALICE, channel_id, "a heron  in\nthe reeds")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    assert video.mention_ids == [ALICE]  # the requester's own ping stays with the video
    link = jump_url(guild_id, thread.id, video.id)
    announced = await emu.wait_for_message(
        lambda m: m.channel_id == community and "video is ready" in m.content
    )
    assert announced.content == f"🎬 <@{ALICE}>'s video is ready: {link}\n> a heron in the reeds"
    assert announced.mention_ids == [] and announced.allowed_mentions is not None
    assert announced.allowed_mentions.get("parse") == []
    await digest_listing(stack, [link])
    assert emu.threads(community) == []


async def test_announcements_off_and_a_deleted_digest(stack: LocalStack) -> None:
    """Announcements off: nothing but the digest; a digest someone deleted is posted again, listing all."""
    emu = stack.emulator.emu
    channel_id, guild_id = emu_ids(stack)
    community = emu.config.community_channel_id
    await reply_of(stack, await admin(stack, community_channel=community), "Community channel set")

    await create(stack, ALICE, channel_id, "rain on a tin roof")
    (thread,) = emu.threads(channel_id)
    first = await result_in(stack, thread.id)
    first_link = jump_url(guild_id, thread.id, first.id)
    old = await digest_listing(stack, [first_link])
    old.deleted = True  # a moderator removed it

    await create(stack, BOB, channel_id, "snow on a pine")
    _, second_thread = emu.threads(channel_id)
    second = await result_in(stack, second_thread.id)
    new = await digest_listing(stack, [jump_url(guild_id, second_thread.id, second.id), first_link])
    assert new.id != old.id
    # The announcement would have been posted before the digest changed: there is none.
    assert announcements(stack) == []
    assert {m.id for m in emu.thread_messages(community)} == {new.id}
