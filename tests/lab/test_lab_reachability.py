"""Segment hosts, HQ, cloud and internet stand-ins, and the reachability matrix of `lab check` (root).

The sample chain's nw-0001 and nw-0002 in the IPsec lab, rolled out with `rollout --lab`: the
rendered FRR configs, swanctl.conf and host firewalls run, and every cell of the matrix must
match the intent's segmentation policy, measured with real packets, internet cells included
(guest Wi-Fi breaks out NATed on the store's WAN, the office through the hubs and HQ's
breakout). A rule opened on purpose (guest Wi-Fi to the tills) must be reported. `lab check`
also reports every BGP session (store-hub, hub-hub, AWS, the DC core the hubs learn HQ from),
and a wrong ASN in the cloud stand-in fails it.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
from click.testing import CliRunner
from testsupport.lab import BOUND_PING, host_address, install_observer, observer_counts, rolled_out_lab

from storestack import lab
from storestack.cli.main import cli
from storestack.devices.frr_steer import SteeringConfig
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import dccore, frr_lab, ipsec, overlay, reachability, system
from storestack.lab.check import check
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.frr import run_vtysh
from storestack.lab.sshd import ssh_answers
from storestack.lab.steering import STEERING_CONF
from storestack.lab.underlay import INTERNET_SERVICE
from storestack.network.build import NetworkIntent

# One lab and one rollout per module, its tests in order on one worker (`--dist loadgroup`).
pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-reachability")]

FLEET = load_fleet(sample_chain_path())
STORES = ["nw-0001", "nw-0002"]
TOPOLOGY = topology_from_fleet(FLEET, STORES, overlay="ipsec")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def routed_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`lab up --overlay ipsec`, then `rollout --lab`: the chain a user runs before `lab check`."""
    with rolled_out_lab(tmp_path_factory.mktemp("reach"), TOPOLOGY, STORES, "lab-reachability-fleet-psk-0123456789") as state_dir:
        yield state_dir


def test_every_store_gets_its_four_hosts_and_the_stand_in_sites(routed_lab: Path) -> None:
    state = frr_lab.require_state(routed_lab)

    assert {s.kind for s in TOPOLOGY.segments if s.store_id == "nw-0001"} == {"pos", "guest-wifi", "office", "iot"}
    assert {"hq", "cloud", "nw-0001/pos", "nw-0001/guest-wifi", "nw-0002/pos"} <= set(state.site_namespaces)
    sites = TOPOLOGY.sites
    assert sites is not None
    # The HQ POS service sits inside the intent's hq-pos service, management inside ip_plan.management.
    assert any(sites.hq_pos in p for p in NetworkIntent(FLEET).services["hq-pos"].prefixes)
    assert sites.hq_management in FLEET.spec.ip_plan.management[0]


def test_the_matrix_matches_the_intent_with_the_rendered_configs_running(routed_lab: Path) -> None:
    intent = NetworkIntent(FLEET)

    last: list[object] = []

    def till_reaches_hq() -> bool:
        cells = check(routed_lab, intent).reachability
        till = [c for c in cells if c.store_id == "nw-0001" and c.source == "pos" and c.target == "hq-pos"]
        last[:] = till
        return any(c.reachable for c in till)

    # The tunnels, BGP and the edge's SLA steering come up after the rollout returns; on a CI
    # machine whose other worker is busy, the user-space ESP of the lab's tunnels takes longer.
    try:
        wait_for(till_reaches_hq, 120, "nw-0001's till to reach the HQ POS service over the tunnels")
    except AssertionError as exc:
        edge = "nw-0001-edge1"
        state = [lab.vtysh(routed_lab, edge, command) for command in ("show ip route", "show bgp summary")]
        raise AssertionError(f"{exc}\nlast probe: {last}\n{edge}:\n" + "\n".join(state)) from None
    result = check(routed_lab, intent)
    cells = {(c.store_id, c.source, c.target): c for c in result.reachability}

    assert result.ok, result.problems
    assert not [c for c in result.reachability if not c.matches]
    # The stores' AWS tunnels, to the cloud stand-in configured from the offline plan.
    aws = {t.tunnel.id for t in result.tunnels if t.tunnel.responder == "cloud-vpn"}
    assert aws == {t.id for s in STORES for t in intent.store(s).tunnels if t.kind == "store-aws"}
    assert aws, "nw-0001 has AWS tunnels in the intent"
    assert all(t.tunnel.up for t in result.tunnels)
    denied = [c for c in result.reachability if not c.allowed]
    assert denied and not any(c.reachable for c in denied)
    # The office reaches the clouds and HQ, but not the HQ POS service nor the management network:
    # it is out of the cardholder data environment.
    assert cells[("nw-0001", "office", "cloud")].reachable
    assert not cells[("nw-0001", "office", "hq-management")].reachable
    assert not cells[("nw-0001", "office", "hq-pos")].reachable
    assert not cells[("nw-0001", "pos", "other-store-pos")].reachable
    # Nor another store's management address (its loopback), from any segment.
    assert not any(c.reachable for c in result.reachability if c.target == "other-store-loopback")

    # The internet per the intent: guest Wi-Fi and office yes, tills and IoT no.
    assert cells[("nw-0001", "guest-wifi", "internet")].reachable
    assert cells[("nw-0001", "office", "internet")].reachable
    assert not cells[("nw-0001", "pos", "internet")].reachable
    assert not cells[("nw-0001", "iot", "internet")].reachable
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
        "other-store-loopback",
        "guest-wifi",
        "office",
        "iot",
    }


