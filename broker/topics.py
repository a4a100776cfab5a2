"""Every topic setupmon reads or writes, with its partitions and cleanup policy."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool

    @property
    def config(self) -> dict[str, str]:
        return {"cleanup.policy": "compact" if self.compacted else "delete"}


@dataclass(frozen=True, slots=True)
class TopicNames:
    prefix: str
    partitions: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TopicNames:
        return cls(settings.topic_prefix, settings.partitions)

    # public topics (CONTRACT.md)
    @property
    def milestones(self) -> str:
        return f"{self.prefix}.milestones"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.milestones.dlq"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def study_status(self) -> str:
        return f"{self.prefix}.study-status"

    @property
    def site_kpis(self) -> str:
        return f"{self.prefix}.site-kpis"

    @property
    def sites(self) -> str:
        return f"{self.prefix}.sites"

    @property
    def undeliverable(self) -> str:
        return f"{self.prefix}.alerts.undeliverable"

    @property
    def deliveries(self) -> str:
        """The notifier's ledger of what reached whom (compacted)."""
        return f"{self.prefix}.alerts.deliveries"

    @property
    def imports(self) -> str:
        """`setupmon import`'s ledger of what it published for each export cell (compacted)."""
        return f"{self.prefix}.imports"

    def sponsor_status(self, sponsor_id: str) -> str:
        return f"{self.prefix}.sponsor.{sponsor_id}.study-status"

    def sponsor_of(self, topic: str) -> str | None:
        """The sponsor whose status topic this is (`sponsor_status` read backwards), or None."""
        head, tail = f"{self.prefix}.sponsor.", ".study-status"
        if topic.startswith(head) and topic.endswith(tail) and len(topic) > len(head + tail):
            return topic[len(head) : -len(tail)]
        return None

    # internal topics: the daily ticks into the study stage, and the per-site stage's input
    @property
    def study_ticks(self) -> str:
        return f"{self.prefix}.internal.study-ticks"

    @property
    def site_clocks(self) -> str:
        return f"{self.prefix}.internal.site-clocks"

    def specs(self) -> list[TopicSpec]:
        """The fixed topics; sponsor topics are created when a sponsor is first seen."""
        p = self.partitions
        return [
            TopicSpec(self.milestones, p, compacted=False),
            TopicSpec(self.dead_letters, p, compacted=False),
            TopicSpec(self.alerts, p, compacted=False),
            TopicSpec(self.study_status, p, compacted=True),
            TopicSpec(self.site_kpis, p, compacted=True),
            TopicSpec(self.sites, 1, compacted=True),
            TopicSpec(self.study_ticks, p, compacted=False),
            TopicSpec(self.site_clocks, p, compacted=False),
            TopicSpec(self.undeliverable, p, compacted=False),
            TopicSpec(self.deliveries, p, compacted=True),
            TopicSpec(self.imports, p, compacted=True),
        ]

    def sponsor_spec(self, sponsor_id: str) -> TopicSpec:
        return TopicSpec(self.sponsor_status(sponsor_id), 1, compacted=True)
