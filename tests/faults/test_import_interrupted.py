"""`setupmon import` when the broker dies mid-file (issue 12, item 3; README "Ordered and never
half-published"): the command fails with a clear message saying how many studies were
published and that a rerun publishes the rest; the rerun publishes exactly the studies the
ledger does not hold, each whole, with the same event IDs; nothing of a study is ever on the
topic in part, and a third run publishes nothing."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.import_rows import write_export
from broker.client import client_options
from core.codec import loads
from core.settings import Settings
from importer.mapping import load_mapping
from importer.plan import plan_import
from importer.rows import read_milestones
from importer.tables import read_table
from setupmon.importing import read_ledger, rounds
from tests.faults.brokers import KafkaNodes
from tests.faults.conftest import fault_settings
from tests.integration.conftest import worker_env
from tests.integration.kafka_io import Record, read_all, run

pytestmark = pytest.mark.faults

ROWS = 20_000  # 1,000 studies, about 86,000 events in 5 rounds: several seconds' publishing
CUT_AFTER = 0.2  # the broker is killed in the first round that starts past this share
POLL_SECONDS = 0.02
# the import gives up on a round after ACK_TIMEOUT_SECONDS (40), then stops its producer (10)
FAILURE_TIMEOUT = 120.0
INTERRUPTED = re.compile(r"failed after (\d+) of (\d+) studies were published and recorded")
PUBLISHED = re.compile(r"published (\d+) events of (\d+) studies")


@dataclass(frozen=True)
class DryPlan:
    studies: dict[str, list[str]]  # study_id -> its event IDs, in publishing order
    events: dict[str, bytes]  # event_id -> the event as it goes on the topic
    round_ends: list[int]  # events published when each of the command's rounds is done


def dry_plan(export: Path, recorded_at: datetime) -> DryPlan:
    """What a first import of the file publishes, made with the importer's own functions."""
    read = read_milestones(read_table(export), load_mapping("edge"), recorded_at)
    assert read.problems == []
    plan = plan_import(read, {}, recorded_at)
    ends = [0]
    for round_studies in rounds([plan]):
        ends.append(ends[-1] + sum(len(events) for events in round_studies))
    dry = DryPlan({}, {}, ends[1:])
    for study, planned in plan.studies.items():
        for event in planned:
            event_id = loads(event.event)["event_id"]
            dry.studies.setdefault(study, []).append(event_id)
            dry.events[event_id] = event.event
    return dry


def import_command(export: Path, recorded_at: datetime) -> list[str]:
    return [
        sys.executable, "-m", "setupmon.cli", "import", "--mapping", "edge", str(export),
        "--recorded-at", recorded_at.isoformat(),
    ]  # fmt: skip


def broker_pid(broker: KafkaNodes) -> int:
    """The process of the single broker's node (as cluster.sh finds it)."""
    node_dir = broker.data_dir / "node-1"
    pid = int((node_dir / "kafka.pid").read_text().strip())
    assert str(node_dir) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    return pid


async def kill_mid_round(
    settings: Settings, plan: DryPlan, pid: int, command: subprocess.Popen[bytes]
) -> int:
    """SIGKILL the broker while a round past CUT_AFTER is partly on the topic (some of its
    events acknowledged, none recorded): the hardest moment to stop cleanly. Returns the
    events on the topic just before the kill."""
    total = plan.round_ends[-1]
    bounds = list(zip([0, *plan.round_ends], plan.round_ends, strict=False))
    targets = [(start, end) for start, end in bounds if start >= CUT_AFTER * total]
    assert targets, f"no round starts past {CUT_AFTER:.0%}: {plan.round_ends}"
    topic = settings.topic("milestones")
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        while True:
            assert command.poll() is None, "the import ended before the broker was killed"
            on_topic = sum((await consumer.end_offsets(partitions)).values())
            if any(start < on_topic < end for start, end in targets):
                os.kill(pid, signal.SIGKILL)
                return on_topic
            assert on_topic < targets[-1][1], f"missed every round: {on_topic} on the topic"
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await asyncio.wait_for(consumer.stop(), 10)


def end_offsets(records: list[Record]) -> dict[int, int]:
    ends: dict[int, int] = {}
    for record in records:
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    return ends


def half_published(plan: DryPlan, on_topic: dict[str, list[str]]) -> list[str]:
    """Studies some of whose events are on the topic more often than others (a part of the
    study published, or a part of it sent twice)."""
    problems = []
    for study, planned in plan.studies.items():
        counts = Counter(on_topic.get(study, []))
        times = {counts[event_id] for event_id in planned}
        if len(times) > 1:
            problems.append(f"{study}: its events are on the topic {sorted(times)} times")
    return problems


