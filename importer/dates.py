"""The date forms EDGE and CPMS exports use, read as calendar days.

UK exports write the day first (31/03/2026); spreadsheets hold dates as cells (openpyxl gives
`datetime`) or, once a column lost its format, as Excel serial numbers. Anything ambiguous or
implausible is refused with a message that says what was expected: a wrong date would start or
stop a KPI clock silently, a refusal costs the user one edit.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from importer.cells import quoted

# Excel's 1900 date system: serial 1 is 1900-01-01 and Excel believes 1900 was a leap year,
# so for every serial after 60 the epoch is 1899-12-30.
EXCEL_EPOCH = date(1899, 12, 30)
# Set-up dates outside these years are typos (0026, 2206) or a number that is not a date.
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100
FIRST_SERIAL = (date(EARLIEST_YEAR, 1, 1) - EXCEL_EPOCH).days
LAST_SERIAL = (date(LATEST_YEAR, 12, 31) - EXCEL_EPOCH).days

HINT = "(use 31/03/2026 or 2026-03-31)"
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

# a time of day after the date (exports often add 00:00 or 00:00:00); the day is what counts
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})" + _TIME)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME)
_NAMED_MONTH = re.compile(r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{2}|\d{4})" + _TIME)
_SERIAL = re.compile(r"\d{4,6}(?:\.\d+)?")


def parse_export_date(value: object) -> date | None:
    """A cell's date; None when the cell is blank. Raises ValueError saying why not."""
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int in Python: True is not serial 1
        raise ValueError(f"{value!r} is not a date {HINT}")
    if isinstance(value, datetime):
        return _plausible(value.date(), str(value))
    if isinstance(value, date):
        return _plausible(value, str(value))
    if isinstance(value, int | float):
        return _from_serial(value, str(value))
    if isinstance(value, str):
        text = value.strip()
        return _parse_text(text) if text else None
    raise ValueError(f"{value!r} is not a date {HINT}")


@lru_cache(maxsize=8192)  # a big export repeats the same few hundred dates many times
def _parse_text(text: str) -> date:
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = match.groups()
        if int(month) > 12 and int(day) <= 12:
            raise ValueError(f"{text!r} is not a date: day {day}, month {month}? {HINT}")
        return _checked(text, _full_year(text, year), int(month), int(day))
    if match := _ISO.fullmatch(text):
        year, month, day = match.groups()
        return _checked(text, int(year), int(month), int(day))
    if match := _NAMED_MONTH.fullmatch(text):
        day, month_name, year = match.groups()
        month = MONTHS.get(month_name.lower())
        if month is None:
            raise ValueError(f"{text!r} is not a date: no month is called {month_name!r} {HINT}")
        return _checked(text, _full_year(text, year), month, int(day))
    if _SERIAL.fullmatch(text):
        return _from_serial(float(text), text)
    raise ValueError(f"{quoted(text)} is not a date {HINT}")


def _full_year(text: str, year: str) -> int:
    if len(year) == 2:
        raise ValueError(f"{text!r} is not a date: write the year in full {HINT}")
    return int(year)


def _checked(text: str, year: int, month: int, day: int) -> date:
    try:
        day_value = date(year, month, day)
    except ValueError:
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} is not a date: there is no month {month} {HINT}") from None
        raise ValueError(
            f"{text!r} is not a date: month {month} of {year} has no day {day}"
        ) from None
    return _plausible(day_value, text)


def _plausible(day_value: date, text: str) -> date:
    if not EARLIEST_YEAR <= day_value.year <= LATEST_YEAR:
        raise ValueError(
            f"{text!r} is not a plausible set-up date: the year must be "
            f"{EARLIEST_YEAR}..{LATEST_YEAR} (a typo?)"
        )
    return day_value


def _from_serial(number: float, text: str) -> date:
    if not math.isfinite(number) or not FIRST_SERIAL <= number < LAST_SERIAL + 1:
        raise ValueError(
            f"{text!r} is not a date: as an Excel date number it must be between "
            f"{FIRST_SERIAL} ({EARLIEST_YEAR}-01-01) and {LAST_SERIAL} ({LATEST_YEAR}-12-31) {HINT}"
        )
    # the fraction is the time of day; the day is the whole part
    return EXCEL_EPOCH + timedelta(days=int(number))
