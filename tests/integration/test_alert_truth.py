"""Alerts that tell the truth (CONTRACT.md section 3, v1.2) on the real broker.

Histories of many studies from several years, read in an order that is not globally by
`recorded_at`, must raise only alerts their own studies' events support, and each clock's last
alert must agree with its state once the day's re-evaluation has run. A clock breached again
after a clearance is announced again, under the next episode's ID, and delivered again.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.codec import dumps, loads
from core.settings import Settings
from tests.alert_truth import repeated_ids, untrue_days, untrue_last_words
from tests.histories import decoded, interleave, last_recorded_day, study_histories
from tests.integration.kafka_io import produce, read_all, run, wait_until
from tests.integration.receivers import SmtpServer, Webhook
from tests.integration.scenario import milestone
from tests.integration.test_notifier import notifier, registry
from tests.integration.test_pipeline import alerts_of, calendar, latest_by_key

pytestmark = pytest.mark.integration


def statuses_as_of(settings: Settings) -> dict[str, date]:
    records = run(read_all(settings, settings.topic("study-status")))
    return {
        key.decode(): date.fromisoformat(loads(value)["as_of"])
        for key, value in latest_by_key(records).items()
        if value is not None
    }


def test_shuffled_histories_of_many_studies_raise_only_true_alerts(
    settings: Settings, start_worker
) -> None:
    histories = study_histories(2026, studies=36, first_day=date(2022, 1, 1), span_days=3 * 365)
    feed = interleave(histories, random.Random(11))
    today = last_recorded_day(histories) + timedelta(days=1)
    # the whole backlog is in the topic before the worker starts, as after an outage
    messages = [(e["study_id"].encode(), dumps(e)) for e in feed]
    run(produce(settings, settings.topic("milestones"), messages))

    start_worker(settings, calendar(today.isoformat(), 3.0))  # a UK day every 3 s
    wait_until(
        lambda: all(day >= today for day in _days_of(settings, histories)),
        timeout=120,
        what="every study's status as of the first day tick",
    )
    as_of = statuses_as_of(settings)
    time.sleep(1.0)  # the tick's alerts are acknowledged before its states are written
    alerts = alerts_of(settings)

    events = {study: decoded(history) for study, history in histories.items()}
    assert len(alerts) > 100  # histories that alert a lot: most sites miss the limits
    assert untrue_days(events, alerts) == []
    assert untrue_last_words(events, alerts, as_of) == []
    assert repeated_ids(alerts) == []


def _days_of(settings: Settings, histories: dict) -> list[date]:
    as_of = statuses_as_of(settings)
    return [as_of.get(study, date.min) for study in histories]


def test_a_clock_breached_again_after_a_clearance_is_announced_and_delivered_again(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    clock = "CPMS-RB/RGT/first_participant/2025-01-20"
    with SmtpServer() as smtp, Webhook() as webhook:
        registry(settings, tmp_path, webhook)
        start_worker(settings, calendar("2025-03-01", 100_000))  # 1 March 2025 all along
        notify = notifier(start_worker, settings, smtp)

        def send(event: dict) -> None:
            run(produce(settings, settings.topic("milestones"), [(b"CPMS-RB", dumps(event))]))

        def ids_delivered() -> list[str]:
            return [r["alerts"][0]["alert_id"] for r in webhook.requests]

        # opened 20 Jan: on 1 Mar first_participant is on day 40 of 30, breached
        send(milestone("CPMS-RB", "site_opened", "2025-01-20", site="RGT"))
        wait_until(lambda: len(webhook.requests) >= 1, what="the breach delivered")
        # recruited 10 Feb (day 21): met, the breach is cleared
        recruited = milestone(
            "CPMS-RB", "first_participant_recruited", "2025-02-10", site="RGT",
            recorded="2025-03-01",
        )  # fmt: skip
        send(recruited)
        wait_until(lambda: len(webhook.requests) >= 2, what="the clearance delivered")
        # the recruitment was recorded in error: breached again, a second episode
        send({**recruited, "event_id": "retraction", "retract": True,
              "recorded_at": "2025-03-01T13:00:00+00:00"})  # fmt: skip
        wait_until(lambda: len(webhook.requests) >= 3, what="the second breach delivered")

        ids = [loads(r.value)["alert_id"] for r in run(read_all(settings, settings.topic("alerts")))]
        assert [i for i in ids if i.startswith(clock)] == [
            f"{clock}/breached",
            f"{clock}/cleared",
            f"{clock}/breached/2",
        ]
        assert ids_delivered() == [f"{clock}/breached", f"{clock}/cleared", f"{clock}/breached/2"]
        breaches = [m for m in smtp.inbox.messages if "BREACHED" in m["Subject"]]
        assert ["breached again" in m.get_content() for m in breaches] == [False, True]

        # a restarted notifier delivers none of them again
        notify.stop()
        notifier(start_worker, settings, smtp)
        time.sleep(3)
        assert len(webhook.requests) == 3
        assert len(smtp.inbox.messages) == 3
