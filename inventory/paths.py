"""Where the built-in sample chain lives, in a checkout and in an installed wheel alike."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def sample_chain_path() -> Path:
    return Path(str(files("storestack.inventory") / "examples" / "sample-chain"))


FLEET_FILE = "fleet.yaml"
STORES_DIR = "stores"
