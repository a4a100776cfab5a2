"""The date forms of EDGE and CPMS exports (importer/dates.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from importer.dates import parse_export_date

D = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("31/03/2026", D),
        ("1/3/2026", date(2026, 3, 1)),  # UK: day first
        ("2026-03-31", D),
        ("31/03/2026 00:00", D),
        ("31/03/2026 00:00:00", D),
        ("2026-03-31 00:00:00", D),
        ("2026-03-31T00:00:00", D),
        ("  31/03/2026  ", D),
        ("31-Mar-2026", D),
        ("31 Mar 2026", D),
        ("31 March 2026", D),
        ("31.03.2026", D),
        (datetime(2026, 3, 31, 0, 0), D),  # noqa: DTZ001 - an xlsx date cell (naive)
        (datetime(2026, 3, 31, 14, 30), D),  # noqa: DTZ001 - with a time: the day counts
        (D, D),
        (46112, D),  # Excel serial number (1900 system)
        (46112.75, D),  # with a time of day
        ("46112", D),
        ("46112.0", D),
        (45351, date(2024, 2, 29)),  # a leap day, after Excel's phantom 1900-02-29
    ],
)
def test_accepted_forms(cell: object, expected: date) -> None:
    assert parse_export_date(cell) == expected


@pytest.mark.parametrize("cell", [None, "", "   ", "\t"])
def test_blank_is_none(cell: object) -> None:
    assert parse_export_date(cell) is None


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("03/31/2026", "day 03, month 31?"),  # a US date
        ("next week", "'next week' is not a date (use 31/03/2026 or 2026-03-31)"),
        ("31/02/2026", "month 2 of 2026 has no day 31"),
        ("2026-13-01", "there is no month 13"),
        ("31/03/26", "write the year in full"),
        ("31-Mar-26", "write the year in full"),
        ("31 Foo 2026", "no month is called 'Foo'"),
        ("31/03/0026", "the year must be 1990..2100"),
        ("2206-03-31", "the year must be 1990..2100"),
        (12, "between 32874 (1990-01-01) and 73415 (2100-12-31)"),
        ("2026", "between 32874"),
        (float("nan"), "is not a date"),
        (True, "is not a date"),
        ("TBC", "is not a date"),
        ([2026, 3, 31], "is not a date"),
    ],
)
def test_refusals_say_why(cell: object, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_export_date(cell)
    assert says in str(caught.value)


def test_serial_range_edges() -> None:
    assert parse_export_date(32874) == date(1990, 1, 1)
    assert parse_export_date(73415) == date(2100, 12, 31)
    with pytest.raises(ValueError):
        parse_export_date(32873)
    with pytest.raises(ValueError):
        parse_export_date(73416)
