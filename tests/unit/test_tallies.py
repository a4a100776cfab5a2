"""Lock-free counters and histograms (streams/tallies.py) expose what prometheus-client's do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from streams.metrics import DAYS_BUCKETS
from streams.tallies import DayHistogram, Tally

LABELS = st.sampled_from([("site_open", "London"), ("first_participant", "North West")])


def exposition(*collectors: object) -> list[str]:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)  # type: ignore[arg-type]
    lines = generate_latest(registry).decode().splitlines()
    # prometheus-client adds `_created` series; the contract's metrics do not need them
    return [line for line in lines if "_created" not in line]


@given(st.lists(st.tuples(LABELS, st.integers(-5, 1000)), max_size=60))
def test_a_histogram_exposes_what_prometheus_client_would(
    observations: list[tuple[tuple[str, str], int]],
) -> None:
    ours = DayHistogram("clock_days", "Days", ["kpi", "region"], buckets=DAYS_BUCKETS)
    theirs = Histogram(
        "clock_days", "Days", ["kpi", "region"], buckets=DAYS_BUCKETS, registry=None
    )
    for labels, days in observations:
        ours.labels(*labels).observe(days)
        theirs.labels(*labels).observe(days)
    assert exposition(ours) == exposition(theirs)


@given(st.lists(st.tuples(LABELS, st.integers(1, 3)), max_size=60))
def test_a_tally_exposes_what_a_counter_would(increments: list[tuple[tuple[str, str], int]]) -> None:
    ours = Tally("events", "Events", ["kpi", "region"])
    theirs = Counter("events", "Events", ["kpi", "region"], registry=None)
    for labels, amount in increments:
        ours.labels(*labels).inc(amount)
        theirs.labels(*labels).inc(amount)
    assert exposition(ours) == exposition(theirs)


def test_the_wrong_number_of_labels_is_refused() -> None:
    with pytest.raises(ValueError, match="takes labels"):
        Tally("events", "Events", ["kpi", "region"]).labels("site_open")
    with pytest.raises(ValueError, match="takes labels"):
        DayHistogram("days", "Days", ["kpi"], buckets=(1, 2)).labels("a", "b")
