"""Site reference data (`setup.sites`), read in full by every worker like a global table.

The records stay decoded JSON here: broker knows Kafka, not the domain, so it cannot import the
site type (`events.sites.Site`). Layers above read a record with `Site.from_json`; the one
field read here is the region, which the stream stages look up per clock.
"""

from __future__ import annotations

from broker.topic_view import TopicView

UNKNOWN_REGION = "unknown"


class SiteRegistry(TopicView):
    def region_of(self, site_id: str) -> str:
        region = self.records.get(site_id, {}).get("region")
        return str(region) if region else UNKNOWN_REGION
