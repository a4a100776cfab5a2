"""Gauges of current state, computed when Prometheus scrapes (prometheus-client Collectors).

The stages keep plain per-partition views (counts of study clocks by state; each site's clock
counts and compliance); these collectors read them at scrape time. A rebalance that takes a
partition away drops its view in one step, so a worker never exports what it does not own
and nothing is set or removed series by series on the hot path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kpi.clocks import SITE_KPIS, ClockState

StudyLabels = tuple[str, str]  # (kpi, state)


@dataclass(slots=True, eq=False)  # a registry keeps collectors in a dict: hashed by identity
class StudyClockCounts(Collector):
    """`trial_setup_study_clocks{kpi, state}`: study-level clocks of the owned partitions."""

    by_partition: dict[int, Counter[StudyLabels]] = field(default_factory=dict)
    seen: set[StudyLabels] = field(default_factory=set)  # exported as 0 once they empty

    def add(self, partition: int, labels: StudyLabels, change: int) -> None:
        self.by_partition.setdefault(partition, Counter())[labels] += change
        self.seen.add(labels)

    def drop(self, partition: int) -> None:
        self.by_partition.pop(partition, None)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        totals: Counter[StudyLabels] = Counter()
        for counts in self.by_partition.values():
            totals.update(counts)
        for labels in sorted(self.seen):
            family.add_metric(labels, totals[labels])
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "trial_setup_study_clocks", "Study-level KPI clocks by state", labels=["kpi", "state"]
        )


@dataclass(frozen=True, slots=True)
class SiteView:
    region: str
    clocks: dict[tuple[str, str], int]  # (kpi, state) -> clocks of the site in that state
    compliance: dict[tuple[str, str], float]  # (kpi, window) -> ratio, where it has one


@dataclass(slots=True, eq=False)
class SiteGauges(Collector):
    """`trial_setup_clocks` and `trial_setup_compliance_ratio` for the owned sites."""

    by_partition: dict[int, dict[str, SiteView]] = field(default_factory=dict)

    def set(self, partition: int, site_id: str, view: SiteView) -> None:
        self.by_partition.setdefault(partition, {})[site_id] = view

    def drop(self, partition: int) -> None:
        self.by_partition.pop(partition, None)

    def sites(self, partition: int) -> list[str]:
        return sorted(self.by_partition.get(partition, {}))

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        clocks, compliance = self._families()
        states = [state.value for state in ClockState]
        kpis = [kpi.value for kpi in SITE_KPIS]
        for sites in self.by_partition.values():
            for site_id, view in sites.items():
                for kpi in kpis:
                    for state in states:
                        count = view.clocks.get((kpi, state), 0)
                        clocks.add_metric([kpi, site_id, view.region, state], count)
                for (kpi, window), ratio in view.compliance.items():
                    compliance.add_metric([kpi, site_id, view.region, window], ratio)
        yield clocks
        yield compliance

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "trial_setup_clocks",
                "Site-level KPI clocks by state",
                labels=["kpi", "site", "region", "state"],
            ),
            GaugeMetricFamily(
                "trial_setup_compliance_ratio",
                "Share of a site's stopped clocks that met the limit, over a rolling window",
                labels=["kpi", "site", "region", "window"],
            ),
        )
