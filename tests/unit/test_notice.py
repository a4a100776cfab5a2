"""What a site coordinator reads in an alert message."""

from __future__ import annotations

import pytest

from alerts.ledger import DeliveryKey, NoticeKind
from alerts.notice import ACTION, WHAT, compose
from events.sites import Contact, Site
from kpi.clocks import Kpi
from rules.decide import AlertId
from rules.record import AlertRecord

SITE = Site("RGT", "Cambridge University Hospitals", "East of England", ())


def alert(
    kind: str, *, stop: str | None = None, as_of: str = "2025-03-06", kpi: str = "site_open"
) -> dict:
    return {
        "alert_id": f"CPMS-1/RGT/{kpi}/2025-01-01/{kind}",
        "kind": kind,
        "kpi": kpi,
        "study_id": "CPMS-1",
        "site_id": "RGT",
        "sponsor_id": "acme",
        "start_date": "2025-01-01",
        "due_date": "2025-03-02",
        "stop_date": stop,
        "elapsed_days": 64,
        "limit_days": 60,
        "as_of": as_of,
        "raised_at": f"{as_of}T09:00:00+00:00",
    }


def record(message: dict) -> AlertRecord:
    return AlertRecord.from_json(message)


ROWS = [
    # due 2 Mar; as of 6 Mar that is 4 days over
    (
        "breached, still open",
        alert("breached"),
        "[setupmon] BREACHED: CPMS-1 site_open at RGT",
        ["4 days over", "record the date as site_opened", "due 2025-03-02"],
    ),
    # stopped 10 Mar: 10 Mar - 2 Mar = 8 days over the limit
    (
        "breached, stopped late",
        alert("breached", stop="2025-03-10", as_of="2025-03-12"),
        "[setupmon] BREACHED: CPMS-1 site_open at RGT",
        ["It stopped 2025-03-10, 8 days over", "correct it"],
    ),
    # as of 20 Feb, 2 Mar is 10 days away
    (
        "at risk",
        alert("at_risk", as_of="2025-02-20"),
        "[setupmon] AT RISK: CPMS-1 site_open at RGT",
        ["10 days are left", "record the date as site_opened"],
    ),
    (
        "cleared",
        alert("cleared"),
        "[setupmon] CLEARED: CPMS-1 site_open at RGT",
        ["No action is needed"],
    ),
    (
        "breached again, in a second episode",
        {**alert("breached"), "alert_id": "CPMS-1/RGT/site_open/2025-01-01/breached/2"},
        "[setupmon] BREACHED: CPMS-1 site_open at RGT",
        ["It is breached again: an earlier alert about this clock was cleared.", "4 days over"],
    ),
    (
        "at risk again, in a third episode",
        {**alert("at_risk", as_of="2025-02-20"), "alert_id": "CPMS-1/RGT/site_open/2025-01-01/at_risk/3"},
        "[setupmon] AT RISK: CPMS-1 site_open at RGT",
        ["It is at risk again", "10 days are left"],
    ),
    (
        "first participant",
        alert("breached", kpi="first_participant"),
        "[setupmon] BREACHED: CPMS-1 first_participant at RGT",
        ["record the date as first_participant_recruited"],
    ),
]


@pytest.mark.parametrize(
    ("given", "subject", "phrases"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_the_message_says_what_to_act_on(given: dict, subject: str, phrases: list[str]) -> None:
    notice = compose(Contact("email", "rd@rgt.nhs.example"), [record(given)], SITE)
    assert notice.subject == subject
    assert "study CPMS-1 at Cambridge University Hospitals (RGT), sponsor acme" in notice.text
    for phrase in phrases:
        assert phrase in notice.text
    assert ("again" in notice.text) == (AlertId.parse(given["alert_id"]).episode > 1)


def test_a_digest_lists_every_alert_under_one_subject() -> None:
    alerts = [alert("breached"), alert("at_risk", kpi="first_participant")]
    hook = Contact("webhook", "http://127.0.0.1/x")
    notice = compose(hook, [record(a) for a in alerts], SITE)
    assert notice.subject == "[setupmon] 2 set-up alerts for Cambridge University Hospitals"
    assert notice.text.count("study CPMS-1") == 2
    assert notice.delivery_keys == [
        DeliveryKey(NoticeKind.ALERT, AlertId.parse(a["alert_id"]), hook) for a in alerts
    ]


def test_the_delivery_id_is_stable_and_differs_by_contact_and_kind() -> None:
    a, b = Contact("email", "a@nhs.example"), Contact("email", "b@nhs.example")
    breach = [record(alert("breached"))]
    one = compose(a, breach, SITE)
    again = compose(a, [record(alert("breached"))], SITE)
    other = compose(b, breach, SITE)
    escalation = compose(a, breach, SITE, kind=NoticeKind.ESCALATION)
    assert one.delivery_id == again.delivery_id
    assert len({one.delivery_id, other.delivery_id, escalation.delivery_id}) == 3
    assert escalation.subject.startswith("[setupmon] ESCALATED:")
    assert "stayed open past the escalation limit" in escalation.text


def test_the_delivery_id_is_the_hash_of_the_ledger_keys_as_ledgers_hold_them() -> None:
    # the ID receivers drop repeats by: unchanged by the typed keys
    notice = compose(Contact("email", "a@nhs.example"), [record(alert("breached"))], SITE)
    assert notice.delivery_id == "6266e81b0679b65550d03fdfe9fa16d6"


def test_without_a_registry_record_the_site_is_named_by_its_code() -> None:
    notice = compose(Contact("email", "a@nhs.example"), [record(alert("breached"))], None)
    assert "study CPMS-1 at RGT (RGT), sponsor acme." in notice.text


@pytest.mark.parametrize("kpi", list(Kpi))
def test_every_kpi_has_words_for_what_it_is_and_what_to_do(kpi: Kpi) -> None:
    assert WHAT[kpi] and ACTION[kpi]