def test_a_guest_to_till_rule_opened_on_purpose_is_reported(routed_lab: Path) -> None:
    namespace = frr_lab.require_state(routed_lab).runtime("nw-0001-edge1").namespace
    pos = next(s for s in TOPOLOGY.segments if (s.store_id, s.kind) == ("nw-0001", "pos"))
    guest = next(s for s in TOPOLOGY.segments if (s.store_id, s.kind) == ("nw-0001", "guest-wifi"))
    assert not next(
        c for c in check(routed_lab, NetworkIntent(FLEET)).reachability
        if (c.store_id, c.source, c.target) == ("nw-0001", "guest-wifi", "pos")
    ).reachable
    rule = f'iifname "lan0.{guest.vlan}" oifname "lan0.{pos.vlan}" accept'
    subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "insert", "rule", "inet", "storestack", "forward", *rule.split()],
        check=True,
    )
    # The rendered policy routing sends guest Wi-Fi only to its breakout link's table, so the
    # firewall rule alone opens nothing: open the route to the tills as well.
    subprocess.run(
        ["ip", "-n", namespace, "rule", "add", "from", str(guest.subnet), "to", str(pos.subnet), "lookup", "main", "pref", "1050"],
        check=True,
    )

    result = check(routed_lab, NetworkIntent(FLEET))

    cell = next(c for c in result.reachability if (c.store_id, c.source, c.target) == ("nw-0001", "guest-wifi", "pos"))
    assert cell.reachable and not cell.allowed
    assert f"nw-0001 guest-wifi -> pos ({pos.host} tcp/443): reachable (refused) but the intent denies it" in result.problems


def test_check_on_the_command_line_prints_the_matrix_and_exits_1_on_a_mismatch(routed_lab: Path) -> None:
    # A mismatch of its own that no probe timing can hide: the tills' traffic to HQ POS, which
    # the intent allows, is dropped on the store's edge, so that cell times out on every run.
    namespace = frr_lab.require_state(routed_lab).runtime("nw-0001-edge1").namespace
    pos = next(s for s in TOPOLOGY.segments if (s.store_id, s.kind) == ("nw-0001", "pos"))
    sites = TOPOLOGY.sites
    assert sites is not None
    drop = f'iifname "lan0.{pos.vlan}" ip daddr {sites.hq_pos} drop comment "cli-test"'
    nft = ["ip", "netns", "exec", namespace, "nft"]
    subprocess.run([*nft, "insert", "rule", "inet", "storestack", "forward", *drop.split()], check=True)
    runner = CliRunner()
    try:
        as_json = runner.invoke(cli, ["lab", "check", "--state-dir", str(routed_lab), "--json"])
        human = runner.invoke(cli, ["lab", "check", "--state-dir", str(routed_lab)])
    finally:
        listing = subprocess.run([*nft, "-a", "list", "chain", "inet", "storestack", "forward"],
                                 check=True, capture_output=True, text=True).stdout
        for line in listing.splitlines():
            if '"cli-test"' in line:
                handle = line.rsplit("# handle ", 1)[1].strip()
                subprocess.run([*nft, "delete", "rule", "inet", "storestack", "forward", "handle", handle], check=True)

    cells = json.loads(as_json.output)["reachability"]
    assert any(
        (c["store_id"], c["source"], c["target"]) == ("nw-0001", "pos", "hq-pos") and not c["reachable"] and c["allowed"]
        for c in cells
    ), cells
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["ok"] is False and report["reachability"]
    assert human.exit_code == 1
    assert "reachability (intent: allow / deny)" in human.output
    assert "nw-0001" in human.output and "✗" in human.output


def test_guest_and_office_break_out_where_the_intent_says(routed_lab: Path) -> None:
    result = check(routed_lab, NetworkIntent(FLEET))
    wan = {(e.site, e.ifname): e for e in result.wan}

    # Guest Wi-Fi leaves NATed on the store's own fiber line (the lab internet has no route back
    # to the store's private range, so an answer proves the masquerade); the office's internet
    # goes through the tunnels, the hub and HQ's breakout line.
    assert wan[("nw-0001-edge1", "wan1")].internet_packets > 0
    assert wan[("hq", "wan")].internet_packets > 0
    assert all(e.cleartext_packets == 0 for e in result.wan)


def _session_peers(namespace: str) -> list[str]:
    output = subprocess.run(
        ["ss", "-N", namespace, "-Htn", "state", "established", "( sport = :22 )"],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split()[-1].rpartition(":")[0] for line in output.splitlines()]


