"""A hub platform that queues nothing towards the stores (`HUB_NO_UPLINK_QUEUES`: Huawei VRP,
FortiOS) would shape nothing to an `uplink_mbps`: the inventory refuses the rate on such a hub with
the field's file:line and the platform's reason, and takes it on FRR and IOS-XE hubs, which queue
their tunnels below it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.rendering import static_wan_yaml

from storestack.cli.main import cli
from storestack.common.platforms import HUB_NO_UPLINK_QUEUES, HUB_STATIC_PEERS_ONLY, Platform
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.fleet import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.errors import NetworkIntentError

_UPLINK = "        uplink_mbps: 1000\n"


def _chain(tmp_path: Path, platform: Platform) -> Path:
    """The sample chain with both hubs on `platform`, each keeping its `uplink_mbps: 1000`."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    fleet_file = root / "fleet.yaml"
    text = fleet_file.read_text()
    assert text.count("        platform: frr\n") == 2 and text.count(_UPLINK) == 2  # the two hubs
    fleet_file.write_text(text.replace("        platform: frr\n", f"        platform: {platform}\n"))
    if platform in HUB_STATIC_PEERS_ONLY:
        static_wan_yaml(root)  # such a hub serves only statically addressed stores
    return root


def _uplink_lines(root: Path) -> list[int]:
    lines = (root / "fleet.yaml").read_text().splitlines(keepends=True)
    return [number for number, line in enumerate(lines, start=1) if line == _UPLINK]


@pytest.mark.parametrize("platform", ["huawei_vrp", "fortinet"])
def test_a_hub_that_queues_nothing_refuses_an_uplink_rate_at_its_line(tmp_path: Path, platform: Platform) -> None:
    root = _chain(tmp_path, platform)
    first, second = _uplink_lines(root)
    result = CliRunner().invoke(cli, ["inventory", "validate", str(root), "--json"])
    assert result.exit_code == 1, result.output
    reason = HUB_NO_UPLINK_QUEUES[platform]
    assert json.loads(result.stdout)["errors"] == [
        {
            "file": "fleet.yaml",
            "line": line,
            "field": f"sites.hq.hubs[{index}].uplink_mbps",
            "message": f"hub {hub} ({platform}) would shape nothing to 1000 Mbit/s: {reason}; leave uplink_mbps out",
        }
        for index, (line, hub) in enumerate(((first, "hq-hub1"), (second, "hq-hub2")))
    ]
    text = CliRunner().invoke(cli, ["inventory", "validate", str(root)])
    assert text.exit_code == 1
    assert " ".join(text.stderr.split()).startswith(
        f"fleet.yaml:{first} sites.hq.hubs[0].uplink_mbps: hub hq-hub1 ({platform}) would shape nothing"
    )
    # Without the rates the same chain is valid, and the hub still says why it queues nothing.
    fleet_file = root / "fleet.yaml"
    fleet_file.write_text(fleet_file.read_text().replace(_UPLINK, ""))
    fleet = load_fleet(root)
    assert {hub.platform for hub in fleet.hubs.values()} == {platform}
    shown = CliRunner().invoke(cli, ["network", "show", "hq-hub2", "--fleet", str(root)])
    assert shown.exit_code == 0, shown.output
    assert f"queues to the stores none: {reason}" in " ".join(shown.output.split())


@pytest.mark.parametrize("platform", ["frr", "cisco_xe"])
def test_a_hub_that_queues_takes_its_uplink_rate(tmp_path: Path, platform: Platform) -> None:
    fleet = load_fleet(_chain(tmp_path, platform))
    intent = NetworkIntent(fleet)
    assert {name: (hub.platform, intent.hub(name).uplink_mbps) for name, hub in fleet.hubs.items()} == {
        "hq-hub1": (platform, 1000),
        "hq-hub2": (platform, 1000),
    }


@pytest.mark.parametrize("platform", sorted(HUB_NO_UPLINK_QUEUES))
def test_a_fleet_built_in_code_meets_the_same_refusal_in_the_intent(tmp_path: Path, platform: Platform) -> None:
    """A fleet assembled in code skips the inventory's checks; the intent refuses the rate the same way."""
    root = _chain(tmp_path, "frr")
    fleet = load_fleet(root)
    hubs = {name: hub.model_copy(update={"platform": platform}) for name, hub in fleet.hubs.items()}
    built = Fleet(fleet.spec, hubs, {store.id: store for store in fleet}, fleet.root)
    reason = HUB_NO_UPLINK_QUEUES[platform]
    with pytest.raises(NetworkIntentError) as refused:
        NetworkIntent(built).hub("hq-hub1")
    assert str(refused.value) == (
        f"hub hq-hub1 ({platform}) would shape nothing to 1000 Mbit/s: {reason}; leave uplink_mbps out"
    )
