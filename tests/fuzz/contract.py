"""CONTRACT.md section 1 written again, independently of `events/validation.py`, for the fuzzer.

`contract_verdict(raw)` says whether a message is a valid milestone event (and what it holds)
with the standard library's `json`, its own patterns (ASCII only, anchored with `\\Z`) and its
own RFC 3339 parser, so a rule broken or loosened in validation shows up as a disagreement.
Where the contract leaves a choice open, README "Validation" decides: JSON null in an optional
field counts as absent, `sponsor_id` must name a topic, a retracted `study_registered` needs
no attributes. Leap seconds (`:60`) and years before 0001 are out of range, as in Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

# README "The KPI rules...", "Validation": every code a rejection may carry.
CONTRACT_CODES = frozenset(
    {
        "too_large",
        "not_json",
        "not_object",
        "unknown_field",
        "missing_field",
        "wrong_type",
        "unknown_milestone",
        "invalid_value",
        "site_id_not_allowed",
        "missing_site_id",
        "attributes_not_allowed",
        "impossible_date",
        "invalid_timestamp",
        "date_after_recorded",
    }
)
STUDY_MILESTONES = (
    "study_registered",
    "regulatory_submitted",
    "regulatory_approved",
    "hra_approved",
)
SITE_MILESTONES = (
    "site_invited",
    "site_selected",
    "site_confirmed",
    "site_opened",
    "first_participant_consented",
    "first_participant_recruited",
    "site_withdrawn",
    "site_closed",
)
FIELDS = {"event_id", "study_id", "site_id", "milestone", "date", "recorded_at", "source"}
FIELDS |= {"retract", "attributes"}
REQUIRED = ("event_id", "study_id", "milestone", "date", "recorded_at", "source")
ATTRIBUTES = {"sponsor_id": str, "title": str, "commercial": bool, "ctimp": bool, "atimp": bool}
ATTRIBUTES["excluded_reason"] = str
MAX_BYTES = 64 * 1024

STUDY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z", re.ASCII)
SITE_ID = re.compile(r"[A-Z0-9]{3,10}\Z", re.ASCII)
SPONSOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\Z", re.ASCII)
DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
# RFC 3339 section 5.6 date-time; "T" and "Z" may be lower case, and the T a space (its note)
TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d+))?"
    r"(?:([Zz])|([+-])([01]\d|2[0-3]):([0-5]\d))\Z",
    re.ASCII,
)
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Expected:
    """What a valid message holds, in the form `Milestone` should hold it."""

    event_id: str
    study_id: str
    milestone: str
    date: date
    recorded_at: datetime
    recorded_day: date
    source: str
    site_id: str | None
    retract: bool
    attributes: dict[str, Any] | None


class Invalid(Exception):
    """Why the independent reading refuses a message."""


def contract_verdict(raw: bytes) -> Expected | Invalid:
    try:
        return _read(raw)
    except Invalid as exc:
        return exc


def _read(raw: bytes) -> Expected:
    if len(raw) > MAX_BYTES:
        raise Invalid("over 64 KiB")
    data = _json(raw)
    if type(data) is not dict:
        raise Invalid("not an object")
    if set(data) - FIELDS:
        raise Invalid("unknown field")
    present = {name: value for name, value in data.items() if value is not None}
    for name in REQUIRED:
        if name not in present:
            raise Invalid(f"missing {name}")
    event_id = _text(present, "event_id", 128)
    study_id = _text(present, "study_id", 64)
    source = _text(present, "source", 64)
    milestone = _text(present, "milestone", 10_000)
    if milestone not in STUDY_MILESTONES + SITE_MILESTONES:
        raise Invalid("unknown milestone")
    if not STUDY_ID.match(study_id):
        raise Invalid("study_id")
    site_id = present.get("site_id")
    if site_id is not None and type(site_id) is not str:
        raise Invalid("site_id type")
    if milestone in SITE_MILESTONES and (site_id is None or not SITE_ID.match(site_id)):
        raise Invalid("site milestone without an ODS site_id")
    if milestone in STUDY_MILESTONES and site_id is not None:
        raise Invalid("site_id on a study milestone")
    retract = present.get("retract", False)
    if type(retract) is not bool:
        raise Invalid("retract type")
    attributes = _attributes(milestone, present.get("attributes"), retract)
    day = _day(present["date"])
    recorded_at = parse_timestamp(present["recorded_at"])
    try:
        recorded_day = recorded_at.astimezone(UK).date()
    except OverflowError:
        raise Invalid("recorded_at out of range") from None
    if day > recorded_day:
        raise Invalid("date after the UK day of recorded_at")
    return Expected(
        event_id, study_id, milestone, day, recorded_at, recorded_day, source, site_id, retract,
        attributes,
    )  # fmt: skip


def _json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")  # strict: no overlong forms, no encoded surrogates
    except UnicodeDecodeError:
        raise Invalid("not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Invalid("not JSON") from None
    _no_lone_surrogates(data)
    return data


def _no_constant(name: str) -> None:
    raise Invalid(f"{name} is not JSON")


def _no_lone_surrogates(value: Any) -> None:
    """`\\ud800` escapes decode to unpaired surrogates, which are not Unicode text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("lone surrogate") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_lone_surrogates(key)
            _no_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _no_lone_surrogates(item)


def _text(data: dict[str, Any], name: str, longest: int) -> str:
    value = data[name]
    if type(value) is not str or not 1 <= len(value) <= longest:
        raise Invalid(f"{name} is not a string of 1..{longest} characters")
    return value


def _attributes(milestone: str, value: Any, retract: bool) -> dict[str, Any] | None:
    if milestone != "study_registered":
        if value is not None:
            raise Invalid("attributes on another milestone")
        return None
    if value is None:
        if retract:
            return None
        raise Invalid("registration without attributes")
    if type(value) is not dict or set(value) - set(ATTRIBUTES):
        raise Invalid("attributes")
    given = {name: item for name, item in value.items() if item is not None}
    for name, item in given.items():
        if type(item) is not ATTRIBUTES[name]:
            raise Invalid(f"attributes.{name} type")
    if "sponsor_id" not in given or not SPONSOR_ID.match(given["sponsor_id"]):
        raise Invalid("attributes.sponsor_id")
    return {"commercial": True, "ctimp": True, "atimp": False, **given}


def _day(value: Any) -> date:
    match = DAY.match(value) if type(value) is str else None
    if match is None:
        raise Invalid("date is not YYYY-MM-DD")
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        raise Invalid("no such day") from None


def parse_timestamp(value: Any) -> datetime:
    match = TIMESTAMP.match(value) if type(value) is str else None
    if match is None:
        raise Invalid("recorded_at is not RFC 3339 with an offset")
    day_text, hour, minute, second, fraction, zulu, sign, off_hour, off_minute = match.groups()
    day = _day(day_text)
    micro = int((fraction or "")[:6].ljust(6, "0"))  # finer than microseconds is cut off
    if zulu:
        offset = UTC
    else:
        delta = timedelta(hours=int(off_hour), minutes=int(off_minute))
        offset = timezone(-delta if sign == "-" else delta)
    return datetime(
        day.year, day.month, day.day, int(hour), int(minute), int(second), micro, tzinfo=offset
    )
