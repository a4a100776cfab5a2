"""The study stage (streams/study_stage.py), Faust-free: Incoming records in, Outgoing out.

CONTRACT.md sections 1, 3 and 4 and README "Architecture": dead letters, forwarding of
wrongly keyed events, outputs and their keys, per-study event time, the alert horizon,
day sweeps and the study gauge. Day counts are worked out in the comments.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from broker.messages import Incoming, Outgoing
from broker.partitions import partition_for
from broker.topics import TopicNames
from core.codec import dumps, loads
from streams.metrics import SetupmonMetrics
from streams.study_stage import StageResult, StudyStage
from studies.state import StudyState

STUDY = "CPMS-1"
TODAY = date(2025, 11, 1)
NOW = datetime(2025, 11, 1, 9, 30, tzinfo=UTC)
REGIONS = {"RGT": "East of England", "RAJ": "London"}

MILESTONES = "setup.milestones"
DLQ = "setup.milestones.dlq"
ALERTS = "setup.alerts"
STATUS = "setup.study-status"
SITE_CLOCKS = "setup.internal.site-clocks"

# Kafka's own murmur2 reference values (Java UtilsTest.testMurmur2), as signed 32-bit ints;
# partition = (hash & 0x7fffffff) % partitions.
#   "foobar": -790332482 -> 2**31 - 790332482 = 1357151166; % 4 = 2 (66 % 4), % 6 = 0
#   "abc":     479470107                                  ; % 4 = 3 (07 % 4), % 6 = 3
#   "21":     -973932308 -> 1173551340                    ; % 4 = 0 (40 % 4), % 6 = 0
#   "a-little-bit-long-string": -985981536 -> 1161502112  ; % 7 = 1 (7 * 165928873 = 1161502111)
FOOBAR_HOME_OF_4 = 2
ABC_HOME_OF_4 = 3


def ev(
    milestone: str,
    day: str,
    *,
    site: str | None = None,
    recorded: str | None = None,
    study: str = STUDY,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A raw milestone event (a dict); recorded at 10:00 UTC on `day` unless given."""
    event: dict[str, Any] = {
        "event_id": event_id or f"{study}/{site or '-'}/{milestone}/{day}/{recorded or day}",
        "study_id": study,
        "milestone": milestone,
        "date": day,
        "recorded_at": recorded or f"{day}T10:00:00Z",
        "source": f"edge:{site}" if site else "cpms",
        **extra,
    }
    if site is not None:
        event["site_id"] = site
    if milestone == "study_registered" and "attributes" not in event and not extra.get("retract"):
        event["attributes"] = {"sponsor_id": "acme"}
    return event


def at(day: str) -> str:
    """A recorded_at at 10:00 UTC on `day` (the same UK day in GMT and BST)."""
    return f"{day}T10:00:00Z"


class World:
    """A stage with a fresh registry and a dict standing in for the studies table."""

    def __init__(self, partitions: int = 1, *, horizon: int = 30) -> None:
        self.registry = CollectorRegistry()
        self.topics = TopicNames("setup", partitions)
        self.stage = StudyStage(
            self.topics,
            SetupmonMetrics.create(self.registry),
            lambda site: REGIONS.get(site, "unknown"),
            alert_horizon_days=horizon,
        )
        self.store: dict[str, StudyState] = {}
        self.offset = 0

    def message(
        self,
        value: bytes | dict[str, Any],
        *,
        key: bytes | str | None = "auto",
        partition: int | None = None,
    ) -> Incoming:
        raw = value if isinstance(value, bytes) else dumps(value)
        if key == "auto":
            assert isinstance(value, dict)
            key = value["study_id"].encode()
        assert key is None or isinstance(key, bytes)
        if partition is None:
            assert isinstance(value, dict)
            partition = partition_for(value["study_id"].encode(), self.topics.partitions)
        self.offset += 1
        return Incoming(key, raw, MILESTONES, partition, self.offset)

    def ingest(self, *messages: Incoming, today: date = TODAY) -> StageResult:
        result = self.stage.ingest(messages, self.store.get, as_of=today, now=NOW)
        self.store.update(result.states)  # the agent writes states back after the send
        return result

    def send(self, *events: dict[str, Any], today: date = TODAY) -> list[Outgoing]:
        """Each event correctly keyed on its home partition, in one batch."""
        return self.ingest(*(self.message(e) for e in events), today=today).outputs

    def one_by_one(self, *events: dict[str, Any], today: date = TODAY) -> list[Outgoing]:
        outputs: list[Outgoing] = []
        for event in events:
            outputs += self.send(event, today=today)
        return outputs

    def sweep(self, day: date, *studies: str, partition: int = 0) -> list[Outgoing]:
        states = [self.store[s] for s in studies]
        return self.stage.sweep(states, partition=partition, as_of=day, now=NOW).outputs

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)

    def events_total(self, milestone: str, outcome: str) -> float | None:
        return self.sample("trial_setup_events_total", milestone=milestone, outcome=outcome)


