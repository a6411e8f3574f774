"""Secret slots: each secret the network intent needs, where it comes from and, only when
revealed, its value.

`resolve_secret_refs` turns the inventory's references into `Secret` slots; a template never
sees a bare secret string, only a slot (how `devices` writes one, redacted or filled in for a
push, is `storestack.devices.secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from pydantic import SecretStr

from storestack.common.errors import InventoryIssue
from storestack.common.records import record
from storestack.common.secretrefs import SecretPolicy, parse_secret_ref, policy_problem, read_secret
from storestack.network.errors import SecretUnavailableError

if TYPE_CHECKING:
    from storestack.inventory.fleet import Fleet

# Characters every platform takes unquoted in a password/key position; no space (ends the
# token), no quote or backslash (FortiOS/VRP quoting), no '?' (IOS context help).
_DEVICE_SECRET = re.compile(r"[A-Za-z0-9._+=@#%^*,:/~-]{1,128}")
_DEVICE_SECRET_CHARACTERS = "characters from A-Z a-z 0-9 . _ + = @ # % ^ * , : / ~ -"
MAX_SECRET_LENGTH = 128

# The floors a secret must reach, whatever a device would take. Every secret but the local
# administrator's password is a key no person types: the fleet's IPsec secret every tunnel's PSK
# derives from, the NTP keys, the SNMPv3 passphrases, the TACACS+ key; at least 16 characters.
# The password is typed at a console when HQ is unreachable: at least 12 characters with an
# upper-case and a lower-case letter, a digit and one of the other characters above, the rule
# Huawei VRP applies to `local-user … password` under a user security policy (NetEngine 8000
# command reference, "local-user password"); IOS-XE (`username … secret`) and FortiOS
# (`config system password-policy`, status disable by default) enforce nothing of their own.
MIN_KEY_LENGTH = 16
MIN_PASSWORD_LENGTH = 12
LOCAL_ADMIN_PASSWORD = "local-admin-password"  # the management.secrets slug of the one password
_PASSWORD_CLASSES = (re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"[0-9]"), re.compile(r"[^A-Za-z0-9]"))
_KEY_RULE = f"{MIN_KEY_LENGTH}-{MAX_SECRET_LENGTH} {_DEVICE_SECRET_CHARACTERS}"
_PASSWORD_RULE = (
    f"{MIN_PASSWORD_LENGTH}-{MAX_SECRET_LENGTH} {_DEVICE_SECRET_CHARACTERS}, with an upper-case and a "
    "lower-case letter, a digit and one of the others"
)


def secret_value_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be the secret `name` (None: it can); never quotes the value. The
    local administrator password (`LOCAL_ADMIN_PASSWORD`) has the password rule, every other
    secret the key rule."""
    if name == LOCAL_ADMIN_PASSWORD:
        strong = len(value) >= MIN_PASSWORD_LENGTH and all(c.search(value) for c in _PASSWORD_CLASSES)
        return None if strong and _DEVICE_SECRET.fullmatch(value) else f"must be {_PASSWORD_RULE}"
    if len(value) < MIN_KEY_LENGTH or not _DEVICE_SECRET.fullmatch(value):
        return f"must be {_KEY_RULE}"
    return None


@record
class SecretPlace:
    """Where a secret's reference is written: a file of the fleet, its line and field
    (`fleet.yaml`, 118, `management.secrets.tacacs-key`)."""

    file: str
    line: int
    field: str

    def issue(self, message: str) -> InventoryIssue:
        return InventoryIssue(self.file, self.line, self.field, message)


@record
class Secret:
    """One secret a config needs: a name for messages, where it comes from, maybe its value,
    and where its reference is written (`where`; None where no file holds it)."""

    name: str
    source: str
    value: SecretStr | None = None
    problem: str | None = None
    where: SecretPlace | None = None

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, source={self.source!r})"

    def reveal(self) -> str:
        """The value for a push file; raises naming the source, and the file, line and field of
        its reference where known, when it is missing or unusable."""
        if self.problem is not None:
            self._refuse(f"secret {self.name!r} ({self.source}): {self.problem}")
        if self.value is None:
            self._refuse(f"secret {self.name!r} is not available ({self.source})")
        return self.value.get_secret_value()

    def _refuse(self, message: str) -> NoReturn:
        if self.where is None:
            raise SecretUnavailableError(message)
        issue = self.where.issue(message)
        raise SecretUnavailableError(str(issue), [issue])

    def unusable(self, problem: str, source: str | None = None) -> Secret:
        """This slot without a value, saying why (`problem`), from where its reference is."""
        return Secret(self.name, self.source if source is None else source, None, problem, self.where)


def device_secret(name: str, source: str, value: str | None, where: SecretPlace | None = None) -> Secret:
    """A secret checked against what a device CLI accepts; the check never echoes the value."""
    if value is None or value == "":
        return Secret(name, source, None, "is not set", where)
    problem = secret_value_problem(name, value)
    if problem is not None:
        return Secret(name, source, None, problem, where)
    return Secret(name, source, SecretStr(value), None, where)


def limited_secret(secret: Secret, max_length: int, rule: str, min_length: int = 0) -> Secret:
    """`secret`, or a slot saying why it cannot be used when its value is longer (or shorter) than
    a platform takes for this kind of key (the check never echoes the value)."""
    if secret.value is not None and not min_length <= len(secret.value.get_secret_value()) <= max_length:
        return secret.unusable(f"must be {rule}")
    return secret


def fleet_secrets(fleet: Fleet, *, reveal: bool) -> dict[str, Secret]:
    """The slots of the fleet's `management.secrets`, each knowing the line of its reference in
    the fleet's file (`resolve_secret_refs`)."""
    management = fleet.spec.management
    places = {
        slug: SecretPlace(fleet.spec_file, fleet.secret_lines.get(slug, 0), f"management.secrets.{slug}")
        for slug in management.secret_refs
    }
    return resolve_secret_refs(management.secret_refs, reveal=reveal, policy=management.secret_policy, places=places)


def resolve_secret_refs(
    refs: Mapping[str, str],
    *,
    reveal: bool,
    policy: SecretPolicy | None = None,
    places: Mapping[str, SecretPlace] | None = None,
) -> dict[str, Secret]:
    """Turn `management.secrets` (slug -> `env:NAME` or `file:/path`) into slots, each with the
    place of its reference from `places` where given.

    Without `reveal` nothing is read at all: a redacted render needs no secrets. A reference
    the fleet's `policy` does not allow is never read, even when revealing.
    """
    policy = policy or SecretPolicy()
    places = places or {}
    slots: dict[str, Secret] = {}
    for slug, text in refs.items():
        where = places.get(slug)
        try:
            ref = parse_secret_ref(text)
        except ValueError:
            # Named by where it sits, never by its text: what is not a reference may be the secret.
            slots[slug] = Secret(
                slug,
                f"management.secrets.{slug}",
                None,
                "is not a secret reference (use env:NAME or file:/absolute/path; value not shown)",
                where,
            )
            continue
        problem = policy_problem(ref, policy)
        if problem is not None:
            slots[slug] = Secret(slug, text, None, problem, where)
        elif reveal:
            value, problem = read_secret(ref, policy)
            slots[slug] = Secret(slug, text, None, problem, where) if problem else device_secret(slug, text, value, where)
        else:
            slots[slug] = Secret(slug, text, None, None, where)
    return slots
