"""The report's sections about compliance: headline table, monthly trend, distribution.

Every number on the page sits in a table cell with a `data-figure` name, so a test (or a
reader's tool) can read it back; the charts draw the same numbers.
"""

from __future__ import annotations

from html import escape

from reports import charts
from reports.chart_frame import days_axis, percent_axis
from reports.figures import KpiCompliance, Report
from reports.formats import clocks, days, kpi_name, kpi_short, long_day, month, number, percent
from reports.markup import cell, figure, grouped_head, head_row, section, wide
from reports.stats import Tally


def compliance_section(report: Report) -> str:
    comparisons = _comparisons(report)
    rows = []
    for item in report.compliance:
        kpi = item.kpi
        rows.append(
            "<tr>"
            # the limit and target under the KPI's name rather than in columns of their own:
            # ten columns fit the page where twelve did not
            + f'<th scope="row">{escape(kpi_name(kpi))}<span class="sub">limit '
            f"{item.limit_days} days, target {escape(percent(item.target))}</span></th>"
            + cell(
                percent(item.period.compliance),
                f"compliance.{kpi}.period",
                css=f"start {_mark(item)}".rstrip(),
            )
            + cell(number(item.period.met), f"met.{kpi}.period")
            + cell(number(item.period.missed), f"missed.{kpi}.period")
            + cell(days(item.period.median_days), f"median.{kpi}.period")
            + "".join(
                cell(percent(tally.compliance), f"compliance.{kpi}.{name}", css="start")
                + cell(number(tally.stopped), f"clocks.{kpi}.{name}")
                for name, _, tally in _compared(item, comparisons)
            )
            + "</tr>"
        )
    table = (
        '<table class="figures"><caption>Compliance with each site-level KPI, '
        f"{escape(report.period.label())}: clocks that stopped in the period</caption>"
        + grouped_head(
            "KPI",
            [("This period", ["Compliance", "Met", "Missed", "Median days"])]
            + [(label, ["Compliance", "Clocks"]) for _, label in comparisons],
        )
        + "<tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    groups = [
        (
            kpi_short(item.kpi),
            [("This period", item.period.compliance)]
            + [(label, tally.compliance) for _, label, tally in _compared(item, comparisons)],
            item.target,
        )
        for item in report.compliance
    ]
    chart = charts.grouped_bars(
        "Compliance by KPI against its target",
        "Bar chart of the compliance in the table above; dashed lines are the targets. "
        + "; ".join(
            f"{kpi_short(i.kpi)}: {percent(i.period.compliance)} (target {percent(i.target)})"
            for i in report.compliance
        ),
        groups,
    )
    return section(
        "compliance",
        "Compliance with the set-up KPIs",
        _summary(report)
        + wide(table)
        + figure(
            chart,
            "Compliance this period and for comparison; dashed "
            "lines: 90% target (80% NIHR target for approval to first "
            "participant).",
        )
        + _open_now(report),
    )


def _summary(report: Report) -> str:
    """The headline in words, for a reader who reads one paragraph."""
    lines = []
    for item in report.compliance:
        tally, name = item.period, kpi_name(item.kpi)
        if tally.compliance is None:
            lines.append(f"{name}: no clock stopped in the period.")
            continue
        verdict = "meets" if tally.compliance >= item.target else "is below"
        lines.append(
            f"{name}: {percent(tally.compliance)} of {number(tally.stopped)} {clocks(tally.stopped)} "
            f"within "
            f"{item.limit_days} days, which {verdict} the {percent(item.target)} target "
            f"(previous period: {percent(item.previous.compliance)})."
        )
    lines.append(
        f"{number(report.breached_now)} {clocks(report.breached_now)} breached on "
        f"{long_day(report.as_of)}."
    )
    return '<ul class="summary">' + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def _comparisons(report: Report) -> list[tuple[str, str]]:
    out = [("previous", "Previous period")]
    if report.scope.kind == "site" and report.region is not None:
        out.append(("region", f"{report.region} region"))
    if report.scope.kind != "england":
        out.append(("england", "England"))
    return out


def _compared(
    item: KpiCompliance, comparisons: list[tuple[str, str]]
) -> list[tuple[str, str, Tally]]:
    found = {"previous": item.previous, "region": item.region, "england": item.england}
    return [
        (name, label, tally) for name, label in comparisons if (tally := found[name]) is not None
    ]