def on(topic: str, outputs: list[Outgoing]) -> list[Outgoing]:
    return [out for out in outputs if out.topic == topic]


def alert_ids(outputs: list[Outgoing]) -> list[str]:
    return [loads(out.value)["alert_id"] for out in on(ALERTS, outputs) if out.value]


# -- partition_for --------------------------------------------------------------------------

PARTITIONS = [
    pytest.param(b"foobar", 4, 2, id="foobar-of-4"),
    pytest.param(b"foobar", 6, 0, id="foobar-of-6"),
    pytest.param(b"abc", 4, 3, id="abc-of-4"),
    pytest.param(b"abc", 6, 3, id="abc-of-6"),
    pytest.param(b"21", 4, 0, id="21-of-4"),
    pytest.param(b"a-little-bit-long-string", 7, 1, id="long-of-7"),
    pytest.param(b"anything", 1, 0, id="one-partition"),
]


@pytest.mark.parametrize(("key", "partitions", "expected"), PARTITIONS)
def test_partition_for_matches_the_java_client(key: bytes, partitions: int, expected: int) -> None:
    assert partition_for(key, partitions) == expected


# -- rejections -----------------------------------------------------------------------------

NOT_JSON = b'{"event_id": "e1", "study_id": '
NOT_UTF8 = b"\xff\xfe"  # base64: 11111111 11111110 -> 111111 111111 111000 -> "//4="
UNKNOWN_FIELD = dumps(ev("site_opened", "2025-03-01", site="RGT", patient_name="x"))
# 23:30 UTC on 1 March is 23:30 GMT: recorded on UK day 2025-03-01, before the date 2025-03-02
LATE_DATE = dumps(ev("site_opened", "2025-03-02", site="RGT", recorded="2025-03-01T23:30:00Z"))
NO_SITE = dumps(ev("site_opened", "2025-03-01"))
UNKNOWN_MILESTONE = dumps(ev("site_exploded", "2025-03-01", site="RGT"))

REJECTED = [
    pytest.param(b"CPMS-9", NOT_JSON, "not_json", "invalid", NOT_JSON.decode(), id="not-json"),
    pytest.param(None, NOT_JSON, "not_json", "invalid", NOT_JSON.decode(), id="not-json-no-key"),
    pytest.param(b"k", NOT_UTF8, "not_json", "invalid", "//4=", id="not-utf8-base64"),
    pytest.param(
        b"CPMS-1", UNKNOWN_FIELD, "unknown_field", "site_opened", UNKNOWN_FIELD.decode(), id="pii"
    ),
    pytest.param(
        b"CPMS-1",
        LATE_DATE,
        "date_after_recorded",
        "site_opened",
        LATE_DATE.decode(),
        id="date-after-recorded",
    ),
    pytest.param(
        b"CPMS-1", NO_SITE, "missing_site_id", "site_opened", NO_SITE.decode(), id="no-site"
    ),
    pytest.param(
        b"CPMS-1",
        UNKNOWN_MILESTONE,
        "unknown_milestone",
        "invalid",
        UNKNOWN_MILESTONE.decode(),
        id="unknown-milestone",
    ),
]


@pytest.mark.parametrize(("key", "raw", "error", "label", "original"), REJECTED)
def test_a_rejected_message_becomes_exactly_one_dead_letter(
    key: bytes | None, raw: bytes, error: str, label: str, original: str
) -> None:
    world = World(partitions=6)
    incoming = Incoming(key, raw, MILESTONES, 4, 1234)

    result = world.ingest(incoming)

    assert len(result.outputs) == 1
    dead = result.outputs[0]
    assert (dead.topic, dead.key) == (DLQ, key)
    assert dead.value is not None
    record = loads(dead.value)
    assert record["error"] == error
    assert isinstance(record["detail"], str) and record["detail"]
    assert record["original"] == original
    assert (record["topic"], record["partition"], record["offset"]) == (MILESTONES, 4, 1234)
    assert record["rejected_at"] == NOW.isoformat()
    assert world.events_total(label, "rejected") == 1
    assert result.states == {}


def test_base64_original_decodes_to_the_raw_bytes() -> None:
    world = World()
    (dead,) = world.ingest(Incoming(None, NOT_UTF8, MILESTONES, 0, 7)).outputs
    assert dead.value is not None
    record = loads(dead.value)
    assert base64.b64decode(record["original"]) == NOT_UTF8
    assert record["original_encoding"] == "base64"


def test_rejections_do_not_stop_the_rest_of_the_batch() -> None:
    world = World()
    good = ev("site_selected", "2025-03-01", site="RGT")
    result = world.ingest(
        world.message(NOT_JSON, key=b"x", partition=0),
        world.message(good),
        world.message(NO_SITE, key=b"CPMS-1", partition=0),
    )
    assert len(on(DLQ, result.outputs)) == 2
    assert len(on(STATUS, result.outputs)) == 1
    assert world.events_total("invalid", "rejected") == 1
    assert world.events_total("site_opened", "rejected") == 1
    assert world.events_total("site_selected", "accepted") == 1


