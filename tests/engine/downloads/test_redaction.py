"""Redaction: signed query strings never leak from download URLs, and saved file names are safe."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.engine.download_policy import DownloadErrorKind, redact_url, safe_filename
from tests.helpers.downloads import SIGNED_QUERY, Factory, Srv, expect

# --- redaction -------------------------------------------------------------------------------


def test_redact_url() -> None:
    signed = "https://cdn.discordapp.com/attachments/1/2/clip_seed42.mp4" + SIGNED_QUERY + "#frag"
    assert redact_url(signed) == "https://cdn.discordapp.com/attachments/1/2/clip_seed42.mp4"
    assert redact_url("http://user:pw@127.0.0.1:8080/a?b=c") == "http://127.0.0.1:8080/a"
    assert redact_url("http://[::1]:9/x") == "http://[::1]:9/x"
    assert redact_url("http://127.0.0.1:99999/") == "<invalid URL>"


async def test_signed_query_never_leaks(
    srv: Srv, make: Factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.engine.downloads")
    d = make("127.0.0.1")
    errors = [
        await expect(
            DownloadErrorKind.HTTP_ERROR, d.download(srv.url("/status/404" + SIGNED_QUERY), tmp_path, "v")
        ),
        await expect(
            DownloadErrorKind.NOT_ALLOWED, d.download("http://evil.test/x" + SIGNED_QUERY, tmp_path, "v")
        ),
        await expect(
            DownloadErrorKind.NOT_ALLOWED,
            d.download(
                srv.url("/redirect?to=http://evil.test/y" + SIGNED_QUERY.replace("&", "%26")), tmp_path, "v"
            ),
        ),
    ]
    await d.download(srv.url("/video.mp4" + SIGNED_QUERY), tmp_path, "v")
    for err in errors:
        assert "secretsignature" not in str(err)
        assert err.__cause__ is None
    assert caplog.records, "expected the downloader to log"
    assert "secretsignature" not in caplog.text


def test_safe_filename() -> None:
    assert safe_filename("clip_seed42.mp4") == "clip_seed42.mp4"
    assert safe_filename("../../etc/passwd") == "passwd.mp4"
    assert safe_filename("..\\..\\win.ini") == "win.ini.mp4"
    assert safe_filename("smiling and blinking!.MP4") == "smiling_and_blinking.mp4"
    assert safe_filename("...") == "video.mp4"
    assert safe_filename("") == "video.mp4"
    long = safe_filename("a" * 500 + ".mp4")
    assert len(long) == 80
    assert long.endswith(".mp4")
