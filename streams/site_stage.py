"""The per-site stage: each site's clocks across all studies, its rolling windows and gauges.

Keyed by `site_id`, fed by the study stage through an internal topic. Like the study stage
it is free of Faust: the agent owns the table and sends what this returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from broker.messages import Outgoing
from broker.topics import TopicNames
from core.codec import dumps, embedded, exact, loads
from kpi.clocks import SITE_KPIS, Clock
from kpi.windows import site_kpis
from streams.gauges import SiteView
from streams.metrics import SetupmonMetrics

# A site's clocks in each study: {study_id: the JSON array of its clocks at the site}. Kept
# encoded (a tenth of the memory of decoded rows); the stage decodes a study's rows once into
# clocks and again only when they change.
SiteClocks = dict[str, bytes]


def encoded_site(rows_by_study: Mapping[str, list[dict[str, Any]]]) -> SiteClocks:
    """A site's clocks from decoded rows (a table value read back, a test's literal)."""
    return {study_id: exact(dumps(rows)) for study_id, rows in rows_by_study.items()}


def table_value(partition: int, site: SiteClocks) -> bytes:
    """The site table's value: `{"partition": p, "clocks": {study_id: [clock JSON, ...]}}`."""
    return dumps({"partition": partition, "clocks": {s: embedded(r) for s, r in site.items()}})


class SiteStage:
    def __init__(
        self, topics: TopicNames, metrics: SetupmonMetrics, region_of: Callable[[str], str]
    ) -> None:
        self.topics = topics
        self.metrics = metrics
        self.region_of = region_of
        # site -> study -> (the rows last decoded, their clocks): a publish decodes only the
        # studies whose rows changed since, not every study at the site
        self._decoded: dict[str, dict[str, tuple[bytes, list[Clock]]]] = {}

    def update(self, site: SiteClocks, change: dict[str, object]) -> SiteClocks:
        """Fold one study's new clocks for the site (a decoded site-clocks message) into the
        site's value; the value passed in is not changed."""
        study_id = str(change["study_id"])
        site_id = str(change["site_id"])
        rows = change["clocks"]
        assert isinstance(rows, list)  # noqa: S101
        updated = dict(site)
        if rows:
            encoded = updated[study_id] = exact(dumps(rows))
            clocks = [Clock.from_json(row, study_id=study_id) for row in rows]
            self._decoded.setdefault(site_id, {})[study_id] = (encoded, clocks)
        else:
            updated.pop(study_id, None)
        return updated

    def publish(self, site_id: str, site: SiteClocks, *, partition: int, as_of: date) -> Outgoing:
        """The site's `setup.site-kpis` message; also refreshes its gauges."""
        region = self.region_of(site_id)
        decoded = self._decoded.setdefault(site_id, {})
        for gone in set(decoded) - set(site):
            del decoded[gone]
        clocks: list[Clock] = []
        for study_id, rows in site.items():
            cached = decoded.get(study_id)
            if cached is None or cached[0] is not rows:
                cached = decoded[study_id] = (
                    rows,
                    [Clock.from_json(row, study_id=study_id) for row in loads(rows)],
                )
            clocks += cached[1]
        summary = site_kpis(site_id, region, clocks, as_of)
        self._export(site_id, region, partition, clocks, summary)
        return Outgoing(self.topics.site_kpis, site_id.encode(), dumps(summary))

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away: its sites leave /metrics in one step."""
        for site_id in self.metrics.site_gauges.sites(partition):
            self._decoded.pop(site_id, None)
        self.metrics.site_gauges.drop(partition)

    def sites_in(self, partition: int) -> Iterable[str]:
        return self.metrics.site_gauges.sites(partition)

    def _export(
        self,
        site_id: str,
        region: str,
        partition: int,
        clocks: list[Clock],
        summary: dict[str, object],
    ) -> None:
        counts: Counter[tuple[str, str]] = Counter(
            (clock.kpi.value, clock.state.value) for clock in clocks if clock.kpi in SITE_KPIS
        )
        windows = summary["windows"]
        assert isinstance(windows, dict)  # noqa: S101
        compliance = {
            (kpi, window): figures["compliance"]
            for window, per_kpi in windows.items()
            for kpi, figures in per_kpi.items()
            if figures["compliance"] is not None
        }
        self.metrics.site_gauges.set(partition, site_id, SiteView(region, dict(counts), compliance))
