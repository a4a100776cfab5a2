"""What the study agent does with a batch of events. Faust-free.

The milestones of a batch go to the study stage, with their studies' states from the cache
(streams/table_index.py); a day tick is applied once the partition is processed up to the
offset the tick carries (streams/ticks.py). Outputs and states leave in an order a crash at
any point cannot break (`publish`). Faust's part, making a table read or write happen on a
given event's partition, comes in as `enter(event)` (streams/faust_context.py), and the table
writes as `table_writes()` (streams/table_writes.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Protocol

from broker.messages import Incoming, Outgoing
from broker.publisher import SentBatch, delivered
from broker.topics import TopicNames, TopicSpec
from core.time import Calendar
from streams.day_ticks import read_study_tick
from streams.gaps import ReadRange, with_gaps_filled
from streams.outbox import Outboxes
from streams.progress import Progress
from streams.sponsor_topics import SponsorTopics
from streams.study_stage import StageResult, StudyStage
from streams.table_index import LocalTable, StudyCache
from streams.ticks import StudyTicks
from streams.waiting import patiently

log = logging.getLogger(__name__)


class Sender(Protocol):
    async def send(self, outputs: Iterable[Outgoing]) -> list[SentBatch]: ...


class Writes(Protocol):
    """A batch's writes to a table (streams/table_writes.py)."""

    def put(self, partition: int, key: bytes, value: bytes) -> None: ...

    async def flushed(self) -> list[SentBatch]: ...


