"""`storestack stacks render`: one Pulumi project folder per stack kind, one config file per stack.

The output goes into the user's working tree (default `./stacks-out`), never into the package:

    stacks-out/core/Pulumi.yaml  __main__.py  Pulumi.core.yaml
    stacks-out/store/Pulumi.yaml __main__.py  Pulumi.store-<id>.yaml …

`Pulumi.yaml` and the `__main__.py` shim make plain `pulumi up` in a folder run the installed
program; the Automation API runs the same program inline. Rendering is deterministic and only
rewrites files whose content changed.
"""

from __future__ import annotations

import bisect
import hashlib
import multiprocessing as mp
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from storestack.common.files import atomic_write_text, linked_copy, staged_directory, would_change
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.stacks.config import (
    CONFIG_NAMESPACE,
    CORE_STACK,
    DEFAULT_CORE_REFERENCE,
    STACK_KINDS,
    CoreStackConfig,
    StackKind,
    StoreStackConfig,
    store_stack_name,
)
from storestack.stacks.errors import StackConfigError
from storestack.stacks.mapping import core_config, store_config

DEFAULT_OUT = Path("stacks-out")
_HEADER = "# Rendered by `storestack stacks render` from the inventory. Edit the inventory, not this file.\n"
_SHIM = '''"""Rendered by storestack: runs the installed {kind} stack program, so `pulumi up` works here."""

from storestack.stacks.{kind} import program

program()
'''


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based), as given by `--shard K/N`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index_text, count_text = text.split("/")
            shard = cls(int(index_text), int(count_text))
        except ValueError:
            raise StackConfigError(f"--shard {text!r}: expected K/N, e.g. 2/8") from None
        if not 1 <= shard.index <= shard.count:
            raise StackConfigError(f"--shard {text!r}: K must be between 1 and N")
        return shard

    def owns(self, stack: str, spread: ShardSpread) -> bool:
        return spread.shard_of(stack, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _shard_key(name: str) -> bytes:
    return hashlib.blake2b(name.encode(), digest_size=8).digest()


class ShardSpread:
    """How a fleet's store stacks are spread over N shards: evenly, in a stable hash order.

    The stacks are ranked by a hash of their name and cut into N runs of equal length (give or
    take one), so no shard is empty while there are at least N stores, and adding a store moves
    at most one stack across each boundary. A stack that is not one of `names` (a removed
    store's, to destroy) goes to the shard of its place in that order.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._keys = sorted({_shard_key(name) for name in names})

    @classmethod
    def of(cls, fleet: Fleet) -> ShardSpread:
        return cls(store_stack_name(store.id) for store in fleet)

    def shard_of(self, name: str, count: int) -> int:
        """The 1-based shard of `count` that `name` belongs to."""
        if not self._keys:
            return 1
        position = min(bisect.bisect_left(self._keys, _shard_key(name)), len(self._keys) - 1)
        return position * count // len(self._keys) + 1


@dataclass(frozen=True)
class StackEntry:
    name: str
    kind: StackKind
    folder: Path
    config_file: Path
    action: str  # "up" or "destroy"
    store_id: str | None = None
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.name,
            "kind": self.kind,
            "folder": str(self.folder),
            "config": str(self.config_file),
            "action": self.action,
            **({"store": self.store_id} if self.store_id else {}),
        }


@dataclass
class RenderResult:
    out_dir: Path
    stacks: list[StackEntry] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)

    @property
    def destroy(self) -> list[str]:
        """Stacks to destroy: decommissioned stores, and rendered stacks whose store left the inventory."""
        return sorted({s.name for s in self.stacks if s.action == "destroy"} | set(self.orphaned))


def plan_stacks(
    fleet: Fleet,
    out_dir: Path = DEFAULT_OUT,
    *,
    shard: Shard | None = None,
    core_reference: str = DEFAULT_CORE_REFERENCE,
) -> tuple[list[StackEntry], dict[str, CoreStackConfig | StoreStackConfig]]:
    """Every stack of the fleet (or of one shard) with its config, without writing anything."""
    entries: list[StackEntry] = []
    configs: dict[str, CoreStackConfig | StoreStackConfig] = {}
    core_folder = out_dir / "core"
    entries.append(StackEntry(CORE_STACK, "core", core_folder, core_folder / f"Pulumi.{CORE_STACK}.yaml", "up"))
    configs[CORE_STACK] = core_config(fleet)
    spread = ShardSpread.of(fleet)
    store_folder = out_dir / "store"
    intent = NetworkIntent(fleet)
    for store in fleet:
        name = store_stack_name(store.id)
        if shard is not None and not shard.owns(name, spread):
            continue
        config = store_config(fleet, store, core_reference, intent)
        configs[name] = config
        entries.append(
            StackEntry(
                name,
                "store",
                store_folder,
                store_folder / f"Pulumi.{name}.yaml",
                "destroy" if store.state == "decommissioned" else "up",
                store.id,
                tuple(config.notes),
            )
        )
    return entries, configs


# libyaml's emitter writes the same text as the pure-Python one, about five times faster: for a
# 10,000-store fleet that is most of `stacks render`.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def config_document(config: CoreStackConfig | StoreStackConfig) -> str:
    """The text of a `Pulumi.<stack>.yaml`: the typed config under the `storestack:` namespace,
    and the default providers' settings the stack needs (`provider_config`)."""
    key = f"{CONFIG_NAMESPACE}:{config.kind}"
    data = {"config": {**config.provider_config(), key: config.model_dump(mode="json", exclude_none=True)}}
    return _HEADER + yaml.dump(data, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, width=120)


def project_file(kind: StackKind) -> str:
    return resources.files("storestack.stacks").joinpath(kind, "Pulumi.yaml").read_text(encoding="utf-8")


# Below this many stacks a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 500
_FORKED_CONFIGS: list[CoreStackConfig | StoreStackConfig] = []


def _documents_of(indexes: range) -> list[str]:
    return [config_document(_FORKED_CONFIGS[index]) for index in indexes]


def config_documents(configs: list[CoreStackConfig | StoreStackConfig], workers: int = 1) -> list[str]:
    """`config_document` of each config, in order; big fleets on `workers` forked processes.

    Writing YAML is most of `stacks render` (about 0.7 ms of CPU per store stack), and each
    document is independent of the others.
    """
    if workers <= 1 or len(configs) < _PARALLEL_THRESHOLD or "fork" not in mp.get_all_start_methods():
        return [config_document(config) for config in configs]
    global _FORKED_CONFIGS
    _FORKED_CONFIGS = configs
    size = max(50, len(configs) // (workers * 4))
    chunks = [range(start, min(start + size, len(configs))) for start in range(0, len(configs), size)]
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            return [text for chunk in pool.imap(_documents_of, chunks) for text in chunk]
    finally:
        _FORKED_CONFIGS = []


def render_stacks(
    fleet: Fleet,
    out_dir: Path = DEFAULT_OUT,
    *,
    shard: Shard | None = None,
    core_reference: str = DEFAULT_CORE_REFERENCE,
    workers: int = 1,
) -> RenderResult:
    """Write the project folders and every stack's config; unchanged files are left alone."""
    entries, configs = plan_stacks(fleet, out_dir, shard=shard, core_reference=core_reference)
    result = RenderResult(out_dir=out_dir, stacks=entries)

    files = [
        (out_dir / kind / name, text)
        for kind in STACK_KINDS
        for name, text in (("Pulumi.yaml", project_file(kind)), ("__main__.py", _SHIM.format(kind=kind)))
    ]
    documents = config_documents([configs[entry.name] for entry in entries], workers)
    files += [(entry.config_file, document) for entry, document in zip(entries, documents, strict=True)]
    changed: list[tuple[Path, str]] = []
    for path, text in files:
        if would_change(path, text):
            changed.append((path, text))
        else:
            result.unchanged.append(path)
    if changed:
        # The folder whole or as it was (a run stopped part-way leaves no stack configs of two
        # inventories side by side): each project folder a change touches is staged as a linked
        # copy of itself with the changed files written in, and they take their places together.
        with staged_directory(out_dir) as staging:
            for folder in sorted({path.relative_to(out_dir).parts[0] for path, _ in changed}):
                if (out_dir / folder).is_dir():
                    linked_copy(out_dir / folder, staging / folder)
            for path, text in changed:
                staged = staging / path.relative_to(out_dir)
                staged.unlink(missing_ok=True)  # a link to the file in place: never written through
                atomic_write_text(staged, text, durable=False)
                result.written.append(path)
    result.orphaned = removed_stacks(fleet, out_dir, shard=shard)
    return result


def render_store_stack(
    fleet: Fleet,
    store_id: str,
    out_dir: Path = DEFAULT_OUT,
    *,
    core_reference: str = DEFAULT_CORE_REFERENCE,
) -> tuple[StackEntry, StoreStackConfig, RenderResult]:
    """Write one store's stack config (and the store project files) without rendering the fleet.

    What a rollout of one store needs: the same files `render_stacks` writes for that store, the
    changed ones taking their places together (`staged_directory`): a run stopped part-way, even
    killed outright, leaves no project folder holding part of them.
    """
    store = fleet.store(store_id)
    name = store_stack_name(store.id)
    folder = out_dir / "store"
    config = store_config(fleet, store, core_reference)
    entry = StackEntry(
        name,
        "store",
        folder,
        folder / f"Pulumi.{name}.yaml",
        "destroy" if store.state == "decommissioned" else "up",
        store.id,
        tuple(config.notes),
    )
    result = RenderResult(out_dir=out_dir, stacks=[entry])
    files = (
        (folder / "Pulumi.yaml", project_file("store")),
        (folder / "__main__.py", _SHIM.format(kind="store")),
        (entry.config_file, config_document(config)),
    )
    changed = [(path, text) for path, text in files if would_change(path, text)]
    result.unchanged += [path for path, text in files if (path, text) not in changed]
    if changed:
        with staged_directory(folder) as staging:
            for path, text in changed:
                atomic_write_text(staging / path.name, text, durable=False)
                result.written.append(path)
    return entry, config, result


def removed_stacks(fleet: Fleet, out_dir: Path = DEFAULT_OUT, *, shard: Shard | None = None) -> list[str]:
    """Store stacks whose store left the inventory: pinned in the lock file, or rendered in `out_dir`."""
    known = {store_stack_name(store.id) for store in fleet}
    names = {store_stack_name(store_id) for store_id in fleet.removed}
    for existing in (out_dir / "store").glob("Pulumi.store-*.yaml"):
        names.add(existing.name[len("Pulumi.") : -len(".yaml")])
    spread = ShardSpread.of(fleet)
    return sorted(name for name in names - known if shard is None or shard.owns(name, spread))


def destroy_stacks(fleet: Fleet, out_dir: Path = DEFAULT_OUT, *, shard: Shard | None = None) -> list[str]:
    """Every store stack to destroy: decommissioned stores, and stores that left the inventory."""
    spread = ShardSpread.of(fleet)
    decommissioned = {
        store_stack_name(store.id)
        for store in fleet
        if store.state == "decommissioned"
        and (shard is None or shard.owns(store_stack_name(store.id), spread))
    }
    return sorted(decommissioned | set(removed_stacks(fleet, out_dir, shard=shard)))


def stack_matrix(fleet: Fleet, out_dir: Path = DEFAULT_OUT, *, shards: int = 1) -> dict[str, Any]:
    """A CI matrix: the core stack first, then store stacks split into `shards` even, stable groups.

    Each shard lists the stacks to bring up and, under `destroy`, the stacks of its
    decommissioned stores and of stores that left the inventory.
    """
    if shards < 1:
        raise StackConfigError("--shards must be at least 1")
    entries, _ = plan_stacks(fleet, out_dir)
    core = next(e for e in entries if e.kind == "core")
    spread = ShardSpread.of(fleet)
    doomed = destroy_stacks(fleet, out_dir)
    include = []
    for index in range(1, shards + 1):
        shard = Shard(index, shards)
        owned = [e for e in entries if e.kind == "store" and shard.owns(e.name, spread)]
        include.append(
            {
                "shard": str(shard),
                "stacks": [e.name for e in owned if e.action == "up"],
                "destroy": [name for name in doomed if shard.owns(name, spread)],
            }
        )
    return {"core": core.as_dict(), "include": include}
