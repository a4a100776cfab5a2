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
from datetime import date, datetime, timedelta
from enum import StrEnum

from kpi.clocks import Clock, ClockState, Kpi, limit_days


class AlertKind(StrEnum):
    AT_RISK = "at_risk"
    BREACHED = "breached"
    CLEARED = "cleared"


SILENT_STATES = frozenset({ClockState.EXCLUDED, ClockState.STOPPED})
CLEARING_STATES = frozenset({ClockState.RUNNING, ClockState.WAITING, ClockState.INVALID})


@dataclass(frozen=True, slots=True)
class ClockId:
    """One clock of one study: `{study_id}/{site_id or '-'}/{kpi}/{start_date}`."""

    study_id: str
    site_id: str | None
    kpi: Kpi
    start_date: date

    def format(self) -> str:
        return f"{self.study_id}/{self.site_id or '-'}/{self.kpi}/{self.start_date.isoformat()}"

    @classmethod
    def parse(cls, text: str) -> ClockId:
        study_id, site, kpi, start = text.split("/")
        return cls(study_id, None if site == "-" else site, Kpi(kpi), date.fromisoformat(start))

    @classmethod
    def of(cls, clock: Clock) -> ClockId:
        assert clock.start_date is not None  # noqa: S101 - only started clocks alert
        return cls(clock.study_id, clock.site_id, clock.kpi, clock.start_date)

    @property
    def key(self) -> str:
        """The clock's place in its study, whatever its start date (`Clock.key`)."""
        return f"{self.site_id or '-'}/{self.kpi}"


@dataclass(frozen=True, slots=True)
class AlertId:
    """`{clock}/{kind}` in the first episode, `{clock}/{kind}/{episode}` from the second."""

    clock: ClockId
    kind: AlertKind
    episode: int = 1

    def format(self) -> str:
        base = f"{self.clock.format()}/{self.kind}"
        return base if self.episode == 1 else f"{base}/{self.episode}"

    @classmethod
    def parse(cls, text: str) -> AlertId:
        """The inverse of `format`; ValueError for anything else."""
        parts = text.split("/")
        if len(parts) == 6:
            *clock, kind, episode_text = parts
            episode = int(episode_text)
            if episode < 2 or episode_text != str(episode):
                raise ValueError(f"not an alert ID: {text!r}")
        elif len(parts) == 5:
            *clock, kind = parts
            episode = 1
        else:
            raise ValueError(f"not an alert ID: {text!r}")
        return cls(ClockId.parse("/".join(clock)), AlertKind(kind), episode)


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
class Alert:
    id: AlertId
    sponsor_id: str | None
    due_date: date
    stop_date: date | None
    elapsed_days: int | None
    limit_days: int
    as_of: date
    held: bool = False  # raised, but held back: judged as of a day long past

    @property
    def alert_id(self) -> str:
        return self.id.format()

    @property
    def clock(self) -> ClockId:
        return self.id.clock

    @property
    def kind(self) -> AlertKind:
        return self.id.kind

    @property
    def episode(self) -> int:
        return self.id.episode

    @property
    def kpi(self) -> Kpi:
        return self.id.clock.kpi

    @property
    def study_id(self) -> str:
        return self.id.clock.study_id

    @property
    def site_id(self) -> str | None:
        return self.id.clock.site_id

    @property
    def start_date(self) -> date:
        return self.id.clock.start_date

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
                identity.start_date + timedelta(limit),
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