def test_management_is_in_band_from_hq_and_dies_with_the_stores_route_to_hq(routed_lab: Path) -> None:
    state = frr_lab.require_state(routed_lab)
    info = frr_lab.lab_info(routed_lab)
    target = next(t for t in info.inventory.appliances if t.name == "nw-0001-edge1")
    credentials = target.credentials.resolve()
    namespace = state.runtime("nw-0001-edge1").namespace
    sites = TOPOLOGY.sites
    assert sites is not None

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        target.host, port=target.port, username=credentials.username,
        password=credentials.password.get_secret_value(), look_for_keys=False, allow_agent=False, timeout=15,
    )
    try:
        # The appliance sees the session coming from the HQ management workstation, not loopback.
        assert _session_peers(namespace) == [str(sites.hq_management)]
    finally:
        client.close()

    # A change that takes the store's route to the management network away cuts management.
    cut = ["ip", "netns", "exec", namespace, "ip", "route", "add", "blackhole", str(sites.management_prefixes[0])]
    subprocess.run(cut, check=True)
    try:
        assert not ssh_answers(target.port, timeout=3.0)
    finally:
        subprocess.run([*cut[:6], "del", *cut[7:]], check=True)
    wait_for(lambda: ssh_answers(target.port), 30, "management back once the route is restored")


def test_check_reports_every_bgp_session_and_the_hubs_learn_hq_from_the_dc_core(routed_lab: Path) -> None:
    state = frr_lab.require_state(routed_lab)
    core = TOPOLOGY.sites.dc_core if TOPOLOGY.sites is not None else None
    assert core is not None
    wait_for(
        lambda: all(s.established for s in check(routed_lab).bgp if s.in_lab), 90, "every in-lab BGP session to come up"
    )
    result = check(routed_lab)
    sessions = {(s.appliance, str(s.neighbor)): s for s in result.bgp}

    assert not [p for p in result.problems if p.startswith("BGP ")], result.problems
    # Each hub: both DC core routers (the intent's addresses and ASN), the other hub over the DC LAN.
    for hub, other in (("hq-hub1", "hq-hub2"), ("hq-hub2", "hq-hub1")):
        for index, router in enumerate(core.routers):
            session = sessions[(hub, str(router))]
            assert (session.kind, session.peer, session.remote_as) == ("dc-core", f"dc-core{index + 1}", core.asn)
            assert session.established and session.prefixes_received >= len(core.announce)
        ibgp = sessions[(hub, str(core.hub_addresses[other]))]
        assert (ibgp.kind, ibgp.peer, ibgp.established) == ("hub-hub", other, True)
        # HQ's management prefix is in the hub's BGP table from a DC core router.
        route = json.loads(lab.vtysh(routed_lab, hub, f"show bgp ipv4 unicast {core.announce[-1]} json"))
        assert {p["peer"]["peerId"] for p in route["paths"]} >= {str(r) for r in core.routers}
    # The DC core's best path to each store segment that enters the overlay leads to that store's
    # primary hub, as HQ's routes in the lab do: the other hub prefers the primary's path too
    # (iBGP, higher local preference than its own) and passes it on with the primary's address as
    # next hop, and the store prepends towards its secondary hub. So a DC that installs what BGP
    # chose sends the answers through the hub whose stateful filter saw the store's packets.
    for segment in TOPOLOGY.segments:
        if segment.kind == "guest-wifi" or segment.hub is None:
            continue
        for index in range(len(core.routers)):
            out = system.run(
                [str(system.VTYSH), "-N", dccore.pathspace(state.prefix, index), "-d", "bgpd",
                 "-c", f"show bgp ipv4 unicast {segment.subnet} json"],
                timeout=15,
            ).stdout
            best = [p for p in json.loads(out).get("paths", []) if p.get("bestpath", {}).get("overall")]
            assert [h["ip"] for p in best for h in p["nexthops"]] == [str(core.hub_addresses[segment.hub])], (
                segment.store_id, segment.kind, out,
            )
    # nw-0001's AWS sessions with the cloud stand-in, at Amazon's ASN from the plan.
    aws = [s for s in result.bgp if s.kind == "aws"]
    assert {s.appliance for s in aws} == {"nw-0001-edge1"} and len(aws) == len(state.cloud_tunnels) == 2
    assert all(s.established and s.remote_as == state.cloud_tunnels[0].amazon_asn for s in aws)
    # Neighbours whose far end the lab does not run are reported, not failed.
    assert any(s.kind == "outside-lab" and not s.established for s in result.bgp)


