"""Partitions with work waiting that stopped moving (streams/stalls.py), for /healthz."""

from __future__ import annotations

from streams.stalls import StallWatch


def watch() -> StallWatch:
    return StallWatch(stall_seconds=120.0, lag_tolerance=20)


def test_a_partition_behind_that_does_not_move_for_the_threshold_is_stalled() -> None:
    stalls = watch()
    assert not stalls.observe({0: 500}, {0: 10}, now=0.0)
    assert not stalls.observe({0: 500}, {0: 10}, now=120.0)  # not longer than the threshold yet
    assert stalls.observe({0: 500}, {0: 10}, now=121.0)
    assert stalls.stalled == {0}


def test_progress_or_a_caught_up_partition_is_not_a_stall() -> None:
    stalls = watch()
    stalls.observe({0: 500, 1: 5}, {0: 10, 1: 99}, now=0.0)
    stalls.observe({0: 500, 1: 5}, {0: 11, 1: 99}, now=200.0)  # 0 moved; 1 is within tolerance
    assert stalls.stalled == set()


def test_a_stalled_partition_that_moves_again_recovers() -> None:
    stalls = watch()
    stalls.observe({0: 500}, {0: 10}, now=0.0)
    stalls.observe({0: 500}, {0: 10}, now=200.0)
    assert stalls.observe({0: 400}, {0: 110}, now=201.0)  # changed: no longer stalled
    assert stalls.stalled == set()


def test_after_a_rebalance_progress_is_measured_again() -> None:
    stalls = watch()
    stalls.observe({0: 500}, {0: 10}, now=0.0)
    stalls.forget(0)
    stalls.observe({0: 500}, {0: 10}, now=200.0)  # first look since the rebalance
    assert stalls.stalled == set()
    stalls.forget()
    assert not stalls.observe({0: 500}, {0: 10}, now=400.0)
