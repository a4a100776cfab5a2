"""One study's state, applied one event at a time, and what changed when it is evaluated.

This is the incremental API the stream uses (and `evaluate` uses in one batch):

    state = StudyState(study_id)
    outcome = state.apply(event)            # accepted / duplicate / superseded
    update = state.advance(as_of)           # clocks, what changed, alerts to raise

`apply` only records the event; `advance` evaluates the clocks as of a UK day, decides alerts
against each clock's alert episodes, and remembers what it reported. Call `advance` after a
batch of events and whenever the UK date changes. The state is a plain value: `to_json` /
`from_json` give a compact form for a Faust table. Applying the same events in any order gives
the same state, and a duplicate or replayed event changes nothing.

Cost: a study is kept in parts, its own milestones and one part per site. `advance` on the
day it last evaluated re-evaluates only the sites whose milestones changed since (and the two
study clocks); a new day, or a change to a study milestone (HRA approval, the registration),
re-evaluates every site. So an event costs the same in a 5-site and a 200-site study, and
`clocks(as_of)` (a full evaluation from scratch, as `evaluate` uses) stays the reference the
incremental result equals.
"""

from __future__ import annotations

from bisect import insort
from datetime import date
from enum import StrEnum

from core.codec import dumps, exact, loads
from events.milestones import Milestone, MilestoneKind
from kpi.build import build_clocks, site_clocks, site_summary, study_clocks
from kpi.clocks import Clock, site_of_key
from kpi.facts import Parts, SiteFacts, StudyFacts, facts_as_of, site_facts
from kpi.versions import Version, VersionList
from rules.decide import Alert, ClockId, Episode, decide_alerts, record
from studies import stored
from studies.evaluation import STUDY_PART, Evaluation, StudyUpdate, fingerprint, store_part


class EventOutcome(StrEnum):
    ACCEPTED = "accepted"  # the event is now the latest version of its milestone
    DUPLICATE = "duplicate"  # its event_id was seen before: nothing changed
    SUPERSEDED = "superseded"  # kept, but an event recorded later already wins


