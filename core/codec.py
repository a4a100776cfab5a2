"""The one place that owns JSON: orjson options and encode/decode functions."""

from __future__ import annotations

from typing import Any

import orjson

# Sorted keys make every output byte-stable, so identical results compare equal on the wire.
ENCODE_OPTIONS = orjson.OPT_SORT_KEYS
PRETTY_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=ENCODE_OPTIONS)


def dumps_pretty(value: Any) -> bytes:
    return orjson.dumps(value, option=PRETTY_OPTIONS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def exact(data: bytes) -> bytes:
    """A copy without spare capacity, for bytes kept long: orjson's result keeps its whole
    output buffer (about 4 KiB however short the JSON), which adds up in a large cache."""
    return bytes(memoryview(data))


def embedded(encoded: bytes) -> Any:
    """Already-encoded JSON, placed as it is inside a value `dumps` encodes."""
    return orjson.Fragment(encoded)
