"""The milestone contract (CONTRACT.md section 1): model, codec, validation, dead letters."""

from events.milestones import (
    SITE_MILESTONES,
    STUDY_MILESTONES,
    Milestone,
    MilestoneKind,
    StudyAttributes,
)
from events.validation import Rejection, RejectReason, validate_event

__all__ = [
    "SITE_MILESTONES",
    "STUDY_MILESTONES",
    "Milestone",
    "MilestoneKind",
    "RejectReason",
    "Rejection",
    "StudyAttributes",
    "validate_event",
]
