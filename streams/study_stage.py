"""The study stage: milestone batches and day ticks in, study states and outputs out.

No Faust here: the agent (streams/app.py) loads states from its table, calls this stage,
sends the outputs, waits for the broker to acknowledge them, and only then writes the
states back. A crash in between re-runs the batch: duplicates change nothing and every
output carries a deterministic key or ID, so consumers see each result once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiokafka.partitioner import murmur2

from events.codec import dumps
from events.dead_letter import dead_letter_record
from events.milestones import Milestone, MilestoneKind
from events.validation import Rejection, validate_event
from kpi.clocks import CLOSED_STATES, STUDY_KPIS, Clock
from kpi.study import STUDY_PART, EventOutcome, StudyState, StudyUpdate
from streams.messages import Incoming, Outgoing
from streams.metrics import SetupmonMetrics
from streams.topics import TopicNames

INVALID_MILESTONE_LABEL = "invalid"


def partition_for(key: bytes, partitions: int) -> int:
    """The Java client's default partitioner (murmur2), which aiokafka shares."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(slots=True)
class StageResult:
    outputs: list[Outgoing] = field(default_factory=list)
    states: dict[str, StudyState] = field(default_factory=dict)  # to write back
    partitions: dict[str, int] = field(default_factory=dict)  # study -> its partition


