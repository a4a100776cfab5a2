"""The board report as one self-contained HTML page: inline CSS and SVG, no script, nothing
fetched, so it can be circulated with board papers, read offline and printed to A4."""

from __future__ import annotations

from html import escape

from reports.figures import Report
from reports.formats import long_day
from reports.sections import compliance_section, distribution_section, section, trend_section
from reports.tables import exceptions_section, study_level_section, timeliness_section

CSS = """
:root { --blue: #005EB8; --dark: #003087; --grey: #425563; --pale: #E8EDEE; }
body { font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; color: #212B32;
  margin: 0 auto; max-width: 64rem; padding: 0 1.5rem 2rem; line-height: 1.45; }
header { border-top: 0.6rem solid var(--blue); padding-top: 1rem; margin-bottom: 1.5rem; }
header .org { color: var(--blue); font-weight: bold; letter-spacing: 0.02em; }
h1 { color: var(--dark); font-size: 1.9rem; margin: 0.2rem 0; }
h2 { color: var(--dark); border-bottom: 2px solid var(--blue); padding-bottom: 0.2rem;
  margin-top: 2.2rem; font-size: 1.35rem; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.1rem 1rem; margin: 0.5rem 0; }
dl.meta dt { font-weight: bold; color: var(--grey); }
dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0 1.2rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; color: var(--grey); }
th, td { border-bottom: 1px solid #D8DDE0; padding: 0.3rem 0.45rem; text-align: left;
  vertical-align: top; }
thead th { background: var(--blue); color: #fff; font-weight: bold; vertical-align: bottom; }
th.num { text-align: right; }
thead th.group { text-align: center; border-bottom: 1px solid #fff; }
thead th.group, thead th.start { border-left: 1px solid #fff; }
td.start { border-left: 1px solid #D8DDE0; }
tbody th { font-weight: bold; }
tbody th .sub { display: block; font-weight: normal; font-size: 0.9em; color: var(--grey); }
td.good { color: #007F3B; font-weight: bold; } td.bad { color: #D5281B; font-weight: bold; }
td.num, table.figures td { text-align: right; font-variant-numeric: tabular-nums; }
tr.total th, tr.total td { border-top: 2px solid var(--grey); font-weight: bold; }
table.figures { font-size: 0.85rem; }
table.figures th, table.figures td { padding: 0.3rem 0.4rem; }
table.list { font-size: 0.8rem; }
td.date, td.state, th.id, table.figures td { white-space: nowrap; }
@media screen { div.wide { overflow-x: auto; } }
figure { margin: 0.5rem 0 1.5rem; }
figcaption { font-size: 0.85rem; color: var(--grey); }
svg.chart { width: 100%; height: auto; max-height: 18rem; display: block; }
svg.chart.tall { max-height: none; max-width: 42rem; margin: 0 auto; }
svg .tick { font-size: 11px; fill: #425563; } svg .label { font-size: 12px; fill: #212B32; }
svg .target { font-size: 11px; fill: #DA291C; } svg .none { font-size: 11px; fill: #768692; }
p.lead, ul.summary { font-size: 1.05rem; } dl.method dt { font-weight: bold; margin-top: 0.6rem; }
dl.method dd { margin-left: 0; }
footer { margin-top: 2rem; font-size: 0.8rem; color: var(--grey); border-top: 1px solid #D8DDE0; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  h1 { font-size: 18pt; } h2 { font-size: 13pt; } p.lead, ul.summary { font-size: 10.5pt; }
  table, table.figures { font-size: 8pt; } table.list { font-size: 7.5pt; }
  table.figures th, table.figures td, table.list th, table.list td { padding: 0.2rem 0.25rem; }
  td.state { white-space: normal; }
  section { break-before: page; }
  section#compliance { break-before: auto; }
  figure, svg, tr, caption, h2 { break-inside: avoid; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  thead th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render_html(report: Report, *, exception_rows: int | None = None) -> str:
    """The whole page for `report`; every number is one the Report holds. `exception_rows`
    caps the list of missed and breached clocks (None: all; an England report can hold
    thousands); the counts above the list stay whole."""
    title = f"Clinical trial set-up performance: {report.scope_title}"
    body = "".join(
        [
            _header(report, title),
            compliance_section(report),
            trend_section(report),
            distribution_section(report),
            exceptions_section(report, exception_rows),
            timeliness_section(report),
            study_level_section(report),
            _method_section(report),
            "<footer><p>Made by setupmon from the data named above. Contains no personal data."
            "</p></footer>",
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _header(report: Report, title: str) -> str:
    rows = [
        ("Scope", report.scope_title),
        ("Period", report.period.label()),
        ("Compared with", f"the previous period, {report.previous.label()}"),
        ("Clocks as of", long_day(report.as_of)),
        ("Data", report.source),
    ]
    meta = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return (
        '<header><div class="org">Commercial contract research: set-up performance</div>'
        f'<h1>{escape(title)}</h1><dl class="meta">{meta}</dl></header>'
    )


def _method_section(report: Report) -> str:
    not_counted = ", ".join(f"{n} {state}" for state, n in report.not_counted.items() if n)
    items = [
        (
            "KPI clocks",
            "Each KPI is a clock between two milestone dates, counted in whole "
            "calendar days. Site open: from the later of HRA approval and the site's selection to "
            "the site opening (limit 60 days). First participant: from the site opening to its "
            "first participant recruited (30 days). Approval to first participant: from HRA "
            "approval to the site's first participant (90 days). Study level: combined review, "
            "regulatory submission to approval (60 days, 90 for ATIMP); study set-up, submission "
            "to the first participant at any site (150 days).",
        ),
        (
            "Met, missed, breached",
            "A clock that stopped within its limit is met, after it is "
            "missed. A clock still running past its limit is breached; at 75% of its limit it is "
            "at risk. A stop date before the start date is a data error (invalid).",
        ),
        (
            "Which clocks count",
            "Compliance is met / (met + missed) of the clocks that stopped "
            "on a day within the period, the same rule as setupmon's rolling site-KPI windows. "
            'When no clock stopped the figure is "no clocks", not 0%. Running clocks count only '
            "once they stop. Targets: 90% within the limit; 80% for approval to first participant "
            "(the NIHR target).",
        ),
        (
            "Not counted",
            "Clocks of excluded studies, of sites withdrawn or closed before the "
            "stop milestone, clocks still waiting for their start date, and invalid clocks are in "
            "no compliance figure. In this scope now: " + (not_counted or "none") + ".",
        ),
        (
            "As-of day",
            f"Clock states are as setupmon evaluated them on {long_day(report.as_of)}: "
            "breached now means breached on that day. A milestone entered after that day is not "
            "included; a date corrected later changes the figures.",
        ),
        (
            "Comparisons",
            "The previous period has the same number of months (or days) just "
            "before this one. Region and England figures use the same rule over all their sites.",
        ),
        (
            "Data timeliness",
            "Days from a milestone's date to the day it was recorded, for "
            "milestones recorded within the period; the 90% figure is the smallest number of days "
            "within which at least 90% were entered.",
        ),
        (
            "Medians",
            "Medians are of whole days; a median that falls between two days is shown rounded up.",
        ),
        ("Source", report.source),
    ]
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    return section("method", "How the figures were computed", f'<dl class="method">{body}</dl>')
