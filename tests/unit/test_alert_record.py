"""The typed `setup.alerts` message (rules/record.py): `Alert.to_json` writes exactly what
`AlertRecord.from_json` reads, byte for byte as before, and anything else is refused by name."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.codec import dumps
from kpi.clocks import Kpi
from rules.decide import Alert, AlertId, AlertKind, ClockId
from rules.record import AlertRecord

SITE_CLOCK = ClockId("CPMS-1", "RGT", Kpi.SITE_OPEN, date(2025, 1, 1))
STUDY_CLOCK = ClockId("CPMS-2", None, Kpi.COMBINED_REVIEW, date(2025, 1, 1))
RAISED = datetime(2025, 3, 6, 9, 30, 15, 123456, tzinfo=UTC)

ALERTS = [
    Alert(AlertId(SITE_CLOCK, AlertKind.BREACHED), "acme", date(2025, 3, 2), None, 64, 60, date(2025, 3, 6)),
    Alert(AlertId(SITE_CLOCK, AlertKind.BREACHED, 2), None, date(2025, 3, 2), date(2025, 3, 10), 68, 60, date(2025, 3, 12)),
    Alert(AlertId(SITE_CLOCK, AlertKind.CLEARED, 3), "acme", date(2025, 3, 2), None, None, 60, date(2025, 3, 12), held=True),
    Alert(AlertId(STUDY_CLOCK, AlertKind.AT_RISK), "acme", date(2025, 3, 2), None, 50, 60, date(2025, 2, 20)),
]  # fmt: skip


@pytest.mark.parametrize("alert", ALERTS, ids=[a.alert_id for a in ALERTS])
def test_what_the_stream_writes_reads_back_as_the_same_record(alert: Alert) -> None:
    message = alert.to_json(raised_at=RAISED)
    record = AlertRecord.from_json(message)
    assert record == alert.to_record(raised_at=RAISED)
    assert dumps(record.to_json()) == dumps(message)
    assert (record.kind, record.kpi, record.study_id, record.site_id, record.key) == (
        alert.kind,
        alert.kpi,
        alert.study_id,
        alert.site_id,
        alert.key,
    )


def test_the_message_bytes_are_the_public_format() -> None:
    message = ALERTS[1].to_json(raised_at=datetime(2025, 3, 12, 9, tzinfo=UTC))
    assert dumps(message) == (
        b'{"alert_id":"CPMS-1/RGT/site_open/2025-01-01/breached/2","as_of":"2025-03-12",'
        b'"due_date":"2025-03-02","elapsed_days":68,"kind":"breached","kpi":"site_open",'
        b'"limit_days":60,"raised_at":"2025-03-12T09:00:00+00:00","site_id":"RGT",'
        b'"sponsor_id":null,"start_date":"2025-01-01","stop_date":"2025-03-10",'
        b'"study_id":"CPMS-1"}'
    )


def test_raised_at_keeps_its_offset() -> None:
    bst = datetime(2025, 6, 1, 10, tzinfo=timezone(timedelta(hours=1)))
    message = ALERTS[0].to_json(raised_at=bst)
    assert AlertRecord.from_json(message).to_json()["raised_at"] == "2025-06-01T10:00:00+01:00"


GOOD = ALERTS[0].to_json(raised_at=RAISED)

BAD = [
    pytest.param(["not", "an", "object"], "JSON object", id="not-an-object"),
    pytest.param({k: v for k, v in GOOD.items() if k != "as_of"}, "lacks as_of", id="missing-field"),
    pytest.param({k: v for k, v in GOOD.items() if k != "site_id"}, "lacks site_id", id="missing-null-field"),
    pytest.param({**GOOD, "alert_id": "CPMS-1/RGT/site_open/2025-01-01/late"}, "not an alert ID", id="bad-id"),
    pytest.param({**GOOD, "alert_id": 7}, "alert_id must be a string", id="id-not-text"),
    pytest.param({**GOOD, "kind": "at_risk"}, "kind 'at_risk' disagrees", id="kind-disagrees"),
    pytest.param({**GOOD, "kpi": "first_participant"}, "kpi", id="kpi-disagrees"),
    pytest.param({**GOOD, "study_id": "CPMS-9"}, "study_id", id="study-disagrees"),
    pytest.param({**GOOD, "site_id": None}, "site_id", id="site-disagrees"),
    pytest.param({**GOOD, "start_date": "2025-01-02"}, "start_date", id="start-disagrees"),
    pytest.param({**GOOD, "due_date": "2025-3-2"}, "due_date must be a YYYY-MM-DD", id="date-spelling"),
    pytest.param({**GOOD, "due_date": "20250302"}, "due_date must be a YYYY-MM-DD", id="date-basic"),
    pytest.param({**GOOD, "stop_date": "2025-02-30"}, "stop_date", id="impossible-date"),
    pytest.param({**GOOD, "as_of": None}, "as_of must be a string", id="as-of-null"),
    pytest.param({**GOOD, "elapsed_days": "64"}, "elapsed_days must be a whole number", id="days-text"),
    pytest.param({**GOOD, "elapsed_days": 64.0}, "elapsed_days", id="days-float"),
    pytest.param({**GOOD, "limit_days": True}, "limit_days", id="days-bool"),
    pytest.param({**GOOD, "limit_days": None}, "limit_days", id="limit-null"),
    pytest.param({**GOOD, "sponsor_id": 5}, "sponsor_id must be a string", id="sponsor-number"),
    pytest.param({**GOOD, "raised_at": "2025-03-06T09:30:00"}, "UTC offset", id="naive-raised-at"),
    pytest.param({**GOOD, "raised_at": "yesterday"}, "ISO 8601", id="raised-at-garbage"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "mention"), BAD)
def test_anything_else_is_refused_naming_what_is_wrong(message: object, mention: str) -> None:
    with pytest.raises(ValueError, match=mention):
        AlertRecord.from_json(message)


def test_fields_beyond_the_contract_are_not_read() -> None:
    record = AlertRecord.from_json({**GOOD, "note": "from a newer producer"})
    assert "note" not in record.to_json()
