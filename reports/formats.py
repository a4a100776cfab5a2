"""How a report writes numbers, dates and names: one place, so the page and its tests agree."""

from __future__ import annotations

import math
from datetime import date

NO_CLOCKS = "no clocks"
NOTHING = "\u2013"  # an en dash: a figure that does not apply or cannot be computed

KPI_NAMES = {
    "site_open": "Site set-up (to site open)",
    "first_participant": "Site open to first participant",
    "approval_to_first_participant": "HRA approval to first participant",
    "combined_review": "Combined review",
    "study_setup": "Study set-up (to first participant anywhere)",
}
KPI_SHORT = {
    "site_open": "Site open",
    "first_participant": "First participant",
    "approval_to_first_participant": "Approval to first participant",
    "combined_review": "Combined review",
    "study_setup": "Study set-up",
}


def percent(value: float | None, *, none: str = NO_CLOCKS) -> str:
    """A share as a percentage with one decimal ("87.5%"); `none` when it cannot be computed."""
    return none if value is None else f"{value * 100:.1f}%"


def days(value: float | None) -> str:
    """Days as a whole number, halves rounded up (a median of 44 and 47 days reads "46")."""
    return NOTHING if value is None else f"{math.floor(value + 0.5):,}"


def number(count: int) -> str:
    """A count with thousands separators, as a board paper writes it ("5,331")."""
    return f"{count:,}"


def clocks(count: int) -> str:
    return "clock" if count == 1 else "clocks"


def signed_days(value: int | None) -> str:
    return NOTHING if value is None else f"{value:+,d}"


def day(value: date | None) -> str:
    return NOTHING if value is None else value.isoformat()


def long_day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def month(value: date) -> str:
    return f"{value:%b %Y}"


def kpi_name(kpi: str) -> str:
    return KPI_NAMES.get(kpi, kpi.replace("_", " "))


def kpi_short(kpi: str) -> str:
    return KPI_SHORT.get(kpi, kpi.replace("_", " "))


# Words of milestone names written as acronyms, not capitalised ("HRA approved").
ACRONYMS = {"hra": "HRA", "cpms": "CPMS", "nihr": "NIHR", "atimp": "ATIMP"}


def milestone_name(milestone: str) -> str:
    if milestone == "all":
        return "All milestones"
    words = milestone.split("_")
    named = [ACRONYMS.get(word, word) for word in words]
    if named[0] == words[0]:
        named[0] = words[0].capitalize()
    return " ".join(named)


def site_name(name: str | None, site_id: str) -> str:
    """A site's name with its ODS code once: registry names may already end in "(CODE)"."""
    if not name or name == site_id:
        return site_id
    return name if name.endswith(f"({site_id})") else f"{name} ({site_id})"


def flag_name(flag: str) -> str:
    return {
        "missing_site_selected": "no site-selected date",
        "stop_before_start": "stop before start",
    }.get(flag, flag.replace("_", " "))
