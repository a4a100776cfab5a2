"""The site type (events/sites.py): one set of rules for a site, whether it comes from the
registry file or from a `setup.sites` record, and `to_json`/`from_json` for the topic."""

from __future__ import annotations

import pytest

from events.sites import Contact, Site

CUH = Site(
    "RGT",
    "Cambridge University Hospitals",
    "East of England",
    (Contact("email", "rd@cuh.example"), Contact("webhook", "https://hooks.example/a:b")),
)


def test_a_site_reads_back_from_its_record() -> None:
    assert Site.from_json(CUH.to_json()) == CUH
    assert Site.from_json({**CUH.to_json(), "contacts": []}).contacts == ()


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("email:rd@cuh.example", Contact("email", "rd@cuh.example")),
        ("webhook:https://h.example:8443/x", Contact("webhook", "https://h.example:8443/x")),
    ],
)
def test_contacts_format_and_parse(text: str, contact: Contact) -> None:
    assert Contact.parse(text) == contact
    assert contact.format() == text
    assert Contact.from_json(contact.to_json()) == contact


@pytest.mark.parametrize("text", ["sms:0770", "email", "email:", "Email:a@b", ":a@b"])
def test_anything_else_is_not_a_contact(text: str) -> None:
    with pytest.raises(ValueError, match="must be email:ADDRESS or webhook:URL"):
        Contact.parse(text)


def test_an_empty_name_is_the_site_code_as_in_the_file() -> None:
    assert Site.checked("RGT", "", "London", ()).name == "RGT"
    assert Site.from_json({**CUH.to_json(), "name": ""}).name == "RGT"


BAD_RECORDS = [
    pytest.param("RGT", "JSON object", id="not-an-object"),
    pytest.param({**CUH.to_json(), "site_id": "rgt"}, "not an ODS code", id="lower-case-ods"),
    pytest.param({**CUH.to_json(), "region": ""}, "has no region", id="empty-region"),
    pytest.param({**CUH.to_json(), "region": None}, "region must be a string", id="null-region"),
    pytest.param({k: v for k, v in CUH.to_json().items() if k != "name"}, "name", id="no-name"),
    pytest.param({**CUH.to_json(), "contacts": None}, "contacts must be a list", id="no-contacts"),
    pytest.param(
        {**CUH.to_json(), "contacts": [{"channel": "sms", "address": "0770"}]},
        "contact",
        id="sms-contact",
    ),
    pytest.param(
        {**CUH.to_json(), "contacts": ["email:a@b"]}, "contact", id="contact-not-an-object"
    ),
]


@pytest.mark.parametrize(("record", "mention"), BAD_RECORDS)
def test_a_record_breaking_the_rules_is_refused(record: object, mention: str) -> None:
    with pytest.raises(ValueError, match=mention):
        Site.from_json(record)
