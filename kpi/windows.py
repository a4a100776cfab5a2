"""Rolling per-site KPI windows for `setup.site-kpis` (CONTRACT.md section 3)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from statistics import median

from core.time import add_days
from kpi.clocks import SITE_KPIS, Clock, ClockState

WINDOW_DAYS = {"90d": 90, "365d": 365}
OPEN_COUNTED = (ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED)


def window_summary(clocks: Iterable[Clock], as_of: date, days: int) -> dict[str, dict[str, object]]:
    """Clocks that stopped in `(as_of - days, as_of]`, per site-level KPI."""
    earliest = add_days(as_of, -days)
    elapsed: dict[str, list[int]] = {kpi.value: [] for kpi in SITE_KPIS}
    met = dict.fromkeys(elapsed, 0)
    missed = dict.fromkeys(elapsed, 0)
    for clock in clocks:
        if clock.state not in (ClockState.MET, ClockState.MISSED) or clock.stop_date is None:
            continue
        if not earliest < clock.stop_date <= as_of or clock.kpi.value not in elapsed:
            continue
        counter = met if clock.state is ClockState.MET else missed
        counter[clock.kpi.value] += 1
        assert clock.elapsed_days is not None  # noqa: S101 - stopped clocks have elapsed days
        elapsed[clock.kpi.value].append(clock.elapsed_days)
    return {
        kpi: {
            "met": met[kpi],
            "missed": missed[kpi],
            "compliance": compliance(met[kpi], missed[kpi]),
            "median_days": median(elapsed[kpi]) if elapsed[kpi] else None,
        }
        for kpi in elapsed
    }


def compliance(met: int, missed: int) -> float | None:
    return None if met + missed == 0 else met / (met + missed)


def open_counts(clocks: Iterable[Clock]) -> dict[str, dict[str, int]]:
    counts = {kpi.value: {state.value: 0 for state in OPEN_COUNTED} for kpi in SITE_KPIS}
    for clock in clocks:
        if clock.state in OPEN_COUNTED and clock.kpi.value in counts:
            counts[clock.kpi.value][clock.state.value] += 1
    return counts


def site_kpis(site_id: str, region: str, clocks: list[Clock], as_of: date) -> dict[str, object]:
    """The `setup.site-kpis` value for one site, from its clocks across all studies."""
    mine = [clock for clock in clocks if clock.site_id == site_id]
    return {
        "site_id": site_id,
        "region": region,
        "as_of": as_of.isoformat(),
        "windows": {name: window_summary(mine, as_of, days) for name, days in WINDOW_DAYS.items()},
        "open": open_counts(mine),
    }
