"""Imports over time, checked against the stream's own study state: whatever sequence of
exports (dates changed, cleared, restored; rows left out), the study ends up with the dates
the latest export of each row gave, and importing that export again publishes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from events.milestones import Milestone, MilestoneKind
from events.validation import validate_event
from importer.ledger import LedgerEntry
from importer.plan import plan_import
from importer.rows import ImportedMilestone, ReadResult
from studies.state import StudyState

STUDY = "CPMS-1"
SITES = ("RGT", "RX1")
KINDS = (MilestoneKind.SITE_SELECTED, MilestoneKind.SITE_OPENED)
DATES = (None, date(2026, 1, 5), date(2026, 1, 9), date(2026, 2, 1))
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# one export: for each site, either absent (None) or a date-or-blank per milestone
exports = st.lists(
    st.tuples(*[st.none() | st.tuples(*[st.sampled_from(DATES) for _ in KINDS]) for _ in SITES]),
    min_size=1,
    max_size=7,
)


def read_result(export: tuple[tuple[date | None, ...] | None, ...]) -> ReadResult:
    items = [
        ImportedMilestone(f"edge:{site}", STUDY, site, kind.value, day, None, row)
        for row, (site, cells) in enumerate(zip(SITES, export, strict=True), start=2)
        if cells is not None
        for kind, day in zip(KINDS, cells, strict=True)
    ]
    return ReadResult(items, [], len(items), 1, len(SITES), [])


@settings(max_examples=150, deadline=None)
@given(exports)
def test_the_study_ends_with_what_the_latest_exports_say(history: list) -> None:  # type: ignore[type-arg]
    state = StudyState(STUDY)
    ledger: dict[str, LedgerEntry] = {}
    expected: dict[tuple[str, MilestoneKind], date] = {}
    for day, export in enumerate(history):
        recorded_at = START + timedelta(days=day)
        plan = plan_import(read_result(export), ledger, recorded_at)
        assert plan.problems == []
        for event in plan.studies.get(STUDY, []):
            milestone = validate_event(event.event)
            assert isinstance(milestone, Milestone)
            state.apply(milestone)
            ledger[event.key] = event.ledger_entry
        for site, cells in zip(SITES, export, strict=True):
            for kind, value in zip(KINDS, cells or (), strict=False):
                if value is None:
                    expected.pop((site, kind), None)
                else:
                    expected[(site, kind)] = value
        again = plan_import(read_result(export), ledger, recorded_at + timedelta(hours=1))
        assert again.studies == {}, "the same export twice publishes nothing"
    facts = state.facts(START.date() + timedelta(days=len(history)))
    seen = {
        (site, kind): day
        for site, site_facts in facts.sites.items()
        for kind, day in site_facts.dates.items()
    }
    assert seen == expected
