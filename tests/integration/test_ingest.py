"""Milestone events on the real broker: valid ones applied, invalid ones dead-lettered."""

from __future__ import annotations

import base64

import pytest

from core.codec import dumps, loads
from core.settings import Settings
from tests.factories import raw_event
from tests.integration.kafka_io import produce, read_all, run, wait_for

pytestmark = pytest.mark.integration

STUDY = "CPMS-7001"


def test_valid_events_are_applied_and_invalid_ones_dead_lettered(
    settings: Settings, start_worker
) -> None:
    worker = start_worker(settings)
    topic = settings.topic("milestones")
    valid = [
        raw_event(
            study_id=STUDY,
            site_id=None,
            milestone="study_registered",
            date="2025-01-02",
            recorded_at="2025-01-02T09:00:00Z",
            attributes={"sponsor_id": "acme"},
        ),
        raw_event(
            study_id=STUDY,
            site_id=None,
            milestone="regulatory_submitted",
            date="2025-01-03",
            recorded_at="2025-01-03T09:00:00Z",
        ),
        raw_event(
            study_id=STUDY,
            site_id="RGT",
            milestone="site_selected",
            date="2025-02-01",
            recorded_at="2025-02-01T09:00:00Z",
        ),
    ]
    invalid = {
        b"{not json": "not_json",
        b"\xff\xfe binary": "not_json",
        dumps(raw_event(study_id=STUDY, nhs_number="943 476 5919")): "unknown_field",
        dumps(
            raw_event(study_id=STUDY, date="2025-03-02", recorded_at="2025-03-01T12:00:00Z")
        ): "date_after_recorded",
    }
    messages = [(STUDY.encode(), dumps(event)) for event in valid]
    messages += [(STUDY.encode(), raw) for raw in invalid]
    landed = run(produce(settings, topic, messages))

    dead = wait_for(
        lambda: run(read_all(settings, settings.topic("milestones.dlq"))),
        lambda records: len(records) >= len(invalid),
        what="dead letters",
    )
    assert len(dead) == len(invalid)
    by_offset = {(r.partition, r.offset): r for r in landed}
    for record in dead:
        letter = loads(record.value)
        source = by_offset[(letter["partition"], letter["offset"])]
        assert letter["topic"] == topic
        assert letter["error"] == invalid[source.value]
        assert letter["detail"]
        assert letter["rejected_at"]
        if letter["original_encoding"] == "base64":
            assert base64.b64decode(letter["original"]) == source.value
        else:
            assert letter["original"].encode() == source.value
        assert record.key == STUDY.encode()

    statuses = wait_for(
        lambda: run(read_all(settings, settings.topic("study-status"))),
        lambda records: any(_has_site(r.value, "RGT") for r in records),
        what="a study status with the site",
    )
    latest = loads(statuses[-1].value)
    assert latest["study_id"] == STUDY and latest["sponsor_id"] == "acme"
    clocks = {(c["kpi"], c["site_id"]): c for c in latest["clocks"]}
    assert clocks[("combined_review", None)]["start_date"] == "2025-01-03"
    assert clocks[("site_open", "RGT")]["state"] == "waiting"  # no HRA approval yet

    status, metrics = worker.get("/metrics")
    assert status == 200
    assert 'trial_setup_events_total{milestone="invalid",outcome="rejected"} 2.0' in metrics
    assert 'trial_setup_events_total{milestone="site_selected",outcome="rejected"} 2.0' in metrics
    assert (
        'trial_setup_events_total{milestone="study_registered",outcome="accepted"} 1.0' in metrics
    )


def _has_site(value: bytes | None, site_id: str) -> bool:
    return value is not None and site_id in loads(value)["sites"]
