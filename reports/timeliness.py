"""Data timeliness: how late milestones were entered ("live or near-live", seed paragraph 9)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import median

from events.milestones import MilestoneKind
from reports.inputs import EntryDelay, SiteInfo
from reports.scope import Period, Scope
from reports.stats import percentile, share

# The contract's milestones, in the order a study goes through them (the enum's order).
MILESTONE_ORDER = tuple(kind.value for kind in MilestoneKind)
ALL_MILESTONES = "all"


@dataclass(frozen=True, slots=True)
class Timeliness:
    """Milestones recorded within the period: how many days after their date they were entered."""

    milestone: str  # or "all"
    count: int
    median_days: float | None
    p90_days: float | None
    within_7: float | None  # share entered within 7 days of the milestone date
    within_30: float | None


def timeliness(
    entries: list[EntryDelay],
    scope: Scope,
    sites: Mapping[str, SiteInfo],
    period: Period,
    *,
    total: bool = False,
) -> tuple[Timeliness, ...]:
    """Per milestone (contract order, then any other), or one `total` row over all of them."""
    delays: dict[str, list[int]] = {}
    for entry in entries:
        if entry.recorded_day in period and scope.includes(entry.site_id, sites):
            delays.setdefault(ALL_MILESTONES if total else entry.milestone, []).append(entry.days)
    if total:
        return (_row(ALL_MILESTONES, delays.get(ALL_MILESTONES, [])),)
    order = {name: index for index, name in enumerate(MILESTONE_ORDER)}
    names = sorted(delays, key=lambda name: (order.get(name, len(order)), name))
    return tuple(_row(name, delays[name]) for name in names)


def _row(milestone: str, days: list[int]) -> Timeliness:
    return Timeliness(
        milestone=milestone,
        count=len(days),
        median_days=median(days) if days else None,
        p90_days=percentile(days, 0.9),
        within_7=share(sum(1 for d in days if d <= 7), len(days)),
        within_30=share(sum(1 for d in days if d <= 30), len(days)),
    )
