"""Writing a Faust table the way a batch needs: many keys, one wait.

Faust's `table[key] = value` sends each changelog record on its own through the Faust
producer's buffer, and a batch waiting for hundreds of those spent most of its time there.
Here a batch's entries go to the local store and, as record batches, to the table's
changelog topic through the worker's `Publisher`; once the broker has them, the store
remembers the changelog offset it holds, as Faust does after its own writes
(`Store.set_persisted_offset`), so a restart recovers only what came after.
"""

from __future__ import annotations

from typing import Any

from faust.types import TP

from broker.messages import Outgoing
from broker.publisher import Publisher, SentBatch, delivered


class TableWrites:
    """A batch's writes to one table: `put` each entry, then `await flushed()`."""

    def __init__(self, table: Any, publisher: Publisher) -> None:
        self.table = table
        self.publisher = publisher
        self.changelog = str(table.changelog_topic.get_topic_name())
        self._records: list[Outgoing] = []

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        """`key` of `partition` holds `value` in the local store now, in the changelog once
        flushed. The caller makes `partition` Faust's current one (streams/faust_context.py)."""
        self.table.data[key] = value  # the local store only, no changelog record
        self._records.append(Outgoing(self.changelog, key, value, partition))

    async def flushed(self) -> list[SentBatch]:
        """Send what was put and wait until the broker has it; the store then records the
        offsets it holds."""
        records, self._records = self._records, []
        batches = await self.publisher.send(records)
        await delivered(batches)
        for batch in batches:
            metadata = batch.future.result()
            offset = int(metadata.offset) + batch.count - 1
            self.table.data.set_persisted_offset(TP(batch.topic, batch.partition), offset)
        return batches
