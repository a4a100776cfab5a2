"""KPI clocks (CONTRACT.md section 2): definitions, states, corrections and replay.

Every expected date and day count is worked out by hand in a comment on its row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.codec import dumps
from events.milestones import Milestone
from events.validation import validate_event
from kpi.clocks import Clock, ClockState, Kpi
from studies.state import EventOutcome, StudyState
from tests.factories import event

STUDY = "CPMS-1"
ATIMP = {"sponsor_id": "acme", "atimp": True}
EXCLUDED = {"sponsor_id": "acme", "excluded_reason": "non-commercial pilot"}


def state_of(events: list[Milestone]) -> StudyState:
    state = StudyState(STUDY)
    for milestone in events:
        state.apply(milestone)
    return state


def clocks_of(events: list[Milestone], as_of: str) -> dict[tuple[str | None, str], Clock]:
    clocks = state_of(events).clocks(date.fromisoformat(as_of))
    return {(clock.site_id, clock.kpi.value): clock for clock in clocks}


def clock_json(events: list[Milestone], as_of: str, kpi: str, site: str | None) -> dict[str, Any]:
    clocks = clocks_of(events, as_of)
    assert (site, kpi) in clocks, f"no {kpi} clock for site {site}: {sorted(clocks, key=str)}"
    return clocks[(site, kpi)].to_json()


def assert_clock(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {name: actual[name] for name in expected} == expected


def decode(fields: dict[str, Any]) -> Milestone:
    result = validate_event(dumps(fields))
    assert isinstance(result, Milestone), result
    return result


# -- the five KPIs -----------------------------------------------------------------------------

KPIS = [
    (
        "combined_review: submitted to approved",
        [event("regulatory_submitted", "2025-01-10"), event("regulatory_approved", "2025-02-20")],
        "2025-03-31",
        "combined_review",
        None,
        # 2025-01-10 -> 01-31 = 21 days, + 20 = 41 days; due 01-10 + 60 = 03-11 (Feb 2025 has 28)
        {
            "state": "met",
            "start_date": "2025-01-10",
            "stop_date": "2025-02-20",
            "elapsed_days": 41,
            "limit_days": 60,
            "due_date": "2025-03-11",
            "flags": [],
        },
    ),
    (
        "combined_review: 90 days for an ATIMP",
        [
            event("study_registered", "2025-01-02", attributes=ATIMP),
            event("regulatory_submitted", "2025-01-10"),
            event("regulatory_approved", "2025-04-05"),
        ],
        "2025-04-30",
        "combined_review",
        None,
        # 01-10 -> 01-31 = 21, -> 02-28 = 49, -> 03-31 = 80, -> 04-05 = 85 <= 90;
        # due 01-10 + 90 = 04-10 (80 days to 03-31, + 10)
        {"state": "met", "elapsed_days": 85, "limit_days": 90, "due_date": "2025-04-10"},
    ),
    (
        "combined_review: same dates missed without ATIMP",
        [
            event("study_registered", "2025-01-02"),
            event("regulatory_submitted", "2025-01-10"),
            event("regulatory_approved", "2025-04-05"),
        ],
        "2025-04-30",
        "combined_review",
        None,
        # 85 days (as above) > 60
        {"state": "missed", "elapsed_days": 85, "limit_days": 60, "due_date": "2025-03-11"},
    ),
    (
        "site_open: starts at site_selected when it is later than HRA approval",
        [
            event("hra_approved", "2025-03-01"),
            event("site_selected", "2025-03-10", site="RGT"),
            event("site_opened", "2025-04-20", site="RGT"),
        ],
        "2025-05-01",
        "site_open",
        "RGT",
        # start = later of 03-01 and 03-10 = 03-10; 03-10 -> 03-31 = 21, + 20 = 41;
        # due 03-10 + 60 = 05-09 (21 to 03-31, 30 more to 04-30, 9 more)
        {
            "state": "met",
            "start_date": "2025-03-10",
            "stop_date": "2025-04-20",
            "elapsed_days": 41,
            "due_date": "2025-05-09",
            "flags": [],
        },
    ),
    (
        "site_open: starts at HRA approval when it is later than site_selected",
        [event("site_selected", "2025-02-01", site="RGT"), event("hra_approved", "2025-03-01")],
        "2025-03-31",
        "site_open",
        "RGT",
        # start = later of 02-01 and 03-01 = 03-01; 03-01 -> 03-31 = 30 days; 30*4=120 < 180
        {
            "state": "running",
            "start_date": "2025-03-01",
            "elapsed_days": 30,
            "due_date": "2025-04-30",
            "flags": [],
        },
    ),
    (
        "site_open: no site_selected starts at HRA approval, flagged",
        [event("hra_approved", "2025-03-01"), event("site_invited", "2025-02-01", site="RGT")],
        "2025-03-11",
        "site_open",
        "RGT",
        # start = 03-01; 10 days elapsed; due 03-01 + 60 = 04-30 (30 to 03-31, 30 to 04-30)
        {
            "state": "running",
            "start_date": "2025-03-01",
            "elapsed_days": 10,
            "due_date": "2025-04-30",
            "flags": ["missing_site_selected"],
        },
    ),
    (
        "site_open: waiting for HRA approval even when selected",
        [event("site_selected", "2025-02-01", site="RGT")],
        "2025-06-01",
        "site_open",
        "RGT",
        {"state": "waiting", "start_date": None, "due_date": None, "elapsed_days": None},
    ),
    (
        "first_participant: opened to recruited",
        [
            event("site_opened", "2025-04-01", site="RGT"),
            event("first_participant_recruited", "2025-05-05", site="RGT"),
        ],
        "2025-06-01",
        "first_participant",
        "RGT",
        # 04-01 -> 04-30 = 29, -> 05-05 = 34 > 30; due 04-01 + 30 = 05-01
        {
            "state": "missed",
            "start_date": "2025-04-01",
            "stop_date": "2025-05-05",
            "elapsed_days": 34,
            "limit_days": 30,
            "due_date": "2025-05-01",
        },
    ),
    (
        "approval_to_first_participant: HRA approval to recruitment at that site",
        [
            event("hra_approved", "2025-03-01"),
            event("first_participant_recruited", "2025-05-05", site="RGT"),
            event("first_participant_recruited", "2025-03-20", site="RAJ"),
        ],
        "2025-06-01",
        "approval_to_first_participant",
        "RGT",
        # RGT's own recruitment counts, not RAJ's: 03-01 -> 03-31 = 30, -> 04-30 = 60, -> 05-05 = 65;
        # due 03-01 + 90 = 05-30
        {
            "state": "met",
            "start_date": "2025-03-01",
            "stop_date": "2025-05-05",
            "elapsed_days": 65,
            "limit_days": 90,
            "due_date": "2025-05-30",
        },
    ),
    (
        "study_setup: submitted to the earliest recruitment at any site",
        [
            event("regulatory_submitted", "2025-01-10"),
            event("first_participant_recruited", "2025-06-20", site="RGT"),
            event("first_participant_recruited", "2025-06-01", site="RAJ"),
        ],
        "2025-07-01",
        "study_setup",
        None,
        # earliest = RAJ 06-01; 01-10 -> 01-31 = 21, 02-28 = 49, 03-31 = 80, 04-30 = 110,
        # 05-31 = 141, 06-01 = 142 <= 150; due 01-10 + 150 = 06-09 (141 to 05-31, + 9)
        {
            "state": "met",
            "start_date": "2025-01-10",
            "stop_date": "2025-06-01",
            "elapsed_days": 142,
            "limit_days": 150,
            "due_date": "2025-06-09",
        },
    ),
    (
        "study_setup: running before any site recruits",
        [
            event("regulatory_submitted", "2025-01-10"),
            event("site_opened", "2025-03-01", site="RGT"),
        ],
        "2025-03-01",
        "study_setup",
        None,
        # 01-10 -> 03-01 = 21 + 28 + 1 = 50; 50*4=200 < 450
        {"state": "running", "stop_date": None, "elapsed_days": 50, "due_date": "2025-06-09"},
    ),
]


@pytest.mark.parametrize(
    ("events", "as_of", "kpi", "site", "expected"),
    [row[1:] for row in KPIS],
    ids=[row[0] for row in KPIS],
)
def test_kpi_definitions(
    events: list[Milestone], as_of: str, kpi: str, site: str | None, expected: dict[str, Any]
) -> None:
    assert_clock(clock_json(events, as_of, kpi, site), expected)


def test_study_clocks_come_first_then_each_site_in_id_order() -> None:
    events = [
        event("regulatory_submitted", "2025-01-10"),
        event("site_invited", "2025-01-20", site="RGT"),
        event("site_invited", "2025-01-20", site="RAJ"),
    ]
    clocks = state_of(events).clocks(date(2025, 2, 1))
    assert [(c.site_id, c.kpi.value) for c in clocks] == [
        (None, "combined_review"),
        (None, "study_setup"),
        ("RAJ", "site_open"),
        ("RAJ", "first_participant"),
        ("RAJ", "approval_to_first_participant"),
        ("RGT", "site_open"),
        ("RGT", "first_participant"),
        ("RGT", "approval_to_first_participant"),
    ]
    assert all(c.study_id == STUDY for c in clocks)


# -- states and their boundaries ----------------------------------------------------------------


def timeline(
    kpi: str, start: str, stop: str | None = None, *, atimp: bool = False
) -> list[Milestone]:
    """The fewest events that start (and stop) one clock of `kpi`."""
    events = [event("study_registered", start, attributes=ATIMP)] if atimp else []
    if kpi == "combined_review":
        events.append(event("regulatory_submitted", start))
        stop_event = "regulatory_approved", None
    elif kpi == "site_open":
        events += [event("hra_approved", start), event("site_selected", start, site="RGT")]
        stop_event = "site_opened", "RGT"
    elif kpi == "first_participant":
        events.append(event("site_opened", start, site="RGT"))
        stop_event = "first_participant_recruited", "RGT"
    elif kpi == "approval_to_first_participant":
        events += [event("hra_approved", start), event("site_invited", start, site="RGT")]
        stop_event = "first_participant_recruited", "RGT"
    else:
        events.append(event("regulatory_submitted", start))
        stop_event = "first_participant_recruited", "RGT"
    if stop is not None:
        events.append(event(stop_event[0], stop, site=stop_event[1]))
    return events


def site_of(kpi: str) -> str | None:
    return None if kpi in ("combined_review", "study_setup") else "RGT"


# (id, kpi, atimp, start, stop, as_of, state, elapsed)
BOUNDARIES = [
    # site_open, limit 60: at_risk from 45 (45*4=180>=180; 44*4=176<180).
    # 2024-02-01 + 44 = 03-16 (Feb 2024 has 29 days: 02-29 is +28, 03-01 is +29, 03-16 is +44)
    ("60: day 44 running", "site_open", False, "2024-02-01", None, "2024-03-16", "running", 44),
    ("60: day 45 at_risk", "site_open", False, "2024-02-01", None, "2024-03-17", "at_risk", 45),
    # 2024-02-01 + 60 = 2024-04-01 (leap year: Feb has 29 days); elapsed == limit is at_risk
    ("60: day 60 at_risk", "site_open", False, "2024-02-01", None, "2024-04-01", "at_risk", 60),
    ("60: day 61 breached", "site_open", False, "2024-02-01", None, "2024-04-02", "breached", 61),
    (
        "60: stopped on day 60 met",
        "site_open",
        False,
        "2024-02-01",
        "2024-04-01",
        "2024-06-01",
        "met",
        60,
    ),
    (
        "60: stopped on day 61 missed",
        "site_open",
        False,
        "2024-02-01",
        "2024-04-02",
        "2024-06-01",
        "missed",
        61,
    ),
    ("day 0 running", "site_open", False, "2024-02-01", None, "2024-02-01", "running", 0),
    # first_participant, limit 30: at_risk from 23 (23*4=92>=90; 22*4=88<90).
    # 2025-01-31 + 22 = 02-22; + 23 = 02-23; + 30 = 03-02 (02-28 is +28); + 31 = 03-03
    (
        "30: day 22 running",
        "first_participant",
        False,
        "2025-01-31",
        None,
        "2025-02-22",
        "running",
        22,
    ),
    (
        "30: day 23 at_risk",
        "first_participant",
        False,
        "2025-01-31",
        None,
        "2025-02-23",
        "at_risk",
        23,
    ),
    (
        "30: day 30 at_risk",
        "first_participant",
        False,
        "2025-01-31",
        None,
        "2025-03-02",
        "at_risk",
        30,
    ),
    (
        "30: day 31 breached",
        "first_participant",
        False,
        "2025-01-31",
        None,
        "2025-03-03",
        "breached",
        31,
    ),
    (
        "30: stopped on day 30 met",
        "first_participant",
        False,
        "2025-01-31",
        "2025-03-02",
        "2025-04-01",
        "met",
        30,
    ),
    (
        "30: stopped on day 31 missed",
        "first_participant",
        False,
        "2025-01-31",
        "2025-03-03",
        "2025-04-01",
        "missed",
        31,
    ),
    # combined_review for an ATIMP, limit 90: at_risk from 68 (68*4=272>=270; 67*4=268<270).
    # 2025-01-01 + 67 = 03-09 (01-31 is +30, 02-28 is +58); + 68 = 03-10; + 90 = 04-01; + 91 = 04-02
    (
        "ATIMP 90: day 67 running",
        "combined_review",
        True,
        "2025-01-01",
        None,
        "2025-03-09",
        "running",
        67,
    ),
    (
        "ATIMP 90: day 68 at_risk",
        "combined_review",
        True,
        "2025-01-01",
        None,
        "2025-03-10",
        "at_risk",
        68,
    ),
    (
        "ATIMP 90: day 90 at_risk",
        "combined_review",
        True,
        "2025-01-01",
        None,
        "2025-04-01",
        "at_risk",
        90,
    ),
    (
        "ATIMP 90: day 91 breached",
        "combined_review",
        True,
        "2025-01-01",
        None,
        "2025-04-02",
        "breached",
        91,
    ),
    (
        "ATIMP 90: stopped on day 90 met",
        "combined_review",
        True,
        "2025-01-01",
        "2025-04-01",
        "2025-05-01",
        "met",
        90,
    ),
    (
        "ATIMP 90: stopped on day 91 missed",
        "combined_review",
        True,
        "2025-01-01",
        "2025-04-02",
        "2025-05-01",
        "missed",
        91,
    ),
    # the same day 68 without ATIMP is past 60
    (
        "not ATIMP: day 68 breached",
        "combined_review",
        False,
        "2025-01-01",
        None,
        "2025-03-10",
        "breached",
        68,
    ),
    # 2025-01-01 + 60 = 03-02 (30 to 01-31, 28 to 02-28, 2 more)
    (
        "not ATIMP: day 60 at_risk",
        "combined_review",
        False,
        "2025-01-01",
        None,
        "2025-03-02",
        "at_risk",
        60,
    ),
    # approval_to_first_participant, limit 90, across a leap day.
    # 2023-12-01 + 67 = 2024-02-06 (12-31 is +30, 01-31 is +61); + 68 = 02-07;
    # + 90 = 2024-02-29 (leap day); + 91 = 2024-03-01
    (
        "90: day 67 running",
        "approval_to_first_participant",
        False,
        "2023-12-01",
        None,
        "2024-02-06",
        "running",
        67,
    ),
    (
        "90: day 68 at_risk",
        "approval_to_first_participant",
        False,
        "2023-12-01",
        None,
        "2024-02-07",
        "at_risk",
        68,
    ),
    (
        "90: day 90 (29 Feb) at_risk",
        "approval_to_first_participant",
        False,
        "2023-12-01",
        None,
        "2024-02-29",
        "at_risk",
        90,
    ),
    (
        "90: day 91 (1 Mar) breached",
        "approval_to_first_participant",
        False,
        "2023-12-01",
        None,
        "2024-03-01",
        "breached",
        91,
    ),
    (
        "90: stopped on 29 Feb met",
        "approval_to_first_participant",
        False,
        "2023-12-01",
        "2024-02-29",
        "2024-04-01",
        "met",
        90,
    ),
    (
        "90: stopped on 1 Mar missed",
        "approval_to_first_participant",
        False,
        "2023-12-01",
        "2024-03-01",
        "2024-04-01",
        "missed",
        91,
    ),
    # study_setup, limit 150: at_risk from 113 (113*4=452>=450; 112*4=448<450).
    # 2024-10-01 + 112 = 2025-01-21 (10-31 is +30, 11-30 is +60, 12-31 is +91);
    # + 113 = 01-22; + 150 = 02-28 (01-31 is +122, + 28); + 151 = 03-01
    (
        "150: day 112 running",
        "study_setup",
        False,
        "2024-10-01",
        None,
        "2025-01-21",
        "running",
        112,
    ),
    (
        "150: day 113 at_risk",
        "study_setup",
        False,
        "2024-10-01",
        None,
        "2025-01-22",
        "at_risk",
        113,
    ),
    (
        "150: day 150 at_risk",
        "study_setup",
        False,
        "2024-10-01",
        None,
        "2025-02-28",
        "at_risk",
        150,
    ),
    (
        "150: day 151 breached",
        "study_setup",
        False,
        "2024-10-01",
        None,
        "2025-03-01",
        "breached",
        151,
    ),
    (
        "150: stopped on day 150 met",
        "study_setup",
        False,
        "2024-10-01",
        "2025-02-28",
        "2025-04-01",
        "met",
        150,
    ),
    (
        "150: stopped on day 151 missed",
        "study_setup",
        False,
        "2024-10-01",
        "2025-03-01",
        "2025-04-01",
        "missed",
        151,
    ),
    # a stopped clock stays met however late the evaluation day
    (
        "met stays met years later",
        "first_participant",
        False,
        "2025-01-31",
        "2025-02-10",
        "2027-01-01",
        "met",
        10,
    ),
]


@pytest.mark.parametrize(
    ("kpi", "atimp", "start", "stop", "as_of", "state", "elapsed"),
    [row[1:] for row in BOUNDARIES],
    ids=[row[0] for row in BOUNDARIES],
)
def test_state_boundaries(
    kpi: str, atimp: bool, start: str, stop: str | None, as_of: str, state: str, elapsed: int
) -> None:
    clock = clock_json(timeline(kpi, start, stop, atimp=atimp), as_of, kpi, site_of(kpi))
    assert (clock["state"], clock["elapsed_days"]) == (state, elapsed)
    assert clock["start_date"] == start
    assert clock["stop_date"] == stop


# (id, kpi, start, limit, due_date)
DUE_DATES = [
    # 2024-02-01 + 60 = 2024-04-01 (leap year: Feb has 29 days)
    ("leap February, 60", "site_open", "2024-02-01", 60, "2024-04-01"),
    # 2025-02-01 + 60 = 2025-04-02 (Feb 2025 has 28 days: 03-01 is +28, 03-31 is +58)
    ("common February, 60", "site_open", "2025-02-01", 60, "2025-04-02"),
    # 2024-01-31 + 30 = 2024-03-01 (02-29 is +29)
    ("month end into leap February, 30", "first_participant", "2024-01-31", 30, "2024-03-01"),
    # 2025-01-31 + 30 = 2025-03-02 (02-28 is +28)
    ("month end into common February, 30", "first_participant", "2025-01-31", 30, "2025-03-02"),
    # 2023-12-01 + 90 = 2024-02-29 (12-31 is +30, 01-31 is +61, + 29)
    ("due on leap day, 90", "approval_to_first_participant", "2023-12-01", 90, "2024-02-29"),
    # 2023-12-15 + 60 = 2024-02-13 (12-31 is +16, 01-31 is +47, + 13)
    ("across the new year, 60", "combined_review", "2023-12-15", 60, "2024-02-13"),
    # 2024-10-01 + 150 = 2025-02-28 (12-31 is +91, 01-31 is +122, + 28)
    ("150 to the end of February", "study_setup", "2024-10-01", 150, "2025-02-28"),
]


@pytest.mark.parametrize(
    ("kpi", "start", "limit", "due"),
    [row[1:] for row in DUE_DATES],
    ids=[row[0] for row in DUE_DATES],
)
def test_due_date_is_start_plus_limit(kpi: str, start: str, limit: int, due: str) -> None:
    clock = clock_json(timeline(kpi, start), start, kpi, site_of(kpi))
    assert (clock["limit_days"], clock["due_date"]) == (limit, due)


# -- precedence of the state rows ------------------------------------------------------------

PRECEDENCE = [
    (
        "excluded beats stopped",
        [
            event("study_registered", "2025-01-01", attributes=EXCLUDED),
            event("site_opened", "2025-02-01", site="RGT"),
            event("site_withdrawn", "2025-02-05", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "excluded",
        [],
    ),
    (
        "excluded beats waiting",
        [
            event("study_registered", "2025-01-01", attributes=EXCLUDED),
            event("site_invited", "2025-02-01", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "excluded",
        [],
    ),
    (
        "stopped beats waiting: withdrawn before HRA approval",
        [
            event("site_selected", "2025-02-01", site="RGT"),
            event("site_withdrawn", "2025-02-05", site="RGT"),
        ],
        "site_open",
        "RGT",
        "stopped",
        [],
    ),
    (
        "stopped beats invalid",
        [
            event("site_opened", "2025-03-10", site="RGT"),
            event("first_participant_recruited", "2025-03-05", site="RGT"),
            event("site_withdrawn", "2025-03-01", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "stopped",
        [],
    ),
    (
        "stopped beats met: withdrawn before the stop milestone",
        [
            event("site_opened", "2025-03-01", site="RGT"),
            event("site_closed", "2025-03-05", site="RGT"),
            event("first_participant_recruited", "2025-03-10", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "stopped",
        [],
    ),
    (
        "waiting beats invalid and met: stop known, start not",
        [event("first_participant_recruited", "2025-03-05", site="RGT")],
        "first_participant",
        "RGT",
        "waiting",
        [],
    ),
    (
        "invalid beats met: stop before start",
        [
            event("site_opened", "2025-03-10", site="RGT"),
            event("first_participant_recruited", "2025-03-05", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "invalid",
        ["stop_before_start"],
    ),
    (
        "invalid study clock: approved before submitted",
        [event("regulatory_submitted", "2025-03-10"), event("regulatory_approved", "2025-03-01")],
        "combined_review",
        None,
        "invalid",
        ["stop_before_start"],
    ),
    (
        "invalid keeps missing_site_selected too",
        [event("hra_approved", "2025-03-10"), event("site_opened", "2025-03-01", site="RGT")],
        "site_open",
        "RGT",
        "invalid",
        ["missing_site_selected", "stop_before_start"],
    ),
    (
        "stop on the start day is met, not invalid",
        [
            event("site_opened", "2025-03-10", site="RGT"),
            event("first_participant_recruited", "2025-03-10", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "met",
        [],
    ),
    # 03-01 -> 2025-06-01 is 92 days, far past 30, but the clock stopped on day 4
    (
        "met beats breached",
        [
            event("site_opened", "2025-03-01", site="RGT"),
            event("first_participant_recruited", "2025-03-05", site="RGT"),
        ],
        "first_participant",
        "RGT",
        "met",
        [],
    ),
]


@pytest.mark.parametrize(
    ("events", "kpi", "site", "state", "flags"),
    [row[1:] for row in PRECEDENCE],
    ids=[row[0] for row in PRECEDENCE],
)
def test_state_precedence(
    events: list[Milestone], kpi: str, site: str | None, state: str, flags: list[str]
) -> None:
    clock = clock_json(events, "2025-06-01", kpi, site)
    assert (clock["state"], sorted(clock["flags"])) == (state, flags)


def test_excluded_study_excludes_every_clock() -> None:
    events = [
        event("study_registered", "2025-01-01", attributes=EXCLUDED),
        event("regulatory_submitted", "2025-01-02"),
        event("regulatory_approved", "2025-06-01"),  # missed if it counted
        event("hra_approved", "2025-01-10"),
        event("site_selected", "2025-01-15", site="RGT"),
        event("site_opened", "2025-01-20", site="RAJ"),
    ]
    clocks = clocks_of(events, "2025-06-01")
    assert len(clocks) == 2 + 3 * 2
    assert {clock.state for clock in clocks.values()} == {ClockState.EXCLUDED}


def test_correcting_the_registration_lifts_the_exclusion() -> None:
    events = [
        event(
            "study_registered", "2025-01-01", attributes=EXCLUDED, recorded="2025-01-01T09:00:00Z"
        ),
        event(
            "study_registered",
            "2025-01-01",
            attributes={"sponsor_id": "acme"},
            recorded="2025-01-05T09:00:00Z",
        ),
        event("regulatory_submitted", "2025-01-02"),
    ]
    # as of 01-04 only the excluding registration is known; from 01-05 the correction wins
    assert clocks_of(events, "2025-01-04")[(None, "combined_review")].state is ClockState.EXCLUDED
    # 01-02 -> 01-05 = 3 days
    assert clocks_of(events, "2025-01-05")[(None, "combined_review")].state is ClockState.RUNNING


# -- site withdrawn or closed ------------------------------------------------------------------

OPENED = [event("site_opened", "2025-03-01", site="RGT")]

SITE_ENDS = [
    (
        "withdrawn before the stop: stopped, counted to the withdrawal",
        [
            *OPENED,
            event("site_withdrawn", "2025-03-11", site="RGT"),
            event("first_participant_recruited", "2025-03-20", site="RGT"),
        ],
        "2025-04-30",
        "first_participant",
        # 03-01 -> 03-11 = 10
        {"state": "stopped", "elapsed_days": 10, "stop_date": "2025-03-20"},
    ),
    (
        "closed with no stop: stopped, counted to the closure",
        [*OPENED, event("site_closed", "2025-04-05", site="RGT")],
        "2025-06-30",
        "first_participant",
        # 03-01 -> 03-31 = 30, + 5 = 35: counted to the closure, not to as_of (121 days)
        {"state": "stopped", "elapsed_days": 35, "stop_date": None},
    ),
    (
        "withdrawn on the stop day: not stopped",
        [
            *OPENED,
            event("site_withdrawn", "2025-03-20", site="RGT"),
            event("first_participant_recruited", "2025-03-20", site="RGT"),
        ],
        "2025-04-30",
        "first_participant",
        # 03-01 -> 03-20 = 19 <= 30
        {"state": "met", "elapsed_days": 19},
    ),
    (
        "withdrawn after the stop: not stopped",
        [
            *OPENED,
            event("first_participant_recruited", "2025-04-05", site="RGT"),
            event("site_withdrawn", "2025-04-10", site="RGT"),
        ],
        "2025-04-30",
        "first_participant",
        # 03-01 -> 04-05 = 30 + 5 = 35 > 30
        {"state": "missed", "elapsed_days": 35},
    ),
    (
        "withdrawn, then closed after the stop: the earlier end counts",
        [
            *OPENED,
            event("site_withdrawn", "2025-03-11", site="RGT"),
            event("site_closed", "2025-03-25", site="RGT"),
            event("first_participant_recruited", "2025-03-20", site="RGT"),
        ],
        "2025-04-30",
        "first_participant",
        # withdrawn 03-11 < stop 03-20 (closure 03-25 is after it); 03-01 -> 03-11 = 10
        {"state": "stopped", "elapsed_days": 10},
    ),
    (
        "withdrawn before the clock started: stopped",
        [event("site_withdrawn", "2025-02-01", site="RGT"), event("hra_approved", "2025-03-01")],
        "2025-04-30",
        "site_open",
        {"state": "stopped"},
    ),
]


@pytest.mark.parametrize(
    ("events", "as_of", "kpi", "expected"),
    [row[1:] for row in SITE_ENDS],
    ids=[row[0] for row in SITE_ENDS],
)
def test_site_withdrawn_or_closed(
    events: list[Milestone], as_of: str, kpi: str, expected: dict[str, Any]
) -> None:
    assert_clock(clock_json(events, as_of, kpi, "RGT"), expected)


def test_site_withdrawal_does_not_stop_study_clocks() -> None:
    events = [
        event("regulatory_submitted", "2025-01-10"),
        event("site_opened", "2025-02-01", site="RGT"),
        event("site_withdrawn", "2025-02-05", site="RGT"),
    ]
    # 01-10 -> 03-01 = 21 + 28 + 1 = 50 days
    clock = clock_json(events, "2025-03-01", "study_setup", None)
    assert (clock["state"], clock["elapsed_days"]) == ("running", 50)


# -- corrections, retractions, duplicates ------------------------------------------------------

DAY1 = "2025-03-10T09:00:00Z"
DAY2 = "2025-03-12T09:00:00Z"
DAY3 = "2025-03-14T09:00:00Z"


def opened(day: str, recorded: str, event_id: str | None = None, **extra: Any) -> Milestone:
    return event("site_opened", day, site="RGT", recorded=recorded, event_id=event_id, **extra)


CORRECTIONS = [
    (
        "later recorded_at wins, arriving first",
        [opened("2025-03-05", DAY2), opened("2025-03-01", DAY1)],
        "2025-03-05",
    ),
    (
        "later recorded_at wins, arriving last",
        [opened("2025-03-01", DAY1), opened("2025-03-05", DAY2)],
        "2025-03-05",
    ),
    # "ev-9" > "ev-10" as strings ('9' > '1'), though 9 < 10 as numbers
    (
        "tie on recorded_at: greater event_id as a string wins",
        [opened("2025-03-01", DAY1, "ev-9"), opened("2025-03-05", DAY1, "ev-10")],
        "2025-03-01",
    ),
    (
        "tie on recorded_at, other arrival order",
        [opened("2025-03-05", DAY1, "ev-10"), opened("2025-03-01", DAY1, "ev-9")],
        "2025-03-01",
    ),
    # 10:00+01:00 is the same instant as 09:00Z: a tie, so "b" > "a" decides
    (
        "tie on the instant written with different offsets",
        [opened("2025-03-01", "2025-03-10T10:00:00+01:00", "b"), opened("2025-03-05", DAY1, "a")],
        "2025-03-01",
    ),
    # 09:30+01:00 is 08:30Z, earlier than 09:00Z, though its wall clock reads later
    (
        "instants compared, not wall-clock text",
        [opened("2025-03-05", DAY1), opened("2025-03-01", "2025-03-10T09:30:00+01:00")],
        "2025-03-05",
    ),
    (
        "winning retraction removes the date",
        [opened("2025-03-01", DAY1), opened("2025-03-01", DAY2, retract=True)],
        None,
    ),
    (
        "retraction arriving before the version it beats",
        [opened("2025-03-01", DAY2, retract=True), opened("2025-03-01", DAY1)],
        None,
    ),
    (
        "older retraction loses to a newer version",
        [opened("2025-03-01", DAY2), opened("2025-03-01", DAY1, retract=True)],
        "2025-03-01",
    ),
    (
        "retraction superseded by a later version restores a date",
        [
            opened("2025-03-01", DAY1),
            opened("2025-03-01", DAY2, retract=True),
            opened("2025-03-07", DAY3),
        ],
        "2025-03-07",
    ),
    (
        "same, arriving newest first",
        [
            opened("2025-03-07", DAY3),
            opened("2025-03-01", DAY2, retract=True),
            opened("2025-03-01", DAY1),
        ],
        "2025-03-07",
    ),
]


@pytest.mark.parametrize(
    ("events", "winning_date"),
    [row[1:] for row in CORRECTIONS],
    ids=[row[0] for row in CORRECTIONS],
)
def test_corrections(events: list[Milestone], winning_date: str | None) -> None:
    # site_invited keeps RGT in the study when its opening is retracted
    invited = event("site_invited", "2025-01-01", site="RGT")
    clock = clock_json([invited, *events], "2025-03-20", "first_participant", "RGT")
    assert clock["start_date"] == winning_date
    assert clock["state"] == ("waiting" if winning_date is None else "running")


RETRACTIONS = [
    (
        "retracted start: back to waiting",
        [
            event("hra_approved", "2025-03-01", recorded=DAY1),
            event("hra_approved", "2025-03-01", recorded=DAY2, retract=True),
            event("site_invited", "2025-03-01", site="RGT"),
        ],
        "site_open",
        "RGT",
        {"state": "waiting", "start_date": None, "due_date": None, "elapsed_days": None},
    ),
    (
        "retracted stop: back to running",
        [
            event("site_opened", "2025-03-01", site="RGT"),
            event("first_participant_recruited", "2025-03-05", site="RGT", recorded=DAY1),
            event(
                "first_participant_recruited", "2025-03-05", site="RGT", recorded=DAY2, retract=True
            ),
        ],
        "first_participant",
        "RGT",
        # 03-01 -> 03-20 = 19; 19*4=76 < 90
        {"state": "running", "stop_date": None, "elapsed_days": 19},
    ),
    (
        "retracted earliest recruitment: study_setup stops at the next site",
        [
            event("regulatory_submitted", "2025-01-10"),
            event("first_participant_recruited", "2025-03-01", site="RAJ", recorded=DAY1),
            event("first_participant_recruited", "2025-03-05", site="RGT"),
            event(
                "first_participant_recruited", "2025-03-01", site="RAJ", recorded=DAY2, retract=True
            ),
        ],
        "study_setup",
        None,
        # 01-10 -> 03-05 = 21 + 28 + 5 = 54
        {"state": "met", "stop_date": "2025-03-05", "elapsed_days": 54},
    ),
    (
        "retracted ATIMP registration: back to 60 days",
        [
            event("study_registered", "2025-01-01", attributes=ATIMP, recorded=DAY1),
            event("study_registered", "2025-01-01", recorded=DAY2, retract=True),
            event("regulatory_submitted", "2025-01-10"),
        ],
        "combined_review",
        None,
        # 01-10 -> 03-20 = 21 + 28 + 20 = 69 > 60
        {"state": "breached", "limit_days": 60, "elapsed_days": 69},
    ),
]


@pytest.mark.parametrize(
    ("events", "kpi", "site", "expected"),
    [row[1:] for row in RETRACTIONS],
    ids=[row[0] for row in RETRACTIONS],
)
def test_retractions(
    events: list[Milestone], kpi: str, site: str | None, expected: dict[str, Any]
) -> None:
    assert_clock(clock_json(events, "2025-03-20", kpi, site), expected)


# (id, events (a list of factories so each row has fresh event ids), outcomes)
OUTCOMES = [
    ("first version accepted", [opened("2025-03-01", DAY1, "a")], ["accepted"]),
    (
        "newer version accepted",
        [opened("2025-03-01", DAY1, "a"), opened("2025-03-05", DAY2, "b")],
        ["accepted", "accepted"],
    ),
    (
        "older version arriving after a newer one is superseded",
        [opened("2025-03-05", DAY2, "b"), opened("2025-03-01", DAY1, "a")],
        ["accepted", "superseded"],
    ),
    (
        "tie lost on event_id is superseded",
        [opened("2025-03-05", DAY1, "b"), opened("2025-03-01", DAY1, "a")],
        ["accepted", "superseded"],
    ),
    (
        "repeated event_id is a duplicate",
        [opened("2025-03-01", DAY1, "a"), opened("2025-03-01", DAY1, "a")],
        ["accepted", "duplicate"],
    ),
    (
        "repeated event_id with other content is still a duplicate",
        [opened("2025-03-01", DAY1, "a"), opened("2025-03-09", DAY3, "a")],
        ["accepted", "duplicate"],
    ),
    (
        "repeated superseded event is a duplicate",
        [
            opened("2025-03-05", DAY2, "b"),
            opened("2025-03-01", DAY1, "a"),
            opened("2025-03-01", DAY1, "a"),
        ],
        ["accepted", "superseded", "duplicate"],
    ),
]


@pytest.mark.parametrize(
    ("events", "outcomes"), [row[1:] for row in OUTCOMES], ids=[row[0] for row in OUTCOMES]
)
def test_event_outcomes(events: list[Milestone], outcomes: list[str]) -> None:
    state = StudyState(STUDY)
    assert [state.apply(milestone) for milestone in events] == [EventOutcome(o) for o in outcomes]


def test_duplicate_changes_nothing() -> None:
    first = opened("2025-03-01", DAY1, "a")
    # same event_id, a later recorded_at and another date: would win if it were not a duplicate
    again = opened("2025-03-09", DAY3, "a")
    state = state_of([first])
    before = state.clocks(date(2025, 3, 20))
    assert state.apply(again) is EventOutcome.DUPLICATE
    assert state.apply(first) is EventOutcome.DUPLICATE
    assert state.clocks(date(2025, 3, 20)) == before
    assert clock_json([first, again], "2025-03-20", "first_participant", "RGT")["start_date"] == (
        "2025-03-01"
    )


def test_event_for_another_study_is_refused() -> None:
    with pytest.raises(ValueError, match="CPMS-2"):
        StudyState(STUDY).apply(event("hra_approved", "2025-03-01", study="CPMS-2"))


# -- replay as of a day ---------------------------------------------------------------------

REPLAY = [
    (
        "event recorded on a later day is ignored",
        [event("site_opened", "2025-03-01", site="RGT", recorded="2025-03-06T09:00:00Z")],
        "2025-03-05",
        None,
    ),
    (
        "event recorded on the as_of day is known",
        [event("site_opened", "2025-03-01", site="RGT", recorded="2025-03-05T23:59:59Z")],
        "2025-03-05",
        "2025-03-01",
    ),
    # 2025-06-30T23:30Z is 00:30 BST on 2025-07-01: a later UK date than 06-30
    (
        "BST: 23:30Z belongs to the next UK day",
        [event("site_opened", "2025-06-30", site="RGT", recorded="2025-06-30T23:30:00Z")],
        "2025-06-30",
        None,
    ),
    (
        "BST: known on the next UK day",
        [event("site_opened", "2025-06-30", site="RGT", recorded="2025-06-30T23:30:00Z")],
        "2025-07-01",
        "2025-06-30",
    ),
    # 2025-01-31T23:30Z is 23:30 GMT on 2025-01-31: the same UK day
    (
        "GMT: 23:30Z is still the same UK day",
        [event("site_opened", "2025-01-31", site="RGT", recorded="2025-01-31T23:30:00Z")],
        "2025-01-31",
        "2025-01-31",
    ),
    # 2025-07-01T00:30+01:00 is 2025-06-30T23:30Z: the offset does not change the UK day
    (
        "offset written in BST",
        [event("site_opened", "2025-06-30", site="RGT", recorded="2025-07-01T00:30:00+01:00")],
        "2025-06-30",
        None,
    ),
    (
        "a correction recorded later is not yet known",
        [
            event("site_opened", "2025-03-01", site="RGT", recorded=DAY1),
            event("site_opened", "2025-03-04", site="RGT", recorded=DAY3),
        ],
        "2025-03-13",
        "2025-03-01",
    ),
    (
        "a correction recorded by then wins",
        [
            event("site_opened", "2025-03-01", site="RGT", recorded=DAY1),
            event("site_opened", "2025-03-04", site="RGT", recorded=DAY3),
        ],
        "2025-03-14",
        "2025-03-04",
    ),
    (
        "a retraction recorded later is not yet known",
        [
            event("site_opened", "2025-03-01", site="RGT", recorded=DAY1),
            event("site_opened", "2025-03-01", site="RGT", recorded=DAY3, retract=True),
        ],
        "2025-03-13",
        "2025-03-01",
    ),
]


@pytest.mark.parametrize(
    ("events", "as_of", "start"), [row[1:] for row in REPLAY], ids=[row[0] for row in REPLAY]
)
def test_replay_knows_only_what_was_recorded_by_as_of(
    events: list[Milestone], as_of: str, start: str | None
) -> None:
    clocks = clocks_of([event("site_invited", "2025-01-01", site="RGT"), *events], as_of)
    assert clocks[("RGT", "first_participant")].to_json()["start_date"] == start


def test_replay_does_not_know_a_site_recorded_later() -> None:
    events = [
        event("regulatory_submitted", "2025-03-01"),
        event("site_invited", "2025-03-01", site="RGT", recorded="2025-03-03T09:00:00Z"),
    ]
    assert {site for site, _ in clocks_of(events, "2025-03-02")} == {None}
    assert {site for site, _ in clocks_of(events, "2025-03-03")} == {None, "RGT"}


# -- documented engine choices ------------------------------------------------------------------


def test_site_exists_once_any_of_its_milestones_has_a_date() -> None:
    events = [
        event("site_invited", "2025-03-01", site="RGT"),
        event("site_selected", "2025-03-01", site="RAJ", recorded=DAY1),
        event("site_selected", "2025-03-01", site="RAJ", recorded=DAY2, retract=True),
    ]
    clocks = clocks_of(events, "2025-03-20")
    # RGT (only invited) has its three clocks; RAJ's only milestone is retracted: no site
    assert sorted((site, kpi) for site, kpi in clocks if site) == [
        ("RGT", "approval_to_first_participant"),
        ("RGT", "first_participant"),
        ("RGT", "site_open"),
    ]
    assert {clock.state for clock in clocks.values()} == {ClockState.WAITING}


def test_study_without_sites_has_only_study_clocks() -> None:
    clocks = clocks_of([event("regulatory_submitted", "2025-03-01")], "2025-03-02")
    assert set(clocks) == {(None, "combined_review"), (None, "study_setup")}


NULLS = [
    (
        "null site_id and retract on a study milestone",
        {
            "milestone": "regulatory_submitted",
            "date": "2025-01-10",
            "site_id": None,
            "retract": None,
        },
        {"state": "running", "start_date": "2025-01-10"},
    ),
    (
        "null atimp counts as false",
        {
            "milestone": "study_registered",
            "date": "2025-01-02",
            "attributes": {"sponsor_id": "acme", "atimp": None},
        },
        {"limit_days": 60},
    ),
    (
        "null excluded_reason counts as not excluded",
        {
            "milestone": "study_registered",
            "date": "2025-01-02",
            "attributes": {"sponsor_id": "acme", "excluded_reason": None, "title": None},
        },
        {"state": "running"},
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [row[1:] for row in NULLS], ids=[row[0] for row in NULLS]
)
def test_null_optional_fields_count_as_absent(
    fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    raw = {
        "event_id": "null-1",
        "study_id": STUDY,
        "recorded_at": "2025-01-10T09:00:00Z",
        "source": "cpms",
        **fields,
    }
    events = [decode(raw)]
    if fields["milestone"] != "regulatory_submitted":
        events.append(event("regulatory_submitted", "2025-01-10"))
    # 01-10 -> 02-01 = 22 days: running under either limit
    assert_clock(clock_json(events, "2025-02-01", "combined_review", None), expected)


@pytest.mark.parametrize(
    "attributes",
    [
        {"sponsor_id": "acme", "commercial": False},
        {"sponsor_id": "acme", "ctimp": False},
        {"sponsor_id": "acme", "commercial": False, "ctimp": False},
    ],
    ids=["non-commercial", "non-CTIMP", "neither"],
)
def test_commercial_and_ctimp_do_not_change_clocks(attributes: dict[str, Any]) -> None:
    rest = [
        event("regulatory_submitted", "2025-01-10"),
        event("regulatory_approved", "2025-03-20"),
        event("hra_approved", "2025-03-25"),
        event("site_opened", "2025-04-10", site="RGT"),
    ]
    default = clocks_of([event("study_registered", "2025-01-02"), *rest], "2025-05-01")
    flagged = clocks_of(
        [event("study_registered", "2025-01-02", attributes=attributes), *rest], "2025-05-01"
    )
    assert flagged == default
    # 01-10 -> 03-20 = 21 + 28 + 20 = 69 > 60 in both
    assert flagged[(None, "combined_review")].state is ClockState.MISSED


def test_clock_kpi_names_are_the_contract_names() -> None:
    assert [kpi.value for kpi in Kpi] == [
        "combined_review",
        "site_open",
        "first_participant",
        "approval_to_first_participant",
        "study_setup",
    ]
