"""The stream on real Kafka: alerts driven by events and by time, status, sponsors, metrics."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from core.codec import dumps, loads
from core.settings import Settings
from setupmon.sites import load_sites, read_sites
from tests.integration.kafka_io import Record, produce, read_all, run, wait_for, wait_until
from tests.integration.scenario import SITES_CSV, keyed, milestone, registered

pytestmark = pytest.mark.integration


def calendar(start: str, seconds_per_day: float) -> str:
    return f"simulated:{start}@{time.time():.3f}x{seconds_per_day}"


def latest_by_key(records: list[Record]) -> dict[bytes, bytes | None]:
    """What a compacted topic holds for each key (None: deleted by a tombstone)."""
    latest: dict[bytes, bytes | None] = {}
    for record in records:
        assert record.key is not None
        latest[record.key] = record.value
    return latest


def load_registry(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(SITES_CSV)
    run(load_sites(settings, read_sites(path)))


def alerts_of(settings: Settings) -> list[dict]:
    return [loads(r.value) for r in run(read_all(settings, settings.topic("alerts")))]


def test_scripted_scenario_raises_exactly_the_expected_alerts(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    load_registry(settings, tmp_path)
    # One simulated UK day a second, from 25 March 2025.
    worker = start_worker(settings, calendar("2025-03-25", 1.0))
    events = [
        # A: approved 10 Feb, RGT selected 20 Jan: site_open runs from 10 Feb (the later),
        # due 10 Feb + 60 = 11 Apr. At risk from elapsed 45 (45*4 >= 180): 27 Mar.
        # Breached from elapsed 61: 12 Apr. Nothing else of A crosses a line before 19 Apr.
        registered("CPMS-A1", "2025-01-02", "acme"),
        milestone("CPMS-A1", "regulatory_submitted", "2025-01-03"),
        milestone("CPMS-A1", "regulatory_approved", "2025-02-10"),  # 38 days: met
        milestone("CPMS-A1", "hra_approved", "2025-02-10"),
        milestone("CPMS-A1", "site_selected", "2025-01-20", site="RGT"),
        # B: HRA 1 Dec 2024; RAJ opened 15 Feb 2025, recorded a day later: 76 days > 60,
        # first seen missed -> breached. On 16 Feb approval_to_first_participant has run
        # 77 of 90 days (77*4 >= 270): at risk; recruited 1 Mar = 90 days: met, no clearance.
        registered("CPMS-B1", "2024-11-01", "bio"),
        milestone("CPMS-B1", "regulatory_submitted", "2024-11-02"),
        milestone("CPMS-B1", "regulatory_approved", "2024-11-25"),
        milestone("CPMS-B1", "hra_approved", "2024-12-01"),
        milestone("CPMS-B1", "site_selected", "2024-12-01", site="RAJ"),
        milestone("CPMS-B1", "site_opened", "2025-02-15", site="RAJ", recorded="2025-02-16"),
        milestone("CPMS-B1", "first_participant_recruited", "2025-03-01", site="RAJ"),
    ]
    run(produce(settings, settings.topic("milestones"), keyed(events)))

    # A's next line is approval_to_first_participant at risk on 19 Apr: stop before it.
    horizon = date(2025, 4, 18)
    wait_until(
        lambda: _status_day(settings, "CPMS-A1") > horizon, what="the calendar to pass the horizon"
    )
    raised = {
        loads(r.value)["alert_id"]: loads(r.value)
        for r in run(read_all(settings, settings.topic("alerts")))
        if loads(r.value)["as_of"] <= horizon.isoformat()
    }
    assert set(raised) == {
        "CPMS-B1/RAJ/site_open/2024-12-01/breached",
        "CPMS-B1/RAJ/approval_to_first_participant/2024-12-01/at_risk",
        "CPMS-A1/RGT/site_open/2025-02-10/at_risk",
        "CPMS-A1/RGT/site_open/2025-02-10/breached",
    }
    at_risk = raised["CPMS-A1/RGT/site_open/2025-02-10/at_risk"]
    breached = raised["CPMS-A1/RGT/site_open/2025-02-10/breached"]
    # raised by the day ticks, with no new event, on the day the line was crossed or, when a
    # loaded machine delays the tick of a one-second day, a few days later
    assert "2025-03-27" <= at_risk["as_of"] < "2025-04-12"
    assert "2025-04-12" <= breached["as_of"] <= horizon.isoformat()
    for raised_alert in (at_risk, breached):
        elapsed = date.fromisoformat(raised_alert["as_of"]) - date(2025, 2, 10)
        assert raised_alert["elapsed_days"] == elapsed.days
    assert breached["due_date"] == "2025-04-11" and breached["limit_days"] == 60
    assert breached["sponsor_id"] == "acme" and breached["site_id"] == "RGT"
    late = raised["CPMS-B1/RAJ/site_open/2024-12-01/breached"]
    assert late["stop_date"] == "2025-02-15" and late["elapsed_days"] == 76

    statuses = latest_by_key(run(read_all(settings, settings.topic("study-status"))))
    b_status = loads(statuses[b"CPMS-B1"])
    states = {(c["kpi"], c["site_id"]): c["state"] for c in b_status["clocks"]}
    assert states == {
        ("combined_review", None): "met",
        ("study_setup", None): "met",  # 2 Nov to 1 Mar = 119 days
        ("site_open", "RAJ"): "missed",
        ("first_participant", "RAJ"): "met",
        ("approval_to_first_participant", "RAJ"): "met",
    }
    assert b_status["sites"]["RAJ"]["stage"] == "first_participant_recruited"

    _, metrics = worker.get("/metrics")
    assert (
        'trial_setup_clocks{kpi="site_open",region="East of England",site="RGT",state="breached"} 1.0'
        in metrics
    )
    assert (
        'trial_setup_alerts_total{kind="breached",kpi="site_open",region="East of England"} 2.0'
        in metrics
    )
    assert 'trial_setup_study_clocks{kpi="combined_review",state="met"} 2.0' in metrics

    kpis = latest_by_key(run(read_all(settings, settings.topic("site-kpis"))))
    raj = loads(kpis[b"RAJ"])
    assert raj["region"] == "East of England"
    # site_open stopped 15 Feb: inside the 90-day window until mid-May, missed
    assert raj["windows"]["90d"]["site_open"] == {
        "met": 0,
        "missed": 1,
        "compliance": 0.0,
        "median_days": 76,
    }


def _status_day(settings: Settings, study: str) -> date:
    statuses = latest_by_key(run(read_all(settings, settings.topic("study-status"))))
    value = statuses.get(study.encode())
    return date.fromisoformat(loads(value)["as_of"]) if value else date.min


def test_a_corrected_milestone_clears_its_alert(settings: Settings, start_worker) -> None:
    # The UK day stays 1 March 2025 for the whole test.
    start_worker(settings, calendar("2025-03-01", 100_000))
    # Both entered on 20 Feb, the recruitment first: first_participant 5 days and
    # approval_to_first_participant 81 days are met; site_open, 76 days, is missed.
    recruited = milestone("CPMS-C1", "first_participant_recruited", "2025-02-20", site="RJ1")
    opened_late = {
        **milestone("CPMS-C1", "site_opened", "2025-02-15", site="RJ1"),
        "recorded_at": "2025-02-20T13:00:00+00:00",
    }
    events = [
        milestone("CPMS-C1", "hra_approved", "2024-12-01"),
        milestone("CPMS-C1", "site_selected", "2024-12-01", site="RJ1"),
        recruited,
        opened_late,
    ]
    run(produce(settings, settings.topic("milestones"), keyed(events)))
    wait_for(
        lambda: run(read_all(settings, settings.topic("alerts"))),
        lambda records: len(records) >= 1,
        what="the breach",
    )
    # The trust corrects the date: it opened on 25 Jan (55 days: met).
    correction = {
        **opened_late,
        "event_id": "CPMS-C1-correction-1",
        "date": "2025-01-25",
        "recorded_at": "2025-03-01T15:00:00+00:00",
    }
    run(produce(settings, settings.topic("milestones"), [(b"CPMS-C1", dumps(correction))]))
    records = wait_for(
        lambda: run(read_all(settings, settings.topic("alerts"))),
        lambda records: len(records) >= 2,
        what="the clearance",
    )
    time.sleep(2)  # nothing else may follow
    alerts = alerts_of(settings)
    assert [(a["alert_id"], a["kind"]) for a in alerts] == [
        ("CPMS-C1/RJ1/site_open/2024-12-01/breached", "breached"),
        ("CPMS-C1/RJ1/site_open/2024-12-01/cleared", "cleared"),
    ]
    assert len(records) == 2
    assert alerts[1]["stop_date"] == "2025-01-25" and alerts[1]["elapsed_days"] == 55


def test_each_sponsor_topic_holds_its_own_studies_only(settings: Settings, start_worker) -> None:
    start_worker(settings, calendar("2025-03-01", 100_000))
    events = [
        registered("CPMS-S1", "2025-01-02", "acme"),
        registered("CPMS-S2", "2025-01-02", "bio"),
        # S3 was registered under acme by mistake and corrected to bio a day later
        registered("CPMS-S3", "2025-01-02", "acme"),
        {**registered("CPMS-S3", "2025-01-02", "bio"), "recorded_at": "2025-01-03T09:00:00+00:00"},
        milestone("CPMS-S1", "regulatory_submitted", "2025-01-05"),
        milestone("CPMS-S2", "regulatory_submitted", "2025-01-06"),
    ]
    run(produce(settings, settings.topic("milestones"), keyed(events)))

    def sponsor(name: str) -> dict[bytes, bytes | None]:
        return latest_by_key(
            run(read_all(settings, settings.topic(f"sponsor.{name}.study-status")))
        )

    wait_for(
        lambda: run(read_all(settings, settings.topic("sponsor.bio.study-status"))),
        lambda records: {r.key for r in records} >= {b"CPMS-S2", b"CPMS-S3"},
        what="bio's studies",
    )
    acme, bio = sponsor("acme"), sponsor("bio")
    assert {k for k, v in acme.items() if v is not None} == {b"CPMS-S1"}
    # never shown to acme (both events in one batch) or removed by a tombstone
    assert acme.get(b"CPMS-S3") is None
    assert {k for k, v in bio.items() if v is not None} == {b"CPMS-S2", b"CPMS-S3"}
    for documents in (acme, bio):
        for value in documents.values():
            if value is not None:
                assert loads(value)["sponsor_id"] in ("acme", "bio")
    assert all(loads(v)["sponsor_id"] == "acme" for v in acme.values() if v)
    assert all(loads(v)["sponsor_id"] == "bio" for v in bio.values() if v)


def test_malformed_events_never_stop_the_stream(settings: Settings, start_worker) -> None:
    worker = start_worker(settings, calendar("2025-03-01", 100_000))
    good = [milestone("CPMS-M1", "hra_approved", f"2025-01-{day:02d}") for day in (1, 2, 3)]
    # missing fields are reported before wrong types: event_id's type is never reached
    bad = [b"\x00\x01", b"[]", b'{"event_id": 1}', b"x" * (70 * 1024), b"null"]
    messages: list[tuple[bytes | None, bytes]] = []
    for event, garbage in zip(good, bad, strict=False):
        messages += [(b"CPMS-M1", garbage), (b"CPMS-M1", dumps(event))]
    messages += [(None, garbage) for garbage in bad[len(good) :]]
    run(produce(settings, settings.topic("milestones"), messages))

    dead = wait_for(
        lambda: run(read_all(settings, settings.topic("milestones.dlq"))),
        lambda records: len(records) >= len(bad),
        what="every malformed message dead-lettered",
    )
    assert sorted(loads(r.value)["error"] for r in dead) == sorted(
        ["not_json", "not_object", "missing_field", "too_large", "not_object"]
    )
    status = wait_for(
        lambda: run(read_all(settings, settings.topic("study-status"))),
        lambda records: len(records) >= 1,
        what="the study's status",
    )
    assert status
    _, metrics = worker.get("/metrics")
    assert 'trial_setup_events_total{milestone="hra_approved",outcome="accepted"} 3.0' in metrics
    assert 'trial_setup_events_total{milestone="invalid",outcome="rejected"} 5.0' in metrics
    assert worker.process.poll() is None
