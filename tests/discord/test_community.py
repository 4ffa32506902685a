"""The community channel: digest text and limits, announcements, and the board's edit pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import discord
import pytest

from bot.discord.community import (
    DIGEST_SIZE,
    CommunityBoard,
    DigestEntry,
    DigestMessage,
    announcement_text,
    digest_embed,
    entries_from_json,
    entries_to_json,
    jump_url,
    one_line,
    with_entry,
)
from bot.discord.posting import Pacer
from bot.domain.guild_settings import GuildSettings
from bot.domain.jobs import Job, Origin
from bot.store import Database, JobStore
from bot.store.settings_store import SettingsStore
from tests.discord.test_render import job

BIG = 999_999_999_999_999_999  # the widest snowflakes Discord hands out today are 19 digits
GUILD, COMMUNITY, ELSEWHERE, THREAD = 1, 50, 60, 61


def entry(job_id: int, finished_at: float, prompt: str = "a fox", owner_id: int = 101) -> DigestEntry:
    return DigestEntry(job_id, owner_id, prompt, jump_url(GUILD, THREAD, 9000 + job_id), finished_at)


# -- pure parts -------------------------------------------------------------------------------------


def test_prompts_become_one_clipped_line_without_markdown_or_mentions() -> None:
    """Whitespace collapsed, clipped with an ellipsis, markdown escaped, brackets and pings defused."""
    assert one_line("a  red\nfox", 60) == "a red fox"
    assert one_line("   ", 60) == "(no prompt)"
    clipped = one_line("x" * 100, 60)
    assert len(clipped) == 60 and clipped.endswith("…")
    assert one_line("**bold** _it_ `code`", 60) == r"\*\*bold\*\* \_it\_ \`code\`"
    assert one_line("[click](https://evil.example)", 60) == "(click)(https://evil.example)"
    assert "@everyone" not in one_line("hi @everyone <@5>", 60)
    assert "<@5>" not in one_line("hi @everyone <@5>", 60)


def test_the_digest_lists_the_newest_ten_newest_first() -> None:
    """Entries are kept newest first, at most ten; a job posted again replaces its own line."""
    entries: tuple[DigestEntry, ...] = ()
    for n in range(1, 13):
        entries = with_entry(entries, entry(n, 100.0 + n))
    assert [e.job_id for e in entries] == list(range(12, 2, -1))
    assert len(entries) == DIGEST_SIZE
    # An older video arriving late sorts by its time, and falls off when it is the oldest.
    assert [e.job_id for e in with_entry(entries, entry(99, 50.0))] == list(range(12, 2, -1))
    again = with_entry(entries, entry(5 + 3, 200.0, prompt="again"))
    assert [e.job_id for e in again][:2] == [8, 12] and [e.job_id for e in again].count(8) == 1


def test_the_digest_embed_links_every_video() -> None:
    """Each line: the owner's mention, a relative time and the clipped prompt linking to the video."""
    entries = (entry(2, 1_700_000_100.0, "a cat"), entry(1, 1_700_000_000.0, "a dog", owner_id=102))
    embed = digest_embed(entries)
    assert embed.description is not None
    first, second = embed.description.split("\n")
    assert first == f"` 1.` <@101> · <t:1700000100:R> · [a cat]({jump_url(GUILD, THREAD, 9002)})"
    assert second.startswith("` 2.` <@102> · <t:1700000000:R> · [a dog](")
    assert digest_embed(()).description == "No videos yet."


def test_the_digest_fits_discords_embed_limits_at_worst() -> None:
    """Ten entries with the widest ids and the most escaping still fit the description (4096) and embed (6000)."""
    worst = tuple(
        DigestEntry(BIG - n, BIG, "*@" * 300, jump_url(BIG, BIG, BIG), 9_999_999_999.0) for n in range(20)
    )
    embed = digest_embed(worst)
    assert embed.description is not None
    assert embed.description.count("\n") == DIGEST_SIZE - 1
    assert len(embed.description) <= 4096 and len(embed) <= 6000
    assert all(len(line) < 400 for line in embed.description.split("\n"))


def test_the_announcement_names_the_requester_and_links_the_video() -> None:
    """One line with the mention and the link, then the prompt quoted and clipped, within 2000 characters."""
    url = jump_url(GUILD, THREAD, 77)
    text = announcement_text(job(prompt="a red fox\nin snow"), url)
    assert text == f"🎬 <@101>'s video is ready: {url}\n> a red fox in snow"
    long = announcement_text(job(prompt="y" * 5000, owner_id=BIG), jump_url(BIG, BIG, BIG))
    assert len(long) < 2000 and long.endswith("…")


