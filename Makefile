# setupmon's front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KAFKA := bash deploy/kafka/kafka.sh

# The test broker has its own port and data so it never disturbs a `make run` broker.
TEST_KAFKA_DATA := $(CURDIR)/.data/kafka-test
TEST_KAFKA_ENV := KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 KAFKA_DATA_DIR=$(TEST_KAFKA_DATA)
TEST_ENV := SETUPMON_BOOTSTRAP_SERVERS=127.0.0.1:19092
BENCH_KAFKA_DATA := $(CURDIR)/.data/kafka-bench
BENCH_KAFKA_ENV := KAFKA_PORT=29092 KAFKA_CONTROLLER_PORT=29093 KAFKA_DATA_DIR=$(BENCH_KAFKA_DATA)

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: help setup run lint typecheck unit integration ops-tools ops-check report-tools sample-report test bench kafka-up kafka-down clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install setupmon with pinned dependencies

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.3.1
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: setup ## demo: a clean local Kafka, topics, site registry, a worker and the simulator
	bash deploy/run-local.sh

lint: setup ## ruff, and the import layers of README "Architecture" (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup ## mypy
	$(VENV)/bin/mypy

unit: setup ## unit tests (no broker)
	$(PY) -m pytest tests/unit -q

integration: setup ops-tools report-tools ## integration tests against the test broker (start it with `make test` or by hand)
	$(TEST_ENV) $(PY) -m pytest tests/integration -q -m integration

ops-tools: ## promtool and amtool from Debian's prometheus packages (installed when missing)
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null; then \
	  echo "installing Debian's prometheus and prometheus-alertmanager (promtool, amtool)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	fi

report-tools: ## headless Chromium and DejaVu fonts from Debian, for report PDFs and their tests (installed when missing)
	@if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
	    || ! dpkg -s fonts-dejavu-core >/dev/null 2>&1; then \
	  echo "installing Debian's chromium and fonts-dejavu-core (setupmon report's PDF)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	fi

sample-report: setup report-tools ## the README's sample: simulator data -> England and trust reports, open data, docs/sample-report.png
	$(PY) -m bench.sample_report

ops-check: ops-tools ## Prometheus config and rule unit tests, Alertmanager config and routing
	bash deploy/ops-check.sh

test: lint typecheck unit ops-check report-tools ## lint, types, unit tests, then tests on a secured and a plain real broker (CI adds fuzz, faults)
	@# a fresh, empty test broker every run
	$(TEST_KAFKA_ENV) $(KAFKA) down
	rm -rf $(TEST_KAFKA_DATA)
	$(TEST_KAFKA_ENV) $(KAFKA) up
	status=0; $(TEST_ENV) $(PY) -m pytest tests/integration -q -m integration || status=$$?; \
	  $(TEST_KAFKA_ENV) $(KAFKA) down; exit $$status

bench: setup ## throughput of a worker against a raw aiokafka consumer, in one run on a fresh broker
	$(BENCH_KAFKA_ENV) $(KAFKA) down
	rm -rf $(BENCH_KAFKA_DATA)
	$(BENCH_KAFKA_ENV) $(KAFKA) up
	status=0; SETUPMON_BOOTSTRAP_SERVERS=127.0.0.1:29092 $(PY) -m bench.throughput || status=$$?; \
	  $(BENCH_KAFKA_ENV) $(KAFKA) down; exit $$status

.PHONY: bench-import
bench-import: setup ## `setupmon import` of a generated 100,000-row EDGE export on a fresh bench broker
	$(BENCH_KAFKA_ENV) $(KAFKA) down
	rm -rf $(BENCH_KAFKA_DATA)
	$(BENCH_KAFKA_ENV) $(KAFKA) up
	status=0; SETUPMON_BOOTSTRAP_SERVERS=127.0.0.1:29092 $(PY) -m bench.import_rows || status=$$?; \
	  $(BENCH_KAFKA_ENV) $(KAFKA) down; exit $$status

.PHONY: fuzz
fuzz: setup ## 1,000,000 generated messages through validation (no broker; FUZZ_ARGS="--seed 2 --inputs N")
	$(PY) -m tests.fuzz $(FUZZ_ARGS)

