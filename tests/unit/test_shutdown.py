"""A notifier asked to stop stops, even when its broker no longer answers."""

from __future__ import annotations

import asyncio
import time

import pytest

from alerts.shutdown import run_until_stopped, within


async def stop_soon(stop: asyncio.Event, after: float = 0.05) -> None:
    await asyncio.sleep(after)
    stop.set()


@pytest.mark.asyncio
async def test_work_stuck_on_a_dead_broker_is_cancelled_after_the_grace_and_cleans_up() -> None:
    stop, cleaned = asyncio.Event(), []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()  # an offset commit to a coordinator that never answers
        finally:
            cleaned.append("finally ran")

    started = time.monotonic()
    await asyncio.gather(run_until_stopped(stuck(), stop, grace=0.2), stop_soon(stop))
    assert cleaned == ["finally ran"]
    assert time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_work_that_notices_stop_finishes_its_batch_within_the_grace() -> None:
    stop, done = asyncio.Event(), []

    async def polite() -> None:
        await stop.wait()  # the notifier's loop checks stop between batches
        await asyncio.sleep(0.05)  # the last batch's deliveries
        done.append("last batch delivered")

    await asyncio.gather(run_until_stopped(polite(), stop, grace=5), stop_soon(stop))
    assert done == ["last batch delivered"]


@pytest.mark.asyncio
async def test_a_failure_of_the_work_is_raised_not_swallowed() -> None:
    async def broken() -> None:
        raise RuntimeError("the notifier failed")

    with pytest.raises(RuntimeError, match="the notifier failed"):
        await run_until_stopped(broken(), asyncio.Event(), grace=1)


@pytest.mark.asyncio
async def test_within_says_whether_a_step_finished_in_time() -> None:
    assert await within(asyncio.sleep(0), 1, "a quick step")
    assert not await within(asyncio.Event().wait(), 0.05, "a stuck step")


@pytest.mark.asyncio
async def test_a_client_stop_cancelled_from_inside_does_not_skip_the_next_steps() -> None:
    # aiokafka's consumer.stop() with its coordinator gone can end in CancelledError; the
    # producer's stop after it must still run.
    async def cancelled_inside() -> None:
        raise asyncio.CancelledError

    steps = [await within(cancelled_inside(), 1, "stopping the consumer")]
    steps.append(await within(asyncio.sleep(0), 1, "stopping the producer"))
    assert steps == [False, True]