def _mark(item: KpiCompliance) -> str:
    value = item.period.compliance
    return "" if value is None else ("good" if value >= item.target else "bad")


def _open_now(report: Report) -> str:
    rows = "".join(
        "<tr>"
        + cell(kpi_name(kpi), header=True)
        + "".join(cell(number(counts[state]), f"open.{kpi}.{state}") for state in counts)
        + "</tr>"
        for kpi, counts in report.open_now.items()
    )
    return (
        f'<table class="figures"><caption>Clocks still running on {long_day(report.as_of)}'
        "</caption>"
        + head_row("KPI", "Running", "At risk (75% of limit)", "Breached")
        + f"<tbody>{rows}</tbody></table>"
    )


def trend_section(report: Report) -> str:
    months = report.period.months()
    labels = [month(first) for first, _ in months]
    by_kpi = {
        kpi: [p for p in report.trend if p.kpi == kpi] for kpi in ("site_open", "first_participant")
    }
    rows = []
    for index, (first, _) in enumerate(months):
        key = f"{first:%Y-%m}"
        row = "<tr>" + cell(labels[index], header=True)
        for kpi, points in by_kpi.items():
            point = points[index].tally
            row += (
                cell(percent(point.compliance), f"trend.{kpi}.{key}.compliance", css="start")
                + cell(days(point.median_days), f"trend.{kpi}.{key}.median")
                + cell(number(point.stopped), f"trend.{kpi}.{key}.clocks")
            )
        rows.append(row + "</tr>")
    table = (
        '<table class="figures"><caption>Month by month: clocks that stopped in each month'
        "</caption>"
        + grouped_head(
            "Month",
            [(kpi_short(kpi), ["Compliance", "Median days", "Clocks"]) for kpi in by_kpi],
        )
        + "<tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    series = [
        (kpi_short(kpi), [p.tally.compliance for p in points]) for kpi, points in by_kpi.items()
    ]
    medians = [
        (kpi_short(kpi), [p.tally.median_days for p in points]) for kpi, points in by_kpi.items()
    ]
    compliance_chart = charts.lines(
        "Monthly compliance",
        "Line chart of the monthly compliance in the table; dashed line: "
        "the 90% target. A gap is a month with no clocks.",
        labels,
        series,
        value_label=percent_axis,
        top_value=1.0,
        references=[("target 90%", 0.9)],
    )
    median_chart = charts.lines(
        "Monthly median days",
        "Line chart of the monthly median days in the table; dashed "
        "lines: the 60-day site-open and 30-day first-participant limits.",
        labels,
        medians,
        value_label=days_axis,
        references=[("60 days", 60.0), ("30 days", 30.0)],
    )
    return section(
        "trend",
        "Monthly trend",
        table
        + figure(compliance_chart, "Compliance per month.")
        + figure(median_chart, "Median days per month."),
    )


def distribution_section(report: Report) -> str:
    rows, figures = [], []
    for histogram in report.distributions:
        kpi, limit_bin = histogram.kpi, histogram.limit_days // histogram.bin_days - 1
        within = sum(histogram.counts[: limit_bin + 1])
        rows.append(
            "<tr>"
            + cell(kpi_name(kpi), header=True)
            + cell(number(histogram.total), f"distribution.{kpi}.count")
            + cell(number(within), f"distribution.{kpi}.within")
            + cell(number(histogram.total - within), f"distribution.{kpi}.over")
            + "</tr>"
        )
        labels = [histogram.bin_label(i) for i in range(len(histogram.counts))]
        svg = charts.histogram(
            f"Days taken: {kpi_name(kpi)}",
            f"Histogram of the days of {number(histogram.total)} clocks that stopped in the "
            "period; "
            f"the dashed line is the {histogram.limit_days}-day limit. "
            + ", ".join(
                f"{label} days: {number(n)}"
                for label, n in zip(labels, histogram.counts, strict=True)
                if n
            ),
            labels,
            histogram.counts,
            line_after=limit_bin,
            line_name=f"{histogram.limit_days}-day limit",
            figure_prefix=f"distribution.{kpi}",
        )
        figures.append(
            figure(svg, f"{kpi_name(kpi)}: clocks by days taken; blue within the limit.")
        )
    table = (
        '<table class="figures"><caption>Clocks that stopped in the period by days taken'
        "</caption>"
        + head_row("KPI", "Clocks", "Within the limit", "Over the limit")
        + "<tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return section("distribution", "How long set-up took", table + "".join(figures))
