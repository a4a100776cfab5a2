#!/usr/bin/env bash
# `make run`: a local demo on a clean broker: Kafka, topics, site registry, one worker and
# the simulator on a fast calendar (one UK day every SECONDS_PER_DAY seconds).
# Ctrl-C stops the simulator and the worker; `make kafka-down` stops Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_DAY="${SECONDS_PER_DAY:-2}"
RUN_DIR=.data/run
BIN=.venv/bin

port="${SETUPMON_METRICS_PORT:-6066}"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run-local: port $port is taken (another worker?); stop it or set SETUPMON_METRICS_PORT" >&2
    exit 1
fi

echo "== a clean local Kafka"
bash deploy/kafka/kafka.sh down >/dev/null
rm -rf .data/kafka "$RUN_DIR"
mkdir -p "$RUN_DIR"
bash deploy/kafka/kafka.sh up

start_day="$(python3 -c 'import datetime; print(datetime.date.today())')"
epoch="$(python3 -c 'import time; print(f"{time.time():.3f}")')"
export SETUPMON_CALENDAR="simulated:${start_day}@${epoch}x${SECONDS_PER_DAY}"
export SETUPMON_DATA_DIR="$RUN_DIR/worker"
export SETUPMON_TICK_SECONDS=0.5

echo "== topics and the site registry"
"$BIN/setupmon" topics
"$BIN/setupmon" sites load deploy/sites/sample-sites.csv

echo "== a worker (log: $RUN_DIR/worker.log)"
"$BIN/setupmon" worker --loglevel warning >"$RUN_DIR/worker.log" 2>&1 &
worker=$!
stop_worker() {
    trap - EXIT INT TERM
    kill "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
    echo "worker stopped; Kafka still runs (make kafka-down stops it)"
}
trap stop_worker EXIT
trap 'stop_worker; exit 130' INT TERM
for _ in $(seq 120); do
    if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$worker" 2>/dev/null; then tail -30 "$RUN_DIR/worker.log"; exit 1; fi
    sleep 0.5
done

cat <<TXT

== setupmon is running (one simulated day every ${SECONDS_PER_DAY}s, from ${start_day})
  metrics:        curl -s http://127.0.0.1:$port/metrics | grep trial_setup_
  health:         curl -s http://127.0.0.1:$port/healthz
  watch alerts:   .venv/bin/setupmon watch alerts
  one sponsor:    .venv/bin/setupmon watch sponsor.astra-labs.study-status --from-beginning
  dead letters:   .venv/bin/setupmon watch milestones.dlq --from-beginning
Ctrl-C stops the simulator and the worker.

TXT
"$BIN/setupmon" simulate --studies "${STUDIES:-200}" &
simulator=$!
trap 'kill "$simulator" 2>/dev/null; stop_worker; exit 130' INT TERM
wait "$simulator"
