"""Alerts (CONTRACT.md section 3, rules/decide.py): StudyState.apply + StudyState.advance.

Each row is a sequence of steps: events applied, then `advance(as_of)`, then the alert IDs it
must raise, in clock order. Day counts are worked out in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.codec import dumps, loads
from events.milestones import Milestone
from kpi.clocks import Kpi
from rules.decide import AlertId, AlertKind
from studies.state import EventOutcome, StudyState
from tests.factories import event

STUDY = "CPMS-1"
EXCLUDED = {"sponsor_id": "acme", "excluded_reason": "academic study"}

# first_participant at RGT opened on 2025-01-31, limit 30:
# at_risk from 2025-02-23 (+23: 23*4=92>=90), day 30 is 2025-03-02 (02-28 is +28),
# breached from 2025-03-03 (+31); due 2025-03-02.
FP = f"{STUDY}/RGT/first_participant/2025-01-31"
# combined_review submitted 2025-01-01, limit 60 (90 for an ATIMP)
CR = f"{STUDY}/-/combined_review/2025-01-01"


def rec(day: str) -> str:
    return f"{day}T09:00:00Z"


def opened(day: str = "2025-01-31", *, at: str | None = None, **extra: object) -> Milestone:
    return event("site_opened", day, site="RGT", recorded=rec(at or day), **extra)


def recruited(day: str, *, at: str | None = None, **extra: object) -> Milestone:
    return event("first_participant_recruited", day, site="RGT", recorded=rec(at or day), **extra)


Step = tuple[list[Milestone], str, list[str]]

SEQUENCES: list[tuple[str, list[Step]]] = [
    (
        "time-driven: at_risk on day 23, breached on day 31, each once",
        [
            ([opened()], "2025-02-22", []),  # day 22: 88 < 90
            ([], "2025-02-23", [f"{FP}/at_risk"]),  # day 23: 92 >= 90
            ([], "2025-02-23", []),  # same day again
            ([], "2025-02-24", []),
            ([], "2025-03-02", []),  # day 30 == limit: still at_risk
            ([], "2025-03-03", [f"{FP}/breached"]),  # day 31 > 30
            ([], "2025-03-04", []),
            ([], "2025-04-30", []),
        ],
    ),
    (
        "first seen already breached: breached without at_risk",
        [
            ([opened()], "2025-03-03", [f"{FP}/breached"]),  # day 31
            ([], "2025-03-04", []),
        ],
    ),
    (
        "first seen already missed (late data): breached",
        [
            # 01-31 -> 03-05 = 28 + 5 = 33 > 30
            ([opened(), recruited("2025-03-05")], "2025-03-05", [f"{FP}/breached"]),
            ([], "2025-03-06", []),
        ],
    ),
    (
        "late stop arrives after a gap: breached, never at_risk",
        [
            ([opened()], "2025-02-10", []),  # day 10
            ([recruited("2025-03-05")], "2025-03-05", [f"{FP}/breached"]),
        ],
    ),
    (
        "at_risk then met on time: no cleared",
        [
            ([opened()], "2025-02-23", [f"{FP}/at_risk"]),
            ([recruited("2025-02-25")], "2025-02-25", []),  # day 25 <= 30: met
            ([], "2025-03-10", []),
        ],
    ),
    (
        "breached then the stop date is corrected so the clock is met: cleared",
        [
            ([opened(), recruited("2025-03-05")], "2025-03-05", [f"{FP}/breached"]),
            # corrected to 03-01 = day 29 <= 30: met
            ([recruited("2025-03-01", at="2025-03-06")], "2025-03-06", [f"{FP}/cleared"]),
            ([], "2025-03-07", []),
        ],
    ),
    (
        "breached then a stop inside the limit arrives late: cleared",
        [
            ([opened()], "2025-03-03", [f"{FP}/breached"]),
            # stop on 03-02 = day 30: met
            ([recruited("2025-03-02", at="2025-03-04")], "2025-03-04", [f"{FP}/cleared"]),
        ],
    ),
    (
        "start date corrected: old identity cleared, new clock alerts on its own days",
        [
            ([opened()], "2025-02-23", [f"{FP}/at_risk"]),
            # new start 02-10: on 02-24 elapsed 14, running
            ([opened("2025-02-10", at="2025-02-24")], "2025-02-24", [f"{FP}/cleared"]),
            # 02-10 + 23 = 03-05 (02-28 is +18)
            ([], "2025-03-04", []),
            ([], "2025-03-05", [f"{STUDY}/RGT/first_participant/2025-02-10/at_risk"]),
        ],
    ),
    (
        "start retracted, site still in the study: cleared",
        [
            (
                [event("site_invited", "2025-01-02", site="RGT"), opened()],
                "2025-03-03",
                [f"{FP}/breached"],
            ),
            ([opened(at="2025-03-04", retract=True)], "2025-03-04", [f"{FP}/cleared"]),
            ([], "2025-03-05", []),
        ],
    ),
    (
        "start retracted, site gone from the study: cleared",
        [
            ([opened()], "2025-03-03", [f"{FP}/breached"]),
            ([opened(at="2025-03-04", retract=True)], "2025-03-04", [f"{FP}/cleared"]),
        ],
    ),
    (
        "stop corrected to before the start (invalid): cleared",
        [
            ([opened(), recruited("2025-03-05")], "2025-03-05", [f"{FP}/breached"]),
            ([recruited("2025-01-20", at="2025-03-06")], "2025-03-06", [f"{FP}/cleared"]),
        ],
    ),
    (
        "stop retracted after a miss: still breached, nothing new",
        [
            ([opened(), recruited("2025-03-05")], "2025-03-05", [f"{FP}/breached"]),
            ([recruited("2025-03-05", at="2025-03-06", retract=True)], "2025-03-06", []),
        ],
    ),
    (
        "episodes: breached, cleared, missed again, met again, each episode numbered",
        [
            ([opened(), recruited("2025-03-05")], "2025-03-05", [f"{FP}/breached"]),
            ([recruited("2025-03-01", at="2025-03-06")], "2025-03-06", [f"{FP}/cleared"]),
            ([recruited("2025-03-05", at="2025-03-07")], "2025-03-07", [f"{FP}/breached/2"]),
            ([], "2025-03-08", []),
            ([recruited("2025-03-01", at="2025-03-09")], "2025-03-09", [f"{FP}/cleared/2"]),
            ([recruited("2025-03-01", at="2025-03-10", retract=True)], "2025-03-10", [f"{FP}/breached/3"]),
        ],
    ),
    (
        "a breach after an at_risk warning is the same episode",
        [
            ([opened()], "2025-02-23", [f"{FP}/at_risk"]),
            ([recruited("2025-02-25")], "2025-02-25", []),  # met on time: episode stays open
            # the recruitment was recorded in error: day 31, still the same episode
            ([recruited("2025-02-25", at="2025-03-03", retract=True)], "2025-03-03", [f"{FP}/breached"]),
            ([], "2025-03-04", []),
        ],
    ),
    (
        "excluded study raises nothing",
        [
            (
                [event("study_registered", "2025-01-02", attributes=EXCLUDED), opened()],
                "2025-02-23",
                [],
            ),
            ([], "2025-03-03", []),
            ([recruited("2025-03-05")], "2025-03-05", []),
        ],
    ),
    (
        "site withdrawn before the limit raises nothing",
        [
            ([opened(), event("site_withdrawn", "2025-02-10", site="RGT")], "2025-02-23", []),
            ([], "2025-03-10", []),
        ],
    ),
    (
        "site withdrawn after a breach: no cleared",
        [
            ([opened()], "2025-03-03", [f"{FP}/breached"]),
            ([event("site_withdrawn", "2025-03-04", site="RGT")], "2025-03-04", []),
            ([], "2025-03-05", []),
        ],
    ),
    (
        "study excluded after a breach: no cleared",
        [
            ([opened()], "2025-03-03", [f"{FP}/breached"]),
            (
                [
                    event(
                        "study_registered",
                        "2025-01-02",
                        attributes=EXCLUDED,
                        recorded=rec("2025-03-04"),
                    )
                ],
                "2025-03-04",
                [],
            ),
        ],
    ),
    # 2025-01-01 + 45 = 02-15 (01-31 is +30); +60 = 03-02; +61 = 03-03
    (
        "study clock: site part of the ID is '-'",
        [
            ([event("regulatory_submitted", "2025-01-01")], "2025-02-14", []),
            ([], "2025-02-15", [f"{CR}/at_risk"]),
            ([], "2025-03-02", []),
            ([], "2025-03-03", [f"{CR}/breached"]),
        ],
    ),
    (
        "ATIMP correction lifts the limit from 60 to 90: at_risk cleared",
        [
            (
                [
                    event("study_registered", "2025-01-01"),
                    event("regulatory_submitted", "2025-01-01"),
                ],
                "2025-02-15",
                [f"{CR}/at_risk"],
            ),  # day 45 of 60
            # day 46 of 90: 184 < 270, running again
            (
                [
                    event(
                        "study_registered",
                        "2025-01-01",
                        recorded=rec("2025-02-16"),
                        attributes={"sponsor_id": "acme", "atimp": True},
                    )
                ],
                "2025-02-16",
                [f"{CR}/cleared"],
            ),
            ([], "2025-03-09", []),  # day 67 of 90: 268 < 270
            ([], "2025-03-10", [f"{CR}/at_risk/2"]),  # day 68 of 90: a second episode
            # 2025-01-01 + 91 = 04-02 (03-31 is +89)
            ([], "2025-04-01", []),
            ([], "2025-04-02", [f"{CR}/breached/2"]),
        ],
    ),
    (
        "breach cleared by an ATIMP correction: at_risk and breached again in episode 2",
        [
            # 2025-01-01 + 61 = 03-03 (01-31 is +30, 02-28 is +58)
            (
                [
                    event("study_registered", "2025-01-01"),
                    event("regulatory_submitted", "2025-01-01"),
                ],
                "2025-03-03",
                [f"{CR}/breached"],
            ),
            # limit now 90: day 62 is running (248 < 270)
            (
                [
                    event(
                        "study_registered",
                        "2025-01-01",
                        recorded=rec("2025-03-04"),
                        attributes={"sponsor_id": "acme", "atimp": True},
                    )
                ],
                "2025-03-04",
                [f"{CR}/cleared"],
            ),
            ([], "2025-03-10", [f"{CR}/at_risk/2"]),  # day 68 of 90: the next episode opens
            ([], "2025-04-01", []),
            ([], "2025-04-02", [f"{CR}/breached/2"]),  # day 91 of 90
        ],
    ),
    (
        "site_open: corrected selection date moves the start",
        [
            # start = later of hra 01-01 and selected 01-01; day 45 on 02-15
            (
                [
                    event("hra_approved", "2025-01-01"),
                    event("site_selected", "2025-01-01", site="RGT"),
                ],
                "2025-02-15",
                [f"{STUDY}/RGT/site_open/2025-01-01/at_risk"],
            ),
            # selection corrected to 01-20: start 01-20, day 27 on 02-16 (01-31 is +11), running
            (
                [event("site_selected", "2025-01-20", site="RGT", recorded=rec("2025-02-16"))],
                "2025-02-16",
                [f"{STUDY}/RGT/site_open/2025-01-01/cleared"],
            ),
        ],
    ),
]


@pytest.mark.parametrize("steps", [row[1] for row in SEQUENCES], ids=[row[0] for row in SEQUENCES])
def test_alert_sequences(steps: list[Step]) -> None:
    state = StudyState(STUDY)
    for number, (events, as_of, expected) in enumerate(steps, start=1):
        for milestone in events:
            state.apply(milestone)
        alerts = state.advance(date.fromisoformat(as_of)).alerts
        assert [alert.alert_id for alert in alerts] == expected, f"step {number} ({as_of})"
        assert [alert.kind.value for alert in alerts] == [a.split("/")[4] for a in expected]
        assert [alert.id for alert in alerts] == [AlertId.parse(a) for a in expected]


def test_two_clocks_alert_independently() -> None:
    state = StudyState(STUDY)
    for milestone in [event("regulatory_submitted", "2025-01-01"), opened()]:
        state.apply(milestone)
    # on 03-03 combined_review is on day 61 (breached), first_participant on day 31 (breached);
    # study_setup is on day 61 of 150, running
    ids = [alert.alert_id for alert in state.advance(date(2025, 3, 3)).alerts]
    assert ids == [f"{CR}/breached", f"{FP}/breached"]


# -- payload ----------------------------------------------------------------------------------


def test_breached_alert_payload() -> None:
    state = StudyState(STUDY)
    for milestone in [
        event("study_registered", "2025-01-02", attributes={"sponsor_id": "acme-1"}),
        opened(),
        recruited("2025-03-05"),
    ]:
        state.apply(milestone)
    (alert,) = state.advance(date(2025, 3, 5)).alerts
    assert alert.key == "RGT"
    raised_at = datetime(2025, 3, 5, 9, 30, tzinfo=UTC)
    assert alert.to_json(raised_at=raised_at) == {
        "alert_id": f"{FP}/breached",
        "kind": "breached",
        "kpi": "first_participant",
        "study_id": STUDY,
        "site_id": "RGT",
        "sponsor_id": "acme-1",
        "start_date": "2025-01-31",
        "due_date": "2025-03-02",  # 01-31 + 30 (02-28 is +28)
        "stop_date": "2025-03-05",
        "elapsed_days": 33,  # 28 + 5
        "limit_days": 30,
        "as_of": "2025-03-05",
        "raised_at": "2025-03-05T09:30:00+00:00",
    }


def test_study_clock_alert_payload_and_key() -> None:
    state = StudyState(STUDY)
    state.apply(event("regulatory_submitted", "2025-01-01"))
    (alert,) = state.advance(date(2025, 2, 20)).alerts
    # 01-01 -> 02-20 = 30 + 20 = 50 of 60: at_risk (200 >= 180); due 01-01 + 60 = 03-02
    assert (alert.kind, alert.kpi, alert.site_id, alert.key) == (
        AlertKind.AT_RISK,
        Kpi.COMBINED_REVIEW,
        None,
        STUDY,
    )
    assert (alert.start_date, alert.due_date, alert.stop_date) == (
        date(2025, 1, 1),
        date(2025, 3, 2),
        None,
    )
    assert (alert.elapsed_days, alert.limit_days, alert.as_of) == (50, 60, date(2025, 2, 20))
    assert alert.sponsor_id is None  # no registration known


def test_cleared_alert_for_a_moved_start_describes_the_old_clock() -> None:
    state = StudyState(STUDY)
    state.apply(event("study_registered", "2025-01-02"))
    state.apply(opened())
    state.advance(date(2025, 2, 23))
    state.apply(opened("2025-02-10", at="2025-02-24"))
    (alert,) = state.advance(date(2025, 2, 24)).alerts
    assert alert.to_json(raised_at=datetime(2025, 2, 24, tzinfo=UTC)) == {
        "alert_id": f"{FP}/cleared",
        "kind": "cleared",
        "kpi": "first_participant",
        "study_id": STUDY,
        "site_id": "RGT",
        "sponsor_id": "acme",
        "start_date": "2025-01-31",
        "due_date": "2025-03-02",
        "stop_date": None,
        "elapsed_days": None,
        "limit_days": 30,
        "as_of": "2025-02-24",
        "raised_at": "2025-02-24T00:00:00+00:00",
    }


def test_cleared_alert_for_a_met_clock_carries_its_stop() -> None:
    state = StudyState(STUDY)
    for milestone in [opened(), recruited("2025-03-05")]:
        state.apply(milestone)
    state.advance(date(2025, 3, 5))
    state.apply(recruited("2025-03-01", at="2025-03-06"))
    (alert,) = state.advance(date(2025, 3, 6)).alerts
    # 01-31 -> 03-01 = 29 days
    assert (alert.kind, alert.stop_date, alert.elapsed_days, alert.as_of) == (
        AlertKind.CLEARED,
        date(2025, 3, 1),
        29,
        date(2025, 3, 6),
    )


# -- what changed -----------------------------------------------------------------------------


def changed_keys(state: StudyState, as_of: str) -> list[str]:
    return [clock.key for clock in state.advance(date.fromisoformat(as_of)).changed]


def test_changed_lists_exactly_the_clocks_that_changed() -> None:
    state = StudyState(STUDY)
    for milestone in [
        event("regulatory_submitted", "2025-01-01"),
        event("hra_approved", "2025-01-10"),
        event("site_selected", "2025-01-15", site="RGT"),
        event("site_opened", "2025-01-20", site="RGT"),
        event("site_invited", "2025-01-15", site="RAJ"),
    ]:
        state.apply(milestone)
    everything = [
        "-/combined_review",
        "-/study_setup",
        "RAJ/site_open",
        "RAJ/first_participant",
        "RAJ/approval_to_first_participant",
        "RGT/site_open",
        "RGT/first_participant",
        "RGT/approval_to_first_participant",
    ]
    assert changed_keys(state, "2025-01-25") == everything  # first report: all of them
    assert changed_keys(state, "2025-01-25") == []  # nothing new
    # a day later only elapsed days grew; no state crossed a line
    assert changed_keys(state, "2025-01-26") == []
    # RGT recruits on 02-01: RGT's two recruitment clocks and study_setup stop
    state.apply(event("first_participant_recruited", "2025-02-01", site="RGT"))
    assert changed_keys(state, "2025-02-01") == [
        "-/study_setup",
        "RGT/first_participant",
        "RGT/approval_to_first_participant",
    ]
    # 2025-01-01 + 45 = 02-15: combined_review turns at_risk by time alone
    assert changed_keys(state, "2025-02-14") == []
    assert changed_keys(state, "2025-02-15") == ["-/combined_review"]


def test_removed_lists_the_clocks_of_a_site_that_left() -> None:
    state = StudyState(STUDY)
    state.apply(event("site_invited", "2025-01-15", site="RAJ", recorded=rec("2025-01-15")))
    state.advance(date(2025, 1, 20))
    state.apply(
        event("site_invited", "2025-01-15", site="RAJ", recorded=rec("2025-01-21"), retract=True)
    )
    update = state.advance(date(2025, 1, 21))
    assert update.removed == [
        "RAJ/approval_to_first_participant",
        "RAJ/first_participant",
        "RAJ/site_open",
    ]
    assert update.changed == []


# -- serialisation ----------------------------------------------------------------------------


def round_trip(state: StudyState) -> StudyState:
    return StudyState.from_json(loads(dumps(state.to_json())))


def test_round_trip_keeps_clocks_alerts_and_dedup() -> None:
    first = opened()
    state = StudyState(STUDY)
    for milestone in [
        event("study_registered", "2025-01-02", attributes={"sponsor_id": "acme"}),
        event("regulatory_submitted", "2025-01-02"),
        first,
        opened("2025-01-15", at="2025-01-20"),
    ]:  # older version, superseded
        state.apply(milestone)
    # combined_review: 01-02 -> 02-23 = 29 + 23 = 52 of 60, at_risk; first_participant day 23
    assert [a.alert_id for a in state.advance(date(2025, 2, 23)).alerts] == [
        f"{STUDY}/-/combined_review/2025-01-02/at_risk",
        f"{FP}/at_risk",
    ]

    restored = round_trip(state)
    assert restored.clocks(date(2025, 2, 23)) == state.clocks(date(2025, 2, 23))
    # what was raised and reported survives: nothing again on the same day
    update = restored.advance(date(2025, 2, 23))
    assert (update.alerts, update.changed) == ([], [])
    # a duplicate after the round trip is still a duplicate
    assert restored.apply(first) is EventOutcome.DUPLICATE
    # and time still drives the rest: first_participant breached on day 31, once;
    # combined_review is on day 60 (29 + 28 + 3), at_risk already raised
    assert [a.alert_id for a in restored.advance(date(2025, 3, 3)).alerts] == [f"{FP}/breached"]
    assert restored.advance(date(2025, 3, 3)).alerts == []


def test_round_trip_keeps_a_clearance() -> None:
    state = StudyState(STUDY)
    for milestone in [opened(), recruited("2025-03-05")]:
        state.apply(milestone)
    state.advance(date(2025, 3, 5))
    state.apply(recruited("2025-03-01", at="2025-03-06"))
    assert [a.kind for a in state.advance(date(2025, 3, 6)).alerts] == [AlertKind.CLEARED]
    restored = round_trip(state)
    assert restored.advance(date(2025, 3, 7)).alerts == []
    assert round_trip(restored).to_json() == restored.to_json()