# -- wrongly keyed or partitioned events ----------------------------------------------------

FOOBAR_EVENT = ev("site_selected", "2025-03-01", site="RGT", study="foobar")

MISROUTED = [
    pytest.param(b"CPMS-2", FOOBAR_HOME_OF_4, id="wrong-key-home-partition"),
    pytest.param(None, FOOBAR_HOME_OF_4, id="no-key-home-partition"),
    pytest.param(b"foobar", 0, id="right-key-wrong-partition"),
    pytest.param(b"foobar", 3, id="right-key-other-wrong-partition"),
    pytest.param(b"FOOBAR", 1, id="wrong-key-wrong-partition"),
]


@pytest.mark.parametrize(("key", "partition"), MISROUTED)
def test_a_misrouted_event_is_forwarded_home_once_and_not_applied(
    key: bytes | None, partition: int
) -> None:
    world = World(partitions=4)
    raw = dumps(FOOBAR_EVENT)

    result = world.ingest(world.message(raw, key=key, partition=partition))

    assert result.outputs == [Outgoing(MILESTONES, b"foobar", raw, FOOBAR_HOME_OF_4)]
    assert result.states == {}
    assert world.store == {}
    assert world.events_total("site_selected", "accepted") is None


def test_a_forwarded_event_is_applied_once_when_it_arrives_home() -> None:
    world = World(partitions=4)
    raw = dumps(FOOBAR_EVENT)
    (forwarded,) = world.ingest(world.message(raw, key=None, partition=0)).outputs
    assert forwarded.partition is not None

    home = Incoming(forwarded.key, raw, MILESTONES, forwarded.partition, 99)
    outputs = world.ingest(home).outputs

    assert world.events_total("site_selected", "accepted") == 1
    assert [out.key for out in on(STATUS, outputs)] == [b"foobar"]
    assert on(MILESTONES, outputs) == []
    assert "foobar" in world.store


def test_correctly_routed_events_are_applied_on_any_partition_count() -> None:
    world = World(partitions=4)
    event = ev("site_selected", "2025-03-01", site="RGT", study="abc")
    outputs = world.send(event)
    assert on(MILESTONES, outputs) == []
    assert world.events_total("site_selected", "accepted") == 1
    assert "abc" in world.store


# -- outcomes and entry delay ---------------------------------------------------------------

E1 = ev("site_opened", "2025-03-01", site="RGT", recorded=at("2025-03-02"), event_id="e1")
E2 = ev("site_opened", "2025-02-27", site="RGT", recorded=at("2025-03-05"), event_id="e2")

OUTCOMES = [
    pytest.param([E1], {"accepted": 1}, id="accepted"),
    pytest.param([E1, E1], {"accepted": 1, "duplicate": 1}, id="duplicate"),
    pytest.param([E1, E1, E1], {"accepted": 1, "duplicate": 2}, id="two-duplicates"),
    pytest.param([E2, E1], {"accepted": 1, "superseded": 1}, id="older-version-late"),
    pytest.param([E1, E2], {"accepted": 2}, id="correction-in-order"),
    pytest.param([E1, E2, E1], {"accepted": 2, "duplicate": 1}, id="replayed-old-version"),
]


@pytest.mark.parametrize(("events", "expected"), OUTCOMES)
def test_each_valid_event_is_counted_by_outcome(
    events: list[dict[str, Any]], expected: dict[str, int]
) -> None:
    world = World()
    world.one_by_one(*events, today=date(2025, 3, 10))
    for outcome in ("accepted", "duplicate", "superseded", "rejected"):
        assert world.events_total("site_opened", outcome) == expected.get(outcome), outcome


DELAYS = [
    pytest.param("2025-03-01", at("2025-03-01"), 0, id="same-day"),
    pytest.param("2025-03-01", at("2025-03-04"), 3, id="three-days-late"),
    # 2025-02-27 -> 03-02: 28th, 1st, 2nd = 3 days
    pytest.param("2025-02-27", at("2025-03-02"), 3, id="over-month-end"),
    # 23:30 UTC on 1 June is 00:30 BST on 2 June: recorded on UK day 06-02
    pytest.param("2025-06-01", "2025-06-01T23:30:00Z", 1, id="bst-evening-is-next-day"),
    # 23:30 UTC on 10 January is 23:30 GMT: same UK day
    pytest.param("2025-01-10", "2025-01-10T23:30:00Z", 0, id="gmt-evening-same-day"),
    # 00:30+02:00 on 2 June is 22:30 UTC = 23:30 BST on 1 June
    pytest.param("2025-06-01", "2025-06-02T00:30:00+02:00", 0, id="offset-back-to-uk-day"),
]


