"""What a user would notice after a fault, each as a list of problems (empty: nothing wrong).

- lost events: a study's final status differs from the pure replay of all its events;
- alerts: an ID published twice with different content (decided twice), an alert its study's
  events do not support, a clock whose last alert is untrue;
- deliveries: an alert a site's contact got twice (under two delivery IDs), or never;
- gauges: the workers' gauges summed differ from the replay's clock counts.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from core.codec import loads
from core.settings import Settings
from tests.alert_truth import untrue_days, untrue_last_words
from tests.faults.workload import TODAY, Workload
from tests.integration.kafka_io import read_all, run
from tests.integration.test_pipeline import latest_by_key

# what may differ between two copies of one alert: when it was sent
SEND_FIELDS = frozenset({"raised_at"})


def status_mismatches(settings: Settings, workload: Workload) -> list[str]:
    """Studies whose latest `study-status` is missing or shows other clocks than the replay."""
    latest = latest_by_key(run(read_all(settings, settings.topic("study-status"))))
    problems = []
    for study_id, clocks in workload.clocks.items():
        value = latest.get(study_id.encode())
        if value is None:
            problems.append(f"{study_id}: no status")
            continue
        got = [(c["kpi"], c["site_id"], c["state"]) for c in loads(value)["clocks"]]
        if got != clocks:
            problems.append(f"{study_id}: status clocks differ from the replay")
    return problems


def published_alerts(settings: Settings) -> list[dict[str, Any]]:
    return [loads(r.value) for r in run(read_all(settings, settings.topic("alerts")))]


def alert_problems(alerts: list[dict[str, Any]], workload: Workload) -> list[str]:
    first: dict[str, dict[str, Any]] = {}
    problems = []
    for alert in alerts:
        seen = first.setdefault(alert["alert_id"], alert)
        differing = sorted(
            name
            for name in seen.keys() | alert.keys() - SEND_FIELDS
            if name not in SEND_FIELDS and seen.get(name) != alert.get(name)
        )
        if differing:
            problems.append(f"{alert['alert_id']} decided twice: {differing} differ")
    problems += untrue_days(workload.events, alerts)
    problems += untrue_last_words(workload.events, alerts, dict.fromkeys(workload.events, TODAY))
    return problems


def resent(alerts: list[dict[str, Any]]) -> int:
    """Copies of an alert ID beyond the first (the outbox's documented re-sends)."""
    return len(alerts) - len({a["alert_id"] for a in alerts})


def delivery_problems(
    alerts: list[dict[str, Any]], requests: list[dict[str, Any]]
) -> tuple[list[str], int]:
    """Each site alert reaches its site's webhook as one delivery: every request for it carries
    the same `Idempotency-Key`, by which a receiver drops a repeat (README, Alert delivery: a
    request the notifier cannot confirm, timed out or in flight at a crash, is sent again with
    it). Also how many requests were such repeats."""
    wanted = {(a["alert_id"], f"/sites/{a['site_id']}") for a in alerts if a.get("site_id")}
    keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    sent = 0
    for request in requests:
        for alert in request["alerts"]:
            keys[(alert["alert_id"], request["_path"])].add(request["_idempotency_key"])
            sent += 1
    problems = [f"{key} delivered {len(ids)} times" for key, ids in keys.items() if len(ids) > 1]
    problems += [f"{key} never delivered" for key in sorted(wanted - keys.keys())]
    problems += [f"{key} delivered but never published" for key in sorted(keys.keys() - wanted)]
    return problems, sent - len(keys)


SAMPLE = re.compile(r"^(trial_setup_clocks|trial_setup_study_clocks)\{([^}]*)\} (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="([^"]*)"')


def gauge_problems(metrics_pages: list[str], workload: Workload) -> list[str]:
    """The workers' `trial_setup_clocks` and `trial_setup_study_clocks`, summed, against the
    replay: a partition counted by two workers, or by none, shows here."""
    sites: Counter[tuple[str, str, str]] = Counter()
    studies: Counter[tuple[str, str]] = Counter()
    for page in metrics_pages:
        for name, labels_text, value in SAMPLE.findall(page):
            labels = dict(LABEL.findall(labels_text))
            count = int(float(value))
            if name == "trial_setup_clocks":
                sites[(labels["kpi"], labels["site"], labels["state"])] += count
            else:
                studies[(labels["kpi"], labels["state"])] += count
    problems = []
    for truth, summed, what in (
        (workload.site_gauges, sites, "site clocks"),
        (workload.study_gauges, studies, "study clocks"),
    ):
        for key in sorted(truth.keys() | summed.keys()):
            if truth[key] != summed[key]:
                problems.append(f"{what} {key}: workers say {summed[key]}, replay {truth[key]}")
    return problems
