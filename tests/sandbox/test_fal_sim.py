"""Tests for the fal.ai queue API simulator (Pika v2.2 models), driven over real 127.0.0.1 sockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pytest_aiohttp import AiohttpClient

from sandbox.fal_sim import (
    DEFAULT_JWKS,
    DEFAULT_KEY,
    DEFAULT_USER_ID,
    ERR_KEY_FORMAT,
    ERR_LOCKED,
    ERR_NO_USER,
    IMAGE_TO_VIDEO,
    MODEL_IDS,
    PIKAFRAMES,
    PIKASCENES,
    TEST_VECTOR_X,
    TEXT_TO_VIDEO,
    TURBO_IMAGE_TO_VIDEO,
    TURBO_TEXT_TO_VIDEO,
    V21_IMAGE_TO_VIDEO,
    V21_TEXT_TO_VIDEO,
    FalSimulator,
    QueueStatus,
    RunningFalSimulator,
    SimConfig,
    default_signing_key,
    serialize_webhook_body,
    sign_webhook,
    start_simulator,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MP4 = (REPO_ROOT / "sandbox" / "assets" / "sample.mp4").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CONTRACT_JWKS = {
    "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "g9eeZWltf3LIuaW6-nmPMaOQoMtSLkMbDSzup4AaKOs"}]
}
# The contract's test vector (section 4).
VECTOR_BODY = (
    b'{"error": null, "gateway_request_id": "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "payload": {"video": '
    b'{"content_type": "video/mp4", "file_name": "output.mp4", "file_size": 2874113, "url": '
    b'"https://v3b.fal.media/files/b/koala/T3stV1d3o_output.mp4"}}, "request_id": '
    b'"6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c", "status": "OK"}'
)
VECTOR_SIGNATURE = (
    "82c4937bc23e4590b80a0c8dc8dc64f829f54f7334c38435fc7b737beb4492d5"
    "81ed7ffb0b63e864860c686f1fd7bf7af3f3f7b437936090a653a5f85d01d80f"
)
VALID: dict[str, dict[str, Any]] = {
    TEXT_TO_VIDEO: {"prompt": "a red fox running through snow"},
    IMAGE_TO_VIDEO: {"prompt": "the fox turns", "image_url": "https://example.com/fox.png"},
    PIKASCENES: {"prompt": "fox and hat", "image_urls": ["https://example.com/a.png"]},
    PIKAFRAMES: {"image_urls": ["https://example.com/a.png", "https://example.com/b.png"]},
    V21_TEXT_TO_VIDEO: {"prompt": "a red fox running through snow"},
    V21_IMAGE_TO_VIDEO: {"prompt": "the fox turns", "image_url": "https://example.com/fox.png"},
    TURBO_TEXT_TO_VIDEO: {"prompt": "a red fox running through snow"},
    TURBO_IMAGE_TO_VIDEO: {"prompt": "the fox turns", "image_url": "https://example.com/fox.png"},
}
OLDER = (V21_TEXT_TO_VIDEO, V21_IMAGE_TO_VIDEO, TURBO_TEXT_TO_VIDEO, TURBO_IMAGE_TO_VIDEO)


def fast_config(**overrides: Any) -> SimConfig:
    """A config with millisecond timings so the whole module stays fast."""
    base: dict[str, Any] = {
        "queue_delay": 0.0,
        "step_delay": 0.005,
        "log_messages": ("Generating video...", "Encoding video..."),
        "webhook_backoff": 0.01,
        "random_seed": 7,
    }
    base.update(overrides)
    return SimConfig(**base)


def auth(key: str | None = DEFAULT_KEY) -> dict[str, str]:
    return {"Authorization": f"Key {key}"} if key is not None else {}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Api:
    """A tiny JSON client for the simulator."""

    running: RunningFalSimulator
    http: aiohttp.ClientSession

    @property
    def sim(self) -> FalSimulator:
        return self.running.sim

    @property
    def base(self) -> str:
        return self.running.base_url

    async def call(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        if not url.startswith("http"):
            url = self.base + url
        all_headers = {**auth(), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        async with self.http.request(method, url, data=data, headers=all_headers, params=params) as resp:
            text = await resp.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Answer(resp.status, parsed, dict(resp.headers))

    async def submit(
        self,
        model: str = TEXT_TO_VIDEO,
        body: Any = None,
        *,
        webhook: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        query = dict(params or {})
        if webhook is not None:
            query["fal_webhook"] = webhook
        payload = VALID[model] if body is None else body
        return await self.call("POST", f"/{model}", body=payload, headers=headers, params=query)

    async def submit_ok(self, model: str = TEXT_TO_VIDEO, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        answer = await self.submit(model, body, **kwargs)
        assert answer.status == 200, answer.body
        result: dict[str, Any] = answer.body
        return result

    async def completed(self, request_id: str) -> None:
        await self.sim.wait_for_status(request_id, QueueStatus.COMPLETED, within=3.0)


@dataclass
class Receiver:
    """A webhook receiver and image host on 127.0.0.1; answers ``answers`` in order, then 200."""

    root: str = ""
    answers: list[int] = field(default_factory=list)
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    queue: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)

    @property
    def url(self) -> str:
        return f"{self.root}/fal/webhook"

    async def next(self, within: float = 3.0) -> tuple[dict[str, str], bytes]:
        return await asyncio.wait_for(self.queue.get(), within)


@contextlib.asynccontextmanager
async def serve(config: SimConfig) -> AsyncIterator[Api]:
    """A simulator on a real socket plus a client session, both closed on exit."""
    async with await start_simulator(config) as running, aiohttp.ClientSession() as http:
        yield Api(running, http)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with serve(fast_config()) as api:
        yield api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: web.Request) -> web.Response:
        item = (dict(request.headers), await request.read())
        rec.deliveries.append(item)
        status = rec.answers.pop(0) if rec.answers else 200
        if status == 200:
            rec.queue.put_nowait(item)
        return web.Response(status=status, text="ok" if status == 200 else "nope")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def text(_request: web.Request) -> web.Response:
        return web.Response(text="not an image")

    app = web.Application()
    app.router.add_post("/fal/webhook", hook)
    app.router.add_get("/img/pic.png", image)
    app.router.add_get("/img/page.html", text)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.root = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield rec
    await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def jwk_public_key(jwk: dict[str, str]) -> Ed25519PublicKey:
    x = jwk["x"].rstrip("=")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


def signed_message(headers: dict[str, str], body: bytes) -> bytes:
    return "\n".join(
        [
            headers["X-Fal-Webhook-Request-Id"],
            headers["X-Fal-Webhook-User-Id"],
            headers["X-Fal-Webhook-Timestamp"],
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode()


# ---------------------------------------------------------------------------------------------------
# Submit
# ---------------------------------------------------------------------------------------------------


async def test_submit_answers_in_queue_with_owner_app_urls(api: Api) -> None:
    answer = await api.submit(
        TEXT_TO_VIDEO, {"prompt": "fox", "duration": 5, "aspect_ratio": "9:16", "seed": 42}
    )
    assert answer.status == 200
    body = answer.body
    assert set(body) == {"status", "request_id", "response_url", "status_url", "cancel_url", "queue_position"}
    assert body["status"] == "IN_QUEUE" and body["queue_position"] == 0
    rid = body["request_id"]
    assert UUID.match(rid)
    assert answer.headers["x-fal-request-id"] == rid
    assert body["response_url"] == f"{api.base}/fal-ai/pika/requests/{rid}"
    assert body["status_url"] == f"{api.base}/fal-ai/pika/requests/{rid}/status"
    assert body["cancel_url"] == f"{api.base}/fal-ai/pika/requests/{rid}/cancel"
    assert api.sim.requests[rid].arguments == {
        "prompt": "fox",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "duration": 5,
        "negative_prompt": "ugly, bad, terrible",
        "seed": 42,
    }


@pytest.mark.parametrize("model", MODEL_IDS)
async def test_every_model_accepts_its_minimal_body(api: Api, model: str) -> None:
    rid = (await api.submit_ok(model))["request_id"]
    args = api.sim.requests[rid].arguments
    assert args["resolution"] == ("1080p" if model == PIKASCENES else "720p")
    plain = (IMAGE_TO_VIDEO, PIKAFRAMES, *OLDER)
    assert args["negative_prompt"] == ("" if model in plain else "ugly, bad, terrible")
    assert ("duration" in args) is (model != PIKAFRAMES)
    text_models = (TEXT_TO_VIDEO, PIKASCENES, V21_TEXT_TO_VIDEO, TURBO_TEXT_TO_VIDEO)
    assert ("aspect_ratio" in args) is (model in text_models)
    await api.completed(rid)
    assert api.sim.requests[rid].succeeded


@pytest.mark.parametrize(
    ("model", "body", "loc"),
    [
        (IMAGE_TO_VIDEO, {**VALID[IMAGE_TO_VIDEO], "aspect_ratio": "16:9"}, ["body", "aspect_ratio"]),
        (
            TURBO_IMAGE_TO_VIDEO,
            {**VALID[TURBO_IMAGE_TO_VIDEO], "aspect_ratio": "1:1"},
            ["body", "aspect_ratio"],
        ),
        (PIKAFRAMES, {**VALID[PIKAFRAMES], "duration": 5}, ["body", "duration"]),
        (TEXT_TO_VIDEO, {**VALID[TEXT_TO_VIDEO], "motion": 2}, ["body", "motion"]),
        (
            PIKAFRAMES,
            {**VALID[PIKAFRAMES], "transitions": [{"duration": 5, "seconds": 5}]},
            ["body", "transitions", 0, "seconds"],
        ),
    ],
)
async def test_fields_a_model_does_not_declare_are_refused(
    api: Api, model: str, body: dict[str, Any], loc: list[Any]
) -> None:
    """An option the model would drop is a 422 naming it, so a client sending one is caught."""
    answer = await api.submit(model, body)
    assert answer.status == 422
    (error,) = answer.body["detail"]
    assert (error["loc"], error["type"], error["msg"]) == (
        loc,
        "extra_forbidden",
        "Extra inputs are not permitted",
    )
    assert not api.sim.requests


async def test_unknown_fields_are_dropped_by_knob() -> None:
    async with serve(fast_config(refuse_unknown_fields=False)) as api:
        body = {**VALID[IMAGE_TO_VIDEO], "aspect_ratio": "bogus"}
        rid = (await api.submit_ok(IMAGE_TO_VIDEO, body))["request_id"]
        assert "aspect_ratio" not in api.sim.requests[rid].arguments


@pytest.mark.parametrize("model", OLDER)
async def test_v21_and_turbo_take_an_integer_duration(api: Api, model: str) -> None:
    """Their schemas say only "integer" (default 5), not v2.2's 5 | 10."""
    rid = (await api.submit_ok(model, {**VALID[model], "duration": 10, "resolution": "1080p"}))["request_id"]
    assert api.sim.requests[rid].arguments["duration"] == 10
    bad = await api.submit(model, {**VALID[model], "duration": "10"})
    assert bad.body["detail"][0]["type"] == "int_type"


