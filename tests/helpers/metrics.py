"""Shared by the metrics tests: a store fixture, gauges read from it, one sample's value, a closed port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.metrics import JobGauges
from bot.store import Database, JobStore


async def gauges(store: JobStore) -> JobGauges:
    """What the web server reads from the store at a scrape."""
    counts = {count.state: count.count for count in await store.count_by_state()}
    return JobGauges(counts, await store.queue_depth())


def value(text: str, name: str, **labels: str) -> float:
    """The value of the one sample `name` with exactly these labels; 0 when the series is absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    db = await Database.open(tmp_path / "metrics.sqlite3")
    try:
        yield JobStore(db)
    finally:
        await db.close()
