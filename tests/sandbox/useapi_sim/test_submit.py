"""The useapi.net simulator's submit endpoints: create, animate and encrypt answer the documented shape."""

from __future__ import annotations

import re

from sandbox.useapi_sim import DEFAULT_CHANNEL
from tests.sandbox.useapi_sim.helpers import PNG, Api

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DISCORD_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")


async def test_create_returns_documented_shape(api: Api) -> None:
    body = await api.create(
        "smiling and blinking -ar 16:9", replyRef="ref-1", replyUrl="http://127.0.0.1:9/x"
    )
    assert body["verb"] == "pika-create"
    assert body["status"] == "started"
    assert body["code"] == 200
    assert re.fullmatch(r"j\d{20}", body["jobid"])
    assert ISO_MS.match(body["created"]) and ISO_MS.match(body["updated"])
    assert DISCORD_TS.match(body["timestamp"])
    assert body["discord"] == "MTE…secured…xYz"
    assert body["channel"] == DEFAULT_CHANNEL
    assert body["maxJobs"] == 10
    assert body["replyRef"] == "ref-1"
    assert body["replyUrl"] == "http://127.0.0.1:9/x"
    assert body["messageId"].isdigit() and len(body["messageId"]) >= 18
    assert body["content"] == (
        "<@1100000000000000000> Creation job queued. (Prompt: smiling and blinking -ar 16:9  "
        "Author: <@1100000000000000000>)"
    )
    assert "image" not in body


async def test_jobids_are_unique(api: Api) -> None:
    ids = {(await api.create(f"prompt {i}"))["jobid"] for i in range(5)}
    assert len(ids) == 5


async def test_animate_echoes_image(api: Api) -> None:
    status, body = await api.submit(
        "animate", {"prompt": "waves crashing"}, {"image": ("pic.png", PNG, "image/png")}
    )
    assert status == 200
    assert body["verb"] == "pika-animate"
    assert body["image"] == {"size": len(PNG), "type": "image/png"}
    assert "Image: 1 Attachment" in body["content"]


async def test_animate_without_prompt_is_fine(api: Api) -> None:
    status, body = await api.submit("animate", files={"image": ("blob", PNG, "image/png")})
    assert status == 200
    assert "prompt" not in body


async def test_encrypt_text_with_font(api: Api) -> None:
    fields = {"message": "Hello", "prompt": "waves -w 2 -size 100", "font": "BAUHAUS"}
    status, body = await api.submit("encrypt_text", fields)
    assert status == 200, body
    assert body["verb"] == "pika-encrypt_text"
    assert body["message"] == "Hello"
    assert "Message: Hello (Font: BAUHAUS)" in body["content"]


async def test_encrypt_image_echoes_message_and_image(api: Api) -> None:
    status, body = await api.submit(
        "encrypt_image",
        {"prompt": "waves crashing over the sandy beach, overhead shot -w 2 -size 100"},
        {"message": ("logo.jpg", b"j" * 50, "image/jpeg"), "image": ("ref.webp", b"w" * 30, "image/webp")},
    )
    assert status == 200, body
    assert body["verb"] == "pika-encrypt_image"
    assert body["message"] == {"size": 50, "type": "image/jpeg"}
    assert body["image"] == {"size": 30, "type": "image/webp"}
    assert "Message: 1 Attachment  Image: 1 Attachment" in body["content"]
