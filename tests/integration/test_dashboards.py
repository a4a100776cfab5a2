"""Every Grafana panel's query parses and returns data from a real Prometheus scraping a
worker fed by the simulator."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.settings import Settings
from core.time import parse_calendar
from setupmon.simulator import plan_events, run_simulation
from setupmon.sites import load_sites, read_sites
from tests.integration.kafka_io import run
from tests.integration.ports import free_port
from tests.integration.test_pipeline import calendar

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
SITES = ROOT / "deploy" / "sites" / "sample-sites.csv"


def query(base: str, expr: str) -> dict:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return json.load(response)
    except urllib.error.HTTPError as exc:  # a query that does not parse answers 400
        return json.load(exc)


@pytest.fixture
def prometheus(tmp_path: Path, settings: Settings) -> Iterator[str]:
    """A real Prometheus (Debian's package) scraping the test's worker every second."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: setupmon\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{settings.metrics_port}']}}]\n"
    )
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: `make ops-tools` installs Debian's package"
    process = subprocess.Popen(  # noqa: S603 - the packaged binary, our own config
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2):  # noqa: S310
                    break
            except OSError:
                assert time.monotonic() < deadline, "prometheus did not start"
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def panel_queries() -> list[tuple[str, str, str]]:
    rows = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                rows.append((path.stem, panel["title"], target["expr"]))
    return rows


def test_every_dashboard_is_provisionable() -> None:
    assert {p.stem for p in DASHBOARDS} == {
        "national-overview",
        "region",
        "site",
        "data-quality",
        "pipeline-health",
    }
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("setupmon-") and dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "setupmon-prometheus"


def test_every_panel_query_returns_data(settings: Settings, start_worker, prometheus: str) -> None:
    run(load_sites(settings, read_sites(SITES)))
    spec = calendar("2025-06-01", 0.5)
    worker = start_worker(settings, spec)
    today = parse_calendar(spec).today()
    planned = plan_events(
        [site.site_id for site in read_sites(SITES)],
        studies=80,
        first_day=today - timedelta(150),
        span_days=160,
        seed=3,
    )
    run(
        run_simulation(
            settings, parse_calendar(spec), planned, rate=5000, until=today + timedelta(4)
        )
    )
    # a few more scrapes after the last event, so rates and increases see the change
    time.sleep(8)
    assert worker.process.poll() is None

    region = "London"
    site = query(
        prometheus, f'topk(1, count by (site) (trial_setup_compliance_ratio{{region="{region}"}}))'
    )
    site_id = site["data"]["result"][0]["metric"]["site"]
    empty = []
    for dashboard, title, expr in panel_queries():
        concrete = expr.replace("$region", region).replace("$site", site_id)
        answer = query(prometheus, concrete)
        assert answer["status"] == "success", f"{dashboard} / {title}: {answer.get('error')}"
        if not answer["data"]["result"]:
            empty.append(f"{dashboard} / {title}: {concrete}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
