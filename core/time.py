"""Time's one home: UK calendar days, and the injectable calendar (live or simulated).

Every KPI day is a whole calendar day in Europe/London.

Live: today in Europe/London. Simulated: a fast calendar for demos and tests, in which one
UK day passes every `seconds_per_day` of wall time from a shared epoch, so the simulator and
every worker agree on the day without talking to each other.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from core.errors import ConfigError

UK = ZoneInfo("Europe/London")


def uk_date(moment: datetime) -> date:
    """The UK calendar day of an aware timestamp (GMT in winter, BST in summer)."""
    if moment.tzinfo is None:
        raise ValueError("uk_date needs an aware datetime")
    return moment.astimezone(UK).date()


class Calendar(Protocol):
    def today(self) -> date: ...

    def now(self) -> datetime: ...


class LiveCalendar:
    def today(self) -> date:
        return uk_date(self.now())

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SimulatedCalendar:
    """Day `start` began at unix time `epoch`; each day lasts `seconds_per_day` of
    `wall_clock` (unix seconds; tests inject their own)."""

    start: date
    epoch: float
    seconds_per_day: float
    wall_clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def today(self) -> date:
        elapsed = max(0.0, self.wall_clock() - self.epoch)
        return self.start + timedelta(days=int(elapsed // self.seconds_per_day))

    def now(self) -> datetime:
        """A moment inside the simulated day (noon UTC), so recorded_at and the day agree."""
        return datetime.combine(self.today(), datetime.min.time(), UTC) + timedelta(hours=12)

    def spec(self) -> str:
        return f"simulated:{self.start.isoformat()}@{self.epoch:.3f}x{self.seconds_per_day:g}"


def parse_calendar(spec: str, *, wall_clock: Callable[[], float] = time.time) -> Calendar:
    """`live`, or `simulated:YYYY-MM-DD@EPOCHxSECONDS` (see SETUPMON_CALENDAR)."""
    if spec in ("", "live"):
        return LiveCalendar()
    try:
        kind, rest = spec.split(":", 1)
        start_text, timing = rest.split("@", 1)
        epoch_text, seconds_text = timing.split("x", 1)
        if kind != "simulated":
            raise ValueError(kind)
        calendar = SimulatedCalendar(
            date.fromisoformat(start_text), float(epoch_text), float(seconds_text), wall_clock
        )
    except ValueError:
        raise ConfigError(
            f"calendar {spec!r}: use 'live' or 'simulated:YYYY-MM-DD@EPOCHxSECONDS_PER_DAY'"
        ) from None
    if not (math.isfinite(calendar.epoch) and math.isfinite(calendar.seconds_per_day)):
        raise ConfigError(f"calendar {spec!r}: the epoch and seconds per day must be numbers")
    if calendar.seconds_per_day <= 0:
        raise ConfigError(f"calendar {spec!r}: seconds per day must be positive")
    return calendar


# -- event time and the alert hold-back (CONTRACT.md section 3, v1.2) ---------------------


def event_day(recorded_day: date, today: date) -> date:
    """The day a study is judged as of after one of its events: the UK day the event was
    recorded, never later than today. A study's own events set its time, not other
    studies' events read in the same batch."""
    return min(recorded_day, today)


def add_days(day: date, days: int) -> date:
    """`day + timedelta(days)`, held at the ends of the calendar instead of overflowing.

    The contract accepts any real date, 0001-01-01 to 9999-12-31; a due date or window edge
    past either end must not crash the stream (a clock started 9999-12-01 is due 9999-12-31)."""
    try:
        return day + timedelta(days)
    except OverflowError:
        return date.max if days > 0 else date.min


@dataclass(frozen=True, slots=True)
class AlertHorizon:
    """Alerts judged as of a day more than `days` before today describe history being
    replayed (a backlog, a late import): they are held back, not sent to sites, unless the
    site already heard of the clock (SETUPMON_ALERT_HORIZON_DAYS)."""

    days: int

    def hold_back_before(self, today: date) -> date:
        return today - timedelta(days=self.days)
