"""When a milestones partition gets its day tick, and when the study agent may apply it.

Faust-free. A tick re-evaluates every study of a partition as of today, so it must not run
while events recorded before today wait unread in that partition: the study would be judged
as of today without them (CONTRACT.md section 3, "no alert about a day the study had not
reached"). So:

1. The timer sends a tick only to a partition that has caught up (at most `lag_tolerance`
   messages behind), is due one (a new UK day, or `behind`: some study was judged as of a
   past day since the last tick, late data, or the worker has other work for a tick, such as
   clearing acknowledged alerts from written states), and has no tick in flight. The tick carries `through`:
   the partition's high water when it was decided.
2. The agent applies it only once it has processed the partition up to `through`, right
   after the message that gets it there: everything in the partition when the tick was
   decided has then been read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class StudyTicks:
    lag_tolerance: int
    _ticked: dict[int, date] = field(default_factory=dict)  # partition -> day of its last tick
    # partition -> when its tick was sent (monotonic seconds), until applied; a tick still
    # in flight after `resend_after` seconds is taken as lost (faust-streaming can skip a
    # message around a rebalance) and the partition may be ticked again
    _in_flight: dict[int, float] = field(default_factory=dict)
    resend_after: float = 60.0
    _pending: dict[int, tuple[date, int]] = field(default_factory=dict)  # (day, through)

    def decide(
        self, partition: int, today: date, *, lag: int, behind: bool, now: float = 0.0
    ) -> bool:
        """Should the timer send `partition` a tick now (`now` in monotonic seconds)? If so,
        it counts as sent."""
        due = self._ticked.get(partition) != today or behind
        sent = self._in_flight.get(partition)
        in_flight = sent is not None and now - sent < self.resend_after
        if not due or lag > self.lag_tolerance or in_flight:
            return False
        self._ticked[partition] = today
        self._in_flight[partition] = now
        return True

    def received(self, partition: int, day: date, through: int) -> None:
        """The agent read a tick: it waits until the partition is read up to `through`."""
        self._pending[partition] = (day, through)

    def ready(self, partition: int, processed: int) -> date | None:
        """The day to sweep the partition as of, once a pending tick's `through` is reached
        (`processed` is the next offset the agent will process); None while it waits."""
        pending = self._pending.get(partition)
        if pending is None or processed < pending[1]:
            return None
        del self._pending[partition]
        self._in_flight.pop(partition, None)
        return pending[0]

    def reset(self) -> None:
        """After a rebalance: every owned partition is swept again (it rebuilds gauges)."""
        self._ticked.clear()
        self._in_flight.clear()
        self._pending.clear()
