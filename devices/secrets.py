"""Secrets in rendered configs: filled only in files written for a push, `<redacted>` elsewhere.

A template never sees a bare secret string. It sees a `Secret` slot and writes it through the
`secret` filter, which the redacting renderer turns into `<redacted>` without ever reading the
value, and the push renderer into the value after checking it fits on one CLI line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import SecretStr

from storestack.common.records import record
from storestack.common.secretrefs import SecretPolicy, parse_secret_ref, policy_problem, read_secret
from storestack.network.errors import SecretUnavailableError

REDACTED = "<redacted>"

# Characters every platform takes unquoted in a password/key position; no space (ends the
# token), no quote or backslash (FortiOS/VRP quoting), no '?' (IOS context help).
_DEVICE_SECRET = re.compile(r"[A-Za-z0-9._+=@#%^*,:/~-]{8,128}")
_DEVICE_SECRET_RULE = "8-128 characters from A-Z a-z 0-9 . _ + = @ # % ^ * , : / ~ -"


@record
class Secret:
    """One secret a config needs: a name for messages, where it comes from, maybe its value."""

    name: str
    source: str
    value: SecretStr | None = None
    problem: str | None = None

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, source={self.source!r})"

    def reveal(self) -> str:
        """The value for a push file; raises naming the source when it is missing or unusable."""
        if self.problem is not None:
            raise SecretUnavailableError(f"secret {self.name!r} ({self.source}): {self.problem}")
        if self.value is None:
            raise SecretUnavailableError(f"secret {self.name!r} is not available ({self.source})")
        return self.value.get_secret_value()


def device_secret(name: str, source: str, value: str | None) -> Secret:
    """A secret checked against what a device CLI accepts; the check never echoes the value."""
    if value is None or value == "":
        return Secret(name, source, None, "is not set")
    if not _DEVICE_SECRET.fullmatch(value):
        return Secret(name, source, None, f"must be {_DEVICE_SECRET_RULE}")
    return Secret(name, source, SecretStr(value))


def limited_secret(secret: Secret, max_length: int, rule: str, min_length: int = 0) -> Secret:
    """`secret`, or a slot saying why it cannot be used when its value is longer (or shorter) than
    a platform takes for this kind of key (the check never echoes the value)."""
    if secret.value is not None and not min_length <= len(secret.value.get_secret_value()) <= max_length:
        return Secret(secret.name, secret.source, None, f"must be {rule}")
    return secret


def hex_spelling(value: str) -> str:
    """`value`'s bytes as upper-case hex: how a key file that takes hex keys (chrony's
    `HEX:`) spells the same key a CLI takes as text."""
    return value.encode("ascii").hex().upper()


def hex_secret(secret: Secret) -> Secret:
    """The same secret in its hex spelling (`hex_spelling`): a slot like `secret`, with its
    name, source and any problem kept; nothing is read that `secret` has not read already. A
    value that is not ASCII becomes a slot saying so, as `limited_secret` does for a long one."""
    if secret.value is None:
        return secret
    value = secret.value.get_secret_value()
    if not value.isascii():
        return Secret(secret.name, secret.source, None, "must be ASCII text")
    return Secret(secret.name, secret.source, SecretStr(hex_spelling(value)))


def secret_spellings(value: str) -> tuple[str, ...]:
    """Every spelling of a secret value a rendered file may carry, for redaction by value."""
    return (value, hex_spelling(value)) if value.isascii() else (value,)


def env_variable(reference: str) -> str | None:
    """The environment variable an `env:NAME` secret reference names; None for any other form
    (a `file:` reference, or one that does not parse). Parsed by `common.secretrefs`, the one
    reader of secret references."""
    try:
        ref = parse_secret_ref(reference)
    except ValueError:
        return None
    return ref.target if ref.kind == "env" else None


def resolve_secret_refs(
    refs: Mapping[str, str], *, reveal: bool, policy: SecretPolicy | None = None
) -> dict[str, Secret]:
    """Turn `management.secrets` (slug -> `env:NAME` or `file:/path`) into slots.

    Without `reveal` nothing is read at all: a redacted render needs no secrets. A reference
    the fleet's `policy` does not allow is never read, even when revealing.
    """
    policy = policy or SecretPolicy()
    slots: dict[str, Secret] = {}
    for slug, text in refs.items():
        try:
            ref = parse_secret_ref(text)
        except ValueError:
            slots[slug] = Secret(slug, text, None, "unsupported secret reference (use env:NAME or file:/absolute/path)")
            continue
        problem = policy_problem(ref, policy)
        if problem is not None:
            slots[slug] = Secret(slug, text, None, problem)
        elif reveal:
            value, problem = read_secret(ref, policy)
            slots[slug] = Secret(slug, text, None, problem) if problem else device_secret(slug, text, value)
        else:
            slots[slug] = Secret(slug, text)
    return slots
