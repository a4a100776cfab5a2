"""A naive Faust agent running setupmon's study logic: the baseline `make bench` compares with.

One event at a time, as a first Faust app would be written: read the study's state from the
table (JSON), apply the event and evaluate, send every output and wait for each, write the
whole state back (one table write and changelog record per event). It counts events on
`/metrics` like the worker, so the bench times both the same way.

    python -m bench.naive_agent   # settings from SETUPMON_* like `setupmon worker`
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
from prometheus_client import CollectorRegistry, generate_latest

from bench.backlogs import DAY
from broker.messages import Incoming
from broker.topics import TopicNames
from core.codec import loads
from core.settings import Settings
from streams.metrics import SetupmonMetrics
from streams.study_stage import StudyStage
from studies.state import StudyState


def build(settings: Settings) -> faust.App:
    topics = TopicNames.from_settings(settings)
    registry = CollectorRegistry()
    stage = StudyStage(
        topics, SetupmonMetrics.create(registry), lambda _: "x", alert_horizon_days=100_000
    )
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="rocksdb://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        topic_disable_leader=True,
        web_bind=settings.metrics_host,
        web_host=settings.metrics_host,
        web_port=settings.metrics_port,
        key_serializer="raw",
        value_serializer="raw",
    )
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
    table = app.Table("studies", partitions=settings.partitions, **raw)

    @app.agent(app.topic(topics.milestones, **raw))
    async def studies(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            incoming = Incoming(
                message.key, message.value, message.topic, message.partition, message.offset
            )

            def load(study_id: str) -> StudyState | None:
                stored = table.get(study_id.encode())
                return None if stored is None else StudyState.from_json(loads(stored))

            result = stage.ingest([incoming], load, as_of=DAY, now=datetime.now(UTC))
            for out in result.outputs:
                await app.producer.send_and_wait(out.topic, out.key, out.value, out.partition, None, None)  # fmt: skip
            for study_id, state in result.states.items():
                table[study_id.encode()] = state.encoded()

    @app.page("/metrics")
    async def metrics(view: Any, request: Any) -> Any:
        return view.bytes(generate_latest(registry), content_type="text/plain; version=0.0.4")

    return app


def main() -> None:
    runner = faust.Worker(build(Settings.from_env()), loglevel="warning", quiet=True)
    runner.spinner = None  # see streams/worker.py
    runner.execute_from_commandline()


if __name__ == "__main__":
    main()
