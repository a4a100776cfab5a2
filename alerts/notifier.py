"""`setupmon notify`: deliver alerts from `setup.alerts` to each site's contacts.

Each alert reaches each contact once, also across restarts: a compacted ledger topic
(`setup.alerts.deliveries`, key `kind|alert_id|channel|address`) records every delivery once
the contact has accepted it, and is read in full at start-up; input offsets are committed only
when nothing is waiting. A delivery that fails is retried with a doubling delay; after the
last attempt the alert goes to `setup.alerts.undeliverable` with the reason. Killed between a
contact accepting a message and the ledger write, the notifier sends that message again with
the same `delivery_id` (webhook `Idempotency-Key`, email `Message-ID`) for the receiver to drop.

Study-level alerts (no site) are not sent to sites: sponsors follow them on their status topic.
A breach still breached (per `setup.study-status`) `escalate_after_days` after it was raised is
sent once to its region's contacts.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from alerts.channels import Channels, DeliveryFailed
from alerts.notice import Notice, compose, delivery_key
from broker.client import client_options, ensure_topics
from broker.site_registry import SiteRegistry
from broker.topic_view import TopicView
from broker.topics import TopicNames
from core.codec import dumps, loads
from core.errors import ConfigError
from core.settings import Settings
from core.time import Calendar
from rules.decide import AlertId, AlertKind, ClockId

log = logging.getLogger(__name__)

RETRY_CAP_SECONDS = 300.0  # the longest wait between two delivery attempts

Contact = tuple[str, str]  # (channel, address)
ESCALATION_CHECK_SECONDS = 5.0
KIND_ORDER = {AlertKind.AT_RISK: 0, AlertKind.BREACHED: 1, AlertKind.CLEARED: 2}


def read_region_contacts(path: str) -> dict[str, list[Contact]]:
    if not path:
        return {}
    contacts: dict[str, list[Contact]] = defaultdict(list)
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                contacts[row["region"].strip()].append(
                    (row["channel"].strip(), row["address"].strip())
                )
    except (OSError, KeyError) as exc:
        raise ConfigError(
            f"SETUPMON_REGION_CONTACTS={path}: {exc!r} (columns: region,channel,address)"
        ) from exc
    return dict(contacts)


def latest_alert_per_clock(records: list[dict[str, object]]) -> list[dict[str, object]]:
    """The latest alert on record about each clock (delivered or not): the highest
    episode, then the kind that comes last in an episode (at_risk, breached, cleared)."""
    latest: dict[ClockId, tuple[tuple[int, int], dict[str, object]]] = {}
    for record in records:
        alert = record.get("alert")
        if not isinstance(alert, dict):
            continue
        alert_id = AlertId.parse(str(alert["alert_id"]))
        rank = (alert_id.episode, KIND_ORDER[alert_id.kind])
        if alert_id.clock not in latest or latest[alert_id.clock][0] < rank:
            latest[alert_id.clock] = (rank, alert)
    return [alert for _, alert in latest.values()]


class Notifier:
    def __init__(
        self, settings: Settings, calendar: Calendar, channels: Channels | None = None
    ) -> None:
        self.settings = settings
        self.calendar = calendar
        self.topics = TopicNames.from_settings(settings)
        self.channels = channels or Channels(settings)
        self.sites = SiteRegistry(settings, self.topics.sites)
        self.ledger = TopicView(settings, self.topics.deliveries)
        self.statuses = TopicView(settings, self.topics.study_status)
        self.region_contacts = read_region_contacts(settings.region_contacts)
        self.pending: dict[Contact, list[dict[str, object]]] = defaultdict(list)
        self.pending_since: float | None = None
        self._escalation_check = float("-inf")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        wanted = {self.topics.alerts, self.topics.undeliverable, self.topics.deliveries}
        await ensure_topics(self.settings, [s for s in self.topics.specs() if s.name in wanted])
        readers = [
            asyncio.create_task(view.run()) for view in (self.sites, self.ledger, self.statuses)
        ]
        await asyncio.gather(
            *(view.caught_up.wait() for view in (self.sites, self.ledger, self.statuses))
        )
        self.producer = AIOKafkaProducer(**client_options(self.settings), acks="all")
        consumer = AIOKafkaConsumer(
            self.topics.alerts,
            **client_options(self.settings),
            group_id=f"{self.settings.app_id}-notifier",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await self.producer.start()
        await consumer.start()
        log.warning(
            "notifier ready: %d sites, %d deliveries on record",
            len(self.sites.records),
            len(self.ledger.records),
        )
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=300)
                for records in batches.values():
                    for record in records:
                        if record.value is not None:
                            self.queue(loads(record.value))
                if self._digest_due():
                    await self.flush()
                if not self.pending:
                    await consumer.commit()
                await self.escalate()
        finally:
            await consumer.stop()
            await self.producer.stop()
            await self.channels.close()
            for task in readers:
                task.cancel()

    # -- queueing and delivery ----------------------------------------------------------

    def queue(self, alert: dict[str, object]) -> None:
        site_id = alert.get("site_id")
        if not site_id:
            return
        site = self.sites.records.get(str(site_id), {})
        contacts = site.get("contacts") or []
        assert isinstance(contacts, list)  # noqa: S101 - written by `sites load`
        for contact in contacts:
            key = (str(contact["channel"]), str(contact["address"]))
            if self._done("alert", alert, key):
                continue
            waiting = self.pending[key]
            if all(a["alert_id"] != alert["alert_id"] for a in waiting):
                waiting.append(alert)
                self.pending_since = self.pending_since or asyncio.get_running_loop().time()

    def _done(self, kind: str, alert: dict[str, object], contact: Contact) -> bool:
        return delivery_key(kind, str(alert["alert_id"]), *contact) in self.ledger.records

    def _digest_due(self) -> bool:
        if not self.pending:
            return False
        if self.settings.notify_digest_seconds <= 0 or self.pending_since is None:
            return True
        waited = asyncio.get_running_loop().time() - self.pending_since
        return waited >= self.settings.notify_digest_seconds

    async def flush(self) -> None:
        digest = self.settings.notify_digest_seconds > 0
        notices = []
        for (channel, address), alerts in self.pending.items():
            site = self.sites.records.get(str(alerts[0]["site_id"]))
            groups = [alerts] if digest else [[alert] for alert in alerts]
            notices += [compose(channel, address, group, site) for group in groups]
        await asyncio.gather(*(self.deliver(notice) for notice in notices))
        self.pending.clear()
        self.pending_since = None

    async def deliver(self, notice: Notice) -> None:
        """Deliver one notice, retrying what may go through later: exponential backoff from
        SETUPMON_NOTIFY_BACKOFF_SECONDS with jitter (so notifiers that failed together do not
        retry together), each wait capped at RETRY_CAP_SECONDS (tenacity)."""
        backoff = self.settings.notify_backoff_seconds
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.notify_attempts),
            wait=wait_exponential_jitter(initial=backoff, max=RETRY_CAP_SECONDS, jitter=backoff),
            retry=retry_if_exception(lambda exc: isinstance(exc, DeliveryFailed) and exc.retriable),
            before_sleep=lambda state: log.warning(
                "delivery to %s failed (%s); retry %d in %.1fs",
                notice.address,
                state.outcome.exception() if state.outcome else "?",
                state.attempt_number,
                state.upcoming_sleep,
            ),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self.channels.deliver(notice)
        except DeliveryFailed as exc:
            await self._give_up(notice, str(exc), retrying.statistics["attempt_number"])
            return
        await self._record(notice, "delivered")

    async def _record(self, notice: Notice, status: str, reason: str = "") -> None:
        now = datetime.now(UTC).isoformat()
        sends = []
        for key, alert in zip(notice.delivery_keys, notice.alerts, strict=True):
            record: dict[str, object] = {
                "status": status,
                "at": now,
                "delivery_id": notice.delivery_id,
                "alert": alert,
            }
            if reason:
                record["reason"] = reason
            sends.append(
                await self.producer.send(self.topics.deliveries, dumps(record), key=key.encode())
            )
            self.ledger.records[key] = record
        await asyncio.gather(*sends)

    async def _give_up(self, notice: Notice, reason: str, attempts: int) -> None:
        log.error("undeliverable to %s after %d attempts: %s", notice.address, attempts, reason)
        for alert in notice.alerts:
            record = {
                "alert": alert,
                "channel": notice.channel,
                "address": notice.address,
                "reason": reason,
                "attempts": attempts,
                "at": datetime.now(UTC).isoformat(),
            }
            key = str(alert.get("site_id") or alert["study_id"]).encode()
            await self.producer.send_and_wait(self.topics.undeliverable, dumps(record), key=key)
        await self._record(notice, "undeliverable", reason)

    # -- escalation ---------------------------------------------------------------------

    async def escalate(self) -> None:
        """Send each breach still breached after the limit to its region's contacts, once.

        Only a clock's latest breach counts: after a `cleared` and a new breach (the next
        episode), the escalation waits for the new breach's own limit.
        """
        now = asyncio.get_running_loop().time()
        if not self.region_contacts or now - self._escalation_check < ESCALATION_CHECK_SECONDS:
            return
        self._escalation_check = now
        today = self.calendar.today()
        due: dict[Contact, list[dict[str, object]]] = defaultdict(list)
        for alert in latest_alert_per_clock(list(self.ledger.records.values())):
            if alert.get("kind") != "breached":
                continue
            raised = date.fromisoformat(str(alert["as_of"]))
            if (
                today - raised
            ).days < self.settings.escalate_after_days or not self._still_breached(alert):
                continue
            region = self.sites.region_of(str(alert["site_id"]))
            for contact in self.region_contacts.get(region, []):
                if not self._done("escalation", alert, contact) and alert not in due[contact]:
                    due[contact].append(alert)
        for (channel, address), alerts in due.items():
            for alert in alerts:
                site = self.sites.records.get(str(alert["site_id"]))
                await self.deliver(compose(channel, address, [alert], site, kind="escalation"))

    def _still_breached(self, alert: dict[str, object]) -> bool:
        status = self.statuses.records.get(str(alert["study_id"]))
        clocks = status.get("clocks", []) if status else []
        assert isinstance(clocks, list)  # noqa: S101 - the study-status document
        return any(
            c["kpi"] == alert["kpi"]
            and c["site_id"] == alert["site_id"]
            and c["start_date"] == alert["start_date"]
            and c["state"] == "breached"
            for c in clocks
        )
