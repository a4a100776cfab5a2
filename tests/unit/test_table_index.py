"""Each table partition's keys, and the states read from the table once (streams/table_index.py)."""

from __future__ import annotations

from contextlib import nullcontext

from broker.messages import Outgoing
from broker.partitions import partition_for
from core.codec import dumps, loads
from streams.outbox import Outboxes
from streams.table_index import KeyIndex, SiteCache, StudyCache
from studies.state import StudyState

PARTITIONS = 6
ALERTS = "setup.alerts"
STUDY, OTHER = "CPMS-1", "CPMS-5"  # both on partition 2
HOME = partition_for(STUDY.encode(), PARTITIONS)


class Table:
    """A table's local store: every owned partition's entries, and how often it was read."""

    name = "studies"

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.gets: list[bytes] = []
        self.scans = 0

    def get(self, key: bytes) -> bytes | None:
        self.gets.append(key)
        return self.data.get(key)

    def items(self) -> list[tuple[bytes, bytes]]:
        self.scans += 1
        return list(self.data.items())

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.data[key] = value


def entry(partition: int, **fields: object) -> bytes:
    return dumps({"partition": partition, **fields})


def study_entry(study_id: str, outbox: list[list[object]] | None = None) -> bytes:
    state = loads(StudyState(study_id).encoded())
    partition = partition_for(study_id.encode(), PARTITIONS)
    return entry(partition, state=state, **({"outbox": outbox} if outbox else {}))


def alert(alert_id: str) -> Outgoing:
    return Outgoing(ALERTS, b"RGT", dumps({"alert_id": alert_id}))


def cache(table: Table, outboxes: Outboxes | None = None) -> StudyCache:
    outboxes = outboxes or Outboxes(ALERTS, PARTITIONS)
    return StudyCache(table, outboxes, PARTITIONS, lambda partition: nullcontext())


# -- the key index ---------------------------------------------------------------------------


def test_a_partitions_keys_are_its_own_sorted_from_one_scan() -> None:
    table = Table()
    table.data = {b"B": entry(1), b"A": entry(1), b"C": entry(2)}
    index = KeyIndex(table)
    assert index.keys(1) == ["A", "B"]
    assert index.keys(1) == ["A", "B"]
    assert table.scans == 1  # the second tick reads no other partition's keys


def test_keys_written_after_the_scan_are_found_without_another() -> None:
    table = Table()
    table.data = {b"A": entry(1)}
    index = KeyIndex(table)
    index.keys(1)
    table.data[b"B"] = entry(1)
    index.add(1, b"B")
    assert index.keys(1) == ["A", "B"]
    assert table.scans == 1


def test_a_write_before_the_first_scan_does_not_hide_the_rest_of_the_partition() -> None:
    table = Table()
    table.data = {b"A": entry(1), b"B": entry(1)}
    index = KeyIndex(table)
    index.add(1, b"B")  # written by a batch before the partition's first tick
    assert index.keys(1) == ["A", "B"]


def test_after_a_rebalance_the_partition_is_scanned_again() -> None:
    table = Table()
    table.data = {b"A": entry(1)}
    index = KeyIndex(table)
    index.keys(1)
    table.data[b"B"] = entry(1)  # recovered from the changelog of a partition now owned
    index.clear()
    assert index.keys(1) == ["A", "B"]


def test_entries_are_decoded_and_a_key_gone_from_the_store_is_skipped() -> None:
    table = Table()
    table.data = {b"A": entry(1, clocks={}), b"B": entry(1)}
    index = KeyIndex(table)
    index.keys(1)
    del table.data[b"B"]
    assert index.entries(1) == [(b"A", {"partition": 1, "clocks": {}})]


# -- the study cache ---------------------------------------------------------------------------


def test_a_study_is_read_from_the_table_once_then_from_memory() -> None:
    table = Table()
    table.data = {STUDY.encode(): study_entry(STUDY)}
    studies = cache(table)
    first = studies.study(STUDY)
    assert first is not None and first.study_id == STUDY
    assert studies.study(STUDY) is first
    assert table.gets == [STUDY.encode()]
    assert studies.study("CPMS-404") is None  # a new study


def test_a_study_read_back_sends_the_alerts_left_in_its_outbox_again() -> None:
    table = Table()
    table.data = {STUDY.encode(): study_entry(STUDY, outbox=[["RGT", {"alert_id": "a/breached"}]])}
    outboxes = Outboxes(ALERTS, PARTITIONS)
    cache(table, outboxes).study(STUDY)
    assert [loads(out.value or b"{}")["alert_id"] for out in outboxes.pending()] == ["a/breached"]


