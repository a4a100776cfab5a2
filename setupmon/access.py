"""`setupmon access`: add, list and revoke the users of a secured broker and their ACLs.

Passwords never pass through the command line or standard output: `add` reads the new
user's password from `--password-file`, or, when that file does not exist yet, generates
one and writes it there (readable by its owner only) to hand to the user's secret store.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from broker.access import Access
from broker.acls import Role, grants, sponsor_group_prefix, user_name
from broker.topics import TopicNames
from core.errors import ConfigError, InputError
from core.settings import Settings

ID_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def check_name(role: Role, name: str) -> None:
    # sponsor IDs are contract sponsor_ids (letters, digits, _ or -); the others name users,
    # and a `.` or `*` in any of them would blur a prefix ACL
    if not name or not set(name) <= ID_ALPHABET:
        raise InputError(f"{role.value} name {name!r}: use letters, digits, _ or -")


def read_or_create_password(path: Path) -> tuple[str, bool]:
    """The password in `path`, or a new one written there; and whether it was new."""
    if path.exists():
        password = path.read_text(encoding="utf-8").removesuffix("\n")
        if len(password) < 16:
            raise InputError(f"{path}: a password needs at least 16 characters")
        return password, False
    password = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    return password, True


def _admin(settings: Settings) -> Access:
    if not settings.security_protocol.startswith("SASL"):
        raise ConfigError(
            "setupmon access manages SASL users: set SETUPMON_SECURITY_PROTOCOL=SASL_SSL and "
            "an administrator's SETUPMON_SASL_USERNAME and SETUPMON_SASL_PASSWORD(_FILE)"
        )
    return Access(settings)


def add(settings: Settings, role: Role, name: str, password_file: Path) -> str:
    check_name(role, name)
    topics = TopicNames.from_settings(settings)
    user = user_name(role, name)
    granted = grants(role, name, topics, settings.app_id)
    access = _admin(settings)
    password, new = read_or_create_password(password_file)
    access.add(user, password, granted)
    lines = [f"{role.value} {name}: user {user} (SCRAM-SHA-512)"]
    lines += [f"  allow {grant}" for grant in granted]
    if role is Role.SPONSOR:
        lines.append(
            f"  reads {topics.sponsor_status(name)} with consumer groups named "
            f"{sponsor_group_prefix(topics, name)}*"
        )
    source = "new password written to" if new else "password from"
    lines.append(f"  {source} {password_file}")
    return "\n".join(lines)


def revoke(settings: Settings, role: Role, name: str) -> str:
    check_name(role, name)
    user = user_name(role, name)
    removed = _admin(settings).revoke(user)
    return f"revoked {role.value} {name}: user {user} deleted, {removed} ACLs removed"


def listing(settings: Settings) -> str:
    principals = _admin(settings).principals()
    if not principals:
        return "no users and no ACLs"
    lines = []
    for principal in principals.values():
        login = ", ".join(m.replace("_", "-") for m in principal.mechanisms) or "no login"
        lines.append(f"{principal.user} ({login})")
        lines += [f"  allow {grant}" for grant in principal.grants]
    return "\n".join(lines)
