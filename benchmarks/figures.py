"""One benchmark figure and the statistics every bench reports (median, p99, max)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One benchmark figure."""

    name: str
    unit: str
    median: float
    p99: float
    maximum: float
    floor: float | None
    target: str
    met: bool | None

    @classmethod
    def single(cls, name: str, unit: str, value: float, floor: float | None, target: str, met: bool) -> Row:
        """A figure measured once (a rate, a count, a makespan): its median, p99 and max are the value."""
        return cls(name, unit, value, value, value, floor, target, met)

    @property
    def ratio(self) -> str:
        return f"{self.p99 / self.floor:.2f}x" if self.floor else "-"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), pct(values, 0.99), max(values)