def test_a_partition_is_read_whole_once_and_keeps_states_newer_than_the_table() -> None:
    table = Table()
    table.data = {STUDY.encode(): study_entry(STUDY), OTHER.encode(): study_entry(OTHER)}
    studies = cache(table)
    newer = studies.study(STUDY)
    assert not studies.loaded(HOME)
    held = studies.partition(HOME)
    assert sorted(held) == [STUDY, OTHER] and held[STUDY] is newer
    assert studies.loaded(HOME)
    table.data.clear()
    assert sorted(studies.partition(HOME)) == [STUDY, OTHER]  # not read again


def test_a_state_is_written_with_its_outbox_and_its_key_indexed() -> None:
    table = Table()
    outboxes = Outboxes(ALERTS, PARTITIONS)
    studies = cache(table, outboxes)
    studies.partition(HOME)  # the partition's first tick: nothing in it yet
    outboxes.add({STUDY: [alert("a/breached")]})
    state = StudyState(STUDY)
    studies.write({STUDY: state}, {STUDY: HOME}, table.put)
    written = loads(table.data[STUDY.encode()])
    assert written["partition"] == HOME and written["outbox"][0][1]["alert_id"] == "a/breached"
    assert studies.study(STUDY) is state
    assert studies.index.keys(HOME) == [STUDY]


def test_a_tick_writes_again_without_them_the_states_whose_alerts_were_acknowledged() -> None:
    table = Table()
    outboxes = Outboxes(ALERTS, PARTITIONS)
    studies = cache(table, outboxes)
    outboxes.add({STUDY: [alert("a/breached")]})
    studies.write({STUDY: StudyState(STUDY)}, {STUDY: HOME}, table.put)
    outboxes.acknowledged()
    assert "outbox" in loads(table.data[STUDY.encode()])

    other = {OTHER: StudyState(OTHER)}
    studies.write(other, {OTHER: HOME}, table.put)  # a batch: no rewrite
    assert "outbox" in loads(table.data[STUDY.encode()])
    studies.write(other, {OTHER: HOME}, table.put, ticked=[HOME])  # a tick re-evaluating OTHER
    assert "outbox" not in loads(table.data[STUDY.encode()])
    assert not outboxes.awaiting_rewrite(HOME)


def test_a_study_no_longer_held_is_not_waited_on_for_a_rewrite() -> None:
    table = Table()
    outboxes = Outboxes(ALERTS, PARTITIONS)
    studies = cache(table, outboxes)
    outboxes.add({STUDY: [alert("a/breached")]})
    studies.write({STUDY: StudyState(STUDY)}, {STUDY: HOME}, table.put)
    outboxes.acknowledged()
    studies.forget_partition(HOME)
    written = dict(table.data)
    studies.write({}, {}, table.put, ticked=[HOME])
    assert table.data == written  # nothing to write it from
    assert not outboxes.awaiting_rewrite(HOME)  # or every tick interval would tick again


def test_after_a_failed_batch_every_state_is_read_again() -> None:
    table = Table()
    table.data = {STUDY.encode(): study_entry(STUDY)}
    studies = cache(table)
    studies.partition(HOME)
    studies.forget()
    assert not studies.loaded(HOME)
    studies.study(STUDY)
    assert table.gets.count(STUDY.encode()) == 2


def test_a_partition_taken_away_is_read_again_if_it_comes_back() -> None:
    table = Table()
    table.data = {STUDY.encode(): study_entry(STUDY)}
    studies = cache(table)
    studies.partition(HOME)
    studies.forget_partition(HOME)
    assert not studies.loaded(HOME)
    studies.study(STUDY)
    assert table.gets.count(STUDY.encode()) == 2


# -- the site cache ----------------------------------------------------------------------------


def test_a_site_never_seen_has_no_clocks_and_a_kept_site_is_not_read_again() -> None:
    table = Table()
    sites = SiteCache(table)
    assert sites.site("RGT", 1) == {}
    sites.keep(1, "RGT", {"CPMS-1": b"[]"})
    assert sites.site("RGT", 1) == {"CPMS-1": b"[]"}
    assert table.gets == [b"RGT"]


def test_a_site_is_read_from_the_table_once_per_ownership() -> None:
    table = Table()
    table.data = {b"RGT": entry(1, clocks={"CPMS-1": [{"kpi": "site_open"}]})}
    sites = SiteCache(table)
    first = sites.site("RGT", 1)
    assert list(first) == ["CPMS-1"]
    assert sites.site("RGT", 1) is first
    sites.forget_partition(1)  # a rebalance took it away, and gave it back
    sites.site("RGT", 1)
    assert table.gets == [b"RGT", b"RGT"]


def test_a_partitions_sites_include_those_kept_since_its_scan() -> None:
    table = Table()
    table.data = {b"RGT": entry(1, clocks={})}
    sites = SiteCache(table)
    assert [site for site, _ in sites.partition(1)] == ["RGT"]
    sites.keep(1, "RAJ", {})
    assert [site for site, _ in sites.partition(1)] == ["RAJ", "RGT"]
    sites.forget_partition(1)
    sites.forget()
    assert sites.site("RAJ", 1) == {}  # read again: not in this table
