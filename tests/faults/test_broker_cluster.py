"""A three-broker KRaft cluster (replication 3, min.insync.replicas=2): one broker killed
(SIGKILL) while milestones stream in loses nothing, and it rejoins when started again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.brokers import KafkaNodes
from tests.faults.conftest import fault_settings
from tests.faults.feeder import Feeder
from tests.faults.replicas import describe, topics_of_test
from tests.faults.running import load_registry, start_notifier, wait_settled
from tests.faults.verdicts import alert_problems, delivery_problems, published_alerts, resent
from tests.faults.workload import fixed_day, national_history
from tests.integration.kafka_io import wait_until
from tests.integration.receivers import Webhook

pytestmark = pytest.mark.faults


def test_a_broker_killed_mid_stream_loses_nothing_and_rejoins(
    cluster: KafkaNodes, start_process, tmp_path: Path
) -> None:
    settings = fault_settings(cluster.bootstrap, tmp_path, partitions=6, replication=3)
    workload = national_history(studies=120)
    day = fixed_day()
    changelogs = [
        f"{settings.app_id}-studies-changelog",
        f"{settings.app_id}-site-clocks-changelog",
    ]
    with Webhook() as webhook:
        load_registry(settings, tmp_path, webhook)
        worker = start_process(settings, day, name="worker")
        start_notifier(start_process, settings, day)
        with Feeder(settings, settings.topic("milestones"), workload.messages, 200) as feeder:
            wait_until(lambda: feeder.fraction() >= 1 / 3, timeout=120, what="a third sent")
            # the broker leading the first milestones partition dies: leaders must move
            victim = describe(settings, [settings.topic("milestones")])[0].leader
            cluster.kill(victim)
            killed_at = time.monotonic()
            feeder.finish(timeout=300)
        with_two = wait_settled(settings, workload, webhook, timeout=240)
        worker.wait_ready(timeout=60)
        down_for = time.monotonic() - killed_at

        rejoin_seconds = cluster.start(victim)
        everything = topics_of_test(settings)
        wait_until(
            lambda: all(len(p.isr) == 3 for p in describe(settings, everything)),
            timeout=120,
            what="every partition back in sync on three brokers",
        )
        time.sleep(3)  # anything sent twice arrives by now
        alerts = published_alerts(settings)
        deliveries, repeats = delivery_problems(alerts, list(webhook.requests))
        status, _ = worker.get("/healthz")
        replication = {p.topic: len(p.replicas) for p in describe(settings, everything)}

    print(
        f"\nbroker {victim} of 3 killed at a third of {len(workload.messages)} events "
        f"({feeder.resent_chunks} chunks re-sent); settled on two brokers {with_two:.1f}s after "
        f"the feed; down {down_for:.0f}s; restarted in {rejoin_seconds:.1f}s, all in sync; "
        f"{len(alerts)} alerts ({resent(alerts)} re-sent), {len(webhook.requests)} webhook "
        f"requests ({repeats} repeated with their Idempotency-Key)"
    )
    assert set(changelogs) <= replication.keys()
    assert replication == dict.fromkeys(everything, 3), "every topic needs 3 replicas"
    assert status == 200
    assert alert_problems(alerts, workload) == []
    assert deliveries == []
