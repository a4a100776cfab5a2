"""What is known about a study on a given day: the winning date of every milestone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from events.milestones import MilestoneKind, StudyAttributes
from kpi.versions import VersionList

M = MilestoneKind

# A site's stage is its furthest milestone along this path (withdrawn/closed override it).
SITE_PATH = (
    M.SITE_INVITED,
    M.SITE_SELECTED,
    M.SITE_CONFIRMED,
    M.SITE_OPENED,
    M.FIRST_PARTICIPANT_CONSENTED,
    M.FIRST_PARTICIPANT_RECRUITED,
)


@dataclass(slots=True)
class SiteFacts:
    dates: dict[MilestoneKind, date] = field(default_factory=dict)

    @property
    def ended(self) -> date | None:
        """The day the site stopped taking part (withdrawn or closed), the earlier if both."""
        ends = [self.dates[m] for m in (M.SITE_WITHDRAWN, M.SITE_CLOSED) if m in self.dates]
        return min(ends) if ends else None

    @property
    def stage(self) -> str:
        if M.SITE_CLOSED in self.dates:
            return M.SITE_CLOSED.value
        if M.SITE_WITHDRAWN in self.dates:
            return M.SITE_WITHDRAWN.value
        reached = [m for m in SITE_PATH if m in self.dates]
        return reached[-1].value if reached else "none"


@dataclass(slots=True)
class StudyFacts:
    attributes: StudyAttributes | None
    dates: dict[MilestoneKind, date]
    sites: dict[str, SiteFacts]

    @property
    def sponsor_id(self) -> str | None:
        return None if self.attributes is None else self.attributes.sponsor_id

    @property
    def excluded(self) -> bool:
        return self.attributes is not None and self.attributes.excluded_reason is not None

    @property
    def atimp(self) -> bool:
        return self.attributes is not None and self.attributes.atimp


Parts = dict[str, dict[MilestoneKind, VersionList]]  # "" = the study's own milestones


def facts_as_of(parts: Parts, as_of: date) -> StudyFacts:
    """Winning dates as known on `as_of`. A site exists once one of its milestones has a date."""
    attributes, dates = study_dates(parts.get("", {}), as_of)
    sites = {}
    for site_id, versions in parts.items():
        if site_id:
            site = site_facts(versions, as_of)
            if site is not None:
                sites[site_id] = site
    return StudyFacts(attributes=attributes, dates=dates, sites=sites)


def study_dates(
    versions: dict[MilestoneKind, VersionList], as_of: date
) -> tuple[StudyAttributes | None, dict[MilestoneKind, date]]:
    """The study's own winning dates on `as_of`, and its registration's attributes."""
    attributes: StudyAttributes | None = None
    dates: dict[MilestoneKind, date] = {}
    for milestone, version_list in versions.items():
        winner = version_list.winner(as_of)
        if winner is None or winner.date is None:
            continue
        dates[milestone] = date.fromordinal(winner.date)
        if milestone is M.STUDY_REGISTERED and winner.attributes is not None:
            attributes = StudyAttributes.from_json(winner.attributes)
    return attributes, dates


def site_facts(versions: dict[MilestoneKind, VersionList], as_of: date) -> SiteFacts | None:
    """One site's winning dates on `as_of`; None while none of its milestones has a date."""
    dates = {}
    for milestone, version_list in versions.items():
        winner = version_list.winner(as_of)
        if winner is not None and winner.date is not None:
            dates[milestone] = date.fromordinal(winner.date)
    return SiteFacts(dates) if dates else None
