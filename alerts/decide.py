"""Which alerts a study's clocks call for, given the alerts already raised.

Rules (CONTRACT.md section 3), applied each time a study is evaluated (after new events and
when the UK date changes). A clock is identified by `(site, kpi, start_date)`, so a corrected
start date makes a new clock and the old one's alerts can be cleared.

- `at_risk`: the clock is at_risk and has raised neither at_risk nor breached.
- `breached`: the clock is breached, or first seen already missed (late data).
- `cleared`: the clock raised at_risk or breached and a correction or retraction left it
  running, waiting, invalid or gone (its start date changed or was retracted); or it raised
  breached and is now met. An at_risk warning followed by an on-time stop is the good outcome,
  not a clearance, so it raises nothing.
- Excluded and stopped clocks raise nothing. Each kind at most once per clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from kpi.clocks import Clock, ClockState, Kpi, limit_days


class AlertKind(StrEnum):
    AT_RISK = "at_risk"
    BREACHED = "breached"
    CLEARED = "cleared"


SILENT_STATES = frozenset({ClockState.EXCLUDED, ClockState.STOPPED})
CLEARING_STATES = frozenset({ClockState.RUNNING, ClockState.WAITING, ClockState.INVALID})


def clock_identity(study_id: str, site_id: str | None, kpi: Kpi, start: date) -> str:
    return f"{study_id}/{site_id or '-'}/{kpi}/{start.isoformat()}"


def alert_id(identity: str, kind: AlertKind) -> str:
    return f"{identity}/{kind}"


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    kind: AlertKind
    kpi: Kpi
    study_id: str
    site_id: str | None
    sponsor_id: str | None
    start_date: date
    due_date: date
    stop_date: date | None
    elapsed_days: int | None
    limit_days: int
    as_of: date

    @property
    def key(self) -> str:
        """Message key on setup.alerts: the site, or the study for study clocks."""
        return self.site_id or self.study_id

    def to_json(self, *, raised_at: datetime) -> dict[str, object]:
        return {
            "alert_id": self.alert_id,
            "kind": self.kind.value,
            "kpi": self.kpi.value,
            "study_id": self.study_id,
            "site_id": self.site_id,
            "sponsor_id": self.sponsor_id,
            "start_date": self.start_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "stop_date": None if self.stop_date is None else self.stop_date.isoformat(),
            "elapsed_days": self.elapsed_days,
            "limit_days": self.limit_days,
            "as_of": self.as_of.isoformat(),
            "raised_at": raised_at.isoformat(),
        }


def decide_alerts(
    clocks: list[Clock],
    raised: frozenset[str] | set[str],
    *,
    sponsor_id: str | None,
    atimp: bool,
    as_of: date,
) -> list[Alert]:
    """New alerts for one study's clocks; `raised` holds the alert IDs already raised."""
    alerts: list[Alert] = []
    current: dict[str, Clock] = {}
    silent_keys: set[str] = set()
    for clock in clocks:
        if clock.state in SILENT_STATES:
            silent_keys.add(clock.key)
            continue
        if clock.start_date is None:
            continue
        identity = clock_identity(clock.study_id, clock.site_id, clock.kpi, clock.start_date)
        current[identity] = clock
        kind = _kind_for(clock.state, identity, raised)
        if kind is not None:
            alerts.append(_from_clock(clock, identity, kind, sponsor_id, as_of))

    for identity in _alerted_identities(raised):
        if identity in current or alert_id(identity, AlertKind.CLEARED) in raised:
            continue
        study_id, site, kpi_name, start_text = identity.rsplit("/", 3)
        if f"{site}/{kpi_name}" in silent_keys:
            continue
        # The clock this alert was about is gone: its start date was corrected or retracted.
        kpi = Kpi(kpi_name)
        start = date.fromisoformat(start_text)
        limit = limit_days(kpi, atimp=atimp)
        alerts.append(
            Alert(
                alert_id=alert_id(identity, AlertKind.CLEARED),
                kind=AlertKind.CLEARED,
                kpi=kpi,
                study_id=study_id,
                site_id=None if site == "-" else site,
                sponsor_id=sponsor_id,
                start_date=start,
                due_date=start + timedelta(limit),
                stop_date=None,
                elapsed_days=None,
                limit_days=limit,
                as_of=as_of,
            )
        )
    return alerts


def _kind_for(
    state: ClockState, identity: str, raised: frozenset[str] | set[str]
) -> AlertKind | None:
    def was(kind: AlertKind) -> bool:
        return alert_id(identity, kind) in raised

    if state is ClockState.AT_RISK and not (was(AlertKind.AT_RISK) or was(AlertKind.BREACHED)):
        return AlertKind.AT_RISK
    if state in (ClockState.BREACHED, ClockState.MISSED) and not was(AlertKind.BREACHED):
        return AlertKind.BREACHED
    alerted = was(AlertKind.AT_RISK) or was(AlertKind.BREACHED)
    if alerted and not was(AlertKind.CLEARED):
        if state in CLEARING_STATES or (state is ClockState.MET and was(AlertKind.BREACHED)):
            return AlertKind.CLEARED
    return None


def _alerted_identities(raised: frozenset[str] | set[str]) -> set[str]:
    suffixes = (f"/{AlertKind.AT_RISK.value}", f"/{AlertKind.BREACHED.value}")
    return {aid.rsplit("/", 1)[0] for aid in raised if aid.endswith(suffixes)}


def _from_clock(
    clock: Clock, identity: str, kind: AlertKind, sponsor_id: str | None, as_of: date
) -> Alert:
    assert clock.start_date is not None and clock.due_date is not None  # noqa: S101
    return Alert(
        alert_id=alert_id(identity, kind),
        kind=kind,
        kpi=clock.kpi,
        study_id=clock.study_id,
        site_id=clock.site_id,
        sponsor_id=sponsor_id,
        start_date=clock.start_date,
        due_date=clock.due_date,
        stop_date=clock.stop_date,
        elapsed_days=clock.elapsed_days,
        limit_days=clock.limit_days,
        as_of=as_of,
    )
