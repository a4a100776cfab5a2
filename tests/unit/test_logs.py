"""Log hygiene: a lost broker's reconnect messages are held back, counted, never all lost."""

from __future__ import annotations

import logging

import pytest

from core.logs import RepeatLimiter, limit_repeats


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_message_passes_once_a_window_and_says_how_many_were_held(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    logger = logging.getLogger("aiokafka.test_repeats")
    limiter = limit_repeats("aiokafka", RepeatLimiter(window=60, clock=clock))
    try:
        with caplog.at_level(logging.ERROR, logger="aiokafka.test_repeats"):
            for second in range(120):  # ten attempts a second for two minutes
                clock.now = second / 10
                logger.error("Unable connect to node with id %s", 1)
            clock.now = 61.0
            logger.error("Unable connect to node with id %s", 1)
            logger.error("Unable connect to node with id %s", 2)  # a different message passes
    finally:
        logger.removeFilter(limiter)
    assert [r.getMessage() for r in caplog.records] == [
        "Unable connect to node with id 1",
        "Unable connect to node with id 1 (119 more like this in the last 61 s)",
        "Unable connect to node with id 2",
    ]


def test_every_aiokafka_module_logger_gets_the_limiter() -> None:
    import aiokafka.conn  # noqa: F401 - creates its module logger

    limiter = limit_repeats()
    try:
        assert limiter in logging.getLogger("aiokafka.conn").filters
        assert limiter in logging.getLogger("aiokafka").filters
        assert limiter not in logging.getLogger("faust").filters
        assert limit_repeats(limiter=limiter) is limiter
        assert logging.getLogger("aiokafka.conn").filters.count(limiter) == 1
    finally:
        for name in ["aiokafka", *logging.Logger.manager.loggerDict]:
            if name.startswith("aiokafka"):
                logging.getLogger(name).removeFilter(limiter)


def test_too_many_distinct_messages_are_let_through_not_lost() -> None:
    clock = Clock()
    limiter = RepeatLimiter(window=60, clock=clock)
    records = [
        logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, f"message {n}", (), None)
        for n in range(3000)
    ]
    assert all(limiter.filter(record) for record in records)
