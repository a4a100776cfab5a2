"""What the site agent does with a batch of `internal.site-clocks` messages. Faust-free.

It folds each site's study clocks once per batch, in the order they came, writes the site's
table entry and publishes the site once. A day tick re-publishes every site of its partition
as of its day (the windows move with the day), so a site changed in the same batch on a
ticked partition is published by the tick, not twice. Site KPIs are derived again on every
change and tick, but are waited for (with the table), so the offsets Faust commits never run
ahead of what was published.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from broker.messages import Incoming
from broker.publisher import delivered
from core.codec import loads
from core.time import Calendar
from streams.day_ticks import site_tick_day
from streams.gaps import ReadRange, with_gaps_filled
from streams.progress import Progress
from streams.site_stage import SiteStage, table_value
from streams.study_batches import Sender, Writes
from streams.table_index import LocalTable, SiteCache
from streams.waiting import patiently

log = logging.getLogger(__name__)


class Message(Protocol):
    @property
    def partition(self) -> int: ...

    @property
    def value(self) -> bytes: ...


class Event(Protocol):
    @property
    def message(self) -> Message: ...


E = TypeVar("E", bound=Event)


@dataclass(slots=True)
class SiteBatch(Generic[E]):
    """A batch's messages: ticks per partition, and each site's changes in order."""

    ticks: dict[int, tuple[date, E]] = field(default_factory=dict)  # partition -> day, event
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # site -> in order
    event_of: dict[str, E] = field(default_factory=dict)  # site -> one of its events

    @classmethod
    def of(cls, events: Iterable[E]) -> SiteBatch[E]:
        batch: SiteBatch[E] = cls()
        for event in events:
            message = loads(event.message.value)
            day = site_tick_day(message)
            if day is not None:
                batch.ticks[event.message.partition] = (day, event)
            else:
                site_id = str(message["site_id"])
                batch.changes.setdefault(site_id, []).append(message)
                batch.event_of[site_id] = event
        return batch

    def published_by_tick(self, partition: int) -> bool:
        """Is every site of `partition` published by a tick in this batch?"""
        return partition in self.ticks


class SiteBatches:
    def __init__(
        self,
        *,
        stage: SiteStage,
        calendar: Calendar,
        table: LocalTable,
        publisher: Sender,
        table_writes: Callable[[], Writes],
        enter: Callable[[Any], AbstractContextManager[Any]],
        read_range: ReadRange,
    ) -> None:
        self.stage = stage
        self.read_range = read_range  # a partition's messages first..last (broker/range_reader.py)
        self.progress = Progress(lambda partition: None)  # only to see gaps within an assignment
        self.calendar = calendar
        self.publisher = publisher
        self.table_writes = table_writes
        self.enter = enter  # makes Faust read and write tables on this event's partition
        self.cache = SiteCache(table)

    async def handle(self, events: list[Any]) -> None:
        """A batch of Faust events from `internal.site-clocks`."""
        events = await self.with_gaps_filled(events)
        batch = SiteBatch.of(events)
        today = self.calendar.today()
        outputs = []
        writes = self.table_writes()
        for site_id, messages in batch.changes.items():
            event = batch.event_of[site_id]
            partition = event.message.partition
            with self.enter(getattr(event, "stand_in", event)):
                clocks = self.cache.site(site_id, partition)
                for message in messages:
                    clocks = self.stage.update(clocks, message)
                self.cache.keep(partition, site_id, clocks)
                writes.put(partition, site_id.encode(), table_value(partition, clocks))
            if not batch.published_by_tick(partition):
                outputs.append(
                    self.stage.publish(site_id, clocks, partition=partition, as_of=today)
                )
        for partition, (as_of, event) in batch.ticks.items():
            with self.enter(getattr(event, "stand_in", event)):
                sites = self.cache.partition(partition)
            outputs += [
                self.stage.publish(site_id, clocks, partition=partition, as_of=as_of)
                for site_id, clocks in sites
            ]
            log.info("site tick %s on partition %d: %d sites", as_of, partition, len(sites))
        sent = await self.publisher.send(outputs)
        await patiently(writes.flushed(), "acknowledgements of site clocks")
        await patiently(delivered(sent), "acknowledgements of site KPIs")

    async def with_gaps_filled(self, events: list[Any]) -> list[Any]:
        """The batch with whatever Faust skipped before it read from the broker, in place
        (streams/gaps.py); each message read stands in the batch with the Faust event after
        it, which table access needs."""
        filled = await with_gaps_filled(
            events,
            self.progress,
            self.read_range,
            message_of=lambda event: event.message,
            stand_in=Refetched,
        )
        self.progress.processed_up_to((e.message.partition, e.message.offset) for e in events)
        return filled

    def forget(self) -> None:
        """A batch failed: read every site again."""
        self.cache.forget()

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away."""
        self.stage.forget_partition(partition)
        self.cache.forget_partition(partition)
        self.progress.forget(partition)


@dataclass(frozen=True, slots=True)
class Refetched:
    """A message read from the broker to fill a gap, with the Faust event that follows it
    in its partition (table reads and writes need a Faust event of the partition)."""

    message: Incoming
    stand_in: Any
