"""A topic read once, from its beginning to its end offsets as they were when reading started.

`TopicView` follows a compacted topic for ever; commands (`setupmon import` reading its
ledger, `setupmon report` reading the status, sites and milestones topics) need one pass that
ends. No consumer group: every partition is assigned and read from the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from broker.client import KafkaUnavailable, client_options, partition_count
from core.errors import SetupmonError
from core.settings import Settings

STALL_SECONDS = 30.0  # a partition short of its end with nothing fetched this long: give up
PROGRESS_SECONDS = 2.0  # how often a long read says how far it got

RecordHandler = Callable[[bytes | None, bytes | None], None]


class TopicMissing(SetupmonError):
    """The topic does not exist (nothing was created by asking: see `partition_count`)."""


async def read_to_end(
    settings: Settings, topic: str, handle: RecordHandler, progress: TextIO | None = None
) -> int:
    """Hand every record of `topic` up to its end offsets to `handle`, partition by
    partition in offset order; returns how many. Progress lines go to `progress` if given."""
    partitions = await partition_count(settings, topic)
    if partitions == 0:
        raise TopicMissing(f"topic {topic} does not exist on {settings.bootstrap_servers}")
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, group_id=None)
    try:
        await consumer.start()
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        starts = await consumer.beginning_offsets(assigned)
        ends = await consumer.end_offsets(assigned)
        total = sum(ends[tp] - starts[tp] for tp in assigned)  # an upper bound when compacted
        count, last_said = 0, time.monotonic()
        for tp in assigned:
            last_fetched = time.monotonic()
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=500)
                if batch.get(tp):
                    last_fetched = time.monotonic()
                elif time.monotonic() - last_fetched > STALL_SECONDS:
                    raise KafkaUnavailable(
                        f"reading {topic} made no progress for {STALL_SECONDS:.0f} s"
                    )
                for record in batch.get(tp, []):
                    if record.offset < ends[tp]:
                        handle(record.key, record.value)
                        count += 1
                if progress is not None and time.monotonic() - last_said >= PROGRESS_SECONDS:
                    last_said = time.monotonic()
                    print(f"reading {topic}: {count:,} of about {total:,} messages", file=progress)
        return count
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot read {topic} at {settings.bootstrap_servers}: {exc}") from exc
    finally:
        await consumer.stop()
