"""The IOS-XE, VRP and FortiOS lint rules: clean on every rendered shape, and each defect class
caught on a deliberately broken copy of a real rendered config."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path

import pytest
from lint_files import broken_files, files_on_platform, rule_findings
from testsupport.rendering import SHAPES, hubs_on, on_platform, steered_off_bgp

from storestack.common.platforms import SLA_STEERING_OFF_ROUTED_PATH_ONLY, Platform
from storestack.devices.lint import (
    STEERING_EXTRACTORS,
    ConfigFile,
    Finding,
    Packet,
    cisco_xe,
    fortinet,
    huawei_vrp,
)
from storestack.devices.lint.linetree import parse, top
from storestack.devices.lint.steering import steering_check
from storestack.devices.render import render_hub, render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet
from storestack.inventory.models import HqServices
from storestack.network.build import NetworkIntent
from storestack.network.crypto import FLEET_CRYPTO
from storestack.network.errors import NetworkIntentError
from storestack.network.model import ManagementAccess

VENDORS = ("cisco_xe", "huawei_vrp", "fortinet")
MODULES = {"cisco_xe": cisco_xe, "huawei_vrp": huawei_vrp, "fortinet": fortinet}
RULES = {
    "cisco_xe": (
        cisco_xe.undefined_references,
        cisco_xe.interface_names,
        cisco_xe.timers,
        cisco_xe.zone_policy,
        cisco_xe.tracking,
        cisco_xe.reaction_steering,
        cisco_xe.return_path,
        cisco_xe.management_plane,
        cisco_xe.snmp_traps,
        cisco_xe.zone_vrfs,
        cisco_xe.zone_order,
        cisco_xe.overlay_transit,
        cisco_xe.track_order,
        cisco_xe.wan_self,
        cisco_xe.wan_echo_policing,
        cisco_xe.police_form,
        cisco_xe.overlay_self,
        cisco_xe.self_by_source_port,
        cisco_xe.bfd_echo,
        cisco_xe.queuing_hierarchy,
        cisco_xe.ipsec_lifetimes,
        cisco_xe.ipsec_dpd,
        cisco_xe.underlay_ports,
        cisco_xe.tunnel_redirects,
        cisco_xe.port_shutdown,
        cisco_xe.policy_routing_self,
        cisco_xe.aws_tunnel_filter,
    ),
    "huawei_vrp": (
        huawei_vrp.undefined_references,
        huawei_vrp.interface_names,
        huawei_vrp.timers,
        huawei_vrp.zone_policy,
        huawei_vrp.name_lengths,
        huawei_vrp.tracking,
        huawei_vrp.policy_routing,
        huawei_vrp.port_keywords,
        huawei_vrp.management_plane,
        huawei_vrp.wan_services,
        huawei_vrp.ike_version,
        huawei_vrp.ike_peer_address,
        huawei_vrp.web_system,
        huawei_vrp.hub_wan_filter,
        huawei_vrp.hub_cloud_filter,
        huawei_vrp.overlay_transit,
        huawei_vrp.shadowed_classifiers,
        huawei_vrp.ike_local_id,
        huawei_vrp.bgp_preference,
        huawei_vrp.guest_services,
        huawei_vrp.segment_services,
        huawei_vrp.wan_echo,
        huawei_vrp.wan_timestamp,
        huawei_vrp.interface_before_definition,
        huawei_vrp.vty_access,
        huawei_vrp.ssh_remote_users,
        huawei_vrp.ssh_algorithms,
        huawei_vrp.ipsec_lifetimes,
        huawei_vrp.ipsec_dpd,
        huawei_vrp.aws_tunnel_filter,
        huawei_vrp.hub_tunnel_filter,
        huawei_vrp.acl_numbers,
    ),
    "fortinet": (
        fortinet.undefined_references,
        fortinet.bfd_enabled,
        fortinet.firewall_policies,
        fortinet.timers,
        fortinet.interface_names,
        fortinet.sdwan_steering,
        fortinet.local_in_interfaces,
        fortinet.wan_echo_limit,
        fortinet.return_path,
        fortinet.management_sources,
        fortinet.tacacs_ascii,
        fortinet.policy_interfaces,
        fortinet.policy_logging,
        fortinet.management_path,
        fortinet.dialup_routes,
        fortinet.dialup_selection,
        fortinet.dhcp_leases,
        fortinet.link_monitor_routes,
        fortinet.policy_route_next_hops,
        fortinet.policy_route_subnets,
        fortinet.sdwan_zone_members,
        fortinet.hub_store_management,
        fortinet.hub_sessions_into_stores,
        fortinet.ipsec_lifetimes,
        fortinet.ipsec_dpd,
        fortinet.net_device_dialup_only,
        fortinet.local_out_backup,
        fortinet.local_out_rule,
        fortinet.control_outside_tunnels,
        fortinet.guest_router,
        fortinet.hub_cloud_filter,
    ),
}


def _store(fleet: Fleet, platform: Platform, shape: str, hubs: Platform | None = None) -> ConfigFile:
    """A store shape rendered on `platform`, its hubs on the same platform unless `hubs` names one."""
    store_id = SHAPES[shape]
    (config,) = render_store(on_platform(fleet, platform, hubs=hubs), store_id)
    return ConfigFile(config.filename, platform, "edge", config.name, config.text, store_id)


def _steered(fleet: Fleet) -> ConfigFile:
    """The VRP store that steers (`steered_off_bgp`: pos and back-office redirected onto lte1,
    tracked by NQA tests SLA_STRICT tun3 and SLA_BUSINESS tun3), its hubs on VRP."""
    return _store(steered_off_bgp(fleet), "huawei_vrp", "lte-only")


def _hub(fleet: Fleet, platform: str) -> ConfigFile:
    config = render_hub(on_platform(fleet, platform), "hq-hub1")
    return ConfigFile(config.filename, platform, "hub", config.name, config.text)


def _lint(config: ConfigFile) -> list[Finding]:
    return [finding for rule in RULES[config.platform] for finding in rule(config)]


def _broken(config: ConfigFile, old: str, new: str, count: int = 1) -> ConfigFile:
    assert old in config.text, f"{old!r} is not in the rendered {config.platform} config"
    return ConfigFile(
        config.name,
        config.platform,
        config.role,
        config.hostname,
        config.text.replace(old, new, count),
        config.store_id,
    )


def _broken_re(config: ConfigFile, pattern: str, replacement: str) -> ConfigFile:
    """`_broken` for a value the SLA classes decide: the first match of `pattern` replaced."""
    text, count = re.subn(pattern, replacement, config.text, count=1)
    assert count == 1, f"{pattern!r} is not in the rendered {config.platform} config"
    return ConfigFile(config.name, config.platform, config.role, config.hostname, text, config.store_id)


def _rules(findings: list[Finding]) -> set[str]:
    return {finding.rule for finding in findings}


@pytest.mark.parametrize("platform", VENDORS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rendered_store_configs_are_clean(fleet: Fleet, platform: str, shape: str) -> None:
    assert _lint(_store(fleet, platform, shape)) == []


@pytest.mark.parametrize("platform", VENDORS)
def test_rendered_hub_configs_are_clean(fleet: Fleet, platform: str) -> None:
    assert _lint(_hub(fleet, platform)) == []


@pytest.mark.parametrize("platform", VENDORS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_tunnel_carries_the_fleet_proposals_and_its_own_psk_slot(
    fleet: Fleet, platform: str, shape: str
) -> None:
    config = _store(fleet, platform, shape)
    facts = MODULES[platform].tunnels(config)
    assert facts, "no tunnel found"
    # A Huawei AR offers the fleet's CBC IKE proposal only (its IKE proposal has no GCM cipher).
    ike = {p for p in FLEET_CRYPTO.ike if not p.aead} if platform == "huawei_vrp" else set(FLEET_CRYPTO.ike)
    for fact in facts:
        assert fact.ike == frozenset(ike), fact.name
        assert fact.esp == frozenset(FLEET_CRYPTO.esp), fact.name
        assert (
            fact.psk_slot and fact.peer_outside and fact.local_inside and fact.peer_inside and fact.peer_asn
        )


# ---------------------------------------------------------------- IOS-XE


def test_cisco_undefined_route_map_and_zone(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "mall-guest")
    broken = _broken(
        _broken(config, "route-map HUB-IN-wan1-hq-hub1 permit 10", "route-map HUB-IN-WAN1 permit 10"),
        "zone security IOT\n",
        "",
    )
    messages = [finding.message for finding in _lint(broken)]
    assert "route-map 'HUB-IN-wan1-hq-hub1' is referenced but not defined" in messages
    assert "zone 'IOT' is referenced but not defined" in messages


def test_cisco_undefined_crypto_and_track(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    broken = _broken(
        _broken(config, " keyring local HUB-wan1-hq-hub2\n", " keyring local HUB-WAN1\n"),
        "track 14 ip sla 14",
        "track 94 ip sla 14",
    )
    messages = [finding.message for finding in _lint(broken)]
    assert "ikev2-keyring 'HUB-WAN1' is referenced but not defined" in messages
    assert "track '14' is referenced but not defined" in messages


def test_cisco_interface_name_and_timers(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    broken = _broken(
        _broken(config, "\ninterface Loopback0\n", "\ninterface Lo0\n"),
        " threshold 150\n timeout 1000",
        " threshold 3000\n timeout 1000",
    )
    broken = _broken(broken, "timers 10 30", "timers 10 20")
    assert {"cisco-interface-name", "cisco-ip-sla-timers", "cisco-bgp-timers"} <= _rules(_lint(broken))


def test_cisco_permit_any_any_and_unzoned_interface(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "mall-guest")
    iot_acl = "ip access-list extended IOT-TO-OVERLAY\n"
    first_rule = config.text.split(iot_acl, 1)[1].splitlines()[0]
    broken = _broken(config, iot_acl + first_rule, iot_acl + " 10 permit ip any any")
    broken = _broken(broken, " zone-member security CCTV\n", "")
    findings = _lint(broken)
    assert "cisco-permit-any-any" in _rules(findings)
    assert any(f.rule == "cisco-zone-member" and "GigabitEthernet0/1/0.130" in f.message for f in findings)


def test_cisco_missing_pfs_shows_in_the_tunnel_proposals(fleet: Fleet) -> None:
    config = _broken(_store(fleet, "cisco_xe", "dual-wan"), " set pfs group20\n", "", count=-1)
    assert all(fact.esp.isdisjoint(FLEET_CRYPTO.esp) for fact in cisco_xe.tunnels(config))


def test_cisco_snmp_traps_need_a_real_type_and_a_receiver(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    ipsla = _broken(config, "ip sla logging traps\n", "ip sla logging traps\nsnmp-server enable traps ipsla\n")
    messages = [f.message for f in _lint(ipsla) if f.rule == "cisco-snmp-trap-receiver"]
    assert any("'ipsla' is no notification type" in m for m in messages)
    assert any("no `snmp-server host` receives them" in m for m in messages)
    rtr = _broken(config, "ip sla logging traps\n", "ip sla logging traps\nsnmp-server enable traps rtr\n")
    assert [f.message for f in _lint(rtr) if f.rule == "cisco-snmp-trap-receiver"] == [
        "snmp-server enable traps rtr: no `snmp-server host` receives them"
    ]
    received = _broken(rtr, "snmp-server enable traps rtr\n", "snmp-server enable traps rtr\nsnmp-server host 10.0.1.20 version 3 priv nw-netops\n")
    assert "cisco-snmp-trap-receiver" not in _rules(_lint(received))


def test_cisco_one_zone_never_spans_routing_tables(fleet: Fleet) -> None:
    # mall-guest: wan1 (guest breakout) in the global table, lte1 in its front-door VRF.
    config = _store(fleet, "cisco_xe", "mall-guest")
    merged = _broken(config, " zone-member security INTERNET-lte1\n", " zone-member security INTERNET-wan1\n")
    findings = [f for f in _lint(merged) if f.rule == "cisco-zone-vrf"]
    assert len(findings) == 1
    assert "zone INTERNET-wan1 spans routing tables" in findings[0].message
    assert "INET-lte1: GigabitEthernet0/0/2" in findings[0].message


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_cisco_zones_are_defined_above_the_interfaces_that_join_them(fleet: Fleet, shape: str) -> None:
    # The config is sent in its order: an interface's `zone-member security` above the zone's
    # definition names a zone a new router does not have yet, and IOS-XE refuses it.
    config = _store(fleet, "cisco_xe", shape)
    text = config.text
    assert text.index("zone security POS\n") < text.index("\ninterface ")
    assert "cisco-zone-order" not in _rules(_lint(config))
    late = _broken(_broken(config, "zone security POS\n", ""), "\nrouter bgp ", "\nzone security POS\n!\nrouter bgp ")
    findings = [f for f in _lint(late) if f.rule == "cisco-zone-order"]
    assert len(findings) == 1
    assert findings[0].message.startswith("GigabitEthernet0/1/0.")
    assert "joins zone POS above its `zone security POS`" in findings[0].message


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_cisco_tracks_are_defined_above_what_refers_to_them(fleet: Fleet, shape: str) -> None:
    # The config is sent in its order: a tracked static route or next hop above its `track N`
    # names an object a new router does not have yet.
    config = _store(fleet, "cisco_xe", shape)
    lines = config.text.splitlines()
    defined = {line.split()[1]: n for n, line in enumerate(lines) if line.startswith("track ")}
    refs = [
        (line.split()[line.split().index("track") + 1], n)
        for n, line in enumerate(lines)
        if not line.startswith("track ") and " track " in f" {line.strip()} " and "track set" not in line
    ]
    assert refs, "the shape has tracked routes or next hops"
    assert all(defined[track] < n for track, n in refs), [lines[n] for track, n in refs if defined[track] > n]
    assert "cisco-track-order" not in _rules(_lint(config))
    route = next(line for line in lines if line.startswith("ip route ") and " track " in line)
    early = _broken(config, "\nhostname ", f"\n{route}\nhostname ")
    findings = [f for f in _lint(early) if f.rule == "cisco-track-order"]
    assert len(findings) == 1
    assert findings[0].message.startswith(f"track {route.split()[-1]} is referred to above its definition")


def test_cisco_local_user_secret_is_a_type9_hash(fleet: Fleet) -> None:
    # A cleartext `secret` is salted at random by the router (never read back as sent); `password`
    # is reversible.
    config = _store(fleet, "cisco_xe", "dual-wan")
    assert "cisco-local-secret" not in _rules(_lint(config))
    for spelling in ("secret ", "password 7 ", "secret 5 "):
        clear = _broken(config, " privilege 15 secret 9 ", f" privilege 15 {spelling}")
        findings = [f for f in _lint(clear) if f.rule == "cisco-local-secret"]
        assert len(findings) == 1 and findings[0].message.endswith(": not a type 8 or 9 hashed secret"), spelling


def test_cisco_wan_ports_reach_only_ike_esp_dhcp_and_icmp_on_the_router(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "mall-guest")
    pair = "zone-pair security INTERNET-lte1-TO-SELF source INTERNET-lte1 destination self\n service-policy type inspect INTERNET-lte1-TO-SELF\n"
    # No policy towards the router: every router service answers the LTE side.
    gone = _broken(config, pair, "")
    assert any(
        f.rule == "cisco-segment-self" and "WAN zone INTERNET-lte1 (GigabitEthernet0/0/2) has no zone pair" in f.message
        for f in _lint(gone)
    )
    acl = "ip access-list extended INTERNET-wan2-TO-SELF\n"
    first_rule = config.text.split(acl, 1)[1].splitlines()[0]
    # A policy that passes any UDP port, or BGP from the internet.
    wide = _broken(config, acl + first_rule, acl + " 10 permit udp any any")
    assert any(
        f.rule == "cisco-segment-self" and "passes udp to the router on any port" in f.message for f in _lint(wide)
    )
    bgp = _broken(config, acl + first_rule, acl + " 10 permit tcp any any eq bgp")
    assert any(f.rule == "cisco-segment-self" and "router's BGP" in f.message for f in _lint(bgp))
    # class-default passing what no class names.
    default = _broken(
        config,
        "policy-map type inspect INTERNET-wan1-TO-SELF\n class type inspect INTERNET-wan1-TO-SELF\n  pass\n class class-default\n  drop log\n",
        "policy-map type inspect INTERNET-wan1-TO-SELF\n class type inspect INTERNET-wan1-TO-SELF\n  pass\n class class-default\n  pass\n",
    )
    assert any(f.rule == "cisco-segment-self" and "class-default passes" in f.message for f in _lint(default))


def test_cisco_store_answers_internet_pings_at_the_intents_rate(fleet: Fleet) -> None:
    # Every WAN port passes echo requests to the router; a flood from the internet gets answers
    # at about the intent's rate (FRR's number, 10 a second, at 100 bytes a ping), while HQ's
    # pings of the loopback and the tunnel addresses stay out of that budget.
    config = _store(fleet, "cisco_xe", "mall-guest")
    pps = NetworkIntent(fleet).store("nw-0003").management.icmp_requests_pps
    assert pps == 10
    assert f"  police cir {pps * 100 * 8} bc {2 * pps * 100} conform-action transmit exceed-action drop\n" in config.text
    assert "control-plane\n service-policy input COPP-IN\n" in config.text
    root = parse(config.text, ("!",))
    acl = next(line for line in top(root, "ip", "access-list") if line.words[-1] == "COPP-WAN-ECHO")
    ping = Packet("icmp", ipaddress.IPv4Address("192.0.2.1"), ipaddress.IPv4Address("198.51.100.10"))
    assert cisco_xe.acl_verdict(acl, ping).forwarded
    for own in ("10.255.0.5", "10.64.4.1", "100.64.0.9", "169.254.0.18"):
        assert not cisco_xe.acl_verdict(acl, dataclasses.replace(ping, destination=ipaddress.IPv4Address(own))).forwarded
    assert "cisco-wan-echo-unpoliced" not in _rules(_lint(config))
    # No control-plane policy: the router answers every ping on each of its three WAN ports.
    unpoliced = _broken(config, "control-plane\n service-policy input COPP-IN\n", "")
    assert sorted(f.message.split(" passes ")[0] for f in _lint(unpoliced) if f.rule == "cisco-wan-echo-unpoliced") == [
        "WAN zone INTERNET-lte1 (GigabitEthernet0/0/2)",
        "WAN zone INTERNET-wan1 (GigabitEthernet0/0/0)",
        "WAN zone INTERNET-wan2 (GigabitEthernet0/0/1)",
    ]
    no_drop = _broken(config, "exceed-action drop", "exceed-action transmit")
    assert any("takes them unpoliced" in f.message for f in _lint(no_drop) if f.rule == "cisco-wan-echo-unpoliced")
    # The loopback's pings in the policed class: HQ's monitoring starves under an internet flood.
    shared = _broken(config, " 10 deny icmp any host 10.255.0.5 echo\n", "")
    assert [f.message for f in _lint(shared) if f.rule == "cisco-wan-echo-unpoliced"] == [
        "control-plane class COPP-WAN-ECHO polices the pings to the loopback 10.255.0.5: HQ's monitoring shares the "
        "internet's budget"
    ]


def test_cisco_overlay_self_policy_passes_every_bgp_and_bfd_neighbour(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    no_bgp = _broken(config, " 10 permit tcp host 100.64.0.4 host 100.64.0.5 eq bgp\n", "")
    assert [f.message for f in _lint(no_bgp) if f.rule == "cisco-segment-self"] == [
        "neighbor 100.64.0.4 remote-as 65000: the OVERLAY to self zone pair drops its BGP, so the session never comes up"
    ]
    # BFD runs where the hubs run it: towards FRR hubs (an IOS-XE hub runs none on its FlexVPN
    # virtual-access, and the store then configures none either).
    towards_frr = _store(fleet, "cisco_xe", "dual-wan", hubs="frr")
    assert "bfd" not in config.text and " neighbor 100.64.0.4 fall-over bfd\n" in towards_frr.text
    assert _lint(towards_frr) == []
    no_bfd = _broken(towards_frr, " 20 permit udp host 100.64.0.4 host 100.64.0.5 eq 3784\n", "")
    assert [f.message for f in _lint(no_bfd) if f.rule == "cisco-segment-self"] == [
        "neighbor 100.64.0.4 remote-as 65000: the OVERLAY to self zone pair drops its BFD, so the session never comes up"
    ]


def test_cisco_self_zone_takes_no_tcp_by_source_port(fleet: Fleet) -> None:
    """The answers of the TCP connections an IOS-XE store opens into the overlay (BGP to each
    neighbour, TACACS+, DNS over TCP) come back through SELF-TO-OVERLAY's inspection: no
    OVERLAY-TO-SELF entry passes TCP by its source port, which would let whoever sends from port
    179 (or 49, 53) reach every TCP port of the router."""
    config = _store(fleet, "cisco_xe", "dual-wan")
    text = config.text
    assert "zone-pair security SELF-TO-OVERLAY source self destination OVERLAY\n" in text
    inspected = text.split("ip access-list extended SELF-TO-OVERLAY\n", 1)[1].split("!\n", 1)[0]
    for neighbour in re.findall(r"^ neighbor (\S+) remote-as ", text, flags=re.M):
        assert re.search(rf"permit tcp host \S+ host {re.escape(neighbour)} eq bgp\n", inspected), neighbour
    assert " permit tcp any host 10.0.1.49 eq tacacs\n" in inspected
    assert " permit tcp any host 10.0.1.53 eq domain\n" in inspected
    assert "policy-map type inspect SELF-TO-OVERLAY\n class type inspect SELF-TO-OVERLAY\n  inspect\n" in text
    # The stateless answer entry as it was: the sender picks port 179 and reaches any port.
    stateless = _broken(
        config,
        " 10 permit tcp host 100.64.0.4 host 100.64.0.5 eq bgp\n",
        " 10 permit tcp host 100.64.0.4 host 100.64.0.5 eq bgp\n 15 permit tcp host 100.64.0.4 eq bgp host 100.64.0.5\n",
    )
    assert [f.message for f in _lint(stateless) if f.rule == "cisco-self-source-port"] == [
        "zone-pair security OVERLAY-TO-SELF source OVERLAY destination self: "
        "'15 permit tcp host 100.64.0.4 eq bgp host 100.64.0.5' lets host 100.64.0.4 open a connection to "
        "any port of the router by sending from port bgp; take the answers of the router's own connections "
        "by inspecting them from the self zone"
    ]


def test_cisco_self_zone_takes_no_udp_by_source_port(fleet: Fleet) -> None:
    """The answers of what an IOS-XE store asks into the overlay over UDP (DNS and NTP to HQ, each
    udp-jitter probe's control message to the hub's responder on port 1967 and its test packets to
    the class's port) come back through SELF-TO-OVERLAY's inspection: no OVERLAY-TO-SELF entry
    passes UDP by its source port, which would let whoever sends from port 53, 123, 1967 or a test
    port reach every UDP port of the router, SNMP included. BFD, which answers nothing, keeps its
    entry to port 3784; DHCP's entry on a WAN port names the one port it reaches."""
    by_source_port = re.compile(r"^ \d+ permit (tcp|udp) (host \S+|any|\S+ \S+) (eq|range|lt|gt|neq) ", flags=re.M)
    towards_frr = _store(fleet, "cisco_xe", "dual-wan", hubs="frr")
    config = _store(fleet, "cisco_xe", "dual-wan")
    for rendered in (config, towards_frr):
        text = rendered.text
        passed = text.split("ip access-list extended OVERLAY-TO-SELF\n", 1)[1].split("!\n", 1)[0]
        inspected = text.split("ip access-list extended SELF-TO-OVERLAY\n", 1)[1].split("!\n", 1)[0]
        assert not by_source_port.findall(passed), passed
        for server in ("10.0.1.53", "10.0.2.53"):
            assert f" permit udp any host {server} eq domain\n" in inspected
        for server in ("10.0.1.10", "10.0.1.11"):
            assert f" permit udp any host {server} eq ntp\n" in inspected
        assert " permit udp any eq bootps any eq bootpc\n" in text
        assert _lint(rendered) == []
    probes = re.findall(r"^ udp-jitter (\S+) (\d+) source-ip (\S+) ", config.text, flags=re.M)
    assert len(probes) > 4
    inspected = config.text.split("ip access-list extended SELF-TO-OVERLAY\n", 1)[1].split("!\n", 1)[0]
    for peer, port, own in probes:
        assert f" permit udp host {own} host {peer} eq 1967\n" in inspected, (peer, port)
        assert f" permit udp host {own} host {peer} eq {port}\n" in inspected, (peer, port)
    assert " permit udp host 100.64.0.4 host 100.64.0.5 eq 3784\n" in towards_frr.text
    # The stateless answer entries as they were: a sender on port 53 or 1967 reaches SNMP.
    stateless = _broken(
        config,
        " 10 permit tcp host 100.64.0.4 host 100.64.0.5 eq bgp\n",
        " 10 permit tcp host 100.64.0.4 host 100.64.0.5 eq bgp\n"
        " 11 permit udp host 100.64.0.4 eq 1967 host 100.64.0.5\n"
        " 12 permit udp host 10.0.1.53 eq domain any\n"
        " 13 permit udp host 10.0.1.10 eq ntp any eq ntp\n",
    )
    assert [f.message for f in _lint(stateless) if f.rule == "cisco-self-source-port"] == [
        "zone-pair security OVERLAY-TO-SELF source OVERLAY destination self: "
        "'11 permit udp host 100.64.0.4 eq 1967 host 100.64.0.5' lets host 100.64.0.4 reach any UDP port of "
        "the router by sending from port 1967; take the answers of the router's own requests by inspecting "
        "them from the self zone",
        "zone-pair security OVERLAY-TO-SELF source OVERLAY destination self: "
        "'12 permit udp host 10.0.1.53 eq domain any' lets host 10.0.1.53 reach any UDP port of the router "
        "by sending from port domain; take the answers of the router's own requests by inspecting them from "
        "the self zone",
    ]


def test_cisco_probes_are_queued_like_the_class_they_measure(fleet: Fleet) -> None:
    text = _store(fleet, "cisco_xe", "dual-wan").text

    def operation(number: int) -> str:
        return text.split(f"\nip sla {number}\n", 1)[1].split("\nip sla ", 1)[0]

    # realtime (voice, EF): 46 << 2; strict (POS, AF31): 26 << 2; business (AF21): 18 << 2; best
    # effort (bulk, CS1): 8 << 2. Unmarked, every probe would be measured in the default queue.
    assert [(number, " tos " + operation(number).split(" tos ", 1)[1].split()[0]) for number in (11, 12, 13, 14)] == [
        (11, " tos 32"),
        (12, " tos 72"),
        (13, " tos 184"),
        (14, " tos 104"),
    ]


def test_cisco_icmp_jitter_probes_to_a_linux_hub_are_queued_like_their_class(fleet: Fleet) -> None:
    """Towards an FRR hub the probes are icmp-jitter (ICMP timestamps, which Linux answers with
    the request's ToS): unmarked, every class would be measured in the default queue."""
    text = _store(fleet, "cisco_xe", "dual-wan", hubs="frr").text

    def operation(number: int) -> str:
        return text.split(f"\nip sla {number}\n", 1)[1].split("\nip sla ", 1)[0]

    assert all(operation(number).startswith(" icmp-jitter ") for number in (11, 12, 13, 14))
    assert [re.findall(r"^ tos (\d+)$", operation(number), re.M) for number in (11, 12, 13, 14)] == [
        ["32"],
        ["72"],
        ["184"],
        ["104"],
    ]


def test_cisco_store_runs_bfd_without_echo(fleet: Fleet) -> None:
    """Echo mode is on by default wherever `bfd interval` is configured, and no hub loops a
    store's echo packets back into the tunnel: every BFD tunnel of an IOS-XE store turns it off,
    and a tunnel left in echo mode is flagged."""
    config = _store(fleet, "cisco_xe", "dual-wan", hubs="frr")  # IOS-XE hubs run no BFD with stores
    tunnels = config.text.split("\ninterface Tunnel")[1:]
    with_bfd = [body for body in tunnels if "\n bfd interval " in body]
    assert with_bfd and all("\n no bfd echo\n" in body for body in with_bfd)
    assert "eq 3785" not in config.text  # nothing waits for echo packets to come back
    assert not [f for f in _lint(config) if f.rule == "cisco-bfd-echo"]
    broken = _broken(config, " multiplier 3\n no bfd echo\n", " multiplier 3\n")
    findings = [f for f in _lint(broken) if f.rule == "cisco-bfd-echo"]
    assert [f.message for f in findings] == [
        "interface Tunnel1: BFD in echo mode (the default), which the hub does not loop back"
    ]


def test_cisco_queuing_parent_class_must_queue_itself(fleet: Fleet) -> None:
    """The hub's SHAPE-UPLINK holds QUEUE-UPLINK in its user-defined class HUB-TUNNELS: without the
    class's own shaper the router refuses the policy when the DC core LAN port takes it."""
    config = _hub(fleet, "cisco_xe")
    broken = _broken(config, "  shape average 950000000\n   service-policy QUEUE-UPLINK", "  service-policy QUEUE-UPLINK")
    findings = [f for f in _lint(broken) if f.rule == "cisco-queuing-hierarchy"]
    assert [f.message for f in findings] == [
        "class HUB-TUNNELS: holds the queues of QUEUE-UPLINK but does not queue itself (no shape or bandwidth)"
    ]


def test_cisco_queuing_user_defined_parent_on_a_physical_port_only(fleet: Fleet) -> None:
    """SHAPE-UPLINK (queues under the user-defined class HUB-TUNNELS) moved from the DC core LAN
    port to the store links' virtual template, a logical target IOS-XE refuses it on; the stores'
    SHAPE-<link> queue under class-default, which a logical target would take."""
    config = _hub(fleet, "cisco_xe")
    moved = _broken(config, " service-policy output SHAPE-UPLINK\n", "")
    moved = _broken(moved, " tunnel protection ipsec profile STORES\n", " tunnel protection ipsec profile STORES\n service-policy output SHAPE-UPLINK\n")
    findings = [f for f in _lint(moved) if f.rule == "cisco-queuing-hierarchy"]
    assert [f.message for f in findings] == [
        "interface Virtual-Template1 type tunnel: SHAPE-UPLINK queues in a user-defined class (class HUB-TUNNELS), "
        "which IOS-XE takes on a physical main interface only"
    ]
    store = _store(fleet, "cisco_xe", "dual-wan")
    on_tunnel = _broken(store, " tunnel protection ipsec profile HUB-wan1-hq-hub2\n", " tunnel protection ipsec profile HUB-wan1-hq-hub2\n service-policy output SHAPE-wan1\n")
    assert [f for f in _lint(on_tunnel) if f.rule == "cisco-queuing-hierarchy"] == []


def test_cisco_underlay_ports_send_no_redirects_and_answer_no_proxy_arp(fleet: Fleet) -> None:
    """The hub's DC port (where IKE and ESP arrive) and a store's WAN port: IOS-XE sends ICMP
    redirects and answers proxy ARP unless told not to."""
    hub = _hub(fleet, "cisco_xe")
    dc_port = " ip access-group HUB-INFRASTRUCTURE in\n no ip redirects\n no ip proxy-arp\n"
    broken = _broken(hub, dc_port, " ip access-group HUB-INFRASTRUCTURE in\n")
    found = [f for f in _lint(broken) if f.rule == "cisco-underlay-port"]
    assert [f.message for f in found] == [
        "interface GigabitEthernet0/0/0: underlay port without `no ip redirects` and `no ip proxy-arp`"
    ]
    store = _store(fleet, "cisco_xe", "dual-wan")
    broken = _broken(store, " no ip redirects\n no ip proxy-arp\n", " no ip redirects\n")
    assert [f.rule for f in _lint(broken) if f.rule == "cisco-underlay-port"] == ["cisco-underlay-port"]


def test_cisco_tunnels_send_no_redirects(fleet: Fleet) -> None:
    """Every tunnel a store or hub builds, its AWS tunnels too, says `no ip redirects`: IOS sends
    ICMP redirects on every interface unless told not to."""
    store = _store(fleet, "cisco_xe", "aws")
    for number in ("101", "102"):
        block = store.text.split(f"interface Tunnel{number}\n", 1)[1].split("!\n", 1)[0]
        assert "aws vpn" in block and " no ip redirects\n" in block, number
    assert [f for f in _lint(store) if f.rule == "cisco-tunnel-redirects"] == []
    aws_tunnel = " ip tcp adjust-mss 1392\n no ip redirects\n zone-member security OVERLAY\n tunnel source GigabitEthernet0/0/0\n tunnel mode ipsec ipv4\n tunnel destination 192.0.2.3\n"
    broken = _broken(store, aws_tunnel, aws_tunnel.replace(" no ip redirects\n", ""))
    assert [f.message for f in _lint(broken) if f.rule == "cisco-tunnel-redirects"] == [
        "interface Tunnel101: a tunnel without `no ip redirects` sends ICMP redirects to its far end"
    ]
    hub = _hub(fleet, "cisco_xe")
    template = " no ip redirects\n ip access-group FROM-STORES in\n ip tcp adjust-mss 1320\n tunnel source Loopback1\n tunnel mode ipsec ipv4\n tunnel protection ipsec profile STORES\n"
    broken = _broken(hub, template, template.replace(" no ip redirects\n", ""))
    assert [f.rule for f in _lint(broken) if f.rule == "cisco-tunnel-redirects"] == ["cisco-tunnel-redirects"]


def test_cisco_ports_in_use_are_enabled(fleet: Fleet) -> None:
    """A store's WAN ports and LAN trunk and the hub's DC port say `no shutdown`: a routed port
    that ships administratively down would stay down after the push, and the store with it."""
    store = _store(fleet, "cisco_xe", "dual-wan")
    assert [f for f in _lint(store) if f.rule == "cisco-port-shutdown"] == []
    for port in ("GigabitEthernet0/0/0", "GigabitEthernet0/0/1", "GigabitEthernet0/1/0"):
        block = store.text.split(f"interface {port}\n", 1)[1].split("!\n", 1)[0]
        assert " no shutdown\n" in block, port
    dark = _broken(store, " description LAN trunk\n negotiation auto\n no shutdown\n", " description LAN trunk\n negotiation auto\n")
    assert [f.message for f in _lint(dark) if f.rule == "cisco-port-shutdown"] == [
        "interface GigabitEthernet0/1/0: a port the config uses without `no shutdown`: it stays down where it was"
    ]
    hub = _hub(fleet, "cisco_xe")
    assert [f for f in _lint(hub) if f.rule == "cisco-port-shutdown"] == []
    shut = _broken(hub, " service-policy output SHAPE-UPLINK\n no shutdown\n", " service-policy output SHAPE-UPLINK\n shutdown\n")
    assert [f.rule for f in _lint(shut) if f.rule == "cisco-port-shutdown"] == ["cisco-port-shutdown"]


# ---------------------------------------------------------------- VRP


def test_vrp_nqa_frequency_not_above_interval_times_probes(fleet: Fleet) -> None:
    config = _steered(fleet)
    # The strict class's test with a period of exactly interval x probe-count: never completes.
    test = re.search(
        r"SLA_STRICT tun3\n(?:.*\n)*? probe-count (\d+)\n interval seconds (\d+)\n timeout 1\n frequency (\d+)\n",
        config.text,
    )
    assert test is not None
    probes, interval, frequency = (int(value) for value in test.groups())
    tight = probes * interval
    broken = _broken(
        config,
        f" interval seconds {interval}\n timeout 1\n frequency {frequency}\n",
        f" interval seconds {interval}\n timeout 1\n frequency {tight}\n",
    )
    assert any(f.rule == "vrp-nqa-timers" and f"frequency {tight}" in f.message for f in _lint(broken))
    # The pre-fix probe: frequency 5 with the default 3 probes 4 s apart and a 1 s timeout.
    old = _broken(
        config,
        f" probe-count {probes}\n interval seconds {interval}\n timeout 1\n frequency {frequency}\n",
        " frequency 5\n timeout 1\n",
    )
    assert any(f.rule == "vrp-nqa-timers" and "frequency 5" in f.message for f in _lint(old))


def test_vrp_hub_tunnels_stay_in_the_ar_range(fleet: Fleet) -> None:
    config = _hub(fleet, "huawei_vrp")
    numbers = [int(n) for n in re.findall(r"^interface Tunnel0/0/(\d+)$", config.text, re.M)]
    assert numbers and max(numbers) <= 1023
    broken = _broken(config, "interface Tunnel0/0/1\n", "interface Tunnel0/0/32767\n")
    assert any(f.rule == "vrp-interface-name" and "Tunnel0/0/32767" in f.message for f in _lint(broken))


def test_vrp_hub_keeps_stores_apart(fleet: Fleet) -> None:
    """What a store sends into a VRP hub's tunnel never reaches another store's segments, loopback
    or tunnel addresses (as on every hub platform): every store tunnel filters inbound with
    FROM-STORES, which denies every fleet range before its closing permit (the control traffic to
    the hub and the corporate ranges come first; devices/lint/isolation.py follows it packet by
    packet)."""
    text = _hub(fleet, "huawei_vrp").text
    acls = re.findall(r"^acl name (FROM-STORES?\S*) \d+\n((?: rule .*\n)+)", text, re.M)
    assert len(acls) > 1  # FROM-STORES, and each store's own FROM-STORE-<id>
    plan = fleet.spec.ip_plan
    for name, body in acls:
        # Its closing permit, the internet from the stores' (or its store's) segments, then
        # `deny ip`: a traffic-filter passes what no rule matches.
        rules = body.splitlines()
        assert rules[-1] == f" rule {rules[-1].split()[1]} deny ip", name
        assert re.fullmatch(r" rule \d+ permit ip source 10\.(\S+) (\S+)", rules[-2]), name
        denied = [
            ipaddress.IPv4Network(f"{m[1]}/{m[2]}")
            for m in re.finditer(r"^ rule \d+ deny ip destination (\S+) (\S+)$", body, re.M)
            if m[2] != "0"  # a host: the hub's own DC address (store_forwarding.closed)
        ]
        for net in (plan.stores, plan.loopbacks, plan.transit):
            assert any(net.subnet_of(d) for d in denied), (name, net)
    tunnels = re.findall(r"^interface (Tunnel\S+)\n((?: .*\n)+)", text, re.M)
    store_tunnels = [body for _, body in tunnels if " ipsec profile STORE-" in body]
    assert store_tunnels and all(
        re.search(r"^ traffic-filter inbound acl name FROM-STORE-\S+\n", body, re.M) for body in store_tunnels
    )
    # The cloud tunnels carry HQ and the stores' routes both ways: not filtered.
    assert all("FROM-STORES" not in body for _, body in tunnels if " ipsec profile CLOUD-" in body)


def test_a_hub_refuses_a_fleet_past_its_tunnel_range(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    from storestack.devices import platforms

    small = dataclasses.replace(platforms.get_platform("huawei_vrp"), max_tunnel_number=8)
    monkeypatch.setitem(platforms._BY_NAME, "huawei_vrp", small)
    with pytest.raises(NetworkIntentError, match=r"transit slot \d+ .*up to 8"):
        render_hub(on_platform(fleet, "huawei_vrp"), "hq-hub1")


def test_vrp_port_keyword_of_the_other_protocol(fleet: Fleet) -> None:
    """VRP rejects `tcp ... eq dns` (TCP 53 is `domain`) and `udp ... eq bgp`."""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    broken = _broken(config, "deny tcp destination-port eq domain", "deny tcp destination-port eq dns")
    broken = _broken(broken, "destination-port range 3784 3785", "destination-port eq bgp")
    found = [f for f in _lint(broken) if f.rule == "vrp-port-keyword"]
    assert [f.message.split(": ")[-1] for f in found] == [
        "'bgp' is not a udp port keyword on VRP",
        "'dns' is not a tcp port keyword on VRP",
    ]
    assert not [f for f in _lint(config) if f.rule == "vrp-port-keyword"]


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_management_traffic_not_sourced_from_the_loopback_and_open_vty_lines(fleet: Fleet, role: str) -> None:
    """TACACS+ and DNS from a tunnel address get no reply (the DC routes only loopbacks back);
    VTY lines left at their defaults take SSH from the LAN; a VRP accounting scheme at its
    default refuses every login, the local fallback user too, while HWTACACS is unreachable."""

    def config(platform: str) -> ConfigFile:
        return _store(fleet, platform, "dual-wan") if role == "edge" else _hub(fleet, platform)

    def rules(broken: ConfigFile) -> list[str]:
        return sorted(f.rule for f in _lint(broken))

    cisco = config("cisco_xe")
    cisco = _broken(cisco, " ip tacacs source-interface Loopback0\n", "")
    # A hub's VTYs take the management ranges through its management port's VRF too (`vrf-also`).
    vty = " access-class MGMT-HQ in\n" if role == "edge" else " access-class MGMT-HQ in vrf-also\n"
    cisco = _broken(cisco, "line vty 5 20\n" + vty, "line vty 5 20\n")
    if role == "edge":
        cisco = _broken(cisco, "ip domain lookup source-interface Loopback0\n", "")
        assert rules(cisco) == ["cisco-aaa-source", "cisco-dns-source", "cisco-vty-open", "cisco-vty-open"]
    else:  # a hub looks up no names (HubIntent.management)
        assert "ip name-server" not in cisco.text and "\nno ip domain lookup\n" in cisco.text
        assert rules(cisco) == ["cisco-aaa-source", "cisco-vty-open", "cisco-vty-open"]
    # A Catalyst 8000V has VTY lines 5-20: restricting 5-15 leaves 16-20 open.
    short = _broken(config("cisco_xe"), "line vty 5 20\n", "line vty 5 15\n")
    assert [f.message for f in _lint(short) if f.rule == "cisco-vty-open"] == [
        "VTY lines 16-20 keep their defaults (no access class)"
    ]
    vrp = _broken_re(config("huawei_vrp"), r" hwtacacs-server source-ip \S+\n", "")
    vrp = _broken(vrp, "  accounting start-fail online\n", "")
    if role == "edge":
        vrp = _broken_re(vrp, r"dns server source-ip \S+\n", "")
    vrp_found = ["vrp-aaa-accounting", "vrp-aaa-source"]
    assert rules(vrp) == ([*vrp_found, "vrp-dns-source"] if role == "edge" else vrp_found)
    fortios = config("fortinet")
    broken = _broken_re(fortios, r'(config user tacacs\+\n.*\n.*\n.*\n)        set source-ip "[^"]+"\n', r"\1")
    found = ["fortios-aaa-source"]
    if role == "edge":
        broken = _broken_re(broken, r"(config system dns\n(?:    set .*\n)*?)    set source-ip \S+\n", r"\1")
        found = ["fortios-aaa-source", "fortios-dns-source"]
    assert rules(broken) == found


@pytest.mark.parametrize("role", ["edge", "hub"])
@pytest.mark.parametrize("authen_type", ["ascii", "pap", "chap", "mschap", "auto"])
def test_fortios_tacacs_ascii_authentication_is_refused(fleet: Fleet, role: str, authen_type: str) -> None:
    """A FortiGate whose TACACS+ server authenticates with ASCII lets, on 7.4.4 to 7.4.6, anyone
    who knows an admin's name in as that admin (CVE-2025-22252, FG-IR-24-472); PAP, CHAP, MSCHAP
    and the default `auto` (PAP, MSCHAP, CHAP) are not that configuration."""
    config = _store(fleet, "fortinet", "dual-wan") if role == "edge" else _hub(fleet, "fortinet")
    assert "authen-type" not in config.text  # rendered: the default, auto
    assert not [f for f in _lint(config) if f.rule == "fortios-tacacs-ascii"]
    key = re.search(r"(config user tacacs\+\n(?:.*\n)*?        set key .*\n)", config.text)
    assert key is not None
    broken = _broken(config, key.group(1), key.group(1) + f"        set authen-type {authen_type}\n")
    found = [f for f in _lint(broken) if f.rule == "fortios-tacacs-ascii"]
    if authen_type == "ascii":
        assert [f.message for f in found] == [
            'TACACS+ server TACACS-HQ authenticates with ASCII (CVE-2025-22252 on 7.4.4-7.4.6)'
        ]
    else:
        assert not found


def test_cisco_store_never_forwards_between_its_tunnels(fleet: Fleet) -> None:
    """Hub and AWS tunnels share OVERLAY; IOS-XE passes traffic between the interfaces of one
    zone unless a pair from the zone to itself drops it, so a store would carry a cloud's
    traffic to a hub (or one hub's to the other)."""
    config = _store(fleet, "cisco_xe", "aws")
    pair = "zone-pair security OVERLAY-TO-OVERLAY source OVERLAY destination OVERLAY\n"
    assert pair + " service-policy type inspect OVERLAY-TO-OVERLAY\n" in config.text
    assert "policy-map type inspect OVERLAY-TO-OVERLAY\n class class-default\n  drop log\n" in config.text
    assert not [f for f in _lint(config) if f.rule == "cisco-overlay-transit"]
    missing = _broken(config, pair + " service-policy type inspect OVERLAY-TO-OVERLAY\n", "")
    (finding,) = [f for f in _lint(missing) if f.rule == "cisco-overlay-transit"]
    assert finding.message.startswith("zone OVERLAY: no zone pair from OVERLAY to OVERLAY")
    assert "Tunnel101" in finding.message and "Tunnel1," in finding.message
    passing = _broken(config, "policy-map type inspect OVERLAY-TO-OVERLAY\n class class-default\n  drop log\n",
                      "policy-map type inspect OVERLAY-TO-OVERLAY\n class class-default\n  pass\n")
    assert [f.rule for f in _lint(passing)] == ["cisco-overlay-transit"]


def test_vrp_store_never_forwards_between_its_tunnels(fleet: Fleet) -> None:
    """Hub and AWS tunnels share OVERLAY, inside which an AR applies no policy, so every one of
    them lets out only the store's own traffic (OVERLAY-OUT, CELLULAR-ALLOWED over LTE); a
    tunnel without such a filter, a permit from someone else's address (the overlay pool, as
    CELLULAR-ALLOWED once had it) or a list that does not end in `deny ip` is found."""
    config = _store(fleet, "huawei_vrp", "aws", hubs="frr")
    assert not [f for f in _lint(config) if f.rule == "vrp-overlay-transit"]

    def found(broken: ConfigFile) -> list[str]:
        return [f.message for f in _lint(broken) if f.rule == "vrp-overlay-transit"]

    unfiltered = _broken(config, " traffic-filter inbound acl name FROM-HUBS\n traffic-filter outbound acl name OVERLAY-OUT\n", " traffic-filter inbound acl name FROM-HUBS\n")
    (message,) = found(unfiltered)
    assert message.startswith("interface Tunnel0/0/1: no traffic-filter outbound, so the router forwards")
    assert "Tunnel0/0/101" in message
    undefined = _broken(config, "acl name OVERLAY-OUT 3011", "acl name OVERLAY-OUTPUT 3011")
    messages = found(undefined)
    assert len(messages) == 4 and all("(ACL OVERLAY-OUT is not defined)" in m for m in messages)
    pool = _broken_re(config, r"(acl name CELLULAR-ALLOWED 3010\n rule 5 permit tcp source )100\.64\.255\.253 0", r"\g<1>100.64.0.0 0.0.255.255")
    (message,) = found(pool)
    assert "lets 100.64.0.0/16 out of the tunnels of zone OVERLAY" in message
    anything = _broken_re(config, r"(acl name OVERLAY-OUT 3011\n rule 5 permit ip)[^\n]*", r"\1")
    (message,) = found(anything)
    assert "lets any source out" in message
    unclosed = _broken_re(config, r"(acl name OVERLAY-OUT 3011\n(?: rule \d+ permit [^\n]*\n)+) rule \d+ deny ip\n", r"\1")
    (message,) = found(unclosed)
    assert "does not end in `deny ip`" in message


def test_vrp_hub_tunnel_filter_lint(fleet: Fleet) -> None:
    """The lint finds a hub tunnel with no inbound filter, a filter that admits a management or
    control port of the router to the rest of the overlay, and one that drops the tunnel's BGP."""
    config = _store(fleet, "huawei_vrp", "dual-wan", hubs="frr")

    def found(broken: ConfigFile) -> list[str]:
        return [f.message for f in _lint(broken) if f.rule == "vrp-hub-tunnel-filter"]

    assert found(config) == []
    applied = " traffic-filter inbound acl name FROM-HUBS\n"
    (message,) = found(_broken(config, applied, ""))
    assert message == (
        "interface Tunnel0/0/1: no defined traffic-filter inbound ACL: every service of the router answers any "
        "source in the overlay"
    )
    header = "acl name FROM-HUBS 3012\n"
    # Any source to the DNS proxy; all of HQ (a permit naming 10/8) to the web system.
    (message,) = found(_broken(config, header, header + " rule 1 permit udp destination-port eq dns\n"))
    assert message == (
        "acl name FROM-HUBS 3012 (on Tunnel0/0/1): admits udp/53 from the overlay, e.g. 192.0.2.200 to the router's "
        "own 10.255.0.4 (rule 1 permit udp destination-port eq dns)"
    )
    (message,) = found(_broken(config, header, header + " rule 1 permit tcp source 10.0.0.0 0.255.255.255\n"))
    assert message.startswith(
        "acl name FROM-HUBS 3012 (on Tunnel0/0/1): admits tcp/23 from 10.0.0.0/8, a source a permit names, e.g. 10.0.0.1"
    ), message
    # A hub's tunnel address to the router's SSH; a server's answers to every UDP port.
    (message,) = found(_broken(config, header, header + " rule 1 permit tcp source 100.64.0.4 0 destination-port eq 22\n"))
    assert message.startswith("acl name FROM-HUBS 3012 (on Tunnel0/0/1): admits tcp/22 from a tunnel's far end 100.64.0.4"), message
    ntp = " rule 75 permit udp source 10.0.1.10 0 source-port eq ntp destination 10.255.0.4 0 destination-port eq ntp\n"
    (message,) = found(_broken(config, ntp, ntp.replace(" destination-port eq ntp", "")))
    assert message.endswith("admits anything sent from that port to more than one UDP port of the router (name the one port the answers come back to)"), message
    tacacs = " rule 85 permit tcp source 10.0.1.49 0 source-port eq tacacs destination 10.255.0.4 0 tcp-flag established\n"
    (message,) = found(_broken(config, tacacs, tacacs.replace(" tcp-flag established", "")))
    assert message.endswith("admits new connections sent from that port (take the answers only: `tcp-flag established`)"), message
    # A filter that drops the tunnels' BGP: every tunnel's session is found.
    dropped = found(_broken(config, header, header + " rule 1 deny tcp destination-port eq bgp\n"))
    assert len(dropped) == 4 and all("drops BGP from the tunnel's far end" in m for m in dropped), dropped


def test_cisco_forwarded_dns_queries_leave_from_the_loopback(fleet: Fleet) -> None:
    """Segment clients resolve through the store (`ip dns server`); what it forwards to HQ's
    resolvers takes the default DNS view's forwarding source, not `ip domain lookup
    source-interface`: from a tunnel address, which no hub announces, no answer comes back."""
    config = _store(fleet, "cisco_xe", "dual-wan")
    view = "ip dns view default\n dns forwarding source-interface Loopback0\n"
    assert "ip dns server\n" in config.text and view + "!\nclass-map " in config.text
    assert not [f for f in _lint(config) if f.rule == "cisco-dns-source"]
    for broken in (_broken(config, view, ""), _broken(config, view, "ip dns view default\n dns forwarding\n")):
        (finding,) = [f for f in _lint(broken) if f.rule == "cisco-dns-source"]
        assert finding.message.startswith("queries `ip dns server` forwards are not sourced from a loopback")


def test_cisco_guest_zone_without_a_self_zone_policy(fleet: Fleet) -> None:
    """Without a zone pair to the self zone, guests reach every service of the router."""
    config = _store(fleet, "cisco_xe", "mall-guest")
    broken = _broken(config, "zone-pair security GUEST-TO-SELF source GUEST destination self\n service-policy type inspect GUEST-TO-SELF\n", "")
    assert [f.rule for f in _lint(broken)] == ["cisco-untrusted-self"]


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_cisco_ip_source_routing_left_on(fleet: Fleet, role: str) -> None:
    """IOS-XE follows a packet's source route option unless told not to: a sender on the WAN or
    the DC LAN would pick the router's next hop itself."""
    config = _store(fleet, "cisco_xe", "dual-wan") if role == "edge" else _hub(fleet, "cisco_xe")
    assert "\nno ip source-route\n" in config.text
    broken = _broken(config, "no ip source-route\n", "")
    assert [f.rule for f in _lint(broken)] == ["cisco-source-route"]


def test_cisco_policy_routing_of_the_routers_own_address(fleet: Fleet) -> None:
    """Interface policy routing redirects whatever its ACL permits, packets to the router itself
    too: a guest's ping to its gateway and its DHCP renewal (unicast to the gateway) would leave
    through the breakout, NATed; a steered segment's likewise through a hub tunnel."""
    config = _store(fleet, "cisco_xe", "mall-guest")
    assert not [f for f in _lint(config) if f.rule == "cisco-pbr-self"]
    guest = _broken(config, " match ip address GUEST-BREAKOUT\n", " match ip address GUEST-NAT\n")
    findings = _lint(guest)
    assert [f.rule for f in findings] == ["cisco-pbr-self"]
    assert "10.64.5.1" in findings[0].message and "GUEST-BREAKOUT" in findings[0].message
    steered = _broken_re(config, r"(ip access-list extended APP-POS\n) \d+ deny ip 10\.64\.4\.0 \S+ 10\.64\.4\.0 \S+\n", r"\1")
    assert [f.rule for f in _lint(steered)] == ["cisco-pbr-self"]


def test_internet_flows_that_leave_private_ranges_open(fleet: Fleet) -> None:
    """Guest Wi-Fi (and office internet) reaches only the internet: a flow that permits "any"
    before denying every RFC 1918 range lets guests reach a mall's or a modem's 192.168.x."""
    cisco = _store(fleet, "cisco_xe", "mall-guest")
    broken = _broken_re(cisco, r"(GUEST-TO-INTERNET\n(?: \d+ deny .*\n)*) \d+ deny ip \S+ \S+ 192\.168\.0\.0 \S+\n", r"\1")
    assert [f.rule for f in _lint(broken)] == ["cisco-internet-private"]
    assert "192.168.0.0/16" in _lint(broken)[0].message
    vrp = _store(fleet, "huawei_vrp", "mall-guest")
    broken = _broken_re(vrp, r" rule \d+ deny ip source 10\.64\.5\.0 \S+ destination 172\.16\.0\.0 \S+\n", "")
    assert [f.rule for f in _lint(broken)] == ["vrp-internet-private"]
    fortios = _store(fleet, "fortinet", "mall-guest")
    broken = _broken(
        fortios,
        'set dstaddr "NET-10.0.0.0/8" "NET-100.64.0.0/10" "NET-169.254.0.0/16" "NET-172.16.0.0/12" "NET-192.168.0.0/16"',
        'set dstaddr "NET-10.0.0.0/8"',
    )
    assert [f.rule for f in _lint(broken)] == ["fortios-internet-private"]


def test_office_internet_that_leaves_the_link_local_range_open(fleet: Fleet) -> None:
    """Office's internet flow rides the overlay; on a store with AWS tunnels, AWS's BGP speakers
    sit one hop away at link-local inside addresses (169.254.x), so "any" before denying
    169.254.0.0/16 lets an office host reach them."""
    cisco = _store(fleet, "cisco_xe", "mall-guest")
    assert "169.254.0.0 0.0.255.255" in cisco.text.split("ip access-list extended OFFICE-TO-OVERLAY")[1].split("!")[0]
    broken = _broken_re(cisco, r"(OFFICE-TO-OVERLAY\n(?: \d+ .*\n)*?) \d+ deny ip \S+ \S+ 169\.254\.0\.0 \S+\n", r"\1")
    findings = _lint(broken)
    assert [f.rule for f in findings] == ["cisco-internet-private"] and "169.254.0.0/16" in findings[0].message
    vrp = _store(fleet, "huawei_vrp", "mall-guest")
    broken = _broken_re(vrp, r"(OFFICE-TO-OVERLAY \d+\n(?: rule .*\n)*?) rule \d+ deny ip source \S+ \S+ destination 169\.254\.0\.0 \S+\n", r"\1")
    assert [f.rule for f in _lint(broken)] == ["vrp-internet-private"]


def test_vrp_null0_route_that_beats_bgp(fleet: Fleet) -> None:
    """VRP ranks BGP routes at preference 255 by default: without a lower `preference` a store's
    NULL0 stand-in for its segments (254) wins over a learned route for the same prefix. (Hubs
    have no NULL0 routes: their summaries are aggregates, lint hub-summary.)"""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    assert not [line for line in _hub(fleet, "huawei_vrp").text.splitlines() if "NULL0" in line]
    broken = _broken(config, "  preference 20 200 200\n", "")
    found = [f for f in _lint(broken) if f.rule == "vrp-bgp-preference"]
    nulls = [line for line in config.text.splitlines() if line.startswith("ip route-static") and "NULL0" in line]
    assert nulls and len(found) == len(nulls)
    assert "NULL0" in found[0].message
    low = _broken(config, "  preference 20 200 200\n", "  preference 20 254 200\n")
    assert [f.rule for f in _lint(low)] == ["vrp-bgp-preference"] * len(nulls)


def test_vrp_guest_wifi_that_reaches_the_dns_proxy_at_another_address(fleet: Fleet) -> None:
    """The DNS proxy answers on every address of the router and nothing between zones filters a
    packet to the router: a guest refused DNS at its own gateway asks the POS gateway or the
    loopback instead."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    # GUEST-IN keeps its DHCP and ping permits and the deny of the guest gateway, loses the rest.
    broken = _broken_re(
        config, r"(acl name GUEST-IN 3098\n(?: rule \d+ permit .*\n){2} rule \d+ deny .*\n)(?: rule \d+ deny .*\n)+", r"\1"
    )
    found = [f for f in _lint(broken) if f.rule == "vrp-guest-dns"]
    assert len(found) == 1
    # The router's 14 other addresses in the global table (4 gateways, the loopback, 6 hub and
    # 2 AWS tunnels, the breakout port), UDP and TCP each: 28, the first 4 named.
    assert "udp/53 to 198.51.100.10, tcp/53 to 198.51.100.10" in found[0].message
    assert found[0].message.count("/53 to ") == 4 and "and 24 more" in found[0].message
    assert not [f for f in _lint(config) if f.rule == "vrp-guest-dns"]


def test_vrp_guest_wifi_that_reaches_the_router_itself(fleet: Fleet) -> None:
    """A packet to the router passes no interzone filter, so GUEST-IN alone keeps a guest off
    the router: from guest Wi-Fi only DHCP and pings reach its gateway, and nothing reaches the
    router's other addresses (the loopback, another segment's gateway, a tunnel). A filter that
    refuses DNS only hands guests SSH, SNMP, NTP, BGP and IKE at every address."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    acl = huawei_vrp._acls(huawei_vrp.parse(config.text, ("#",)))["GUEST-IN"]
    guest, gateway = ipaddress.IPv4Address("10.64.5.20"), ipaddress.IPv4Address("10.64.5.1")
    assert f"ip address {gateway} 255.255.255.128" in config.text
    for destination in ("10.255.0.5", "10.64.4.1", "100.64.0.9", "198.51.100.10", str(gateway)):
        for protocol, port in (("tcp", 22), ("udp", 161), ("udp", 123), ("tcp", 179), ("udp", 500), ("udp", 53)):
            packet = huawei_vrp.Packet(protocol, guest, ipaddress.IPv4Address(destination), port)
            assert not huawei_vrp.acl_verdict(acl, packet).forwarded, packet
    assert not huawei_vrp.acl_verdict(acl, huawei_vrp.Packet("icmp", guest, ipaddress.IPv4Address("10.255.0.5"))).forwarded
    for packet in (
        huawei_vrp.Packet("udp", guest, gateway, 67),
        huawei_vrp.Packet("icmp", guest, gateway),
        huawei_vrp.Packet("tcp", guest, ipaddress.IPv4Address("93.184.216.34"), 443),
    ):
        assert huawei_vrp.acl_verdict(acl, packet).forwarded, packet
    assert not [f for f in _lint(config) if f.rule == "vrp-guest-router"]
    # The filter as it was: DNS refused at every address, everything else passed.
    dns_only = re.sub(
        r"(acl name GUEST-IN 3098\n)(?: rule .*\n)+",
        lambda m: m[1]
        + "".join(
            f" rule {n} deny {proto} destination {address} 0 destination-port eq {name}\n"
            for n, (address, proto, name) in enumerate(
                [(a, p, k) for a in ("10.64.5.1", "10.255.0.5") for p, k in (("udp", "dns"), ("tcp", "domain"))], start=1
            )
        )
        + " rule 99 permit ip\n",
        config.text,
        count=1,
    )
    found = [f for f in _lint(dataclasses.replace(config, text=dns_only)) if f.rule == "vrp-guest-router"]
    assert len(found) == 1 and "tcp/22 to 10.255.0.5" in found[0].message
    # Over-blocked: no DHCP renewal reaches the guest gateway.
    no_dhcp = _broken(config, " rule 5 permit udp destination 10.64.5.1 0 destination-port eq bootps\n", "")
    assert [f.message for f in _lint(no_dhcp) if f.rule == "vrp-guest-router"] == [
        "rule 15 deny ip destination 10.64.5.1 0: refuses guest Wi-Fi's DHCP renewals to its gateway 10.64.5.1"
    ]


def test_vrp_segment_that_reaches_the_router_itself(fleet: Fleet) -> None:
    """The intent lets only the management network manage the router, and a packet to the router
    passes no interzone filter: an office host must not reach SSH, SNMP, NTP, the web system,
    BGP or IKE at any address of the router (its own gateway, another segment's, the loopback, a
    tunnel), while DHCP, DNS and pings at its own gateway still work."""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    root = huawei_vrp.parse(config.text, ("#",))
    office = next(line for line in huawei_vrp.top(root, "interface") if line.text == "interface GigabitEthernet0/0/0.20")
    name = next(t.split()[-1] for t in office.child_texts() if t.startswith("traffic-filter inbound acl name"))
    acl = huawei_vrp._acls(root)[name]
    host, gateway = ipaddress.IPv4Address("10.64.2.80"), ipaddress.IPv4Address("10.64.2.65")
    for destination in (str(gateway), "10.64.2.1", "10.255.0.4", "100.64.0.5"):
        for protocol, port in (("tcp", 22), ("udp", 161), ("udp", 123), ("tcp", 80), ("tcp", 443), ("tcp", 179), ("udp", 500)):
            packet = huawei_vrp.Packet(protocol, host, ipaddress.IPv4Address(destination), port)
            assert not huawei_vrp.acl_verdict(acl, packet).forwarded, packet
    assert not huawei_vrp.acl_verdict(acl, huawei_vrp.Packet("udp", host, ipaddress.IPv4Address("10.255.0.4"), 53)).forwarded
    for packet in (
        huawei_vrp.Packet("udp", host, gateway, 67),
        huawei_vrp.Packet("udp", host, gateway, 53),
        huawei_vrp.Packet("tcp", host, gateway, 53),
        huawei_vrp.Packet("icmp", host, gateway),
        huawei_vrp.Packet("tcp", host, ipaddress.IPv4Address("10.0.1.5"), 22),  # through the router, to HQ
    ):
        assert huawei_vrp.acl_verdict(acl, packet).forwarded, packet
    assert not [f for f in _lint(config) if f.rule == "vrp-segment-router"]
    # Without its filter the office reaches every service of the router.
    open_office = _broken(config, " traffic-filter inbound acl name OFFICE-IN\n", "")
    found = [f for f in _lint(open_office) if f.rule == "vrp-segment-router"]
    assert len(found) == 1 and found[0].message.startswith("interface GigabitEthernet0/0/0.20: the segment reaches")
    # Over-blocked: the office's DNS proxy at its gateway refused.
    no_dns = _broken(config, " rule 10 permit udp destination 10.64.2.65 0 destination-port eq dns\n", "")
    assert [f.message for f in _lint(no_dns) if f.rule == "vrp-segment-router"] == [
        "rule 30 deny ip destination 10.64.2.65 0: refuses the segment's DNS queries to its gateway 10.64.2.65"
    ]


def test_vrp_wan_port_that_answers_every_ping(fleet: Fleet) -> None:
    """WAN-IN passes ICMP, so without a policer the router answered every echo request from the
    internet, where FRR stores answer 10 a second per sender: each WAN port polices echo
    requests to the intent's rate (all senders together), and only echo requests (the store's
    NQA probe of its breakout gateway gets echo replies, and the hub probes ride the tunnels)."""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    root = huawei_vrp.parse(config.text, ("#",))
    acls = huawei_vrp._acls(root)
    pps = ManagementAccess.__dataclass_fields__["icmp_requests_pps"].default
    wan = [line for line in huawei_vrp.top(root, "interface") if "zone INTERNET" in line.child_texts()]
    assert len(wan) == 2
    for port in wan:
        (car,) = [t.split() for t in port.child_texts() if t.startswith("qos car inbound")]
        acl, cir = acls[car[car.index("acl") + 1]], int(car[car.index("cir") + 1])
        # A default Linux ping as the policer counts it (IP 84, Ethernet 18, preamble and gap 20
        # bytes): the intent's rate passes, twice that does not.
        assert pps * 122 * 8 <= cir * 1000 < 2 * pps * 122 * 8
        outside, router = ipaddress.IPv4Address("192.0.2.7"), ipaddress.IPv4Address("198.51.100.6")
        assert huawei_vrp._polices(acl, huawei_vrp.Packet("icmp", outside, router))
        assert not huawei_vrp._polices(acl, huawei_vrp.Packet("udp", outside, router, 4500))
        assert [r.words[3:] for r in acl.children] == [["icmp", "icmp-type", "echo"]]
    assert not [f for f in _lint(config) if f.rule == "vrp-wan-echo"]
    unpoliced = _broken(config, " qos car inbound acl 3095 cir 10\n", "", count=2)
    assert [f.rule for f in _lint(unpoliced)] == ["vrp-wan-echo"] * 2


def test_vrp_hub_dc_port_that_answers_every_ping(fleet: Fleet) -> None:
    """HUB-WAN-IN passes echo requests, so a VRP hub answered every ping its DC port took in,
    where a store's WAN port polices them: the DC port polices the echo requests to the hub's
    public IKE endpoint to the intent's rate, never HQ's pings to the hub's private loopback and
    DC address (an internet flood would make HQ's monitoring see the hub as lossy) nor HQ's pings
    to the stores, which pass the same port."""
    config = _hub(fleet, "huawei_vrp")
    root = huawei_vrp.parse(config.text, ("#",))
    acls = huawei_vrp._acls(root)
    pps = ManagementAccess.__dataclass_fields__["icmp_requests_pps"].default
    (port,) = [i for i in huawei_vrp.top(root, "interface") if i.words[1] == "GigabitEthernet0/0/1"]
    (car,) = [t.split() for t in port.child_texts() if t.startswith("qos car inbound")]
    acl, cir = acls[car[car.index("acl") + 1]], int(car[car.index("cir") + 1])
    assert pps * 122 * 8 <= cir * 1000 < 2 * pps * 122 * 8
    monitoring = ipaddress.IPv4Address("10.0.250.9")
    assert huawei_vrp._polices(acl, huawei_vrp.Packet("icmp", monitoring, ipaddress.IPv4Address("203.0.113.11")))
    for unpoliced_address in ("10.255.0.1", "10.0.0.3", "10.64.2.1"):  # loopback, DC address, a store's gateway
        assert not huawei_vrp._polices(acl, huawei_vrp.Packet("icmp", monitoring, ipaddress.IPv4Address(unpoliced_address)))
    assert not [f for f in _lint(config) if f.rule == "vrp-wan-echo"]
    unpoliced = _broken(config, " qos car inbound acl 3095 cir 10\n", "")
    assert [f.message for f in _lint(unpoliced) if f.rule == "vrp-wan-echo"] == [
        "interface GigabitEthernet0/0/1: the port answers every echo request it takes in for 203.0.113.11; "
        "police them with `qos car inbound acl <ACL permitting icmp echo> cir <kbit/s>`"
    ]


def test_vrp_wan_port_that_tells_its_clock(fleet: Fleet) -> None:
    """WAN-IN passed every ICMP type, so a VRP store answered ICMP timestamp requests from the
    internet with its clock, where FRR stores drop them: WAN-IN refuses them unless the intent
    answers them, ahead of its closing permit."""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    assert not ManagementAccess.__dataclass_fields__["icmp_timestamps_from_internet"].default
    root = huawei_vrp.parse(config.text, ("#",))
    acl = huawei_vrp._acls(root)["WAN-IN"]
    internet, wan = ipaddress.IPv4Address("192.0.2.80"), ipaddress.IPv4Address("198.51.100.6")
    refusing = huawei_vrp.acl_verdict(acl, huawei_vrp.Packet("icmp", internet, wan, icmp=(13, 0)))
    assert not refusing.forwarded and refusing.rule.split()[2:] == ["deny", "icmp", "icmp-type", "timestamp-request"]
    assert huawei_vrp.acl_verdict(acl, huawei_vrp.Packet("icmp", internet, wan)).forwarded  # pings still answered (policed)
    assert not [f for f in _lint(config) if f.rule == "vrp-wan-timestamp"]
    answering = _broken(config, " deny icmp icmp-type timestamp-request\n", " deny icmp icmp-type information-request\n")
    assert [f.rule for f in _lint(answering)] == ["vrp-wan-timestamp"] * 2


def test_vrp_store_that_answers_timestamps_by_intent(fleet: Fleet) -> None:
    """The intent decides: a store whose intent answers timestamps from the internet renders no
    deny for them (the intent's one switch, not a template constant)."""
    from storestack.devices.platforms.huawei_vrp import wan_filter

    fleet = on_platform(fleet, "huawei_vrp")
    store = fleet.store(SHAPES["dual-wan"])
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    management = dataclasses.replace(view.intent.management, icmp_timestamps_from_internet=True)
    answered = dataclasses.replace(view, intent=dataclasses.replace(view.intent, management=management))
    assert [r.icmp_type for r in wan_filter(view) if r.protocol == "icmp"] == ["timestamp-request"]
    assert [r for r in wan_filter(answered) if r.protocol == "icmp"] == []


def test_vrp_wan_port_that_answers_the_web_system(fleet: Fleet) -> None:
    """An AR runs its web system from the factory: a WAN filter without the HTTPS deny exposes it."""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    broken = _broken(config, " rule 40 deny tcp destination-port eq 443\n", "")
    found = [f for f in _lint(broken) if f.rule == "vrp-wan-services"]
    assert len(found) == 2  # both WAN ports
    assert all(f.message.endswith("refuse tcp/443") for f in found)


@pytest.mark.parametrize(
    ("rule", "refused"),
    [
        (r" rule \d+ deny tcp destination-port eq bgp\n", "tcp/179"),
        (r" rule \d+ deny udp destination-port range 3784 3785\n", "udp/3784, udp/3785"),
        (r" rule \d+ deny tcp destination-port eq 830\n", "tcp/830"),
    ],
)
def test_vrp_wan_port_that_takes_control_protocols(fleet: Fleet, rule: str, refused: str) -> None:
    """BGP and BFD run inside the tunnels: a WAN filter that lets them (or NETCONF) reach the
    router from the internet exposes its control plane, which the interzone firewall does not
    guard."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    assert not [f for f in _lint(config) if f.rule == "vrp-wan-services"]
    found = [f for f in _lint(_broken_re(config, rule, "")) if f.rule == "vrp-wan-services"]
    assert found and all(f.message.endswith(f"refuse {refused}") for f in found), found


def test_vrp_guest_breakout_answers_on_a_service_port(fleet: Fleet) -> None:
    """WAN-IN denied the router's service ports to any destination, so had the AR filtered the
    breakout port's inbound packets after NAT turned them back to the guest's address and port,
    a guest that sent from UDP 3784/4784, TCP 22 or 179 lost every answer. The guests' hosts now
    pass ahead of the denies, and every address of the router, the guest gateway in the guest
    prefix included, still meets them from the internet."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    acl = huawei_vrp._acls(huawei_vrp.parse(config.text, ("#",)))["WAN-IN"]
    server = ipaddress.IPv4Address("192.0.2.80")
    guests = [ipaddress.IPv4Address(a) for a in ("10.64.5.0", "10.64.5.20", "10.64.5.126", "10.64.5.127")]
    for guest in guests:  # answers of the guests' sessions, translated back
        for protocol, port in (("udp", 3784), ("udp", 4784), ("tcp", 22), ("tcp", 179), ("udp", 161)):
            assert huawei_vrp.acl_verdict(acl, huawei_vrp.Packet(protocol, server, guest, port)).forwarded
    router = ["10.64.5.1", "10.64.4.1", "10.255.0.5", "198.51.100.10", "100.64.0.9", "169.254.0.18"]
    for address in router:  # new sessions to the router's services
        for protocol, port in (("udp", 3784), ("udp", 4784), ("tcp", 22), ("udp", 161), ("tcp", 443)):
            packet = huawei_vrp.Packet(protocol, server, ipaddress.IPv4Address(address), port)
            assert not huawei_vrp.acl_verdict(acl, packet).forwarded, (address, protocol, port)
    assert not [f for f in _lint(config) if f.rule == "vrp-wan-services"]
    # A permit of the whole guest prefix takes the guest gateway out of the denies.
    whole = _broken_re(config, r" rule 5 permit ip destination 10\.64\.5\.0 0\n", " rule 5 permit ip destination 10.64.5.0 0.0.0.127\n")
    found = [f.message for f in _lint(whole) if f.rule == "vrp-wan-services"]
    assert found and all(m.endswith("at 10.64.5.1") for m in found), found
    assert len(found) == 3  # every WAN port: WAN-IN is theirs


def test_fortios_hub_cloud_vpn_without_policies(fleet: Fleet) -> None:
    """A cloud VPN with no policy carries its BGP session and no traffic between HQ and the cloud."""
    config = _hub(fleet, "fortinet")
    # Stores reach the clouds too (STORES-TO-CORPORATE): nothing comes back from a cloud.
    text, count = re.subn(r'    edit \d+\n        set name "CLOUD-TO-HQ-\w+"\n(?:        .*\n)*?    next\n', "", config.text)
    assert count == 2  # one per cloud site
    broken = dataclasses.replace(config, text=text)
    found = [f for f in _lint(broken) if f.rule == "fortios-tunnel-policy"]
    assert {f.message.split()[1] for f in found} == {"aws1-eu-west-1", "aws2-eu-west-1", "os-ams-private"}
    assert not [f for f in _lint(config) if f.rule == "fortios-tunnel-policy"]


def test_fortios_link_monitor_takes_the_underlay_down(fleet: Fleet) -> None:
    """The guest breakout monitor pings the gateway of wan1, the port the tunnels to the hubs
    leave by: left to update the static routes, a gateway that stops answering pings removes
    their underlay routes too."""
    config = _store(fleet, "fortinet", "mall-guest")
    assert "fortios-link-monitor-routes" not in _rules(_lint(config))
    broken = _broken(config, "        set update-static-route disable\n", "")
    found = [f for f in _lint(broken) if f.rule == "fortios-link-monitor-routes"]
    assert len(found) == 1
    assert "guest-breakout" in found[0].message and "via wan1" in found[0].message


def test_fortios_hub_forwards_store_loopbacks_to_the_management_servers(fleet: Fleet) -> None:
    """A store sources its NTP, TACACS+, syslog and DNS from its loopback: a hub whose store
    policies take only a store's segments as sources drops all of it (FortiOS's implicit deny)."""
    config = _hub(fleet, "fortinet")
    assert "fortios-hub-store-management" not in _rules(_lint(config))
    # nw-0001's sources without its loopback
    broken = _broken(config, '/26" "SRC-10.255.0.3/32"\n', '/26"\n')
    found = [f for f in _lint(broken) if f.rule == "fortios-hub-store-management"]
    assert {f.message.split()[0] for f in found} == {"NTP", "TACACS+", "syslog"}
    assert all("from 10.255.0." in f.message and "implicit deny" in f.message for f in found)


def test_fortios_hub_starts_management_sessions_to_store_loopbacks_only(fleet: Fleet) -> None:
    """HQ's management ranges reach the stores' loopbacks through the hub, never their segments."""
    config = _hub(fleet, "fortinet")
    assert "fortios-hub-into-stores" not in _rules(_lint(config))
    broken = _broken(
        config,
        '        set srcaddr "MGMT"\n        set dstaddr "STORE-LOOPBACKS"',
        '        set srcaddr "MGMT"\n        set dstaddr "all"',
    )
    found = [f for f in _lint(broken) if f.rule == "fortios-hub-into-stores"]
    assert len(found) == 1 and "MGMT-TO-STORES" in found[0].message and "10.64.0.0/26" in found[0].message


def test_fortios_segment_kept_off_cellular_is_steered_off_it(fleet: Fleet) -> None:
    """IoT may not use LTE: its policies leave by zone "overlay" only. With the hubs' routes
    installed through every tunnel, IoT traffic no SD-WAN rule takes is spread by the implicit
    rule over the LTE tunnels too, where no policy accepts it; a rule that lists an LTE member
    for it drops those sessions the same way."""
    config = _store(fleet, "fortinet", "dual-wan")
    assert "fortios-sdwan-zone-members" not in _rules(_lint(config))
    unsteered = _broken_re(config, r'        edit \d+\n            set name "iot-wired"\n(?:            .*\n)*?        next\n', "")
    found = [f for f in _lint(unsteered) if f.rule == "fortios-sdwan-zone-members"]
    assert len(found) == 1
    assert "IOT-NET" in found[0].message and "overlay-cellular included" in found[0].message
    onto_lte = _broken_re(
        config,
        r'(            set name "iot-wired"\n(?:            .*\n)*?            set priority-members [\d ]+)',
        r"\1 2",
    )
    found = [f for f in _lint(onto_lte) if f.rule == "fortios-sdwan-zone-members"]
    assert len(found) == 1
    assert found[0].message.startswith("rule iot-wired: sends IOT-NET over member(s) 2")


def test_vrp_interface_pbr_and_tracked_pbr_nodes_are_refused(fleet: Fleet) -> None:
    """The form an AR rejects: `ip policy-based-route` on an interface (an AR policy-routes
    forwarded traffic with a traffic policy's `redirect ip-nexthop`) and `track nqa` after a
    policy node's next hops; a policy node holds at most two next hops and is applied with
    `ip local policy-based-route` (it routes the router's own packets)."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    rules = _rules(_lint(config))
    assert not rules & {"vrp-interface-pbr", "vrp-pbr-track", "vrp-pbr-next-hops", "vrp-policy-unapplied"}
    # Its one local policy routes the router's own replies from the guest breakout address.
    assert "\nip policy-based-route" not in config.text and " ip policy-based-route" not in config.text
    assert re.findall(r"^policy-based-route (\S+) ", config.text, re.M) == ["BREAKOUT-LOCAL"]
    assert "\nip local policy-based-route BREAKOUT-LOCAL\n" in config.text
    old_form = _broken(
        config,
        " traffic-policy LAN-IN-POS inbound\n",
        " traffic-policy LAN-IN-POS inbound\n ip policy-based-route STEER-POS\n",
    )
    old_form = _broken(
        old_form,
        "#\nreturn",
        "policy-based-route STEER-POS permit node 10\n if-match acl 3101\n"
        " apply ip-address next-hop 100.64.0.0 track nqa SLA_STRICT tun1\n"
        " apply ip-address next-hop 100.64.0.2\n apply ip-address next-hop 100.64.0.4\n#\nreturn",
    )
    found = {f.rule: f.message for f in _lint(old_form)}
    assert "not an AR command" in found["vrp-interface-pbr"]
    assert "take no `track`" in found["vrp-pbr-track"]
    assert "3 next hops" in found["vrp-pbr-next-hops"]
    assert "ip local policy-based-route" in found["vrp-policy-unapplied"]


def test_vrp_steering_redirects_are_tracked_inbound_and_never_drop(fleet: Fleet) -> None:
    """Each steered class and the guest breakout is a tracked redirect in the segment's one
    inbound policy: an untracked redirect keeps its traffic on a broken path, a redirecting
    policy applies inbound only, and a classifier whose ACL has a deny rule drops what the rule
    matches (traffic between the store's segments, with the shared APP ACLs of old)."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    assert " traffic-policy LAN-IN-GUEST inbound\n" in config.text
    assert re.search(r"redirect ip-nexthop \S+ track-nqa storestack guest_gateway\n", config.text)
    rules = _rules(_lint(config))
    assert not rules & {"vrp-redirect-untracked", "vrp-redirect-outbound", "vrp-mqc-acl-deny"}
    untracked = _broken_re(
        config, r"( redirect ip-nexthop \S+) track-nqa storestack guest_gateway\n", r"\1\n"
    )
    assert any(f.rule == "vrp-redirect-untracked" and "GUEST-BREAKOUT" in f.message for f in _lint(untracked))
    outbound = _broken(
        config, " traffic-policy QUEUE-wan1 outbound\n", " traffic-policy LAN-IN-GUEST outbound\n"
    )
    assert "vrp-redirect-outbound" in _rules(_lint(outbound))
    # LOCAL-GUEST matches the store's own destinations; as a deny rule it would drop them.
    local = re.search(r"acl name LOCAL-GUEST \d+\n rule 5 permit", config.text)
    assert local is not None
    dropping = _broken(config, local.group(0), local.group(0).replace("permit", "deny"))
    found = [f for f in _lint(dropping) if f.rule == "vrp-mqc-acl-deny"]
    assert found and "LOCAL-GUEST" in found[0].message and "drops what it matches" in found[0].message


def _bgp_best_peer(text: str) -> str:
    """The hub peer whose routes BGP prefers in a rendered VRP store: the one importing through
    the HUB-IN route-policy with the highest `apply local-preference`."""
    preference = {
        name: int(value)
        for name, value in re.findall(
            r"^route-policy (HUB-IN-\S+) permit node \d+\n(?: .*\n)*? apply local-preference (\d+)$", text, re.M
        )
    }
    peers = dict(re.findall(r"^  peer (\S+) route-policy (HUB-IN-\S+) import$", text, re.M))
    return max(peers, key=lambda peer: preference[peers[peer]])


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_vrp_steering_moves_traffic_when_its_test_fails(fleet: Fleet, shape: str) -> None:
    """Each steered application is redirected to a tunnel while that tunnel's NQA test passes;
    once the test fails the redirect is withdrawn and BGP routes the packet: to its preferred
    peer, which must be another tunnel, or a breach moves nothing. An application whose
    preferred path is BGP's own is not redirected at all (an AR behavior takes one tracked
    next hop), and QoS marking still classifies it."""
    text = _store(steered_off_bgp(fleet), "huawei_vrp", shape).text
    routed = _bgp_best_peer(text)
    redirects = re.findall(
        r"^traffic behavior (APP-\S+)\n(?: .*\n)*? redirect ip-nexthop (\S+) track-nqa (\S+) (\S+)$", text, re.M
    )
    for behavior, hop, admin, test in redirects:
        probed = re.search(rf"^nqa test-instance {admin} {test}\n(?: .*\n)*? destination-address ipv4 (\S+)$", text, re.M)
        assert probed is not None and probed.group(1) == hop, f"{behavior}: its test probes another hop"
        assert hop != routed, f"{behavior}: redirected to {hop}, where BGP sends it anyway when its test fails"
    if shape == "lte-only":
        # pos and back-office prefer the LTE link; voice, the strictest class, and so BGP the 5G
        # one: pos and back-office are steered, and a breach moves them.
        assert {behavior.rsplit("-", 1)[0] for behavior, *_ in redirects} == {"APP-POS", "APP-BACK-OFFICE"}
        # As the sample chain has it, every application prefers 5G, and so does BGP: none steered.
        assert " redirect ip-nexthop " not in _store(fleet, "huawei_vrp", shape).text


def test_inert_steering_policy_is_found(fleet: Fleet) -> None:
    """A policy whose only next hop is the path BGP prefers never moves its traffic: withdrawn
    on a breach, the traffic follows BGP onto the same tunnel."""
    config = _steered(fleet)
    assert _steering(steered_off_bgp(fleet), config) == []
    routed = _bgp_best_peer(config.text)
    inert = _broken(
        config,
        " redirect ip-nexthop 100.64.255.228 track-nqa SLA_STRICT tun3\n",
        f" redirect ip-nexthop {routed} track-nqa SLA_STRICT tun3\n",
    )
    found = [f for f in _steering(steered_off_bgp(fleet), inert) if f.rule == "sla-steering-inert"]
    assert len(found) == 1 and found[0].message.startswith(f"pos is steered over {routed} only")


def test_vrp_classifier_an_earlier_one_shadows(fleet: Fleet) -> None:
    """In a traffic policy the first matching classifier decides: a classifier whose traffic an
    earlier one already takes (the same ports again, anything after the segment's catch-all
    application or after `if-match any`) is dead and is found; a broader one after a narrower
    one is not."""
    config = _steered(fleet)
    policy = re.search(r"^traffic policy LAN-IN-OFFICE\n(?: .*\n)+", config.text, re.M)
    assert policy is not None
    entries = policy.group(0).splitlines()[1:]
    assert entries[-1] == " classifier ANY behavior MARK-BUSINESS"
    # Voice's ports (marked EF, following BGP), then back-office's office traffic, steered.
    voice = " classifier ROUTED-VOICE-1 behavior MARK-VOICE\n"
    catch_all = " classifier APP-BACK-OFFICE-1 behavior APP-BACK-OFFICE-1\n"
    assert voice + catch_all in config.text
    assert re.search(r"^acl name ROUTED-VOICE-1 \d+\n rule 5 permit udp .* destination-port eq 5060$", config.text, re.M)
    # Voice's ports again after the classifier that takes every office packet: dead.
    again = _broken(config, voice + catch_all, voice + catch_all + voice)
    found = [f for f in _lint(again) if f.rule == "vrp-shadowed-classifier"]
    assert len(found) == 1 and "ROUTED-VOICE-1" in found[0].message
    assert again.text.splitlines()[found[0].line - 1] == voice.rstrip("\n")
    # The catch-all before voice's ports: those are dead, the catch-all is not.
    swapped = _broken(config, voice + catch_all, catch_all + voice)
    assert {f.message.split()[4] for f in _lint(swapped) if f.rule == "vrp-shadowed-classifier"} == {
        "ROUTED-VOICE-1"
    }
    # Anything after `if-match any`.
    after_any = _broken(
        config,
        " classifier ANY behavior MARK-BUSINESS\n",
        " classifier ANY behavior MARK-BUSINESS\n" + catch_all,
    )
    assert any("ANY before it" in f.message for f in _lint(after_any) if f.rule == "vrp-shadowed-classifier")


def _first_behavior(config: ConfigFile, policy: str, packet: Packet) -> list[str]:
    """The lines of the behavior that the first classifier of traffic policy `policy` to match
    `packet` applies to it (the first matching classifier decides)."""
    root = huawei_vrp.parse(config.text, ("#",))
    acls = huawei_vrp._acls(root)
    classifiers = {line.words[2]: line for line in top(root, "traffic", "classifier")}
    behaviors = {line.words[2]: line for line in top(root, "traffic", "behavior")}
    (entries,) = [line.children for line in top(root, "traffic", "policy") if line.words[2] == policy]
    for entry in entries:
        if huawei_vrp._classifier_takes(classifiers[entry.words[1]], acls, packet):
            return [line.text.strip() for line in behaviors[entry.words[3]].children]
    raise AssertionError(f"no classifier of {policy} takes {packet}")


def _voice_in_back_office(config: ConfigFile) -> ConfigFile:
    """The steered store's office policy as it was rendered before voice got a classifier of its
    own: voice's ports in back-office's first classifier, re-marked EF and redirected with
    back-office's path and NQA test, then back-office's catch-all."""
    text = config.text.replace("APP-BACK-OFFICE-1", "APP-BACK-OFFICE-2").replace("ROUTED-VOICE-1", "APP-BACK-OFFICE-1")
    old = _broken(
        dataclasses.replace(config, text=text),
        " classifier APP-BACK-OFFICE-1 behavior MARK-VOICE\n",
        " classifier APP-BACK-OFFICE-1 behavior APP-BACK-OFFICE-1\n",
    )
    return _broken(
        old,
        "traffic behavior APP-BACK-OFFICE-2\n",
        "traffic behavior APP-BACK-OFFICE-1\n remark dscp ef\n"
        " redirect ip-nexthop 100.64.255.228 track-nqa SLA_BUSINESS tun3\n"
        "traffic behavior APP-BACK-OFFICE-2\n",
    )


def test_vrp_voice_follows_bgp_before_a_steered_catch_all(fleet: Fleet) -> None:
    """On the store that steers back-office (every office packet) onto lte1 but not voice (its
    preferred path is BGP's), voice's packets meet a classifier of their own first: re-marked EF
    and routed by BGP, not redirected with back-office's path under back-office's looser SLA.
    The rest of the office's traffic is still steered. The steering lint finds voice caught by
    back-office's steered classifier in the order rendered before."""
    steered = steered_off_bgp(fleet)
    config = _steered(fleet)
    store = NetworkIntent(on_platform(steered, "huawei_vrp")).store(SHAPES["lte-only"], config.hostname)
    (voice,) = [a for a in store.sla.applications if a.name == "voice"]
    host, hq = voice.sources[0].network_address + 1, store.destinations(voice)[0].network_address + 1
    for port in (5060, 16384, 32767):
        assert _first_behavior(config, "LAN-IN-OFFICE", Packet("udp", host, hq, port)) == ["remark dscp ef"]
    assert _first_behavior(config, "LAN-IN-OFFICE", Packet("tcp", host, hq, 443)) == [
        "remark dscp af21",
        "redirect ip-nexthop 100.64.255.228 track-nqa SLA_BUSINESS tun3",
    ]
    assert _steering(steered, config) == []
    old = _voice_in_back_office(config)
    assert _first_behavior(old, "LAN-IN-OFFICE", Packet("udp", host, hq, 5060)) == [
        "remark dscp ef",
        "redirect ip-nexthop 100.64.255.228 track-nqa SLA_BUSINESS tun3",
    ]
    found = [f for f in _steering(steered, old) if f.rule == "sla-steered-as-another"]
    assert len(found) == 1, found
    assert found[0].message.startswith("voice: its udp port 5060 traffic from 10.64.12.65 ")
    assert "steered as back-office (over 100.64.255.228, by SLA class business)" in found[0].message
    assert old.text.splitlines()[found[0].line - 1] == " classifier APP-BACK-OFFICE-1 behavior APP-BACK-OFFICE-1"
    # Voice's own classifier left out: back-office's steered catch-all takes its packets.
    bare = _broken(config, " classifier ROUTED-VOICE-1 behavior MARK-VOICE\n", "")
    assert [f.message.split(":")[0] for f in _steering(steered, bare) if f.rule == "sla-steered-as-another"] == [
        "voice"
    ]


def test_vrp_nqa_name_with_a_hyphen(fleet: Fleet) -> None:
    """NQA refuses a hyphen in an administrator or test name: a test spelled with the class's
    probe name (SLA-STRICT) is never created, and every policy route tracking it fails."""
    config = _steered(fleet)
    assert "vrp-nqa-name" not in _rules(_lint(config))
    broken = _broken(config, "SLA_STRICT tun3", "SLA-STRICT tun3", count=-1)
    found = [f for f in _lint(broken) if f.rule == "vrp-nqa-name"]
    assert {f.message.split("'")[1].split()[0] for f in found} == {"nqa", "redirect"}
    assert all("SLA-STRICT" in f.message for f in found)


def test_vrp_pbr_out_of_an_ethernet_port(fleet: Fleet) -> None:
    """A policy node may name a point-to-point outbound interface, not an Ethernet port."""
    config = _store(fleet, "huawei_vrp", "mall-guest")
    assert "vrp-pbr-output-interface" not in _rules(_lint(config))
    broken = _broken(
        config,
        "#\nreturn",
        "policy-based-route LOCAL-OUT permit node 10\n apply output-interface GigabitEthernet0/0/1\n"
        "#\nip local policy-based-route LOCAL-OUT\n#\nreturn",
    )
    found = [f for f in _lint(broken) if f.rule == "vrp-pbr-output-interface"]
    assert [f.message.split(":")[0] for f in found] == ["policy-based-route LOCAL-OUT permit node 10"]


def test_vrp_undefined_acl_zone_and_open_interzone(fleet: Fleet) -> None:
    config = _store(fleet, "huawei_vrp", "mall-guest")
    broken = _broken(config, "acl name POS-TO-OVERLAY 3101", "acl name POS-TO-OVERLAY 3901")
    broken = _broken(broken, "firewall interzone GUEST OVERLAY\n firewall enable\n", "")
    findings = _lint(broken)
    messages = [finding.message for finding in findings]
    assert "acl '3101' is referenced but not defined" in messages
    assert "no enabled firewall interzone between GUEST and OVERLAY" in messages


def test_vrp_permit_any_any_in_an_interzone(fleet: Fleet) -> None:
    config = _store(fleet, "huawei_vrp", "mall-guest")
    iot_acl = "acl name IOT-TO-OVERLAY 3105\n"
    first_rule = config.text.split(iot_acl, 1)[1].splitlines()[0]
    broken = _broken(config, iot_acl + first_rule, iot_acl + " rule 5 permit ip")
    assert "vrp-permit-any-any" in _rules(_lint(broken))


def test_vrp_dh_group14_suite_does_not_match_the_fleet_policy(fleet: Fleet) -> None:
    config = _store(fleet, "huawei_vrp", "dual-wan")
    broken = _broken(
        config, " encryption-algorithm aes-256\n dh group20\n", " encryption-algorithm aes-256\n dh group14\n"
    )
    assert all(fact.ike.isdisjoint(FLEET_CRYPTO.ike) for fact in huawei_vrp.tunnels(broken))


# ---------------------------------------------------------------- FortiOS


def test_fortios_neighbour_bfd_without_global_bfd(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet", "dual-wan")
    broken = _broken(config, "config system settings\n    set bfd enable\n", "config system settings\n")
    assert "fortios-bfd-disabled" in _rules(_lint(broken))


def test_fortios_hub_without_policies_and_loopback_without_policy(fleet: Fleet) -> None:
    config = _hub(fleet, "fortinet")
    start = config.text.index("config firewall policy\n")
    end = config.text.index("end\n", start) + len("end\n")
    broken = ConfigFile(
        config.name, "fortinet", "hub", config.hostname, config.text[:start] + config.text[end:]
    )
    assert {"fortios-no-policy", "fortios-loopback-policy"} <= _rules(_lint(broken))


def test_fortios_undefined_objects_and_permit_any_any(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet", "mall-guest")
    broken = _broken(config, 'set dstaddr "NET-10.0.20.0/24"', 'set dstaddr "IOT-SERVICES"')
    broken = _broken(broken, 'set srcaddr "OFFICE-NET"', 'set srcaddr "all"', count=-1)
    broken = _broken(broken, 'set interface "hq-hub1-wan2"', 'set interface "hq-hub1-wan9"')
    findings = _lint(broken)
    messages = [finding.message for finding in findings]
    assert "address 'IOT-SERVICES' is referenced but not defined" in messages
    assert "interface 'hq-hub1-wan9' is referenced but not defined" in messages
    assert "fortios-permit-any-any" in _rules(findings)


def test_fortios_policy_on_any_interface(fleet: Fleet) -> None:
    """`any` lets a policy take traffic from (or to) every interface, the WAN included."""
    hub = _hub(fleet, "fortinet")
    broken = _broken_re(hub, r'(set name "MGMT-TO-STORES"\n        )set srcintf "port1"', r'\1set srcintf "any"')
    found = [f for f in _lint(broken) if f.rule == "fortios-policy-any-interface"]
    assert [f.message for f in found] == ['policy MGMT-TO-STORES: srcintf "any"']
    store = _broken_re(
        _store(fleet, "fortinet", "dual-wan"), r'(set name "POS-TO-OVERLAY-1"\n        set srcintf "pos"\n        )set dstintf [^\n]+', r'\1set dstintf "any"'
    )
    assert [f.message for f in _lint(store) if f.rule == "fortios-policy-any-interface"] == [
        'policy POS-TO-OVERLAY-1: dstintf "any"'
    ]


def test_fortios_policy_without_logging(fleet: Fleet) -> None:
    """A policy left at FortiOS's default `logtraffic utm` logs nothing without a security
    profile: the hub's IKE policy, open to any source, would admit the internet unrecorded."""
    hub = _hub(fleet, "fortinet")
    broken = _broken_re(hub, r'(set service "IPSEC-IKE" "IPSEC-ESP"\n)        set logtraffic all\n', r"\1")
    found = [f for f in _lint(broken) if f.rule == "fortios-policy-log"]
    assert [f.message for f in found] == [
        "policy IKE-TO-ENDPOINT does not log all its sessions (logtraffic utm, the default)"
    ]
    store = _broken(_store(fleet, "fortinet", "dual-wan"), "set logtraffic all", "set logtraffic utm")
    assert len([f for f in _lint(store) if f.rule == "fortios-policy-log"]) == 1


def test_fortios_store_management_outside_the_hub_overlay(fleet: Fleet) -> None:
    """A store's loopback takes management from the hubs' overlay only: not the AWS VPNs, not a WAN port."""
    config = _store(fleet, "fortinet", "aws")
    broken = _broken(
        config, 'set srcintf "overlay" "overlay-cellular"\n        set dstintf "lo0"', 'set srcintf "overlay" "aws-wan1-t1" "wan1"\n        set dstintf "lo0"'
    )
    found = [f for f in _lint(broken) if f.rule == "fortios-management-path"]
    assert len(found) == 1 and found[0].message.endswith("from aws-wan1-t1, wan1, outside the hub overlay")


def test_fortios_store_taking_bgp_and_bfd_outside_its_tunnels(fleet: Fleet) -> None:
    """FortiOS opens TCP 179 to every address once BGP runs: without the local-in policy that
    closes BGP and BFD outside the tunnels, the internet (on the WAN ports) and every store host
    (on the segments, guest Wi-Fi among them) can open BGP connections to the store."""
    config = _store(fleet, "fortinet", "mall-guest")
    broken = _broken_re(config, r'    edit \d+\n        set intf "any"\n(?:        [^\n]*\n)*?    next\n', "")
    found = {f.message.split(":")[0]: f.message for f in _lint(broken) if f.rule == "fortios-control-outside-tunnels"}
    assert {"wan1", "guest-wifi", "pos", "internal"} <= set(found)
    assert not any(name.startswith(("hq-", "aws-", "lo")) for name in found)
    assert "tcp/179, udp/3784 from 198.18.0.1" in found["wan1"]
    # Closed on the WAN port only, the segments still take them from their own hosts.
    on_wan = _broken(config, 'set intf "any"', 'set intf "wan1"')
    assert "wan1" not in {f.message.split(":")[0] for f in _lint(on_wan) if f.rule == "fortios-control-outside-tunnels"}
    assert any(f.message.startswith("guest-wifi: ") for f in _lint(on_wan))


def test_fortios_guest_wifi_reaching_the_store_beyond_its_gateway(fleet: Fleet) -> None:
    """Guest Wi-Fi's breakout policy also takes a guest's packets to the breakout port's own
    address, where the port's local-in policies (bound to the port) never see them: without the
    segment's own local-in policies a guest pings the WAN address and sends it IKE; without the
    second, IKE reaches the guest gateway. Pings and DHCP at the gateway stay open."""
    config = _store(fleet, "fortinet", "mall-guest")
    assert not [f for f in _lint(config) if f.rule == "fortios-guest-router"]
    guest = r'    edit \d+\n        set intf "guest-wifi"\n(?:        [^\n]*\n)*?    next\n'
    open_unit = _broken_re(config, guest, "")
    (found,) = [f.message for f in _lint(open_unit) if f.rule == "fortios-guest-router"]
    assert found.startswith("guest-wifi: a host of the segment, which breaks out locally, reaches the unit itself (ping to 10.64.4.1, ")
    assert found.endswith("its local-in policies must refuse every address of the unit but its gateway 10.64.5.1, and IKE there")
    ike = guest.replace(r"\n(?:", r'\n        set srcaddr "all"\n        set dstaddr "all"\n(?:', 1)
    open_gateway = _broken_re(config, ike, "")
    (found,) = [f.message for f in _lint(open_gateway) if f.rule == "fortios-guest-router"]
    assert "(udp/500 to 10.64.5.1, udp/4500 to 10.64.5.1)" in found
    # No other segment breaks out: none is held to this.
    assert all(f.message.startswith("guest-wifi: ") for f in _lint(open_gateway) if f.rule == "fortios-guest-router")


def test_fortios_store_taking_ike_from_others_than_its_tunnel_peers(fleet: Fleet) -> None:
    """FortiOS takes IKE from any address on every port: without the local-in policy that refuses
    it on a WAN port from all but that port's tunnel peers, the internet negotiates with the
    store; a policy that leaves a tunnel's far end out keeps that tunnel down."""
    config = _store(fleet, "fortinet", "aws")
    open_wan2 = _broken_re(
        config,
        r'    edit \d+\n        set intf "wan2"\n        set srcaddr "all"\n(?:        [^\n]*\n)*?    next\n',
        "",
    )
    found = [f.message for f in _lint(open_wan2) if f.rule == "fortios-wan-ike"]
    assert found == ["wan2: the unit takes IKE (udp/4500, udp/500) from 198.18.0.1, no tunnel peer of the port (no local-in policy refuses it)"]
    no_aws = _broken(config, ' "aws-wan1-t1-GW" "aws-wan1-t2-GW"', "")
    found = [f.message for f in _lint(no_aws) if f.rule == "fortios-wan-ike"]
    assert [m.split(",")[1] for m in found] == [" the far end of tunnel aws-wan1-t1", " the far end of tunnel aws-wan1-t2"]
    assert all(m.startswith("wan1: IKE (udp/500) from 192.0.2.") for m in found)
    assert not [f for f in _lint(config) if f.rule == "fortios-wan-ike"]


def test_fortios_dialup_phase1_adding_routes_beside_bgp(fleet: Fleet) -> None:
    """A dial-up phase 1 without `add-route disable` installs a static route to its peer's
    selectors (0.0.0.0/0: a default route into one store) beside the store's BGP routes."""
    config = _hub(fleet, "fortinet")
    broken = _broken(config, "        set add-route disable\n", "")
    found = [f for f in _lint(broken) if f.rule == "fortios-dialup-add-route"]
    assert [f.message.split()[3] for f in found] == ["nw-0001-lte1"]
    assert not [f for f in _lint(config) if f.rule == "fortios-dialup-add-route"]


def test_fortios_hub_tells_its_dialup_phase1s_apart_by_ikev2_peer_id(fleet: Fleet) -> None:
    """Two dial-up phase 1s on the hub's WAN interface: each must bind its store by IKEv2 peer ID
    (peertype one, its own peerid), the only thing FortiOS's gateway re-validation can use for
    peers that send no Fortinet network-id."""
    two = _hub(fleet, "fortinet")  # the stores' DHCP and cellular links: a dial-up phase 1 each
    assert two.text.count("set type dynamic") > 1
    assert not [f for f in _lint(two) if f.rule == "fortios-dialup-selection"]
    at = two.text.index("set type dynamic")
    text = two.text[:at] + two.text[at:].replace("set peertype one\n", "set peertype any\n", 1)
    any_peer = dataclasses.replace(two, text=text)
    found = [f for f in _lint(any_peer) if f.rule == "fortios-dialup-selection"]
    assert found and "does not bind its peer by IKEv2 identity" in found[0].message
    peer_ids = re.findall(r'set type dynamic\n(?:.*\n)*?\s+set peerid (".*?")', two.text)
    same = _broken(two, f"set peerid {peer_ids[1]}", f"set peerid {peer_ids[0]}")
    found = [f for f in _lint(same) if f.rule == "fortios-dialup-selection"]
    assert found and "FortiOS cannot tell their peers apart" in found[0].message, found


def test_fortios_dhcp_wan_taking_the_default_route_and_dns_from_the_lease(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet", "mall-guest")
    gateway = _broken(config, "        set defaultgw disable\n", "")
    assert [f.message.split(" installs")[0] for f in _lint(gateway) if f.rule == "fortios-dhcp-lease"] == [
        "DHCP port wan2"
    ]
    resolvers = _broken(config, "        set dns-server-override disable\n", "", count=-1)
    found = [f for f in _lint(resolvers) if f.rule == "fortios-dhcp-lease"]
    assert len(found) == 2 and all("replaces the configured DNS servers" in f.message for f in found)


def _dhcp_breakout(fleet: Fleet) -> ConfigFile:
    """The mall store with its guest breakout link (fibre, the first wired one) on DHCP."""
    fleet = on_platform(fleet, "fortinet")
    store = fleet.stores[SHAPES["mall-guest"]]
    wan = [
        link.model_copy(update={"addressing": "dhcp", "address": None, "gateway": None}) if index == 0 else link
        for index, link in enumerate(store.wan)
    ]
    stores = {**fleet.stores, store.id: store.model_copy(update={"wan": wan})}
    (config,) = render_store(Fleet(fleet.spec, fleet.hubs, stores, fleet.root), store.id)
    return ConfigFile(config.filename, "fortinet", "edge", config.name, config.text, store.id)


def test_fortios_guest_breakout_over_dhcp_has_a_default_route_beside_bgp(fleet: Fleet) -> None:
    """The guest policy route out of a DHCP port names no gateway: FortiOS takes the next hop from
    an active route via that port, so the port carries a default route with the lease's gateway
    at the eBGP distance and a priority behind BGP's, and nothing else changes for a static port."""
    config = _dhcp_breakout(fleet)
    static = _store(fleet, "fortinet", "mall-guest")
    route = (
        "    edit {}\n        set dst 0.0.0.0 0.0.0.0\n        set dynamic-gateway enable\n"
        '        set device "wan1"\n        set distance 20\n        set priority 100\n'
        '        set comment "guest Wi-Fi breakout"\n    next\n'
    )
    assert re.search(route.replace("{}", r"\d+"), config.text)
    assert "set dst 0.0.0.0 0.0.0.0\n        set dynamic-gateway" not in static.text
    assert "        set gateway " in static.text.split("config router policy")[1].split("\nend")[0]
    assert _lint(config) == []

    def found(broken: ConfigFile) -> list[str]:
        return [f.message for f in _lint(broken) if f.rule == "fortios-policy-route-no-route"]

    (missing,) = found(_broken_re(config, r"    edit \d+\n        set dst 0\.0\.0\.0 0\.0\.0\.0\n(.*\n){5}    next\n", ""))
    assert missing.startswith('policy route 1 leaves through wan1 without a gateway')
    (inactive,) = found(_broken(config, "set distance 20\n        set priority 100", "set distance 30\n        set priority 100"))
    assert "stays out of the forwarding table" in inactive
    (overriding,) = found(_broken(config, "set distance 20\n        set priority 100", "set distance 5\n        set priority 100"))
    assert "takes the default away from BGP's" in overriding
    (tied,) = found(_broken(config, "        set priority 100\n", ""))
    assert "priority default" in tied
    assert found(static) == []


def test_fortios_guest_policy_route_subnets_as_show_prints_them(fleet: Fleet) -> None:
    """The guest breakout's policy route names the guest prefix as one subnet, quoted
    "address/mask", the form `show router policy` prints; as an address and a mask (two words, two
    entries of the list) it never read back and need not match the guests."""
    config = _store(fleet, "fortinet", "mall-guest")
    guest = ipaddress.IPv4Interface(
        "/".join(re.search(r'edit "guest-wifi"\n(?:.*\n)*?\s+set ip (\S+) (\S+)', config.text).groups())  # type: ignore[union-attr]
    ).network
    route = config.text.split("config router policy")[1].split("\nend")[0]
    assert f'        set src "{guest.network_address}/{guest.netmask}"\n' in route
    assert '        set dst "0.0.0.0/0.0.0.0"\n' in route
    assert [f for f in _lint(config) if f.rule == "fortios-policy-route-subnet"] == []
    split = _broken(config, f'set src "{guest.network_address}/{guest.netmask}"', f"set src {guest.network_address} {guest.netmask}")
    (found,) = [f for f in _lint(split) if f.rule == "fortios-policy-route-subnet"]
    assert f"src {guest.network_address} is not one quoted" in found.message


def test_fortios_undefined_community_list(fleet: Fleet) -> None:
    config = _hub(fleet, "fortinet")
    broken = _broken(config, 'set match-community "RETURN-DEGRADED"', 'set match-community "RETURN-DEGRADE"')
    messages = [f.message for f in _lint(broken) if f.rule == "fortios-undefined-reference"]
    assert "community-list 'RETURN-DEGRADE' is referenced but not defined" in messages


def test_names_too_long_for_the_platform(fleet: Fleet) -> None:
    vrp = _broken(
        _store(fleet, "huawei_vrp", "dual-wan"), "ike peer HUB-1\n", "ike peer HUB-wan1-hq-hub2-x\n"
    )
    assert "vrp-name-length" in _rules(_lint(vrp))
    # A traffic policy named after a long segment or application name is refused too.
    long_policy = _broken(
        _store(fleet, "huawei_vrp", "dual-wan"), "traffic policy LAN-IN-OFFICE\n", f"traffic policy LAN-IN-{'X' * 25}\n"
    )
    found = [f for f in _lint(long_policy) if f.rule == "vrp-name-length"]
    assert len(found) == 1 and "longer than 31" in found[0].message
    # So is an ACL (a classifier's ACL carries the classifier's name).
    long_acl = _broken(_steered(fleet), "acl name APP-POS-1 ", f"acl name APP-{'X' * 29} ")
    found = [f for f in _lint(long_acl) if f.rule == "vrp-name-length"]
    assert len(found) == 1 and found[0].message.startswith("'acl name APP-XXX") and "longer than 31" in found[0].message
    forti = _broken(_store(fleet, "fortinet", "dual-wan"), 'edit "hq-hub2-wan1"', 'edit "hq-hub2-wan1-tunnel"')
    assert "fortios-name-length" in _rules(_lint(forti))


# ---------------------------------------------------------------- SLA steering


def _steering(fleet: Fleet, config: ConfigFile) -> list[Finding]:
    """The findings of the check against the intent's SLA and application classes."""
    return list(steering_check([config], NetworkIntent(on_platform(fleet, config.platform))))


@pytest.mark.parametrize("platform", VENDORS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rendered_steering_matches_the_intent(fleet: Fleet, platform: str, shape: str) -> None:
    config = _store(fleet, platform, shape)
    facts = STEERING_EXTRACTORS[platform](config)
    if platform in SLA_STEERING_OFF_ROUTED_PATH_ONLY:
        # Steered: only the applications whose preferred path is not BGP's.
        store = NetworkIntent(on_platform(fleet, platform)).store(SHAPES[shape], config.hostname)
        routed = store.routed_tunnel
        assert routed is not None
        movable = [a for a in store.sla.applications if a.overlay and a.paths[0].tunnel not in (None, routed.id)]
        class_probes = [probe for probe in facts.probes if probe.sla_class is not None]
        assert bool(class_probes) == bool(facts.policies) == bool(movable)
    else:
        assert facts.probes and facts.policies, "no SLA probe or steering policy found"
    assert _steering(fleet, config) == []


# Each platform's exemption of the cloud from the POS application's steering, on the aws shape
# (a store with tunnels to AWS), and the config without it.
_CLOUD_EXEMPTIONS = {
    "cisco_xe": (" 70 deny ip 10.64.0.0 0.0.0.63 10.16.0.0 0.3.255.255\n", ""),
    "huawei_vrp": (" rule 35 permit ip source 10.64.0.0 0.0.0.63 destination 10.16.0.0 0.3.255.255\n", ""),
    "fortinet": (' "LOOPBACK" "CORP-10.16.0.0/14"\n', ' "LOOPBACK"\n'),
}


def _pos_prefers_lte(fleet: Fleet) -> Fleet:
    """The fleet with the AWS store's POS preferring its LTE link: BGP prefers the fibre, so a
    platform that steers only off BGP's path (SLA_STEERING_OFF_ROUTED_PATH_ONLY) steers POS."""
    store = fleet.stores[SHAPES["aws"]]
    pos = store.sla.applications["pos"].model_copy(update={"transports": ["lte", "fiber"]})
    sla = store.sla.model_copy(update={"applications": {**store.sla.applications, "pos": pos}})
    stores = {**fleet.stores, store.id: store.model_copy(update={"sla": sla})}
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


@pytest.mark.parametrize("platform", VENDORS)
def test_steering_leaves_the_cloud_to_the_aws_tunnels(fleet: Fleet, platform: str) -> None:
    """A store with tunnels to AWS takes the VPCs' routes from AWS over the hubs' and AWS answers
    over those tunnels; steered to a hub, a POS flow to the cloud would leave by one path and come
    back by another. The rendered policy routing leaves the cloud to the routing table; without
    that exemption, lint says which application steers it."""
    if platform in SLA_STEERING_OFF_ROUTED_PATH_ONLY:
        fleet = _pos_prefers_lte(fleet)
    config = _store(fleet, platform, "aws")
    assert _steering(fleet, config) == []
    old, new = _CLOUD_EXEMPTIONS[platform]
    found = [f for f in _steering(fleet, _broken(config, old, new)) if f.rule == "sla-steers-cloud"]
    assert found, f"{platform}: steering the cloud to a hub is not found"
    assert any("pos: traffic from 10.64.0.0/26 to the cloud (10.16.0.0/18)" in f.message for f in found), found


# The strict class's steering track over the first tunnel: the list of its return-code track and
# its loss and jitter stubs, holding down and recovering with the class's timers.
_STRICT_LIST_DELAY = r"(track 414 list boolean and\n(?: object \d+\n)+ delay down \d+)(?: up \d+)?\n"


def test_cisco_probe_timers_tracks_and_schedules(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    # The strict class's train (tens of packets and a 1 s timeout) does not fit in one second.
    train = _broken_re(
        config, r"( tag strict\n threshold 150\n timeout 1000\n) frequency \d+\n", r"\1 frequency 1\n"
    )
    assert any(f.rule == "cisco-ip-sla-timers" and "frequency 1 s" in f.message for f in _lint(train))
    delay = _broken_re(config, _STRICT_LIST_DELAY, r"\1 up 300\n")
    assert "cisco-track-delay" in _rules(_lint(delay))
    unscheduled = _broken(config, "ip sla schedule 14 life forever start-time now\n", "")
    assert any(f.rule == "cisco-ip-sla-unscheduled" and "ip sla 14" in f.message for f in _lint(unscheduled))
    unused = _broken(config, " set ip next-hop verify-availability 100.64.0.4 1 track 414\n", "")
    assert any(f.rule == "cisco-track-unused" and "track 414 " in f.message for f in _lint(unused))
    # Nor the stubs and the return-code track the list combines.
    assert any(f.rule == "cisco-track-unused" and "track 114 " in f.message for f in _lint(unused))
    untracked = _broken(config, "track 14 ip sla 14 state\n", "track 14 ip sla 13 state\n")
    assert any(f.rule == "cisco-ip-sla-untracked" and "ip sla 14" in f.message for f in _lint(untracked))
    orphan = _broken(config, "ip sla schedule 14 life", "ip sla schedule 99 life")
    assert "ip-sla '99' is referenced but not defined" in [f.message for f in _lint(orphan)]
    unapplied = _broken(config, " ip policy route-map STEER-POS\n", "")
    assert any(f.rule == "cisco-policy-unapplied" and "STEER-POS" in f.message for f in _lint(unapplied))


def test_cisco_loss_and_jitter_move_traffic(fleet: Fleet) -> None:
    """Each loss and jitter reaction feeds a stub of the steering list through a pair of EEM
    applets; a broken link in that chain leaves the reaction a trap only, and lint says so."""
    config = _store(fleet, "cisco_xe", "dual-wan")
    # The jitter stub dropped from the strict list: jitter on that path no longer moves POS.
    unlisted = _broken_re(config, r"(track 414 list boolean and\n(?: object \d+\n)*) object 314\n", r"\1")
    findings = _lint(unlisted)
    assert any(
        f.rule == "cisco-sla-reaction-unenforced" and "jitterAvg of ip sla 14" in f.message for f in findings
    )
    assert any(f.rule == "cisco-track-unused" and "track 314 " in f.message for f in findings)
    # The applet that clears the loss stub is gone: once down, the path never comes back.
    never_up = _broken_re(
        config, r"event manager applet SLA14-PACKETLOSSSD-CLEAR\n(?: .*\n)+?(?=event|!)", ""
    )
    assert any(
        f.rule == "cisco-track-stub-unset" and "track 114 " in f.message and "up" in f.message
        for f in _lint(never_up)
    )
    # An applet listening for a reaction the operation does not have waits forever.
    wrong_reaction = _broken(
        config,
        'pattern "IP SLAs\\(14\\): Threshold Occurred for jitterAvg"',
        'pattern "IP SLAs\\(14\\): Threshold Occurred for jitterSDAvg"',
    )
    assert any(
        f.rule == "cisco-eem-track" and "jitterSDAvg of ip sla 14" in f.message for f in _lint(wrong_reaction)
    )
    # Breach sets the stub up: inverted, the path leaves when it is good.
    inverted = _broken(config, "action 1.0 track set 114 state down", "action 1.0 track set 114 state up")
    assert any(f.rule == "cisco-eem-track" and "track 114 up" in f.message for f in _lint(inverted))
    # EEM can set only stub objects, not the return-code track.
    not_stub = _broken(config, "action 1.0 track set 114 state down", "action 1.0 track set 14 state down")
    assert any(f.rule == "cisco-eem-track" and "no stub-object" in f.message for f in _lint(not_stub))
    # The hold-down moved off the steering list: the intent's hold-down is not what the list does.
    no_hold = _broken_re(config, _STRICT_LIST_DELAY, r"track 414 list boolean and\n object 14\n")
    assert any(f.rule == "sla-threshold" and "hold-down 0" in f.message for f in _steering(fleet, no_hold))


def test_cisco_thresholds_and_paths_against_the_intent(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    slow = _broken_re(config, r" tag strict\n threshold \d+\n", " tag strict\n threshold 999\n")
    assert any(f.rule == "sla-threshold" and "latency 999" in f.message for f in _steering(fleet, slow))
    late = _broken_re(config, _STRICT_LIST_DELAY, r"\1 up 177\n")
    assert any(f.rule == "sla-threshold" and "recovery 177" in f.message for f in _steering(fleet, late))
    # POS matched by another ACL: its route-map no longer steers it.
    unsteered = _broken(config, " match ip address APP-POS\n", " match ip address CELLULAR-ALLOWED\n")
    assert any(
        f.rule == "sla-application-unsteered" and "pos" in f.message for f in _steering(fleet, unsteered)
    )
    unknown = _broken(config, " tag strict\n", " tag gold\n")
    assert "sla-unknown-class" in _rules(_steering(fleet, unknown))
    long_tag = _broken(config, " tag strict\n", " tag strict-and-rather-long\n")
    assert "cisco-ip-sla-tag" in _rules(_lint(long_tag))
    elsewhere = _broken(config, " udp-jitter 100.64.0.4 50504", " udp-jitter 100.64.9.9 50504")
    assert any(
        f.rule == "sla-unknown-path" and "100.64.9.9" in f.message for f in _steering(fleet, elsewhere)
    )
    # Bulk (CCTV) may never leave over LTE: a tracked LTE next hop in its route-map is found.
    cctv = " set ip next-hop verify-availability 100.64.255.250 2 track 431\n"
    over_lte = _broken(config, cctv, cctv + " set ip next-hop verify-availability 100.64.0.6 3 track 422\n")
    assert any(
        f.rule == "sla-path-not-allowed" and "bulk" in f.message and "LTE" in f.message
        for f in _steering(fleet, over_lte)
    )
    swapped = _broken(
        _broken(config, "100.64.0.4 1 track 414", "100.64.0.4 9 track 414"),
        "100.64.255.250 2 track 434",
        "100.64.255.250 1 track 434",
    )
    assert any(f.rule == "sla-path-order" and "pos" in f.message for f in _steering(fleet, swapped))


def test_vrp_nqa_ranges_tracking_and_intent(fleet: Fleet) -> None:
    config = _steered(fleet)
    fleet = steered_off_bgp(fleet)
    unapplied = _broken(config, " traffic-policy LAN-IN-POS inbound\n", "")
    assert any(
        f.rule == "sla-application-unsteered" and f.message.startswith("pos:")
        for f in _steering(fleet, unapplied)
    )
    unused = _broken(config, " redirect ip-nexthop 100.64.255.228 track-nqa SLA_STRICT tun3\n", "")
    assert any(f.rule == "vrp-nqa-unused" and "SLA_STRICT tun3" in f.message for f in _lint(unused))
    many = _broken_re(
        config,
        r" probe-count \d+\n interval seconds 2\n timeout 1\n frequency \d+\n",
        r" probe-count 16\n interval seconds 2\n timeout 1\n frequency 40\n",
    )
    assert any(f.rule == "vrp-nqa-timers" and "probe-count 16" in f.message for f in _lint(many))
    renamed = _broken(config, "acl name APP-POS-1 ", "acl name APP-PAYMENTS-1 ")
    assert any(
        f.rule == "sla-unknown-application" and "payments" in f.message for f in _steering(fleet, renamed)
    )
    lax = _broken_re(config, r" fail-percent \d+\n threshold rtd", " fail-percent 97\n threshold rtd")
    assert any(f.rule == "sla-threshold" and "loss % 97" in f.message for f in _steering(fleet, lax))
    office = " redirect ip-nexthop 100.64.255.228 track-nqa SLA_BUSINESS tun3\n"
    elsewhere = _broken(config, office, " redirect ip-nexthop 192.0.2.1 track-nqa SLA_BUSINESS tun3\n")
    assert any(
        f.rule == "sla-path-not-allowed" and "back-office" in f.message and "not one of its paths" in f.message
        for f in _steering(fleet, elsewhere)
    )


@pytest.mark.parametrize(("platform", "shape", "test", "message"), [
    ("huawei_vrp", "lte-only", r"(nqa test-instance SLA_STRICT tun3\n(?: .*\n)*?) tos 104\n",
     "(strict): ToS 0, but the class's traffic is DSCP 26 (ToS 104)"),
    ("cisco_xe", "dual-wan", r"(ip sla 13\n(?: .*\n)*?) tos 184\n",
     "(realtime): ToS 0, but the class's traffic is DSCP 46 (ToS 184)"),
])  # fmt: skip
def test_probe_without_its_class_tos(fleet: Fleet, platform: Platform, shape: str, test: str, message: str) -> None:
    """A probe that carries no ToS is queued as best effort: it measures the path as its class's
    traffic (voice EF, the tills AF31) never sees it. The VRP store is the one that steers
    (`steered_off_bgp`): a VRP store probes only the paths it steers onto."""
    fleet = steered_off_bgp(fleet)
    config = _store(fleet, platform, shape)
    assert "sla-probe-tos" not in _rules(_steering(fleet, config))
    unmarked = _broken_re(config, test, r"\1")
    found = [f for f in _steering(fleet, unmarked) if f.rule == "sla-probe-tos"]
    assert len(found) == 1 and message in found[0].message


def test_fortios_health_checks_rules_and_bgp_paths(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet", "dual-wan")
    undefined = _broken(config, "set id 4\n", "set id 9\n")
    assert "fortios-sla-undefined" in _rules(_lint(undefined))
    unused = _broken(
        config,
        'edit "hq-hub1-lte1"\n                    set id',
        'edit "hq-hub2-lte1"\n                    set id',
        count=-1,
    )
    assert any(f.rule == "fortios-health-check-unused" and "hq-hub1-lte1" in f.message for f in _lint(unused))
    timers = _broken_re(config, r"set probe-count \d+\n", "set probe-count 40\n")
    assert "fortios-sdwan-timers" in _rules(_lint(timers))
    # The local preference that cancelled the SD-WAN rules: only the best path is installed.
    single = _broken(config, "    set ebgp-multipath enable\n", "")
    assert "fortios-sdwan-paths-not-installed" in _rules(_lint(single))
    hub_in = '                set match-ip-address "HUB-ROUTES"\n'
    preferred = _broken(config, hub_in, hub_in + "                set set-local-preference 200\n")
    assert any(
        f.rule == "fortios-sdwan-paths-not-installed" and "local preferences" in f.message
        for f in _lint(preferred)
    )


def test_fortios_cloud_summary_ranked_by_path_leaves_the_rules_their_paths(fleet: Fleet) -> None:
    """A store with AWS tunnels ranks the hubs' cloud summary by the path's local preference (no
    SD-WAN rule takes the cloud there: it is in STORE-LOCAL); the same preference on the hub
    routes the rules steer leaves them only the best path."""
    config = _store(fleet, "fortinet", "aws")
    assert 'set match-ip-address "HUB-CLOUD"\n                set set-local-preference 200' in config.text
    assert "fortios-sdwan-paths-not-installed" not in _rules(_lint(config))
    steered = _broken(config, 'set match-ip-address "HUB-CLOUD"', 'set match-ip-address "HUB-ROUTES"', count=-1)
    assert any(
        f.rule == "fortios-sdwan-paths-not-installed" and "local preferences" in f.message for f in _lint(steered)
    )


def test_fortios_local_in_policies_name_tunnels_never_an_sdwan_zone(fleet: Fleet) -> None:
    """The store's local-in policies name each hub tunnel, an SD-WAN member, by its interface:
    FortiOS 7.4.7, the release the fleet runs, takes no SD-WAN zone there (7.6.1 added them)."""
    config = _store(fleet, "fortinet", "dual-wan")
    assert "fortios-local-in-sdwan-zone" not in _rules(_lint(config))
    zoned = _broken(config, '        set intf "hq-hub1-wan1"\n', '        set intf "overlay"\n', count=-1)
    found = [f for f in _lint(zoned) if f.rule == "fortios-local-in-sdwan-zone"]
    assert len(found) == 3 and all("'overlay' is an SD-WAN zone" in f.message for f in found)


def test_fortios_hub_local_in_policies_name_the_store_zone_never_a_member(fleet: Fleet) -> None:
    """Each store's tunnels on the hub form that store's zone (`store-<id>`): FortiOS takes a
    zone's members in no policy, local-in policies included (Fortinet KB, "Behavior and
    limitation of having an interface in a zone"), so a local-in policy naming one tunnel would
    be refused and the push would stop there. Each tunnel's control traffic is pinned by its two
    inside addresses."""
    config = _hub(fleet, "fortinet")
    assert "fortios-local-in-zone-member" not in _rules(_lint(config))
    local_in = config.text.split("config firewall local-in-policy\n", 1)[1].split("\nend\n", 1)[0]
    assert 'set intf "nw-0001-wan1"' not in local_in
    pinned = 'set intf "store-nw-0001"\n        set srcaddr "nw-0001-wan1-FAR"'
    assert pinned + '\n        set dstaddr "nw-0001-wan1-NEAR"' in local_in
    member = _broken(config, pinned, 'set intf "nw-0001-wan1"\n        set srcaddr "nw-0001-wan1-FAR"')
    found = [f for f in _lint(member) if f.rule == "fortios-local-in-zone-member"]
    assert len(found) == 1 and "'nw-0001-wan1' is a member of zone 'store-nw-0001'" in found[0].message


def test_fortios_thresholds_and_members_against_the_intent(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet", "dual-wan")
    lax = _broken_re(config, r"set packetloss-threshold \d+\n", "set packetloss-threshold 97\n")
    assert any(f.rule == "sla-threshold" and "loss % 97" in f.message for f in _steering(fleet, lax))
    renamed = _steering(fleet, _broken(config, 'set name "pos"\n', 'set name "tills"\n'))
    assert "sla-unknown-application" in _rules(renamed)
    assert any(f.rule == "sla-application-unsteered" and f.message.startswith("pos:") for f in renamed)
    # Bulk with an LTE member (117: hq-hub2-lte1) and an early return to the primary.
    over_lte = _broken_re(
        config,
        r"set priority-members 116 100\n            set tie-break fib-best-match\n            set hold-down-time \d+",
        "set priority-members 116 100 117\n            set tie-break fib-best-match\n            set hold-down-time 7",
    )
    findings = _steering(fleet, over_lte)
    assert any(
        f.rule == "sla-path-not-allowed" and "bulk" in f.message and "LTE" in f.message for f in findings
    )
    assert any(f.rule == "sla-threshold" and "after 7 s" in f.message for f in findings)


def test_fortios_sla_rules_take_members_in_the_intents_order_whatever_their_cost(fleet: Fleet) -> None:
    # nw-0007 has LTE (lte1) and 5G (lte2); voice prefers 5G, the store lists LTE first. A Lowest
    # Cost (SLA) rule takes the cheapest member that meets the SLA, its priority-members only
    # between equal costs: one cost per member cannot hold every class's order.
    config = _store(fleet, "fortinet", "lte-only")
    members = re.findall(r"\n        edit (\d+)\n            set interface \"hq-hub\d-lte\d\"\n", config.text)
    assert len(members) == 4 and "set cost" not in config.text
    voice = re.search(r'set name "voice-1"\n.*?set priority-members ([\d ]+)\n', config.text, re.S)
    assert voice is not None
    first = voice.group(1).split()[0]  # hq-hub1-lte2, over 5G
    costly = _broken_re(
        config,
        rf"(\n        edit {first}\n            set interface \"[^\"]+\"\n)",
        r"\1            set cost 10\n",
    )
    assert any(
        f.rule == "sla-path-order" and f.message.startswith("voice prefers") for f in _steering(fleet, costly)
    )


# ---------------------------------------------------------------- return path


# Per platform: how the hub's first store policy takes routes tagged degraded, and the local
# preference it gives them (nw-0001 over wan1: 200, a quarter of it tagged).
_HUB_TAGGED = {
    "cisco_xe": (
        " match community RETURN-DEGRADED\n set local-preference 50\n",
        "ip community-list standard RETURN-DEGRADED",
    ),
    "huawei_vrp": (
        " if-match community-filter RETURN-DEGRADED\n apply local-preference 50\n",
        "ip community-filter basic RETURN-DEGRADED",
    ),
    "fortinet": (
        '                set match-community "RETURN-DEGRADED"\n                set set-local-preference 50\n',
        'config router community-list\n    edit "RETURN-DEGRADED"',
    ),
}


@pytest.mark.parametrize("platform", VENDORS)
def test_hubs_return_over_the_path_the_store_sla_allows(fleet: Fleet, platform: Platform) -> None:
    """Read by the cross-file check, on the route-maps bound to the hub's store sessions."""
    changed, files = files_on_platform(fleet, platform)
    tagged, community_list = _HUB_TAGGED[platform]
    rule = {
        "cisco_xe": "cisco-return-path",
        "huawei_vrp": "vrp-return-path",
        "fortinet": "fortios-return-path",
    }[platform]

    def found(old: str, new: str) -> list[str]:
        broken = broken_files(files, "hq-hub1.cfg", lambda text: text.replace(old, new, 1))
        return [f.message for f in rule_findings(changed, broken, rule)]

    assert not rule_findings(changed, files, rule)
    # The tagged sequence ranks degraded routes as high as the path in SLA: nothing moves.
    level = found(tagged, tagged.replace("local-preference 50", "local-preference 200"))
    assert any("local preference 200, not below" in message for message in level)
    # The tagged sequence matches no community any more: the hub ignores the store's signal.
    ignored = found(tagged.splitlines(keepends=True)[0], "")
    assert any("tagged degraded" in message for message in ignored)
    # The community list it names is gone.
    undefined = found(community_list, community_list.replace("RETURN-DEGRADED", "OTHER-LIST"))
    assert any("RETURN-DEGRADED is not defined" in message for message in undefined)


def test_fortios_store_signals_its_sla_to_the_hubs(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet", "dual-wan")
    # BGP keeps one outbound map: the SD-WAN neighbour's SLA changes nothing the hub sees.
    single = _broken(config, '            set route-map-out-preferable "HUB-OUT-wan1-hq-hub2"\n', "")
    assert any(
        f.rule == "fortios-return-path"
        and f.message.startswith("SD-WAN neighbor 100.64.0.4: no BGP neighbor")
        for f in _lint(single)
    )
    # The out-of-SLA map tags nothing: the hub cannot tell.
    silent = _broken(config, '                set set-community "65000:911"\n', "")
    assert any(f.rule == "fortios-return-path" and "tags no community" in f.message for f in _lint(silent))
    # The SD-WAN neighbour names an SLA its health check does not have.
    wrong_sla = _broken_re(
        config,
        r'(edit "100.64.0.4"\n\s+set member 116\n\s+set health-check "hq-hub2-wan1"\n\s+)set sla-id \d+',
        r"\1set sla-id 9",
    )
    assert any(f.rule == "fortios-return-path" and "has no SLA 9" in f.message for f in _lint(wrong_sla))
    # No SD-WAN neighbour at all for a judged path: the hub returns over it out of SLA.
    gone = _broken_re(
        config,
        r'        edit "100.64.0.4"\n            set member 116\n(?:            .*\n)+?        next\n',
        "",
    )
    assert any(
        f.rule == "fortios-return-path"
        and "BGP neighbor 100.64.0.4" in f.message
        and "no SD-WAN neighbor" in f.message
        for f in _lint(gone)
    )


def test_cisco_store_withdraws_itself_from_a_degraded_path(fleet: Fleet) -> None:
    config = _store(fleet, "cisco_xe", "dual-wan")
    advertise = "  neighbor 100.64.0.4 advertise-map RETURN-ADVERTISE exist-map RETURN-VIA-1\n"
    # Announced unconditionally: the hub keeps returning over the path out of SLA.
    unconditional = _broken(config, advertise, "")
    assert any(
        f.rule == "cisco-return-path" and "100.64.0.4" in f.message and "unconditionally" in f.message
        for f in _lint(unconditional)
    )
    # The tunnel's signal follows another tunnel's steering track.
    elsewhere = _broken(
        config,
        "ip route 198.18.255.1 255.255.255.255 Null0 track 413",
        "ip route 198.18.255.1 255.255.255.255 Null0 track 433",
    )
    assert any(
        f.rule == "cisco-return-path" and "none of which steers traffic to 100.64.0.4" in f.message
        for f in _lint(elsewhere)
    )
    # Neither signal is in the BGP table: the store is never announced to that hub at all.
    no_signals = _broken(
        _broken(config, "  network 198.18.255.1 mask 255.255.255.255\n", ""),
        "  network 198.18.255.254 mask 255.255.255.255\n",
        "",
    )
    assert any(
        f.rule == "cisco-return-path" and "never announced to 100.64.0.4" in f.message
        for f in _lint(no_signals)
    )
    # An exist-map that is not defined is a dangling reference.
    dangling = _broken(config, advertise, advertise.replace("RETURN-VIA-1", "RETURN-VIA-9"))
    assert "route-map 'RETURN-VIA-9' is referenced but not defined" in [f.message for f in _lint(dangling)]


# ---------------------------------------------------------------- VRP: IKE version, peers, web, hub underlay


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_vrp_ike_peer_that_still_negotiates_ikev1(fleet: Fleet, role: str) -> None:
    config = _hub(fleet, "huawei_vrp") if role == "hub" else _store(fleet, "huawei_vrp", "dual-wan")
    assert config.text.count(" undo version 1\n") == config.text.count("\nike peer ")
    broken = _broken(config, " undo version 1\n", "")
    found = [f for f in _lint(broken) if f.rule == "vrp-ike-version"]
    assert len(found) == 1 and "negotiates IKEv1" in found[0].message
    assert broken.lines[found[0].line - 1].startswith("ike peer ")
    # The pre-fix form: `version 2` leaves IKEv1 on beside it.
    assert any(f.rule == "vrp-ike-version" for f in _lint(_broken(config, " undo version 1\n", " version 2\n")))


def test_vrp_hub_peer_without_the_stores_address(fleet: Fleet) -> None:
    config = _hub(fleet, "huawei_vrp")
    peer = re.search(r"^ike peer (STORE-\d+)\n(?:.+\n)*? remote-address (\S+)\n", config.text, re.M)
    assert peer is not None
    name, address = peer.groups()
    # The pre-fix hub: a store on a dynamic address got a peer and a tunnel with no address.
    broken = _broken(config, f" remote-address {address}\n", "")
    broken = _broken(broken, f" destination {address}\n", "")
    found = [f for f in _lint(broken) if f.rule == "vrp-ike-peer-address"]
    assert {f.message.split(":")[0] for f in found} == {f"ike peer {name}", found[0].message.split(":")[0]}
    assert any("without `destination`" in f.message for f in found)
    assert any(f"ike peer {name}: no remote-address" in f.message for f in found)
    # A peer whose address is not its tunnel's destination.
    wrong = _broken(config, f" remote-address {address}\n", " remote-address 192.0.2.99\n")
    assert any("is not Tunnel0/0/" in f.message for f in _lint(wrong) if f.rule == "vrp-ike-peer-address")


def test_a_vrp_hub_refuses_a_store_on_a_dynamic_address(fleet: Fleet) -> None:
    """The view refuses what the inventory refuses: a VRP hub with a DHCP store link."""
    vrp = on_platform(fleet, "huawei_vrp", hubs="frr")  # links as the chain has them
    with pytest.raises(NetworkIntentError, match=r"link lte1 is addressed by dhcp: a Huawei VRP hub binds"):
        render_hub(hubs_on(vrp, "huawei_vrp"), "hq-hub1")


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_vrp_web_system_open_to_anyone(fleet: Fleet, role: str) -> None:
    config = _hub(fleet, "huawei_vrp") if role == "hub" else _store(fleet, "huawei_vrp", "dual-wan")
    found = [f for f in _lint(_broken(config, "http acl 2000\n", "")) if f.rule == "vrp-web-system"]
    assert [f.message for f in found] == [
        "the web system (HTTP/HTTPS) answers anyone: no `http acl` and not switched off"
    ]
    undefined = [f for f in _lint(_broken(config, "http acl 2000\n", "http acl 2999\n")) if f.rule == "vrp-web-system"]
    assert [f.message for f in undefined] == ["http acl 2999: ACL 2999 is not defined"]
    off = _broken(config, "http acl 2000\n", "undo http server enable\nundo http secure-server enable\n")
    assert not [f for f in _lint(off) if f.rule == "vrp-web-system"]


def test_vrp_hub_cloud_filter(fleet: Fleet) -> None:
    """A VRP hub's cloud VPNs filter what they take in as an IOS-XE hub's do (FROM-CLOUD-<site>,
    from HubView.from_clouds), ending in a deny: a traffic-filter passes what no rule matches."""
    config = _hub(fleet, "huawei_vrp")
    assert config.text.count(" traffic-filter inbound acl name FROM-CLOUD-AWS1\n") == 2
    assert config.text.count(" traffic-filter inbound acl name FROM-CLOUD-OPENSTACK1\n") == 1

    def messages(broken: ConfigFile) -> list[str]:
        return [f.message for f in _lint(broken) if f.rule == "vrp-hub-cloud-filter"]

    assert messages(config) == []
    unfiltered = messages(_broken(config, " traffic-filter inbound acl name FROM-CLOUD-OPENSTACK1\n", ""))
    assert len(unfiltered) == 1 and "the cloud VPN takes everything in" in unfiltered[0], unfiltered
    last = re.search(r"^acl name FROM-CLOUD-AWS1 \d+\n(?: rule .*\n)* (rule \d+) deny ip\n#", config.text, re.M)
    assert last is not None
    assert messages(_broken(config, f" {last.group(1)} deny ip\n#", "#")) == [
        "acl name FROM-CLOUD-AWS1 3080: does not end in `deny ip`; the traffic-filter passes what no rule matches"
    ]


def test_vrp_hub_underlay_filter(fleet: Fleet) -> None:
    config = _hub(fleet, "huawei_vrp")
    interface = "interface GigabitEthernet0/0/1\n description dc core lan\n"
    assert interface in config.text and " traffic-filter inbound acl name HUB-WAN-IN\n" in config.text

    def messages(broken: ConfigFile) -> list[str]:
        return [f.message for f in _lint(broken) if f.rule == "vrp-hub-wan-filter"]

    # The pre-fix hub: no filter at all on the interface the internet reaches it through.
    assert messages(_broken(config, " traffic-filter inbound acl name HUB-WAN-IN\n", "")) == [
        "interface GigabitEthernet0/0/1: the hub's underlay takes everything in (no defined traffic-filter inbound ACL)"
    ]
    last = re.search(r"^ (rule \d+) deny ip\n#", config.text, re.M)
    assert last is not None
    # Without the closing deny, whatever no rule matches passes.
    assert any("does not end in `deny ip`" in m for m in messages(_broken(config, f" {last.group(1)} deny ip\n#", "#")))
    # Permitting everything, or SSH from anywhere.
    assert any("permits anything" in m for m in messages(_broken(config, f" {last.group(1)} deny ip\n", f" {last.group(1)} permit ip\n")))
    ssh = re.search(r"^ (rule \d+ permit tcp) source \S+ \S+ (?:destination \S+ \S+ )?destination-port eq 22\n", config.text, re.M)
    assert ssh is not None
    found = messages(_broken(config, ssh.group(0), f" {ssh.group(1)} destination-port eq 22\n"))
    assert any("admits tcp/22 from anywhere" in m for m in found)
    # An NTP server's answers taken by their source port alone: that address, sending from port
    # 123, would reach the hub's SNMP and every other port of it.
    ntp = re.search(r"^ (rule \d+ permit udp source \S+ \S+ source-port eq ntp) destination .*\n", config.text, re.M)
    assert ntp is not None
    found = messages(_broken(config, ntp.group(0), f" {ntp.group(1)}\n"))
    assert any("admits anything sent from that port" in m for m in found), found
    # A HWTACACS server's (or a BGP neighbour's) answers taken without `tcp-flag established`:
    # that address, sending a SYN from port 49, would open a connection to any port of the hub.
    tacacs = re.search(r"^ (rule \d+ permit tcp source \S+ \S+ source-port eq tacacs destination \S+ \S+)", config.text, re.M)
    assert tacacs is not None and " tcp-flag established\n" in config.text
    found = messages(_broken(config, f"{tacacs.group(0)} tcp-flag established\n", f"{tacacs.group(0)}\n"))
    assert found == [
        f"acl name HUB-WAN-IN 3098: {tacacs.group(1)} admits new connections sent from that port "
        "(take the answers only: `tcp-flag established`)"
    ]
    # The hub resolves no names: no DNS client and no resolver's answers admitted. The permit it
    # had for them (from port 53 to its loopback, any UDP port) reaches the hub's SNMP.
    assert "dns resolve" not in config.text and "dns server" not in config.text
    assert " source-port eq dns " not in config.text
    echo = re.search(r"^ (rule \d+) permit icmp icmp-type echo\n", config.text, re.M)
    assert echo is not None
    dns = f"{echo.group(1)} permit udp source 10.0.1.53 0 source-port eq dns destination 10.255.0.1 0"
    assert messages(_broken(config, echo.group(0), f" {dns}\n")) == [
        f"acl name HUB-WAN-IN 3098: {dns} admits anything sent from that port to more than one UDP port "
        "of the hub (name the one port the answers come back to)"
    ]
    # Tunnels cannot come up without IKE and ESP.
    found = messages(_broken(config, " permit 50 destination", " deny 50 destination"))
    assert found == ["acl name HUB-WAN-IN 3098: does not admit ESP (IKE/IPsec)"]
    assert not messages(config)


def test_generated_fleet_with_vrp_hubs_is_clean(tmp_path: Path) -> None:
    """A generated fleet served by VRP hubs (its links static, as such hubs require) lints clean."""
    from click.testing import CliRunner

    from storestack.cli.main import cli
    from storestack.devices.lint.run import config_files, lint_configs
    from storestack.inventory import load_fleet
    from storestack.network.build import NetworkIntent

    generated = tmp_path / "fleet"
    result = CliRunner().invoke(cli, ["inventory", "generate", "--stores", "40", "--out", str(generated)])
    assert result.exit_code == 0, result.output
    fleet = load_fleet(generated)
    # Every store on VRP too: the whole fleet is clean.
    vrp = on_platform(fleet, "huawei_vrp")
    files = config_files(vrp)
    assert sum(1 for f in files if f.role == "hub" and f.platform == "huawei_vrp") == len(fleet.hubs)
    assert lint_configs(files, NetworkIntent(vrp)).findings == []
    # The generated mix of store platforms behind VRP hubs: nothing on the hubs' side or in any
    # cross-file check of the tunnels and peers.
    mixed = on_platform(fleet, None, hubs="huawei_vrp")
    files = config_files(mixed)
    platform_of = {f.name: f.platform for f in files}
    assert len(set(platform_of.values())) == 4
    findings = lint_configs(files, NetworkIntent(mixed)).findings
    assert [f for f in findings if platform_of.get(f.file) == "huawei_vrp" or f.rule.startswith("vrp-")] == []
    assert findings == []


def test_fortios_every_phase1_and_phase2_rekeys_at_the_fleet_lifetimes(fleet: Fleet) -> None:
    """A FortiOS phase 1 without `keylife` keeps FortiOS's 86400 s, above the 28800 s an AWS
    tunnel accepts and not what the far end uses: every rendered phase 1 and phase 2 states the
    fleet policy's lifetimes, and the lint names one that does not."""
    configs = [_store(fleet, "fortinet", shape) for shape in ("aws", "dual-wan")] + [_hub(fleet, "fortinet")]
    for config in configs:
        assert not [f for f in _lint(config) if f.rule == "fortios-ipsec-lifetime"], config.name
    aws = _store(fleet, "fortinet", "aws")
    broken = _broken(aws, f"        set keylife {FLEET_CRYPTO.ike_lifetime_seconds}\n", "")
    found = [f.message for f in _lint(broken) if f.rule == "fortios-ipsec-lifetime"]
    assert len(found) == 1 and found[0].endswith(
        f"keylife unset (86400): the fleet policy's IKE lifetime is {FLEET_CRYPTO.ike_lifetime_seconds} s"
    )


def test_fortios_net_device_only_on_dialup_phase1s(fleet: Fleet) -> None:
    """`net-device` is a dial-up phase 1's setting: no static phase 1 (store tunnels, the hub's
    AWS and OpenStack tunnels) carries it, the hub's dial-up ones keep it."""
    hub = _hub(fleet, "fortinet")
    for config in [_store(fleet, "fortinet", shape) for shape in ("aws", "dual-wan")] + [hub]:
        assert not [f for f in _lint(config) if f.rule == "fortios-net-device-static"], config.name
    assert "set net-device disable" in hub.text
    store = _store(fleet, "fortinet", "dual-wan")
    broken = _broken(store, "        set ike-version 2\n", "        set ike-version 2\n        set net-device disable\n")
    assert [f.rule for f in _lint(broken) if f.rule == "fortios-net-device-static"] == ["fortios-net-device-static"]


def test_fortios_store_own_traffic_stays_off_lte_while_wired_is_up(fleet: Fleet) -> None:
    """A store's NTP, syslog, TACACS+ and DNS leave from its loopback; the hubs' routes run
    through every tunnel alike, so left to the routing table a share of them would take an LTE
    tunnel while the wired ones are up. Each selects its tunnel by SD-WAN, and the loopback's
    rule ranks every wired tunnel first; the lint names a feature or a rule that does not."""
    for shape in ("dual-wan", "mall-guest", "aws", "lte-only"):
        config = _store(fleet, "fortinet", shape)
        assert not [f for f in _lint(config) if f.rule == "fortios-local-out-cellular"], shape
    store = _store(fleet, "fortinet", "dual-wan")
    assert 'set name "local-out"' in store.text
    unsteered = _broken(
        store, 'set server "10.0.1.20"\n    set source-ip "10.255.0.4"\n    set interface-select-method sdwan\n',
        'set server "10.0.1.20"\n    set source-ip "10.255.0.4"\n',
    )
    assert [f.message.split(":")[0] for f in _lint(unsteered) if f.rule == "fortios-local-out-cellular"] == [
        "log syslogd setting"
    ]
    lte_first = _broken(
        store,
        '            set src "LOOPBACK"\n            set dst "STORE-LOCAL"\n            set dst-negate enable\n'
        "            set priority-members 116 100 117 101\n",
        '            set src "LOOPBACK"\n            set dst "STORE-LOCAL"\n            set dst-negate enable\n'
        "            set priority-members 117 116 100 101\n",
    )
    assert [f.message for f in _lint(lte_first) if f.rule == "fortios-local-out-cellular"] == [
        "no SD-WAN rule for the loopback's traffic ranks every wired member before the LTE/5G ones"
    ]


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_vrp_loopback_exists_before_any_line_names_it(fleet: Fleet, role: str) -> None:
    """A push sends the config in its order to an AR whose factory configuration has no
    LoopBack0, and VRP refuses a source interface it has not created: the loopback comes before
    NTP's and syslog's source lines, and the lint catches a config that names it first."""
    config = _store(fleet, "huawei_vrp", "dual-wan") if role == "edge" else _hub(fleet, "huawei_vrp")
    lines = config.text.splitlines()
    defined = lines.index("interface LoopBack0")
    naming = [i for i, line in enumerate(lines) if "LoopBack0" in line and not line.startswith("interface ")]
    assert naming and min(naming) > defined
    assert [f for f in _lint(config) if f.rule == "vrp-interface-before-definition"] == []
    # The same config with the loopback moved to the end is refused at its first source line.
    block = "interface LoopBack0\n description router id and management\n"
    address = next(line for line in lines[defined + 1 : defined + 4] if line.startswith(" ip address"))
    moved = _broken(config, f"{block}{address}\n#\n", "")
    moved = _broken(moved, "\nreturn", f"\n{block}{address}\n#\nreturn")
    found = [f for f in _lint(moved) if f.rule == "vrp-interface-before-definition"]
    assert [f.message.split(" is named")[0] for f in found] == ["interface 'LoopBack0'"] * 2


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_vrp_every_vty_an_ssh_login_can_take_is_restricted(fleet: Fleet, role: str) -> None:
    """VTY 16-20 (an AR's NMS range, beside 0-4) take the same inbound ACL, AAA and SSH only as
    VTY 0-4; a config that leaves them bare is caught."""
    config = _store(fleet, "huawei_vrp", "mall-guest") if role == "edge" else _hub(fleet, "huawei_vrp")
    text = config.text
    for first, last in ((0, 4), (16, 20)):
        block = text.split(f"\nuser-interface vty {first} {last}\n", 1)[1].split("\n#", 1)[0]
        assert block.splitlines() == [" acl 2000 inbound", " authentication-mode aaa", " protocol inbound ssh"]
    assert [f for f in _lint(config) if f.rule == "vrp-vty-open"] == []
    bare = _broken(config, "user-interface vty 16 20\n acl 2000 inbound\n", "user-interface vty 16 20\n")
    assert [f.message for f in _lint(bare) if f.rule == "vrp-vty-open"] == [
        "user-interface vty 16 20: no inbound ACL, not AAA or not SSH only",
        "VTY 16, 17, 18, 19, 20 keep their defaults (no inbound ACL)",
    ]


# (platform, the IKE lifetime line as rendered, the ESP lifetime line as rendered)
_LIFETIME_LINES = {
    "cisco_xe": (" lifetime 28800", " set security-association lifetime seconds 3600"),
    "huawei_vrp": (" sa duration 28800", " sa duration time-based 3600"),
}


@pytest.mark.parametrize("role", ["store", "hub"])
@pytest.mark.parametrize("platform", sorted(_LIFETIME_LINES))
def test_ipsec_lifetimes_are_the_fleet_policys(fleet: Fleet, platform: Platform, role: str) -> None:
    # Left out, the router runs its own default, which nothing ties to the far end or to the
    # 28800 s an AWS tunnel accepts at most.
    rule = {"cisco_xe": "cisco-ipsec-lifetime", "huawei_vrp": "vrp-ipsec-lifetime"}[platform]
    ike, esp = _LIFETIME_LINES[platform]
    config = _store(fleet, platform, "aws") if role == "store" else _hub(fleet, platform)
    assert rule not in _rules(_lint(config))
    longer = _broken(config, f"\n{ike}\n", f"\n{ike.replace('28800', '86400')}\n")
    (finding,) = [f for f in _lint(longer) if f.rule == rule]
    assert f"{ike.strip().replace('28800', '86400')}, the fleet policy's IKE lifetime is 28800 s" in finding.message
    unset = _broken(config, f"\n{esp}\n", "\n")
    (finding,) = [f for f in _lint(unset) if f.rule == rule]
    assert f"{esp.strip().removesuffix(' 3600')} unset, the fleet policy's ESP lifetime is 3600 s" in finding.message


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_vrp_tacacs_operators_can_log_in_over_ssh(fleet: Fleet, role: str) -> None:
    """An operator whose account lives on the HWTACACS server logs in over SSH: VRP takes a
    password login over STelnet only from a configured `ssh user` (the local fallback user) or by
    the default SSH authentication type, which the config sets; without it the lint says so."""
    config = _store(fleet, "huawei_vrp", "dual-wan") if role == "edge" else _hub(fleet, "huawei_vrp")
    assert "\nssh authentication-type default password\n" in config.text
    assert [f for f in _lint(config) if f.rule == "vrp-ssh-remote-login"] == []
    unset = _broken(config, "ssh authentication-type default password\n", "")
    assert [f.message for f in _lint(unset) if f.rule == "vrp-ssh-remote-login"] == [
        "authentication-scheme STORESTACK: `authentication-mode hwtacacs local` but no `ssh "
        "authentication-type default password`; a remote user who is no `ssh user` cannot log in over SSH"
    ]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fortios_rules_leave_a_hub_that_withdrew_the_destination(fleet: Fleet, shape: str) -> None:
    """Every hub announces the default route to every store, HQ's summary only while it learns
    HQ from the DC core. A FortiOS rule takes by default a member with any route to the
    destination, the default included, so it kept sending POS to the hub that lost the DC core;
    every rule must consider only the best routes (`tie-break fib-best-match`)."""
    config = _store(fleet, "fortinet", shape)
    services = fortinet._nested(fortinet._sdwan(fortinet.parse(config.text)), "service")
    assert services
    assert {service.first("name"): service.first("tie-break") for service in services} == {
        service.first("name"): "fib-best-match" for service in services
    }
    pos = next(service for service in services if service.first("name") == "pos")
    lines = list(config.lines)
    tie_break = next(i for i in range(pos.line, len(lines)) if "set tie-break" in lines[i])
    del lines[tie_break]
    loose = dataclasses.replace(config, text="\n".join(lines))
    assert [f.message for f in _lint(loose) if f.rule == "fortios-sdwan-any-route"] == [
        "rule pos: takes a member with any route to the destination, the hubs' default route "
        "included, so it keeps steering to a hub that withdrew the destination's summary "
        "(set tie-break fib-best-match)"
    ]


@pytest.mark.parametrize("hubs", ["cisco_xe", "frr", "fortinet"])
def test_cisco_steering_leaves_a_hub_that_withdrew_its_beacon(fleet: Fleet, hubs: Platform) -> None:
    """A hub announces its beacon only while it learns HQ from the DC core. An IOS-XE store's
    steered next hops followed only probes to the hub's tunnel address, which answer while the
    hub lives: POS stayed on the hub that lost the DC core and was dropped there. Each path's
    track list must hold the route track of its hub's beacon, and the lint finds one that lacks
    it."""
    config = _store(fleet, "cisco_xe", "dual-wan", hubs=hubs)
    intent = NetworkIntent(on_platform(fleet, "cisco_xe", hubs=hubs))
    beacons = {name: intent.hub_beacon(hub) for name, hub in intent.fleet.hubs.items()}
    assert all(beacon is not None for beacon in beacons.values())
    routes = dict(re.findall(r"^track (\d+) ip route (\S+) 255\.255\.255\.255 reachability$", config.text, re.M))
    assert sorted(routes.values()) == sorted(str(b.address) for b in beacons.values() if b is not None)
    lists = {
        number: set(re.findall(r"^ object (\d+)$", body, re.M))
        for number, body in re.findall(r"^track (\d+) list boolean and\n((?: .*\n)+)", config.text, re.M)
    }
    store = intent.store(config.store_id or "", config.hostname)
    hub_of = {str(t.peer_inside): t.peer for t in store.tunnels if t.kind == "store-hub"}
    hops = re.findall(r"^ set ip next-hop verify-availability (\S+) \d+ track (\d+)$", config.text, re.M)
    assert hops
    for hop, track in hops:
        beacon = beacons[hub_of[hop]]
        assert beacon is not None
        (beacon_track,) = [number for number, address in routes.items() if address == str(beacon.address)]
        assert beacon_track in lists[track], f"next hop {hop} (track {track}) ignores {hub_of[hop]}'s beacon"
    assert not [f for f in steering_check([config], intent) if f.rule == "sla-hub-beacon"]

    hop, track = hops[0]
    beacon = beacons[hub_of[hop]]
    assert beacon is not None
    (beacon_track,) = [number for number, address in routes.items() if address == str(beacon.address)]
    body = re.search(rf"^track {track} list boolean and\n((?: .*\n)+)", config.text, re.M)
    assert body is not None
    blind = _broken(config, body.group(0), body.group(0).replace(f" object {beacon_track}\n", ""))
    findings = [f for f in steering_check([blind], intent) if f.rule == "sla-hub-beacon"]
    assert findings
    assert all(f"steered over {hop} " in f.message and str(beacon.address) in f.message for f in findings)


def test_cisco_steering_follows_a_beacon_only_for_classes_that_go_where_it_stands_for(fleet: Fleet) -> None:
    """A chain whose CCTV recorder lives in the cloud: the bulk class (the cameras) goes nowhere
    inside HQ, so its probes towards a hub do not follow the hub's beacon, and a hub that lost
    HQ keeps it; POS, which goes to HQ, still follows it. The lint asks the beacon only of
    applications that go inside its summaries."""
    cloud = fleet.spec.ip_plan.cloud
    recorder = ipaddress.IPv4Network((int(cloud.network_address) + 30 * 256, 24))
    sites = fleet.spec.sites.model_copy(
        update={"hq": fleet.spec.sites.hq.model_copy(update={"services": HqServices(recorder=[recorder])})}
    )
    moved = Fleet(fleet.spec.model_copy(update={"sites": sites}), fleet.hubs, {s.id: s for s in fleet}, fleet.root)
    store_id = SHAPES["dual-wan"]
    ios = on_platform(moved, "cisco_xe")
    intent = NetworkIntent(ios)
    store = intent.store(store_id)
    assert store.destinations(store.sla.application("bulk")) == (recorder,)
    view = ViewBuilder(ios, intent=intent).store_view(ios.store(store_id), ios.store(store_id).appliances[0].hostname)
    assert view.steering is not None
    by_class = {(p.tunnel.hub.hostname, p.sla.name): p for p in view.steering.probes}
    bulk = [p.ios_tracks for (_, name), p in by_class.items() if name == "best-effort"]
    pos = [p.ios_tracks for (_, name), p in by_class.items() if name == "strict"]
    assert bulk and all(tracks is not None and tracks.beacon is None for tracks in bulk)
    assert pos and all(tracks is not None and tracks.beacon is not None for tracks in pos)
    (rendered,) = render_store(ios, store_id)
    config = ConfigFile(rendered.filename, "cisco_xe", "edge", rendered.name, rendered.text, store_id)
    assert not [f for f in steering_check([config], intent) if f.rule == "sla-hub-beacon"]


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_vrp_ssh_server_offers_strong_algorithms_only(fleet: Fleet, role: str) -> None:
    """A VRP SSH server names its ciphers, HMACs and key exchange, CTR / SHA2-256 / DH group 16
    only, so no client negotiates a release default such as CBC, HMAC-SHA1 or DH group 1; the
    lint finds a list left out and a weak algorithm added."""
    config = _store(fleet, "huawei_vrp", "dual-wan") if role == "edge" else _hub(fleet, "huawei_vrp")
    lines = config.text.splitlines()
    assert "ssh server cipher aes256_ctr aes128_ctr" in lines
    assert "ssh server hmac sha2_256" in lines
    assert "ssh server key-exchange dh_group16_sha512" in lines
    assert not [f for f in _lint(config) if f.rule == "vrp-ssh-algorithms"]
    unset = _broken(config, "ssh server hmac sha2_256\n", "")
    assert [f.message for f in _lint(unset) if f.rule == "vrp-ssh-algorithms"] == [
        "no `ssh server hmac`: the release's default hmac list applies (offer sha2_256)"
    ]
    weak = _broken(config, "ssh server key-exchange dh_group16_sha512\n", "ssh server key-exchange dh_group16_sha512 dh_group1_sha1\n")
    assert [f.message for f in _lint(weak) if f.rule == "vrp-ssh-algorithms"] == [
        "ssh server key-exchange dh_group16_sha512 dh_group1_sha1: offers dh_group1_sha1 (offer dh_group16_sha512 only)"
    ]


def test_vrp_store_interzones_open_sip_and_rtsp_media_by_aspf(fleet: Fleet) -> None:
    """Office voice (SIP on UDP 5060, RTP on ports its SDP names) and the CCTV recorder (RTSP on
    TCP 554, RTP on ports SETUP names) pass the interzone firewall with their media: ASPF for
    SIP and RTSP on each interzone whose flow passes their signalling, and on no other."""
    config = _store(fleet, "huawei_vrp", "dual-wan")
    blocks = {
        block.splitlines()[0]: block.splitlines()[1:]
        for block in config.text.split("#\n")
        if block.startswith("firewall interzone ")
    }
    detected = {name: [line for line in body if line.startswith(" detect aspf ")] for name, body in blocks.items()}
    assert detected.pop("firewall interzone OFFICE OVERLAY") == [" detect aspf sip", " detect aspf rtsp"]
    assert detected.pop("firewall interzone CCTV OVERLAY") == [" detect aspf rtsp"]
    assert not any(detected.values()), detected  # POS and IoT reach only TCP 443 / 8883; no other pair passes anything


# Per platform: the AWS tunnel's inbound filter line, its filter's first line and a permit
# inserted at its top (the HQ management range's SSH; any source at all), the filter's closing
# rule, and the lint rule.
_AWS_FILTERS = {
    "cisco_xe": (
        " ip access-group FROM-AWS-WAN1-T1 in\n",
        "ip access-list extended FROM-AWS-WAN1-T1\n",
        " 5 permit tcp 10.0.250.0 0.0.0.255 any eq 22\n",
        " 5 permit ip any any\n",
        " 120 deny ip any any\n!\nip access-list extended FROM-AWS-WAN1-T2\n",
        "cisco-aws-tunnel-filter",
    ),
    "huawei_vrp": (
        " traffic-filter inbound acl name FROM-AWS-WAN1-T1\n",
        "acl name FROM-AWS-WAN1-T1 3020\n",
        " rule 1 permit tcp source 10.0.250.0 0.0.0.255 destination-port eq 22\n",
        " rule 1 permit ip\n",
        " rule 60 deny ip\n#\nacl name FROM-AWS-WAN1-T2 3021\n",
        "vrp-aws-tunnel-filter",
    ),
}


@pytest.mark.parametrize("platform", sorted(_AWS_FILTERS))
def test_aws_tunnel_filter_admits_only_its_far_end_and_the_clouds(fleet: Fleet, platform: Platform) -> None:
    """A store's AWS tunnels share the OVERLAY zone with its hub tunnels: each filters what it
    takes in, so that no AWS source, spoofed as the HQ management range or anything else outside
    the clouds, reaches the router as the hub tunnels' management traffic does."""
    config = _store(fleet, platform, "aws", hubs="frr")
    applied, header, management, anything, closing, rule = _AWS_FILTERS[platform]
    assert applied in config.text and header in config.text and closing in config.text

    def messages(broken: ConfigFile) -> list[str]:
        return [f.message for f in _lint(broken) if f.rule == rule]

    assert messages(config) == []
    unfiltered = messages(_broken(config, applied, ""))
    assert len(unfiltered) == 1 and unfiltered[0].startswith("interface Tunnel"), unfiltered
    assert "no " in unfiltered[0] and "AWS source" in unfiltered[0], unfiltered
    for permit, source in ((management, "10.0.250.0/24"), (anything, "any source")):
        found = messages(_broken(config, header, header + permit))
        assert len(found) == 1, found
        assert f"admits {source}, which is neither the tunnel's far end" in found[0], found
    # The other tunnel's filter names the other far end: on this tunnel its BGP and ICMP rules
    # admit an address that is not this tunnel's far end.
    swapped = messages(_broken(config, applied, applied.replace("T1", "T2")))
    assert len(swapped) == 3 and all("169.254.0.13" in m for m in swapped), swapped
    if platform == "huawei_vrp":
        unclosed = _broken(config, closing, closing.replace(" rule 60 deny ip\n", ""))
        assert messages(unclosed) == [
            "acl name FROM-AWS-WAN1-T1 3020: does not end in `deny ip`; the traffic-filter passes what no rule matches"
        ]


def test_cisco_police_form(fleet: Fleet) -> None:
    """A policer in another form than the one IOS-XE shows (`police N N ...` without its
    keywords, or its actions on lines of their own) would be sent again by every push."""
    config = _store(fleet, "cisco_xe", "mall-guest")
    assert "cisco-police-form" not in _rules(_lint(config))
    bare = _broken_re(config, r"police cir (\d+) bc (\d+) ", r"police \1 \2 ")
    assert [f.rule for f in _lint(bare) if f.rule == "cisco-police-form"] == ["cisco-police-form"]
    split = _broken(
        config,
        " conform-action transmit exceed-action drop\n",
        "\n   conform-action transmit\n   exceed-action drop\n",
    )
    assert [f.rule for f in _lint(split) if f.rule == "cisco-police-form"] == ["cisco-police-form"]


def test_vrp_filter_rule_cut_off_after_destination_port_eq_is_not_told() -> None:
    """A VRP filter rule cut off after `destination-port eq` names no port: the reader cannot
    tell what it matches (a deny it cannot tell matches nothing), and the next rule decides,
    where it failed on the rule for every packet with a port."""
    text = "acl name CUT 3999\n rule 5 deny tcp destination-port eq\n rule 10 permit ip\n#\n"
    acl = huawei_vrp._acls(parse(text, ("#",)))["CUT"]
    packet = huawei_vrp.Packet("tcp", ipaddress.IPv4Address("10.1.0.9"), ipaddress.IPv4Address("10.255.0.5"), 22)
    verdict = huawei_vrp.acl_verdict(acl, packet)
    assert (verdict.forwarded, verdict.rule) == (True, "rule 10 permit ip")
