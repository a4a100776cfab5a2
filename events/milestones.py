"""The typed milestone event of CONTRACT.md section 1."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class MilestoneKind(StrEnum):
    # study milestones (no site_id)
    STUDY_REGISTERED = "study_registered"
    REGULATORY_SUBMITTED = "regulatory_submitted"
    REGULATORY_APPROVED = "regulatory_approved"
    HRA_APPROVED = "hra_approved"
    # site milestones (site_id required)
    SITE_INVITED = "site_invited"
    SITE_SELECTED = "site_selected"
    SITE_CONFIRMED = "site_confirmed"
    SITE_OPENED = "site_opened"
    FIRST_PARTICIPANT_CONSENTED = "first_participant_consented"
    FIRST_PARTICIPANT_RECRUITED = "first_participant_recruited"
    SITE_WITHDRAWN = "site_withdrawn"
    SITE_CLOSED = "site_closed"


STUDY_MILESTONES = frozenset(
    {
        MilestoneKind.STUDY_REGISTERED,
        MilestoneKind.REGULATORY_SUBMITTED,
        MilestoneKind.REGULATORY_APPROVED,
        MilestoneKind.HRA_APPROVED,
    }
)
SITE_MILESTONES = frozenset(set(MilestoneKind) - STUDY_MILESTONES)


@dataclass(frozen=True, slots=True)
class StudyAttributes:
    """`study_registered.attributes`."""

    sponsor_id: str
    title: str | None = None
    commercial: bool = True
    ctimp: bool = True
    atimp: bool = False
    excluded_reason: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "sponsor_id": self.sponsor_id,
            "title": self.title,
            "commercial": self.commercial,
            "ctimp": self.ctimp,
            "atimp": self.atimp,
            "excluded_reason": self.excluded_reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StudyAttributes:
        return cls(
            sponsor_id=str(data["sponsor_id"]),
            title=_opt_str(data.get("title")),
            commercial=bool(data.get("commercial", True)),
            ctimp=bool(data.get("ctimp", True)),
            atimp=bool(data.get("atimp", False)),
            excluded_reason=_opt_str(data.get("excluded_reason")),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Milestone:
    """One valid milestone event. `recorded_day` is the UK date of `recorded_at`."""

    event_id: str
    study_id: str
    milestone: MilestoneKind
    date: dt.date
    recorded_at: dt.datetime
    recorded_day: dt.date
    source: str
    site_id: str | None = None
    retract: bool = False
    attributes: StudyAttributes | None = None

    @property
    def is_site_milestone(self) -> bool:
        return self.milestone in SITE_MILESTONES

    def to_json(self) -> dict[str, object]:
        """The wire form (CONTRACT.md section 1); optional fields only when set."""
        out: dict[str, object] = {
            "event_id": self.event_id,
            "study_id": self.study_id,
            "milestone": self.milestone.value,
            "date": self.date.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "source": self.source,
        }
        if self.site_id is not None:
            out["site_id"] = self.site_id
        if self.retract:
            out["retract"] = True
        if self.attributes is not None:
            attrs = {k: v for k, v in self.attributes.to_json().items() if v is not None}
            out["attributes"] = attrs
        return out
