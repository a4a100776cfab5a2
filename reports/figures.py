"""Every number a board report shows, computed from a `ReportInput` for one scope and period.

`compute_report` returns a frozen `Report`; `reports/html.py` only formats it, so a test can
compare the page with these numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from reports.history import OPEN, clock_on
from reports.inputs import ClockRow, ReportInput
from reports.scope import UNKNOWN_REGION, Period, Scope, region_of
from reports.stats import MISSED, Tally, stopped_within, tally
from reports.timeliness import Timeliness, timeliness

__all__ = ["Report", "clock_on", "compute_report"]  # clock_on: part of the interface here

# Site-level KPIs, in the order a report shows them, with their compliance targets.
SITE_KPI_TARGETS = {
    "site_open": 0.9,
    "first_participant": 0.9,
    "approval_to_first_participant": 0.8,
}
SITE_KPI_LIMITS = {"site_open": 60, "first_participant": 30, "approval_to_first_participant": 90}
TREND_KPIS = ("site_open", "first_participant")
STUDY_KPI_LIMITS = {"combined_review": 60, "study_setup": 150}
NOT_COUNTED = ("waiting", "stopped", "excluded", "invalid")
FLAG_STOP_BEFORE_START = "stop_before_start"


@dataclass(frozen=True, slots=True)
class KpiCompliance:
    """One site-level KPI: this period against the previous one, the region and England."""

    kpi: str
    limit_days: int
    target: float
    period: Tally
    previous: Tally
    region: Tally | None  # None when the scope is a region or England
    england: Tally | None  # None when the scope is England


@dataclass(frozen=True, slots=True)
class MonthPoint:
    kpi: str
    start: date
    end: date
    tally: Tally


@dataclass(frozen=True, slots=True)
class Histogram:
    """Days of the clocks stopped in the period: bin i holds days in (i*w, (i+1)*w] (the first
    also 0), the last bin everything above; so the limit line falls on a bin edge."""

    kpi: str
    limit_days: int
    bin_days: int
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def bin_label(self, index: int) -> str:
        low = 0 if index == 0 else index * self.bin_days + 1
        if index == len(self.counts) - 1:
            return f"{low}+"
        return f"{low}-{(index + 1) * self.bin_days}"


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    """A clock the board should ask about: missed in the period, breached now, or invalid."""

    study_id: str
    site_id: str | None
    site_name: str | None
    kpi: str
    state: str
    start_date: date | None
    due_date: date | None
    stop_date: date | None
    days: int | None
    days_over: int | None  # days past the limit; None for an invalid clock
    flags: tuple[str, ...]
    sponsor_id: str | None

    @property
    def key(self) -> str:
        return f"{self.study_id}|{self.site_id or '-'}|{self.kpi}"


@dataclass(frozen=True, slots=True)
class StudyLevel:
    """A study-level KPI over the studies in scope (region and England reports)."""

    kpi: str
    limit_days: int
    period: Tally


@dataclass(frozen=True, slots=True)
class Report:
    scope: Scope
    scope_title: str
    region: str | None  # the region compared with, for a site report
    period: Period
    previous: Period
    as_of: date
    source: str
    compliance: tuple[KpiCompliance, ...]
    trend: tuple[MonthPoint, ...]
    distributions: tuple[Histogram, ...]
    exceptions: tuple[ExceptionRow, ...]
    timeliness: tuple[Timeliness, ...]
    timeliness_total: Timeliness
    entries_available: bool  # False when the source holds no event history (status topics)
    study_level: tuple[StudyLevel, ...]
    open_now: dict[str, dict[str, int]]  # site-level kpi -> running/at_risk/breached as of as_of
    not_counted: dict[str, int]  # clocks in scope by state that no compliance figure counts
    with_sponsors: bool

    @property
    def breached_now(self) -> int:
        return sum(1 for row in self.exceptions if row.state == "breached")

    def figure(self, kpi: str) -> KpiCompliance | None:
        return next((item for item in self.compliance if item.kpi == kpi), None)


def compute_report(
    data: ReportInput, scope: Scope, period: Period, *, with_sponsors: bool = False
) -> Report:
    """The report of `scope` over `period`, from clocks evaluated as of `data.as_of`."""
    previous = period.previous()
    mine = [clock for clock in data.clocks if scope.includes(clock.site_id, data.sites)]
    site_clocks = [clock for clock in mine if clock.kpi in SITE_KPI_TARGETS]
    region = region_of(scope.value or "", data.sites) if scope.kind == "site" else None
    if region == UNKNOWN_REGION:
        region = None  # sites missing from the registry are no region to compare with
    region_clocks = (
        [c for c in data.clocks if c.site_id and region_of(c.site_id, data.sites) == region]
        if region is not None
        else None
    )
    return Report(
        scope=scope,
        scope_title=scope.title(data.sites),
        region=region,
        period=period,
        previous=previous,
        as_of=data.as_of,
        source=data.source,
        compliance=tuple(
            _kpi_compliance(kpi, site_clocks, region_clocks, data.clocks, scope, period, previous)
            for kpi in SITE_KPI_TARGETS
        ),
        trend=tuple(
            MonthPoint(kpi, first, last, _stopped_tally(site_clocks, kpi, Period(first, last)))
            for kpi in TREND_KPIS
            for first, last in period.months()
        ),
        distributions=tuple(_histogram(site_clocks, kpi, period) for kpi in TREND_KPIS),
        exceptions=_exceptions(mine, data, period, with_sponsors),
        timeliness=timeliness(data.entries, scope, data.sites, period),
        timeliness_total=timeliness(data.entries, scope, data.sites, period, total=True)[0],
        entries_available=bool(data.entries),
        study_level=_study_level(data.clocks, site_clocks, scope, period),
        open_now={kpi: _count_states(site_clocks, kpi, OPEN) for kpi in SITE_KPI_TARGETS},
        not_counted=_count_states(mine, None, NOT_COUNTED),
        with_sponsors=with_sponsors,
    )


def _stopped_tally(clocks: Iterable[ClockRow], kpi: str, period: Period) -> Tally:
    return tally(c for c in clocks if c.kpi == kpi and stopped_within(c, period))


def _kpi_compliance(
    kpi: str,
    mine: list[ClockRow],
    region_clocks: list[ClockRow] | None,
    everyone: list[ClockRow],
    scope: Scope,
    period: Period,
    previous: Period,
) -> KpiCompliance:
    return KpiCompliance(
        kpi=kpi,
        limit_days=SITE_KPI_LIMITS[kpi],
        target=SITE_KPI_TARGETS[kpi],
        period=_stopped_tally(mine, kpi, period),
        previous=_stopped_tally(mine, kpi, previous),
        region=None if region_clocks is None else _stopped_tally(region_clocks, kpi, period),
        england=None if scope.kind == "england" else _stopped_tally(everyone, kpi, period),
    )


def _histogram(clocks: list[ClockRow], kpi: str, period: Period) -> Histogram:
    limit = SITE_KPI_LIMITS[kpi]
    width = max(limit // 6, 1)
    counts = [0] * 19  # 18 bins up to three times the limit, then one for everything above
    for clock in clocks:
        if clock.kpi == kpi and stopped_within(clock, period) and clock.elapsed_days is not None:
            index = max(clock.elapsed_days - 1, 0) // width
            counts[min(index, len(counts) - 1)] += 1
    return Histogram(kpi, limit, width, tuple(counts))


def _exceptions(
    mine: list[ClockRow], data: ReportInput, period: Period, with_sponsors: bool
) -> tuple[ExceptionRow, ...]:
    rows = []
    for clock in mine:
        wanted = (
            (clock.state == MISSED and stopped_within(clock, period))
            or clock.state == "breached"
            or clock.state == "invalid"
        )
        if not wanted:
            continue
        days = clock.elapsed_days
        if days is None and clock.start_date is not None:
            days = ((clock.stop_date or data.as_of) - clock.start_date).days
        site = data.sites.get(clock.site_id) if clock.site_id else None
        flags = clock.flags
        if clock.state == "invalid" and FLAG_STOP_BEFORE_START not in flags:
            flags = (*flags, FLAG_STOP_BEFORE_START)
        rows.append(
            ExceptionRow(
                study_id=clock.study_id,
                site_id=clock.site_id,
                site_name=site.name if site else None,
                kpi=clock.kpi,
                state=clock.state,
                start_date=clock.start_date,
                due_date=clock.due_date,
                stop_date=clock.stop_date,
                days=days,
                days_over=None
                if clock.state == "invalid" or days is None
                else days - clock.limit_days,
                flags=flags,
                sponsor_id=clock.sponsor_id if with_sponsors else None,
            )
        )
    rows.sort(
        key=lambda r: (r.days_over is None, -(r.days_over or 0), r.study_id, r.site_id or "", r.kpi)
    )
    return tuple(rows)


def _study_level(
    everyone: list[ClockRow], site_clocks: list[ClockRow], scope: Scope, period: Period
) -> tuple[StudyLevel, ...]:
    """Study-level clocks of the studies with a site in scope (all studies for England)."""
    if scope.kind == "site":
        return ()
    studies = {c.study_id for c in site_clocks} if scope.kind == "region" else None
    chosen = [
        c
        for c in everyone
        if c.kpi in STUDY_KPI_LIMITS and (studies is None or c.study_id in studies)
    ]
    return tuple(
        StudyLevel(kpi, limit, _stopped_tally(chosen, kpi, period))
        for kpi, limit in STUDY_KPI_LIMITS.items()
    )


def _count_states(
    clocks: list[ClockRow], kpi: str | None, states: tuple[str, ...]
) -> dict[str, int]:
    counts = dict.fromkeys(states, 0)
    for clock in clocks:
        if clock.state in counts and (kpi is None or clock.kpi == kpi):
            counts[clock.state] += 1
    return counts
