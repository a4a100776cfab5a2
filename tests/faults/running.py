"""Running a fault scenario: the registry, a notifier, and waiting for the pipeline to settle."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from core.codec import dumps, loads
from core.settings import Settings
from setupmon.sites import load_sites, read_sites
from tests.faults.verdicts import delivery_problems, published_alerts, status_mismatches
from tests.faults.workload import Workload, registry_with_webhooks
from tests.integration.kafka_io import read_all, run, wait_until
from tests.integration.receivers import Webhook


def load_registry(settings: Settings, tmp_path: Path, webhook: Webhook) -> None:
    path = registry_with_webhooks(tmp_path / "sites.csv", webhook.url(""))
    run(load_sites(settings, read_sites(path)))


def start_notifier(start_process: Any, settings: Settings, calendar: str) -> Any:
    notifier = start_process(
        settings,
        calendar,
        name="notifier",
        command=("notify",),
        extra_env={"SETUPMON_NOTIFY_BACKOFF_SECONDS": "0.2"},
    )

    def ready() -> bool:
        assert notifier.process.poll() is None, notifier.log_tail()
        return "notifier ready" in notifier.log_tail(200)

    wait_until(ready, timeout=60, what="the notifier to be ready")
    return notifier


def wait_settled(
    settings: Settings, workload: Workload, webhook: Webhook, *, timeout: float
) -> float:
    """Wait until every study's status matches the replay and every published site alert
    has reached its contact; seconds it took. Fails naming what is still missing."""
    started = time.monotonic()
    last: list[str] = []

    def settled() -> bool:
        nonlocal last
        last = status_mismatches(settings, workload)
        if not last:
            missing, _ = delivery_problems(published_alerts(settings), list(webhook.requests))
            last = [p for p in missing if "never delivered" in p]
        return not last

    deadline = started + timeout
    while not settled():
        if time.monotonic() >= deadline:
            where = save_histories(settings, [p.split(":")[0] for p in last[:5]])
            raise AssertionError(
                f"not settled after {timeout}s: {len(last)} problems, e.g. {last[:5]}; "
                f"their histories: {where}"
            )
        time.sleep(2)
    return time.monotonic() - started


def save_histories(settings: Settings, study_ids: list[str]) -> Path:
    """What the topics hold about each study (its events, statuses and stored states, with
    offsets), to find where a wrong status came from."""
    keys = {study_id.encode() for study_id in study_ids}
    topics = {
        "milestones": settings.topic("milestones"),
        "status": settings.topic("study-status"),
        "changelog": f"{settings.app_id}-studies-changelog",
    }
    history: dict[str, dict[str, list[object]]] = {s: {} for s in study_ids}
    for name, topic in topics.items():
        for record in run(read_all(settings, topic)):
            try:
                value = loads(record.value) if record.value else None
            except ValueError:
                continue  # a malformed milestone of the workload
            study = (value or {}).get("study_id") if name == "milestones" else None
            key = record.key if record.key in keys else (study or "").encode()
            if key not in keys:
                continue
            if name == "milestones":
                entry: object = [record.partition, record.offset, value["event_id"], value["milestone"], value.get("site_id"), value["recorded_at"]]
            elif name == "status":
                entry = [record.partition, record.offset, value["as_of"], value["updated_at"], [(c["kpi"], c["site_id"], c["state"]) for c in value["clocks"]]]
            else:
                state = (value or {}).get("state") or {}
                entry = [record.partition, record.offset, state.get("evaluated_on"), sorted(row[3] for row in state.get("versions", [])), len((value or {}).get("outbox", []))]
            history[key.decode()].setdefault(name, []).append(entry)
    path = settings.data_dir.parent / "histories.json"
    path.write_bytes(dumps(history))
    return path
