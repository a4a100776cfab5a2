"""What a report or a publication is made from, whichever way it was read.

The loaders (`setupmon/report_command.py`: an events file through the `evaluate` engine, or
the compacted `setup.study-status` and `setup.sites` topics) turn their input into one
`ReportInput`; everything in `reports/` after that is pure arithmetic on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

Day = date  # `EntryDelay.date` hides the type's name inside that class


@dataclass(frozen=True, slots=True)
class ClockRow:
    """One KPI clock as `evaluate` or `setup.study-status` shows it (CONTRACT.md sections 2-3).

    `kpi` and `state` stay plain strings (the contract's words) so a report can be made from
    records written by a newer producer without failing on a value it does not know.
    """

    study_id: str
    site_id: str | None
    kpi: str
    state: str
    start_date: date | None
    stop_date: date | None
    due_date: date | None
    elapsed_days: int | None
    limit_days: int
    flags: tuple[str, ...]
    sponsor_id: str | None = None

    @classmethod
    def from_json(cls, clock: Mapping[str, object], sponsor_id: str | None = None) -> ClockRow:
        """A clock of `setupmon evaluate` (which carries `study_id`) or of a `setup.study-status`
        record (put the record's `study_id` into the mapping). Raises ValueError when a field
        the report needs is missing or of the wrong type."""
        study_id = clock.get("study_id")
        kpi = clock.get("kpi")
        state = clock.get("state")
        limit = clock.get("limit_days")
        if not isinstance(study_id, str) or not isinstance(kpi, str) or not isinstance(state, str):
            raise ValueError(f"clock {dict(clock)!r} needs study_id, kpi and state as text")
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ValueError(f"clock {dict(clock)!r} needs limit_days as a whole number")
        site_id = clock.get("site_id")
        elapsed = clock.get("elapsed_days")
        flags = clock.get("flags") or []
        if not isinstance(flags, list | tuple):
            raise ValueError(f"clock {dict(clock)!r}: flags must be a list")
        return cls(
            study_id=study_id,
            site_id=None if site_id is None else str(site_id),
            kpi=kpi,
            state=state,
            start_date=_day(clock.get("start_date")),
            stop_date=_day(clock.get("stop_date")),
            due_date=_day(clock.get("due_date")),
            elapsed_days=elapsed
            if isinstance(elapsed, int) and not isinstance(elapsed, bool)
            else None,
            limit_days=limit,
            flags=tuple(str(flag) for flag in flags),
            sponsor_id=sponsor_id,
        )


@dataclass(frozen=True, slots=True)
class EntryDelay:
    """One accepted milestone event: the day it happened and the (UK) day it was recorded."""

    study_id: str
    site_id: str | None
    milestone: str
    date: Day  # the milestone's own date (a field named as the contract names it)
    recorded_day: Day

    @property
    def days(self) -> int:
        """How late it was entered, in whole days (0 = entered the same day)."""
        return (self.recorded_day - self.date).days


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """A site's reference data, without its contacts (a report names no people)."""

    site_id: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything a report or a publication is computed from."""

    as_of: date  # the day the clocks were evaluated
    clocks: list[ClockRow]
    entries: list[EntryDelay]  # empty when the source holds no event history (status topics)
    sites: dict[str, SiteInfo]
    source: str  # in plain words: "events file X (N events)" / "topics ... read at ..."


def _day(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
