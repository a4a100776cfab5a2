"""Study histories for the alert guarantees (CONTRACT.md section 3), and their interleavings.

A history is one study's events in recorded order, as a bulk import of an export sorted by
study sends them: the simulator's plan (late entries, corrections, duplicates) plus
retractions of recruitment dates recorded in error, some recorded again later, so that
clocks breach, clear and breach again.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from core.codec import dumps, loads
from events.milestones import Milestone
from events.validation import Rejection, validate_event
from setupmon.simulator import plan_events

SITE_IDS = ("RGT", "RAJ", "RJ1", "RWE", "RTH", "RRK", "R0A", "RXH")

History = list[dict[str, Any]]


def study_histories(
    seed: int, *, studies: int, first_day: date, span_days: int
) -> dict[str, History]:
    """Each study's events in recorded order (malformed messages left out)."""
    rng = random.Random(seed)
    histories: dict[str, History] = {}
    for item in plan_events(
        SITE_IDS, studies=studies, first_day=first_day, span_days=span_days, seed=seed
    ):
        if isinstance(validate_event(item.value), Rejection):
            continue
        event = loads(item.value)
        histories.setdefault(event["study_id"], []).append(event)
    for events in histories.values():
        events += _retractions(rng, events)
        events.sort(key=lambda e: _instant(e["recorded_at"]))  # stable: duplicates stay put
    return histories


def _retractions(rng: random.Random, events: History) -> History:
    """Some recruitment dates withdrawn as entered in error, and some entered again later."""
    extra: History = []
    for event in events:
        if event["milestone"] != "first_participant_recruited" or rng.random() > 0.3:
            continue
        recorded = _instant(event["recorded_at"])
        retracted_at = recorded + timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 99))
        extra.append(
            {
                **event,
                "event_id": f"{event['event_id']}-retract",
                "recorded_at": retracted_at.isoformat(),
                "retract": True,
            }
        )
        if rng.random() < 0.5:
            again = retracted_at + timedelta(days=rng.randint(1, 40))
            day = date.fromisoformat(event["date"]) + timedelta(rng.randint(0, 30))
            extra.append(
                {
                    **event,
                    "event_id": f"{event['event_id']}-again",
                    "date": min(day, again.date()).isoformat(),
                    "recorded_at": again.isoformat(),
                }
            )
    return extra


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def last_recorded_day(histories: Mapping[str, History]) -> date:
    return max(_instant(e["recorded_at"]).date() for events in histories.values() for e in events)


def interleave(histories: Mapping[str, History], rng: random.Random) -> History:
    """All events in one feed: studies in a shuffled order, each study's own in recorded order."""
    queues = [list(events) for _, events in sorted(histories.items())]
    rng.shuffle(queues)
    feed: History = []
    while queues:
        queue = rng.choice(queues)
        take = rng.randint(1, 8)  # a run of one study, then maybe another's
        feed.extend(queue[:take])
        del queue[:take]
        queues = [q for q in queues if q]
    return feed


def decoded(events: Sequence[dict[str, Any]]) -> list[Milestone]:
    out = []
    for event in events:
        result = validate_event(dumps(event))
        assert not isinstance(result, Rejection), result
        out.append(result)
    return out
