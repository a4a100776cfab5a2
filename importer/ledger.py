"""What the importer published before, one entry per ledger key (ImportedMilestone.key).

The publishing side keeps these on a compacted topic; here they are plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from core.codec import JSONDecodeError, dumps, loads
from events.validation import RFC3339_PATTERN


@dataclass(frozen=True)
class LedgerEntry:
    event_id: str  # the last event published for the key
    # the canonical value last published: the date (ISO), followed for study_registered by
    # its attributes as sorted JSON; None when the last publication was a retraction
    value: str | None
    recorded_at: str  # RFC 3339: the export time of the last publication
    # value -> times published (retractions as "retract <value>"): the revision in event IDs
    published: dict[str, int] = field(default_factory=dict)

    @property
    def recorded(self) -> datetime:
        return datetime.fromisoformat(self.recorded_at.upper())

    def to_json(self) -> bytes:
        return dumps(
            {
                "event_id": self.event_id,
                "value": self.value,
                "recorded_at": self.recorded_at,
                "published": self.published,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> LedgerEntry:
        """Raises ValueError when `data` is not a ledger entry."""
        try:
            raw = loads(data)
        except JSONDecodeError as exc:
            raise ValueError(f"a ledger entry is not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError("a ledger entry must be a JSON object")
        event_id, value = raw.get("event_id"), raw.get("value")
        recorded_at, published = raw.get("recorded_at"), raw.get("published", {})
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("a ledger entry needs an event_id string")
        if value is not None and not _is_value(value):
            raise ValueError(f"ledger entry {event_id}: value {value!r} does not start with a date")
        if not isinstance(recorded_at, str) or not RFC3339_PATTERN.fullmatch(recorded_at):
            raise ValueError(f"ledger entry {event_id}: recorded_at must be an RFC 3339 time")
        if not isinstance(published, dict) or not all(
            isinstance(count, int) and not isinstance(count, bool) and count > 0
            for count in published.values()
        ):
            raise ValueError(f"ledger entry {event_id}: published must map values to counts")
        return cls(event_id, value, recorded_at, dict(published))


def _is_value(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return len(value) == 10 or value[10] == " "