async def test_unknown_model_and_paths_are_404(api: Api) -> None:
    for path in ("/fal-ai/pika/v2.1/pikascenes", "/fal-ai/pika/v2/pikaswaps", "/fal-ai/flux/dev"):
        answer = await api.call("POST", path, body={"prompt": "x"})
        assert (answer.status, answer.body) == (404, {"detail": "Not Found"})
    assert (await api.call("GET", "/nothing/here")).status == 404


# ---------------------------------------------------------------------------------------------------
# Auth
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "status", "detail"),
    [
        (None, 401, "Missing authorization header"),
        ("Key nope:wrong", 401, ERR_NO_USER),
        ("Key sim-key-id:wrong", 401, ERR_NO_USER),
        ("Key justonepart", 401, ERR_KEY_FORMAT),
        ("Key :secret", 401, ERR_KEY_FORMAT),
        (f"Bearer {DEFAULT_KEY}", 401, ERR_KEY_FORMAT),
    ],
)
async def test_bad_keys_are_refused(api: Api, header: str | None, status: int, detail: str) -> None:
    headers = {"Authorization": header} if header is not None else {}
    async with api.http.post(f"{api.base}/{TEXT_TO_VIDEO}", json={"prompt": "x"}, headers=headers) as resp:
        assert (resp.status, await resp.json()) == (status, {"detail": detail})
    assert not api.sim.requests


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/{TEXT_TO_VIDEO}"),
        ("GET", "/fal-ai/pika/requests/{rid}/status"),
        ("GET", "/fal-ai/pika/requests/{rid}"),
        ("PUT", "/fal-ai/pika/requests/{rid}/cancel"),
        ("POST", "/storage/auth/token?storage_type=fal-cdn-v3"),
    ],
)
async def test_every_route_needs_the_key_and_a_locked_account_is_403(
    api: Api, method: str, path: str
) -> None:
    rid = (await api.submit_ok())["request_id"]
    url = api.base + path.format(rid=rid)
    async with api.http.request(method, url, json={"prompt": "x"}, headers=auth("a:b")) as resp:
        assert (resp.status, await resp.json()) == (401, {"detail": ERR_NO_USER})
    api.sim.update_faults({"locked": True})
    async with api.http.request(method, url, json={"prompt": "x"}, headers=auth()) as resp:
        assert (resp.status, await resp.json()) == (403, {"detail": ERR_LOCKED})