def test_a_hub_is_managed_on_its_management_port_and_forwards_nothing_through_it(routed_lab: Path) -> None:
    """Each FRR hub holds its inventory management address on its management port `mgmt`, on HQ's
    management LAN, as its rendered routing companion says (the lab used to add the address to the
    DC port and route it there from HQ by hand, which no real HQ does): the push reaches it from
    the management workstation on that LAN, and the hub answers by that port. SSH at that address
    from HQ but not from a management source is refused, and the hub forwards nothing between the
    management LAN and the overlay or the DC, either way, even where a route would send it there."""
    state = frr_lab.require_state(routed_lab)
    info = frr_lab.lab_info(routed_lab)
    sites = TOPOLOGY.sites
    assert sites is not None
    hq = state.site_namespaces["hq"]
    workstation, hq_pos = str(sites.hq_management), str(sites.hq_pos)
    hubs = [a for a in TOPOLOGY.appliances if a.role == "hub" and not a.emulated]
    assert hubs and all(a.management_port == "mgmt" for a in hubs)
    for appliance in hubs:
        namespace, address = state.runtime(appliance.name).namespace, str(appliance.management_address)
        assert _device_of(namespace, address) == "mgmt", appliance.name
        # Its answers to the management LAN leave by the port; the main table has no route into it.
        assert " dev mgmt " in _ip(namespace, "route", "get", workstation, "from", address) + " "
        assert "mgmt" not in _ip(namespace, "route", "show", "table", "main")
        # The push's path: the workstation, on the LAN. Another HQ source is refused.
        assert _connects(hq, workstation, address, 22) == "open", appliance.name
        assert _connects(hq, hq_pos, address, 22) == "timeout", appliance.name

        target = next(t for t in info.inventory.appliances if t.name == appliance.name)
        credentials = target.credentials.resolve()
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(
            target.host, port=target.port, username=credentials.username,
            password=credentials.password.get_secret_value(), look_for_keys=False, allow_agent=False, timeout=15,
        )
        try:
            # The hub sees the push's session coming from the workstation, on the management port.
            assert set(_session_peers(namespace)) == {workstation}
        finally:
            client.close()

    till_namespace = state.site_namespaces["nw-0001/pos"]
    till = host_address(till_namespace)
    reached = {"open", "refused"}  # a SYN-ACK or an RST came back: the packets got there
    assert _connects(till_namespace, till, hq_pos, 443) in reached
    # The management LAN is no way to the stores: the workstation sending to a till through a
    # hub's management address gets nothing through.
    with contextlib.ExitStack() as stack:
        stack.enter_context(_through(hq, "mgmtlan", [workstation], [till], via=str(hubs[0].management_address)))
        assert _connects(hq, workstation, till, 443) == "timeout"
    # Nor is it a way out of the overlay: with every hub routing the till's packets to HQ into its
    # management port (as a wrong route would), the till's connection to HQ goes nowhere.
    with contextlib.ExitStack() as stack:
        for appliance in hubs:
            stack.enter_context(_through(state.runtime(appliance.name).namespace, "mgmt", [till], [hq_pos]))
        assert _connects(till_namespace, till, hq_pos, 443) == "timeout"
    assert _connects(till_namespace, till, hq_pos, 443) in reached


def _device_of(namespace: str, address: str) -> str:
    """The interface that holds `address` in `namespace`."""
    return subprocess.run(
        ["ip", "-n", namespace, "-o", "-4", "addr", "show", "to", f"{address}/32"],
        check=True, capture_output=True, text=True,
    ).stdout.split()[1]


@contextlib.contextmanager
def _through(
    namespace: str, device: str, sources: list[str], destinations: list[str], via: str | None = None
) -> Iterator[None]:
    """Packets from `sources` to `destinations` go out through `device` (a tunnel, or with `via`
    a link to that next hop), whatever the routing table says; the appliance's own traffic (its
    IKE from the WAN address, BGP over the other tunnels) keeps its routes."""
    table = "4242"
    gateway = ["via", via] if via else []
    for address in destinations:
        subprocess.run(["ip", "-n", namespace, "route", "replace", address, *gateway, "dev", device, "table", table], check=True)
    for source in sources:
        subprocess.run(["ip", "-n", namespace, "rule", "add", "from", source, "lookup", table, "pref", "50"], check=True)
    try:
        yield
    finally:
        for source in sources:
            subprocess.run(["ip", "-n", namespace, "rule", "del", "from", source, "lookup", table, "pref", "50"], check=True)
        subprocess.run(["ip", "-n", namespace, "route", "flush", "table", table], check=True)


def _connects(namespace: str, source: str, address: str, port: int) -> str:
    """What a TCP connection from `source` to `address`:`port` gets: open, refused, timeout …"""
    (outcome,) = reachability.connect_outcomes(namespace, [(address, port)], source=source)
    return outcome


def test_from_inside_a_tunnel_a_store_reaches_the_hub_itself_only_at_that_tunnels_hub_end(routed_lab: Path) -> None:
    """What a store router may send into its tunnel (a compromised one sends anything): the hub
    takes BGP only between the tunnel's own two inside addresses, answers pings to its loopback,
    and nothing from the tunnel reaches its other addresses, whichever source or port: not its
    loopback's or public address's BGP port, not another store's tunnel, not its DC address."""
    intent = NetworkIntent(FLEET)
    hub = intent.hub("hq-hub1")
    tunnel = next(t for t in TOPOLOGY.tunnels if (t.store_id, t.transport, t.hub) == ("nw-0001", "wan1", "hq-hub1"))
    other = next(t for t in TOPOLOGY.tunnels if t.store_id == "nw-0002" and t.hub == "hq-hub1")
    source, near = str(tunnel.store_inside.ip), str(tunnel.hub_inside.ip)
    namespace = frr_lab.require_state(routed_lab).runtime("nw-0001-edge1").namespace
    targets = {
        "the hub's loopback": (str(hub.loopback), 179),
        "another store's tunnel": (str(other.hub_inside.ip), 179),
        "the hub's public address": (str(hub.public_address), 179),
        "the hub's DC address": (str(hub.dc.address.ip), 22),
    }
    with _through(namespace, _device_of(namespace, source), [source], [a for a, _ in targets.values()]):
        wait_for(lambda: _connects(namespace, source, near, 179) in ("open", "refused"), 60, f"BGP to {near} over {tunnel.id}")
        seen = dict(zip(targets, reachability.connect_outcomes(namespace, list(targets.values()), source=source), strict=True))
        ping = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", BOUND_PING, source, str(hub.loopback)],
            check=True, capture_output=True, text=True, timeout=15,
        ).stdout.strip()

    assert seen == {what: "timeout" for what in seen}, seen
    assert ping == "reply"


