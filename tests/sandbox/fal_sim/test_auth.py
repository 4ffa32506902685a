"""The fal.ai simulator's key checks: bad keys are 401, a locked account is 403, on every route."""

from __future__ import annotations

import pytest

from sandbox.fal_sim import DEFAULT_KEY, ERR_KEY_FORMAT, ERR_LOCKED, ERR_NO_USER, TEXT_TO_VIDEO
from tests.sandbox.fal_sim.helpers import Api, auth


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
