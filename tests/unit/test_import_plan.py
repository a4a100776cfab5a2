"""Planning an import against the ledger of what was published before (importer/plan.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.codec import loads
from events.milestones import Milestone
from events.validation import validate_event
from importer.ledger import LedgerEntry
from importer.mapping import load_mapping
from importer.plan import ImportPlan, PlannedEvent, plan_import
from importer.rows import ImportedMilestone, ReadResult, read_milestones
from importer.tables import read_table
from setupmon.evaluate import evaluate_lines

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
EDGE_HEADER = (
    "NIHR Portfolio Study ID,Site ODS Code,IRAS Number,Date site invited,Date site selected,"
    "Date site confirmed by Sponsor,Date site confirmed,Open to recruitment,"
    "First patient consented,First patient recruited"
)
CPMS_HEADER = (
    "Study ID,Short Title,Sponsor,Commercial,CTIMP,ATIMP,Date added to portfolio,"
    "Regulatory submission date,Regulatory approval date,HRA approval date"
)


def read(tmp_path: Path, mapping: str, header: str, *lines: str, at: datetime = T0) -> ReadResult:
    path = tmp_path / f"{mapping}.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    result = read_milestones(read_table(path), load_mapping(mapping), at)
    assert result.problems == []
    return result


def edge(tmp_path: Path, *lines: str, at: datetime = T0) -> ReadResult:
    return read(tmp_path, "edge", EDGE_HEADER, *lines, at=at)


def ledger_after(
    plan: ImportPlan, before: dict[str, LedgerEntry] | None = None
) -> dict[str, LedgerEntry]:
    """What the publisher's ledger holds once `plan` is published."""
    ledger = dict(before or {})
    ledger.update({event.key: event.ledger_entry for event in events_of(plan)})
    return ledger


def events_of(plan: ImportPlan) -> list[PlannedEvent]:
    return [event for events in plan.studies.values() for event in events]


def bodies(plan: ImportPlan) -> list[dict[str, object]]:
    return [loads(event.event) for event in events_of(plan)]


ROW = "61234,RGT,1,01/02/2026,10/02/2026,,15/03/2026,01/04/2026,,"


def test_first_import_is_new_and_the_same_file_again_changes_nothing(tmp_path: Path) -> None:
    first = plan_import(edge(tmp_path, ROW), {}, T0)
    assert first.problems == []
    assert first.summary() == {
        "rows": 1,
        "studies": 1,
        "sites": 1,
        "new": 4,
        "corrected": 0,
        "retracted": 0,
        "unchanged": 0,
        "skipped_rows": 0,
    }
    assert {event.change for event in events_of(first)} == {"new"}
    again = plan_import(edge(tmp_path, ROW), ledger_after(first), T0 + timedelta(days=1))
    assert again.studies == {} and (again.new, again.unchanged) == (0, 4)
    # the same file at the same time (a rerun after a failure) changes nothing either
    assert plan_import(edge(tmp_path, ROW), ledger_after(first), T0).studies == {}


def test_events_are_contract_events_with_the_exports_time(tmp_path: Path) -> None:
    plan = plan_import(edge(tmp_path, ROW), {}, T0)
    for event in events_of(plan):
        parsed = validate_event(event.event)
        assert isinstance(parsed, Milestone)
        assert parsed.recorded_at == T0 and parsed.source == "edge:RGT"
        assert parsed.event_id == event.ledger_entry.event_id and len(parsed.event_id) <= 128
        assert event.ledger_entry.recorded_at == T0.isoformat()


def test_a_changed_date_is_a_correction_with_a_new_event_id(tmp_path: Path) -> None:
    first = plan_import(edge(tmp_path, ROW), {}, T0)
    later = T0 + timedelta(days=3)
    edited = ROW.replace("01/04/2026", "05/04/2026")
    plan = plan_import(edge(tmp_path, edited, at=later), ledger_after(first), later)
    assert (plan.new, plan.corrected, plan.unchanged) == (0, 1, 3)
    [body] = bodies(plan)
    assert (body["milestone"], body["date"], body["recorded_at"]) == (
        "site_opened",
        "2026-04-05",
        later.isoformat(),
    )
    first_ids = {event.ledger_entry.event_id for event in events_of(first)}
    assert body["event_id"] not in first_ids