def test_a_store_takes_bgp_only_between_its_tunnels_two_ends(routed_lab: Path) -> None:
    """The store's side of the same rule: BGP from the hub's end of a tunnel to the store's end
    of it is taken, and nothing else the far end may send: not to the store's loopback, not from
    another address of the hub's (an AWS VPC's hosts behind a store's AWS tunnel likewise)."""
    intent = NetworkIntent(FLEET)
    hub, store = intent.hub("hq-hub1"), intent.store("nw-0001")
    tunnel = next(t for t in TOPOLOGY.tunnels if (t.store_id, t.transport, t.hub) == ("nw-0001", "wan1", "hq-hub1"))
    hub_end, store_end = str(tunnel.hub_inside.ip), str(tunnel.store_inside.ip)
    namespace = frr_lab.require_state(routed_lab).runtime("hq-hub1").namespace
    # The hub takes nothing from a tunnel but between its two ends (the test above); for these
    # probes it takes the answers back, so what they see is the store's decision.
    echoed = subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "-e", "-a", "insert", "rule", "inet", "storestack", "from_tunnels",
         "ct", "state", "established", "accept"],
        check=True, capture_output=True, text=True,
    ).stdout
    handle = echoed.rsplit("# handle", 1)[1].split()[0]
    try:
        sources = [hub_end, str(hub.loopback)]
        with _through(namespace, _device_of(namespace, hub_end), sources, [str(store.loopback), store_end]):
            wait_for(lambda: _connects(namespace, hub_end, store_end, 179) in ("open", "refused"), 60, f"BGP to {store_end}")
            seen = {
                "the store's loopback": _connects(namespace, hub_end, str(store.loopback), 179),
                "from the hub's loopback": _connects(namespace, str(hub.loopback), store_end, 179),
            }
    finally:
        subprocess.run(
            ["ip", "netns", "exec", namespace, "nft", "delete", "rule", "inet", "storestack", "from_tunnels", "handle", handle],
            check=True,
        )

    assert seen == {what: "timeout" for what in seen}, seen


CLOUD_COUNTERS = "storestack_test_cloud"


def test_a_cloud_vpn_opens_nothing_towards_a_store_and_pings_nothing(routed_lab: Path) -> None:
    """What the far end of a hub's cloud VPN may send into it (the stand-in's link in HQ, as
    AWS's side of the tunnel): the hub forwards no connection a cloud host opens towards a store
    (`HubIntent.cloud_forwarding`: a till opens nothing towards a cloud, so nothing of a cloud's
    reaches it), never from HQ's addresses (a spoofed HQ source would pass the store's HQ
    rules), nor from a cloud to the internet through the hub, and it answers no ping. Counted on
    the hub, after its firewall, by an observer table of the test's own."""
    state = frr_lab.require_state(routed_lab)
    sites = TOPOLOGY.sites
    assert sites is not None
    hub = next(iter(sites.hub_cloud_vpns))
    vpn = sites.hub_cloud_vpns[hub]
    hq, hub_namespace = state.site_namespaces["hq"], state.runtime(hub).namespace
    till = host_address(state.site_namespaces["nw-0001/pos"])
    cloud_source = str(vpn.announce.network_address + 77)  # a VPC host behind the VPN
    spoofed = str(sites.hq_pos)
    hub_end = str(vpn.hub_inside.ip)
    sent = {"cloud to the till": (cloud_source, till), "cloud to the internet": (cloud_source, str(INTERNET_SERVICE)),
            "HQ to the till": (spoofed, till)}  # fmt: skip
    matches = {
        name: f'iifname "{vpn.ifname}" ip saddr {source} ip daddr {destination}' for name, (source, destination) in sent.items()
    }
    install_observer(hub_namespace, CLOUD_COUNTERS, matches)
    subprocess.run(["ip", "-n", hq, "addr", "add", f"{cloud_source}/32", "dev", "lo"], check=True)
    try:
        destinations = [till, str(INTERNET_SERVICE)]
        with _through(hq, _device_of(hq, str(vpn.peer_inside)), [cloud_source, spoofed], destinations, via=hub_end):
            reachability.connect_outcomes(hq, [(till, 443), (str(INTERNET_SERVICE), 443)], source=cloud_source)
            reachability.connect_outcomes(hq, [(till, 443)], source=spoofed)
            ping = subprocess.run(
                ["ip", "netns", "exec", hq, sys.executable, "-c", BOUND_PING, str(vpn.peer_inside), hub_end],
                check=True, capture_output=True, text=True, timeout=15,
            ).stdout.strip()
        counts = observer_counts(hub_namespace, CLOUD_COUNTERS)
    finally:
        subprocess.run(["ip", "-n", hq, "addr", "del", f"{cloud_source}/32", "dev", "lo"], check=False)
        subprocess.run(["ip", "netns", "exec", hub_namespace, "nft", "delete", "table", "inet", CLOUD_COUNTERS], check=False)
    # None of the cloud's SYNs to the till left the hub, none to the internet, and nothing from
    # HQ's address.
    assert counts == {"cloud to the till": 0, "cloud to the internet": 0, "HQ to the till": 0}, counts
    assert ping == "timeout"


