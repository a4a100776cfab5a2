"""`setupmon import` on a secured broker, as an importer (README "Security")."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.codec import loads
from tests.integration.kafka_io import read_all, run
from tests.secure.conftest import Deployment
from tests.secure.probes import read

pytestmark = pytest.mark.secure

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "samples"
CPMS = ("import", "--mapping", "cpms", str(SAMPLES / "cpms-studies.csv"))


def test_an_importer_publishes_an_export_and_keeps_its_ledger(deployment: Deployment) -> None:
    importer, env = deployment.add("importer", "rdo-rgt")
    done = deployment.setupmon(*CPMS, env=env)
    assert done.returncode == 0, done.stderr
    events = run(read_all(deployment.admin, deployment.topics.milestones))
    assert events, "nothing reached setup.milestones"
    assert {loads(e.value)["source"] for e in events if e.value} == {"cpms"}
    # the same file again: the importer read its ledger back, so nothing new
    again = deployment.setupmon(*CPMS, env=env)
    assert again.returncode == 0, again.stderr
    assert len(run(read_all(deployment.admin, deployment.topics.milestones))) == len(events)
    # and it reads nothing else
    for topic in (deployment.topics.milestones, deployment.topics.study_status):
        outcome = read(importer, topic, group="rdo-rgt", subscribe=True)
        assert outcome.messages == [] and outcome.refused, topic


def test_a_producer_cannot_import_and_is_told_why(deployment: Deployment) -> None:
    _, env = deployment.add("producer", "trust-rgt")
    done = deployment.setupmon(*CPMS, env=env)
    assert done.returncode != 0
    assert "setupmon import:" in done.stderr and "Traceback" not in done.stderr
    assert "TopicAuthorizationFailed" in done.stderr, done.stderr
    assert run(read_all(deployment.admin, deployment.topics.milestones)) == []
