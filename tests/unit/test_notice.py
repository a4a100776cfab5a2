"""What a site coordinator reads in an alert message."""

from __future__ import annotations

import pytest

from alerts.notice import compose, delivery_key
from rules.decide import AlertId

SITE = {"site_id": "RGT", "name": "Cambridge University Hospitals", "region": "East of England"}


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
    }


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
    notice = compose("email", "rd@rgt.nhs.example", [given], SITE)
    assert notice.subject == subject
    assert "study CPMS-1 at Cambridge University Hospitals (RGT), sponsor acme" in notice.text
    for phrase in phrases:
        assert phrase in notice.text
    assert ("again" in notice.text) == (AlertId.parse(given["alert_id"]).episode > 1)


def test_a_digest_lists_every_alert_under_one_subject() -> None:
    alerts = [alert("breached"), alert("at_risk", kpi="first_participant")]
    notice = compose("webhook", "http://127.0.0.1/x", alerts, SITE)
    assert notice.subject == "[setupmon] 2 set-up alerts for Cambridge University Hospitals"
    assert notice.text.count("study CPMS-1") == 2
    assert notice.delivery_keys == [
        delivery_key("alert", a["alert_id"], "webhook", "http://127.0.0.1/x") for a in alerts
    ]


def test_the_delivery_id_is_stable_and_differs_by_contact_and_kind() -> None:
    one = compose("email", "a@nhs.example", [alert("breached")], SITE)
    again = compose("email", "a@nhs.example", [alert("breached")], SITE)
    other = compose("email", "b@nhs.example", [alert("breached")], SITE)
    escalation = compose("email", "a@nhs.example", [alert("breached")], SITE, kind="escalation")
    assert one.delivery_id == again.delivery_id
    assert len({one.delivery_id, other.delivery_id, escalation.delivery_id}) == 3
    assert escalation.subject.startswith("[setupmon] ESCALATED:")
    assert "stayed open past the escalation limit" in escalation.text
