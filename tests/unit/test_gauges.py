"""Scrape-time gauges (streams/gauges.py): the pre-rendered site samples say what the
collector says, and a partition's samples go in one step."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.gauges import SiteGauges, SiteView
from streams.metrics import SetupmonMetrics

VIEWS = {
    (0, "RGT"): SiteView(
        "East of England",
        {("site_open", "breached"): 2, ("first_participant", "met"): 1},
        {("site_open", "90d"): 0.25, ("first_participant", "365d"): 1.0},
    ),
    (1, "RJ1"): SiteView('London "central" \\ south', {("site_open", "running"): 3}, {}),
    (1, "R0A"): SiteView("North West", {}, {("approval_to_first_participant", "90d"): 0.0}),
}


def samples(text: bytes) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def gauges() -> SiteGauges:
    site_gauges = SiteGauges()
    for (partition, site_id), view in VIEWS.items():
        site_gauges.set(partition, site_id, view)
    return site_gauges


def test_the_rendered_samples_are_the_collectors_samples() -> None:
    site_gauges = gauges()
    registry = CollectorRegistry()
    registry.register(site_gauges)
    expected = samples(generate_latest(registry))
    assert len(expected) == 3 * 3 * 9 + 3  # every state of every site KPI, and 3 ratios
    assert samples(site_gauges.exposition()) == expected


def test_a_partition_leaves_in_one_step() -> None:
    site_gauges = gauges()
    site_gauges.drop(1)
    sites = {dict(labels)["site"] for _, labels, _ in samples(site_gauges.exposition())}
    assert sites == {"RGT"}
    assert site_gauges.sites(1) == []


def test_the_metrics_page_holds_every_metric_once() -> None:
    registry = CollectorRegistry()
    metrics = SetupmonMetrics.create(registry)
    for (partition, site_id), view in VIEWS.items():
        metrics.site_gauges.set(partition, site_id, view)
    metrics.study_clocks.add(0, ("combined_review", "met"), 2)
    metrics.events_total.labels("site_opened", "accepted").inc()
    page = samples(metrics.exposition())
    assert page == samples(generate_latest(registry))
    families = [family.name for family in text_string_to_metric_families(metrics.exposition().decode())]
    assert len(families) == len(set(families))
