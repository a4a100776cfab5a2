"""`setupmon evaluate`: replay a file of milestone events and print every clock as of a day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from events.milestones import Milestone
from events.validation import Rejection, validate_event
from studies.state import StudyState


def evaluate_lines(lines: Iterable[bytes], as_of: date) -> dict[str, object]:
    """The document `setupmon evaluate` prints (CONTRACT.md section 5).

    Lines are numbered from 1; blank lines are skipped. Every invalid line is listed whatever
    `as_of` is; valid events recorded on a later UK day than `as_of` are ignored.
    """
    studies: dict[str, StudyState] = {}
    rejected: list[dict[str, object]] = []
    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        result = validate_event(raw)
        if isinstance(result, Rejection):
            rejected.append({"line": number, "error": result.reason.value, "detail": result.detail})
            continue
        if _known_by(result, as_of):
            studies.setdefault(result.study_id, StudyState(result.study_id)).apply(result)
    clocks = [
        clock.to_json(with_study=True)
        for study_id in sorted(studies)
        for clock in studies[study_id].clocks(as_of)
    ]
    return {"as_of": as_of.isoformat(), "clocks": clocks, "rejected": rejected}


def _known_by(event: Milestone, as_of: date) -> bool:
    return event.recorded_day <= as_of


def evaluate_file(path: Path, as_of: date) -> dict[str, object]:
    with path.open("rb") as handle:
        return evaluate_lines(handle, as_of)
