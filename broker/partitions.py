"""Which partition a key lands on: the Java client's default partitioner (murmur2), which
aiokafka shares, so keys sent by any client and the tables co-partitioned with them agree."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions
