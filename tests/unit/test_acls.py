"""The ACL table of each principal (broker/acls.py, README "Security")."""

from __future__ import annotations

import pytest

from broker.acls import Grant, Role, grants, user_name
from broker.topics import TopicNames
from core.errors import InputError
from setupmon.access import check_name

TOPICS = TopicNames("setup", 6)


def test_a_sponsor_reads_its_own_topic_and_uses_its_own_groups_only() -> None:
    assert sorted(grants(Role.SPONSOR, "acme", TOPICS, "setupmon")) == [
        Grant("group", "setup.sponsor.acme.", True, "READ"),
        Grant("topic", "setup.sponsor.acme.study-status", False, "DESCRIBE"),
        Grant("topic", "setup.sponsor.acme.study-status", False, "READ"),
    ]


def test_no_sponsor_grant_covers_a_sponsor_whose_id_extends_it() -> None:
    # `acme` must not reach `acme-2`: prefixes end with a `.`, which IDs cannot hold
    for grant in grants(Role.SPONSOR, "acme", TOPICS, "setupmon"):
        for name in ("setup.sponsor.acme-2.study-status", "setup.sponsor.acme-2.dashboard"):
            assert not (name.startswith(grant.name) if grant.prefixed else name == grant.name)


def test_a_producer_may_only_write_milestones() -> None:
    assert sorted(grants(Role.PRODUCER, "trust-rgt", TOPICS, "setupmon")) == [
        Grant("topic", "setup.milestones", False, "DESCRIBE"),
        Grant("topic", "setup.milestones", False, "WRITE"),
    ]


def test_only_the_worker_reads_milestones_and_only_the_notifier_reads_alerts() -> None:
    def readers(topic: str) -> set[Role]:
        return {
            role
            for role in Role
            for g in grants(role, "x", TOPICS, "setupmon")
            if g.operation == "READ" and g.name == topic
        }

    assert readers("setup.milestones") == {Role.WORKER}
    assert readers("setup.alerts") == {Role.NOTIFIER}
    assert readers("setup.study-status") == {Role.NOTIFIER}


def test_the_worker_owns_the_faust_group_and_topics_of_its_app_id() -> None:
    worker = grants(Role.WORKER, "svc", TOPICS, "setupmon-blue")
    assert Grant("group", "setupmon-blue", False, "READ") in worker
    assert Grant("topic", "setupmon-blue-", True, "CREATE") in worker
    assert Grant("group", "setupmon-blue-notifier", False, "READ") in grants(
        Role.NOTIFIER, "svc", TOPICS, "setupmon-blue"
    )


@pytest.mark.parametrize(
    ("role", "name", "user"),
    [
        (Role.SPONSOR, "acme", "sponsor.acme"),
        (Role.PRODUCER, "trust-rgt", "producer.trust-rgt"),
        (Role.WORKER, "svc-worker", "svc-worker"),
    ],
)
def test_user_names(role: Role, name: str, user: str) -> None:
    assert user_name(role, name) == user


@pytest.mark.parametrize("name", ["", "acme.2", "acme*", "a b", "acmé"])
def test_a_name_that_would_blur_a_prefix_is_refused(name: str) -> None:
    with pytest.raises(InputError):
        check_name(Role.SPONSOR, name)


def test_an_importer_writes_milestones_and_keeps_its_ledger_only() -> None:
    assert user_name(Role.IMPORTER, "rdo-rgt") == "importer.rdo-rgt"
    assert sorted(grants(Role.IMPORTER, "rdo-rgt", TOPICS, "setupmon")) == [
        Grant("topic", "setup.imports", False, "DESCRIBE"),
        Grant("topic", "setup.imports", False, "READ"),
        Grant("topic", "setup.imports", False, "WRITE"),
        Grant("topic", "setup.milestones", False, "DESCRIBE"),
        Grant("topic", "setup.milestones", False, "WRITE"),
    ]
