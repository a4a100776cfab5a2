"""KPI clock definitions and the state rule of CONTRACT.md section 2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.time import add_days


class Kpi(StrEnum):
    COMBINED_REVIEW = "combined_review"
    SITE_OPEN = "site_open"
    FIRST_PARTICIPANT = "first_participant"
    APPROVAL_TO_FIRST_PARTICIPANT = "approval_to_first_participant"
    STUDY_SETUP = "study_setup"


STUDY_KPIS = (Kpi.COMBINED_REVIEW, Kpi.STUDY_SETUP)
SITE_KPIS = (Kpi.SITE_OPEN, Kpi.FIRST_PARTICIPANT, Kpi.APPROVAL_TO_FIRST_PARTICIPANT)
KPI_ORDER = {kpi: position for position, kpi in enumerate(Kpi)}

LIMIT_DAYS = {
    Kpi.COMBINED_REVIEW: 60,
    Kpi.SITE_OPEN: 60,
    Kpi.FIRST_PARTICIPANT: 30,
    Kpi.APPROVAL_TO_FIRST_PARTICIPANT: 90,
    Kpi.STUDY_SETUP: 150,
}
ATIMP_COMBINED_REVIEW_LIMIT_DAYS = 90


def limit_days(kpi: Kpi, *, atimp: bool) -> int:
    if kpi is Kpi.COMBINED_REVIEW and atimp:
        return ATIMP_COMBINED_REVIEW_LIMIT_DAYS
    return LIMIT_DAYS[kpi]


class ClockState(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"
    STOPPED = "stopped"
    EXCLUDED = "excluded"
    INVALID = "invalid"


OPEN_STATES = frozenset({ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED})
CLOSED_STATES = frozenset({ClockState.MET, ClockState.MISSED})

FLAG_MISSING_SITE_SELECTED = "missing_site_selected"
FLAG_STOP_BEFORE_START = "stop_before_start"


def classify(
    *,
    start: date | None,
    stop: date | None,
    limit: int,
    as_of: date,
    excluded: bool = False,
    site_ended: date | None = None,
) -> ClockState:
    """The first row of the contract's state table that applies, in its order."""
    if excluded:
        return ClockState.EXCLUDED
    if site_ended is not None and (stop is None or site_ended < stop):
        return ClockState.STOPPED
    if start is None:
        return ClockState.WAITING
    if stop is not None:
        if stop < start:
            return ClockState.INVALID
        return ClockState.MET if (stop - start).days <= limit else ClockState.MISSED
    elapsed = (as_of - start).days
    if elapsed > limit:
        return ClockState.BREACHED
    # Integer form of elapsed >= 0.75 * limit, as the contract writes it.
    if elapsed * 4 >= limit * 3:
        return ClockState.AT_RISK
    return ClockState.RUNNING


def next_change(clock: Clock) -> date | None:
    """The next day the clock changes state with no new event: a running clock reaches its
    at-risk point (the first day with elapsed * 4 >= limit * 3), an at-risk one passes its
    limit. None for a clock that only an event can change."""
    if clock.start_date is None:
        return None
    if clock.state is ClockState.RUNNING:
        return add_days(clock.start_date, -(-3 * clock.limit_days // 4))
    if clock.state is ClockState.AT_RISK:
        return add_days(clock.start_date, clock.limit_days + 1)
    return None


def elapsed_days(
    state: ClockState,
    *,
    start: date | None,
    stop: date | None,
    as_of: date,
    site_ended: date | None,
) -> int | None:
    """Days counted so far: to the stop date, to the site's end when stopped, else to as_of."""
    if start is None:
        return None
    if state is ClockState.STOPPED:
        assert site_ended is not None  # noqa: S101 - STOPPED implies an end date
        return (site_ended - start).days if site_ended >= start else None
    return ((stop or as_of) - start).days


@dataclass(frozen=True, slots=True)
class Clock:
    study_id: str
    kpi: Kpi
    site_id: str | None
    state: ClockState
    start_date: date | None
    stop_date: date | None
    elapsed_days: int | None
    limit_days: int
    flags: tuple[str, ...] = ()

    @property
    def due_date(self) -> date | None:
        return None if self.start_date is None else add_days(self.start_date, self.limit_days)

    @property
    def key(self) -> str:
        """Which clock of the study this is (stable across start-date corrections)."""
        return clock_key(self.site_id, self.kpi)

    def to_json(self, *, with_study: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "kpi": self.kpi.value,
            "site_id": self.site_id,
            "state": self.state.value,
            "start_date": _iso(self.start_date),
            "stop_date": _iso(self.stop_date),
            "due_date": _iso(self.due_date),
            "elapsed_days": self.elapsed_days,
            "limit_days": self.limit_days,
            "flags": list(self.flags),
        }
        if with_study:
            out["study_id"] = self.study_id
        return out

    @classmethod
    def from_json(cls, data: dict[str, object], *, study_id: str) -> Clock:
        """The inverse of `to_json` (due_date is derived, so it is not read)."""
        site_id = data.get("site_id")
        elapsed = data.get("elapsed_days")
        limit = data["limit_days"]
        flags = data.get("flags") or []
        assert isinstance(limit, int) and isinstance(flags, list)  # noqa: S101
        return cls(
            study_id=study_id,
            kpi=Kpi(str(data["kpi"])),
            site_id=None if site_id is None else str(site_id),
            state=ClockState(str(data["state"])),
            start_date=_day(data.get("start_date")),
            stop_date=_day(data.get("stop_date")),
            elapsed_days=elapsed if isinstance(elapsed, int) else None,
            limit_days=limit,
            flags=tuple(str(flag) for flag in flags),
        )


def _day(value: object) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


STUDY_SITE = "-"  # a study clock's site in clock keys and alert IDs


def clock_key(site_id: str | None, kpi: Kpi) -> str:
    """A clock's place in its study, `{site_id or '-'}/{kpi}`; `site_of_key` reads it."""
    return f"{site_id or STUDY_SITE}/{kpi}"


def site_of_key(key: str) -> str | None:
    """The site of a clock key; None for a study clock."""
    site = key.split("/", 1)[0]
    return None if site == STUDY_SITE else site
