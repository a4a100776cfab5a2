"""Sponsors see their own studies only; producers write milestones only (README "Security").

Every forbidden topic holds a message, so "refused" is also "saw nothing"; sponsor B is
`acme-2`, whose names start with sponsor A's (`acme`), so a careless prefix ACL would leak.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from broker.client import ensure_topics
from core.settings import Settings
from tests.integration.kafka_io import produce, read_all, run
from tests.secure.conftest import Deployment
from tests.secure.probes import read, write

pytestmark = pytest.mark.secure

A, B = "acme", "acme-2"


@pytest.fixture
def seeded(deployment: Deployment) -> Deployment:
    """One message on each sponsor's topic and on every shared topic, written by the admin."""
    admin, topics = deployment.admin, deployment.topics
    run(ensure_topics(admin, [topics.sponsor_spec(A), topics.sponsor_spec(B)]))
    for topic in (
        topics.sponsor_status(A),
        topics.sponsor_status(B),
        topics.study_status,
        topics.alerts,
        topics.milestones,
        topics.site_kpis,
    ):
        run(produce(admin, topic, [(b"CPMS-1", f'{{"on": "{topic}"}}'.encode())]))
    return deployment


def own_group(deployment: Deployment, sponsor: str = A) -> str:
    return f"{deployment.topics.prefix}.sponsor.{sponsor}.dashboard"


def test_a_sponsor_reads_its_own_status_topic(seeded: Deployment) -> None:
    sponsor, _ = seeded.add("sponsor", A)
    own = seeded.topics.sponsor_status(A)
    expected = [f'{{"on": "{own}"}}'.encode()]
    assigned = read(sponsor, own, group=own_group(seeded), partitions=1)
    assert assigned.messages == expected, assigned.errors
    # and as a member of a consumer group under its own prefix
    grouped = read(sponsor, own, group=own_group(seeded), subscribe=True)
    assert grouped.messages == expected, grouped.errors


@pytest.mark.parametrize(
    "forbidden", ["other sponsor", "study-status", "alerts", "milestones", "site-kpis"]
)
def test_a_sponsor_is_refused_every_other_topic(seeded: Deployment, forbidden: str) -> None:
    sponsor, _ = seeded.add("sponsor", A)
    seeded.add("sponsor", B)
    t = seeded.topics
    topic = {
        "other sponsor": t.sponsor_status(B),
        "study-status": t.study_status,
        "alerts": t.alerts,
        "milestones": t.milestones,
        "site-kpis": t.site_kpis,
    }[forbidden]
    outcome = read(sponsor, topic, group=own_group(seeded), subscribe=True)
    assert outcome.messages == []
    assert "TOPIC_AUTHORIZATION_FAILED" in outcome.errors


@pytest.mark.parametrize("target", ["own topic", "other sponsor", "milestones", "alerts"])
def test_a_sponsor_cannot_write_anything(seeded: Deployment, target: str) -> None:
    sponsor, _ = seeded.add("sponsor", A)
    t = seeded.topics
    topic = {
        "own topic": t.sponsor_status(A),
        "other sponsor": t.sponsor_status(B),
        "milestones": t.milestones,
        "alerts": t.alerts,
    }[target]
    outcome = write(sponsor, topic, b'{"forged": true}')
    assert outcome.messages == [] and "TOPIC_AUTHORIZATION_FAILED" in outcome.errors
    assert b'{"forged": true}' not in [r.value for r in run(read_all(seeded.admin, topic))]


@pytest.mark.parametrize("group", ["dashboard", "sponsor.acme-2.x", "sponsor.acme-x", "acme"])
def test_a_sponsor_uses_no_consumer_group_outside_its_prefix(
    seeded: Deployment, group: str
) -> None:
    sponsor, _ = seeded.add("sponsor", A)
    name = group if group in ("dashboard", "acme") else f"{seeded.topics.prefix}.{group}"
    outcome = read(sponsor, seeded.topics.sponsor_status(A), group=name, subscribe=True)
    assert outcome.messages == []
    assert "GROUP_AUTHORIZATION_FAILED" in outcome.errors


def test_a_producer_writes_milestones_and_reads_nothing(seeded: Deployment) -> None:
    producer, _ = seeded.add("producer", "trust-rgt")
    t = seeded.topics
    assert write(producer, t.milestones, b'{"event": 1}').messages == [b'{"event": 1}']
    for topic in (t.milestones, t.alerts, t.study_status, t.sponsor_status(A)):
        outcome = read(producer, topic, group="trust-rgt", subscribe=True)
        assert outcome.messages == [] and outcome.refused, topic
    for topic in (t.alerts, t.study_status, t.sponsor_status(A), t.sites):
        outcome = write(producer, topic)
        assert outcome.messages == [] and "TOPIC_AUTHORIZATION_FAILED" in outcome.errors, topic


def test_a_wrong_password_is_refused(seeded: Deployment) -> None:
    sponsor, _ = seeded.add("sponsor", A)
    wrong = replace(sponsor, sasl_password=sponsor.sasl_password + "x")
    outcome = read(wrong, seeded.topics.sponsor_status(A), group=own_group(seeded), timeout=8)
    assert outcome.messages == [] and "_AUTHENTICATION" in outcome.errors
    unknown = replace(sponsor, sasl_username="sponsor.nobody")
    outcome = read(unknown, seeded.topics.milestones, group="nobody", timeout=8)
    assert "_AUTHENTICATION" in outcome.errors


def test_a_broker_certificate_the_client_does_not_trust_is_refused(seeded: Deployment) -> None:
    sponsor, _ = seeded.add("sponsor", A)
    # no SETUPMON_SSL_CAFILE: the system's CAs, which never signed the test broker's
    untrusting: Settings = replace(sponsor, ssl_cafile="")
    outcome = read(untrusting, seeded.topics.sponsor_status(A), group=own_group(seeded), timeout=8)
    assert outcome.messages == [] and "_SSL" in outcome.errors
