#!/usr/bin/env bash
# Checks the operations kit with the real tools (Debian's prometheus and
# prometheus-alertmanager packages): configs parse, alert rules behave as their unit tests
# say, and Alertmanager routes each kind of alert to the receiver it should.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check config deploy/prometheus/prometheus.yml
promtool test rules deploy/prometheus/tests/setupmon.rules.test.yml
amtool check-config deploy/alertmanager/alertmanager.yml

route() {  # expected receiver, then the alert's labels
    local expected="$1"; shift
    amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
        --verify.receivers="$expected" "$@" 2>/dev/null >/dev/null \
        || { echo "ops-check: $* should reach $expected" >&2; exit 1; }
}
route on-call severity=critical category=pipeline alertname=SetupmonWorkerDown instance=w1
route region-london severity=warning category=data region=London alertname=SiteComplianceBelowTarget
route region-north-west severity=warning category=data region="North West" alertname=BreachedClocksRising
route national-operations severity=warning category=data alertname=MilestonesDeadLettered
route national-operations severity=warning category=pipeline alertname=SetupmonConsumerLag
echo "ops-check: Prometheus rules and Alertmanager routing pass"
