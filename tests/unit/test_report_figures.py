"""The report's numbers, worked out by hand for the sample in test_report_sample.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from reports.figures import Report, clock_on, compute_report
from reports.html import render_html
from reports.inputs import ReportInput
from reports.scope import Period, Scope
from reports.stats import Tally
from tests.unit.test_report_sample import AS_OF, PERIOD, SITES, clock, day, sample


def _report(scope: Scope, period: Period = PERIOD, data: ReportInput | None = None) -> Report:
    return compute_report(data or sample(), scope, period)


def _site_open(report: Report) -> tuple[Tally, Tally, Tally | None, Tally | None]:
    item = report.figure("site_open")
    assert item is not None
    return item.period, item.previous, item.region, item.england


def test_site_compliance_counts_clocks_stopped_in_the_period_both_ends_included() -> None:
    period, previous, region, england = _site_open(_report(Scope("site", "RF7")))
    assert (period.met, period.missed, period.compliance) == (3, 1, 0.75)
    assert period.median_days == 49  # of 31, 40, 58, 120
    assert (previous.met, previous.missed, previous.compliance) == (1, 1, 0.5)
    assert region is not None and (region.met, region.missed) == (3, 2)
    assert england is not None and (england.met, england.missed) == (5, 2)
    assert round(england.compliance or 0, 4) == 0.7143


def test_a_site_missing_from_the_registry_is_compared_with_no_region() -> None:
    # with no registry every site is "unknown": that "region" would be all of England
    report = _report(Scope("site", "RF7"), data=replace(sample(), sites={}))
    period, _, region, england = _site_open(report)
    assert (period.met, period.missed) == (3, 1)
    assert report.region is None and region is None
    assert england is not None and (england.met, england.missed) == (5, 2)
    assert "unknown region" not in render_html(report)


def test_a_region_compares_with_previous_and_england_only() -> None:
    period, previous, region, england = _site_open(_report(Scope("region", "London")))
    assert (period.met, period.missed) == (3, 2)
    assert (previous.met, previous.missed) == (1, 1)
    assert region is None
    assert england is not None and (england.met, england.missed) == (5, 2)


def test_england_compares_with_the_previous_period_only() -> None:
    period, previous, region, england = _site_open(_report(Scope("england")))
    assert (period.met, period.missed) == (5, 2)
    assert (previous.met, previous.missed) == (1, 1)
    assert region is None and england is None


def test_a_kpi_with_no_stopped_clock_has_no_compliance_not_zero() -> None:
    report = _report(Scope("site", "RF7"))
    first = report.figure("first_participant")
    assert first is not None and first.period.stopped == 0
    assert first.period.compliance is None and first.period.median_days is None


def test_monthly_trend_counts_each_clock_in_the_month_it_stopped() -> None:
    trend = [p for p in _report(Scope("site", "RF7")).trend if p.kpi == "site_open"]
    assert [p.start for p in trend] == [day("2026-01-01"), day("2026-02-01"), day("2026-03-01")]
    assert [(p.tally.met, p.tally.missed) for p in trend] == [(1, 0), (1, 0), (1, 1)]
    assert [p.tally.median_days for p in trend] == [31, 40, 89]


def test_histogram_bins_put_the_limit_on_a_bin_edge() -> None:
    days = [0, 1, 10, 11, 60, 61, 180, 181, 500]
    clocks = [
        clock(
            f"CPMS-{n}",
            "RF7",
            "site_open",
            "met" if d <= 60 else "missed",
            "2025-06-01",
            None,
            elapsed=d,
        )
        for n, d in enumerate(days)
    ]
    clocks = [replace(c, stop_date=day("2026-02-01")) for c in clocks]
    data = ReportInput(AS_OF, clocks, [], SITES, "bins")
    histogram = next(
        h for h in _report(Scope("england"), data=data).distributions if h.kpi == "site_open"
    )
    assert histogram.bin_days == 10
    expected = [0] * 19
    for index in (0, 0, 0, 1, 5, 6, 17, 18, 18):
        expected[index] += 1
    assert list(histogram.counts) == expected
    assert histogram.bin_label(5) == "51-60" and histogram.bin_label(18) == "181+"


def test_exceptions_list_missed_in_period_breached_now_and_invalid_most_over_first() -> None:
    rows = _report(Scope("site", "RF7")).exceptions
    assert [r.key for r in rows] == [
        "CPMS-4|RF7|site_open",  # missed, 120 days: 60 over
        "CPMS-9|RF7|site_open",  # breached on the as-of day, 95 days: 35 over
        "CPMS-1|RF7|approval_to_first_participant",  # invalid: no days over, listed last
    ]
    assert [r.days_over for r in rows] == [60, 35, None]
    assert rows[0].flags == ("missing_site_selected",)
    assert rows[2].flags == ("stop_before_start",)
    assert rows[1].due_date == day("2026-03-06") and rows[1].days == 95


def test_sponsors_are_left_out_unless_asked_for() -> None:
    data = sample()
    england = Scope("england")
    assert all(r.sponsor_id is None for r in compute_report(data, england, PERIOD).exceptions)
    with_sponsors = compute_report(data, england, PERIOD, with_sponsors=True)
    assert {r.sponsor_id for r in with_sponsors.exceptions} >= {"SP-ONE"}


def test_breached_now_and_clocks_counted_in_no_figure() -> None:
    report = _report(Scope("site", "RF7"))
    assert report.breached_now == 1
    assert report.open_now["site_open"] == {"running": 1, "at_risk": 0, "breached": 1}
    assert report.not_counted == {"waiting": 1, "stopped": 1, "excluded": 1, "invalid": 1}


def test_timeliness_of_the_scopes_milestones_recorded_in_the_period() -> None:
    report = _report(Scope("site", "RF7"))
    opened = next(t for t in report.timeliness if t.milestone == "site_opened")
    assert opened.count == 4  # 0, 3, 10, 40 days; one recorded in April is left out
    assert opened.median_days == 6.5
    assert opened.p90_days == 40  # nearest rank: the 4th of 4
    assert (opened.within_7, opened.within_30) == (0.5, 0.75)
    total = report.timeliness_total
    assert (total.count, total.median_days, total.p90_days) == (5, 3, 40)
    assert (total.within_7, total.within_30) == (0.6, 0.8)
    assert [t.milestone for t in report.timeliness] == ["site_selected", "site_opened"]


def test_study_level_figures_cover_the_studies_of_the_region() -> None:
    assert _report(Scope("site", "RF7")).study_level == ()
    london = {s.kpi: s.period for s in _report(Scope("region", "London")).study_level}
    assert (london["combined_review"].met, london["combined_review"].missed) == (1, 0)
    assert (london["study_setup"].met, london["study_setup"].missed) == (0, 1)
    england = {s.kpi: s.period for s in _report(Scope("england")).study_level}
    assert (england["combined_review"].met, england["combined_review"].missed) == (1, 1)
    assert england["combined_review"].median_days == 57.5


def test_clock_on_an_earlier_day_reopens_a_clock_that_stopped_later() -> None:
    met = clock("CPMS-1", "RF7", "site_open", "met", "2026-01-01", "2026-02-10")
    assert clock_on(met, day("2025-12-31")) is None  # not started yet
    assert clock_on(met, day("2026-02-10")) == met
    running = clock_on(met, day("2026-01-31"))
    assert running is not None
    assert (running.state, running.stop_date, running.elapsed_days) == ("running", None, 30)
    assert clock_on(met, day("2026-02-15")) == met
    missed = clock("CPMS-2", "RF7", "site_open", "missed", "2026-01-01", "2026-03-15")
    states = {
        d: getattr(clock_on(missed, day(d)), "state", None)
        for d in ("2026-02-14", "2026-02-15", "2026-03-02", "2026-03-03", "2026-03-15")
    }
    # 44 days running; 45 (45 * 4 >= 60 * 3) at risk; 60 still at risk; 61 breached
    assert states == {
        "2026-02-14": "running",
        "2026-02-15": "at_risk",
        "2026-03-02": "at_risk",
        "2026-03-03": "breached",
        "2026-03-15": "missed",
    }


def test_clock_on_keeps_a_site_open_until_it_was_withdrawn() -> None:
    stopped = clock("CPMS-1", "RF7", "site_open", "stopped", "2026-01-01", elapsed=20)
    before = clock_on(stopped, day("2026-01-15"))
    assert before is not None and before.state == "running" and before.elapsed_days == 14
    assert clock_on(stopped, day("2026-01-21")) == stopped
    assert clock_on(clock("CPMS-1", "RF7", "site_open", "waiting", None), AS_OF) is None


def test_an_empty_input_makes_a_report_of_no_clocks() -> None:
    report = compute_report(
        ReportInput(AS_OF, [], [], {}, "nothing"),
        Scope("england"),
        Period(date(2026, 1, 1), date(2026, 1, 31)),
    )
    assert all(item.period.compliance is None for item in report.compliance)
    assert report.exceptions == () and report.timeliness == ()
    assert report.timeliness_total.count == 0 and not report.entries_available
