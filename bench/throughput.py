"""`make bench`: setupmon's worker against the raw ceiling and a naive Faust agent, in one run.

On one broker, one machine, one run (compare ratios, not absolute figures, across machines):
1. raw: a plain aiokafka consumer reading the backlog and decoding + validating each message,
   the least any consumer of the contract must do;
2. logic alone: the same, plus setupmon's study stage in memory, a fetched batch at a time
   (no tables, no outputs sent);
3. naive Faust agent: the same logic one event at a time, the state read from and written to
   a table per event, every output awaited (bench/naive_agent.py);
4. setupmon worker: a real worker process (batches, tables, changelogs, every output), the
   median of three runs;
5. the worker on studies of 5, 20, 50, 100 and 200 sites: events/s and changelog bytes/event;
6. latency from publishing an event to its study-status message at a steady 250 and 1,000
   events/s;
7. the time to answer `/metrics` with 1,000 sites;
8. a worker holding a million clocks: resident memory per clock, and restart to ready after
   SIGKILL (bench/restart.py).
Each worker is timed from its first processed event to its last (its start-up apart).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from bench.backlogs import DAY, Messages, national, sized_studies
from bench.latency import steady_latency
from bench.process import scrape, start, stop, wait_counted
from bench.restart import restart_at_scale
from broker.client import client_options, ensure_topics
from broker.messages import Incoming
from broker.topics import TopicNames
from core.settings import Settings
from events.validation import validate_event
from setupmon.simulator import SPONSORS
from streams.metrics import SetupmonMetrics
from streams.study_stage import StudyStage
from studies.state import StudyState

STUDIES = int(os.environ.get("BENCH_STUDIES", "600"))
SIZES = (5, 20, 50, 100, 200)
SIZED_EVENTS = int(os.environ.get("BENCH_SIZED_EVENTS", "12000"))
FETCH = 2000  # messages a getmany returns at most, as the worker's batches
MILLION = int(os.environ.get("BENCH_CLOCKS", "1000000"))
WORKER_RUNS = 3


def fresh_settings(name: str, port: int = 6091) -> Settings:
    unique = f"{name}-{uuid.uuid4().hex[:8]}"
    settings = replace(
        Settings.from_env(),
        topic_prefix=f"bench-{unique}",
        app_id=f"bench-{unique}",
        data_dir=Path(f".data/bench/{unique}"),
        metrics_port=port,
        partitions=6,
    )
    topics = TopicNames.from_settings(settings)
    specs = topics.specs() + [topics.sponsor_spec(s) for s in (*SPONSORS, "bench")]
    asyncio.run(ensure_topics(settings, specs))
    return settings


async def produce(settings: Settings, messages: Messages) -> float:
    producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        topic = TopicNames.from_settings(settings).milestones
        for key, value in messages:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def consume(settings: Settings, count: int, stage: StudyStage | None) -> float:
    topic = TopicNames.from_settings(settings).milestones
    consumer = AIOKafkaConsumer(
        **client_options(settings), enable_auto_commit=False, max_poll_records=FETCH
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    states: dict[str, StudyState] = {}
    seen = 0
    started = time.perf_counter()
    try:
        while seen < count:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                seen += len(records)
                if stage is None:
                    for record in records:
                        validate_event(record.value)
                    continue
                batch = [Incoming(r.key, r.value, topic, tp.partition, r.offset) for r in records]
                result = stage.ingest(batch, states.get, as_of=DAY, now=datetime.now(UTC))
                states.update(result.states)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def timed_process(
    settings: Settings, command: list[str], count: int, then: Callable[[], object] | None = None
) -> float:
    """Seconds a worker-like process takes from its first counted event to the `count`th;
    `then` runs before it is stopped."""
    process = start(settings, command)
    try:
        seconds = wait_counted(process, settings.metrics_port, count)
        if then is not None:
            then()
        return seconds
    finally:
        stop(process)


def changelog_bytes(settings: Settings) -> int:
    async def total() -> int:
        consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
        await consumer.start()
        try:
            size = 0
            for table in ("studies", "site-clocks"):
                topic = f"{settings.app_id}-{table}-changelog"
                partitions = consumer.partitions_for_topic(topic) or set()
                if not partitions:
                    await consumer._client.force_metadata_update()  # a topic made by the worker
                    partitions = consumer.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in partitions]
                if not tps:
                    continue
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                end = await consumer.end_offsets(tps)
                for tp in tps:
                    while await consumer.position(tp) < end[tp]:
                        for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                            size += len(record.key or b"") + len(record.value or b"")
            return size
        finally:
            await consumer.stop()

    return asyncio.run(total())


def worker_run(name: str, messages: Messages) -> tuple[float, float]:
    """events/s of a worker on `messages`, and its changelog bytes per event."""
    settings = fresh_settings(name)
    asyncio.run(produce(settings, messages))
    seconds = timed_process(settings, ["setupmon.cli", "worker"], len(messages))
    return len(messages) / seconds, changelog_bytes(settings) / len(messages)


def main() -> None:
    argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description=__doc__,
        epilog="Needs a broker at SETUPMON_BOOTSTRAP_SERVERS; `make bench` starts a fresh one.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args()
    messages = national(STUDIES)
    count = len(messages)
    print(
        f"backlog: {count} milestone messages ({STUDIES} studies, 200 sites), "
        f"6 partitions, one worker, {os.cpu_count()} cores; one broker, one run"
    )
    settings = fresh_settings("backlog")
    asyncio.run(produce(settings, messages))
    raw_s = asyncio.run(consume(settings, count, None))
    stage = StudyStage(
        TopicNames.from_settings(settings),
        SetupmonMetrics.create(CollectorRegistry()),
        lambda _: "x",
        alert_horizon_days=100_000,
    )
    logic_s = asyncio.run(consume(settings, count, stage))
    naive = fresh_settings("naive")
    asyncio.run(produce(naive, messages))
    naive_s = timed_process(naive, ["bench.naive_agent"], count)
    # The backlog takes a worker a few seconds: the median of three runs, so one slow start
    # (a compaction on the broker, a page cache miss) does not stand for the worker.
    runs = sorted(worker_run(f"worker{n}", messages) for n in range(WORKER_RUNS))
    worker_rate, worker_bytes = runs[len(runs) // 2]

    rows = [
        ("raw ceiling: aiokafka consume + decode/validate", count / raw_s, None),
        ("logic alone: + study stage in memory, per fetch", count / logic_s, None),
        ("naive Faust agent: a table write per event", count / naive_s, None),
        ("setupmon worker (median of 3 runs)", worker_rate, worker_bytes),
    ]
    print(f"\n{'what':52} {'events/s':>9} {'of raw':>7} {'changelog B/event':>18}")
    for name, rate, per_event in rows:
        bytes_text = "" if per_event is None else f"{per_event:,.0f}"
        print(f"{name:52} {rate:9,.0f} {rate * raw_s / count:7.1%} {bytes_text:>18}")

    print(f"\nstudies of N sites, about {SIZED_EVENTS} events each run:")
    print(f"{'sites per study':>16} {'events/s':>9} {'vs 5 sites':>10} {'changelog B/event':>18}")
    base = None
    for size in SIZES:
        rate, per_event = worker_run(f"sites{size}", sized_studies(size, SIZED_EVENTS))
        base = base or rate
        print(f"{size:16} {rate:9,.0f} {rate / base:10.2f} {per_event:18,.0f}")

    print()
    for rate in (250, 1000):
        p50, p99, sent = steady_latency(fresh_settings(f"latency{rate}"), rate=rate, seconds=15)
        print(f"event -> study-status at a steady {rate:,} events/s ({sent} events): p50 {p50:.0f} ms, p99 {p99:.0f} ms")

    metrics = fresh_settings("metrics")
    big = sized_studies(5, 6 * 5 * 200 + 4 * 200, site_pool=1000)  # 200 studies x 5 = 1,000 sites
    asyncio.run(produce(metrics, big))
    timings: list[float] = []

    def time_scrapes() -> None:
        time.sleep(1.0)  # the site agent follows the study agent
        for _ in range(20):
            started = time.perf_counter()
            scrape(metrics.metrics_port)
            timings.append(time.perf_counter() - started)

    timed_process(metrics, ["setupmon.cli", "worker"], len(big), then=time_scrapes)
    timings.sort()
    print(f"/metrics with 1,000 sites: median {timings[len(timings) // 2] * 1000:.0f} ms")

    held, per_clock, ready = restart_at_scale(fresh_settings("million"), MILLION, produce)
    print(
        f"{held:,} clocks in the tables: {per_clock:,.0f} resident bytes per clock; "
        f"restart to ready after SIGKILL {ready:.1f} s"
    )


if __name__ == "__main__":
    main()
