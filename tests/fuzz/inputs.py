"""The fuzzer's inputs: a reproducible stream of named cases, chunk by chunk.

Chunk `n` of seed `s` is always the same inputs, whichever process makes it and whatever ran
before, so a problem found in a run of a million is replayed by its (seed, chunk, index).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from tests.fuzz.garbage import GENERATORS, RARE_GENERATORS
from tests.fuzz.judge import ACCEPTED
from tests.fuzz.mutations import mutate
from tests.fuzz.valid_events import encode, valid_event

CHUNK_SIZE = 5000
# shares of the inputs: a few valid events, mostly mutations, then broken bytes and structure
VALID_SHARE, MUTATION_SHARE, RARE_SHARE = 0.08, 0.62, 0.003


@dataclass(frozen=True, slots=True)
class Case:
    kind: str  # the generator or mutation that made it
    raw: bytes
    expect: frozenset[str] | None  # outcomes it was built for; None: judged by the contract alone


def chunk_cases(seed: int, chunk: int, size: int = CHUNK_SIZE) -> Iterator[Case]:
    rng = random.Random(f"setupmon-fuzz/{seed}/{chunk}")
    for _ in range(size):
        yield make_case(rng)


def make_case(rng: random.Random) -> Case:
    roll = rng.random()
    if roll < VALID_SHARE:
        return Case("valid_event", encode(rng, valid_event(rng)), frozenset({ACCEPTED}))
    if roll < VALID_SHARE + MUTATION_SHARE:
        kind, raw, expect = mutate(rng, valid_event(rng))
        return Case(kind, raw, expect)
    if roll > 1 - RARE_SHARE:
        make = rng.choice(RARE_GENERATORS)
    else:
        make = rng.choice(GENERATORS)
    raw, expect = make(rng)
    return Case(make.__name__, raw, expect)


def describe(raw: bytes, limit: int = 120) -> str:
    """A short printable picture of a message: its size and first bytes."""
    head = repr(raw[:limit])
    return f"{len(raw):,} bytes {head}{'...' if len(raw) > limit else ''}"
