"""Fixtures for the secured broker (`KAFKA_SECURE=1 deploy/kafka/kafka.sh up`).

`make test` starts it on 127.0.0.1:19094 and passes its data folder in
`SETUPMON_SECURE_KAFKA_DIR` (CA in tls/ca.pem, admin password in secrets/admin.password).
Every test gets its own topic prefix and app ID; principals are made through the real
`setupmon access` command, their passwords in files, and every password a test sees is
remembered so test_zz_no_secret_in_logs.py can look for it in every log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from broker.client import ensure_topics
from broker.topics import TopicNames
from core.settings import Settings
from tests.integration.conftest import WorkerProcess
from tests.integration.kafka_io import run
from tests.integration.ports import free_port

PARTITIONS = 3
SECRETS_SEEN: set[str] = set()  # every password of this run, for the log scan
LOGS: list[Path] = []  # every process log and command output of this run


def broker_dir() -> Path:
    value = os.environ.get("SETUPMON_SECURE_KAFKA_DIR")
    if not value:
        raise pytest.UsageError(
            "set SETUPMON_SECURE_KAFKA_DIR to the secured broker's data folder "
            "(make test does), and SETUPMON_SECURE_BOOTSTRAP to its address"
        )
    return Path(value)


def connection_env(user: str, password_file: Path, **extra: str) -> dict[str, str]:
    """The SETUPMON_* connection variables of one user (the password stays in its file)."""
    return {
        "SETUPMON_BOOTSTRAP_SERVERS": os.environ.get("SETUPMON_SECURE_BOOTSTRAP", "127.0.0.1:19094"),
        "SETUPMON_SECURITY_PROTOCOL": "SASL_SSL",
        "SETUPMON_SASL_MECHANISM": "SCRAM-SHA-512",
        "SETUPMON_SSL_CAFILE": str(broker_dir() / "tls" / "ca.pem"),
        "SETUPMON_SASL_USERNAME": user,
        "SETUPMON_SASL_PASSWORD_FILE": str(password_file),
        **extra,
    }


@dataclass
class Deployment:
    """One test's setupmon on the secured broker: its prefix, app ID and an admin."""

    tmp: Path
    base: dict[str, str]  # prefix, app ID, partitions: the same for every principal
    admin_env: dict[str, str]

    @property
    def admin(self) -> Settings:
        return Settings.from_env(self.admin_env)

    @property
    def topics(self) -> TopicNames:
        return TopicNames.from_settings(self.admin)

    def setupmon(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the `setupmon` command (as the admin unless `env` says otherwise)."""
        done = subprocess.run(  # noqa: S603 - our own console script
            [sys.executable, "-m", "setupmon.cli", *args],
            env={**os.environ, **(env or self.admin_env)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        log = self.tmp / f"setupmon-{len(LOGS)}.out"
        log.write_text(f"$ setupmon {' '.join(args)}\n{done.stdout}{done.stderr}")
        LOGS.append(log)
        return done

    def add(self, role: str, name: str) -> tuple[Settings, dict[str, str]]:
        """`setupmon access add ROLE NAME`; the user's settings and environment."""
        password_file = self.tmp / f"{role}-{name}.password"
        done = self.setupmon("access", "add", role, name, "--password-file", str(password_file))
        assert done.returncode == 0, done.stderr
        SECRETS_SEEN.add(password_file.read_text().strip())
        user = name if role in ("worker", "notifier") else f"{role}.{name}"  # user_name
        env = {**connection_env(user, password_file), **self.base}
        return Settings.from_env(env), env


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    admin_password = broker_dir() / "secrets" / "admin.password"
    SECRETS_SEEN.add(admin_password.read_text().strip())
    unique = uuid.uuid4().hex[:10]
    base = {
        "SETUPMON_TOPIC_PREFIX": f"sec-{unique}",
        "SETUPMON_APP_ID": f"setupmon-sec-{unique}",
        "SETUPMON_PARTITIONS": str(PARTITIONS),
    }
    deployment = Deployment(tmp_path, base, {**connection_env("admin", admin_password), **base})
    # the operator creates the topics (`setupmon topics`); the principals cannot
    admin = deployment.admin
    run(ensure_topics(admin, TopicNames.from_settings(admin).specs()))
    return deployment


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[object]:
    """Start `setupmon` processes with a user's environment; every one is stopped after."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, env: dict[str, str], command: tuple[str, ...], name: str) -> WorkerProcess:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        LOGS.append(log_path)
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [sys.executable, "-m", "setupmon.cli", *command],
            env={**os.environ, **env},
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        worker = WorkerProcess(settings, process, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def worker_extra(tmp_path: Path, calendar: str) -> dict[str, str]:
    return {
        "SETUPMON_DATA_DIR": str(tmp_path / "worker"),
        "SETUPMON_METRICS_PORT": str(free_port()),
        "SETUPMON_TICK_SECONDS": "0.25",
        "SETUPMON_ALERT_HORIZON_DAYS": "3650",
        "SETUPMON_CALENDAR": calendar,
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Hand this run's passwords to `make test`, which greps the pytest output for them."""
    target = os.environ.get("SETUPMON_SECURE_SECRETS_OUT")
    if target and SECRETS_SEEN:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write("".join(f"{secret}\n" for secret in sorted(SECRETS_SEEN)))
