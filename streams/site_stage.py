"""The per-site stage: each site's clocks across all studies, its rolling windows and gauges.

Keyed by `site_id`, fed by the study stage through an internal topic. Like the study stage
it is free of Faust: the agent owns the table and sends what this returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from prometheus_client import Gauge

from events.codec import dumps
from kpi.clocks import SITE_KPIS, Clock, ClockState
from kpi.windows import WINDOW_DAYS, site_kpis
from streams.messages import Outgoing
from streams.metrics import SetupmonMetrics
from streams.topics import TopicNames

# A site's table value: {study_id: [clock JSON, ...]} for that site's clocks in each study.
SiteClocks = dict[str, list[dict[str, object]]]


class SiteStage:
    def __init__(
        self, topics: TopicNames, metrics: SetupmonMetrics, region_of: Callable[[str], str]
    ) -> None:
        self.topics = topics
        self.metrics = metrics
        self.region_of = region_of
        # site -> (region, partition) of the series this worker exports for it
        self._exported: dict[str, tuple[str, int]] = {}

    def update(self, site: SiteClocks, change: dict[str, object]) -> SiteClocks:
        """Fold one study's new clocks for the site into the site's table value."""
        study_id = str(change["study_id"])
        clocks = change["clocks"]
        assert isinstance(clocks, list)  # noqa: S101
        updated = dict(site)
        if clocks:
            updated[study_id] = clocks
        else:
            updated.pop(study_id, None)
        return updated

    def publish(self, site_id: str, site: SiteClocks, *, partition: int, as_of: date) -> Outgoing:
        """The site's `setup.site-kpis` message; also refreshes its gauges."""
        region = self.region_of(site_id)
        clocks = [
            Clock.from_json(row, study_id=study_id)
            for study_id, rows in site.items()
            for row in rows
        ]
        summary = site_kpis(site_id, region, clocks, as_of)
        self._export(site_id, region, partition, clocks, summary)
        return Outgoing(self.topics.site_kpis, site_id.encode(), dumps(summary))

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away: drop its sites' series from /metrics."""
        for site_id, (region, owner) in list(self._exported.items()):
            if owner == partition:
                self._remove_series(site_id, region)
                del self._exported[site_id]

    def sites_in(self, partition: int) -> Iterable[str]:
        return [site for site, (_, owner) in self._exported.items() if owner == partition]

    def _export(
        self,
        site_id: str,
        region: str,
        partition: int,
        clocks: list[Clock],
        summary: dict[str, object],
    ) -> None:
        previous = self._exported.get(site_id)
        if previous is not None and previous[0] != region:
            self._remove_series(site_id, previous[0])
        self._exported[site_id] = (region, partition)
        counts = {(kpi, state): 0 for kpi in SITE_KPIS for state in ClockState}
        for clock in clocks:
            if clock.kpi in SITE_KPIS:
                counts[(clock.kpi, clock.state)] += 1
        for (kpi, state), count in counts.items():
            self.metrics.site_clocks.labels(kpi.value, site_id, region, state.value).set(count)
        windows = summary["windows"]
        assert isinstance(windows, dict)  # noqa: S101
        for window, per_kpi in windows.items():
            for kpi, figures in per_kpi.items():
                ratio = figures["compliance"]
                gauge = self.metrics.compliance_ratio
                if ratio is None:
                    _remove(gauge, kpi, site_id, region, window)
                else:
                    gauge.labels(kpi, site_id, region, window).set(ratio)

    def _remove_series(self, site_id: str, region: str) -> None:
        for kpi in SITE_KPIS:
            for state in ClockState:
                _remove(self.metrics.site_clocks, kpi.value, site_id, region, state.value)
            for window in WINDOW_DAYS:
                _remove(self.metrics.compliance_ratio, kpi.value, site_id, region, window)


def _remove(metric: Gauge, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass  # the series was never set
