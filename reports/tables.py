"""The report's sections that list things: clocks to ask about, data timeliness, study level."""

from __future__ import annotations

from html import escape

from reports import charts
from reports.figures import Report
from reports.formats import (
    NOTHING,
    clocks,
    day,
    days,
    flag_name,
    kpi_name,
    kpi_short,
    long_day,
    milestone_name,
    number,
    percent,
    signed_days,
    site_name,
)
from reports.markup import cell, figure, head_row, section, wide

STATE_WORDS = {"missed": "missed", "breached": "breached now", "invalid": "invalid dates"}


def exceptions_section(report: Report, limit: int | None = None) -> str:
    """The clocks to ask about; `limit` lists only the first (most days over) rows."""
    rows = report.exceptions
    counts = {state: sum(1 for r in rows if r.state == state) for state in STATE_WORDS}
    summary = (
        '<p class="lead"><strong data-figure="breached-now.count">'
        f"{number(report.breached_now)}</strong> "
        f"{clocks(report.breached_now)} breached on {long_day(report.as_of)}; "
        f'<strong data-figure="missed-in-period.count">{number(counts["missed"])}</strong> '
        f"{clocks(counts['missed'])} missed the limit in the period; "
        f'<strong data-figure="invalid.count">{number(counts["invalid"])}</strong> '
        f"{clocks(counts['invalid'])} with a stop date before the start (a data error to "
        "correct).</p>"
    )
    if not rows:
        return section(
            "exceptions",
            "Studies that missed or are breached now",
            summary + "<p>No clock missed its limit in the period or is breached now.</p>",
        )
    sponsor = report.with_sponsors
    header = [
        "Study",
        *(["Sponsor"] if sponsor else []),
        "Site",
        "KPI",
        "State",
        "Start",
        "Due",
        "Stop",
        "Days",
        "Days over",
        "Flags",
    ]
    shown = rows if limit is None else rows[:limit]
    body = []
    for row in shown:
        site = row.site_id or "all sites (study level)"
        if report.scope.kind != "site" and row.site_id:
            site = site_name(row.site_name, row.site_id)
        body.append(
            f'<tr data-clock="{escape(row.key)}">'
            + cell(row.study_id, header=True, css="id")
            + (cell(row.sponsor_id or "") if sponsor else "")
            + cell(site)
            + cell(kpi_short(row.kpi))
            + cell(STATE_WORDS.get(row.state, row.state), css="state")
            + cell(day(row.start_date), css="date")
            + cell(day(row.due_date), css="date")
            + cell(day(row.stop_date), css="date")
            + cell(days(row.days), css="num")
            + cell(signed_days(row.days_over), css="num")
            + cell(", ".join(flag_name(f) for f in row.flags))
            + "</tr>"
        )
    more = len(rows) - len(shown)
    note = f" ({number(more)} more not listed here: see the published data)" if more else ""
    table = (
        f'<table class="list"><caption>{number(len(rows))} {clocks(len(rows))}, most days '
        f"over the limit first (breached: days so far){note}</caption>"
        + head_row(*header, numeric={"Days", "Days over"})
        + "<tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
    return section("exceptions", "Studies that missed or are breached now", summary + wide(table))


def timeliness_section(report: Report) -> str:
    title = "Data timeliness: how late milestones were entered"
    if not report.entries_available:
        return section(
            "timeliness",
            title,
            "<p>Not available from this source: the status "
            "topics hold each clock's dates, not when each milestone was entered. "
            "Make the report from an events file (<code>--events</code>) to see it.</p>",
        )
    intro = (
        "<p>Sites are required to upload live or near-live. Of the milestones recorded in "
        "the period: days from the milestone's date to the day it was entered.</p>"
    )
    rows = []
    for item in (*report.timeliness, report.timeliness_total):
        name = item.milestone
        rows.append(
            ('<tr class="total">' if name == "all" else "<tr>")
            + cell(milestone_name(name), header=True)
            + cell(number(item.count), f"timeliness.{name}.count")
            + cell(days(item.median_days), f"timeliness.{name}.median")
            + cell(days(item.p90_days), f"timeliness.{name}.p90")
            + cell(percent(item.within_7, none=NOTHING), f"timeliness.{name}.within7")
            + cell(percent(item.within_30, none=NOTHING), f"timeliness.{name}.within30")
            + "</tr>"
        )
    table = (
        '<table class="figures"><caption>Milestones recorded in the period, by how late '
        "they were entered</caption>"
        + head_row(
            "Milestone",
            "Recorded",
            "Median days late",
            "90% entered within (days)",
            "Entered within 7 days",
            "Entered within 30 days",
        )
        + "<tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    if not report.timeliness:
        return section("timeliness", title, intro + table)
    chart = charts.horizontal_bars(
        "Share of milestones entered within 7 and 30 days",
        "Bar chart of the last two columns of the table: "
        + "; ".join(
            f"{milestone_name(t.milestone)}: {percent(t.within_7, none='-')} within 7 days"
            for t in report.timeliness
        ),
        [(milestone_name(t.milestone), [t.within_7, t.within_30]) for t in report.timeliness],
        ["within 7 days", "within 30 days"],
    )
    return section(
        "timeliness", title, intro + table + figure(chart, "Entered within 7 and 30 days.")
    )


def study_level_section(report: Report) -> str:
    if not report.study_level:
        return ""
    which = "all studies" if report.scope.kind == "england" else "studies with a site in the region"
    rows = "".join(
        "<tr>"
        + cell(kpi_name(item.kpi), header=True)
        + cell(
            f"{item.limit_days} days" + (" (90 for ATIMP)" if item.kpi == "combined_review" else "")
        )
        + cell(number(item.period.stopped), f"study.{item.kpi}.clocks")
        + cell(number(item.period.met), f"study.{item.kpi}.met")
        + cell(number(item.period.missed), f"study.{item.kpi}.missed")
        + cell(percent(item.period.compliance), f"study.{item.kpi}.compliance")
        + cell(days(item.period.median_days), f"study.{item.kpi}.median")
        + "</tr>"
        for item in report.study_level
    )
    table = (
        f'<table class="figures"><caption>Study-level set-up times ({which}): clocks that '
        "stopped in the period</caption>"
        + head_row("KPI", "Limit", "Clocks", "Met", "Missed", "Compliance", "Median days")
        + f"<tbody>{rows}</tbody></table>"
    )
    return section("study-level", "Study-level set-up times", table)
