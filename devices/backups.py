"""Running-config backups: `<root>/<store>/<device>/<timestamp>.cfg`, mode 0600, last N kept,
and the changes each appliance reverted by itself (`reverted-changes.txt`).

A backup is taken before anything is changed on an appliance and is what a rollback restores.
Running configs carry secrets, so directories are 0700 and files 0600.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from storestack.common.files import atomic_write_text
from storestack.devices.targets import ApplianceTarget

DEFAULT_BACKUP_ROOT = Path(".storestack/backups")
DEFAULT_KEEP = 10
# Hubs belong to no store; the leading underscore cannot collide with a store id (a slug).
HUB_DIRECTORY = "_hubs"
# Beside an appliance's backups: the sha256 of every intended config it reverted by itself
# (commit-confirm), so the same change is not pushed again without --force.
REVERTED_FILE = "reverted-changes.txt"
_SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class BackupStore:
    def __init__(self, root: Path = DEFAULT_BACKUP_ROOT, *, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise ValueError("keep at least one backup")
        self.root = Path(root)
        self.keep = keep

    def directory(self, target: ApplianceTarget) -> Path:
        store = target.store_id or HUB_DIRECTORY
        for component in (store, target.name):
            if component != HUB_DIRECTORY and not _SAFE_COMPONENT.match(component):
                raise ValueError(f"{component!r} cannot be used as a backup path component")
        return self.root / store / target.name

    def save(
        self, target: ApplianceTarget, running_config: str, *, now: datetime | None = None, durable: bool = True
    ) -> Path:
        """Store one backup and prune old ones; returns the backup's path.

        `durable=False` leaves the flush to disk to `make_durable`, called once a change is
        going to be sent: an appliance left as it was needs no backup that survives a power cut.
        """
        directory = self.directory(target)
        self._make_private_dirs(directory)
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
        path = directory / f"{stamp}.cfg"
        atomic_write_text(path, running_config, mode=0o600, durable=durable)
        self._prune(directory)
        return path

    @staticmethod
    def make_durable(path: Path) -> None:
        """Flush a backup saved with `durable=False` to disk."""
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def backups(self, target: ApplianceTarget) -> list[Path]:
        """Oldest first."""
        directory = self.directory(target)
        if not directory.is_dir():
            return []
        return sorted(directory.glob("*.cfg"))

    def latest(self, target: ApplianceTarget) -> Path | None:
        found = self.backups(target)
        return found[-1] if found else None

    def record_reverted(self, target: ApplianceTarget, digest: str) -> None:
        """Remember an intended config (its sha256) that the appliance reverted by itself."""
        directory = self.directory(target)
        self._make_private_dirs(directory)
        known = self.reverted(target)
        if digest not in known:
            atomic_write_text(
                directory / REVERTED_FILE, "".join(f"{d}\n" for d in [*known, digest]), mode=0o600
            )

    def reverted(self, target: ApplianceTarget) -> list[str]:
        """Digests of intended configs the appliance reverted by itself, oldest first."""
        path = self.directory(target) / REVERTED_FILE
        if not path.is_file():
            return []
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def _prune(self, directory: Path) -> None:
        backups = sorted(directory.glob("*.cfg"))
        for old in backups[: -self.keep]:
            old.unlink(missing_ok=True)

    def _make_private_dirs(self, directory: Path) -> None:
        missing = []
        current = directory
        while not current.exists():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        directory.mkdir(parents=True, exist_ok=True)
        for created in missing:
            os.chmod(created, 0o700)
        # Whatever existed before (e.g. .storestack/backups from an older version) is tightened
        # too: a listing of this tree must not be readable by others.
        for level in (directory, directory.parent, self.root):
            if level.exists() and (level.stat().st_mode & 0o077):
                os.chmod(level, 0o700)
