"""Each stand-in's command line: it prints where it listens, serves, and exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest


@pytest.mark.parametrize(
    ("module", "probe"),
    [
        ("sandbox.useapi_sim", "{url}pika/jobs"),
        ("sandbox.apiglue_sim", "{url}/web/jobs/x"),
        ("sandbox.fal_sim", "{url}/.well-known/jwks.json"),
        ("sandbox.discord_emu", "{url}/gateway"),
    ],
)
async def test_command_line_serves_until_sigterm(module: str, probe: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        url = line if line.startswith("http") else line.split('"api_base_url": "')[1].split('"')[0]
        async with aiohttp.ClientSession() as session, session.get(probe.format(url=url)) as response:
            assert response.status < 500  # it answers (an auth refusal is an answer)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
