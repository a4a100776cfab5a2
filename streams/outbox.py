"""Alerts kept with their study's state until the broker has them (an outbox). Faust-free.

An alert cannot be derived again: once a study's state records that it was raised, a re-run
of the same events decides nothing new. So the study agent writes each touched study's state
together with the alerts it decided and has not yet seen acknowledged, and only then sends
them (`StudyBatches.publish`, streams/study_batches.py). A state read back with alerts in its outbox (after
a crash, or on another worker after a rebalance) sends them again: the same `alert_id`s,
which the notifier delivers once.

Once acknowledged, an alert stays in the written state until the study is written again; the
partition's next tick writes those studies without it, so a restart re-sends little.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from broker.messages import Outgoing
from broker.partitions import partition_for
from core.codec import dumps, embedded


class Outboxes:
    """The study agent's outboxes: per study, the alerts not yet acknowledged, in order."""

    def __init__(self, alerts_topic: str, partitions: int) -> None:
        self.alerts_topic = alerts_topic
        self.partitions = partitions
        self._pending: dict[str, list[Outgoing]] = {}
        # study -> partition: written with an outbox since acknowledged, to write again
        self._sent: dict[str, int] = {}

    # -- reading and writing table entries ----------------------------------------------

    def read(self, study_id: str, entry: dict[str, Any]) -> None:
        """A study's table entry was read back: alerts left in its outbox go out again, before
        any the study decides from now on."""
        unsent = [
            Outgoing(self.alerts_topic, key.encode(), dumps(alert))
            for key, alert in entry.get("outbox", ())
        ]
        if unsent:
            self._pending[study_id] = unsent + self._pending.get(study_id, [])

    def entry(self, study_id: str, partition: int, state: bytes) -> bytes:
        """A study's table entry: its encoded state and its outbox, if it has one."""
        value: dict[str, Any] = {"partition": partition, "state": embedded(state)}
        pending = self._pending.get(study_id)
        if pending:
            value["outbox"] = [
                [out.key.decode() if out.key else "", embedded(out.value or b"null")]
                for out in pending
            ]
        return dumps(value)

    # -- a batch ------------------------------------------------------------------------

    def add(self, decided: dict[str, list[Outgoing]]) -> None:
        """A batch's alerts, per study, before its states are written."""
        for study_id, alerts in decided.items():
            self._pending.setdefault(study_id, []).extend(alerts)

    def pending(self) -> list[Outgoing]:
        """Every alert to send now, each study's in order."""
        return [alert for alerts in self._pending.values() for alert in alerts]

    def acknowledged(self) -> None:
        """The broker has every pending alert; the states written with them still hold them,
        until they are written again."""
        for study_id in self._pending:
            self._sent[study_id] = partition_for(study_id.encode(), self.partitions)
        self._pending.clear()

    def to_rewrite(self, partition: int, written: Iterable[str]) -> list[str]:
        """On a tick of `partition`: the studies whose written state holds acknowledged
        alerts and that are not among those `written` anyway; written again without them."""
        skip = set(written)
        return sorted(s for s, p in self._sent.items() if p == partition and s not in skip)

    def written(self, studies: Iterable[str]) -> None:
        """These studies' states were written, with what was pending for them then."""
        for study_id in studies:
            self._sent.pop(study_id, None)

    def awaiting_rewrite(self, partition: int) -> bool:
        """Does `partition` hold written states with acknowledged alerts? (A tick is due.)"""
        return partition in self._sent.values()

    # -- ownership ----------------------------------------------------------------------

    def forget(self) -> None:
        """A batch failed: the states will be read again, with the outboxes they were
        written with."""
        self._pending.clear()
        self._sent.clear()

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away."""
        for study_id in [s for s, p in self._sent.items() if p == partition]:
            del self._sent[study_id]
