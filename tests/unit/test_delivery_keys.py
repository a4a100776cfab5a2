"""Delivery ledger keys (alerts/ledger.py `DeliveryKey`): the text ledgers have always been
keyed by, written by `format` and read back by `parse`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from alerts.ledger import DeliveryKey, DeliveryLedger, NoticeKind
from core.codec import dumps
from core.settings import Settings
from events.sites import Contact
from kpi.clocks import Kpi
from rules.decide import Alert
from rules.ids import AlertId, AlertKind, ClockId
from rules.record import AlertRecord

CLOCK = ClockId("CPMS-1", "RGT", Kpi.SITE_OPEN, date(2025, 1, 1))

VALID = [
    (
        DeliveryKey(NoticeKind.ALERT, AlertId(CLOCK, AlertKind.BREACHED), Contact("email", "rd@rgt.example")),
        "alert|CPMS-1/RGT/site_open/2025-01-01/breached|email|rd@rgt.example",
    ),
    (
        DeliveryKey(NoticeKind.ESCALATION, AlertId(CLOCK, AlertKind.BREACHED, 2), Contact("email", "a@b")),
        "escalation|CPMS-1/RGT/site_open/2025-01-01/breached/2|email|a@b",
    ),
    (  # the address comes last, so it may hold the separator
        DeliveryKey(NoticeKind.ALERT, AlertId(CLOCK, AlertKind.CLEARED), Contact("webhook", "https://h.example/x?a=1|2")),
        "alert|CPMS-1/RGT/site_open/2025-01-01/cleared|webhook|https://h.example/x?a=1|2",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("key", "text"), VALID, ids=[text for _, text in VALID])
def test_delivery_keys_format_and_parse(key: DeliveryKey, text: str) -> None:
    assert key.format() == text
    assert DeliveryKey.parse(text) == key


INVALID = [
    "alert|CPMS-1/RGT/site_open/2025-01-01/breached|email",  # no address part
    "digest|CPMS-1/RGT/site_open/2025-01-01/breached|email|a@b",  # not a kind of notice
    "alert|CPMS-1/RGT/site_open/2025-01-01/late|email|a@b",  # not an alert ID
    "alert|CPMS-1/RGT/site_open/2025-01-01|email|a@b",  # a clock, not an alert
    "",
]


@pytest.mark.parametrize("text", INVALID)
def test_anything_else_is_not_a_delivery_key(text: str) -> None:
    with pytest.raises(ValueError, match="not a delivery key"):
        DeliveryKey.parse(text)


# -- the ledger as the notifier reads it -----------------------------------------------------


def test_the_ledger_reads_each_entrys_alert_once_as_it_arrives() -> None:
    ledger = DeliveryLedger(Settings.from_env({}), "setup.alerts.deliveries")
    breach = Alert(
        AlertId(CLOCK, AlertKind.BREACHED), "acme", date(2025, 3, 2), None, 64, 60, date(2025, 3, 6)
    )
    message = breach.to_json(raised_at=datetime(2025, 3, 6, 9, tzinfo=UTC))
    key = DeliveryKey(NoticeKind.ALERT, breach.id, Contact("email", "a@b"))
    ledger.apply(key.format().encode(), dumps({"status": "delivered", "alert": message}))
    ledger.apply(b"hand-written", dumps({"status": "delivered", "alert": {"alert_id": "x"}}))
    assert ledger.has(key) and ledger.alerts == {key.format(): AlertRecord.from_json(message)}
    assert "hand-written" in ledger.records and not ledger.has(VALID[1][0])
    ledger.apply(key.format().encode(), None)  # a tombstone
    assert not ledger.has(key) and ledger.alerts == {}
