"""`setupmon import`'s arguments and messages (setupmon/import_command.py, import_run.py),
its progress bar, and how it groups studies into publishing rounds. No broker: every case
here is refused or finished before the broker would be asked anything, which the
unreachable bootstrap address proves."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.errors import KafkaTimeoutError

from importer.plan import ImportPlan, LedgerEntry, PlannedEvent
from setupmon.cli import main
from setupmon.import_progress import ProgressBar
from setupmon.import_run import parse_recorded_at, summary_line
from setupmon.importing import _interrupted, rounds

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "samples"
EDGE_CSV = SAMPLES / "edge-sites-south.csv"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing listens on port 1: a test that reached the broker would fail to connect
    monkeypatch.setenv("SETUPMON_BOOTSTRAP_SERVERS", "127.0.0.1:1")


def setupmon_import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["import", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_help_explains_mappings_recorded_at_and_what_a_rerun_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["import", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("edge", "cpms", "your own TOML mapping", "modification time", "rerun"):
        assert phrase in text
    assert "the same file again publishes nothing" in text


def test_the_mapping_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["import", str(EDGE_CSV)])
    assert exit_.value.code == 2
    assert "--mapping" in capsys.readouterr().err


def test_an_unknown_mapping_names_the_shipped_ones(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = setupmon_import(capsys, "--mapping", "edgy", str(EDGE_CSV))
    assert status == 1 and out == ""
    assert err.startswith("setupmon import: mapping 'edgy'") and "cpms, edge" in err


def test_a_missing_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "export.csv"
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(missing))
    assert status == 1 and err == f"setupmon import: no such file: {missing}\n"


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("2026-11-20", "is not an RFC 3339 time with an offset"),
        ("2026-11-20T17:00:00", "is not an RFC 3339 time with an offset"),
        ("20/11/2026 17:00", "is not an RFC 3339 time with an offset"),
        ("2026-02-30T17:00:00Z", "is not a real time"),
        ("2999-01-01T00:00:00Z", "is in the future"),
        ("0001-01-01T00:00:00Z", "is before 1990: a typo?"),
        ("1989-12-31T23:30:00-01:00", "is before 1990: a typo?"),
    ],
)
def test_a_bad_recorded_at_is_refused(
    capsys: pytest.CaptureFixture[str], given: str, complaint: str
) -> None:
    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(EDGE_CSV), "--recorded-at", given
    )
    assert status == 1 and out == ""
    assert err.startswith(f"setupmon import: --recorded-at {given!r}") and complaint in err


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-20T17:00:00Z", datetime(2026, 11, 20, 17, tzinfo=UTC)),
        ("2026-11-20t17:00:00z", datetime(2026, 11, 20, 17, tzinfo=UTC)),
        ("2026-06-20T17:00:00+01:00", datetime(2026, 6, 20, 16, tzinfo=UTC)),
        ("2026-11-30T12:00:00+00:00", NOW),  # now is not the future
    ],
)
def test_recorded_at_takes_any_offset(given: str, expected: datetime) -> None:
    assert parse_recorded_at(given, NOW) == expected


def test_a_file_modified_in_the_future_needs_recorded_at(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    export = tmp_path / "edge.csv"
    export.write_bytes(EDGE_CSV.read_bytes())
    later = time.time() + 3600
    os.utime(export, (later, later))
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(export))
    assert status == 1
    assert f"{export} was modified in the future" in err and "pass --recorded-at" in err


def test_a_file_with_problems_is_refused_with_every_problem_before_the_broker(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "edge-bad.csv"
    text = EDGE_CSV.read_text(encoding="utf-8-sig")
    bad.write_text(text.replace("2026-08-12", "next week").replace("rhe,", "R-HE,"))
    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(bad), "--dry-run")
    assert status == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"setupmon import: {bad} refused, nothing published (2 problems; "
        "--skip-bad-rows imports the other rows):"
    )
    assert lines[1].startswith("  row 6, column 'Site ODS Code': 'R-HE'")
    assert lines[2].startswith("  row 6, column 'Date site selected': 'next week'")
    assert len(lines) == 3


def test_one_bad_file_refuses_the_good_ones_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "edge-bad.csv"
    bad.write_text(EDGE_CSV.read_text(encoding="utf-8-sig").replace("RLY,", "R?,"))
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(EDGE_CSV), str(bad))
    assert status == 1 and f"{bad} refused, nothing published" in err


def test_a_missing_column_refuses_even_with_skip_bad_rows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    export = tmp_path / "edge.csv"
    export.write_text(EDGE_CSV.read_text(encoding="utf-8-sig").replace("Site ODS Code", "Site"))
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(export), "--skip-bad-rows")
    assert status == 1
    # one problem, and no hint to pass the flag that was passed
    assert err.startswith(f"setupmon import: {export} refused, nothing published (1 problem):\n")
    assert "  row 1: the header lacks the column 'Site ODS Code'" in err
    assert len(err.splitlines()) == 2


def test_sheet_is_for_workbooks(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(EDGE_CSV), "--sheet", "x")
    assert status == 1 and "--sheet is for .xlsx" in err


def test_an_unknown_sheet_names_the_sheets_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    workbook = str(SAMPLES / "edge-sites-north.xlsx")
    status, _, err = setupmon_import(capsys, "--mapping", "edge", workbook, "--sheet", "Sites")
    assert status == 1 and "no sheet named 'Sites'" in err and "'Site records'" in err


def test_a_blank_source_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(EDGE_CSV), "--source", " ")
    assert status == 1 and err == "setupmon import: --source may not be blank\n"


def test_a_dry_run_still_needs_the_ledger_and_says_so_when_the_broker_is_away(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(EDGE_CSV), "--dry-run")
    assert status == 1 and out == ""
    assert "setupmon import: cannot read the import ledger at 127.0.0.1:1" in err


def test_the_summary_names_every_count() -> None:
    counts = {"studies": 2, "sites": 3, "rows": 9, "new": 5, "unchanged": 1, "skipped_rows": 1}
    assert summary_line(counts) == (
        "studies 2, sites 3, rows 9, new 5, corrected 0, retracted 0, unchanged 1, "
        "skipped rows 1, problems 0, warnings 0"
    )


def test_an_interruption_says_what_was_published_and_what_a_rerun_does() -> None:
    message = _interrupted(3, 10, TimeoutError("no answer"))
    assert "after 3 of 10 studies were published and recorded" in message
    assert "other 7" in message and "run the same command again" in message
    assert "same event IDs" in message
    # a client error whose text is its name is named once
    assert "(KafkaTimeoutError)." in _interrupted(0, 2, KafkaTimeoutError())


def event(study: str, n: int, size: int = 100) -> PlannedEvent:
    entry = LedgerEntry(event_id=f"e{n}", value="2026-01-01", recorded_at="2026-01-02T00:00:00Z")
    return PlannedEvent(f"k{study}{n}", study, b"x" * size, "new", entry)


def plan(studies: dict[str, list[PlannedEvent]]) -> ImportPlan:
    return ImportPlan(studies, len(studies), 0, 0, 0, [], [])


def test_rounds_keep_each_study_whole_and_in_order() -> None:
    first = plan({"A": [event("A", n) for n in range(3)], "B": [event("B", 0)]})
    second = plan({"C": [event("C", n) for n in range(5)], "A": [event("A", 9)], "E": []})
    got = list(rounds([first, second], budget=350))
    # A (300 bytes) + B (100) reach the budget; C (500) alone; then A again
    assert [[events[0].study_id for events in r] for r in got] == [["A", "B"], ["C"], ["A"]]
    assert [e.key for e in got[0][0]] == ["kA0", "kA1", "kA2"]
    assert sum(len(events) for r in got for events in r) == 10


def test_the_progress_bar_writes_tenths_to_a_log() -> None:
    log = io.StringIO()
    bar = ProgressBar(log, "publishing", 1000, "events")
    for done in range(0, 1001, 7):
        bar.update(done)
    bar.update(1000)
    lines = log.getvalue().splitlines()
    assert [line.split(":")[1].split()[0] for line in lines] == [
        f"{n}%" for n in range(10, 101, 10)
    ]
    assert lines[-1].startswith("publishing: 100% 1,000/1,000 events")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_redraws_one_line_on_a_terminal() -> None:
    screen = Terminal()
    bar = ProgressBar(screen, "publishing", 10, "events")
    bar.update(5)
    bar.update(10)
    bar.finish()
    text = screen.getvalue()
    assert text.startswith("\rpublishing [" + "#" * 15 + "-" * 15 + "] 5/10 events")
    assert text.count("\r") == 2 and "\rpublishing [" + "#" * 30 + "] 10/10 events" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_recorded_at_defaults_to_the_files_modification_time(tmp_path: Path) -> None:
    from setupmon.import_run import file_recorded_at

    export = tmp_path / "edge.csv"
    export.write_text("x")
    made = datetime(2026, 11, 27, 9, 30, 15, 400_000, tzinfo=UTC)
    os.utime(export, (made.timestamp(), made.timestamp()))
    assert file_recorded_at(export, NOW) == datetime(2026, 11, 27, 9, 30, 15, tzinfo=UTC)


# -- review of issue 12 (findings 3, 10, 11) -----------------------------------------------

H = (
    "NIHR Portfolio Study ID,Site ODS Code,Date site invited,Date site selected,"
    "Date site confirmed,Open to recruitment,First patient consented,First patient recruited"
)


def export(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "edge.csv"
    path.write_text("\n".join([H, *rows]) + "\n")
    return path


def test_one_problem_is_one_problem_and_the_hint_comes_when_other_rows_are_good(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = export(tmp_path, "70001,RGT,01/03/2026,,,,,", "70002,R?,02/03/2026,,,,,")
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(path), "--dry-run")
    assert status == 1
    assert err.splitlines()[0] == (
        f"setupmon import: {path} refused, nothing published (1 problem; "
        "--skip-bad-rows imports the other rows):"
    )


def test_no_hint_when_every_row_is_bad(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = export(tmp_path, "70002,R?,02/03/2026,,,,,")
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(path), "--dry-run")
    assert status == 1
    assert err.splitlines()[0] == f"setupmon import: {path} refused, nothing published (1 problem):"


@pytest.mark.parametrize(
    ("mapping", "source", "complaint"),
    [
        ("edge", "edge-kss:{site}", "'edge-kss:{site}': the only placeholder allowed is {site_id}"),
        ("cpms", "cpms:{site_id}", "uses {site_id} but the mapping has no site_id column"),
        ("cpms", "c" * 65, "over 64 characters"),
    ],
)
def test_source_is_checked_as_a_mappings_source_is(
    capsys: pytest.CaptureFixture[str], mapping: str, source: str, complaint: str
) -> None:
    status, out, err = setupmon_import(
        capsys, "--mapping", mapping, str(EDGE_CSV), "--source", source
    )
    assert status == 1 and out == ""
    assert err.startswith("setupmon import: --source: ") and complaint in err


def test_a_directory_is_called_a_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = setupmon_import(capsys, "--mapping", "edge", str(tmp_path))
    assert status == 1
    assert err == f"setupmon import: {tmp_path} is a directory, not an export file\n"