def test_a_cleared_cell_is_a_retraction_of_the_published_date(tmp_path: Path) -> None:
    first = plan_import(edge(tmp_path, ROW), {}, T0)
    later = T0 + timedelta(days=3)
    plan = plan_import(
        edge(tmp_path, ROW.replace("01/04/2026", ""), at=later), ledger_after(first), later
    )
    assert (plan.retracted, plan.unchanged) == (1, 3)
    [event] = events_of(plan)
    assert event.change == "retracted" and event.ledger_entry.value is None
    body = loads(event.event)
    assert (body["milestone"], body["date"], body["retract"]) == ("site_opened", "2026-04-01", True)
    # once retracted, a blank cell changes nothing more
    again = plan_import(
        edge(tmp_path, ROW.replace("01/04/2026", "")),
        ledger_after(plan, ledger_after(first)),
        later + timedelta(days=1),
    )
    assert again.studies == {} and again.unchanged == 4


def test_a_blank_never_published_is_nothing(tmp_path: Path) -> None:
    plan = plan_import(edge(tmp_path, "61234,RGT,1,,,,,,,"), {}, T0)
    assert plan.studies == {} and plan.summary()["unchanged"] == 0


def dated_site_opened(history: list[ImportPlan]) -> str | None:
    """The date of site_opened that `setupmon evaluate` sees after these imports."""
    lines = [event.event for plan in history for event in events_of(plan)]
    document = evaluate_lines(lines, date(2026, 12, 31))
    assert document["rejected"] == []
    clocks = document["clocks"]
    assert isinstance(clocks, list)
    first_participant = [clock for clock in clocks if clock["kpi"] == "first_participant"]
    return first_participant[0]["start_date"] if first_participant else None


@pytest.mark.parametrize(
    "values",
    [
        ["01/04/2026", "05/04/2026", "01/04/2026"],
        ["01/04/2026", "", "01/04/2026", "", "01/04/2026"],
    ],
)
def test_a_value_that_comes_back_gets_a_new_event_id_and_wins(
    tmp_path: Path, values: list[str]
) -> None:
    ledger: dict[str, LedgerEntry] = {}
    history: list[ImportPlan] = []
    for day, value in enumerate(values):
        at = T0 + timedelta(days=day)
        plan = plan_import(edge(tmp_path, ROW.replace("01/04/2026", value), at=at), ledger, at)
        assert plan.problems == [] and plan.events == (len(events_of(plan)))
        history.append(plan)
        ledger = ledger_after(plan, ledger)
    ids = [event.ledger_entry.event_id for plan in history[1:] for event in events_of(plan)]
    ids += [e.ledger_entry.event_id for e in events_of(history[0]) if "site_opened" in e.key]
    assert len(ids) == len(set(ids)) == len(values)
    # what a user sees: the stream ends with the date the last file gives
    assert dated_site_opened(history) == "2026-04-01"


def test_a_stale_export_is_refused(tmp_path: Path) -> None:
    first = plan_import(edge(tmp_path, ROW), {}, T0)
    older = T0 - timedelta(days=2)
    edited = ROW.replace("01/04/2026", "05/04/2026")
    plan = plan_import(edge(tmp_path, edited, at=older), ledger_after(first), older)
    assert plan.studies == {} and len(plan.problems) == 1
    problem = plan.problems[0]
    assert (problem.row, problem.column) == (2, "Open to recruitment")
    assert (
        "is not newer than the import that published 2026-04-01 for site_opened of CPMS-61234 at site RGT"
        in problem.message
    )
    # equal times with a different value are refused too (the tie would go by event ID)
    assert plan_import(edge(tmp_path, edited), ledger_after(first), T0).problems
    # an older export that agrees with the ledger is simply unchanged
    assert plan_import(edge(tmp_path, ROW, at=older), ledger_after(first), older).problems == []


def test_a_partial_export_leaves_other_sites_and_studies_alone(tmp_path: Path) -> None:
    other_site = "61234,RX1,1,02/02/2026,,,,,,"
    other_study = "70001,RGT,9,03/02/2026,,,,,,"
    first = plan_import(edge(tmp_path, ROW, other_site, other_study), {}, T0)
    later = T0 + timedelta(days=1)
    plan = plan_import(edge(tmp_path, ROW, at=later), ledger_after(first), later)
    assert plan.studies == {} and plan.retracted == 0


