"""Settings from the environment (core/settings.py, README "Configuration")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings

SASL = {
    "SETUPMON_SECURITY_PROTOCOL": "SASL_SSL",
    "SETUPMON_SASL_MECHANISM": "SCRAM-SHA-512",
    "SETUPMON_SASL_USERNAME": "setupmon",
    "SETUPMON_SASL_PASSWORD": "s3cr3t-Pa55",
}

DEFAULTS = [
    pytest.param("bootstrap_servers", "127.0.0.1:9092", id="bootstrap"),
    pytest.param("security_protocol", "PLAINTEXT", id="protocol"),
    pytest.param("sasl_mechanism", "PLAIN", id="mechanism"),
    pytest.param("sasl_username", "", id="username"),
    pytest.param("sasl_password", "", id="password"),
    pytest.param("ssl_cafile", "", id="cafile"),
    pytest.param("ssl_certfile", "", id="certfile"),
    pytest.param("ssl_keyfile", "", id="keyfile"),
    pytest.param("ssl_key_password", "", id="key-password"),
    pytest.param("topic_prefix", "setup", id="prefix"),
    pytest.param("partitions", 6, id="partitions"),
    pytest.param("replication_factor", 1, id="replication"),
    pytest.param("data_dir", Path(".data/worker"), id="data-dir"),
    pytest.param("metrics_host", "127.0.0.1", id="metrics-host"),
    pytest.param("metrics_port", 6066, id="metrics-port"),
    pytest.param("app_id", "setupmon", id="app-id"),
    pytest.param("calendar", "live", id="calendar"),
    pytest.param("tick_seconds", 30.0, id="tick"),
]


@pytest.mark.parametrize(("name", "expected"), DEFAULTS)
def test_defaults_are_the_readmes(name: str, expected: object) -> None:
    assert getattr(Settings.from_env({}), name) == expected


def test_empty_values_mean_the_default() -> None:
    settings = Settings.from_env({"SETUPMON_PARTITIONS": "", "SETUPMON_TOPIC_PREFIX": ""})
    assert (settings.partitions, settings.topic_prefix) == (6, "setup")


PARSED = [
    pytest.param(
        "SETUPMON_BOOTSTRAP_SERVERS",
        "b1:9093,b2:9093",
        "bootstrap_servers",
        "b1:9093,b2:9093",
        id="bootstrap",
    ),
    pytest.param(
        "SETUPMON_SECURITY_PROTOCOL", "SSL", "security_protocol", "SSL", id="protocol-ssl"
    ),
    pytest.param(
        "SETUPMON_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "security_protocol",
        "PLAINTEXT",
        id="protocol-plain",
    ),
    pytest.param(
        "SETUPMON_SASL_MECHANISM",
        "SCRAM-SHA-256",
        "sasl_mechanism",
        "SCRAM-SHA-256",
        id="mechanism",
    ),
    pytest.param("SETUPMON_SASL_USERNAME", "svc", "sasl_username", "svc", id="username"),
    pytest.param("SETUPMON_SASL_PASSWORD", "pw", "sasl_password", "pw", id="password"),
    pytest.param("SETUPMON_SSL_CAFILE", "/etc/ca.pem", "ssl_cafile", "/etc/ca.pem", id="cafile"),
    pytest.param(
        "SETUPMON_SSL_CERTFILE", "/etc/c.pem", "ssl_certfile", "/etc/c.pem", id="certfile"
    ),
    pytest.param("SETUPMON_SSL_KEYFILE", "/etc/k.pem", "ssl_keyfile", "/etc/k.pem", id="keyfile"),
    pytest.param("SETUPMON_SSL_KEY_PASSWORD", "kp", "ssl_key_password", "kp", id="key-password"),
    pytest.param("SETUPMON_TOPIC_PREFIX", "trials", "topic_prefix", "trials", id="prefix"),
    pytest.param("SETUPMON_PARTITIONS", "12", "partitions", 12, id="partitions"),
    pytest.param("SETUPMON_REPLICATION_FACTOR", "3", "replication_factor", 3, id="replication"),
    pytest.param(
        "SETUPMON_DATA_DIR",
        "/var/lib/setupmon",
        "data_dir",
        Path("/var/lib/setupmon"),
        id="data-dir",
    ),
    pytest.param(
        "SETUPMON_METRICS_HOST", "10.0.0.5", "metrics_host", "10.0.0.5", id="metrics-host"
    ),
    pytest.param("SETUPMON_METRICS_PORT", "9100", "metrics_port", 9100, id="metrics-port"),
    pytest.param("SETUPMON_APP_ID", "setupmon-blue", "app_id", "setupmon-blue", id="app-id"),
    pytest.param(
        "SETUPMON_CALENDAR",
        "simulated:2025-03-01@0x2",
        "calendar",
        "simulated:2025-03-01@0x2",
        id="calendar",
    ),
    pytest.param("SETUPMON_TICK_SECONDS", "0.5", "tick_seconds", 0.5, id="tick-float"),
    pytest.param("SETUPMON_TICK_SECONDS", "2", "tick_seconds", 2.0, id="tick-int-text"),
    pytest.param("SETUPMON_ALERT_HORIZON_DAYS", "90", "alert_horizon_days", 90, id="horizon"),
    pytest.param(
        "SETUPMON_SESSION_TIMEOUT_SECONDS", "45.5", "session_timeout_seconds", 45.5, id="session"
    ),
]


@pytest.mark.parametrize(("variable", "raw", "name", "expected"), PARSED)
def test_every_variable_is_parsed_to_its_type(
    variable: str, raw: str, name: str, expected: object
) -> None:
    value = getattr(Settings.from_env({variable: raw}), name)
    assert value == expected
    assert type(value) is type(expected)


INVALID = [
    pytest.param({"SETUPMON_PARTITIONS": "six"}, "SETUPMON_PARTITIONS", id="partitions-word"),
    pytest.param({"SETUPMON_PARTITIONS": "1.5"}, "SETUPMON_PARTITIONS", id="partitions-fraction"),
    pytest.param({"SETUPMON_METRICS_PORT": "http"}, "SETUPMON_METRICS_PORT", id="port-word"),
    pytest.param(
        {"SETUPMON_REPLICATION_FACTOR": "three"}, "SETUPMON_REPLICATION_FACTOR", id="rf-word"
    ),
    pytest.param(
        {"SETUPMON_ALERT_HORIZON_DAYS": "30d"}, "SETUPMON_ALERT_HORIZON_DAYS", id="horizon-unit"
    ),
    pytest.param({"SETUPMON_TICK_SECONDS": "soon"}, "SETUPMON_TICK_SECONDS", id="tick-word"),
    pytest.param({"SETUPMON_PARTITIONS": "0"}, "SETUPMON_PARTITIONS", id="zero-partitions"),
    pytest.param({"SETUPMON_REPLICATION_FACTOR": "0"}, "SETUPMON_REPLICATION_FACTOR", id="zero-rf"),
    pytest.param(
        {"SETUPMON_SECURITY_PROTOCOL": "TLS"}, "SETUPMON_SECURITY_PROTOCOL", id="protocol-tls"
    ),
    pytest.param(
        {"SETUPMON_SECURITY_PROTOCOL": "sasl_ssl"},
        "SETUPMON_SECURITY_PROTOCOL",
        id="protocol-lowercase",
    ),
    pytest.param(
        {**SASL, "SETUPMON_SASL_MECHANISM": "GSSAPI"}, "SETUPMON_SASL_MECHANISM", id="mechanism"
    ),
    pytest.param(
        {**SASL, "SETUPMON_SASL_PASSWORD": ""}, "SETUPMON_SASL_PASSWORD", id="sasl-no-password"
    ),
    pytest.param(
        {**SASL, "SETUPMON_SASL_USERNAME": ""}, "SETUPMON_SASL_USERNAME", id="sasl-no-username"
    ),
    pytest.param(
        {"SETUPMON_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
        "SETUPMON_SASL_USERNAME",
        id="sasl-nothing",
    ),
]


@pytest.mark.parametrize(("environ", "variable"), INVALID)
def test_a_bad_setting_is_a_config_error_naming_its_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(environ)


VALID_SECURITY = [
    pytest.param(SASL, id="sasl-ssl-scram"),
    pytest.param({**SASL, "SETUPMON_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, id="sasl-plaintext"),
    pytest.param({**SASL, "SETUPMON_SASL_MECHANISM": "PLAIN"}, id="sasl-plain"),
    # SSL alone needs no SASL credentials
    pytest.param({"SETUPMON_SECURITY_PROTOCOL": "SSL"}, id="ssl-no-sasl"),
]


@pytest.mark.parametrize("environ", VALID_SECURITY)
def test_valid_security_settings_are_accepted(environ: dict[str, str]) -> None:
    settings = Settings.from_env(environ)
    assert settings.security_protocol == environ["SETUPMON_SECURITY_PROTOCOL"]


SECRETS = {**SASL, "SETUPMON_SSL_KEY_PASSWORD": "k3y-Pa55"}


@pytest.mark.parametrize(
    "show",
    [
        pytest.param(lambda s: repr(s), id="repr"),
        pytest.param(lambda s: str(s), id="str"),
        pytest.param(lambda s: f"{s!r} {s}", id="format"),
        pytest.param(lambda s: str(s.describe()), id="describe"),
    ],
)
def test_printed_settings_never_show_a_secret(show: Callable[[Settings], str]) -> None:
    settings = Settings.from_env(SECRETS)
    text = show(settings)
    assert "s3cr3t-Pa55" not in text
    assert "k3y-Pa55" not in text
    assert "********" in text


DESCRIBED = [
    pytest.param("SETUPMON_SASL_PASSWORD", "********", id="password-masked"),
    pytest.param("SETUPMON_SSL_KEY_PASSWORD", "********", id="key-password-masked"),
    pytest.param("SETUPMON_SASL_USERNAME", "setupmon", id="username-shown"),
    pytest.param("SETUPMON_SECURITY_PROTOCOL", "SASL_SSL", id="protocol-shown"),
    pytest.param("SETUPMON_PARTITIONS", "6", id="int-as-text"),
    pytest.param("SETUPMON_DATA_DIR", ".data/worker", id="path-as-text"),
]


@pytest.mark.parametrize(("variable", "shown"), DESCRIBED)
def test_describe_lists_every_variable_with_secrets_masked(variable: str, shown: str) -> None:
    assert Settings.from_env(SECRETS).describe()[variable] == shown


def test_describe_shows_an_unset_secret_as_empty() -> None:
    described = Settings.from_env({}).describe()
    assert described["SETUPMON_SASL_PASSWORD"] == ""
    assert described["SETUPMON_SSL_KEY_PASSWORD"] == ""


def test_describe_names_every_readme_variable() -> None:
    readme = {
        "SETUPMON_BOOTSTRAP_SERVERS",
        "SETUPMON_SECURITY_PROTOCOL",
        "SETUPMON_SASL_MECHANISM",
        "SETUPMON_SASL_USERNAME",
        "SETUPMON_SASL_PASSWORD",
        "SETUPMON_SSL_CAFILE",
        "SETUPMON_SSL_CERTFILE",
        "SETUPMON_SSL_KEYFILE",
        "SETUPMON_SSL_KEY_PASSWORD",
        "SETUPMON_TOPIC_PREFIX",
        "SETUPMON_PARTITIONS",
        "SETUPMON_REPLICATION_FACTOR",
        "SETUPMON_DATA_DIR",
        "SETUPMON_METRICS_HOST",
        "SETUPMON_METRICS_PORT",
        "SETUPMON_APP_ID",
        "SETUPMON_CALENDAR",
        "SETUPMON_TICK_SECONDS",
    }
    assert readme <= set(Settings.from_env({}).describe())


TOPICS = [
    pytest.param({}, "milestones", "setup.milestones", id="default-prefix"),
    pytest.param({}, "milestones.dlq", "setup.milestones.dlq", id="dlq"),
    pytest.param({}, "study-status", "setup.study-status", id="study-status"),
    pytest.param(
        {"SETUPMON_TOPIC_PREFIX": "trials"}, "alerts", "trials.alerts", id="custom-prefix"
    ),
]


@pytest.mark.parametrize(("environ", "name", "expected"), TOPICS)
def test_topic_names_use_the_prefix(environ: dict[str, str], name: str, expected: str) -> None:
    assert Settings.from_env(environ).topic(name) == expected


def test_from_env_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SETUPMON_PARTITIONS", "9")
    assert Settings.from_env().partitions == 9
