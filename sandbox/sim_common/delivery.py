"""One outbound POST of a simulator (a webhook or callback attempt), reduced to what gets recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import ClientError, ClientSession, ClientTimeout


async def post_once(
    session: ClientSession | None,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    client_timeout: ClientTimeout | None = None,
    allow_redirects: bool = True,
) -> tuple[int | None, str | None]:
    """POST `body` and read the answer: ``(http_status, None)``, or ``(None, error)`` when it failed.

    Without `client_timeout` the session's own applies (aiohttp would read ``None`` as no timeout at all).
    """
    http_status: int | None = None
    error: str | None = None
    try:
        if session is None:
            raise RuntimeError("simulator app is not running")
        async with session.post(
            url,
            data=body,
            headers=headers,
            timeout=client_timeout or session.timeout,
            allow_redirects=allow_redirects,
        ) as resp:
            await resp.read()
            http_status = resp.status
    except (ClientError, TimeoutError, RuntimeError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return http_status, error


async def deliver_in_order(
    lock: asyncio.Lock, delay: float, copies: int, post: Callable[[], Awaitable[None]]
) -> None:
    """After `delay` seconds, run `post` `copies` times while holding the job's `lock`.

    The lock keeps one job's deliveries in the order its states happened, duplicates included.
    """
    if delay > 0:
        await asyncio.sleep(delay)
    async with lock:
        for _ in range(copies):
            await post()
