"""The lab topology: built from the inventory, validated before anything starts (no root needed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pydantic import ValidationError

from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab import LabAppliance, LabEndpoint, LabLink, LabTopology, synthetic_topology
from storestack.lab.dccore import bgpd_config
from storestack.lab.errors import LabError
from storestack.lab.fleet import hub_ifname, lab_sites, topology_from_fleet
from storestack.lab.ipsec import NETLINK_RECEIVE_BUFFER, strongswan_conf
from storestack.lab.sshd import LAB_PORT_FLOOR, free_ports
from storestack.lab.state import lab_prefix, namespace_names
from storestack.network.build import NetworkIntent


def test_sample_chain_links_carry_the_inventory_overlay_addresses_to_the_assigned_hub() -> None:
    fleet = load_fleet(sample_chain_path())

    topology = topology_from_fleet(fleet)

    assert {a.name for a in topology.appliances if a.role == "hub"} == set(fleet.hubs)
    for store in fleet:
        for wan in store.wan:
            link = topology.link(store.id, wan.name)
            assert link.a.appliance == store.appliances[0].hostname
            assert link.a.ifname == wan.name
            assert link.a.address == wan.overlay
            assert link.b.appliance == wan.hub
            assert link.b.address.ip == wan.overlay_peer
            assert link.primary == wan.primary
            if not store.lte_only:
                # Fiber and broadband go to the store's primary hub, LTE and 5G to its backup.
                assert link.b.appliance == (store.backup_hub if wan.cellular else store.primary_hub)
    nw3 = topology.appliance("nw-0003-edge1")
    assert nw3.platform == "cisco_xe" and nw3.store_id == "nw-0003"


def test_stores_and_count_select_part_of_the_fleet() -> None:
    fleet = load_fleet(sample_chain_path())

    two = topology_from_fleet(fleet, ["nw-0001", "nw-0002"])
    first = topology_from_fleet(fleet, count=1)

    assert {a.store_id for a in two.appliances if a.role == "edge"} == {"nw-0001", "nw-0002"}
    assert {link.store_id for link in two.links} == {"nw-0001", "nw-0002"}
    assert [a.name for a in first.appliances if a.role == "edge"] == ["nw-0001-edge1"]
    with pytest.raises(LabError):
        topology_from_fleet(fleet, count=0)


def test_hub_interface_names_fit_linux_and_stay_unique() -> None:
    long_ids = [f"a-very-long-store-identifier-{n}" for n in range(50)]

    names = {hub_ifname(store_id, "wan1") for store_id in long_ids}

    assert len(names) == 50
    assert all(len(name) <= 15 for name in names)
    assert hub_ifname("nw-0001", "wan1") == "nw-0001-wan1"


def test_a_link_naming_an_unknown_appliance_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown appliance"):
        LabTopology(
            appliances=[LabAppliance(name="hub", role="hub")],
            links=[
                LabLink(
                    store_id="s1",
                    name="wan1",
                    kind="fiber",
                    a=LabEndpoint(appliance="edge", ifname="wan1", address="10.0.0.1/31"),
                    b=LabEndpoint(appliance="hub", ifname="s1-wan1", address="10.0.0.0/31"),
                )
            ],
        )


def test_link_ends_must_share_a_subnet_and_names_must_fit_ifnamsiz() -> None:
    with pytest.raises(ValidationError, match="not in the same subnet"):
        LabLink(
            store_id="s1",
            name="wan1",
            kind="fiber",
            a=LabEndpoint(appliance="edge", ifname="wan1", address="10.0.0.1/31"),
            b=LabEndpoint(appliance="hub", ifname="s1-wan1", address="10.0.9.0/31"),
        )
    with pytest.raises(ValidationError):
        LabEndpoint(appliance="edge", ifname="an-interface-name-too-long", address="10.0.0.1/31")


def test_labs_in_different_directories_get_different_prefixes(tmp_path: Path) -> None:
    first, second = lab_prefix(tmp_path / "a"), lab_prefix(tmp_path / "b")

    assert first != second
    names = namespace_names(first, [a.name for a in synthetic_topology(3).appliances])
    assert len(set(names.values())) == 5
    assert all(name.startswith(first + "-") for name in names.values())


def test_the_dc_core_comes_from_the_intent_and_each_router_peers_with_every_hub_on_the_dc_lan() -> None:
    fleet = load_fleet(sample_chain_path())
    sites = topology_from_fleet(fleet, ["nw-0001"], overlay="ipsec").sites
    assert sites is not None and sites.dc_core is not None
    core = sites.dc_core
    hub = NetworkIntent(fleet).hub("hq-hub1")

    # What the rendered hub config expects of the core: its routers, ASN and the hub's LAN address.
    assert hub.dc is not None
    assert tuple(core.routers) == hub.dc.routers and core.asn == hub.dc.core_asn == fleet.spec.asn.dc_core
    assert core.hub_addresses["hq-hub1"] == hub.dc.address.ip and core.hub_asn == hub.asn
    assert all(address in core.lan for address in [*core.routers, *core.hub_addresses.values()])

    second = bgpd_config(core, 1, ["hq-hub1", "hq-hub2"]).splitlines()
    assert f"router bgp {core.asn}" in second and f" bgp router-id {core.routers[1]}" in second
    for name, address in core.hub_addresses.items():
        assert f" neighbor {address} remote-as {core.hub_asn}" in second
        # HQ's DC LAN interface carries every router's address: each dials from its own.
        assert f" neighbor {address} update-source {core.routers[1]}" in second
        assert f" neighbor {address} description {name}" in second
    assert {f"  network {p}" for p in [*fleet.spec.ip_plan.hq, *fleet.spec.ip_plan.management]} <= set(second)
    # The DC's default, which a hub needs to give its stores theirs (`StoreDefault`).
    assert "  network 0.0.0.0/0" in second
    assert hub.store_default is not None and str(hub.store_default.condition) == "0.0.0.0/0"


def test_every_lab_charon_gets_a_netlink_event_buffer_that_a_hubs_burst_cannot_overflow() -> None:
    conf = strongswan_conf("ssl0000000-hq-hub1", ["nw-0001-wan1"])

    assert f"receive_buffer_size = {NETLINK_RECEIVE_BUFFER}" in conf and NETLINK_RECEIVE_BUFFER >= 4 * 1024 * 1024
    # Forced: the default net.core.rmem_max would silently cap it.
    assert "force_receive_buffer_size = yes" in conf
    assert "interfaces_ignore = ipsec0, nw-0001-wan1" in conf


def test_lab_ports_stay_out_of_the_range_client_connections_take_their_source_ports_from() -> None:
    low, _high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    if low - LAB_PORT_FLOOR < 400:
        pytest.skip(f"this machine's ephemeral range starts at {low}: no room below it")
    ports = free_ports(50, seed="ssl0000001")

    assert len(set(ports)) == 50
    assert all(LAB_PORT_FLOOR <= port < low for port in ports)
    # Another lab searches elsewhere; a port someone holds is passed over.
    assert set(free_ports(50, seed="ssl0000002")).isdisjoint(ports)
    with socket.socket() as held:
        held.bind(("127.0.0.1", ports[0]))
        assert ports[0] not in free_ports(50, seed="ssl0000001")


def test_the_cloud_stand_in_peers_over_the_tunnel_of_the_site_whose_range_holds_it() -> None:
    """The stand-in's /24 sits in the first cloud site's slot, which only that site's sessions
    accept. With the regions listed out of alphabetical order, the hub's first cloud tunnel
    (eu-west-1) is not that site (us-east-1): the stand-in must peer over us-east-1's tunnel, or
    the hub refuses its route."""
    fleet = load_fleet(sample_chain_path())
    account = fleet.spec.sites.aws[0]
    sites = fleet.spec.sites.model_copy(update={"aws": [account.model_copy(update={"regions": ["us-east-1", "eu-west-1"]})]})
    reordered = Fleet(fleet.spec.model_copy(update={"sites": sites}), fleet.hubs, {s.id: s for s in fleet}, fleet.root)
    intent = NetworkIntent(reordered)
    for hub, vpn in lab_sites(reordered).hub_cloud_vpns.items():
        (session,) = [s for s in intent.hub(hub).sessions if s.peer_address == vpn.peer_inside]
        assert any(vpn.announce.subnet_of(net) for net in session.accepts), (hub, session.tunnel)
        assert "us-east-1" in vpn.ifname
