"""The broker side of `setupmon import`: the ledger of what was published, and publishing.

The ledger is the compacted topic `<prefix>.imports`: one record per export cell (key
`source|study_id|site_id or -|milestone`, `importer.rows.ImportedMilestone.key`) holding
what the importer last published for it (`importer.plan.LedgerEntry`). It is read in full
before planning, so a rerun of the same file publishes nothing, a changed date becomes a
correction and a cleared one a retraction.

Publishing is ordered and safe:
- a study's events go to `<prefix>.milestones` (key = study_id) in the plan's order, through
  an idempotent acks=all producer, all in ONE record batch, which the broker appends whole
  or not at all (only a study larger than a batch, 512 KiB, is split over several);
- a study's ledger entries are written only after its events are acknowledged, and waited
  for, round by round;
- when the broker goes away, the command stops with how many studies were published and
  recorded; a rerun publishes the rest. A study whose events landed but whose ledger entries
  did not is sent again with the same event_ids, which the stream ignores as duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiokafka.errors import KafkaError

from broker.client import KafkaUnavailable, client_options, ensure_topics, partition_count
from broker.messages import Outgoing
from broker.partitions import partition_for
from broker.publisher import MAX_BATCH_BYTES, Publisher, SentBatch, delivered
from broker.topic_reader import TopicMissing, read_to_end
from broker.topics import TopicNames
from core.errors import SetupmonError
from core.settings import Settings
from importer.plan import ImportPlan, LedgerEntry, PlannedEvent

# Events sent before the round waits for their acknowledgement and writes their ledger
# entries: large enough to keep every partition busy, small enough that an interrupted
# import has little published but not yet recorded.
ROUND_BYTES = 8 * MAX_BATCH_BYTES
# The idempotent producer retries a batch until the broker takes it, however long the broker
# is gone; the import gives up on a round after this long (the client's request timeout).
ACK_TIMEOUT_SECONDS = 40.0

Progress = Callable[[int], None]  # events published and recorded so far


class ImportInterrupted(SetupmonError):
    """The broker failed mid-import: some studies are published and recorded, the rest not."""

    retriable = True


@dataclass(frozen=True, slots=True)
class Published:
    studies: int
    events: int


async def read_ledger(settings: Settings) -> dict[str, LedgerEntry]:
    """Every entry of the ledger topic (empty when the topic does not exist yet)."""
    topic = TopicNames.from_settings(settings).imports
    ledger: dict[str, LedgerEntry] = {}
    try:
        await read_to_end(settings, topic, lambda key, value: _apply(ledger, topic, key, value))
    except TopicMissing:
        return {}
    except KafkaUnavailable as exc:
        raise KafkaUnavailable(
            f"cannot read the import ledger at {settings.bootstrap_servers}: {exc}"
        ) from exc
    return ledger


def _apply(
    ledger: dict[str, LedgerEntry], topic: str, key: bytes | None, value: bytes | None
) -> None:
    if key is None:
        return
    name = key.decode("utf-8", "replace")
    if value is None:  # a tombstone: an operator made the importer forget this cell
        ledger.pop(name, None)
        return
    try:
        ledger[name] = LedgerEntry.from_json(value)
    except ValueError as exc:
        # planning against a ledger it cannot read could publish stale or duplicate data
        raise SetupmonError(
            f"the import ledger {topic} holds an unreadable entry for {name!r}: {exc}"
        ) from exc


def rounds(
    plans: list[ImportPlan], budget: int = ROUND_BYTES
) -> Iterator[list[list[PlannedEvent]]]:
    """Each plan's studies (in the plan's order, whole) in rounds of about `budget` bytes."""
    current: list[list[PlannedEvent]] = []
    size = 0
    for plan in plans:
        for events in plan.studies.values():
            if not events:
                continue
            current.append(events)
            size += sum(len(event.event) for event in events)
            if size >= budget:
                yield current
                current, size = [], 0
    if current:
        yield current


async def publish_plans(
    settings: Settings, plans: list[ImportPlan], progress: Progress | None = None
) -> Published:
    """Publish every plan's events, then its ledger entries, round by round."""
    topics = TopicNames.from_settings(settings)
    wanted = {topics.milestones, topics.imports}
    await ensure_topics(settings, [spec for spec in topics.specs() if spec.name in wanted])
    ledger_partitions = await partition_count(settings, topics.imports)
    total_studies = len(
        {study for plan in plans for study, events in plan.studies.items() if events}
    )
    publisher = Publisher(client_options(settings))
    studies: set[str] = set()
    events_done = 0
    try:
        for round_studies in rounds(plans):
            await _publish_round(publisher, topics, ledger_partitions, round_studies)
            studies.update(events[0].study_id for events in round_studies)
            events_done += sum(len(events) for events in round_studies)
            if progress is not None:
                progress(events_done)
    except (KafkaError, OSError) as exc:
        raise ImportInterrupted(_interrupted(len(studies), total_studies, exc)) from exc
    finally:
        await _stop(publisher)
    return Published(len(studies), events_done)


async def _publish_round(
    publisher: Publisher,
    topics: TopicNames,
    ledger_partitions: int,
    round_studies: list[list[PlannedEvent]],
) -> None:
    groups = [
        [Outgoing(topics.milestones, event.study_id.encode(), event.event) for event in events]
        for events in round_studies
    ]
    await _acknowledged(await publisher.send_whole(groups))
    # Only now, with the events acknowledged, may the ledger say they were published. A
    # study's entries go to its study's partition (a key's partition never changes, which is
    # all compaction needs), whole, in one batch: one hash per study, not one per cell.
    entries = []
    for events in round_studies:
        partition = partition_for(events[0].study_id.encode(), ledger_partitions)
        entries.append(
            [
                Outgoing(topics.imports, e.key.encode(), e.ledger_entry.to_json(), partition)
                for e in events
            ]
        )
    await _acknowledged(await publisher.send_whole(entries))


async def _acknowledged(batches: list[SentBatch]) -> None:
    """Wait for the broker to acknowledge every batch, or fail the import (a TimeoutError,
    an OSError): what is not acknowledged is not recorded, so a rerun sends it again."""
    try:
        await asyncio.wait_for(delivered(batches), ACK_TIMEOUT_SECONDS)
    except TimeoutError:
        raise TimeoutError(
            f"no acknowledgement from the broker in {ACK_TIMEOUT_SECONDS:.0f} s"
        ) from None


async def _stop(publisher: Publisher) -> None:
    """Stop the producer; after a broker failure its pending batches may never complete,
    and the import's own error says more than a second one from here."""
    try:
        await asyncio.wait_for(publisher.stop(), 10)
    except (KafkaError, OSError, TimeoutError):
        pass


def _interrupted(studies: int, total: int, exc: BaseException) -> str:
    rest = total - studies
    name, text = type(exc).__name__, str(exc)
    why = name if text in ("", name) else f"{name}: {text}"
    return (
        f"the broker failed after {studies} of {total} studies were published and recorded "
        f"({why}). Nothing of the other {rest} is recorded as published: "
        "run the same command again to publish them. A study whose events reached the broker "
        "but whose record did not is sent again with the same event IDs, which the stream "
        "ignores as duplicates."
    )