class StudyStage:
    def __init__(
        self,
        topics: TopicNames,
        metrics: SetupmonMetrics,
        region_of: Callable[[str], str],
        *,
        alert_horizon_days: int = 30,
    ) -> None:
        self.topics = topics
        self.alert_horizon = timedelta(days=alert_horizon_days)
        self.metrics = metrics
        self.region_of = region_of
        # study-level clock states per partition, to keep the gauge to owned partitions
        self._study_states: dict[int, dict[str, tuple[tuple[str, str], ...]]] = {}
        self._study_totals: Counter[tuple[str, str]] = Counter()
        # Studies per partition judged as of a day before today (their own events reach no
        # further): the next day tick, once the partition has caught up, judges them as of
        # today, so late data raises its alerts within a tick rather than at midnight.
        self._behind: dict[int, set[str]] = {}
        # labelled metric children, looked up once (labels() costs more than the increment)
        self._event_counters: dict[tuple[MilestoneKind, EventOutcome], Any] = {}
        self._delay_histograms: dict[MilestoneKind, Any] = {}

    # -- milestones ---------------------------------------------------------------------

    def ingest(
        self,
        messages: Iterable[Incoming],
        load: Callable[[str], StudyState | None],
        *,
        as_of: date,
        now: datetime,
    ) -> StageResult:
        """Apply a batch; `as_of` is today, the latest day any evaluation may use.

        Event time is per study: each study is judged as of the latest UK day its own events
        reach (at most today), never as of a day reached by other studies' events. So a
        backlog replayed in recorded order (after an outage, a first deployment on history, a
        bulk import sorted by study) is judged as it would have been live: an approval
        recorded a week after its submission does not first look like a breach as of today.
        """
        result = StageResult()
        by_study: dict[str, list[Milestone]] = {}  # each study's events, in arrival order
        for message in messages:
            event = validate_event(message.value)
            if isinstance(event, Rejection):
                self._reject(message, event, now, result)
                continue
            key = event.study_id.encode()
            home = partition_for(key, self.topics.partitions)
            if message.key != key or message.partition != home:
                # Wrong key or another partitioner: send it where its study's state lives.
                result.outputs.append(Outgoing(message.topic, key, message.value, home))
                continue
            by_study.setdefault(event.study_id, []).append(event)
            result.partitions[event.study_id] = message.partition
        hold_back_before = as_of - self.alert_horizon
        for study_id, events in by_study.items():
            state = load(study_id) or StudyState(study_id)
            result.states[study_id] = state
            partition = result.partitions[study_id]
            # One evaluation per run of events recorded on the same UK day, as of that day:
            # what live processing would have judged on each day, at one evaluation a day.
            run_day: date | None = None
            for event in events:
                day = min(event.recorded_day, as_of)
                if run_day is not None and day != run_day:
                    update = state.advance(run_day, hold_back_before=hold_back_before)
                    self._publish(update, result, now, partition=partition)
                self._count(event, state.apply(event))
                run_day = day
            assert run_day is not None  # noqa: S101 - a study is listed with its events
            # never earlier than it was judged
            update = state.advance(run_day, hold_back_before=hold_back_before)
            behind = self._behind.setdefault(partition, set())
            if update.as_of < as_of:
                behind.add(study_id)
            else:
                behind.discard(study_id)
            self._publish(update, result, now, partition=partition)
        return result

    def sweep(
        self, states: Iterable[StudyState], *, partition: int, as_of: date, now: datetime
    ) -> StageResult:
        """Re-evaluate every study of a partition on a new UK day (and on start-up)."""
        result = StageResult()
        self.forget_partition(partition)  # its gauges are rebuilt from the sweep
        for state in states:
            result.states[state.study_id] = state
            result.partitions[state.study_id] = partition
            update = state.advance(as_of, hold_back_before=as_of - self.alert_horizon)
            self._publish(update, result, now, partition=partition, daily=True)
        return result

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away (or a sweep rebuilds it): its studies leave
        this worker's gauges."""
        for states in self._study_states.pop(partition, {}).values():
            self._count_study_clocks(states, -1)
        self._behind.pop(partition, None)

    def has_studies_behind(self, partition: int) -> bool:
        """Some study of the partition was judged as of a day before today since its last
        sweep (its events were recorded on past days): a day tick is due once caught up."""
        return bool(self._behind.get(partition))

    # -- internals ----------------------------------------------------------------------

    def _reject(
        self, message: Incoming, rejection: Rejection, now: datetime, result: StageResult
    ) -> None:
        record = dead_letter_record(
            rejection,
            message.value,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            rejected_at=now,
        )
        result.outputs.append(Outgoing(self.topics.dead_letters, message.key, dumps(record)))
        label = rejection.milestone or INVALID_MILESTONE_LABEL
        self.metrics.events_total.labels(label, "rejected").inc()

    def _count(self, event: Milestone, outcome: EventOutcome) -> None:
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

    def _publish(
        self,
        update: StudyUpdate,
        result: StageResult,
        now: datetime,
        *,
        partition: int,
        daily: bool = False,
    ) -> None:
        study_id = update.study_id
        key = study_id.encode()
        for alert in update.alerts:
            if alert.held:
                # Replaying old history: the alert counts as raised (so it never comes back)
                # but sites are not told about a limit missed long ago.
                self.metrics.alerts_suppressed_total.labels(alert.kpi.value, alert.kind.value).inc()
                continue
            region = self._region(alert.site_id)
            self.metrics.alerts_total.labels(alert.kpi.value, alert.kind.value, region).inc()
            value = dumps(alert.to_json(raised_at=now))
            result.outputs.append(Outgoing(self.topics.alerts, alert.key.encode(), value))
        for clock in update.changed:
            if clock.state in CLOSED_STATES and clock.elapsed_days is not None:
                region = self._region(clock.site_id)
                self.metrics.clock_days.labels(clock.kpi.value, region).observe(clock.elapsed_days)

        if daily or update.changed or update.removed or update.sponsor_changed:
            value = update.status_json(updated_at=now)
            result.outputs.append(Outgoing(self.topics.study_status, key, value))
            if update.sponsor_changed and update.previous_sponsor_id:
                # the study left that sponsor: remove it from the old sponsor's topic
                old = self.topics.sponsor_status(update.previous_sponsor_id)
                result.outputs.append(Outgoing(old, key, None))
            if update.sponsor_id:
                sponsor_topic = self.topics.sponsor_status(update.sponsor_id)
                result.outputs.append(Outgoing(sponsor_topic, key, value))

        touched = {c.site_id for c in update.changed if c.site_id}
        touched |= {k.split("/", 1)[0] for k in update.removed if not k.startswith("-/")}
        # The site stage needs states and stop dates, not elapsed days, and re-computes its
        # windows on its own day tick: only sites whose clocks changed are sent.
        for site_id in sorted(touched):
            site_clocks = [c.to_json() for c in update.part_clocks(site_id)]
            value = dumps({"study_id": study_id, "site_id": site_id, "clocks": site_clocks})
            result.outputs.append(Outgoing(self.topics.site_clocks, site_id.encode(), value))

        self._track_study_clocks(partition, study_id, update.part_clocks(STUDY_PART))

    def _track_study_clocks(self, partition: int, study_id: str, clocks: list[Clock]) -> None:
        states = tuple((c.kpi.value, c.state.value) for c in clocks if c.kpi in STUDY_KPIS)
        owned = self._study_states.setdefault(partition, {})
        previous = owned.get(study_id, ())
        if previous != states:
            owned[study_id] = states
            self._count_study_clocks(previous, -1)
            self._count_study_clocks(states, +1)

    def _count_study_clocks(self, states: tuple[tuple[str, str], ...], sign: int) -> None:
        """Move the study gauge by one study's clocks (a count kept, not re-summed)."""
        for labels in states:
            self._study_totals[labels] += sign
            self.metrics.study_clocks.labels(*labels).set(self._study_totals[labels])

    def _region(self, site_id: str | None) -> str:
        return "" if site_id is None else self.region_of(site_id)
