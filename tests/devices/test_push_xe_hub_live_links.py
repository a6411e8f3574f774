"""An IOS-XE hub's store links that dialled in over FlexVPN live on virtual-access interfaces the
hub cloned for them, configured from each link's AAA attribute list when the link dialled in: a
push that changes the attribute list leaves the live link as it was.

A store moved from IOS-XE to Huawei VRP (one FQDN IKE identity per device) keeps its FQDN on
one link; its static fibre link is known by its address after the change, and the hub serves
it on a static tunnel interface with the same overlay /31. While the old IOS-XE box is still
online its virtual-access holds that /31, and the tunnel's `ip address` was refused ("%
overlaps with Virtual-Access2"): the hub's push failed and rolled back. The push now ends the
old link's session first, once the hub no longer authorizes it, and the tunnel takes the /31;
the store's other link, whose attribute list the push keeps, stays up untouched.

The vendor emulator's IOS-XE hub authorizes a link that dials in as the hub's config says
(keyring peer, authorization policy, attribute list) and refuses an address whose subnet a live
virtual-access holds (`lab/emulator/profiles/cisco_xe.py` `LIVE_LINKS`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from testsupport.cli import cli_runner
from testsupport.rendering import edited_sample_chain, hubs_on_yaml

from storestack.cli.main import cli
from storestack.devices.render import render_hub
from storestack.inventory import load_fleet
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread

# nw-0002: a static fibre link (wan1, 198.51.100.6) and an LTE link, homed on hq-hub2; hq-hub1
# is its backup. The LTE link's outside address is the carrier's: any.
FIBRE = "198.51.100.6"
LTE = "192.0.2.77"


def _chain(root: Path, platform: str) -> Path:
    chain = edited_sample_chain(root, "platform: frr", f"platform: {platform}", "stores/nw-0002.yaml")
    hubs_on_yaml(chain, "cisco_xe", "cisco_xe")  # type: ignore[arg-type]
    return chain


def _identity(config: str, peer: str) -> str:
    """The FQDN a store link's keyring peer names in a hub's config."""
    found = re.search(rf"^ peer {peer}\n  identity fqdn (\S+)$", config, re.MULTILINE)
    assert found is not None, peer
    return found[1]


def _address(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("ip address "))


def test_a_store_moved_to_vrp_gets_its_static_tunnel_while_the_old_box_is_online(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = cli_runner(monkeypatch, tmp_path)  # the fleet's secrets set
    before, after = _chain(tmp_path / "before", "cisco_xe"), _chain(tmp_path / "after", "huawei_vrp")
    old, new = load_fleet(before), load_fleet(after)
    running = render_hub(old, "hq-hub1", reveal_secrets=True).text
    intended = render_hub(new, "hq-hub1", reveal_secrets=True).text
    fibre, lte = _identity(running, "nw-0002-wan1"), _identity(running, "nw-0002-lte1")
    # The static tunnel takes the /31 the fibre link's attribute list gave its virtual-access.
    taken = re.search(r"^interface (Tunnel\d+)\n description ipsec nw-0002-wan1-hq-hub1 .*\n (ip address \S+ \S+)$", intended, re.MULTILINE)
    assert taken is not None and f'"{taken[2]}"' in running
    hub = EmulatedDevice(name="hq-hub1", platform="cisco_xe", role="hub", running_config=running)
    with EmulatorThread(Emulator([hub], state_dir=tmp_path / "emulator")) as emulator:
        # The old IOS-XE box is online: both its links dialled in.
        assert emulator.dial_in("hq-hub1", fibre, FIBRE) is not None
        assert emulator.dial_in("hq-hub1", lte, LTE) is not None
        up = emulator.live_links("hq-hub1")
        assert _address(up[fibre][1:]) == taken[2]
        lte_before = up[lte]

        result = runner.invoke(cli, [
            "devices", "push", "--fleet", str(after), "--targets", str(emulator.inventory_path),
            "--state-dir", str(tmp_path / "state"), "--read-timeout", "3", "--conn-timeout", "3",
            "--health-timeout", "2", "--json",
        ])
        assert result.exit_code == 0, result.output
        (device,) = json.loads(result.stdout)["devices"]
        assert device["outcome"] == "changed", device
        remediation: list[str] = device["remediation"]
        cleared = remediation.index(f"do clear crypto session remote {FIBRE}")
        # After what would let the old link dial back in is gone, before the tunnel takes its /31.
        assert remediation.index("no aaa attribute list nw-0002-wan1") < cleared
        assert remediation.index(f"interface {taken[1]}") > cleared
        assert f"interface {taken[1]}\n description ipsec nw-0002-wan1-hq-hub1" in emulator.running_config("hq-hub1")
        assert f" {taken[2]}\n" in emulator.running_config("hq-hub1")

        live = emulator.live_links("hq-hub1")
        # The old box's fibre link is refused now (no keyring peer, no authorization policy):
        # the /31 is the tunnel's alone; its LTE link, whose attribute list stays, was not touched.
        assert fibre not in live
        assert live[lte] == lte_before
