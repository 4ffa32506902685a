"""The HTTP exchange under FalClient: the key goes only to fal's own origins and is scrubbed from
every text, answers are capped, and transport failures become ``FalError``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Final

import aiohttp
from yarl import URL

from bot.providers.fal.answers import Answer, FalError

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES: Final = 8 * 1024 * 1024
_REDACTED: Final = "[redacted]"


def origin_url(value: str, name: str) -> str:
    """``value`` as an absolute http(s) URL without a trailing slash; ValueError naming ``name`` if not."""
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{name} must be an absolute http(s) URL")
    return str(url).rstrip("/")


class FalTransport:
    """The key, the session and the timeouts of one FalClient; every request goes through ``call``."""

    def __init__(
        self,
        key: str,
        session: aiohttp.ClientSession | None,
        *,
        origin: str,
        connect_timeout: float,
        request_timeout: float,
    ) -> None:
        """With no ``session`` one is made on first use and closed by ``close``; ``origin`` is the queue's."""
        self._key = key
        secret = key.partition(":")[2]
        self._secrets = tuple(s for s in (key, secret) if len(s) >= 4)
        self._session = session
        self._owns_session = session is None
        self.origin = origin
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout

    async def close(self) -> None:
        """Close the session if this transport made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def scrub(self, text: str) -> str:
        """``text`` with the key (and its secret half) replaced, fit for errors and logs."""
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def check_origin(self, url: str) -> None:
        """Send the key only where it belongs: the queue URLs must be on the queue's origin."""
        try:
            target = URL(url)
            ok = target.is_absolute() and target.origin() == URL(self.origin).origin()
        except ValueError:
            ok = False
        if not ok:
            raise FalError("refusing to send the fal key to a URL outside the configured queue origin")

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise FalError("the aiohttp session given to FalClient is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        auth: bool = True,
        submit: bool = False,
        total_timeout: float | None = None,
    ) -> Answer:
        """One HTTP exchange; transport failures become ``FalError`` (``ambiguous`` on a sent submit)."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        if auth:
            all_headers["Authorization"] = f"Key {self._key}"
        client_timeout = aiohttp.ClientTimeout(
            total=total_timeout if total_timeout is not None else self.request_timeout,
            connect=self.connect_timeout,
        )
        where = str(URL(url).with_query(None))
        session = self._get_session()
        try:
            async with session.request(
                method,
                url,
                params=params,
                headers=all_headers,
                data=data,
                timeout=client_timeout,
                allow_redirects=False,
            ) as resp:
                raw = await self._read_limited(resp)
                log.debug("fal %s %s -> %s", method, where, resp.status)
                return Answer(resp.status, resp.headers, raw)
        except asyncio.CancelledError:
            raise
        except aiohttp.ConnectionTimeoutError:
            raise FalError(f"connect to {URL(url).host} timed out", retryable=True) from None
        except aiohttp.ClientConnectorError as exc:
            raise FalError(
                f"cannot connect to {URL(url).host} ({type(exc).__name__})", retryable=True
            ) from None
        except TimeoutError:
            raise FalError(
                f"no answer from {URL(url).host} in time", retryable=True, ambiguous=submit
            ) from None
        except aiohttp.ClientError as exc:
            raise FalError(
                f"connection to {URL(url).host} failed ({type(exc).__name__})",
                retryable=True,
                ambiguous=submit,
            ) from None

    @staticmethod
    async def _read_limited(resp: aiohttp.ClientResponse) -> bytes:
        if resp.content_length is not None and resp.content_length > MAX_ANSWER_BYTES:
            raise FalError(f"answer too large ({resp.content_length} bytes)", status=resp.status)
        data = bytearray()
        async for chunk in resp.content.iter_chunked(65536):
            data.extend(chunk)
            if len(data) > MAX_ANSWER_BYTES:
                raise FalError("answer too large", status=resp.status)
        return bytes(data)
