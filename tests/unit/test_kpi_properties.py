"""Properties of the KPI engine over random event histories (studies/state.py module docstring).

Applying the same events in any order gives the same clocks and alerts; duplicates and replays
change nothing; the serialised state is the same state; incremental evaluation never raises
an alert twice and ends where the batch ends.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.codec import dumps, loads
from events.milestones import SITE_MILESTONES, Milestone, MilestoneKind
from kpi.clocks import Clock
from rules.decide import Alert
from studies.state import EventOutcome, StudyState
from tests.factories import event

STUDIES = ("CPMS-1", "CPMS-2")
SITES = ("RGT", "RAJ")
BASE = date(2024, 1, 1)  # a leap year: histories cross 29 February
BST = timezone(timedelta(hours=1))
# Few distinct recording times, so that versions often tie on recorded_at.
HOURS = (0, 9, 9, 12, 23)
M = MilestoneKind
# Clock starts and stops come up more often than withdrawals, so clocks get to every state.
MILESTONES = (
    *[M.REGULATORY_SUBMITTED, M.HRA_APPROVED, M.SITE_OPENED, M.FIRST_PARTICIPANT_RECRUITED] * 3,
    *[M.REGULATORY_APPROVED, M.SITE_SELECTED, M.STUDY_REGISTERED] * 2,
    M.SITE_INVITED,
    M.SITE_CONFIRMED,
    M.FIRST_PARTICIPANT_CONSENTED,
    M.SITE_WITHDRAWN,
    M.SITE_CLOSED,
)

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make(
    study: str,
    milestone: MilestoneKind,
    site: str | None,
    day: date,
    lag: int,
    hour: int,
    summer_offset: bool,
    retract: bool,
    atimp: bool,
    excluded: bool,
    event_id: str,
) -> Milestone:
    # recorded on the UK day of `day + lag` or the next one: never before `day`
    moment = datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC) + timedelta(lag)
    recorded = (moment.astimezone(BST) if summer_offset else moment).isoformat()
    extra: dict[str, object] = {}
    if retract:
        extra["retract"] = True
    elif milestone is MilestoneKind.STUDY_REGISTERED:
        attributes: dict[str, object] = {"sponsor_id": f"sp-{study[-1]}", "atimp": atimp}
        if excluded:
            attributes["excluded_reason"] = "test"
        extra["attributes"] = attributes
    return event(
        milestone.value,
        day.isoformat(),
        site=site,
        recorded=recorded,
        study=study,
        event_id=event_id,
        **extra,
    )


@st.composite
def versions_of(
    draw: st.DrawFn, study: str, milestone: MilestoneKind, site: str | None, event_id: str
) -> Milestone:
    return make(
        study,
        milestone,
        site,
        day=BASE + timedelta(draw(st.integers(0, 160))),
        lag=draw(st.integers(0, 3)),
        hour=draw(st.sampled_from(HOURS)),
        summer_offset=draw(st.booleans()),
        retract=draw(st.integers(0, 5)) == 0,
        atimp=draw(st.booleans()),
        excluded=draw(st.integers(0, 6)) == 0,
        event_id=event_id,
    )


@st.composite
def histories(draw: st.DrawFn, studies: tuple[str, ...] = STUDIES) -> list[Milestone]:
    """New milestones, then corrections of some of them, then exact duplicates of some."""
    events: list[Milestone] = []
    for number in range(draw(st.integers(1, 14))):
        study = draw(st.sampled_from(studies))
        milestone = draw(st.sampled_from(MILESTONES))
        site = draw(st.sampled_from(SITES)) if milestone in SITE_MILESTONES else None
        events.append(draw(versions_of(study, milestone, site, f"e{number:02d}")))
    for number in range(draw(st.integers(0, 8))):
        original = draw(st.sampled_from(events))
        # "c.." < "e.." as strings: on a tie of recorded_at the original beats a correction
        events.append(
            draw(
                versions_of(
                    original.study_id, original.milestone, original.site_id, f"c{number:02d}"
                )
            )
        )
    events += draw(st.lists(st.sampled_from(events), max_size=4))
    return events


as_of_days = st.integers(0, 200).map(lambda offset: BASE + timedelta(offset))


def fresh() -> dict[str, StudyState]:
    return {study: StudyState(study) for study in STUDIES}


def apply_all(states: dict[str, StudyState], events: list[Milestone]) -> list[EventOutcome]:
    return [states[milestone.study_id].apply(milestone) for milestone in events]


def batch(
    events: list[Milestone], as_of: date
) -> tuple[dict[str, StudyState], dict[str, tuple[list[Clock], list[Alert]]]]:
    states = fresh()
    apply_all(states, events)
    result = {}
    for study, state in states.items():
        update = state.advance(as_of)
        assert update.clocks == state.clocks(as_of)
        result[study] = (update.clocks, update.alerts)
    return states, result


@PROPERTY_SETTINGS
@given(data=st.data(), events=histories(), as_of=as_of_days)
def test_any_arrival_order_gives_the_same_clocks_and_alerts(
    data: st.DataObject, events: list[Milestone], as_of: date
) -> None:
    shuffled = data.draw(st.permutations(events), label="arrival order")
    assert batch(shuffled, as_of)[1] == batch(events, as_of)[1]


@PROPERTY_SETTINGS
@given(events=histories(), as_of=as_of_days)
def test_duplicates_and_replays_change_nothing(events: list[Milestone], as_of: date) -> None:
    states, before = batch(events, as_of)
    # every event again, in reverse: all duplicates
    outcomes = apply_all(states, events[::-1])
    assert set(outcomes) == {EventOutcome.DUPLICATE}
    for study, state in states.items():
        update = state.advance(as_of)
        assert update.clocks == before[study][0]
        assert (update.alerts, update.changed, update.removed) == ([], [], [])


@PROPERTY_SETTINGS
@given(events=histories())
def test_each_event_is_accepted_superseded_or_duplicate_as_its_rank_says(
    events: list[Milestone],
) -> None:
    states = fresh()
    best: dict[tuple[str, str | None, MilestoneKind], tuple[datetime, str]] = {}
    seen: set[tuple[str, str]] = set()
    for milestone, outcome in zip(events, apply_all(states, events), strict=True):
        key = (milestone.study_id, milestone.site_id, milestone.milestone)
        rank = (milestone.recorded_at, milestone.event_id)
        if (milestone.study_id, milestone.event_id) in seen:
            assert outcome is EventOutcome.DUPLICATE
            continue
        seen.add((milestone.study_id, milestone.event_id))
        if key not in best or rank > best[key]:
            best[key] = rank
            assert outcome is EventOutcome.ACCEPTED
        else:
            assert outcome is EventOutcome.SUPERSEDED


@PROPERTY_SETTINGS
@given(events=histories(), as_of=as_of_days)
def test_serialised_state_is_the_same_state(events: list[Milestone], as_of: date) -> None:
    states, result = batch(events, as_of)
    for study, state in states.items():
        restored = StudyState.from_json(loads(dumps(state.to_json())))
        assert restored.clocks(as_of) == result[study][0]
        assert restored.to_json() == state.to_json()
        later = as_of + timedelta(45)
        assert restored.clocks(later) == state.clocks(later)
        assert restored.advance(later).alerts == state.advance(later).alerts


@PROPERTY_SETTINGS
@given(data=st.data(), events=histories(), as_of=as_of_days)
def test_a_state_written_back_after_every_event_is_the_whole_state(
    data: st.DataObject, events: list[Milestone], as_of: date
) -> None:
    """The worker writes a study back after each batch from per-part pieces it keeps between
    writes; a piece kept too long would lose a version, an alert episode or a report."""
    shuffled = data.draw(st.permutations(events), label="arrival order")
    written, twin = fresh(), fresh()  # the same calls; only `written` is written back
    for number, milestone in enumerate(shuffled):
        day = as_of + timedelta(number % 3)
        for states in (written, twin):
            state = states.setdefault(milestone.study_id, StudyState(milestone.study_id))
            state.apply(milestone)
            state.advance(day)
        stored = loads(written[milestone.study_id].encoded())
        whole = loads(copy.deepcopy(twin[milestone.study_id]).encoded())
        assert stored == whole
        assert loads(StudyState.from_json(stored).encoded()) == whole


@PROPERTY_SETTINGS
@given(data=st.data(), events=histories(), as_of=as_of_days)
def test_incremental_evaluation_raises_each_alert_once_and_ends_like_the_batch(
    data: st.DataObject, events: list[Milestone], as_of: date
) -> None:
    shuffled = data.draw(st.permutations(events), label="arrival order")
    states = fresh()
    raised: Counter[str] = Counter()
    for milestone in shuffled:
        state = states[milestone.study_id]
        state.apply(milestone)
        update = state.advance(as_of)
        raised.update(alert.alert_id for alert in update.alerts)
        # re-evaluating only the changed site gives what a full evaluation gives
        assert update.clocks == state.clocks(as_of)
    assert [alert_id for alert_id, count in raised.items() if count > 1] == []
    _, expected = batch(events, as_of)
    for study, state in states.items():
        assert state.clocks(as_of) == expected[study][0]
        # nothing is left to say about a day already evaluated
        assert state.advance(as_of).alerts == []


@PROPERTY_SETTINGS
@given(events=histories(), as_of=as_of_days)
def test_advancing_day_by_day_raises_each_alert_once(events: list[Milestone], as_of: date) -> None:
    states = fresh()
    apply_all(states, events)
    for study, state in states.items():
        raised: Counter[str] = Counter()
        for offset in range(0, 200, 7):
            update = state.advance(BASE + timedelta(offset))
            raised.update(a.alert_id for a in update.alerts)
            assert update.clocks == state.clocks(update.as_of)
        raised.update(a.alert_id for a in state.advance(as_of + timedelta(200)).alerts)
        assert [alert_id for alert_id, count in raised.items() if count > 1] == [], study


@PROPERTY_SETTINGS
@given(data=st.data(), events=histories(), as_of=as_of_days)
def test_the_status_document_is_the_whole_study_as_of_its_day(
    data: st.DataObject, events: list[Milestone], as_of: date
) -> None:
    shuffled = data.draw(st.permutations(events), label="arrival order")
    states = fresh()
    for milestone in shuffled:
        states[milestone.study_id].apply(milestone)
        update = states[milestone.study_id].advance(as_of)
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    for study, state in states.items():
        update = state.advance(as_of)
        document = loads(update.status_json(updated_at=moment))
        clocks = state.clocks(update.as_of)
        assert document["clocks"] == [clock.to_json() for clock in clocks]
        assert list(document["sites"]) == sorted({c.site_id for c in clocks if c.site_id})
        assert (document["study_id"], document["as_of"]) == (study, update.as_of.isoformat())
        assert document["updated_at"] == moment.isoformat()
