"""The milestone contract (section 1): valid and invalid tables side by side."""

from __future__ import annotations

from datetime import date

import pytest

from core.codec import dumps
from events.milestones import Milestone, MilestoneKind
from events.validation import MAX_MESSAGE_BYTES, Rejection, RejectReason, validate_event
from tests.factories import raw_event

STUDY = {"site_id": None}
REGISTERED = {"site_id": None, "milestone": "study_registered"}

VALID = [
    ("site milestone", raw_event(), MilestoneKind.SITE_SELECTED),
    ("study milestone", raw_event(milestone="hra_approved", **STUDY), MilestoneKind.HRA_APPROVED),
    (
        "registration with attributes",
        raw_event(
            **REGISTERED, attributes={"sponsor_id": "acme-pharma", "title": "T", "atimp": True}
        ),
        MilestoneKind.STUDY_REGISTERED,
    ),
    ("retraction", raw_event(retract=True), MilestoneKind.SITE_SELECTED),
    (
        "retracted registration needs no attributes",
        raw_event(**REGISTERED, retract=True),
        MilestoneKind.STUDY_REGISTERED,
    ),
    (
        "null optional fields count as absent",
        {**raw_event(milestone="hra_approved", **STUDY), "site_id": None, "retract": None},
        MilestoneKind.HRA_APPROVED,
    ),
    ("Z offset", raw_event(recorded_at="2025-03-01T10:00:00Z"), MilestoneKind.SITE_SELECTED),
    # RFC 3339 section 5.6: "T" and "Z" may be lower case (found by the fuzzer, `make fuzz`)
    (
        "lower-case z offset",
        raw_event(recorded_at="2025-03-01t10:00:00.5z"),
        MilestoneKind.SITE_SELECTED,
    ),
    (
        "fractional seconds",
        raw_event(recorded_at="2025-03-01T10:00:00.123456789+01:00"),
        MilestoneKind.SITE_SELECTED,
    ),
    # 2025-03-30 23:30 UTC is 00:30 BST on 31 March: that UK day is the limit for `date`.
    (
        "UK date of recorded_at in BST",
        raw_event(date="2025-03-31", recorded_at="2025-03-30T23:30:00Z"),
        MilestoneKind.SITE_SELECTED,
    ),
    (
        "leap day",
        raw_event(date="2024-02-29", recorded_at="2024-03-01T09:00:00Z"),
        MilestoneKind.SITE_SELECTED,
    ),
    ("event_id of 128 characters", raw_event(event_id="x" * 128), MilestoneKind.SITE_SELECTED),
    (
        "study_id with punctuation",
        raw_event(study_id="IRAS:123.4_a-b"),
        MilestoneKind.SITE_SELECTED,
    ),
]

