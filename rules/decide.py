"""Which alerts a study's clocks call for, given the alert episodes each clock has had.

Rules (CONTRACT.md section 3, v1.2), applied each time a study is evaluated (after new events
and when the UK date changes). A clock is identified by `(study, site, kpi, start_date)`, so a
corrected start date makes a new clock and the old one's alerts can be cleared.

A clock's alerts come in episodes. An episode opens with `at_risk` or `breached` and stays
open until `cleared`; within one episode each kind is raised at most once.

- `at_risk`: the clock is at_risk and has no open episode.
- `breached`: the clock is breached, or first seen already missed (late data), and its open
  episode (if any) has not raised breached.
- `cleared`: the clock has an open episode and a correction, retraction or limit change left
  it running, waiting, invalid or gone (its start date changed or was retracted); or the
  episode raised breached and the clock is now met. An at_risk warning followed by an on-time
  stop is the good outcome: nothing is raised and the episode stays open.
- Excluded and stopped clocks raise nothing, not even `cleared`.

Alert IDs are `{clock}/{kind}` in a clock's first episode and `{clock}/{kind}/{n}` in its n-th,
so a clock breached again after a `cleared` is announced again under a new ID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from core.time import add_days
from kpi.clocks import Clock, ClockState, limit_days
from rules.ids import AlertFacets, AlertId, AlertKind, ClockId
from rules.record import AlertRecord

# The identities live in rules.ids; they are named here too for the modules that import them
# from where the rules are.
__all__ = [
    "CLEARING_STATES",
    "SILENT_STATES",
    "Alert",
    "AlertId",
    "AlertKind",
    "ClockId",
    "Episode",
    "Episodes",
    "decide_alerts",
    "record",
]


SILENT_STATES = frozenset({ClockState.EXCLUDED, ClockState.STOPPED})
CLEARING_STATES = frozenset({ClockState.RUNNING, ClockState.WAITING, ClockState.INVALID})


@dataclass(frozen=True, slots=True)
class Episode:
    """A clock's latest episode: its number, the kinds raised in it, and whether any alert
    of the clock (in any episode) was sent rather than held back."""

    number: int
    kinds: frozenset[AlertKind]
    announced: bool = True

    @property
    def open(self) -> bool:
        return AlertKind.CLEARED not in self.kinds

    def raised(self, kind: AlertKind) -> bool:
        return kind in self.kinds


Episodes = Mapping[ClockId, Episode]


def record(episodes: dict[ClockId, Episode], alerts: Iterable[Alert]) -> None:
    """Add raised alerts to the episodes (an alert of a new episode number starts it)."""
    for alert in alerts:
        current = episodes.get(alert.clock)
        announced = not alert.held or (current is not None and current.announced)
        if current is None or current.number != alert.episode:
            episodes[alert.clock] = Episode(alert.episode, frozenset({alert.kind}), announced)
        else:
            episodes[alert.clock] = Episode(current.number, current.kinds | {alert.kind}, announced)


@dataclass(frozen=True, slots=True)
class Alert(AlertFacets):
    id: AlertId
    sponsor_id: str | None
    due_date: date
    stop_date: date | None
    elapsed_days: int | None
    limit_days: int
    as_of: date
    held: bool = False  # raised, but held back: judged as of a day long past

    def to_record(self, *, raised_at: datetime) -> AlertRecord:
        """The alert as its `setup.alerts` message says it."""
        return AlertRecord(
            self.id,
            self.sponsor_id,
            self.due_date,
            self.stop_date,
            self.elapsed_days,
            self.limit_days,
            self.as_of,
            raised_at,
        )

    def to_json(self, *, raised_at: datetime) -> dict[str, object]:
        return self.to_record(raised_at=raised_at).to_json()


def decide_alerts(
    clocks: list[Clock],
    episodes: Episodes,
    *,
    sponsor_id: str | None,
    atimp: bool,
    as_of: date,
    hold_back_before: date | None = None,
) -> list[Alert]:
    """New alerts for one study's clocks, given each clock's latest episode.

    Alerts judged as of a day before `hold_back_before` (replayed history) are marked held,
    unless their clock was announced before: once a site has heard of a clock, it hears
    every later alert about it, so the last alert it was sent stays true.
    """
    held = hold_back_before is not None and as_of < hold_back_before
    alerts: list[Alert] = []
    current: set[ClockId] = set()
    silent_keys: set[str] = set()
    for clock in clocks:
        if clock.state in SILENT_STATES:
            silent_keys.add(clock.key)
            continue
        if clock.start_date is None:
            continue
        identity = ClockId.of(clock)
        current.add(identity)
        alert_id = _next_alert(clock.state, identity, episodes.get(identity))
        if alert_id is not None:
            assert clock.due_date is not None  # noqa: S101 - started clocks have one
            alerts.append(
                Alert(
                    alert_id,
                    sponsor_id,
                    clock.due_date,
                    clock.stop_date,
                    clock.elapsed_days,
                    clock.limit_days,
                    as_of,
                    held=held and not _announced(episodes.get(identity)),
                )
            )

    for identity, episode in sorted(episodes.items(), key=lambda item: item[0].format()):
        if identity in current or not episode.open or identity.key in silent_keys:
            continue
        # The clock this episode was about is gone: its start date was corrected or retracted.
        limit = limit_days(identity.kpi, atimp=atimp)
        alerts.append(
            Alert(
                AlertId(identity, AlertKind.CLEARED, episode.number),
                sponsor_id,
                add_days(identity.start_date, limit),
                stop_date=None,
                elapsed_days=None,
                limit_days=limit,
                as_of=as_of,
                held=held and not episode.announced,
            )
        )
    return alerts


def _announced(episode: Episode | None) -> bool:
    return episode is not None and episode.announced


def _next_alert(state: ClockState, identity: ClockId, episode: Episode | None) -> AlertId | None:
    is_open = episode is not None and episode.open
    if state in (ClockState.AT_RISK, ClockState.BREACHED, ClockState.MISSED):
        kind = AlertKind.AT_RISK if state is ClockState.AT_RISK else AlertKind.BREACHED
        if not is_open:
            number = 1 if episode is None else episode.number + 1
            return AlertId(identity, kind, number)
        assert episode is not None  # noqa: S101 - is_open
        if kind is AlertKind.BREACHED and not episode.raised(AlertKind.BREACHED):
            return AlertId(identity, kind, episode.number)
        return None  # at_risk is never raised in an episode that has an alert already
    if not is_open:
        return None
    assert episode is not None  # noqa: S101 - is_open
    if state in CLEARING_STATES or (
        state is ClockState.MET and episode.raised(AlertKind.BREACHED)
    ):
        return AlertId(identity, AlertKind.CLEARED, episode.number)
    return None
