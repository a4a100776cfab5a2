"""Integration fixtures: isolated topics per test, and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from broker.client import ensure_topics
from broker.topics import TopicNames
from core.settings import Settings
from tests.integration.kafka_io import run
from tests.integration.ports import free_port

TEST_PARTITIONS = 3


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of one test: its own topic prefix, app ID, data dir and metrics port."""
    base = Settings.from_env()
    unique = uuid.uuid4().hex[:10]
    settings = replace(
        base,
        topic_prefix=f"it-{unique}",
        app_id=f"setupmon-it-{unique}",
        partitions=TEST_PARTITIONS,
        data_dir=tmp_path / "worker",
        metrics_port=free_port(),
        tick_seconds=0.25,
        # scenarios run on 2025 dates: judge their history as live
        alert_horizon_days=3650,
    )
    run(ensure_topics(settings, TopicNames.from_settings(settings).specs()))
    return settings


@dataclass
class WorkerProcess:
    settings: Settings
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.metrics_port}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            try:
                status, _ = self.get("/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def worker_env(settings: Settings, calendar: str = "live") -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.describe().items():
        env[name] = value
    # describe() masks secrets; the test broker has none, so nothing is lost here.
    env["SETUPMON_CALENDAR"] = calendar
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[object]:
    """Start `setupmon` processes (a worker by default, waited for until ready); every one
    still running is stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(
        settings: Settings,
        calendar: str = "live",
        name: str = "worker",
        command: tuple[str, ...] = ("worker", "--loglevel", "info"),
        extra_env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [sys.executable, "-m", "setupmon.cli", *command],
            env={**worker_env(settings, calendar), **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = WorkerProcess(settings, process, log_path)
        started.append(worker)
        if command[0] == "worker":
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
