"""Secret slots: each secret the network intent needs, where it comes from and, only when
revealed, its value.

`resolve_secret_refs` turns the inventory's references into `Secret` slots; a template never
sees a bare secret string, only a slot (how `devices` writes one, redacted or filled in for a
push, is `storestack.devices.secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import SecretStr

from storestack.common.records import record
from storestack.common.secretrefs import SecretPolicy, parse_secret_ref, policy_problem, read_secret
from storestack.network.errors import SecretUnavailableError

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
