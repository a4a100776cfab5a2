"""Topic names (broker/topics.py) and the clients' TLS context (broker/client.py)."""

from __future__ import annotations

import ssl
from dataclasses import replace

import pytest

from broker.client import _raise_refusals, ssl_context
from broker.topics import TopicNames
from core.errors import SetupmonError
from core.settings import Settings

TOPICS = TopicNames("setup", 6)


@pytest.mark.parametrize("sponsor", ["acme", "bio-pharma", "a.b"])
def test_a_sponsor_status_topic_names_its_sponsor(sponsor: str) -> None:
    assert TOPICS.sponsor_of(TOPICS.sponsor_status(sponsor)) == sponsor


@pytest.mark.parametrize(
    "topic",
    [
        "setup.study-status",
        "setup.sponsor..study-status",
        "other.sponsor.acme.study-status",
        "setup.sponsor.acme.site-kpis",
        "setup.alerts",
    ],
)
def test_other_topics_name_no_sponsor(topic: str) -> None:
    assert TOPICS.sponsor_of(topic) is None


def test_plaintext_has_no_tls_and_ssl_verifies_the_broker() -> None:
    base = Settings.from_env()
    assert ssl_context(replace(base, security_protocol="PLAINTEXT")) is None
    context = ssl_context(replace(base, security_protocol="SASL_SSL", ssl_cafile=""))
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_a_topic_the_broker_refuses_to_create_is_an_error_naming_it() -> None:
    _raise_refusals([("setup.imports", 36, None), ("setup.alerts", 0, None)])  # exists, made
    with pytest.raises(SetupmonError, match=r"setup\.imports: TopicAuthorizationFailedError"):
        _raise_refusals([("setup.imports", 29, "Authorization failed."), ("setup.alerts", 0, None)])
