"""Alerts kept with their study's state until acknowledged (streams/outbox.py)."""

from __future__ import annotations

from broker.messages import Outgoing
from broker.partitions import partition_for
from core.codec import dumps, loads
from streams.outbox import Outboxes

ALERTS = "setup.alerts"
PARTITIONS = 6
STUDY = "CPMS-1"
HOME = partition_for(STUDY.encode(), PARTITIONS)


def alert(alert_id: str, site: str = "RGT") -> Outgoing:
    return Outgoing(ALERTS, site.encode(), dumps({"alert_id": alert_id, "site_id": site}))


def ids(alerts: list[Outgoing]) -> list[str]:
    return [loads(out.value or b"{}")["alert_id"] for out in alerts]


def written_entry(outboxes: Outboxes, study: str = STUDY) -> dict:
    return loads(outboxes.entry(study, HOME, dumps({"study_id": study})))


def test_a_state_is_written_with_the_alerts_not_yet_acknowledged_and_reads_back_whole() -> None:
    outboxes = Outboxes(ALERTS, PARTITIONS)
    outboxes.add({STUDY: [alert("a/breached"), alert("b/at_risk", site="RAJ")]})
    entry = written_entry(outboxes)
    assert entry["state"] == {"study_id": STUDY} and entry["partition"] == HOME

    # a crash: another worker reads the entry back and sends the same alerts, byte for byte
    restarted = Outboxes(ALERTS, PARTITIONS)
    restarted.read(STUDY, entry)
    assert restarted.pending() == outboxes.pending()


def test_alerts_read_back_go_out_before_the_ones_decided_after() -> None:
    outboxes = Outboxes(ALERTS, PARTITIONS)
    outboxes.add({STUDY: [alert("a/breached")]})
    entry = written_entry(outboxes)
    restarted = Outboxes(ALERTS, PARTITIONS)
    restarted.read(STUDY, entry)
    restarted.add({STUDY: [alert("a/cleared")]})
    assert ids(restarted.pending()) == ["a/breached", "a/cleared"]
    assert ids(
        [Outgoing(ALERTS, b"RGT", dumps(a)) for _, a in written_entry(restarted)["outbox"]]
    ) == [
        "a/breached",
        "a/cleared",
    ]


def test_once_acknowledged_nothing_is_pending_and_a_tick_writes_the_state_clean() -> None:
    outboxes = Outboxes(ALERTS, PARTITIONS)
    outboxes.add({STUDY: [alert("a/breached")]})
    outboxes.written([STUDY])
    outboxes.acknowledged()
    assert outboxes.pending() == []
    assert "outbox" not in written_entry(outboxes)
    # its written state still holds the alert: its partition is due a tick, which rewrites it
    assert outboxes.awaiting_rewrite(HOME)
    assert not outboxes.awaiting_rewrite((HOME + 1) % PARTITIONS)
    assert outboxes.to_rewrite((HOME + 1) % PARTITIONS, []) == []
    assert outboxes.to_rewrite(HOME, []) == [STUDY]
    outboxes.written([STUDY])
    assert not outboxes.awaiting_rewrite(HOME)


def test_a_study_written_by_an_event_needs_no_rewrite() -> None:
    outboxes = Outboxes(ALERTS, PARTITIONS)
    outboxes.add({STUDY: [alert("a/breached")]})
    outboxes.acknowledged()
    assert outboxes.to_rewrite(HOME, [STUDY]) == []  # the tick's batch writes it anyway
    outboxes.written([STUDY])
    assert not outboxes.awaiting_rewrite(HOME)


def test_a_failed_batch_or_a_lost_partition_forgets_what_the_table_will_tell_again() -> None:
    outboxes = Outboxes(ALERTS, PARTITIONS)
    outboxes.add({STUDY: [alert("a/breached")]})
    outboxes.forget()
    assert outboxes.pending() == []
    outboxes.add({STUDY: [alert("a/breached")]})
    outboxes.acknowledged()
    outboxes.forget_partition(HOME)
    assert not outboxes.awaiting_rewrite(HOME)
