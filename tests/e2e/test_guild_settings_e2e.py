"""/pika-admin settings end to end: the real bot vs the Discord emulator and the useapi simulator."""

from __future__ import annotations

from sandbox.discord_emu import EmuInteraction
from sandbox.stack import LocalStack
from tests.helpers.bot_e2e import emu_ids, jobs, reply_of, result_in

ALICE, BOB, CAROL = 101, 102, 103


async def admin(stack: LocalStack, **options: object) -> EmuInteraction:
    """The guild owner (every permission) runs /pika-admin settings with these options."""
    channel_id, _ = emu_ids(stack)
    emu = stack.emulator.emu
    return await emu.slash(emu.config.owner_id, channel_id, "pika-admin", "settings", options)


async def settings_shown(stack: LocalStack, interaction: EmuInteraction) -> dict[str, str]:
    """Wait for the settings embed in the ephemeral answer; its fields by name."""
    emu = stack.emulator.emu

    def embed_fields() -> dict[str, str] | None:
        for message in emu.interaction_messages(interaction):
            if message.ephemeral and message.embeds:
                return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}
        return None

    await emu.wait_for(lambda: embed_fields() is not None, 10, "the settings embed")
    fields = embed_fields()
    assert fields is not None
    return fields


async def no_upstream_calls(stack: LocalStack) -> None:
    """Nothing was stored and nothing was sent to useapi.net (no credit spent)."""
    assert await jobs(stack) == []
    assert not [r for r in stack.simulator.sim.requests if r.method == "POST"]


async def test_admin_changes_settings_and_members_are_refused(stack: LocalStack) -> None:
    """A member and a Manage Messages moderator are refused; the owner sees and changes several at once."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    community = emu.config.community_channel_id
    for user in (ALICE, next(iter(emu.config.moderator_ids))):
        refused = await emu.slash(user, channel_id, "pika-admin", "settings", {"ban_word": "gore"})
        assert "Manage Server" in await reply_of(stack, refused, "❌")
    shown = await settings_shown(stack, await admin(stack))
    assert shown["Community channel"] == "not set"
    assert shown["Generation allowed in"] == "everywhere I can post"
    assert shown["Who may generate"] == "everyone"
    assert shown["Banned words (0)"] == "none"
    assert "**5** unfinished jobs" in shown["Per-member limits"]
    changed = await admin(
        stack, community_channel=community, announce_results=True, ban_word="Gore", alerts_channel=channel_id
    )
    text = await reply_of(stack, changed, "Changed")
    assert f"Community channel set to <#{community}>" in text and "“gore” is now a banned word" in text
    assert "announced in the community channel" in text and f"alerts now go to <#{channel_id}>" in text
    shown = await settings_shown(stack, changed)
    assert shown["Community channel"] == f"<#{community}>"
    assert shown["Announce finished videos there"] == "yes"
    assert shown["Banned words (1)"] == "`gore`"
    contradictory = await admin(stack, community_channel=community, clear_community=True)
    assert "Nothing was changed" in await reply_of(stack, contradictory, "❌")


async def test_generation_refused_in_a_disallowed_channel(stack: LocalStack) -> None:
    """With an allowed list, other channels get a pointer to the allowed ones; the community one is allowed."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    community = emu.config.community_channel_id
    await reply_of(stack, await admin(stack, allow_channel=channel_id), "only in the listed channels")
    elsewhere = await emu.slash(ALICE, community, "pika", "create", {"prompt": "a fox"})
    text = await reply_of(stack, elsewhere, "❌")
    assert f"pikabot isn't enabled in this channel. Use it in <#{channel_id}>." in text
    await no_upstream_calls(stack)
    await reply_of(stack, await admin(stack, community_channel=community), "Community channel set")
    there = await emu.slash(ALICE, community, "pika", "create", {"prompt": "a fox in the commons"})
    await reply_of(stack, there, "Follow it in")
    (thread,) = emu.threads(community)
    await result_in(stack, thread.id)
    # A thread counts as its channel: a command in the job's thread is allowed too.
    inside = await emu.slash(ALICE, thread.id, "pika", "create", {"prompt": "again, in the thread"})
    await reply_of(stack, inside, "Follow it in")
    await reply_of(stack, await admin(stack, disallow_channel=channel_id), "allowed everywhere again")


async def test_generation_refused_without_an_allowed_role(stack: LocalStack) -> None:
    """Only members with an allowed role may generate; the others are told which roles."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    artists = emu.add_role("Artists")
    emu.give_role(ALICE, artists)
    await reply_of(stack, await admin(stack, allow_role=artists), "only the listed roles")
    refused = await emu.slash(BOB, channel_id, "pika", "create", {"prompt": "a fox"})
    assert f"Only members with <@&{artists}> can generate here." in await reply_of(stack, refused, "❌")
    await no_upstream_calls(stack)
    allowed = await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "a fox"})
    await reply_of(stack, allowed, "Follow it in")


async def test_banned_words_are_refused_before_any_upstream_call(stack: LocalStack) -> None:
    """In the prompt, its -neg flag, the negative option or a hidden message: refused, nothing spent."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    await reply_of(stack, await admin(stack, ban_word="Gore"), "banned word")
    await reply_of(stack, await admin(stack, ban_word="red panda"), "banned word")
    cases: list[tuple[str, dict[str, object], str]] = [
        ("create", {"prompt": "a GORE scene"}, "gore"),
        ("create", {"prompt": "a calm lake -neg gore"}, "gore"),
        ("create", {"prompt": "a calm lake", "negative": "blur, gore"}, "gore"),
        ("create", {"prompt": "a red   Panda eating"}, "red panda"),
        ("encrypt_text", {"message": "gore", "prompt": "neon city"}, "gore"),
    ]
    for sub, options, word in cases:
        interaction = await emu.slash(ALICE, channel_id, "pika", sub, options)
        text = await reply_of(stack, interaction, "❌")
        assert (
            f"Your prompt contains “{word}”, which this server does not allow (rule: banned word “{word}”). "
            "Remove it and try again." in text
        ), (options, text)
    await no_upstream_calls(stack)
    # Whole words only: "gorey" is not "gore".
    fine = await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "Edward Gorey drawings"})
    await reply_of(stack, fine, "Follow it in")


