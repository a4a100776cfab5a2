"""`make fuzz`: a million generated messages through `validate_event`, judged one by one.

    python -m tests.fuzz [--inputs 1000000] [--seed 1] [--workers N] [--chunk C]

Prints progress, then a summary: outcomes per contract code, inputs per second and the
slowest input. Exits 1 when any input crashed validation, took pathologically long, was
answered against the contract (see `tests/fuzz/judge.py`), or when some contract code was
never produced (the generators lost their reach). Problems go to .data/fuzz/problems.jsonl
with the raw message in base64 and the (seed, chunk, index) that makes it again.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from events.validation import validate_event
from tests.fuzz.contract import CONTRACT_CODES
from tests.fuzz.inputs import CHUNK_SIZE, chunk_cases, describe
from tests.fuzz.judge import ACCEPTED, judge, outcome

PATHOLOGICAL_SECONDS = 1.0  # a single 64 KiB message validates in well under a millisecond
PROBLEMS_KEPT_PER_CHUNK = 20
EVERY_CODE_FROM = 100_000  # a run this long must produce every contract code


@dataclass
class Report:
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, object]] = field(default_factory=list)
    problem_count: int = 0
    slowest_ns: int = 0
    slowest: str = ""
    validating_ns: int = 0

    def add(self, other: Report) -> None:
        self.inputs += other.inputs
        self.outcomes.update(other.outcomes)
        self.kinds.update(other.kinds)
        self.problems += other.problems
        self.problem_count += other.problem_count
        self.validating_ns += other.validating_ns
        if other.slowest_ns > self.slowest_ns:
            self.slowest_ns, self.slowest = other.slowest_ns, other.slowest


def run_chunk(seed: int, chunk: int, size: int = CHUNK_SIZE) -> Report:
    """Validate and judge one chunk's inputs (its first `size`)."""
    report = Report()
    for index, case in enumerate(chunk_cases(seed, chunk, size)):
        # CPU time of this thread: other processes on a busy machine do not count
        started = time.thread_time_ns()
        try:
            result: object = validate_event(case.raw)
        except Exception:
            result = None
            problems = ["validate_event raised:\n" + traceback.format_exc(limit=6)]
        else:
            problems = []
        took = time.thread_time_ns() - started
        if result is not None:
            problems += judge(case.raw, result, case.expect)
            report.outcomes[outcome(result)] += 1  # type: ignore[arg-type]
        else:
            report.outcomes["crash"] += 1
        if took > PATHOLOGICAL_SECONDS * 1e9:
            problems.append(f"took {took / 1e9:.2f} s")
        report.inputs += 1
        report.kinds[case.kind] += 1
        report.validating_ns += took
        where = f"seed {seed} chunk {chunk} index {index} ({case.kind})"
        if took > report.slowest_ns:
            report.slowest_ns, report.slowest = took, f"{where}: {describe(case.raw, 60)}"
        if problems:
            report.problem_count += 1
            if len(report.problems) < PROBLEMS_KEPT_PER_CHUNK:
                report.problems.append(
                    {"where": where, "problems": problems, "size": len(case.raw),
                     "raw_base64": base64.b64encode(case.raw[:200_000]).decode()}
                )  # fmt: skip
    return report


def _chunk_job(job: tuple[int, int]) -> Report:
    return run_chunk(*job)


def fuzz(inputs: int, seed: int, workers: int, chunks: list[int] | None = None) -> Report:
    jobs = [(seed, chunk) for chunk in (chunks or range(-(-inputs // CHUNK_SIZE)))]
    total = len(jobs) * CHUNK_SIZE
    report = Report()
    started = time.monotonic()
    shown = 0.0
    with multiprocessing.get_context("fork").Pool(workers) if workers > 1 else _InProcess() as pool:
        for part in pool.imap_unordered(_chunk_job, jobs):
            report.add(part)
            done = report.inputs / total
            if done - shown >= 0.05 or report.inputs == total:
                shown = done
                rate = report.inputs / max(time.monotonic() - started, 1e-9)
                print(
                    f"fuzz: {report.inputs:>9,}/{total:,} inputs ({done:4.0%}), {rate:,.0f}/s, "
                    f"{report.problem_count} problem(s)",
                    file=sys.stderr,
                    flush=True,
                )
    return report


class _InProcess:
    """The Pool interface, run in this process (one worker, or a test's monkeypatches)."""

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def imap_unordered(self, function, jobs):  # type: ignore[no-untyped-def]
        return map(function, jobs)


def summary(report: Report, seconds: float) -> str:
    lines = [
        f"fuzz summary: {report.inputs:,} inputs in {seconds:.1f} s "
        f"({report.inputs / max(seconds, 1e-9):,.0f} inputs/s; validation alone "
        f"{report.validating_ns / 1e9:.1f} CPU s, {report.validating_ns / max(report.inputs, 1) / 1e3:.1f} µs each)",
        f"  accepted: {report.outcomes[ACCEPTED]:,}",
    ]
    for code in sorted(CONTRACT_CODES):
        lines.append(f"  {code}: {report.outcomes[code]:,}")
    for other in sorted(set(report.outcomes) - CONTRACT_CODES - {ACCEPTED}):
        lines.append(f"  {other} (NOT A CONTRACT CODE): {report.outcomes[other]:,}")
    lines.append(f"  slowest input: {report.slowest_ns / 1e6:.2f} ms CPU, {report.slowest}")
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(report.kinds.items()))
    lines.append(f"  generators: {kinds}")
    lines.append(f"  problems: {report.problem_count:,}")
    return "\n".join(lines)


def unreached_codes(report: Report) -> list[str]:
    if report.inputs < EVERY_CODE_FROM:
        return []
    return sorted(code for code in CONTRACT_CODES if report.outcomes[code] == 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunk", type=int, action="append", help="replay only this chunk")
    parser.add_argument("--problems", type=Path, default=Path(".data/fuzz/problems.jsonl"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = fuzz(args.inputs, args.seed, args.workers, args.chunk)
    print(summary(report, time.monotonic() - started), flush=True)
    missing = unreached_codes(report)
    if missing:
        print(f"FAIL: no input produced {', '.join(missing)}", flush=True)
    if report.problems:
        args.problems.parent.mkdir(parents=True, exist_ok=True)
        with args.problems.open("w") as out:
            for problem in report.problems:
                out.write(json.dumps(problem) + "\n")
        for problem in report.problems[:10]:
            raw = base64.b64decode(str(problem["raw_base64"]))
            print(f"PROBLEM at {problem['where']}: {describe(raw)}", flush=True)
            for line in problem["problems"]:  # type: ignore[attr-defined]
                print(f"    {line}", flush=True)
        print(f"FAIL: {report.problem_count:,} input(s) with problems, see {args.problems}")
    return 1 if report.problem_count or missing else 0
