"""Plain records for what a stage reads and writes, so stages stay free of Faust."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Incoming:
    key: bytes | None
    value: bytes
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes | None  # None is a tombstone on a compacted topic
    partition: int | None = None  # None lets the producer's partitioner choose