RELAY_COUNTERS = "storestack_test_relay"


def _stand_in(state: frr_lab.LabState, hub: str, *commands: str) -> str:
    """vtysh on the bgpd of `hub`'s cloud VPN stand-in (`dccore.hub_cloud_vpn_config`)."""
    space = f"{state.prefix}-{dccore.HUB_CLOUD_VPN}-{hub}"
    return system.run(
        [str(system.VTYSH), "-N", space, "-d", "bgpd", *(a for c in commands for a in ("-c", c))], timeout=15
    ).stdout


def _best_paths(out: str) -> list[dict[str, object]]:
    """The best paths of an FRR `show bgp ipv4 unicast PREFIX json`."""
    paths = json.loads(out).get("paths", []) if out.strip() else []
    return [p for p in paths if p.get("bestpath", {}).get("overall")]


def test_one_hub_carries_the_cloud_both_ways_and_the_next_takes_over_when_its_vpn_is_down(routed_lab: Path) -> None:
    """The hubs rank for the clouds in fleet order (`NetworkIntent.cloud_rank`), so one hub per
    cloud site carries both directions of every cloud flow through its stateful firewall. The
    second hub prepends its ASN towards its cloud VPN (the cloud's stand-in holds the stores'
    aggregate with a longer AS path from it than from the first hub's) and takes its own cloud
    routes below the first hub's, which reach it over iBGP: its best path to the cloud's VPC is
    the first hub's, and it relays the cloud traffic of a store it is the primary hub of across
    the DC LAN to the first hub, which takes it from its DC port into its own cloud VPN (counted
    after both hubs' firewalls by observer tables of the test's own). The DC core's best path to
    the VPC leads to the first hub too. With the first hub's cloud session down the second uses
    its own VPN, and the first relays to it; both come back when the session does."""
    state = frr_lab.require_state(routed_lab)
    sites = TOPOLOGY.sites
    assert sites is not None and sites.dc_core is not None
    intent = NetworkIntent(FLEET)
    first, second = sorted(sites.hub_cloud_vpns, key=lambda hub: intent.cloud_rank(hub).rank)
    assert (intent.cloud_rank(first).rank, intent.cloud_rank(second).rank) == (0, 1)
    vpn, second_vpn = sites.hub_cloud_vpns[first], sites.hub_cloud_vpns[second]
    first_namespace, second_namespace = state.runtime(first).namespace, state.runtime(second).namespace
    stores = FLEET.spec.ip_plan.stores
    hub_asn = intent.hub(first).asn

    def aggregate_path(hub: str) -> str | None:
        best = _best_paths(_stand_in(state, hub, f"show bgp ipv4 unicast {stores} json"))
        return str(best[0]["aspath"]["string"]) if best else None  # type: ignore[index]

    def best_peer(hub: str) -> str | None:
        best = _best_paths(lab.vtysh(routed_lab, hub, f"show bgp ipv4 unicast {vpn.announce} json"))
        return str(best[0]["peer"]["peerId"]) if best else None  # type: ignore[index]

    through_first = str(sites.dc_core.hub_addresses[first])
    wait_for(
        lambda: aggregate_path(first) is not None and aggregate_path(second) is not None and best_peer(second) == through_first,
        90,
        "the stand-ins to hold the stores' aggregate and the second hub to take the first hub's cloud route",
    )
    # Towards the clouds: the first hub announces the stores once, the second with its ASN prepended.
    assert aggregate_path(first) == f"{hub_asn}", aggregate_path(first)
    assert aggregate_path(second) == f"{hub_asn} {hub_asn}", aggregate_path(second)
    # From the clouds: each hub's best path to the VPC is the first hub's own VPN session.
    assert best_peer(first) == str(vpn.peer_inside)
    second_route = json.loads(lab.vtysh(routed_lab, second, f"show bgp ipv4 unicast {vpn.announce} json"))
    own = [p for p in second_route["paths"] if p["peer"]["peerId"] == str(second_vpn.peer_inside)]
    assert own and not own[0].get("bestpath", {}).get("overall") and own[0]["locPrf"] == 90, second_route
    # HQ's way there: the DC core's best path leads to the first hub, whichever hub it took it from.
    core_route = system.run(
        [str(system.VTYSH), "-N", dccore.pathspace(state.prefix, 0), "-d", "bgpd",
         "-c", f"show bgp ipv4 unicast {vpn.announce} json"],
        timeout=15,
    ).stdout  # fmt: skip
    assert [h["ip"] for p in _best_paths(core_route) for h in p["nexthops"]] == [through_first], core_route  # type: ignore[attr-defined]

    # A store whose primary hub is the second: its office's cloud flow goes through the first.
    with_aws = {tunnel.store for tunnel in state.cloud_tunnels}
    office = next(s for s in TOPOLOGY.segments if s.kind == "office" and s.appliance not in with_aws and s.hub == second)
    office_namespace = state.site_namespaces[f"{office.store_id}/office"]
    pc, cloud = host_address(office_namespace), str(sites.cloud_host)
    assert f"via {through_first} dev dc" in _ip(second_namespace, "route", "get", cloud)
    flow = f"ip saddr {pc} ip daddr {cloud} tcp dport 443"
    install_observer(second_namespace, RELAY_COUNTERS, {"to the first hub": f'oifname "dc" {flow}'})
    install_observer(first_namespace, RELAY_COUNTERS, {"into its cloud VPN": f'iifname "dc" oifname "{vpn.ifname}" {flow}'})
    try:
        outcome = reachability.connect_outcomes(office_namespace, [(cloud, 443)])
        relayed = observer_counts(second_namespace, RELAY_COUNTERS)["to the first hub"]
        forwarded = observer_counts(first_namespace, RELAY_COUNTERS)["into its cloud VPN"]
    finally:
        for namespace in (first_namespace, second_namespace):
            subprocess.run(["ip", "netns", "exec", namespace, "nft", "delete", "table", "inet", RELAY_COUNTERS], check=False)
    assert relayed > 0 and forwarded > 0, (relayed, forwarded)
    assert outcome[0] in ("open", "refused"), outcome

    # The first hub's cloud session down: the second takes its own VPN, the first relays to it.
    space_commands = ("configure terminal", f"router bgp {vpn.peer_asn}")
    through_second = str(sites.dc_core.hub_addresses[second])
    _stand_in(state, first, *space_commands, f"neighbor {vpn.hub_inside.ip} shutdown")
    try:
        wait_for(lambda: best_peer(second) == str(second_vpn.peer_inside), 60, "the second hub to take its own cloud VPN")
        wait_for(lambda: best_peer(first) == through_second, 60, "the first hub to take the second hub's cloud route")
        assert f"dev {second_vpn.ifname}" in _ip(second_namespace, "route", "get", cloud)
        assert f"via {through_second} dev dc" in _ip(first_namespace, "route", "get", cloud)
    finally:
        _stand_in(state, first, *space_commands, f"no neighbor {vpn.hub_inside.ip} shutdown")
    wait_for(lambda: best_peer(second) == through_first, 90, "the first hub's cloud session back and first again")


