"""The lab's IPsec overlay: BGP and BFD only inside strongSwan tunnels, only IKE/ESP on the WAN (root)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from lab_bgp_configs import bgp_configs
from testsupport.lab import require_frr_lab

from storestack import lab
from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab, ipsec, overlay
from storestack.lab.check import check
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.state import lab_prefix
from storestack.network.build import NetworkIntent
from storestack.network.crypto import FLEET_CRYPTO

# One lab per module, its tests in order on one worker (`--dist loadgroup`).
pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-ipsec")]

TOPOLOGY = lab.synthetic_topology(2, overlay="ipsec")
STORE = "store-0001-edge"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.3)


def configure(state_dir: Path, appliance: str, lines: list[str]) -> None:
    output = lab.vtysh(state_dir, appliance, "configure terminal", *lines)
    assert "% " not in output, output


def established(state_dir: Path, appliance: str) -> int:
    return sum(1 for peer in lab.bgp_peers(state_dir, appliance) if peer.state == "Established")


def bfd_up(state_dir: Path, appliance: str) -> int:
    peers = json.loads(lab.vtysh(state_dir, appliance, "show bfd peers json") or "[]")
    return sum(1 for peer in peers if peer.get("status") == "up")


def default_route_interfaces(state_dir: Path, appliance: str) -> set[str]:
    routes = json.loads(lab.vtysh(state_dir, appliance, "show ip route 0.0.0.0/0 json") or "{}")
    return {
        hop.get("interfaceName", "")
        for route in routes.get("0.0.0.0/0", [])
        if route.get("selected")
        for hop in route.get("nexthops", [])
        if hop.get("fib")
    }


@pytest.fixture(scope="module")
def ipsec_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_frr_lab()
    state_dir = tmp_path_factory.mktemp("ipsec") / "ipsec-lab"
    try:
        lab.up(TOPOLOGY, state_dir)
        _attachments, tunnels = overlay.overlay_plan(state_dir, frr_lab.require_state(state_dir))
        for name, lines in bgp_configs(TOPOLOGY).items():
            router = next(line for line in lines if line.startswith("router bgp "))
            peers = [line.split()[1] for line in lines if line.startswith("neighbor ") and " remote-as " in line]
            # BFD on every session, as the rendered configs declare it (an explicit bfdd peer on
            # the tunnel's interface): it has to run inside the tunnels too.
            bfd = ["bfd"]
            for tunnel in tunnels:
                if name in (tunnel.initiator.appliance, tunnel.responder.appliance):
                    local, remote, _role = tunnel.end(name)
                    bfd += [f"peer {remote.inside.ip} local-address {local.inside.ip} interface {local.ifname}", "exit"]
            bfd_lines = [*bfd, "exit"]
            # Short hold timers too: FRR 8.4's bgpd does not always register with bfdd's session,
            # and then only the hold timer takes a session down.
            session = [line for peer in peers for line in (f"neighbor {peer} bfd", f"neighbor {peer} timers 3 9")]
            configure(state_dir, name, [*lines, router, *session, "exit", *bfd_lines])
        yield state_dir
    finally:
        lab.down(state_dir)


def test_every_tunnel_is_up_with_the_fleet_proposal(ipsec_lab: Path) -> None:
    tunnels = overlay.tunnel_status(ipsec_lab)

    assert len(tunnels) == 4
    assert all(tunnel.up for tunnel in tunnels), tunnels
    # The fleet policy: AES-256-GCM, PRF SHA-384, ECP-384 (group 20) preferred (the CBC proposal
    # is for Huawei AR ends), ESP in UDP 4500.
    assert FLEET_CRYPTO.strongswan_ike() == "aes256gcm16-prfsha384-ecp384,aes256-sha256-ecp384"
    assert {t.ike_proposal for t in tunnels} == {"AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384"}
    assert all(t.esp_proposal and t.esp_proposal.startswith("ESP:AES_GCM_16-256") for t in tunnels)
    assert all(t.local and t.local.endswith("[4500]") for t in tunnels)


def test_check_passes_on_a_healthy_ipsec_lab(ipsec_lab: Path) -> None:
    wait_for(lambda: all(t.up for t in overlay.tunnel_status(ipsec_lab)), 30, "tunnels")
    # Healthy includes BGP: the sessions configured by the fixture a moment ago come up first.
    wait_for(lambda: all(s.established for s in check(ipsec_lab).bgp), 60, "BGP sessions")
    # BFD, which BGP starts once a session is configured, comes up a few packets later.
    wait_for(lambda: all(s.up for s in check(ipsec_lab).bfd if s.in_lab), 60, "BFD sessions")

    result = CliRunner().invoke(cli, ["lab", "check", "--state-dir", str(ipsec_lab), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["problems"] == []
    assert len(report["tunnels"]) == 4 and len(report["wan"]) == 6
    # A session per tunnel, seen from both ends, each with its far end in the lab.
    assert len(report["bgp"]) == 8
    assert {(b["kind"], b["state"]) for b in report["bgp"]} == {("store-hub", "Established")}


def test_bgp_and_bfd_run_inside_the_tunnels_and_the_wan_carries_only_ike_and_esp(ipsec_lab: Path) -> None:
    expected = {"hub-1": 2, "hub-2": 2, "store-0001-edge": 2, "store-0002-edge": 2}
    wait_for(lambda: all(established(ipsec_lab, n) == c for n, c in expected.items()), 60, "BGP over IPsec")
    wait_for(lambda: all(bfd_up(ipsec_lab, n) == c for n, c in expected.items()), 30, "BFD over IPsec")
    wait_for(lambda: default_route_interfaces(ipsec_lab, STORE) == {"fiber-hub-1"}, 30, "default via fiber tunnel")

    evidence = overlay.evidence(ipsec_lab)

    assert {(e.site, e.ifname) for e in evidence} == {
        ("hub-1", "wan"),
        ("hub-2", "wan"),
        (STORE, "fiber"),
        (STORE, "lte"),
        ("store-0002-edge", "fiber"),
        ("store-0002-edge", "lte"),
    }
    for item in evidence:
        assert item.ipsec_packets > 0, item
        assert (item.bgp_packets, item.bfd_packets, item.other_packets) == (0, 0, 0), item


def test_a_failed_transport_moves_traffic_to_the_other_tunnel(ipsec_lab: Path) -> None:
    wait_for(lambda: default_route_interfaces(ipsec_lab, STORE) == {"fiber-hub-1"}, 60, "default via fiber")
    lab.fail_link(ipsec_lab, "store-0001", "fiber")
    try:
        try:
            wait_for(lambda: default_route_interfaces(ipsec_lab, STORE) == {"lte-hub-2"}, 60, "failover to LTE")
        except AssertionError as exc:
            state = (
                default_route_interfaces(ipsec_lab, STORE),
                [(p.peer, p.state) for p in lab.bgp_peers(ipsec_lab, STORE)],
                lab.vtysh(ipsec_lab, STORE, "show bfd peers brief"),
                [(t.id, t.up) for t in overlay.tunnel_status(ipsec_lab)],
            )
            raise AssertionError(f"{exc}: {state}") from None
    finally:
        lab.restore_link(ipsec_lab, "store-0001", "fiber")
    wait_for(lambda: default_route_interfaces(ipsec_lab, STORE) == {"fiber-hub-1"}, 90, "back to fiber")
    assert all(e.cleartext_packets == 0 for e in overlay.evidence(ipsec_lab))


def test_a_restarted_charon_brings_its_tunnels_and_sessions_back(ipsec_lab: Path) -> None:
    namespace = frr_lab.require_state(ipsec_lab).runtime(STORE).namespace
    before = ipsec.charon_pid(namespace)

    overlay.restart_charon(ipsec_lab, STORE)

    assert ipsec.charon_pid(namespace) not in (None, before)
    addresses = subprocess.run(
        ["ip", "-n", namespace, "-j", "addr", "show", "dev", ipsec.TUN_DEVICE], capture_output=True, text=True, check=True
    ).stdout
    assert "198.19.0.1" in addresses and "198.19.0.3" in addresses
    rules = subprocess.run(["ip", "-n", namespace, "rule"], capture_output=True, text=True, check=True).stdout
    assert "lookup 220" not in rules
    wait_for(lambda: all(t.up for t in overlay.tunnel_status(ipsec_lab)), 30, "tunnels after the restart")
    wait_for(lambda: established(ipsec_lab, STORE) == 2, 60, "BGP after the restart")


def test_down_after_a_crashed_up_leaves_no_charon_namespace_or_key(
    frr_lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: object) -> None:
        raise RuntimeError("simulated crash after the tunnels started")

    monkeypatch.setattr(frr_lab, "start_sshd", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        lab.up(lab.synthetic_topology(1, overlay="ipsec"), frr_lab_dir)
    prefix = lab_prefix(frr_lab_dir)
    assert ipsec.prefixed_instances(prefix)

    report = lab.down(frr_lab_dir)

    assert f"{prefix}--inet" in report.namespaces_deleted
    assert not ipsec.prefixed_instances(prefix)
    assert not (frr_lab_dir / "ipsec-secret").exists()
    leftovers = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any(prefix in part for part in (p.info["cmdline"] or []))
    ]
    assert leftovers == []
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert prefix not in names


def test_the_evidence_sees_cleartext_bgp_on_the_wan(ipsec_lab: Path) -> None:
    """A BGP connection attempt outside the tunnels, from the store's fiber address to its hub's
    public address, is counted as cleartext BGP on both WAN ports: the evidence can fail."""
    state = frr_lab.require_state(ipsec_lab)
    namespace = state.runtime(STORE).namespace
    fiber = next(e for e in overlay.evidence(ipsec_lab) if (e.site, e.ifname) == (STORE, "fiber"))
    hub = next(e for e in overlay.evidence(ipsec_lab) if e.site == "hub-1")
    probe = (
        "import socket,sys\n"
        "s=socket.socket(); s.settimeout(2); s.bind((sys.argv[1], 0))\n"
        "try:\n    s.connect((sys.argv[2], 179))\nexcept OSError:\n    pass\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", probe, str(fiber.address), str(hub.address)],
        check=True,
        timeout=10,
    )

    after = {(e.site, e.ifname): e for e in overlay.evidence(ipsec_lab)}
    assert after[(STORE, "fiber")].bgp_packets > 0
    assert after[("hub-1", "wan")].bgp_packets > 0  # the hub's answer
    assert not after[(STORE, "fiber")].encrypted_only
    verdict = check(ipsec_lab)
    assert not verdict.ok
    assert any(p.startswith(f"{STORE} fiber (") and "cleartext BGP" in p for p in verdict.problems), verdict.problems


def test_the_sample_chain_runs_the_intents_tunnels_every_transport_to_both_hubs(frr_lab_dir: Path) -> None:
    fleet = load_fleet(sample_chain_path())
    topology = topology_from_fleet(fleet, overlay="ipsec")
    intent = NetworkIntent(fleet)
    frr_stores = [s for s in fleet if s.appliances and s.appliances[0].platform == "frr"]
    expected = {t.id for s in frr_stores for t in intent.store(s.id).tunnels if t.kind == "store-hub"}
    assert {t.id for t in topology.tunnels} == expected
    assert len(expected) == sum(2 * len(s.wan) for s in frr_stores)

    lab.up(topology, frr_lab_dir)
    tunnels = overlay.tunnel_status(frr_lab_dir)

    assert {t.id for t in tunnels if t.up and t.responder != "cloud-vpn"} == expected
    # Beside them, the stores' AWS tunnels to the cloud stand-in (tests/lab/test_lab_cloudvpn.py).
    aws = {t.id for s in frr_stores for t in intent.store(s.id).tunnels if t.kind == "store-aws"}
    assert {t.id for t in tunnels if t.responder == "cloud-vpn"} == aws
    # A static WAN address from the inventory is the tunnel's outside address.
    nw1 = next(t for t in tunnels if t.id == "nw-0001-wan1-hq-hub2")
    assert nw1.local == "198.51.100.2[4500]" and nw1.remote == "203.0.113.12[4500]"
    # The charon runs the swanctl.conf storestack renders, adapted only where the lab must.
    namespace = frr_lab.require_state(frr_lab_dir).runtime("nw-0001-edge1").namespace
    running = (ipsec.instance_dir(namespace) / "swanctl.conf").read_text(encoding="utf-8")
    assert "id = nw-0001-wan1.northwind.example" in running and "close_action = start" in running
    devices = subprocess.run(["ip", "-n", namespace, "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert "xfrm1" in devices  # named as the rendered FRR config names its tunnel interfaces


def test_check_reports_a_proposal_mismatch(frr_lab_dir: Path) -> None:
    lab.up(lab.synthetic_topology(1, overlay="ipsec"), frr_lab_dir)
    assert check(frr_lab_dir).ok
    hub = frr_lab.require_state(frr_lab_dir).runtime("hub-1").namespace
    conf = ipsec.instance_dir(hub) / "swanctl.conf"
    # The hub now insists on a suite the fleet policy does not offer.
    conf.write_text(
        conf.read_text(encoding="utf-8").replace(FLEET_CRYPTO.strongswan_ike(), "aes128-sha256-modp3072"),
        encoding="utf-8",
    )
    overlay.restart_charon(frr_lab_dir, "hub-1")
    overlay.restart_charon(frr_lab_dir, "store-0001-edge")

    def mismatch_reported() -> bool:
        return any("no proposal in common" in p for p in check(frr_lab_dir).problems)

    wait_for(mismatch_reported, 30, "the proposal mismatch in `lab check`")
    result = CliRunner().invoke(cli, ["lab", "check", "--state-dir", str(frr_lab_dir)])
    assert result.exit_code == 1
    assert "store-0001-fiber-hub-1 is down: no proposal in common with the far end" in " ".join(result.output.split())
    # The other hub's tunnel is unaffected.
    assert {t.id for t in overlay.tunnel_status(frr_lab_dir) if t.up} == {"store-0001-lte-hub-2"}