@pytest.mark.parametrize(("day", "recorded", "delay"), DELAYS)
def test_entry_delay_is_the_recorded_uk_day_minus_the_date(
    day: str, recorded: str, delay: int
) -> None:
    world = World()
    world.send(ev("site_selected", day, site="RGT", recorded=recorded))
    labels = {"milestone": "site_selected"}
    assert world.sample("trial_setup_entry_delay_days_count", **labels) == 1
    assert world.sample("trial_setup_entry_delay_days_sum", **labels) == delay


DELAY_COUNTS = [
    pytest.param([E1], 1, 1, id="one"),  # E1: 03-01 recorded 03-02 = 1 day
    pytest.param([E1, E1], 1, 1, id="duplicate-not-observed"),
    # E2: 02-27 recorded 03-05 = 1 (28th) + 5 = 6 days; superseded still observed
    pytest.param([E2, E1], 2, 7, id="superseded-observed"),
    pytest.param([E1, E2, E2, E1], 2, 7, id="duplicates-of-both"),
]


@pytest.mark.parametrize(("events", "count", "total"), DELAY_COUNTS)
def test_entry_delay_is_observed_for_non_duplicates_only(
    events: list[dict[str, Any]], count: int, total: int
) -> None:
    world = World()
    world.one_by_one(*events, today=date(2025, 3, 10))
    labels = {"milestone": "site_opened"}
    assert world.sample("trial_setup_entry_delay_days_count", **labels) == count
    assert world.sample("trial_setup_entry_delay_days_sum", **labels) == total


# -- outputs --------------------------------------------------------------------------------


def test_study_status_is_keyed_by_study_and_mirrored_to_its_sponsor() -> None:
    world = World()
    outputs = world.send(
        ev("study_registered", "2025-03-01", attributes={"sponsor_id": "acme"}),
        ev("regulatory_submitted", "2025-03-02", recorded=at("2025-03-02")),
        today=date(2025, 3, 2),
    )

    # evaluated once per UK day its events were recorded on, as live (03-01, 03-02), but
    # the compacted status is published once per batch, as the last evaluation left it
    (status,) = on(STATUS, outputs)
    assert status.key == STUDY.encode()
    assert status.value is not None
    document = loads(status.value)
    assert document["study_id"] == STUDY
    assert document["sponsor_id"] == "acme"
    assert document["updated_at"] == NOW.isoformat()
    assert document["as_of"] == "2025-03-02"
    review = next(c for c in document["clocks"] if c["kpi"] == "combined_review")
    # submitted 03-02 + 60 days: March has 31, so 03-02 + 29 = 03-31, + 31 = 05-01
    assert (review["state"], review["start_date"], review["due_date"]) == (
        "running",
        "2025-03-02",
        "2025-05-01",
    )
    mirror = on("setup.sponsor.acme.study-status", outputs)
    assert mirror[-1] == Outgoing("setup.sponsor.acme.study-status", STUDY.encode(), status.value)
    assert [out for out in outputs if out.value is None] == []


REGISTERED_ACME = ev(
    "study_registered", "2025-03-01", recorded=at("2025-03-01"), attributes={"sponsor_id": "acme"}
)

SPONSOR_CHANGES = [
    pytest.param(
        ev(
            "study_registered",
            "2025-03-01",
            recorded=at("2025-03-02"),
            attributes={"sponsor_id": "beta"},
        ),
        "beta",
        True,
        id="corrected-sponsor",
    ),
    pytest.param(
        ev("study_registered", "2025-03-01", recorded=at("2025-03-02"), retract=True),
        None,
        True,
        id="registration-retracted",
    ),
    pytest.param(
        # recorded before the acme version: superseded, the sponsor stays acme
        ev(
            "study_registered",
            "2025-03-01",
            recorded="2025-03-01T09:00:00Z",
            attributes={"sponsor_id": "beta"},
        ),
        "acme",
        False,
        id="older-version-superseded",
    ),
    pytest.param(
        ev("regulatory_submitted", "2025-03-02", recorded=at("2025-03-02")),
        "acme",
        False,
        id="other-milestone",
    ),
]


@pytest.mark.parametrize(("second", "sponsor", "tombstone"), SPONSOR_CHANGES)
def test_a_sponsor_correction_tombstones_the_old_sponsor_topic(
    second: dict[str, Any], sponsor: str | None, tombstone: bool
) -> None:
    world = World()
    world.send(REGISTERED_ACME, today=date(2025, 3, 2))

    outputs = world.send(second, today=date(2025, 3, 2))

    old = on("setup.sponsor.acme.study-status", outputs)
    tombstones = [out for out in old if out.value is None]
    assert tombstones == ([Outgoing(old[0].topic, STUDY.encode(), None)] if tombstone else [])
    for status in on(STATUS, outputs):
        assert status.value is not None
        assert loads(status.value)["sponsor_id"] == sponsor
        if sponsor is not None:
            mirror = on(f"setup.sponsor.{sponsor}.study-status", outputs)
            assert Outgoing(mirror[0].topic, STUDY.encode(), status.value) in mirror
    if tombstone and sponsor is not None:
        assert len(on(STATUS, outputs)) == 1


