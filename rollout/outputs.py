"""Where a store's cloud outputs (tunnel addresses, PSKs) come from during a rollout or a drift check.

Live: the store stack's outputs through the Automation API (the Pulumi CLI must be installed).
Planned: no outputs at all. Every render takes the network intent's planned values, the one
planned-values path that `devices push` and `drift` render too (the offline plan's mocks answer
with the same values), so a rollout, its resume and a later drift check all render the same
configs. Every report says when values are planned.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, Literal

from storestack.inventory import Fleet
from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs, psk_values
from storestack.stacks.automation import run_operation
from storestack.stacks.config import CORE_STACK, store_stack_name
from storestack.stacks.device_bridge import outputs_from_core_stack, outputs_from_store_stack

OutputsMode = Literal["live", "planned"]

# The Pulumi mock runtime is process-global: two programs must never run under it at once.
MOCK_RUNTIME = threading.Lock()


def pulumi_cli_available() -> bool:
    return shutil.which("pulumi") is not None


def choose_mode(*, lab: bool) -> OutputsMode:
    """Planned in the lab (there is no cloud behind it) or without the Pulumi CLI; else live."""
    return "live" if not lab and pulumi_cli_available() else "planned"


def to_cloud_outputs(store_id: str, values: dict[str, Any], *, planned: bool) -> StoreCloudOutputs:
    """A store stack's output values (secrets included) as the device templates take them."""
    return outputs_from_store_stack(
        store_id, values.get("tunnels") or [], values.get("tunnel_psks") or {}, planned=planned
    )


class CloudOutputs:
    """Store outputs by store id, fetched once per store and shared by every thread of a run."""

    def __init__(self, fleet: Fleet, mode: OutputsMode, *, stacks_dir: Path, backend: str | None = None) -> None:
        self.fleet = fleet
        self.mode = mode
        self.stacks_dir = stacks_dir
        self.backend = backend
        self._known: dict[str, StoreCloudOutputs] = {}
        self._core: CoreCloudOutputs | None = None
        self._lock = threading.Lock()

    def core(self) -> CoreCloudOutputs | None:
        """The core stack's live outputs (the cloud ends of the hub tunnels), fetched once; None in
        planned mode, where the hubs' cloud peers are the network intent's planned values."""
        if self.mode == "planned":
            return None
        with self._lock:
            if self._core is None:
                result = run_operation("outputs", CORE_STACK, self.stacks_dir, backend=self.backend, keep_values=True)
                self._core = outputs_from_core_stack(result.values, planned=False)
            return self._core

    def remember(self, store_id: str, values: dict[str, Any]) -> StoreCloudOutputs:
        """Record the values an `up` returned, so nothing is fetched twice."""
        outputs = to_cloud_outputs(store_id, values, planned=self.mode == "planned")
        with self._lock:
            self._known[store_id] = outputs
        return outputs

    def get(self, store_id: str) -> StoreCloudOutputs | None:
        """The store's live outputs; None in planned mode: then every render uses the network
        intent's planned values, the same ones `devices push` and `drift` render without outputs
        (one planned-values path)."""
        with self._lock:
            known = self._known.get(store_id)
        if known is not None or self.mode == "planned":
            return known
        result = run_operation(
            "outputs", store_stack_name(store_id), self.stacks_dir, backend=self.backend, keep_values=True
        )
        return self.remember(store_id, result.values)

    def mapping(self, store_ids: list[str]) -> dict[str, StoreCloudOutputs]:
        """The outputs of `store_ids` that exist, as `render_fleet` takes them."""
        found = {store_id: self.get(store_id) for store_id in store_ids}
        return {store_id: outputs for store_id, outputs in found.items() if outputs is not None}

    def known(self) -> dict[str, StoreCloudOutputs]:
        with self._lock:
            return dict(self._known)

    def secret_values(self) -> set[str]:
        """Every PSK fetched so far, for redaction."""
        with self._lock:
            core = self._core
        return psk_values(self.known().values(), core)
