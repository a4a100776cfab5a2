"""What the fault tests feed a worker, and what an uninterrupted replay says it must end with.

A simulated national history of `studies` studies at the 200 sample sites, every message
entered on TODAY (so every evaluation is as of TODAY, whatever the timing), and its truth:
each study's clocks, and the gauges those clocks make (per site, and per study KPI).
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from events.milestones import Milestone
from events.validation import Rejection, validate_event
from setupmon.simulator import entered_on, plan_events
from setupmon.sites import read_sites
from tests.alert_truth import replay

TODAY = date(2025, 6, 1)
SITES = Path(__file__).resolve().parents[2] / "deploy" / "sites" / "sample-sites.csv"

ClockRow = tuple[str, str | None, str]  # (kpi, site_id, state)


@dataclass(frozen=True)
class Workload:
    messages: list[tuple[bytes, bytes]]
    events: dict[str, list[Milestone]]  # study -> its valid events, in order
    clocks: dict[str, list[ClockRow]]  # study -> its clocks as of TODAY, as the status lists them
    site_gauges: Counter[tuple[str, str, str]]  # (kpi, site, state) -> site clocks
    study_gauges: Counter[tuple[str, str]]  # (kpi, state) -> study-level clocks


def fixed_day() -> str:
    """A calendar on TODAY for longer than any test (a simulated day of 100,000 s)."""
    return f"simulated:{TODAY.isoformat()}@{time.time():.3f}x100000"


def national_history(studies: int, seed: int = 7) -> Workload:
    site_ids = [site.site_id for site in read_sites(SITES)]
    planned = plan_events(
        site_ids, studies=studies, first_day=TODAY - timedelta(300), span_days=200, seed=seed
    )
    messages = entered_on(planned, TODAY)
    events: dict[str, list[Milestone]] = {}
    for _, value in messages:
        event = validate_event(value)
        if not isinstance(event, Rejection):
            events.setdefault(event.study_id, []).append(event)
    clocks: dict[str, list[ClockRow]] = {}
    site_gauges: Counter[tuple[str, str, str]] = Counter()
    study_gauges: Counter[tuple[str, str]] = Counter()
    for study_id, study_events in events.items():
        replayed = replay(study_events, study_id, TODAY)
        clocks[study_id] = [(c.kpi.value, c.site_id, c.state.value) for c in replayed]
        for c in replayed:
            if c.site_id is None:
                study_gauges[(c.kpi.value, c.state.value)] += 1
            else:
                site_gauges[(c.kpi.value, c.site_id, c.state.value)] += 1
    return Workload(messages, events, clocks, site_gauges, study_gauges)


def registry_with_webhooks(path: Path, webhook_url: str) -> Path:
    """The sample sites, each with one contact: a webhook at `{webhook_url}/sites/{id}`."""
    with SITES.open(newline="") as source, path.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["site_id", "name", "region", "contacts"])
        for row in csv.DictReader(source):
            contact = f"webhook:{webhook_url}/sites/{row['site_id']}"
            writer.writerow([row["site_id"], row["name"], row["region"], contact])
    return path
