"""Report scope and period: whom a report counts and which days."""

from __future__ import annotations

from datetime import date

import pytest

from reports.inputs import ClockRow, EntryDelay, SiteInfo
from reports.scope import Period, Scope, default_period

SITES = {
    "RF7": SiteInfo("RF7", "Barts University Hospitals NHS Foundation Trust", "London"),
    "RGT": SiteInfo("RGT", "Cambridge University Hospitals", "East of England"),
}


def test_default_period_is_the_last_six_full_months_before_this_month() -> None:
    assert default_period(date(2026, 11, 30)) == Period(date(2026, 5, 1), date(2026, 10, 31))
    assert default_period(date(2026, 1, 1)) == Period(date(2025, 7, 1), date(2025, 12, 31))


def test_previous_period_of_whole_months_is_the_same_months_before() -> None:
    assert Period(date(2026, 1, 1), date(2026, 6, 30)).previous() == Period(
        date(2025, 7, 1), date(2025, 12, 31)
    )
    # February's previous is January (a month), not the 28 days before it.
    assert Period(date(2026, 2, 1), date(2026, 2, 28)).previous() == Period(
        date(2026, 1, 1), date(2026, 1, 31)
    )


def test_previous_period_of_loose_days_is_the_same_number_of_days_before() -> None:
    assert Period(date(2026, 1, 10), date(2026, 1, 19)).previous() == Period(
        date(2025, 12, 31), date(2026, 1, 9)
    )


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="after it ends"):
        Period(date(2026, 3, 2), date(2026, 3, 1))


def test_months_are_clipped_to_the_period() -> None:
    assert Period(date(2026, 1, 15), date(2026, 3, 10)).months() == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 10)),
    ]


def test_period_includes_both_ends() -> None:
    period = Period(date(2026, 1, 1), date(2026, 1, 31))
    assert date(2026, 1, 1) in period and date(2026, 1, 31) in period
    assert date(2025, 12, 31) not in period and date(2026, 2, 1) not in period


def test_scopes_include_their_sites_only() -> None:
    site, london, england = Scope("site", "RF7"), Scope("region", "london"), Scope("england")
    assert site.includes("RF7", SITES) and not site.includes("RGT", SITES)
    assert london.includes("RF7", SITES) and not london.includes("RGT", SITES)
    assert not london.includes("ZZZ", SITES)  # an unregistered site is in region "unknown"
    assert Scope("region", "unknown").includes("ZZZ", SITES)
    # Study-level clocks (no site) belong to England only.
    assert england.includes(None, SITES) and not site.includes(None, SITES)
    assert not london.includes(None, SITES)


def test_scope_titles_name_the_trust_region_or_england() -> None:
    assert (
        Scope("site", "RF7").title(SITES) == "Barts University Hospitals NHS Foundation Trust (RF7)"
    )
    assert Scope("site", "ZZZ").title(SITES) == "Site ZZZ"
    assert Scope("region", "London").title(SITES) == "London region"
    assert Scope("region", "east OF england").title(SITES) == "East of England region"
    assert Scope("england").title(SITES) == "England"


def test_a_registry_name_that_already_ends_in_its_code_is_not_given_it_twice() -> None:
    named = {"RF7": SiteInfo("RF7", "Barts University Hospitals NHS Trust (RF7)", "London")}
    assert Scope("site", "RF7").title(named) == "Barts University Hospitals NHS Trust (RF7)"
    # a different code in brackets is part of the name, not this site's code
    other = {"RF7": SiteInfo("RF7", "Barts Health (RAL)", "London")}
    assert Scope("site", "RF7").title(other) == "Barts Health (RAL) (RF7)"


def test_a_scope_takes_a_value_unless_it_is_england() -> None:
    with pytest.raises(ValueError):
        Scope("site")
    with pytest.raises(ValueError):
        Scope("england", "London")


def test_clock_row_reads_evaluate_and_status_clocks() -> None:
    clock = ClockRow.from_json(
        {
            "study_id": "CPMS-1",
            "kpi": "site_open",
            "site_id": "RF7",
            "state": "missed",
            "start_date": "2026-01-01",
            "stop_date": "2026-03-15",
            "due_date": "2026-03-02",
            "elapsed_days": 73,
            "limit_days": 60,
            "flags": ["missing_site_selected"],
        },
        sponsor_id="SP-1",
    )
    assert clock == ClockRow(
        "CPMS-1",
        "RF7",
        "site_open",
        "missed",
        date(2026, 1, 1),
        date(2026, 3, 15),
        date(2026, 3, 2),
        73,
        60,
        ("missing_site_selected",),
        "SP-1",
    )
    with pytest.raises(ValueError, match="limit_days"):
        ClockRow.from_json({"study_id": "CPMS-1", "kpi": "site_open", "state": "met"})


def test_entry_delay_counts_days_from_milestone_to_entry() -> None:
    entry = EntryDelay("CPMS-1", "RF7", "site_opened", date(2026, 2, 27), date(2026, 3, 2))
    assert entry.days == 3
