"""A small hand-made sample the report and publication tests share (no tests of its own).

Period January-March 2026 (previous: October-December 2025), clocks as of 10 April 2026.
Sites: RF7 and RXX in London, RYY in the North West. The expected figures in the tests are
worked out by hand from the comments here.
"""

from __future__ import annotations

from datetime import date, timedelta

from reports.inputs import ClockRow, EntryDelay, ReportInput, SiteInfo
from reports.scope import Period

AS_OF = date(2026, 4, 10)
PERIOD = Period(date(2026, 1, 1), date(2026, 3, 31))
LIMITS = {
    "site_open": 60,
    "first_participant": 30,
    "approval_to_first_participant": 90,
    "combined_review": 60,
    "study_setup": 150,
}
SITES = {
    "RF7": SiteInfo("RF7", "Barts Health & Partners", "London"),
    "RXX": SiteInfo("RXX", "Other London Trust", "London"),
    "RYY": SiteInfo("RYY", "Northern Trust", "North West"),
}


def day(text: str) -> date:
    return date.fromisoformat(text)


def clock(
    study: str,
    site: str | None,
    kpi: str,
    state: str,
    start: str | None,
    stop: str | None = None,
    *,
    flags: tuple[str, ...] = (),
    sponsor: str | None = None,
    limit: int | None = None,
    elapsed: int | None = None,
) -> ClockRow:
    """A clock as `evaluate` would show it; elapsed days worked out unless given."""
    begin = day(start) if start else None
    end = day(stop) if stop else None
    limit = limit or LIMITS[kpi]
    if elapsed is None and begin is not None and state != "stopped":
        elapsed = ((end or AS_OF) - begin).days
    return ClockRow(
        study,
        site,
        kpi,
        state,
        begin,
        end,
        None if begin is None else begin + timedelta(limit),
        elapsed,
        limit,
        flags,
        sponsor,
    )


def sample_clocks() -> list[ClockRow]:
    return [
        # RF7 site_open in the period: met 40, 31, 58 days; missed 120 -> 3/4 = 75.0%, median 49
        clock("CPMS-1", "RF7", "site_open", "met", "2026-01-01", "2026-02-10", sponsor="SP-ONE"),
        clock("CPMS-2", "RF7", "site_open", "met", "2025-12-01", "2026-01-01"),  # first day
        clock("CPMS-3", "RF7", "site_open", "met", "2026-02-01", "2026-03-31"),  # last day
        clock(
            "CPMS-4",
            "RF7",
            "site_open",
            "missed",
            "2025-11-01",
            "2026-03-01",
            flags=("missing_site_selected",),
        ),
        # RF7 site_open in the previous period: one missed, one met -> 50.0%
        clock("CPMS-5", "RF7", "site_open", "missed", "2025-08-01", "2025-12-31"),
        clock("CPMS-6", "RF7", "site_open", "met", "2025-10-01", "2025-11-20"),
        # after the period, still open, or in no figure at all
        clock("CPMS-7", "RF7", "site_open", "met", "2026-03-01", "2026-04-01"),
        clock("CPMS-8", "RF7", "site_open", "running", "2026-03-20"),  # 21 days
        clock("CPMS-9", "RF7", "site_open", "breached", "2026-01-05"),  # 95 days, 35 over
        clock("CPMS-10", "RF7", "site_open", "stopped", "2026-01-10", elapsed=20),
        clock("CPMS-11", "RF7", "site_open", "excluded", "2026-01-10", "2026-02-01"),
        clock("CPMS-12", "RF7", "site_open", "waiting", None),
        clock(
            "CPMS-1",
            "RF7",
            "approval_to_first_participant",
            "invalid",
            "2026-02-10",
            "2026-02-01",
            flags=(),
        ),
        # London's other site: one missed (78 days) -> London 3/5 = 60.0%
        clock("CPMS-13", "RXX", "site_open", "missed", "2026-01-01", "2026-03-20"),
        # North West: two met (31, 20 days) -> England 5/7 = 71.4%
        clock("CPMS-14", "RYY", "site_open", "met", "2026-01-10", "2026-02-10"),
        clock("CPMS-15", "RYY", "site_open", "met", "2026-02-01", "2026-02-21"),
        # study level: CPMS-1 has a London site; CPMS-14 only a North West one
        clock(
            "CPMS-1", None, "combined_review", "met", "2025-12-20", "2026-02-03", sponsor="SP-ONE"
        ),  # 45 days
        clock(
            "CPMS-1", None, "study_setup", "missed", "2025-10-10", "2026-03-19", sponsor="SP-ONE"
        ),  # 160 days
        clock("CPMS-14", None, "combined_review", "missed", "2025-11-10", "2026-01-19"),  # 70
    ]


def sample_entries() -> list[EntryDelay]:
    def entry(site: str, milestone: str, happened: str, late: int) -> EntryDelay:
        return EntryDelay("CPMS-1", site, milestone, day(happened), day(happened) + timedelta(late))

    return [
        # RF7 site_opened recorded in the period: 0, 3, 10, 40 days late
        entry("RF7", "site_opened", "2026-01-05", 0),
        entry("RF7", "site_opened", "2026-01-05", 3),
        entry("RF7", "site_opened", "2026-02-01", 10),
        entry("RF7", "site_opened", "2026-02-01", 40),
        entry("RF7", "site_selected", "2026-02-01", 1),
        entry("RF7", "site_opened", "2026-03-30", 5),  # recorded in April: not counted
        entry("RYY", "site_opened", "2026-02-01", 90),  # another site
    ]


def sample(*, entries: bool = True) -> ReportInput:
    return ReportInput(
        AS_OF,
        sample_clocks(),
        sample_entries() if entries else [],
        SITES,
        "hand-made sample (19 clocks)",
    )
