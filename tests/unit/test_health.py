"""What /healthz answers (streams/health.py): 200 only when the worker can do its work."""

from __future__ import annotations

import pytest

from streams.health import Health

CASES = [
    # (name, tables recovered, sites loaded, rebalancing, stalled, status, http)
    ("everything in place", True, True, False, set(), "ready", 200),
    ("tables still recovering", False, True, False, set(), "recovering", 503),
    ("site registry not read yet", True, False, False, set(), "recovering", 503),
    ("a rebalance under way", True, True, True, set(), "recovering", 503),
    ("a partition stalled", True, True, False, {9, 2}, "stalled", 503),
    (
        "stalled while recovering: the stall is what to report",
        False,
        True,
        False,
        {1},
        "stalled",
        503,
    ),
]


@pytest.mark.parametrize(
    ("recovered", "sites", "rebalancing", "stalled", "status", "http"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_health(
    recovered: bool, sites: bool, rebalancing: bool, stalled: set[int], status: str, http: int
) -> None:
    health = Health(recovered, sites, rebalancing, stalled)
    assert health.http_status == http
    assert health.body() == {
        "status": status,
        "tables_recovered": recovered,
        "sites_loaded": sites,
        "stalled_partitions": sorted(stalled),
    }
