"""Validation of raw milestone messages. Every rejection names its precise reason.

`validate_event` never raises for bad input: it returns a `Milestone` or a `Rejection`
(bad input is data, not a crash), so callers can route rejections to the dead-letter topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from core.codec import JSONDecodeError, loads
from core.time import uk_date
from events.milestones import (
    SITE_MILESTONES,
    Milestone,
    MilestoneKind,
    StudyAttributes,
)

MAX_MESSAGE_BYTES = 64 * 1024

STUDY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
SITE_ID_PATTERN = re.compile(r"[A-Z0-9]{3,10}")
# sponsor_id names a Kafka topic (setup.sponsor.<sponsor_id>.study-status), so it must be
# made of characters Kafka allows in topic names.
SPONSOR_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
RFC3339_PATTERN = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:[0-5]\d)"
)

REQUIRED_FIELDS = ("event_id", "study_id", "milestone", "date", "recorded_at", "source")
OPTIONAL_FIELDS = ("site_id", "retract", "attributes")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)
MILESTONE_NAMES = frozenset(kind.value for kind in MilestoneKind)
ATTRIBUTE_TYPES: dict[str, type] = {
    "sponsor_id": str,
    "title": str,
    "commercial": bool,
    "ctimp": bool,
    "atimp": bool,
    "excluded_reason": str,
}


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_MILESTONE = "unknown_milestone"
    INVALID_VALUE = "invalid_value"
    SITE_ID_NOT_ALLOWED = "site_id_not_allowed"
    MISSING_SITE_ID = "missing_site_id"
    ATTRIBUTES_NOT_ALLOWED = "attributes_not_allowed"
    IMPOSSIBLE_DATE = "impossible_date"
    INVALID_TIMESTAMP = "invalid_timestamp"
    DATE_AFTER_RECORDED = "date_after_recorded"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str
    # The milestone name when it could be read, for the metric label (else "invalid").
    milestone: str | None = None


class _Invalid(Exception):
    """Internal: carries a rejection out of the nested checks."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def validate_event(raw: bytes) -> Milestone | Rejection:
    """Decode and check one message against CONTRACT.md section 1."""
    if not raw:
        return Rejection(
            RejectReason.NOT_JSON, "an empty message (no value, e.g. a tombstone) is not an event"
        )
    if len(raw) > MAX_MESSAGE_BYTES:
        return Rejection(
            RejectReason.TOO_LARGE,
            f"message is {len(raw)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit",
        )
    try:
        data = loads(raw)
    except JSONDecodeError as exc:
        return Rejection(RejectReason.NOT_JSON, f"not valid UTF-8 JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection(
            RejectReason.NOT_OBJECT, f"expected a JSON object, got {type(data).__name__}"
        )
    milestone_name = data.get("milestone")
    # a str check first: a JSON list or object is not hashable, so not a set member
    known = isinstance(milestone_name, str) and milestone_name in MILESTONE_NAMES
    readable = milestone_name if known else None
    try:
        return _check(data)
    except _Invalid as exc:
        return Rejection(exc.reason, exc.detail, readable)


def _check(data: dict[str, object]) -> Milestone:
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise _Invalid(RejectReason.UNKNOWN_FIELD, f"unknown field(s): {', '.join(unknown)}")
    missing = [name for name in REQUIRED_FIELDS if data.get(name) is None]
    if missing:
        raise _Invalid(RejectReason.MISSING_FIELD, f"missing field(s): {', '.join(missing)}")

    event_id = _string(data, "event_id", 1, 128)
    study_id = _string(data, "study_id", 1, 64)
    source = _string(data, "source", 1, 64)
    milestone_name = str(_typed(data, "milestone", str))
    date_text = _typed(data, "date", str)
    recorded_text = _typed(data, "recorded_at", str)
    site_value = _optional(data, "site_id", str)
    site_id = None if site_value is None else str(site_value)
    retract = _optional(data, "retract", bool) is True
    raw_attributes = _optional(data, "attributes", dict)

    if not STUDY_ID_PATTERN.fullmatch(study_id):
        raise _Invalid(RejectReason.INVALID_VALUE, f"study_id {study_id!r} is not a CPMS study ID")
    try:
        kind = MilestoneKind(milestone_name)
    except ValueError:
        raise _Invalid(
            RejectReason.UNKNOWN_MILESTONE,
            f"milestone {milestone_name!r} is not one of the contract's",
        ) from None

    if kind in SITE_MILESTONES:
        if site_id is None:
            raise _Invalid(
                RejectReason.MISSING_SITE_ID, f"{kind} is a site milestone: site_id is required"
            )
        if not SITE_ID_PATTERN.fullmatch(site_id):
            raise _Invalid(RejectReason.INVALID_VALUE, f"site_id {site_id!r} is not an ODS code")
    elif site_id is not None:
        raise _Invalid(
            RejectReason.SITE_ID_NOT_ALLOWED, f"{kind} is a study milestone: it takes no site_id"
        )

    attributes = _attributes(kind, raw_attributes, retract)
    event_date = _date(date_text)
    recorded_at = _timestamp(recorded_text)
    try:
        recorded_day = uk_date(recorded_at)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is still in year 0 in the UK
        raise _Invalid(
            RejectReason.INVALID_TIMESTAMP,
            f"recorded_at {recorded_text!r} has no UK date between years 1 and 9999",
        ) from None
    if event_date > recorded_day:
        raise _Invalid(
            RejectReason.DATE_AFTER_RECORDED,
            f"date {event_date} is after the UK date {recorded_day} of recorded_at",
        )
    return Milestone(
        event_id=event_id,
        study_id=study_id,
        milestone=kind,
        date=event_date,
        recorded_at=recorded_at,
        recorded_day=recorded_day,
        source=source,
        site_id=site_id,
        retract=retract,
        attributes=attributes,
    )