# first seen already breached (recorded late, evaluated on the recorded day):
# site_opened 01-31, today 03-03: 28 days to 02-28, + 3 = 31 > 30; due 01-31 + 30 = 03-02
# regulatory_submitted 01-01, today 03-03: 31 + 28 + 2 = 61 > 60; due 01-01 + 60 = 03-02
ALERT_KEYS = [
    pytest.param(
        ev("site_opened", "2025-01-31", site="RGT", recorded=at("2025-03-03")),
        b"RGT",
        "CPMS-1/RGT/first_participant/2025-01-31/breached",
        ("first_participant", "breached", "East of England"),
        31,
        id="site-clock-keyed-by-site",
    ),
    pytest.param(
        ev("site_opened", "2025-01-31", site="RZZ", recorded=at("2025-03-03")),
        b"RZZ",
        "CPMS-1/RZZ/first_participant/2025-01-31/breached",
        ("first_participant", "breached", "unknown"),
        31,
        id="unregistered-site-region-unknown",
    ),
    pytest.param(
        ev("regulatory_submitted", "2025-01-01", recorded=at("2025-03-03")),
        b"CPMS-1",
        "CPMS-1/-/combined_review/2025-01-01/breached",
        ("combined_review", "breached", ""),
        61,
        id="study-clock-keyed-by-study",
    ),
]


@pytest.mark.parametrize(("event", "key", "alert_id", "labels", "elapsed"), ALERT_KEYS)
def test_alerts_are_keyed_by_site_or_study_and_counted(
    event: dict[str, Any],
    key: bytes,
    alert_id: str,
    labels: tuple[str, str, str],
    elapsed: int,
) -> None:
    world = World()
    outputs = world.send(event, today=date(2025, 3, 3))

    (alert,) = on(ALERTS, outputs)
    assert alert.key == key
    assert alert.value is not None
    body = loads(alert.value)
    assert body["alert_id"] == alert_id
    assert body["kind"] == "breached"
    assert body["as_of"] == "2025-03-03"
    assert body["raised_at"] == NOW.isoformat()
    assert body["elapsed_days"] == elapsed
    assert body["due_date"] == "2025-03-02"
    kpi, kind, region = labels
    assert world.sample("trial_setup_alerts_total", kpi=kpi, kind=kind, region=region) == 1


SELECTED_BOTH = (
    ev("hra_approved", "2025-03-01"),
    ev("site_selected", "2025-03-01", site="RGT"),
    ev("site_selected", "2025-03-01", site="RAJ"),
)


def test_site_clocks_go_to_every_site_of_a_new_study() -> None:
    world = World()
    outputs = world.send(*SELECTED_BOTH, today=date(2025, 3, 1))
    assert [out.key for out in on(SITE_CLOCKS, outputs)] == [b"RAJ", b"RGT"]


SITE_CHANGES = [
    # RGT opens on 03-10: site_open 03-01 -> 03-10 = 9 days, met; RAJ still running (day 9)
    pytest.param(
        ev("site_opened", "2025-03-10", site="RGT"),
        {b"RGT": {"site_open": "met", "first_participant": "running"}},
        id="one-site-opens",
    ),
    # RAJ's only dated milestone retracted: RAJ has no clocks any more -> empty list
    pytest.param(
        ev("site_selected", "2025-03-01", site="RAJ", recorded=at("2025-03-10"), retract=True),
        {b"RAJ": {}},
        id="site-retracted",
    ),
    # hra_approved moves for every site: both sites' clocks change
    pytest.param(
        ev("hra_approved", "2025-03-05", recorded=at("2025-03-10")),
        {b"RAJ": {"site_open": "running"}, b"RGT": {"site_open": "running"}},
        id="study-milestone-moves-all-sites",
    ),
    # the study's own clock: no site clock changed
    pytest.param(ev("regulatory_submitted", "2025-03-10"), {}, id="study-clock-only"),
]


@pytest.mark.parametrize(("event", "expected"), SITE_CHANGES)
def test_site_clocks_are_sent_only_for_sites_whose_clocks_changed(
    event: dict[str, Any], expected: dict[bytes, dict[str, str]]
) -> None:
    world = World()
    world.send(*SELECTED_BOTH, today=date(2025, 3, 1))

    outputs = world.send(event, today=date(2025, 3, 10))

    messages = on(SITE_CLOCKS, outputs)
    assert [out.key for out in messages] == sorted(expected)
    for out in messages:
        assert out.key is not None and out.value is not None
        body = loads(out.value)
        site = out.key.decode()
        assert (body["study_id"], body["site_id"]) == (STUDY, site)
        states = {c["kpi"]: c["state"] for c in body["clocks"]}
        assert all(c["site_id"] == site for c in body["clocks"])
        for kpi, state in expected[out.key].items():
            assert states[kpi] == state
        if not expected[out.key]:
            assert body["clocks"] == []


