"""An export's header against a mapping: which file label holds each mapped column, and, when
required columns are missing, ONE problem that says which, and what the header holds.

A file without a required column cannot be imported at all (skipping rows cannot help), so
the message is written for someone looking at the wrong file, the wrong mapping or a title
row above the header.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from importer.mapping import Mapping, load_mapping, shipped_mappings
from importer.tables import HEADER_SEARCH_ROWS, Table, normal_label

LISTED_LABELS = 12  # a header's labels quoted in a problem, at most
LONG_LABEL = 60  # characters of a label (a title row) quoted


@dataclass(frozen=True)
class Header:
    columns: dict[str, str]  # mapping label -> the file's label, for the columns it has
    missing: str | None = None  # the problem when required columns are missing
    warnings: list[str] = field(default_factory=list)


def resolve_header(table: Table, mapping: Mapping) -> Header:
    in_file = {normal_label(label): label for label in table.labels}
    columns: dict[str, str] = {}
    missing: list[str] = []
    for column in mapping.columns():
        found = in_file.get(normal_label(column.label))
        if found is not None:
            columns[column.label] = found
        elif not column.optional:
            missing.append(column.label)
    if missing:
        return Header(columns, _missing(table, mapping, missing))
    warnings = []
    if table.preamble:
        numbers = ", ".join(str(number) for number, _ in table.preamble)
        plural = "s" if len(table.preamble) > 1 else ""
        warnings.append(
            f"row{plural} {numbers} above the header (row {table.header_row}) not read: "
            f"{_short(table.preamble[0][1])!r}"
        )
    if not table.rows:
        warnings.append(f"no rows below the header (row {table.header_row}): nothing to import")
    known = {normal_label(label) for label in list(columns) + list(mapping.ignored)}
    warnings += [
        f"column {label!r} is not in mapping {mapping.name!r}: not read"
        for label in table.labels
        if normal_label(label) not in known
    ]
    return Header(columns, None, warnings)


def _missing(table: Table, mapping: Mapping, missing: list[str]) -> str:
    names = ", ".join(repr(label) for label in missing)
    labels = ", ".join(repr(_short(label)) for label in table.labels[:LISTED_LABELS])
    if len(table.labels) > LISTED_LABELS:
        labels += f" and {len(table.labels) - LISTED_LABELS} more"
    if mapping.study_id_column in missing:
        text = (
            f"no header for mapping {mapping.name!r}: none of the first {HEADER_SEARCH_ROWS} "
            f"rows holds {mapping.study_id_column!r}. Missing columns: {names}. "
            f"Row {table.header_row} holds: {labels}."
        )
    else:
        text = (
            f"the header lacks the column{'s' if len(missing) > 1 else ''} {names}, which "
            f"mapping {mapping.name!r} needs. "
            f"Its labels: {labels}."
        )
    fitting = [name for name in _fitting_mappings(table) if name != mapping.name]
    if fitting:
        text += f" They fit --mapping {' or '.join(fitting)}."
    return text


def _fitting_mappings(table: Table) -> list[str]:
    """The shipped mappings whose required columns the header has."""
    in_file = {normal_label(label) for label in table.labels}
    return [
        name
        for name in shipped_mappings()
        if all(
            column.optional or normal_label(column.label) in in_file
            for column in load_mapping(name).columns()
        )
    ]


def _short(text: str) -> str:
    return text if len(text) <= LONG_LABEL else text[: LONG_LABEL - 1] + "…"
