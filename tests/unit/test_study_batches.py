"""What the agents do with a batch (streams/study_batches.py, streams/site_batches.py): the
order outputs and states leave in, and when a day tick is applied."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from broker.messages import Incoming, Outgoing
from broker.partitions import partition_for
from broker.publisher import SentBatch
from broker.topics import TopicNames, TopicSpec
from core.codec import dumps, loads
from streams.progress import Progress
from streams.site_batches import SiteBatches
from streams.study_batches import StudyBatches
from streams.study_stage import StageResult
from streams.ticks import StudyTicks
from studies.state import StudyState

TOPICS = TopicNames("setup", 6)
MON = date(2025, 3, 3)
STUDY = "CPMS-1"
HOME = partition_for(STUDY.encode(), TOPICS.partitions)
CALENDAR = SimpleNamespace(today=lambda: MON, now=lambda: datetime(2025, 3, 3, 12, tzinfo=UTC))


def event(topic: str, partition: int, offset: int, value: object) -> SimpleNamespace:
    message = SimpleNamespace(
        topic=topic, partition=partition, offset=offset, key=b"k", value=dumps(value)
    )
    return SimpleNamespace(message=message)


class World:
    """The broker and the table, recording what happens in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.table: dict[bytes, bytes] = {}
        self.fail_state_write = False
        self.name = "studies"

    # the table's local store
    def get(self, key: bytes) -> bytes | None:
        return self.table.get(key)

    def items(self) -> list[tuple[bytes, bytes]]:
        return list(self.table.items())

    # the publisher
    async def send(self, outputs: Iterable[Outgoing]) -> list[SentBatch]:
        sent = []
        for out in outputs:
            self.log.append(f"send {out.topic} {out.value.decode() if out.value else ''}")
            future = asyncio.get_running_loop().create_future()
            future.set_result(None)
            sent.append(SentBatch(out.topic, 0, 1, future))
        return sent

    # a batch's table writes
    def writes(self) -> World:
        return self

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.table[key] = value
        self.log.append(f"put {key.decode()} outbox={len(loads(value).get('outbox', []))}")

    async def flushed(self) -> list[SentBatch]:
        if self.fail_state_write:
            raise ConnectionError("changelog not acknowledged")
        self.log.append("flushed")
        return []

    # the broker, read by offset (broker/range_reader.py): offsets 0..99 of every partition
    async def read_range(self, topic: str, partition: int, first: int, last: int) -> list[Any]:
        self.log.append(f"read {partition} {first}..{last}")
        return [Incoming(b"k", b"{}", topic, partition, n) for n in range(first, last + 1)]

    async def ensure(self, spec: TopicSpec) -> None:
        self.log.append(f"create {spec.name}")


@contextmanager
def on_partition(event: Any) -> Iterator[None]:
    yield


class Stage:
    def __init__(self, result: StageResult) -> None:
        self.result = result
        self.ingested: list[list[int]] = []
        self.values: list[list[bytes]] = []
        self.swept: list[tuple[int, date, list[str]]] = []

    def ingest(self, incoming: list[Any], load: Any, *, as_of: date, now: datetime) -> StageResult:
        self.ingested.append([m.offset for m in incoming])
        self.values.append([m.value for m in incoming])
        return self.result

    def sweep(
        self,
        states: list[StudyState],
        *,
        partition: int,
        as_of: date,
        now: datetime,
        everything: bool,
    ) -> StageResult:
        self.swept.append((partition, as_of, [s.study_id for s in states]))
        return StageResult()

    def due_studies(self, partition: int, as_of: date) -> list[str]:
        return []

    def has_studies_behind(self, partition: int) -> bool:
        return False


def study_batches(world: World, result: StageResult) -> tuple[StudyBatches, Stage]:
    stage = Stage(result)
    batches = StudyBatches(
        topics=TOPICS,
        stage=stage,  # type: ignore[arg-type]
        calendar=CALENDAR,
        table=world,
        publisher=world,
        ticks=StudyTicks(lag_tolerance=20),
        progress=Progress(lambda partition: None),
        ensure_topic=world.ensure,
        table_writes=world.writes,
        enter=on_partition,
        read_range=world.read_range,
    )
    return batches, stage


def a_breach() -> StageResult:
    alert = Outgoing(TOPICS.alerts, b"RGT", b'"breach"')
    sponsor = TOPICS.sponsor_status("acme")
    return StageResult(
        outputs=[
            Outgoing(TOPICS.study_status, b"CPMS-1", b'"status"'),
            Outgoing(sponsor, b"CPMS-1", b'"mirror"'),
            alert,
        ],
        states={STUDY: StudyState(STUDY)},
        partitions={STUDY: HOME},
        alerts={STUDY: [alert]},
    )