def test_stored_forms_round_trip_and_tolerate_garbage() -> None:
    """The meta rows read back as written; unreadable ones count as absent."""
    entries = (entry(2, 20.0, "ü “quoted”"), entry(1, 10.0))
    assert entries_from_json(entries_to_json(entries)) == entries
    assert entries_from_json(None) == () and entries_from_json("{not json") == ()
    assert entries_from_json('[{"job_id": 1}]') == ()
    where = DigestMessage(COMMUNITY, 123)
    assert DigestMessage.from_json(where.to_json()) == where
    assert DigestMessage.from_json("[]") is None and DigestMessage.from_json(None) is None


# -- the board, against a stand-in for the slice of discord.Client it uses ---------------------------


class _Response:
    status = 404
    reason = "Not Found"


@dataclass
class Sent:
    channel_id: int
    id: int
    content: str | None
    embed: discord.Embed | None
    allowed_mentions: discord.AllowedMentions | None
    nonce: str | None


@dataclass
class FakeDiscord:
    """Records sends and edits; messages in `deleted` answer an edit with 404 Unknown Message."""

    sent: list[Sent] = field(default_factory=list)
    edits: list[tuple[int, discord.Embed]] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)

    def is_closed(self) -> bool:
        return False

    def get_partial_messageable(self, channel_id: int, **_: Any) -> _Channel:
        return _Channel(self, channel_id)

    def digests(self) -> list[Sent]:
        return [s for s in self.sent if s.embed is not None]

    def announcements(self) -> list[Sent]:
        return [s for s in self.sent if s.content is not None]


@dataclass
class _Channel:
    owner: FakeDiscord
    id: int

    async def send(
        self,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        allowed_mentions: discord.AllowedMentions | None = None,
        nonce: str | None = None,
    ) -> Sent:
        message = Sent(self.id, 5000 + len(self.owner.sent), content, embed, allowed_mentions, nonce)
        self.owner.sent.append(message)
        return message

    def get_partial_message(self, message_id: int) -> _Partial:
        return _Partial(self.owner, message_id)


@dataclass
class _Partial:
    owner: FakeDiscord
    id: int

    async def edit(self, *, embed: discord.Embed) -> None:
        if self.id in self.owner.deleted:
            raise discord.NotFound(_Response(), {"code": 10008, "message": "Unknown Message"})
        self.owner.edits.append((self.id, embed))


@dataclass
class Board:
    board: CommunityBoard
    client: FakeDiscord
    settings: SettingsStore
    store: JobStore


@pytest.fixture
async def board(tmp_path: Path) -> AsyncIterator[Board]:
    """A board on a real database, a fake Discord, and a guild whose community channel announces."""
    db = await Database.open(tmp_path / "community.sqlite3")
    try:
        client = FakeDiscord()
        settings, store = SettingsStore(db), JobStore(db)
        await settings.update(
            GUILD, 0.0, GuildSettings(community_channel_id=COMMUNITY, announce_results=True)
        )
        community = CommunityBoard(cast(discord.Client, client), settings, store, Pacer(1000), interval=0.3)
        yield Board(community, client, settings, store)
    finally:
        await db.close()


def elsewhere(job_id: int, prompt: str = "a fox") -> Job:
    return job(
        id=job_id, prompt=prompt, origin=Origin(guild_id=GUILD, channel_id=ELSEWHERE, thread_id=THREAD)
    )


async def test_a_video_made_elsewhere_is_announced_without_a_ping(board: Board) -> None:
    """Asked outside the community channel: one announcement there, no mentions allowed, a nonce."""
    await board.board.video_posted(elsewhere(7, "a red fox"), 777)
    (announced,) = board.client.announcements()
    assert announced.channel_id == COMMUNITY
    assert announced.content == f"🎬 <@101>'s video is ready: {jump_url(GUILD, THREAD, 777)}\n> a red fox"
    assert announced.allowed_mentions is not None
    assert announced.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
    assert announced.nonce == "pka7"


