"""The board report page: its numbers are the Report's, it is self-contained and accessible."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from reports import chart_frame, charts
from reports.figures import compute_report
from reports.html import render_html
from reports.inputs import EntryDelay
from reports.scope import Scope
from tests.unit.test_report_sample import PERIOD, SITES, clock, day, sample

TEXT_TAGS = {"td", "th", "strong"}


class Page(HTMLParser):
    """What a test reads from the page: named figures, rows, tags, charts and tables."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.clocks: list[str] = []
        self.tags: list[str] = []
        self.sections: list[str] = []
        self._open: list[tuple[str, str | None, list[str]]] = []
        self.svgs: list[list[str]] = []  # tags inside each <svg>
        self.tables: list[list[str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        for group, start in ((self.svgs, "svg"), (self.tables, "table")):
            if tag == start:
                group.append([])
            elif group and self._inside(start):
                group[-1].append(tag)
        if tag == "section":
            self.sections.append(found.get("id") or "")
        if "data-clock" in found:
            self.clocks.append(found["data-clock"] or "")
        self._open.append((tag, found.get("data-figure"), []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, figure, text = self._open.pop()
            if figure and name in TEXT_TAGS:
                assert figure not in self.figures, f"figure {figure} twice"
                self.figures[figure] = "".join(text).strip()
            if self._open:
                self._open[-1][2].extend(text)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)

    def _inside(self, tag: str) -> bool:
        return any(name == tag for name, _, _ in self._open)


def _page(scope: Scope, **kwargs: bool) -> Page:
    return Page(render_html(compute_report(sample(**kwargs), scope, PERIOD)))


def test_site_page_shows_the_hand_worked_compliance_figures() -> None:
    figures = _page(Scope("site", "RF7")).figures
    assert figures["compliance.site_open.period"] == "75.0%"
    assert (figures["met.site_open.period"], figures["missed.site_open.period"]) == ("3", "1")
    assert figures["median.site_open.period"] == "49"
    assert figures["compliance.site_open.previous"] == "50.0%"
    assert figures["compliance.site_open.region"] == "60.0%"
    assert figures["compliance.site_open.england"] == "71.4%"
    assert figures["clocks.site_open.england"] == "7"
    assert figures["breached-now.count"] == "1"
    assert figures["open.site_open.running"] == "1"


def test_a_kpi_without_clocks_reads_no_clocks_never_zero() -> None:
    figures = _page(Scope("site", "RF7")).figures
    assert figures["compliance.first_participant.period"] == "no clocks"
    assert figures["trend.site_open.2026-01.compliance"] == "100.0%"
    assert figures["trend.first_participant.2026-01.compliance"] == "no clocks"
    assert figures["trend.site_open.2026-03.median"] == "89"
    assert "0.0%" not in {v for k, v in figures.items() if "first_participant" in k}


def test_every_figure_on_the_page_equals_the_reports() -> None:
    report = compute_report(sample(), Scope("region", "London"), PERIOD)
    figures = Page(render_html(report)).figures
    for item in report.compliance:
        assert figures[f"met.{item.kpi}.period"] == str(item.period.met)
        assert figures[f"clocks.{item.kpi}.previous"] == str(item.previous.stopped)
        assert item.england is not None
        assert figures[f"clocks.{item.kpi}.england"] == str(item.england.stopped)
    for histogram in report.distributions:
        assert figures[f"distribution.{histogram.kpi}.count"] == str(histogram.total)
    assert "compliance.site_open.region" not in figures  # a region is not compared with itself
    assert figures["study.study_setup.compliance"] == "0.0%"  # one clock, missed: a real 0%
    assert figures["study.combined_review.median"] == "45"


def test_england_page_compares_with_the_previous_period_only_and_rounds_medians_up() -> None:
    figures = _page(Scope("england")).figures
    assert figures["compliance.site_open.period"] == "71.4%"
    assert not any(k.endswith((".region", ".england")) for k in figures)
    assert figures["study.combined_review.median"] == "58"  # 57.5 days


def test_missed_and_breached_rows_are_listed_most_days_over_first() -> None:
    page = _page(Scope("site", "RF7"))
    assert page.clocks == [
        "CPMS-4|RF7|site_open",
        "CPMS-9|RF7|site_open",
        "CPMS-1|RF7|approval_to_first_participant",
    ]
    text = render_html(compute_report(sample(), Scope("site", "RF7"), PERIOD))
    row = re.search(r'<tr data-clock="CPMS-4\|RF7\|site_open">(.*?)</tr>', text)
    assert row is not None
    assert "2026-03-01" in row.group(1) and "+60" in row.group(1)
    assert "no site-selected date" in row.group(1)
    assert "stop before start" in text


def test_a_capped_list_still_counts_every_clock() -> None:
    report = compute_report(sample(), Scope("site", "RF7"), PERIOD)
    page = Page(render_html(report, exception_rows=1))
    assert page.clocks == ["CPMS-4|RF7|site_open"]
    assert page.figures["breached-now.count"] == "1"


def test_timeliness_figures_and_its_absence_from_status_topics() -> None:
    figures = _page(Scope("site", "RF7")).figures
    assert figures["timeliness.site_opened.count"] == "4"
    assert figures["timeliness.site_opened.median"] == "7"  # 6.5 days
    assert figures["timeliness.site_opened.within7"] == "50.0%"
    assert figures["timeliness.all.p90"] == "40"
    assert figures["timeliness.all.within30"] == "80.0%"
    without = render_html(compute_report(sample(entries=False), Scope("site", "RF7"), PERIOD))
    assert "timeliness.all.count" not in Page(without).figures
    assert "Not available from this source" in without


@pytest.mark.parametrize(
    "scope", [Scope("site", "RF7"), Scope("region", "London"), Scope("england")]
)
def test_every_section_is_there(scope: Scope) -> None:
    sections = _page(scope).sections
    expected = ["compliance", "trend", "distribution", "exceptions", "timeliness", "method"]
    if scope.kind != "site":
        expected.insert(5, "study-level")
    assert sections == expected


def test_the_page_fetches_nothing_and_runs_no_script() -> None:
    text = render_html(compute_report(sample(), Scope("england"), PERIOD))
    page = Page(text)
    assert "http" not in text.lower()
    assert not {"script", "img", "link", "iframe", "object"} & set(page.tags)
    assert "url(" not in text and "@import" not in text and " src=" not in text
    assert "@media print" in text and "break-before: page" in text


def test_charts_and_tables_are_accessible() -> None:
    page = _page(Scope("region", "London"))
    assert len(page.svgs) >= 5
    assert all(inside[:2] == ["title", "desc"] for inside in page.svgs)
    assert len(page.tables) >= 6
    assert all("caption" in inside and "th" in inside for inside in page.tables)


def test_names_are_escaped_and_sponsors_shown_only_when_asked() -> None:
    data = sample()
    data = replace(data, sites={**SITES, "RXX": replace(SITES["RXX"], name="<b>Evil</b> Trust")})
    text = render_html(compute_report(data, Scope("region", "London"), PERIOD))
    assert "<b>Evil" not in text and "&lt;b&gt;Evil" in text
    assert "Barts Health &amp; Partners" in text
    assert "SP-ONE" not in text
    shown = render_html(compute_report(data, Scope("england"), PERIOD, with_sponsors=True))
    assert "SP-ONE" in shown


def test_the_summary_says_in_words_whether_each_target_is_met() -> None:
    text = render_html(compute_report(sample(), Scope("site", "RF7"), PERIOD))
    summary = text[text.index('<ul class="summary">') : text.index("</ul>")]
    assert "75.0% of 4 clocks within 60 days, which is below the 90.0% target" in summary
    assert "(previous period: 50.0%)" in summary
    assert "Site open to first participant: no clock stopped in the period." in summary
    assert "1 clock breached on 10 April 2026." in summary
    met = compute_report(sample(), Scope("region", "North West"), PERIOD)
    assert "which meets the 90.0% target" in render_html(met)


def test_counts_over_999_have_thousands_separators() -> None:
    data = sample()
    many = [
        clock(f"CPMS-{1000 + n}", "RYY", "site_open", "met", "2026-01-10", "2026-02-10")
        for n in range(1200)
    ]
    data = replace(data, clocks=[*data.clocks, *many])
    figures = Page(render_html(compute_report(data, Scope("england"), PERIOD))).figures
    assert figures["met.site_open.period"] == "1,205"  # 5 of the sample's and 1,200 more
    assert figures["distribution.site_open.count"] == "1,207"
    assert figures["trend.site_open.2026-02.clocks"] == "1,203"  # CPMS-1, -14, -15 also


def test_a_site_named_with_its_code_is_not_given_it_twice() -> None:
    data = sample()
    named = {k: replace(v, name=f"{v.name} ({k})") for k, v in SITES.items()}
    for scope in (Scope("site", "RF7"), Scope("england")):
        text = render_html(compute_report(replace(data, sites=named), scope, PERIOD))
        assert "(RF7) (RF7)" not in text and "(RXX) (RXX)" not in text
        assert "Barts Health &amp; Partners (RF7)" in text


def test_acronyms_in_milestone_names_stay_capitals() -> None:
    data = sample()
    late = EntryDelay("CPMS-1", "RF7", "hra_approved", day("2026-01-05"), day("2026-01-09"))
    text = render_html(
        compute_report(replace(data, entries=[*data.entries, late]), Scope("site", "RF7"), PERIOD)
    )
    assert '<th scope="row">HRA approved</th>' in text and "Hra" not in text
    assert '<th scope="row">Site opened</th>' in text


def test_number_column_headers_are_right_aligned_over_their_numbers() -> None:
    text = render_html(compute_report(sample(), Scope("region", "London"), PERIOD))
    assert "th.num { text-align: right; }" in text
    for table in re.findall(r'<table class="figures">.*?</table>', text):
        heads = re.findall(r'<th scope="col(?:group)?"([^>]*)>([^<]*)</th>', table)
        assert heads, table
        first, *others = heads
        assert 'class="num"' not in first[0], first
        assert all("num" in attributes or "group" in attributes for attributes, _ in others), others
    listed = re.search(r'<table class="list">.*?</table>', text)
    assert listed is not None
    numbers = re.findall(r'<th scope="col" class="num">([^<]*)</th>', listed.group(0))
    assert numbers == ["Days", "Days over"]


def _target_labels(svg: str) -> list[tuple[float, float]]:
    found = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*class="target"', svg)
    return [(float(x), float(y)) for x, y in found]


def test_target_and_limit_names_sit_clear_of_the_bars_and_lines() -> None:
    # a bar just under its target: over the bars, its value label and the target's would meet
    bars = charts.grouped_bars("t", "d", [("Site open", [("This period", 0.89)], 0.9)])
    assert [y for _, y in _target_labels(bars)] and all(
        y > chart_frame.HEIGHT - chart_frame.BOTTOM for _, y in _target_labels(bars)
    )
    lines = charts.lines(
        "t",
        "d",
        ["Jan", "Feb"],
        [("Site open", [59.0, 61.0])],
        value_label=chart_frame.days_axis,
        references=[("60 days", 60.0), ("58 days", 58.0)],
    )
    labels = _target_labels(lines)
    assert len(labels) == 2
    assert all(
        x > chart_frame.WIDTH - chart_frame.REFERENCE_MARGIN for x, _ in labels
    )  # right of the plot
    assert abs(labels[0][1] - labels[1][1]) >= 12  # close levels: one name under the other
    points = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', lines)]
    assert max(points) < chart_frame.WIDTH - chart_frame.REFERENCE_MARGIN


def test_a_chart_reads_100_percent_only_when_all_and_0_only_when_none() -> None:
    assert [chart_frame.percent_axis(v) for v in (0.0, 0.004, 0.5, 0.876, 0.998, 1.0)] == [
        "0%",
        "0.4%",
        "50%",
        "88%",
        "99.8%",
        "100%",
    ]
