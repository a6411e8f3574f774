"""Secrets in rendered configs: filled only in files written for a push, `<redacted>` elsewhere.

A template never sees a bare secret string. It sees a `Secret` slot and writes it through the
`secret` filter, which the redacting renderer turns into `<redacted>` without ever reading the
value, and the push renderer into the value after checking it fits on one CLI line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from storestack.devices.errors import SecretUnavailableError

REDACTED = "<redacted>"

# Characters every platform takes unquoted in a password/key position; no space (ends the
# token), no quote or backslash (FortiOS/VRP quoting), no '?' (IOS context help).
_DEVICE_SECRET = re.compile(r"[A-Za-z0-9._+=@#%^*,:/~-]{8,128}")
_DEVICE_SECRET_RULE = "8-128 characters from A-Z a-z 0-9 . _ + = @ # % ^ * , : / ~ -"


@dataclass(frozen=True, slots=True)
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


def env_variable(reference: str) -> str | None:
    """The environment variable an `env:NAME` secret reference names; None for any other form.

    The one reader of secret references: rendering, redaction and the demo all go through it.
    """
    kind, _, name = reference.partition(":")
    return name if kind == "env" and name else None


def resolve_secret_refs(refs: Mapping[str, str], *, reveal: bool) -> dict[str, Secret]:
    """Turn `management.secrets` (slug -> `env:NAME`) into slots.

    Without `reveal` the environment is not read at all: a redacted render needs no secrets.
    """
    slots: dict[str, Secret] = {}
    for slug, ref in refs.items():
        variable = env_variable(ref)
        if variable is None:
            slots[slug] = Secret(slug, ref, None, "unsupported secret reference (use env:NAME)")
            continue
        if reveal:
            slots[slug] = device_secret(slug, ref, os.environ.get(variable))
        else:
            slots[slug] = Secret(slug, ref)
    return slots
