"""The column dictionary of the published files: file -> column -> meaning (type, units).
Each JSON file is a list of rows with exactly its CSV's columns, so this describes both."""

from __future__ import annotations

_DATE = "Type: date (YYYY-MM-DD); empty when not known."
_DAY = "Type: date (YYYY-MM-DD)."
# The first columns of every table: a file copied on its own still says what it covers.
_COVERED = {
    "period_start": f"First day of the period the row covers. {_DAY}",
    "period_end": f"Last day of the period the row covers (both ends included). {_DAY}",
    "as_of": "Day the clocks stand on: open clocks and states are as on this day (the "
    f"period's last day, or the day the data was evaluated if that is earlier). {_DAY}",
}


def _study_clock(kpi: str, what: str) -> dict[str, str]:
    return {
        f"{kpi}_start": f"Day the {what} clock started. {_DATE}",
        f"{kpi}_stop": f"Day the {what} clock stopped, if it had by the period end. {_DATE}",
        f"{kpi}_days": f"Calendar days of the {what} clock: start to stop, or to the period end "
        "while it ran. Type: integer; units: days; empty when not started.",
        f"{kpi}_limit_days": f"The {what} limit for this study. Type: integer; units: days.",
        f"{kpi}_state": f"State of the {what} clock at the period end: met, missed, running, "
        "at_risk, breached, waiting, stopped or invalid (stop before start). Type: text.",
    }


_COMPLIANCE = (
    "met / (met + missed) of the clocks that stopped in the period. Type: number, a ratio from "
    "0 to 1 (4 decimal places); empty when no clock stopped (never 0)."
)
_MEDIAN = (
    "Median calendar days of the clocks that stopped in the period. Type: number, a whole "
    "number or a half (an even count); units: days; empty when none stopped."
)

COLUMNS: dict[str, dict[str, str]] = {
    "site_performance": {
        **_COVERED,
        "site_id": "ODS code of the site organisation. Type: text.",
        "site_name": "Name of the site organisation (from setup.sites). Type: text; empty when "
        "the site is not registered.",
        "region": "NHS region of the site; 'unknown' when the site is not registered. Type: text.",
        "kpi": "Site-level KPI: site_open (the later of HRA approval and site selection to site "
        "open), first_participant (site open to first participant recruited), "
        "approval_to_first_participant (HRA approval to first participant). Type: text.",
        "limit_days": "The KPI's limit. Type: integer; units: days.",
        "target": "Share of clocks expected to meet the limit (0.9; 0.8 for "
        "approval_to_first_participant, the NIHR 80% target). Type: number, a ratio.",
        "clocks_stopped": "Clocks of this KPI at this site that stopped in the period (met + "
        "missed). Type: integer.",
        "met": "Of those, clocks that stopped within the limit. Type: integer.",
        "missed": "Of those, clocks that stopped after the limit. Type: integer.",
        "compliance": _COMPLIANCE,
        "median_days": _MEDIAN,
        "open_running": "Clocks running at the period end, under 75% of the limit. Type: integer.",
        "open_at_risk": "Clocks running at the period end, at 75% of the limit or more but "
        "within it. Type: integer.",
        "open_breached": "Clocks running at the period end past their limit. Type: integer.",
    },
    "study_setup_times": {
        **_COVERED,
        "study_id": "NIHR CPMS study ID. Type: text.",
        "sponsor_id": "Sponsor of the study (only in files published with sponsors allowed). "
        "Type: text.",
        "sites": "Sites with at least one KPI clock in the study. Type: integer.",
        **_study_clock(
            "combined_review",
            "combined review (regulatory submission to approval; limit 60 days, 90 for ATIMP)",
        ),
        **_study_clock(
            "study_setup",
            "study set-up (regulatory submission to the first "
            "participant at any site; limit 150 days)",
        ),
    },
    "aggregate_setup_times": {
        **_COVERED,
        "kpi": "Study-level KPI: combined_review or study_setup. Type: text.",
        "limit_days": "The KPI's limit (combined_review: 60 days, 90 for ATIMP studies, which "
        "are judged against 90). Type: integer; units: days.",
        "clocks_stopped": "Study clocks of this KPI that stopped in the period. Type: integer.",
        "met": "Of those, clocks that stopped within their limit. Type: integer.",
        "missed": "Of those, clocks that stopped after their limit. Type: integer.",
        "compliance": _COMPLIANCE,
        "median_days": _MEDIAN,
        "lower_quartile_days": "25th percentile of those days (interpolated). Type: number; "
        "units: days; empty when none stopped.",
        "upper_quartile_days": "75th percentile of those days (interpolated). Type: number; "
        "units: days; empty when none stopped.",
        "min_days": "Fewest days among those clocks. Type: integer; units: days; empty when "
        "none stopped.",
        "max_days": "Most days among those clocks. Type: integer; units: days; empty when "
        "none stopped.",
    },
}
