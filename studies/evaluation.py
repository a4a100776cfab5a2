"""What one evaluation of a study found, kept per part ("" for the study, else a site) so the
next evaluation redoes only the parts that changed, and the status document is assembled
from each part's cached JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from core.codec import dumps
from events.milestones import MilestoneKind
from kpi.clocks import Clock, next_change
from kpi.facts import StudyFacts
from rules.decide import Alert

STUDY_PART = ""  # the part holding the study's own milestones and clocks


@dataclass(slots=True)
class Evaluation:
    """What the last `advance` computed, per part, kept to re-evaluate only what changed."""

    as_of: date
    facts: StudyFacts
    clocks: dict[str, list[Clock]]  # part -> its clocks
    fragments: dict[str, bytes]  # part -> its clocks as JSON, comma-joined, no brackets
    summaries: dict[str, bytes]  # site -> its `{stage, flags}` as JSON
    site_order: list[str] = field(default_factory=list)  # sites with clocks, sorted
    wakes: dict[str, date] = field(default_factory=dict)  # part -> its clocks' next change
    # the earliest recruitment at any site, kept so an event at one site does not scan all
    first_day: date | None = None

    def first_recruited(self) -> date | None:
        days = [
            site.dates[MilestoneKind.FIRST_PARTICIPANT_RECRUITED]
            for site in self.facts.sites.values()
            if MilestoneKind.FIRST_PARTICIPANT_RECRUITED in site.dates
        ]
        return min(days) if days else None


class StudyUpdate:
    """What one `advance` found, valid until the study's next `advance`. Whole-study views
    (`clocks`, the status document) are built on demand from the per-part cache, so a caller
    that needs only what changed pays for only that."""

    def __init__(
        self,
        evaluation: Evaluation,
        study_id: str,
        changed: list[Clock],
        removed: list[str],
        alerts: list[Alert],
    ) -> None:
        self.as_of = evaluation.as_of
        self.facts = evaluation.facts
        self.study_id = study_id
        self.changed = changed  # clocks whose state, dates or flags differ from the last advance
        self.removed = removed  # keys of clocks reported before that no longer exist
        self.alerts = alerts
        self._evaluation = evaluation

    @property
    def sponsor_id(self) -> str | None:
        return self.facts.sponsor_id

    @cached_property
    def clocks(self) -> list[Clock]:
        """Every clock: the study's first, then each site's, sites sorted by ID."""
        clocks = list(self._evaluation.clocks[STUDY_PART])
        for site_id in self._evaluation.site_order:
            clocks += self._evaluation.clocks[site_id]
        return clocks

    @cached_property
    def wake_on(self) -> date | None:
        """The next day one of the study's clocks changes state with no new event: the day
        tick re-evaluates the study then (and not before)."""
        return min(self._evaluation.wakes.values(), default=None)

    def part_clocks(self, part: str) -> list[Clock]:
        """The clocks of one site (or of the study, for STUDY_PART); [] for a site with none."""
        return self._evaluation.clocks.get(part, [])

    def status_json(self, *, updated_at: datetime) -> bytes:
        """The `setup.study-status` value, assembled from each part's cached JSON."""
        evaluation = self._evaluation
        head = dumps(
            {
                "study_id": self.study_id,
                "sponsor_id": self.sponsor_id,
                "as_of": self.as_of.isoformat(),
                "updated_at": updated_at.isoformat(),
            }
        )[:-1]
        parts = (STUDY_PART, *evaluation.site_order)
        clocks = b",".join(evaluation.fragments[part] for part in parts)
        sites = b",".join(
            b'"' + site_id.encode() + b'":' + evaluation.summaries[site_id]
            for site_id in evaluation.site_order
        )
        return head + b',"clocks":[' + clocks + b'],"sites":{' + sites + b"}}"


def store_part(evaluation: Evaluation, part: str, clocks: list[Clock]) -> None:
    """Cache a part's clocks, their JSON for the status document, and their next change."""
    evaluation.clocks[part] = clocks
    evaluation.fragments[part] = dumps([clock.to_json() for clock in clocks])[1:-1]
    wakes = [day for day in map(next_change, clocks) if day is not None]
    if wakes:
        evaluation.wakes[part] = min(wakes)
    else:
        evaluation.wakes.pop(part, None)


def fingerprint(clock: Clock) -> str:
    """What, if it changes, makes a clock worth reporting again (not its elapsed days)."""
    return f"{clock.state}|{clock.start_date}|{clock.stop_date}|{clock.limit_days}|{clock.flags}"
