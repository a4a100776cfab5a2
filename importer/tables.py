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

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})  # .txt: Excel's "Unicode text" export
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
SEPARATORS = (",", ";", "\t")
SAMPLE_LINES = 50  # lines read to decide the separator
# free-text columns (EDGE notes) can be long; the csv module's default limit is 128 KiB
CSV_FIELD_LIMIT = 16 * 1024 * 1024
# a title row or two above the header is common; the header is looked for this far down
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class Row:
    number: int  # as the user sees it: the spreadsheet row / CSV line (header = 1)
    cells: dict[str, object]  # label (stripped) -> raw value (strings stripped)


@dataclass(frozen=True)
class Table:
    path: Path
    labels: list[str]
    rows: list[Row]
    header_row: int = 1  # the header's row number
    # the non-blank rows above the header (titles): row number, their text
    preamble: tuple[tuple[int, str], ...] = ()


def normal_label(label: str) -> str:
    """Labels match whatever the case and spacing: "Open to  Recruitment" is "Open to recruitment"."""
    return " ".join(label.split()).casefold()


def read_table(path: Path, sheet: str | None = None, header_label: str | None = None) -> Table:
    """Read an export; raises ImportRefused when it is not one we can read.

    The header is the first non-blank row, or, given `header_label`, the first of the first
    HEADER_SEARCH_ROWS non-blank rows that holds that label (title rows above it are kept
    in `preamble`, not read as records).
    """
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportRefused(f"{path}: an .xls file (Excel 97-2003); save it as .xlsx or CSV")
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        known = ", ".join(sorted(CSV_SUFFIXES | XLSX_SUFFIXES))
        raise ImportRefused(f"{path}: not a CSV or XLSX export (expected {known})")
    if path.is_dir():
        raise ImportRefused(f"{path}: a directory, not an export file")
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    if suffix in XLSX_SUFFIXES:
        lines = _xlsx_lines(path, sheet)
    elif sheet is not None:
        raise ImportRefused(f"{path}: a CSV file has no sheets (--sheet is for .xlsx)")
    else:
        lines = _csv_lines(path)
    return _table(path, lines, header_label)


def _table(
    path: Path, lines: Iterable[tuple[int, list[object]]], header_label: str | None
) -> Table:
    records = _non_blank(lines)
    leading: list[tuple[int, list[object]]] = []  # candidates for the header
    for record in records:
        leading.append(record)
        if header_label is None or _holds(record[1], header_label):
            break
        if len(leading) == HEADER_SEARCH_ROWS:
            break
    if not leading:
        raise ImportRefused(f"{path}: the file is empty (no header row)")
    at = next((i for i, (_, values) in enumerate(leading) if _holds(values, header_label)), 0)
    number, values = leading[at]
    header = _labels(path, number, values)
    rows = [_row(header, n, v) for n, v in leading[at + 1 :]]
    rows += [_row(header, n, v) for n, v in records]
    preamble = tuple((n, _text_of(v)) for n, v in leading[:at])
    return Table(path, [label for label in header if label], rows, number, preamble)


def _non_blank(lines: Iterable[tuple[int, list[object]]]) -> Iterator[tuple[int, list[object]]]:
    for number, values in lines:
        values = [_stripped(value) for value in values]
        if not all(value is None or value == "" for value in values):
            yield number, values  # wholly blank rows are spacing, not records


def _holds(values: list[object], label: str | None) -> bool:
    if label is None:
        return True
    wanted = normal_label(label)
    return any(isinstance(value, str) and normal_label(value) == wanted for value in values)


def _row(header: list[str], number: int, values: list[object]) -> Row:
    cells = {label: value for label, value in zip(header, values, strict=False) if label}
    for label in header[len(values) :]:
        if label:
            cells[label] = ""  # a short line: the missing cells are blank
    return Row(number, cells)


def _text_of(values: list[object]) -> str:
    return " ".join(str(value) for value in values if value is not None and value != "")


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
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    text = _decoded(path, path.read_bytes())
    try:
        separator = _separator(text)
    except csv.Error as exc:
        raise ImportRefused(f"{path}: not readable as CSV ({exc})") from None
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
    (a label such as "Sponsor, if any" must not make a ';' file look like a ',' file).
    Lines of one cell before the header (a title) do not count."""
    sample = [line for line in text.splitlines()[:SAMPLE_LINES] if line.strip()]

    def fit(separator: str) -> tuple[int, int]:
        counts = [len(record) for record in csv.reader(sample, delimiter=separator)]
        while counts and counts[0] < 2:
            counts.pop(0)
        if not counts:
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
