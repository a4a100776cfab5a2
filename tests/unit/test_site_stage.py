"""The per-site stage (streams/site_stage.py): folding clocks, `setup.site-kpis`, site gauges.

CONTRACT.md sections 3 (site-kpis windows) and 4 (trial_setup_clocks and
trial_setup_compliance_ratio). Day counts are worked out in the comments.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from broker.messages import Outgoing
from broker.topics import TopicNames
from core.codec import loads
from streams.metrics import SetupmonMetrics
from streams.site_stage import SiteStage, encoded_site

AS_OF = date(2025, 3, 31)
# windows as of 2025-03-31: 90d holds stops in (2024-12-31, 2025-03-31],
# 365d holds stops in (2024-03-31, 2025-03-31]
SITE_KPIS = ("site_open", "first_participant", "approval_to_first_participant")
ALL_STATES = (
    "waiting",
    "running",
    "at_risk",
    "breached",
    "met",
    "missed",
    "stopped",
    "excluded",
    "invalid",
)
LIMITS = {"site_open": 60, "first_participant": 30, "approval_to_first_participant": 90}


def row(
    kpi: str,
    state: str,
    start: str | None,
    stop: str | None,
    elapsed: int | None,
    due: str | None,
    site: str = "RGT",
) -> dict[str, Any]:
    """A clock as the study stage sends it on the internal site-clocks topic."""
    return {
        "kpi": kpi,
        "site_id": site,
        "state": state,
        "start_date": start,
        "stop_date": stop,
        "due_date": due,
        "elapsed_days": elapsed,
        "limit_days": LIMITS[kpi],
        "flags": [],
    }


# CPMS-1 at RGT
# site_open 01-01 -> 02-15: 31 + 14 = 45 <= 60, met (stop in both windows); due 03-02
# first_participant 02-15 -> 03-27: 13 (to 02-28) + 27 = 40 > 30, missed; due 03-17
# approval_to_first_participant 01-01 -> 03-27: 31 + 28 + 26 = 85 <= 90, met; due 04-01
STUDY_1 = [
    row("site_open", "met", "2025-01-01", "2025-02-15", 45, "2025-03-02"),
    row("first_participant", "missed", "2025-02-15", "2025-03-27", 40, "2025-03-17"),
    row("approval_to_first_participant", "met", "2025-01-01", "2025-03-27", 85, "2025-04-01"),
]
# CPMS-2 at RGT
# site_open 2024-01-10 -> 2024-06-10: 21 + 29 (leap Feb) + 31 + 30 + 31 + 10 = 152, missed;
#   stop 2024-06-10 is in the 365d window only
# first_participant from 03-20: day 11 as of 03-31, running
# approval_to_first_participant from 2024-12-20: 11 + 31 + 28 + 31 = 101 > 90, breached
STUDY_2 = [
    row("site_open", "missed", "2024-01-10", "2024-06-10", 152, "2024-03-10"),
    row("first_participant", "running", "2025-03-20", None, 11, "2025-04-19"),
    row("approval_to_first_participant", "breached", "2024-12-20", None, 101, "2025-03-20"),
]


class World:
    def __init__(self, regions: dict[str, str] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.regions = {"RGT": "London", "RAJ": "East of England"} if regions is None else regions
        self.stage = SiteStage(
            TopicNames("setup", 6),
            SetupmonMetrics.create(self.registry),
            lambda site: self.regions.get(site, "unknown"),
        )

    def clocks(self, kpi: str, site: str, region: str, state: str) -> float | None:
        labels = {"kpi": kpi, "site": site, "region": region, "state": state}
        return self.registry.get_sample_value("trial_setup_clocks", labels)

    def compliance(self, kpi: str, site: str, region: str, window: str) -> float | None:
        labels = {"kpi": kpi, "site": site, "region": region, "window": window}
        return self.registry.get_sample_value("trial_setup_compliance_ratio", labels)

    def series(self, site: str) -> list[dict[str, str]]:
        """Every exported site-level series of `site`, whatever its labels."""
        found = []
        for metric in self.registry.collect():
            if metric.name in ("trial_setup_clocks", "trial_setup_compliance_ratio"):
                found += [s.labels for s in metric.samples if s.labels.get("site") == site]
        return found


def change(study: str, clocks: list[dict[str, Any]], site: str = "RGT") -> dict[str, object]:
    return {"study_id": study, "site_id": site, "clocks": clocks}


# -- update ---------------------------------------------------------------------------------

FOLDS = [
    pytest.param({}, change("CPMS-1", STUDY_1), {"CPMS-1": STUDY_1}, id="first-study"),
    pytest.param(
        {"CPMS-1": STUDY_1},
        change("CPMS-2", STUDY_2),
        {"CPMS-1": STUDY_1, "CPMS-2": STUDY_2},
        id="second-study-added",
    ),
    pytest.param(
        {"CPMS-1": STUDY_1, "CPMS-2": STUDY_2},
        change("CPMS-1", STUDY_2[:1]),
        {"CPMS-1": STUDY_2[:1], "CPMS-2": STUDY_2},
        id="study-replaced",
    ),
    pytest.param(
        {"CPMS-1": STUDY_1, "CPMS-2": STUDY_2},
        change("CPMS-1", []),
        {"CPMS-2": STUDY_2},
        id="empty-list-removes-study",
    ),
    pytest.param({}, change("CPMS-1", []), {}, id="removing-unknown-study"),
]


@pytest.mark.parametrize(("before", "update", "after"), FOLDS)
def test_update_folds_one_studys_clocks(
    before: dict[str, list[dict[str, Any]]],
    update: dict[str, object],
    after: dict[str, list[dict[str, Any]]],
) -> None:
    before_value = encoded_site(before)
    original = dict(before_value)
    assert World().stage.update(before_value, update) == encoded_site(after)
    assert before_value == original  # the table value read is not changed in place


# -- publish --------------------------------------------------------------------------------


def test_publish_returns_site_kpis_keyed_by_site_with_its_region() -> None:
    world = World()
    out = world.stage.publish(
        "RGT", encoded_site({"CPMS-1": STUDY_1, "CPMS-2": STUDY_2}), partition=0, as_of=AS_OF
    )

    assert isinstance(out, Outgoing)
    assert (out.topic, out.key) == ("setup.site-kpis", b"RGT")
    assert out.value is not None
    body = loads(out.value)
    assert (body["site_id"], body["region"], body["as_of"]) == ("RGT", "London", "2025-03-31")
    assert body["windows"]["90d"] == {
        "site_open": {"met": 1, "missed": 0, "compliance": 1.0, "median_days": 45},
        "first_participant": {"met": 0, "missed": 1, "compliance": 0.0, "median_days": 40},
        "approval_to_first_participant": {
            "met": 1,
            "missed": 0,
            "compliance": 1.0,
            "median_days": 85,
        },
    }
    # 365d adds CPMS-2's site_open (missed, 152): median of 45 and 152 = 98.5
    assert body["windows"]["365d"]["site_open"] == {
        "met": 1,
        "missed": 1,
        "compliance": 0.5,
        "median_days": 98.5,
    }
    assert body["open"] == {
        "site_open": {"running": 0, "at_risk": 0, "breached": 0},
        "first_participant": {"running": 1, "at_risk": 0, "breached": 0},
        "approval_to_first_participant": {"running": 0, "at_risk": 0, "breached": 1},
    }


def test_an_unregistered_site_reports_the_region_the_callable_gives() -> None:
    world = World(regions={})
    out = world.stage.publish("RZZ", encoded_site({"CPMS-1": STUDY_1}), partition=0, as_of=AS_OF)
    assert out.value is not None
    assert loads(out.value)["region"] == "unknown"
    assert world.clocks("site_open", "RZZ", "unknown", "met") == 1


# per (kpi, state): CPMS-1 + CPMS-2; every other state of a site-level KPI is exported as 0
CLOCK_COUNTS = [
    pytest.param("site_open", {"met": 1, "missed": 1}, id="site_open"),
    pytest.param("first_participant", {"missed": 1, "running": 1}, id="first_participant"),
    pytest.param(
        "approval_to_first_participant", {"met": 1, "breached": 1}, id="approval_to_first"
    ),
]


@pytest.mark.parametrize(("kpi", "counts"), CLOCK_COUNTS)
def test_clock_gauge_counts_every_state_including_zeros(kpi: str, counts: dict[str, int]) -> None:
    world = World()
    world.stage.publish(
        "RGT", encoded_site({"CPMS-1": STUDY_1, "CPMS-2": STUDY_2}), partition=0, as_of=AS_OF
    )
    for state in ALL_STATES:
        assert world.clocks(kpi, "RGT", "London", state) == counts.get(state, 0), state


def test_study_level_kpis_have_no_site_series() -> None:
    world = World()
    study_clock = {
        **row("site_open", "met", "2025-01-01", "2025-02-15", 45, None),
        "kpi": "combined_review",
    }
    world.stage.publish("RGT", encoded_site({"CPMS-1": [study_clock]}), partition=0, as_of=AS_OF)
    kpis = {labels["kpi"] for labels in world.series("RGT")}
    assert kpis == set(SITE_KPIS)


# compliance per window after both studies, and after CPMS-1 is removed
COMPLIANCE = [
    pytest.param("site_open", "90d", 1.0, None, id="site_open-90d"),
    pytest.param("site_open", "365d", 0.5, 0.0, id="site_open-365d"),
    pytest.param("first_participant", "90d", 0.0, None, id="first_participant-90d"),
    pytest.param("first_participant", "365d", 0.0, None, id="first_participant-365d"),
    pytest.param("approval_to_first_participant", "90d", 1.0, None, id="a2fp-90d"),
    pytest.param("approval_to_first_participant", "365d", 1.0, None, id="a2fp-365d"),
]


@pytest.mark.parametrize(("kpi", "window", "both", "without_study_1"), COMPLIANCE)
def test_compliance_gauge_per_window_and_removed_when_null(
    kpi: str, window: str, both: float, without_study_1: float | None
) -> None:
    world = World()
    site = world.stage.update({}, change("CPMS-1", STUDY_1))
    site = world.stage.update(site, change("CPMS-2", STUDY_2))
    world.stage.publish("RGT", site, partition=0, as_of=AS_OF)
    assert world.compliance(kpi, "RGT", "London", window) == both

    site = world.stage.update(site, change("CPMS-1", []))
    world.stage.publish("RGT", site, partition=0, as_of=AS_OF)
    assert world.compliance(kpi, "RGT", "London", window) == without_study_1


def test_compliance_gauge_is_absent_when_nothing_stopped_in_the_window() -> None:
    world = World()
    # only CPMS-2: first_participant running and a2fp breached; nothing stopped for them
    world.stage.publish("RGT", encoded_site({"CPMS-2": STUDY_2}), partition=0, as_of=AS_OF)
    for window in ("90d", "365d"):
        assert world.compliance("first_participant", "RGT", "London", window) is None
        assert world.compliance("approval_to_first_participant", "RGT", "London", window) is None


def test_removing_every_study_leaves_zero_counts() -> None:
    world = World()
    world.stage.publish("RGT", encoded_site({"CPMS-1": STUDY_1}), partition=0, as_of=AS_OF)
    world.stage.publish(
        "RGT",
        world.stage.update(encoded_site({"CPMS-1": STUDY_1}), change("CPMS-1", [])),
        partition=0,
        as_of=AS_OF,
    )
    for kpi in SITE_KPIS:
        for state in ALL_STATES:
            assert world.clocks(kpi, "RGT", "London", state) == 0
        for window in ("90d", "365d"):
            assert world.compliance(kpi, "RGT", "London", window) is None


def test_a_region_change_moves_the_sites_series() -> None:
    world = World()
    site = encoded_site({"CPMS-1": STUDY_1})
    world.stage.publish("RGT", site, partition=0, as_of=AS_OF)
    assert world.clocks("site_open", "RGT", "London", "met") == 1

    world.regions["RGT"] = "North West"
    out = world.stage.publish("RGT", site, partition=0, as_of=AS_OF)

    assert out.value is not None
    assert loads(out.value)["region"] == "North West"
    assert {labels["region"] for labels in world.series("RGT")} == {"North West"}
    assert world.clocks("site_open", "RGT", "London", "met") is None
    assert world.compliance("site_open", "RGT", "London", "90d") is None
    assert world.clocks("site_open", "RGT", "North West", "met") == 1
    assert world.compliance("site_open", "RGT", "North West", "90d") == 1.0


FORGET = [
    pytest.param(0, ["RAJ", "RDE"], id="partition-0"),
    pytest.param(1, ["RGT", "RDE"], id="partition-1"),
    pytest.param(2, ["RGT", "RAJ"], id="partition-2"),
    pytest.param(5, ["RGT", "RAJ", "RDE"], id="partition-never-owned"),
]


@pytest.mark.parametrize(("partition", "remaining"), FORGET)
def test_forget_partition_removes_only_that_partitions_sites(
    partition: int, remaining: list[str]
) -> None:
    world = World(regions={"RGT": "London", "RAJ": "East of England", "RDE": "East of England"})
    owners = {"RGT": 0, "RAJ": 1, "RDE": 2}
    for site_id, owner in owners.items():
        rows = [{**clock, "site_id": site_id} for clock in STUDY_1]
        world.stage.publish(site_id, encoded_site({"CPMS-1": rows}), partition=owner, as_of=AS_OF)

    world.stage.forget_partition(partition)

    for site_id in owners:
        region = world.regions[site_id]
        present = site_id in remaining
        assert bool(world.series(site_id)) is present, site_id
        assert world.clocks("site_open", site_id, region, "met") == (1 if present else None)
        assert world.compliance("site_open", site_id, region, "90d") == (1.0 if present else None)
    assert sorted(world.stage.sites_in(partition)) == []
