"""`setupmon import` on the real broker with a real worker: the sample exports become the
clocks `setupmon evaluate` computes from the same events, and alerts; a rerun publishes
nothing; an edited export corrects, retracts and clears; a bad file publishes nothing."""

from __future__ import annotations

import csv
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.codec import dumps, loads
from core.settings import Settings
from core.time import LiveCalendar
from setupmon.cli import main
from setupmon.evaluate import evaluate_lines
from setupmon.sites import load_sites, read_sites
from tests.integration.kafka_io import Record, read_all, run, wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "deploy" / "samples"
SITES = REPO / "deploy" / "sites" / "sample-sites.csv"
EDGE_CSV, EDGE_XLSX, CPMS_CSV = "edge-sites-south.csv", "edge-sites-north.xlsx", "cpms-studies.csv"


@pytest.fixture
def as_importer(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`setupmon import` in this process reads the test's settings from the environment."""
    for name, value in settings.describe().items():
        monkeypatch.setenv(name, value)
    return settings


def setupmon_import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["import", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def milestones(settings: Settings) -> list[Record]:
    return run(read_all(settings, settings.topic("milestones")))


def alerts(settings: Settings) -> list[dict]:
    return [loads(r.value) for r in run(read_all(settings, settings.topic("alerts")))]


def statuses(settings: Settings) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for record in run(read_all(settings, settings.topic("study-status"))):
        assert record.key is not None and record.value is not None
        latest[record.key.decode()] = loads(record.value)
    return latest


def expected_clocks(settings: Settings) -> dict[str, list[bytes]]:
    """`setupmon evaluate` over the events read back from the milestones topic (each
    partition in order: a study's events are in one partition, in the order sent)."""
    lines = [r.value for r in milestones(settings) if r.value is not None]
    document = evaluate_lines(lines, LiveCalendar().today())
    assert document["rejected"] == []
    by_study: dict[str, list[bytes]] = {}
    for clock in document["clocks"]:  # type: ignore[union-attr]
        study = clock.pop("study_id")
        by_study.setdefault(study, []).append(dumps(clock))
    return {study: sorted(clocks) for study, clocks in by_study.items()}


def stream_clocks(settings: Settings) -> dict[str, list[bytes]]:
    return {
        study: sorted(dumps(clock) for clock in status["clocks"])
        for study, status in statuses(settings).items()
    }


def wait_for_stream_to_agree(settings: Settings) -> dict[str, list[bytes]]:
    expected = expected_clocks(settings)
    wait_until(
        lambda: stream_clocks(settings) == expected,
        timeout=45,
        what="the stream's study status to match `setupmon evaluate`",
    )
    return expected


def latest_alerts(settings: Settings) -> dict[tuple[str, str, str, str], str]:
    """Each clock's latest alert kind (a clock's alerts share a key, so a partition)."""
    latest: dict[tuple[str, str, str, str], str] = {}
    for alert in alerts(settings):
        clock = (alert["study_id"], alert["site_id"] or "-", alert["kpi"], alert["start_date"])
        latest[clock] = alert["kind"]
    return latest


def assert_the_last_word_is_true(settings: Settings, clocks: dict[str, list[bytes]]) -> None:
    latest = latest_alerts(settings)
    for study, study_clocks in clocks.items():
        for raw in study_clocks:
            clock = loads(raw)
            key = (study, clock["site_id"] or "-", clock["kpi"], clock["start_date"])
            if clock["state"] in ("breached", "missed"):
                assert latest.get(key) == "breached", (key, clock["state"], latest.get(key))
            elif clock["state"] in ("running", "waiting", "invalid"):
                assert latest.get(key) in (None, "cleared"), (key, clock["state"])


def edit_rows(path: Path, changes: dict[tuple[str, str], dict[str, str]]) -> None:
    """Set cells of the EDGE CSV rows of (study, site)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    labels = [label.strip() for label in rows[0]]
    for row in rows[1:]:
        where = (row[0].removeprefix("CPMS-"), row[3].strip().upper())
        for label, value in changes.get(where, {}).items():
            row[labels.index(label)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_samples_import_to_the_expected_clocks_and_alerts_then_rerun_and_corrections(
    as_importer: Settings, start_worker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = as_importer
    run(load_sites(settings, read_sites(SITES)))
    start_worker(settings)  # live calendar: the samples' dates are in the past
    for name in (EDGE_CSV, EDGE_XLSX, CPMS_CSV):
        shutil.copy(SAMPLES / name, tmp_path / name)
    edge_csv = tmp_path / EDGE_CSV
    exported = datetime.now(UTC) - timedelta(hours=2)

    status, out, err = setupmon_import(
        capsys, "--mapping", "cpms", str(tmp_path / CPMS_CSV), "--recorded-at", stamp(exported)
    )
    assert status == 0, err
    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(edge_csv), str(tmp_path / EDGE_XLSX),
        "--recorded-at", stamp(exported),
    )  # fmt: skip
    assert status == 0, err
    assert "published 44 events of 6 studies" in out.splitlines()[-1]
    first = milestones(settings)
    assert len(first) == 22 + 44

    clocks = wait_for_stream_to_agree(settings)
    states = {loads(c)["state"] for study in clocks.values() for c in study}
    assert {"met", "missed", "running", "at_risk", "breached", "excluded"} <= states
    # the stream has judged everything; alerts come with the same batch as the status
    wait_until(lambda: len(alerts(settings)) > 0, what="alerts")
    assert_the_last_word_is_true(settings, clocks)
    raised = latest_alerts(settings)
    assert raised[("CPMS-62003", "RLY", "site_open", "2026-08-20")] == "breached"
    assert raised[("CPMS-62001", "RF7", "site_open", "2026-05-01")] == "breached"
    assert not any(study == "CPMS-62006" for study, *_ in raised)  # excluded: no alert

    # the same files again: nothing published, no new alert
    before = alerts(settings)
    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(edge_csv), str(tmp_path / EDGE_XLSX),
        "--recorded-at", stamp(exported + timedelta(minutes=5)),
    )  # fmt: skip
    assert status == 0, err
    assert "published 0 events" in out and "unchanged 44" in out
    assert len(milestones(settings)) == len(first)
    time.sleep(2)
    assert alerts(settings) == before

    # a later export: RLY's opening date filled in (in time), RF7's wrong opening date
    # corrected (in time), RHE's opening date cleared
    edit_rows(
        edge_csv,
        {
            ("62003", "RLY"): {"Open to recruitment": "15/10/2026"},
            ("62001", "RF7"): {"Open to recruitment": "2026-06-15"},
            ("62003", "RHE"): {"Open to recruitment": ""},
        },
    )
    later = stamp(exported + timedelta(hours=1))
    # a dry run compares with the ledger and publishes nothing
    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(edge_csv), "--recorded-at", later, "--dry-run"
    )
    assert status == 0, err
    assert out.splitlines()[-1].startswith("dry run, nothing published: studies 6, sites 4")
    assert "new 1, corrected 1, retracted 1, unchanged 26" in out.splitlines()[-1]
    assert len(milestones(settings)) == len(first)
    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(edge_csv), "--recorded-at", later
    )
    assert status == 0, err
    assert "new 1, corrected 1, retracted 1" in out.splitlines()[-1]
    seen = {(r.partition, r.offset) for r in first}
    sent = [loads(r.value) for r in milestones(settings) if (r.partition, r.offset) not in seen]
    assert {(e["site_id"], e["date"], e.get("retract", False)) for e in sent} == {
        ("RLY", "2026-10-15", False),
        ("RF7", "2026-06-15", False),
        ("RHE", "2026-10-01", True),  # the retraction carries the date it withdraws
    }
    clocks = wait_for_stream_to_agree(settings)
    assert_the_last_word_is_true(settings, clocks)
    latest = latest_alerts(settings)
    assert latest[("CPMS-62003", "RLY", "site_open", "2026-08-20")] == "cleared"  # met
    assert latest[("CPMS-62001", "RF7", "site_open", "2026-05-01")] == "cleared"  # met
    # the first_participant clock that started at the retracted opening is gone
    assert latest[("CPMS-62003", "RHE", "first_participant", "2026-10-01")] == "cleared"


def test_a_file_with_bad_rows_is_refused_whole_and_publishes_nothing(
    as_importer: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = as_importer
    bad = tmp_path / "edge-bad.csv"
    text = (SAMPLES / EDGE_CSV).read_text(encoding="utf-8-sig")
    text = text.replace("2026-08-12", "31/13/2026").replace("RF7 ,", "R F7,")
    bad.write_text(text, encoding="utf-8")
    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(bad))
    assert status == 1 and out == ""
    assert err.startswith(f"setupmon import: {bad} refused, nothing published (2 problems")
    assert "row 4, column 'Site ODS Code'" in err
    assert "row 6, column 'Date site selected'" in err and "31/13/2026" in err
    assert milestones(settings) == []
    assert run(read_all(settings, settings.topic("imports"))) == []

    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(bad), "--skip-bad-rows")
    assert status == 0, err
    assert "skipped rows 4, 6" in err
    sites = {loads(r.value).get("site_id") for r in milestones(settings) if r.value}
    assert sites == {"RGT", "RLY", "RF7", "RHE"}  # RF7 of 62002 and RHE of 62006 stay
    studies = {loads(r.value)["study_id"] for r in milestones(settings) if r.value}
    assert "CPMS-62001" in studies
    skipped = [
        loads(r.value)
        for r in milestones(settings)
        if r.value and loads(r.value)["study_id"] == "CPMS-62003"
    ]
    assert {e["site_id"] for e in skipped} == {"RLY"}  # RHE's row of 62003 was skipped


# -- review of issue 12 (findings 3, 8, 11) ------------------------------------------------

EDGE_HEADER = (
    "NIHR Portfolio Study ID,Site ODS Code,Date site invited,Date site selected,"
    "Date site confirmed,Open to recruitment,First patient consented,First patient recruited"
)


def edge_export(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([EDGE_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_skip_bad_rows_skips_rows_whose_cells_an_earlier_import_made_stale(
    as_importer: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = as_importer
    now = datetime.now(UTC)
    first = edge_export(tmp_path / "new.csv", "71001,RGT,01/03/2026,15/03/2026,,01/05/2026,,")
    status, _, err = setupmon_import(
        capsys, "--mapping", "edge", str(first), "--recorded-at", stamp(now - timedelta(hours=1))
    )
    assert status == 0, err
    published = len(milestones(settings))
    # an older export: 71001 gives another selection date (stale), 71002 is new
    old = edge_export(
        tmp_path / "old.csv",
        "71001,RGT,01/03/2026,17/03/2026,,01/05/2026,,",
        "71002,RGT,02/03/2026,16/03/2026,,,,",
    )
    older = ["--recorded-at", stamp(now - timedelta(days=9))]
    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(old), *older)
    assert status == 1 and out == ""
    assert err.startswith(
        f"setupmon import: {old} refused, nothing published (1 problem; "
        "--skip-bad-rows imports the other rows):\n  row 2, column 'Date site selected': "
    )
    assert len(milestones(settings)) == published

    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(old), *older, "--skip-bad-rows"
    )
    assert status == 0, err
    assert err.startswith(f"{old}: skipped rows 2:\n  row 2, column 'Date site selected': ")
    assert "skipped rows 1, problems 1" in out.splitlines()[-1]
    sent = [loads(r.value) for r in milestones(settings) if r.value]
    assert {e["study_id"] for e in sent} == {"CPMS-71001", "CPMS-71002"}
    assert {e["study_id"] for e in sent if e["recorded_at"] == older[1]} == {"CPMS-71002"}


def test_two_files_of_one_import_that_disagree_name_each_other(
    as_importer: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = as_importer
    one = edge_export(tmp_path / "f1.csv", "72001,RGT,01/03/2026,15/03/2026,,,,")
    two = edge_export(tmp_path / "f2.csv", "72001,RGT,01/03/2026,16/03/2026,,,,")
    at = stamp(datetime.now(UTC) - timedelta(hours=1))
    status, out, err = setupmon_import(
        capsys, "--mapping", "edge", str(one), str(two), "--recorded-at", at
    )
    assert status == 1 and out == ""
    assert (
        f"row 2, column 'Date site selected': {one}, in this import with the same recorded_at"
        in err
    )
    assert milestones(settings) == []


def test_a_workbook_with_a_title_row_imports(
    as_importer: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import Workbook

    settings = as_importer
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["EDGE Site Records export - Royal Surrey - run 29/11/2026"])
    sheet.append([])
    sheet.append(EDGE_HEADER.split(","))
    sheet.append([73001, "RGT", "01/03/2026", "15/03/2026", None, None, None, None])
    path = tmp_path / "title.xlsx"
    workbook.save(path)
    at = stamp(datetime.now(UTC) - timedelta(hours=1))
    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(path), "--recorded-at", at)
    assert status == 0, err
    assert err == (
        f"warning: {path}: row 1 above the header (row 3) not read: "
        "'EDGE Site Records export - Royal Surrey - run 29/11/2026'\n"
    )
    assert "published 2 events of 1 studies" in out
    assert {loads(r.value)["milestone"] for r in milestones(settings) if r.value} == {
        "site_invited",
        "site_selected",
    }


def test_a_failed_publication_does_not_say_it_was_publishing(
    as_importer: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from broker.client import client_options

    settings = as_importer

    async def shrink_messages() -> None:
        # the broker refuses every batch of the milestones topic: a publication that fails
        admin = AIOKafkaAdminClient(**client_options(settings))
        await admin.start()
        try:
            topic = ConfigResource(
                ConfigResourceType.TOPIC, settings.topic("milestones"), {"max.message.bytes": "64"}
            )
            await admin.alter_configs([topic])
        finally:
            await admin.close()

    run(shrink_messages())
    path = edge_export(tmp_path / "edge.csv", "74001,RGT,01/03/2026,15/03/2026,,,,")
    at = stamp(datetime.now(UTC) - timedelta(hours=1))
    status, out, err = setupmon_import(capsys, "--mapping", "edge", str(path), "--recorded-at", at)
    assert status == 1 and out == "", out
    assert "the broker failed after 0 of 1 studies were published and recorded" in err
