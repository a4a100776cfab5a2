"""`setupmon report` and `setupmon publish` from an events file (no broker, no browser here:
the PDF and the rendered page are checked in tests/integration/test_report.py)."""

from __future__ import annotations

import csv
import html
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import InputError
from core.time import LiveCalendar
from reports.figures import clock_on
from reports.inputs import ClockRow
from reports.publication import COLUMNS
from reports.scope import default_period
from setupmon.cli import main
from setupmon.report_inputs import _status_clocks, load_events_file, sites_from_file, taken_back
from setupmon.reporting import SAMPLE_SITES, period_of
from tests.factories import raw_event

PERIOD = ["--from", "2025-07-01", "--to", "2025-09-30"]
SITES = ["--sites", str(SAMPLE_SITES)]  # names and regions: with --events there is no default


def line(
    milestone: str,
    day: str,
    *,
    study: str,
    site: str | None = None,
    recorded: str | None = None,
    **extra: Any,
) -> str:
    return json.dumps(
        raw_event(
            milestone=milestone,
            date=day,
            site_id=site,
            study_id=study,
            recorded_at=f"{recorded or day}T09:00:00Z",
            **extra,
        )
    )


def scenario() -> list[str]:
    """Two studies at RF7 (London) and RRF (East of England); what the period 2025-07-01..
    2025-09-30 must show, by the contract's clock rules:
    - RF7 site_open (selected 04-20, opened 07-10): 81 days, missed in the period;
      RF7 first_participant (07-10 -> 08-01): 22 days, met; RF7 approval_to_first_participant
      (hra 04-15 -> 08-01): 108 days, missed.
    - RRF site_open (05-01 -> 06-20): 50 days, met in the PREVIOUS period (Apr-Jun);
      RRF first_participant (06-20 -> 07-05): 15, met; a2fp (04-15 -> 07-05): 81, met.
    - CPMS-2 at RF7, never selected (missing_site_selected): site_open from hra 06-10, not
      opened: 112 days on 09-30, breached now; so is its approval_to_first_participant.
    """
    one, two = "CPMS-1", "CPMS-2"
    return [
        line("study_registered", "2025-02-20", study=one, attributes={"sponsor_id": "acme-pharma"}),
        line("regulatory_submitted", "2025-03-01", study=one),
        line("regulatory_approved", "2025-04-10", study=one),
        line("hra_approved", "2025-04-15", study=one),
        line("site_selected", "2025-04-20", study=one, site="RF7"),
        line("site_opened", "2025-07-10", study=one, site="RF7", recorded="2025-07-20"),
        line("first_participant_recruited", "2025-08-01", study=one, site="RF7"),
        line("site_selected", "2025-05-01", study=one, site="RRF"),
        line("site_opened", "2025-06-20", study=one, site="RRF"),
        line("first_participant_recruited", "2025-07-05", study=one, site="RRF"),
        line("study_registered", "2025-05-25", study=two, attributes={"sponsor_id": "zenith-bio"}),
        line("regulatory_submitted", "2025-06-01", study=two),
        line("hra_approved", "2025-06-10", study=two),
        line("site_invited", "2025-06-12", study=two, site="RF7"),
        # recorded after the period: a report as of 09-30 does not know it
        line("site_opened", "2025-09-29", study=two, site="RF7", recorded="2025-10-03"),
        '{"not": "an event"}',
    ]


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(scenario()) + "\n", encoding="utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def figures(page: str) -> dict[str, str]:
    """Every data-figure of the page: name -> the text shown."""
    found = re.findall(r'data-figure="([^"]+)"[^>]*>([^<]*)<', page)
    return {name: html.unescape(text).strip() for name, text in found}


# -- report -------------------------------------------------------------------------------