# ---------------------------------------------------------------------------------------------------
# Input validation (section 3.2, 422 bodies per section 1.8)
# ---------------------------------------------------------------------------------------------------

I2V_IMG = "https://example.com/i.png"
IMGS = [f"https://example.com/{i}.png" for i in range(6)]


@pytest.mark.parametrize(
    ("model", "body", "loc", "type_"),
    [
        (TEXT_TO_VIDEO, {}, ["body", "prompt"], "missing"),
        (TEXT_TO_VIDEO, {"prompt": 5}, ["body", "prompt"], "string_type"),
        (TEXT_TO_VIDEO, {"prompt": "p", "duration": 7}, ["body", "duration"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "duration": "5"}, ["body", "duration"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "duration": 5.0}, ["body", "duration"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "aspect_ratio": "21:9"}, ["body", "aspect_ratio"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "resolution": "4k"}, ["body", "resolution"], "enum"),
        (TEXT_TO_VIDEO, {"prompt": "p", "seed": "42"}, ["body", "seed"], "int_type"),
        (
            TEXT_TO_VIDEO,
            {"prompt": "p", "negative_prompt": ["x"]},
            ["body", "negative_prompt"],
            "string_type",
        ),
        (IMAGE_TO_VIDEO, {"prompt": "p"}, ["body", "image_url"], "missing"),
        (IMAGE_TO_VIDEO, {"image_url": I2V_IMG}, ["body", "prompt"], "missing"),
        (PIKASCENES, {"prompt": "p", "images": [{"image_url": I2V_IMG}]}, ["body", "image_urls"], "missing"),
        (PIKASCENES, {"prompt": "p", "image_urls": IMGS}, ["body", "image_urls"], "too_long"),
        (PIKASCENES, {"prompt": "p", "image_urls": []}, ["body", "image_urls"], "too_short"),
        (
            PIKASCENES,
            {"prompt": "p", "image_urls": IMGS[:2], "ingredients_mode": "wild"},
            ["body", "ingredients_mode"],
            "enum",
        ),
        (PIKASCENES, {"prompt": "p", "image_urls": I2V_IMG}, ["body", "image_urls"], "list_type"),
        (PIKAFRAMES, {"image_urls": IMGS[:1]}, ["body", "image_urls"], "too_short"),
        (PIKAFRAMES, {"image_urls": IMGS}, ["body", "image_urls"], "too_long"),
        (PIKAFRAMES, {"image_urls": [IMGS[0], 3]}, ["body", "image_urls", 1], "string_type"),
        (PIKAFRAMES, {"image_urls": IMGS[:3], "transitions": [{"duration": 5}]}, ["body"], "value_error"),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:3], "transitions": [{"duration": 20}, {"duration": 6}]},
            ["body"],
            "value_error",
        ),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:2], "transitions": [{"duration": 0}]},
            ["body", "transitions", 0, "duration"],
            "greater_than_equal",
        ),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:2], "transitions": [{"duration": 26}]},
            ["body", "transitions", 0, "duration"],
            "less_than_equal",
        ),
        (
            PIKAFRAMES,
            {"image_urls": IMGS[:2], "transitions": ["x"]},
            ["body", "transitions", 0],
            "model_type",
        ),
        (TEXT_TO_VIDEO, ["a list"], ["body"], "model_attributes_type"),
    ],
)
async def test_schema_violations_are_422(api: Api, model: str, body: Any, loc: list[Any], type_: str) -> None:
    answer = await api.submit(model, body)
    assert answer.status == 422, answer.body
    errors = answer.body["detail"]
    assert isinstance(errors, list) and errors
    first = errors[0]
    assert {"loc", "msg", "type", "url"} <= set(first)
    assert (first["loc"], first["type"]) == (loc, type_)
    assert first["url"] == f"https://docs.fal.ai/errors/#{type_}"
    assert not api.sim.requests


async def test_error_shapes_follow_pydantic(api: Api) -> None:
    answer = await api.submit(TEXT_TO_VIDEO, {"prompt": "p", "duration": 7, "seed": "x", "resolution": "8k"})
    errors = answer.body["detail"]
    assert [e["loc"][1] for e in errors] == ["resolution", "duration", "seed"]
    duration = errors[1]
    assert duration["msg"] == "Input should be 5 or 10"
    assert (duration["ctx"], duration["input"]) == ({"expected": "5 or 10"}, 7)
    assert errors[0]["msg"] == "Input should be '720p' or '1080p'"
    frames = await api.submit(PIKAFRAMES, {"image_urls": IMGS[:1]})
    assert frames.body["detail"][0]["ctx"] == {"field_type": "List", "min_length": 2, "actual_length": 1}
    missing = await api.submit(TEXT_TO_VIDEO, {"seed": 1})
    assert missing.body["detail"][0] == {
        "loc": ["body", "prompt"],
        "msg": "Field required",
        "type": "missing",
        "url": "https://docs.fal.ai/errors/#missing",
        "input": {"seed": 1},
    }


async def test_invalid_json_is_422(api: Api) -> None:
    answer = await api.call("POST", f"/{TEXT_TO_VIDEO}", raw=b"{nope")
    assert answer.status == 422
    assert answer.body["detail"][0]["type"] == "json_invalid"


async def test_frames_transitions_within_limits_are_accepted(api: Api) -> None:
    body = {"image_urls": IMGS[:3], "prompt": "p", "transitions": [{"duration": 10, "prompt": "a"}, {}]}
    rid = (await api.submit_ok(PIKAFRAMES, body))["request_id"]
    assert api.sim.requests[rid].arguments["transitions"] == [
        {"duration": 10, "prompt": "a"},
        {"duration": 5, "prompt": None},
    ]


