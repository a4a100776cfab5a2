"""Messages broken below the JSON values: random bytes, bad encodings, deep or huge JSON.

Each generator returns the message and the outcomes it was built for (None: any code will do,
the judge still checks it against the independent contract reading).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import orjson

from tests.fuzz.contract import MAX_BYTES
from tests.fuzz.valid_events import encode, valid_event

Made = tuple[bytes, frozenset[str] | None]
NOT_JSON = frozenset({"not_json"})
TOO_LARGE = frozenset({"too_large"})
# UTF-8 that is not: overlong forms of '/' and NUL, encoded surrogates, past U+10FFFF,
# truncated sequences, stray continuation bytes, bytes UTF-8 never uses
BAD_UTF8 = (
    b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xc0\x80", b"\xed\xa0\x80",
    b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80", b"\xbf\xbf", b"\xff", b"\xfe",
    b"\xf8\x88\x80\x80\x80",
)  # fmt: skip
LONE_SURROGATES = (b"\\ud800", b"\\udfff", b"\\ud800x", b"\\udc00\\ud800", b"\\ud83d")
BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
SCALARS = (b"null", b"true", b"0", b"-1.5e3", b'"x"', b"[]", b"[{}]", b'""', b"1e400",
           b"NaN", b"Infinity", b"", b" ", b"{", b"}", b'{"a"}', b"{'a': 1}", b"\x00")  # fmt: skip
MARK = "\U000e0001"  # a tag character no generated event contains: where to splice bytes


def _spliced(rng: random.Random, insert: bytes) -> bytes:
    """A valid event whose event_id has `insert` spliced into it as raw bytes."""
    event = valid_event(rng)
    event["event_id"] = "ab" + MARK + "cd"
    return encode(rng, event).replace(MARK.encode(), insert).replace(b"\\udb40\\udc01", insert)


def bad_utf8(rng: random.Random) -> Made:
    return _spliced(rng, rng.choice(BAD_UTF8)), NOT_JSON


def lone_surrogate(rng: random.Random) -> Made:
    return _spliced(rng, rng.choice(LONE_SURROGATES)), NOT_JSON


def raw_control_character(rng: random.Random) -> Made:
    """JSON strings may not hold control characters unescaped."""
    return _spliced(rng, bytes([rng.choice((0, 1, 9, 10, 13, 27, 31))])), NOT_JSON


def byte_order_mark(rng: random.Random) -> Made:
    return rng.choice(BOMS) + encode(rng, valid_event(rng)), NOT_JSON


def utf16(rng: random.Random) -> Made:
    text = encode(rng, valid_event(rng)).decode("utf-8")
    return text.encode(rng.choice(("utf-16", "utf-16-le", "utf-32"))), NOT_JSON


def damaged_bytes(rng: random.Random) -> Made:
    """Truncated, flipped, deleted or inserted bytes of a valid message."""
    data = bytearray(encode(rng, valid_event(rng)))
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        action = rng.random()
        if action < 0.25:
            del data[at:]
        elif action < 0.5 and at < len(data):
            data[at] ^= 1 << rng.randrange(8)
        elif action < 0.75:
            del data[at : at + rng.randint(1, 8)]
        else:
            data[at:at] = rng.randbytes(rng.randint(1, 8))
    return bytes(data), None


def random_bytes(rng: random.Random) -> Made:
    size = rng.choice((0, 1, 2, rng.randint(0, 64), rng.randint(0, 2048)))
    return rng.randbytes(size), None


def json_alphabet(rng: random.Random) -> Made:
    """Random text made of JSON's own punctuation, keywords and digits."""
    parts = ("{", "}", "[", "]", ":", ",", '"', "\\", "true", "false", "null", "0", "-", "1e9",
             " ", '"event_id"', '"date"', "\\u0000", "\\ud800")  # fmt: skip
    return "".join(rng.choices(parts, k=rng.randint(0, 60))).encode(), None


def scalar(rng: random.Random) -> Made:
    return rng.choice(SCALARS), None


def not_an_object(rng: random.Random) -> Made:
    event = valid_event(rng)
    value = rng.choice(([event], [event, event], orjson.dumps(event).decode(), 7))
    return orjson.dumps(value), frozenset({"not_object"})


def deep_nesting(rng: random.Random) -> Made:
    """Arrays or objects nested 2 to 100,000 deep, alone or inside an event's field."""
    depth = rng.choice((2, 100, 500, 1000, 1023, 1024, 1025, 5000, 30000, 100000))
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    nested = opener * depth + b"1" + closer * depth
    if rng.random() < 0.5:
        return nested, TOO_LARGE if len(nested) > MAX_BYTES else None
    field = rng.choice(("event_id", "attributes", "nhs_number", "date"))
    event = valid_event(rng) | {field: "\U000e0002"}
    data = orjson.dumps(event).replace('"\U000e0002"'.encode(), nested)
    return data, TOO_LARGE if len(data) > MAX_BYTES else None


def huge(rng: random.Random) -> Made:
    """Megabyte strings and long arrays, in an event's field or alone."""
    size = rng.choice((MAX_BYTES, 100_000, 1_000_000, 4_000_000))
    value: object = rng.choice(("x" * size, [0] * (size // 2), [{"a": None}] * (size // 10)))
    if rng.random() < 0.5:
        return orjson.dumps(value), TOO_LARGE
    field = rng.choice(("event_id", "source", "nhs_number"))
    return orjson.dumps(valid_event(rng) | {field: value}), TOO_LARGE


def at_the_size_limit(rng: random.Random) -> Made:
    """A valid event padded with JSON whitespace (or a long title) to 64 KiB, or a byte past."""
    data = encode(rng, valid_event(rng))
    target = MAX_BYTES + rng.choice((0, 0, -1, 1, 2, 1000))
    padding = (rng.choice((b" ", b"\n", b"\t", b"\r\n ")) * MAX_BYTES)[: max(0, target - len(data))]
    data = data[:1] + padding + data[1:] if rng.random() < 0.5 else data + padding
    return data, TOO_LARGE if len(data) > MAX_BYTES else None


def duplicated_keys(rng: random.Random) -> Made:
    """The same key twice (the last one counts, as in most JSON readers)."""
    event = valid_event(rng)
    name = rng.choice(list(event))
    other = valid_event(rng).get(name, rng.choice((1, None, "x", [])))
    first, last = (event[name], other) if rng.random() < 0.5 else (other, event[name])
    body = orjson.dumps({key: value for key, value in event.items() if key != name})
    head = b'{"' + name.encode() + b'":' + orjson.dumps(first) + b","
    tail = b',"' + name.encode() + b'":' + orjson.dumps(last) + b"}"
    return head + body[1:-1] + tail if len(body) > 2 else head[:-1] + tail, None


GENERATORS: tuple[Callable[[random.Random], Made], ...] = (
    bad_utf8, lone_surrogate, raw_control_character, byte_order_mark, utf16, damaged_bytes,
    damaged_bytes, random_bytes, random_bytes, json_alphabet, scalar, not_an_object,
    duplicated_keys, duplicated_keys, at_the_size_limit,
)  # fmt: skip
RARE_GENERATORS = (deep_nesting, huge)  # costly to build: a small share of the inputs
