"""Which owned partitions the timer sends a day tick now, and what a tick says. Faust-free.

A milestones partition is ticked (through `internal.study-ticks`) when streams/ticks.py says
so: caught up, and due (a new UK day, late data, or acknowledged alerts still in written
states, which a tick writes without). The tick carries `through`, the partition's high water
as the timer saw it, and the study agent sweeps only once it has processed that far. An
`internal.site-clocks` partition is ticked once a UK day: every site's rolling windows move
with the day, and nothing else moves them without a change.

After an assignment every partition is ticked again (its first sweep rebuilds the wake
index and the gauges).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from broker.topics import TopicNames
from core.codec import dumps, loads
from streams.ticks import StudyTicks


class DayTicks:
    def __init__(self, topics: TopicNames, lag_tolerance: int) -> None:
        self.topics = topics
        self.study = StudyTicks(lag_tolerance)
        self._site_ticked: dict[int, date] = {}  # site-clocks partition -> day of its last tick

    def due(
        self,
        today: date,
        owned: Iterable[tuple[str, int]],
        *,
        lags: Mapping[int, int],
        behind: Callable[[int], bool],
        processed: Callable[[int], int],
        now: float = 0.0,
    ) -> Iterator[tuple[str, int, bytes]]:
        """The ticks to send now, as (topic, partition, value), among the `owned` (topic,
        partition)s; `lags` and `processed` are per milestones partition, `behind` says a
        milestones partition has work for a tick besides a new day. Each tick counts as sent
        once yielded, so the caller sends each before taking the next."""
        for topic, partition in owned:
            value: dict[str, object] = {"as_of": today.isoformat(), "tick": today.isoformat()}
            if topic == self.topics.milestones:
                lag = lags[partition]
                if not self.study.decide(
                    partition, today, lag=lag, behind=behind(partition), now=now
                ):
                    continue
                value["through"] = processed(partition) + lag
                yield self.topics.study_ticks, partition, dumps(value)
            elif topic == self.topics.site_clocks:
                if self._site_ticked.get(partition) == today:
                    continue
                self._site_ticked[partition] = today
                yield topic, partition, dumps(value)

    def reset(self) -> None:
        """After an assignment: every owned partition is ticked and swept again."""
        self._site_ticked.clear()
        self.study.reset()


def read_study_tick(value: bytes) -> tuple[date, int]:
    """A study tick's day and `through` offset (0, applied at once, if it has none)."""
    tick = loads(value)
    return date.fromisoformat(tick["as_of"]), int(tick.get("through", 0))


def site_tick_day(message: dict[str, Any]) -> date | None:
    """The day of an `internal.site-clocks` message that is a tick; None for a site's clocks."""
    return date.fromisoformat(message["tick"]) if "tick" in message else None