INVALID = [
    ("not JSON", b"{not json", RejectReason.NOT_JSON, "not valid UTF-8 JSON"),
    ("not UTF-8", b'{"event_id": "\xff"}', RejectReason.NOT_JSON, "not valid UTF-8 JSON"),
    ("empty (a tombstone's value, read as empty)", b"", RejectReason.NOT_JSON, "tombstone"),
    ("JSON array", b"[1, 2]", RejectReason.NOT_OBJECT, "got list"),
    (
        "unknown field",
        raw_event(nhs_number="943 476 5919"),
        RejectReason.UNKNOWN_FIELD,
        "nhs_number",
    ),
    (
        "unknown attribute",
        raw_event(**REGISTERED, attributes={"sponsor_id": "acme", "patient": "x"}),
        RejectReason.UNKNOWN_FIELD,
        "attributes.patient",
    ),
    ("missing event_id", raw_event(event_id=None), RejectReason.MISSING_FIELD, "event_id"),
    ("missing recorded_at", raw_event(recorded_at=None), RejectReason.MISSING_FIELD, "recorded_at"),
    (
        "registration without attributes",
        raw_event(**REGISTERED),
        RejectReason.MISSING_FIELD,
        "attributes",
    ),
    (
        "registration without sponsor",
        raw_event(**REGISTERED, attributes={"title": "T"}),
        RejectReason.MISSING_FIELD,
        "attributes.sponsor_id",
    ),
    (
        "date is a number",
        raw_event(date=20250301),
        RejectReason.WRONG_TYPE,
        "date must be a string",
    ),
    (
        "retract is a string",
        raw_event(retract="yes"),
        RejectReason.WRONG_TYPE,
        "retract must be a boolean",
    ),
    ("event_id is true", raw_event(event_id=True), RejectReason.WRONG_TYPE, "event_id"),
    (
        "atimp is a string",
        raw_event(**REGISTERED, attributes={"sponsor_id": "acme", "atimp": "no"}),
        RejectReason.WRONG_TYPE,
        "attributes.atimp must be a boolean",
    ),
    (
        "attributes is a list",
        raw_event(**REGISTERED, attributes=["acme"]),
        RejectReason.WRONG_TYPE,
        "attributes must be an object",
    ),
    (
        "unknown milestone",
        raw_event(milestone="site_opened_maybe"),
        RejectReason.UNKNOWN_MILESTONE,
        "site_opened_maybe",
    ),
    ("empty event_id", raw_event(event_id=""), RejectReason.INVALID_VALUE, "1..128"),
    (
        "event_id of 129 characters",
        raw_event(event_id="x" * 129),
        RejectReason.INVALID_VALUE,
        "1..128",
    ),
    ("study_id with a space", raw_event(study_id="CPMS 1"), RejectReason.INVALID_VALUE, "study_id"),
    ("lower-case ODS code", raw_event(site_id="rgt"), RejectReason.INVALID_VALUE, "site_id"),
    ("source of 65 characters", raw_event(source="s" * 65), RejectReason.INVALID_VALUE, "source"),
    (
        "sponsor_id that cannot name a topic",
        raw_event(**REGISTERED, attributes={"sponsor_id": "acme/eu"}),
        RejectReason.INVALID_VALUE,
        "sponsor_id",
    ),
    (
        "site_id on a study milestone",
        raw_event(milestone="hra_approved"),
        RejectReason.SITE_ID_NOT_ALLOWED,
        "study milestone",
    ),
    (
        "no site_id on a site milestone",
        raw_event(site_id=None),
        RejectReason.MISSING_SITE_ID,
        "site_id is required",
    ),
    (
        "attributes on another milestone",
        raw_event(attributes={"sponsor_id": "acme"}),
        RejectReason.ATTRIBUTES_NOT_ALLOWED,
        "study_registered only",
    ),
    ("30 February", raw_event(date="2025-02-30"), RejectReason.IMPOSSIBLE_DATE, "does not exist"),
    (
        "29 February in a common year",
        raw_event(date="2025-02-29"),
        RejectReason.IMPOSSIBLE_DATE,
        "does not exist",
    ),
    ("day-first date", raw_event(date="01/03/2025"), RejectReason.IMPOSSIBLE_DATE, "YYYY-MM-DD"),
    (
        "timestamp without offset",
        raw_event(recorded_at="2025-03-01T10:00:00"),
        RejectReason.INVALID_TIMESTAMP,
        "offset",
    ),
    (
        "hour 24",
        raw_event(recorded_at="2025-03-01T24:00:00Z"),
        RejectReason.INVALID_TIMESTAMP,
        "does not exist",
    ),
    # found by the fuzzer (`make fuzz`): an offset of 99 minutes was taken as 1 h 39 min
    (
        "offset minutes over 59",
        raw_event(recorded_at="2025-03-01T10:00:00+00:60"),
        RejectReason.INVALID_TIMESTAMP,
        "not an RFC 3339 timestamp",
    ),
    # found by the fuzzer (`make fuzz`): the UK date fell outside Python's calendar and
    # OverflowError escaped validation (a message that would stop a worker)
    (
        "recorded_at whose UK date is before year 1",
        raw_event(date="0001-01-01", recorded_at="0001-01-01T00:00:00+01:00"),
        RejectReason.INVALID_TIMESTAMP,
        "no UK date",
    ),
    (
        "recorded_at whose UK date is after 9999",
        raw_event(date="2025-01-01", recorded_at="9999-12-31T23:59:59-01:00"),
        RejectReason.INVALID_TIMESTAMP,
        "no UK date",
    ),
    (
        "date after the UK day of recorded_at",
        raw_event(date="2025-03-02", recorded_at="2025-03-01T23:30:00Z"),
        RejectReason.DATE_AFTER_RECORDED,
        "after the UK date 2025-03-01",
    ),
    # 2025-10-26 23:30 UTC is still 26 October in the UK (GMT again after the clocks go back).
    (
        "date after recorded_at in GMT",
        raw_event(date="2025-10-27", recorded_at="2025-10-26T23:30:00Z"),
        RejectReason.DATE_AFTER_RECORDED,
        "2025-10-26",
    ),
]


def encode(message: dict[str, object] | bytes) -> bytes:
    return message if isinstance(message, bytes) else dumps(message)


@pytest.mark.parametrize(
    ("message", "milestone"), [row[1:] for row in VALID], ids=[row[0] for row in VALID]
)
def test_valid_events_decode(message: dict[str, object], milestone: MilestoneKind) -> None:
    result = validate_event(encode(message))
    assert isinstance(result, Milestone), result
    assert result.milestone is milestone
    assert result.event_id == message["event_id"]


@pytest.mark.parametrize(
    ("message", "reason", "detail"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID]
)
def test_invalid_events_name_their_reason(
    message: dict[str, object] | bytes, reason: RejectReason, detail: str
) -> None:
    result = validate_event(encode(message))
    assert isinstance(result, Rejection), result
    assert result.reason is reason
    assert detail in result.detail


def test_every_reject_reason_has_a_row() -> None:
    covered = {row[2] for row in INVALID} | {RejectReason.TOO_LARGE}
    assert covered == set(RejectReason)


def test_over_64_kib_is_rejected_and_64_kib_is_not() -> None:
    # JSON whitespace pads a valid event to exactly the limit and still decodes
    at_limit = dumps(raw_event())
    at_limit += b" " * (MAX_MESSAGE_BYTES - len(at_limit))
    assert len(at_limit) == MAX_MESSAGE_BYTES
    assert isinstance(validate_event(at_limit), Milestone)
    over = validate_event(at_limit + b" ")
    assert isinstance(over, Rejection) and over.reason is RejectReason.TOO_LARGE


def test_rejection_keeps_a_readable_milestone_for_the_metric_label() -> None:
    result = validate_event(dumps(raw_event(date="2025-02-30")))
    assert isinstance(result, Rejection) and result.milestone == "site_selected"
    unreadable = validate_event(b"{")
    assert isinstance(unreadable, Rejection) and unreadable.milestone is None


def test_recorded_day_is_the_uk_date() -> None:
    result = validate_event(dumps(raw_event(date="2025-06-30", recorded_at="2025-06-30T23:30:00Z")))
    assert isinstance(result, Milestone) and result.recorded_day == date(2025, 7, 1)


def test_wire_form_round_trips() -> None:
    message = raw_event(**REGISTERED, attributes={"sponsor_id": "acme", "atimp": True})
    decoded = validate_event(dumps(message))
    assert isinstance(decoded, Milestone)
    again = validate_event(dumps(decoded.to_json()))
    assert again == decoded