async def test_string_durations_accepted_by_knob() -> None:
    async with serve(fast_config(accept_string_duration=True)) as api:
        rid = (await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "p", "duration": "10"}))["request_id"]
        assert api.sim.requests[rid].arguments["duration"] == 10


async def test_validation_deferred_to_run_time() -> None:
    async with serve(fast_config(validate_at_submit=False)) as api:
        rid = (await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "p", "duration": 7}))["request_id"]
        await api.completed(rid)
        status = await api.call("GET", f"/fal-ai/pika/requests/{rid}/status")
        assert (status.status, status.body["error_type"]) == (200, "enum")
        result = await api.call("GET", f"/fal-ai/pika/requests/{rid}")
        assert result.status == 422 and result.body["detail"][0]["loc"] == ["body", "duration"]


# ---------------------------------------------------------------------------------------------------
# Status, result, media
# ---------------------------------------------------------------------------------------------------


async def test_lifecycle_status_result_and_media(api: Api) -> None:
    api.sim.update_faults({"hold_jobs": True})
    sub = await api.submit_ok()
    rid = sub["request_id"]
    await api.sim.wait_for_status(rid, QueueStatus.IN_PROGRESS)
    running = await api.call("GET", sub["status_url"], params={"logs": "1"})
    assert running.status == 202
    assert running.body["status"] == "IN_PROGRESS"
    assert running.headers["x-fal-request-id"] == rid
    log = running.body["logs"][0]
    assert set(log) == {"message", "level", "source", "timestamp"}
    assert (log["level"], log["source"]) == ("INFO", "USER")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", log["timestamp"])
    quiet = await api.call("GET", sub["status_url"])
    assert quiet.body["logs"] is None
    early = await api.call("GET", sub["response_url"])
    assert (early.status, early.body) == (400, {"detail": "Request is still in progress"})
    api.sim.release(rid)
    await api.completed(rid)
    done = await api.call("GET", sub["status_url"], params={"logs": "true"})
    assert done.status == 200
    assert done.body["status"] == "COMPLETED"
    assert [entry["message"] for entry in done.body["logs"]][1:] == [
        "Generating video...",
        "Encoding video...",
    ]
    assert done.body["metrics"]["inference_time"] > 0
    assert "error" not in done.body
    assert (await api.call("GET", sub["status_url"])).body["logs"] is None
    result = await api.call("GET", sub["response_url"])
    assert result.status == 200
    video = result.body["video"]
    assert video["url"] == f"{api.base}/files/b/{rid}_output.mp4"
    assert (video["content_type"], video["file_name"], video["file_size"]) == (
        "video/mp4",
        "output.mp4",
        len(SAMPLE_MP4),
    )
    async with api.http.get(video["url"]) as resp:  # public: no auth
        assert resp.status == 200 and resp.content_type == "video/mp4"
        assert await resp.read() == SAMPLE_MP4
    api.sim.update_faults({"expire_media": True})
    async with api.http.get(video["url"]) as resp:
        assert resp.status == 404


async def test_unknown_request_ids(api: Api) -> None:
    rid = (await api.submit_ok())["request_id"]
    for path in (f"/fal-ai/pika/requests/{'0' * 8}/status", f"/fal-ai/pika/requests/{'0' * 8}"):
        answer = await api.call("GET", path)
        assert (answer.status, answer.body) == (404, {"detail": "Request not found"})
    # Other owner/app, or the sub-path form: not served.
    assert (await api.call("GET", f"/fal-ai/other/requests/{rid}/status")).status == 404
    assert (await api.call("GET", f"/{TEXT_TO_VIDEO}/requests/{rid}/status")).status == 404


async def test_queue_positions_with_concurrency_two(api: Api) -> None:
    api.sim.update_faults({"hold_jobs": True})
    first = await api.submit_ok()
    second = await api.submit_ok()
    for sub in (first, second):
        await api.sim.wait_for_status(sub["request_id"], QueueStatus.IN_PROGRESS)
    third = await api.submit_ok()
    fourth = await api.submit_ok()
    assert (third["queue_position"], fourth["queue_position"]) == (0, 1)
    await asyncio.sleep(0.05)  # the scheduler had every chance to (wrongly) start them
    third_status = await api.call("GET", third["status_url"])
    fourth_status = await api.call("GET", fourth["status_url"])
    assert (third_status.status, third_status.body["status"], third_status.body["queue_position"]) == (
        202,
        "IN_QUEUE",
        0,
    )
    assert fourth_status.body["queue_position"] == 1
    assert "logs" not in third_status.body
    api.sim.release(first["request_id"])
    await api.sim.wait_for_status(third["request_id"], QueueStatus.IN_PROGRESS)
    assert (await api.call("GET", fourth["status_url"])).body["queue_position"] == 0
    api.sim.update_faults({"hold_jobs": False})
    for sub in (second, third, fourth):
        await api.completed(sub["request_id"])


