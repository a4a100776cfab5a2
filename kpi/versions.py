"""Versions of one milestone and which one wins (CONTRACT.md section 1, corrections).

For one `(study_id, site_id, milestone)` the event with the latest `recorded_at` wins,
whatever the arrival order; ties go to the greater `event_id`. A winning retraction means
the milestone has no date. Every version is kept, sorted by that rank, so that:
- the result never depends on arrival order (insertion keeps the list sorted);
- a replay as of an earlier day sees only what was recorded by then: because the UK day of
  a later instant is never earlier, the versions known on a day are a prefix of the list.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from events.milestones import Milestone

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True, order=True)
class Version:
    # Field order is the ranking order: recorded_at instant, then event_id.
    recorded_at_us: int
    event_id: str
    recorded_day: int = field(compare=False)  # UK date ordinal of recorded_at
    date: int | None = field(compare=False)  # date ordinal; None when retracted
    attributes: dict[str, object] | None = field(compare=False, default=None)

    @classmethod
    def of(cls, event: Milestone) -> Version:
        return cls(
            recorded_at_us=epoch_micros(event.recorded_at),
            event_id=event.event_id,
            recorded_day=event.recorded_day.toordinal(),
            date=None if event.retract else event.date.toordinal(),
            attributes=None if event.attributes is None else event.attributes.to_json(),
        )

    def to_row(self) -> list[object]:
        return [self.recorded_at_us, self.event_id, self.recorded_day, self.date, self.attributes]

    @classmethod
    def from_row(cls, row: list[object]) -> Version:
        recorded_at_us, event_id, recorded_day, day, attributes = row
        assert isinstance(recorded_at_us, int) and isinstance(event_id, str)  # noqa: S101
        assert isinstance(recorded_day, int)  # noqa: S101
        assert day is None or isinstance(day, int)  # noqa: S101
        assert attributes is None or isinstance(attributes, dict)  # noqa: S101
        return cls(recorded_at_us, event_id, recorded_day, day, attributes)


class VersionList:
    """All versions of one milestone, sorted by rank (latest last)."""

    __slots__ = ("_days", "_versions")

    def __init__(self, versions: list[Version] | None = None) -> None:
        self._versions: list[Version] = sorted(versions or [])
        self._days = [version.recorded_day for version in self._versions]

    def add(self, version: Version) -> bool:
        """Insert; True when the new version is now the latest (it wins today)."""
        insort(self._versions, version)
        self._days = [v.recorded_day for v in self._versions]
        return self._versions[-1] is version

    def winner(self, as_of: date) -> Version | None:
        """The winning version among those recorded on or before `as_of` (UK days)."""
        known = bisect_right(self._days, as_of.toordinal())
        return self._versions[known - 1] if known else None

    def __iter__(self) -> Iterator[Version]:
        return iter(self._versions)

    def __len__(self) -> int:
        return len(self._versions)
