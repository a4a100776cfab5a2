"""Fault-suite fixtures: brokers the suite starts and stops itself, and real processes.

`make faults` runs on ports FAULTS_PORT_BASE .. +99 (default 19300): the three-node cluster
on BASE+1..3 (controllers BASE+11..13), the single broker on BASE+21 (controller BASE+31).
Every broker, worker and notifier a test starts is stopped afterwards, pass or fail.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from broker.client import ensure_topics
from broker.topics import TopicNames
from core.settings import Settings
from tests.faults.brokers import KafkaNodes
from tests.integration.conftest import WorkerProcess, worker_env
from tests.integration.kafka_io import run
from tests.integration.ports import free_port

REPO = Path(__file__).resolve().parents[2]
PORT_BASE = int(os.environ.get("FAULTS_PORT_BASE", "19300"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault suite on brokers it starts itself (`make faults`)"
    )
    # The test's own producer logs every refused connection while a broker is down; the
    # workers' and notifier's logs (in the test's temporary folder) keep theirs.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


@pytest.fixture(scope="module")
def single_broker() -> Iterator[KafkaNodes]:
    broker = KafkaNodes(REPO, 1, PORT_BASE + 20, REPO / ".data" / f"kafka-faults-{PORT_BASE}")
    broker.fresh()
    try:
        yield broker
    finally:
        broker.down()


@pytest.fixture(scope="module")
def cluster() -> Iterator[KafkaNodes]:
    nodes = KafkaNodes(REPO, 3, PORT_BASE, REPO / ".data" / f"kafka-cluster-faults-{PORT_BASE}")
    nodes.fresh()
    try:
        yield nodes
    finally:
        nodes.down()


def fault_settings(
    bootstrap: str, tmp_path: Path, *, partitions: int, replication: int = 1
) -> Settings:
    """One test's settings: its own topics, group and data dir; topics created."""
    unique = uuid.uuid4().hex[:10]
    settings = replace(
        Settings.from_env(),
        bootstrap_servers=bootstrap,
        topic_prefix=f"fault-{unique}",
        app_id=f"setupmon-fault-{unique}",
        partitions=partitions,
        replication_factor=replication,
        data_dir=tmp_path / "worker-0",
        metrics_port=free_port(),
        tick_seconds=1.0,
        alert_horizon_days=3650,  # the simulated history is judged as live
    )
    run(ensure_topics(settings, TopicNames.from_settings(settings).specs()))
    return settings


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[object]:
    """Start a `setupmon` process (`worker` by default, waited for until ready); each one still
    running is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(
        settings: Settings,
        calendar: str,
        name: str,
        command: tuple[str, ...] = ("worker", "--loglevel", "info"),
        extra_env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> WorkerProcess:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own console script
                [sys.executable, "-m", "setupmon.cli", *command],
                env={**worker_env(settings, calendar), **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(settings, process, log_path)
        started.append(worker)
        if wait and command[0] == "worker":
            worker.wait_ready(timeout=120)
        return worker

    yield start
    for worker in started:
        worker.stop()