def test_a_wrong_asn_in_the_cloud_stand_in_is_reported_and_fails_the_check(routed_lab: Path) -> None:
    state = frr_lab.require_state(routed_lab)
    cloud = overlay.cloud_runtime(state)
    assert cloud is not None
    tunnel = state.cloud_tunnels[0]
    neighbor = tunnel.store_inside.ip

    def remote_as(asn: int) -> None:
        run_vtysh(cloud, "configure terminal", f"router bgp {tunnel.amazon_asn}", f"neighbor {neighbor} remote-as {asn}")

    def down_reported() -> bool:
        problems = check(routed_lab).problems
        return any(p.startswith(f"BGP {tunnel.store} -> cloud-vpn {tunnel.aws_inside.ip} (aws") for p in problems)

    remote_as(tunnel.store_asn + 1)  # the stand-in now expects another customer gateway ASN
    try:
        wait_for(down_reported, 60, "the AWS session with a wrong ASN to be reported")
        runner = CliRunner()
        as_json = runner.invoke(cli, ["lab", "check", "--state-dir", str(routed_lab), "--json"])
        report = json.loads(as_json.output)
        session = next(s for s in report["bgp"] if s["appliance"] == tunnel.store and s["neighbor"] == str(tunnel.aws_inside.ip))
        assert session["kind"] == "aws" and session["state"] != "Established"
        assert as_json.exit_code == 1 and report["ok"] is False
    finally:
        remote_as(tunnel.store_asn)
    wait_for(lambda: not down_reported(), 90, "the AWS session back with the plan's ASN")


def _bgpd(space: str, *commands: str) -> None:
    system.run([str(system.VTYSH), "-N", space, "-d", "bgpd", *(a for c in commands for a in ("-c", c))], timeout=15)


def _ip(namespace: str, *arguments: str) -> str:
    return subprocess.run(["ip", "-n", namespace, *arguments], check=True, capture_output=True, text=True).stdout.strip()


