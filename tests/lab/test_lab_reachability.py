"""Segment hosts, HQ, cloud and internet stand-ins, and the reachability matrix of `lab check` (root).

The lab is routed here with plain BGP over the intent's tunnels and no segmentation policy on
the appliances, so the matrix must show the policy gaps: a guest reaching a till is reported
as reachable although the intent denies it, a till reaching the HQ POS service as allowed and
reachable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.lab import require_frr_lab

from storestack import lab
from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab, overlay
from storestack.lab.check import check
from storestack.lab.fleet import topology_from_fleet
from storestack.network.build import NetworkIntent

pytestmark = pytest.mark.lab

FLEET = load_fleet(sample_chain_path())
STORES = ["nw-0001", "nw-0002"]
TOPOLOGY = topology_from_fleet(FLEET, STORES, overlay="ipsec")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.5)


def routing_configs(state_dir: Path) -> dict[str, list[str]]:
    """eBGP over every tunnel: hubs announce HQ and the cloud, stores their segments."""
    _attachments, tunnels = overlay.overlay_plan(state_dir, frr_lab.require_state(state_dir))
    sites = TOPOLOGY.sites
    assert sites is not None
    configs: dict[str, list[str]] = {}
    for number, appliance in enumerate(a for a in TOPOLOGY.appliances if a.platform == "frr"):
        asn = 65000 if appliance.role == "hub" else 65100 + number
        lines = [f"router bgp {asn}", f"bgp router-id 10.254.1.{number + 1}", "no bgp ebgp-requires-policy"]
        for tunnel in tunnels:
            if appliance.name in (tunnel.initiator.appliance, tunnel.responder.appliance):
                _local, remote, _role = tunnel.end(appliance.name)
                lines.append(f"neighbor {remote.inside.ip} remote-as external")
        lines.append("address-family ipv4 unicast")
        if appliance.role == "hub":
            lines += [f"network {prefix}" for prefix in (*sites.hq_prefixes, sites.cloud_prefix)]
        else:
            lines += [f"network {s.subnet}" for s in TOPOLOGY.segments if s.appliance == appliance.name]
        lines.append("exit-address-family")
        configs[appliance.name] = lines
    return configs


@pytest.fixture(scope="module")
def routed_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_frr_lab()
    state_dir = tmp_path_factory.mktemp("reach") / "reach-lab"
    try:
        lab.up(TOPOLOGY, state_dir)
        for name, lines in routing_configs(state_dir).items():
            output = lab.vtysh(state_dir, name, "configure terminal", *lines)
            assert "% " not in output, output
        yield state_dir
    finally:
        lab.down(state_dir)


def test_every_store_gets_its_four_hosts_and_the_stand_in_sites(routed_lab: Path) -> None:
    state = frr_lab.require_state(routed_lab)

    assert {s.kind for s in TOPOLOGY.segments if s.store_id == "nw-0001"} == {"pos", "guest-wifi", "office", "iot"}
    assert {"hq", "cloud", "nw-0001/pos", "nw-0001/guest-wifi", "nw-0002/pos"} <= set(state.site_namespaces)
    sites = TOPOLOGY.sites
    assert sites is not None
    # The HQ POS service sits inside the intent's hq-pos service, management inside ip_plan.management.
    assert any(sites.hq_pos in p for p in NetworkIntent(FLEET).services["hq-pos"].prefixes)
    assert sites.hq_management in FLEET.spec.ip_plan.management[0]


def test_the_matrix_is_measured_and_compared_with_the_intent(routed_lab: Path) -> None:
    intent = NetworkIntent(FLEET)

    def till_reaches_hq() -> bool:
        cells = check(routed_lab, intent).reachability
        return any(c.store_id == "nw-0001" and c.source == "pos" and c.target == "hq-pos" and c.reachable for c in cells)

    wait_for(till_reaches_hq, 60, "nw-0001's till to reach the HQ POS service over the tunnels")
    result = check(routed_lab, intent)
    cells = {(c.store_id, c.source, c.target): c for c in result.reachability}

    till = cells[("nw-0001", "pos", "hq-pos")]
    assert till.allowed and till.reachable and till.matches
    # Only IKE/ESP crossed the WAN while the till talked to HQ.
    assert all(e.encrypted_only for e in result.wan), [e for e in result.wan if not e.encrypted_only]
    # The till's own store's other segments, another store's till, HQ management, cloud, internet.
    assert {t for (s, src, t) in cells if (s, src) == ("nw-0001", "pos")} == {
        "hq-pos",
        "hq-management",
        "cloud",
        "internet",
        "other-store-pos",
        "guest-wifi",
        "office",
        "iot",
    }
    # No segmentation policy runs on these appliances: the guest reaches the till, and the check says so.
    guest = cells[("nw-0001", "guest-wifi", "pos")]
    assert guest.reachable and not guest.allowed
    assert any(
        p.startswith("nw-0001 guest-wifi -> pos (") and "the intent denies it" in p for p in result.problems
    )
    assert not result.ok


def test_check_on_the_command_line_prints_the_matrix_and_exits_1_on_a_mismatch(routed_lab: Path) -> None:
    runner = CliRunner()

    as_json = runner.invoke(cli, ["lab", "check", "--state-dir", str(routed_lab), "--json"])
    human = runner.invoke(cli, ["lab", "check", "--state-dir", str(routed_lab)])

    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["ok"] is False and report["reachability"]
    assert human.exit_code == 1
    assert "nw-0001: reachability" in human.output
