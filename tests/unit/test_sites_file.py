"""The site registry file (setupmon/sites.py `read_sites`): CSV in, Site records out.

A file with any bad row is refused whole, with every problem and its line number listed
(line 1 is the header).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputError
from events.sites import Contact, Site
from setupmon.sites import read_sites

HEADER = "site_id,name,region,contacts\n"
GOOD_ROW = "RGT,Cambridge University Hospitals,East of England,email:research@cuh.example\n"
SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sites" / "sample-sites.csv"
NHS_ENGLAND_REGIONS = {
    "East of England",
    "London",
    "Midlands",
    "North East and Yorkshire",
    "North West",
    "South East",
    "South West",
}


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(text, encoding=encoding)
    return path


VALID = [
    pytest.param(
        GOOD_ROW,
        Site(
            "RGT",
            "Cambridge University Hospitals",
            "East of England",
            (("email", "research@cuh.example"),),
        ),
        id="one-email",
    ),
    pytest.param(
        "RF7,Barts,London,email:r@barts.example;webhook:https://hooks.example/sites/RF7\n",
        Site(
            "RF7",
            "Barts",
            "London",
            (("email", "r@barts.example"), ("webhook", "https://hooks.example/sites/RF7")),
        ),
        id="email-and-webhook-url-with-colons",
    ),
    pytest.param(
        "RHE,Newcastle,North East and Yorkshire,\n",
        Site("RHE", "Newcastle", "North East and Yorkshire", ()),
        id="no-contacts",
    ),
    pytest.param(
        "RHE,,North East and Yorkshire,\n",
        Site("RHE", "RHE", "North East and Yorkshire", ()),
        id="no-name-uses-code",
    ),
    pytest.param(
        '" RHE ", Newcastle ,"  North West ", email:a@b.example ; ;webhook:http://h/x \n',
        Site(
            "RHE", "Newcastle", "North West", (("email", "a@b.example"), ("webhook", "http://h/x"))
        ),
        id="spaces-and-empty-contact-trimmed",
    ),
    pytest.param(
        '"R1H","Barts, The Royal London",London,""\n',
        Site("R1H", "Barts, The Royal London", "London", ()),
        id="quoted-comma-in-name",
    ),
]


@pytest.mark.parametrize(("row", "expected"), VALID)
def test_a_valid_row_becomes_a_site(tmp_path: Path, row: str, expected: Site) -> None:
    assert read_sites(write(tmp_path, HEADER + row)) == [expected]


def test_every_row_is_read_in_order(tmp_path: Path) -> None:
    rows = GOOD_ROW + "RF7,Barts,London,\n" + "RHE,Newcastle,North East and Yorkshire,\n"
    sites = read_sites(write(tmp_path, HEADER + rows))
    assert [(s.site_id, s.region) for s in sites] == [
        ("RGT", "East of England"),
        ("RF7", "London"),
        ("RHE", "North East and Yorkshire"),
    ]


def test_a_site_record_is_the_contracts_shape() -> None:
    site = Site(
        "RGT",
        "CUH",
        "East of England",
        (Contact("email", "a@b.example"), Contact("webhook", "http://h")),
    )
    assert site.to_json() == {
        "site_id": "RGT",
        "name": "CUH",
        "region": "East of England",
        "contacts": [
            {"channel": "email", "address": "a@b.example"},
            {"channel": "webhook", "address": "http://h"},
        ],
    }


# Each bad row sits on line 3, after a good row on line 2.
INVALID_ROWS = [
    pytest.param("rgt,Lower case,London,\n", ["line 3", "'rgt'"], id="lower-case-ods"),
    pytest.param("R-GT,Dash,London,\n", ["line 3", "'R-GT'"], id="ods-with-dash"),
    pytest.param("RG,Too short,London,\n", ["line 3", "'RG'"], id="ods-too-short"),
    pytest.param("ABCDEFGHIJK,Too long,London,\n", ["line 3", "ABCDEFGHIJK"], id="ods-too-long"),
    pytest.param(",No code,London,\n", ["line 3", "ODS"], id="ods-missing"),
    pytest.param("RF7,Barts,,\n", ["line 3", "RF7", "region"], id="region-missing"),
    pytest.param("RF7,Barts,   ,\n", ["line 3", "RF7", "region"], id="region-blank"),
    pytest.param("RF7,Barts\n", ["line 3", "region"], id="short-row"),
    pytest.param(
        "RF7,Barts,London,sms:07700900000\n", ["line 3", "sms:07700900000"], id="sms-channel"
    ),
    pytest.param("RF7,Barts,London,email\n", ["line 3", "'email'"], id="contact-no-address"),
    pytest.param("RF7,Barts,London,email:\n", ["line 3", "'email:'"], id="contact-empty-address"),
    pytest.param(
        "RF7,Barts,London,Email:a@b.example\n", ["line 3", "Email:a@b.example"], id="channel-case"
    ),
    pytest.param("RGT,Again,London,\n", ["line 3", "RGT", "twice"], id="duplicate-site"),
]


@pytest.mark.parametrize(("bad_row", "mentions"), INVALID_ROWS)
def test_a_bad_row_refuses_the_whole_file(
    tmp_path: Path, bad_row: str, mentions: list[str]
) -> None:
    path = write(tmp_path, HEADER + GOOD_ROW + bad_row)
    with pytest.raises(InputError) as raised:
        read_sites(path)
    message = str(raised.value)
    for mention in mentions:
        assert mention in message
    assert "line 2" not in message  # the good row is not blamed


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    rows = [
        GOOD_ROW,  # line 2
        "rgt,Lower,London,\n",  # line 3: bad ODS code
        "RF7,Barts,,\n",  # line 4: no region
        "RHE,Newcastle,North West,sms:0770\n",  # line 5: bad channel
        "RGT,Again,London,\n",  # line 6: duplicate of line 2
        "RAJ,Southend,East of England,\n",  # line 7: fine
    ]
    with pytest.raises(InputError) as raised:
        read_sites(write(tmp_path, HEADER + "".join(rows)))
    lines = [line.strip() for line in str(raised.value).splitlines()]
    problems = [line.split(":", 1)[0] for line in lines if line.startswith("line ")]
    assert problems == ["line 3", "line 4", "line 5", "line 6"]


BAD_FILES = [
    pytest.param("site,name,region,contacts\n" + GOOD_ROW, "columns", id="renamed-column"),
    pytest.param("site_id,region,name,contacts\n" + GOOD_ROW, "columns", id="columns-reordered"),
    pytest.param("site_id,name,region\nRGT,CUH,London\n", "columns", id="missing-column"),
    pytest.param(
        "site_id,name,region,contacts,notes\n" + GOOD_ROW.strip() + ",x\n",
        "columns",
        id="extra-column",
    ),
    pytest.param(GOOD_ROW + "RF7,Barts,London,\n", "columns", id="no-header"),
    pytest.param(HEADER, "no sites", id="header-only"),
    pytest.param("", "no sites", id="empty-file"),
]


@pytest.mark.parametrize(("text", "mention"), BAD_FILES)
def test_a_file_of_the_wrong_shape_is_refused(tmp_path: Path, text: str, mention: str) -> None:
    with pytest.raises(InputError, match=mention):
        read_sites(write(tmp_path, text))


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_sites(tmp_path / "absent.csv")


def test_a_file_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(HEADER.encode() + b"RGT,H\xf4pital,London,\n")
    with pytest.raises(InputError, match="UTF-8"):
        read_sites(path)


def test_the_shipped_sample_has_200_sites_over_the_seven_nhs_england_regions() -> None:
    sites = read_sites(SAMPLE)
    assert len(sites) == 200
    assert len({site.site_id for site in sites}) == 200
    assert {site.region for site in sites} == NHS_ENGLAND_REGIONS
    assert all(site.contacts for site in sites)
