"""Which sponsor status topics a batch needs created (streams/sponsor_topics.py)."""

from __future__ import annotations

from broker.messages import Outgoing
from broker.topics import TopicNames, TopicSpec
from streams.sponsor_topics import SponsorTopics

TOPICS = TopicNames("setup", 6)


def outputs(*topics: str) -> list[Outgoing]:
    return [Outgoing(topic, b"CPMS-1", b"{}") for topic in topics]


def test_a_sponsor_topic_is_created_the_first_time_only() -> None:
    sponsors = SponsorTopics(TOPICS)
    acme = TOPICS.sponsor_status("acme")
    batch = outputs(TOPICS.study_status, acme, acme, TOPICS.alerts)
    assert sponsors.missing(batch) == [(acme, TopicSpec(acme, 1, compacted=True))]
    sponsors.created(acme)
    assert sponsors.missing(batch) == []


def test_a_topic_whose_creation_failed_is_asked_for_again() -> None:
    sponsors = SponsorTopics(TOPICS)
    acme, beta = TOPICS.sponsor_status("acme"), TOPICS.sponsor_status("beta")
    assert [topic for topic, _ in sponsors.missing(outputs(beta, acme))] == [acme, beta]
    sponsors.created(acme)  # beta's creation raised
    assert [topic for topic, _ in sponsors.missing(outputs(beta, acme))] == [beta]


def test_no_topic_is_created_for_the_fixed_topics() -> None:
    sponsors = SponsorTopics(TOPICS)
    fixed = [spec.name for spec in TOPICS.specs()]
    assert sponsors.missing(outputs(*fixed)) == []
