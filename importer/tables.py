"""An export file as a table of labelled rows: CSV (any of the usual encodings and
separators) or XLSX. No meaning is given to the cells here; `rows.py` does that.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from importer.errors import ImportRefused

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
SEPARATORS = (",", ";", "\t")
SAMPLE_LINES = 50  # lines read to decide the separator


@dataclass(frozen=True)
class Row:
    number: int  # as the user sees it: the spreadsheet row / CSV line (header = 1)
    cells: dict[str, object]  # label (stripped) -> raw value (strings stripped)


@dataclass(frozen=True)
class Table:
    path: Path
    labels: list[str]
    rows: list[Row]


def read_table(path: Path, sheet: str | None = None) -> Table:
    """Read an export; raises ImportRefused when it is not one we can read."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportRefused(f"{path}: an .xls file (Excel 97-2003); save it as .xlsx or CSV")
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise ImportRefused(f"{path}: not a CSV or XLSX export (expected .csv or .xlsx)")
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    if suffix in XLSX_SUFFIXES:
        lines = _xlsx_lines(path, sheet)
    elif sheet is not None:
        raise ImportRefused(f"{path}: a CSV file has no sheets (--sheet is for .xlsx)")
    else:
        lines = _csv_lines(path)
    return _table(path, lines)


def _table(path: Path, lines: Iterable[tuple[int, list[object]]]) -> Table:
    header: list[str] | None = None
    rows: list[Row] = []
    for number, values in lines:
        values = [_stripped(value) for value in values]
        if all(value is None or value == "" for value in values):
            continue  # wholly blank rows are spacing, not records
        if header is None:
            header = _labels(path, number, values)
            continue
        cells = {label: value for label, value in zip(header, values, strict=False) if label}
        for label in header[len(values) :]:
            if label:
                cells[label] = ""  # a short line: the missing cells are blank
        rows.append(Row(number, cells))
    if header is None:
        raise ImportRefused(f"{path}: the file is empty (no header row)")
    return Table(path, [label for label in header if label], rows)


def _labels(path: Path, number: int, values: list[object]) -> list[str]:
    labels = ["" if value is None else str(value).strip() for value in values]
    seen: dict[str, int] = {}
    for column, label in enumerate(labels, start=1):
        if label and label in seen:
            raise ImportRefused(
                f"{path}: row {number} (the header) has the label {label!r} twice "
                f"(columns {seen[label]} and {column}); which one holds the dates?"
            )
        seen[label] = column
    return labels


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


# -- CSV -----------------------------------------------------------------------------------


def _csv_lines(path: Path) -> Iterator[tuple[int, list[object]]]:
    text = _decoded(path, path.read_bytes())
    separator = _separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    last_line = 0
    try:
        for record in reader:
            # a quoted cell may span lines: a record is numbered by the line it starts on
            yield last_line + 1, list(record)
            last_line = reader.line_num
    except csv.Error as exc:
        raise ImportRefused(
            f"{path}: line {reader.line_num}: not readable as CSV ({exc})"
        ) from None


def _separator(text: str) -> str:
    """The separator that splits the first lines into as many cells as the header has
    (a label such as "Sponsor, if any" must not make a ';' file look like a ',' file)."""
    sample = [line for line in text.splitlines()[:SAMPLE_LINES] if line.strip()]

    def fit(separator: str) -> tuple[int, int]:
        counts = [len(record) for record in csv.reader(sample, delimiter=separator)]
        if not counts or counts[0] < 2:
            return (-1, 0)
        return (sum(count == counts[0] for count in counts), counts[0])

    return max(SEPARATORS, key=fit)


def _decoded(path: Path, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")  # Excel's "Unicode text" export
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" (not "CSV UTF-8") in the Windows code page
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportRefused(
                f"{path}: neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8"
            ) from None


# -- XLSX ----------------------------------------------------------------------------------


def _xlsx_lines(path: Path, sheet: str | None) -> Iterator[tuple[int, list[object]]]:
    # openpyxl is imported here so that a CSV import never pays for loading it
    # openpyxl ships no type hints (and types-openpyxl is not a dependency)
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImportRefused(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = ", ".join(repr(name) for name in workbook.sheetnames)
            raise ImportRefused(f"{path}: no sheet named {sheet!r} (sheets: {names})")
        # exports written by other tools often declare wrong dimensions: read what is there
        worksheet.reset_dimensions()
        for row in worksheet.iter_rows():
            cells = [cell for cell in row if getattr(cell, "row", None) is not None]
            if cells:
                yield cells[0].row, _row_values(row)
    finally:
        workbook.close()


def _row_values(row: tuple[object, ...]) -> list[object]:
    return [getattr(cell, "value", None) for cell in row]
