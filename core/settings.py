"""One settings object, read from the environment (`SETUPMON_*`) once.

Every field names its variable and documents itself; secrets are masked when printed, and
each secret can come from a file instead (`SETUPMON_SASL_PASSWORD_FILE`: a secret store's
mount, never the process list or a shell history). A value that cannot be read is an error
naming its variable, never a silent default: `SETUPMON_SMTP_STARTTLS=on` read as false would
send an SMTP login in clear.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.errors import ConfigError

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
TRUE_WORDS = ("true", "yes", "on", "1")  # booleans, any letter case
FALSE_WORDS = ("false", "no", "off", "0")
FILE_SUFFIX = "_FILE"  # SETUPMON_SASL_PASSWORD_FILE holds SETUPMON_SASL_PASSWORD


def setting(env: str, doc: str, *, secret: bool = False) -> dict[str, object]:
    return {"env": env, "doc": doc, "secret": secret}


@dataclass(frozen=True, slots=True)
class Settings:
    bootstrap_servers: str = field(
        default="127.0.0.1:9092",
        metadata=setting("SETUPMON_BOOTSTRAP_SERVERS", "Kafka bootstrap servers, comma-separated"),
    )
    security_protocol: str = field(
        default="PLAINTEXT",
        metadata=setting(
            "SETUPMON_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
        ),
    )
    sasl_mechanism: str = field(
        default="PLAIN",
        metadata=setting("SETUPMON_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    )
    sasl_username: str = field(
        default="", metadata=setting("SETUPMON_SASL_USERNAME", "SASL user name")
    )
    sasl_password: str = field(
        default="",
        metadata=setting("SETUPMON_SASL_PASSWORD", "SASL password", secret=True),
    )
    ssl_cafile: str = field(
        default="", metadata=setting("SETUPMON_SSL_CAFILE", "CA bundle to verify the brokers")
    )
    ssl_certfile: str = field(
        default="", metadata=setting("SETUPMON_SSL_CERTFILE", "client certificate (mutual TLS)")
    )
    ssl_keyfile: str = field(
        default="", metadata=setting("SETUPMON_SSL_KEYFILE", "client private key (mutual TLS)")
    )
    ssl_key_password: str = field(
        default="",
        metadata=setting("SETUPMON_SSL_KEY_PASSWORD", "password of the client key", secret=True),
    )
    topic_prefix: str = field(
        default="setup",
        metadata=setting(
            "SETUPMON_TOPIC_PREFIX", "first part of every topic name (setup.milestones)"
        ),
    )
    partitions: int = field(
        default=6,
        metadata=setting("SETUPMON_PARTITIONS", "partitions of the topics setupmon creates"),
    )
    replication_factor: int = field(
        default=1,
        metadata=setting("SETUPMON_REPLICATION_FACTOR", "replicas of the topics setupmon creates"),
    )
    data_dir: Path = field(
        default=Path(".data/worker"),
        metadata=setting("SETUPMON_DATA_DIR", "local table store (RocksDB) of a worker"),
    )
    metrics_port: int = field(
        default=6066,
        metadata=setting("SETUPMON_METRICS_PORT", "HTTP port of /metrics and /healthz"),
    )
    calendar: str = field(
        default="live",
        metadata=setting(
            "SETUPMON_CALENDAR",
            "live (today in Europe/London) or simulated:YYYY-MM-DD@EPOCHxSECONDS_PER_DAY",
        ),
    )
    tick_seconds: float = field(
        default=30.0,
        metadata=setting(
            "SETUPMON_TICK_SECONDS", "how often a worker checks whether the UK day changed"
        ),
    )
    alert_horizon_days: int = field(
        default=30,
        metadata=setting(
            "SETUPMON_ALERT_HORIZON_DAYS",
            "alerts about days older than this (replayed history) are recorded but not sent",
        ),
    )
    app_id: str = field(
        default="setupmon", metadata=setting("SETUPMON_APP_ID", "Kafka consumer group and app ID")
    )
    session_timeout_seconds: float = field(
        default=15.0,
        metadata=setting(
            "SETUPMON_SESSION_TIMEOUT_SECONDS",
            "how long a silent worker keeps its partitions before the group moves them",
        ),
    )
    smtp_host: str = field(
        default="127.0.0.1", metadata=setting("SETUPMON_SMTP_HOST", "SMTP server for email alerts")
    )
    smtp_port: int = field(default=25, metadata=setting("SETUPMON_SMTP_PORT", "SMTP port"))
    smtp_starttls: bool = field(
        default=False, metadata=setting("SETUPMON_SMTP_STARTTLS", "upgrade SMTP with STARTTLS")
    )
    smtp_cafile: str = field(
        default="",
        metadata=setting(
            "SETUPMON_SMTP_CAFILE", "CA bundle to verify the SMTP server (default: system)"
        ),
    )
    smtp_username: str = field(
        default="", metadata=setting("SETUPMON_SMTP_USERNAME", "SMTP user (empty: no login)")
    )
    smtp_password: str = field(
        default="", metadata=setting("SETUPMON_SMTP_PASSWORD", "SMTP password", secret=True)
    )
    smtp_from: str = field(
        default="setupmon@localhost",
        metadata=setting("SETUPMON_SMTP_FROM", "sender address of alert emails"),
    )
    notify_attempts: int = field(
        default=5,
        metadata=setting(
            "SETUPMON_NOTIFY_ATTEMPTS", "delivery attempts before an alert is undeliverable"
        ),
    )
    notify_backoff_seconds: float = field(
        default=1.0,
        metadata=setting(
            "SETUPMON_NOTIFY_BACKOFF_SECONDS", "first retry delay; doubles each attempt"
        ),
    )
    notify_digest_seconds: float = field(
        default=0.0,
        metadata=setting(
            "SETUPMON_NOTIFY_DIGEST_SECONDS",
            "0: one message per alert; N: one message per contact for the alerts of N seconds",
        ),
    )
    escalate_after_days: int = field(
        default=14,
        metadata=setting(
            "SETUPMON_ESCALATE_AFTER_DAYS",
            "a breach still open after this many days goes to the region",
        ),
    )
    region_contacts: str = field(
        default="",
        metadata=setting(
            "SETUPMON_REGION_CONTACTS",
            "CSV of region,channel,address for escalations (empty: none)",
        ),
    )
    metrics_host: str = field(
        default="127.0.0.1",
        metadata=setting("SETUPMON_METRICS_HOST", "address the metrics server binds to"),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            env = str(spec.metadata["env"])
            raw = environ.get(env)
            if spec.metadata["secret"]:
                raw = _secret(env, raw, environ.get(env + FILE_SUFFIX))
            if raw is None or raw == "":
                continue
            values[spec.name] = _convert(spec.name, env, spec.default, raw)
        settings = cls(**values)  # type: ignore[arg-type] # each value converted to its field's type
        settings.check()
        return settings

    def check(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"SETUPMON_SECURITY_PROTOCOL={self.security_protocol!r}: use one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.security_protocol.startswith("SASL"):
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ConfigError(
                    f"SETUPMON_SASL_MECHANISM={self.sasl_mechanism!r}: use one of {', '.join(SASL_MECHANISMS)}"
                )
            if not self.sasl_username or not self.sasl_password:
                raise ConfigError("SASL needs SETUPMON_SASL_USERNAME and SETUPMON_SASL_PASSWORD")
        if self.partitions < 1 or self.replication_factor < 1:
            raise ConfigError("SETUPMON_PARTITIONS and SETUPMON_REPLICATION_FACTOR must be >= 1")

    def topic(self, name: str) -> str:
        """A full topic name: `topic("milestones")` is `setup.milestones` by default."""
        return f"{self.topic_prefix}.{name}"

    def describe(self) -> dict[str, str]:
        """Every setting by its variable name, secrets masked: safe to print or log."""
        out = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            masked = spec.metadata["secret"] and value
            out[str(spec.metadata["env"])] = "********" if masked else str(value)
        return out

    def __repr__(self) -> str:
        return f"Settings({self.describe()})"


def _secret(env: str, raw: str | None, path: str | None) -> str | None:
    """A secret from its variable or from the file its `_FILE` variable names (one trailing
    newline dropped). Errors name the variables and the file, never the secret."""
    if not path:
        return raw
    if raw:
        raise ConfigError(f"{env} and {env}{FILE_SUFFIX} are both set: use one")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(f"{env}{FILE_SUFFIX}={path!r}: cannot read it ({reason})") from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise ConfigError(f"{env}{FILE_SUFFIX}={path!r}: the file is empty")
    return secret


def _boolean(env: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(
        f"{env}={raw!r} is not a yes/no value: use one of {', '.join(TRUE_WORDS)} "
        f"or {', '.join(FALSE_WORDS)}"
    )


def _convert(name: str, env: str, default: object, raw: str) -> object:
    if isinstance(default, bool):
        return _boolean(env, raw)
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{env}={raw!r}: {name} must be a number") from None
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{env}={raw!r}: {name} must be a whole number") from None
    if isinstance(default, Path):
        return Path(raw)
    return raw


def settings_help() -> str:
    """A table of every variable, for `setupmon config --help` and the README."""
    rows = [
        f"  {spec.metadata['env']:<30} {spec.metadata['doc']} (default: {spec.default!s})"
        for spec in fields(Settings)
    ]
    notes = [
        "",
        f"Yes/no settings take {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS)} (any case);",
        "anything else is an error. Each secret (masked above) can instead be read from a file",
        "named by the same variable with _FILE appended, e.g. SETUPMON_SASL_PASSWORD_FILE.",
    ]
    return "\n".join(rows + notes)
