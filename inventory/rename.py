"""Renaming a store id without renumbering it.

IPAM pins a store's numbers under its id, so a store whose file is renamed by hand looks like
one store removed (its numbers kept in reserve) and a new one (given fresh numbers): every
address of the store would change. `rename_store` moves the lock entry with the id; the
loader's `rename_hints` spots a hand-made rename so validate can point at the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from storestack.common.errors import UsageError
from storestack.common.files import atomic_write_text
from storestack.inventory.errors import InventoryError, InventoryIssue
from storestack.inventory.fleet import Fleet, ResolvedStore
from storestack.inventory.ipam import (
    LOCK_FILE_NAME,
    AllocationTable,
    StoreAllocation,
    read_allocations_with_lines,
    write_allocations,
)
from storestack.inventory.loader import load_fleet_with_allocations
from storestack.inventory.paths import STORES_DIR, refuse_sample_chain_write
from storestack.inventory.source import SourceDocument, read_document
from storestack.inventory.types import describe

_SLUG = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")


@dataclass(frozen=True)
class RenameResult:
    old: str
    new: str
    file_renamed: bool  # False: the file already had the new id; only the lock entry moved
    kept: StoreAllocation
    changed: bool = True  # False: the store was already renamed (the same rename run again)


def _renamed_host(hostname: str, old: str, new: str) -> str:
    return new + hostname[len(old) :] if hostname.startswith(old + "-") else hostname


def _moved(alloc: StoreAllocation, old: str, new: str) -> StoreAllocation:
    return alloc.model_copy(
        update={
            "loopbacks": {_renamed_host(host, old, new): address for host, address in alloc.loopbacks.items()}
        }
    )


def rename_hints(fleet: Fleet, table: AllocationTable) -> dict[str, list[str]]:
    """New (provisional) stores that look like a hand-made rename of a removed store.

    What the lock file keeps of a removed store is compared with the new store: its appliance
    hostnames (with the id swapped), its WAN link names, whether it needs a block, and a pinned
    ASN. Returns new id → the removed ids it matches.
    """
    hints: dict[str, list[str]] = {}
    for new_id in fleet.provisional_stores:
        store = fleet.store(new_id)
        for old_id in fleet.removed:
            if _looks_like(store, old_id, table.stores[old_id]):
                hints.setdefault(new_id, []).append(old_id)
    return hints


def _looks_like(store: ResolvedStore, old_id: str, alloc: StoreAllocation) -> bool:
    hosts = {_renamed_host(appliance.hostname, store.id, old_id) for appliance in store.appliances}
    return (
        hosts == set(alloc.loopbacks)
        and {link.name for link in store.wan} == set(alloc.transit)
        and (store.block is None) == (alloc.block is None)
    )


def rename_store(root: Path, old: str, new: str) -> RenameResult:
    """Rename store `old` to `new` in the fleet at `root`, keeping its IPAM numbers.

    `stores/<old>.yaml` becomes `stores/<new>.yaml` with its id, and hostnames that start with
    `<old>-`, changed; the lock entry moves with it. When `stores/<new>.yaml` already exists (the
    file was renamed by hand) and `old` is a removed store pinned in the lock, only the lock entry
    moves. The fleet is validated afterwards; if it is invalid, every file is put back. Raises
    InventoryError.
    """
    if not _SLUG.fullmatch(new):
        raise _error(f"{describe(new)} is not a store id (a slug)")
    load_fleet_with_allocations(root)  # only a valid fleet is renamed
    refuse_sample_chain_write(root, f"{STORES_DIR}/{old}.yaml")
    lock_path = root / LOCK_FILE_NAME
    old_path, new_path = root / STORES_DIR / f"{old}.yaml", root / STORES_DIR / f"{new}.yaml"
    table, lock = read_allocations_with_lines(lock_path, LOCK_FILE_NAME)
    if old not in table.stores and new in table.stores and not old_path.exists() and new_path.exists():
        # The same rename run again: the numbers and the file are the new id's already.
        return RenameResult(old, new, file_renamed=False, kept=table.stores[new], changed=False)
    if old not in table.stores:
        raise _error(
            f"store {old!r} has no entry in {LOCK_FILE_NAME}: nothing to keep (rename the file)", lock, ("stores",)
        )
    if new in table.stores:
        raise _error(f"store {new!r} already has numbers in {LOCK_FILE_NAME}", lock, ("stores", new))
    originals: dict[Path, str | None] = {
        lock_path: lock_path.read_text(encoding="utf-8"),
        old_path: old_path.read_text(encoding="utf-8") if old_path.exists() else None,
        new_path: new_path.read_text(encoding="utf-8") if new_path.exists() else None,
    }
    file_renamed = originals[old_path] is not None
    if file_renamed and originals[new_path] is not None:
        raise _error(f"both {STORES_DIR}/{old}.yaml and {STORES_DIR}/{new}.yaml exist")
    if not file_renamed and originals[new_path] is None:
        raise _error(f"neither {STORES_DIR}/{old}.yaml nor {STORES_DIR}/{new}.yaml exists")
    kept = _moved(table.stores[old], old, new)
    stores = {store_id: alloc for store_id, alloc in table.stores.items() if store_id != old}
    stores[new] = kept
    new_table = table.model_copy(update={"stores": dict(sorted(stores.items()))})
    try:
        if file_renamed:
            atomic_write_text(new_path, _renamed_text(old_path, originals[old_path] or "", old, new))
        write_allocations(lock_path, new_table)
        if file_renamed:
            old_path.unlink()
        load_fleet_with_allocations(root)
    except BaseException:
        for path, original in originals.items():
            if original is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write_text(path, original)
        raise
    return RenameResult(old, new, file_renamed, kept)


def _renamed_text(path: Path, text: str, old: str, new: str) -> str:
    """The store file with its id and `<old>-` hostnames changed, everything else (comments,
    layout) as it was; checked by reading both back."""
    pattern = re.compile(
        r"(\b(?:id|hostname):[ \t]*[\"']?)" + re.escape(old) + r"(?=[\"'\s,}#-]|$)", re.MULTILINE
    )
    renamed = pattern.sub(lambda match: match.group(1) + new, text)
    before = read_document(path, f"{STORES_DIR}/{old}.yaml").data
    after_path = path.with_name(f".{new}.rename-check")
    try:
        atomic_write_text(after_path, renamed)
        after = read_document(after_path, f"{STORES_DIR}/{new}.yaml").data
    finally:
        after_path.unlink(missing_ok=True)
    expected = dict(before, id=new)
    expected["appliances"] = [
        dict(appliance, hostname=_renamed_host(appliance["hostname"], old, new))
        for appliance in before["appliances"]
    ]
    if after != expected:
        raise _error(
            f"{STORES_DIR}/{old}.yaml: could not rewrite its id and hostnames safely; edit them by hand"
        )
    return renamed


class RenameRefusedError(InventoryError, UsageError):
    """The rename cannot run as asked (not a store id, no numbers to keep, the new id taken):
    nothing was changed, a usage error like an unknown store elsewhere."""


def _error(message: str, document: SourceDocument | None = None, loc: tuple[str, ...] = ()) -> InventoryError:
    """The rename refused: at `loc` of the `document` it is about (the lock file), else in no file."""
    issue = document.issue(loc, message) if document is not None else InventoryIssue("", 0, "", message)
    return RenameRefusedError([issue])
