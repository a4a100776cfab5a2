"""When a milestones partition is ticked, and when its tick is applied (streams/ticks.py)."""

from __future__ import annotations

from datetime import date

import pytest

from kpi.clocks import Clock, ClockState, Kpi, next_change
from streams.ticks import StudyTicks

MON, TUE = date(2025, 3, 3), date(2025, 3, 4)


DECISIONS = [
    # (name, lag, behind, ticked before on, in flight, sends)
    ("new partition, caught up", 0, False, None, False, True),
    ("lag within the tolerance", 20, False, None, False, True),
    ("still catching up", 21, False, None, False, False),
    ("ticked today, nothing behind", 0, False, MON, False, False),
    ("ticked today, a study judged as of a past day since", 0, True, MON, False, True),
    ("ticked yesterday: a new UK day", 0, False, date(2025, 3, 2), False, True),
    ("a tick in flight already", 0, True, date(2025, 3, 2), True, False),
]


@pytest.mark.parametrize(
    ("lag", "behind", "ticked_on", "in_flight", "sends"),
    [row[1:] for row in DECISIONS],
    ids=[row[0] for row in DECISIONS],
)
def test_when_the_timer_sends_a_tick(
    lag: int, behind: bool, ticked_on: date | None, in_flight: bool, sends: bool
) -> None:
    ticks = StudyTicks(lag_tolerance=20)
    if ticked_on is not None:
        assert ticks.decide(0, ticked_on, lag=0, behind=False)
        if not in_flight:
            ticks.received(0, ticked_on, through=0)
            assert ticks.ready(0, processed=0) == ticked_on
    assert ticks.decide(0, MON, lag=lag, behind=behind) is sends


def test_a_tick_never_applied_is_taken_as_lost_and_sent_again() -> None:
    # faust-streaming can skip a message around a rebalance: a lost tick must not leave its
    # partition without ticks for the rest of the assignment
    ticks = StudyTicks(lag_tolerance=20, resend_after=60.0)
    assert ticks.decide(0, MON, lag=0, behind=True, now=1000.0)
    assert not ticks.decide(0, MON, lag=0, behind=True, now=1059.0)  # still in flight
    assert ticks.decide(0, MON, lag=0, behind=True, now=1060.0)
    assert not ticks.decide(0, MON, lag=0, behind=True, now=1061.0)  # the new one is


def test_a_tick_waits_until_the_partition_is_read_up_to_its_high_water() -> None:
    ticks = StudyTicks(lag_tolerance=20)
    assert ticks.decide(0, MON, lag=15, behind=False)
    ticks.received(0, MON, through=115)
    assert ticks.ready(0, processed=100) is None  # 15 messages still unread
    assert ticks.ready(0, processed=114) is None
    assert not ticks.decide(0, MON, lag=0, behind=True)  # one is in flight
    assert ticks.ready(0, processed=115) == MON
    assert ticks.ready(0, processed=116) is None  # applied once
    assert ticks.decide(0, MON, lag=0, behind=True)  # late data read since: due again


def test_partitions_are_ticked_independently() -> None:
    ticks = StudyTicks(lag_tolerance=0)
    assert ticks.decide(0, MON, lag=0, behind=False)
    assert ticks.decide(1, MON, lag=0, behind=False)
    ticks.received(1, MON, through=5)
    assert ticks.ready(0, processed=0) is None  # partition 0's tick not read yet
    assert ticks.ready(1, processed=5) == MON


def test_a_rebalance_forgets_ticks_so_every_partition_is_swept_again() -> None:
    ticks = StudyTicks(lag_tolerance=0)
    assert ticks.decide(0, TUE, lag=0, behind=False)
    ticks.received(0, TUE, through=9)
    ticks.reset()
    assert ticks.ready(0, processed=9) is None  # that tick's wait is over with the assignment
    assert ticks.decide(0, TUE, lag=0, behind=False)


# first_participant: limit 30, at risk from day 23 (23 * 4 = 92 >= 90), breached from day 31
START = date(2025, 1, 31)
NEXT_CHANGES = [
    ("running: its at-risk point", ClockState.RUNNING, 30, date(2025, 2, 23)),
    ("at risk: the day after its limit", ClockState.AT_RISK, 30, date(2025, 3, 3)),
    ("running, limit 60: day 45", ClockState.RUNNING, 60, date(2025, 3, 17)),
    ("breached: only an event changes it", ClockState.BREACHED, 30, None),
    ("met", ClockState.MET, 30, None),
    ("waiting", ClockState.WAITING, 30, None),
]


@pytest.mark.parametrize(
    ("state", "limit", "expected"), [row[1:] for row in NEXT_CHANGES], ids=[r[0] for r in NEXT_CHANGES]
)
def test_a_clock_knows_the_next_day_it_changes_state(
    state: ClockState, limit: int, expected: date | None
) -> None:
    clock = Clock("CPMS-1", Kpi.FIRST_PARTICIPANT, "RGT", state, START, None, 0, limit)
    assert next_change(clock) == expected
