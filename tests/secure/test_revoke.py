"""A revoked sponsor is refused at once: on the connection it already has open (its ACLs are
gone) and on any new one (its login is gone)."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer

from broker.client import ensure_topics
from tests.integration.kafka_io import produce, run
from tests.secure.conftest import Deployment
from tests.secure.probes import Outcome, _config, read

pytestmark = pytest.mark.secure


def test_a_revoked_sponsor_is_refused_at_once(deployment: Deployment) -> None:
    topics = deployment.topics
    topic = topics.sponsor_status("acme")
    group = f"{topics.prefix}.sponsor.acme.dashboard"
    run(ensure_topics(deployment.admin, [topics.sponsor_spec("acme")]))
    run(produce(deployment.admin, topic, [(b"CPMS-1", b'{"n": 1}')]))
    sponsor, _ = deployment.add("sponsor", "acme")

    outcome = Outcome()
    consumer = Consumer({**_config(sponsor, outcome), "group.id": group, "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        seen = []
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                seen.append(message.value())
        assert seen == [b'{"n": 1}'], outcome.errors  # the open connection reads

        done = deployment.setupmon("access", "revoke", "sponsor", "acme")
        assert done.returncode == 0 and "revoked sponsor acme" in done.stdout, done.stderr
        # a fetch the broker accepted before the revocation may still be waiting for data
        # (fetch.wait.max.ms, 500 ms); every request after it is refused
        time.sleep(1.0)
        run(produce(deployment.admin, topic, [(b"CPMS-1", b'{"n": 2}')]))

        errors = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not errors & {"TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED"}:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error(), f"read {message.value()!r} after revocation"
            errors.add(message.error().name())
        assert errors & {"TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED"}, errors
    finally:
        consumer.close()

    again = read(sponsor, topic, group=group, partitions=1, timeout=8)
    assert again.messages == [] and "_AUTHENTICATION" in again.errors
    listed = deployment.setupmon("access", "list")
    assert listed.returncode == 0
    assert not [line for line in listed.stdout.splitlines() if line.startswith("sponsor.acme ")]