def test_broker_dies_mid_import_nothing_half_published(
    single_broker: KafkaNodes, tmp_path: Path
) -> None:
    settings = fault_settings(single_broker.bootstrap, tmp_path, partitions=6)
    milestones = settings.topic("milestones")
    recorded_at = datetime.now(UTC).replace(microsecond=0)
    export = tmp_path / "edge-export.csv"
    write_export(export, ROWS, recorded_at.date() - timedelta(1))
    command = import_command(export, recorded_at)
    env = worker_env(settings)

    plan = dry_plan(export, recorded_at)
    pid = broker_pid(single_broker)

    # 1. the first run, and the broker killed in the middle of a round
    started = time.monotonic()
    out_path, err_path = tmp_path / "first.out", tmp_path / "first.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        first = subprocess.Popen(command, env=env, stdout=out, stderr=err)  # noqa: S603
    try:
        on_topic_at_kill = run(kill_mid_round(settings, plan, pid, first))
        killed = time.monotonic()
        try:
            first.wait(timeout=FAILURE_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"the import still ran {FAILURE_TIMEOUT:.0f} s after the broker was killed:\n"
                + err_path.read_text(errors="replace")[-2000:]
            )
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    failed_after = time.monotonic() - killed
    first_err = err_path.read_text(errors="replace")
    assert first.returncode == 1, first_err
    assert "Traceback" not in first_err, first_err
    assert "run the same command again" in first_err, first_err
    interrupted = INTERRUPTED.search(first_err)
    assert interrupted is not None, first_err
    recorded_said, total_said = int(interrupted[1]), int(interrupted[2])
    assert total_said == len(plan.studies)
    assert 0 < recorded_said < total_said, first_err
    assert "published" not in out_path.read_text(), "a failed run said it published"

    # 2. the broker back: what the first run left, then the rerun
    single_broker.start(1)
    recorded = {key.split("|")[1] for key in run(read_ledger(settings))}
    before = run(read_all(settings, milestones))
    landed = {loads(r.value)["study_id"] for r in before if r.value is not None}
    rerun = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    published = PUBLISHED.search(rerun.stdout)
    assert published is not None, rerun.stdout
    third = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert third.returncode == 0, third.stderr
    assert "published 0 events of 0 studies" in third.stdout, third.stdout
    took = time.monotonic() - started

    # 3. the topic in full
    after = run(read_all(settings, milestones))
    ends_before = end_offsets(before)
    resent_by_rerun = [r for r in after if r.offset >= ends_before.get(r.partition, 0)]
    on_topic: dict[str, list[str]] = {}  # study -> its event IDs, in topic order
    values: dict[str, set[bytes]] = {}
    for record in after:
        assert record.value is not None
        event = loads(record.value)
        assert record.key == event["study_id"].encode()
        on_topic.setdefault(event["study_id"], []).append(event["event_id"])
        values.setdefault(event["event_id"], set()).add(record.value)
    rerun_studies = {loads(r.value)["study_id"] for r in resent_by_rerun if r.value is not None}
    missing = set(plan.studies) - recorded
    duplicated = {study for study, ids in on_topic.items() if len(ids) > len(set(ids))}
    round_ends = ", ".join(f"{end:,}" for end in plan.round_ends)
    print(
        f"\n{ROWS:,} rows, {len(plan.studies):,} studies, {len(plan.events):,} events; "
        f"broker killed with {on_topic_at_kill:,} events on the topic (rounds end at "
        f"{round_ends}): the command failed {failed_after:.1f} s later saying "
        f"{recorded_said} of {total_said} studies published and recorded; the ledger held "
        f"{len(recorded)}, the topic had events of {len(landed)}; the rerun published "
        f"{published[1]} events of {published[2]} studies; after it {len(duplicated)} studies "
        f"({sum(len(on_topic[s]) - len(set(on_topic[s])) for s in duplicated):,} events) "
        f"on the topic twice, whole; {took:.0f} s from the first run to the third"
    )

    # every event of the plan, with the plan's body, and nothing else
    lost = {loads(plan.events[i])["study_id"] for i in set(plan.events) - set(values)}
    assert lost == set(), f"{len(lost)} studies with events never published"
    assert set(values) - set(plan.events) == set()
    assert [i for i, bodies in values.items() if bodies != {plan.events[i]}] == []
    # never a part of a study: each of a study's events is there as often as the others
    assert half_published(plan, on_topic) == []
    # each study in the plan's order (its first copies; a second copy comes whole after)
    disordered = [
        study for study, ids in plan.studies.items() if list(dict.fromkeys(on_topic[study])) != ids
    ]
    assert disordered == []
    # the rerun published exactly the studies the ledger did not hold, each whole
    assert rerun_studies == missing
    assert int(published[2]) == len(missing)
    assert int(published[1]) == sum(len(plan.studies[s]) for s in missing)
    assert len(recorded) >= recorded_said
    # a study sent twice is one the first run published but did not record
    assert duplicated <= landed & missing
