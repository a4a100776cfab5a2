"""The identities alerts are about: a clock (`ClockId`) and an alert (`AlertId`).

Each has one text form (CONTRACT.md section 3), written by `format` and read back by `parse`;
`parse` accepts only what `format` writes and raises ValueError for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kpi.clocks import Clock, Kpi


class AlertKind(StrEnum):
    AT_RISK = "at_risk"
    BREACHED = "breached"
    CLEARED = "cleared"


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
        """The inverse of `format`; ValueError for anything else."""
        try:
            study_id, site, kpi, start = text.split("/")
            identity = cls(
                study_id, None if site == "-" else site, Kpi(kpi), date.fromisoformat(start)
            )
        except ValueError:
            raise ValueError(f"not a clock ID: {text!r}") from None
        # fromisoformat also reads other spellings of a date (20250131): only ours round-trip
        if identity.format() != text:
            raise ValueError(f"not a clock ID: {text!r}")
        return identity

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
            episode = int(episode_text) if episode_text.isdecimal() else 0
            if episode < 2 or episode_text != str(episode):
                raise ValueError(f"not an alert ID: {text!r}")
        elif len(parts) == 5:
            *clock, kind = parts
            episode = 1
        else:
            raise ValueError(f"not an alert ID: {text!r}")
        try:
            return cls(ClockId.parse("/".join(clock)), AlertKind(kind), episode)
        except ValueError as exc:
            raise ValueError(f"not an alert ID: {text!r} ({exc})") from None


class AlertFacets:
    """What an alert's ID says about it, read out: shared by the decided alert
    (`rules.decide.Alert`) and its message (`rules.record.AlertRecord`)."""

    __slots__ = ()
    id: AlertId

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
