"""The broker stopped and started again while milestones stream in: nothing is lost, no
contact hears an alert twice, and the worker is ready again on its own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.brokers import KafkaNodes
from tests.faults.conftest import fault_settings
from tests.faults.feeder import Feeder
from tests.faults.running import load_registry, start_notifier, wait_settled
from tests.faults.verdicts import alert_problems, delivery_problems, published_alerts, resent
from tests.faults.workload import fixed_day, national_history
from tests.integration.kafka_io import wait_until
from tests.integration.receivers import Webhook

pytestmark = pytest.mark.faults

OUTAGES = 2  # the broker goes down this many times during one stream
OUTAGE_SECONDS = 8.0


def test_broker_restarts_under_load_lose_nothing(
    single_broker: KafkaNodes, start_process, tmp_path: Path
) -> None:
    settings = fault_settings(single_broker.bootstrap, tmp_path, partitions=6)
    workload = national_history(studies=120)
    day = fixed_day()
    with Webhook() as webhook:
        load_registry(settings, tmp_path, webhook)
        worker = start_process(settings, day, name="worker")
        start_notifier(start_process, settings, day)
        ready_again: list[float] = []
        with Feeder(settings, settings.topic("milestones"), workload.messages, 150) as feeder:
            for outage in range(OUTAGES):
                share = (outage + 1) / (OUTAGES + 1)
                wait_until(
                    lambda share=share: feeder.fraction() >= share,
                    timeout=120,
                    what=f"{share:.0%} sent",
                )
                single_broker.stop(1)
                time.sleep(OUTAGE_SECONDS)
                single_broker.start(1)
                back = time.monotonic()
                worker.wait_ready(timeout=180)
                ready_again.append(time.monotonic() - back)
            feeder.finish(timeout=300)
        settle_seconds = wait_settled(settings, workload, webhook, timeout=240)
        time.sleep(3)  # anything sent twice arrives by now
        alerts = published_alerts(settings)
        deliveries, repeats = delivery_problems(alerts, list(webhook.requests))
        assert worker.process.poll() is None, worker.log_tail()
        status, _ = worker.get("/healthz")

    print(
        f"\nbroker outages: {OUTAGES} x {OUTAGE_SECONDS:.0f}s; worker ready again after "
        f"{', '.join(f'{s:.1f}s' for s in ready_again)}; settled {settle_seconds:.1f}s after the "
        f"feed; {len(workload.messages)} events ({feeder.resent_chunks} chunks re-sent), "
        f"{len(alerts)} alerts ({resent(alerts)} re-sent), {len(webhook.requests)} webhook requests ({repeats} repeated with their Idempotency-Key)"
    )
    assert status == 200
    assert alert_problems(alerts, workload) == []
    assert deliveries == []