async def test_moderator_role_may_retry_someone_elses_job(stack: LocalStack) -> None:
    """A member without Manage Messages is refused until their role is made a moderator role."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    helpers = emu.add_role("Helpers")
    emu.give_role(CAROL, helpers)
    interaction = await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "a lighthouse"})
    await reply_of(stack, interaction, "Follow it in")
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    (job,) = await jobs(stack)
    refused = await emu.click(CAROL, video.id, f"pika:retry:{job.id}")
    assert f"Only <@{ALICE}>" in await reply_of(stack, refused, "❌")
    await reply_of(stack, await admin(stack, add_moderator_role=helpers), "is now a moderator role")
    again = await emu.click(CAROL, video.id, f"pika:retry:{job.id}")
    await reply_of(stack, again, "Follow it in")
    mine = await emu.slash(CAROL, channel_id, "pika", "job", {"id": job.id})
    await reply_of(stack, mine, f"Job **{job.id}**")


async def test_role_limit_override_applies(stack: LocalStack) -> None:
    """The guild allows one job in flight; members with the VIP role may have two."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    owner = emu.config.owner_id
    vip = emu.add_role("VIP")
    emu.give_role(BOB, vip)
    limited = await emu.slash(owner, channel_id, "pika-admin", "limits", {"in_flight": 1})
    await reply_of(stack, limited, "Now:")
    set_role = await admin(stack, limit_role=vip, role_in_flight=2)
    assert f"<@&{vip}> now has 2 unfinished jobs" in await reply_of(stack, set_role, "Changed")
    stack.simulator.sim.faults.hold_jobs = True
    await reply_of(
        stack, await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "a1"}), "Follow it in"
    )
    second = await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "a2"})
    assert "1 job in progress" in await reply_of(stack, second, "❌")
    for prompt in ("b1", "b2"):
        await reply_of(
            stack, await emu.slash(BOB, channel_id, "pika", "create", {"prompt": prompt}), "Follow it in"
        )
    third = await emu.slash(BOB, channel_id, "pika", "create", {"prompt": "b3"})
    assert "2 jobs in progress" in await reply_of(stack, third, "❌")
    cleared = await admin(stack, limit_role=vip, clear_role_limits=True)
    assert "no longer has its own limits" in await reply_of(stack, cleared, "Changed")
    fourth = await emu.slash(BOB, channel_id, "pika", "create", {"prompt": "b4"})
    # Back to the guild's limit of 1 (bot/limits.py words the count by the limit: "2 job").
    assert "You already have 2 job" in await reply_of(stack, fourth, "❌")
    assert len(await jobs(stack)) == 3


async def test_settings_persist_across_a_restart(stack: LocalStack) -> None:
    """Settings live in SQLite: after restart_bot they are shown and enforced as before."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    helpers = emu.add_role("Helpers")
    changed = await admin(stack, ban_word="gore", add_moderator_role=helpers, allow_channel=channel_id)
    await reply_of(stack, changed, "Changed")
    await stack.restart_bot()
    shown = await settings_shown(stack, await admin(stack))
    assert shown["Banned words (1)"] == "`gore`"
    assert f"<@&{helpers}>" in shown["Moderators (may retry and act on anyone's jobs)"]
    assert shown["Generation allowed in"] == f"only <#{channel_id}>"
    refused = await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "gore"})
    assert "banned word “gore”" in await reply_of(stack, refused, "❌")
    elsewhere = await emu.slash(ALICE, emu.config.community_channel_id, "pika", "create", {"prompt": "ok"})
    assert "isn't enabled in this channel" in await reply_of(stack, elsewhere, "❌")
    await no_upstream_calls(stack)


async def test_retry_follows_the_rules_as_they_are_now(stack: LocalStack) -> None:
    """A word banned after the first run, or a role list the member is not on, refuses Retry too."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    await reply_of(
        stack, await emu.slash(ALICE, channel_id, "pika", "create", {"prompt": "a red fox"}), "Follow it in"
    )
    (thread,) = emu.threads(channel_id)
    video = await result_in(stack, thread.id)
    (job,) = await stack.bot.runtime.store.all_jobs()
    await reply_of(stack, await admin(stack, ban_word="fox"), "Changed")
    banned = await emu.click(ALICE, video.id, f"pika:retry:{job.id}")
    assert "“fox”" in await reply_of(stack, banned, "❌")
    await reply_of(
        stack, await admin(stack, unban_word="fox", allow_role=emu.add_role("Creators")), "Changed"
    )
    no_role = await emu.click(ALICE, video.id, f"pika:retry:{job.id}")
    assert "Only members with" in await reply_of(stack, no_role, "❌")
    assert len(await stack.bot.runtime.store.all_jobs()) == 1
