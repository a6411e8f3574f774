"""The IOS-XE hub as a FlexVPN server: every store link (static, DHCP or cellular) on one virtual
template, its overlay /31 from the authorization policy its identity names; an infrastructure ACL
on the DC core LAN. Each lint rule is clean on what storestack renders and catches a deliberately
broken copy; the cross-file checks still pair every store tunnel with its hub peer."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path

import pytest
from testsupport.rendering import on_platform

from storestack.devices.lint import ConfigFile, Finding, Packet, cisco_xe
from storestack.devices.lint.linetree import Line, parse
from storestack.devices.lint.run import config_files, lint_configs, lint_fleet
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.network.build import NetworkIntent

HUB_RULES = (
    cisco_xe.undefined_references,
    cisco_xe.interface_names,
    cisco_xe.timers,
    cisco_xe.virtual_templates,
    cisco_xe.hub_infrastructure,
    cisco_xe.management_plane,
)


def ios_hubs(fleet: Fleet) -> Fleet:
    """The fleet with its hubs on IOS-XE and every store as the inventory has it."""
    hubs = {name: hub.model_copy(update={"platform": "cisco_xe"}) for name, hub in fleet.hubs.items()}
    return Fleet(fleet.spec, hubs, {store.id: store for store in fleet}, fleet.root)


@pytest.fixture(scope="module")
def hub(fleet: Fleet) -> ConfigFile:
    config = render_hub(on_platform(fleet, "cisco_xe"), "hq-hub1")
    return ConfigFile(config.filename, "cisco_xe", "hub", config.name, config.text)


def _lint(config: ConfigFile) -> list[Finding]:
    return [finding for rule in HUB_RULES for finding in rule(config)]


def _broken(config: ConfigFile, old: str, new: str, count: int = 1) -> ConfigFile:
    assert old in config.text, f"{old!r} is not in the rendered hub"
    return dataclasses.replace(config, text=config.text.replace(old, new, count))


def _rules(findings: list[Finding]) -> list[str]:
    return sorted(finding.rule for finding in findings)


def test_every_store_link_dials_into_one_unnumbered_template(fleet: Fleet, hub: ConfigFile) -> None:
    text = hub.text
    assert _lint(hub) == []
    # One template, one profile for the stores; no per-link tunnel or profile, static links included.
    assert re.findall(r"^interface (Virtual-Template\d+|Tunnel\d+)", text, re.M) == [
        "Virtual-Template1", "Tunnel65537", "Tunnel65538", "Tunnel65539",
    ]  # fmt: skip
    assert " virtual-template 1\n" in text and text.count(" virtual-template ") == 1
    # A flood of IKE_SA_INIT (or every store re-dialling at once) meets a cookie challenge, then a
    # cap on IKEv2 SAs in negotiation above it. The keyword is IOS-XE's own spelling,
    # `max-in-negotation-sa` (Cisco-IOS-XE-crypto.yang, container max-neg-sa): the router refuses
    # the dictionary spelling, and the push would fail on it.
    assert "max-in-negotiation-sa" not in text
    limit = re.search(r"^crypto ikev2 limit max-in-negotation-sa (\d+)$", text, re.M)
    cookie = re.search(r"^crypto ikev2 cookie-challenge (\d+)$", text, re.M)
    assert limit is not None and cookie is not None and 0 < int(cookie[1]) < int(limit[1])
    template = re.search(r"^interface Virtual-Template1 type tunnel\n((?: .*\n)+)", text, re.M)
    assert template is not None
    assert " ip unnumbered Loopback0\n" in template[1] and " ip address" not in template[1]
    # ICMP redirects off on every virtual-access; no BFD there (IOS does not run it on
    # virtual-template or virtual-access interfaces), nor for the store peers' BGP sessions: only
    # the other hubs' sessions, on the DC LAN, run it (`SESSION_BFD`).
    assert " no ip redirects\n" in template[1] and "bfd" not in template[1]
    assert re.findall(r"^ neighbor (\S+) fall-over bfd", text, re.M) == ["10.0.0.4"]
    # No store reaches another store's segments, loopback or tunnel addresses through the hub:
    # FROM-STORES denies every fleet range before its closing permit (devices/lint/isolation.py
    # follows it packet by packet).
    assert " ip access-group FROM-STORES in\n" in template[1]
    acl = re.search(r"^ip access-list extended FROM-STORES\n((?: .*\n)+)", text, re.M)
    assert acl is not None and [line.split(maxsplit=1)[1] for line in acl[1].splitlines()[-2:]] == [
        "permit ip 10.64.0.0 0.15.255.255 any",
        "deny ip any any",
    ]
    denied = [
        ipaddress.IPv4Network(f"{m[1]}/{m[2]}")
        for m in re.finditer(r"^ \d+ deny ip any (\S+) (\S+)$", acl[1], re.M)
        if m[1] != "host"  # the hub's own DC address (store_forwarding.closed)
    ]
    plan = fleet.spec.ip_plan
    for net in (plan.stores, plan.loopbacks, plan.transit):
        assert any(net.subnet_of(d) for d in denied), net
    hub_tunnels = [t for t in NetworkIntent(on_platform(fleet, "cisco_xe")).hub("hq-hub1").tunnels if t.kind == "store-hub"]
    assert any(t.peer_outside for t in hub_tunnels) and any(t.peer_outside is None for t in hub_tunnels)
    for tunnel in hub_tunnels:
        assert tunnel.local_inside is not None
        policy = re.search(
            rf"^crypto ikev2 authorization policy {re.escape(tunnel.peer_id.split('.')[0])}\n aaa attribute list (\S+)\n",
            text,
            re.M,
        )
        assert policy is not None, tunnel.id
        attributes = re.search(rf"^aaa attribute list {re.escape(policy[1])}\n((?: .*\n)+)", text, re.M)
        assert attributes is not None
        assert f'interface-config "ip address {tunnel.local_inside.ip} {tunnel.local_inside.netmask}"' in attributes[1]
        assert f'interface-config "description ipsec {tunnel.id} ' in attributes[1]
        assert "bfd" not in attributes[1]
    # The overlay pool is discarded, never sent down the DC edge's default route.
    transit = ipaddress.IPv4Network(fleet.spec.ip_plan.transit)
    assert f"ip route {transit.network_address} {transit.netmask} Null0 254\n" in text


def test_a_numbered_virtual_template_is_found(hub: ConfigFile) -> None:
    broken = _broken(hub, " ip unnumbered Loopback0\n ip mtu 1360\n", " ip address 100.64.0.0 255.255.255.254\n ip mtu 1360\n")
    assert _rules(_lint(broken)) == ["cisco-virtual-template-numbered"]


def test_bfd_on_a_virtual_access_is_found(hub: ConfigFile) -> None:
    # On the template, in one store link's attribute list, and for a peer group of store links:
    # IOS takes each line, and no BFD session ever runs over a virtual-access.
    broken = _broken(hub, " no ip redirects\n ip access-group FROM-STORES in\n", " no ip redirects\n bfd interval 200 min_rx 200 multiplier 3\n ip access-group FROM-STORES in\n")
    broken = _broken(
        broken,
        ' attribute type interface-config "ip address 100.64.0.0 255.255.255.254"\n',
        ' attribute type interface-config "ip address 100.64.0.0 255.255.255.254"\n'
        ' attribute type interface-config "bfd interval 200 min_rx 200 multiplier 3"\n',
    )
    broken = _broken(broken, " neighbor STORES-WIRED timers 10 30\n", " neighbor STORES-WIRED timers 10 30\n neighbor STORES-WIRED fall-over bfd\n")
    found = [f for f in _lint(broken) if f.rule == "cisco-virtual-access-bfd"]
    assert len(found) == 3
    assert any("Virtual-Template1" in f.message for f in found)
    assert any("peer nw-0001-wan1" in f.message for f in found)
    assert any("neighbor STORES-WIRED fall-over bfd" in f.message for f in found)
    # BFD to a neighbour on a connected subnet (the DC core) is not a virtual-access's.
    dc = _broken(hub, " neighbor 10.0.0.1 timers 3 9\n", " neighbor 10.0.0.1 timers 3 9\n neighbor 10.0.0.1 fall-over bfd\n")
    assert _lint(dc) == []


def test_a_store_peer_without_an_address_from_its_policy_is_found(hub: ConfigFile) -> None:
    # One link's attribute list loses its address: that virtual-access stays unnumbered and its
    # BGP neighbour is on no subnet of the hub.
    broken = _broken(hub, ' attribute type interface-config "ip address 100.64.0.0 255.255.255.254"\n', "")
    found = _lint(broken)
    assert _rules(found) == ["cisco-virtual-access-unaddressed", "cisco-virtual-access-unaddressed"]
    assert any("peer nw-0001-wan1" in f.message for f in found)
    assert any("neighbor 100.64.0.1 remote-as" in f.message for f in found)
    # An authorization policy named after something the mangler never derives from the identity.
    broken = _broken(
        hub,
        "crypto ikev2 authorization policy nw-0002-wan1\n",
        "crypto ikev2 authorization policy nw-0002-wan1.northwind.example\n",
    )
    found = [f for f in _lint(broken) if f.rule == "cisco-virtual-access-unaddressed"]
    assert any("peer nw-0002-wan1" in f.message and "policy 'nw-0002-wan1'" in f.message for f in found)
    # No group authorization at all: no store peer gets an address.
    broken = _broken(hub, " aaa authorization group psk list STORES-LOCAL name-mangler STORES\n", "")
    found = [f for f in _lint(broken) if f.rule == "cisco-virtual-access-unaddressed"]
    assert len([f for f in found if "no `aaa authorization group" in f.message]) == hub.text.count("  identity fqdn ")


def test_an_undefined_mangler_list_or_attribute_list_is_found(hub: ConfigFile) -> None:
    broken = _broken(hub, "crypto ikev2 name-mangler STORES\n", "crypto ikev2 name-mangler OTHER\n")
    broken = _broken(broken, "aaa authorization network STORES-LOCAL local\n", "aaa authorization network OTHER local\n")
    broken = _broken(broken, " aaa attribute list nw-0003-wan1\n", " aaa attribute list nw-0003-wanX\n")
    messages = [f.message for f in _lint(broken) if f.rule == "cisco-undefined-reference"]
    assert sorted(messages) == [
        "aaa-attribute-list 'nw-0003-wanX' is referenced but not defined",
        "aaa-network-list 'STORES-LOCAL' is referenced but not defined",
        "ikev2-name-mangler 'STORES' is referenced but not defined",
    ]


def test_a_hub_port_without_its_infrastructure_acl_is_found(hub: ConfigFile) -> None:
    broken = _broken(hub, " ip access-group HUB-INFRASTRUCTURE in\n", "")
    found = _lint(broken)
    assert _rules(found) == ["cisco-hub-unfiltered"]
    assert "GigabitEthernet0/0/0" in found[0].message
    # An ACL name that is not defined filters nothing either (IOS then permits everything).
    broken = _broken(hub, " ip access-group HUB-INFRASTRUCTURE in\n", " ip access-group HUB-INFRA in\n")
    assert "cisco-hub-unfiltered" in _rules(_lint(broken))


def test_management_open_to_anywhere_is_found(hub: ConfigFile) -> None:
    # SSH from anywhere instead of the management ranges.
    broken = _broken(hub, "permit tcp 10.0.250.0 0.0.0.255 host 10.255.0.1 eq 22", "permit tcp any host 10.255.0.1 eq 22")
    found = _lint(broken)
    assert _rules(found) == ["cisco-hub-exposed"]
    assert "tcp 22" in found[0].message and "10.255.0.1" in found[0].message
    # The deny of the loopback forgotten: transit's `permit ip any any` lets SNMP and SSH reach it.
    line = re.search(r"^ \d+ deny ip any host 10\.255\.0\.1\n", hub.text, re.M)
    assert line is not None
    found = _lint(_broken(hub, line[0], ""))
    assert _rules(found) == ["cisco-hub-exposed"] and "permit ip any any" in found[0].message
    # Answers to connections the hub opened are not an opening.
    broken = _broken(hub, "permit tcp 10.0.250.0 0.0.0.255 host 10.255.0.1 eq 22", "permit tcp any host 10.255.0.1 established")
    assert _lint(broken) == []
    # A source port is the sender's choice: "from BGP's port" is from anywhere.
    broken = _broken(
        hub, "permit tcp host 10.0.0.1 eq bgp host 10.0.0.3 established\n", "permit tcp any eq bgp host 10.0.0.3\n"
    )
    assert _rules(_lint(broken)) == ["cisco-hub-exposed"]


def test_hub_takes_tcp_answers_by_source_port_only_established(hub: ConfigFile) -> None:
    """The DC core LAN's infrastructure ACL is stateless: its entries for the answers of what the
    hub opens (BGP to the core routers and the other hubs, TACACS+ to HQ) match by source port,
    which the sender chooses, so each takes only segments with ACK or RST set: a core router's
    address or the TACACS+ server's, sending from port 179 or 49, opens no connection to another
    port of the hub."""
    acl = hub.text.split("ip access-list extended HUB-INFRASTRUCTURE\n", 1)[1].split("!\n", 1)[0]
    by_source_port = re.findall(r"^ \d+ permit tcp host \S+ eq \S+ host \S+.*$", acl, flags=re.M)
    assert len(by_source_port) >= 4
    assert [entry for entry in by_source_port if not entry.endswith(" established")] == []
    assert " permit tcp host 10.0.1.49 eq tacacs host 10.255.0.1 established" in acl


def test_hub_takes_udp_answers_by_source_port_only_to_one_port(hub: ConfigFile) -> None:
    """A stateless ACL cannot tie a UDP answer to its request: an entry matching a server's
    answers by their source port must name the one port they come back to, or that server's
    address, sending from the port, reaches every UDP port of the hub (SNMP among them). The hub
    resolves no names, so it takes no DNS answers and runs no DNS client."""
    acl = hub.text.split("ip access-list extended HUB-INFRASTRUCTURE\n", 1)[1].split("!\n", 1)[0]
    assert " eq domain " not in acl and "ip name-server" not in hub.text
    assert "\nno ip domain lookup\n" in hub.text and "ip domain lookup source-interface" not in hub.text
    # The entry the hub had for its resolvers' answers: any UDP port of the loopback from port 53.
    ntp = "permit udp host 10.0.1.10 eq ntp host 10.255.0.1 eq ntp\n"
    broken = _broken(hub, ntp, ntp + " 205 permit udp host 10.0.1.53 eq domain host 10.255.0.1\n")
    found = _lint(broken)
    assert _rules(found) == ["cisco-hub-source-port"]
    assert "10.0.1.53 eq domain" in found[0].message and "any UDP port" in found[0].message
    # A range of ports is no better than any port; NTP's one port is clean.
    ranged = _broken(hub, ntp, "permit udp host 10.0.1.10 eq ntp host 10.255.0.1 range 1 65535\n")
    assert _rules(_lint(ranged)) == ["cisco-hub-source-port"]
    assert _lint(hub) == []


def test_store_tunnels_pair_with_the_template_peers(fleet: Fleet) -> None:
    """Every store (FRR, IOS-XE, VRP, FortiOS as the sample chain has them) against IOS-XE hubs:
    clean, and a peer's PSK slot, identity or overlay address changed on the hub is found."""
    mixed = ios_hubs(fleet)
    assert {store.appliances[0].platform for store in mixed} >= {"frr", "cisco_xe", "huawei_vrp", "fortinet"}
    files = config_files(mixed)
    intent = NetworkIntent(mixed)
    assert lint_configs(files, intent).findings == []

    def lint_broken(old: str, new: str, count: int = 1, *more: tuple[str, str]) -> list[Finding]:
        def edit(text: str) -> str:
            text = text.replace(old, new, count)
            for before, after in more:
                text = text.replace(before, after)
            return text

        changed = [dataclasses.replace(f, text=edit(f.text)) if f.name == "hq-hub1.cfg" and not f.suffix else f for f in files]
        assert changed != files, old
        return lint_configs(changed, intent).findings

    found = lint_broken("  pre-shared-key <psk nw-0001-wan1-hq-hub1>", "  pre-shared-key <psk nw-0002-wan1-hq-hub1>")
    assert any(f.rule == "peer-mismatch" and "PSK slot" in f.message and "nw-0001-wan1-hq-hub1" in f.message for f in found)
    # The hub expects another identity for a link (its keyring peer and authorization policy agree).
    found = lint_broken(
        "nw-0003-lte1.northwind.example",
        "nw-0003-lte9.northwind.example",
        -1,
        ("crypto ikev2 authorization policy nw-0003-lte1\n", "crypto ikev2 authorization policy nw-0003-lte9\n"),
    )
    assert any(f.rule == "peer-mismatch" and "IKE identit" in f.message and "nw-0003-lte1-hq-hub1" in f.message for f in found)
    # Only the keyring's identity changes: the policy the mangler now names does not exist.
    found = lint_broken("  identity fqdn nw-0003-lte1.northwind.example", "  identity fqdn nw-0003-lte9.northwind.example")
    assert {f.rule for f in found} == {"missing-peer", "cisco-virtual-access-unaddressed"}
    found = lint_broken('"ip address 100.64.0.0 255.255.255.254"', '"ip address 100.64.9.0 255.255.255.254"')
    assert any(f.rule == "peer-mismatch" and "inside address" in f.message for f in found)
    found = lint_broken('"description ipsec nw-0001-wan1-hq-hub1 ', '"description ipsec nw-0001-wan1-hq-hubX ')
    assert any(f.rule == "missing-peer" and "nw-0001-wan1-hq-hub1" in f.message for f in found)


