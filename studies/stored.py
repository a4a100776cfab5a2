"""A study state's stored form (format 2), written from per-part shares and read back.

A share is one part's versions, alert episodes and reported fingerprints as JSON without
brackets; the state caches each part's share until the part changes, so writing a study back
after an event costs what its changed parts cost, not the whole study.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

from core.codec import dumps, exact
from events.milestones import MilestoneKind
from kpi.versions import Version, VersionList
from rules.decide import AlertId, AlertKind, ClockId, Episode

STATE_FORMAT = 2  # 2: alert episodes; format 1 (a set of raised alert IDs) is still read

Share = tuple[bytes, bytes, bytes]


def share(
    part: str,
    milestones: Mapping[MilestoneKind, VersionList],
    episodes: Mapping[ClockId, Episode],
    reported: Mapping[str, str],
) -> Share:
    versions = [
        [part, milestone.value, *version.to_row()]
        for milestone, versions in sorted(milestones.items())
        for version in versions
    ]
    episode_rows = sorted(
        [identity.format(), episode.number, sorted(episode.kinds), episode.announced]
        for identity, episode in episodes.items()
    )
    return (
        exact(dumps(versions)[1:-1]),
        exact(dumps(episode_rows)[1:-1]),
        exact(dumps(dict(reported))[1:-1]),
    )


def assemble(
    study_id: str, reported_sponsor: str | None, evaluated_on: date | None, shares: list[Share]
) -> bytes:
    versions, episodes, reported = (
        b",".join(share[n] for share in shares if share[n]) for n in range(3)
    )
    head = dumps(
        {
            "format": STATE_FORMAT,
            "study_id": study_id,
            "reported_sponsor": reported_sponsor,
            "evaluated_on": None if evaluated_on is None else evaluated_on.isoformat(),
        }
    )[:-1]
    return (
        head
        + b',"versions":['
        + versions
        + b'],"episodes":['
        + episodes
        + b'],"reported":{'
        + reported
        + b"}}"
    )


def read_versions(data: dict[str, object]) -> Iterator[tuple[str, MilestoneKind, list[Version]]]:
    """Each part's milestones with their versions."""
    grouped: dict[tuple[str, MilestoneKind], list[Version]] = {}
    rows = data["versions"]
    assert isinstance(rows, list)  # noqa: S101
    for part, milestone, *row in rows:
        grouped.setdefault((part, MilestoneKind(milestone)), []).append(Version.from_row(row))
    for (part, milestone), versions in grouped.items():
        yield part, milestone, versions


def read_reported(data: dict[str, object]) -> dict[str, str]:
    reported = data["reported"]
    assert isinstance(reported, dict)  # noqa: S101
    return reported


def read_episodes(data: dict[str, object]) -> dict[ClockId, Episode]:
    if data["format"] == 1:
        # Format 1 kept the IDs raised, each kind once per clock: one episode each.
        raised = data["raised"]
        assert isinstance(raised, list)  # noqa: S101
        episodes: dict[ClockId, Episode] = {}
        for text in raised:
            alert_id = AlertId.parse(text)
            kinds = episodes.get(alert_id.clock, Episode(1, frozenset())).kinds
            # whether it was held back was not kept: take it as sent, so later ones are too
            episodes[alert_id.clock] = Episode(1, kinds | {alert_id.kind}, announced=True)
        return episodes
    rows = data["episodes"]
    assert isinstance(rows, list)  # noqa: S101
    return {
        ClockId.parse(identity): Episode(number, frozenset(AlertKind(k) for k in kinds), announced)
        for identity, number, kinds, announced in rows
    }
