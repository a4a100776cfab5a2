"""Running a worker process: create the topics, then hand over to Faust."""

from __future__ import annotations

import asyncio
import logging

import faust

from broker.client import ensure_topics
from broker.topics import TopicNames
from core.logs import limit_repeats
from core.settings import Settings
from core.time import parse_calendar
from streams.app import SetupmonWorker


def run_worker(settings: Settings, *, loglevel: str = "warning") -> None:
    """Blocks until the worker is stopped (SIGTERM/SIGINT stop it cleanly)."""
    created = asyncio.run(ensure_topics(settings, TopicNames.from_settings(settings).specs()))
    if created:
        logging.getLogger(__name__).warning("created topics: %s", ", ".join(created))
    worker = SetupmonWorker(settings, parse_calendar(settings.calendar))
    runner = faust.Worker(worker.app, loglevel=loglevel, quiet=True)
    # Faust's terminal spinner sets the root logger to DEBUG, so every debug call of aiokafka
    # and Faust builds a log record that no handler prints (a tenth of a busy worker's time).
    runner.spinner = None
    limit_repeats()  # aiokafka logs each reconnect to a lost broker: once a minute is enough
    runner.execute_from_commandline()