def test_a_generated_fleet_with_ios_xe_hubs_is_clean(tmp_path: Path) -> None:
    write_fleet(generate_fleet(40), tmp_path / "fleet")
    fleet = ios_hubs(load_fleet(tmp_path / "fleet"))
    report = lint_fleet(fleet)
    assert report.findings == [] and report.files > 100


def _cloud_acl(hub: ConfigFile) -> Line:
    root = parse(hub.text, ("!",))
    return next(line for line in root.children if line.text == "ip access-list extended FROM-CLOUD-AWS1")


def test_cloud_tunnels_take_bgp_and_the_intents_traffic_only(hub: ConfigFile) -> None:
    """A cloud VPN is no more trusted than a store link: what an AWS or OpenStack host sends
    into it reaches neither the hub's services nor anything the hub routes beyond HQ and the
    stores; the tunnel's BGP speaker reaches the hub's BGP on the tunnel's inside address."""
    tunnels = re.findall(r"^interface (Tunnel\d+)\n description ipsec \S+ cloud vpn .*\n((?: .*\n)*)", hub.text, re.M)
    assert len(tunnels) == 3
    # One ACL per cloud site, on that site's tunnels: AWS eu-west-1's two, the OpenStack site's one.
    assert [re.findall(r" ip access-group (\S+) in\n", body) for _, body in tunnels] == [
        ["FROM-CLOUD-AWS1"], ["FROM-CLOUD-AWS1"], ["FROM-CLOUD-OPENSTACK1"]
    ], tunnels
    acl = _cloud_acl(hub)
    aws, hub_inside = ipaddress.IPv4Address("169.254.248.1"), ipaddress.IPv4Address("169.254.248.2")
    cloud_host, hq_host = ipaddress.IPv4Address("10.16.1.10"), ipaddress.IPv4Address("10.0.1.10")
    store_host = ipaddress.IPv4Address("10.64.1.10")

    def forwarded(
        protocol: str, source: ipaddress.IPv4Address, destination: ipaddress.IPv4Address, port: int | None = None
    ) -> bool:
        return cisco_xe.acl_verdict(acl, Packet(protocol, source, destination, port)).forwarded

    assert forwarded("tcp", aws, hub_inside, 179)
    # The IP SLA responder's control port, pings, SSH: nothing of the hub answers a cloud.
    assert not forwarded("udp", aws, hub_inside, 1967)
    assert not forwarded("icmp", aws, hub_inside)
    assert not forwarded("tcp", cloud_host, ipaddress.IPv4Address("10.255.0.1"), 22)  # the hub's loopback
    assert not forwarded("tcp", cloud_host, ipaddress.IPv4Address("10.0.0.3"), 22)  # its DC address
    # Clouds reach HQ; towards the stores they open nothing (`HubIntent.cloud_forwarding`: the
    # answers to the stores' own flows only), nothing else.
    assert forwarded("tcp", cloud_host, hq_host, 443)
    assert not forwarded("tcp", cloud_host, store_host, 443)
    assert not forwarded("tcp", cloud_host, ipaddress.IPv4Address("192.0.2.80"), 443)  # the internet
    assert not forwarded("tcp", ipaddress.IPv4Address("192.0.2.80"), hq_host, 443)  # no cloud source
    # Nor from the OpenStack site's range: its hosts sit behind its own tunnel, never AWS's.
    assert not forwarded("tcp", ipaddress.IPv4Address("10.16.64.10"), hq_host, 443)


def test_a_cloud_tunnel_without_its_acl_is_found(hub: ConfigFile) -> None:
    tunnel = re.search(r"^interface (Tunnel\d+)\n description ipsec \S+ cloud vpn .*\n", hub.text, re.M)
    assert tunnel is not None
    body_start = tunnel.end()
    text = hub.text[:body_start] + re.sub(r" ip access-group FROM-CLOUD-\S+ in\n", "", hub.text[body_start:], count=1)
    found = _lint(dataclasses.replace(hub, text=text))
    assert _rules(found) == ["cisco-hub-unfiltered"]
    assert tunnel[1] in found[0].message
