"""MeteredProvider: any Provider, with each upstream call counted in Metrics (status and error kind)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from bot.domain.jobs import JobRequest
from bot.observability.metrics import Metrics
from bot.providers.base import (
    Capabilities,
    ErrorKind,
    Provider,
    ProviderHealth,
    SubmitRequest,
    UpstreamError,
    UpstreamJob,
    executing_lister,
)

T = TypeVar("T")


class MeteredProvider:
    """Wraps a Provider transparently: same attributes and answers, same exceptions, plus counters."""

    def __init__(self, inner: Provider, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def inner(self) -> Provider:
        """The wrapped provider."""
        return self._inner

    # Properties with setters: the Provider protocol declares these as plain (settable) attributes.
    @property
    def name(self) -> str:
        """The wrapped provider's name."""
        return self._inner.name

    @name.setter
    def name(self, value: str) -> None:
        self._inner.name = value

    @property
    def display_name(self) -> str:
        """How members and admins see the upstream named."""
        return self._inner.display_name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._inner.display_name = value

    @property
    def retries_upstream(self) -> bool:
        """Whether a Retry is sent as the upstream's own retry."""
        return self._inner.retries_upstream

    @retries_upstream.setter
    def retries_upstream(self, value: bool) -> None:
        self._inner.retries_upstream = value

    @property
    def capabilities(self) -> Capabilities:
        """What the wrapped provider can do."""
        return self._inner.capabilities

    @capabilities.setter
    def capabilities(self, value: Capabilities) -> None:
        self._inner.capabilities = value

    @property
    def health(self) -> ProviderHealth:
        """The wrapped provider's health (read live: it may be replaced)."""
        return self._inner.health

    @health.setter
    def health(self, value: ProviderHealth) -> None:
        self._inner.health = value

    def check(self, request: JobRequest) -> None:
        """Validate locally (no upstream call, so not counted)."""
        self._inner.check(request)

    async def submit(self, request: SubmitRequest) -> UpstreamJob:
        """Start an upstream job; counted as operation "submit"."""
        return await self._metered("submit", self._inner.submit(request))

    async def fetch(self, upstream_id: str, handle: str | None = None) -> UpstreamJob:
        """The upstream job's current state; counted as operation "fetch"."""
        return await self._metered("fetch", self._inner.fetch(upstream_id, handle))

    async def cancel(self, upstream_id: str, handle: str | None = None) -> None:
        """Ask upstream to stop a job; counted as operation "cancel"."""
        await self._metered("cancel", self._inner.cancel(upstream_id, handle))

    async def find_by_ref(self, reply_ref: str) -> UpstreamJob | None:
        """Find a job by our reference; counted once as operation "find_by_ref"."""
        return await self._metered("find_by_ref", self._inner.find_by_ref(reply_ref))

    async def executing(self) -> tuple[str, ...]:
        """What upstream still runs, for a provider declaring `lists_executing`; counted as "executing".

        Defined here, not left to __getattr__, so isinstance(…, ListsExecuting) does not depend on
        how a Python version inspects protocols; the capability flag says whether it may be called.
        """
        lister = executing_lister(self._inner)
        if lister is None:
            raise UpstreamError(ErrorKind.INVALID_REQUEST, f"{self._inner.name} cannot list executing jobs")
        return await self._metered("executing", lister.executing())

    def price_usd(self, request: JobRequest) -> float | None:
        """Delegated."""
        return self._inner.price_usd(request)

    async def authenticate_callback(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Delegated, not counted (no upstream request unless the provider fetches keys)."""
        return await self._inner.authenticate_callback(headers, body)

    def callback_upstream_id(self, body: Mapping[str, object]) -> str | None:
        """Delegated."""
        return self._inner.callback_upstream_id(body)

    async def close(self) -> None:
        """Release the wrapped provider's connections."""
        await self._inner.close()

    def __getattr__(self, name: str) -> Any:
        """Anything else (useapi's executing(), account listings) comes from the wrapped provider;
        its public coroutine methods are counted too, under their own name."""
        if name == "_inner":
            # Not set yet (copy, unpickling): looking it up through __getattr__ again would recurse.
            raise AttributeError(name)
        attribute = getattr(self._inner, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(attribute):
            return attribute
        method: Callable[..., Awaitable[Any]] = attribute

        @functools.wraps(method)
        async def metered(*args: Any, **kwargs: Any) -> Any:
            return await self._metered(name, method(*args, **kwargs))

        return metered

    def __repr__(self) -> str:
        return f"MeteredProvider({self._inner!r})"

    async def _metered(self, operation: str, call: Awaitable[T]) -> T:
        provider = self._inner.name
        try:
            result = await call
        except UpstreamError as error:
            status = "none" if error.status is None else str(error.status)
            self._metrics.upstream_request(provider, operation, status)
            self._metrics.upstream_error(provider, operation, error.kind.value)
            raise
        except Exception:
            # A provider should only raise UpstreamError; anything else is a bug worth seeing.
            self._metrics.upstream_request(provider, operation, "exception")
            self._metrics.upstream_error(provider, operation, "unexpected")
            raise
        self._metrics.upstream_request(provider, operation, "ok")
        return result
