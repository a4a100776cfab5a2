"""Reading and writing Faust tables for a partition other than the current event's.

A Faust table reads its RocksDB store from, and writes its store and changelog to, the
partition of the event the stream is on (`faust.streams.current_event()`): a `get` while the
stream is on another partition's event finds nothing. A batched agent holds events of several
partitions, so it names the event whose partition a read or write belongs to. faust-streaming
has no public setter for that context variable; this module is the one place that touches it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faust.streams


@contextmanager
def on_partition_of(event: Any) -> Iterator[None]:
    """Table reads and writes inside this block use `event`'s partition."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)
