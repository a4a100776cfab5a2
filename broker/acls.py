"""Who may do what on a secured broker: the ACLs of each kind of principal. Pure.

README "Security: a secured broker, principals and ACLs" shows this table. Every principal
gets the least it needs, and a broker with `allow.everyone.if.no.acl.found=false` refuses
anything else:

- a **sponsor** reads its own status topic and may use consumer groups named
  `<prefix>.sponsor.<id>.*` (the `.` ends the id, which has none, so sponsor `acme` gets
  no group of sponsor `acme-2`);
- a **producer** (a trust's or a national system) writes `<prefix>.milestones`, nothing else;
- an **importer** (`setupmon import` of EDGE and CPMS exports) writes `<prefix>.milestones`
  and reads and writes the import ledger `<prefix>.imports`, nothing else;
- the **worker** reads its inputs, writes its outputs, creates sponsor topics, and owns
  the Faust group and internal topics named after the app ID (`<app_id>-...-changelog`);
- the **notifier** reads alerts, sites, study status and its ledger, writes its ledger and
  undeliverable alerts, and owns the `<app_id>-notifier` group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from broker.topics import TopicNames

READ, WRITE, CREATE, DESCRIBE = "READ", "WRITE", "CREATE", "DESCRIBE"


class Role(StrEnum):
    SPONSOR = "sponsor"
    PRODUCER = "producer"
    IMPORTER = "importer"
    WORKER = "worker"
    NOTIFIER = "notifier"


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """ALLOW `operation` on a resource (`topic` or `group`), by its exact name or a prefix."""

    resource: str
    name: str
    prefixed: bool
    operation: str

    def __str__(self) -> str:
        pattern = f"{self.name}*" if self.prefixed else self.name
        return f"{self.operation} {self.resource} {pattern}"


def _topic(name: str, *operations: str, prefixed: bool = False) -> list[Grant]:
    return [Grant("topic", name, prefixed, op) for op in operations]


def _group(name: str, *, prefixed: bool = False) -> list[Grant]:
    return [Grant("group", name, prefixed, READ)]  # READ on a group implies DESCRIBE


def user_name(role: Role, name: str) -> str:
    """The SASL user of a sponsor (`sponsor.<id>`), producer (`producer.<name>`) or importer
    (`importer.<name>`); a worker or notifier is named by the operator as it is."""
    if role in (Role.SPONSOR, Role.PRODUCER, Role.IMPORTER):
        return f"{role.value}.{name}"
    return name


def sponsor_group_prefix(topics: TopicNames, sponsor_id: str) -> str:
    return f"{topics.prefix}.sponsor.{sponsor_id}."


def grants(role: Role, name: str, topics: TopicNames, app_id: str) -> list[Grant]:
    """The ACLs of one principal. `name` is the sponsor ID for a sponsor."""
    t = topics
    if role is Role.SPONSOR:
        return [
            *_topic(t.sponsor_status(name), READ, DESCRIBE),
            *_group(sponsor_group_prefix(t, name), prefixed=True),
        ]
    if role is Role.PRODUCER:
        # a producer's idempotence needs WRITE on the topic only (Kafka >= 2.8, KIP-679)
        return _topic(t.milestones, WRITE, DESCRIBE)
    if role is Role.IMPORTER:
        # the ledger is read in full with assigned partitions: no consumer group to grant
        return [*_topic(t.milestones, WRITE, DESCRIBE), *_topic(t.imports, READ, WRITE, DESCRIBE)]
    if role is Role.WORKER:
        return [
            # `setupmon worker` checks every fixed topic exists before it starts
            *_topic(f"{t.prefix}.", DESCRIBE, prefixed=True),
            *_topic(t.milestones, READ),
            *_topic(t.sites, READ),
            *_topic(t.study_ticks, READ, WRITE),
            *_topic(t.site_clocks, READ, WRITE),
            *_topic(t.alerts, WRITE),
            *_topic(t.study_status, WRITE),
            *_topic(t.site_kpis, WRITE),
            *_topic(t.dead_letters, WRITE),
            # a sponsor's topic is created the first time one of its studies is published
            *_topic(f"{t.prefix}.sponsor.", WRITE, CREATE, prefixed=True),
            # Faust: the group is the app ID; changelogs, repartition and leader topics are
            # `<app_id>-...`, created by the worker
            *_topic(f"{app_id}-", READ, WRITE, CREATE, DESCRIBE, prefixed=True),
            *_group(app_id),
        ]
    # the notifier
    return [
        *_topic(t.alerts, READ, DESCRIBE),
        *_topic(t.sites, READ, DESCRIBE),
        *_topic(t.study_status, READ, DESCRIBE),
        *_topic(t.deliveries, READ, WRITE, DESCRIBE),
        *_topic(t.undeliverable, WRITE, DESCRIBE),
        *_group(f"{app_id}-notifier"),
    ]
