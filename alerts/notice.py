"""What a site coordinator reads: one alert, or a digest of several, for one contact.

Pure: alert records (the `setup.alerts` messages, typed) and the site in, subject and text out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.ledger import DeliveryKey, NoticeKind
from events.sites import Contact, Site
from kpi.clocks import Kpi
from rules.ids import AlertKind
from rules.record import AlertRecord

# What to record to stop each clock, in the words of a trust's local portfolio system.
ACTION = {
    Kpi.SITE_OPEN: "open the study to recruitment and record the date as site_opened",
    Kpi.FIRST_PARTICIPANT: "recruit the first participant and record the date as first_participant_recruited",
    Kpi.APPROVAL_TO_FIRST_PARTICIPANT: "recruit the first participant and record the date as first_participant_recruited",
    Kpi.COMBINED_REVIEW: "record the combined review approval as regulatory_approved",
    Kpi.STUDY_SETUP: "record the first participant recruited at any site",
}
WHAT = {
    Kpi.SITE_OPEN: "opening to recruitment",
    Kpi.FIRST_PARTICIPANT: "first participant after opening",
    Kpi.APPROVAL_TO_FIRST_PARTICIPANT: "first participant after HRA approval",
    Kpi.COMBINED_REVIEW: "combined regulatory review",
    Kpi.STUDY_SETUP: "study set-up",
}
HEADLINE = {
    AlertKind.AT_RISK: "AT RISK",
    AlertKind.BREACHED: "BREACHED",
    AlertKind.CLEARED: "CLEARED",
}
ESCALATED = "ESCALATED"


@dataclass(frozen=True, slots=True)
class Notice:
    contact: Contact
    alerts: tuple[AlertRecord, ...]
    subject: str
    text: str
    kind: NoticeKind = NoticeKind.ALERT

    @property
    def delivery_keys(self) -> list[DeliveryKey]:
        """One ledger key per alert: what must reach this contact once."""
        return [DeliveryKey(self.kind, alert.id, self.contact) for alert in self.alerts]

    @property
    def delivery_id(self) -> str:
        """Stable across retries and restarts: receivers can de-duplicate on it."""
        joined = "\n".join(sorted(key.format() for key in self.delivery_keys)).encode()
        return hashlib.sha256(joined).hexdigest()[:32]


def describe(alert: AlertRecord, site_name: str) -> str:
    """A paragraph about one alert: the study, the milestone, its due date, days over, action."""
    kpi, kind, due, as_of = alert.kpi, alert.kind, alert.due_date, alert.as_of
    where = f"{site_name} ({alert.site_id})" if alert.site_id else "the study"
    lines = [
        f"{HEADLINE[kind]}: {WHAT[kpi]} for study {alert.study_id}"
        f" at {where}, sponsor {alert.sponsor_id or 'unknown'}.",
        f"The {alert.limit_days}-day clock started {alert.start_date} and is due {due}.",
    ]
    if kind is not AlertKind.CLEARED and alert.id.episode > 1:
        again = "breached" if kind is AlertKind.BREACHED else "at risk"
        lines.append(f"It is {again} again: an earlier alert about this clock was cleared.")
    if kind is AlertKind.CLEARED:
        lines.append("No action is needed: corrected data shows this clock is no longer overdue.")
    elif kind is AlertKind.AT_RISK:
        lines.append(f"{(due - as_of).days} days are left. To do: {ACTION[kpi]}.")
    elif alert.stop_date is not None:
        days_over = (alert.stop_date - due).days
        lines.append(
            f"It stopped {alert.stop_date}, {days_over} days over the limit."
            " If that date is wrong, correct it."
        )
    else:
        lines.append(f"{(as_of - due).days} days over. To do: {ACTION[kpi]}.")
        lines.append("If it already happened, record it with the day it happened.")
    return "\n".join(lines)


def compose(
    contact: Contact,
    alerts: Sequence[AlertRecord],
    site: Site | None,
    *,
    kind: NoticeKind = NoticeKind.ALERT,
) -> Notice:
    site_name = (site.name if site else "") or alerts[0].site_id or ""
    if len(alerts) == 1:
        alert = alerts[0]
        headline = ESCALATED if kind is NoticeKind.ESCALATION else HEADLINE[alert.kind]
        subject = f"[setupmon] {headline}: {alert.study_id} {alert.kpi} at {alert.site_id or '-'}"
    else:
        subject = f"[setupmon] {len(alerts)} set-up alerts for {site_name}"
    intro = (
        "This breach has stayed open past the escalation limit; the site has been told.\n\n"
        if kind is NoticeKind.ESCALATION
        else ""
    )
    text = intro + "\n\n".join(describe(alert, site_name) for alert in alerts) + "\n\n-- setupmon\n"
    return Notice(contact, tuple(alerts), subject, text, kind)
