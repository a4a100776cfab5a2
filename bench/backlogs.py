"""Backlogs for `make bench`: the simulator's national mix, and studies of a fixed size."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from core.codec import dumps
from setupmon.simulator import entered_on, plan_events
from setupmon.sites import read_sites

DAY = date(2025, 6, 1)
SITES = Path(__file__).resolve().parents[1] / "deploy" / "sites" / "sample-sites.csv"
# Each site's milestones, in days from HRA approval: opened on day 70 (over 60) and the first
# participant 35 days after opening (over 30), as most sites do (DOMAIN.md).
SITE_MILESTONES = (
    ("site_invited", -20),
    ("site_selected", -10),
    ("site_confirmed", 60),
    ("site_opened", 70),
    ("first_participant_consented", 100),
    ("first_participant_recruited", 105),
)

Messages = list[tuple[bytes, bytes]]


def national(studies: int) -> Messages:
    """The simulator's studies (3 to 12 of 200 sites each), all entered on DAY."""
    site_ids = [site.site_id for site in read_sites(SITES)]
    planned = plan_events(
        site_ids, studies=studies, first_day=DAY - timedelta(300), span_days=200, seed=11
    )
    return entered_on(planned, DAY)


def site_code(number: int) -> str:
    """A synthetic ODS-like site code (`S0001`), valid for the contract's site_id."""
    return f"S{number:04d}"


def sized_studies(sites_per_study: int, events: int, *, site_pool: int = 1000) -> Messages:
    """Studies of exactly `sites_per_study` sites, about `events` events in all, each study's
    events in recorded order, all recorded on DAY (every site misses both of its limits)."""
    per_study = 4 + 6 * sites_per_study
    studies = max(1, round(events / per_study))
    start = datetime.combine(DAY, time(7, 0), UTC)
    messages: Messages = []

    def emit(study_id: str, milestone: str, day: date, site: str | None = None, **extra: object) -> None:
        event: dict[str, object] = {
            "event_id": f"{study_id}-{len(messages)}",
            "study_id": study_id,
            "milestone": milestone,
            "date": day.isoformat(),
            "recorded_at": (start + timedelta(seconds=len(messages))).isoformat(),
            "source": f"edge:{site}" if site else "cpms",
            **extra,
        }
        if site:
            event["site_id"] = site
        messages.append((study_id.encode(), dumps(event)))

    hra = DAY - timedelta(days=200)
    for number in range(studies):
        study = f"CPMS-{70000 + number}"
        emit(study, "study_registered", hra - timedelta(60), attributes={"sponsor_id": "bench"})
        emit(study, "regulatory_submitted", hra - timedelta(50))
        emit(study, "regulatory_approved", hra - timedelta(5))
        emit(study, "hra_approved", hra)
        for index in range(sites_per_study):
            site = site_code((number * sites_per_study + index) % site_pool)
            for milestone, days in SITE_MILESTONES:
                emit(study, milestone, hra + timedelta(days=days + index % 7), site)
    return messages