def _typed(data: dict[str, object], name: str, expected: type, label: str = "") -> object:
    value = data[name]
    # bool is a subclass of int in Python; JSON true is never a number here.
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise _Invalid(
            RejectReason.WRONG_TYPE,
            f"{label or name} must be {_json_type(expected)}, got {_json_type(type(value))}",
        )
    return value


def _string(data: dict[str, object], name: str, shortest: int, longest: int) -> str:
    value = str(_typed(data, name, str))
    if not shortest <= len(value) <= longest:
        raise _Invalid(
            RejectReason.INVALID_VALUE,
            f"{name} must be {shortest}..{longest} characters, got {len(value)}",
        )
    return value


def _optional(data: dict[str, object], name: str, expected: type) -> object:
    """An optional field; JSON null counts as absent."""
    if data.get(name) is None:
        return None
    return _typed(data, name, expected)


def _attributes(kind: MilestoneKind, raw: object, retract: bool) -> StudyAttributes | None:
    if kind is not MilestoneKind.STUDY_REGISTERED:
        if raw is not None:
            raise _Invalid(
                RejectReason.ATTRIBUTES_NOT_ALLOWED, "attributes belong to study_registered only"
            )
        return None
    if raw is None:
        if retract:
            return None
        raise _Invalid(RejectReason.MISSING_FIELD, "missing field(s): attributes")
    assert isinstance(raw, dict)  # noqa: S101 - guaranteed by _optional(..., dict)
    unknown = sorted(set(raw) - set(ATTRIBUTE_TYPES))
    if unknown:
        names = ", ".join(f"attributes.{name}" for name in unknown)
        raise _Invalid(RejectReason.UNKNOWN_FIELD, f"unknown field(s): {names}")
    if raw.get("sponsor_id") is None:
        raise _Invalid(RejectReason.MISSING_FIELD, "missing field(s): attributes.sponsor_id")
    for name, expected in ATTRIBUTE_TYPES.items():
        if raw.get(name) is not None:
            _typed(raw, name, expected, label=f"attributes.{name}")
    sponsor_id = raw["sponsor_id"]
    assert isinstance(sponsor_id, str)  # noqa: S101 - checked just above
    if not SPONSOR_ID_PATTERN.fullmatch(sponsor_id):
        raise _Invalid(
            RejectReason.INVALID_VALUE,
            f"attributes.sponsor_id {sponsor_id!r} must be letters, digits, '_' or '-' (it names a topic)",
        )
    return StudyAttributes.from_json({k: v for k, v in raw.items() if v is not None})


def _date(text: object) -> date:
    assert isinstance(text, str)  # noqa: S101 - checked by _typed
    if not DATE_PATTERN.fullmatch(text):
        raise _Invalid(RejectReason.IMPOSSIBLE_DATE, f"date {text!r} is not YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _Invalid(
            RejectReason.IMPOSSIBLE_DATE, f"date {text!r} does not exist: {exc}"
        ) from None


def _timestamp(text: object) -> datetime:
    assert isinstance(text, str)  # noqa: S101 - checked by _typed
    if not RFC3339_PATTERN.fullmatch(text):
        raise _Invalid(
            RejectReason.INVALID_TIMESTAMP,
            f"recorded_at {text!r} is not an RFC 3339 timestamp with an offset",
        )
    try:
        # RFC 3339 allows a lower-case "z", which Python 3.11's fromisoformat refuses
        return datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise _Invalid(
            RejectReason.INVALID_TIMESTAMP, f"recorded_at {text!r} does not exist: {exc}"
        ) from None


def _json_type(python_type: type) -> str:
    return {
        str: "a string",
        bool: "a boolean",
        dict: "an object",
        list: "an array",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(python_type, python_type.__name__)