async def test_stuck_queued_low_priority_and_release(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    low = await api.submit_ok(headers={"X-Fal-Queue-Priority": "low"})
    normal = await api.submit_ok()
    assert normal["queue_position"] == 0
    assert api.sim.position(low["request_id"]) == 1
    await asyncio.sleep(0.05)
    assert api.sim.running_ids() == []
    api.sim.release(low["request_id"])
    await api.completed(low["request_id"])
    assert api.sim.requests[normal["request_id"]].status is QueueStatus.IN_QUEUE
    api.sim.update_faults({"stuck_queued": False})
    await api.completed(normal["request_id"])


async def test_max_queue_length_is_429(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    await api.submit_ok(params={"fal_max_queue_length": "1"})
    full = await api.submit(params={"fal_max_queue_length": "1"})
    assert (full.status, full.body) == (429, {"detail": "Queue is full"})
    other_endpoint = await api.submit(IMAGE_TO_VIDEO, params={"fal_max_queue_length": "1"})
    assert other_endpoint.status == 200
    bad = await api.submit(params={"fal_max_queue_length": "many"})
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["query", "fal_max_queue_length"]


async def test_start_timeout_expires_while_queued(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    sub = await api.submit_ok(headers={"X-Fal-Request-Timeout": "0.05"})
    await api.completed(sub["request_id"])
    status = await api.call("GET", sub["status_url"])
    assert (status.body["error"], status.body["error_type"]) == ("Request timed out", "request_timeout")
    result = await api.call("GET", sub["response_url"])
    assert (result.status, result.body) == (
        504,
        {"detail": "Request timed out", "error_type": "request_timeout"},
    )
    assert result.headers["X-Fal-Error-Type"] == "request_timeout"
    assert result.headers["X-Fal-Request-Timeout-Type"] == "user"


# ---------------------------------------------------------------------------------------------------
# Cancel
# ---------------------------------------------------------------------------------------------------


async def test_cancel_answers(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    sub = await api.submit_ok()
    answer = await api.call("PUT", sub["cancel_url"])
    assert (answer.status, answer.body) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = await api.call("GET", sub["status_url"])
    assert (status.status, status.body["status"], status.body["error_type"]) == (
        200,
        "COMPLETED",
        "client_cancelled",
    )
    result = await api.call("GET", sub["response_url"])
    assert result.status == 499 and result.body["error_type"] == "client_cancelled"
    again = await api.call("PUT", sub["cancel_url"])
    assert (again.status, again.body) == (400, {"status": "ALREADY_COMPLETED"})
    unknown = await api.call("PUT", "/fal-ai/pika/requests/nope/cancel")
    assert (unknown.status, unknown.body) == (404, {"status": "NOT_FOUND"})


async def test_cancel_running_request(api: Api) -> None:
    api.sim.update_faults({"hold_jobs": True})
    sub = await api.submit_ok()
    await api.sim.wait_for_status(sub["request_id"], QueueStatus.IN_PROGRESS)
    assert (await api.call("PUT", sub["cancel_url"])).status == 202
    await api.completed(sub["request_id"])
    assert api.sim.requests[sub["request_id"]].error_type == "client_cancelled"


async def test_cancelled_running_request_may_still_finish() -> None:
    async with serve(fast_config(cancel_running_finishes=True)) as api:
        api.sim.update_faults({"hold_jobs": True})
        sub = await api.submit_ok()
        await api.sim.wait_for_status(sub["request_id"], QueueStatus.IN_PROGRESS)
        assert (await api.call("PUT", sub["cancel_url"])).status == 202
        api.sim.release(sub["request_id"])
        await api.completed(sub["request_id"])
        assert api.sim.requests[sub["request_id"]].succeeded


# ---------------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------------


async def test_banned_word_fails_with_content_policy_violation(api: Api) -> None:
    sub = await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "Something FORBIDDEN here"})
    await api.completed(sub["request_id"])
    status = await api.call("GET", sub["status_url"])
    assert status.body["error_type"] == "content_policy_violation"
    assert status.body["metrics"] == {}
    result = await api.call("GET", sub["response_url"])
    assert result.status == 422
    detail = result.body["detail"][0]
    assert (detail["loc"], detail["type"], detail["input"]) == (
        ["body", "prompt"],
        "content_policy_violation",
        "Something FORBIDDEN here",
    )
    frames = await api.submit_ok(
        PIKAFRAMES, {"image_urls": IMGS[:2], "transitions": [{"prompt": "forbidden dance"}]}
    )
    await api.completed(frames["request_id"])
    result = await api.call("GET", frames["response_url"])
    assert result.body["detail"][0]["loc"] == ["body", "transitions", 0, "prompt"]


async def test_model_errors_only_at_the_result_when_configured() -> None:
    async with serve(fast_config(model_errors_on_status=False)) as api:
        sub = await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "forbidden"})
        await api.completed(sub["request_id"])
        status = await api.call("GET", sub["status_url"])
        assert "error" not in status.body and "error_type" not in status.body
        assert (await api.call("GET", sub["response_url"])).status == 422


async def test_result_error_knob_fails_only_the_result(api: Api) -> None:
    api.sim.update_faults({"result_error_next": 1})
    sub = await api.submit_ok()
    await api.completed(sub["request_id"])
    status = await api.call("GET", sub["status_url"])
    assert status.status == 200 and "error" not in status.body
    result = await api.call("GET", sub["response_url"])
    assert (result.status, result.body["detail"][0]["type"]) == (422, "no_media_generated")
    assert api.sim.faults.result_error_next == 0
    healthy = await api.submit_ok()
    await api.completed(healthy["request_id"])
    assert (await api.call("GET", healthy["response_url"])).status == 200


async def test_submit_failure_knob(api: Api) -> None:
    api.sim.update_faults({"submit_fail_next": 1})
    answer = await api.submit()
    assert (answer.status, answer.body) == (
        504,
        {"detail": "Request timed out", "error_type": "request_timeout"},
    )
    assert answer.headers["X-Fal-Error-Type"] == "request_timeout"
    assert "x-fal-request-id" in answer.headers
    assert not api.sim.requests
    api.sim.update_faults({"submit_fail_next": 1, "submit_fail_error_type": "runner_scheduling_failure"})
    assert (await api.submit()).status == 503
    assert (await api.submit()).status == 200


async def test_runner_failures_are_retried_inside_the_queue(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"fail_next": 2, "fail_error_type": "runner_disconnected"})
    sub = await api.submit_ok(webhook=receiver.url)
    await api.completed(sub["request_id"])
    req = api.sim.requests[sub["request_id"]]
    assert req.succeeded and req.attempts == 3
    assert req.gateway_request_id != req.id
    warnings = [entry for entry in req.logs if entry["level"] == "WARN"]
    assert len(warnings) == 2
    _headers, body = await receiver.next()
    payload = json.loads(body)
    assert (payload["request_id"], payload["gateway_request_id"]) == (req.id, req.gateway_request_id)


@pytest.mark.parametrize(
    ("config", "headers"),
    [({"max_attempts": 2}, {}), ({}, {"X-Fal-No-Retry": "1"})],
)
async def test_runner_failures_end_the_request_when_retries_run_out(
    config: dict[str, Any], headers: dict[str, str]
) -> None:
    async with serve(fast_config(**config)) as api:
        api.sim.update_faults({"fail_next": 5, "fail_error_type": "runner_server_error"})
        sub = await api.submit_ok(headers=headers)
        await api.completed(sub["request_id"])
        status = await api.call("GET", sub["status_url"])
        assert (status.body["error"], status.body["error_type"]) == (
            "Runner server error",
            "runner_server_error",
        )
        result = await api.call("GET", sub["response_url"])
        assert (result.status, result.body["error_type"]) == (500, "runner_server_error")
        assert result.headers["X-Fal-Error-Type"] == "runner_server_error"
        assert api.sim.requests[sub["request_id"]].attempts == (2 if config else 1)


