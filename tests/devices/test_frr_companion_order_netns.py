"""A hub's companions pushed and reverted on a real kernel: at no step does a store tunnel
forward what the hub's firewall would drop.

The hub of the sample chain takes a store (nw-0008) it did not serve: the push installs its
companions in the platform's order (devices/platforms/frr.py `hub_companions`: swanctl.conf,
nftables.conf, …, routing), then changes FRR; the appliance's timer reverts it
(devices/frr_confirm.py). After every step of both, a probe sends through the new store's tunnel
interface a packet the hub's firewall must drop (a source of another store, nw-0001, towards HQ:
the anti-spoofing of `store_tunnel_sources`) and HQ counts what arrives. A revert that put the old
firewall back before the routing batch took the tunnel interface away (the companions in name
order, as it did) left that interface in the tunnels' group under a firewall that no longer knew
it: its `iifgroup 10 ... @corporate accept` took the spoofed packet. In the push's order undone
(FRR, then the files last installed first) the interface goes before its filters do.

The probe ends a HQ's answer never needs: the hub of testsupport/hub_netns.py, whose tunnel
interfaces are veth pairs standing for SAs that are up."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.frr_stand_ins import companions_confirm_config, frr_stand_ins
from testsupport.hub_netns import PROBE, HubNamespaces, hub_namespaces, on_this_kernel, probe_command, run
from testsupport.rendering import edited_sample_chain

from storestack.devices import frr_confirm
from storestack.devices.platforms import get_platform
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet

HUB = "hq-hub1"
STORE = "nw-0008"
TUNNEL = f"{STORE}-wan1"
# A source of another store (nw-0001's first segment) and one of the new store's own.
SPOOFED, OWN = "10.64.0.10", "10.64.14.70"
RUNNING = "frr version 8.4.4\nhostname hq-hub1\n!\nend\n"


@pytest.fixture
def namespaces() -> Iterator[HubNamespaces]:
    with hub_namespaces("co", (SPOOFED, OWN)) as names:
        yield names


def _hub_files(fleet: Fleet, store: str) -> dict[str, str]:
    files = dict(render_hub(fleet, HUB).companions)
    files["routing"] = on_this_kernel(files["routing"], store)
    return files


def test_no_step_of_a_hub_push_or_its_revert_forwards_a_spoofed_store_source(
    namespaces: HubNamespaces, fleet: Fleet, tmp_path: Path
) -> None:
    hub, store = namespaces.hub, namespaces.store
    gone = edited_sample_chain(tmp_path / "gone", "", "")
    (gone / "stores" / f"{STORE}.yaml").unlink()
    before, after = _hub_files(load_fleet(gone), store), _hub_files(fleet, store)
    assert TUNNEL not in before["nftables.conf"] and TUNNEL in after["routing"]
    assert f'"{TUNNEL}" . 10.64.14.64/26' in after["nftables.conf"]

    log = tmp_path / "probe.log"
    probe_script = tmp_path / "probe.py"
    probe_script.write_text(PROBE)

    def probe(step: str, source: str = SPOOFED) -> list[str]:
        return probe_command(probe_script, namespaces, log, step, source, TUNNEL, "t16")

    vtysh, reload = frr_stand_ins(tmp_path, RUNNING, f'exec {" ".join(probe("frr"))}')
    running = tmp_path / "running.conf"
    etc = tmp_path / "etc"
    etc.mkdir()
    real = {
        "nftables.conf": [["ip", "netns", "exec", hub, "nft", "-f", str(etc / "nftables.conf")]],
        "routing": [["ip", "-n", hub, "-force", "-batch", "{changes}"]],
    }
    order = [name for name, _ in get_platform("frr").hub_companions]
    config = companions_confirm_config(
        tmp_path, vtysh, reload, etc, {name: [*real.get(name, []), probe(name)] for name in order}
    )
    for name in order:  # the hub as it ran before the push
        frr_confirm.companion_install(config, name, before[name].encode())
    assert log.read_text().splitlines()[-1] == "sysctl.conf no tunnel"
    log.write_text("")

    frr_confirm.arm(config, 60, snapshot=RUNNING)
    for name in order:  # the push: the host's files, then FRR
        frr_confirm.companion_install(config, name, after[name].encode())
    running.write_text(RUNNING.replace("!\n", "ip route 10.64.14.64/26 Null0\n!\n"))
    pushed = log.read_text().splitlines()
    # The probe's path works: the new store's own source reaches HQ once the push is done.
    subprocess.run(probe("pushed, own source", OWN), check=True, timeout=60)
    assert log.read_text().splitlines()[-1] == "pushed, own source arrived"
    log.write_text("")

    frr_confirm.revert(config)
    reverted = log.read_text().splitlines()

    assert "routing dropped" in pushed, pushed  # the tunnel was probed once it existed
    assert reverted[0] == "frr dropped", reverted
    assert not [step for step in pushed + reverted if step.endswith(" arrived")], {"push": pushed, "revert": reverted}
    assert (etc / "nftables.conf").read_text() == before["nftables.conf"]
    assert TUNNEL not in run("ip", "-n", hub, "link", "show")