kafka-up: ## start the local Apache Kafka broker on 127.0.0.1 (port KAFKA_PORT, default 9092)
	$(KAFKA) up

kafka-down: ## stop the local Apache Kafka broker
	$(KAFKA) down

clean: ## remove the venv, caches and local data (not the downloaded Kafka jars)
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The secured test broker (README "Security"): SASL_SSL + SCRAM-SHA-512 and ACLs, its own
# ports and data, wiped each run and stopped after, whatever the result. `make test` runs it
# before the integration tests; override the ports to run it beside another one.
SECURE_KAFKA_PORT ?= 19094
SECURE_KAFKA_CONTROLLER_PORT ?= 19095
SECURE_KAFKA_DATA ?= $(CURDIR)/.data/kafka-test-secure
SECURE_KAFKA_ENV = KAFKA_SECURE=1 KAFKA_PORT=$(SECURE_KAFKA_PORT) KAFKA_CONTROLLER_PORT=$(SECURE_KAFKA_CONTROLLER_PORT) KAFKA_DATA_DIR=$(SECURE_KAFKA_DATA)
SECURE_TEST_ENV = SETUPMON_SECURE_KAFKA_DIR=$(SECURE_KAFKA_DATA) SETUPMON_SECURE_BOOTSTRAP=127.0.0.1:$(SECURE_KAFKA_PORT) SETUPMON_SECURE_SECRETS_OUT=$(SECURE_KAFKA_DATA)/secrets/seen-by-tests

.PHONY: secure-test
test: secure-test

secure-test: setup ## tests on a fresh secured broker: sponsor isolation, ACLs, worker, notifier and importer over SASL_SSL
	$(SECURE_KAFKA_ENV) $(KAFKA) down
	rm -rf $(SECURE_KAFKA_DATA)
	$(SECURE_KAFKA_ENV) $(KAFKA) up
	@# the tests' own output is a log too: no password of the run may be in it
	status=0; $(SECURE_TEST_ENV) $(PY) -m pytest tests/secure -q -m secure 2>&1 | tee $(SECURE_KAFKA_DATA)/pytest.out; \
	  status=$${PIPESTATUS[0]}; \
	  if [ -s $(SECURE_KAFKA_DATA)/secrets/seen-by-tests ] && grep -qF -f $(SECURE_KAFKA_DATA)/secrets/seen-by-tests $(SECURE_KAFKA_DATA)/pytest.out; then \
	    echo "secure-test: a password of this run is in the pytest output"; status=1; fi; \
	  $(SECURE_KAFKA_ENV) $(KAFKA) down; exit $$status

# The fault suite starts its own brokers on FAULTS_PORT_BASE..+99 (a three-node cluster on
# BASE+1..3, a single node on BASE+21) and stops them, and every worker, whatever the result.
FAULTS_PORT_BASE ?= 19300
FAULTS_CLUSTER := bash deploy/kafka/cluster.sh
.PHONY: faults
faults: setup ## fault suite: broker restart, a killed node of 3, workers joining and leaving, an import cut off (~6.5 min)
	status=0; FAULTS_PORT_BASE=$(FAULTS_PORT_BASE) $(PY) -m pytest tests/faults -q -s -m faults \
	  -p no:cacheprovider --basetemp=$(CURDIR)/.data/faults-tmp || status=$$?; \
	  CLUSTER_PORT_BASE=$(FAULTS_PORT_BASE) CLUSTER_DATA_DIR=$(CURDIR)/.data/kafka-cluster-faults-$(FAULTS_PORT_BASE) \
	    $(FAULTS_CLUSTER) down >/dev/null; \
	  CLUSTER_NODES=1 CLUSTER_PORT_BASE=$$(( $(FAULTS_PORT_BASE) + 20 )) \
	    CLUSTER_DATA_DIR=$(CURDIR)/.data/kafka-faults-$(FAULTS_PORT_BASE) $(FAULTS_CLUSTER) down >/dev/null; \
	  exit $$status
