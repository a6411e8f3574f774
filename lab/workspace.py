"""A scratch workspace to run the sample chain in the lab (`storestack demo`): a copy of the
chain beside the stacks, state and lab folders of its run, and throwaway values for the device
secrets the environment does not set, so the chain runs with no real ones.

The copy keeps the sample chain that ships with storestack from ever being written to. Nothing
here prints; the throwaway values are never returned to a caller that shows them, only their
variables' names.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from storestack.common.ntp import NTP_KEY_LENGTHS
from storestack.devices.secrets import env_variable
from storestack.inventory import Fleet, sample_chain_path


@dataclass(frozen=True)
class DemoWorkspace:
    """The folders of one demo run under `root`: the chain's copy, its stacks, state and lab."""

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
    names = {env_variable(reference) for reference in fleet.spec.management.secret_refs.values()}
    return sorted(name for name in names if name is not None)


def throwaway_secret(fleet: Fleet, name: str) -> str:
    """A throwaway value for the device secret read from variable `name`, of a length the secret
    takes: an NTP key as long as its algorithm requires (AES-128-CMAC: exactly 16 characters)."""
    # "Demo.1": every character class, so the value passes the local password's rule too
    # (`network.secrets.secret_value_problem`) whatever the random part holds.
    value = "Demo.1" + secrets.token_urlsafe(24).replace("-", "x")
    management = fleet.spec.management
    for key in management.ntp_keys:
        if env_variable(management.secret_refs.get(key.secret, "")) == name:
            return value[: NTP_KEY_LENGTHS[key.algorithm][1]]
    return value[:21]


def fill_throwaway_secrets(fleet: Fleet) -> list[str]:
    """Give every secret variable of the fleet the environment does not set a throwaway value
    (`throwaway_secret`), for this process only; the names of the variables set, never their values."""
    generated = [name for name in secret_variables(fleet) if not os.environ.get(name)]
    for name in generated:
        os.environ[name] = throwaway_secret(fleet, name)
    return generated
