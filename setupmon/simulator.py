"""`setupmon simulate`: a realistic national stream of milestone events.

The plan is drawn up front from a seed (pure, testable): studies with sponsors, a handful to
a dozen sites each from the site registry, and delays drawn so that most sites miss today's
60- and 30-day limits (DOMAIN.md: 8-25% met them in 2025). It also carries what real feeds
carry: entries made days late, corrections, duplicates and some malformed messages.

Each event is published once the (simulated) UK day reaches the day it was recorded, so with
a fast calendar a demo shows at-risk and breach alerts within a minute.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from aiokafka import AIOKafkaProducer

from broker.client import client_options
from broker.topics import TopicNames
from core.codec import dumps, loads
from core.settings import Settings
from core.time import Calendar

SPONSORS = (
    "astra-labs",
    "brightwell",
    "calder-bio",
    "dunmore-pharma",
    "elmfield",
    "fenwick-cro",
    "greystone",
    "harcourt-rx",
    "isling-bio",
    "juniper-cro",
    "kestrel-tx",
    "lindqvist",
)


@dataclass(frozen=True, slots=True)
class Planned:
    recorded_day: date
    key: bytes
    value: bytes


def _lognormal_days(rng: random.Random, median: float, spread: float = 0.45) -> int:
    return max(0, round(rng.lognormvariate(0, spread) * median))


def _entry_delay(rng: random.Random) -> int:
    """Most entries the same or next day; a tail weeks late (DOMAIN.md: data entered late)."""
    roll = rng.random()
    if roll < 0.6:
        return 0
    if roll < 0.85:
        return rng.randint(1, 3)
    return rng.randint(4, 30)


class _StudyPlanner:
    def __init__(self, rng: random.Random, study_id: str) -> None:
        self.rng = rng
        self.study_id = study_id
        self.planned: list[Planned] = []
        self.count = 0

    def emit(self, milestone: str, day: date, site_id: str | None = None, **extra: object) -> None:
        recorded = day + timedelta(self._delay())
        self._add(milestone, day, recorded, site_id, **extra)
        roll = self.rng.random()
        if roll < 0.05:  # a correction a few days later: the date was entered wrongly
            corrected = day + timedelta(self.rng.choice((-7, -3, -1, 1, 2, 5)))
            fix_day = recorded + timedelta(self.rng.randint(1, 10))
            self._add(milestone, min(corrected, fix_day), fix_day, site_id, **extra)
        elif roll < 0.07:  # the source system sends the same event twice
            self.planned.append(self.planned[-1])

    def _delay(self) -> int:
        return _entry_delay(self.rng)

    def _add(
        self, milestone: str, day: date, recorded: date, site_id: str | None, **extra: object
    ) -> None:
        self.count += 1
        moment = datetime.combine(recorded, time(8, 0), UTC) + timedelta(
            minutes=self.rng.randint(0, 600)
        )
        event: dict[str, object] = {
            "event_id": f"{self.study_id}-{self.count}",
            "study_id": self.study_id,
            "milestone": milestone,
            "date": day.isoformat(),
            "recorded_at": moment.isoformat(),
            "source": f"edge:{site_id}" if site_id else "cpms",
            **extra,
        }
        if site_id:
            event["site_id"] = site_id
        self.planned.append(Planned(recorded, self.study_id.encode(), dumps(event)))


def plan_events(
    site_ids: Sequence[str], *, studies: int, first_day: date, span_days: int, seed: int
) -> list[Planned]:
    """Every message of the simulation, in the order of the day it is recorded."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
    planned: list[Planned] = []
    for number in range(studies):
        study_id = f"CPMS-{60000 + number}"
        study = _StudyPlanner(rng, study_id)
        start = first_day + timedelta(rng.randint(0, span_days))
        atimp = rng.random() < 0.05
        study.emit(
            "study_registered",
            start,
            attributes={
                "sponsor_id": rng.choice(SPONSORS),
                "title": f"Trial {number}",
                "atimp": atimp,
            },
        )
        submitted = start + timedelta(rng.randint(0, 10))
        study.emit("regulatory_submitted", submitted)
        approved = submitted + timedelta(_lognormal_days(rng, 48, 0.25))
        study.emit("regulatory_approved", approved)
        hra = approved + timedelta(rng.randint(0, 7))
        study.emit("hra_approved", hra)
        for site_id in rng.sample(list(site_ids), k=min(len(site_ids), rng.randint(3, 12))):
            _plan_site(rng, study, site_id, hra)
        planned += study.planned
    planned += _malformed(rng, first_day, span_days, count=max(1, studies // 10))
    planned.sort(key=lambda item: item.recorded_day)
    return planned


def _plan_site(rng: random.Random, study: _StudyPlanner, site_id: str, hra: date) -> None:
    invited = hra - timedelta(rng.randint(5, 40))
    study.emit("site_invited", invited, site_id)
    selected = invited + timedelta(rng.randint(3, 30))
    if rng.random() > 0.05:  # a few sites never record the selection date
        study.emit("site_selected", selected, site_id)
    clock_start = max(hra, selected)
    if rng.random() < 0.04:
        study.emit("site_withdrawn", clock_start + timedelta(rng.randint(5, 50)), site_id)
        return
    # Most sites miss the 60 days (a median near 80) and the 30 days (a median near 45).
    opened = clock_start + timedelta(_lognormal_days(rng, 80))
    study.emit("site_confirmed", opened - timedelta(rng.randint(0, 10)), site_id)
    study.emit("site_opened", opened, site_id)
    consented = opened + timedelta(_lognormal_days(rng, 42))
    study.emit("first_participant_consented", consented, site_id)
    study.emit("first_participant_recruited", consented + timedelta(rng.randint(0, 3)), site_id)


def _malformed(rng: random.Random, first_day: date, span_days: int, count: int) -> list[Planned]:
    """Messages a careless feed sends: each must reach the dead-letter topic."""
    out = []
    for number in range(count):
        day = first_day + timedelta(rng.randint(0, span_days))
        base: dict[str, object] = {
            "event_id": f"malformed-{number}",
            "study_id": "CPMS-1",
            "site_id": "RGT",
            "milestone": "site_opened",
            "date": day.isoformat(),
            "recorded_at": f"{day.isoformat()}T10:00:00Z",
            "source": "edge:RGT",
        }
        kind = number % 4
        if kind == 0:  # cut off mid-message
            value = dumps(base)[:40]
        elif kind == 1:  # a date that does not exist
            value = dumps({**base, "date": f"{day.year}-02-30"})
        elif kind == 2:  # a participant-level field: unknown, never stored
            value = dumps({**base, "patient_name": "redacted"})
        else:  # a site milestone without its site
            value = dumps({k: v for k, v in base.items() if k != "site_id"})
        out.append(Planned(day, b"CPMS-1", value))
    return out


def entered_on(planned: list[Planned], day: date) -> list[tuple[bytes, bytes]]:
    """The plan as if every message up to `day` were entered on that day, in plan order:
    replays and benchmarks then evaluate everything as of one day, whatever the timing."""
    start = datetime.combine(day, time(7, 0), UTC)
    messages = []
    for number, item in enumerate(p for p in planned if p.recorded_day <= day):
        try:
            event = loads(item.value)
        except ValueError:  # a malformed message goes as it is
            event = None
        if isinstance(event, dict) and "recorded_at" in event:
            event["recorded_at"] = (start + timedelta(seconds=number)).isoformat()
            messages.append((item.key, dumps(event)))
        else:
            messages.append((item.key, item.value))
    return messages


async def run_simulation(
    settings: Settings,
    calendar: Calendar,
    planned: list[Planned],
    *,
    rate: float,
    until: date | None = None,
) -> int:
    """Publish each planned message once the calendar reaches its day; returns how many."""
    topic = TopicNames.from_settings(settings).milestones
    producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=5)
    await producer.start()
    sent = 0
    # Pause after every `burst` messages, so the rate holds without a sleep per message.
    burst = max(1, int(rate // 20)) if rate > 0 else 0
    try:
        while sent < len(planned):
            today = calendar.today()
            if until is not None and today > until:
                break
            while sent < len(planned) and planned[sent].recorded_day <= today:
                item = planned[sent]
                await producer.send(topic, item.value, key=item.key)
                sent += 1
                if burst and sent % burst == 0:
                    await asyncio.sleep(burst / rate)
            await asyncio.sleep(0.2)
        await producer.flush()
    finally:
        await producer.stop()
    return sent
