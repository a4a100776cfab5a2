"""No password of this run is in any log: the worker's, the notifier's, every `setupmon`
command's output, and the broker's (server.log, its console). Runs after the other secured
tests (file order), over every password they created. `make test` also greps the pytest
output itself for them (tests/secure/conftest.py writes them to the broker's secrets/)."""

from __future__ import annotations

import pytest

from tests.secure.conftest import LOGS, SECRETS_SEEN, broker_dir

pytestmark = pytest.mark.secure


def test_no_secret_reaches_any_log() -> None:
    logs = [*LOGS, *sorted((broker_dir() / "logs").glob("*.log*")), broker_dir() / "kafka.out"]
    assert len(SECRETS_SEEN) >= 2, "run with the other secured tests: nothing to look for"
    assert any(log.name.startswith("worker") for log in LOGS), "the pipeline test did not run"
    leaks = [
        f"{log}: a password ({secret[:3]}...)"
        for log in logs
        if log.exists()
        for secret in SECRETS_SEEN
        if secret in log.read_text(errors="replace")
    ]
    assert leaks == []
