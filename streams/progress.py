"""How far the study agent has processed each milestones partition, and how far behind it is.

Faust-free. The lag is measured from what the agent has processed, not from Faust's fetch
position, which runs ahead of it by whatever waits in the stream's buffer: a partition whose
fetched events are still unread is not caught up, and no day tick may judge its studies as
of today yet (streams/ticks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


class Progress:
    def __init__(self, committed: Callable[[int], int | None]) -> None:
        # the group's committed offset of a partition (None if it has none)
        self.committed = committed
        self.next_offsets: dict[int, int] = {}  # partition -> next offset, once processed

    def gaps(self, messages: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """Offsets not handed to the agent before these (partition, offset) messages, in the
        order read: {(partition, offset of the message after the gap): first missing}. The
        topic is not compacted, so a gap is messages Faust skipped, or offsets that hold no
        message (a transactional producer's markers)."""
        gaps = {}
        expected = dict(self.next_offsets)
        for partition, offset in messages:
            first = expected.get(partition)
            if first is not None and offset > first:
                gaps[(partition, offset)] = first
            expected[partition] = offset + 1
        return gaps

    def processed_up_to(self, messages: Iterable[tuple[int, int]]) -> None:
        """The agent processed these (partition, offset) messages, in order."""
        for partition, offset in messages:
            self.next_offsets[partition] = offset + 1

    def processed(self, partition: int) -> int:
        """The next offset this worker will process on `partition`."""
        processed = self.next_offsets.get(partition)
        if processed is None:
            # Nothing processed since the assignment: it starts from the committed offset.
            # (Faust's fetch position can be ahead of it, with messages not processed yet.)
            processed = self.committed(partition) or 0
        return processed

    def lag(self, partition: int, highwater: int | None) -> int | None:
        """Messages on `partition` not processed yet; None while its high water is unknown."""
        if highwater is None:
            return None
        return max(0, int(highwater) - self.processed(partition))

    def forget(self, partition: int) -> None:
        """A rebalance took the partition away: another worker may move it on, so it starts
        again from its committed offset."""
        self.next_offsets.pop(partition, None)
