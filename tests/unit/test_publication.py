"""Published data: site-level performance, study set-up times, aggregates, column dictionary."""

from __future__ import annotations

import json
from dataclasses import replace

from reports.publication import (
    COLUMNS,
    aggregate_rows,
    aggregate_setup_times,
    site_performance,
    study_setup_times,
)
from reports.scope import Period
from reports.stats import quartiles
from tests.unit.test_report_sample import PERIOD, clock, day, sample


def _row(rows: list[dict[str, object]], **match: object) -> dict[str, object]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def test_site_performance_has_a_row_per_site_and_kpi_with_hand_worked_figures() -> None:
    rows = site_performance(sample(), PERIOD)
    assert [(r["site_id"], r["kpi"]) for r in rows[:3]] == [
        ("RF7", "site_open"),
        ("RF7", "first_participant"),
        ("RF7", "approval_to_first_participant"),
    ]
    assert len(rows) == 9  # RF7, RXX, RYY x 3 KPIs
    barts = _row(rows, site_id="RF7", kpi="site_open")
    assert barts["site_name"] == "Barts Health & Partners" and barts["region"] == "London"
    assert (barts["clocks_stopped"], barts["met"], barts["missed"]) == (4, 3, 1)
    assert (barts["compliance"], barts["median_days"]) == (0.75, 49)
    assert (barts["limit_days"], barts["target"]) == (60, 0.9)
    northern = _row(rows, site_id="RYY", kpi="site_open")
    assert (northern["compliance"], northern["median_days"]) == (1.0, 25.5)
    empty = _row(rows, site_id="RF7", kpi="first_participant")
    assert (empty["clocks_stopped"], empty["compliance"], empty["median_days"]) == (0, None, None)
    assert _row(rows, site_id="RF7", kpi="approval_to_first_participant")["target"] == 0.8


def test_open_clocks_are_counted_as_at_the_period_end_not_today() -> None:
    barts = _row(site_performance(sample(), PERIOD), site_id="RF7", kpi="site_open")
    # On 31 March: CPMS-7 (met on 1 April) and CPMS-8 were running, CPMS-9 breached (85 days);
    # CPMS-10's site had been withdrawn and CPMS-11 is excluded.
    assert (barts["open_running"], barts["open_at_risk"], barts["open_breached"]) == (2, 0, 1)


def test_study_setup_times_one_row_per_study_that_ran_in_the_period() -> None:
    rows = study_setup_times(sample(), PERIOD, with_sponsors=False)
    assert [r["study_id"] for r in rows] == ["CPMS-1", "CPMS-14"]
    first = rows[0]
    assert "sponsor_id" not in first and first["sites"] == 1
    assert (first["combined_review_start"], first["combined_review_stop"]) == (
        "2025-12-20",
        "2026-02-03",
    )
    assert (first["combined_review_days"], first["combined_review_state"]) == (45, "met")
    assert (first["study_setup_days"], first["study_setup_state"]) == (160, "missed")
    assert rows[1]["study_setup_state"] is None and rows[1]["combined_review_days"] == 70


def test_study_clocks_are_shown_as_they_stood_at_the_period_end() -> None:
    rows = study_setup_times(
        sample(), Period(day("2026-01-01"), day("2026-02-01")), with_sponsors=True
    )
    first = _row(rows, study_id="CPMS-1")
    assert first["sponsor_id"] == "SP-ONE"
    assert (first["combined_review_state"], first["combined_review_days"]) == ("running", 43)
    assert first["combined_review_stop"] is None
    assert (first["study_setup_state"], first["study_setup_days"]) == ("at_risk", 114)
    later = Period(day("2026-04-01"), day("2026-04-10"))
    assert study_setup_times(sample(), later, with_sponsors=False) == []  # all stopped before


def test_excluded_studies_are_not_published() -> None:
    data = sample()
    excluded = clock("CPMS-99", None, "combined_review", "excluded", "2026-01-01", "2026-02-01")
    data = replace(data, clocks=[*data.clocks, excluded])
    assert "CPMS-99" not in {
        r["study_id"] for r in study_setup_times(data, PERIOD, with_sponsors=False)
    }


def test_aggregate_setup_times_medians_and_quartiles() -> None:
    figures = aggregate_setup_times(sample(), PERIOD)
    review = figures["combined_review"]
    assert isinstance(review, dict)
    assert (review["clocks_stopped"], review["met"], review["missed"]) == (2, 1, 1)
    assert (
        review["median_days"],
        review["lower_quartile_days"],
        review["upper_quartile_days"],
    ) == (
        57.5,
        51.25,
        63.75,
    )
    assert (review["min_days"], review["max_days"], review["compliance"]) == (45, 70, 0.5)
    setup = figures["study_setup"]
    assert isinstance(setup, dict) and setup["lower_quartile_days"] == setup["median_days"] == 160
    assert quartiles([40, 70, 50, 60]) == (47.5, 55, 62.5)


def test_the_column_dictionary_describes_every_column_and_no_other() -> None:
    data = sample()
    assert list(site_performance(data, PERIOD)[0]) == list(COLUMNS["site_performance"])
    with_sponsors = study_setup_times(data, PERIOD, with_sponsors=True)[0]
    assert list(with_sponsors) == list(COLUMNS["study_setup_times"])
    without = study_setup_times(data, PERIOD, with_sponsors=False)[0]
    assert list(without) == [c for c in COLUMNS["study_setup_times"] if c != "sponsor_id"]
    assert list(aggregate_rows(data, PERIOD)[0]) == list(COLUMNS["aggregate_setup_times"])
    for columns in COLUMNS.values():
        assert all("Type:" in meaning for meaning in columns.values())


def test_published_rows_carry_no_contacts() -> None:
    data = sample()
    text = json.dumps(
        [
            site_performance(data, PERIOD),
            study_setup_times(data, PERIOD, with_sponsors=False),
            aggregate_setup_times(data, PERIOD),
        ]
    )
    assert "@" not in text and "contact" not in text and "SP-ONE" not in text


def test_days_are_one_type_whatever_the_count_and_every_row_names_its_period() -> None:
    """Finding 13: a median of two clocks was 31.0 and of one 160 (float against int); only
    the aggregate said which period it covered."""
    two = [
        clock("CPMS-1", None, "combined_review", "met", "2026-01-01", "2026-01-31"),  # 30 days
        clock("CPMS-2", None, "combined_review", "met", "2026-01-01", "2026-02-02"),  # 32 days
        clock("CPMS-1", "RF7", "site_open", "met", "2026-01-01", "2026-01-31"),
        clock("CPMS-2", "RF7", "site_open", "met", "2026-01-01", "2026-02-02"),
    ]
    data = replace(sample(), clocks=two)
    review = aggregate_setup_times(data, PERIOD)["combined_review"]
    assert isinstance(review, dict)
    assert json.dumps([review["median_days"], review["lower_quartile_days"]]) == "[31, 30.5]"
    site = _row(site_performance(data, PERIOD), site_id="RF7", kpi="site_open")
    assert json.dumps(site["median_days"]) == "31"
    covered = {"period_start": "2026-01-01", "period_end": "2026-03-31", "as_of": "2026-03-31"}
    for rows in (
        site_performance(data, PERIOD),
        study_setup_times(data, PERIOD, with_sponsors=False),
        aggregate_rows(data, PERIOD),
    ):
        assert rows and all({k: row[k] for k in covered} == covered for row in rows)
