"""Keyed digests of a saved plan's secret inputs: what tells a changed secret from an unchanged one.

A saved plan holds every secret input redacted (`[secret]`), so two saved plans alone cannot tell a
rotated VPN tunnel PSK, or an OpenStack VPN gateway's user data with a new peer, from an unchanged
one. Beside each saved plan, `<stack>.digests` holds one digest per resource and secret input:
HMAC-SHA256 over the resource's URN, the input's name and its value, keyed by the plans folder's
random key (`digest.key`, 0600, made with the folder's first digests). Without the key a digest
cannot be checked against guessed secrets; the URN in it keeps two resources that share a secret
from showing equal digests. Neither the key nor a digest is ever printed.

A saved plan without digests (saved before them), or with digests of another key, compares as
`unknown` for its secret inputs, never as unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from storestack.common.files import private_key, read_private_key
from storestack.stacks.checks import redact
from storestack.stacks.mocks import RecordedResource, unwrap_secrets

DIGEST_KEY_FILE = "digest.key"
DIGESTS_SUFFIX = ".digests"
_SECRET = "[secret]"
_KEY_ID_MESSAGE = b"storestack saved-plan digest key"


class SecretDigests(BaseModel):
    """One stack's digests as saved: the key's id (a digest of a fixed text, so digests made with
    another key are told apart, not compared) and, per resource URN, each secret input's digest."""

    key: str
    inputs: dict[str, dict[str, str]]


def _holds_secret(redacted: Any) -> bool:
    if redacted == _SECRET:
        return True
    if isinstance(redacted, dict):
        return any(_holds_secret(v) for v in redacted.values())
    if isinstance(redacted, list):
        return any(_holds_secret(v) for v in redacted)
    return False


def secret_inputs(resource: RecordedResource) -> dict[str, str]:
    """The inputs of `resource` a saved plan redacts (marked secret, or named like one, anywhere in
    the value), each as canonical text of its whole value: what its digest is taken over. Kept in
    memory only."""
    return {
        name: json.dumps(unwrap_secrets(value), sort_keys=True, separators=(",", ":"), default=str)
        for name, value in resource.inputs.items()
        if _holds_secret(redact(value, name))
    }


def key_id(key: bytes) -> str:
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


def digest(key: bytes, urn: str, name: str, text: str) -> str:
    return hmac.new(key, "\x1f".join((urn, name, text)).encode("utf-8"), hashlib.sha256).hexdigest()


def digests_of(key: bytes, inputs: dict[str, dict[str, str]]) -> SecretDigests:
    """The digests of a stack's secret inputs (`secret_inputs` per resource URN)."""
    return SecretDigests(
        key=key_id(key),
        inputs={
            urn: {name: digest(key, urn, name, text) for name, text in sorted(values.items())}
            for urn, values in sorted(inputs.items())
            if values
        },
    )


def digests_text(digests: SecretDigests) -> str:
    return json.dumps(digests.model_dump(), indent=1, sort_keys=True) + "\n"


def digests_path(plans_dir: Path, stack: str) -> Path:
    return plans_dir / f"{stack}{DIGESTS_SUFFIX}"


def load_digests(plans_dir: Path, stack: str, key: bytes | None) -> dict[str, dict[str, str]] | None:
    """A saved plan's digests, per URN; None where they cannot be compared: none saved, unreadable,
    or made with another key (or no key is left)."""
    if key is None:
        return None
    try:
        saved = SecretDigests.model_validate_json(digests_path(plans_dir, stack).read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError):
        return None
    return saved.inputs if hmac.compare_digest(saved.key, key_id(key)) else None


def read_key(plans_dir: Path) -> bytes | None:
    """The plans folder's digest key; None when it has none. One others may read, or that is no
    key, is refused (`KeyFileError`), never used or replaced."""
    return read_private_key(plans_dir / DIGEST_KEY_FILE)


def ensure_key(plans_dir: Path) -> bytes:
    """The plans folder's digest key, made (random, 0600) where it has none (`private_key`: made
    whole, two runs making it at once, a rollout's stores, end up with the same one)."""
    return private_key(plans_dir / DIGEST_KEY_FILE)
