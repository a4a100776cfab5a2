"""10,000 malformed messages interleaved with real histories, through a real worker.

Every malformed message (made by the validation fuzzer's generators, `tests/fuzz/`) must reach
`setup.milestones.dlq` once, with its contract code, detail, and the original bytes (as text,
or base64 when they are not UTF-8) and where it was read; the valid events around them must
all apply: each study's final status is exactly what a pure replay of its valid events gives.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from broker.client import client_options
from core.codec import dumps, loads
from core.settings import Settings
from events.validation import Rejection, validate_event
from studies.state import StudyState
from tests.fuzz.inputs import make_case
from tests.fuzz.mutations import VALUE_MUTATIONS
from tests.fuzz.valid_events import encode
from tests.histories import decoded, interleave, last_recorded_day, study_histories
from tests.integration.kafka_io import Record, read_all, run, wait_until
from tests.integration.test_pipeline import calendar, latest_by_key

pytestmark = pytest.mark.integration

MALFORMED = 10_000
BIGGEST = 256 * 1024  # well under the broker's and producer's 1 MiB message limit


def malformed_messages(rng: random.Random, studies: list[dict]) -> list[bytes]:
    """Rejected messages: a third mutations of the studies' own events, the rest anything."""
    found: list[bytes] = []
    while len(found) < MALFORMED:
        if rng.random() < 0.35:
            mutation = rng.choice(VALUE_MUTATIONS)
            mutated, _ = mutation(rng, copy.deepcopy(rng.choice(studies)))
            raw = encode(rng, mutated)
        else:
            raw = make_case(rng).raw
        if len(raw) <= BIGGEST and isinstance(validate_event(raw), Rejection):
            found.append(raw)
    return found


async def produce_all(
    settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]
) -> list[Record]:
    """Send in order without waiting for each one (a partition's messages keep their order)."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        metas = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [
        Record(topic, meta.partition, meta.offset, key, value)
        for (key, value), meta in zip(messages, metas, strict=True)
    ]


def expected_statuses(histories: dict[str, list[dict]], today: date) -> dict[str, dict]:
    """The pure replay: each study's valid events applied to a fresh state, judged today."""
    out = {}
    for study, events in histories.items():
        state = StudyState(study)
        for event in decoded(events):
            state.apply(event)
        status = loads(state.advance(today).status_json(updated_at=datetime.now(UTC)))
        out[study] = _comparable(status)
    return out


def _comparable(status: dict) -> dict:
    return {name: value for name, value in status.items() if name != "updated_at"}


def original_bytes(record: dict) -> bytes:
    if record.get("original_encoding") == "base64":
        return base64.b64decode(record["original"])
    return record["original"].encode("utf-8")


def test_malformed_messages_in_a_live_stream_are_all_dead_lettered_and_valid_ones_apply(
    settings: Settings, start_worker
) -> None:
    rng = random.Random(8)
    histories = study_histories(8, studies=30, first_day=date(2024, 1, 1), span_days=365)
    today = last_recorded_day(histories) + timedelta(days=1)
    feed = [(e["study_id"].encode(), dumps(e)) for e in interleave(histories, rng)]
    every_event = [e for events in histories.values() for e in events]
    keys = [study.encode() for study in histories]
    stream: list[tuple[bytes | None, bytes]] = list(feed)
    for raw in malformed_messages(rng, every_event):
        key = rng.choice((*keys, *keys, None, rng.randbytes(8)))
        stream.insert(rng.randint(0, len(stream)), (key, raw))

    worker = start_worker(settings, calendar(today.isoformat(), 100_000))  # today all along
    topic = settings.topic("milestones")
    landed = run(produce_all(settings, topic, stream))
    bad = {
        (r.partition, r.offset): r for r in landed if isinstance(validate_event(r.value), Rejection)
    }  # type: ignore[arg-type]
    assert len(bad) == MALFORMED

    dead: list[Record] = []

    def all_dead_lettered() -> bool:
        nonlocal dead
        dead = run(read_all(settings, settings.topic("milestones.dlq")))
        return len(dead) >= MALFORMED

    wait_until(all_dead_lettered, timeout=240, what="10,000 dead letters", interval=2.0)
    seen = set()
    for letter in dead:
        record = loads(letter.value)
        where = (record["partition"], record["offset"])
        assert where in bad, f"a dead letter for a message never sent malformed: {record}"
        sent = bad[where]
        assert record["topic"] == topic and letter.key == sent.key
        assert original_bytes(record) == sent.value
        rejection = validate_event(sent.value)  # type: ignore[arg-type]
        assert isinstance(rejection, Rejection)
        assert record["error"] == rejection.reason.value and record["detail"]
        assert datetime.fromisoformat(record["rejected_at"])
        seen.add(where)
    assert seen == set(bad)

    wanted = expected_statuses(histories, today)
    actual: dict[str, dict] = {}

    def statuses_replayed() -> bool:
        nonlocal actual
        records = latest_by_key(run(read_all(settings, settings.topic("study-status"))))
        actual = {k.decode(): _comparable(loads(v)) for k, v in records.items() if v is not None}
        return actual == wanted

    try:
        wait_until(
            statuses_replayed, timeout=120, what="statuses equal to the replay", interval=2.0
        )
    finally:
        differ = sorted(s for s in wanted if actual.get(s) != wanted[s])
        assert differ == [], f"{len(differ)} studies differ from the replay, e.g. {differ[:3]}"
    _, metrics = worker.get("/metrics")
    rejected = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("trial_setup_events_total{") and 'outcome="rejected"' in line
    )
    assert rejected == MALFORMED
    assert worker.process.poll() is None