class StudyBatches:
    def __init__(
        self,
        *,
        topics: TopicNames,
        stage: StudyStage,
        calendar: Calendar,
        table: LocalTable,
        publisher: Sender,
        ticks: StudyTicks,
        progress: Progress,
        ensure_topic: Callable[[TopicSpec], Awaitable[Any]],
        table_writes: Callable[[], Writes],
        enter: Callable[[Any], AbstractContextManager[Any]],
        read_range: ReadRange,
    ) -> None:
        self.topics = topics
        self.stage = stage
        self.calendar = calendar
        self.publisher = publisher
        self.ticks = ticks
        self.progress = progress
        self.ensure_topic = ensure_topic
        self.table_writes = table_writes
        self.enter = enter
        self.read_range = read_range  # a partition's messages first..last (broker/range_reader.py)
        # alerts kept with their studies' states until acknowledged (streams/outbox.py)
        self.outboxes = Outboxes(topics.alerts, topics.partitions)
        self._event_of: dict[int, Any] = {}  # partition -> an event of it in the current batch
        self.cache = StudyCache(
            table, self.outboxes, topics.partitions, lambda p: enter(self._event_of[p])
        )
        self.sponsor_topics = SponsorTopics(topics)
        self.tick_offsets = Progress(lambda partition: None)  # to see skipped ticks

    async def handle(self, batch: list[Any]) -> None:
        """A batch of Faust events from `setup.milestones` and `internal.study-ticks`."""
        ticks_topic = self.topics.study_ticks
        milestones = [e for e in batch if e.message.topic != ticks_topic]
        # partition -> its last event in the batch; table reads of a partition go through it
        self._event_of = last_of = {event.message.partition: event for event in batch}
        if milestones:
            # a message without a value (a tombstone) is read as empty: a dead letter
            incoming = await self.with_gaps_filled(
                [
                    Incoming(m.key, m.value or b"", m.topic, m.partition, m.offset)
                    for m in (e.message for e in milestones)
                ]
            )
            today, now = self.calendar.today(), self.calendar.now()
            result = self.stage.ingest(incoming, self.cache.study, as_of=today, now=now)
            await self.publish(result, last_of)
            self.progress.processed_up_to((m.partition, m.offset) for m in incoming)
        ticks = [
            Incoming(m.key, m.value, m.topic, m.partition, m.offset)
            for m in (e.message for e in batch if e.message.topic == ticks_topic)
        ]
        # a skipped tick would stay in flight, and its partition would get no other
        for tick in await self.with_gaps_filled(ticks, self.tick_offsets):
            day, through = read_study_tick(tick.value)
            self.ticks.received(tick.partition, day, through)
        for partition, event in last_of.items():
            sweep_day = self.ticks.ready(partition, self.progress.processed(partition))
            if sweep_day is not None:
                await self.sweep(partition, sweep_day, event)

    async def with_gaps_filled(
        self, incoming: list[Incoming], progress: Progress | None = None
    ) -> list[Incoming]:
        """The batch with whatever Faust skipped before it read from the broker, in place
        (streams/gaps.py). `progress` follows the topic's offsets: the milestones' by
        default, which are marked once processed; others are marked at once."""
        filled = await with_gaps_filled(
            incoming,
            progress or self.progress,
            self.read_range,
            message_of=lambda message: message,
            stand_in=lambda read, _: read,
        )
        if progress is not None:
            progress.processed_up_to((m.partition, m.offset) for m in incoming)
        return filled

    async def sweep(self, partition: int, as_of: date, event: Any) -> None:
        """A day tick: every study of the partition the first time after an assignment (it
        rebuilds the wake index and gauges), then only the studies due."""
        everything = not self.cache.loaded(partition)
        with self.enter(event):
            studies = self.cache.partition(partition)
        if everything:
            states = list(studies.values())
        else:
            due = self.stage.due_studies(partition, as_of)
            states = [studies[study_id] for study_id in due if study_id in studies]
        now = self.calendar.now()
        result = self.stage.sweep(
            states, partition=partition, as_of=as_of, now=now, everything=everything
        )
        log.info(
            "day tick %s on partition %d: %d studies re-evaluated", as_of, partition, len(states)
        )
        await self.publish(result, {partition: event}, tick=True)

    async def publish(
        self, result: StageResult, event_of: dict[int, Any], *, tick: bool = False
    ) -> None:
        """Send a batch's (or a tick's) outputs and write back its states, in the order that
        keeps a crash at any point from losing or contradicting an alert:

        1. what can be derived again (status, site clocks) and what the input alone decides
           (dead letters, re-keyed events) is sent at once;
        2. each touched study's state is written with its outbox, the alerts it decided that
           the broker has not acknowledged, and the worker waits for the changelog (a tick
           also writes the partition's studies whose outbox has been acknowledged since);
        3. the alerts are sent; then the worker waits for every output.

        The caller acknowledges the input only after this. A crash before 2 re-runs the batch
        from the table's last state; after 2, the state read back re-sends its outbox (the
        same alert IDs, which the notifier delivers once), so an alert once decided is never
        forgotten, even where a re-run would batch the events differently.
        """
        for topic, spec in self.sponsor_topics.missing(result.outputs):
            await self.ensure_topic(spec)
            self.sponsor_topics.created(topic)
        alerts_topic = self.topics.alerts
        sent = await self.publisher.send(o for o in result.outputs if o.topic != alerts_topic)
        self.outboxes.add(result.alerts)
        writes = self.table_writes()

        def put(partition: int, key: bytes, value: bytes) -> None:
            with self.enter(event_of[partition]):
                writes.put(partition, key, value)

        self.cache.write(result.states, result.partitions, put, ticked=event_of if tick else ())
        await patiently(writes.flushed(), "acknowledgements of study states")
        sent += await self.publisher.send(self.outboxes.pending())
        await patiently(delivered(sent), "acknowledgements of outputs")
        self.outboxes.acknowledged()

    def tick_due(self, partition: int) -> bool:
        """Has `partition` work for a day tick besides a new day: late data, or acknowledged
        alerts still in written states (a tick writes them without, so a restart re-sends
        few)?"""
        return self.stage.has_studies_behind(partition) or self.outboxes.awaiting_rewrite(partition)

    def forget(self) -> None:
        """A batch failed: the cached states may hold what was not acknowledged, so they are
        read again (with the outboxes they were written with)."""
        self.cache.forget()

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away."""
        self.stage.forget_partition(partition)
        self.cache.forget_partition(partition)
        self.outboxes.forget_partition(partition)
        self.tick_offsets.forget(partition)
