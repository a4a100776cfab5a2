"""Rows of an export read as milestones, and every problem by row and column (importer/rows.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from importer.mapping import load_mapping
from importer.rows import Problem, ReadResult, read_milestones
from importer.tables import Row, Table, read_table

RECORDED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EDGE_LABELS = [
    "NIHR Portfolio Study ID",
    "Site ODS Code",
    "IRAS Number",
    "Date site invited",
    "Date site selected",
    "Date site confirmed by Sponsor",
    "Date site confirmed",
    "Open to recruitment",
    "First patient consented",
    "First patient recruited",
]
CPMS_LABELS = [
    "Study ID",
    "Short Title",
    "Sponsor",
    "Commercial",
    "CTIMP",
    "ATIMP",
    "Date added to portfolio",
    "Regulatory submission date",
    "Regulatory approval date",
    "HRA approval date",
]


def table(labels: list[str], *rows: list[object], first: int = 2) -> Table:
    return Table(
        Path("export.csv"),
        labels,
        [Row(first + n, dict(zip(labels, values, strict=True))) for n, values in enumerate(rows)],
    )


def edge_row(study: object = "61234", site: object = "RGT", **dates: object) -> list[object]:
    names = ["invited", "selected", "sponsor", "confirmed", "opened", "consented", "recruited"]
    return [study, site, "123456", *[dates.get(name, "") for name in names]]


def cpms_row(study: object = "61234", **cells: object) -> list[object]:
    defaults: dict[str, object] = {
        "title": "ACME-101",
        "sponsor": "Acme Pharma Ltd",
        "commercial": "Yes",
        "ctimp": "Y",
        "atimp": "No",
        "added": "01/01/2026",
        "submitted": "10/01/2026",
        "approved": "",
        "hra": "",
    }
    defaults.update(cells)
    return [study, *defaults.values()]


def read_edge(*rows: list[object], skip: bool = False) -> ReadResult:
    return read_milestones(
        table(EDGE_LABELS, *rows), load_mapping("edge"), RECORDED, skip_bad_rows=skip
    )


def read_cpms(*rows: list[object]) -> ReadResult:
    return read_milestones(table(CPMS_LABELS, *rows), load_mapping("cpms"), RECORDED)


def test_an_edge_row_gives_its_site_milestones() -> None:
    result = read_edge(edge_row(invited="01/02/2026", selected="2026-02-10 00:00", opened=""))
    assert result.problems == [] and not result.refused
    by_name = {m.milestone: m for m in result.milestones}
    assert set(by_name) == {
        "site_invited",
        "site_selected",
        "site_confirmed",
        "site_opened",
        "first_participant_consented",
        "first_participant_recruited",
    }  # blank cells too: a blank may clear what was published before
    invited = by_name["site_invited"]
    assert (invited.source, invited.study_id, invited.site_id) == ("edge:RGT", "CPMS-61234", "RGT")
    assert (invited.date, invited.row, invited.column) == (date(2026, 2, 1), 2, "Date site invited")
    assert invited.key == "edge:RGT|CPMS-61234|RGT|site_invited"
    assert by_name["site_selected"].date == date(2026, 2, 10)
    assert by_name["site_opened"].date is None


@pytest.mark.parametrize("study", [61234, 61234.0, "61234", " CPMS-61234 ", "cpms-61234"])
def test_study_id_forms(study: object) -> None:
    result = read_edge(edge_row(study=study, site=" rgt "))
    assert {(m.study_id, m.site_id) for m in result.milestones} == {("CPMS-61234", "RGT")}


def test_labels_match_whatever_the_case_and_spacing_and_unknown_columns_are_warned() -> None:
    labels = [label.upper().replace(" ", "  ") for label in EDGE_LABELS] + ["Local notes"]
    result = read_milestones(
        table(labels, [*edge_row(opened="01/04/2026"), "x"]), load_mapping("edge"), RECORDED
    )
    assert result.problems == []
    assert {m.date for m in result.milestones if m.milestone == "site_opened"} == {date(2026, 4, 1)}
    # "Date site confirmed by Sponsor" and "IRAS Number" are ignored on purpose: no warning
    assert result.warnings == ["column 'Local notes' is not in mapping 'edge': not read"]


def test_identical_duplicate_rows_count_once() -> None:
    row = edge_row(invited="01/02/2026")
    again = edge_row(invited="1/2/2026 00:00")  # the same date, written differently
    result = read_edge(row, again, edge_row(site="RX1", invited="03/02/2026"))
    assert result.problems == []
    assert len([m for m in result.milestones if m.milestone == "site_invited"]) == 2
    assert (result.rows, result.studies, result.sites, result.site_records) == (3, 1, 2, 2)


def test_conflicting_duplicate_rows_name_every_row() -> None:
    result = read_edge(edge_row(opened="01/04/2026"), edge_row(), edge_row(opened="02/04/2026"))
    assert [(p.row, p.column) for p in result.problems] == [
        (2, "Open to recruitment"),
        (3, "Open to recruitment"),
        (4, "Open to recruitment"),
    ]
    assert {p.message for p in result.problems} == {
        "rows 2, 3 and 4 give CPMS-61234 at site RGT different site_opened values: "
        "2026-04-01 (row 2); blank (row 3); 2026-04-02 (row 4) (which is right?)"
    }
    assert result.refused


def test_a_majority_does_not_settle_a_conflict() -> None:
    rows = [edge_row(opened=day) for day in ("01/04/2026", "02/04/2026", "1/4/2026")]
    result = read_edge(*rows, edge_row(site="RX1", opened="01/04/2026"), skip=True)
    assert "2026-04-01 (rows 2, 4); 2026-04-02 (row 3)" in result.problems[0].message
    assert result.skipped_rows == [2, 3, 4]
    assert {m.site_id for m in result.milestones} == {"RX1"}


def problems_of(result: ReadResult) -> list[str]:
    return [str(problem) for problem in result.problems]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            edge_row(opened="31/13/2026"),
            "row 2, column 'Open to recruitment': '31/13/2026' is not a date",
        ),
        (
            edge_row(opened="03/31/2026"),
            "row 2, column 'Open to recruitment': '03/31/2026' is not a date: day 03, month 31?",
        ),
        (edge_row(study=""), "row 2, column 'NIHR Portfolio Study ID': no study ID"),
        (
            edge_row(study="61 234"),
            "row 2, column 'NIHR Portfolio Study ID': '61 234' is not a study ID",
        ),
        (edge_row(site=""), "row 2, column 'Site ODS Code': no site ODS code"),
        (edge_row(site="R-GT"), "row 2, column 'Site ODS Code': 'R-GT' is not an ODS code"),
        (edge_row(site="RG"), "row 2, column 'Site ODS Code': 'RG' is not an ODS code"),
        (
            edge_row(recruited="21/11/2026"),
            "row 2, column 'First patient recruited': 2026-11-21 is after 2026-11-20, the day this export was recorded",
        ),
    ],
)
def test_each_problem_names_row_and_column(row: list[object], expected: str) -> None:
    result = read_edge(row)
    assert any(text.startswith(expected) for text in problems_of(result)), problems_of(result)
    assert result.refused and result.milestones == []


def test_a_missing_required_column_is_a_header_problem_even_when_skipping_rows() -> None:
    labels = [label for label in EDGE_LABELS if label != "Open to recruitment"]
    row = [
        cell
        for cell, label in zip(edge_row(), EDGE_LABELS, strict=True)
        if label != "Open to recruitment"
    ]
    result = read_milestones(table(labels, row), load_mapping("edge"), RECORDED, skip_bad_rows=True)
    assert [(p.row, p.column) for p in result.problems] == [(1, None)]
    assert result.problems[0].message.startswith(
        "the header lacks the column 'Open to recruitment', which mapping 'edge' needs. "
        "Its labels: 'NIHR Portfolio Study ID', 'Site ODS Code', 'IRAS Number',"
    )
    assert result.refused and result.bad_header and result.warnings == []


def test_without_the_study_column_no_row_is_read() -> None:
    labels = ["Study", *EDGE_LABELS[1:]]
    result = read_milestones(
        table(labels, edge_row(invited="01/02/2026")), load_mapping("edge"), RECORDED
    )
    assert result.milestones == [] and result.refused
    assert problems_of(result) == [
        "row 1: no header for mapping 'edge': none of the first 10 rows holds "
        "'NIHR Portfolio Study ID'. Missing columns: 'NIHR Portfolio Study ID'. Row 1 holds: "
        "'Study', 'Site ODS Code', 'IRAS Number', 'Date site invited', 'Date site selected', "
        "'Date site confirmed by Sponsor', 'Date site confirmed', 'Open to recruitment', "
        "'First patient consented', 'First patient recruited'."
    ]


def test_an_absent_optional_column_is_fine() -> None:
    result = read_edge(edge_row(invited="01/02/2026"))  # no "Date site closed" column
    assert result.problems == []
    assert "site_closed" not in {m.milestone for m in result.milestones}


def test_skip_bad_rows_drops_each_bad_row_whole_and_reports_it() -> None:
    good = edge_row(site="RX1", invited="01/02/2026")
    bad = edge_row(invited="01/02/2026", opened="someday")
    result = read_edge(good, bad, skip=True)
    assert result.skipped_rows == [3] and not result.refused
    assert problems_of(result) == [
        "row 3, column 'Open to recruitment': 'someday' is not a date (use 31/03/2026 or 2026-03-31)"
    ]
    assert {m.site_id for m in result.milestones} == {
        "RX1"
    }  # nothing of row 3, not even its good dates
    refused = read_edge(good, bad)
    assert refused.refused and refused.skipped_rows == []


def test_cpms_row_gives_study_milestones_and_registration_attributes() -> None:
    result = read_cpms(cpms_row())
    assert result.problems == []
    registered = next(m for m in result.milestones if m.milestone == "study_registered")
    assert (registered.source, registered.site_id, registered.date) == (
        "cpms",
        None,
        date(2026, 1, 1),
    )
    assert registered.attributes == {
        "sponsor_id": "acme-pharma-ltd",
        "title": "ACME-101",
        "commercial": True,
        "ctimp": True,
        "atimp": False,
    }
    submitted = next(m for m in result.milestones if m.milestone == "regulatory_submitted")
    assert submitted.attributes is None and submitted.date == date(2026, 1, 10)


def test_blank_flags_take_the_contracts_defaults() -> None:
    result = read_cpms(cpms_row(commercial="", ctimp=" ", atimp="", title=""))
    registered = next(m for m in result.milestones if m.milestone == "study_registered")
    assert registered.attributes == {
        "sponsor_id": "acme-pharma-ltd",
        "commercial": True,
        "ctimp": True,
        "atimp": False,
    }


def test_a_non_commercial_study_is_imported_excluded() -> None:
    result = read_cpms(cpms_row(commercial="N"))
    registered = next(m for m in result.milestones if m.milestone == "study_registered")
    assert registered.attributes is not None
    assert registered.attributes["commercial"] is False
    assert registered.attributes["excluded_reason"] == "non-commercial study (CPMS export)"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"atimp": "maybe"}, "row 2, column 'ATIMP': 'maybe' is not yes or no (use Yes or No)"),
        (
            {"sponsor": ""},
            "row 2, column 'Sponsor': no sponsor (study_registered needs a sponsor_id)",
        ),
        ({"sponsor": "***"}, "row 2, column 'Sponsor': sponsor '***' has no letters or digits"),
    ],
)
def test_cpms_problems(cells: dict[str, object], expected: str) -> None:
    assert any(text.startswith(expected) for text in problems_of(read_cpms(cpms_row(**cells))))


def test_a_blank_sponsor_is_fine_while_the_study_is_not_registered() -> None:
    assert read_cpms(cpms_row(sponsor="", added="")).problems == []


def test_a_sponsor_id_column_is_used_as_it_is(tmp_path: Path) -> None:
    shipped = load_mapping("cpms").path
    assert shipped is not None
    text = shipped.read_text()
    path = tmp_path / "ids.toml"
    path.write_text(text.replace('{ column = "Sponsor", from_name = true }', '"Sponsor"'))
    mapping = load_mapping(str(path))
    ok = read_milestones(table(CPMS_LABELS, cpms_row(sponsor="ACME_01")), mapping, RECORDED)
    assert ok.problems == []
    bad = read_milestones(
        table(CPMS_LABELS, cpms_row(sponsor="Acme Pharma Ltd")), mapping, RECORDED
    )
    assert problems_of(bad) == [
        "row 2, column 'Sponsor': 'Acme Pharma Ltd' cannot be a sponsor_id: letters, digits, '_' or '-' only, at most 100 (it names the sponsor's topic)"
    ]


def test_problem_text() -> None:
    assert str(Problem(1, None, "x")) == "row 1: x"
    assert str(Problem(12, "Open to recruitment", "y")) == "row 12, column 'Open to recruitment': y"


def test_skip_bad_rows_drops_both_rows_of_a_conflict() -> None:
    result = read_edge(
        edge_row(invited="01/02/2026", opened="01/04/2026"),
        edge_row(site="RX1", invited="01/02/2026"),
        edge_row(invited="01/02/2026", opened="02/04/2026"),
        skip=True,
    )
    assert result.skipped_rows == [2, 4] and not result.refused
    # neither row's dates are imported: which of them is right is for the user to say
    assert {m.site_id for m in result.milestones} == {"RX1"}


def test_an_edge_xlsx_with_date_cells_and_serial_numbers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(EDGE_LABELS)
    opened = datetime(2026, 4, 1)  # noqa: DTZ001 - spreadsheet date cells are naive
    sheet.append([61234.0, "RGT ", 123456, 46054, "10/02/2026", None, None, opened, None, None])
    path = tmp_path / "edge.xlsx"
    workbook.save(path)
    result = read_milestones(read_table(path), load_mapping("edge"), RECORDED)
    assert result.problems == []
    dated = {m.milestone: m.date for m in result.milestones if m.date is not None}
    assert dated == {
        "site_invited": date(2026, 2, 1),  # serial 46054
        "site_selected": date(2026, 2, 10),
        "site_opened": date(2026, 4, 1),
    }
    assert {(m.study_id, m.site_id, m.row) for m in result.milestones} == {("CPMS-61234", "RGT", 2)}


def test_a_quirky_csv_export(tmp_path: Path) -> None:
    """BOM, ';' separators, trailing spaces, blank rows, mixed date forms, a duplicate row."""
    lines = [
        ";".join(label + "  " for label in EDGE_LABELS),
        "61234 ;RGT ;123;01/02/2026 ;2026-02-10 00:00:00;;;1/4/2026;;",
        ";;;;;;;;;",
        "",
        "61234;RGT;123;01/02/2026;10/02/2026;;;01/04/2026 00:00;;",
        "61235;RX1;124;;;;;;;",
    ]
    path = tmp_path / "edge.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    result = read_milestones(read_table(path), load_mapping("edge"), RECORDED)
    assert result.problems == [] and result.warnings == []
    dated = sorted((m.study_id, m.milestone, m.date) for m in result.milestones if m.date)
    assert dated == [
        ("CPMS-61234", "site_invited", date(2026, 2, 1)),
        ("CPMS-61234", "site_opened", date(2026, 4, 1)),
        ("CPMS-61234", "site_selected", date(2026, 2, 10)),
    ]
    assert (result.rows, result.studies, result.sites, result.site_records) == (3, 2, 2, 2)


@pytest.mark.parametrize("text", ["N/A", "tbc", " - "])
def test_texts_the_mapping_declares_blank_are_blank_dates(text: str) -> None:
    result = read_edge(edge_row(invited="01/02/2026", opened=text))
    assert result.problems == []
    assert {m.milestone: m.date for m in result.milestones}["site_opened"] is None
    assert load_mapping("edge").blank_values >= {"n/a", "tbc", "-"}


def test_rows_giving_one_study_different_attributes_conflict() -> None:
    result = read_cpms(cpms_row(), cpms_row(atimp="Yes"))
    assert [(p.row, p.column) for p in result.problems] == [
        (2, "Date added to portfolio"),
        (3, "Date added to portfolio"),
    ]
    assert "different study_registered values" in result.problems[0].message
    assert read_cpms(cpms_row(), cpms_row(atimp="N")).problems == []  # the same, spelt otherwise


# -- review of issue 12 (findings 2, 8, 9, 11) ---------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            {"commercial": "No", "added": ""},
            "row 2, column 'Commercial': No, but 'Date added to portfolio' is blank: without "
            "study_registered the study would be counted as commercial",
        ),
        (
            {"atimp": "Y", "added": "N/A"},
            "row 2, column 'ATIMP': Yes, but 'Date added to portfolio' is blank: without "
            "study_registered the study would be judged as not ATIMP (60 days, not 90)",
        ),
    ],
)
def test_a_flag_that_changes_the_judgement_needs_the_registration_date(
    cells: dict[str, object], expected: str
) -> None:
    result = read_cpms(cpms_row(**cells))
    assert problems_of(result) == [expected]
    assert result.refused and result.milestones == []


def test_flags_without_a_registration_date_that_change_nothing_are_fine() -> None:
    # the contract's defaults, and CTIMP (no clock depends on it), need no registration
    result = read_cpms(cpms_row(commercial="Yes", ctimp="No", atimp="", added=""))
    assert result.problems == []
    assert "study_registered" not in {m.milestone for m in result.milestones if m.date}


def test_a_bad_registration_date_is_one_problem_not_two() -> None:
    result = read_cpms(cpms_row(commercial="No", added="someday"))
    assert [p.column for p in result.problems] == ["Date added to portfolio"]


def test_study_ids_written_with_a_space_or_underscore_after_the_prefix() -> None:
    for written in ("CPMS 70003", "cpms_70003", "CPMS  70003"):
        result = read_edge(edge_row(study=written))
        assert {m.study_id for m in result.milestones} == {"CPMS-70003"}, written


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("CPMS-", "'CPMS-' is not a study ID: nothing follows 'CPMS-'"),
        ("cpms", "'cpms' is not a study ID: nothing follows 'CPMS-'"),
        ("CPMS/70003", "'CPMS/70003' is not a study ID: write it as CPMS-70003 or 70003"),
    ],
)
def test_a_prefix_without_a_number_is_no_study_id(written: str, expected: str) -> None:
    result = read_edge(edge_row(study=written))
    assert problems_of(result) == [f"row 2, column 'NIHR Portfolio Study ID': {expected}"]


def test_a_title_row_above_the_header_is_skipped_with_a_warning(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "EDGE Site Records export - Royal Surrey - run 29/11/2026"
    for column, label in enumerate(EDGE_LABELS, start=1):
        sheet.cell(row=3, column=column, value=label)
    for column, value in enumerate(edge_row(invited="01/02/2026"), start=1):
        sheet.cell(row=4, column=column, value=value)
    path = tmp_path / "title.xlsx"
    workbook.save(path)
    mapping = load_mapping("edge")
    result = read_milestones(
        read_table(path, header_label=mapping.study_id_column), mapping, RECORDED
    )
    assert result.problems == []
    assert {(m.study_id, m.site_id, m.row) for m in result.milestones} == {("CPMS-61234", "RGT", 4)}
    assert result.warnings == [
        "row 1 above the header (row 3) not read: "
        "'EDGE Site Records export - Royal Surrey - run 29/11/2026'"
    ]


def test_without_a_header_one_problem_names_the_missing_columns_and_the_header_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "title.csv"
    path.write_text("\n\nEDGE Site Records export\nnotes,more notes\n")
    mapping = load_mapping("edge")
    result = read_milestones(
        read_table(path, header_label=mapping.study_id_column), mapping, RECORDED
    )
    assert result.refused and result.bad_header and result.warnings == []
    [problem] = result.problems
    assert str(problem).startswith(
        "row 3: no header for mapping 'edge': none of the first 10 rows holds "
        "'NIHR Portfolio Study ID'. Missing columns: 'NIHR Portfolio Study ID', 'Site ODS Code', "
    )
    assert str(problem).endswith(". Row 3 holds: 'EDGE Site Records export'.")


def test_the_wrong_mapping_says_which_mapping_fits() -> None:
    result = read_milestones(table(EDGE_LABELS, edge_row()), load_mapping("cpms"), RECORDED)
    [problem] = result.problems
    assert problem.message.endswith("They fit --mapping edge.")
    assert result.warnings == []  # not one warning per column the wrong mapping does not know


def test_a_file_with_only_a_header_is_warned() -> None:
    result = read_edge()
    assert result.problems == [] and result.milestones == []
    assert result.warnings == ["no rows below the header (row 1): nothing to import"]


def test_a_long_cell_is_quoted_short_in_its_problem() -> None:
    [problem] = read_edge(edge_row(opened="x" * 200_000)).problems
    assert problem.message.startswith(f"{'x' * 60!r}... (200,000 characters) is not a date")
    assert len(problem.message) < 200