# -- event time -----------------------------------------------------------------------------

# Submitted 2025-01-03, approved 2025-02-10: 28 days to 01-31 + 10 = 38 days, met (<= 60).
# Evaluated as of today (2025-11-01) the submission alone would look breached (302 days) and
# the approval would then clear it; evaluated as of each event's recorded day it never alerts.
BACKLOG = (
    ev("study_registered", "2025-01-02"),
    ev("regulatory_submitted", "2025-01-03"),
    ev("regulatory_approved", "2025-02-10"),
)


@pytest.mark.parametrize("one_by_one", [True, False], ids=["one-by-one", "one-batch"])
def test_a_backlog_is_evaluated_as_of_its_recorded_days_not_today(one_by_one: bool) -> None:
    world = World()
    feed = world.one_by_one if one_by_one else world.send
    outputs = feed(*BACKLOG, today=TODAY)

    assert alert_ids(outputs) == []
    assert (
        world.sample("setupmon_alerts_suppressed_total", kpi="combined_review", kind="breached")
        is None
    )
    assert (
        world.sample("setupmon_alerts_suppressed_total", kpi="study_setup", kind="breached") is None
    )
    last = on(STATUS, outputs)[-1]
    assert last.value is not None
    clocks = {c["kpi"]: c for c in loads(last.value)["clocks"]}
    assert (clocks["combined_review"]["state"], clocks["combined_review"]["elapsed_days"]) == (
        "met",
        38,
    )


def test_the_day_sweep_then_brings_the_backlog_to_today() -> None:
    world = World()
    world.one_by_one(*BACKLOG, today=TODAY)
    # study_setup from 2025-01-03: 304 days from 01-01 to 11-01 (31+28+31+30+31+30+31+31+30+31)
    # minus 2 = 302 > 150: breached; combined_review stays met (no alert)
    outputs = world.sweep(TODAY, STUDY)
    assert alert_ids(outputs) == ["CPMS-1/-/study_setup/2025-01-03/breached"]


@pytest.mark.parametrize("partitions", [1, 4], ids=["same-partition", "other-partitions"])
def test_a_study_is_judged_as_of_its_own_events_not_its_neighbours(partitions: int) -> None:
    world = World(partitions=partitions)
    # foobar: opened 01-31, recorded that day: first_participant day 0
    world.send(ev("site_opened", "2025-01-31", site="RGT", study="foobar"))
    # abc records an event on 10-30 (on foobar's partition when there is only one)
    world.send(ev("site_selected", "2025-10-30", site="RGT", study="abc"))
    # foobar again, recorded 02-10: first_participant day 10 of 30, running -> no alert.
    # (As of 10-30 it would be breached, day 272.)
    outputs = world.send(ev("site_invited", "2025-02-10", site="RGT", study="foobar"))
    assert alert_ids(outputs) == []
    assert world.store["foobar"].evaluated_on == date(2025, 2, 10)


def test_a_study_is_never_judged_earlier_than_before() -> None:
    world = World()
    world.send(ev("site_opened", "2025-01-31", site="RGT"), today=date(2025, 1, 31))
    world.sweep(date(2025, 3, 3), STUDY)  # breached as of today, day 31
    # an event recorded on a past day (02-01) arrives later: still judged as of 03-03
    outputs = world.send(
        ev("site_invited", "2025-01-20", site="RGT", recorded=at("2025-02-01")),
        today=date(2025, 3, 3),
    )
    assert alert_ids(outputs) == []  # no clearance: the breach still holds as of 03-03
    assert world.store[STUDY].evaluated_on == date(2025, 3, 3)


def test_a_study_is_never_judged_later_than_today() -> None:
    world = World()
    # opened 2025-01-31; an event recorded on 03-05 arrives while today is still 02-20
    # (a source clock ahead): evaluated as of 02-20, day 20 of 30 -> running, no alert.
    world.send(ev("site_opened", "2025-01-31", site="RGT"), today=date(2025, 2, 20))
    outputs = world.send(
        ev("site_invited", "2025-01-20", site="RGT", recorded=at("2025-03-05")),
        today=date(2025, 2, 20),
    )
    assert alert_ids(outputs) == []


