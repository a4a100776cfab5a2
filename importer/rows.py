"""An export's rows read as milestones, with every problem found, by row and column.

Nothing is published from a file with problems (unless the user skips the bad rows), so the
reader never stops at the first problem: a user fixes the whole file in one go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from core.time import uk_date
from events.milestones import SITE_MILESTONES as SITE_KINDS
from events.milestones import MilestoneKind
from importer import cells
from importer.dates import parse_export_date
from importer.header import resolve_header
from importer.mapping import Mapping
from importer.tables import Row, Table

# the contract's defaults for a blank flag (CONTRACT.md section 1, study_registered)
FLAG_DEFAULTS: dict[str, bool] = {"commercial": True, "ctimp": True, "atimp": False}
# attributes that change how a study is judged (value, None for any text): lost without a
# registration date, so such a row is a problem (ctimp, sponsor and title change no clock)
UNREGISTERED_ATTRIBUTES: dict[str, tuple[bool | None, str, str]] = {
    "commercial": (False, "No", "counted as commercial"),
    "atimp": (True, "Yes", "judged as not ATIMP (60 days, not 90)"),
    "excluded_reason": (None, "an exclusion reason", "counted, not excluded"),
}

# looked up once per cell of a large file, cheaper than the enum's properties
NAMES = {kind: kind.value for kind in MilestoneKind}
IS_SITE = {kind: kind in SITE_KINDS for kind in MilestoneKind}

T = TypeVar("T")
Parser = Callable[[object], T]


@dataclass(frozen=True, slots=True)
class Problem:
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + ("" if self.column is None else f", column {self.column!r}")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportedMilestone:
    source: str
    study_id: str
    site_id: str | None
    milestone: str  # the contract's name (a MilestoneKind)
    date: date | None  # None: the cell is blank (cleared, if it was published before)
    attributes: dict[str, object] | None  # study_registered only
    row: int
    column: str | None = None  # the label of the column the date came from

    @property
    def key(self) -> str:
        """The ledger key: one milestone of one study (site) from one source."""
        return f"{self.source}|{self.study_id}|{self.site_id or '-'}|{self.milestone}"


@dataclass(frozen=True)
class ReadResult:
    milestones: list[ImportedMilestone]
    problems: list[Problem]
    rows: int  # data rows in the file (wholly blank rows not counted)
    studies: int
    sites: int  # distinct site ODS codes
    skipped_rows: list[int]
    warnings: list[str] = field(default_factory=list)
    site_records: int = 0  # distinct (study, site) pairs
    # the caller must refuse the file: problems, and either no --skip-bad-rows or a problem
    # with the header (a missing column) that skipping rows cannot fix
    refused: bool = False
    bad_header: bool = False  # the header lacks a required column (the only problem)


def read_milestones(
    table: Table, mapping: Mapping, recorded_at: datetime, *, skip_bad_rows: bool = False
) -> ReadResult:
    """Every milestone of every row, and every problem (see module docstring)."""
    header = resolve_header(table, mapping)
    if header.missing is not None:
        # without a required column the file cannot be imported: skipping rows cannot help
        problem = Problem(table.header_row, None, header.missing)
        return ReadResult([], [problem], len(table.rows), 0, 0, [], refused=True, bad_header=True)
    reader = _RowReader(mapping, header.columns, uk_date(recorded_at))
    problems: list[Problem] = []
    groups: dict[str, list[ImportedMilestone]] = {}  # key -> what each row says of it
    for row in table.rows:
        row_milestones, row_problems = reader.read(row)
        problems += row_problems
        for milestone in row_milestones:
            groups.setdefault(milestone.key, []).append(milestone)
    for group in groups.values():
        if len(group) > 1 and len({(m.date, _frozen(m.attributes)) for m in group}) > 1:
            problems += _conflict(group)
    skipped = sorted({p.row for p in problems}) if skip_bad_rows else []
    dropped = set(skipped)
    # identical duplicate rows count once: the first row that is kept speaks for them
    milestones = [
        kept[0] for group in groups.values() if (kept := [m for m in group if m.row not in dropped])
    ]
    problems.sort(key=lambda p: p.row)  # stable: within a row, in column order
    return ReadResult(
        milestones=milestones,
        problems=problems,
        rows=len(table.rows),
        studies=len({m.study_id for m in milestones}),
        sites=len({m.site_id for m in milestones if m.site_id is not None}),
        skipped_rows=skipped,
        warnings=header.warnings,
        site_records=len({(m.study_id, m.site_id) for m in milestones if m.site_id is not None}),
        refused=bool(problems) and not skip_bad_rows,
    )


def _frozen(attributes: dict[str, object] | None) -> object:
    return None if attributes is None else tuple(sorted(attributes.items()))


def _conflict(group: list[ImportedMilestone]) -> list[Problem]:
    """Rows disagreeing on one milestone: each of them is named, none is believed."""
    later = group[-1]
    where = later.study_id + ("" if later.site_id is None else f" at site {later.site_id}")
    rows_by_value: dict[str, list[int]] = {}
    for m in group:
        value = "blank" if m.date is None else m.date.isoformat()
        if m.attributes is not None:
            value += f" with {m.attributes}"
        rows_by_value.setdefault(value, []).append(m.row)
    numbers = [m.row for m in group]
    rows = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
    values = "; ".join(
        f"{value} (row{'s' if len(r) > 1 else ''} {', '.join(map(str, r))})"
        for value, r in rows_by_value.items()
    )
    message = (
        f"rows {rows} give {where} different {later.milestone} values: {values} (which is right?)"
    )
    return [Problem(m.row, m.column, message) for m in group]


@dataclass(frozen=True)
class _RowReader:
    mapping: Mapping
    columns: dict[str, str]  # mapping label -> file label, for the columns the file has
    last_day: date  # the UK day of recorded_at: no milestone can be later

    def read(self, row: Row) -> tuple[list[ImportedMilestone], list[Problem]]:
        problems: list[Problem] = []
        study_id = self._cell(row, problems, self.mapping.study_id_column, self._study_id)
        site_id = None
        if self.mapping.site_id_column is not None:
            site_id = self._cell(row, problems, self.mapping.site_id_column, cells.ods_code)
        dated: list[tuple[str, MilestoneKind, date | None]] = []
        for label, kind in self.mapping.milestones.items():
            if label in self.columns:
                day = self._cell(row, problems, label, self._date)
                if day is not None and day > self.last_day:
                    problems.append(Problem(row.number, self.columns[label], self._future(day)))
                dated.append((label, kind, day))
        attributes = self._attributes(row, problems, dated)
        if problems or study_id is None:
            return [], problems
        source = self.mapping.source_for(site_id)
        return [
            ImportedMilestone(
                source=source,
                study_id=study_id,
                site_id=site_id if IS_SITE[kind] else None,
                milestone=NAMES[kind],
                date=day,
                attributes=(
                    attributes
                    if kind is MilestoneKind.STUDY_REGISTERED and day is not None
                    else None
                ),
                row=row.number,
                column=self.columns[label],
            )
            for label, kind, day in dated
        ], problems

    def _date(self, value: object) -> date | None:
        if isinstance(value, str) and value.strip().casefold() in self.mapping.blank_values:
            return None
        return parse_export_date(value)

    def _study_id(self, value: object) -> str:
        return cells.study_id(value, self.mapping.study_id_template)

    def _future(self, day: date) -> str:
        return (
            f"{day.isoformat()} is after {self.last_day.isoformat()}, the day this export "
            f"was recorded (recorded_at): a milestone cannot be dated in the future"
        )

    def _cell(self, row: Row, problems: list[Problem], label: str, parse: Parser[T]) -> T | None:
        """The parsed cell; None (and a Problem) when it cannot be read."""
        column = self.columns.get(label)
        if column is None:
            return None
        try:
            return parse(row.cells.get(column))
        except ValueError as exc:
            problems.append(Problem(row.number, column, str(exc)))
            return None

    def _attributes(
        self, row: Row, problems: list[Problem], dated: list[tuple[str, MilestoneKind, date | None]]
    ) -> dict[str, object] | None:
        """study_registered's attributes, with the contract's defaults for blank flags."""
        if not self.mapping.attributes:
            return None
        registered = any(k is MilestoneKind.STUDY_REGISTERED and d for _, k, d in dated)
        labels = self.mapping.attributes
        result: dict[str, object] = {}
        for name, default in FLAG_DEFAULTS.items():
            if name in labels:
                flag = self._cell(row, problems, labels[name], cells.yes_no)
                result[name] = default if flag is None else flag
        for name in ("title", "excluded_reason"):
            if name in labels and (text := self._cell(row, problems, labels[name], _text)):
                result[name] = text
        if registered and "sponsor_id" in labels:
            result["sponsor_id"] = self._cell(row, problems, labels["sponsor_id"], self._sponsor)
        if not registered:
            problems += self._unregistered(row, problems, dated, result)
        reason = self.mapping.non_commercial_excluded_reason
        if result.get("commercial") is False and reason and "excluded_reason" not in result:
            result["excluded_reason"] = reason
        return result

    def _unregistered(
        self,
        row: Row,
        problems: list[Problem],
        dated: list[tuple[str, MilestoneKind, date | None]],
        attributes: dict[str, object],
    ) -> list[Problem]:
        """A flag that changes how the study is judged, on a row whose registration date is
        blank: attributes travel only on study_registered, so the flag would be lost."""
        blank = [
            self.columns[label]
            for label, kind, day in dated
            if kind is MilestoneKind.STUDY_REGISTERED and day is None
        ]
        if not blank or any(p.column == blank[0] for p in problems if p.row == row.number):
            return []  # no registration column, or its cell is a problem already
        found = []
        for name, (value, says, effect) in UNREGISTERED_ATTRIBUTES.items():
            given = attributes.get(name)
            matched = bool(given) if value is None else given is value
            if name in self.mapping.attributes and matched:
                column = self.columns[self.mapping.attributes[name]]
                message = (
                    f"{says}, but {blank[0]!r} is blank: without study_registered the study "
                    f"would be {effect}"
                )
                found.append(Problem(row.number, column, message))
        return found

    def _sponsor(self, value: object) -> str:
        return cells.sponsor_id(value, from_name=self.mapping.sponsor_from_name)


def _text(value: object) -> str | None:
    return cells.optional_text(value)
