"""Rolling per-site windows of `setup.site-kpis` (CONTRACT.md section 3, kpi/windows.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kpi.clocks import LIMIT_DAYS, Clock, ClockState, Kpi
from kpi.windows import site_kpis
from studies.state import StudyState
from tests.factories import event

AS_OF = date(2024, 3, 31)
SITE_KPI_NAMES = ["site_open", "first_participant", "approval_to_first_participant"]


def clock(
    kpi: Kpi,
    state: ClockState,
    *,
    stop: date | None = None,
    elapsed: int | None = None,
    site: str | None = "RGT",
    study: str = "CPMS-1",
) -> Clock:
    """A clock as build_clocks makes it: start = stop - elapsed when both are given."""
    start = None
    if elapsed is not None:
        start = (stop or AS_OF) - timedelta(elapsed)
    return Clock(
        study_id=study,
        kpi=kpi,
        site_id=site,
        state=state,
        start_date=start,
        stop_date=stop,
        elapsed_days=elapsed,
        limit_days=LIMIT_DAYS[kpi],
    )


def met(
    stop: date, elapsed: int = 10, kpi: Kpi = Kpi.FIRST_PARTICIPANT, site: str = "RGT"
) -> Clock:
    return clock(kpi, ClockState.MET, stop=stop, elapsed=elapsed, site=site)


def missed(
    stop: date, elapsed: int = 40, kpi: Kpi = Kpi.FIRST_PARTICIPANT, site: str = "RGT"
) -> Clock:
    return clock(kpi, ClockState.MISSED, stop=stop, elapsed=elapsed, site=site)


def window(
    result: dict[str, object], name: str, kpi: str = "first_participant"
) -> dict[str, object]:
    windows = result["windows"]
    assert isinstance(windows, dict)
    return windows[name][kpi]


# as_of 2024-03-31. 90 days before: 03-01 is -30, 02-01 is -59 (Feb 2024 has 29 days),
# 01-01 is -90, so the 90d window is (2024-01-01, 2024-03-31].
# 365 days before: 2023-03-31 -> 2024-03-31 is 366 days (it holds 2024-02-29), so -365 is
# 2023-04-01 and the 365d window is (2023-04-01, 2024-03-31].
BOUNDARIES = [
    ("stopped on as_of: in both", date(2024, 3, 31), 1, 1),
    ("stopped after as_of: in neither", date(2024, 4, 1), 0, 0),
    ("stopped exactly 90 days ago: out of 90d", date(2024, 1, 1), 0, 1),
    ("stopped 89 days ago: in 90d", date(2024, 1, 2), 1, 1),
    ("stopped on leap day: in 90d", date(2024, 2, 29), 1, 1),
    ("stopped exactly 365 days ago: out of 365d", date(2023, 4, 1), 0, 0),
    ("stopped 364 days ago: in 365d", date(2023, 4, 2), 0, 1),
]


@pytest.mark.parametrize(
    ("stop", "in_90d", "in_365d"),
    [row[1:] for row in BOUNDARIES],
    ids=[row[0] for row in BOUNDARIES],
)
def test_window_is_open_at_the_start_and_closed_at_as_of(
    stop: date, in_90d: int, in_365d: int
) -> None:
    result = site_kpis("RGT", "London", [met(stop), missed(stop)], AS_OF)
    assert (window(result, "90d")["met"], window(result, "90d")["missed"]) == (in_90d, in_90d)
    assert (window(result, "365d")["met"], window(result, "365d")["missed"]) == (in_365d, in_365d)


STOP = date(2024, 3, 1)

COMPLIANCE = [
    ("nothing stopped: compliance and median are null", [], 0, 0, None, None),
    ("one met", [met(STOP, 12)], 1, 0, 1.0, 12),
    # even count: median of 10, 20 is (10 + 20) / 2 = 15
    ("all met, even count", [met(STOP, 20), met(STOP, 10)], 2, 0, 1.0, 15),
    # 3 / (3 + 1) = 0.75; sorted 10, 20, 25, 40: median (20 + 25) / 2 = 22.5
    (
        "three met, one missed",
        [met(STOP, 25), missed(STOP, 40), met(STOP, 10), met(STOP, 20)],
        3,
        1,
        0.75,
        22.5,
    ),
    # 1 / 3; sorted 5, 31, 45: median 31
    ("odd count", [missed(STOP, 45), met(STOP, 5), missed(STOP, 31)], 1, 2, 1 / 3, 31),
    ("only missed: compliance 0, not null", [missed(STOP, 35)], 0, 1, 0.0, 35),
    (
        "open clocks are not in a window",
        [
            clock(Kpi.FIRST_PARTICIPANT, ClockState.BREACHED, elapsed=50),
            clock(Kpi.FIRST_PARTICIPANT, ClockState.RUNNING, elapsed=3),
        ],
        0,
        0,
        None,
        None,
    ),
    (
        "stopped, invalid and excluded clocks are not in a window",
        [
            clock(Kpi.FIRST_PARTICIPANT, ClockState.STOPPED, stop=STOP, elapsed=12),
            clock(Kpi.FIRST_PARTICIPANT, ClockState.INVALID, stop=STOP, elapsed=-3),
            clock(Kpi.FIRST_PARTICIPANT, ClockState.EXCLUDED, stop=STOP, elapsed=50),
        ],
        0,
        0,
        None,
        None,
    ),
    (
        "another site's clocks are not counted",
        [met(STOP, 10), missed(STOP, 40, site="RAJ"), met(STOP, 2, site="RAJ")],
        1,
        0,
        1.0,
        10,
    ),
    (
        "another KPI's clocks are not counted",
        [met(STOP, 10), missed(STOP, 70, kpi=Kpi.SITE_OPEN)],
        1,
        0,
        1.0,
        10,
    ),
]


@pytest.mark.parametrize(
    ("clocks", "n_met", "n_missed", "compliance", "median"),
    [row[1:] for row in COMPLIANCE],
    ids=[row[0] for row in COMPLIANCE],
)
def test_compliance_and_median(
    clocks: list[Clock], n_met: int, n_missed: int, compliance: float | None, median: float | None
) -> None:
    for name in ("90d", "365d"):
        assert window(site_kpis("RGT", "London", clocks, AS_OF), name) == {
            "met": n_met,
            "missed": n_missed,
            "compliance": None if compliance is None else pytest.approx(compliance),
            "median_days": median,
        }


def test_open_counts_by_state_for_that_site_only() -> None:
    clocks = [
        clock(Kpi.SITE_OPEN, ClockState.RUNNING, elapsed=5),
        clock(Kpi.SITE_OPEN, ClockState.RUNNING, elapsed=6, study="CPMS-2"),
        clock(Kpi.SITE_OPEN, ClockState.AT_RISK, elapsed=50, study="CPMS-3"),
        clock(Kpi.FIRST_PARTICIPANT, ClockState.BREACHED, elapsed=40),
        clock(Kpi.APPROVAL_TO_FIRST_PARTICIPANT, ClockState.AT_RISK, elapsed=70),
        # not open
        clock(Kpi.FIRST_PARTICIPANT, ClockState.WAITING),
        clock(Kpi.FIRST_PARTICIPANT, ClockState.STOPPED, elapsed=3),
        clock(Kpi.FIRST_PARTICIPANT, ClockState.EXCLUDED, elapsed=3),
        met(STOP),
        # another site
        clock(Kpi.SITE_OPEN, ClockState.BREACHED, elapsed=70, site="RAJ"),
        # study clocks
        clock(Kpi.COMBINED_REVIEW, ClockState.BREACHED, elapsed=70, site=None),
        clock(Kpi.STUDY_SETUP, ClockState.RUNNING, elapsed=7, site=None),
    ]
    assert site_kpis("RGT", "London", clocks, AS_OF)["open"] == {
        "site_open": {"running": 2, "at_risk": 1, "breached": 0},
        "first_participant": {"running": 0, "at_risk": 0, "breached": 1},
        "approval_to_first_participant": {"running": 0, "at_risk": 1, "breached": 0},
    }


def test_document_shape_has_only_site_level_kpis() -> None:
    result = site_kpis(
        "RGT",
        "North East",
        [clock(Kpi.COMBINED_REVIEW, ClockState.MET, stop=STOP, elapsed=20, site=None)],
        AS_OF,
    )
    assert set(result) == {"site_id", "region", "as_of", "windows", "open"}
    assert (result["site_id"], result["region"], result["as_of"]) == (
        "RGT",
        "North East",
        "2024-03-31",
    )
    windows = result["windows"]
    assert isinstance(windows, dict) and set(windows) == {"90d", "365d"}
    for summary in windows.values():
        assert list(summary) == SITE_KPI_NAMES
        assert all(entry["met"] == 0 for entry in summary.values())
    open_counts = result["open"]
    assert isinstance(open_counts, dict) and list(open_counts) == SITE_KPI_NAMES


def test_windows_from_engine_clocks_across_studies() -> None:
    clocks = []
    # CPMS-1 at RGT: opened 2024-01-10, recruited 2024-02-05: 21 + 5 = 26 days, met
    # CPMS-2 at RGT: opened 2023-12-01, recruited 2024-01-15: 30 + 15 = 45 days, missed
    # CPMS-2 at RAJ: opened 2024-02-01, recruited 2024-02-03: another site
    for study, site, opened_on, recruited_on in [
        ("CPMS-1", "RGT", "2024-01-10", "2024-02-05"),
        ("CPMS-2", "RGT", "2023-12-01", "2024-01-15"),
        ("CPMS-2", "RAJ", "2024-02-01", "2024-02-03"),
    ]:
        state = StudyState(study)
        state.apply(event("site_opened", opened_on, site=site, study=study))
        state.apply(event("first_participant_recruited", recruited_on, site=site, study=study))
        clocks += state.clocks(AS_OF)
    first = window(site_kpis("RGT", "London", clocks, AS_OF), "90d")
    # both stops are after 2024-01-01; 1 / 2 = 0.5; median of 26, 45 = 35.5
    assert first == {"met": 1, "missed": 1, "compliance": 0.5, "median_days": 35.5}


def test_windows_at_the_start_of_the_calendar_do_not_overflow() -> None:
    # as_of - 365 days is before 0001-01-01: the window starts at the calendar's first day
    stopped = date(1, 1, 3)
    result = site_kpis("RGT", "London", [met(stopped, elapsed=1)], as_of=date(1, 1, 5))
    assert window(result, "365d")["met"] == 1
    assert window(result, "90d")["met"] == 1