async def test_model_error_injection_is_not_retried(api: Api) -> None:
    api.sim.update_faults({"fail_next": 1, "fail_error_type": "downstream_service_unavailable"})
    sub = await api.submit_ok()
    await api.completed(sub["request_id"])
    result = await api.call("GET", sub["response_url"])
    assert (result.status, result.body["detail"][0]["type"]) == (500, "downstream_service_unavailable")
    assert api.sim.requests[sub["request_id"]].attempts == 1


async def test_ingress_errors_have_no_request_id(api: Api) -> None:
    api.sim.update_faults({"ingress_error_next": 2, "ingress_error_status": 502})
    first = await api.submit()
    assert first.status == 502 and "nginx" in first.body
    assert "x-fal-request-id" not in {k.lower() for k in first.headers}
    assert (await api.call("GET", "/fal-ai/pika/requests/x/status")).status == 502
    assert (await api.submit()).status == 200


async def test_malformed_json_and_accept_then_delay_knobs(api: Api) -> None:
    api.sim.update_faults({"malformed_json": True})
    answer = await api.submit()
    assert answer.status == 200 and isinstance(answer.body, str)
    api.sim.update_faults({"malformed_json": False, "accept_then_delay": 0.4})
    timeout = aiohttp.ClientTimeout(total=0.2)
    with pytest.raises(TimeoutError):
        async with api.http.post(
            f"{api.base}/{TEXT_TO_VIDEO}", json=VALID[TEXT_TO_VIDEO], headers=auth(), timeout=timeout
        ):
            pass
    assert len(api.sim.requests) == 2  # accepted although the client gave up


async def test_finish_and_fail_helpers(api: Api) -> None:
    api.sim.update_faults({"stuck_queued": True})
    one = (await api.submit_ok())["request_id"]
    two = (await api.submit_ok())["request_id"]
    assert api.sim.finish_now(one) and not api.sim.finish_now(one)
    assert api.sim.requests[one].succeeded
    with pytest.raises(ValueError, match="unknown error type"):
        api.sim.fail_now(two, "bogus")
    assert api.sim.fail_now(two, "content_policy_violation")
    assert api.sim.requests[two].result_status == 422
    assert api.sim.waiting_ids() == []


# ---------------------------------------------------------------------------------------------------
# Images and storage
# ---------------------------------------------------------------------------------------------------


async def test_storage_upload_round_trip(api: Api) -> None:
    token = await api.call("POST", "/storage/auth/token", body={}, params={"storage_type": "fal-cdn-v3"})
    assert token.status == 200
    assert set(token.body) == {"token", "token_type", "base_url", "expires_at"}
    assert (token.body["token_type"], token.body["base_url"]) == ("Bearer", api.base)
    assert token.body["expires_at"].endswith("+00:00")
    headers = {
        "Authorization": f"Bearer {token.body['token']}",
        "Content-Type": "image/png",
        "X-Fal-File-Name": "my cat.png",
    }
    async with api.http.post(f"{api.base}/files/upload", data=PNG, headers=headers) as resp:
        assert resp.status == 200
        access_url = (await resp.json())["access_url"]
    assert re.fullmatch(re.escape(api.base) + r"/files/u/[0-9a-f]{16}_my_cat\.png", access_url)
    async with api.http.get(access_url) as resp:
        assert (resp.status, resp.content_type, await resp.read()) == (200, "image/png", PNG)
    # The uploaded URL works as a model input (the runner downloads it).
    sub = await api.submit_ok(IMAGE_TO_VIDEO, {"prompt": "p", "image_url": access_url})
    await api.completed(sub["request_id"])
    fetch = api.sim.requests[sub["request_id"]].image_fetches[0]
    assert (fetch.fetched, fetch.http_status, fetch.size) == (True, 200, len(PNG))
    recorded = [r for r in api.sim.recorded if r.path == "/files/upload"]
    assert recorded[0].size == len(PNG) and recorded[0].body is None


async def test_upload_needs_a_live_token(api: Api) -> None:
    for header in ({}, {"Authorization": "Bearer nope"}, auth()):
        async with api.http.post(f"{api.base}/files/upload", data=b"x", headers=header) as resp:
            assert resp.status == 401
    api.sim.update_config({"token_ttl": 0.0})
    token = await api.call("POST", "/storage/auth/token", body={})
    headers = {"Authorization": f"Bearer {token.body['token']}"}
    async with api.http.post(f"{api.base}/files/upload", data=b"x", headers=headers) as resp:
        assert resp.status == 401


async def test_input_images_are_downloaded_from_loopback_only(api: Api, receiver: Receiver) -> None:
    ok = await api.submit_ok(
        PIKASCENES, {"prompt": "p", "image_urls": [f"{receiver.root}/img/pic.png", IMGS[0]]}
    )
    await api.completed(ok["request_id"])
    fetches = api.sim.requests[ok["request_id"]].image_fetches
    assert [(f.fetched, f.http_status, f.content_type) for f in fetches] == [
        (True, 200, "image/png"),
        (False, None, None),
    ]
    assert api.sim.requests[ok["request_id"]].succeeded


@pytest.mark.parametrize(
    ("path", "type_"),
    [("/img/missing.png", "file_download_error"), ("/img/page.html", "image_load_error")],
)
async def test_bad_input_images_fail_the_request(api: Api, receiver: Receiver, path: str, type_: str) -> None:
    url = receiver.root + path
    sub = await api.submit_ok(PIKAFRAMES, {"image_urls": [IMGS[0], url]})
    await api.completed(sub["request_id"])
    result = await api.call("GET", sub["response_url"])
    assert result.status == 422
    assert result.body["detail"][0] == {
        "loc": ["body", "image_urls", 1],
        "msg": result.body["detail"][0]["msg"],
        "type": type_,
        "url": f"https://docs.fal.ai/errors/#{type_}",
        "input": url,
    }


async def test_unreachable_and_non_http_images(api: Api) -> None:
    dead = f"http://127.0.0.1:{free_port()}/x.png"
    for image in (dead, "not a url"):
        sub = await api.submit_ok(IMAGE_TO_VIDEO, {"prompt": "p", "image_url": image})
        await api.completed(sub["request_id"])
        assert api.sim.requests[sub["request_id"]].error_type == "file_download_error"


