"""Mappings: which column of an export holds which milestone (shipped TOML files, or the user's).

A mapping file (see `mappings/edge.toml`, documented) names the study ID column and its
template, the site ODS code column, the milestone columns, the study_registered attribute
columns and the labels to ignore. Columns are required unless marked `optional = true`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import NoReturn

from events.milestones import SITE_MILESTONES, MilestoneKind
from events.validation import ATTRIBUTE_TYPES
from importer.errors import MappingError

TOP_LEVEL_KEYS = frozenset(
    {"name", "description", "source", "ignored", "blank", "non_commercial_excluded_reason"}
    | {"study_id", "site_id", "milestones", "attributes"}
)


@dataclass(frozen=True)
class Column:
    label: str
    optional: bool = False


@dataclass(frozen=True)
class Mapping:
    name: str
    source: str  # template: "cpms", or "edge:{site_id}"
    study_id_column: str
    study_id_template: str  # one "{}": "CPMS-{}" turns 61234 into CPMS-61234
    site_id_column: str | None  # None: the export has study milestones only (CPMS)
    milestones: dict[str, MilestoneKind]  # column label -> milestone
    optional_columns: frozenset[str] = frozenset()  # labels that may be absent from a file
    ignored: frozenset[str] = frozenset()  # labels read and deliberately left alone
    attributes: dict[str, str] = field(default_factory=dict)  # attribute -> column label
    sponsor_from_name: bool = False  # the sponsor column holds a name: slug it
    # a study the export marks non-commercial is imported excluded with this reason
    non_commercial_excluded_reason: str | None = None
    # date cell texts that mean "no date" (e.g. N/A, TBC), compared ignoring case
    blank_values: frozenset[str] = frozenset()
    description: str = ""
    path: Path | None = None

    def columns(self) -> list[Column]:
        """Every column the mapping reads, with whether a file may lack it."""
        labels = [self.study_id_column]
        if self.site_id_column is not None:
            labels.append(self.site_id_column)
        labels += list(self.milestones) + list(self.attributes.values())
        return [Column(label, label in self.optional_columns) for label in labels]

    def source_for(self, site_id: str | None) -> str:
        return self.source.replace("{site_id}", site_id or "")


def source_problem(source: str, *, has_site_column: bool) -> str | None:
    """Why `source` cannot be the events' source template, or None (a mapping's `source`
    and `setupmon import --source` are checked alike)."""
    if not source.strip():
        return "may not be blank"
    if re.search(r"[{}]", source.replace("{site_id}", "")):
        return f"{source!r}: the only placeholder allowed is {{site_id}} (the site's ODS code)"
    # the contract allows 64 characters; an ODS code in {site_id} takes up to 10
    longest = len(source.replace("{site_id}", "")) + (10 if "{site_id}" in source else 0)
    if longest > 64:
        return f"{source!r}: over 64 characters (with up to 10 for {{site_id}})"
    if "{site_id}" in source and not has_site_column:
        return f"{source!r} uses {{site_id}} but the mapping has no site_id column"
    return None


def shipped_mappings() -> list[str]:
    folder = resources.files("importer") / "mappings"
    return sorted(item.name[:-5] for item in folder.iterdir() if item.name.endswith(".toml"))


def load_mapping(name_or_path: str) -> Mapping:
    """A shipped mapping by name ("edge", "cpms") or a TOML file by path."""
    if name_or_path in shipped_mappings():
        resource = resources.files("importer") / "mappings" / f"{name_or_path}.toml"
        return _parse(resource.read_text(encoding="utf-8"), name_or_path, Path(str(resource)))
    path = Path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(shipped_mappings())
        raise MappingError(f"mapping {name_or_path!r}: no such file (shipped mappings: {shipped})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping {path}: cannot be read ({exc})") from None
    return _parse(text, path.stem, path)


def _parse(text: str, default_name: str, path: Path) -> Mapping:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {path}: not valid TOML ({exc})") from None
    reader = _Reader(path, data)
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        reader.fail(unknown[0], f"unknown key (known: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    optional: set[str] = set()

    study = reader.table("study_id", {"column", "template"})
    study_column = reader.label(study, "study_id.column", optional)
    template = reader.text(study, "study_id.template", default="{}")
    if template.count("{}") != 1:
        reader.fail("study_id.template", f"{template!r} must hold '{{}}' once, e.g. 'CPMS-{{}}'")

    site_column = None
    if "site_id" in data:
        site_column = reader.label(reader.table("site_id", {"column"}), "site_id.column", optional)

    milestones = _milestones(reader, optional)
    if site_column is None and any(kind in SITE_MILESTONES for kind in milestones.values()):
        reader.fail("site_id", "site milestones need the column of the site's ODS code")
    attributes, from_name = _attributes(reader, optional)
    if attributes and MilestoneKind.STUDY_REGISTERED not in milestones.values():
        reader.fail("attributes", "attributes belong to study_registered: map its date column")
    if MilestoneKind.STUDY_REGISTERED in milestones.values() and "sponsor_id" not in attributes:
        reader.fail("attributes.sponsor_id", "study_registered needs the sponsor's column")

    source = reader.text(data, "source")
    if (problem := source_problem(source, has_site_column=site_column is not None)) is not None:
        reader.fail("source", problem)

    ignored = data.get("ignored", [])
    if not isinstance(ignored, list) or not all(isinstance(item, str) for item in ignored):
        reader.fail("ignored", "must be a list of column labels")
    blank = data.get("blank", [])
    if not isinstance(blank, list) or not all(isinstance(item, str) for item in blank):
        reader.fail("blank", 'must be a list of texts, e.g. ["N/A", "TBC"]')
    excluded = data.get("non_commercial_excluded_reason")
    if excluded is not None and (not isinstance(excluded, str) or not excluded.strip()):
        reader.fail("non_commercial_excluded_reason", "must be a non-empty string")
    return Mapping(
        name=reader.text(data, "name", default=default_name),
        source=source,
        study_id_column=study_column,
        study_id_template=template,
        site_id_column=site_column,
        milestones=milestones,
        optional_columns=frozenset(optional),
        ignored=frozenset(label.strip() for label in ignored),
        attributes=attributes,
        sponsor_from_name=from_name,
        non_commercial_excluded_reason=excluded,
        blank_values=frozenset(text.strip().casefold() for text in blank),
        description=reader.text(data, "description", default=""),
        path=path,
    )


def _milestones(reader: _Reader, optional: set[str]) -> dict[str, MilestoneKind]:
    table = reader.table("milestones")
    result: dict[str, MilestoneKind] = {}
    for label, spec in table.items():
        key = f"milestones.{label!r}"
        entry = {"milestone": spec} if isinstance(spec, str) else spec
        if not isinstance(entry, dict) or set(entry) - {"milestone", "optional"}:
            reader.fail(key, "must be a milestone name, or {milestone = ..., optional = true}")
        name = reader.text(entry, key + ".milestone")
        try:
            kind = MilestoneKind(name)
        except ValueError:
            known = ", ".join(kind.value for kind in MilestoneKind)
            reader.fail(key, f"{name!r} is not a contract milestone ({known})")
        if kind in result.values():
            reader.fail(key, f"{kind.value} is already mapped from another column")
        if reader.flag(entry, key + ".optional"):
            optional.add(label.strip())
        result[label.strip()] = kind
    if not result:
        reader.fail("milestones", "maps no column to a milestone")
    return result


def _attributes(reader: _Reader, optional: set[str]) -> tuple[dict[str, str], bool]:
    if "attributes" not in reader.data:
        return {}, False
    table = reader.table("attributes")
    result: dict[str, str] = {}
    from_name = False
    for name, spec in table.items():
        key = f"attributes.{name}"
        if name not in ATTRIBUTE_TYPES:
            reader.fail(key, f"not a study_registered attribute ({', '.join(ATTRIBUTE_TYPES)})")
        entry = {"column": spec} if isinstance(spec, str) else spec
        allowed = {"column", "optional"} | ({"from_name"} if name == "sponsor_id" else set())
        if not isinstance(entry, dict) or set(entry) - allowed:
            reader.fail(key, f"must be a column label, or a table of {', '.join(sorted(allowed))}")
        result[name] = reader.label(entry, key + ".column", optional)
        if name == "sponsor_id":
            from_name = reader.flag(entry, key + ".from_name")
    return result, from_name


@dataclass(frozen=True)
class _Reader:
    """Typed reads of the TOML document, with errors naming the file and the key."""

    path: Path
    data: dict[str, object]

    def fail(self, key: str, message: str) -> NoReturn:
        raise MappingError(f"mapping {self.path}: {key}: {message}")

    def table(self, key: str, known: set[str] | None = None) -> dict[str, object]:
        value = self.data.get(key)
        if not isinstance(value, dict):
            self.fail(key, "missing, or not a table ([" + key + "])")
        unknown = sorted(set(value) - known) if known is not None else []
        if unknown:
            self.fail(
                f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known or ()))})"
            )
        return value

    def text(self, table: dict[str, object], key: str, default: str | None = None) -> str:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, str):
            self.fail(key, "missing, or not a string")
        return value

    def flag(self, table: dict[str, object], key: str) -> bool:
        value = table.get(key.rsplit(".", 1)[-1], False)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return bool(value)

    def label(self, table: dict[str, object], key: str, optional: set[str]) -> str:
        label = self.text(table, key).strip()
        if not label:
            self.fail(key, "an empty column label")
        if self.flag(table, key.rsplit(".", 1)[0] + ".optional"):
            optional.add(label)
        return label
