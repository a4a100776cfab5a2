"""The study stage's own metrics: events by milestone and outcome, entry delays, and the
study-clock gauge per partition (so it only ever counts the partitions this worker owns)."""

from __future__ import annotations

from typing import Any

from events.milestones import Milestone, MilestoneKind
from kpi.clocks import STUDY_KPIS, Clock
from streams.metrics import SetupmonMetrics
from studies.state import EventOutcome


class StudyCounts:
    def __init__(self, metrics: SetupmonMetrics) -> None:
        self.metrics = metrics
        # study-level clock states per partition, to keep the gauge to owned partitions
        self._study_states: dict[int, dict[str, tuple[tuple[str, str], ...]]] = {}
        # labelled metric children, looked up once (labels() costs more than the increment)
        self._event_counters: dict[tuple[MilestoneKind, EventOutcome], Any] = {}
        self._delay_histograms: dict[MilestoneKind, Any] = {}

    def rejected(self, label: str) -> None:
        self.metrics.events_total.labels(label, "rejected").inc()

    def event(self, event: Milestone, outcome: EventOutcome) -> None:
        counter = self._event_counters.get((event.milestone, outcome))
        if counter is None:
            labels = (event.milestone.value, outcome.value)
            counter = self._event_counters[(event.milestone, outcome)] = (
                self.metrics.events_total.labels(*labels)
            )
        counter.inc()
        if outcome is not EventOutcome.DUPLICATE:
            delay = (event.recorded_day - event.date).days
            histogram = self._delay_histograms.get(event.milestone)
            if histogram is None:
                histogram = self._delay_histograms[event.milestone] = (
                    self.metrics.entry_delay_days.labels(event.milestone.value)
                )
            histogram.observe(delay)

    def study_clocks(self, partition: int, study_id: str, clocks: list[Clock]) -> None:
        states = tuple((c.kpi.value, c.state.value) for c in clocks if c.kpi in STUDY_KPIS)
        owned = self._study_states.setdefault(partition, {})
        previous = owned.get(study_id, ())
        if previous != states:
            owned[study_id] = states
            self._move(partition, previous, -1)
            self._move(partition, states, +1)

    def _move(
        self, partition: int, states: tuple[tuple[str, str], ...], sign: int
    ) -> None:
        """Move the partition's study-clock counts by one study's clocks."""
        for labels in states:
            self.metrics.study_clocks.add(partition, labels, sign)

    def forget_partition(self, partition: int) -> None:
        self._study_states.pop(partition, None)
        self.metrics.study_clocks.drop(partition)  # its counts leave /metrics in one step
