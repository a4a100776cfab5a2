"""An alert as a `setup.alerts` message (CONTRACT.md section 3): the typed record readers of
the topic work on, with the one writer (`to_json`) and the one reader (`from_json`) of its JSON.

`rules.decide.Alert.to_json` writes through this record, so what the stream publishes is
exactly what `from_json` reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from rules.ids import AlertFacets, AlertId

FIELDS = (
    "alert_id", "kind", "kpi", "study_id", "site_id", "sponsor_id", "start_date", "due_date",
    "stop_date", "elapsed_days", "limit_days", "as_of", "raised_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AlertRecord(AlertFacets):
    id: AlertId
    sponsor_id: str | None
    due_date: date
    stop_date: date | None
    elapsed_days: int | None
    limit_days: int
    as_of: date
    raised_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "alert_id": self.alert_id,
            "kind": self.kind.value,
            "kpi": self.kpi.value,
            "study_id": self.study_id,
            "site_id": self.site_id,
            "sponsor_id": self.sponsor_id,
            "start_date": self.start_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "stop_date": None if self.stop_date is None else self.stop_date.isoformat(),
            "elapsed_days": self.elapsed_days,
            "limit_days": self.limit_days,
            "as_of": self.as_of.isoformat(),
            "raised_at": self.raised_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: object) -> AlertRecord:
        """A decoded `setup.alerts` message; ValueError naming the field for anything that
        is not one. The fields the alert ID already holds must agree with it."""
        if not isinstance(data, dict):
            raise ValueError(f"an alert must be a JSON object, not {type(data).__name__}")
        missing = [name for name in FIELDS if name not in data]
        if missing:
            raise ValueError(f"alert {data.get('alert_id')!r} lacks {', '.join(missing)}")
        alert_id = AlertId.parse(_text(data, "alert_id"))
        record = cls(
            alert_id,
            sponsor_id=_optional_text(data, "sponsor_id"),
            due_date=_date(data, "due_date"),
            stop_date=None if data["stop_date"] is None else _date(data, "stop_date"),
            elapsed_days=None if data["elapsed_days"] is None else _int(data, "elapsed_days"),
            limit_days=_int(data, "limit_days"),
            as_of=_date(data, "as_of"),
            raised_at=_moment(data, "raised_at"),
        )
        said_by_id = {
            "kind": alert_id.kind.value,
            "kpi": alert_id.clock.kpi.value,
            "study_id": alert_id.clock.study_id,
            "site_id": alert_id.clock.site_id,
            "start_date": alert_id.clock.start_date.isoformat(),
        }
        for name, value in said_by_id.items():
            if data[name] != value:
                raise ValueError(
                    f"alert {data['alert_id']!r}: {name} {data[name]!r} disagrees with its ID"
                )
        return record


def _text(data: dict[str, object], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"alert field {name} must be a string, not {value!r}")
    return value


def _optional_text(data: dict[str, object], name: str) -> str | None:
    return None if data[name] is None else _text(data, name)


def _int(data: dict[str, object], name: str) -> int:
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"alert field {name} must be a whole number, not {value!r}")
    return value


def _date(data: dict[str, object], name: str) -> date:
    text = _text(data, name)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day.isoformat() != text:
        raise ValueError(f"alert field {name} must be a YYYY-MM-DD date, not {text!r}")
    return day


def _moment(data: dict[str, object], name: str) -> datetime:
    text = _text(data, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"alert field {name} must be an ISO 8601 timestamp, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"alert field {name} must carry its UTC offset, not {text!r}")
    return moment
