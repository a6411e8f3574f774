"""What `storestack demo` needs beyond the rollout: a scratch copy of the sample chain, and a
failover drill read straight from the lab (vtysh as root, no SSH).

The demo works on a copy so the sample chain that ships with storestack is never written to.
It sits next to the command (`cli/demo.py`), not in the rollout engine: nothing but the demo uses
it, and the engine should not carry a show's props. It prints nothing; the command does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from storestack.devices.secrets import env_variable
from storestack.inventory import Fleet, sample_chain_path
from storestack.lab import vtysh
from storestack.rollout.environment import LabLinks
from storestack.rollout.verify import Check, StoreVerifier, expectation, failover_checks, hq_prefix


@dataclass(frozen=True)
class DemoWorkspace:
    root: Path

    @property
    def fleet(self) -> Path:
        return self.root / "fleet"

    @property
    def stacks(self) -> Path:
        return self.root / "stacks-out"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def lab(self) -> Path:
        return self.root / "lab"


def prepare_workspace(root: Path) -> DemoWorkspace:
    """A fresh copy of the sample chain under `root` (plans and journals of earlier demos stay)."""
    workspace = DemoWorkspace(root)
    shutil.rmtree(workspace.fleet, ignore_errors=True)
    shutil.copytree(sample_chain_path(), workspace.fleet)
    return workspace


def secret_variables(fleet: Fleet) -> list[str]:
    """Environment variables the fleet's device secrets are read from (`env:NAME` references)."""
    names = {env_variable(reference) for reference in fleet.spec.management.secrets.values()}
    return sorted(name for name in names if name is not None)


class LabProbe:
    """Show commands run in the lab with vtysh directly (root), for displays outside a rollout."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def show(self, appliance: str, command: str) -> str:
        return vtysh(self.state_dir, appliance, command)

    def show_many(self, appliance: str, commands: Sequence[str]) -> list[str]:
        return [self.show(appliance, command) for command in commands]


def failover_store(fleet: Fleet, emulated: set[str]) -> str | None:
    """The first store the lab runs on FRR with a primary and a backup link: it shows the drill best."""
    for store in fleet:
        edge_on_frr = bool(store.appliances) and store.appliances[0].hostname not in emulated
        if edge_on_frr and len(store.wan) > 1 and not store.lte_only and any(link.primary for link in store.wan):
            return store.id
    return None


def failover_drill(
    fleet: Fleet,
    lab_dir: Path,
    store_id: str,
    *,
    timeout: float = 30.0,
    on_progress: Callable[[str], None] | None = None,
) -> tuple[list[Check], Callable[[], set[str]]]:
    """Fail the store's primary link and restore it; returns the checks and a reader of the HQ route."""
    probe = LabProbe(lab_dir)
    store = fleet.store(store_id)
    verifier = StoreVerifier(
        expectation(store),
        probe,
        {store.appliances[0].hostname: store.appliances[0].platform, **{h: fleet.hubs[h].platform for h in store.hubs}},
    )
    prefix = hq_prefix(fleet)
    checks = failover_checks(verifier, LabLinks(lab_dir), prefix, timeout=timeout, on_progress=on_progress)
    return checks, lambda: verifier.hq_route_interfaces(prefix)
