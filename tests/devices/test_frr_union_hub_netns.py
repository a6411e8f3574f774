"""A hub's first push of a fleet change carries both the store tunnels it kept and those it
gained, with packets, on a real kernel; the first push of the hub whose tunnels change carries
the old ones as the stores still use them.

Removing hq-hub2 of three (`hub_removed_chain`): hq-hub1's first config (`held_over`) keeps its
own stores' tunnels and gains the backup tunnels of hq-hub2's stores, now homed on hq-hub3;
hq-hub3's keeps those stores' tunnels in their old form and gains hq-hub1's stores' backups. The
hub of testsupport/hub_netns.py with each union's rendered nftables ruleset and routing batch
loaded: a store's own source reaches HQ through each of its tunnels, kept or gained, and another
store's source on it does not. Adding hq-hub3 instead, hq-hub1's last push, made from its first
config on the running host, takes away the tunnels it drops and leaves the rest carrying packets.

Not covered here: the IKE and BGP ends of the tunnels (a veth pair stands for each SA, FRR for
nothing); tests/devices/test_push_order.py counts the BGP sessions in service at every step."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from testsupport.hub_netns import PROBE, hub_namespaces, on_this_kernel, probe_command, run
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, hub_removed_chain, three_hub_chain

from storestack.devices import frr_confirm
from storestack.devices.render import render_change_hubs, render_hub
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path

# An office host of nw-0001 (kept by hq-hub1, gained by hq-hub3) and of nw-0002 (gained by hq-hub1,
# kept in its old form by hq-hub3), and the far ends of their wired tunnels (`t<if_id>`).
NW1, NW2 = "10.64.0.70", "10.64.2.70"
TUNNELS = {"nw-0001-wan1": "t1", "nw-0002-wan1": "t3"}


@pytest.mark.parametrize("hub", ["hq-hub1", "hq-hub3"])
def test_a_union_hub_carries_the_tunnels_it_kept_and_gained(
    hub: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before = load_fleet(three_hub_chain(tmp_path / "before"))
    after = load_fleet(hub_removed_chain(tmp_path / "after"))
    (union,) = render_change_hubs(before, after, [hub])
    files = dict(union.companions)
    with hub_namespaces("un", (NW1, NW2)) as namespaces:
        routing = tmp_path / "routing"
        routing.write_text(on_this_kernel(files["routing"], namespaces.store))
        ruleset = tmp_path / "nftables.conf"
        ruleset.write_text(files["nftables.conf"])
        run("ip", "-n", namespaces.hub, "-force", "-batch", str(routing))
        run("ip", "netns", "exec", namespaces.hub, "nft", "-f", str(ruleset))
        log = tmp_path / "probe.log"
        script = tmp_path / "probe.py"
        script.write_text(PROBE)
        for step, source, tunnel in (
            ("nw-0001 own", NW1, "nw-0001-wan1"),
            ("nw-0002 own", NW2, "nw-0002-wan1"),
            ("nw-0002 as nw-0001", NW2, "nw-0001-wan1"),
            ("nw-0001 as nw-0002", NW1, "nw-0002-wan1"),
        ):
            subprocess.run(
                probe_command(script, namespaces, log, step, source, tunnel, TUNNELS[tunnel]), check=True, timeout=60
            )
    assert log.read_text().splitlines() == [
        "nw-0001 own arrived",
        "nw-0002 own arrived",
        "nw-0002 as nw-0001 dropped",
        "nw-0001 as nw-0002 dropped",
    ]


def test_a_hubs_last_push_from_its_union_removes_the_tunnels_it_drops_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding hq-hub3 after hq-hub2: hq-hub1's first config keeps the backup tunnels of hq-hub2's
    stores (nw-0002 among them) while its last drops them. Pushed from the first to the last on
    the running host (the routing batch's changes, `frr_confirm.routing_changes`, then the new
    ruleset, in the push's order, devices/platforms/frr.py `hub_companions`), nw-0002's tunnel
    is gone and nw-0001's own tunnel still carries its packets."""
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before = load_fleet(sample_chain_path())
    after = load_fleet(three_hub_chain(tmp_path / "after"))
    (union,) = render_change_hubs(before, after, ["hq-hub1"])
    first, last = dict(union.companions), dict(render_hub(after, "hq-hub1").companions)
    assert "nw-0002-wan1" in first["routing"] and "nw-0002-wan1" not in last["routing"]
    with hub_namespaces("uf", (NW1, NW2)) as namespaces:
        script = tmp_path / "probe.py"
        script.write_text(PROBE)
        log = tmp_path / "probe.log"
        for step, files, changes in (
            ("union", first, on_this_kernel(first["routing"], namespaces.store)),
            (
                "final",
                last,
                "\n".join(
                    frr_confirm.routing_changes(
                        on_this_kernel(first["routing"], namespaces.store), on_this_kernel(last["routing"], namespaces.store)
                    )
                ) + "\n",
            ),
        ):
            routing = tmp_path / f"routing-{step}"
            routing.write_text(changes)
            ruleset = tmp_path / f"nftables-{step}.conf"
            ruleset.write_text(files["nftables.conf"])
            run("ip", "-n", namespaces.hub, "-force", "-batch", str(routing))
            run("ip", "netns", "exec", namespaces.hub, "nft", "-f", str(ruleset))
            for source, tunnel in ((NW1, "nw-0001-wan1"), (NW2, "nw-0002-wan1")):
                subprocess.run(
                    probe_command(script, namespaces, log, f"{step} {tunnel}", source, tunnel, TUNNELS[tunnel]),
                    check=True, timeout=60,
                )
    assert log.read_text().splitlines() == [
        "union nw-0001-wan1 arrived",
        "union nw-0002-wan1 arrived",
        "final nw-0001-wan1 arrived",
        "final nw-0002-wan1 no tunnel",
    ]
