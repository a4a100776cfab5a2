"""From a study's facts on a day to its five kinds of KPI clock (CONTRACT.md section 2)."""

from __future__ import annotations

from datetime import date

from events.milestones import MilestoneKind
from kpi.clocks import (
    FLAG_MISSING_SITE_SELECTED,
    FLAG_STOP_BEFORE_START,
    Clock,
    ClockState,
    Kpi,
    classify,
    elapsed_days,
    limit_days,
)
from kpi.facts import SiteFacts, StudyFacts

M = MilestoneKind


def build_clocks(study_id: str, facts: StudyFacts, as_of: date) -> list[Clock]:
    """Study clocks first, then each site's (sites sorted by ID), in contract order."""
    recruited = [
        site.dates[M.FIRST_PARTICIPANT_RECRUITED]
        for site in facts.sites.values()
        if M.FIRST_PARTICIPANT_RECRUITED in site.dates
    ]
    clocks = study_clocks(study_id, facts, min(recruited) if recruited else None, as_of)
    for site_id in sorted(facts.sites):
        clocks += site_clocks(study_id, facts, site_id, facts.sites[site_id], as_of)
    return clocks


def study_clocks(
    study_id: str, facts: StudyFacts, first_recruited: date | None, as_of: date
) -> list[Clock]:
    """combined_review and study_setup; `first_recruited` is the earliest recruitment at any
    site of the study."""
    submitted = facts.dates.get(M.REGULATORY_SUBMITTED)
    return [
        _clock(study_id, facts, Kpi.COMBINED_REVIEW, submitted, facts.dates.get(M.REGULATORY_APPROVED), as_of),
        _clock(study_id, facts, Kpi.STUDY_SETUP, submitted, first_recruited, as_of),
    ]  # fmt: skip


def site_clocks(
    study_id: str, facts: StudyFacts, site_id: str, site: SiteFacts, as_of: date
) -> list[Clock]:
    """One site's three clocks; only the study's dates and attributes of `facts` are read."""
    hra = facts.dates.get(M.HRA_APPROVED)
    selected = site.dates.get(M.SITE_SELECTED)
    opened = site.dates.get(M.SITE_OPENED)
    recruited = site.dates.get(M.FIRST_PARTICIPANT_RECRUITED)
    # site_open waits for HRA approval; without a selection date it runs from approval.
    open_start = None if hra is None else max(hra, selected) if selected else hra
    open_flags = () if selected else (FLAG_MISSING_SITE_SELECTED,)
    return [
        _clock(study_id, facts, Kpi.SITE_OPEN, open_start, opened, as_of, site_id, site, open_flags),
        _clock(study_id, facts, Kpi.FIRST_PARTICIPANT, opened, recruited, as_of, site_id, site),
        _clock(study_id, facts, Kpi.APPROVAL_TO_FIRST_PARTICIPANT, hra, recruited, as_of, site_id, site),
    ]  # fmt: skip


def _clock(
    study_id: str,
    facts: StudyFacts,
    kpi: Kpi,
    start: date | None,
    stop: date | None,
    as_of: date,
    site_id: str | None = None,
    site: SiteFacts | None = None,
    flags: tuple[str, ...] = (),
) -> Clock:
    limit = limit_days(kpi, atimp=facts.atimp)
    ended = None if site is None else site.ended
    state = classify(
        start=start, stop=stop, limit=limit, as_of=as_of, excluded=facts.excluded, site_ended=ended
    )
    if state is ClockState.INVALID:
        flags = (*flags, FLAG_STOP_BEFORE_START)
    return Clock(
        study_id=study_id,
        kpi=kpi,
        site_id=site_id,
        state=state,
        start_date=start,
        stop_date=stop,
        elapsed_days=elapsed_days(state, start=start, stop=stop, as_of=as_of, site_ended=ended),
        limit_days=limit,
        flags=flags,
    )


def site_summary(site: SiteFacts, clocks: list[Clock]) -> dict[str, object]:
    """One site's `{stage, flags}` in the `sites` of the study-status message."""
    return {"stage": site.stage, "flags": sorted({flag for c in clocks for flag in c.flags})}
