"""Latency from publishing a milestone event to the study-status message that shows it.

A worker holds 1,000 studies with HRA approval; the bench then publishes `site_selected` for a
new site of one of them `rate` times a second, so at 1,000 events/s each study gains a site a
second and ends a 15-second run with 15 ("a handful to tens of UK sites" a study,
../shared/DOMAIN.md). Each new site changes its study's clocks, so a status follows; its latency is the status record's timestamp (set by the worker's producer)
minus the moment the event was sent, both read from this machine's clock.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.backlogs import DAY, site_code
from bench.process import start, stop, wait_counted
from broker.client import client_options
from broker.topics import TopicNames
from core.codec import dumps, loads
from core.settings import Settings

STUDIES = 1000


def event(study: int, milestone: str, site: str | None = None, **extra: Any) -> tuple[bytes, bytes]:
    study_id = f"CPMS-{80000 + study}"
    body: dict[str, Any] = {
        "event_id": f"{study_id}-{milestone}-{site or '-'}",
        "study_id": study_id,
        "milestone": milestone,
        "date": DAY.isoformat(),
        "recorded_at": f"{DAY.isoformat()}T09:00:00+00:00",
        "source": "bench",
        **extra,
    }
    if site:
        body["site_id"] = site
    return study_id.encode(), dumps(body)


def steady_latency(settings: Settings, *, rate: int, seconds: float) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, events sent) at a steady `rate` events/s for `seconds`."""
    topics = TopicNames.from_settings(settings)
    setup = [event(n, "study_registered", attributes={"sponsor_id": "bench"}) for n in range(STUDIES)]
    setup += [event(n, "hra_approved") for n in range(STUDIES)]
    process = start(settings, ["setupmon.cli", "worker"])
    try:
        asyncio.run(_send_all(settings, topics.milestones, setup))
        wait_counted(process, settings.metrics_port, len(setup))
        return asyncio.run(_measure(settings, topics, rate, seconds))
    finally:
        stop(process)


async def _send_all(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def _measure(
    settings: Settings, topics: TopicNames, rate: int, seconds: float
) -> tuple[float, float, int]:
    statuses: list[tuple[bytes, int, set[str]]] = []
    consumer = AIOKafkaConsumer(
        topics.study_status, **client_options(settings), auto_offset_reset="latest"
    )
    await consumer.start()
    await asyncio.sleep(1.0)  # assigned and positioned at the end before the first event

    async def collect() -> None:
        async for record in consumer:
            sites = set(loads(record.value)["sites"]) if record.value else set()
            statuses.append((record.key or b"", record.timestamp, sites))

    reader = asyncio.create_task(collect())
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    sent: dict[tuple[bytes, str], float] = {}
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    started = time.monotonic()
    try:
        number = 0
        while time.monotonic() - started < seconds:
            for _ in range(per_tick):
                # each study gains a new site; the sites' studies spread over 1,000 sites
                study, round_ = number % STUDIES, number // STUDIES
                site = site_code((7 * round_ + study) % 1000)
                key, value = event(study, "site_selected", site)
                sent[(key, site)] = time.time() * 1000
                await producer.send(topics.milestones, value, key=key)
                number += 1
            next_tick = started + tick * (number // per_tick)
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        await producer.flush()
        await asyncio.sleep(5.0)  # let the worker catch up and publish
    finally:
        await producer.stop()
        reader.cancel()
        await consumer.stop()
    latencies = []
    first_seen: dict[tuple[bytes, str], float] = {}
    for key, timestamp, sites in statuses:
        for site in sites:
            first_seen.setdefault((key, site), timestamp)
    for pair, at in sent.items():
        if pair in first_seen:
            latencies.append(first_seen[pair] - at)
    latencies.sort()
    if not latencies:
        raise SystemExit("no study-status message followed the events")
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)], len(sent)
