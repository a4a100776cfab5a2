"""The validation fuzzer (`make fuzz`, tests/fuzz/): a sample of it, and proof that it notices
a broken rule, a crash and a lost size limit."""

from __future__ import annotations

import re

import pytest

import events.validation
from tests.fuzz.inputs import chunk_cases
from tests.fuzz.run import run_chunk


def problems_of(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for problem in report.problems for line in problem["problems"]]


def test_a_sample_of_the_fuzz_run_finds_validation_keeping_the_contract() -> None:
    report = run_chunk(seed=7, chunk=0)
    assert report.problem_count == 0, problems_of(report)[:5]
    assert report.outcomes["accepted"] > 500
    assert len(report.outcomes) >= 13  # accepted and nearly every rejection code


def test_the_same_seed_and_chunk_make_the_same_inputs() -> None:
    first = [case.raw for case in chunk_cases(3, 5, 300)]
    assert first == [case.raw for case in chunk_cases(3, 5, 300)]
    assert first != [case.raw for case in chunk_cases(3, 6, 300)]


def test_the_fuzzer_reports_a_loosened_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # lower-case ODS codes let through: the contract reading refuses what validation accepts
    monkeypatch.setattr(events.validation, "SITE_ID_PATTERN", re.compile(r"[A-Za-z0-9]{2,10}"))
    report = run_chunk(seed=7, chunk=0, size=2000)
    assert any("accepted, but the contract refuses it" in line for line in problems_of(report))


def test_the_fuzzer_reports_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def naive(moment: object) -> object:
        raise ValueError("uk_date needs an aware datetime")

    monkeypatch.setattr(events.validation, "uk_date", naive)
    report = run_chunk(seed=7, chunk=0, size=500)
    assert report.outcomes["crash"] > 0
    assert any(
        "ValueError: uk_date needs an aware datetime" in line for line in problems_of(report)
    )


def test_the_fuzzer_reports_a_lost_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events.validation, "MAX_MESSAGE_BYTES", 1024 * 1024)
    report = run_chunk(seed=7, chunk=0, size=3000)
    assert any("expected too_large" in line for line in problems_of(report))
