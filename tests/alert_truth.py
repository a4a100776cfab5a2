"""The two alert guarantees of CONTRACT.md section 3 (v1.2), checked against the pure replay.

- "No alert about a day the study had not reached": an alert judged as of day D holds by the
  replay rule for its study as of D, using every event of the study recorded before D and
  none recorded after D. Events recorded on D itself may have been judged in part (as live,
  during that day): the check accepts any prefix of them, in the order they were sent.
- "The last word is true": once everything is read and the day's re-evaluation has run, each
  clock's latest alert agrees with its state.

Each problem is a line naming the alert or clock, so a failing test says what was untrue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from events.milestones import Milestone
from kpi.clocks import Clock, ClockState
from rules.decide import SILENT_STATES, AlertId, AlertKind, ClockId
from studies.state import StudyState

CLEARED_STATES = frozenset(
    {ClockState.RUNNING, ClockState.WAITING, ClockState.INVALID, ClockState.MET}
)


def replay(events: Iterable[Milestone], study_id: str, as_of: date) -> list[Clock]:
    state = StudyState(study_id)
    for event in events:
        state.apply(event)
    return state.clocks(as_of)


def _matching(alert: AlertId, clocks: Sequence[Clock]) -> Clock | None:
    for clock in clocks:
        if clock.start_date is not None and ClockId.of(clock) == alert.clock:
            return clock
    return None


def _holds(alert: dict[str, Any], clocks: Sequence[Clock]) -> bool:
    """Does the alert tell the truth about these clocks?"""
    alert_id = AlertId.parse(alert["alert_id"])
    clock = _matching(alert_id, clocks)
    if alert_id.kind is AlertKind.CLEARED:
        if clock is None:  # gone: its start was corrected or retracted, and it is not silent
            return all(c.key != alert_id.clock.key or c.state not in SILENT_STATES for c in clocks)
        return clock.state in CLEARED_STATES
    wanted = (
        {ClockState.AT_RISK}
        if alert_id.kind is AlertKind.AT_RISK
        else {ClockState.BREACHED, ClockState.MISSED}
    )
    return (
        clock is not None
        and clock.state in wanted
        and (clock.elapsed_days, clock.stop_date) == (alert["elapsed_days"], _day(alert["stop_date"]))
    )


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def untrue_days(
    events_by_study: Mapping[str, Sequence[Milestone]], alerts: Iterable[dict[str, Any]]
) -> list[str]:
    """Alerts that no replay of their study as of their `as_of` day supports."""
    problems = []
    for alert in alerts:
        study = alert["study_id"]
        day = date.fromisoformat(alert["as_of"])
        events = events_by_study.get(study, ())
        before = [e for e in events if e.recorded_day < day]
        on_day = [e for e in events if e.recorded_day == day]
        if not any(
            _holds(alert, replay(before + on_day[:count], study, day))
            for count in range(len(on_day) + 1)
        ):
            clocks = replay(before + on_day, study, day)
            clock = _matching(AlertId.parse(alert["alert_id"]), clocks)
            state = "gone" if clock is None else f"{clock.state} on day {clock.elapsed_days}"
            problems.append(f"{alert['alert_id']} as of {day}: the study's own events say {state}")
    return problems


def untrue_last_words(
    events_by_study: Mapping[str, Sequence[Milestone]],
    alerts: Sequence[dict[str, Any]],
    as_of_by_study: Mapping[str, date],
) -> list[str]:
    """Clocks whose latest alert (in topic order, as of the study's day) contradicts them."""
    latest: dict[ClockId, AlertId] = {}
    for alert in alerts:
        day = as_of_by_study.get(alert["study_id"])
        if day is not None and date.fromisoformat(alert["as_of"]) <= day:
            alert_id = AlertId.parse(alert["alert_id"])
            latest[alert_id.clock] = alert_id
    by_study: dict[str, list[ClockId]] = defaultdict(list)
    for identity in latest:
        by_study[identity.study_id].append(identity)

    problems = []
    for study, day in sorted(as_of_by_study.items()):
        clocks = replay(events_by_study[study], study, day)
        current = {ClockId.of(c): c for c in clocks if c.start_date is not None}
        silent = {c.key for c in clocks if c.state in SILENT_STATES}
        for identity, clock in current.items():
            if clock.state in SILENT_STATES:
                continue
            last = latest.get(identity)
            kind = None if last is None else last.kind
            if clock.state in (ClockState.BREACHED, ClockState.MISSED):
                ok = kind is AlertKind.BREACHED
            elif clock.state in (ClockState.RUNNING, ClockState.WAITING, ClockState.INVALID):
                ok = kind in (None, AlertKind.CLEARED)
            elif clock.state is ClockState.MET:
                ok = kind is not AlertKind.BREACHED
            else:
                ok = True  # at_risk: the contract leaves its last word open
            if not ok:
                problems.append(
                    f"{identity.format()} is {clock.state} as of {day}, last alert {last and last.format()}"
                )
        for identity in by_study.get(study, ()):
            last = latest[identity]
            if identity not in current and identity.key not in silent:
                if last.kind is not AlertKind.CLEARED:
                    problems.append(f"{identity.format()} is gone, last alert {last.format()}")
    return problems


def repeated_ids(alerts: Iterable[dict[str, Any]]) -> list[str]:
    seen: set[str] = set()
    repeated = []
    for alert in alerts:
        if alert["alert_id"] in seen:
            repeated.append(alert["alert_id"])
        seen.add(alert["alert_id"])
    return repeated
