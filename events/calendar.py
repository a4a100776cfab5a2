"""UK calendar days. Every KPI day is a whole calendar day in Europe/London."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def uk_date(moment: datetime) -> date:
    """The UK calendar day of an aware timestamp (GMT in winter, BST in summer)."""
    if moment.tzinfo is None:
        raise ValueError("uk_date needs an aware datetime")
    return moment.astimezone(UK).date()
