"""The study stage: milestone batches and day ticks in, study states and outputs out.

No Faust here: the agent (streams/app.py) loads states from its table, calls this stage,
sends the outputs, waits for the broker to acknowledge them, and only then writes the
states back. A crash in between re-runs the batch: duplicates change nothing and every
output carries a deterministic key or ID, so consumers see each result once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from broker.messages import Incoming, Outgoing
from broker.partitions import partition_for
from broker.topics import TopicNames
from core.codec import dumps
from core.time import AlertHorizon, event_day
from events.dead_letter import dead_letter_record
from events.milestones import Milestone
from events.validation import Rejection, validate_event
from kpi.clocks import CLOSED_STATES, site_of_key
from streams.metrics import SetupmonMetrics
from streams.study_counts import StudyCounts
from studies.evaluation import STUDY_PART, StudyUpdate
from studies.state import StudyState

INVALID_MILESTONE_LABEL = "invalid"


@dataclass(slots=True)
class StageResult:
    outputs: list[Outgoing] = field(default_factory=list)
    states: dict[str, StudyState] = field(default_factory=dict)  # to write back
    partitions: dict[str, int] = field(default_factory=dict)  # study -> its partition
    # study -> its alerts, in order (also in `outputs`): the worker keeps them with the
    # study's state until the broker has them (an outbox), since they cannot be derived again
    alerts: dict[str, list[Outgoing]] = field(default_factory=dict)


class _Published:
    """What a study's evaluations in one batch (or tick) changed, for its one status."""

    __slots__ = ("sponsor_before", "status_due", "touched_sites")

    def __init__(self, state: StudyState, *, status_due: bool = False) -> None:
        self.status_due = status_due
        self.sponsor_before = state.reported_sponsor  # the sponsor reported before the batch
        self.touched_sites: set[str] = set()

    def note(self, update: StudyUpdate) -> None:
        if update.changed or update.removed:
            self.status_due = True
        self.touched_sites |= {c.site_id for c in update.changed if c.site_id}
        self.touched_sites |= {site for site in map(site_of_key, update.removed) if site}


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
        self.alert_horizon = AlertHorizon(alert_horizon_days)
        self.metrics = metrics
        self.region_of = region_of
        self.counts = StudyCounts(metrics)
        # Studies per partition judged as of a day before today (their own events reach no
        # further): the next day tick, once the partition has caught up, judges them as of
        # today, so late data raises its alerts within a tick rather than at midnight.
        self._behind: dict[int, set[str]] = {}
        # partition -> study -> the next day one of its clocks changes state with no event
        self._wake: dict[int, dict[str, date]] = {}

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
        hold_back_before = self.alert_horizon.hold_back_before(as_of)
        for study_id, events in by_study.items():
            state = load(study_id) or StudyState(study_id)
            result.states[study_id] = state
            partition = result.partitions[study_id]
            published = _Published(state)
            # One evaluation per run of events recorded on the same UK day, as of that day:
            # what live processing would have judged on each day, at one evaluation a day.
            run_day: date | None = None
            for event in events:
                day = event_day(event.recorded_day, as_of)
                if run_day is not None and day != run_day:
                    update = state.advance(run_day, hold_back_before=hold_back_before)
                    self._announce(update, result, now, published)
                self.counts.event(event, state.apply(event))
                run_day = day
            assert run_day is not None  # noqa: S101 - a study is listed with its events
            # never earlier than it was judged
            update = state.advance(run_day, hold_back_before=hold_back_before)
            behind = self._behind.setdefault(partition, set())
            if update.as_of < as_of:
                behind.add(study_id)
            else:
                behind.discard(study_id)
            self._announce(update, result, now, published)
            self._publish(update, result, now, published, partition=partition)
        return result

    def sweep(
        self,
        states: Iterable[StudyState],
        *,
        partition: int,
        as_of: date,
        now: datetime,
        everything: bool = True,
    ) -> StageResult:
        """Re-evaluate studies of a partition as of a new UK day and publish their status.

        `everything`: these are all the partition's studies (the first tick after an
        assignment), so its gauges are rebuilt from them; otherwise they are the ones due
        (`due_studies`)."""
        result = StageResult()
        if everything:
            self.forget_partition(partition)
        behind = self._behind.get(partition, set())
        for state in states:
            result.states[state.study_id] = state
            result.partitions[state.study_id] = partition
            behind.discard(state.study_id)
            update = state.advance(
                as_of, hold_back_before=self.alert_horizon.hold_back_before(as_of)
            )
            published = _Published(state, status_due=True)  # the status carries the new day
            self._announce(update, result, now, published)
            self._publish(update, result, now, published, partition=partition)
        return result

    def due_studies(self, partition: int, as_of: date) -> list[str]:
        """The studies of a partition a day tick as of `as_of` must re-evaluate: those with a
        clock that reaches its at-risk point or limit by then, and those judged as of a past
        day since their last tick. The rest would not change."""
        wake = self._wake.get(partition, {})
        due = {study for study, day in wake.items() if day <= as_of}
        return sorted(due | self._behind.get(partition, set()))

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away (or a sweep rebuilds it): its studies leave
        this worker's gauges."""
        self.counts.forget_partition(partition)
        self._behind.pop(partition, None)
        self._wake.pop(partition, None)

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
        self.counts.rejected(rejection.milestone or INVALID_MILESTONE_LABEL)

    def _announce(
        self, update: StudyUpdate, result: StageResult, now: datetime, published: _Published
    ) -> None:
        """What one evaluation says at once: its alerts (each run's, none can be skipped) and
        its closed clocks' durations; it notes what the batch's status must carry."""
        for alert in update.alerts:
            if alert.held:
                # Replaying old history: the alert counts as raised (so it never comes back)
                # but sites are not told about a limit missed long ago.
                self.metrics.alerts_suppressed_total.labels(alert.kpi.value, alert.kind.value).inc()
                continue
            region = self._region(alert.site_id)
            self.metrics.alerts_total.labels(alert.kpi.value, alert.kind.value, region).inc()
            value = dumps(alert.to_json(raised_at=now))
            out = Outgoing(self.topics.alerts, alert.key.encode(), value)
            result.outputs.append(out)
            result.alerts.setdefault(update.study_id, []).append(out)
        for clock in update.changed:
            if clock.state in CLOSED_STATES and clock.elapsed_days is not None:
                region = self._region(clock.site_id)
                self.metrics.clock_days.labels(clock.kpi.value, region).observe(clock.elapsed_days)
        published.note(update)

    def _publish(
        self,
        update: StudyUpdate,
        result: StageResult,
        now: datetime,
        published: _Published,
        *,
        partition: int,
    ) -> None:
        """A study's status and its changed sites' clocks, once per batch, as the batch's last
        evaluation left them: the topics are compacted, so an earlier run's status would only
        be overwritten by this one."""
        study_id = update.study_id
        key = study_id.encode()
        sponsor_changed = published.sponsor_before != update.sponsor_id
        if published.status_due or sponsor_changed:
            value = update.status_json(updated_at=now)
            result.outputs.append(Outgoing(self.topics.study_status, key, value))
            if sponsor_changed and published.sponsor_before:
                # the study left that sponsor: remove it from the old sponsor's topic
                old = self.topics.sponsor_status(published.sponsor_before)
                result.outputs.append(Outgoing(old, key, None))
            if update.sponsor_id:
                sponsor_topic = self.topics.sponsor_status(update.sponsor_id)
                result.outputs.append(Outgoing(sponsor_topic, key, value))

        # The site stage needs states and stop dates, not elapsed days, and re-computes its
        # windows on its own day tick: only sites whose clocks changed are sent.
        for site_id in sorted(published.touched_sites):
            site_clocks = [c.to_json() for c in update.part_clocks(site_id)]
            value = dumps({"study_id": study_id, "site_id": site_id, "clocks": site_clocks})
            result.outputs.append(Outgoing(self.topics.site_clocks, site_id.encode(), value))

        self.counts.study_clocks(partition, study_id, update.part_clocks(STUDY_PART))
        wake = self._wake.setdefault(partition, {})
        if update.wake_on is None:
            wake.pop(study_id, None)
        else:
            wake[study_id] = update.wake_on

    def _region(self, site_id: str | None) -> str:
        return "" if site_id is None else self.region_of(site_id)
