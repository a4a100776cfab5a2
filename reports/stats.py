"""Small statistics shared by the report and the publication: tallies, medians, percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

from reports.inputs import ClockRow
from reports.scope import Period

MET, MISSED = "met", "missed"


@dataclass(frozen=True, slots=True)
class Tally:
    """Clocks that stopped in some days: how many met and missed their limit, median days."""

    met: int = 0
    missed: int = 0
    median_days: float | None = None

    @property
    def stopped(self) -> int:
        return self.met + self.missed

    @property
    def compliance(self) -> float | None:
        """met / (met + missed); None when no clock stopped (shown "no clocks", never 0%)."""
        return None if self.stopped == 0 else self.met / self.stopped


def stopped_within(clock: ClockRow, period: Period) -> bool:
    """A clock counts in a period when it stopped (met or missed) on one of its days."""
    return (
        clock.state in (MET, MISSED) and clock.stop_date is not None and clock.stop_date in period
    )


def tally(clocks: Iterable[ClockRow]) -> Tally:
    """Met, missed and median elapsed days of already-filtered stopped clocks."""
    met = missed = 0
    days: list[int] = []
    for clock in clocks:
        if clock.state == MET:
            met += 1
        elif clock.state == MISSED:
            missed += 1
        else:
            continue
        if clock.elapsed_days is not None:
            days.append(clock.elapsed_days)
    return Tally(met, missed, median(days) if days else None)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `share` of values at or
    below it (a value that occurred, so "90% were entered within N days" reads true)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    """Lower quartile, median, upper quartile, interpolated between values (the "inclusive"
    method of spreadsheets and of numpy's default), so one value gives itself three times."""
    if not values:
        return None
    ordered = sorted(values)

    def at(share: float) -> float:
        position = share * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return at(0.25), at(0.5), at(0.75)


def share(count: int, total: int) -> float | None:
    return None if total == 0 else count / total
