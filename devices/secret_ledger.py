"""Which secrets storestack last set on each appliance: keyed fingerprints, never the secrets.

A vendor appliance does not show a secret as it was sent. VRP shows `cipher %^%#…%^%#`, FortiOS
`ENC …`, both salted at random; IOS-XE never shows an SNMPv3 user at all. Reading the running
config therefore cannot tell whether the appliance holds the intended PSK or key. The ledger
can: after a push leaves an appliance matching its intended config, it records a fingerprint of
every secret line of that config. Comparing the next intended config with the ledger tells which
secret lines are unchanged since (the appliance holds them) and which changed or were never set
by storestack (they are sent again).

A fingerprint is HMAC-SHA256 over the appliance's name and the line's path, keyed by a random key
kept next to the ledger (mode 0600 like every file here; one others may read is refused): without the key, a fingerprint cannot be
checked against guessed secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from storestack.common.files import atomic_write_text, private_directory, private_key, read_private_key

DEFAULT_SECRET_LEDGER = Path(".storestack/secrets")
_KEY_FILE = "ledger.key"
_FILE_MODE = 0o600


def fingerprint(key: bytes, appliance: str, path: tuple[str, ...]) -> str:
    """The fingerprint of one secret line (its texts from the top-level line down) on `appliance`."""
    message = "\x1f".join((appliance, *path)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HeldSecrets:
    """The secret lines one appliance is known to hold, for the diff (`configdiff.compute_diff`).

    `everything`: every intended secret line counts as held. Verification after a push uses it:
    each secret line either was just sent or was held before."""

    appliance: str = ""
    key: bytes = b""
    fingerprints: frozenset[str] = field(default_factory=frozenset)
    everything: bool = False
    # The keys of what the device lists of its unshown lines (PlatformDriver.unshown_listing);
    # None: not read.
    listed: frozenset[str] | None = None

    def holds(self, path: tuple[str, ...]) -> bool:
        return self.everything or fingerprint(self.key, self.appliance, path) in self.fingerprints

    def listing(self, listed: frozenset[str] | None) -> HeldSecrets:
        return replace(self, listed=listed)


HELD_AS_SENT = HeldSecrets(everything=True)


class SecretLedger:
    """Fingerprints by appliance under `root` (one JSON file each). Thread-safe; writes are atomic."""

    def __init__(self, root: Path = DEFAULT_SECRET_LEDGER) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._key: bytes | None = None

    def _read_key(self) -> bytes | None:
        """The ledger's key; None where it has none yet. One others may read, or that is no key,
        is refused (`KeyFileError`), never replaced: what it fingerprinted must not be trusted nor
        silently forgotten."""
        if self._key is None:
            self._key = read_private_key(self.root / _KEY_FILE)
        return self._key

    def _new_key(self) -> bytes:
        private_directory(self.root)
        self._key = private_key(self.root / _KEY_FILE)
        return self._key

    def check(self) -> None:
        """Refuse a key file the ledger would refuse (`KeyFileError`), before a run reaches any appliance."""
        with self._lock:
            self._read_key()

    def _file(self, appliance: str) -> Path:
        return self.root / f"{appliance}.json"

    def held(self, appliance: str) -> HeldSecrets:
        """What `appliance` is known to hold; nothing when the ledger has no (readable) record."""
        with self._lock:
            key = self._read_key()
            if key is None:
                return HeldSecrets(appliance=appliance)
            try:
                data = json.loads(self._file(appliance).read_text(encoding="utf-8"))
                recorded = frozenset(str(item) for item in data.get("fingerprints", []))
            except (OSError, ValueError, AttributeError):
                recorded = frozenset()
            return HeldSecrets(appliance=appliance, key=key, fingerprints=recorded)

    def record(self, appliance: str, paths: Iterable[tuple[str, ...]]) -> None:
        """`appliance` now holds exactly these secret lines (its whole intended config's)."""
        paths = list(paths)
        with self._lock:
            if not paths:
                # Nothing to hold: no record (and no ledger key made for it).
                self._file(appliance).unlink(missing_ok=True)
                return
            key = self._read_key() or self._new_key()
            prints = sorted({fingerprint(key, appliance, path) for path in paths})
            text = json.dumps({"appliance": appliance, "fingerprints": prints}, indent=1) + "\n"
            atomic_write_text(self._file(appliance), text, mode=_FILE_MODE)
