"""How long to wait after each kind of refusal: pure arithmetic the scheduler and the stand-ins share."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RetryPolicy:
    """Waiting times. Defaults follow useapi.net's advice; tests shorten them."""

    busy_min: float = 10.0  # 429 "Maximum of N jobs": "wait in a loop for at least 10..30 seconds"
    busy_max: float = 30.0
    overloaded_delay: float = 180.0  # 504: useapi's own examples sleep about three minutes
    transient_base: float = 10.0  # 5xx / connection refused: 10, 20, 40, … seconds
    transient_cap: float = 300.0
    transient_max_attempts: int = 5
    reconcile_delay: float = 5.0  # after an ambiguous submit, first look for the job after this
    reconcile_checks: int = 3  # looks before the job is declared lost (never resent blindly)
    delivery_base: float = 5.0
    delivery_cap: float = 300.0
    delivery_max_attempts: int = 8
    download_attempts: int = 3
    poll_failures_max: int = 10  # consecutive failed polls before a running job is given up
    poll_jitter: float = 0.1  # ± fraction of poll_interval, so polls of a batch spread out
    unhealthy_recheck: float = 600.0  # an account that answered 401/402 is tried again after this

    def scaled(self, factor: float) -> RetryPolicy:
        """Every waiting time multiplied by `factor` (tests and demos run the real process faster)."""
        return replace(
            self,
            busy_min=self.busy_min * factor,
            busy_max=self.busy_max * factor,
            overloaded_delay=self.overloaded_delay * factor,
            transient_base=self.transient_base * factor,
            transient_cap=self.transient_cap * factor,
            reconcile_delay=self.reconcile_delay * factor,
            delivery_base=self.delivery_base * factor,
            delivery_cap=self.delivery_cap * factor,
            unhealthy_recheck=self.unhealthy_recheck * factor,
        )
