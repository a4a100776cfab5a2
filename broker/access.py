"""Users and ACLs on a secured broker, through the Kafka Admin API (`setupmon access`).

aiokafka's admin client has no ACL or SCRAM calls, so this module uses confluent-kafka's
(librdkafka) AdminClient; it is the only one that imports it. The caller connects as an
administrator (a super user, or one allowed ALTER on the cluster).

Adding a principal upserts its SCRAM-SHA-512 credential, then its ACLs (broker/acls.py).
Revoking deletes its ACLs first, which the broker applies to every request from then on,
also on connections already open, and then its credential, so it cannot log in again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from broker.acls import Grant
from core.errors import SetupmonError
from core.settings import Settings

SCRAM_ITERATIONS = 8192  # the broker's minimum for SCRAM-SHA-512 is 4096
TIMEOUT_SECONDS = 30.0
RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}


class AccessError(SetupmonError):
    """The broker refused or failed an access change (the reason never holds a password)."""


@dataclass
class Principal:
    user: str
    mechanisms: list[str] = field(default_factory=list)  # SCRAM credentials it has
    grants: list[Grant] = field(default_factory=list)


def admin_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's names for the connection settings (broker/client.py's, for aiokafka)."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
    }
    if settings.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = settings.sasl_mechanism
        config["sasl.username"] = settings.sasl_username
        config["sasl.password"] = settings.sasl_password
    optional = {
        "ssl.ca.location": settings.ssl_cafile,
        "ssl.certificate.location": settings.ssl_certfile,
        "ssl.key.location": settings.ssl_keyfile,
        "ssl.key.password": settings.ssl_key_password,
    }
    config.update({key: value for key, value in optional.items() if value})
    return config


def _binding(user: str, grant: Grant) -> AclBinding:
    return AclBinding(
        RESOURCES[grant.resource],
        grant.name,
        ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
        f"User:{user}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def _grant(binding: AclBinding) -> Grant:
    return Grant(
        ResourceType(binding.restype).name.lower(),
        binding.name,
        binding.resource_pattern_type == ResourcePatternType.PREFIXED,
        AclOperation(binding.operation).name,
    )


def _everything_of(user: str | None) -> AclBindingFilter:
    anything: Any = None  # a filter's None matches any value (the hints say str)
    return AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        anything if user is None else f"User:{user}",
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


class Access:
    def __init__(self, settings: Settings) -> None:
        self.admin = AdminClient(admin_config(settings))

    def _wait(self, futures: Any, doing: str) -> Any:
        try:
            if isinstance(futures, dict):
                return [future.result(TIMEOUT_SECONDS) for future in futures.values()]
            return futures.result(TIMEOUT_SECONDS)
        except KafkaException as exc:
            raise AccessError(f"{doing}: {exc.args[0].str()}") from None
        except TimeoutError:
            raise AccessError(f"{doing}: no answer in {TIMEOUT_SECONDS:.0f} s") from None

    def add(self, user: str, password: str, grants: list[Grant]) -> None:
        """Create or update `user` with this password, and grant it exactly `grants`
        (any other ACL of the user is removed)."""
        credential = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upsert = UserScramCredentialUpsertion(user, credential, password.encode())
        self._wait(self.admin.alter_user_scram_credentials([upsert]), f"setting {user}'s password")
        current = {_grant(b) for b in self._bindings(user)}
        stale = [_binding(user, g) for g in current - set(grants)]
        if stale:
            filters = [_filter(b) for b in stale]
            self._wait(self.admin.delete_acls(filters), f"removing {user}'s old ACLs")
        self._wait(
            self.admin.create_acls([_binding(user, g) for g in grants]), f"granting {user}"
        )

    def revoke(self, user: str) -> int:
        """Remove every ACL of `user`, then its credentials; returns how many ACLs went."""
        deleted = self._wait(
            self.admin.delete_acls([_everything_of(user)]), f"removing {user}'s ACLs"
        )
        count = sum(len(bindings) for bindings in deleted)
        self._until_gone(user)
        known = self.principals()
        mechanisms = known[user].mechanisms if user in known else []
        if mechanisms:
            deletions: list[UserScramCredentialAlteration] = [
                UserScramCredentialDeletion(user, ScramMechanism[m]) for m in mechanisms
            ]
            self._wait(
                self.admin.alter_user_scram_credentials(deletions), f"removing {user}'s login"
            )
        elif not count:
            raise AccessError(f"no user {user!r} and no ACLs for it")
        return count

    def _until_gone(self, user: str) -> None:
        # the controller has committed the deletion; wait until the broker's authorizer
        # (which answers DescribeAcls) has applied it too, so "revoked" means refused
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while self._bindings(user):
            if time.monotonic() > deadline:
                raise AccessError(f"{user}'s ACLs still listed {TIMEOUT_SECONDS:.0f} s after removal")
            time.sleep(0.1)

    def principals(self) -> dict[str, Principal]:
        """Every SCRAM user and every principal with an ACL, by user name."""
        found: dict[str, Principal] = defaultdict(lambda: Principal(""))
        users = self._wait(self.admin.describe_user_scram_credentials(), "listing users")
        for user, description in users.items():
            found[user].mechanisms = [
                info.mechanism.name for info in description.scram_credential_infos
            ]
        for binding in self._bindings(None):
            found[binding.principal.removeprefix("User:")].grants.append(_grant(binding))
        for user, principal in found.items():
            principal.user = user
            principal.grants.sort()
        return dict(sorted(found.items()))

    def _bindings(self, user: str | None) -> list[AclBinding]:
        return list(self._wait(self.admin.describe_acls(_everything_of(user)), "listing ACLs"))


def _filter(binding: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )
