"""What a rendered config's header says of its appliance (`devices/intended.py`
`read_stated_identity`), read back from the configs `devices render` writes for every platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from storestack.devices.intended import read_stated_identity

GOLDEN = Path(__file__).resolve().parent / "golden"
CONFIGS = sorted(GOLDEN.glob("*/*.cfg"))


@pytest.mark.parametrize("config", CONFIGS, ids=[f"{c.parent.name}/{c.name}" for c in CONFIGS])
def test_every_rendered_config_states_its_appliance_platform_role_and_store(config: Path) -> None:
    stated = read_stated_identity(config)
    assert stated is not None
    assert stated.platform == config.parent.name
    header = config.read_text().splitlines()[stated.line - 1]
    if stated.role == "hub":
        assert stated.store_id is None and f"of {stated.name} (hub" in header
    else:
        assert stated.role == "edge" and f"of {stated.name} (store {stated.store_id} " in header
        assert stated.name.startswith(f"{stated.store_id}-")


def test_a_config_written_by_hand_states_nothing(tmp_path: Path) -> None:
    config = tmp_path / "edge1.cfg"
    config.write_text("hostname edge1\n! intended config of edge1 (hub), platform frr\n")
    assert read_stated_identity(config) is None
