"""Site reference data (CONTRACT.md section 3, `setup.sites`): a site, its region, and the
contacts its alerts go to.

One set of rules for a site, whichever way it comes in: `Site.checked` (an ODS code, a
region, a name or else the code, contacts by email or webhook), used by the registry file
reader (`setupmon/sites.py`) and by `Site.from_json`, the reader of a `setup.sites` record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from events.validation import SITE_ID_PATTERN

CHANNELS = ("email", "webhook")


class Contact(NamedTuple):
    """Where a notice goes. A tuple, so it keys the notifier's per-contact queues."""

    channel: str
    address: str

    @classmethod
    def parse(cls, text: str) -> Contact:
        """`channel:address`, as the registry file writes a contact."""
        channel, _, address = text.partition(":")
        if not _valid(channel, address):
            raise ValueError(f"contact {text!r} must be email:ADDRESS or webhook:URL")
        return cls(channel, address)

    def format(self) -> str:
        return f"{self.channel}:{self.address}"

    @classmethod
    def from_json(cls, data: object) -> Contact:
        """`{"channel": "email"|"webhook", "address": ...}`, as `setup.sites` holds one."""
        channel = data.get("channel") if isinstance(data, dict) else None
        address = data.get("address") if isinstance(data, dict) else None
        if not (isinstance(channel, str) and isinstance(address, str) and _valid(channel, address)):
            raise ValueError(
                f"contact {data!r} must be {{channel: email or webhook, address: text}}"
            )
        return cls(channel, address)

    def to_json(self) -> dict[str, str]:
        return {"channel": self.channel, "address": self.address}


def _valid(channel: str, address: str) -> bool:
    return channel in CHANNELS and bool(address)


@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    region: str
    contacts: tuple[Contact, ...]

    @classmethod
    def checked(cls, site_id: str, name: str, region: str, contacts: Iterable[Contact]) -> Site:
        """A site by the registry's rules; ValueError naming the first rule broken."""
        if not SITE_ID_PATTERN.fullmatch(site_id):
            raise ValueError(f"site_id {site_id!r} is not an ODS code")
        if not region:
            raise ValueError(f"site {site_id} has no region")
        return cls(site_id, name or site_id, region, tuple(contacts))

    def to_json(self) -> dict[str, object]:
        return {
            "site_id": self.site_id,
            "name": self.name,
            "region": self.region,
            "contacts": [contact.to_json() for contact in self.contacts],
        }

    @classmethod
    def from_json(cls, data: object) -> Site:
        """A decoded `setup.sites` record; ValueError for anything that is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"a site must be a JSON object, not {type(data).__name__}")
        contacts = data.get("contacts")
        if not isinstance(contacts, list):
            raise ValueError(f"site {data.get('site_id')!r}: contacts must be a list")
        return cls.checked(
            _text(data, "site_id"),
            _text(data, "name"),
            _text(data, "region"),
            (Contact.from_json(contact) for contact in contacts),
        )


def _text(data: dict[str, object], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f"site {data.get('site_id')!r}: {name} must be a string, not {value!r}")
    return value