def test_studies_judged_as_of_past_days_make_their_partition_due_a_tick() -> None:
    world = World(partitions=4)
    world.send(ev("site_selected", "2025-10-30", site="RGT", study="foobar"))  # today 11-01
    assert world.stage.has_studies_behind(FOOBAR_HOME_OF_4)
    assert not world.stage.has_studies_behind(ABC_HOME_OF_4)
    world.sweep(TODAY, "foobar", partition=FOOBAR_HOME_OF_4)
    assert not world.stage.has_studies_behind(FOOBAR_HOME_OF_4)
    # an event recorded today leaves nothing behind
    world.send(ev("site_selected", "2025-11-01", site="RGT", study="abc"))
    assert not world.stage.has_studies_behind(ABC_HOME_OF_4)
    world.send(ev("site_selected", "2025-10-01", site="RGT", study="foobar"))
    world.stage.forget_partition(FOOBAR_HOME_OF_4)  # a rebalance takes it away
    assert not world.stage.has_studies_behind(FOOBAR_HOME_OF_4)


# -- alert horizon --------------------------------------------------------------------------

# site_opened 2025-08-01 recorded that day (first_participant day 0); a later event recorded
# on `trigger` shows the clock breached for the first time (day 31 is 09-01).
# Horizon 30 days before today 2025-11-01 is 2025-10-02: an alert as of an earlier day is
# recorded but not sent.
HORIZON = [
    pytest.param("2025-09-01", False, id="long-ago-suppressed"),
    pytest.param("2025-10-01", False, id="one-day-before-horizon-suppressed"),
    pytest.param("2025-10-02", True, id="on-horizon-sent"),
    pytest.param("2025-11-01", True, id="today-sent"),
]


@pytest.mark.parametrize(("trigger", "sent"), HORIZON)
def test_alerts_older_than_the_horizon_are_counted_not_sent(trigger: str, sent: bool) -> None:
    world = World(horizon=30)
    world.send(ev("site_opened", "2025-08-01", site="RGT"))

    outputs = world.send(ev("site_invited", trigger, site="RGT"))

    expected = ["CPMS-1/RGT/first_participant/2025-08-01/breached"] if sent else []
    assert alert_ids(outputs) == expected
    suppressed = world.sample(
        "setupmon_alerts_suppressed_total", kpi="first_participant", kind="breached"
    )
    raised = world.sample(
        "trial_setup_alerts_total",
        kpi="first_participant",
        kind="breached",
        region="East of England",
    )
    assert (suppressed, raised) == ((None, 1) if sent else (1, None))


def test_a_suppressed_alert_is_never_sent_later() -> None:
    world = World(horizon=30)
    world.send(ev("site_opened", "2025-08-01", site="RGT"))
    assert alert_ids(world.send(ev("site_invited", "2025-09-01", site="RGT"))) == []

    # the day sweep as of today and a late stop (09-10: day 40, missed) raise nothing new
    later = world.sweep(TODAY, STUDY)
    later += world.send(ev("first_participant_recruited", "2025-09-10", site="RGT"))
    later += world.sweep(date(2025, 11, 2), STUDY)

    assert alert_ids(later) == []
    assert (
        world.sample("setupmon_alerts_suppressed_total", kpi="first_participant", kind="breached")
        == 1
    )


def test_a_clock_sites_have_heard_of_is_followed_to_its_end_past_the_horizon() -> None:
    world = World(horizon=30)
    world.send(ev("site_opened", "2025-08-01", site="RGT"), today=date(2025, 8, 1))
    breach = world.sweep(date(2025, 9, 1), STUDY)  # day 31, sent: today is 09-01
    assert alert_ids(breach) == ["CPMS-1/RGT/first_participant/2025-08-01/breached"]

    # After an outage, the recruitment on 08-20 (day 19, met), recorded 09-02, is read on
    # 11-01: judged as of 09-02, past the horizon, but the site was told of the breach.
    outputs = world.send(
        ev("first_participant_recruited", "2025-08-20", site="RGT", recorded=at("2025-09-02"))
    )
    assert alert_ids(outputs) == ["CPMS-1/RGT/first_participant/2025-08-01/cleared"]


# -- day sweeps -----------------------------------------------------------------------------

# first_participant from site_opened 2025-01-31, limit 30: at_risk from day 23 (02-23:
# 23 * 4 = 92 >= 90; day 22 is 88 < 90), day 30 is 03-02 (still at_risk), breached from
# day 31 (03-03).
FP = "CPMS-1/RGT/first_participant/2025-01-31"
SWEEPS = [
    pytest.param(["2025-02-22"], [[]], id="day-22-running"),
    pytest.param(["2025-02-23"], [[f"{FP}/at_risk"]], id="day-23-at-risk"),
    pytest.param(["2025-03-03"], [[f"{FP}/breached"]], id="first-sweep-already-breached"),
    pytest.param(
        ["2025-02-22", "2025-02-23", "2025-02-23", "2025-03-02", "2025-03-03", "2025-03-04"],
        [[], [f"{FP}/at_risk"], [], [], [f"{FP}/breached"], []],
        id="running-at-risk-breached-each-once",
    ),
]


