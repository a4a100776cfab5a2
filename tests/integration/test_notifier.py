"""Alert delivery to sites: a real SMTP server and a real HTTP webhook on 127.0.0.1."""

from __future__ import annotations

import signal
import ssl
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from core.codec import dumps, loads
from core.settings import Settings
from setupmon.sites import load_sites, read_sites
from tests.integration.kafka_io import produce, read_all, run, wait_for, wait_until
from tests.integration.receivers import SmtpServer, Webhook
from tests.integration.scenario import keyed, milestone
from tests.integration.test_pipeline import calendar

pytestmark = pytest.mark.integration

DAY = calendar("2025-03-01", 100_000)


def registry(settings: Settings, tmp_path: Path, webhook: Webhook) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(
        "site_id,name,region,contacts\n"
        f"RGT,Cambridge University Hospitals,East of England,email:rd@rgt.nhs.example;webhook:{webhook.url('/rgt')}\n"
        "RAJ,Mid and South Essex,East of England,email:rd@raj.nhs.example\n"
    )
    run(load_sites(settings, read_sites(path)))


def notifier(start_worker, settings: Settings, smtp: SmtpServer, **env: str):
    process = start_worker(
        settings,
        DAY,
        name="notifier",
        command=("notify",),
        extra_env={
            "SETUPMON_SMTP_PORT": str(smtp.port),
            "SETUPMON_NOTIFY_BACKOFF_SECONDS": "0.2",
            **env,
        },
    )

    def ready() -> bool:
        assert process.process.poll() is None, process.log_tail()
        return "notifier ready" in process.log_tail(200)

    wait_until(ready, what="the notifier to be ready")
    return process


def alert(number: int, kind: str = "breached", site: str = "RGT") -> dict:
    return {
        "alert_id": f"CPMS-N{number}/{site}/site_open/2025-01-01/{kind}",
        "kind": kind,
        "kpi": "site_open",
        "study_id": f"CPMS-N{number}",
        "site_id": site,
        "sponsor_id": "acme",
        "start_date": "2025-01-01",
        "due_date": "2025-03-02",
        "stop_date": None,
        "elapsed_days": 65,
        "limit_days": 60,
        "as_of": "2025-03-06",
        "raised_at": "2025-03-06T09:00:00+00:00",
    }


