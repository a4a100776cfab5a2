"""What a site coordinator reads: one alert, or a digest of several, for one contact.

Pure: alert dicts (the `setup.alerts` messages) and the site record in, subject and text out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from rules.decide import AlertId

# What to record to stop each clock, in the words of a trust's local portfolio system.
ACTION = {
    "site_open": "open the study to recruitment and record the date as site_opened",
    "first_participant": "recruit the first participant and record the date as first_participant_recruited",
    "approval_to_first_participant": "recruit the first participant and record the date as first_participant_recruited",
    "combined_review": "record the combined review approval as regulatory_approved",
    "study_setup": "record the first participant recruited at any site",
}
WHAT = {
    "site_open": "opening to recruitment",
    "first_participant": "first participant after opening",
    "approval_to_first_participant": "first participant after HRA approval",
    "combined_review": "combined regulatory review",
    "study_setup": "study set-up",
}
HEADLINE = {
    "at_risk": "AT RISK",
    "breached": "BREACHED",
    "cleared": "CLEARED",
    "escalated": "ESCALATED",
}


@dataclass(frozen=True, slots=True)
class Notice:
    channel: str
    address: str
    alerts: tuple[dict[str, object], ...]
    subject: str
    text: str
    kind: str = "alert"  # or "escalation"

    @property
    def delivery_keys(self) -> list[str]:
        """One ledger key per alert and contact: what must reach this contact once."""
        return [
            delivery_key(self.kind, str(a["alert_id"]), self.channel, self.address)
            for a in self.alerts
        ]

    @property
    def delivery_id(self) -> str:
        """Stable across retries and restarts: receivers can de-duplicate on it."""
        joined = "\n".join(sorted(self.delivery_keys)).encode()
        return hashlib.sha256(joined).hexdigest()[:32]


def delivery_key(kind: str, alert_id: str, channel: str, address: str) -> str:
    return f"{kind}|{alert_id}|{channel}|{address}"


def describe(alert: dict[str, object], site_name: str) -> str:
    """A paragraph about one alert: the study, the milestone, its due date, days over, action."""
    kpi = str(alert["kpi"])
    kind = str(alert["kind"])
    due = date.fromisoformat(str(alert["due_date"]))
    as_of = date.fromisoformat(str(alert["as_of"]))
    where = f"{site_name} ({alert['site_id']})" if alert.get("site_id") else "the study"
    lines = [
        f"{HEADLINE.get(kind, kind.upper())}: {WHAT.get(kpi, kpi)} for study {alert['study_id']}"
        f" at {where}, sponsor {alert.get('sponsor_id') or 'unknown'}.",
        f"The {alert['limit_days']}-day clock started {alert['start_date']} and is due {due}.",
    ]
    if kind != "cleared" and AlertId.parse(str(alert["alert_id"])).episode > 1:
        again = "breached" if kind == "breached" else "at risk"
        lines.append(f"It is {again} again: an earlier alert about this clock was cleared.")
    if kind == "cleared":
        lines.append("No action is needed: corrected data shows this clock is no longer overdue.")
    elif kind == "at_risk":
        lines.append(
            f"{(due - as_of).days} days are left. To do: {ACTION.get(kpi, 'record the milestone')}."
        )
    else:
        stop = alert.get("stop_date")
        if stop:
            days_over = date.fromisoformat(str(stop)).toordinal() - due.toordinal()
            lines.append(
                f"It stopped {stop}, {days_over} days over the limit. If that date is wrong, correct it."
            )
        else:
            lines.append(
                f"{(as_of - due).days} days over. To do: {ACTION.get(kpi, 'record the milestone')}."
            )
            lines.append("If it already happened, record it with the day it happened.")
    return "\n".join(lines)


def compose(
    channel: str,
    address: str,
    alerts: list[dict[str, object]],
    site: dict[str, object] | None,
    *,
    kind: str = "alert",
) -> Notice:
    site_name = str((site or {}).get("name") or (alerts[0].get("site_id") or ""))
    if len(alerts) == 1:
        alert = alerts[0]
        headline = "ESCALATED" if kind == "escalation" else HEADLINE.get(str(alert["kind"]), "")
        subject = f"[setupmon] {headline}: {alert['study_id']} {alert['kpi']} at {alert.get('site_id') or '-'}"
    else:
        subject = f"[setupmon] {len(alerts)} set-up alerts for {site_name}"
    intro = (
        "This breach has stayed open past the escalation limit; the site has been told.\n\n"
        if kind == "escalation"
        else ""
    )
    text = intro + "\n\n".join(describe(alert, site_name) for alert in alerts) + "\n\n-- setupmon\n"
    return Notice(channel, address, tuple(alerts), subject, text, kind)
