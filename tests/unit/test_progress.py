"""How far the study agent has processed each milestones partition (streams/progress.py)."""

from __future__ import annotations

from streams.progress import Progress

COMMITTED = {0: 40}


def progress() -> Progress:
    return Progress(COMMITTED.get)


def test_before_processing_anything_a_partition_starts_from_its_committed_offset() -> None:
    assert progress().processed(0) == 40
    assert progress().processed(1) == 0  # nothing committed yet: from the beginning


def test_the_lag_counts_from_what_was_processed_not_what_was_fetched() -> None:
    tracked = progress()
    assert tracked.lag(0, highwater=100) == 60
    tracked.processed_up_to([(0, 41), (0, 89), (1, 5)])
    assert tracked.processed(0) == 90
    assert tracked.lag(0, highwater=100) == 10
    assert tracked.lag(1, highwater=3) == 0  # never negative
    assert tracked.lag(0, highwater=None) is None  # high water not known yet
    assert tracked.next_offsets == {0: 90, 1: 6}


def test_a_partition_taken_away_starts_again_from_its_committed_offset() -> None:
    tracked = progress()
    tracked.processed_up_to([(0, 89)])
    tracked.forget(0)
    assert tracked.processed(0) == 40
