"""The worker and the notifier, each as its own least-privilege user, end to end over
SASL_SSL: a trust's late milestones become a site alert delivered by webhook, and the
sponsor's own status topic (created by the worker) shows its study. The broker denied
neither process anything, so their ACLs (broker/acls.py) are enough, not just tolerated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.codec import loads
from core.settings import Settings
from setupmon.sites import load_sites, read_sites
from tests.integration.kafka_io import produce, run, wait_until
from tests.integration.receivers import Webhook
from tests.integration.scenario import keyed, milestone, registered
from tests.integration.test_pipeline import calendar
from tests.secure.conftest import Deployment, broker_dir, worker_extra
from tests.secure.probes import read

pytestmark = pytest.mark.secure


def denials(since: int) -> list[str]:
    log = broker_dir() / "logs" / "server.log"
    text = log.read_bytes()[since:].decode(errors="replace")
    return [line for line in text.splitlines() if " is Denied operation " in line]


def test_worker_and_notifier_run_end_to_end_over_sasl_ssl(
    deployment: Deployment, start_process, tmp_path: Path
) -> None:
    log_start = (broker_dir() / "logs" / "server.log").stat().st_size
    day = calendar("2025-03-01", 100_000)
    with Webhook() as webhook:
        sites = tmp_path / "sites.csv"
        sites.write_text(
            "site_id,name,region,contacts\n"
            f"RGT,Cambridge University Hospitals,East of England,webhook:{webhook.url('/rgt')}\n"
        )
        run(load_sites(deployment.admin, read_sites(sites)))  # the operator loads the registry
        _, worker_env = deployment.add("worker", "svc-worker")
        notifier, notifier_env = deployment.add("notifier", "svc-notifier")
        producer, _ = deployment.add("producer", "trust-rgt")
        sponsor, _ = deployment.add("sponsor", "acme")

        env = {**worker_env, **worker_extra(tmp_path, day)}
        process = start_process(Settings.from_env(env), env, ("worker", "--loglevel", "info"), "worker")
        process.wait_ready()  # /healthz answers 200 once its partitions are assigned
        notify = start_process(
            notifier, {**notifier_env, "SETUPMON_CALENDAR": day}, ("notify",), "notifier"
        )
        wait_until(lambda: "notifier ready" in notify.log_tail(200), what="the notifier")

        events = [
            registered("CPMS-S1", "2024-11-01", "acme"),
            milestone("CPMS-S1", "hra_approved", "2024-12-01"),
            milestone("CPMS-S1", "site_selected", "2024-12-01", site="RGT"),
        ]
        run(produce(producer, deployment.topics.milestones, keyed(events)))

        wait_until(
            lambda: any("site_open" in str(r["alerts"]) for r in webhook.requests),
            what="the site_open breach at the site's webhook",
        )
        breach = next(r for r in webhook.requests if r["alerts"][0]["kpi"] == "site_open")
        assert breach["alerts"][0]["kind"] == "breached"
        assert breach["alerts"][0]["study_id"] == "CPMS-S1"

    status = read(
        sponsor,
        deployment.topics.sponsor_status("acme"),
        group=f"{deployment.topics.prefix}.sponsor.acme.dashboard",
        partitions=1,
    )
    assert status.messages, status.errors
    latest = loads(status.messages[-1])
    assert latest["study_id"] == "CPMS-S1" and latest["sponsor_id"] == "acme"

    ours = re.compile(r"User:(svc-worker|svc-notifier) ")
    assert [line for line in denials(log_start) if ours.search(line)] == []
