"""`make bench`: a worker's throughput against the raw ceiling, in the same run.

Measured on one backlog of simulated milestone events (every message entered on one day):
1. raw: a plain aiokafka consumer reading the topic and decoding + validating each message,
   the least any consumer of the contract must do;
2. stage: the same, plus setupmon's study stage in memory (no tables, no outputs sent);
3. setupmon: a real worker process (Faust agents, RocksDB tables, changelogs, every output),
   timed from its first processed event to its last.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from events.validation import validate_event
from setupmon.settings import Settings
from setupmon.simulator import entered_on, plan_events
from setupmon.sites import read_sites
from streams.kafka import client_options, ensure_topics
from streams.messages import Incoming
from streams.metrics import SetupmonMetrics
from streams.study_stage import StudyStage
from streams.topics import TopicNames

DAY = date(2025, 6, 1)
SITES = Path(__file__).resolve().parents[1] / "deploy" / "sites" / "sample-sites.csv"
STUDIES = int(os.environ.get("BENCH_STUDIES", "600"))


async def produce(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        for key, value in messages:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def consume(settings: Settings, topic: str, count: int, stage: StudyStage | None) -> float:
    consumer = AIOKafkaConsumer(
        **client_options(settings), enable_auto_commit=False, max_poll_records=2000
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    states: dict = {}
    seen = 0
    started = time.perf_counter()
    try:
        while seen < count:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    seen += 1
                    if stage is None:
                        validate_event(record.value)
                        continue
                    incoming = Incoming(
                        record.key, record.value, topic, tp.partition, record.offset
                    )
                    result = stage.ingest([incoming], states.get, as_of=DAY, now=datetime.now(UTC))
                    states.update(result.states)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def worker_seconds(settings: Settings, count: int, log: Path) -> tuple[float, float]:
    env = {
        **os.environ,
        **settings.describe(),
        "SETUPMON_CALENDAR": f"simulated:{DAY}@{time.time():.3f}x100000",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "setupmon.cli", "worker"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    first = None
    try:
        while True:
            done = events_counted(settings.metrics_port)
            if done and first is None:
                first = time.perf_counter()
            if done >= count:
                return time.perf_counter() - (first or started), time.perf_counter() - started
            if process.poll() is not None:
                raise SystemExit(f"worker exited; see {log}")
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(30)


def events_counted(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("trial_setup_events_total{")
    )


def main() -> None:
    unique = uuid.uuid4().hex[:8]
    settings = replace(
        Settings.from_env(),
        topic_prefix=f"bench-{unique}",
        app_id=f"bench-{unique}",
        data_dir=Path(f".data/bench-{unique}"),
        metrics_port=6091,
        partitions=6,
    )
    topics = TopicNames.from_settings(settings)
    asyncio.run(ensure_topics(settings, topics.specs()))
    site_ids = [site.site_id for site in read_sites(SITES)]
    planned = plan_events(
        site_ids, studies=STUDIES, first_day=DAY - timedelta(300), span_days=200, seed=11
    )
    messages = entered_on(planned, DAY)
    count = len(messages)
    print(
        f"backlog: {count} milestone messages ({STUDIES} studies, {len(site_ids)} sites), "
        f"{settings.partitions} partitions, one worker, {os.cpu_count()} cores"
    )
    produce_s = asyncio.run(produce(settings, topics.milestones, messages))
    raw_s = asyncio.run(consume(settings, topics.milestones, count, None))
    stage = StudyStage(
        topics,
        SetupmonMetrics.create(CollectorRegistry()),
        lambda _: "x",
        alert_horizon_days=100_000,
    )
    stage_s = asyncio.run(consume(settings, topics.milestones, count, stage))
    worker_s, with_start_s = worker_seconds(settings, count, Path(f".data/bench-{unique}.log"))
    rows = [
        ("produce (aiokafka, acks=all)", produce_s),
        ("raw ceiling: aiokafka consume + decode/validate", raw_s),
        ("+ study stage in memory (no tables, no outputs)", stage_s),
        ("setupmon worker (tables, changelogs, all outputs)", worker_s),
    ]
    print(f"{'what':52} {'seconds':>8} {'events/s':>10} {'of raw':>7}")
    for name, seconds in rows:
        print(f"{name:52} {seconds:8.2f} {count / seconds:10.0f} {raw_s / seconds:7.1%}")
    print(f"worker including its start-up and recovery: {with_start_s:.1f} s")


if __name__ == "__main__":
    main()