def test_an_absent_optional_column_leaves_its_milestone_alone(tmp_path: Path) -> None:
    with_closed = read(tmp_path, "edge", EDGE_HEADER + ",Date site closed", ROW + ",20/05/2026")
    first = plan_import(with_closed, {}, T0)
    assert any("site_closed" in event.key for event in events_of(first))
    later = T0 + timedelta(days=1)
    plan = plan_import(edge(tmp_path, ROW, at=later), ledger_after(first), later)
    assert plan.studies == {} and plan.retracted == 0


def test_publishing_order_study_first_then_sites_by_date_and_lifecycle(tmp_path: Path) -> None:
    items = [
        ImportedMilestone("x", "S1", "RGT", "site_opened", date(2026, 3, 1), None, 2),
        ImportedMilestone("x", "S1", "RGT", "site_confirmed", date(2026, 3, 1), None, 2),
        ImportedMilestone("x", "S1", "RX1", "site_invited", date(2026, 1, 5), None, 3),
        ImportedMilestone("x", "S1", None, "hra_approved", date(2026, 2, 1), None, 4),
        ImportedMilestone("x", "S1", None, "regulatory_submitted", date(2026, 1, 10), None, 4),
        ImportedMilestone("x", "S1", "RGT", "site_selected", None, None, 2),  # retracted below
    ]
    read_result = ReadResult(items, [], 3, 1, 2, [])
    selected = items[-1].key
    ledger = {
        selected: LedgerEntry(
            "imp-old", "2026-02-15", "2026-02-15T10:00:00+00:00", {"2026-02-15": 1}
        )
    }
    plan = plan_import(read_result, ledger, T0)
    order = [(body["milestone"], body["date"]) for body in bodies(plan)]
    assert order == [
        ("regulatory_submitted", "2026-01-10"),
        ("hra_approved", "2026-02-01"),
        ("site_invited", "2026-01-05"),
        ("site_selected", "2026-02-15"),  # the retraction, at the date it withdraws
        ("site_confirmed", "2026-03-01"),
        ("site_opened", "2026-03-01"),
    ]


def test_a_changed_sponsor_or_flag_is_a_correction(tmp_path: Path) -> None:
    line = "61234,ACME-101,Acme Pharma Ltd,Yes,Yes,No,01/01/2026,10/01/2026,,"
    first = plan_import(read(tmp_path, "cpms", CPMS_HEADER, line), {}, T0)
    registered = next(body for body in bodies(first) if body["milestone"] == "study_registered")
    assert registered["attributes"] == {
        "sponsor_id": "acme-pharma-ltd",
        "title": "ACME-101",
        "commercial": True,
        "ctimp": True,
        "atimp": False,
    }
    later = T0 + timedelta(days=1)
    atimp = line.replace("Yes,Yes,No", "Yes,Yes,Yes")
    plan = plan_import(
        read(tmp_path, "cpms", CPMS_HEADER, atimp, at=later), ledger_after(first), later
    )
    assert plan.corrected == 1
    [body] = bodies(plan)
    assert body["milestone"] == "study_registered" and body["attributes"]["atimp"] is True  # type: ignore[index]
    # a blank flag equal to the contract's default is no change
    blank = line.replace("Yes,Yes,No", ",,")
    assert (
        plan_import(
            read(tmp_path, "cpms", CPMS_HEADER, blank, at=later), ledger_after(first), later
        ).studies
        == {}
    )


def test_an_event_the_contract_rejects_is_a_problem_not_an_event() -> None:
    bad = ImportedMilestone(
        "cpms",
        "S1",
        None,
        "study_registered",
        date(2026, 1, 1),
        {"sponsor_id": "Acme Pharma"},
        7,
        "Sponsor",
    )
    good = ImportedMilestone("cpms", "S1", None, "hra_approved", date(2026, 1, 2), None, 7)
    plan = plan_import(ReadResult([bad, good], [], 1, 1, 0, []), {}, T0)
    assert [(p.row, p.column) for p in plan.problems] == [(7, "Sponsor")]
    assert (
        "its study_registered event would be rejected: attributes.sponsor_id 'Acme Pharma'"
        in plan.problems[0].message
    )
    assert [body["milestone"] for body in bodies(plan)] == ["hra_approved"]


