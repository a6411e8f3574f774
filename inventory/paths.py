"""Where the built-in sample chain lives, in a checkout and in an installed wheel alike."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from storestack.inventory.errors import InventoryIssue, ReadOnlyFleetError


def sample_chain_path() -> Path:
    return Path(str(files("storestack.inventory") / "examples" / "sample-chain"))


FLEET_FILE = "fleet.yaml"
STORES_DIR = "stores"


def refuse_sample_chain_write(root: Path, file: str) -> None:
    """Raise ReadOnlyFleetError when `root` is the sample chain that ships with storestack: a
    command that writes `file` there would change the package itself (for every later run and
    user, or fail half way on a read-only install)."""
    if Path(root).resolve() == sample_chain_path().resolve():
        raise ReadOnlyFleetError([
            InventoryIssue(
                file, 0, "",
                f"the sample chain that ships with storestack is read-only; copy it "
                f"(cp -r {sample_chain_path()} my-fleet) and pass --fleet my-fleet",
            )
        ])
