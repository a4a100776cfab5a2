"""`setupmon evaluate` (CONTRACT.md section 5), run through the command-line entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from setupmon.cli import main
from tests.factories import raw_event

CLOCK_FIELDS = {
    "study_id",
    "kpi",
    "site_id",
    "state",
    "start_date",
    "stop_date",
    "due_date",
    "elapsed_days",
    "limit_days",
    "flags",
}


def line(
    milestone: str,
    day: str,
    *,
    site: str | None = None,
    recorded: str | None = None,
    study: str = "CPMS-1",
    **extra: Any,
) -> str:
    # raw_event drops a field given as None: no site_id for a study milestone
    return json.dumps(
        raw_event(
            milestone=milestone,
            date=day,
            site_id=site,
            study_id=study,
            recorded_at=recorded or f"{day}T09:00:00Z",
            **extra,
        )
    )


def write(tmp_path: Path, lines: list[str], ending: str = "\n") -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(ending.join(lines).encode("utf-8") + ending.encode())
    return path


def evaluate(path: Path, as_of: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["evaluate", "--events", str(path), "--as-of", as_of]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    document = json.loads(captured.out)
    assert isinstance(document, dict)
    return document


def clock(
    document: dict[str, Any], study: str, kpi: str, site: str | None = None
) -> dict[str, Any]:
    matches = [
        c
        for c in document["clocks"]
        if (c["study_id"], c["kpi"], c["site_id"]) == (study, kpi, site)
    ]
    assert len(matches) == 1, document["clocks"]
    return matches[0]


# A file of two studies with bad lines among good ones (line numbers are 1-based and count
# blank lines). The bad line 9 is also recorded after every as_of used below.
MIXED = [
    line("regulatory_submitted", "2025-01-10"),  # 1
    "{not json",  # 2
    "",  # 3 blank
    line("site_opened", "2025-03-01", site="RGT"),  # 4
    json.dumps({**raw_event(), "nhs_number": "943 476 5919"}),  # 5
    "   ",  # 6 blank (spaces)
    line("regulatory_submitted", "2025-02-01", study="CPMS-2"),  # 7
    line("site_opened", "2025-03-05", recorded="2025-03-04T09:00:00Z", site="RGT"),  # 8
    line("site_reopened", "2031-01-02", site="RGT", recorded="2031-01-02T12:00:00Z"),  # 9
    "[1, 2]",  # 10
]
MIXED_REJECTED = [
    (2, "not_json"),
    (5, "unknown_field"),
    (8, "date_after_recorded"),
    (9, "unknown_milestone"),
    (10, "not_object"),
]


@pytest.mark.parametrize(
    "as_of",
    ["2024-12-31", "2025-03-10", "2030-01-01"],
    ids=["before every event", "in the middle", "after every event"],
)
def test_every_bad_line_is_listed_whatever_the_as_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_of: str
) -> None:
    document = evaluate(write(tmp_path, MIXED), as_of, capsys)
    assert [(r["line"], r["error"]) for r in document["rejected"]] == MIXED_REJECTED
    assert all(set(r) >= {"line", "error", "detail"} and r["detail"] for r in document["rejected"])
    assert "nhs_number" in document["rejected"][1]["detail"]


def test_document_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = evaluate(write(tmp_path, MIXED), "2025-03-10", capsys)
    assert set(document) == {"as_of", "clocks", "rejected"}
    assert document["as_of"] == "2025-03-10"
    assert all(set(c) == CLOCK_FIELDS for c in document["clocks"])
    # studies in ID order, each with its study clocks first
    assert [(c["study_id"], c["kpi"], c["site_id"]) for c in document["clocks"]] == [
        ("CPMS-1", "combined_review", None),
        ("CPMS-1", "study_setup", None),
        ("CPMS-1", "site_open", "RGT"),
        ("CPMS-1", "first_participant", "RGT"),
        ("CPMS-1", "approval_to_first_participant", "RGT"),
        ("CPMS-2", "combined_review", None),
        ("CPMS-2", "study_setup", None),
    ]
    # 2025-01-10 -> 03-10 = 21 + 28 + 10 = 59 of 60: at_risk; due 01-10 + 60 = 03-11
    assert clock(document, "CPMS-1", "combined_review") == {
        "study_id": "CPMS-1",
        "kpi": "combined_review",
        "site_id": None,
        "state": "at_risk",
        "start_date": "2025-01-10",
        "stop_date": None,
        "due_date": "2025-03-11",
        "elapsed_days": 59,
        "limit_days": 60,
        "flags": [],
    }
    # 03-01 -> 03-10 = 9 of 30: running
    assert clock(document, "CPMS-1", "first_participant", "RGT")["elapsed_days"] == 9


# Recruitment dated 03-15 is recorded 2025-03-20T00:30:00Z: UK date 03-20 (GMT before 03-30).
# Submission dated 06-28 is recorded 2025-06-30T23:30:00Z: 00:30 BST, UK date 07-01.
# (id, as_of, first_participant state at RGT, stop_date, combined_review state)
REPLAY = [
    (
        "recruitment recorded after as_of is ignored, though dated before it",
        "2025-03-19",
        "running",
        None,
        "waiting",
    ),
    ("recruitment known on its UK recorded day", "2025-03-20", "met", "2025-03-15", "waiting"),
    ("BST: recorded on the next UK day", "2025-06-30", "met", "2025-03-15", "waiting"),
    ("BST: known from that UK day", "2025-07-01", "met", "2025-03-15", "running"),
]


@pytest.mark.parametrize(
    ("as_of", "state", "stop", "review"),
    [row[1:] for row in REPLAY],
    ids=[row[0] for row in REPLAY],
)
def test_events_recorded_after_as_of_are_ignored(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    as_of: str,
    state: str,
    stop: str | None,
    review: str,
) -> None:
    path = write(
        tmp_path,
        [
            line("site_opened", "2025-03-01", site="RGT"),
            line(
                "first_participant_recruited",
                "2025-03-15",
                site="RGT",
                recorded="2025-03-20T00:30:00Z",
            ),
            line("regulatory_submitted", "2025-06-28", recorded="2025-06-30T23:30:00Z"),
            "not json at all",
        ],
    )
    document = evaluate(path, as_of, capsys)
    fp = clock(document, "CPMS-1", "first_participant", "RGT")
    assert (fp["state"], fp["stop_date"]) == (state, stop)
    assert clock(document, "CPMS-1", "combined_review")["state"] == review
    assert [(r["line"], r["error"]) for r in document["rejected"]] == [(4, "not_json")]


def test_nothing_known_yet_prints_no_clocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, [line("regulatory_submitted", "2025-01-10")])
    assert evaluate(path, "2025-01-09", capsys) == {
        "as_of": "2025-01-09",
        "clocks": [],
        "rejected": [],
    }


def test_corrections_and_duplicates_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = line(
        "site_opened", "2025-03-01", site="RGT", event_id="a", recorded="2025-03-01T09:00:00Z"
    )
    path = write(
        tmp_path,
        [
            line(
                "site_opened",
                "2025-03-03",
                site="RGT",
                event_id="b",
                recorded="2025-03-05T09:00:00Z",
            ),
            first,  # older version, arriving later: loses
            first,  # duplicate: not a rejection
        ],
    )
    document = evaluate(path, "2025-03-10", capsys)
    # the later-recorded version wins: start 03-03, 7 days to 03-10
    fp = clock(document, "CPMS-1", "first_participant", "RGT")
    assert (fp["start_date"], fp["elapsed_days"]) == ("2025-03-03", 7)
    assert document["rejected"] == []


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_blank_lines_are_skipped_but_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ending: str
) -> None:
    path = write(
        tmp_path, ["", line("regulatory_submitted", "2025-01-10"), "", "\t", "{", ""], ending
    )
    document = evaluate(path, "2025-01-20", capsys)
    assert [(r["line"], r["error"]) for r in document["rejected"]] == [(5, "not_json")]
    assert clock(document, "CPMS-1", "combined_review")["elapsed_days"] == 10


def test_non_utf8_line_is_rejected_with_its_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line("regulatory_submitted", "2025-01-10").encode() + b"\n\xff\xfe\n")
    document = evaluate(path, "2025-01-20", capsys)
    assert [(r["line"], r["error"]) for r in document["rejected"]] == [(2, "not_json")]


def test_empty_file_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert evaluate(path, "2025-01-20", capsys) == {
        "as_of": "2025-01-20",
        "clocks": [],
        "rejected": [],
    }


@pytest.mark.parametrize("name", ["missing.jsonl", "sub"], ids=["no such file", "a directory"])
def test_file_that_cannot_be_read_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / name
    assert main(["evaluate", "--events", str(path), "--as-of", "2025-01-01"]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(path) in captured.err


BAD_AS_OF = [
    ("impossible day", "2025-02-30"),
    ("29 February in a common year", "2025-02-29"),
    ("day first", "01/03/2025"),
    ("a word", "tomorrow"),
    ("single-digit day", "2025-03-1"),
    ("empty", ""),
    # the contract's format is YYYY-MM-DD; other ISO 8601 spellings are not it
    ("ISO basic format", "20250301"),
    ("ISO week date", "2025-W10-1"),
]


@pytest.mark.parametrize("as_of", [row[1] for row in BAD_AS_OF], ids=[row[0] for row in BAD_AS_OF])
def test_bad_as_of_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_of: str
) -> None:
    path = write(tmp_path, [line("regulatory_submitted", "2025-01-10")])
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--events", str(path), "--as-of", as_of])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--as-of" in captured.err


def test_leap_day_as_of_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, [line("regulatory_submitted", "2024-01-30")])
    # 2024-01-30 -> 02-29 = 1 + 29 = 30 days
    document = evaluate(path, "2024-02-29", capsys)
    assert clock(document, "CPMS-1", "combined_review")["elapsed_days"] == 30


def test_dates_at_the_ends_of_the_calendar_evaluate_without_overflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The contract accepts any real date; a due date past 9999-12-31 used to crash evaluate
    # (and the stream) with OverflowError. It is held at the calendar's last day instead.
    path = write(
        tmp_path,
        [
            line("regulatory_submitted", "9999-12-01"),
            line("hra_approved", "9999-12-02"),
            line("site_selected", "9999-12-03", site="RGT"),
        ],
    )
    document = evaluate(path, "9999-12-20", capsys)
    assert clock(document, "CPMS-1", "study_setup")["due_date"] == "9999-12-31"
    site_open = clock(document, "CPMS-1", "site_open", "RGT")
    assert (site_open["state"], site_open["elapsed_days"]) == ("running", 17)
    assert site_open["due_date"] == "9999-12-31"
