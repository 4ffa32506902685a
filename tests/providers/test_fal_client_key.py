"""The fal client keeps its key safe: only to the configured origin, scrubbed from echoes, repr and logs."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from bot.providers.fal.client import FalClient
from sandbox.fal_sim import DEFAULT_KEY, TEXT_TO_VIDEO
from tests.helpers.fal_client import PNG, SECRET, T2V, Env, env, fal, raises

__all__ = ["env", "fal"]  # fixtures shared from the helpers module


# ---------------------------------------------------------------------------------------------------
# Keeping the key safe
# ---------------------------------------------------------------------------------------------------


async def test_key_only_goes_to_the_configured_origin(env: Env, fal: FalClient) -> None:
    before = len(env.sim.recorded)
    for url in ("http://127.0.0.2:1/fal-ai/pika/requests/x/status", "/fal-ai/pika/requests/x", "nonsense"):
        err = await raises(fal.status(url))
        assert err.status is None and "refusing" in err.message
    await raises(fal.cancel("https://queue.fal.run/fal-ai/pika/requests/x/cancel"))
    await raises(fal.result("http://localhost:1/fal-ai/pika/requests/x"))
    assert len(env.sim.recorded) == before


async def test_echoed_secrets_are_scrubbed(env: Env) -> None:
    async def echo(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        body = {"detail": [{"loc": ["header", header], "msg": f"bad {header}", "type": "value_error"}]}
        if request.method == "PUT":
            return web.json_response({"detail": f"nope {header}", "error_type": "bad_request"}, status=400)
        return web.json_response(body, status=422)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        fal = FalClient(base, DEFAULT_KEY, env.http)
        err = await raises(fal.submit(TEXT_TO_VIDEO, T2V))
        assert err.details[0].msg == "bad Key [redacted]"
        assert err.details[0].loc == ("header", "Key [redacted]")
        put = await raises(fal.cancel(f"{base}/fal-ai/pika/requests/x/cancel"))
        assert (put.message, put.error_type) == ("nope Key [redacted]", "bad_request")
    finally:
        await runner.cleanup()


async def test_key_never_in_repr_or_logs(env: Env, fal: FalClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert DEFAULT_KEY not in repr(fal) and SECRET not in repr(fal)
    sub = await fal.submit(TEXT_TO_VIDEO, T2V, "http://127.0.0.1:9/hook/s3cr3t")
    await fal.status(sub.status_url)
    await fal.upload(PNG, "image/png", "cat.png")
    text = caplog.text
    assert "fal POST" in text
    assert SECRET not in text and "s3cr3t" not in text