# ---------------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------------


async def test_jwks_is_the_contract_test_jwks(api: Api) -> None:
    assert DEFAULT_JWKS == CONTRACT_JWKS
    async with api.http.get(api.running.jwks_url) as resp:
        assert (resp.status, await resp.json()) == (200, CONTRACT_JWKS)
    api.sim.update_faults({"jwks_padded": True})
    async with api.http.get(api.running.jwks_url) as resp:
        assert (await resp.json())["keys"][0]["x"] == TEST_VECTOR_X + "="
    api.sim.update_faults({"jwks_status": 503})
    async with api.http.get(api.running.jwks_url) as resp:
        assert resp.status == 503


def test_sign_webhook_reproduces_the_contract_vector() -> None:
    signature = sign_webhook(
        default_signing_key(),
        "6f1c2a9e-3b7d-4e58-9c0a-1d2e3f4a5b6c",
        DEFAULT_USER_ID,
        1767225600,
        VECTOR_BODY,
    )
    assert signature == VECTOR_SIGNATURE
    parsed = json.loads(VECTOR_BODY)
    assert serialize_webhook_body(parsed) == VECTOR_BODY


async def test_webhook_is_signed_and_verifiable_with_the_served_jwks(api: Api, receiver: Receiver) -> None:
    sub = await api.submit_ok(webhook=receiver.url)
    headers, body = await receiver.next()
    payload = json.loads(body)
    assert body == serialize_webhook_body(payload)  # Python-style: sorted keys, ", " and ": "
    assert payload == {
        "error": None,
        "gateway_request_id": sub["request_id"],
        "payload": (await api.call("GET", sub["response_url"])).body,
        "request_id": sub["request_id"],
        "status": "OK",
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Fal-Webhook-Request-Id"] == sub["request_id"]
    assert headers["X-Fal-Webhook-User-Id"] == DEFAULT_USER_ID
    assert re.fullmatch(r"[0-9a-f]{128}", headers["X-Fal-Webhook-Signature"])
    async with api.http.get(api.running.jwks_url) as resp:
        jwks = await resp.json()
    key = jwk_public_key(jwks["keys"][0])
    key.verify(bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body))
    with pytest.raises(InvalidSignature):
        key.verify(bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body + b" "))
    record = api.sim.webhooks[0]
    assert (record.url, record.attempt, record.status, record.http_status, record.error) == (
        receiver.url,
        1,
        "OK",
        200,
        None,
    )
    assert record.body == body.decode()


async def test_error_webhook_body(api: Api, receiver: Receiver) -> None:
    sub = await api.submit_ok(TEXT_TO_VIDEO, {"prompt": "forbidden"}, webhook=receiver.url)
    _headers, body = await receiver.next()
    payload = json.loads(body)
    assert (payload["status"], payload["error"], payload["request_id"]) == (
        "ERROR",
        "Invalid status code: 422",
        sub["request_id"],
    )
    assert payload["payload"]["detail"][0]["type"] == "content_policy_violation"


async def test_webhook_retried_after_a_500(api: Api, receiver: Receiver) -> None:
    receiver.answers = [500, 503]
    await api.submit_ok(webhook=receiver.url)
    await receiver.next()
    attempts = await api.sim.wait_for_webhooks(3)
    assert [(w.attempt, w.http_status) for w in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert len(receiver.deliveries) == 3
    # Every attempt is signed afresh and verifies.
    key = jwk_public_key(DEFAULT_JWKS["keys"][0])
    for headers, body in receiver.deliveries:
        key.verify(bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body))


async def test_webhook_gives_up_on_a_dead_receiver() -> None:
    async with serve(fast_config(webhook_attempts=2)) as api:
        dead = f"http://127.0.0.1:{free_port()}/hook"
        await api.submit_ok(webhook=dead)
        attempts = await api.sim.wait_for_webhooks(2)
        assert [(w.attempt, w.http_status) for w in attempts] == [(1, None), (2, None)]
        assert all(w.error and "Client" in w.error for w in attempts)
        await asyncio.sleep(0.05)
        assert len(api.sim.webhooks) == 2


async def test_webhook_to_a_public_host_is_not_sent(api: Api) -> None:
    await api.submit_ok(webhook="https://bot.example/fal/webhook")
    (record,) = await api.sim.wait_for_webhooks(1)
    assert record.http_status is None and record.error is not None and "not loopback" in record.error
    await asyncio.sleep(0.05)
    assert len(api.sim.webhooks) == 1


async def test_bad_webhook_url_is_422(api: Api) -> None:
    answer = await api.submit(webhook="ftp://x")
    assert answer.status == 422 and answer.body["detail"][0]["loc"] == ["query", "fal_webhook"]


async def test_webhook_fault_knobs(api: Api, receiver: Receiver) -> None:
    api.sim.update_faults({"duplicate_webhooks": 1, "webhook_payload_error": True})
    sub = await api.submit_ok(webhook=receiver.url)
    first, second = await receiver.next(), await receiver.next()
    assert json.loads(first[1]) == json.loads(second[1])
    payload = json.loads(first[1])
    assert payload["payload"] is None and "not JSON serializable" in payload["payload_error"]
    assert payload["request_id"] == sub["request_id"]

    api.sim.update_faults(
        {"duplicate_webhooks": 0, "webhook_payload_error": False, "webhook_bad_signature": True}
    )
    await api.submit_ok(webhook=receiver.url)
    headers, body = await receiver.next()
    with pytest.raises(InvalidSignature):
        jwk_public_key(DEFAULT_JWKS["keys"][0]).verify(
            bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body)
        )

    api.sim.update_faults({"webhook_bad_signature": False, "webhook_timestamp_skew": -400})
    await api.submit_ok(webhook=receiver.url)
    headers, _body = await receiver.next()
    assert abs(int(headers["X-Fal-Webhook-Timestamp"]) - (time.time() - 400)) < 5

    api.sim.update_faults({"webhook_timestamp_skew": 0, "drop_webhooks": True})
    sent = len(receiver.deliveries)
    done = await api.submit_ok(webhook=receiver.url)
    await api.completed(done["request_id"])
    await asyncio.sleep(0.05)
    assert len(receiver.deliveries) == sent