async def test_no_announcement_for_community_jobs_or_when_turned_off(board: Board) -> None:
    """A job asked in the community channel (its thread is there) or with announcements off: no post."""
    inside = job(id=8, origin=Origin(guild_id=GUILD, channel_id=COMMUNITY, thread_id=THREAD))
    await board.board.video_posted(inside, 888)
    await board.settings.update(GUILD, 1.0, GuildSettings(community_channel_id=COMMUNITY))
    await board.board.video_posted(elsewhere(9), 999)
    await asyncio.sleep(0.5)
    assert board.client.announcements() == []
    (digest,) = board.client.digests()  # the digest is kept all the same
    assert digest.channel_id == COMMUNITY


async def test_no_community_channel_means_nothing_at_all(board: Board) -> None:
    """Without a community channel the board posts nothing and stores nothing."""
    await board.settings.update(GUILD, 1.0, GuildSettings(announce_results=True))
    await board.board.video_posted(elsewhere(7), 777)
    await board.board.video_posted(replace(elsewhere(8), origin=Origin(None, ELSEWHERE)), 888)
    await asyncio.sleep(0.4)
    assert board.client.sent == [] and board.client.edits == []
    assert await board.store.get_meta(f"digest-videos:{GUILD}") is None


async def test_a_burst_of_results_edits_the_digest_once_per_interval(board: Board) -> None:
    """The first result posts the digest at once; ten more within the interval make one edit with all."""
    await board.settings.update(GUILD, 1.0, GuildSettings(community_channel_id=COMMUNITY))
    await board.board.video_posted(elsewhere(1), 101)
    await asyncio.sleep(0.05)
    (digest,) = board.client.digests()
    for n in range(2, 12):
        await board.board.video_posted(elsewhere(n, f"video {n}"), 100 + n)
    await asyncio.sleep(0.5)
    assert len(board.client.digests()) == 1
    ((edited_id, embed),) = board.client.edits
    assert edited_id == digest.id and embed.description is not None
    lines = embed.description.split("\n")
    assert len(lines) == DIGEST_SIZE and "video 11" in lines[0] and "video 2" in lines[-1]
    assert await board.store.get_meta(f"digest:{GUILD}") == DigestMessage(COMMUNITY, digest.id).to_json()


async def test_a_deleted_digest_is_posted_again(board: Board) -> None:
    """Editing a digest someone deleted answers 404: a new digest is posted and remembered."""
    await board.board.video_posted(elsewhere(1), 101)
    await asyncio.sleep(0.05)
    (first,) = board.client.digests()
    board.client.deleted.add(first.id)
    await board.board.video_posted(elsewhere(2), 102)
    await asyncio.sleep(0.5)
    _, second = board.client.digests()
    assert second.id != first.id and second.embed is not None and "<@101>" in str(second.embed.description)
    assert await board.store.get_meta(f"digest:{GUILD}") == DigestMessage(COMMUNITY, second.id).to_json()


async def test_a_new_community_channel_gets_its_own_digest(board: Board) -> None:
    """After the admin moves the community channel, the digest is posted in the new one."""
    await board.board.video_posted(elsewhere(1), 101)
    await asyncio.sleep(0.05)
    await board.settings.update(GUILD, 1.0, GuildSettings(community_channel_id=COMMUNITY + 1))
    assert await board.board.push_digest(GUILD) is not None
    assert [d.channel_id for d in board.client.digests()] == [COMMUNITY, COMMUNITY + 1]


async def test_failures_never_reach_the_caller(board: Board) -> None:
    """A broken store or Discord is logged, never raised: the video is delivered already."""

    async def broken(_key: str) -> str | None:
        raise RuntimeError("database is gone")

    board.store.get_meta = broken  # type: ignore[method-assign, assignment]
    await board.board.video_posted(elsewhere(1), 101)
    await asyncio.sleep(0.05)
    assert len(board.client.announcements()) == 1 and board.client.digests() == []


async def test_two_processes_remembering_videos_at_once_lose_none(board: Board) -> None:
    """Two boards (two processes) on one database record results of one guild at the same moment:
    the stored list is compare-and-set, so neither overwrites the other's entry."""
    await board.settings.update(GUILD, 1.0, GuildSettings(community_channel_id=COMMUNITY))
    other = CommunityBoard(
        cast(discord.Client, board.client), board.settings, board.store, Pacer(1000), interval=0.3
    )
    await asyncio.gather(
        *(
            (board.board if n % 2 else other).video_posted(elsewhere(n, f"video {n}"), 100 + n)
            for n in range(1, 9)
        )
    )
    entries = entries_from_json(await board.store.get_meta(f"digest-videos:{GUILD}"))
    assert sorted(e.job_id for e in entries) == list(range(1, 9))
