"""The site registry file (CSV) and `setupmon sites load`.

Columns: `site_id,name,region,contacts`, where contacts are `channel:address` pairs separated
by `;`, with channel `email` or `webhook`. A file with any bad row is refused whole, with
every problem listed, so the registry never holds half a file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer

from broker.client import client_options, ensure_topics
from broker.topics import TopicNames
from core.codec import dumps
from core.errors import InputError
from core.settings import Settings
from events.validation import SITE_ID_PATTERN

COLUMNS = ("site_id", "name", "region", "contacts")
CHANNELS = ("email", "webhook")


@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    region: str
    contacts: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "site_id": self.site_id,
            "name": self.name,
            "region": self.region,
            "contacts": [{"channel": c, "address": a} for c, a in self.contacts],
        }

    def record(self) -> tuple[bytes, bytes]:
        """Key and value on `setup.sites`."""
        return self.site_id.encode(), dumps(self.to_json())


def read_sites(path: Path) -> list[Site]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            rows = list(reader)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8: {exc}") from exc
    if header and header != COLUMNS:
        raise InputError(f"{path}: columns must be {','.join(COLUMNS)}, got {','.join(header)}")
    sites: list[Site] = []
    problems: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            site = _parse_row(row)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if site.site_id in seen:
            problems.append(f"line {line}: site {site.site_id} appears twice")
        seen.add(site.site_id)
        sites.append(site)
    if problems:
        raise InputError(f"{path} was not loaded:\n  " + "\n  ".join(problems))
    if not sites:
        raise InputError(f"{path} holds no sites")
    return sites


def _parse_row(row: dict[str, str | None]) -> Site:
    site_id = (row.get("site_id") or "").strip()
    if not SITE_ID_PATTERN.fullmatch(site_id):
        raise ValueError(f"site_id {site_id!r} is not an ODS code")
    name = (row.get("name") or "").strip()
    region = (row.get("region") or "").strip()
    if not region:
        raise ValueError(f"site {site_id} has no region")
    contacts = []
    for item in filter(None, (part.strip() for part in (row.get("contacts") or "").split(";"))):
        channel, _, address = item.partition(":")
        if channel not in CHANNELS or not address:
            raise ValueError(f"contact {item!r} must be email:ADDRESS or webhook:URL")
        contacts.append((channel, address))
    return Site(site_id, name or site_id, region, tuple(contacts))


async def load_sites(settings: Settings, sites: list[Site]) -> int:
    """Publish every site to `setup.sites` (compacted, keyed by site_id)."""
    topics = TopicNames.from_settings(settings)
    await ensure_topics(settings, [spec for spec in topics.specs() if spec.name == topics.sites])
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        for site in sites:
            key, value = site.record()
            await producer.send(topics.sites, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    return len(sites)
