"""Clock identities, alert IDs with episodes (CONTRACT.md section 3, v1.2), and what a study
state remembers of them: format and parse, episodes, the hold-back, and reading format 1."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from alerts.ledger import latest_alert_per_clock
from core.codec import dumps, loads
from kpi.clocks import Kpi
from rules.decide import Alert, AlertId, AlertKind, ClockId, Episode, record
from rules.record import AlertRecord
from studies.state import StudyState
from tests.factories import event

SITE_CLOCK = ClockId("CPMS-1", "RGT", Kpi.FIRST_PARTICIPANT, date(2025, 1, 31))
STUDY_CLOCK = ClockId("CPMS-6:1.a_b", None, Kpi.COMBINED_REVIEW, date(2025, 1, 1))

VALID = [
    (AlertId(SITE_CLOCK, AlertKind.AT_RISK), "CPMS-1/RGT/first_participant/2025-01-31/at_risk"),
    (AlertId(SITE_CLOCK, AlertKind.BREACHED, 2), "CPMS-1/RGT/first_participant/2025-01-31/breached/2"),
    (AlertId(SITE_CLOCK, AlertKind.CLEARED, 13), "CPMS-1/RGT/first_participant/2025-01-31/cleared/13"),
    (AlertId(STUDY_CLOCK, AlertKind.BREACHED), "CPMS-6:1.a_b/-/combined_review/2025-01-01/breached"),
]  # fmt: skip


@pytest.mark.parametrize(("alert_id", "text"), VALID, ids=[text for _, text in VALID])
def test_alert_ids_format_and_parse(alert_id: AlertId, text: str) -> None:
    assert alert_id.format() == text
    assert AlertId.parse(text) == alert_id


INVALID = [
    "CPMS-1/RGT/first_participant/2025-01-31/breached/1",  # the first episode has no suffix
    "CPMS-1/RGT/first_participant/2025-01-31/breached/02",
    "CPMS-1/RGT/first_participant/2025-01-31/breached/x",
    "CPMS-1/RGT/first_participant/2025-01-31/late",
    "CPMS-1/RGT/opening/2025-01-31/breached",
    "CPMS-1/RGT/first_participant/2025-02-30/breached",
    "CPMS-1/RGT/first_participant/breached",
    "CPMS-1/RGT/first_participant/2025-01-31/breached/2/3",
]


@pytest.mark.parametrize("text", INVALID)
def test_anything_else_is_not_an_alert_id(text: str) -> None:
    with pytest.raises(ValueError):
        AlertId.parse(text)


def _alert(kind: AlertKind, episode: int, *, held: bool = False) -> Alert:
    return Alert(
        AlertId(SITE_CLOCK, kind, episode), None, date(2025, 3, 2), None, 40, 30,
        date(2025, 3, 1), held=held,
    )  # fmt: skip


def test_record_keeps_each_clocks_latest_episode() -> None:
    episodes: dict[ClockId, Episode] = {}
    record(episodes, [_alert(AlertKind.AT_RISK, 1), _alert(AlertKind.BREACHED, 1)])
    assert episodes == {SITE_CLOCK: Episode(1, frozenset({AlertKind.AT_RISK, AlertKind.BREACHED}))}
    assert episodes[SITE_CLOCK].open
    record(episodes, [_alert(AlertKind.CLEARED, 1)])
    assert not episodes[SITE_CLOCK].open
    record(episodes, [_alert(AlertKind.BREACHED, 2)])
    assert episodes == {SITE_CLOCK: Episode(2, frozenset({AlertKind.BREACHED}))}


def test_a_held_back_alert_leaves_its_clock_unannounced_until_one_is_sent() -> None:
    episodes: dict[ClockId, Episode] = {}
    record(episodes, [_alert(AlertKind.BREACHED, 1, held=True)])
    assert not episodes[SITE_CLOCK].announced
    record(episodes, [_alert(AlertKind.CLEARED, 1)])
    assert episodes[SITE_CLOCK].announced
    record(episodes, [_alert(AlertKind.BREACHED, 2, held=True)])
    assert episodes[SITE_CLOCK].announced  # it stays announced in later episodes


# -- the hold-back in a study's state -------------------------------------------------------

# first_participant from site_opened 2025-01-31: breached from day 31 (03-03); recruited on
# 02-20 (day 20) it is met.
def opened_state() -> StudyState:
    state = StudyState("CPMS-1")
    state.apply(event("site_opened", "2025-01-31", site="RGT"))
    return state


def test_alerts_judged_before_the_hold_back_day_are_held() -> None:
    state = opened_state()
    [alert] = state.advance(date(2025, 3, 3), hold_back_before=date(2025, 3, 4)).alerts
    assert (alert.alert_id, alert.held) == (
        "CPMS-1/RGT/first_participant/2025-01-31/breached",
        True,
    )
    [sent] = opened_state().advance(date(2025, 3, 3), hold_back_before=date(2025, 3, 3)).alerts
    assert not sent.held


def test_once_a_clock_was_announced_its_later_alerts_are_never_held() -> None:
    state = opened_state()
    [breach] = state.advance(date(2025, 3, 3), hold_back_before=date(2025, 2, 1)).alerts
    assert not breach.held
    # a long outage: the recruitment, recorded on 03-05, is read when 03-05 is long past
    state.apply(
        event("first_participant_recruited", "2025-02-20", site="RGT", recorded="2025-03-05T10:00:00Z")
    )
    [cleared] = state.advance(date(2025, 3, 5), hold_back_before=date(2025, 6, 1)).alerts
    assert (cleared.kind, cleared.held) == (AlertKind.CLEARED, False)


def test_an_unannounced_clock_stays_quiet_about_the_past() -> None:
    state = opened_state()
    [breach] = state.advance(date(2025, 3, 3), hold_back_before=date(2025, 6, 1)).alerts
    assert breach.held
    state.apply(
        event("first_participant_recruited", "2025-02-20", site="RGT", recorded="2025-03-05T10:00:00Z")
    )
    [cleared] = state.advance(date(2025, 3, 5), hold_back_before=date(2025, 6, 1)).alerts
    assert cleared.held


# -- serialisation --------------------------------------------------------------------------

def format_1(state: StudyState, raised: list[str]) -> dict[str, object]:
    """The state as format 1 wrote it: the alert IDs raised instead of episodes."""
    data = loads(dumps(state.to_json()))
    del data["episodes"]
    return {**data, "format": 1, "raised": raised}


def test_a_format_1_state_reads_as_first_episodes() -> None:
    raised = [
        "CPMS-1/RGT/first_participant/2025-01-31/breached",
        "CPMS-1/RGT/first_participant/2025-01-31/cleared",
        "CPMS-1/-/combined_review/2025-01-01/at_risk",
    ]
    state = StudyState.from_json(format_1(opened_state(), raised))
    assert state.episodes == {
        SITE_CLOCK: Episode(1, frozenset({AlertKind.BREACHED, AlertKind.CLEARED})),
        ClockId("CPMS-1", None, Kpi.COMBINED_REVIEW, date(2025, 1, 1)): Episode(
            1, frozenset({AlertKind.AT_RISK})
        ),
    }
    # the closed episode opens a second one when the clock breaches again
    [again] = [a for a in state.advance(date(2025, 3, 6)).alerts if a.clock == SITE_CLOCK]
    assert again.alert_id == "CPMS-1/RGT/first_participant/2025-01-31/breached/2"
    assert StudyState.from_json(loads(dumps(state.to_json()))).episodes == state.episodes


def test_an_unknown_state_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown study state format 9"):
        StudyState.from_json({**format_1(opened_state(), []), "format": 9})


# -- the notifier's view of a clock's alerts ------------------------------------------------


def test_the_latest_alert_per_clock_is_the_highest_episode_then_the_last_kind() -> None:
    def message(alert_id: str) -> dict[str, object]:
        alert = Alert(
            AlertId.parse(alert_id), "acme", date(2025, 3, 2), None, 40, 30, date(2025, 3, 1)
        )
        return alert.to_json(raised_at=datetime(2025, 3, 1, 9, tzinfo=UTC))

    def rec(alert_id: str) -> dict[str, object]:
        return {"status": "delivered", "alert": message(alert_id)}

    fp = "CPMS-1/RGT/first_participant/2025-01-31"
    so = "CPMS-1/RGT/site_open/2025-01-01"
    records = [
        rec(f"{fp}/breached/2"),
        rec(f"{fp}/cleared"),
        rec(f"{fp}/breached"),
        rec(f"{so}/at_risk"),
        rec(f"{so}/breached"),
        {"status": "undeliverable", "alert": message(f"{fp}/at_risk")},
    ]
    alerts = [AlertRecord.from_json(r["alert"]) for r in records]
    latest = sorted(a.alert_id for a in latest_alert_per_clock(alerts))
    assert latest == [f"{fp}/breached/2", f"{so}/breached"]


# -- clock identities -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "text"),
    [
        (SITE_CLOCK, "CPMS-1/RGT/first_participant/2025-01-31"),
        (STUDY_CLOCK, "CPMS-6:1.a_b/-/combined_review/2025-01-01"),
    ],
)
def test_clock_ids_format_and_parse(clock: ClockId, text: str) -> None:
    assert clock.format() == text
    assert ClockId.parse(text) == clock


@pytest.mark.parametrize(
    "text",
    [
        "CPMS-1/RGT/first_participant",  # no start date
        "CPMS-1/RGT/first_participant/2025-01-31/breached",  # an alert ID, not a clock's
        "CPMS-1/RGT/opening/2025-01-31",
        "CPMS-1/RGT/first_participant/2025-02-30",
        "CPMS-1/RGT/first_participant/20250131",  # a date, but not written as format writes it
        "",
    ],
)
def test_anything_else_is_not_a_clock_id(text: str) -> None:
    with pytest.raises(ValueError, match="not a clock ID"):
        ClockId.parse(text)


def test_an_alert_id_with_a_bad_clock_says_which_id() -> None:
    with pytest.raises(ValueError, match=r"not an alert ID: 'CPMS-1/RGT/opening/2025-01-31/breached'"):
        AlertId.parse("CPMS-1/RGT/opening/2025-01-31/breached")
