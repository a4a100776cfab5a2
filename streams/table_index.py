"""What a worker keeps of its tables: each partition's keys, and the values it has decoded.

Faust-free. A table's local store holds every partition the worker owns, and Faust has no
"keys of partition N": a day tick, which reads every study (or site) of one partition,
would scan them all. So each table has a `KeyIndex`, built by one scan the first time a
partition is asked for after an assignment, and kept up to date by the writes after it.

Decoded values stay in memory too (`StudyCache`, `SiteCache`): an event costs no JSON
decoding of its study's state. A table entry names its partition (`{"partition": N, ...}`),
which is how the scan tells the partitions apart.

Faust reads a table from the partition of the event it is on (streams/faust_context.py): the
caller makes the right partition current around every read here, either by wrapping the call
or by giving the cache a `scope(partition)` that does it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from broker.partitions import partition_for
from core.codec import loads
from streams.outbox import Outboxes
from streams.site_stage import SiteClocks, encoded_site
from studies.state import StudyState

# makes `partition` the one Faust reads and writes a table in, for the `with` block
PartitionScope = Callable[[int], AbstractContextManager[Any]]


class LocalTable(Protocol):
    """What is used of a Faust table: its name and its local store's keys and values."""

    @property
    def name(self) -> str: ...

    def get(self, key: bytes) -> bytes | None: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


class KeyIndex:
    """The keys of each partition of one table held locally."""

    def __init__(self, table: LocalTable) -> None:
        self.table = table
        self._keys: dict[int, set[bytes]] = {}  # partition -> keys, once scanned

    def add(self, partition: int, key: bytes) -> None:
        """`key` was written to `partition` (a partition not scanned yet finds it then)."""
        keys = self._keys.get(partition)
        if keys is not None:
            keys.add(key)

    def keys(self, partition: int) -> list[str]:
        """The keys of `partition`, sorted."""
        keys = self._keys.get(partition)
        if keys is None:
            # First tick of this partition since an assignment. The agent reads a partition
            # only once it is recovered, so one scan now sees all of it.
            keys = self._keys[partition] = {
                key for key, raw in self.table.items() if loads(raw)["partition"] == partition
            }
        return sorted(key.decode() for key in keys)

    def entries(self, partition: int) -> list[tuple[bytes, dict[str, Any]]]:
        """The decoded entries of `partition`."""
        entries = []
        for key in (key.encode() for key in self.keys(partition)):
            raw = self.table.get(key)
            if raw is not None:
                entries.append((key, loads(raw)))
        return entries

    def clear(self) -> None:
        """After a rebalance: every partition is scanned again when next asked for."""
        self._keys.clear()


class StudyCache:
    """Decoded study states of the owned partitions, each read from the table once."""

    def __init__(
        self, table: LocalTable, outboxes: Outboxes, partitions: int, scope: PartitionScope
    ) -> None:
        self.table = table
        self.index = KeyIndex(table)
        self.outboxes = outboxes
        self.partitions = partitions
        self.scope = scope
        self._studies: dict[int, dict[str, StudyState]] = {}  # partition -> study -> state
        # partitions whose every study has been read from the table since the assignment
        self._loaded: set[int] = set()

    def study(self, study_id: str) -> StudyState | None:
        """A study's state: decoded once from the table, then kept in memory."""
        partition = partition_for(study_id.encode(), self.partitions)
        cache = self._studies.setdefault(partition, {})
        state = cache.get(study_id)
        if state is None:
            with self.scope(partition):
                raw = self.table.get(study_id.encode())
            if raw is not None:
                state = cache[study_id] = self._read_entry(study_id, loads(raw))
        return state

    def loaded(self, partition: int) -> bool:
        """Has every study of `partition` been read since the assignment?"""
        return partition in self._loaded

    def partition(self, partition: int) -> dict[str, StudyState]:
        """Every study of an owned partition, read from the table once per assignment. The
        caller makes `partition` current."""
        if partition not in self._loaded:
            cache = self._studies.setdefault(partition, {})
            for key, entry in self.index.entries(partition):
                if key.decode() not in cache:  # a cached state may be newer than the table
                    cache[key.decode()] = self._read_entry(key.decode(), entry)
            self._loaded.add(partition)
        return self._studies[partition]

    def write(
        self,
        states: Mapping[str, StudyState],
        partition_of: Mapping[str, int],
        put: Callable[[int, bytes, bytes], None],
        *,
        ticked: Iterable[int] = (),
    ) -> None:
        """Keep `states` and `put` each one's table entry, with its outbox. On a tick of the
        `ticked` partitions, also the studies whose written outbox has been acknowledged
        since: written again without it, so a restart re-sends few alerts."""
        rows = [(study_id, partition_of[study_id], state) for study_id, state in states.items()]
        for partition in ticked:
            again = self.outboxes.to_rewrite(partition, states)
            held = self._studies.get(partition, {})
            rows += [
                (study_id, partition, held[study_id]) for study_id in again if study_id in held
            ]
            self.outboxes.written(again)  # a study no longer held needs no rewrite
        for study_id, partition, state in rows:
            self._studies.setdefault(partition, {})[study_id] = state
            put(
                partition,
                study_id.encode(),
                self.outboxes.entry(study_id, partition, state.encoded()),
            )
            self.index.add(partition, study_id.encode())
        self.outboxes.written(study_id for study_id, _, _ in rows)

    def forget(self) -> None:
        """A batch failed: the cached states may hold what the broker never acknowledged, so
        they are read again (with the outboxes they were written with)."""
        self._studies.clear()
        self._loaded.clear()
        self.outboxes.forget()

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away."""
        self._studies.pop(partition, None)
        self._loaded.discard(partition)

    def _read_entry(self, study_id: str, entry: dict[str, Any]) -> StudyState:
        """A study's state from its table entry (its outbox goes out with the next batch)."""
        self.outboxes.read(study_id, entry)
        return StudyState.from_json(entry["state"])


class SiteCache:
    """Each site's clocks across studies, per owned partition, read from the table once."""

    def __init__(self, table: LocalTable) -> None:
        self.table = table
        self.index = KeyIndex(table)
        self._sites: dict[int, dict[str, SiteClocks]] = {}  # partition -> site -> clocks

    def site(self, site_id: str, partition: int) -> SiteClocks:
        """A site's clocks (none for a site never seen). The caller makes `partition` current."""
        cache = self._sites.setdefault(partition, {})
        site = cache.get(site_id)
        if site is None:
            raw = self.table.get(site_id.encode())
            site = cache[site_id] = {} if raw is None else encoded_site(loads(raw)["clocks"])
        return site

    def partition(self, partition: int) -> list[tuple[str, SiteClocks]]:
        """Every site of `partition`, sorted. The caller makes `partition` current."""
        return [(site_id, self.site(site_id, partition)) for site_id in self.index.keys(partition)]

    def keep(self, partition: int, site_id: str, clocks: SiteClocks) -> None:
        """`clocks` is the site's new value, written to the table."""
        self._sites.setdefault(partition, {})[site_id] = clocks
        self.index.add(partition, site_id.encode())

    def forget(self) -> None:
        """A batch failed: read every site again."""
        self._sites.clear()

    def forget_partition(self, partition: int) -> None:
        """A rebalance took the partition away."""
        self._sites.pop(partition, None)