def test_a_hub_that_loses_the_dc_core_withdraws_hq_and_the_till_reaches_hq_through_the_other(routed_lab: Path) -> None:
    """A hub whose BGP sessions to the DC core routers are down, while its DC port stays up, no
    longer announces HQ's summary (an aggregate of what the core teaches, which the other hub
    does not pass on): the store's till, whose primary hub it is, reaches HQ through the other
    hub. The store's SLA steering runs: BFD and BGP to the first hub stay up and its probes
    answer, but storestack-steer moves the POS class off it because that hub no longer offers
    a route to HQ POS, and back once it does again. HQ's answers take the same way, as the DC
    core's BGP routes them (no route in HQ is set by hand)."""
    state = frr_lab.require_state(routed_lab)
    sites = TOPOLOGY.sites
    assert sites is not None and sites.dc_core is not None
    core = sites.dc_core
    pos = next(s for s in TOPOLOGY.segments if (s.store_id, s.kind) == ("nw-0001", "pos"))
    hub = pos.hub
    assert hub is not None
    (other,) = [name for name in core.hub_addresses if name != hub]
    till, hq = state.site_namespaces["nw-0001/pos"], state.site_namespaces["hq"]
    hub_namespace = state.runtime(hub).namespace
    edge = state.runtime("nw-0001-edge1").namespace
    steering = SteeringConfig.parse((ipsec.instance_dir(edge) / STEERING_CONF).read_text())
    pos_class = next(c for c in steering.classes if c.name == "pos")
    assert pos_class.destinations, "the POS class is steered without its destinations"
    intent = NetworkIntent(FLEET)
    hub_peers: dict[str, set[str]] = {}
    store_ends: dict[str, str] = {}  # per hub, the store's end of a tunnel to it
    for tunnel in intent.store("nw-0001").tunnels:
        if tunnel.kind == "store-hub" and tunnel.local_inside is not None:
            hub_peers.setdefault(tunnel.peer, set()).add(str(tunnel.peer_inside))
            store_ends.setdefault(tunnel.peer, str(tunnel.local_inside.ip))
    beacon = intent.hub(hub).beacon
    assert beacon is not None

    def beacon_announced() -> bool:
        """Whether the hub announces its beacon to the store (what an IOS-XE store tracks)."""
        out = lab.vtysh(routed_lab, hub, f"show bgp ipv4 unicast neighbors {store_ends[hub]} advertised-routes json")
        return str(beacon.route) in json.loads(out).get("advertisedRoutes", {})

    def default_from(name: str) -> bool:
        """Whether the store holds a default route from hub `name` (`StoreDefault`: a hub gives
        one only while it holds the DC core's)."""
        route = json.loads(lab.vtysh(routed_lab, "nw-0001-edge1", "show bgp ipv4 unicast 0.0.0.0/0 json") or "{}")
        return any(p.get("peer", {}).get("peerId") in hub_peers[name] for p in route.get("paths", []))

    def pos_table_peer() -> str:
        route = _ip(edge, "route", "show", "table", str(pos_class.table))
        return route.split(" via ")[1].split()[0] if " via " in route else route

    def reaches_hq() -> bool:
        (outcome,) = reachability.connect_outcomes(till, [(str(sites.hq_pos), 443)])
        return outcome in ("open", "refused")

    def hq_routes_back_through(name: str) -> bool:
        """Whether HQ's kernel route to the till's segment (the DC core's best path) is via `name`."""
        return f"via {core.hub_addresses[name]} " in _ip(hq, "route", "show", "exact", str(pos.subnet)) + " "

    wait_for(reaches_hq, 120, "the till to reach HQ POS")
    wait_for(lambda: pos_table_peer() in hub_peers[hub], 60, f"the POS class to leave on {hub}, its preferred hub")
    wait_for(beacon_announced, 90, f"{hub} to announce its beacon {beacon.address} while it learns HQ")
    wait_for(lambda: default_from(hub) and default_from(other), 60, "a default route from each hub while both hold the DC's")
    wait_for(lambda: hq_routes_back_through(hub), 60, f"HQ to route the till's segment back through {hub}")
    # The hub loses the core's routes with its sessions; the core learns the stores from the other
    # hub only, and HQ routes the till's segment back there.
    shutdown = ["configure terminal", f"router bgp {core.asn}", f"neighbor {core.hub_addresses[hub]} shutdown"]
    spaces = [dccore.pathspace(state.prefix, index) for index in range(len(core.routers))]
    try:
        for space in spaces:
            _bgpd(space, *shutdown)
        assert _ip(hub_namespace, "-o", "link", "show", "dev", "dc").count("state UP") == 1  # the DC port stays up
        try:
            wait_for(lambda: pos_table_peer() in hub_peers[other], 60, f"the POS class to move to {other}")
            wait_for(lambda: hq_routes_back_through(other), 60, f"HQ to route the till's segment back through {other}")
            wait_for(reaches_hq, 90, f"the till to reach HQ POS through {other} with {hub}'s DC sessions down")
        except AssertionError as exc:
            detail = [lab.vtysh(routed_lab, name, f"show bgp ipv4 unicast {sites.hq_prefixes[0]}") for name in (hub, "nw-0001-edge1")]
            raise AssertionError(f"{exc}\nPOS table: {pos_table_peer()}\n" + "\n".join(detail)) from None
        # The hub withdraws its beacon (conditional advertisement, rechecked every 60 s).
        wait_for(lambda: not beacon_announced(), 90, f"{hub} to withdraw its beacon")
        # And the default route: the store's internet traffic goes to the other hub only.
        wait_for(lambda: not default_from(hub) and default_from(other), 60, f"{hub} to withdraw the store's default route")
        # BFD and BGP to the first hub never went down: only its routes moved the class.
        assert all(s.established for s in check(routed_lab).bgp if s.appliance == "nw-0001-edge1" and s.kind == "store-hub")
    finally:
        for space in spaces:
            _bgpd(space, *shutdown[:2], f"no {shutdown[2]}")
    wait_for(beacon_announced, 90, f"{hub} to announce its beacon again")
    wait_for(lambda: default_from(hub), 60, f"{hub} to give the store a default route again")
    # Once the hub offers HQ again, the class returns with BGP, as HQ's answers do; no recovery
    # wait (its paths to the hub never failed).
    wait_for(lambda: pos_table_peer() in hub_peers[hub], 60, f"the POS class back on {hub}")
    wait_for(lambda: hq_routes_back_through(hub), 60, f"HQ to route the till's segment back through {hub}")
    wait_for(reaches_hq, 60, f"the till to reach HQ POS through {hub} again")
    wait_for(
        lambda: all(s.established for s in check(routed_lab).bgp if s.appliance == hub and s.kind == "dc-core"),
        90, f"{hub}'s DC core sessions back",
    )
