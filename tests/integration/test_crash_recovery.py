"""A worker killed with SIGKILL mid-stream loses no state and raises no alert twice."""

from __future__ import annotations

import signal
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from events.codec import loads
from setupmon.settings import Settings
from setupmon.simulator import entered_on, plan_events
from setupmon.sites import load_sites, read_sites
from streams.messages import Incoming
from streams.metrics import SetupmonMetrics
from streams.study_stage import StudyStage, partition_for
from streams.topics import TopicNames
from tests.integration.kafka_io import produce, read_all, run, wait_for
from tests.integration.test_pipeline import calendar, latest_by_key

pytestmark = pytest.mark.integration

TODAY = date(2025, 6, 1)
SITES = Path(__file__).resolve().parents[2] / "deploy" / "sites" / "sample-sites.csv"


def entered_today(studies: int) -> list[tuple[bytes, bytes]]:
    """A simulated national history, all entered on TODAY in this order (so every
    evaluation, before or after the crash, is as of TODAY whatever the timing)."""
    site_ids = [site.site_id for site in read_sites(SITES)]
    planned = plan_events(
        site_ids, studies=studies, first_day=TODAY - timedelta(300), span_days=200, seed=7
    )
    return entered_on(planned, TODAY)


def replay(settings: Settings, messages: list[tuple[bytes, bytes]]) -> tuple[set[str], dict]:
    """What an uninterrupted worker decides: the same stage, in partition order."""
    topics = TopicNames.from_settings(settings)
    stage = StudyStage(
        topics,
        SetupmonMetrics.create(CollectorRegistry()),
        lambda _: "x",
        alert_horizon_days=settings.alert_horizon_days,
    )
    states: dict = {}
    alerts: set[str] = set()
    for offset, (key, value) in enumerate(messages):
        partition = partition_for(key, topics.partitions)
        incoming = Incoming(key, value, topics.milestones, partition, offset)
        result = stage.ingest([incoming], states.get, as_of=TODAY, now=datetime.now(UTC))
        states.update(result.states)
        alerts |= {loads(o.value)["alert_id"] for o in result.outputs if o.topic == topics.alerts}
    clocks = {
        study_id: [(c.kpi.value, c.site_id, c.state.value) for c in state.clocks(TODAY)]
        for study_id, state in states.items()
    }
    return alerts, clocks


def test_sigkill_mid_stream_loses_nothing_and_decides_every_alert_once(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    run(load_sites(settings, read_sites(SITES)))
    messages = entered_today(studies=120)
    expected_alerts, expected_clocks = replay(settings, messages)
    assert len(expected_alerts) > 100  # a stream that matters

    fixed_day = calendar(TODAY.isoformat(), 100_000)
    worker = start_worker(settings, fixed_day, name="before")
    run(produce(settings, settings.topic("milestones"), messages))
    wait_for(
        lambda: run(read_all(settings, settings.topic("alerts"))),
        lambda records: len(records) >= len(expected_alerts) // 4,
        what="a quarter of the alerts",
    )
    worker.stop(signal.SIGKILL)
    assert worker.process.returncode == -signal.SIGKILL
    before = len(run(read_all(settings, settings.topic("alerts"))))

    restarted_at = time.monotonic()
    start_worker(settings, fixed_day, name="after")
    recovery_seconds = time.monotonic() - restarted_at

    statuses = wait_for(
        lambda: run(read_all(settings, settings.topic("study-status"))),
        lambda records: _matches(latest_by_key(records), expected_clocks),
        timeout=120,
        what="every study's final status",
    )
    alerts = wait_for(
        lambda: run(read_all(settings, settings.topic("alerts"))),
        lambda records: {loads(r.value)["alert_id"] for r in records} >= expected_alerts,
        timeout=60,
        what="every expected alert",
    )
    time.sleep(2)
    alerts = run(read_all(settings, settings.topic("alerts")))
    seen: dict[str, dict] = {}
    repeats = 0
    for record in alerts:
        alert = loads(record.value)
        previous = seen.setdefault(alert["alert_id"], alert)
        if previous is not alert:
            repeats += 1
            # a redelivered input may re-send an alert: the very same alert, never another
            assert {**previous, "raised_at": None} == {**alert, "raised_at": None}
    assert set(seen) == expected_alerts
    print(
        f"\nSIGKILL after {before} of {len(expected_alerts)} alerts; restart to ready "
        f"{recovery_seconds:.1f}s; {len(statuses)} status messages; re-sent alert IDs: {repeats}"
    )
    # At-least-once: an alert acknowledged just before the kill, whose state write had not
    # reached the broker, is decided again on restart. It is the same alert (checked above),
    # and the notifier's ledger keys deliveries by alert_id, so no site hears it twice; it is
    # only ever the few events in flight at the kill (runs here: 0 or 1).
    assert repeats <= 5


def _matches(latest: dict[bytes, bytes | None], expected: dict) -> bool:
    if len(latest) < len(expected):
        return False
    for study_id, clocks in expected.items():
        value = latest.get(study_id.encode())
        if value is None:
            return False
        got = [(c["kpi"], c["site_id"], c["state"]) for c in loads(value)["clocks"]]
        if got != clocks:
            return False
    return True
