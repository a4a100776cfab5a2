"""Building milestone events for tests."""

from __future__ import annotations

import itertools
from typing import Any

from core.codec import dumps
from events.milestones import Milestone
from events.validation import Rejection, validate_event

_ids = itertools.count(1)


def raw_event(**fields: Any) -> dict[str, Any]:
    """A valid site_selected event, with any field overridden (None removes it)."""
    event: dict[str, Any] = {
        "event_id": f"ev-{next(_ids)}",
        "study_id": "CPMS-61234",
        "site_id": "RGT",
        "milestone": "site_selected",
        "date": "2025-03-01",
        "recorded_at": "2025-03-01T10:00:00+00:00",
        "source": "edge:RGT",
    }
    for name, value in fields.items():
        if value is None:
            event.pop(name, None)
        else:
            event[name] = value
    return event


def event(
    milestone: str,
    day: str,
    *,
    site: str | None = None,
    recorded: str | None = None,
    study: str = "CPMS-1",
    event_id: str | None = None,
    **extra: Any,
) -> Milestone:
    """A decoded event; `recorded` defaults to noon UTC on `day`."""
    fields: dict[str, Any] = {
        "event_id": event_id or f"ev-{next(_ids)}",
        "study_id": study,
        "milestone": milestone,
        "date": day,
        "recorded_at": recorded or f"{day}T12:00:00+00:00",
        "source": "test",
        "site_id": site,
        **extra,
    }
    if milestone == "study_registered" and "attributes" not in fields and not extra.get("retract"):
        fields["attributes"] = {"sponsor_id": "acme"}
    result = validate_event(dumps({k: v for k, v in fields.items() if v is not None}))
    if isinstance(result, Rejection):
        raise AssertionError(f"test event is invalid: {result}")
    return result