@pytest.mark.parametrize(("days", "expected"), SWEEPS)
def test_sweeps_raise_time_driven_alerts(days: list[str], expected: list[list[str]]) -> None:
    world = World()
    world.send(ev("site_opened", "2025-01-31", site="RGT"), today=date(2025, 1, 31))

    raised = [alert_ids(world.sweep(date.fromisoformat(day), STUDY)) for day in days]

    assert raised == expected


def test_a_sweep_publishes_every_studys_status_every_day() -> None:
    world = World()
    world.send(ev("site_selected", "2025-03-01", site="RGT"), today=date(2025, 3, 1))
    world.send(
        ev("site_selected", "2025-03-01", site="RGT", study="CPMS-2"), today=date(2025, 3, 1)
    )

    for day in (date(2025, 3, 2), date(2025, 3, 2), date(2025, 3, 3)):
        outputs = world.sweep(day, STUDY, "CPMS-2")
        statuses = on(STATUS, outputs)
        assert sorted(out.key for out in statuses if out.key) == [b"CPMS-1", b"CPMS-2"]
        for out in statuses:
            assert out.value is not None
            assert loads(out.value)["as_of"] == day.isoformat()
        # mirrored to the sponsor topic too? only with a sponsor; none registered here
        assert [out.topic for out in outputs if "sponsor" in out.topic] == []


def test_study_clock_gauge_follows_owned_partitions() -> None:
    world = World(partitions=4)
    # foobar -> partition 2, abc -> partition 3; both submitted 2025-01-01
    world.send(ev("regulatory_submitted", "2025-01-01", study="foobar"), today=date(2025, 1, 1))
    world.send(ev("regulatory_submitted", "2025-01-01", study="abc"), today=date(2025, 1, 1))

    def gauge(kpi: str, state: str) -> float | None:
        return world.sample("trial_setup_study_clocks", kpi=kpi, state=state)

    assert gauge("combined_review", "running") == 2
    assert gauge("study_setup", "running") == 2

    # partition 2 swept on 02-15: combined_review day 45 (31 + 14), 45 * 4 = 180 >= 180:
    # at_risk; study_setup 180 < 450: running
    world.sweep(date(2025, 2, 15), "foobar", partition=FOOBAR_HOME_OF_4)
    assert (gauge("combined_review", "running"), gauge("combined_review", "at_risk")) == (1, 1)
    assert gauge("study_setup", "running") == 2

    world.stage.forget_partition(FOOBAR_HOME_OF_4)
    assert (gauge("combined_review", "running"), gauge("combined_review", "at_risk")) == (1, 0)
    assert gauge("study_setup", "running") == 1

    # partition 3 swept with no studies (none left on this worker): nothing counted
    world.stage.sweep([], partition=ABC_HOME_OF_4, as_of=date(2025, 2, 15), now=NOW)
    assert (gauge("combined_review", "running"), gauge("study_setup", "running")) == (0, 0)


def test_study_clock_gauge_counts_a_partition_again_after_it_returns() -> None:
    world = World(partitions=4)
    world.send(ev("regulatory_submitted", "2025-01-01", study="foobar"), today=date(2025, 1, 1))
    world.stage.forget_partition(FOOBAR_HOME_OF_4)
    assert world.sample("trial_setup_study_clocks", kpi="combined_review", state="running") == 0

    world.sweep(date(2025, 1, 2), "foobar", partition=FOOBAR_HOME_OF_4)
    assert world.sample("trial_setup_study_clocks", kpi="combined_review", state="running") == 1


# -- which studies a day tick re-evaluates ----------------------------------------------------


def test_a_day_tick_is_due_only_for_studies_whose_clocks_change_that_day() -> None:
    world = World()
    # CPMS-1: first_participant from 2025-01-31: at risk on 02-23 (day 23), breached 03-03
    world.send(ev("site_opened", "2025-01-31", site="RGT"), today=date(2025, 1, 31))
    # CPMS-2: its only clock has stopped (met): nothing changes with time
    world.send(
        ev("site_opened", "2025-01-31", site="RGT", study="CPMS-2"),
        ev("first_participant_recruited", "2025-01-31", site="RGT", study="CPMS-2"),
        today=date(2025, 1, 31),
    )
    stage = world.stage
    assert stage.due_studies(0, date(2025, 2, 22)) == []
    assert stage.due_studies(0, date(2025, 2, 23)) == [STUDY]
    assert alert_ids(world.sweep(date(2025, 2, 23), STUDY)) == [f"{FP}/at_risk"]
    # swept: next due when it passes its limit
    assert stage.due_studies(0, date(2025, 3, 2)) == []
    assert stage.due_studies(0, date(2025, 3, 3)) == [STUDY]
    # an event recorded on a past day makes its study due at once
    world.send(ev("site_invited", "2025-01-20", site="RAJ", study="CPMS-2"), today=date(2025, 3, 1))
    assert stage.due_studies(0, date(2025, 3, 1)) == ["CPMS-2"]
