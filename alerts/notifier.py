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
import logging
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from alerts.channels import Channels, DeliveryFailed
from alerts.ledger import (
    DeliveryKey,
    DeliveryLedger,
    NoticeKind,
    latest_alert_per_clock,
    ledger_entry,
)
from alerts.notice import Notice, compose
from alerts.region_contacts import read_region_contacts
from alerts.shutdown import CLIENT_STOP_SECONDS, within
from broker.client import client_options, ensure_topics
from broker.site_registry import UNKNOWN_REGION, SiteRegistry
from broker.topic_view import TopicView
from broker.topics import TopicNames
from core.codec import dumps, loads
from core.settings import Settings
from core.time import Calendar
from events.sites import Contact, Site
from rules.ids import AlertKind
from rules.record import AlertRecord

log = logging.getLogger(__name__)

RETRY_CAP_SECONDS = 300.0  # the longest wait between two delivery attempts

ESCALATION_CHECK_SECONDS = 5.0


class Notifier:
    def __init__(
        self, settings: Settings, calendar: Calendar, channels: Channels | None = None
    ) -> None:
        self.settings = settings
        self.calendar = calendar
        self.topics = TopicNames.from_settings(settings)
        self.channels = channels or Channels(settings)
        self.sites = SiteRegistry(settings, self.topics.sites)
        self.ledger = DeliveryLedger(settings, self.topics.deliveries)
        self.statuses = TopicView(settings, self.topics.study_status)
        self.region_contacts = read_region_contacts(settings.region_contacts)
        self.pending: dict[Contact, list[AlertRecord]] = defaultdict(list)
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
        uncommitted = False  # read since the last commit (a commit waits for a live broker)
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=300)
                for records in batches.values():
                    uncommitted = uncommitted or bool(records)
                    for record in records:
                        alert = self._read_alert(record.value)
                        if alert is not None:
                            self.queue(alert)
                if self._digest_due():
                    await self.flush()
                if uncommitted and not self.pending:
                    await consumer.commit()
                    uncommitted = False
                await self.escalate()
        finally:
            await within(consumer.stop(), CLIENT_STOP_SECONDS, "stopping the alert consumer")
            await within(self.producer.stop(), CLIENT_STOP_SECONDS, "stopping the producer")
            await self.channels.close()
            for task in readers:
                task.cancel()

    # -- queueing and delivery ----------------------------------------------------------

    @staticmethod
    def _read_alert(value: bytes | None) -> AlertRecord | None:
        """The alert a message holds; one that is not an alert is logged and passed over."""
        if value is None:
            return None
        try:
            return AlertRecord.from_json(loads(value))
        except ValueError as exc:  # orjson's JSONDecodeError is a ValueError too
            log.error("ignoring a message on setup.alerts that is not an alert: %s", exc)
            return None

    def _site(self, site_id: str | None) -> Site | None:
        """The registry's site, or None: no site (a study clock), unknown, or unreadable."""
        record = self.sites.records.get(site_id) if site_id else None
        if record is None:
            return None
        try:
            return Site.from_json(record)
        except ValueError as exc:
            log.warning("ignoring the unreadable registry record of site %s: %s", site_id, exc)
            return None

    def queue(self, alert: AlertRecord) -> None:
        # Study-level alerts have no site: sponsors follow them on their status topic.
        site = self._site(alert.site_id)
        for contact in site.contacts if site else ():
            if self._done(NoticeKind.ALERT, alert, contact):
                continue
            waiting = self.pending[contact]
            if all(a.id != alert.id for a in waiting):
                waiting.append(alert)
                self.pending_since = self.pending_since or asyncio.get_running_loop().time()

    def _done(self, kind: NoticeKind, alert: AlertRecord, contact: Contact) -> bool:
        return self.ledger.has(DeliveryKey(kind, alert.id, contact))

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
        for contact, alerts in self.pending.items():
            site = self._site(alerts[0].site_id)
            groups = [alerts] if digest else [[alert] for alert in alerts]
            notices += [compose(contact, group, site) for group in groups]
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
                notice.contact.address,
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
        now = self.calendar.now()
        sends = []
        for key, alert in zip(notice.delivery_keys, notice.alerts, strict=True):
            entry = ledger_entry(status, now, notice.delivery_id, alert, reason)
            text = key.format()
            sends.append(
                await self.producer.send(self.topics.deliveries, dumps(entry), key=text.encode())
            )
            self.ledger.put(key, entry, alert)
        await asyncio.gather(*sends)

    async def _give_up(self, notice: Notice, reason: str, attempts: int) -> None:
        address = notice.contact.address
        log.error("undeliverable to %s after %d attempts: %s", address, attempts, reason)
        for alert in notice.alerts:
            record = {
                "alert": alert.to_json(),
                "channel": notice.contact.channel,
                "address": address,
                "reason": reason,
                "attempts": attempts,
                "at": self.calendar.now().isoformat(),
            }
            value = dumps(record)
            await self.producer.send_and_wait(
                self.topics.undeliverable, value, key=alert.key.encode()
            )
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
        due: dict[Contact, list[AlertRecord]] = defaultdict(list)
        for alert in latest_alert_per_clock(self.ledger.alerts.values()):
            if alert.kind is not AlertKind.BREACHED:
                continue
            waited = (today - alert.as_of).days
            if waited < self.settings.escalate_after_days or not self._still_breached(alert):
                continue
            site = self._site(alert.site_id)
            region = site.region if site else UNKNOWN_REGION
            for contact in self.region_contacts.get(region, []):
                if (
                    not self._done(NoticeKind.ESCALATION, alert, contact)
                    and alert not in due[contact]
                ):
                    due[contact].append(alert)
        for contact, alerts in due.items():
            for alert in alerts:
                site = self._site(alert.site_id)
                await self.deliver(compose(contact, [alert], site, kind=NoticeKind.ESCALATION))

    def _still_breached(self, alert: AlertRecord) -> bool:
        status = self.statuses.records.get(alert.study_id)
        clocks = status.get("clocks", []) if status else []
        assert isinstance(clocks, list)  # noqa: S101 - the study-status document
        start = alert.start_date.isoformat()
        return any(
            c["kpi"] == alert.kpi
            and c["site_id"] == alert.site_id
            and c["start_date"] == start
            and c["state"] == "breached"
            for c in clocks
        )
