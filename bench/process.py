"""Starting a worker-like process for the bench, and reading its `/metrics`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.backlogs import DAY
from core.settings import Settings


def start(settings: Settings, command: list[str]) -> subprocess.Popen[bytes]:
    """`python -m <command>` with the settings in its environment and DAY as its (frozen) UK
    day; its output goes to `<data dir>.log`."""
    env = {
        **os.environ,
        **settings.describe(),
        "SETUPMON_CALENDAR": f"simulated:{DAY}@{time.time():.3f}x100000",
    }
    log = Path(f"{settings.data_dir}.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(  # noqa: S603 - our own modules
        [sys.executable, "-m", *command], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def events_counted(port: int) -> float:
    """Milestone events the process has counted (every outcome)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in scrape(port).splitlines()
        if line.startswith("trial_setup_events_total{")
    )


def wait_counted(process: subprocess.Popen[bytes], port: int, count: int) -> float:
    """Wait until `count` events are counted; seconds from the first counted to the last."""
    first = None
    while True:
        done = events_counted(port)
        if done and first is None:
            first = time.perf_counter()
        if done >= count:
            return time.perf_counter() - (first or time.perf_counter())
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        time.sleep(0.05)
