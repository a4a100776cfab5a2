"""A clock as it stood on an earlier day, from what is known about it now.

A report or publication for a past period may be made from today's `setup.study-status`,
which holds each clock as of today; `clock_on` winds a clock back to the period's end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from kpi.clocks import classify
from reports.inputs import ClockRow

MET, MISSED, STOPPED = "met", "missed", "stopped"
OPEN = ("running", "at_risk", "breached")


def clock_on(clock: ClockRow, day: date) -> ClockRow | None:
    """The clock as it stood on an earlier `day`, worked out from its start, stop and limit;
    None when it had not started by then. An approximation: it assumes the dates known now
    were known then (a later correction or a late entry is read as if on time)."""
    if clock.start_date is None or clock.start_date > day:
        return None
    ended = _site_ended(clock)
    if clock.state in (MET, MISSED) and clock.stop_date is not None and clock.stop_date <= day:
        return clock
    if clock.state == STOPPED and (ended is None or ended <= day):
        return clock
    if clock.state not in (MET, MISSED, STOPPED, *OPEN):
        return clock  # excluded, invalid (its stop is before its start) or unknown: as now
    state = classify(start=clock.start_date, stop=None, limit=clock.limit_days, as_of=day)
    return replace(
        clock, state=state.value, stop_date=None, elapsed_days=(day - clock.start_date).days
    )


def _site_ended(clock: ClockRow) -> date | None:
    """A stopped clock's site withdrawal or closure day, which its elapsed days count up to."""
    if clock.state != STOPPED or clock.start_date is None:
        return None
    if clock.elapsed_days is None:
        return None  # the site ended before the clock started
    return clock.start_date + timedelta(clock.elapsed_days)