def test_alerts_leave_only_after_the_state_holding_them_is_in_the_changelog() -> None:
    world = World()
    batches, _ = study_batches(world, a_breach())
    asyncio.run(batches.handle([event(TOPICS.milestones, HOME, 7, {})]))
    assert world.log == [
        f"create {TOPICS.sponsor_status('acme')}",  # before the first message to it
        'send setup.study-status "status"',
        'send setup.sponsor.acme.study-status "mirror"',
        f"put {STUDY} outbox=1",
        "flushed",
        'send setup.alerts "breach"',
    ]
    assert not batches.outboxes.pending()
    world.log.clear()
    asyncio.run(batches.handle([event(TOPICS.milestones, HOME, 8, {})]))
    assert not [line for line in world.log if line.startswith("create")]  # known now


def test_a_tombstone_reaches_the_stage_as_an_empty_message_for_the_dead_letters() -> None:
    world = World()
    batches, stage = study_batches(world, StageResult())
    tombstone = event(TOPICS.milestones, HOME, 7, {})
    tombstone.message.value = None  # a null value on setup.milestones
    asyncio.run(batches.handle([tombstone]))
    assert stage.values == [[b""]]  # validation rejects it: not_json, "a tombstone"


def test_messages_the_stream_skipped_are_read_from_the_broker_and_applied_in_order() -> None:
    # faust-streaming can skip messages of a partition kept across a rebalance
    world = World()
    batches, stage = study_batches(world, StageResult())
    asyncio.run(batches.handle([event(TOPICS.milestones, 1, n, {}) for n in (3, 4)]))
    skipped = [event(TOPICS.milestones, 1, n, {}) for n in (8, 9)] + [
        event(TOPICS.milestones, 2, 0, {})  # a partition first read now has no gap
    ]
    asyncio.run(batches.handle(skipped))
    assert stage.ingested == [[3, 4], [5, 6, 7, 8, 9, 0]]
    assert [line for line in world.log if line.startswith("read")] == ["read 1 5..7"]
    assert batches.progress.processed(1) == 10


def test_a_state_write_that_fails_sends_no_alert_and_is_read_again() -> None:
    world = World()
    world.fail_state_write = True
    batches, _ = study_batches(world, a_breach())
    with pytest.raises(ConnectionError):
        asyncio.run(batches.handle([event(TOPICS.milestones, HOME, 7, {})]))
    assert not any(line.startswith("send setup.alerts") for line in world.log)
    batches.forget()  # in_batches' on_error
    assert not batches.outboxes.pending()


def test_a_day_tick_waits_until_the_partition_is_read_up_to_its_high_water() -> None:
    world = World()
    batches, stage = study_batches(world, StageResult())
    tick = {"as_of": "2025-03-03", "tick": "2025-03-03", "through": 9}
    asyncio.run(
        batches.handle(
            [event(TOPICS.milestones, HOME, 7, {}), event(TOPICS.study_ticks, HOME, 0, tick)]
        )
    )
    assert stage.swept == []  # offset 8 is still unread
    asyncio.run(batches.handle([event(TOPICS.milestones, HOME, 8, {})]))
    assert stage.swept == [(HOME, MON, [])]


def test_the_first_tick_after_an_assignment_sweeps_every_study_of_the_partition() -> None:
    world = World()
    world.table[STUDY.encode()] = dumps(
        {"partition": HOME, "state": loads(StudyState(STUDY).encoded())}
    )
    batches, stage = study_batches(world, StageResult())
    tick = {"as_of": "2025-03-03", "tick": "2025-03-03"}
    asyncio.run(batches.handle([event(TOPICS.study_ticks, HOME, 0, tick)]))
    asyncio.run(batches.handle([event(TOPICS.study_ticks, HOME, 1, tick)]))
    assert stage.swept == [(HOME, MON, [STUDY]), (HOME, MON, [])]  # then only those due


# -- the site agent --------------------------------------------------------------------------


class SiteStage:
    def __init__(self) -> None:
        self.folded: list[tuple[str, str]] = []

    def update(self, site: dict[str, bytes], change: dict[str, Any]) -> dict[str, bytes]:
        self.folded.append((change["site_id"], change["study_id"]))
        return {**site, change["study_id"]: b"[]"}

    def publish(
        self, site_id: str, site: dict[str, bytes], *, partition: int, as_of: date
    ) -> Outgoing:
        return Outgoing(
            TOPICS.site_kpis, site_id.encode(), dumps([site_id, sorted(site), str(as_of)])
        )


