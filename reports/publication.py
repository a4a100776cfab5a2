"""Open data for `setupmon publish` (seed paragraph 9): site-level performance and aggregate
study-level set-up times for a period, with a column dictionary.

No personal data: rows carry ODS codes, CPMS study IDs, dates and counts; never contacts.
Sponsor IDs appear only when the caller asks (`with_sponsors`). Open clocks and the state of
a study's clocks are as at the period's end, worked out with `figures.clock_on` from the
clocks evaluated as of `ReportInput.as_of` (see its approximation). Every row carries the
period it covers and the day its clocks stand on, so a file copied on its own says so.
"""

from __future__ import annotations

from statistics import median

from reports.columns import COLUMNS
from reports.figures import OPEN, SITE_KPI_LIMITS, SITE_KPI_TARGETS, STUDY_KPI_LIMITS, clock_on
from reports.inputs import ClockRow, ReportInput
from reports.scope import Period, region_of
from reports.stats import quartiles, stopped_within, tally

__all__ = [
    "COLUMNS",
    "aggregate_rows",
    "aggregate_setup_times",
    "site_performance",
    "study_setup_times",
]
RATIO_DIGITS = 4


def site_performance(data: ReportInput, period: Period) -> list[dict[str, object]]:
    """One row per (site, site-level KPI) for every site with a site-level clock."""
    by_site: dict[str, list[ClockRow]] = {}
    for clock in data.clocks:
        if clock.site_id is not None and clock.kpi in SITE_KPI_TARGETS:
            by_site.setdefault(clock.site_id, []).append(clock)
    end = min(period.end, data.as_of)
    rows: list[dict[str, object]] = []
    for site_id in sorted(by_site):
        site = data.sites.get(site_id)
        for kpi, target in SITE_KPI_TARGETS.items():
            clocks = [c for c in by_site[site_id] if c.kpi == kpi]
            counted = tally(c for c in clocks if stopped_within(c, period))
            at_end = [then for c in clocks if (then := clock_on(c, end)) is not None]
            rows.append(
                {
                    **_covered(data, period),
                    "site_id": site_id,
                    "site_name": site.name if site else None,
                    "region": region_of(site_id, data.sites),
                    "kpi": kpi,
                    "limit_days": SITE_KPI_LIMITS[kpi],
                    "target": target,
                    "clocks_stopped": counted.stopped,
                    "met": counted.met,
                    "missed": counted.missed,
                    "compliance": _ratio(counted.compliance),
                    "median_days": _days(counted.median_days),
                    **{
                        f"open_{state}": sum(1 for c in at_end if c.state == state)
                        for state in OPEN
                    },
                }
            )
    return rows


def study_setup_times(
    data: ReportInput, period: Period, *, with_sponsors: bool
) -> list[dict[str, object]]:
    """One row per study whose study-level clocks ran during the period (started by its end,
    not stopped before its start), with their dates, days and state at the period's end."""
    end = min(period.end, data.as_of)
    study_clocks: dict[str, dict[str, ClockRow]] = {}
    sites: dict[str, set[str]] = {}
    sponsors: dict[str, str | None] = {}
    for clock in data.clocks:
        if clock.state == "excluded":
            continue
        sponsors.setdefault(clock.study_id, clock.sponsor_id)
        if clock.site_id is not None:
            sites.setdefault(clock.study_id, set()).add(clock.site_id)
        elif clock.kpi in STUDY_KPI_LIMITS:
            study_clocks.setdefault(clock.study_id, {})[clock.kpi] = clock
    rows: list[dict[str, object]] = []
    for study_id in sorted(study_clocks):
        clocks = study_clocks[study_id]
        if not any(_ran_during(clock, period) for clock in clocks.values()):
            continue
        row: dict[str, object] = {**_covered(data, period), "study_id": study_id}
        if with_sponsors:
            row["sponsor_id"] = sponsors.get(study_id)
        row["sites"] = len(sites.get(study_id, ()))
        for kpi in STUDY_KPI_LIMITS:
            known = clocks.get(kpi)
            then = clock_on(known, end) if known is not None else None
            row[f"{kpi}_start"] = _iso(then.start_date if then else None)
            row[f"{kpi}_stop"] = _iso(then.stop_date if then else None)
            row[f"{kpi}_days"] = then.elapsed_days if then else None
            row[f"{kpi}_limit_days"] = known.limit_days if known else None
            row[f"{kpi}_state"] = then.state if then else ("waiting" if known else None)
        rows.append(row)
    return rows


def aggregate_setup_times(data: ReportInput, period: Period) -> dict[str, object]:
    """Per study-level KPI: the clocks that stopped in the period, their median, quartiles and
    range of days, and how many met their limit."""
    out: dict[str, object] = {}
    for kpi, limit in STUDY_KPI_LIMITS.items():
        stopped = [
            c
            for c in data.clocks
            if c.kpi == kpi and c.site_id is None and stopped_within(c, period)
        ]
        counted = tally(stopped)
        days = [c.elapsed_days for c in stopped if c.elapsed_days is not None]
        spread = quartiles(days)
        out[kpi] = {
            "limit_days": limit,
            "clocks_stopped": counted.stopped,
            "met": counted.met,
            "missed": counted.missed,
            "compliance": _ratio(counted.compliance),
            "median_days": _days(median(days) if days else None),
            "lower_quartile_days": _days(spread[0] if spread else None),
            "upper_quartile_days": _days(spread[2] if spread else None),
            "min_days": min(days) if days else None,
            "max_days": max(days) if days else None,
        }
    return out


def aggregate_rows(data: ReportInput, period: Period) -> list[dict[str, object]]:
    """`aggregate_setup_times` as table rows (one per KPI), for CSV and JSON alike."""
    rows: list[dict[str, object]] = []
    for kpi, figures in aggregate_setup_times(data, period).items():
        assert isinstance(figures, dict)  # noqa: S101 - built just above
        rows.append({**_covered(data, period), "kpi": kpi, **figures})
    return rows


def _covered(data: ReportInput, period: Period) -> dict[str, object]:
    """The period a row covers and the day its clocks stand on (the period's end, or the
    evaluation day when that is earlier)."""
    return {
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "as_of": min(period.end, data.as_of).isoformat(),
    }


def _days(value: float | None) -> float | None:
    """A number of days as one type whatever the count: 31, not 31.0 (`statistics.median`
    gives a float for an even count and the value itself for an odd one); a half stays."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _ran_during(clock: ClockRow, period: Period) -> bool:
    if clock.start_date is None or clock.start_date > period.end:
        return False
    return clock.stop_date is None or clock.stop_date >= period.start


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, RATIO_DIGITS)


def _iso(value: object) -> str | None:
    return None if value is None else str(value)
