"""Building milestone messages for integration scenarios."""

from __future__ import annotations

import itertools
from typing import Any

from core.codec import dumps

_ids = itertools.count(1)


def milestone(
    study: str,
    name: str,
    day: str,
    *,
    site: str | None = None,
    recorded: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid event; recorded at noon UTC on `recorded` (default: its own day)."""
    event: dict[str, Any] = {
        "event_id": f"{study}-{name}-{site or '-'}-{next(_ids)}",
        "study_id": study,
        "milestone": name,
        "date": day,
        "recorded_at": f"{recorded or day}T12:00:00+00:00",
        "source": f"edge:{site}" if site else "cpms",
        **extra,
    }
    if site:
        event["site_id"] = site
    return event


def registered(study: str, day: str, sponsor: str, **attributes: Any) -> dict[str, Any]:
    return milestone(
        study, "study_registered", day, attributes={"sponsor_id": sponsor, **attributes}
    )


def keyed(events: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """Messages keyed by study, in recorded order (as a live feed would send them)."""
    ordered = sorted(events, key=lambda e: e["recorded_at"])
    return [(e["study_id"].encode(), dumps(e)) for e in ordered]


SITES_CSV = """site_id,name,region,contacts
RGT,Cambridge University Hospitals,East of England,email:rd@rgt.nhs.example
RAJ,Mid and South Essex,East of England,email:rd@raj.nhs.example
RJ1,Guy's and St Thomas',London,webhook:http://127.0.0.1:9/rj1
"""
