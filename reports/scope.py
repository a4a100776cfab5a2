"""Whom a report is about (one site, one region, England) and over which days."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from reports.formats import site_name
from reports.inputs import SiteInfo

UNKNOWN_REGION = "unknown"  # the contract's region of a site not in `setup.sites`
ScopeKind = Literal["site", "region", "england"]


@dataclass(frozen=True, slots=True)
class Scope:
    """`kind` "site" (value = ODS code), "region" (value = region name) or "england" (None)."""

    kind: ScopeKind
    value: str | None = None

    def __post_init__(self) -> None:
        if (self.kind == "england") != (self.value is None):
            raise ValueError(
                f"scope {self.kind!r} takes {'no' if self.kind == 'england' else 'a'} value"
            )

    def includes(self, site_id: str | None, sites: Mapping[str, SiteInfo]) -> bool:
        """Whether a site's clocks count in this scope (a study clock, site None, only in England)."""
        if self.kind == "england":
            return True
        if site_id is None:
            return False
        if self.kind == "site":
            return site_id == self.value
        return region_of(site_id, sites).casefold() == (self.value or "").casefold()

    def title(self, sites: Mapping[str, SiteInfo]) -> str:
        """How the report's heading names the scope."""
        if self.kind == "england":
            return "England"
        if self.kind == "region":
            wanted = (self.value or "").casefold()
            named = next((s.region for s in sites.values() if s.region.casefold() == wanted), None)
            return f"{named or self.value} region"  # as the registry spells it
        site = sites.get(self.value or "")
        if site is None or site.name in ("", site.site_id):
            return f"Site {self.value}"
        return site_name(site.name, site.site_id)


def region_of(site_id: str, sites: Mapping[str, SiteInfo]) -> str:
    site = sites.get(site_id)
    return site.region if site else UNKNOWN_REGION


@dataclass(frozen=True, slots=True)
class Period:
    """Calendar days `start`..`end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"period starts ({self.start}) after it ends ({self.end})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def whole_months(self) -> int | None:
        """How many calendar months the period covers exactly, or None if it is not whole months."""
        if self.start.day != 1 or self.end != _month_end(self.end):
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def previous(self) -> Period:
        """The period just before: the same number of whole months, else of days."""
        months = self.whole_months()
        if months is None:
            return Period(self.start - timedelta(self.days), self.start - timedelta(1))
        return Period(_add_months(self.start, -months), self.start - timedelta(1))

    def months(self) -> list[tuple[date, date]]:
        """The calendar months the period touches, each clipped to the period."""
        out: list[tuple[date, date]] = []
        first = self.start
        while first <= self.end:
            out.append((first, min(_month_end(first), self.end)))
            first = _month_end(first) + timedelta(1)
        return out

    def label(self) -> str:
        return f"{self.start:%-d %b %Y} to {self.end:%-d %b %Y}"


def default_period(today: date) -> Period:
    """The last six full calendar months before today's month."""
    this_month = today.replace(day=1)
    return Period(_add_months(this_month, -6), this_month - timedelta(1))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
