"""SSH host key verification against recorded OpenSSH SHA256 fingerprints.

Netmiko (through paramiko's AutoAddPolicy) accepts any host key by default. We install our
own policy instead: paramiko calls it after key exchange and before authentication, so when a
key is unknown or has changed we refuse before any password leaves this machine.

Keys learned with --trust-on-first-use are kept in a small store (`.storestack/known_hosts.json`)
and verified like inventory fingerprints on every later run. A key that differs from a recorded
one is always refused, with or without trust-on-first-use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import paramiko

from storestack.common.files import atomic_write_text
from storestack.devices.errors import HostKeyError

DEFAULT_KNOWN_HOSTS = Path(".storestack/known_hosts.json")


def openssh_fingerprint(key_blob: bytes) -> str:
    """'SHA256:<base64, unpadded>' of a public key blob, as `ssh-keygen -l -E sha256` prints it.

    The one fingerprint function: the push engine checks presented keys with it and the lab
    records the keys it generates with it, so the two always agree.
    """
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def key_fingerprint(key: paramiko.PKey) -> str:
    """The fingerprint of a key an SSH server presented."""
    return openssh_fingerprint(key.asbytes())


def public_key_line_fingerprint(public_key_line: str) -> str:
    """The fingerprint of an OpenSSH public key line ('ssh-ed25519 AAAA… comment')."""
    parts = public_key_line.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line")
    return openssh_fingerprint(base64.b64decode(parts[1]))


class KnownHostKeys:
    """Fingerprints learned on first use, by `host:port`. Thread-safe; writes are atomic."""

    def __init__(self, path: Path = DEFAULT_KNOWN_HOSTS) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, host: str, port: int) -> str | None:
        with self._lock:
            return self._read().get(f"{host}:{port}")

    def record(self, host: str, port: int, fingerprint: str) -> None:
        with self._lock:
            data = self._read()
            data[f"{host}:{port}"] = fingerprint
            atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o600)


class FingerprintPolicy(paramiko.MissingHostKeyPolicy):
    """Accept the server's key only when it matches the expected fingerprint.

    With no expected fingerprint, the key is refused unless trust-on-first-use is on; then it
    is accepted and `learned` holds its fingerprint for the caller to record.
    """

    def __init__(self, appliance: str, expected: str | None, *, trust_on_first_use: bool) -> None:
        self.appliance = appliance
        self.expected = expected
        self.trust_on_first_use = trust_on_first_use
        self.presented: str | None = None
        self.learned: str | None = None

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        presented = key_fingerprint(key)
        self.presented = presented
        if self.expected is None:
            if self.trust_on_first_use:
                self.learned = presented
                return
            raise HostKeyError(
                f"{self.appliance}: host key {presented} is not recorded; refusing to log in "
                "(record its fingerprint in the appliance inventory, or use --trust-on-first-use)",
                presented=presented,
                expected=None,
            )
        if not hmac.compare_digest(presented.encode(), self.expected.encode()):
            raise HostKeyError(
                f"{self.appliance}: HOST KEY CHANGED: presented {presented}, recorded {self.expected}; "
                "refusing to log in (someone may be intercepting, or the appliance was replaced)",
                presented=presented,
                expected=self.expected,
            )
