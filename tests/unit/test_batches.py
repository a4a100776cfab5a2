"""An agent's events in batches, acknowledged only after their batch (streams/batches.py),
and waiting for the broker out loud (streams/waiting.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from streams import batches
from streams.batches import in_batches
from streams.waiting import patiently


class Queue:
    def __init__(self, stream: FakeStream) -> None:
        self.stream = stream

    def empty(self) -> bool:
        return self.stream.ready == 0


class FakeStream:
    """Delivers `arrivals` (lists of events the fetcher hands over together) in turn."""

    def __init__(self, *arrivals: list[int]) -> None:
        self.arrivals = list(arrivals)
        self.ready = 0  # events delivered and not yet taken
        self.channel = self
        self.queue = Queue(self)
        self.acked: list[int] = []
        self.log: list[str] = []

    def noack(self) -> FakeStream:
        return self

    async def events(self) -> AsyncIterator[int]:
        for arrival in self.arrivals:
            self.ready = len(arrival)
            for event in arrival:
                self.ready -= 1
                yield event

    async def ack(self, event: Any) -> bool:
        self.acked.append(event)
        self.log.append(f"ack {event}")
        return True


def run(
    stream: FakeStream, fail_on: int | None = None, errors: list[str] | None = None
) -> tuple[list[list[int]], list[str]]:
    handled: list[list[int]] = []
    errors = errors if errors is not None else []

    async def handle(batch: list[int]) -> None:
        if fail_on in batch:
            raise RuntimeError("broker down")
        handled.append(list(batch))
        stream.log.append(f"handled {batch}")

    async def main() -> None:
        await in_batches(stream, handle, on_error=lambda: errors.append("forget"))

    asyncio.run(main())
    return handled, errors


def test_a_batch_is_what_the_partitions_have_ready() -> None:
    handled, _ = run(FakeStream([1, 2, 3], [4], [5, 6]))
    assert handled == [[1, 2, 3], [4], [5, 6]]


def test_a_batch_takes_at_most_max_batch_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "MAX_BATCH", 2)
    handled, _ = run(FakeStream([1, 2, 3, 4, 5]))
    assert handled == [[1, 2], [3, 4], [5]]


def test_events_are_acknowledged_only_after_their_batch_is_handled() -> None:
    stream = FakeStream([1, 2], [3])
    run(stream)
    assert stream.log == ["handled [1, 2]", "ack 1", "ack 2", "handled [3]", "ack 3"]


def test_a_failed_batch_acknowledges_nothing_and_drops_what_it_left_half_done() -> None:
    stream = FakeStream([1, 2], [3, 4])
    errors: list[str] = []
    with pytest.raises(RuntimeError):
        run(stream, fail_on=3, errors=errors)
    assert stream.acked == [1, 2]  # 3 and 4 are delivered again after the restart
    assert errors == ["forget"]


def test_waiting_for_the_broker_is_logged_until_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "acked"

    with caplog.at_level(logging.WARNING, logger="streams.waiting"):
        result = asyncio.run(patiently(slow(), "acknowledgements of outputs", every=0.02))
    assert result == "acked"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert all(w.startswith("still waiting for acknowledgements of outputs") for w in warnings)


def test_a_quick_answer_logs_nothing_and_a_failure_is_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise ConnectionError("gone")

    with caplog.at_level(logging.WARNING, logger="streams.waiting"):
        assert asyncio.run(patiently(asyncio.sleep(0, "done"), "x")) == "done"
        with pytest.raises(ConnectionError):
            asyncio.run(patiently(fails(), "x"))
    assert caplog.records == []
