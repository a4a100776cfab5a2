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
    submitted = facts.dates.get(M.REGULATORY_SUBMITTED)
    hra = facts.dates.get(M.HRA_APPROVED)
    recruited = [
        site.dates[M.FIRST_PARTICIPANT_RECRUITED]
        for site in facts.sites.values()
        if M.FIRST_PARTICIPANT_RECRUITED in site.dates
    ]

    def make(
        kpi: Kpi,
        start: date | None,
        stop: date | None,
        site_id: str | None = None,
        site: SiteFacts | None = None,
        flags: tuple[str, ...] = (),
    ) -> Clock:
        limit = limit_days(kpi, atimp=facts.atimp)
        ended = None if site is None else site.ended
        state = classify(
            start=start,
            stop=stop,
            limit=limit,
            as_of=as_of,
            excluded=facts.excluded,
            site_ended=ended,
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

    clocks = [
        make(Kpi.COMBINED_REVIEW, submitted, facts.dates.get(M.REGULATORY_APPROVED)),
        make(Kpi.STUDY_SETUP, submitted, min(recruited) if recruited else None),
    ]
    for site_id in sorted(facts.sites):
        site = facts.sites[site_id]
        selected = site.dates.get(M.SITE_SELECTED)
        opened = site.dates.get(M.SITE_OPENED)
        site_recruited = site.dates.get(M.FIRST_PARTICIPANT_RECRUITED)
        # site_open waits for HRA approval; without a selection date it runs from approval.
        open_start = None if hra is None else max(hra, selected) if selected else hra
        open_flags = () if selected else (FLAG_MISSING_SITE_SELECTED,)
        clocks += [
            make(Kpi.SITE_OPEN, open_start, opened, site_id, site, open_flags),
            make(Kpi.FIRST_PARTICIPANT, opened, site_recruited, site_id, site),
            make(Kpi.APPROVAL_TO_FIRST_PARTICIPANT, hra, site_recruited, site_id, site),
        ]
    return clocks


def site_summaries(facts: StudyFacts, clocks: list[Clock]) -> dict[str, dict[str, object]]:
    """`sites: {site_id: {stage, flags}}` of the study-status message."""
    flags: dict[str, set[str]] = {site_id: set() for site_id in facts.sites}
    for clock in clocks:
        if clock.site_id is not None:
            flags[clock.site_id].update(clock.flags)
    return {
        site_id: {"stage": facts.sites[site_id].stage, "flags": sorted(flags[site_id])}
        for site_id in sorted(facts.sites)
    }
