"""The fal.ai simulator's storage uploads and the input images its runner downloads."""

from __future__ import annotations

import re

import pytest

from sandbox.fal_sim import IMAGE_TO_VIDEO, PIKAFRAMES, PIKASCENES
from tests.sandbox.fal_sim.helpers import IMGS, PNG, Api, Receiver, auth, free_port


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