def test_a_trust_report_is_written_with_its_figures(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["report", "--site", "RF7", *PERIOD, "--events", str(events), *SITES, "--out", str(out)]
    status, stdout, stderr = run([*argv, "--no-pdf"], capsys)
    # the scenario's last line is not an event: said on stderr, the report still written
    assert status == 0
    assert stderr.splitlines() == [
        f"setupmon: {events}: 1 line rejected (`setupmon evaluate --events {events}` lists them)"
    ]
    page_path = out / "report-RF7-2025-07-01-2025-09-30.html"
    assert stdout.split() == [str(page_path)]
    page = page_path.read_text(encoding="utf-8")
    shown = figures(page)
    assert shown["met.site_open.period"] == "0"
    assert shown["missed.site_open.period"] == "1"
    assert shown["compliance.site_open.period"] == "0.0%"
    assert shown["met.first_participant.period"] == "1"
    assert shown["compliance.first_participant.period"] == "100.0%"
    assert shown["missed.approval_to_first_participant.period"] == "1"
    # CPMS-2's site_opened was recorded after 09-30: as of then its site_open (112 days) and
    # approval_to_first_participant (112 days) are breached
    assert shown["breached-now.count"] == "2"
    assert 'data-clock="CPMS-2|RF7|site_open"' in page
    assert 'data-clock="CPMS-2|RF7|approval_to_first_participant"' in page
    assert 'data-clock="CPMS-1|RF7|site_open"' in page
    assert "Barts University Hospitals" in page
    # no sponsor unless asked
    assert "acme-pharma" not in page and "zenith-bio" not in page


def test_max_rows_lists_the_most_days_over_and_keeps_the_counts(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--site", "RF7", *PERIOD, "--events", str(events), "--no-pdf"]
    status, stdout, _ = run([*argv, "--out", str(tmp_path), "--max-rows", "1"], capsys)
    assert status == 0
    page = Path(stdout.strip()).read_text(encoding="utf-8")
    # CPMS-2's site_open is 52 days over; the next (its approval_to_first_participant) 22
    assert re.findall(r'data-clock="([^"]+)"', page) == ["CPMS-2|RF7|site_open"]
    assert figures(page)["breached-now.count"] == "2"


def test_sponsors_appear_only_when_asked(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--site", "RF7", *PERIOD, "--events", str(events), "--no-pdf"]
    status, stdout, _ = run([*argv, "--out", str(tmp_path), "--with-sponsors"], capsys)
    assert status == 0
    assert "zenith-bio" in Path(stdout.strip()).read_text(encoding="utf-8")


def test_a_region_report_compares_nothing_it_does_not_hold(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--region", "east of england", *PERIOD, "--events", str(events), *SITES]
    status, stdout, _ = run([*argv, "--out", str(tmp_path), "--no-pdf"], capsys)
    assert status == 0
    assert Path(stdout.strip()).name == "report-east-of-england-2025-07-01-2025-09-30.html"
    shown = figures(Path(stdout.strip()).read_text(encoding="utf-8"))
    # only RRF is in the East of England: its site_open met in June, before the period
    assert shown["met.first_participant.period"] == "1"
    assert shown["clocks.site_open.previous"] == "1"
    assert shown["compliance.site_open.previous"] == "100.0%"
    assert shown["compliance.site_open.period"] == "no clocks"
    assert shown["breached-now.count"] == "0"


def test_england_is_the_default_scope(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", *PERIOD, "--events", str(events), "--out", str(tmp_path), "--no-pdf"]
    status, stdout, _ = run(argv, capsys)
    assert status == 0
    shown = figures(Path(stdout.strip()).read_text(encoding="utf-8"))
    assert Path(stdout.strip()).name.startswith("report-england-")
    assert shown["met.first_participant.period"] == "2"
    assert shown["missed.site_open.period"] == "1"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--site", "ZZZ99"], "unknown site ZZZ99"),
        (["--region", "Atlantis"], "unknown region 'Atlantis'"),
        (["--region", "Atlantis"], "London, Midlands"),  # the known ones are listed
        (
            ["--from", "2025-09-01", "--to", "2025-08-01"],
            "--from 2025-09-01 is after --to 2025-08-01",
        ),
    ],
)
def test_a_wrong_scope_or_period_is_refused_with_a_clear_message(
    events: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    period = [] if "--from" in arguments else PERIOD
    argv = ["report", *arguments, *period, "--events", str(events), *SITES, "--out", str(tmp_path)]
    status, stdout, stderr = run([*argv, "--no-pdf"], capsys)
    assert status == 1
    assert message in stderr
    assert stdout == "" and not list(tmp_path.glob("report-*"))


def test_a_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, stderr = run(
        ["report", "--events", str(tmp_path / "none.jsonl"), "--no-pdf"], capsys
    )
    assert status == 1 and "no such file" in stderr


def test_without_chromium_the_pdf_is_refused_naming_the_make_target(
    events: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    argv = ["report", "--site", "RF7", *PERIOD, "--events", str(events), "--out", str(tmp_path)]
    status, _, stderr = run(argv, capsys)
    assert status == 1
    assert "Chromium was not found" in stderr and "make report-tools" in stderr
    assert "--no-pdf" in stderr


# -- publish ------------------------------------------------------------------------------


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_publish_writes_documented_columns_without_sponsors(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "open"
    status, stdout, _ = run(
        ["publish", *PERIOD, "--events", str(events), "--out", str(out)], capsys
    )
    assert status == 0
    names = sorted(Path(p).name for p in stdout.split())
    assert names == sorted(
        [
            "site-performance.csv",
            "site-performance.json",
            "study-setup-times.csv",
            "study-setup-times.json",
            "aggregate.csv",
            "aggregate.json",
            "columns.json",
            "columns.md",
        ]
    )
    header, rows = read_csv(out / "site-performance.csv")
    assert header == list(COLUMNS["site_performance"])
    site_open = {(r["site_id"], r["kpi"]): r for r in rows}[("RF7", "site_open")]
    assert (site_open["met"], site_open["missed"], site_open["compliance"]) == ("0", "1", "0.0")
    assert site_open["open_breached"] == "1"  # CPMS-2, as at the period end
    header, studies = read_csv(out / "study-setup-times.csv")
    assert "sponsor_id" not in header
    assert [row["study_id"] for row in studies] == ["CPMS-1", "CPMS-2"]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "acme-pharma" not in text and "zenith-bio" not in text, path.name
        assert "@" not in text, f"{path.name} carries a contact"
    columns = json.loads((out / "columns.json").read_text(encoding="utf-8"))
    assert set(columns) == set(COLUMNS)
    assert "`open_breached`" in (out / "columns.md").read_text(encoding="utf-8")
    json_rows = json.loads((out / "site-performance.json").read_text(encoding="utf-8"))
    assert [list(row) for row in json_rows] == [list(COLUMNS["site_performance"])] * len(rows)


def test_publish_names_sponsors_only_with_the_flag(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["publish", *PERIOD, "--events", str(events), "--out", str(tmp_path), "--with-sponsors"]
    assert run(argv, capsys)[0] == 0
    header, studies = read_csv(tmp_path / "study-setup-times.csv")
    assert "sponsor_id" in header
    assert {row["study_id"]: row["sponsor_id"] for row in studies} == {
        "CPMS-1": "acme-pharma",
        "CPMS-2": "zenith-bio",
    }


def test_publishing_twice_gives_the_same_bytes(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        argv = ["publish", *PERIOD, "--events", str(events), "--out", str(tmp_path / name)]
        assert run(argv, capsys)[0] == 0
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


# -- loaders and periods ------------------------------------------------------------------


def test_the_file_loader_is_evaluate_as_of_the_day_with_entry_delays(events: Path) -> None:
    sites = sites_from_file(SAMPLE_SITES)
    data = load_events_file(events, date(2025, 9, 30), sites)
    assert data.as_of == date(2025, 9, 30)
    delays = {(e.study_id, e.site_id, e.milestone): e.days for e in data.entries}
    assert delays[("CPMS-1", "RF7", "site_opened")] == 10  # recorded 07-20 for 07-10
    assert delays[("CPMS-1", None, "hra_approved")] == 0
    # recorded after the evaluation day: neither a clock stop nor an entry yet
    assert ("CPMS-2", "RF7", "site_opened") not in delays
    assert len(data.entries) == 14
    clock = {(c.study_id, c.site_id, c.kpi): c for c in data.clocks}[("CPMS-2", "RF7", "site_open")]
    assert (clock.state, clock.elapsed_days, clock.sponsor_id) == ("breached", 112, "zenith-bio")
    assert "missing_site_selected" in clock.flags
    assert sites["RF7"].region == "London"


def test_a_duplicate_or_a_retraction_is_no_entry(tmp_path: Path) -> None:
    same = raw_event(
        study_id="CPMS-9", site_id="RF7", date="2025-05-01", recorded_at="2025-05-02T10:00:00Z"
    )
    lines = [
        json.dumps(same),
        json.dumps(same),  # sent twice
        json.dumps({**same, "event_id": "withdrawn", "retract": True}),
        json.dumps({**same, "event_id": "other-site", "site_id": "RRF"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    data = load_events_file(path, date(2025, 6, 1), {})
    assert [(e.site_id, e.days) for e in data.entries] == [("RF7", 1), ("RRF", 1)]


def test_status_records_become_clock_rows_with_their_sponsor() -> None:
    clock = {
        "kpi": "site_open",
        "site_id": "RF7",
        "state": "met",
        "start_date": "2025-08-01",
        "stop_date": "2025-09-20",
        "due_date": "2025-09-30",
        "elapsed_days": 50,
        "limit_days": 60,
        "flags": [],
    }
    records: dict[str, dict[str, object]] = {
        "CPMS-5": {
            "study_id": "CPMS-5",
            "sponsor_id": "acme",
            "as_of": "2025-10-15",
            "clocks": [clock, {"kpi": "no limit"}],
        },
    }
    (row,) = _status_clocks(records)  # the malformed clock is skipped
    assert row == ClockRow.from_json({**clock, "study_id": "CPMS-5"}, "acme")


def test_clocks_are_taken_back_to_an_earlier_day(events: Path) -> None:
    now = load_events_file(events, date(2025, 10, 31), {})
    then = taken_back(now, date(2025, 9, 18))
    assert then.as_of == date(2025, 9, 18) and "taken back to 2025-09-18" in then.source
    assert then.clocks == [
        back for clock in now.clocks if (back := clock_on(clock, date(2025, 9, 18))) is not None
    ]
    by_key = {(c.study_id, c.site_id, c.kpi): c for c in then.clocks}
    # opened 09-29 (entered 10-03): on 09-18 the clock ran, 100 days from hra 06-10
    opened = by_key[("CPMS-2", "RF7", "site_open")]
    assert (opened.state, opened.stop_date, opened.elapsed_days) == ("breached", None, 100)
    assert taken_back(now, date(2025, 11, 1)) is now  # never forwards


def test_late_entries_count_only_when_asked(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--site", "RF7", *PERIOD, "--events", str(events), "--no-pdf"]
    status, stdout, _ = run([*argv, "--out", str(tmp_path), "--with-late-entries"], capsys)
    assert status == 0
    shown = figures(Path(stdout.strip()).read_text(encoding="utf-8"))
    # CPMS-2 RF7 opened 09-29, entered 10-03: now a missed site_open (111 days) in the period
    assert shown["missed.site_open.period"] == "2"
    assert shown["breached-now.count"] == "1"


def test_periods_default_to_the_last_six_full_months() -> None:
    today = date(2025, 11, 17)
    assert period_of(None, None, today) == default_period(today)
    only_to = period_of(None, date(2025, 3, 31), today)
    assert (only_to.start, only_to.end) == (date(2024, 10, 1), date(2025, 3, 31))
    only_from = period_of(date(2025, 9, 1), None, today)
    assert (only_from.start, only_from.end) == (date(2025, 9, 1), date(2025, 10, 31))


# -- review findings (issue 13) -----------------------------------------------------------

EDGE_CSV = (
    "NIHR Portfolio Study ID,Site ODS Code,Date site invited,Date site selected\n"
    "70001,RGT,01/03/2026,15/03/2026\n"
    "70002,RGT,02/03/2026,16/03/2026\n"
)


@pytest.mark.parametrize("command", ["report", "publish"])
@pytest.mark.parametrize("content", [EDGE_CSV, ""], ids=["csv-export", "empty"])
def test_a_file_with_no_valid_event_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, content: str
) -> None:
    """Finding 4: a CSV export (or an empty file) passed as --events made an all "no clocks"
    board paper, exit 0, nothing said."""
    path = tmp_path / "export.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    argv = [command, *PERIOD, "--events", str(path), *SITES, "--out", str(out)]
    status, stdout, stderr = run([*argv, "--no-pdf"] if command == "report" else argv, capsys)
    assert status == 1
    assert "holds no valid milestone event" in stderr
    rejected = "3 lines rejected" if content else "0 lines rejected"
    assert rejected in stderr and f"setupmon evaluate --events {path}" in stderr
    assert stdout == "" and not out.exists()


def test_without_sites_an_events_file_names_no_sample_trust(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 5: with --events and no --sites, the synthetic sample registry named RF7
    "Barts ..." and put it in London; now sites go by their code, region unknown, and
    stderr says how to give names."""
    argv = ["report", "--site", "RF7", *PERIOD, "--events", str(events), "--no-pdf"]
    status, stdout, stderr = run([*argv, "--out", str(tmp_path)], capsys)
    assert status == 0
    page = Path(stdout.strip()).read_text(encoding="utf-8")
    assert "Barts" not in page and "London" not in page
    assert "Site RF7" in page
    assert "no --sites" in stderr and "pass --sites FILE.csv" in stderr
    status, stdout, stderr = run(
        ["publish", *PERIOD, "--events", str(events), "--out", str(tmp_path / "open")], capsys
    )
    assert status == 0 and "pass --sites FILE.csv" in stderr
    _, rows = read_csv(tmp_path / "open" / "site-performance.csv")
    assert {(row["site_name"], row["region"]) for row in rows} == {("", "unknown")}


def test_a_region_from_an_events_file_needs_sites(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--region", "London", *PERIOD, "--events", str(events), "--no-pdf"]
    status, stdout, stderr = run([*argv, "--out", str(tmp_path)], capsys)
    assert status == 1
    assert "--region needs" in stderr and "pass --sites FILE.csv" in stderr
    assert stdout == "" and not list(tmp_path.glob("report-*"))


@pytest.mark.parametrize("command", ["report", "publish"])
@pytest.mark.parametrize("option", ["--to", "--from"])
def test_a_period_past_today_is_refused(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, option: str
) -> None:
    """Finding 12: --to 2027-06-30 gave "Period ... to 30 Jun 2027" with today's clocks."""
    today = LiveCalendar().today()
    later = (today + timedelta(days=40)).isoformat()
    period = ["--to", later] if option == "--to" else ["--from", later]
    argv = [command, *period, "--events", str(events), *SITES, "--out", str(tmp_path / "o")]
    status, stdout, stderr = run(argv, capsys)
    assert status == 1
    assert f"{option} {later} is after today ({today})" in stderr
    assert stdout == "" and not (tmp_path / "o").exists()


def test_a_period_up_to_the_as_of_day_is_allowed_and_one_past_it_is_not() -> None:
    today = date(2025, 11, 17)
    assert period_of(date(2025, 11, 1), today, today).end == today
    with pytest.raises(InputError, match="after the workers' as-of day"):
        period_of(None, date(2025, 11, 18), today, "the workers' as-of day")


def test_every_published_file_names_its_period_and_only_documented_keys(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 13: only the aggregate said its period, and aggregate.json had keys (as_of,
    kpis) the dictionary does not describe."""
    argv = ["publish", *PERIOD, "--events", str(events), *SITES, "--out", str(tmp_path)]
    assert run(argv, capsys)[0] == 0
    columns = json.loads((tmp_path / "columns.json").read_text(encoding="utf-8"))
    tables = {
        "site-performance": "site_performance",
        "study-setup-times": "study_setup_times",
        "aggregate": "aggregate_setup_times",
    }
    covered = {"period_start": "2025-07-01", "period_end": "2025-09-30", "as_of": "2025-09-30"}
    for stem, table in tables.items():
        _, csv_rows = read_csv(tmp_path / f"{stem}.csv")
        json_rows = json.loads((tmp_path / f"{stem}.json").read_text(encoding="utf-8"))
        assert isinstance(json_rows, list) and len(json_rows) == len(csv_rows) > 0, stem
        for row in [*csv_rows, *json_rows]:
            assert set(row) <= set(columns[table]), stem
            assert {name: row[name] for name in covered} == covered, stem
    aggregate = json.loads((tmp_path / "aggregate.json").read_text(encoding="utf-8"))
    assert sorted(row["kpi"] for row in aggregate) == ["combined_review", "study_setup"]


def test_help_is_wrapped_and_says_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """Finding 14: one 300-character description line; no --to default; --sites did not say
    its default was a synthetic sample; publish did not say it replaces files."""
    texts = {}
    for command in ("report", "publish"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        texts[command] = capsys.readouterr().out
    assert max(len(text_line) for text_line in texts["report"].splitlines()) <= 100
    flat = {command: " ".join(text.split()) for command, text in texts.items()}
    assert "before this month" in flat["report"]
    assert "last day of the period, included (default: the end of last month" in flat["report"]
    assert "not after today" in flat["report"]
    assert "synthetic sample" in flat["report"] and "region 'unknown'" in flat["report"]
    assert "replacing files of the same name" in flat["publish"]
    assert "the clocks that stopped in the period" in flat["publish"]
