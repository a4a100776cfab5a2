"""Which sponsor status topics a batch needs created. Faust-free.

A sponsor's mirror of `setup.study-status` (`setup.sponsor.<id>.study-status`) is created the
first time one of its studies is published, not up front: sponsors are not known in advance.
Each worker remembers the topics it has made sure of, so a batch costs no admin request for a
sponsor already seen.
"""

from __future__ import annotations

from collections.abc import Iterable

from broker.messages import Outgoing
from broker.topics import TopicNames, TopicSpec


class SponsorTopics:
    def __init__(self, topics: TopicNames) -> None:
        self.topics = topics
        self._known: set[str] = set()  # sponsor topics made sure of

    def missing(self, outputs: Iterable[Outgoing]) -> list[tuple[str, TopicSpec]]:
        """The sponsor topics `outputs` go to that are not known to exist yet, with the spec
        to create each; `created` marks one done."""
        missing = []
        for topic in sorted({out.topic for out in outputs} - self._known):
            sponsor = self.topics.sponsor_of(topic)
            if sponsor is not None:
                missing.append((topic, self.topics.sponsor_spec(sponsor)))
        return missing

    def created(self, topic: str) -> None:
        """`topic` exists now (created, or found existing)."""
        self._known.add(topic)
