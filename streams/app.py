"""The Faust app: wires the study and site stages to topics, tables, timers and web views.

Data flow (all keyed, all on the same partition count, so partition N of every topic and
table lives on the same worker):

    setup.milestones ──┐                       ┌─> setup.alerts
    internal.study-ticks ─> study agent ─ studies table ─┼─> setup.study-status (+ sponsor mirrors)
                                               │    └─> setup.milestones.dlq
                                               └─> internal.site-clocks ─> site agent ─ site table
                                                                             └─> setup.site-kpis
    setup.sites ─> site registry in every worker (regions, contacts), like a global table

The rules live in Faust-free modules beside this one, and this module connects them to
Faust: the agents hand their events in batches (streams/batches.py) to the study and site
batch handlers (streams/study_batches.py, streams/site_batches.py), which write a batch's
states with their outbox before its alerts are sent and wait for the broker before the
batch's events are acknowledged, so Faust commits no offset whose work could be lost and no
decided alert is forgotten. A timer sends each owned partition its day ticks
(streams/day_ticks.py), which re-evaluate the studies due, so open clocks cross their
at-risk point and limit with no new event; /healthz answers from streams/health.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

import faust
from faust.types import TP
from prometheus_client import CollectorRegistry

from broker.client import client_options, ensure_topics, ssl_context
from broker.publisher import Publisher
from broker.range_reader import RangeReader
from broker.site_registry import SiteRegistry
from broker.topics import TopicNames
from core.settings import Settings
from core.time import Calendar
from streams.batches import MAX_BATCH, in_batches
from streams.day_ticks import DayTicks
from streams.faust_context import on_partition_of
from streams.health import Health
from streams.metrics import SetupmonMetrics
from streams.progress import Progress
from streams.site_batches import SiteBatches
from streams.site_stage import SiteStage
from streams.stalls import StallWatch
from streams.study_batches import StudyBatches
from streams.study_stage import StudyStage
from streams.table_writes import TableWrites
from streams.waiting import patiently

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"
LAG_TOLERANCE = 20  # messages behind the high water that still count as caught up
STALL_SECONDS = 120.0  # a partition with waiting work that has not moved for this long
# RocksDB per table partition. Faust's defaults (64 MiB write buffers, up to 3 of them, a
# 2 GiB block cache) let 12 local stores hold over a gigabyte of memtables; the worker keeps
# what it reads decoded in memory, so small buffers and cache cost little speed.
TABLE_STORE_OPTIONS = {
    "write_buffer_size": 8 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 * 1024 * 1024,
}


def broker_credentials(settings: Settings) -> Any:
    context = ssl_context(settings)
    if settings.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            ssl_context=context,
            mechanism=settings.sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


class SetupmonWorker:
    """One worker process: a Faust app and the stages it runs."""

    def __init__(
        self,
        settings: Settings,
        calendar: Calendar,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.calendar = calendar
        self.topics = TopicNames.from_settings(settings)
        self.registry = registry or CollectorRegistry()
        self.metrics = SetupmonMetrics.create(self.registry)
        self.site_registry = SiteRegistry(settings, self.topics.sites)
        self.study_stage = StudyStage(
            self.topics,
            self.metrics,
            self.site_registry.region_of,
            alert_horizon_days=settings.alert_horizon_days,
        )
        self.site_stage = SiteStage(self.topics, self.metrics, self.site_registry.region_of)
        self.day_ticks = DayTicks(self.topics, LAG_TOLERANCE)
        self.progress = Progress(self._committed_offset)
        self.range_reader = RangeReader(client_options(settings))
        self.stall_watch = StallWatch(STALL_SECONDS, LAG_TOLERANCE)
        self.publisher = Publisher(client_options(settings))
        self.app = self._build_app()
        self.study_batches = StudyBatches(
            topics=self.topics,
            stage=self.study_stage,
            calendar=calendar,
            table=self.studies,
            publisher=self.publisher,
            ticks=self.day_ticks.study,
            progress=self.progress,
            # its producer retries a new partition without a leader (broker/client.py)
            ensure_topic=lambda spec: ensure_topics(settings, [spec], wait_for_leaders=False),
            table_writes=lambda: TableWrites(self.studies, self.publisher),
            enter=on_partition_of,
            read_range=self.range_reader.read,
        )
        self.site_batches = SiteBatches(
            stage=self.site_stage,
            calendar=calendar,
            table=self.site_table,
            publisher=self.publisher,
            table_writes=lambda: TableWrites(self.site_table, self.publisher),
            enter=on_partition_of,
            read_range=self.range_reader.read,
        )

    # -- app ----------------------------------------------------------------------------

    def _build_app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.app_id,
            broker=[f"kafka://{server.strip()}" for server in s.bootstrap_servers.split(",")],
            broker_credentials=broker_credentials(s),
            store="rocksdb://",
            datadir=str(s.data_dir),
            topic_partitions=s.partitions,
            topic_replication_factor=s.replication_factor,
            processing_guarantee="at_least_once",
            table_standby_replicas=0,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            # A killed worker's partitions move after this, not after Faust's default 60 s.
            broker_session_timeout=s.session_timeout_seconds,
            broker_heartbeat_interval=max(1.0, s.session_timeout_seconds / 5),
            web_enabled=True,
            web_bind=s.metrics_host,
            web_host=s.metrics_host,
            web_port=s.metrics_port,
            web_in_thread=False,
            key_serializer="raw",
            value_serializer="raw",
            # fetch in larger batches: the study agent takes what is ready as one batch
            broker_max_poll_records=MAX_BATCH,
            stream_buffer_maxsize=4 * MAX_BATCH,
        )
        # Bytes in, bytes out: core/codec.py owns JSON and Faust decodes nothing. (A
        # faust.Schema on both a topic and a table made Faust 0.15 decode keys as JSON.)
        raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        study_input = app.topic(self.topics.milestones, self.topics.study_ticks, **raw)
        site_input = app.topic(self.topics.site_clocks, **raw)

        store = {"options": dict(TABLE_STORE_OPTIONS)}
        self.studies = app.Table("studies", partitions=s.partitions, **raw, **store)
        self.site_table = app.Table("site-clocks", partitions=s.partitions, **raw, **store)
        app.task(self.site_registry.run)

        app.agent(study_input, name="studies")(self._study_agent)
        app.agent(site_input, name="sites")(self._site_agent)
        app.timer(s.tick_seconds, name="day-ticker", on_leader=False)(self._tick)
        # Faust views are classes; a plain function becomes their `get(view, request)`.
        app.page("/metrics")(lambda view, request: self._metrics_page(view))
        app.page("/healthz")(lambda view, request: self._health_page(view))
        app.on_before_shutdown.connect(self._on_shutdown)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)
        return app

    # -- agents ---------------------------------------------------------------------------

    async def _study_agent(self, stream: faust.StreamT) -> None:
        await in_batches(stream, self.study_batches.handle, on_error=self.study_batches.forget)

    async def _site_agent(self, stream: faust.StreamT) -> None:
        await in_batches(stream, self.site_batches.handle, on_error=self.site_batches.forget)

    # -- time ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        """Send a day tick to every owned partition that is due one (streams/day_ticks.py)."""
        today = self.calendar.today()
        milestones = self.topics.milestones
        owned = [
            tp
            for tp in self.app.assignor.assigned_actives()
            if tp.topic in (milestones, self.topics.site_clocks)
        ]
        lags = {tp.partition: await self._lag(tp) for tp in owned if tp.topic == milestones}
        due = self.day_ticks.due(
            today,
            [(tp.topic, tp.partition) for tp in owned],
            lags=lags,
            behind=self.study_batches.tick_due,
            processed=self.progress.processed,
            now=time.monotonic(),
        )
        pending = [
            await self.app.producer.send(topic, None, value, partition, None, None)
            for topic, partition, value in due
        ]
        if pending:
            await patiently(asyncio.gather(*pending), "acknowledgements of alerts")
            log.info("sent %d day ticks for %s", len(pending), today)
        if self.stall_watch.observe(lags, self.progress.next_offsets, time.monotonic()):
            stalled = sorted(self.stall_watch.stalled)
            log.error("milestones partitions not progressing: %s", stalled or "none")

    def _committed_offset(self, partition: int) -> int | None:
        return self.app.consumer._committed_offset.get(TP(self.topics.milestones, partition))

    async def _lag(self, tp: Any) -> int:
        """Messages on a milestones partition not processed yet (also exported)."""
        lag = self.progress.lag(tp.partition, self.app.consumer.highwater(tp))
        if lag is None:
            return 0
        self.metrics.consumer_lag.labels(str(tp.partition)).set(lag)
        return lag

    def _on_assigned(self, sender: Any, assigned: Iterable[Any], **kwargs: Any) -> None:
        # New partitions must be swept (it rebuilds their gauges), so forget what was ticked.
        log.info("assigned %d partitions", len(list(assigned)))
        self.day_ticks.reset()
        self.study_batches.cache.index.clear()
        self.site_batches.cache.index.clear()
        self.stall_watch.forget()

    def _on_revoked(self, sender: Any, revoked: Iterable[Any], **kwargs: Any) -> None:
        self.study_batches.cache.index.clear()
        self.site_batches.cache.index.clear()
        for tp in revoked:
            if tp.topic == self.topics.milestones:
                self.study_batches.forget_partition(tp.partition)
                self.progress.forget(tp.partition)
                self.stall_watch.forget(tp.partition)
                try:
                    self.metrics.consumer_lag.remove(str(tp.partition))
                except KeyError:
                    pass  # never measured
            elif tp.topic == self.topics.site_clocks:
                self.site_batches.forget_partition(tp.partition)

    async def _on_shutdown(self, sender: Any, **kwargs: Any) -> None:
        await self.publisher.stop()
        await self.range_reader.stop()

    # -- web ----------------------------------------------------------------------------

    async def _metrics_page(self, view: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway
        return view.bytes(self.metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

    async def _health_page(self, view: Any) -> Any:
        health = Health(
            tables_recovered=self.app.tables.recovery.completed.is_set(),
            sites_loaded=self.site_registry.caught_up.is_set(),
            rebalancing=bool(self.app.rebalancing),
            stalled=self.stall_watch.stalled,
        )
        return view.json(health.body(), status=health.http_status)
