"""SETUPMON_REGION_CONTACTS: the contacts of each NHS England region, for escalations.

A CSV of `region,channel,address` rows. It is not a site file (a row is one contact of a
region, not a site), so it has its own reader; its contacts are the sites' `Contact` type.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from core.errors import ConfigError
from events.sites import Contact


def read_region_contacts(path: str) -> dict[str, list[Contact]]:
    """Each region's contacts; none without a file. Channels are not checked here: an
    unknown one fails at delivery (undeliverable), as it always has."""
    if not path:
        return {}
    contacts: dict[str, list[Contact]] = defaultdict(list)
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                contacts[row["region"].strip()].append(
                    Contact(row["channel"].strip(), row["address"].strip())
                )
    except (OSError, KeyError) as exc:
        raise ConfigError(
            f"SETUPMON_REGION_CONTACTS={path}: {exc!r} (columns: region,channel,address)"
        ) from exc
    return dict(contacts)
