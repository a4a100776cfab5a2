"""What `/healthz` answers: whether the worker is ready to be sent traffic, and why not.

Faust-free. An orchestrator routes to a worker on 200 and restarts one that stays on 503. A
worker is ready once its tables are recovered, it has read the site registry, no rebalance
is under way and no partition with work waiting has stopped moving (streams/stalls.py); a
stall is reported as such, since only a restart ends it (faust-streaming#629).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Health:
    tables_recovered: bool
    sites_loaded: bool
    rebalancing: bool
    stalled: Set[int]  # milestones partitions not progressing

    @property
    def ready(self) -> bool:
        return (
            self.tables_recovered
            and self.sites_loaded
            and not self.rebalancing
            and not self.stalled
        )

    @property
    def status(self) -> str:
        return "stalled" if self.stalled else "ready" if self.ready else "recovering"

    @property
    def http_status(self) -> int:
        return 200 if self.ready else 503

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tables_recovered": self.tables_recovered,
            "sites_loaded": self.sites_loaded,
            "stalled_partitions": sorted(self.stalled),
        }
