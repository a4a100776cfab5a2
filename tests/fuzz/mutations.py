"""Mutations of one valid event, each breaking (or keeping) one rule on purpose.

A mutation returns the new message and the outcomes it was built for: a rejection code, or
"accepted" when it only moves a value to an allowed edge. The judge checks that outcome as well
as the independent contract reading. `stacked` applies several and expects nothing in particular.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from tests.fuzz.contract import SITE_MILESTONES, STUDY_MILESTONES, Invalid, parse_timestamp
from tests.fuzz.judge import ACCEPTED
from tests.fuzz.valid_events import attributes, encode, site_id, study_id, text, uk_day

Event = dict[str, Any]
Mutated = tuple[Event, frozenset[str] | None]
REQUIRED = ("event_id", "study_id", "milestone", "date", "recorded_at", "source")
OTHER_TYPES = (0, -1, 1.5, 1e300, True, False, [], ["x"], {}, {"a": 1}, "text")
BAD_DATES = (
    "2025-02-29", "1900-02-29", "2100-02-29", "2025-02-30", "2025-04-31", "2025-00-10",
    "2025-13-01", "2025-01-00", "2025-01-32", "0000-01-01", "2025-3-1", "2025/03/01",
    "01/03/2025", "25-03-01", "+2025-03-01", "2025-03-01 ", " 2025-03-01", "2025-03-01\n",
    "2025-03-01T00:00", "20250301", "2025-W09-6", "\u0662\u0660\u0662\u0665-03-01",
    "\uff12\uff10\uff12\uff15-03-01", "", "2025-03-01\x00",
)  # fmt: skip
BAD_TIMESTAMPS = (
    "2025-03-01T10:00:00", "2025-03-01T24:00:00Z", "2025-03-01T10:60:00Z",
    "2025-03-01T10:00:60Z", "2025-03-01T10:00:00+24:00", "2025-03-01T10:00:00+00:60",
    "2025-03-01T10:00:00+00:99", "2025-03-01T10:00:00+0100", "2025-03-01T10:00Z",
    "2025-03-01", "2025-03-01T10:00:00,5Z", "2025-03-01T10:00:00.Z", "2025-03-01T10:00:00 Z",
    "2025-03-01T10:00:00Z\n", "2025-03-01X10:00:00Z", "2025-02-30T10:00:00Z",
    "2025-03-01T10:00:00+\u0660\u0661:00", "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:59Z", "9999-12-31T23:59:59-00:01", "1741000000", "",
)  # fmt: skip
EDGE_TIMESTAMPS = (
    "2025-03-01t10:00:00Z", "2025-03-01 10:00:00z", "2025-03-01T10:00:00-00:00",
    "2025-03-01T10:00:00+23:59", "2025-03-01T10:00:00-23:59", "2025-03-01T10:00:00.1Z",
    "2025-03-01T10:00:00.123456789123+01:00", "9999-12-31T23:59:59Z",
    "2025-03-30T00:59:59Z", "2025-03-30T01:00:00Z", "2025-10-26T00:59:59Z",
    "2025-10-26T01:00:00Z",
)  # fmt: skip
WRONG_NAMES = (
    "SITE_SELECTED", "Site_Selected", "site-selected", "site selected", " site_selected",
    "site_selected ", "site_selected\n", "site_selecte", "site_selectedd", "s\u0456te_selected",
    "site\u200d_selected", "site_selected\x00", "study_registered_", "", "null", "milestone",
)  # fmt: skip
EXTRA_NAMES = (
    "nhs_number", "participant_id", "Event_ID", "event_id ", "", "\x00", "\u202eevent_id",
    "attributes.sponsor_id", "__proto__", "date_of_birth",
)  # fmt: skip


def one(codes: str) -> frozenset[str]:
    return frozenset(codes.split())


def delete_required(rng: random.Random, event: Event) -> Mutated:
    name = rng.choice(REQUIRED)
    if rng.random() < 0.5:
        del event[name]
    else:
        event[name] = None
    return event, one("missing_field")


def delete_site(rng: random.Random, event: Event) -> Mutated:
    if event["milestone"] in SITE_MILESTONES:
        event.pop("site_id", None) if rng.random() < 0.5 else event.update(site_id=None)
        return event, one("missing_site_id")
    event["site_id"] = site_id(rng)
    return event, one("site_id_not_allowed")


def swap_type(rng: random.Random, event: Event) -> Mutated:
    name = rng.choice([*REQUIRED, "site_id", "retract", "attributes"])
    if name == "site_id" and event["milestone"] in STUDY_MILESTONES:
        name = "event_id"
    wanted = {"retract": bool, "attributes": dict}.get(name, str)
    choices = [v for v in OTHER_TYPES if type(v) is not wanted]
    if name == "attributes":
        choices = [v for v in choices if not isinstance(v, dict)]
    event[name] = rng.choice(choices)
    return event, one("wrong_type")


def swap_attribute_type(rng: random.Random, event: Event) -> Mutated:
    registered(rng, event)
    name = rng.choice(("sponsor_id", "title", "commercial", "ctimp", "atimp", "excluded_reason"))
    wanted = str if name in ("sponsor_id", "title", "excluded_reason") else bool
    event["attributes"][name] = rng.choice([v for v in OTHER_TYPES if type(v) is not wanted])
    return event, one("wrong_type")


def bad_date(rng: random.Random, event: Event) -> Mutated:
    event["date"] = rng.choice(BAD_DATES)
    return event, one("impossible_date")


def date_after_recorded(rng: random.Random, event: Event) -> Mutated:
    if rng.random() < 0.3 or _uk_day_of(event["recorded_at"]).year > 9990:
        event["recorded_at"] = "2025-03-30T23:30:00Z"  # 31 March in the UK (BST)
    day = _uk_day_of(event["recorded_at"]) + timedelta(days=rng.choice((1, 1, 2, 365)))
    event["date"] = day.isoformat()
    return event, one("date_after_recorded")


def edge_date(rng: random.Random, event: Event) -> Mutated:
    """The recorded day itself, leap days and the first day of the calendar: all allowed."""
    recorded = _uk_day_of(event["recorded_at"])
    options = [recorded, date(1, 1, 1), date(2000, 2, 29), date(2024, 2, 29), date(1900, 2, 28)]
    event["date"] = min(rng.choice(options), recorded).isoformat()
    return event, one(ACCEPTED)


def bad_timestamp(rng: random.Random, event: Event) -> Mutated:
    event["recorded_at"] = rng.choice(BAD_TIMESTAMPS)
    event["date"] = "0001-01-01"
    return event, one("invalid_timestamp")


def edge_timestamp(rng: random.Random, event: Event) -> Mutated:
    event["recorded_at"] = rng.choice(EDGE_TIMESTAMPS)
    event["date"] = "2025-02-27"  # before the UK day of every one of them
    return event, one(ACCEPTED)


def string_length(rng: random.Random, event: Event) -> Mutated:
    """Each length rule at its limit (accepted) and one past it (invalid_value)."""
    name, allowed = rng.choice(
        (("event_id", (1, 128)), ("source", (1, 64)), ("study_id", (1, 64)),
         ("site_id", (3, 10)), ("sponsor_id", (1, 100)))
    )  # fmt: skip
    size = max(0, rng.choice((allowed[0] - 1, allowed[0], allowed[1], allowed[1] + 1)))
    fill = "x"  # identifiers are ASCII; free text counts code points, whatever their bytes
    if name == "site_id":
        fill = "A"
    elif name in ("event_id", "source"):
        fill = rng.choice(("x", "\U0001f600", "\u0301", "\u00e9", "\x00"))
    value = fill * size
    ok = allowed[0] <= size <= allowed[1]
    if name == "sponsor_id":
        registered(rng, event)
        event["attributes"]["sponsor_id"] = value
    elif name == "site_id":
        event.update(milestone=rng.choice(SITE_MILESTONES), site_id=value, attributes=None)
    else:
        event[name] = value
    return event, one(ACCEPTED if ok else "invalid_value")


def odd_identifier(rng: random.Random, event: Event) -> Mutated:
    """Unicode where identifiers allow ASCII only."""
    odd = rng.choice(("\u0301", "\u202e", "\x00", "\n", " ", "\uff21", "\u0130", "\u00e9", "/"))
    choice = rng.random()
    if choice < 0.4:
        event["study_id"] = study_id(rng, 60) + odd
    elif choice < 0.7:
        event.update(milestone=rng.choice(SITE_MILESTONES), site_id="RG" + odd, attributes=None)
    else:
        registered(rng, event)
        event["attributes"]["sponsor_id"] = "acme" + odd
    return event, one("invalid_value")


def odd_free_text(rng: random.Random, event: Event) -> Mutated:
    """Odd but valid Unicode in the free-text fields: accepted unchanged."""
    event["event_id"] = text(rng, 1, 128)
    event["source"] = text(rng, 1, 64)
    if event["milestone"] == "study_registered" and isinstance(event.get("attributes"), dict):
        event["attributes"]["title"] = text(rng, 0, 2000)
    return event, one(ACCEPTED)


def wrong_milestone(rng: random.Random, event: Event) -> Mutated:
    event["milestone"] = rng.choice(WRONG_NAMES)
    return event, one("unknown_milestone")


def other_kind(rng: random.Random, event: Event) -> Mutated:
    """A study milestone with a site, a site milestone without, attributes where none belong."""
    if event["milestone"] in SITE_MILESTONES:
        event.update(milestone=rng.choice(STUDY_MILESTONES[1:]), attributes=None)
        return event, one("site_id_not_allowed")
    if event["milestone"] == "study_registered" and event.get("attributes") is not None:
        event.update(milestone=rng.choice(STUDY_MILESTONES[1:]))
        return event, one("attributes_not_allowed")
    event.update(milestone=rng.choice(SITE_MILESTONES), attributes=None)
    return event, one("missing_site_id")


def unregistered(rng: random.Random, event: Event) -> Mutated:
    event.update(milestone="study_registered", site_id=None, retract=rng.choice((None, False)))
    event.pop("attributes", None) if rng.random() < 0.5 else event.update(attributes=None)
    if rng.random() < 0.5:
        event["attributes"] = {"title": "T", "sponsor_id": None}
    return event, one("missing_field")


def extra_field(rng: random.Random, event: Event) -> Mutated:
    value = rng.choice((None, "x", 1, {"a": [1]}))
    if rng.random() < 0.3:
        registered(rng, event)
        event["attributes"][rng.choice(EXTRA_NAMES)] = value
    else:
        event[rng.choice(EXTRA_NAMES)] = value
    return event, one("unknown_field")


def registered(rng: random.Random, event: Event) -> None:
    event.update(milestone="study_registered", site_id=None, retract=None)
    if not isinstance(event.get("attributes"), dict):
        event["attributes"] = attributes(rng)


def _uk_day_of(value: object) -> date:
    """The UK day of a recorded_at (the fuzzer's own parser), or 1 March 2025 if it has none."""
    try:
        return uk_day(parse_timestamp(value))
    except (Invalid, OverflowError):
        return date(2025, 3, 1)


VALUE_MUTATIONS: tuple[Callable[[random.Random, Event], Mutated], ...] = (
    delete_required, delete_site, swap_type, swap_attribute_type, bad_date, date_after_recorded,
    edge_date, bad_timestamp, edge_timestamp, string_length, odd_identifier, odd_free_text,
    wrong_milestone, other_kind, unregistered, extra_field,
)  # fmt: skip


def stacked(rng: random.Random, event: Event) -> Mutated:
    for _ in range(rng.randint(2, 4)):
        try:
            event, _expect = rng.choice(VALUE_MUTATIONS)(rng, event)
        except (KeyError, TypeError, AttributeError):
            pass  # an earlier mutation removed or retyped what this one works on
    return event, None


def mutate(rng: random.Random, event: Event) -> tuple[str, bytes, frozenset[str] | None]:
    """One named value mutation (or a stack of them), encoded."""
    mutation = rng.choice((*VALUE_MUTATIONS, stacked, stacked))
    mutated, expect = mutation(rng, event)
    return mutation.__name__, encode(rng, mutated), expect
