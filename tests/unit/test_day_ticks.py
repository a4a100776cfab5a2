"""Which owned partitions get a day tick, and what it says (streams/day_ticks.py)."""

from __future__ import annotations

from datetime import date

from broker.topics import TopicNames
from core.codec import loads
from streams.day_ticks import DayTicks, read_study_tick, site_tick_day

TOPICS = TopicNames("setup", 6)
MON, TUE = date(2025, 3, 3), date(2025, 3, 4)
M, S = TOPICS.milestones, TOPICS.site_clocks


def due(
    ticks: DayTicks,
    today: date,
    owned: list[tuple[str, int]],
    *,
    lags: dict[int, int] | None = None,
    behind: frozenset[int] = frozenset(),
    processed: int = 100,
) -> list[tuple[str, int, dict[str, object]]]:
    lags = lags if lags is not None else {p: 0 for t, p in owned if t == M}
    sent = ticks.due(
        today, owned, lags=lags, behind=lambda p: p in behind, processed=lambda p: processed
    )
    return [(topic, partition, loads(value)) for topic, partition, value in sent]


def test_a_site_clocks_partition_is_ticked_once_a_uk_day() -> None:
    ticks = DayTicks(TOPICS, lag_tolerance=20)
    tick = {"as_of": "2025-03-03", "tick": "2025-03-03"}
    assert due(ticks, MON, [(S, 1)]) == [(S, 1, tick)]
    assert due(ticks, MON, [(S, 1)]) == []
    assert [p for _, p, _ in due(ticks, TUE, [(S, 1), (S, 2)])] == [1, 2]


def test_a_milestones_tick_goes_to_the_ticks_topic_and_carries_the_high_water_it_saw() -> None:
    ticks = DayTicks(TOPICS, lag_tolerance=20)
    [(topic, partition, value)] = due(ticks, MON, [(M, 3)], lags={3: 15}, processed=100)
    assert (topic, partition) == (TOPICS.study_ticks, 3)
    assert value == {"as_of": "2025-03-03", "tick": "2025-03-03", "through": 115}
    assert read_study_tick(b'{"as_of":"2025-03-03","through":115}') == (MON, 115)


def test_a_milestones_partition_still_catching_up_is_not_ticked() -> None:
    ticks = DayTicks(TOPICS, lag_tolerance=20)
    assert due(ticks, MON, [(M, 0), (S, 0)], lags={0: 21}) == [
        (S, 0, {"as_of": "2025-03-03", "tick": "2025-03-03"})
    ]


def test_late_data_ticks_a_milestones_partition_again_the_same_day() -> None:
    ticks = DayTicks(TOPICS, lag_tolerance=20)
    assert due(ticks, MON, [(M, 0)])
    ticks.study.received(0, MON, through=100)
    assert ticks.study.ready(0, processed=100) == MON
    assert due(ticks, MON, [(M, 0)]) == []
    assert due(ticks, MON, [(M, 0)], behind=frozenset({0}))


def test_after_an_assignment_every_partition_is_ticked_again() -> None:
    ticks = DayTicks(TOPICS, lag_tolerance=20)
    assert len(due(ticks, MON, [(M, 0), (S, 0)])) == 2
    ticks.reset()
    assert len(due(ticks, MON, [(M, 0), (S, 0)])) == 2


def test_a_tick_counts_as_sent_only_once_the_caller_takes_it() -> None:
    ticks = DayTicks(TOPICS, lag_tolerance=20)
    sent = ticks.due(MON, [(S, 0), (S, 1)], lags={}, behind=lambda p: False, processed=int)
    next(sent)  # the send of partition 0's tick failed: partition 1 was not decided yet
    assert [p for _, p, _ in due(ticks, MON, [(S, 0), (S, 1)])] == [1]


def test_a_site_clocks_message_is_a_tick_or_a_sites_clocks() -> None:
    assert site_tick_day({"as_of": "2025-03-03", "tick": "2025-03-03"}) == MON
    assert site_tick_day({"site_id": "RGT", "study_id": "CPMS-1", "clocks": []}) is None
