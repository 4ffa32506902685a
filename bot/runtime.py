"""Assemble the engine from validated settings, and take it apart again in reverse order."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.domain.limits import MemberLimits
from bot.domain.retry import RetryPolicy
from bot.engine.delivery import Delivery
from bot.engine.download_policy import DownloadPolicy
from bot.engine.downloads import VideoDownloader
from bot.engine.scheduler import Scheduler
from bot.engine.service import EngineSettings, JobService, RecoveryReport
from bot.observability.metrics import Metrics
from bot.providers.base import Provider
from bot.providers.metered import MeteredProvider
from bot.providers.registry import accounts_from, download_hosts_from, providers_from
from bot.store import Database, JobStore
from bot.store.leases import LeaseOwner
from bot.store.member_defaults import MemberDefaultsStore
from bot.store.settings_store import SettingsStore
from bot.web.webhooks import WebhookServer

__all__ = ["Runtime", "engine_settings_from"]

log = logging.getLogger(__name__)


def engine_settings_from(settings: Settings) -> EngineSettings:
    """The engine's knobs from the config file."""
    return EngineSettings(
        media_dir=settings.media_dir,
        poll_interval=settings.jobs.poll_interval,
        timeout=settings.jobs.timeout,
        callback_grace=settings.jobs.callback_grace,
        lease=settings.jobs.lease,
        callback_base_url=settings.callbacks.public_url or None,
        max_video_bytes=settings.downloads.max_bytes,
        limits=MemberLimits(
            in_flight=settings.limits.in_flight,
            per_day=settings.limits.per_day,
            cooldown=settings.limits.cooldown,
        ),
    )


def lease_owner(settings: Settings) -> LeaseOwner:
    """This process's name in job leases: the configured instance (or host name), pid and a nonce."""
    return LeaseOwner(settings.jobs.instance) if settings.jobs.instance else LeaseOwner()


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
        db = await Database.open(settings.database.target, pool_size=settings.database.pool_size)
        log.info("database: %s", db.description)  # the password masked
        metrics = metrics or Metrics()
        # Every upstream call is counted by provider, operation and HTTP status for /metrics.
        providers: dict[str, Provider] = {
            name: MeteredProvider(provider, metrics) for name, provider in providers_from(settings).items()
        }
        downloader = VideoDownloader(
            DownloadPolicy(
                allowed_hosts=download_hosts_from(settings),
                max_bytes=settings.downloads.max_bytes,
            )
        )
        service = JobService(
            JobStore(db, lease_owner(settings)),
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
            service.store,
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

    @property
    def member_defaults(self) -> MemberDefaultsStore:
        """Members' /pika defaults (a stateless view of the database, like SettingsStore)."""
        return MemberDefaultsStore(self.db)

    async def stop(self) -> None:
        """Stop taking callbacks, stop the loop, close connections and the database."""
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.service.stop()
        for provider in self.providers.values():
            await provider.close()
        await self.downloader.close()
        await self.db.close()
