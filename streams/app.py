"""The Faust app: wires the study and site stages to topics, tables, timers and web views.

Data flow (all keyed, all on the same partition count, so partition N of every topic and
table lives on the same worker):

    setup.milestones ──┐                       ┌─> setup.alerts
    internal.study-ticks ─> study agent ─ studies table ─┼─> setup.study-status (+ sponsor mirrors)
                                               │    └─> setup.milestones.dlq
                                               └─> internal.site-clocks ─> site agent ─ site table
                                                                             └─> setup.site-kpis
    setup.sites ─> site registry in every worker (regions, contacts), like a global table

Both agents take what their partitions have ready as one batch (up to MAX_BATCH events).
A batch's states are written with their outbox (the alerts they decided) before the alerts
are sent, and everything is acknowledged by the broker before the batch's events are, so
Faust commits no offset whose work could be lost and no decided alert is forgotten
(at-least-once, idempotent outputs; see `_publish_studies`). A timer sends a day tick to each owned partition when the
UK day changes, after a rebalance and after late data (streams/ticks.py); a tick re-evaluates
the studies due, so open clocks cross their at-risk point and limit with no new event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from typing import Any

import faust
from faust.types import TP
from prometheus_client import CollectorRegistry

from broker.client import client_options, ensure_topics, ssl_context
from broker.messages import Incoming, Outgoing
from broker.partitions import partition_for
from broker.publisher import Publisher, delivered
from broker.site_registry import SiteRegistry
from broker.topics import TopicNames
from core.codec import dumps, loads
from core.settings import Settings
from core.time import Calendar
from streams.faust_context import on_partition_of
from streams.metrics import SetupmonMetrics
from streams.outbox import Outboxes
from streams.site_stage import SiteClocks, SiteStage, encoded_site, table_value
from streams.stalls import StallWatch
from streams.study_stage import StageResult, StudyStage
from streams.table_writes import TableWrites
from streams.ticks import StudyTicks
from studies.state import StudyState

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"
LAG_TOLERANCE = 20  # messages behind the high water that still count as caught up
MAX_BATCH = 5000  # events an agent's batch takes at most
LINGER_BELOW = 200  # a batch smaller than this waits once, LINGER_SECONDS, for more events
LINGER_SECONDS = 0.002
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


async def in_batches(
    stream: faust.StreamT,
    handle: Callable[[list[Any]], Awaitable[None]],
    *,
    on_error: Callable[[], None],
) -> None:
    """Hand an agent's events to `handle` in batches: what the partitions have ready, up to
    MAX_BATCH. Events are acknowledged (so Faust may commit their offsets) only once their
    batch is handled; `on_error` drops what the failed batch may have left half done."""
    manual = stream.noack()
    ready = manual.channel.queue
    batch: list[Any] = []
    lingered = False
    async for event in manual.events():
        batch.append(event)
        if ready.empty() and len(batch) < LINGER_BELOW and not lingered:
            # A small batch waits once for the fetcher to deliver more, so a busy stream
            # pays the per-batch round trips for many events; it adds at most 2 ms.
            lingered = True
            await asyncio.sleep(LINGER_SECONDS)
        if len(batch) < MAX_BATCH and not ready.empty():
            continue
        try:
            await handle(batch)
        except BaseException:
            on_error()
            raise
        for done in batch:
            await manual.ack(done)
        batch = []
        lingered = False


async def patiently(waiting: Awaitable[Any], what: str, every: float = 10.0) -> Any:
    """Await, logging a warning every `every` seconds it takes: a broker that does not
    acknowledge shows in the log before the stall check marks the worker unhealthy."""
    task = asyncio.ensure_future(waiting)
    started = time.monotonic()
    while True:
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return task.result()
        log.warning("still waiting for %s after %.0f s", what, time.monotonic() - started)


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
        self._ticked: dict[int, date] = {}  # site-clocks partition -> day of its last tick
        self._next_offset: dict[int, int] = {}  # per milestones partition, after processing
        self.study_ticks = StudyTicks(LAG_TOLERANCE)
        # milestones partition -> (offset processed, monotonic time it last moved)
        self.stall_watch = StallWatch(STALL_SECONDS, LAG_TOLERANCE)
        # (table name, partition) -> keys held locally, so a tick reads only its partition
        self._key_index: dict[tuple[str, int], set[bytes]] = {}
        self._sponsor_topics: set[str] = set()
        # decoded study states of owned partitions (partition -> study -> state), and the
        # partitions whose every study has been read from the table since the assignment
        self._studies: dict[int, dict[str, StudyState]] = {}
        self._loaded: set[int] = set()
        self._event_of: dict[int, Any] = {}  # partition -> an event of it in the current batch
        self._sites: dict[int, dict[str, SiteClocks]] = {}  # site table values, read once
        # alerts kept with their studies' states until acknowledged (streams/outbox.py)
        self.outboxes = Outboxes(self.topics.alerts, settings.partitions)
        self.publisher = Publisher(client_options(settings))
        self.app = self._build_app()

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

    # -- study agent --------------------------------------------------------------------

    async def _study_agent(self, stream: faust.StreamT) -> None:
        await in_batches(stream, self._study_batch, on_error=self._forget_cached_studies)

    def _forget_cached_studies(self) -> None:
        # The cached states may hold what was not acknowledged: read them again (with the
        # outboxes they were written with).
        self._studies.clear()
        self._loaded.clear()
        self.outboxes.forget()

    async def _study_batch(self, batch: list[Any]) -> None:
        milestones = [e for e in batch if e.message.topic != self.topics.study_ticks]
        last_of: dict[int, Any] = {}  # partition -> its last event in the batch
        for event in batch:
            last_of[event.message.partition] = event
        self._event_of = last_of  # table reads of a partition go through one of its events
        if milestones:
            incoming = [
                Incoming(m.key, m.value, m.topic, m.partition, m.offset)
                for m in (e.message for e in milestones)
            ]
            result = self.study_stage.ingest(
                incoming, self._cached_study, as_of=self.calendar.today(), now=self.calendar.now()
            )
            await self._publish_studies(result, last_of)
            for event in milestones:
                self._next_offset[event.message.partition] = event.message.offset + 1
        for event in batch:
            if event.message.topic == self.topics.study_ticks:
                tick = loads(event.message.value)
                day = date.fromisoformat(tick["as_of"])
                self.study_ticks.received(event.message.partition, day, int(tick.get("through", 0)))
        for partition, event in last_of.items():
            sweep_day = self.study_ticks.ready(partition, self._processed(partition))
            if sweep_day is not None:
                await self._sweep_studies(partition, sweep_day, event)

    async def _sweep_studies(self, partition: int, as_of: date, event: Any) -> None:
        """A day tick: every study of the partition the first time after an assignment (it
        rebuilds the wake index and gauges), then only the studies due."""
        everything = partition not in self._loaded
        with on_partition_of(event):
            studies = self._partition_studies(partition)
        if everything:
            states = list(studies.values())
        else:
            due = self.study_stage.due_studies(partition, as_of)
            states = [studies[study_id] for study_id in due if study_id in studies]
        result = self.study_stage.sweep(
            states,
            partition=partition,
            as_of=as_of,
            now=self.calendar.now(),
            everything=everything,
        )
        log.info(
            "day tick %s on partition %d: %d studies re-evaluated", as_of, partition, len(states)
        )
        await self._publish_studies(result, {partition: event}, tick=True)

    def _cached_study(self, study_id: str) -> StudyState | None:
        """A study's state: decoded once from the table, then kept in memory."""
        partition = partition_for(study_id.encode(), self.settings.partitions)
        cache = self._studies.setdefault(partition, {})
        state = cache.get(study_id)
        if state is None:
            # Faust reads a table from the partition of the current event (see
            # streams/faust_context.py): make it one of this study's partition.
            with on_partition_of(self._event_of[partition]):
                raw = self.studies.get(study_id.encode())
            if raw is not None:
                state = cache[study_id] = self._read_entry(study_id, loads(raw))
        return state

    def _read_entry(self, study_id: str, entry: dict[str, Any]) -> StudyState:
        """A study's state from its table entry (its outbox goes out with the next batch)."""
        self.outboxes.read(study_id, entry)
        return StudyState.from_json(entry["state"])

    def _partition_studies(self, partition: int) -> dict[str, StudyState]:
        """Every study of an owned partition, read from the table once per assignment."""
        if partition not in self._loaded:
            cache = self._studies.setdefault(partition, {})
            for key, entry in self._entries(self.studies, partition):
                if key.decode() not in cache:  # a cached state may be newer than the table
                    cache[key.decode()] = self._read_entry(key.decode(), entry)
            self._loaded.add(partition)
        return self._studies[partition]

    async def _publish_studies(
        self, result: StageResult, event_of: dict[int, Any], *, tick: bool = False
    ) -> None:
        """Send a batch's (or a tick's) outputs and write back its states, in the order that
        keeps a crash at any point from losing or contradicting an alert:

        1. what can be derived again (status, site clocks) and what the input alone decides
           (dead letters, re-keyed events) is sent at once;
        2. each touched study's state is written with its outbox, the alerts it decided that
           the broker has not acknowledged, and the worker waits for the changelog;
        3. the alerts are sent; then the worker waits for every output.

        The caller acknowledges the input only after this. A crash before 2 re-runs the batch
        from the table's last state; after 2, the state read back re-sends its outbox (the
        same alert IDs, which the notifier delivers once), so an alert once decided is never
        forgotten, even where a re-run would batch the events differently.
        """
        await self._ensure_sponsor_topics(result.outputs)
        alerts_topic = self.topics.alerts
        sent = await self.publisher.send(o for o in result.outputs if o.topic != alerts_topic)
        self.outboxes.add(result.alerts)
        await self._store_studies(result, event_of, tick=tick)
        sent += await self.publisher.send(self.outboxes.pending())
        await patiently(delivered(sent), "acknowledgements of outputs")
        self.outboxes.acknowledged()

    async def _store_studies(
        self, result: StageResult, event_of: dict[int, Any], *, tick: bool = False
    ) -> None:
        """Write back the states a batch (or a tick) touched, each on its partition and with
        its outbox, and wait until the broker has them. A tick also writes the partition's
        studies whose written outbox has been acknowledged since, without it."""
        writes = TableWrites(self.studies, self.publisher)
        states = [(study, result.partitions[study], state) for study, state in result.states.items()]
        if tick:
            for partition in event_of:
                again = self.outboxes.to_rewrite(partition, result.states)
                cached = self._studies.get(partition, {})
                states += [(study, partition, cached[study]) for study in again if study in cached]
                self.outboxes.written(again)  # a study no longer held needs no rewrite
        for study_id, partition, state in states:
            self._studies.setdefault(partition, {})[study_id] = state
            with on_partition_of(event_of[partition]):
                entry = self.outboxes.entry(study_id, partition, state.encoded())
                writes.put(partition, study_id.encode(), entry)
            self._index(self.studies, partition, study_id.encode())
        self.outboxes.written(study_id for study_id, _, _ in states)
        await patiently(writes.flushed(), "acknowledgements of study states")

    # -- site agent ---------------------------------------------------------------------

    async def _site_agent(self, stream: faust.StreamT) -> None:
        await in_batches(stream, self._site_batch, on_error=lambda: self._sites.clear())

    async def _site_batch(self, batch: list[Any]) -> None:
        """Fold each site's study clocks once per batch and publish each site once; a tick
        re-publishes every site of its partition (their windows move with the day)."""
        ticks: dict[int, tuple[date, Any]] = {}
        changes: dict[str, list[dict[str, Any]]] = {}  # site -> its messages, in order
        event_of: dict[str, Any] = {}  # site -> one of its events (its partition)
        for event in batch:
            message = loads(event.message.value)
            if "tick" in message:
                ticks[event.message.partition] = (date.fromisoformat(message["tick"]), event)
            else:
                site_id = str(message["site_id"])
                changes.setdefault(site_id, []).append(message)
                event_of[site_id] = event
        today = self.calendar.today()
        outputs = []
        writes = TableWrites(self.site_table, self.publisher)
        for site_id, messages in changes.items():
            event = event_of[site_id]
            partition = event.message.partition
            with on_partition_of(event):
                clocks = self._load_site(site_id, partition)
                for message in messages:
                    clocks = self.site_stage.update(clocks, message)
                self._sites[partition][site_id] = clocks
                writes.put(partition, site_id.encode(), table_value(partition, clocks))
            self._index(self.site_table, partition, site_id.encode())
            if partition not in ticks:
                outputs.append(
                    self.site_stage.publish(site_id, clocks, partition=partition, as_of=today)
                )
        for partition, (as_of, event) in ticks.items():
            with on_partition_of(event):
                sites = [
                    (site_id, self._load_site(site_id, partition))
                    for site_id in self._keys(self.site_table, partition)
                ]
            outputs += [
                self.site_stage.publish(site_id, clocks, partition=partition, as_of=as_of)
                for site_id, clocks in sites
            ]
            log.info("site tick %s on partition %d: %d sites", as_of, partition, len(sites))
        # Site KPIs are derived again on every change and tick, but are waited for (with the
        # table) so that the offsets Faust commits never run ahead of what was published.
        sent = await self.publisher.send(outputs)
        await patiently(writes.flushed(), "acknowledgements of site clocks")
        await patiently(delivered(sent), "acknowledgements of site KPIs")

    def _index(self, table: Any, partition: int, key: bytes) -> None:
        keys = self._key_index.get((table.name, partition))
        if keys is not None:
            keys.add(key)

    def _keys(self, table: Any, partition: int) -> list[str]:
        """The keys of one partition of a table, sorted, through the key index."""
        keys = self._key_index.get((table.name, partition))
        if keys is None:
            # First tick of this partition since an assignment. The agent reads a partition
            # only once it is recovered, so one scan now sees all of it.
            keys = self._key_index[(table.name, partition)] = {
                key for key, raw in table.items() if loads(raw)["partition"] == partition
            }
        return sorted(key.decode() for key in keys)

    def _entries(self, table: Any, partition: int) -> list[tuple[bytes, dict[str, Any]]]:
        """The decoded entries of one partition of a table, through the key index."""
        entries = []
        for key in (key.encode() for key in self._keys(table, partition)):
            raw = table.get(key)
            if raw is not None:
                entries.append((key, loads(raw)))
        return entries

    def _load_site(self, site_id: str, partition: int) -> SiteClocks:
        """A site's clocks across studies: read once from the table, then kept."""
        cache = self._sites.setdefault(partition, {})
        site = cache.get(site_id)
        if site is None:
            raw = self.site_table.get(site_id.encode())
            site = cache[site_id] = {} if raw is None else encoded_site(loads(raw)["clocks"])
        return site

    # -- time ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        """Send a day tick to every owned partition that is due one (streams/ticks.py says
        when for milestones partitions; site-clocks partitions once a UK day)."""
        today = self.calendar.today()
        pending = []
        owned = [
            tp
            for tp in self.app.assignor.assigned_actives()
            if tp.topic in (self.topics.milestones, self.topics.site_clocks)
        ]
        lags = {
            tp.partition: await self._lag(tp) for tp in owned if tp.topic == self.topics.milestones
        }
        for tp in owned:
            value: dict[str, object] = {"as_of": today.isoformat(), "tick": today.isoformat()}
            if tp.topic == self.topics.milestones:
                target = self.topics.study_ticks
                lag = lags[tp.partition]
                # due besides a new day: late data, or acknowledged alerts still in written
                # states (a tick writes them without, so a restart re-sends few)
                behind = self.study_stage.has_studies_behind(
                    tp.partition
                ) or self.outboxes.awaiting_rewrite(tp.partition)
                if not self.study_ticks.decide(tp.partition, today, lag=lag, behind=behind):
                    continue
                value["through"] = self._processed(tp.partition) + lag
            else:
                target = tp.topic
                if self._ticked.get(tp.partition) == today:
                    continue
                self._ticked[tp.partition] = today
            pending.append(
                await self.app.producer.send(target, None, dumps(value), tp.partition, None, None)
            )
        if pending:
            await patiently(asyncio.gather(*pending), "acknowledgements of alerts")
            log.info("sent %d day ticks for %s", len(pending), today)
        if self.stall_watch.observe(lags, self._next_offset, time.monotonic()):
            stalled = sorted(self.stall_watch.stalled)
            log.error("milestones partitions not progressing: %s", stalled or "none")

    def _processed(self, partition: int) -> int:
        """The next milestones offset this worker will process on the partition."""
        processed = self._next_offset.get(partition)
        if processed is None:
            # Nothing processed since the assignment: it starts from the committed offset.
            # (Faust's fetch position can be ahead of it, with messages not processed yet.)
            tp = TP(self.topics.milestones, partition)
            processed = self.app.consumer._committed_offset.get(tp) or 0
        return processed

    async def _lag(self, tp: Any) -> int:
        """Messages on a milestones partition not processed yet (also exported)."""
        highwater = self.app.consumer.highwater(tp)
        if highwater is None:
            return 0
        lag = max(0, int(highwater) - self._processed(tp.partition))
        self.metrics.consumer_lag.labels(str(tp.partition)).set(lag)
        return lag

    def _on_assigned(self, sender: Any, assigned: Iterable[Any], **kwargs: Any) -> None:
        # New partitions must be swept (it rebuilds their gauges), so forget what was ticked.
        log.info("assigned %d partitions", len(list(assigned)))
        self._ticked.clear()
        self._key_index.clear()
        self.stall_watch.forget()
        self.study_ticks.reset()

    def _on_revoked(self, sender: Any, revoked: Iterable[Any], **kwargs: Any) -> None:
        self._key_index.clear()
        for tp in revoked:
            if tp.topic == self.topics.milestones:
                self.study_stage.forget_partition(tp.partition)
                self._studies.pop(tp.partition, None)
                self._loaded.discard(tp.partition)
                # another worker may move it on: start again from its committed offset
                self._next_offset.pop(tp.partition, None)
                self.stall_watch.forget(tp.partition)
                try:
                    self.metrics.consumer_lag.remove(str(tp.partition))
                except KeyError:
                    pass  # never measured
                self.outboxes.forget_partition(tp.partition)
            elif tp.topic == self.topics.site_clocks:
                self.site_stage.forget_partition(tp.partition)
                self._sites.pop(tp.partition, None)

    # -- output -------------------------------------------------------------------------

    async def _ensure_sponsor_topics(self, outputs: list[Outgoing]) -> None:
        """A sponsor's status topic is created the first time one of its studies is seen."""
        for topic in {o.topic for o in outputs} - self._sponsor_topics:
            sponsor = self.topics.sponsor_of(topic)
            if sponsor is not None:
                await ensure_topics(self.settings, [self.topics.sponsor_spec(sponsor)])
                self._sponsor_topics.add(topic)

    async def _on_shutdown(self, sender: Any, **kwargs: Any) -> None:
        await self.publisher.stop()

    # -- web ----------------------------------------------------------------------------

    async def _metrics_page(self, view: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway
        return view.bytes(self.metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

    async def _health_page(self, view: Any) -> Any:
        recovered = self.app.tables.recovery.completed.is_set()
        sites_loaded = self.site_registry.caught_up.is_set()
        stalled = self.stall_watch.stalled
        ready = recovered and sites_loaded and not self.app.rebalancing and not stalled
        status = "stalled" if stalled else "ready" if ready else "recovering"
        body = {
            "status": status,
            "tables_recovered": recovered,
            "sites_loaded": sites_loaded,
            "stalled_partitions": sorted(stalled),
        }
        return view.json(body, status=200 if ready else 503)
