"""Admin views and operations, end to end: /pika-admin status and accounts, GET /metrics."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from sandbox.discord_emu import EmuInteraction
from sandbox.stack import LocalStack
from tests.e2e.conftest import settle_all
from tests.helpers.bot_e2e import emu_ids, reply_of, result_in


def ephemeral_embeds(stack: LocalStack, interaction: EmuInteraction) -> str:
    emu = stack.emulator.emu
    return str([m.embeds for m in emu.interaction_messages(interaction) if m.ephemeral])


async def scrape(stack: LocalStack) -> dict[str, float]:
    """GET /metrics on the webhook server, parsed with prometheus-client's own parser."""
    url = f"{stack.settings.callbacks.public_url}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200 and response.content_type == "text/plain"
        text = await response.text()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


async def test_status_shows_accounts_queue_and_today_to_admins_only(stack: LocalStack) -> None:
    """/pika-admin status: refused to a member, and for the owner lists upstream, account, queue, today."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    await reply_of(
        stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": "a red kite"}), "Follow it in"
    )
    await settle_all(stack)
    refused = await emu.slash(102, channel_id, "pika-admin", "status")
    assert "Manage Server" in await reply_of(stack, refused, "❌")
    shown = await emu.slash(emu.config.owner_id, channel_id, "pika-admin", "status")
    await emu.wait_for(lambda: "pikabot status" in ephemeral_embeds(stack, shown), 10, "the status embed")
    text = ephemeral_embeds(stack, shown)
    assert "Upstream · useapi.net" in text and "✅ healthy · slots 0/2" in text
    assert "0 waiting" in text and "delivered 1" in text and "Median time to video today" in text


async def test_accounts_lists_useapi_accounts_next_to_ours(stack: LocalStack) -> None:
    """/pika-admin accounts: GET pika/account at useapi.net beside the configured ones."""
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    answer = await emu.slash(emu.config.owner_id, channel_id, "pika-admin", "accounts")
    text = await reply_of(stack, answer, "At useapi.net")
    ours = stack.settings.useapi.accounts[0].channel
    assert f"`{ours}` — 2 slots" in text and f"`{ours}` — maxJobs 10" in text
    assert any(r.path == "/v1/pika/account" for r in stack.simulator.sim.requests)


async def test_metrics_parse_and_move_as_jobs_run(stack: LocalStack) -> None:
    """GET /metrics parses with prometheus-client and counts the job, its upstream calls and Discord posts."""
    before = await scrape(stack)
    assert before["pikabot_jobs_finished_total{outcome=delivered}"] == 0
    emu = stack.emulator.emu
    channel_id, _ = emu_ids(stack)
    await reply_of(
        stack, await emu.slash(101, channel_id, "pika", "create", {"prompt": "a paper crane"}), "Follow it in"
    )
    (thread,) = emu.threads(channel_id)
    await result_in(stack, thread.id)
    await settle_all(stack)
    after = await scrape(stack)
    assert after["pikabot_jobs_finished_total{outcome=delivered}"] == 1
    assert after["pikabot_jobs{state=delivered}"] == 1 and after["pikabot_queue_depth{}"] == 0
    assert after["pikabot_submit_to_video_seconds_count{}"] == 1
    assert after["pikabot_upstream_requests_total{operation=submit,provider=useapi,status=ok}"] == 1
    assert after["pikabot_discord_posts_total{kind=result}"] == 1
    assert after["pikabot_callbacks_total{result=accepted}"] >= 1
    posts = [k for k in after if k.startswith("pikabot_discord_requests_total{") and "method=POST" in k]
    assert posts and all("token" not in k.lower() or "{token}" in k for k in posts)
