"""Which milestones partitions have work waiting but have stopped moving. Faust-free.

faust-streaming can leave a partition unfetched after rebalances that follow each other
within seconds (faust-streaming#629). The worker's timer feeds this watch each tick with every
owned partition's lag and the next offset it will process; `/healthz` answers 503 while any
partition is stalled, so an orchestrator restarts the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class StallWatch:
    stall_seconds: float  # no progress for this long, with work waiting, is a stall
    lag_tolerance: int  # messages behind that do not count as work waiting
    stalled: set[int] = field(default_factory=set)
    # partition -> (the next offset to process, when it last changed)
    _progress: dict[int, tuple[int, float]] = field(default_factory=dict)

    def observe(self, lags: dict[int, int], next_offsets: dict[int, int], now: float) -> bool:
        """Look at the partitions' lags and progress at monotonic time `now`; whether the
        set of stalled partitions changed."""
        stalled = set()
        for partition, lag in lags.items():
            offset = next_offsets.get(partition, -1)
            previous = self._progress.get(partition)
            if previous is None or previous[0] != offset:
                self._progress[partition] = (offset, now)
            elif now - previous[1] > self.stall_seconds and lag > self.lag_tolerance:
                stalled.add(partition)
        changed = stalled != self.stalled
        self.stalled = stalled
        return changed

    def forget(self, partition: int | None = None) -> None:
        """After a rebalance: progress is measured again from the next observation."""
        if partition is None:
            self._progress.clear()
        else:
            self._progress.pop(partition, None)
