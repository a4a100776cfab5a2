"""The site registry file (CSV) and `setupmon sites load`; the site itself is `events.sites.Site`.

Columns: `site_id,name,region,contacts`, where contacts are `channel:address` pairs separated
by `;`, with channel `email` or `webhook`. A file with any bad row is refused whole, with
every problem listed, so the registry never holds half a file.
"""

from __future__ import annotations

import csv
from pathlib import Path

from aiokafka import AIOKafkaProducer

from broker.client import client_options, ensure_topics
from broker.topics import TopicNames
from core.codec import dumps
from core.errors import InputError
from core.settings import Settings
from events.sites import Contact, Site

COLUMNS = ("site_id", "name", "region", "contacts")


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
    """One row; the rules of a site are `Site.checked`'s, as for a `setup.sites` record."""
    cells = (part.strip() for part in (row.get("contacts") or "").split(";"))
    return Site.checked(
        (row.get("site_id") or "").strip(),
        (row.get("name") or "").strip(),
        (row.get("region") or "").strip(),
        # lazily, so a row's site_id and region are judged before its contacts
        (Contact.parse(cell) for cell in cells if cell),
    )


async def load_sites(settings: Settings, sites: list[Site]) -> int:
    """Publish every site to `setup.sites` (compacted, keyed by site_id)."""
    topics = TopicNames.from_settings(settings)
    await ensure_topics(settings, [spec for spec in topics.specs() if spec.name == topics.sites])
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        for site in sites:
            await producer.send(topics.sites, dumps(site.to_json()), key=site.site_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    return len(sites)
