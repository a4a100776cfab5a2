"""Three workers joining and leaving while milestones stream in: every alert decided once,
the workers' gauges add up to the truth (no partition counted twice or by none), and no
partition left unfetched (faust-streaming#629)."""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.faults.brokers import KafkaNodes
from tests.faults.conftest import fault_settings
from tests.faults.feeder import Feeder
from tests.faults.running import load_registry, start_notifier, wait_settled
from tests.faults.verdicts import (
    alert_problems,
    delivery_problems,
    gauge_problems,
    published_alerts,
    resent,
)
from tests.faults.workload import fixed_day, national_history
from tests.integration.kafka_io import wait_until
from tests.integration.ports import free_port
from tests.integration.receivers import Webhook

pytestmark = pytest.mark.faults

# (share of the stream sent, worker, what happens to it)
CHURN = [
    (0.15, "b", "join"),
    (0.30, "c", "join"),
    (0.50, "b", "leave"),  # SIGTERM: leaves the group at once
    (0.65, "b", "join"),  # back, on its own data dir
    (0.80, "c", "crash"),  # SIGKILL: the group waits out the session timeout
]


def test_workers_joining_and_leaving_under_load_decide_and_count_once(
    single_broker: KafkaNodes, start_process, tmp_path: Path
) -> None:
    settings = fault_settings(single_broker.bootstrap, tmp_path, partitions=6)
    workload = national_history(studies=120)
    day = fixed_day()
    running = {}
    with Webhook() as webhook:
        load_registry(settings, tmp_path, webhook)
        running["a"] = start_process(settings, day, name="worker-a")
        start_notifier(start_process, settings, day)
        own = {
            name: replace(settings, metrics_port=free_port(), data_dir=tmp_path / f"worker-{name}")
            for name in "bc"
        }
        ready_after: list[float] = []
        with Feeder(settings, settings.topic("milestones"), workload.messages, 80) as feeder:
            for share, name, change in CHURN:
                wait_until(
                    lambda share=share: feeder.fraction() >= share,
                    timeout=180,
                    what=f"{share:.0%} sent",
                )
                if change == "join":
                    started = time.monotonic()
                    running[name] = start_process(own[name], day, name=f"worker-{name}")
                    ready_after.append(time.monotonic() - started)
                else:
                    running.pop(name).stop(signal.SIGTERM if change == "leave" else signal.SIGKILL)
            feeder.finish(timeout=300)
        settle_seconds = wait_settled(settings, workload, webhook, timeout=300)
        # settled: the gauges of the workers still running add up to the truth
        deadline = time.monotonic() + 60
        while True:
            pages = [worker.get("/metrics")[1] for worker in running.values()]
            gauges = gauge_problems(pages, workload)
            if not gauges or time.monotonic() > deadline:
                break
            time.sleep(1)
        time.sleep(3)  # anything sent twice arrives by now
        alerts = published_alerts(settings)
        deliveries, repeats = delivery_problems(alerts, list(webhook.requests))
        health = {name: worker.get("/healthz")[0] for name, worker in running.items()}
        stalls = sum(
            worker.log_path.read_text(errors="replace").count("not progressing: [")
            for worker in running.values()
        )

    print(
        f"\nchurn {[f'{n} {c}' for _, n, c in CHURN]} over {len(workload.messages)} events; "
        f"joiners ready after {', '.join(f'{s:.1f}s' for s in ready_after)}; settled "
        f"{settle_seconds:.1f}s after the feed; stalls reported {stalls}; {len(alerts)} alerts "
        f"({resent(alerts)} re-sent), {len(webhook.requests)} webhook requests ({repeats} "
        f"repeated with their Idempotency-Key)"
    )
    assert health == dict.fromkeys(running, 200)
    assert gauges == []
    assert alert_problems(alerts, workload) == []
    assert deliveries == []
