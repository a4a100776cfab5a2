"""The metrics of CONTRACT.md section 4, in one typed container with its own registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.registry import Collector

from streams.gauges import SiteGauges, StudyClockCounts
from streams.tallies import DayHistogram, Tally

C = TypeVar("C", bound=Collector)

# Buckets in calendar days: around the 30/60/90/150-day limits.
DAYS_BUCKETS = (7, 14, 21, 30, 45, 60, 75, 90, 120, 150, 180, 270, 365, 730)
# Entry delay in days between `date` and the UK day of `recorded_at`.
ENTRY_DELAY_DAYS_BUCKETS = (0, 1, 2, 7, 14, 30, 60, 90, 180, 365)


@dataclass(frozen=True, slots=True)
class SetupmonMetrics:
    registry: CollectorRegistry
    study_clocks: StudyClockCounts
    site_gauges: SiteGauges
    clock_days: DayHistogram
    events_total: Tally
    alerts_total: Tally
    entry_delay_days: DayHistogram
    alerts_suppressed_total: Tally
    consumer_lag: Gauge

    def exposition(self) -> bytes:
        """`/metrics`: the Prometheus text of every metric; the site gauges come pre-rendered
        (streams/gauges.py), the rest from prometheus-client."""
        others = CollectorRegistry(auto_describe=False)
        for name in self.__dataclass_fields__:
            if name not in ("registry", "site_gauges"):
                others.register(getattr(self, name))
        return generate_latest(others) + self.site_gauges.exposition()

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SetupmonMetrics:
        return cls(
            registry=registry,
            # gauges of current state, read from the stages' views when Prometheus scrapes
            study_clocks=_registered(registry, StudyClockCounts()),
            site_gauges=_registered(registry, SiteGauges()),
            # counted on the hot path without locks (streams/tallies.py)
            clock_days=_registered(
                registry,
                DayHistogram(
                    "trial_setup_clock_days",
                    "Elapsed calendar days of clocks when they stop",
                    ["kpi", "region"],
                    buckets=DAYS_BUCKETS,
                ),
            ),
            events_total=_registered(
                registry,
                Tally("trial_setup_events", "Milestone events by outcome", ["milestone", "outcome"]),
            ),
            alerts_total=_registered(
                registry, Tally("trial_setup_alerts", "Alerts raised", ["kpi", "kind", "region"])
            ),
            entry_delay_days=_registered(
                registry,
                DayHistogram(
                    "trial_setup_entry_delay_days",
                    "Days between a milestone's date and the UK day it was recorded",
                    ["milestone"],
                    buckets=ENTRY_DELAY_DAYS_BUCKETS,
                ),
            ),
            # Added to the contract's set: alerts recorded but not sent (older than the horizon).
            alerts_suppressed_total=_registered(
                registry,
                Tally(
                    "setupmon_alerts_suppressed",
                    "Alerts older than SETUPMON_ALERT_HORIZON_DAYS when decided: recorded, not sent",
                    ["kpi", "kind"],
                ),
            ),
            # Added: how far each owned milestones partition is behind, for the lag alert.
            consumer_lag=Gauge(
                "setupmon_consumer_lag_messages",
                "Milestone messages waiting on a partition this worker owns",
                ["partition"],
                registry=registry,
            ),
        )


def _registered(registry: CollectorRegistry, collector: C) -> C:
    registry.register(collector)
    return collector
