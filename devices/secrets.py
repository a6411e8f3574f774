"""Secrets in rendered configs: filled only in files written for a push, `<redacted>` elsewhere.

A template never sees a bare secret string. It sees a `Secret` slot (`storestack.network.secrets`,
where the intent resolves them) and writes it through the `secret` filter, which the redacting
renderer turns into `<redacted>` without ever reading the value, and the push renderer into the
value after checking it fits on one CLI line.
"""

from __future__ import annotations

from pydantic import SecretStr

from storestack.common.secretrefs import parse_secret_ref
from storestack.network.secrets import Secret

REDACTED = "<redacted>"


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
        return secret.unusable("must be ASCII text")
    return Secret(secret.name, secret.source, SecretStr(hex_spelling(value)), where=secret.where)


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
