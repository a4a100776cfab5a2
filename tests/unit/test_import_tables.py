"""Reading export files as tables: CSV quirks and XLSX (importer/tables.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from importer.errors import ImportRefused
from importer.tables import read_table

XLSX_DATE = datetime(2026, 3, 31)  # noqa: DTZ001 - spreadsheet date cells are naive


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_csv_with_bom_semicolons_trailing_spaces_and_blank_rows(tmp_path: Path) -> None:
    text = "Study ID ; Sponsor \r\n61234 ;Acme Pharma Ltd  \r\n;\r\n\r\n61235;Beta\r\n"
    table = read_table(write(tmp_path, "a.csv", b"\xef\xbb\xbf" + text.encode()))
    assert table.labels == ["Study ID", "Sponsor"]
    # line numbers as the user's editor shows them: the blank lines 3 and 4 are skipped
    assert [(row.number, row.cells) for row in table.rows] == [
        (2, {"Study ID": "61234", "Sponsor": "Acme Pharma Ltd"}),
        (5, {"Study ID": "61235", "Sponsor": "Beta"}),
    ]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_separator_is_sniffed(tmp_path: Path, separator: str) -> None:
    text = separator.join(["A", "B, or C"]) if separator != "," else 'A,"B, or C"'
    body = separator.join(["1", "2"])
    table = read_table(write(tmp_path, "s.csv", f"{text}\n{body}\n".encode()))
    assert table.labels == ["A", "B, or C"]
    assert table.rows[0].cells == {"A": "1", "B, or C": "2"}


def test_windows_1252_fallback(tmp_path: Path) -> None:
    data = "Sponsor,Title\nSociété Générale Pharma,Café study €\n".encode("cp1252")
    table = read_table(write(tmp_path, "w.csv", data))
    assert table.rows[0].cells["Sponsor"] == "Société Générale Pharma"
    assert table.rows[0].cells["Title"] == "Café study €"


def test_a_quoted_cell_over_two_lines_keeps_line_numbers(tmp_path: Path) -> None:
    data = b'A,B\n1,"two\nlines"\n3,x\n'
    table = read_table(write(tmp_path, "q.csv", data))
    assert [row.number for row in table.rows] == [2, 4]


def test_short_lines_have_blank_cells(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "short.csv", b"A,B,C\n1\n"))
    assert table.rows[0].cells == {"A": "1", "B": "", "C": ""}


def test_duplicate_labels_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", b"Open to recruitment,X, Open to recruitment \n1,2,3\n")
    with pytest.raises(ImportRefused, match=r"'Open to recruitment' twice \(columns 1 and 3\)"):
        read_table(path)


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("e.xls", b"x", "save it as .xlsx or CSV"),
        ("e.pdf", b"x", "not a CSV or XLSX export"),
        ("empty.csv", b"\n\n", "empty"),
        ("bad.xlsx", b"not a zip", "not a readable .xlsx workbook"),
    ],
)
def test_refused_files(tmp_path: Path, name: str, data: bytes, says: str) -> None:
    with pytest.raises(ImportRefused, match=says):
        read_table(write(tmp_path, name, data))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="no such file"):
        read_table(tmp_path / "nowhere.csv")


def xlsx(tmp_path: Path) -> Path:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Notes"
    first["A1"] = "not the data"
    sheet = workbook.create_sheet("Sites")
    sheet["A2"] = "Study ID "
    sheet["B2"] = "Open to recruitment"
    sheet["A3"] = 61234
    sheet["B3"] = XLSX_DATE
    sheet["A5"] = "  61235 "
    sheet["B5"] = 46112
    path = tmp_path / "e.xlsx"
    workbook.save(path)
    return path


def test_xlsx_named_sheet_keeps_row_numbers_and_cell_types(tmp_path: Path) -> None:
    table = read_table(xlsx(tmp_path), sheet="Sites")
    assert table.labels == ["Study ID", "Open to recruitment"]
    assert [(row.number, row.cells) for row in table.rows] == [
        (3, {"Study ID": 61234, "Open to recruitment": XLSX_DATE}),
        (5, {"Study ID": "61235", "Open to recruitment": 46112}),
    ]


def test_xlsx_first_sheet_by_default_and_unknown_sheet_refused(tmp_path: Path) -> None:
    path = xlsx(tmp_path)
    assert read_table(path).labels == ["not the data"]
    with pytest.raises(ImportRefused, match=r"no sheet named 'Site' \(sheets: 'Notes', 'Sites'\)"):
        read_table(path, sheet="Site")


# -- review of issue 12 (findings 6, 8, 11) ------------------------------------------------


def test_a_cell_longer_than_the_csv_modules_default_limit_is_read(tmp_path: Path) -> None:
    notes = "x" * 200_000  # an EDGE notes column; the csv module's default limit is 131,072
    path = write(tmp_path, "long.csv", f'Study ID,Notes\n61234,"{notes}"\n'.encode())
    assert read_table(path).rows[0].cells == {"Study ID": "61234", "Notes": notes}


def test_a_cell_over_the_limit_in_the_first_lines_is_refused_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv

    from importer import tables

    before = csv.field_size_limit()
    monkeypatch.setattr(tables, "CSV_FIELD_LIMIT", 1000)
    csv.field_size_limit(1000)
    try:
        path = write(tmp_path, "huge.csv", f'Study ID,Notes\n61234,"{"x" * 2000}"\n'.encode())
        with pytest.raises(ImportRefused, match=r"huge.csv: not readable as CSV \(field larger"):
            read_table(path)
    finally:
        csv.field_size_limit(before)


def test_the_header_is_found_below_title_rows(tmp_path: Path) -> None:
    text = "EDGE Site Records export - Royal Surrey\n\nrun 29/11/2026\nStudy ID;Site\n61234;RGT\n"
    table = read_table(write(tmp_path, "t.csv", text.encode()), header_label="study  id")
    assert (table.header_row, table.labels) == (4, ["Study ID", "Site"])
    assert [(row.number, row.cells) for row in table.rows] == [
        (5, {"Study ID": "61234", "Site": "RGT"})
    ]
    assert table.preamble == ((1, "EDGE Site Records export - Royal Surrey"), (3, "run 29/11/2026"))


def test_the_header_is_looked_for_in_the_first_ten_rows_only(tmp_path: Path) -> None:
    text = "".join(f"title {n}\n" for n in range(10)) + "Study ID,Site\n61234,RGT\n"
    table = read_table(write(tmp_path, "t.csv", text.encode()), header_label="Study ID")
    # not found: the first row is the header (the mapping then names what is missing)
    assert (table.header_row, table.labels, table.preamble) == (1, ["title 0"], ())
    assert len(table.rows) == 11


def test_a_directory_is_not_called_missing(tmp_path: Path) -> None:
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    with pytest.raises(ImportRefused, match="a directory, not an export file"):
        read_table(folder)
