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
from prometheus_client.utils import floatToGoString

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


CLOCKS_HELP = "Site-level KPI clocks by state"
COMPLIANCE_HELP = "Share of a site's stopped clocks that met the limit, over a rolling window"


@dataclass(slots=True, eq=False)
class SiteGauges(Collector):
    """`trial_setup_clocks` and `trial_setup_compliance_ratio` for the owned sites.

    A site's samples are rendered as exposition text at the first scrape after its view
    changed and kept until it changes again, so that `/metrics` with a thousand sites joins a
    thousand rendered chunks (`exposition`) instead of formatting some 30,000 samples on
    every scrape, and a busy site is rendered once per scrape, not once per change.
    """

    by_partition: dict[int, dict[str, SiteView]] = field(default_factory=dict)
    # partition -> site -> (its trial_setup_clocks lines, its compliance lines)
    rendered: dict[int, dict[str, tuple[bytes, bytes]]] = field(default_factory=dict)

    def set(self, partition: int, site_id: str, view: SiteView) -> None:
        self.by_partition.setdefault(partition, {})[site_id] = view
        self.rendered.get(partition, {}).pop(site_id, None)  # rendered again when scraped

    def exposition(self) -> bytes:
        """Both metrics in the Prometheus text format, as `generate_latest` would write them."""
        chunks = []
        for partition, sites in self.by_partition.items():
            rendered = self.rendered.setdefault(partition, {})
            for site_id, view in sites.items():
                chunk = rendered.get(site_id)
                if chunk is None:
                    chunk = rendered[site_id] = _render(site_id, view)
                chunks.append(chunk)
        return b"".join(
            [
                b"# HELP trial_setup_clocks " + CLOCKS_HELP.encode() + b"\n",
                b"# TYPE trial_setup_clocks gauge\n",
                *(clocks for clocks, _ in chunks),
                b"# HELP trial_setup_compliance_ratio " + COMPLIANCE_HELP.encode() + b"\n",
                b"# TYPE trial_setup_compliance_ratio gauge\n",
                *(compliance for _, compliance in chunks),
            ]
        )

    def drop(self, partition: int) -> None:
        self.by_partition.pop(partition, None)
        self.rendered.pop(partition, None)

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
                "trial_setup_clocks", CLOCKS_HELP, labels=["kpi", "site", "region", "state"]
            ),
            GaugeMetricFamily(
                "trial_setup_compliance_ratio",
                COMPLIANCE_HELP,
                labels=["kpi", "site", "region", "window"],
            ),
        )


def _render(site_id: str, view: SiteView) -> tuple[bytes, bytes]:
    """A site's sample lines; labels in name order, values as prometheus-client writes them."""
    site, region = _escape(site_id), _escape(view.region)
    clocks = "".join(
        f'trial_setup_clocks{{kpi="{kpi.value}",region="{region}",site="{site}",'
        f'state="{state.value}"}} {floatToGoString(view.clocks.get((kpi.value, state.value), 0))}\n'
        for kpi in SITE_KPIS
        for state in ClockState
    )
    compliance = "".join(
        f'trial_setup_compliance_ratio{{kpi="{kpi}",region="{region}",site="{site}",'
        f'window="{window}"}} {floatToGoString(ratio)}\n'
        for (kpi, window), ratio in view.compliance.items()
    )
    return clocks.encode(), compliance.encode()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
