"""The notifier on typed records, without a broker: what it queues for whom, the ledger keys
and records it writes, and that its timestamps and days come from the injected calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from alerts.channels import Channels, DeliveryFailed
from alerts.ledger import DeliveryKey, NoticeKind
from alerts.notice import Notice
from alerts.notifier import Notifier
from alerts.region_contacts import read_region_contacts
from core.codec import dumps, loads
from core.errors import ConfigError
from core.settings import Settings
from events.sites import Contact, Site
from kpi.clocks import Kpi
from rules.decide import Alert, AlertId, AlertKind, ClockId
from rules.record import AlertRecord

# Far from the wall clock, so a timestamp read from datetime.now would show.
NOW = datetime(2031, 7, 4, 12, 0, tzinfo=UTC)
EMAIL = Contact("email", "rd@rgt.example")
HOOK = Contact("webhook", "http://127.0.0.1/rgt")
REGION = Contact("email", "east@nhs.example")


@dataclass(frozen=True)
class FixedCalendar:
    moment: datetime = NOW

    def today(self) -> date:
        return self.moment.date()

    def now(self) -> datetime:
        return self.moment


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def send(self, topic: str, value: bytes, key: bytes) -> Any:
        self.sent.append((topic, key, value))
        return _done()

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append((topic, key, value))


async def _done() -> None:
    return None


class FakeChannels(Channels):
    def __init__(self, settings: Settings, *, fail: bool = False) -> None:
        super().__init__(settings)
        self.fail = fail
        self.notices: list[Notice] = []

    async def deliver(self, notice: Notice) -> None:
        self.notices.append(notice)
        if self.fail:
            raise DeliveryFailed("webhook answered HTTP 400", retriable=False)


def alert(
    site: str | None = "RGT", kind: AlertKind = AlertKind.BREACHED, as_of: date = date(2031, 6, 1)
) -> AlertRecord:
    clock = ClockId("CPMS-1", site, Kpi.SITE_OPEN, date(2031, 3, 1))
    made = Alert(AlertId(clock, kind), "acme", date(2031, 4, 30), None, 92, 60, as_of)
    return made.to_record(raised_at=datetime(2031, 6, 1, 9, tzinfo=UTC))


def notifier(tmp_path: Any = None, *, fail: bool = False, **env: str) -> Notifier:
    settings = Settings.from_env({"SETUPMON_NOTIFY_ATTEMPTS": "1", **env})
    made = Notifier(settings, FixedCalendar(), FakeChannels(settings, fail=fail))
    site = Site("RGT", "Cambridge", "East of England", (EMAIL, HOOK))
    made.sites.apply(b"RGT", dumps(site.to_json()))
    made.producer = FakeProducer()  # type: ignore[assignment]
    return made


def sent(made: Notifier, topic: str) -> list[tuple[str, dict[str, Any]]]:
    producer = made.producer
    assert isinstance(producer, FakeProducer)
    return [(key.decode(), loads(value)) for t, key, value in producer.sent if t == topic]


@pytest.mark.asyncio
async def test_an_alert_is_queued_once_for_each_contact_of_its_site() -> None:
    made = notifier()
    made.queue(alert())
    made.queue(alert())  # read again: still one
    made.queue(alert(site=None))  # a study clock: sponsors follow it on their status topic
    made.queue(alert(site="RAJ"))  # a site the registry does not know
    assert made.pending == {EMAIL: [alert()], HOOK: [alert()]}


@pytest.mark.asyncio
async def test_a_contact_the_ledger_has_is_not_queued_again() -> None:
    made = notifier()
    done = DeliveryKey(NoticeKind.ALERT, alert().id, HOOK).format()
    made.ledger.apply(done.encode(), b"{}")
    made.queue(alert())
    assert made.pending == {EMAIL: [alert()]}


@pytest.mark.asyncio
async def test_a_delivery_is_recorded_under_its_key_at_the_calendars_time() -> None:
    made = notifier()
    made.queue(alert())
    await made.flush()
    ledger = dict(sent(made, made.topics.deliveries))
    assert set(ledger) == {
        "alert|CPMS-1/RGT/site_open/2031-03-01/breached|email|rd@rgt.example",
        "alert|CPMS-1/RGT/site_open/2031-03-01/breached|webhook|http://127.0.0.1/rgt",
    }
    for entry in ledger.values():
        assert entry["status"] == "delivered" and entry["at"] == NOW.isoformat()
        assert AlertRecord.from_json(entry["alert"]) == alert()
    assert set(ledger) <= set(made.ledger.records)


@pytest.mark.asyncio
async def test_an_undeliverable_alert_is_recorded_at_the_calendars_time() -> None:
    made = notifier(fail=True)
    made.queue(alert())
    await made.flush()
    [(key, record), _] = sent(made, made.topics.undeliverable)
    assert key == "RGT"
    assert record["at"] == NOW.isoformat() and record["attempts"] == 1
    assert record["reason"] == "webhook answered HTTP 400"
    assert record["alert"] == alert().to_json()


def test_a_message_that_is_not_an_alert_is_passed_over() -> None:
    assert Notifier._read_alert(b"not json") is None
    assert Notifier._read_alert(dumps({"alert_id": "x"})) is None
    assert Notifier._read_alert(None) is None
    assert Notifier._read_alert(dumps(alert().to_json())) == alert()


@pytest.mark.asyncio
async def test_a_breach_open_past_the_limit_is_escalated_once_by_the_calendars_day(
    tmp_path: Any,
) -> None:
    regions = tmp_path / "regions.csv"
    regions.write_text("region,channel,address\nEast of England,email,east@nhs.example\n")
    # raised 2031-06-01; the calendar's day is 2031-07-04: 33 days
    made = notifier(SETUPMON_REGION_CONTACTS=str(regions), SETUPMON_ESCALATE_AFTER_DAYS="33")
    made.ledger.apply(b"k", dumps({"status": "delivered", "alert": alert().to_json()}))
    status = {
        "clocks": [
            {"kpi": "site_open", "site_id": "RGT", "start_date": "2031-03-01", "state": "breached"}
        ]
    }
    made.statuses.apply(b"CPMS-1", dumps(status))
    await made.escalate()
    made._escalation_check = float("-inf")
    await made.escalate()  # recorded: not again
    channels = made.channels
    assert isinstance(channels, FakeChannels)
    assert [(n.kind, n.contact, n.alerts) for n in channels.notices] == [
        (NoticeKind.ESCALATION, REGION, (alert(),))
    ]


@pytest.mark.asyncio
async def test_a_breach_younger_than_the_limit_is_not_escalated(tmp_path: Any) -> None:
    regions = tmp_path / "regions.csv"
    regions.write_text("region,channel,address\nEast of England,email,east@nhs.example\n")
    made = notifier(SETUPMON_REGION_CONTACTS=str(regions), SETUPMON_ESCALATE_AFTER_DAYS="34")
    made.ledger.apply(b"k", dumps({"status": "delivered", "alert": alert().to_json()}))
    status = {
        "clocks": [
            {"kpi": "site_open", "site_id": "RGT", "start_date": "2031-03-01", "state": "breached"}
        ]
    }
    made.statuses.apply(b"CPMS-1", dumps(status))
    await made.escalate()
    channels = made.channels
    assert isinstance(channels, FakeChannels)
    assert channels.notices == []


def test_region_contacts_are_read_as_contacts(tmp_path: Any) -> None:
    path = tmp_path / "regions.csv"
    path.write_text(
        "region,channel,address\n"
        "East of England, email , east@nhs.example\n"
        "East of England,webhook,http://h/east\n"
        "London,email,london@nhs.example\n"
    )
    assert read_region_contacts(str(path)) == {
        "East of England": [REGION, Contact("webhook", "http://h/east")],
        "London": [Contact("email", "london@nhs.example")],
    }
    assert read_region_contacts("") == {}


def test_a_region_contacts_file_without_its_columns_is_a_config_error(tmp_path: Any) -> None:
    path = tmp_path / "regions.csv"
    path.write_text("region,address\nLondon,london@nhs.example\n")
    with pytest.raises(ConfigError, match="columns: region,channel,address"):
        read_region_contacts(str(path))
