"""The two alert guarantees of CONTRACT.md section 3 on the pure study stage, for any
interleaving of many studies' histories on one partition (tests/alert_truth.py checks them).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from broker.messages import Incoming
from broker.topics import TopicNames
from core.codec import dumps, loads
from streams.metrics import SetupmonMetrics
from streams.study_stage import StudyStage
from studies.state import StudyState
from tests.alert_truth import repeated_ids, untrue_days, untrue_last_words
from tests.histories import decoded, interleave, last_recorded_day, study_histories

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NO_HOLD_BACK = 100 * 365  # the guarantees hold in full with the hold-back off


def run_stage(
    feed: list[dict], *, today: date, batch: int, sweep_days: list[date]
) -> tuple[list[dict], dict[str, StudyState]]:
    """Feed everything through one partition's stage in batches, then sweep on each day."""
    topics = TopicNames("setup", 1)
    stage = StudyStage(
        topics,
        SetupmonMetrics.create(CollectorRegistry()),
        lambda site: "London",
        alert_horizon_days=NO_HOLD_BACK,
    )
    store: dict[str, StudyState] = {}
    outputs = []
    messages = [
        Incoming(e["study_id"].encode(), dumps(e), topics.milestones, 0, offset)
        for offset, e in enumerate(feed)
    ]
    for start in range(0, len(messages), batch):
        result = stage.ingest(messages[start : start + batch], store.get, as_of=today, now=NOW)
        store.update(result.states)
        outputs += result.outputs
    for day in sweep_days:
        result = stage.sweep(list(store.values()), partition=0, as_of=day, now=NOW)
        store.update(result.states)
        outputs += result.outputs
    alerts = [loads(out.value) for out in outputs if out.topic == topics.alerts and out.value]
    return alerts, store


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    order=st.randoms(use_true_random=False),
    batch=st.sampled_from([1, 2, 7, 50, 10_000]),
    later=st.integers(1, 200),
)
def test_alerts_hold_for_any_interleaving_of_studies(
    seed: int, order: random.Random, batch: int, later: int
) -> None:
    histories = study_histories(seed, studies=6, first_day=date(2022, 1, 1), span_days=3 * 365)
    today = last_recorded_day(histories) + timedelta(days=1)
    sweeps = [today, today + timedelta(days=later)]
    alerts, _ = run_stage(interleave(histories, order), today=today, batch=batch, sweep_days=sweeps)

    events = {study: decoded(history) for study, history in histories.items()}
    assert untrue_days(events, alerts) == []
    for day in sweeps:
        assert untrue_last_words(events, alerts, dict.fromkeys(histories, day)) == []
    assert repeated_ids(alerts) == []


def test_a_study_is_judged_as_of_its_own_days_not_its_neighbours() -> None:
    """The case the issue reported: a 2024 study read after a 2026 study on its partition."""
    old = [
        {
            "event_id": f"old-{n}",
            "study_id": "CPMS-OLD",
            "milestone": milestone,
            "date": day,
            "recorded_at": f"{day}T10:00:00+00:00",
            "source": "cpms",
        }
        for n, (milestone, day) in enumerate(
            [("regulatory_submitted", "2024-01-03"), ("regulatory_approved", "2024-02-10")]
        )
    ]
    new = [{**old[0], "event_id": "new-0", "study_id": "CPMS-NEW", "date": "2026-03-01",
            "recorded_at": "2026-03-01T10:00:00+00:00"}]  # fmt: skip
    alerts, _ = run_stage(new + old, today=date(2026, 3, 2), batch=1, sweep_days=[])
    assert alerts == []  # before per-study event time: combined_review breached, then cleared
