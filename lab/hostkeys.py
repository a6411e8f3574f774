"""OpenSSH host key fingerprints, as `ssh-keygen -l -E sha256` prints them."""

from __future__ import annotations

import base64
import hashlib


def openssh_fingerprint(public_key_line: str) -> str:
    """'SHA256:<base64, unpadded>' of an OpenSSH public key line ('ssh-ed25519 AAAA… comment')."""
    parts = public_key_line.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line")
    blob = base64.b64decode(parts[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"
