"""Random salts for the stored forms of secrets.

A device keeps a secret it is given in its own form, salted afresh each time the secret is
applied: encrypted (VRP `cipher`, FortiOS `ENC`) or hashed (VRP `irreversible-cipher`, a FortiOS
administrator's password), and shows that form, never the value sent. Which lines carry a secret
and the form each takes are the platform's (its profile module); the randomness is here.
"""

from __future__ import annotations

import base64
import secrets


def salted_text(alphabet: str, length: int) -> str:
    """`length` characters drawn at random from `alphabet`."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def salted_base64(size: int) -> str:
    """`size` random bytes in base64."""
    return base64.b64encode(secrets.token_bytes(size)).decode("ascii")
