"""A worker holding a million clocks: its resident memory, and its restart after SIGKILL.

Studies of 200 sites, each with HRA approval and every site selected: three clocks a site and
two a study. The worker reads them all, its resident set size is read from /proc, it is
killed with SIGKILL and started again on the same data folder, and the time until `/healthz`
answers 200 is measured.
"""

from __future__ import annotations

import asyncio
import math
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.backlogs import DAY, Messages, site_code
from bench.process import start, stop, wait_counted
from core.codec import dumps
from core.settings import Settings

SITES_PER_STUDY = 200
CLOCKS_PER_STUDY = 2 + 3 * SITES_PER_STUDY


def million_clocks(clocks: int) -> Messages:
    studies = math.ceil(clocks / CLOCKS_PER_STUDY)
    messages: Messages = []
    moment = f"{DAY.isoformat()}T08:00:00+00:00"
    for number in range(studies):
        study_id = f"CPMS-{90000 + number}"
        key = study_id.encode()

        def event(milestone: str, days: int, site: str | None = None, study: str = study_id) -> bytes:
            body: dict[str, object] = {
                "event_id": f"{study}-{milestone}-{site or '-'}",
                "study_id": study,
                "milestone": milestone,
                "date": (DAY - timedelta(days)).isoformat(),
                "recorded_at": moment,
                "source": "bench",
            }
            if site:
                body["site_id"] = site
            return dumps(body)

        messages.append((key, event("regulatory_submitted", 40)))
        messages.append((key, event("hra_approved", 20)))
        for index in range(SITES_PER_STUDY):
            site = site_code((number * SITES_PER_STUDY + index) % 10_000)
            messages.append((key, event("site_selected", 10, site)))
    return messages


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def ready_seconds(settings: Settings, timeout: float = 300.0) -> float:
    started = time.monotonic()
    url = f"http://127.0.0.1:{settings.metrics_port}/healthz"
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"worker not ready after {timeout} s")


def restart_at_scale(
    settings: Settings, clocks: int, produce: Callable[[Settings, Messages], Coroutine[Any, Any, float]]
) -> tuple[int, float, float]:
    """(clocks held, resident bytes per clock above an idle worker's, seconds from a restart
    after SIGKILL to ready)."""
    messages = million_clocks(clocks)
    held = len(messages) // (SITES_PER_STUDY + 2) * CLOCKS_PER_STUDY
    process = start(settings, ["setupmon.cli", "worker"])
    try:
        ready_seconds(settings)
        idle = resident_bytes(process.pid)
        asyncio.run(produce(settings, messages))
        wait_counted(process, settings.metrics_port, len(messages))
        time.sleep(2.0)  # the last batch's states are written
        loaded = resident_bytes(process.pid)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    restarted = start(settings, ["setupmon.cli", "worker"])
    try:
        seconds = ready_seconds(settings)
    finally:
        stop(restarted)
    return held, (loaded - idle) / held, seconds