def site_batches(world: World) -> tuple[SiteBatches, SiteStage]:
    stage = SiteStage()
    batches = SiteBatches(
        stage=stage,  # type: ignore[arg-type]
        calendar=CALENDAR,
        table=world,
        publisher=world,
        table_writes=world.writes,
        enter=on_partition,
        read_range=world.read_range,
    )
    return batches, stage


def change(site: str, study: str) -> dict[str, object]:
    return {"site_id": site, "study_id": study, "clocks": []}


def test_each_site_is_folded_in_order_and_published_once_per_batch() -> None:
    world = World()
    batches, stage = site_batches(world)
    clocks = TOPICS.site_clocks
    asyncio.run(
        batches.handle(
            [
                event(clocks, 1, 0, change("RGT", "CPMS-1")),
                event(clocks, 1, 1, change("RGT", "CPMS-2")),
                event(clocks, 2, 0, change("RAJ", "CPMS-3")),
            ]
        )
    )
    assert stage.folded == [("RGT", "CPMS-1"), ("RGT", "CPMS-2"), ("RAJ", "CPMS-3")]
    assert [line for line in world.log if line.startswith("send")] == [
        'send setup.site-kpis ["RGT",["CPMS-1","CPMS-2"],"2025-03-03"]',
        'send setup.site-kpis ["RAJ",["CPMS-3"],"2025-03-03"]',
    ]
    assert world.log[-1] == "flushed"


def test_a_tick_publishes_every_site_of_its_partition_once_as_of_its_day() -> None:
    world = World()
    batches, _ = site_batches(world)
    clocks = TOPICS.site_clocks
    asyncio.run(batches.handle([event(clocks, 1, 0, change("RGT", "CPMS-1"))]))
    world.log.clear()
    asyncio.run(
        batches.handle(
            [
                event(clocks, 1, 1, change("RAJ", "CPMS-2")),
                event(clocks, 1, 2, {"as_of": "2025-03-02", "tick": "2025-03-02"}),
            ]
        )
    )
    assert [line for line in world.log if line.startswith("send")] == [
        'send setup.site-kpis ["RAJ",["CPMS-2"],"2025-03-02"]',
        'send setup.site-kpis ["RGT",["CPMS-1"],"2025-03-02"]',
    ]


def test_site_changes_the_stream_skipped_are_read_from_the_broker_and_folded_in_order() -> None:
    world = World()
    batches, stage = site_batches(world)
    clocks = TOPICS.site_clocks
    skipped = {1: change("RGT", "CPMS-2"), 2: change("RAJ", "CPMS-3")}

    async def read_range(topic: str, partition: int, first: int, last: int) -> list[Incoming]:
        world.log.append(f"read {partition} {first}..{last}")
        return [
            Incoming(b"k", dumps(skipped[n]), topic, partition, n) for n in range(first, last + 1)
        ]

    batches.read_range = read_range
    asyncio.run(batches.handle([event(clocks, 1, 0, change("RGT", "CPMS-1"))]))
    asyncio.run(batches.handle([event(clocks, 1, 3, change("RGT", "CPMS-4"))]))
    assert stage.folded == [
        ("RGT", "CPMS-1"),
        ("RGT", "CPMS-2"),
        ("RGT", "CPMS-4"),
        ("RAJ", "CPMS-3"),
    ]
    assert [line for line in world.log if line.startswith("read")] == ["read 1 1..2"]


def test_a_tick_the_stream_skipped_is_read_from_the_broker() -> None:
    world = World()
    tick = {"as_of": "2025-03-03", "tick": "2025-03-03"}

    async def read_range(topic: str, partition: int, first: int, last: int) -> list[Incoming]:
        world.log.append(f"read {topic} {partition} {first}..{last}")
        return [Incoming(None, dumps(tick), topic, partition, n) for n in range(first, last + 1)]

    batches, _ = study_batches(world, StageResult())
    batches.read_range = read_range
    asyncio.run(batches.handle([event(TOPICS.study_ticks, HOME, 0, tick)]))
    asyncio.run(batches.handle([event(TOPICS.study_ticks, HOME, 2, tick)]))
    assert [line for line in world.log if line.startswith("read")] == [
        f"read {TOPICS.study_ticks} {HOME} 1..1"
    ]
