"""The injectable calendar (core/time.py) and the UK day (core/time.py).

README "Configuration": SETUPMON_CALENDAR is `live` (today in Europe/London) or
`simulated:YYYY-MM-DD@EPOCHxSECONDS`. No sleeps: the wall clock is replaced.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from core.errors import ConfigError
from core.time import LiveCalendar, SimulatedCalendar, parse_calendar, uk_date

EPOCH = 1_700_000_000.0


@pytest.fixture
def wall() -> SimpleNamespace:
    """A settable wall clock, injected in place of `time.time`."""
    clock = SimpleNamespace(now=EPOCH)
    clock.read = lambda: clock.now
    return clock


@pytest.mark.parametrize("spec", ["live", ""], ids=["live", "empty"])
def test_live_specs_give_the_live_calendar(spec: str) -> None:
    assert isinstance(parse_calendar(spec), LiveCalendar)


def test_a_simulated_spec_is_parsed() -> None:
    calendar = parse_calendar(f"simulated:2025-03-01@{EPOCH:.0f}x2")
    assert calendar == SimulatedCalendar(date(2025, 3, 1), EPOCH, 2.0)


# one simulated day per 2 s from EPOCH; 2025-03-01 + 31 days = 2025-04-01 (March has 31)
SIMULATED_DAYS = [
    pytest.param(-100.0, date(2025, 3, 1), id="before-epoch-is-start"),
    pytest.param(0.0, date(2025, 3, 1), id="at-epoch"),
    pytest.param(1.999, date(2025, 3, 1), id="just-before-first-day-ends"),
    pytest.param(2.0, date(2025, 3, 2), id="one-day-later"),
    pytest.param(5.0, date(2025, 3, 3), id="two-and-a-half-days"),
    pytest.param(62.0, date(2025, 4, 1), id="thirty-one-days"),
    pytest.param(2 * 365.0, date(2026, 3, 1), id="a-year"),  # 2025-03-01 + 365 = 2026-03-01
]


@pytest.mark.parametrize(("seconds", "expected"), SIMULATED_DAYS)
def test_simulated_today_advances_one_day_per_period(
    wall: SimpleNamespace, seconds: float, expected: date
) -> None:
    calendar = parse_calendar(f"simulated:2025-03-01@{EPOCH:.0f}x2", wall_clock=wall.read)
    wall.now = EPOCH + seconds
    assert calendar.today() == expected


def test_simulated_now_is_noon_utc_of_the_simulated_day(wall: SimpleNamespace) -> None:
    calendar = parse_calendar(f"simulated:2025-03-01@{EPOCH:.0f}x2", wall_clock=wall.read)
    wall.now = EPOCH + 3.0  # inside day 2: 2025-03-02
    assert calendar.now() == datetime(2025, 3, 2, 12, tzinfo=UTC)
    # and its UK day is the simulated day, also in summer time
    wall.now = EPOCH + 2 * 100  # 2025-03-01 + 100 days = 2025-06-09 (30 + 30 + 31 + 9)
    assert calendar.today() == date(2025, 6, 9)
    assert uk_date(calendar.now()) == date(2025, 6, 9)


def test_fractional_seconds_per_day(wall: SimpleNamespace) -> None:
    calendar = parse_calendar(f"simulated:2025-12-31@{EPOCH:.3f}x0.5", wall_clock=wall.read)
    wall.now = EPOCH + 1.0  # two half-second days: 2026-01-02
    assert calendar.today() == date(2026, 1, 2)


BAD_SPECS = [
    pytest.param("LIVE", id="upper-case-live"),
    pytest.param("simulated", id="kind-only"),
    pytest.param("simulated:2025-03-01", id="no-timing"),
    pytest.param("simulated:2025-03-01@1700000000", id="no-seconds"),
    pytest.param("simulated:2025-03-01@x2", id="no-epoch"),
    pytest.param("simulated:2025-03-01@1700000000x", id="empty-seconds"),
    pytest.param("simulated:2025-02-30@1700000000x2", id="impossible-date"),
    pytest.param("simulated:01/03/2025@1700000000x2", id="uk-date-format"),
    pytest.param("simulated:2025-03-01@soonx2", id="word-epoch"),
    pytest.param("simulated:2025-03-01@1700000000xfast", id="word-seconds"),
    pytest.param("fast:2025-03-01@1700000000x2", id="unknown-kind"),
    pytest.param("simulated:2025-03-01@1700000000x0", id="zero-seconds"),
    pytest.param("simulated:2025-03-01@1700000000x-2", id="negative-seconds"),
    pytest.param("simulated:2025-03-01@1700000000x-0.5", id="negative-fraction"),
    # not numbers of seconds: NaN seconds crash today() later; a NaN epoch freezes the day
    pytest.param("simulated:2025-03-01@1700000000xnan", id="nan-seconds"),
    pytest.param("simulated:2025-03-01@nanx2", id="nan-epoch"),
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_a_bad_calendar_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="calendar"):
        parse_calendar(spec)


# Europe/London: BST began 2025-03-30 01:00 UTC and ended 2025-10-26 01:00 UTC.
UK_DAYS = [
    pytest.param(datetime(2025, 3, 30, 0, 30, tzinfo=UTC), date(2025, 3, 30), id="gmt-before-bst"),
    pytest.param(datetime(2025, 3, 30, 23, 30, tzinfo=UTC), date(2025, 3, 31), id="bst-evening"),
    pytest.param(datetime(2025, 10, 26, 23, 30, tzinfo=UTC), date(2025, 10, 26), id="gmt-again"),
    pytest.param(
        datetime(2025, 10, 25, 23, 30, tzinfo=UTC), date(2025, 10, 26), id="last-bst-night"
    ),
    pytest.param(datetime(2025, 6, 30, 23, 0, tzinfo=UTC), date(2025, 7, 1), id="bst-midnight"),
    pytest.param(datetime(2025, 6, 30, 22, 59, tzinfo=UTC), date(2025, 6, 30), id="bst-23-59"),
    pytest.param(datetime(2025, 12, 31, 23, 59, tzinfo=UTC), date(2025, 12, 31), id="gmt-new-year"),
    pytest.param(
        datetime(2025, 7, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
        date(2025, 7, 1),  # 23:30 UTC on 06-30 = 00:30 BST on 07-01
        id="other-offset",
    ),
    pytest.param(
        datetime(2025, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=5))),
        date(2024, 12, 31),  # 22:00 UTC on 12-31 = 22:00 GMT
        id="east-offset-previous-uk-day",
    ),
]


@pytest.mark.parametrize(("moment", "expected"), UK_DAYS)
def test_uk_date_follows_gmt_and_bst(moment: datetime, expected: date) -> None:
    assert uk_date(moment) == expected


def test_uk_date_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        uk_date(datetime(2025, 3, 30, 12, 0, tzinfo=UTC).replace(tzinfo=None))


@pytest.mark.parametrize(("moment", "expected"), UK_DAYS[:5])
def test_live_today_is_the_uk_date(
    monkeypatch: pytest.MonkeyPatch, moment: datetime, expected: date
) -> None:
    monkeypatch.setattr(LiveCalendar, "now", lambda self: moment)
    assert LiveCalendar().today() == expected


def test_live_now_is_an_aware_utc_time() -> None:
    now = LiveCalendar().now()
    assert now.utcoffset() == timedelta(0)
