"""Assemble the engine from validated settings, and take it apart again in reverse order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from bot.config.settings import Settings
from bot.domain.jobs import JobKind
from bot.domain.limits import MemberLimits
from bot.domain.retry import RetryPolicy
from bot.engine.delivery import Delivery
from bot.engine.downloads import DownloadPolicy, VideoDownloader
from bot.engine.scheduler import Scheduler
from bot.engine.service import EngineSettings, JobService, RecoveryReport
from bot.observability.metrics import Metrics
from bot.providers.apiglue import ApiGlueProvider
from bot.providers.base import Account, Provider
from bot.providers.fal.pika import FalPikaProvider
from bot.providers.fal.prices import FalPrices
from bot.providers.metered import MeteredProvider
from bot.providers.registry import route_for
from bot.providers.useapi import UseapiPikaProvider
from bot.store import Database, JobStore
from bot.store.settings_store import SettingsStore
from bot.web.webhooks import WebhookServer

log = logging.getLogger(__name__)

# With no [[useapi.accounts]], useapi.net picks among its own accounts; its documented default
# maxJobs is 10, which is the most we let run at once.
DEFAULT_ACCOUNT = Account(name="default", channel=None, max_jobs=10)


def accounts_from(settings: Settings) -> list[Account]:
    """The upstream accounts of every keyed provider (useapi.net's own, or its single implicit one)."""
    accounts: list[Account] = []
    if settings.useapi.token is not None:
        configured = [Account(a.channel, a.channel, a.max_jobs) for a in settings.useapi.accounts]
        accounts.extend(configured or [DEFAULT_ACCOUNT])
    if settings.apiglue.enabled:
        accounts.append(Account("apiglue", None, settings.apiglue.max_jobs, provider=ApiGlueProvider.name))
    if settings.fal.enabled:
        # fal queues excess requests itself; our cap keeps the queue (and its positions) ours.
        accounts.append(Account("fal", None, settings.fal.max_jobs, provider=FalPikaProvider.name))
    return accounts


def providers_from(settings: Settings) -> dict[str, Provider]:
    """One client per provider that has a key; none of them is required on its own."""
    providers: dict[str, Provider] = {}
    if settings.useapi.token is not None:
        providers[UseapiPikaProvider.name] = UseapiPikaProvider(
            settings.useapi.base_url, settings.useapi.token.get_secret_value()
        )
    if settings.apiglue.token is not None:
        providers[ApiGlueProvider.name] = ApiGlueProvider(
            settings.apiglue.base_url, settings.apiglue.token.get_secret_value()
        )
    fal = settings.fal
    if fal.key is not None:
        providers[FalPikaProvider.name] = FalPikaProvider(
            fal.base_url,
            fal.key.get_secret_value(),
            rest_base_url=fal.rest_base_url,
            jwks_url=fal.jwks_url,
            prices=FalPrices(
                clip_720p_5s=fal.price_720p_5s,
                clip_1080p_5s=fal.price_1080p_5s,
                frames_720p_per_second=fal.frames_720p_per_second,
                frames_1080p_per_second=fal.frames_1080p_per_second,
            ),
        )
    return providers


#: The commands `[routing]` chooses a provider for.
ROUTED_KINDS: Final = (JobKind.CREATE, JobKind.ANIMATE, JobKind.SCENES, JobKind.FRAMES)


def routes_from(settings: Settings) -> dict[JobKind, str]:
    """The provider each routed command goes to, with `auto` resolved against the keys that are set."""
    keyed = settings.keyed_providers
    return {kind: route_for(kind, getattr(settings.routing, kind.value), keyed) for kind in ROUTED_KINDS}


def engine_settings_from(settings: Settings) -> EngineSettings:
    """The engine's knobs from the config file."""
    return EngineSettings(
        media_dir=settings.media_dir,
        poll_interval=settings.jobs.poll_interval,
        timeout=settings.jobs.timeout,
        callback_grace=settings.jobs.callback_grace,
        callback_base_url=settings.callbacks.public_url or None,
        max_video_bytes=settings.downloads.max_bytes,
        limits=MemberLimits(
            in_flight=settings.limits.in_flight,
            per_day=settings.limits.per_day,
            cooldown=settings.limits.cooldown,
        ),
    )


@dataclass
class Runtime:
    """The engine, assembled once: store, providers, downloader, service, and (when serving) the
    webhook server. `pikabot run` and the demo start its loop; the operator CLI opens it without
    one, so the running bot's loop does the work it queues (same rules, same providers)."""

    settings: Settings
    db: Database
    store: JobStore
    providers: dict[str, Provider]
    downloader: VideoDownloader
    service: JobService
    webhooks: WebhookServer | None
    recovery: RecoveryReport
    metrics: Metrics
    guild_settings: SettingsStore

    @classmethod
    async def start(
        cls,
        settings: Settings,
        delivery: Delivery,
        *,
        policy: RetryPolicy | None = None,
        metrics: Metrics | None = None,
    ) -> Runtime:
        """Open the database, recover unfinished jobs, start the loop and the webhook server."""
        return await cls.open(settings, delivery, policy=policy, metrics=metrics)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        delivery: Delivery,
        *,
        policy: RetryPolicy | None = None,
        metrics: Metrics | None = None,
        start_loop: bool = True,
        serve_webhooks: bool = True,
    ) -> Runtime:
        """Assemble the engine; with start_loop, recover and run it; with serve_webhooks, take callbacks."""
        db = await Database.open(settings.database.path)
        store = JobStore(db)
        metrics = metrics or Metrics()
        # Every upstream call is counted by provider, operation and HTTP status for /metrics.
        providers: dict[str, Provider] = {
            name: MeteredProvider(provider, metrics) for name, provider in providers_from(settings).items()
        }
        downloader = VideoDownloader(
            DownloadPolicy(
                allowed_hosts=frozenset(settings.downloads.allowed_hosts),
                max_bytes=settings.downloads.max_bytes,
            )
        )
        service = JobService(
            store,
            providers,
            Scheduler(accounts_from(settings), policy),
            delivery,
            downloader,
            engine_settings_from(settings),
            metrics=metrics,
        )
        webhooks = (
            WebhookServer(service, settings.callbacks.host, settings.callbacks.port, metrics)
            if serve_webhooks
            else None
        )
        runtime = cls(
            settings,
            db,
            store,
            providers,
            downloader,
            service,
            webhooks,
            RecoveryReport(),
            metrics,
            SettingsStore(db),
        )
        try:
            await downloader.start()
            if webhooks is not None:
                await webhooks.start()
            if start_loop:
                runtime.recovery = await service.start()
        except BaseException:
            await runtime.stop()
            raise
        return runtime

    async def stop(self) -> None:
        """Stop taking callbacks, stop the loop, close connections and the database."""
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.service.stop()
        for provider in self.providers.values():
            await provider.close()
        await self.downloader.close()
        await self.db.close()