def test_recorded_at_needs_an_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        plan_import(ReadResult([], [], 0, 0, 0, []), {}, datetime(2026, 1, 1))  # noqa: DTZ001


def test_every_shipped_mapping_gives_events_the_contract_accepts(tmp_path: Path) -> None:
    cpms_lines = [
        "61234,ACME-101,Acme Pharma Ltd,Yes,Yes,No,01/01/2026,10/01/2026,2026-02-20,20/02/2026",
        "61235,,Société Beta S.A.,No,N,Y,2026-01-02,,,",
    ]
    edge_lines = [ROW, "61235,rx1 ,2,46112,31-Mar-2026,,1/4/2026,2/4/2026 00:00,3/4/2026,3/4/2026"]
    for result in (read(tmp_path, "cpms", CPMS_HEADER, *cpms_lines), edge(tmp_path, *edge_lines)):
        plan = plan_import(result, {}, T0)
        assert plan.problems == [] and plan.new == len([m for m in result.milestones if m.date])
        for event in events_of(plan):
            assert isinstance(validate_event(event.event), Milestone), event.event


def test_ledger_entry_round_trip_and_bad_input() -> None:
    entry = LedgerEntry(
        "imp-1",
        '2026-01-01 {"sponsor_id":"a"}',
        T0.isoformat(),
        {"2026-01-01": 2, "retract 2026-01-01": 1},
    )
    assert LedgerEntry.from_json(entry.to_json()) == entry
    retracted = LedgerEntry("imp-2", None, T0.isoformat(), {"2026-01-01": 1})
    assert LedgerEntry.from_json(retracted.to_json()) == retracted
    for bad in [
        b"nope",
        b"[]",
        b'{"value": "2026-01-01", "recorded_at": "2026-01-01T00:00:00Z"}',
        b'{"event_id": "e", "value": "soon", "recorded_at": "2026-01-01T00:00:00Z"}',
        b'{"event_id": "e", "value": "2026-01-01", "recorded_at": "yesterday"}',
        b'{"event_id": "e", "value": null, "recorded_at": "2026-01-01T00:00:00Z", "published": {"x": 0}}',
    ]:
        with pytest.raises(ValueError):
            LedgerEntry.from_json(bad)


# -- review of issue 12 (findings 3, 11) ---------------------------------------------------


def test_skip_bad_rows_drops_a_row_with_a_planning_problem_whole(tmp_path: Path) -> None:
    other = "70001,RX1,2,02/02/2026,,,,,,"
    first = plan_import(edge(tmp_path, ROW), {}, T0)
    older = T0 - timedelta(days=2)
    # row 2: one stale cell (a different opening date) and one cell never published before
    stale = ROW.replace("01/04/2026,,", "05/04/2026,02/04/2026,")
    result = edge(tmp_path, stale, other, at=older)

    refused = plan_import(result, ledger_after(first), older)
    assert refused.refused and refused.skipped == ()

    plan = plan_import(result, ledger_after(first), older, skip_bad_rows=True)
    assert not plan.refused and plan.skipped == (2,)
    assert [(p.row, p.column) for p in plan.problems] == [(2, "Open to recruitment")]
    # nothing of row 2 is published, not even its cells that were fine; row 3 is
    assert {body["study_id"] for body in bodies(plan)} == {"CPMS-70001"}
    assert (plan.new, plan.summary()["skipped_rows"]) == (1, 1)
    assert (plan.summary()["studies"], plan.summary()["sites"]) == (1, 1)


def test_a_tie_with_an_earlier_file_of_the_same_import_names_that_file(tmp_path: Path) -> None:
    first = plan_import(edge(tmp_path, ROW), {}, T0)
    ledger = ledger_after(first)
    edited = ROW.replace("01/04/2026", "05/04/2026")
    planned_by = {event.key: "f1.csv" for event in events_of(first)}
    plan = plan_import(edge(tmp_path, edited), ledger, T0, planned_by=planned_by)
    [problem] = plan.problems
    assert problem.message == (
        f"f1.csv, in this import with the same recorded_at ({T0.isoformat()}), gives "
        "2026-04-01 for site_opened of CPMS-61234 at site RGT: which is right? Import them "
        "separately, each with its real --recorded-at"
    )
