"""Rate limits: the global bucket, the per-channel message-create bucket, and injected 429s."""

from __future__ import annotations

import math

from sandbox import discord_payloads as P
from sandbox.discord_emu.errors import DiscordHTTPError
from sandbox.discord_emu.records import EmuChannel
from sandbox.discord_emu.state import EmulatorState
from sandbox.discord_emu.values import now_wall


class RateLimitsLayer(EmulatorState):
    """Discord's 429 answers and rate-limit headers."""

    def _rate_headers(self, limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": f"{now_wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _too_many(
        self, retry_after: float, headers: dict[str, str], *, is_global: bool, scope: str
    ) -> DiscordHTTPError:
        headers = {
            **headers,
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
            # discord.py only retries a 429 carrying Via (else it assumes a Cloudflare ban).
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return DiscordHTTPError(
            429, 0, "", body=P.rate_limit_payload(retry_after, is_global=is_global), headers=headers
        )

    def _check_global_rate(self) -> None:
        if self.faults.global_429_next > 0:
            self.faults.global_429_next -= 1
            raise self._too_many(self.faults.retry_after, {}, is_global=True, scope="global")
        now = self.now()
        window = self._global_window
        if now - window.start >= 1.0:
            window.start, window.count = now, 0
        if window.count >= self.config.global_rate:
            raise self._too_many(window.start + 1.0 - now, {}, is_global=True, scope="global")
        window.count += 1

    def _channel_rate(self, channel: EmuChannel) -> dict[str, str]:
        """Per-channel message-create bucket; returns the headers for a successful answer."""
        limit, per = self.config.channel_rate
        bucket = "emu-channel-message-create"
        now = self.now()
        window = self._channel_windows[channel.id]
        if now - window.start >= per:
            window.start, window.count = now, 0
        reset_after = max(window.start + per - now, 0.001)
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            headers = self._rate_headers(limit, 0, self.faults.retry_after, bucket)
            raise self._too_many(self.faults.retry_after, headers, is_global=False, scope="user")
        if window.count >= limit:
            headers = self._rate_headers(limit, 0, reset_after, bucket)
            raise self._too_many(reset_after, headers, is_global=False, scope="user")
        window.count += 1
        return self._rate_headers(limit, limit - window.count, reset_after, bucket)
