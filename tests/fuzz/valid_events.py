"""Random valid milestone events (as dicts) and their encodings, the fuzzer's seeds.

Every milestone kind, identifiers of every allowed length, text fields full of odd but valid
Unicode (NUL, right-to-left marks, combining marks, astral characters), timestamps in every
RFC 3339 spelling the contract allows, offsets from -23:59 to +23:59, across the BST changes.
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson

from tests.fuzz.contract import SITE_MILESTONES, STUDY_MILESTONES, UK

MILESTONES = STUDY_MILESTONES + SITE_MILESTONES
STUDY_ID_FIRST = string.ascii_letters + string.digits
STUDY_ID_REST = STUDY_ID_FIRST + "._:-"
SITE_ID_CHARS = string.ascii_uppercase + string.digits
SPONSOR_REST = STUDY_ID_FIRST + "_-"
# characters that are valid in free text but trip careless code
ODD_CHARACTERS = (
    "\x00", "\t", "\n", "\x7f", '"', "\\", "/", "\u0301", "e\u0301", "\u202e", "\u200f",
    "\u200d", "\ufeff", "\ufffd", "\uffff", "\u2028", "\u00e9", "\u4e2d", "\u05d0",
    "\U0001f600", "\U0010ffff", "\u0000\u0000", "\u0663",
)  # fmt: skip
ORDINARY_DAYS = (date(2015, 1, 1), date(2035, 12, 31))
EDGE_DAYS = (
    date(1, 1, 2), date(1970, 1, 1), date(1900, 2, 28), date(2000, 2, 29), date(2024, 2, 29),
    date(2025, 3, 30), date(2025, 10, 26), date(2025, 12, 31), date(9999, 12, 30),
)  # fmt: skip


def _pool(alphabet: str | tuple[str, ...], size: int = 20_000) -> str:
    """A long fixed random string of the alphabet: slices of it make random text cheaply."""
    pool_rng = random.Random(f"setupmon-fuzz-pool/{alphabet!r}")
    return "".join(pool_rng.choices(alphabet, k=size))


ASCII_POOL = _pool(string.ascii_letters + string.digits + "-:._ ")
ODD_POOL = "".join(_pool((*ODD_CHARACTERS, "a", "b", "c", ":")))
STUDY_ID_POOL = _pool(STUDY_ID_REST)
SITE_ID_POOL = _pool(SITE_ID_CHARS)
SPONSOR_POOL = _pool(SPONSOR_REST)


def _slice(rng: random.Random, pool: str, size: int) -> str:
    start = rng.randrange(len(pool) - size)
    return pool[start : start + size]


def text(rng: random.Random, shortest: int, longest: int) -> str:
    """Free text: ASCII, or sprinkled with odd characters; between the lengths (code points)."""
    size = rng.randint(shortest, longest)
    return _slice(rng, ASCII_POOL if rng.random() < 0.5 else ODD_POOL, size)


def study_id(rng: random.Random, longest: int = 64) -> str:
    size = rng.choice((1, 2, 10, 12, longest, rng.randint(1, longest)))
    return rng.choice(STUDY_ID_FIRST) + _slice(rng, STUDY_ID_POOL, size - 1)


def site_id(rng: random.Random) -> str:
    return _slice(rng, SITE_ID_POOL, rng.choice((3, 3, 5, 10, rng.randint(3, 10))))


def sponsor_id(rng: random.Random) -> str:
    size = rng.choice((1, 5, 100, rng.randint(1, 100)))
    return rng.choice(STUDY_ID_FIRST) + _slice(rng, SPONSOR_POOL, size - 1)


def instant(rng: random.Random) -> datetime:
    """A moment, usually in recent years, sometimes near the BST changes or the calendar's ends."""
    if rng.random() < 0.9:
        first, last = ORDINARY_DAYS
        day = first + timedelta(days=rng.randint(0, (last - first).days))
    else:
        day = rng.choice(EDGE_DAYS)
    seconds = rng.choice((0, 1, 3599, 3600, 82800, 86399, rng.randint(0, 86399)))
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment + timedelta(seconds=seconds, microseconds=rng.choice((0, rng.randint(0, 999999))))


def rfc3339(rng: random.Random, moment: datetime) -> str:
    """`moment` (UTC) written with a random offset and any of the allowed spellings."""
    minutes = rng.choice((0, 0, 60, -300, 330, -1439, 1439, rng.randint(-1439, 1439)))
    if moment.year in (1, 9999):
        minutes = 0
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    sep = rng.choice("TTTt ")
    digits = rng.choice((0, 0, 3, 6, 9))
    fraction = f".{local.microsecond:06d}{'0' * 3}"[: digits + 1] if digits else ""
    if minutes == 0 and rng.random() < 0.6:
        zone = rng.choice("ZZZz")
    else:
        sign = "-" if minutes < 0 or (minutes == 0 and rng.random() < 0.2) else "+"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"  # strftime drops year zeros
    return f"{day}{sep}{local.hour:02d}:{local.minute:02d}:{local.second:02d}{fraction}{zone}"


def uk_day(moment: datetime) -> date:
    return moment.astimezone(UK).date()


def valid_event(rng: random.Random) -> dict[str, Any]:
    milestone = rng.choice(MILESTONES)
    moment = instant(rng)
    recorded_day = uk_day(moment)
    back = rng.choice((0, 0, 1, 30, rng.randint(0, 800)))
    day = recorded_day - timedelta(days=min(back, (recorded_day - date(1, 1, 1)).days))
    event: dict[str, Any] = {
        "event_id": text(rng, 1, rng.choice((12, 128))),
        "study_id": study_id(rng),
        "milestone": milestone,
        "date": day.isoformat(),
        "recorded_at": rfc3339(rng, moment),
        "source": text(rng, 1, rng.choice((10, 64))),
    }
    if milestone in SITE_MILESTONES:
        event["site_id"] = site_id(rng)
    elif rng.random() < 0.05:
        event["site_id"] = None
    retract = rng.choice((None, False, True, "absent", "absent", "absent"))
    if retract != "absent":
        event["retract"] = retract
    if milestone == "study_registered" and (retract is not True or rng.random() < 0.5):
        event["attributes"] = attributes(rng)
    return event


def attributes(rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {"sponsor_id": sponsor_id(rng)}
    for name in ("commercial", "ctimp", "atimp"):
        if rng.random() < 0.5:
            out[name] = rng.choice((True, False, None))
    for name in ("title", "excluded_reason"):
        if rng.random() < 0.3:
            out[name] = rng.choice((None, text(rng, 0, 200)))
    return out


def encode(rng: random.Random, event: Any) -> bytes:
    """Compact or indented, sorted or not, raw UTF-8 or all-ASCII `\\u` escapes."""
    style = rng.random()
    if style < 0.6:
        return orjson.dumps(event)
    if style < 0.8:
        return orjson.dumps(event, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return json.dumps(event, ensure_ascii=rng.random() < 0.7).encode("utf-8")