async def test_signing_key_rotation(api: Api, receiver: Receiver) -> None:
    new_key = Ed25519PrivateKey.generate()
    api.sim.rotate_signing_key(new_key, keep_old=True)
    assert len(api.sim.jwks()["keys"]) == 2
    await api.submit_ok(webhook=receiver.url)
    headers, body = await receiver.next()
    new_key.public_key().verify(
        bytes.fromhex(headers["X-Fal-Webhook-Signature"]), signed_message(headers, body)
    )
    api.sim.rotate_signing_key(default_signing_key(), keep_old=False)
    assert api.sim.jwks() == CONTRACT_JWKS


# ---------------------------------------------------------------------------------------------------
# Control API, records, CLI
# ---------------------------------------------------------------------------------------------------


async def test_requests_are_recorded_without_authorization(api: Api) -> None:
    await api.submit_ok(params={"fal_max_queue_length": "9"})
    rec = api.sim.recorded[0]
    assert (rec.method, rec.path, rec.query, rec.status) == (
        "POST",
        f"/{TEXT_TO_VIDEO}",
        {"fal_max_queue_length": "9"},
        200,
    )
    assert rec.body == VALID[TEXT_TO_VIDEO]
    assert "authorization" not in {k.lower() for k in rec.headers}
    assert DEFAULT_KEY not in json.dumps([rec.headers, rec.body])


async def test_update_faults_and_config_reject_bad_input(api: Api) -> None:
    with pytest.raises(ValueError, match="unknown fault knob"):
        api.sim.update_faults({"bogus": True})
    for name, value in (
        ("locked", 1),
        ("fail_next", -1),
        ("fail_error_type", "nope"),
        ("jwks_status", 200),
        ("delay_seconds", "x"),
    ):
        with pytest.raises(ValueError, match="bad value"):
            api.sim.update_faults({name: value})
    with pytest.raises(ValueError, match="unknown config field"):
        api.sim.update_config({"signing_key": None})
    api.sim.update_config({"concurrency": 1, "banned_words": ["nope"], "scenes_images": [2, 5]})
    assert (api.sim.config.concurrency, api.sim.config.banned_words, api.sim.config.scenes_images) == (
        1,
        ("nope",),
        (2, 5),
    )


async def test_control_api(api: Api, receiver: Receiver) -> None:
    root = api.base
    async with api.http.post(f"{root}/_sim/faults", json={"stuck_queued": True}) as resp:
        assert resp.status == 200 and (await resp.json())["stuck_queued"] is True
    async with api.http.post(f"{root}/_sim/faults", json={"bogus": 1}) as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/config", json={"concurrency": 3}) as resp:
        assert resp.status == 200 and (await resp.json())["concurrency"] == 3
    async with api.http.get(f"{root}/_sim/config") as resp:
        assert "signing_key" not in await resp.json()
    first = (await api.submit_ok(webhook=receiver.url))["request_id"]
    second = (await api.submit_ok())["request_id"]
    third = (await api.submit_ok())["request_id"]
    async with api.http.get(f"{root}/_sim/jobs") as resp:
        jobs = await resp.json()
        assert [(j["request_id"], j["queue_position"]) for j in jobs] == [(first, 0), (second, 1), (third, 2)]
    async with api.http.post(f"{root}/_sim/jobs/{first}/finish") as resp:
        assert resp.status == 200 and (await resp.json())["result_status"] == 200
    async with api.http.post(f"{root}/_sim/jobs/{first}/finish") as resp:
        assert resp.status == 409
    async with api.http.post(
        f"{root}/_sim/jobs/{second}/fail", json={"error_type": "generation_timeout"}
    ) as resp:
        assert resp.status == 200 and (await resp.json())["result_status"] == 504
    async with api.http.post(f"{root}/_sim/jobs/{third}/fail", json={"error_type": "nope"}) as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/jobs/{third}/explode") as resp:
        assert resp.status == 400
    async with api.http.post(f"{root}/_sim/jobs/nope/finish") as resp:
        assert resp.status == 404
    async with api.http.post(f"{root}/_sim/jobs/{third}/release") as resp:
        assert resp.status == 200
    await api.completed(third)
    async with api.http.post(f"{root}/_sim/release") as resp:
        assert resp.status == 200
    await receiver.next()
    async with api.http.get(f"{root}/_sim/webhooks") as resp:
        assert (await resp.json())[0]["request_id"] == first
    async with api.http.get(f"{root}/_sim/requests") as resp:
        assert all(not r["path"].startswith("/_sim/") for r in await resp.json())
    async with api.http.get(f"{root}/_sim/files") as resp:
        assert {f["path"] for f in await resp.json()} == {
            f"/files/b/{first}_output.mp4",
            f"/files/b/{third}_output.mp4",
        }
    async with api.http.get(f"{root}/_sim/faults") as resp:
        assert (await resp.json())["stuck_queued"] is True
    async with api.http.post(f"{root}/_sim/rotate-key", json={"seed": "00" * 32, "keep_old": False}) as resp:
        jwks = await resp.json()
        assert len(jwks["keys"]) == 1 and jwks != CONTRACT_JWKS
    async with api.http.post(f"{root}/_sim/rotate-key", json={"seed": "zz"}) as resp:
        assert resp.status == 400


async def test_cli_prints_base_url_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.fal_sim",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", line)
        async with aiohttp.ClientSession() as http:
            async with http.get(line + "/fal-ai/pika/requests/x/status", headers=auth()) as resp:
                assert (resp.status, await resp.json()) == (404, {"detail": "Request not found"})
            async with http.get(line + "/.well-known/jwks.json") as resp:
                assert await resp.json() == CONTRACT_JWKS
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 5) == 0


async def test_make_app_in_process_with_aiohttp_client(aiohttp_client: AiohttpClient) -> None:
    sim = FalSimulator(fast_config())
    client = await aiohttp_client(sim.make_app())
    resp = await client.post(f"/{TEXT_TO_VIDEO}", json=VALID[TEXT_TO_VIDEO], headers=auth())
    assert resp.status == 200
    body = await resp.json()
    # Without public_base_url the URLs are built from the submit request's origin.
    assert body["status_url"].startswith(f"http://127.0.0.1:{client.port}/fal-ai/pika/requests/")
    req = await sim.wait_for_status(body["request_id"], QueueStatus.COMPLETED, within=3.0)
    assert req.succeeded
