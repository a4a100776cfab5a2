"""Settings fail loudly: yes/no spellings, and secrets read from files (core/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings, settings_help
from setupmon.cli import main

ACCEPTED = [
    *[pytest.param(word, True, id=f"true-{word}") for word in ("true", "yes", "on", "1")],
    *[pytest.param(word, False, id=f"false-{word}") for word in ("false", "no", "off", "0")],
    pytest.param("ON", True, id="upper-case"),
    pytest.param("True", True, id="title-case"),
    pytest.param(" yes\n", True, id="surrounding-space"),
    pytest.param("OFF", False, id="upper-off"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_every_accepted_spelling_of_a_yes_no_setting(raw: str, expected: bool) -> None:
    assert Settings.from_env({"SETUPMON_SMTP_STARTTLS": raw}).smtp_starttls is expected


@pytest.mark.parametrize("raw", ["treu", "enabled", "2", "y", "n", "ja", "true!", "-1"])
def test_any_other_spelling_is_an_error_naming_the_variable(raw: str) -> None:
    # before: SETUPMON_SMTP_STARTTLS=on was read as false and the SMTP login went in clear
    with pytest.raises(ConfigError, match="SETUPMON_SMTP_STARTTLS") as caught:
        Settings.from_env({"SETUPMON_SMTP_STARTTLS": raw})
    assert "on" in str(caught.value) and "off" in str(caught.value)


def test_the_cli_refuses_to_start_on_a_misspelt_boolean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETUPMON_SMTP_STARTTLS", "treu")
    assert main(["config"]) == 1
    assert "SETUPMON_SMTP_STARTTLS='treu'" in capsys.readouterr().err


def test_help_lists_the_accepted_spellings_and_the_file_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["config", "--help"])
    shown = capsys.readouterr().out
    for word in ("true, yes, on, 1", "false, no, off, 0", "SETUPMON_SASL_PASSWORD_FILE"):
        assert word in shown
    assert "true, yes, on, 1" in settings_help()


SECRET = "f1le-S3cret-value"  # noqa: S105 - a test value


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "secret"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("SETUPMON_SASL_PASSWORD", "sasl_password"),
        ("SETUPMON_SSL_KEY_PASSWORD", "ssl_key_password"),
        ("SETUPMON_SMTP_PASSWORD", "smtp_password"),
    ],
)
def test_a_secret_can_come_from_a_file(tmp_path: Path, variable: str, name: str) -> None:
    settings = Settings.from_env({f"{variable}_FILE": write(tmp_path, SECRET + "\n")})
    assert getattr(settings, name) == SECRET  # the file's trailing newline is not part of it
    assert settings.describe()[variable] == "********"
    assert SECRET not in repr(settings)


def test_sasl_credentials_from_a_file_satisfy_the_sasl_check(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SETUPMON_SECURITY_PROTOCOL": "SASL_SSL",
            "SETUPMON_SASL_MECHANISM": "SCRAM-SHA-512",
            "SETUPMON_SASL_USERNAME": "sponsor.acme",
            "SETUPMON_SASL_PASSWORD_FILE": write(tmp_path, SECRET),
        }
    )
    assert settings.sasl_password == SECRET


def test_a_secret_and_its_file_together_are_an_error(tmp_path: Path) -> None:
    environ = {
        "SETUPMON_SASL_PASSWORD": SECRET,
        "SETUPMON_SASL_PASSWORD_FILE": write(tmp_path, "other"),
    }
    with pytest.raises(ConfigError, match="SETUPMON_SASL_PASSWORD_FILE are both set") as caught:
        Settings.from_env(environ)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda d: str(d / "missing"), "No such file", id="missing"),
        pytest.param(lambda d: write(d, ""), "empty", id="empty"),
        pytest.param(lambda d: str(d), "Is a directory", id="directory"),
    ],
)
def test_an_unreadable_secret_file_is_an_error_naming_the_variable(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match="SETUPMON_SASL_PASSWORD_FILE") as caught:
        Settings.from_env({"SETUPMON_SASL_PASSWORD_FILE": path})
    assert reason in str(caught.value)