def test_a_pipeline_breach_reaches_email_and_webhook_once_each(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    with SmtpServer() as smtp, Webhook() as webhook:
        registry(settings, tmp_path, webhook)
        start_worker(settings, DAY)
        notify = notifier(start_worker, settings, smtp)
        events = [
            milestone("CPMS-P1", "hra_approved", "2024-12-01"),
            milestone("CPMS-P1", "site_selected", "2024-12-01", site="RGT"),
        ]
        run(produce(settings, settings.topic("milestones"), keyed(events)))
        # site_open: 1 Dec + 60 = due 30 Jan; on 1 Mar 90 days have run: breached, 30 days
        # over. approval_to_first_participant: 90 of 90 days (90*4 >= 270, not over): at risk.
        wait_until(
            lambda: len(smtp.inbox.messages) >= 2 and len(webhook.requests) >= 2, what="deliveries"
        )
        time.sleep(2)
        subjects = sorted(m["Subject"] for m in smtp.inbox.messages)
        assert subjects == [
            "[setupmon] AT RISK: CPMS-P1 approval_to_first_participant at RGT",
            "[setupmon] BREACHED: CPMS-P1 site_open at RGT",
        ]
        site_open = next(m for m in smtp.inbox.messages if "site_open" in m["Subject"])
        text = site_open.get_content()
        assert "study CPMS-P1 at Cambridge University Hospitals (RGT)" in text
        assert "due 2025-01-30" in text and "30 days over" in text
        assert "record the date as site_opened" in text
        assert site_open["To"] == "rd@rgt.nhs.example"
        assert sorted(r["alerts"][0]["kpi"] for r in webhook.requests) == [
            "approval_to_first_participant",
            "site_open",
        ]
        assert all(r["_idempotency_key"] == r["delivery_id"] for r in webhook.requests)

        notify.stop(signal.SIGTERM)
        notifier(start_worker, settings, smtp)
        time.sleep(3)
        assert len(smtp.inbox.messages) == 2 and len(webhook.requests) == 2  # nothing again


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopped_mid_delivery_every_alert_reaches_each_contact_once(
    settings: Settings, start_worker, tmp_path: Path, sig: signal.Signals
) -> None:
    with SmtpServer() as smtp, Webhook(delay=0.5) as webhook:
        registry(settings, tmp_path, webhook)
        alerts = [alert(n) for n in range(12)]
        run(produce(settings, settings.topic("alerts"), [(b"RGT", dumps(a)) for a in alerts]))
        notify = notifier(start_worker, settings, smtp)
        wait_until(lambda: len(webhook.requests) >= 3, what="some deliveries")
        notify.stop(sig)  # while webhook requests are in flight
        webhook.delay = 0
        notifier(start_worker, settings, smtp)
        wait_until(
            lambda: (
                len({r["delivery_id"] for r in webhook.requests}) >= 12
                and len({m["Message-ID"] for m in smtp.inbox.messages}) >= 12
            ),
            what="every alert at both contacts",
        )
        time.sleep(2)
        hooks = Counter(r["delivery_id"] for r in webhook.requests)
        mails = Counter(m["Message-ID"] for m in smtp.inbox.messages)
        assert len(hooks) == 12 and len(mails) == 12
        if sig == signal.SIGTERM:
            # a clean stop finishes what is in flight and records it: nothing comes twice
            assert sum(hooks.values()) == 12 and sum(mails.values()) == 12
        else:
            # killed, the requests in flight are sent again, with the same ID to drop them by
            print(
                f"\nre-sent after SIGKILL: {sum(hooks.values()) - 12} webhooks, {sum(mails.values()) - 12} emails"
            )
            assert all(n <= 2 for n in hooks.values()) and all(n <= 2 for n in mails.values())


def test_failing_webhook_is_retried_then_undeliverable_with_the_reason(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    with SmtpServer() as smtp, Webhook(fail_first=2) as flaky, Webhook(always_fail=True) as broken:
        path = tmp_path / "sites.csv"
        path.write_text(
            "site_id,name,region,contacts\n"
            f"RGT,Cambridge,East of England,webhook:{flaky.url('/rgt')}\n"
            f"RAJ,Essex,East of England,webhook:{broken.url('/raj')}\n"
        )
        run(load_sites(settings, read_sites(path)))
        run(
            produce(
                settings,
                settings.topic("alerts"),
                [
                    (b"RGT", dumps(alert(1, site="RGT"))),
                    (b"RAJ", dumps(alert(2, site="RAJ"))),
                ],
            )
        )
        notifier(start_worker, settings, smtp, SETUPMON_NOTIFY_ATTEMPTS="4")
        wait_until(lambda: len(broken.requests) >= 4, what="four attempts at the broken webhook")
        undeliverable = wait_for(
            lambda: run(read_all(settings, settings.topic("alerts.undeliverable"))),
            lambda records: len(records) >= 1,
            what="the undeliverable record",
        )
        time.sleep(1)
        assert len(flaky.requests) == 3  # two 500s, then delivered
        assert len(broken.requests) == 4
        record = loads(undeliverable[0].value)
        assert record["alert"]["alert_id"] == alert(2, site="RAJ")["alert_id"]
        assert record["reason"] == "webhook answered HTTP 500" and record["attempts"] == 4


def test_digest_mode_sends_one_message_for_many_alerts(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    with SmtpServer() as smtp, Webhook() as webhook:
        registry(settings, tmp_path, webhook)
        run(
            produce(
                settings, settings.topic("alerts"), [(b"RGT", dumps(alert(n))) for n in range(5)]
            )
        )
        notifier(start_worker, settings, smtp, SETUPMON_NOTIFY_DIGEST_SECONDS="2")
        wait_until(lambda: smtp.inbox.messages and webhook.requests, what="the digest")
        time.sleep(3)
        assert len(smtp.inbox.messages) == 1 and len(webhook.requests) == 1
        assert (
            smtp.inbox.messages[0]["Subject"]
            == "[setupmon] 5 set-up alerts for Cambridge University Hospitals"
        )
        assert len(webhook.requests[0]["alerts"]) == 5


def test_a_breach_still_open_past_the_limit_is_escalated_to_the_region(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    with SmtpServer() as smtp, Webhook() as webhook:
        registry(settings, tmp_path, webhook)
        contacts = tmp_path / "regions.csv"
        contacts.write_text(
            "region,channel,address\nEast of England,email:rdn.east@nhs.example\n".replace(
                ",email:", ",email,"
            )
        )
        start_worker(settings, DAY)
        events = [
            milestone("CPMS-E1", "hra_approved", "2024-12-01"),
            milestone("CPMS-E1", "site_selected", "2024-12-01", site="RAJ"),
        ]
        run(produce(settings, settings.topic("milestones"), keyed(events)))
        notifier(
            start_worker,
            settings,
            smtp,
            SETUPMON_REGION_CONTACTS=str(contacts),
            SETUPMON_ESCALATE_AFTER_DAYS="0",
        )
        wait_until(
            lambda: any(m["To"] == "rdn.east@nhs.example" for m in smtp.inbox.messages),
            what="the escalation",
        )
        time.sleep(6)  # a second escalation check must not send again
        to_region = [m for m in smtp.inbox.messages if m["To"] == "rdn.east@nhs.example"]
        # only the breach: approval_to_first_participant is at risk (90 of 90 days), not breached
        assert [m["Subject"] for m in to_region] == [
            "[setupmon] ESCALATED: CPMS-E1 site_open at RAJ"
        ]


def test_email_goes_over_starttls_with_a_login(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    # a self-signed certificate for 127.0.0.1, trusted through SETUPMON_SMTP_CAFILE
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603
        [
            "/usr/bin/openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    with SmtpServer(tls) as smtp, Webhook() as webhook:
        registry(settings, tmp_path, webhook)
        run(produce(settings, settings.topic("alerts"), [(b"RAJ", dumps(alert(1, site="RAJ")))]))
        notifier(
            start_worker,
            settings,
            smtp,
            SETUPMON_SMTP_STARTTLS="true",
            SETUPMON_SMTP_CAFILE=str(cert),
            SETUPMON_SMTP_USERNAME="user",
            SETUPMON_SMTP_PASSWORD="secret",
        )
        wait_until(lambda: smtp.inbox.messages, what="the email over TLS")
        assert smtp.logins == ["user"]
        assert smtp.inbox.messages[0]["To"] == "rd@raj.nhs.example"
