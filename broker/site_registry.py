"""Site reference data (`setup.sites`), read in full by every worker like a global table."""

from __future__ import annotations

from broker.topic_view import TopicView

UNKNOWN_REGION = "unknown"


class SiteRegistry(TopicView):
    @property
    def sites(self) -> dict[str, dict[str, object]]:
        return self.records

    def region_of(self, site_id: str) -> str:
        region = self.records.get(site_id, {}).get("region")
        return str(region) if region else UNKNOWN_REGION
