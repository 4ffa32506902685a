"""The SSRF guard for video downloads: which hosts and resolved addresses may be connected to.

`GuardedResolver` checks at connect time, so the address actually connected to is the one checked
(DNS rebinding); `is_public_address` and `normalise_host` are shared with the URL checks in
`bot.engine.downloads`, which does the streaming download itself.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

__all__ = [
    "BlockedAddressError",
    "GuardedResolver",
    "IPAddress",
    "ip_literal",
    "is_public_address",
    "normalise_host",
]

_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def normalise_host(host: str) -> str:
    """Canonical form used for allowlist comparison: lower-case IDNA, no trailing dot, bare IPs."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    try:
        return ipaddress.ip_address(h).compressed
    except ValueError:
        pass
    h = h.rstrip(".")
    if not h or any(c in h for c in "/?#@:[]\\ %") or any(ord(c) < 0x21 or ord(c) == 0x7F for c in h):
        raise ValueError(f"not a valid host name: {host!r}")
    # yarl applies the same IDNA/lower-casing as it does to request URLs, so both sides match.
    raw = URL.build(scheme="http", host=h).raw_host
    if raw is None:  # pragma: no cover - build() with a host always has one
        raise ValueError(f"not a valid host name: {host!r}")
    return raw.rstrip(".")


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # IPv6 forms that carry (and may be routed to) an IPv4 address: check that address too.
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public_address(addr: IPAddress) -> bool:
    """True if ``addr`` is globally routable unicast (not private, loopback, link-local, ...)."""
    candidates: list[IPAddress] = [addr]
    if isinstance(addr, ipaddress.IPv6Address) and (v4 := _embedded_ipv4(addr)) is not None:
        candidates.append(v4)
    for a in candidates:
        if not a.is_global or (
            a.is_private
            or a.is_loopback
            or a.is_link_local
            or a.is_multicast
            or a.is_reserved
            or a.is_unspecified
        ):
            return False
        if isinstance(a, ipaddress.IPv4Address) and a in _CGNAT:
            return False
    return True


def _is_loopback(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def _is_loopback_name(host: str) -> bool:
    # RFC 6761: "localhost" and "*.localhost" always mean this machine.
    return host == "localhost" or host.endswith(".localhost")


class BlockedAddressError(OSError):
    """Raised inside the connector; aiohttp wraps it in ClientConnectorDNSError."""


class GuardedResolver(AbstractResolver):
    """Resolver that refuses hosts off the allowlist and non-public resolved addresses.

    Checking here, at connect time, defeats DNS rebinding: the address actually connected to is
    the one checked. A listed loopback name ("localhost") may resolve to loopback, nothing else.
    """

    def __init__(
        self, allowed_hosts: frozenset[str], inner: AbstractResolver, *, close_inner: bool = True
    ) -> None:
        self._allowed = allowed_hosts
        self._inner = inner
        self._close_inner = close_inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            name = normalise_host(host)
        except ValueError:
            raise BlockedAddressError(f"invalid host {host!r}") from None
        if name not in self._allowed:
            raise BlockedAddressError(f"host {name} is not allowed")
        results = await self._inner.resolve(host, port, family)
        if not results:
            raise BlockedAddressError(f"host {name} resolved to no address")
        for result in results:
            # Strip an IPv6 zone id ("fe80::1%eth0") before parsing; link-local is refused anyway.
            addr = ip_literal(result["host"].split("%", 1)[0])
            if addr is None:
                raise BlockedAddressError(f"host {name} resolved to a non-IP {result['host']!r}")
            if is_public_address(addr):
                continue
            if _is_loopback_name(name) and _is_loopback(addr):
                continue
            # Refuse the whole answer rather than filtering: a mixed answer is itself suspicious.
            raise BlockedAddressError(f"host {name} resolved to non-public address {addr}")
        return results

    async def close(self) -> None:
        if self._close_inner:
            await self._inner.close()
