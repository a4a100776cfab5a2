"""Mappings: the shipped EDGE and CPMS ones, a user's own, and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.milestones import MilestoneKind
from importer.errors import MappingError
from importer.mapping import load_mapping, shipped_mappings

USER_MAPPING = """
name = "trust-x"
source = "lpms:{site_id}"
ignored = ["Notes"]
[study_id]
column = "Portfolio"
[site_id]
column = "Org"
[milestones]
"Opened" = "site_opened"
"Closed" = { milestone = "site_closed", optional = true }
"""


def test_shipped_mappings() -> None:
    assert shipped_mappings() == ["cpms", "edge"]


def test_edge_mapping_reads_the_domain_labels() -> None:
    edge = load_mapping("edge")
    assert edge.source_for("RGT") == "edge:RGT"
    assert (edge.study_id_column, edge.study_id_template) == ("NIHR Portfolio Study ID", "CPMS-{}")
    assert edge.site_id_column == "Site ODS Code"
    assert edge.milestones == {
        "Date site invited": MilestoneKind.SITE_INVITED,
        "Date site selected": MilestoneKind.SITE_SELECTED,
        "Date site confirmed": MilestoneKind.SITE_CONFIRMED,
        "Open to recruitment": MilestoneKind.SITE_OPENED,
        "First patient consented": MilestoneKind.FIRST_PARTICIPANT_CONSENTED,
        "First patient recruited": MilestoneKind.FIRST_PARTICIPANT_RECRUITED,
        "Date site closed": MilestoneKind.SITE_CLOSED,
        "Date site withdrawn": MilestoneKind.SITE_WITHDRAWN,
    }
    assert edge.optional_columns == {"Date site closed", "Date site withdrawn"}
    assert {"Date site confirmed by Sponsor", "IRAS Number"} <= edge.ignored


def test_cpms_mapping_has_study_milestones_and_attributes() -> None:
    cpms = load_mapping("cpms")
    assert cpms.site_id_column is None and cpms.source_for(None) == "cpms"
    assert set(cpms.milestones.values()) == {
        MilestoneKind.STUDY_REGISTERED,
        MilestoneKind.REGULATORY_SUBMITTED,
        MilestoneKind.REGULATORY_APPROVED,
        MilestoneKind.HRA_APPROVED,
    }
    assert cpms.attributes["sponsor_id"] == "Sponsor" and cpms.sponsor_from_name
    assert set(cpms.attributes) == {"sponsor_id", "title", "commercial", "ctimp", "atimp"}
    assert cpms.non_commercial_excluded_reason


def test_a_users_own_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "trust-x.toml"
    path.write_text(USER_MAPPING)
    mapping = load_mapping(str(path))
    assert mapping.name == "trust-x" and mapping.source_for("RGT") == "lpms:RGT"
    assert mapping.study_id_template == "{}"  # the study ID as it is
    assert mapping.optional_columns == {"Closed"}
    assert [(c.label, c.optional) for c in mapping.columns()] == [
        ("Portfolio", False),
        ("Org", False),
        ("Opened", False),
        ("Closed", True),
    ]


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        (('name = "trust-x"', 'name = "trust-x"\ncolour = 1'), "colour", "unknown key"),
        (("[milestones]", "colour = 1\n[milestones]"), "site_id.colour", "unknown key"),
        (
            ('"Opened" = "site_opened"', '"Opened" = "site_open"'),
            "milestones.'Opened'",
            "not a contract milestone",
        ),
        (
            ('"Opened" = "site_opened"', '"Opened" = "site_closed"'),
            "milestones.'Closed'",
            "already mapped",
        ),
        (
            ('"Opened" = "site_opened"', '"Opened" = 3'),
            "milestones.'Opened'",
            "must be a milestone name",
        ),
        (
            ('column = "Portfolio"', 'column = "Portfolio"\ntemplate = "CPMS-"'),
            "study_id.template",
            "must hold '{}' once",
        ),
        (('column = "Portfolio"', ""), "study_id.column", "missing, or not a string"),
        (('[site_id]\ncolumn = "Org"', ""), "site_id", "site milestones need"),
        (
            ('source = "lpms:{site_id}"', 'source = "lpms:{site}"'),
            "source",
            "the only placeholder allowed is {site_id}",
        ),
        (("optional = true", 'optional = "yes"'), "milestones.'Closed'.optional", "true or false"),
        (('ignored = ["Notes"]', 'ignored = "Notes"'), "ignored", "list of column labels"),
        (('ignored = ["Notes"]', 'ignored = ["Notes"]\nblank = "N/A"'), "blank", "list of texts"),
        (
            ("[milestones]", '[attributes]\ntitle = "T"\n[milestones]'),
            "attributes",
            "belong to study_registered",
        ),
    ],
)
def test_load_errors_name_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], key: str, says: str
) -> None:
    path = tmp_path / "mine.toml"
    assert change[0] in USER_MAPPING
    path.write_text(USER_MAPPING.replace(change[0], change[1], 1))
    with pytest.raises(MappingError) as caught:
        load_mapping(str(path))
    message = str(caught.value)
    assert str(path) in message and f": {key}: " in message and says in message


def test_registration_needs_a_sponsor_column(tmp_path: Path) -> None:
    path = tmp_path / "reg.toml"
    path.write_text(
        'source = "x"\n[study_id]\ncolumn = "S"\n[milestones]\n"Added" = "study_registered"\n'
    )
    with pytest.raises(MappingError, match=r"attributes\.sponsor_id: study_registered needs"):
        load_mapping(str(path))


def test_unknown_attribute_and_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "attr.toml"
    path.write_text(
        'source = "x"\n[study_id]\ncolumn = "S"\n[milestones]\n"A" = "study_registered"\n'
        '[attributes]\nsponsor_id = "Sp"\ncolour = "C"\n'
    )
    with pytest.raises(MappingError, match=r"attributes\.colour: not a study_registered attribute"):
        load_mapping(str(path))
    path.write_text("source = \n")
    with pytest.raises(MappingError, match=r"attr.toml: not valid TOML"):
        load_mapping(str(path))


def test_an_unknown_name_lists_the_shipped_mappings() -> None:
    with pytest.raises(
        MappingError, match=r"'edgy': no such file \(shipped mappings: cpms, edge\)"
    ):
        load_mapping("edgy")