class StudyState:
    __slots__ = (
        "_dirty",
        "_episodes",
        "_evaluation",
        "_event_ids",
        "_reported",
        "_saved",
        "evaluated_on",
        "parts",
        "reported_sponsor",
        "study_id",
    )

    def __init__(self, study_id: str) -> None:
        self.study_id = study_id
        self.parts: Parts = {}  # part ("" or a site) -> milestone -> every version
        # each alerted clock's latest episode (CONTRACT.md section 3), by part
        self._episodes: dict[str, dict[ClockId, Episode]] = {}
        # part -> clock key -> fingerprint of what the last advance reported (what changed)
        self._reported: dict[str, dict[str, str]] = {}
        self.reported_sponsor: str | None = None
        # the latest day advance() evaluated: a study's evaluation never goes back in time
        self.evaluated_on: date | None = None
        self._event_ids: set[str] = set()
        self._dirty: set[str] = set()  # parts with versions added since the last advance
        self._evaluation: Evaluation | None = None
        # part -> its share of `encoded()`, kept until the part changes, so writing back a
        # study after an event costs what its changed parts cost, not the whole study
        self._saved: dict[str, tuple[bytes, bytes, bytes]] = {}

    @property
    def episodes(self) -> dict[ClockId, Episode]:
        return {k: v for part in self._episodes.values() for k, v in part.items()}

    def apply(self, event: Milestone) -> EventOutcome:
        if event.study_id != self.study_id:
            raise ValueError(f"event for {event.study_id} applied to {self.study_id}")
        if event.event_id in self._event_ids:
            return EventOutcome.DUPLICATE
        self._event_ids.add(event.event_id)
        part = event.site_id or STUDY_PART
        versions = self.parts.setdefault(part, {}).setdefault(event.milestone, VersionList())
        latest = versions.add(Version.of(event))
        self._dirty.add(part)
        self._saved.pop(part, None)
        return EventOutcome.ACCEPTED if latest else EventOutcome.SUPERSEDED

    def facts(self, as_of: date) -> StudyFacts:
        return facts_as_of(self.parts, as_of)

    def clocks(self, as_of: date) -> list[Clock]:
        """Every clock as of `as_of`, evaluated from scratch (what `evaluate` prints)."""
        return build_clocks(self.study_id, self.facts(as_of), as_of)

    def advance(self, as_of: date, *, hold_back_before: date | None = None) -> StudyUpdate:
        """Evaluate as of `as_of`, or as of the last day evaluated if that is later.

        Alerts judged as of a day before `hold_back_before` come back marked `held`
        (see `rules.decide.decide_alerts`); they count as raised all the same."""
        if self.evaluated_on is not None and self.evaluated_on > as_of:
            as_of = self.evaluated_on
        self.evaluated_on = as_of
        previous = self._evaluation
        if previous is None or previous.as_of != as_of or STUDY_PART in self._dirty:
            evaluation = self._evaluate_all(as_of)
            parts = [STUDY_PART, *evaluation.site_order, *self._gone_sites(evaluation)]
        else:
            evaluation = previous
            sites, recruitment_changed = self._evaluate_sites(evaluation, self._dirty)
            parts = [STUDY_PART, *sites]
            if recruitment_changed:
                evaluation.first_day = evaluation.first_recruited()
            store_part(
                evaluation,
                STUDY_PART,
                study_clocks(self.study_id, evaluation.facts, evaluation.first_day, as_of),
            )
        self._dirty.clear()
        self._evaluation = evaluation

        facts = evaluation.facts
        alerts: list[Alert] = []
        changed: list[Clock] = []
        removed: list[str] = []
        for part in parts:
            clocks = evaluation.clocks.get(part, [])
            episodes = self._episodes.setdefault(part, {})
            new = decide_alerts(
                clocks,
                episodes,
                sponsor_id=facts.sponsor_id,
                atimp=facts.atimp,
                as_of=as_of,
                hold_back_before=hold_back_before,
            )
            record(episodes, new)
            alerts += new
            if self._compare(part, clocks, changed, removed) or new:
                self._saved.pop(part, None)
        self.reported_sponsor = facts.sponsor_id
        return StudyUpdate(
            evaluation, self.study_id, changed, sorted(removed), alerts
        )

    def _evaluate_all(self, as_of: date) -> Evaluation:
        facts = self.facts(as_of)
        evaluation = Evaluation(as_of, facts, {}, {}, {}, sorted(facts.sites))
        for site_id in evaluation.site_order:
            self._store_site(evaluation, site_id, facts.sites[site_id])
        evaluation.first_day = evaluation.first_recruited()
        store_part(
            evaluation, STUDY_PART, study_clocks(self.study_id, facts, evaluation.first_day, as_of)
        )
        return evaluation

    def _evaluate_sites(
        self, evaluation: Evaluation, sites: set[str]
    ) -> tuple[list[str], bool]:
        """Re-evaluate the given sites on the day evaluated last: them sorted, and whether a
        site's first recruitment changed (the study_setup clock stops at the earliest)."""
        recruited = MilestoneKind.FIRST_PARTICIPANT_RECRUITED
        recruitment_changed = False
        for site_id in sorted(sites):
            site = site_facts(self.parts[site_id], evaluation.as_of)
            before = evaluation.facts.sites.get(site_id)
            recruitment_changed |= (before and before.dates.get(recruited)) != (
                site and site.dates.get(recruited)
            )
            known = site_id in evaluation.facts.sites
            if site is None:
                if known:  # every date of the site is retracted: it has no clocks now
                    del evaluation.facts.sites[site_id]
                    evaluation.site_order.remove(site_id)
                    for cache in (evaluation.clocks, evaluation.fragments, evaluation.summaries):
                        cache.pop(site_id, None)
                    evaluation.wakes.pop(site_id, None)
                continue
            evaluation.facts.sites[site_id] = site
            if not known:
                insort(evaluation.site_order, site_id)
            self._store_site(evaluation, site_id, site)
        return sorted(sites), recruitment_changed

    def _store_site(self, evaluation: Evaluation, site_id: str, site: SiteFacts) -> None:
        clocks = site_clocks(self.study_id, evaluation.facts, site_id, site, evaluation.as_of)
        store_part(evaluation, site_id, clocks)
        evaluation.summaries[site_id] = exact(dumps(site_summary(site, clocks)))

    def _gone_sites(self, evaluation: Evaluation) -> list[str]:
        """Sites reported or alerted before that have no clocks now."""
        known = set(self._reported) | set(self._episodes)
        return sorted(known - set(evaluation.site_order) - {STUDY_PART})

    def _compare(
        self, part: str, clocks: list[Clock], changed: list[Clock], removed: list[str]
    ) -> bool:
        """Note which of a part's clocks changed since the last report, and which are gone;
        whether any did."""
        reported = self._reported.setdefault(part, {})
        current = set()
        count = len(changed) + len(removed)
        for clock in clocks:
            key = clock.key
            current.add(key)
            print_ = fingerprint(clock)
            if reported.get(key) != print_:
                reported[key] = print_
                changed.append(clock)
        for key in [key for key in reported if key not in current]:
            del reported[key]
            removed.append(key)
        if not reported:
            del self._reported[part]
        return len(changed) + len(removed) > count

    # -- compact serialisation for a Faust table ------------------------------------------

    def encoded(self) -> bytes:
        """The state as JSON (format 2), assembled from each part's cached share."""
        parts = sorted(set(self.parts) | set(self._episodes) | set(self._reported))
        shares = [self._share(part) for part in parts]
        return stored.assemble(
            self.study_id, self.reported_sponsor, self.evaluated_on, shares
        )

    def _share(self, part: str) -> stored.Share:
        share = self._saved.get(part)
        if share is None:
            share = self._saved[part] = stored.share(
                part,
                self.parts.get(part, {}),
                self._episodes.get(part, {}),
                self._reported.get(part, {}),
            )
        return share

    def to_json(self) -> dict[str, object]:
        return dict(loads(self.encoded()))

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StudyState:
        if data.get("format") not in (1, stored.STATE_FORMAT):
            raise ValueError(f"unknown study state format {data.get('format')!r}")
        study_id = data["study_id"]
        assert isinstance(study_id, str)  # noqa: S101
        state = cls(study_id)
        for part, milestone, versions in stored.read_versions(data):
            state.parts.setdefault(part, {})[milestone] = VersionList(versions)
            state._event_ids.update(version.event_id for version in versions)
        for identity, episode in stored.read_episodes(data).items():
            state._episodes.setdefault(identity.site_id or STUDY_PART, {})[identity] = episode
        for key, value in stored.read_reported(data).items():
            state._reported.setdefault(site_of_key(key) or STUDY_PART, {})[key] = value
        sponsor = data.get("reported_sponsor")
        state.reported_sponsor = sponsor if isinstance(sponsor, str) else None
        evaluated_on = data.get("evaluated_on")
        state.evaluated_on = (
            date.fromisoformat(evaluated_on) if isinstance(evaluated_on, str) else None
        )
        return state
