"""The notifier's delivery ledger (`setup.alerts.deliveries`, compacted): what reached whom.

An entry is keyed by its `DeliveryKey`, one alert to one contact as one kind of notice, in
the text form `{kind}|{alert_id}|{channel}|{address}` that ledgers have always been keyed by.
Its value is `{status, at, delivery_id, alert[, reason]}`, `alert` being the alert's message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from broker.topic_view import TopicView
from core.settings import Settings
from events.sites import Contact
from rules.ids import AlertId, AlertKind, ClockId
from rules.record import AlertRecord

# The order of kinds within an episode, to tell a clock's latest alert.
KIND_ORDER = {AlertKind.AT_RISK: 0, AlertKind.BREACHED: 1, AlertKind.CLEARED: 2}


class NoticeKind(StrEnum):
    ALERT = "alert"  # to the site's contacts
    ESCALATION = "escalation"  # to its region's contacts, for a breach left open


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """What must reach a contact once: one alert, as one kind of notice."""

    kind: NoticeKind
    alert_id: AlertId
    contact: Contact

    def format(self) -> str:
        channel, address = self.contact
        return f"{self.kind}|{self.alert_id.format()}|{channel}|{address}"

    @classmethod
    def parse(cls, text: str) -> DeliveryKey:
        """The inverse of `format`; ValueError for anything else. The address comes last and
        may hold `|` (a URL's query); the kind, alert ID and channel cannot."""
        parts = text.split("|", 3)
        if len(parts) != 4:
            raise ValueError(f"not a delivery key: {text!r}")
        kind, alert_id, channel, address = parts
        try:
            return cls(NoticeKind(kind), AlertId.parse(alert_id), Contact(channel, address))
        except ValueError as exc:
            raise ValueError(f"not a delivery key: {text!r} ({exc})") from None


def ledger_entry(
    status: str, at: datetime, delivery_id: str, alert: AlertRecord, reason: str = ""
) -> dict[str, object]:
    entry: dict[str, object] = {
        "status": status,
        "at": at.isoformat(),
        "delivery_id": delivery_id,
        "alert": alert.to_json(),
    }
    if reason:
        entry["reason"] = reason
    return entry


class DeliveryLedger(TopicView):
    """The ledger read in full and followed, each entry's alert read once as it arrives (the
    escalation check looks at all of them every few seconds)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(settings, topic)
        self.alerts: dict[str, AlertRecord] = {}  # by ledger key, for the readable entries

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        super().apply(key, value)
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        entry = self.records.get(name)
        try:
            self.alerts[name] = AlertRecord.from_json(entry.get("alert") if entry else None)
        except ValueError:
            # gone, or not written by a notifier: nothing to escalate from it
            self.alerts.pop(name, None)

    def has(self, key: DeliveryKey) -> bool:
        return key.format() in self.records

    def put(self, key: DeliveryKey, entry: dict[str, object], alert: AlertRecord) -> None:
        """A delivery this notifier recorded (and sent to the topic itself)."""
        text = key.format()
        self.records[text] = entry
        self.alerts[text] = alert


def latest_alert_per_clock(alerts: Iterable[AlertRecord]) -> list[AlertRecord]:
    """The latest of these alerts about each clock: the highest episode, then the kind that
    comes last in an episode (at_risk, breached, cleared)."""
    latest: dict[ClockId, tuple[tuple[int, int], AlertRecord]] = {}
    for alert in alerts:
        rank = (alert.id.episode, KIND_ORDER[alert.kind])
        if alert.clock not in latest or latest[alert.clock][0] < rank:
            latest[alert.clock] = (rank, alert)
    return [alert for _, alert in latest.values()]
