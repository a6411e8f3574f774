"""Lint rules for Cisco IOS-XE configs: references, timers, interface names, zone policy, tunnels,
IP SLA operations and the tracks that steer traffic with them.

Checked against the IOS-XE configuration guides: a reference to an object that does not exist is
accepted by the parser but silently does nothing (an unknown route-map denies everything, an
unknown ACL in a class-map matches nothing), so each one is a finding here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from storestack.devices.lint import (
    IP_PATTERN,
    PREFIX_PATTERN,
    ROUTE_BASED_SELECTORS,
    SELECTORS_GRE,
    AdvertisementFacts,
    ConfigFile,
    Finding,
    ForwardingFacts,
    Packet,
    PolicyFact,
    ProbeAnswers,
    ProbeFact,
    RankingFacts,
    RouteFilters,
    SentProbe,
    SessionBfdFact,
    SteeringFacts,
    SummaryFact,
    TunnelFact,
    Verdict,
    aws_filter_admits,
    hub_probe_kinds,
    line_advertisements,
    line_prefix_lists,
    line_route_filters,
    most_permissive,
    pattern_summaries,
    register_advertisements,
    register_answers,
    register_cloud_forwarding,
    register_forwarding,
    register_probes,
    register_ranking,
    register_route_filters,
    register_rule,
    register_session_bfd,
    register_steering,
    register_summaries,
    register_tunnels,
)
from storestack.devices.lint.linetree import (
    Line,
    after,
    hub_tunnel_answers,
    interface_address,
    is_address,
    parse,
    policy_settings,
    private_gaps,
    probe_tos,
    sa_lifetimes,
    shared_tunnel_zones,
    top,
    tunnel_id,
    unresolved,
    zone_members,
)
from storestack.devices.lint.steering import route_map_ranking
from storestack.devices.platforms.cisco_xe import NEIGHBOR_DESCRIPTION_LIMIT, ike_dpd
from storestack.devices.steering import (
    APPLICATION_ACL_PREFIX,
    IOS_SLA_CONTROL_PORT,
    IOS_STEERING_REACTIONS,
    IOS_TRACK_DELAY_MAX,
)
from storestack.network.crypto import FLEET_CRYPTO, EspProposal, IkeProposal

PLATFORM = "cisco_xe"

# IOS-XE interface names as `show running-config` prints them.
_INTERFACE = re.compile(
    r"^(GigabitEthernet|TenGigabitEthernet|FortyGigabitEthernet|HundredGigE|FastEthernet|"
    r"Ethernet)\d+(/\d+){1,3}(\.\d+)?$|^(Loopback|Tunnel|Vlan|Port-channel|BDI|Dialer|"
    r"Virtual-Template|Null)\d+(\.\d+)?$|^Cellular\d+(/\d+){1,3}$|"
    # The ASR 1000 / Catalyst 8000 Management Ethernet interface ("The Gigabit Ethernet
    # Management port is always GigabitEthernet0": "Using the Management Ethernet Interface").
    r"^GigabitEthernet0$"
)
_BUILTIN = {"zone": {"self"}, "class-map": {"class-default"}, "interface": {"Null0"}}
_IKE_ENCRYPTION = {"aes-gcm-256": "aes256gcm16", "aes-gcm-128": "aes128gcm16", "aes-cbc-256": "aes256"}
_ESP_GCM = {"256": "aes256gcm16", "128": "aes128gcm16"}


def definitions(root: Line) -> dict[str, dict[str, int]]:
    """Every named object the config defines: kind -> name -> line."""
    found: dict[str, dict[str, int]] = {}

    def add(kind: str, name: str, line: Line) -> None:
        found.setdefault(kind, {}).setdefault(name, line.number)

    for line in root.children:
        w = line.words
        head = " ".join(w[:3])
        if w[0] == "interface" and len(w) > 1:
            add("interface", w[1], line)
        elif w[0] == "route-map" and len(w) > 1:
            add("route-map", w[1], line)
        elif w[:2] == ["ip", "prefix-list"] and len(w) > 2:
            add("prefix-list", w[2], line)
        elif w[:2] == ["ip", "access-list"] and len(w) > 3:
            add("acl", w[3], line)
        elif w[0] == "access-list" and len(w) > 1:
            add("acl", w[1], line)
        elif w[0] == "class-map":
            add("class-map", w[-1], line)
        elif w[0] == "policy-map":
            add("policy-map", w[-1], line)
        elif head in ("crypto ikev2 keyring", "crypto ikev2 profile", "crypto ikev2 proposal"):
            add(f"ikev2-{w[2]}", w[3], line)
        elif head == "crypto ipsec profile":
            add("ipsec-profile", w[3], line)
        elif head == "crypto ipsec transform-set":
            add("transform-set", w[3], line)
        elif w[:2] == ["zone", "security"] and len(w) > 2:
            add("zone", w[2], line)
        elif w[0] == "track" and len(w) > 1:
            add("track", w[1], line)
        elif w[:2] == ["ip", "sla"] and len(w) > 2 and w[2].isdigit():
            add("ip-sla", w[2], line)
        elif w[:2] == ["vrf", "definition"] and len(w) > 2:
            add("vrf", w[2], line)
        elif w[:2] == ["tacacs", "server"] and len(w) > 2:
            add("tacacs-server", w[2], line)
        elif w[:3] == ["aaa", "group", "server"] and len(w) > 4:
            add("aaa-group", w[4], line)
        elif w[:3] == ["aaa", "attribute", "list"] and len(w) > 3:
            add("aaa-attribute-list", w[3], line)
        elif w[:3] == ["aaa", "authorization", "network"] and len(w) > 3:
            add("aaa-network-list", w[3], line)
        elif head == "crypto ikev2 name-mangler" and len(w) > 3:
            add("ikev2-name-mangler", w[3], line)
        elif w[:4] == ["crypto", "ikev2", "authorization", "policy"] and len(w) > 4:
            add("ikev2-authorization-policy", w[4], line)
    for kind, names in _BUILTIN.items():
        for name in names:
            found.setdefault(kind, {}).setdefault(name, 0)
    return found


def _interface_words(words: Iterable[str]) -> Iterator[str]:
    for word in words:
        if word[:1].isupper() and re.match(r"^[A-Z][A-Za-z-]+\d", word):
            yield word


def references(root: Line) -> Iterator[tuple[str, str, int]]:
    """(kind, name, line) of every reference to a named object."""
    for section in root.children:
        w = section.words
        if w[0] == "router" and w[1:2] == ["bgp"]:
            for line in section.walk():
                lw = line.words
                if lw[0] == "neighbor" and "route-map" in lw:
                    yield "route-map", after(lw, "route-map") or "", line.number
                if lw[0] == "neighbor" and "advertise-map" in lw:
                    yield "route-map", after(lw, "advertise-map") or "", line.number
                    for keyword in ("exist-map", "non-exist-map"):
                        if keyword in lw:
                            yield "route-map", after(lw, keyword) or "", line.number
        elif w[0] == "route-map":
            for line in section.children:
                lw = line.words
                if lw[:4] == ["match", "ip", "address", "prefix-list"]:
                    yield from (("prefix-list", name, line.number) for name in lw[4:])
                elif lw[:3] == ["match", "ip", "address"]:
                    yield from (("acl", name, line.number) for name in lw[3:])
                elif lw[:2] == ["set", "ip"] and "track" in lw:
                    yield "track", after(lw, "track") or "", line.number
        elif w[0] == "interface":
            for line in section.children:
                lw = line.words
                if lw[:2] == ["ip", "access-group"]:
                    yield "acl", lw[2], line.number
                elif lw[0] == "service-policy" and len(lw) == 3:
                    yield "policy-map", lw[2], line.number
                elif lw[:2] == ["zone-member", "security"]:
                    yield "zone", lw[2], line.number
                elif lw[:3] == ["ip", "policy", "route-map"]:
                    yield "route-map", lw[3], line.number
                elif lw[:4] == ["tunnel", "protection", "ipsec", "profile"]:
                    yield "ipsec-profile", lw[4], line.number
                elif lw[:2] == ["tunnel", "source"] and not is_address(lw[2]):
                    yield "interface", lw[2], line.number
                elif lw[:2] in (["vrf", "forwarding"], ["tunnel", "vrf"]):
                    yield "vrf", lw[2], line.number
                elif lw[:2] == ["ip", "unnumbered"] and len(lw) > 2:
                    yield "interface", lw[2], line.number
        elif w[0] == "policy-map":
            for line in section.children:
                lw = line.words
                if lw[0] == "class":
                    yield "class-map", lw[-1], line.number
                for nested in line.walk():
                    nw = nested.words
                    if nw[0] == "service-policy":
                        yield "policy-map", nw[-1], nested.number
        elif w[0] == "class-map":
            for line in section.children:
                lw = line.words
                if lw[:3] == ["match", "access-group", "name"]:
                    yield "acl", lw[3], line.number
        elif w[:2] == ["zone-pair", "security"]:
            yield "zone", after(w, "source") or "", section.number
            yield "zone", after(w, "destination") or "", section.number
            for line in section.children:
                if line.words[:3] == ["service-policy", "type", "inspect"]:
                    yield "policy-map", line.words[3], line.number
        elif w[:3] == ["crypto", "ipsec", "profile"]:
            for line in section.children:
                lw = line.words
                if lw[:2] == ["set", "transform-set"]:
                    yield "transform-set", lw[2], line.number
                elif lw[:2] == ["set", "ikev2-profile"]:
                    yield "ikev2-profile", lw[2], line.number
        elif w[:3] == ["crypto", "ikev2", "profile"]:
            for line in section.children:
                lw = line.words
                if lw[:2] == ["keyring", "local"]:
                    yield "ikev2-keyring", lw[2], line.number
                elif lw[:2] == ["match", "fvrf"] and lw[2] != "any":
                    yield "vrf", lw[2], line.number
                elif lw[0] == "virtual-template":
                    yield "interface", f"Virtual-Template{lw[1]}", line.number
                elif lw[:2] == ["aaa", "authorization"] and "list" in lw:
                    yield "aaa-network-list", after(lw, "list") or "", line.number
                    if "name-mangler" in lw:
                        yield "ikev2-name-mangler", after(lw, "name-mangler") or "", line.number
        elif w[:4] == ["crypto", "ikev2", "authorization", "policy"]:
            for line in section.children:
                if line.words[:3] == ["aaa", "attribute", "list"] and len(line.words) > 3:
                    yield "aaa-attribute-list", line.words[3], line.number
        elif w[:3] == ["crypto", "ikev2", "policy"]:
            for line in section.children:
                if line.words[0] == "proposal":
                    yield from (("ikev2-proposal", name, line.number) for name in line.words[1:])
        elif w[0] == "control-plane":
            for line in section.children:
                if line.words[0] == "service-policy" and len(line.words) == 3:
                    yield "policy-map", line.words[2], line.number
        elif w[0] == "line":
            for line in section.children:
                if line.words[0] == "access-class":
                    yield "acl", line.words[1], line.number
        elif w[0] == "snmp-server" and "access" in w:
            yield "acl", after(w, "access") or "", section.number
        elif w[:4] == ["ip", "nat", "inside", "source"]:
            yield "acl", after(w, "list") or "", section.number
            if "interface" in w:
                yield "interface", after(w, "interface") or "", section.number
        elif w[0] == "track" and "sla" in w:
            yield "ip-sla", after(w, "sla") or "", section.number
        elif w[0] == "track" and w[2:4] == ["list", "boolean"]:
            for line in section.children:
                if line.words[0] == "object" and len(line.words) > 1:
                    yield "track", line.words[1], line.number
        elif w[:3] == ["event", "manager", "applet"]:
            for line in section.children:
                if line.words[:1] == ["action"] and line.words[2:4] == ["track", "set"] and len(line.words) > 4:
                    yield "track", line.words[4], line.number
        elif w[:3] in (["ip", "sla", "schedule"], ["ip", "sla", "reaction-configuration"]) and len(w) > 3:
            yield "ip-sla", w[3], section.number
        elif w[:2] == ["ip", "sla"] and len(w) > 2 and w[2].isdigit():
            for line in section.children:
                if "source-interface" in line.words:
                    yield "interface", after(line.words, "source-interface") or "", line.number
        elif w[:2] == ["ip", "route"]:
            rest = w[2:]
            if rest[:1] == ["vrf"]:
                yield "vrf", rest[1], section.number
                rest = rest[2:]
            yield from (("interface", name, section.number) for name in _interface_words(rest))
            if "track" in rest:
                yield "track", after(rest, "track") or "", section.number
        elif w[:2] == ["ntp", "source"] or w[:2] == ["logging", "source-interface"]:
            yield "interface", w[2], section.number
        elif w[:3] == ["ip", "ssh", "source-interface"]:
            yield "interface", w[3], section.number
        elif w[0] == "aaa" and "group" in w and w[1] != "group":
            yield "aaa-group", after(w, "group") or "", section.number
        elif w[:3] == ["aaa", "group", "server"]:
            for line in section.children:
                if line.words[:2] == ["server", "name"]:
                    yield "tacacs-server", line.words[2], line.number


@register_rule(PLATFORM)
def undefined_references(config: ConfigFile) -> Iterator[Finding]:
    """Every route-map, prefix-list, ACL, class-map, policy-map, crypto object, zone, track,
    IP SLA, VRF and interface that is referenced is also defined."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for kind, name, number in unresolved(definitions(root), references(root)):
        yield config.finding(number, "cisco-undefined-reference", f"{kind} {name!r} is referenced but not defined")


@register_rule(PLATFORM)
def interface_names(config: ConfigFile) -> Iterator[Finding]:
    """Interface names IOS-XE knows (a misspelt one creates nothing and fails the whole section)."""
    if config.suffix:
        return
    for line in top(parse(config.text, ("!",)), "interface"):
        if len(line.words) < 2 or not _INTERFACE.match(line.words[1]):
            yield config.finding(
                line.number, "cisco-interface-name", f"{line.text!r}: not an IOS-XE interface name"
            )


@register_rule(PLATFORM)
def timers(config: ConfigFile) -> Iterator[Finding]:
    """IP SLA threshold <= timeout <= frequency; BGP hold >= 3 x keepalive; BFD within range."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for sla in root.children:
        if sla.words[:2] != ["ip", "sla"] or len(sla.words) != 3:
            continue
        values = {line.words[0]: line.words[1] for line in sla.children if len(line.words) == 2}
        threshold = int(values.get("threshold", "5000"))
        timeout = int(values.get("timeout", "5000"))
        frequency = int(values.get("frequency", "60")) * 1000
        if threshold > timeout:
            yield config.finding(
                sla.number,
                "cisco-ip-sla-timers",
                f"{sla.text}: threshold {threshold} ms exceeds timeout {timeout} ms",
            )
        if timeout > frequency:
            yield config.finding(
                sla.number, "cisco-ip-sla-timers", f"{sla.text}: timeout {timeout} ms exceeds the frequency"
            )
        # A jitter operation's train must end (its last packet answered or timed out) before the
        # next one starts: frequency > interval x (num-packets - 1) + timeout.
        train = next((line.words for line in sla.children if line.words[0] in _JITTER_OPERATIONS), None)
        if train is not None:
            packets, interval = int(after(train, "num-packets") or 10), int(after(train, "interval") or 20)
            span = interval * (packets - 1) + timeout
            if frequency <= span:
                yield config.finding(
                    sla.number,
                    "cisco-ip-sla-timers",
                    f"{sla.text}: frequency {frequency // 1000} s does not exceed the operation "
                    f"({packets} packets {interval} ms apart, timeout {timeout} ms: {span} ms)",
                )
    for track in top(root, "track"):
        for line in track.children:
            lw = line.words
            for key in ("down", "up"):
                delay = after(lw, key) if lw[0] == "delay" else None
                if delay is not None and not 1 <= int(delay) <= IOS_TRACK_DELAY_MAX:
                    yield config.finding(
                        line.number,
                        "cisco-track-delay",
                        f"{track.text}: delay {key} {delay} s is outside 1-{IOS_TRACK_DELAY_MAX} s",
                    )
    for line in root.walk():
        w = line.words
        if w[0] == "neighbor" and len(w) == 5 and w[2] == "timers":
            keepalive, hold = int(w[3]), int(w[4])
            if hold != 0 and (hold < 3 or hold < 3 * keepalive):
                yield config.finding(
                    line.number,
                    "cisco-bgp-timers",
                    f"hold time {hold} s is less than 3 x keepalive {keepalive} s",
                )
        elif w[0] == "bfd" and w[1:2] == ["interval"] and "multiplier" in w:
            interval, multiplier = int(w[2]), int(after(w, "multiplier") or 0)
            if not (50 <= interval <= 9999 and 3 <= multiplier <= 50):
                yield config.finding(
                    line.number,
                    "cisco-bfd-timers",
                    f"BFD interval {interval} ms x {multiplier} is out of range",
                )


@register_rule(PLATFORM)
def zone_policy(config: ConfigFile) -> Iterator[Finding]:
    """With a zone-based firewall, every routed interface is in a zone (otherwise IOS-XE drops
    all its traffic to zoned interfaces), and no zone pair permits any to any."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    if not any(top(root, "zone", "security")):
        return
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        routed = any(text.startswith("ip address") for text in interface.child_texts())
        zoned = any(text.startswith("zone-member security") for text in interface.child_texts())
        if routed and not zoned and not name.startswith(("Loopback", "Null")):
            yield config.finding(
                interface.number, "cisco-zone-member", f"{name} has an address but no security zone"
            )
    acls, classes, policies = _zone_policy_objects(root)
    for pair in top(root, "zone-pair", "security"):
        for service in pair.children:
            for klass in _children(policies.get(service.words[-1])):
                for match in _children(classes.get(klass.words[-1])):
                    name = match.words[-1]
                    denied: list[str] = []
                    for rule in _children(acls.get(name)):
                        if re.search(r"\bpermit ip any any$", rule.text):
                            yield config.finding(
                                rule.number,
                                "cisco-permit-any-any",
                                f"{pair.text}: ACL {name} permits any to any",
                            )
                        words = rule.words[1:] if rule.words[:1] and rule.words[0].isdigit() else rule.words
                        if words[:2] == ["deny", "ip"] and len(words) >= 6:
                            denied.append(f"{words[4]}/{words[5]}" if words[4] != "host" else f"{words[5]}/32")
                        elif words[:2] == ["permit", "ip"] and words[-1] == "any":
                            gaps = private_gaps(denied)
                            if gaps:
                                yield config.finding(
                                    rule.number,
                                    "cisco-internet-private",
                                    f"{pair.text}: ACL {name} permits the internet before denying {', '.join(gaps)}",
                                )


# Segments whose clients are not the chain's own (devices/views/builder.py _UNTRUSTED_KINDS, by tag).
_UNTRUSTED_ZONES = frozenset({"GUEST", "IOT"})
# The VTY lines an IOS-XE router may have by default: 0-4, then up to 5-20 (a Catalyst 8000V, like
# the CSR1000v, comes up with 5-20), each range shown as its own block.
_VTY_LINES = frozenset(range(21))


@register_rule(PLATFORM)
def ipsec_lifetimes(config: ConfigFile) -> Iterator[Finding]:
    """Every IKEv2 profile and IPsec profile states the fleet policy's SA lifetime
    (network/crypto.py), from which the far end and the AWS tunnel options are configured too.
    Left out, the router runs its own default, which nothing ties to what the far end runs or
    to the 28800 s an AWS Site-to-Site VPN tunnel accepts at most."""
    if config.suffix:
        return
    yield from sa_lifetimes(
        config,
        parse(config.text, ("!",)),
        "cisco-ipsec-lifetime",
        (
            (("crypto", "ikev2", "profile"), ("lifetime",), FLEET_CRYPTO.ike_lifetime_seconds, "IKE"),
            (
                ("crypto", "ipsec", "profile"),
                ("set", "security-association", "lifetime", "seconds"),
                FLEET_CRYPTO.esp_lifetime_seconds,
                "ESP",
            ),
        ),
    )


@register_rule(PLATFORM)
def ipsec_dpd(config: ConfigFile) -> Iterator[Finding]:
    """Every IKEv2 profile states the fleet policy's dead-peer detection (network/crypto.py, as
    `ios_ike_dpd` spells it: interval and retry interval), as every other end and the AWS tunnel
    options do; left out, IOS-XE runs no DPD at all on the profile. A FlexVPN server's profile
    probes on demand."""
    if config.suffix:
        return
    words = tuple(ike_dpd(None, "periodic").split()[1:3])
    root = parse(config.text, ("!",))
    yield from policy_settings(
        config, root, "cisco-ipsec-dpd", ("crypto", "ikev2", "profile"), ((("dpd",), words),), "dead-peer detection"
    )
    # A profile every dialling peer is cloned from (a FlexVPN server's virtual template: a hub's
    # store links) probes on demand: "When communicating to large numbers of IKE peers, you should
    # consider using on-demand DPD instead" (IPsec Data Plane Configuration Guide, IOS XE, "IPsec
    # Dead Peer Detection Periodic Message Option"); BGP keepalives in every tunnel make on-demand
    # probe a silent peer as soon as periodic DPD would.
    for profile in top(root, "crypto", "ikev2", "profile"):
        texts = profile.child_texts()
        if not any(text.startswith("virtual-template ") for text in texts):
            continue
        for line in profile.children:
            if line.words[:1] == ["dpd"] and line.words[-1] == "periodic":
                yield config.finding(
                    line.number,
                    "cisco-ipsec-dpd",
                    f"{profile.text}: periodic dead-peer detection on a profile every store dials into "
                    "(an IKE exchange per peer and interval): on-demand",
                )


@register_rule(PLATFORM)
def management_plane(config: ConfigFile) -> Iterator[Finding]:
    """TACACS+ and DNS lookups, and the queries the store's DNS server forwards for its clients,
    leave from a loopback (the hubs advertise loopbacks to the DC, not tunnel addresses, so
    replies to a tunnel address are lost), guest Wi-Fi and IoT zones have
    a zone pair to the self zone (else every router service answers them), every local user's
    secret is a type 8 or 9 hash, every VTY line 0-20 is
    restricted by an access class to SSH (a line at its defaults takes logins from anywhere the
    zone firewall lets reach the router), and IP source routing is off (`no ip source-route`: on
    by default, a packet's own route option would steer it past the routing and filtering the
    config intends; CIS Cisco IOS XE 17.x Benchmark 3.1.1, DISA Cisco IOS XE Router STIG
    CISR-RT-000020)."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    hostname = next(top(root, "hostname"), None)
    if hostname is not None and not any(line.words == ["no", "ip", "source-route"] for line in root.children):
        yield config.finding(hostname.number, "cisco-source-route", "IP source routing is on (no `no ip source-route`)")
    for group in top(root, "aaa", "group", "server", "tacacs+"):
        if not any(t.startswith("ip tacacs source-interface Loopback") for t in group.child_texts()):
            yield config.finding(
                group.number, "cisco-aaa-source", f"{group.text}: no `ip tacacs source-interface` on a loopback"
            )
    if any(top(root, "ip", "name-server")) and not any(
        line.words[3:4] == ["source-interface"] and line.words[4:5] and line.words[4].startswith("Loopback")
        for line in top(root, "ip", "domain", "lookup")
    ):
        line = next(top(root, "ip", "name-server"))
        yield config.finding(line.number, "cisco-dns-source", "DNS lookups are not sourced from a loopback")
    # What `ip dns server` forwards for its clients takes the default view's forwarding source,
    # not `ip domain lookup source-interface` (which sets the router's own lookups' only).
    server = next((line for line in root.children if line.words == ["ip", "dns", "server"]), None)
    if server is not None and any(top(root, "ip", "name-server")) and not any(
        setting.words[:3] == ["dns", "forwarding", "source-interface"]
        and setting.words[3:4]
        and setting.words[3].startswith("Loopback")
        for view in top(root, "ip", "dns", "view")
        if view.words[3:] == ["default"]
        for setting in view.children
    ):
        yield config.finding(
            server.number,
            "cisco-dns-source",
            "queries `ip dns server` forwards are not sourced from a loopback "
            "(no `dns forwarding source-interface Loopback…` in `ip dns view default`)",
        )
    to_self = {pair.words[4] for pair in top(root, "zone-pair", "security") if pair.words[-1] == "self"}
    for zone in top(root, "zone", "security"):
        if zone.words[-1] in _UNTRUSTED_ZONES and zone.words[-1] not in to_self:
            yield config.finding(
                zone.number,
                "cisco-untrusted-self",
                f"{zone.text}: no zone pair to the self zone, so the router answers it on every port",
            )
    for user in top(root, "username"):
        # A local user's secret as its type 8 or 9 hash; not `password` (type 0 or 7: reversible),
        # not a cleartext `secret` (the router salts it at random: never read back as sent), not
        # type 5 (MD5).
        kept = after(user.words, "secret")
        if "password" in user.words or kept not in ("8", "9"):
            yield config.finding(
                user.number, "cisco-local-secret", f"username {user.words[1]}: not a type 8 or 9 hashed secret"
            )
    covered: set[int] = set()
    for block in top(root, "line", "vty"):
        numbers = [int(word) for word in block.words[2:4] if word.isdigit()]
        lines = range(numbers[0], numbers[-1] + 1) if numbers else range(0)
        texts = block.child_texts()
        # `in vrf-also`: the same inbound class on connections through a VRF (a hub's management port).
        inbound = any(t.startswith("access-class ") and t.endswith((" in", " in vrf-also")) for t in texts)
        if inbound and "transport input ssh" in texts:
            covered.update(lines)
        else:
            yield config.finding(block.number, "cisco-vty-open", f"{block.text}: no inbound access class or not SSH only")
    if any(top(root, "line", "vty")) and not covered >= _VTY_LINES:
        missing = sorted(_VTY_LINES - covered)
        yield config.finding(
            0, "cisco-vty-open", f"VTY lines {missing[0]}-{missing[-1]} keep their defaults (no access class)"
        )


# `snmp-server enable traps <notification-type>` keywords of the IOS / IOS-XE configuration
# fundamentals and network management command references (IP SLA's is `rtr`, for the
# CISCO-RTTMON-MIB; `ipsla` is a notification type of `snmp-server host`, not of this command).
_TRAP_TYPES = frozenset(
    {
        "aaa_server", "bfd", "bgp", "cef", "config", "config-copy", "config-ctid", "cpu", "dhcp",
        "eigrp", "entity", "envmon", "ethernet", "event-manager", "firewall", "flash", "hsrp",
        "ike", "ikev2", "ipsec", "isakmp", "license", "memory", "nhrp", "ospf", "pim", "rtr",
        "snmp", "syslog", "track", "transceiver", "tty", "vrfmib", "vrrp",
    }
)


@register_rule(PLATFORM)
def snmp_traps(config: ConfigFile) -> Iterator[Finding]:
    """`snmp-server enable traps` names a notification type IOS-XE has, and something receives
    the notifications (`snmp-server host`): traps with no receiver are generated for nobody."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    receivers = any(top(root, "snmp-server", "host"))
    for line in top(root, "snmp-server", "enable", "traps"):
        kind = line.words[3] if len(line.words) > 3 else None
        if kind is not None and kind not in _TRAP_TYPES:
            yield config.finding(
                line.number,
                "cisco-snmp-trap-receiver",
                f"{line.text}: {kind!r} is no notification type of `snmp-server enable traps` (IP SLA: rtr)",
            )
        if not receivers:
            yield config.finding(
                line.number, "cisco-snmp-trap-receiver", f"{line.text}: no `snmp-server host` receives them"
            )


def _zones(root: Line) -> dict[str, list[Line]]:
    """zone -> its member interfaces."""
    return zone_members(root, "zone-member", "security")


def _vrf(interface: Line) -> str:
    """The interface's routing table: its `vrf forwarding` VRF, "" for the global table."""
    return next(
        (line.words[2] for line in interface.children if line.words[:2] == ["vrf", "forwarding"] and len(line.words) > 2),
        "",
    )


@register_rule(PLATFORM)
def zone_vrfs(config: ConfigFile) -> Iterator[Finding]:
    """The interfaces of one security zone share one routing table. A zone across VRFs (e.g. one
    INTERNET zone over WAN ports in different front-door VRFs) would need zone pairs whose traffic
    crosses VRFs, which nothing routes, and one policy to the router for ports with different
    tunnel peers: each such port takes its own zone."""
    if config.suffix:
        return
    for zone, interfaces in _zones(parse(config.text, ("!",))).items():
        tables: dict[str, list[str]] = {}
        for interface in interfaces:
            tables.setdefault(_vrf(interface), []).append(interface.words[1])
        if len(tables) > 1:
            spread = "; ".join(
                f"{vrf or 'global'}: {', '.join(names)}" for vrf, names in sorted(tables.items())
            )
            yield config.finding(
                interfaces[0].number, "cisco-zone-vrf", f"zone {zone} spans routing tables ({spread})"
            )


@register_rule(PLATFORM)
def zone_order(config: ConfigFile) -> Iterator[Finding]:
    """Every security zone is defined above the interfaces that join it: "A zone must be
    configured before interfaces can be assigned to the zone" (Zone-Based Policy Firewall Design
    and Application Guide, "Rules For Applying Zone-Based Policy Firewall"). The config is sent in
    its own order (a first push, a new segment's interface and zone), so a `zone-member security`
    above its `zone security` names a zone the router does not have yet and is refused."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    defined = {line.words[2]: line.number for line in top(root, "zone", "security") if len(line.words) > 2}
    for zone, interfaces in _zones(root).items():
        at = defined.get(zone)
        if at is None:
            continue  # undefined_references reports it
        for interface in interfaces:
            if interface.number < at:
                yield config.finding(
                    interface.number,
                    "cisco-zone-order",
                    f"{interface.words[1]} joins zone {zone} above its `zone security {zone}` (line {at})",
                )


# What a class of an inspect policy may do with a packet that lets it through.
_FORWARDING_ACTIONS = frozenset({"pass", "inspect"})


@register_rule(PLATFORM)
def overlay_transit(config: ConfigFile) -> Iterator[Finding]:
    """A zone holding two or more tunnels has a zone pair from itself to itself whose policy lets
    nothing through. Without one the router forwards between those tunnels: "Traffic is implicitly
    allowed to flow by default among interfaces that are members of the same zone" (Zone-Based
    Policy Firewall Design and Application Guide, "Rules For Applying Zone-Based Policy
    Firewall"), so a store whose hub and AWS tunnels share OVERLAY would carry a cloud's traffic
    to a hub, or one hub's to another. A hub without a zone firewall is not checked here."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    defined = {line.words[2]: line for line in top(root, "zone", "security") if len(line.words) > 2}
    _, _, policies = _zone_policy_objects(root)
    intrazone: dict[str, Line] = {}
    for line in top(root, "zone-pair", "security"):
        source = after(line.words, "source")
        if source is not None and source == after(line.words, "destination"):
            intrazone[source] = line
    for zone, members in shared_tunnel_zones(_zones(root)).items():
        tunnels = [interface.words[1] for interface in members]
        pair = intrazone.get(zone)
        if pair is None:
            yield config.finding(
                defined.get(zone, members[0]).number,
                "cisco-overlay-transit",
                f"zone {zone}: no zone pair from {zone} to {zone}, so the router forwards between "
                f"its tunnels ({', '.join(tunnels)})",
            )
            continue
        services = [line.words[-1] for line in pair.children if line.words[:3] == ["service-policy", "type", "inspect"]]
        if not services:
            yield config.finding(pair.number, "cisco-overlay-transit", f"{pair.text}: no inspect policy")
        for name in services:
            policy = policies.get(name)
            for klass in _children(policy):
                if any(action.words[:1] and action.words[0] in _FORWARDING_ACTIONS for action in klass.children):
                    yield config.finding(
                        klass.number,
                        "cisco-overlay-transit",
                        f"{pair.text}: policy {name} {klass.text.strip()} lets traffic through between the tunnels",
                    )


@register_rule(PLATFORM)
def track_order(config: ConfigFile) -> Iterator[Finding]:
    """Every track is defined above whatever refers to it (a static route's or a route-map's
    `track N`, a list's `object N`, an EEM applet's `action track set N`). The config is sent in
    its own order (a first push, a new steering class), and Cisco documents no state for a client
    of a track that does not exist yet: a route, a next hop or a list would hang on an object the
    router learns of only lines later."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    defined = definitions(root).get("track", {})
    for kind, name, number in references(root):
        at = defined.get(name)
        if kind == "track" and at is not None and number < at:
            yield config.finding(number, "cisco-track-order", f"track {name} is referred to above its definition (line {at})")


# What never reaches the router from a WAN port: routing and BFD (they run over the overlay), and
# the management and resolver services (they answer HQ through the overlay).
_WAN_SELF_FORBIDDEN = {
    "tcp": {"179": "BGP", "bgp": "BGP", "22": "SSH", "23": "telnet", "telnet": "telnet", "53": "DNS", "domain": "DNS"},
    "udp": {"3784": "BFD", "3785": "BFD echo", "4784": "multihop BFD", "161": "SNMP", "snmp": "SNMP", "53": "DNS", "domain": "DNS", "123": "NTP", "ntp": "NTP"},
}


def _endpoint_words(words: list[str]) -> int:
    """How many words an ACL endpoint (`any`, `host A`, `A W`, `object-group N`) takes."""
    return 1 if words[:1] == ["any"] else 2


def _port_words(words: list[str]) -> int:
    """How many words a port match (`eq P`, `range A B`, ...) takes, 0 without one."""
    if words[:1] == ["range"]:
        return 3
    return 2 if words[:1] and words[0] in ("eq", "neq", "lt", "gt") else 0


def _zone_policy_objects(root: Line) -> tuple[dict[str, Line], dict[str, Line], dict[str, Line]]:
    """The objects a zone-pair's policy is made of, by name: ACLs, class-maps and policy-maps."""
    acls = {line.words[3]: line for line in top(root, "ip", "access-list") if len(line.words) > 3}
    classes = {line.words[-1]: line for line in top(root, "class-map")}
    policies = {line.words[-1]: line for line in top(root, "policy-map")}
    return acls, classes, policies


def _tunnel_sources(root: Line) -> set[str]:
    """The interfaces a tunnel is sourced from by name (`tunnel source <interface>`)."""
    return {
        line.words[2]
        for interface in top(root, "interface")
        for line in interface.children
        if line.words[:2] == ["tunnel", "source"] and len(line.words) > 2 and not is_address(line.words[2])
    }


def _wan_zones(root: Line) -> dict[str, str]:
    """zone -> the WAN interface that makes it one: an interface a tunnel is sourced from, or an
    outside NAT interface."""
    underlay = _tunnel_sources(root)
    zones: dict[str, str] = {}
    for zone, interfaces in _zones(root).items():
        for interface in interfaces:
            if interface.words[1] in underlay or "ip nat outside" in interface.child_texts():
                zones.setdefault(zone, interface.words[1])
    return zones


@register_rule(PLATFORM)
def wan_self(config: ConfigFile) -> Iterator[Finding]:
    """Every WAN zone has a zone pair to the self zone (without one the router answers the
    internet on every port), and that pair passes only named protocols and ports: no class that
    passes any IP, any TCP or any UDP port, none that reaches BGP, BFD, SSH, SNMP, DNS or NTP (they
    belong to the overlay), and no `pass` in class-default."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    wan = _wan_zones(root)
    if not wan or not any(top(root, "zone", "security")):
        return
    acls, classes, policies = _zone_policy_objects(root)
    pairs = {
        after(pair.words, "source"): pair
        for pair in top(root, "zone-pair", "security")
        if after(pair.words, "destination") == "self"
    }
    for zone, interface in sorted(wan.items()):
        pair = pairs.get(zone)
        if pair is None:
            yield config.finding(
                0,
                "cisco-segment-self",
                f"WAN zone {zone} ({interface}) has no zone pair to the self zone: the router answers the "
                "internet on every port",
            )
            continue
        service = next((line.words[-1] for line in pair.children if line.words[:1] == ["service-policy"]), "")
        for klass in _children(policies.get(service)):
            actions = {child.words[0] for child in klass.children}
            if not actions & {"pass", "inspect"}:
                continue
            name = klass.words[-1]
            if name == "class-default":
                yield config.finding(
                    klass.number, "cisco-segment-self", f"{pair.text}: class-default passes everything else"
                )
                continue
            for match in _children(classes.get(name)):
                if match.words[:3] != ["match", "access-group", "name"]:
                    yield config.finding(
                        match.number, "cisco-segment-self", f"{pair.text}: class {name} matches {match.text!r}, not an ACL"
                    )
                    continue
                for rule in _children(acls.get(match.words[-1])):
                    entry = _acl_parts(rule.words)
                    if entry is None or entry[0] != "permit":
                        continue
                    _, protocol, *_, port = entry
                    service_name = _WAN_SELF_FORBIDDEN.get(protocol, {}).get(port[1] if len(port) == 2 and port[0] == "eq" else "")
                    if protocol in ("ip", "tcp", "udp") and not port:
                        yield config.finding(
                            rule.number,
                            "cisco-segment-self",
                            f"{pair.text}: ACL {match.words[-1]} passes {protocol} to the router on any port",
                        )
                    elif service_name:
                        yield config.finding(
                            rule.number,
                            "cisco-segment-self",
                            f"{pair.text}: ACL {match.words[-1]} lets the internet reach the router's {service_name}",
                        )


# The sender of an echo request from the internet, and the address a WAN port that takes its
# address by DHCP answers on (documentation ranges, RFC 5737: no store owns either).
_INTERNET_SENDER = ipaddress.IPv4Address("192.0.2.1")
_DHCP_WAN_ADDRESS = ipaddress.IPv4Address("198.51.100.254")


def _class_acls(root: Line, klass: Line) -> list[Line] | None:
    """The ACLs a policy's class matches on (`match access-group name`); None when the class
    matches on anything else, which this reader does not follow."""
    acls, classes, _ = _zone_policy_objects(root)
    if klass.words[-1] == "class-default":
        return None
    found: list[Line] = []
    for match in _children(classes.get(klass.words[-1])):
        acl = acls.get(match.words[-1]) if match.words[:3] == ["match", "access-group", "name"] else None
        if acl is None:
            return None
        found.append(acl)
    return found


def _copp_class(root: Line, policy: Line, packet: Packet) -> Line | None:
    """The class of control-plane policy `policy` that takes `packet` (the first whose ACL permits
    it; class-default when none does)."""
    for klass in policy.children:
        if klass.words[:1] != ["class"]:
            continue
        if klass.words[-1] == "class-default":
            return klass
        acls = _class_acls(root, klass)
        if acls and any(acl_verdict(acl, packet).forwarded for acl in acls):
            return klass
    return None


def _drops_excess(klass: Line) -> bool:
    """Whether a policy class polices what it takes and drops the excess."""
    return any(
        line.words[0] == "police" and after(line.words, "exceed-action") == "drop" for line in klass.children
    )


# The one form of a policer the push engine can compare with the running config: `police cir N
# [bc N] conform-action A exceed-action A`, the keywords written out, on one line, as IOS-XE shows
# it (devices/platforms/cisco_xe.py, `echo_police`). Another spelling of the same policer (`police
# N N ...`, or the actions on lines of their own) is shown in another form than sent: drift would
# send it again at every push.
_POLICE_FORM = re.compile(r"^police cir \d+(?: bc \d+)? conform-action \S+ exceed-action \S+$")


@register_rule(PLATFORM)
def police_form(config: ConfigFile) -> Iterator[Finding]:
    """Every policer of a policy-map is written in the form IOS-XE shows it in."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for policy in top(root, "policy-map"):
        for klass in policy.children:
            for line in klass.children:
                if line.words[:1] == ["police"] and not (_POLICE_FORM.match(" ".join(line.words)) and not line.children):
                    yield config.finding(
                        line.number,
                        "cisco-police-form",
                        f"{line.text.strip()!r}: write a policer as 'police cir N bc N conform-action A exceed-action A' on one line, the form IOS-XE shows",
                    )


@register_rule(PLATFORM)
def wan_echo_policing(config: ConfigFile) -> Iterator[Finding]:
    """A store whose WAN zones pass echo requests to the router holds the answers to a rate: the
    control-plane input policy's class that takes an echo request from the internet to a WAN
    port polices it with `exceed-action drop` (without one the router answers every ping, a flood
    included), and the echo requests to its loopback are in no policed class (HQ's monitoring
    would share the internet's budget and go dark under a flood)."""
    if config.suffix or config.role != "edge":
        return
    root = parse(config.text, ("!",))
    wan = _wan_zones(root)
    interfaces = {line.words[1]: line for line in top(root, "interface") if len(line.words) > 1}
    pairs = {
        after(pair.words, "source"): pair
        for pair in top(root, "zone-pair", "security")
        if after(pair.words, "destination") == "self"
    }
    _, _, policies = _zone_policy_objects(root)
    control = next(top(root, "control-plane"), None)
    service = next(
        (line.words[2] for line in _children(control) if line.words[:2] == ["service-policy", "input"] and len(line.words) > 2),
        None,
    )
    policy = policies.get(service) if service is not None else None
    for zone, name in sorted(wan.items()):
        address = interface_address(interfaces[name]) if name in interfaces else None
        echo = Packet("icmp", _INTERNET_SENDER, address.ip if address is not None else _DHCP_WAN_ADDRESS)
        pair = pairs.get(zone)
        acls = [
            acl
            for klass in _children(policies.get(next((w.words[-1] for w in _children(pair) if w.words[:1] == ["service-policy"]), "")))
            if {child.words[0] for child in klass.children} & {"pass", "inspect"}
            for acl in (_class_acls(root, klass) or [])
        ]
        if not any(acl_verdict(acl, echo).forwarded for acl in acls):
            continue
        klass = _copp_class(root, policy, echo) if policy is not None else None
        if klass is None or not _drops_excess(klass):
            where = f"control-plane class {klass.words[-1]} takes them unpoliced" if klass is not None else "no control-plane input policy limits them"
            yield config.finding(
                pair.number if pair is not None else 0,
                "cisco-wan-echo-unpoliced",
                f"WAN zone {zone} ({name}) passes echo requests to the router and {where}: it answers every ping from the internet",
            )
    loopback = interface_address(interfaces["Loopback0"]) if "Loopback0" in interfaces else None
    if policy is not None and loopback is not None:
        klass = _copp_class(root, policy, Packet("icmp", _INTERNET_SENDER, loopback.ip))
        if klass is not None and klass.words[-1] != "class-default" and _drops_excess(klass):
            yield config.finding(
                klass.number,
                "cisco-wan-echo-unpoliced",
                f"control-plane class {klass.words[-1]} polices the pings to the loopback {loopback.ip}: HQ's monitoring shares the internet's budget",
            )


def _acl_parts(words: list[str]) -> tuple[str, str, list[str], list[str], list[str], list[str]] | None:
    """(action, protocol, source, source port, destination, destination port) of an extended ACL
    entry, each endpoint and port match as its words; None if the line is no entry."""
    words = words[1:] if words[:1] and words[0].isdigit() else words
    if len(words) < 4 or words[0] not in ("permit", "deny"):
        return None
    parts: list[list[str]] = []
    rest = words[2:]
    for size in (_endpoint_words, _port_words, _endpoint_words, _port_words):
        count = size(rest)
        parts.append(rest[:count])
        rest = rest[count:]
    return words[0], words[1], parts[0], parts[1], parts[2], parts[3]


def _passed_rules(root: Line, source_zone: str) -> list[tuple[str, str, list[str], list[str], list[str], list[str]]] | None:
    """The ACL entries a zone's pair to the self zone passes or inspects; None without a pair
    (then everything reaches the router)."""
    pair = next(
        (
            line
            for line in top(root, "zone-pair", "security")
            if after(line.words, "source") == source_zone and after(line.words, "destination") == "self"
        ),
        None,
    )
    if pair is None:
        return None
    return [entry for rule in _pair_acl_rules(root, pair) if (entry := _acl_parts(rule.words)) is not None]


def _pair_acl_rules(root: Line, pair: Line) -> list[Line]:
    """The entries of the ACLs a zone pair's policy passes or inspects, in order."""
    acls, classes, policies = _zone_policy_objects(root)
    service = next((line.words[-1] for line in pair.children if line.words[:1] == ["service-policy"]), "")
    return [
        rule
        for klass in _children(policies.get(service))
        if {child.words[0] for child in klass.children} & {"pass", "inspect"}
        for match in _children(classes.get(klass.words[-1]))
        for rule in _children(acls.get(match.words[-1]))
    ]


@register_rule(PLATFORM)
def self_by_source_port(config: ConfigFile) -> Iterator[Finding]:
    """No zone pair to the self zone passes (or inspects) TCP by its source port, nor UDP by its
    source port to more than one port: the sender chooses its source port, so an entry meant for
    the answers of a connection the router opened (`permit tcp host P eq bgp host O`) lets P open
    a connection to every TCP port of the router by sending from that port, and one meant for the
    answers of its UDP requests (`permit udp host S eq domain any`, an IP SLA responder's
    `permit udp host P eq 1967 host O`) lets S reach every UDP port of the router, SNMP included.
    Those answers come back through the inspection of the router's own connections and requests,
    in its zone pair from the self zone. A UDP entry that also names the one port it reaches
    (DHCP's `permit udp any eq bootps any eq bootpc`) opens nothing more than that port."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for pair in top(root, "zone-pair", "security"):
        if after(pair.words, "destination") != "self":
            continue
        for rule in _pair_acl_rules(root, pair):
            entry = _acl_parts(rule.words)
            if entry is None or entry[0] != "permit" or not entry[3]:
                continue
            _, protocol, source, sport, _, dport = entry
            sender, port = " ".join(source), " ".join(sport[1:])
            if protocol == "tcp":
                reached, what = ("any port" if not dport else " ".join(dport)), "open a connection to"
                answers = "connections"
            elif protocol == "udp" and (len(dport) != 2 or dport[0] != "eq"):
                reached, what, answers = ("any UDP port" if not dport else " ".join(dport)), "reach", "requests"
            else:
                continue
            yield config.finding(
                rule.number,
                "cisco-self-source-port",
                f"{pair.text}: {rule.text.strip()!r} lets {sender} {what} {reached} of the router by sending from "
                f"port {port}; take the answers of the router's own {answers} by inspecting them from the self zone",
            )


def _admits(entries: list[tuple[str, str, list[str], list[str], list[str], list[str]]], protocol: str, peer: str, port: str) -> bool:
    """Whether the first entry that names `peer` (or any source) with `protocol` to `port`, or from
    it, permits it."""
    for action, proto, source, sport, _, dport in entries:
        if proto not in (protocol, "ip") or source not in (["any"], ["host", peer]):
            continue
        if proto == "ip" or dport == ["eq", port] or sport == ["eq", port]:
            return action == "permit"
    return False


@register_rule(PLATFORM)
def overlay_self(config: ConfigFile) -> Iterator[Finding]:
    """Where the zone of a BGP neighbour's interface has a policy towards the self zone, that
    policy passes the neighbour's BGP and, where the interface runs BFD, its BFD control packets:
    otherwise the session never comes up."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    bgp = next(top(root, "router", "bgp"), None)
    if bgp is None:
        return
    neighbours = [
        line for line in bgp.children if line.words[0] == "neighbor" and line.words[2:3] == ["remote-as"]
    ]
    subnets = []
    for interface in top(root, "interface"):
        address = next((line.words for line in interface.children if line.words[:2] == ["ip", "address"]), None)
        zone = next((line.words[2] for line in interface.children if line.words[:2] == ["zone-member", "security"]), None)
        if address and len(address) == 4 and zone and is_address(address[2]):
            network = ipaddress.IPv4Network(f"{address[2]}/{address[3]}", strict=False)
            subnets.append((network, zone, any(t.startswith("bfd interval") for t in interface.child_texts())))
    cache: dict[str, list[tuple[str, str, list[str], list[str], list[str], list[str]]] | None] = {}
    for line in neighbours:
        peer = line.words[1]
        if not is_address(peer):
            continue
        found = next(((zone, bfd) for network, zone, bfd in subnets if ipaddress.IPv4Address(peer) in network), None)
        if found is None:
            continue
        zone, bfd = found
        entries = cache[zone] if zone in cache else cache.setdefault(zone, _passed_rules(root, zone))
        if entries is None:
            continue
        wanted = [("tcp", "bgp", "BGP")] + ([("udp", "3784", "BFD")] if bfd else [])
        for protocol, port, name in wanted:
            if not _admits(entries, protocol, peer, port):
                yield config.finding(
                    line.number,
                    "cisco-segment-self",
                    f"{line.text}: the {zone} to self zone pair drops its {name}, so the session never comes up",
                )


@register_rule(PLATFORM)
def bfd_echo(config: ConfigFile) -> Iterator[Finding]:
    """Store interfaces running BFD run it in asynchronous mode only (`no bfd echo`). Echo mode
    is on by default wherever `bfd interval` is configured, and its packets, addressed to the
    router's own tunnel address, come back only if the hub forwards them back into the tunnel,
    which no hub does (common/platforms.py): with echo on, the session would go down although
    the tunnel carries traffic."""
    if config.suffix or config.role == "hub":
        return
    for interface in top(parse(config.text, ("!",)), "interface"):
        texts = interface.child_texts()
        if any(text.startswith("bfd interval") for text in texts) and "no bfd echo" not in texts:
            yield config.finding(
                interface.number,
                "cisco-bfd-echo",
                f"{interface.text}: BFD in echo mode (the default), which the hub does not loop back",
            )


@register_rule(PLATFORM)
def neighbor_descriptions(config: ConfigFile) -> Iterator[Finding]:
    """A BGP neighbour's description within what IOS-XE takes: up to 80 characters
    (`NEIGHBOR_DESCRIPTION_LIMIT`)."""
    if config.suffix:
        return
    for bgp in top(parse(config.text, ("!",)), "router", "bgp"):
        for line in bgp.children:
            words = line.text.split(" description ", 1)
            if line.words[:1] == ["neighbor"] and len(words) == 2 and len(words[1]) > NEIGHBOR_DESCRIPTION_LIMIT:
                yield config.finding(
                    line.number,
                    "cisco-description-length",
                    f"{line.text}: the description is longer than {NEIGHBOR_DESCRIPTION_LIMIT} characters",
                )


# The MQC actions that queue: a class with one of them schedules packets, one without only marks
# or polices them.
_QUEUING_ACTIONS = frozenset({"priority", "bandwidth", "shape", "fair-queue"})
# Logical targets (a tunnel, the template of sessions, a dialer): a queuing parent with
# user-defined classes is refused there, as on a Port-channel's main interface.
_LOGICAL_TARGETS = ("Tunnel", "Virtual-Template", "Dialer")


def _queuing_classes(root: Line) -> dict[str, list[tuple[Line, str | None, bool]]]:
    """Per QoS policy-map (not `type inspect`), its classes: (class line, the child policy it
    holds, whether the class queues itself)."""
    policies: dict[str, list[tuple[Line, str | None, bool]]] = {}
    for policy in top(root, "policy-map"):
        if len(policy.words) != 2:
            continue
        classes = policies.setdefault(policy.words[1], [])
        for klass in policy.children:
            if klass.words[:1] != ["class"]:
                continue
            inner = list(klass.walk())
            child = next((line.words[1] for line in inner if line.words[:1] == ["service-policy"] and len(line.words) == 2), None)
            queues = any(line.words[:1] == ["shape"] or line.words[:1] == ["bandwidth"] for line in inner)
            classes.append((klass, child, queues))
    return policies


@register_rule(PLATFORM)
def queuing_hierarchy(config: ConfigFile) -> Iterator[Finding]:
    """Hierarchical queuing policies in the shapes IOS-XE takes. A class holding a child policy
    that queues (priority, bandwidth, shape, fair-queue) queues itself (`shape` or `bandwidth`):
    else the router refuses the parent when it is attached ("Cannot attach queuing-based child
    policy to a non-queuing based class"). A parent whose user-defined class (not class-default)
    holds queues is attached to a physical main interface only: user-defined classes at the top
    of a queuing hierarchy are refused on port-channel main interfaces and on logical targets
    (tunnel, session, dialer: QoS Modular QoS CLI Configuration Guide, Cisco IOS XE,
    "3-Level User-Defined Queuing Policy Support", Restrictions)."""
    root = parse(config.text, ("!",))
    policies = _queuing_classes(root)

    def queues(name: str) -> bool:
        return any(
            line.words[:1] and line.words[0] in _QUEUING_ACTIONS
            for klass, _, _ in policies.get(name, [])
            for line in klass.walk()
        )

    for classes in policies.values():
        for klass, child, queued in classes:
            if child is not None and not queued and queues(child):
                yield config.finding(
                    klass.number,
                    "cisco-queuing-hierarchy",
                    f"{klass.text}: holds the queues of {child} but does not queue itself (no shape or bandwidth)",
                )
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        logical = name.startswith(_LOGICAL_TARGETS) or (name.startswith("Port-channel") and "." not in name)
        if not logical:
            continue
        for line in interface.children:
            if line.words[:2] != ["service-policy", "output"] or len(line.words) != 3:
                continue
            named = [
                klass.text for klass, child, _ in policies.get(line.words[2], [])
                if child is not None and klass.words[1:] != ["class-default"] and queues(child)
            ]
            if named:
                yield config.finding(
                    line.number,
                    "cisco-queuing-hierarchy",
                    f"{interface.text}: {line.words[2]} queues in a user-defined class ({named[0]}), "
                    "which IOS-XE takes on a physical main interface only",
                )


_JITTER_OPERATIONS = ("udp-jitter", "icmp-jitter")
# An operation's tag is at most 16 characters (CISCO-RTTMON-MIB rttMonCtrlAdminTag).
_TAG_MAX = 16
_PROBE_OPERATIONS = ("udp-jitter", "icmp-jitter", "icmp-echo")


# The reactions whose breach must move traffic (loss and jitter; rtt is the track's threshold).
_STEERING_REACTIONS = frozenset(
    reaction for reactions in IOS_STEERING_REACTIONS.values() for reaction, _ in reactions
)
# What an EEM applet of the steering listens for: the reaction log line `ip sla logging traps`
# writes (see `devices/steering.py`, IOS_THRESHOLD_LOG).
_THRESHOLD_PATTERN = re.compile(r"^IP SLAs\\\((\d+)\\\): Threshold (Occurred|Cleared) for (\w+)$")


@dataclass(frozen=True, slots=True)
class _Applet:
    line: Line
    operation: str | None  # the IP SLA operation its syslog pattern names
    event: str | None  # Occurred | Cleared
    reaction: str | None
    sets: dict[str, str]  # track -> state it sets


def _applets(root: Line) -> list[_Applet]:
    """The EEM applets that set a track from an IP SLA threshold message."""
    found = []
    for section in top(root, "event", "manager", "applet"):
        operation = event = reaction = None
        sets: dict[str, str] = {}
        for line in section.children:
            w = line.words
            if w[:3] == ["event", "syslog", "pattern"]:
                match = _THRESHOLD_PATTERN.match(line.text.partition("pattern")[2].strip().strip('"'))
                if match:
                    operation, event, reaction = match.groups()
            elif w[:1] == ["action"] and w[2:4] == ["track", "set"] and len(w) > 6:
                sets[w[4]] = w[6]
        found.append(_Applet(section, operation, event, reaction, sets))
    return found


def _list_members(root: Line, *, negated: bool = True) -> dict[str, list[str]]:
    """track list -> the tracks it combines (without `negated`, only those it takes as they are,
    not inverted by `object N not`)."""
    return {
        line.words[1]: [
            child.words[1]
            for child in line.children
            if child.words[0] == "object" and len(child.words) > 1 and (negated or "not" not in child.words[2:])
        ]
        for line in top(root, "track")
        if line.words[2:3] == ["list"]
    }


def _closure(track: str, members: dict[str, list[str]]) -> set[str]:
    """A track and every track a list it is depends on, transitively."""
    seen: set[str] = set()
    pending = [track]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(members.get(current, []))
    return seen


@register_rule(PLATFORM)
def reaction_steering(config: ConfigFile) -> Iterator[Finding]:
    """Loss and jitter move traffic, not only raise traps: every stub track is set down and up by
    EEM applets whose syslog patterns name an IP SLA reaction that exists, every applet sets a
    stub (a track of another kind cannot be set), and every loss or jitter reaction of an
    operation a route-map steers by feeds a stub that route-map's track depends on."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    stubs = {line.words[1]: line for line in top(root, "track") if line.words[2:3] == ["stub-object"]}
    reactions = {
        (line.words[3], after(line.words, "react") or ""): line
        for line in top(root, "ip", "sla", "reaction-configuration")
        if len(line.words) > 3
    }
    applets = _applets(root)
    driven: dict[str, set[str]] = {}  # stub -> states applets set it to
    fed: dict[str, set[tuple[str, str]]] = {}  # stub -> (operation, reaction) that set it
    for applet in applets:
        for track, state in applet.sets.items():
            if track not in stubs:
                yield config.finding(
                    applet.line.number,
                    "cisco-eem-track",
                    f"{applet.line.text}: sets track {track}, which is no stub-object (EEM can set only stubs)",
                )
                continue
            if applet.operation is None:
                yield config.finding(
                    applet.line.number,
                    "cisco-eem-track",
                    f"{applet.line.text}: sets track {track} on an event that is no IP SLA threshold message",
                )
                continue
            if (applet.operation, applet.reaction or "") not in reactions:
                yield config.finding(
                    applet.line.number,
                    "cisco-eem-track",
                    f"{applet.line.text}: listens for {applet.reaction} of ip sla {applet.operation}, "
                    "which has no such reaction (the message never comes)",
                )
            wanted = "down" if applet.event == "Occurred" else "up"
            if state != wanted:
                yield config.finding(
                    applet.line.number,
                    "cisco-eem-track",
                    f"{applet.line.text}: sets track {track} {state} when the threshold is {applet.event.lower() if applet.event else ''}",
                )
            driven.setdefault(track, set()).add(state)
            fed.setdefault(track, set()).add((applet.operation, applet.reaction or ""))
    for track, line in stubs.items():
        missing = {"down", "up"} - driven.get(track, set())
        if missing:
            yield config.finding(
                line.number,
                "cisco-track-stub-unset",
                f"{line.text}: no EEM applet sets it {' or '.join(sorted(missing))}",
            )
    members = _list_members(root)
    for section in top(root, "route-map"):
        for line in section.children:
            w = line.words
            if w[:4] != ["set", "ip", "next-hop", "verify-availability"] or "track" not in w:
                continue
            depends = _closure(after(w, "track") or "", members)
            operations = {
                after(track.words, "sla")
                for track in top(root, "track")
                if track.words[1] in depends and "sla" in track.words
            }
            covered = {pair for stub in depends for pair in fed.get(stub, set())}
            for (operation, reaction), reaction_line in sorted(reactions.items()):
                if operation in operations and reaction in _STEERING_REACTIONS and (operation, reaction) not in covered:
                    yield config.finding(
                        line.number,
                        "cisco-sla-reaction-unenforced",
                        f"{section.text}: {reaction} of ip sla {operation} (line {reaction_line.number}) only "
                        f"raises a trap; no stub track of {after(w, 'track')} follows it, so traffic does not move",
                    )


@register_rule(PLATFORM)
def return_path(config: ConfigFile) -> Iterator[Finding]:
    """Stores: see `_store_return_path`. Hubs: `return_ranking`, read by the cross-file check."""
    if config.suffix or config.role == "hub":
        return
    yield from _store_return_path(config)


@register_ranking(PLATFORM)
def return_ranking(config: ConfigFile) -> RankingFacts:
    """Hub: the route-map entries that rank routes by local preference and the `ip
    community-list`s, for the cross-file check that those bound to store sessions take the
    routes a store tags degraded (`match community`) below every untagged route of the same
    store."""
    root = parse(config.text, ("!",))
    lists = {line.words[3] for line in top(root, "ip", "community-list") if len(line.words) > 3}
    return RankingFacts("cisco-return-path", route_map_ranking(root), lists)


def _store_return_path(config: ConfigFile) -> Iterator[Finding]:
    """A store announces itself to a hub over a steered tunnel only while that tunnel meets its
    SLA or no tunnel does (conditional advertisement): every steered hub neighbour has an
    advertise-map, and its exist-map's signals are host routes in the BGP table (`network`) that
    a Null0 static brings and takes with a track; the tunnel's own signal follows a steering
    track of that very next hop. A signal nothing brings never exists: the store is then never
    announced over that tunnel."""
    root = parse(config.text, ("!",))
    bgp = next(top(root, "router", "bgp"), None)
    if bgp is None:
        return
    steered: dict[str, set[str]] = {}  # next hop -> steering tracks guarding it
    for section in top(root, "route-map"):
        for line in section.children:
            w = line.words
            if w[:4] == ["set", "ip", "next-hop", "verify-availability"] and "track" in w and len(w) > 4:
                steered.setdefault(w[4], set()).add(after(w, "track") or "")
    announced = {
        line.words[1]
        for line in bgp.walk()
        if line.words[0] == "network" and line.words[2:] == ["mask", "255.255.255.255"]
    }
    signals = {
        line.words[2]: after(line.words, "track")
        for line in top(root, "ip", "route")
        if len(line.words) > 4 and line.words[3:5] == ["255.255.255.255", "Null0"] and "track" in line.words
    }
    prefix_lists = {
        name: [str(rule.prefix.network_address) for rule in rules if rule.permit and rule.prefix.prefixlen == 32]
        for name, rules in line_prefix_lists(config).items()
    }
    maps = {
        section.words[1]: next(
            (line.words[4] for line in section.children if line.words[:4] == ["match", "ip", "address", "prefix-list"]),
            "",
        )
        for section in top(root, "route-map")
    }
    conditioned: set[str] = set()
    for line in bgp.walk():
        w = line.words
        if w[0] != "neighbor" or "advertise-map" not in w:
            continue
        peer = w[1]
        conditioned.add(peer)
        exist = after(w, "exist-map") or ""
        candidates = prefix_lists.get(maps.get(exist, ""), [])
        alive = [ip for ip in candidates if ip in announced and signals.get(ip)]
        if not alive:
            yield config.finding(
                line.number,
                "cisco-return-path",
                f"{line.text}: no signal of {exist} is a tracked Null0 host route in the BGP table, so the "
                f"store is never announced to {peer}",
            )
            continue
        own = steered.get(peer, set())
        if own and not any(signals.get(ip) in own for ip in alive):
            yield config.finding(
                line.number,
                "cisco-return-path",
                f"{line.text}: the signals of {exist} follow tracks {', '.join(sorted(str(signals.get(ip)) for ip in alive))}, "
                f"none of which steers traffic to {peer}: the hub's return path ignores this path's SLA",
            )
    for peer in sorted(set(steered) - conditioned):
        neighbor = next(
            (line for line in bgp.walk() if line.words[:3] == ["neighbor", peer, "remote-as"]), None
        )
        if neighbor is not None:
            yield config.finding(
                neighbor.number,
                "cisco-return-path",
                f"{neighbor.text}: traffic to {peer} is steered by SLA, but the store is announced to it "
                "unconditionally, so the hub returns traffic over it out of SLA",
            )


@register_rule(PLATFORM)
def tracking(config: ConfigFile) -> Iterator[Finding]:
    """Every IP SLA operation is scheduled (else it never runs), tracked and tagged within 16
    characters, every track is referenced by a route or a route-map (else it measures and moves
    nothing), and every application route-map is applied to an interface."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    scheduled = {line.words[3] for line in top(root, "ip", "sla", "schedule") if len(line.words) > 3}
    tracked = {after(line.words, "sla") for line in top(root, "track") if "sla" in line.words}
    used = {
        after(line.words, "track") or ""
        for section in top(root, "route-map")
        for line in section.children
        if line.words[:2] == ["set", "ip"] and "track" in line.words
    }
    used |= {after(line.words, "track") or "" for line in top(root, "ip", "route") if "track" in line.words}
    # A track a list combines is used if the list is.
    members = _list_members(root)
    used = set().union(*(_closure(track, members) for track in used)) if used else used
    for sla in root.children:
        w = sla.words
        if w[:2] != ["ip", "sla"] or len(w) != 3 or not w[2].isdigit():
            continue
        for line in sla.children:
            if line.words[0] == "tag" and len(line.text) - len("tag ") > _TAG_MAX:
                yield config.finding(
                    line.number, "cisco-ip-sla-tag", f"{sla.text}: tag longer than {_TAG_MAX} characters"
                )
        if w[2] not in scheduled:
            yield config.finding(sla.number, "cisco-ip-sla-unscheduled", f"{sla.text} is never scheduled")
        if w[2] not in tracked:
            yield config.finding(sla.number, "cisco-ip-sla-untracked", f"{sla.text}: no track follows it")
    for track in top(root, "track"):
        if len(track.words) > 1 and track.words[1] not in used:
            yield config.finding(
                track.number, "cisco-track-unused", f"{track.text}: no route or route-map uses it, nor a list one does"
            )
    applied = {name for kind, name, _ in references(root) if kind == "route-map"}
    for section in top(root, "route-map"):
        steers = any(
            line.words[:3] == ["match", "ip", "address"]
            and len(line.words) > 3
            and line.words[3].startswith(APPLICATION_ACL_PREFIX)
            for line in section.children
        )
        if steers and section.words[1] not in applied:
            yield config.finding(
                section.number,
                "cisco-policy-unapplied",
                f"{section.text}: no interface applies it (ip policy route-map)",
            )


@register_steering(PLATFORM)
def steering(config: ConfigFile) -> SteeringFacts:
    """The IP SLA operations (class: their `tag`, the class name) with their tracks and
    reactions, and the application route-maps (`match ip address APP-<NAME>`) with their
    tracked next hops."""
    root = parse(config.text, ("!",))
    tracks = {after(line.words, "sla"): line for line in top(root, "track") if "sla" in line.words}
    # The hold-down and recovery of an operation are those of the list that combines its
    # return-code track with its reaction stubs, where there is one; a list that takes the
    # track inverted (`object N not`: every path of a class down, a return signal) is no such list.
    members = _list_members(root, negated=False)
    lists = {line.words[1]: line for line in top(root, "track") if line.words[1] in members}
    by_number = {line.words[1]: sla for sla, line in tracks.items()}  # return-code tracks only
    for name, combined in members.items():
        for member in combined:
            state = by_number.get(member)
            if state is not None:
                tracks[state] = lists[name]
    reactions: dict[str, dict[str, int]] = {}
    for line in top(root, "ip", "sla", "reaction-configuration"):
        w = line.words
        value = after(w, "threshold-value")
        if len(w) > 3 and value is not None and value.isdigit():
            reactions.setdefault(w[3], {})[after(w, "react") or ""] = int(value)
    probes = []
    for sla in root.children:
        w = sla.words
        if w[:2] != ["ip", "sla"] or len(w) != 3 or not w[2].isdigit():
            continue
        values = {line.words[0]: line.words[1:] for line in sla.children}
        operation = next((values[kind] for kind in _PROBE_OPERATIONS if kind in values), [])
        track = tracks.get(w[2])
        delays = {"down": 0, "up": 0}
        for line in track.children if track is not None else []:
            if line.words[0] == "delay":
                delays.update(
                    {key: int(after(line.words, key) or 0) for key in ("down", "up") if key in line.words}
                )
        react = reactions.get(w[2], {})
        threshold = values.get("threshold", [])
        probes.append(
            ProbeFact(
                line=sla.number,
                name=sla.text,
                sla_class=values["tag"][0] if values.get("tag") else None,
                next_hop=operation[0] if operation else None,
                latency_ms=int(threshold[0]) if threshold else None,
                jitter_ms=react.get("jitterAvg"),
                loss_packets=react.get("packetLossSD", react.get("packetLoss")),
                packets=int(after(operation, "num-packets") or 0) or None,
                hold_down_s=delays["down"] if track is not None else None,
                recovery_s=delays["up"] if track is not None else None,
                tos=probe_tos(values),
            )
        )
    policies = []
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended") if len(line.words) > 3}
    # Route tracks of host routes (a hub's beacon), and every track each track depends on.
    host_routes = {
        line.words[1]: line.words[4]
        for line in top(root, "track")
        if line.words[2:4] == ["ip", "route"] and line.words[5:7] == ["255.255.255.255", "reachability"]
    }
    all_members = _list_members(root, negated=False)
    for section in top(root, "route-map"):
        acl = next(
            (line.words[3] for line in section.children if line.words[:3] == ["match", "ip", "address"]), ""
        )
        if not acl.startswith(APPLICATION_ACL_PREFIX):
            continue
        hops = sorted(
            (int(line.words[5]), line.words[4])
            for line in section.children
            if line.words[:4] == ["set", "ip", "next-hop", "verify-availability"] and len(line.words) > 5
        )
        matched = acls.get(acl)
        guards = {
            line.words[4]: frozenset(
                host_routes[track] for track in _closure(line.words[7], all_members) if track in host_routes
            )
            for line in section.children
            if line.words[:4] == ["set", "ip", "next-hop", "verify-availability"] and line.words[6:7] == ["track"]
            and len(line.words) > 7
        }
        policies.append(
            PolicyFact(
                section.number,
                acl.removeprefix(APPLICATION_ACL_PREFIX).lower(),
                tuple(hop for _, hop in hops),
                # The route map sets its next hops for what its ACL permits; the rest is routed.
                steers=_permitted_by(matched) if matched is not None else None,
                guards=guards,
            )
        )
    return SteeringFacts(probes, policies)


def _permitted_by(acl: Line) -> Callable[[Packet], bool | None]:
    """Whether extended ACL `acl` permits a packet (`acl_verdict`)."""
    return lambda packet: acl_verdict(acl, packet).forwarded


def _tunnel_name(interface: Line) -> str:
    """The tunnel id the description carries ("description ipsec <id> ..."), else the interface."""
    return tunnel_id(interface.child_texts()) or interface.words[1]


def _children(line: Line | None) -> list[Line]:
    return line.children if line is not None else []


# ---------------------------------------------------------------- FlexVPN server

_INTERFACE_CONFIG = ("attribute", "type", "interface-config")


@dataclass(frozen=True, slots=True)
class _TemplatePeer:
    """One keyring peer of an IKEv2 profile that clones a virtual template (a FlexVPN server):
    what its virtual-access gets from the authorization policy its mangled identity names."""

    line: Line  # the keyring's `peer` line
    profile: Line  # the IKEv2 profile
    template: str  # Virtual-TemplateN
    identity: str | None  # identity fqdn
    psk: str | None
    policy: str | None  # the authorization policy name the name mangler derives; None: no group authorization
    interface_config: list[str]  # the attribute list's interface-config commands, unquoted
    address: tuple[str, str] | None  # `ip address A M` among them


def _mangled(identity: str, mangler: Line | None) -> str | None:
    """The name an IKEv2 name mangler derives from an FQDN identity (`fqdn all | hostname | domain`)."""
    if mangler is None:
        return None
    for line in mangler.children:
        if line.words[:1] == ["fqdn"] and len(line.words) > 1:
            host, _, domain = identity.partition(".")
            return {"all": identity, "hostname": host, "domain": domain}.get(line.words[1])
    return None


def _template_peers(root: Line) -> list[_TemplatePeer]:
    """Every store peer a FlexVPN server's IKEv2 profiles answer with a virtual template."""
    keyrings = {line.words[3]: line for line in top(root, "crypto", "ikev2", "keyring") if len(line.words) > 3}
    manglers = {line.words[3]: line for line in top(root, "crypto", "ikev2", "name-mangler") if len(line.words) > 3}
    policies = {
        line.words[4]: line for line in top(root, "crypto", "ikev2", "authorization", "policy") if len(line.words) > 4
    }
    lists = {line.words[3]: line for line in top(root, "aaa", "attribute", "list") if len(line.words) > 3}
    peers = []
    for profile in top(root, "crypto", "ikev2", "profile"):
        values = {line.words[0]: line.words for line in profile.children}
        template = values.get("virtual-template")
        ring = keyrings.get(after(values.get("keyring", []), "local") or "")
        if template is None or len(template) < 2 or ring is None:
            continue
        group = next(
            (line.words for line in profile.children if line.words[:3] == ["aaa", "authorization", "group"]), []
        )
        mangler = manglers.get(after(group, "name-mangler") or "")
        for peer in ring.children:
            texts = peer.child_texts()
            identity = next((t.split()[2] for t in texts if t.startswith("identity fqdn ") and len(t.split()) > 2), None)
            psk = next((t.split(maxsplit=1)[1] for t in texts if t.startswith("pre-shared-key")), None)
            policy = _mangled(identity, mangler) if identity and group else None
            attributes = policies.get(policy or "")
            listed = next(
                (line.words[3] for line in _children(attributes) if line.words[:3] == ["aaa", "attribute", "list"]),
                "",
            )
            config = [
                line.text.split(maxsplit=3)[3].strip('"')
                for line in _children(lists.get(listed))
                if tuple(line.words[:3]) == _INTERFACE_CONFIG and len(line.words) > 3
            ]
            address = next(
                ((w[2], w[3]) for w in (text.split() for text in config) if w[:2] == ["ip", "address"] and len(w) == 4),
                None,
            )
            peers.append(
                _TemplatePeer(peer, profile, f"Virtual-Template{template[1]}", identity, psk, policy, config, address)
            )
    return peers


@register_rule(PLATFORM)
def virtual_templates(config: ConfigFile) -> Iterator[Finding]:
    """A FlexVPN server's virtual template is unnumbered (every virtual-access cloned from an
    addressed template would carry the same address), and each store peer's virtual-access gets
    its own overlay address from the authorization policy its identity names; every BGP
    neighbour that no interface reaches lies on one of those addresses. No BFD on a virtual
    template or its virtual-access interfaces, nor for a BGP neighbour reached through one: IOS
    accepts the lines, but "BFD functionality on virtual-template and dialer interfaces is not
    supported" (IP Routing BFD Configuration Guide, "BFD - Static Route Support", Restrictions)."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for interface in top(root, "interface"):
        if len(interface.words) > 1 and interface.words[1].startswith("Virtual-Template"):
            for line in interface.children:
                if line.words[:2] == ["ip", "address"]:
                    yield config.finding(
                        line.number,
                        "cisco-virtual-template-numbered",
                        f"{interface.text}: a virtual template takes `ip unnumbered`, not {line.text!r} "
                        "(every virtual-access cloned from it would carry that address)",
                    )
                if "bfd" in line.words[:2]:
                    yield config.finding(
                        line.number,
                        "cisco-virtual-access-bfd",
                        f"{interface.text}: {line.text!r}: BFD does not run on virtual-template interfaces",
                    )
    peers = _template_peers(root)
    for peer in peers:
        for text in peer.interface_config:
            if text.split()[:1] == ["bfd"]:
                yield config.finding(
                    peer.line.number,
                    "cisco-virtual-access-bfd",
                    f"{peer.line.text} ({peer.identity}): interface-config {text!r}: BFD does not run on "
                    "virtual-access interfaces",
                )
    subnets = []
    for peer in peers:
        if peer.address is None:
            where = (
                "its profile has no `aaa authorization group psk list ... name-mangler`"
                if peer.policy is None
                else f"authorization policy {peer.policy!r} gives no `interface-config \"ip address ...\"`"
            )
            yield config.finding(
                peer.line.number,
                "cisco-virtual-access-unaddressed",
                f"{peer.line.text} ({peer.identity}): its virtual-access gets no overlay address: {where}",
            )
            continue
        try:
            subnets.append(ipaddress.IPv4Interface("/".join(peer.address)).network)
        except ValueError:
            continue
    if not peers:
        return
    connected = []
    for interface in top(root, "interface"):
        for line in interface.children:
            w = line.words
            if w[:2] == ["ip", "address"] and len(w) == 4 and is_address(w[2]):
                connected.append(ipaddress.IPv4Interface(f"{w[2]}/{w[3]}").network)
    groups: dict[str, list[ipaddress.IPv4Address]] = {}
    bfd: list[Line] = []
    for line in root.walk():
        w = line.words
        if w[0] == "neighbor" and w[2:3] == ["remote-as"] and is_address(w[1]):
            address = ipaddress.IPv4Address(w[1])
            if not any(address in net for net in (*connected, *subnets)):
                yield config.finding(
                    line.number,
                    "cisco-virtual-access-unaddressed",
                    f"{line.text}: no interface and no store peer's authorization policy puts the hub on {w[1]}'s subnet",
                )
        elif w[0] == "neighbor" and w[2:3] == ["peer-group"] and len(w) == 4 and is_address(w[1]):
            groups.setdefault(w[3], []).append(ipaddress.IPv4Address(w[1]))
        elif w[0] == "neighbor" and w[2:4] == ["fall-over", "bfd"] and "multi-hop" not in w:
            bfd.append(line)
    # A neighbour (or a peer group with a member) on a store peer's virtual-access subnet and not
    # on a connected one: its single-hop BFD session would ride a virtual-access.
    for line in bfd:
        name = line.words[1]
        members = [ipaddress.IPv4Address(name)] if is_address(name) else groups.get(name, [])
        through = [a for a in members if any(a in n for n in subnets) and not any(a in n for n in connected)]
        if through:
            yield config.finding(
                line.number,
                "cisco-virtual-access-bfd",
                f"{line.text}: {through[0]} is reached through a virtual-access, where BFD does not run",
            )


# ---------------------------------------------------------------- hub infrastructure ACL

# Interfaces that carry no packets of their own from outside the router (a virtual template
# only clones; tunnels and virtual-access interfaces carry decrypted overlay traffic).
_UNFILTERED_KINDS = ("Loopback", "Tunnel", "Virtual-Template", "Null")
# A hub's tunnels do carry packets from outside it, decrypted: a store's (FROM-STORES) or a
# cloud's (FROM-CLOUD-<site>), neither of which the hub trusts, so each filters what it takes in like a
# routed port. The virtual template's clones take FROM-STORES from the template itself.
_HUB_UNFILTERED_KINDS = ("Loopback", "Virtual-Template", "Null")
# What reaches the router's own addresses and must only come from the management ranges.
_MANAGEMENT_SERVICES = (("tcp", 22), ("tcp", 23), ("tcp", 80), ("tcp", 443), ("tcp", 830), ("udp", 161))
# IOS port names as extended ACLs print them.
_IOS_PORTS = {
    "bgp": 179, "domain": 53, "ntp": 123, "snmp": 161, "tacacs": 49, "telnet": 23, "www": 80,
    "isakmp": 500, "non500-isakmp": 4500, "bootps": 67, "bootpc": 68, "syslog": 514,
}  # fmt: skip


def _port(word: str) -> int | None:
    return int(word) if word.isdigit() else _IOS_PORTS.get(word)


def _endpoint(words: list[str], at: int) -> tuple[ipaddress.IPv4Network | None, int]:
    """An ACL address (`any`, `host A`, `A WILDCARD`) at `at`: the network (None: any) and the next index."""
    if at >= len(words) or words[at] == "any":
        return None, at + 1
    if words[at] == "host" and at + 1 < len(words):
        return ipaddress.IPv4Network(words[at + 1]), at + 2
    if at + 1 < len(words) and is_address(words[at]) and is_address(words[at + 1]):
        # A host's wildcard (0.0.0.0) read as a mask would be /0, every address.
        mask = "32" if words[at + 1] == "0.0.0.0" else words[at + 1]
        return ipaddress.IPv4Network(f"{words[at]}/{mask}", strict=False), at + 2
    return None, at + 1


def _ports(words: list[str], at: int) -> tuple[tuple[str, list[int]] | None, int]:
    """A port qualifier (`eq P`, `range A B`, `gt P`, `lt P`, `neq P`) at `at`, and the next index."""
    if at < len(words) and words[at] in ("eq", "gt", "lt", "neq") and at + 1 < len(words):
        return (words[at], [_port(words[at + 1]) or -1]), at + 2
    if at < len(words) and words[at] == "range" and at + 2 < len(words):
        return ("range", [_port(words[at + 1]) or -1, _port(words[at + 2]) or -1]), at + 3
    return None, at


def _port_matches(qualifier: tuple[str, list[int]] | None, port: int) -> bool | None:
    """Whether `port` satisfies the qualifier; None when it cannot be told (an unknown name)."""
    if qualifier is None:
        return True
    op, values = qualifier
    if -1 in values:
        return None
    if op == "eq":
        return port == values[0]
    if op == "range":
        return values[0] <= port <= values[1]
    if op == "gt":
        return port > values[0]
    if op == "lt":
        return port < values[0]
    return port != values[0]


def _exposed_by(entries: list[_AclEntry], protocol: str, port: int, address: ipaddress.IPv4Address) -> Line | None:
    """The entry of an extended ACL (its entries as `_acl_entries` reads them once) that permits
    `protocol`/`port` to `address` from a source only `any` matches (anywhere), first match wins;
    None when an earlier deny or the implicit deny drops it. A source-port condition never saves a
    permit (the sender chooses its source port), nor makes a deny match."""
    for entry, action, entry_protocol, source, source_ports, destination, destination_ports, rest, _, _ in entries:
        if entry_protocol not in ("ip", protocol) or (action == "permit" and "established" in rest):
            continue  # `established` matches no connection attempt (ACK or RST set)
        if source is not None and source.prefixlen > 0:
            continue
        if action == "deny" and source_ports is not None:
            continue
        if destination is not None and address not in destination:
            continue
        matches = _port_matches(destination_ports, port) if entry_protocol != "ip" else True
        if matches is None:
            matches = action == "permit"
        if matches:
            return entry if action == "permit" else None
    return None


@register_rule(PLATFORM)
def hub_infrastructure(config: ConfigFile) -> Iterator[Finding]:
    """A hub's routed ports (the DC core LAN the stores' IKE and ESP arrive on) and its tunnels
    (to a store with a static address, to a cloud) filter what enters with an inbound ACL that
    exists, and that ACL lets no management service
    (SSH, Telnet, HTTP(S), NETCONF, SNMP) reach an address of the hub from anywhere, and permits
    UDP by its source port only to the one port it answers (NTP's `eq ntp ... eq ntp`): the
    sender chooses its source port and a stateless ACL cannot tie an answer to a request, so
    `permit udp host S eq domain host O` lets anyone sending from S's address and port 53 reach
    every UDP port of the hub, SNMP included."""
    if config.suffix or config.role != "hub":
        return
    root = parse(config.text, ("!",))
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended") if len(line.words) > 3}
    own: list[ipaddress.IPv4Address] = []
    ports: list[tuple[Line, str | None]] = []
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        if "vrf forwarding Mgmt-intf" in interface.child_texts():
            # The out-of-band management port: its VRF reaches no other port, so what enters the
            # others never reaches its address; the management LAN's SSH and SNMP are held to the
            # management ranges by the VTYs' and the SNMP group's MGMT-HQ (`hub-management-held`).
            continue
        addresses = [
            line.words[2]
            for line in interface.children
            if line.words[:2] == ["ip", "address"] and len(line.words) == 4 and is_address(line.words[2])
        ]
        own += [ipaddress.IPv4Address(a) for a in addresses]
        if addresses and not name.startswith(_HUB_UNFILTERED_KINDS):
            ports.append(
                (
                    interface,
                    next(
                        (
                            line.words[2]
                            for line in interface.children
                            if line.words[:2] == ["ip", "access-group"] and line.words[3:] == ["in"]
                        ),
                        None,
                    ),
                )
            )
    # A hub's store tunnels share one ACL: each ACL is read, and its exposures found, once.
    read: dict[str, tuple[list[_AclEntry], list[tuple[Line, str, int, ipaddress.IPv4Address]]]] = {}
    for interface, acl_name in ports:
        acl = acls.get(acl_name or "")
        if acl is None:
            yield config.finding(
                interface.number,
                "cisco-hub-unfiltered",
                f"{interface.text}: no inbound infrastructure ACL"
                + (f" ({acl_name} is not an extended ACL of this config)" if acl_name else "")
                + ": every service of the hub answers whatever reaches this port",
            )
            continue
        if acl.text not in read:
            entries = _acl_entries(acl)
            exposures = [
                (entry, protocol, port, address)
                for protocol, port in _MANAGEMENT_SERVICES
                for address in own
                if (entry := _exposed_by(entries, protocol, port, address)) is not None
            ]
            read[acl.text] = (entries, exposures)
        entries, exposures = read[acl.text]
        reported: set[int] = set()
        for line, action, protocol, _, source_ports, _, destination_ports, _, _, _ in entries:
            one_port = destination_ports is not None and destination_ports[0] == "eq"
            if action == "permit" and protocol == "udp" and source_ports is not None and not one_port:
                reported.add(line.number)
                yield config.finding(
                    line.number,
                    "cisco-hub-source-port",
                    f"{acl.text} (on {interface.words[1]}): {line.text!r} lets its source reach "
                    f"{'any UDP port' if destination_ports is None else 'more than one UDP port'} "
                    "of the hub by sending from that port; name the one port the answers come back to",
                )
        for entry, protocol, port, address in exposures:
            if entry.number not in reported:
                reported.add(entry.number)
                yield config.finding(
                    entry.number,
                    "cisco-hub-exposed",
                    f"{acl.text} (on {interface.words[1]}): {entry.text!r} lets {protocol} {port} reach "
                    f"{address} from anywhere, not only from the management ranges",
                )


# One extended ACL entry as read once: (line, action, protocol, source, source ports, destination,
# destination ports, the words after them, whether it names an object group).
_AclEntry = tuple[
    Line,
    str,
    str,
    ipaddress.IPv4Network | None,
    tuple[str, list[int]] | None,
    ipaddress.IPv4Network | None,
    tuple[str, list[int]] | None,
    list[str],
    bool,
    # the source's and the destination's network as integers (value, mask; mask 0: any), which
    # `_entries_verdict` tests a packet's addresses against
    tuple[int, int, int, int],
]


@register_rule(PLATFORM)
def underlay_ports(config: ConfigFile) -> Iterator[Finding]:
    """A port the tunnels' outside traffic crosses (a store's WAN port: a tunnel's source or an
    outside NAT interface; a hub's routed port, where the DC edge delivers IKE and ESP) sends no
    ICMP redirects and, on Ethernet, answers ARP for its own addresses only: IOS-XE does both by
    default, telling the segment's hosts of other routers and claiming every address it routes to
    (Cisco Router and Security Device Manager 2.2 User's Guide, Security Audit, "Disable IP
    Redirects", "Disable IP Proxy ARP")."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    underlay = _tunnel_sources(root)
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        if name.startswith(_UNFILTERED_KINDS):  # a loopback source: the port is the route's
            continue
        children = interface.child_texts()
        # Not the out-of-band management port: its VRF (Mgmt-intf) forwards nothing and no
        # tunnel's outside traffic crosses it.
        routed = (
            config.role == "hub"
            and any(text.startswith("ip address ") for text in children)
            and "vrf forwarding Mgmt-intf" not in children
        )
        if not (routed or name in underlay or "ip nat outside" in children):
            continue
        missing = [
            command
            for command, applies in (("no ip redirects", True), ("no ip proxy-arp", "Ethernet" in name or "GigE" in name))
            if applies and command not in children
        ]
        if missing:
            yield config.finding(
                interface.number,
                "cisco-underlay-port",
                f"{interface.text}: underlay port without {' and '.join(f'`{c}`' for c in missing)}",
            )


@register_rule(PLATFORM)
def tunnel_redirects(config: ConfigFile) -> Iterator[Finding]:
    """Every tunnel interface (a store's hub and AWS tunnels, a hub's virtual template and cloud
    tunnels) sends no ICMP redirects: IOS enables them on every interface by default (`ip
    redirects`: "Redirects are enabled by default on all interfaces unless HSRP is configured"),
    and a redirect from a tunnel tells its far end, a hub or a cloud, of the store's routes."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        if not name.startswith(("Tunnel", "Virtual-Template")):
            continue
        if "no ip redirects" not in interface.child_texts():
            yield config.finding(
                interface.number,
                "cisco-tunnel-redirects",
                f"{interface.text}: a tunnel without `no ip redirects` sends ICMP redirects to its far end",
            )


@register_rule(PLATFORM)
def port_shutdown(config: ConfigFile) -> Iterator[Finding]:
    """Every physical Ethernet port the config uses says `no shutdown`: an unconfigured routed
    port of an ISR or Catalyst 8000 edge may be administratively down, and a merge that never
    enables it leaves the store's WAN link, its LAN trunk (and every segment on it) or the hub's
    DC port dark ("shutdown (interface)", Cisco IOS command reference: the no form restarts a
    disabled interface). A subinterface, tunnel or loopback is up once created."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        if "Ethernet" not in name or "." in name:
            continue
        children = interface.child_texts()
        if "shutdown" in children or "no shutdown" not in children:
            yield config.finding(
                interface.number,
                "cisco-port-shutdown",
                f"{interface.text}: a port the config uses without `no shutdown`: it stays down where it was",
            )


# What a LAN host sends to its gateway address, the router itself: a ping, and a DHCP renewal
# (RFC 2131 4.4.5: in RENEWING a client unicasts its DHCPREQUEST to the server that leased it).
_GATEWAY_SERVICES = (("icmp", None), ("udp", 67))


@register_rule(PLATFORM)
def policy_routing_self(config: ConfigFile) -> Iterator[Finding]:
    """An interface's policy routing (`ip policy route-map`) leaves packets addressed to the
    router itself alone: a route-map sequence that sets a next hop or an interface for what its
    ACL permits redirects every packet it matches, those for the router's own addresses too
    (interface PBR acts on what arrives before the routing decision, the same reason the steering
    ACLs deny the store's own prefixes first and VRP's LAN policy takes them apart,
    devices/views/lanpolicy.py), so a host's ping to its gateway and its DHCP renewal, unicast to
    the gateway, would leave towards the next hop and never reach the router. Checked for each
    interface with a policy and an address: a host of its subnet to the interface's own address;
    the first sequence whose match permits the packet decides (a `deny` sequence routes it
    normally, as does `set ip default next-hop`, which applies only without a route)."""
    if config.suffix:
        return
    root = parse(config.text, ("!",))
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended") if len(line.words) > 3}
    sequences: dict[str, list[Line]] = {}
    for line in top(root, "route-map"):
        if len(line.words) >= 4 and line.words[3].isdigit():
            sequences.setdefault(line.words[1], []).append(line)
    for interface in top(root, "interface"):
        policy = next((line for line in interface.children if line.words[:3] == ["ip", "policy", "route-map"]), None)
        own = interface_address(interface)
        if policy is None or len(policy.words) < 4 or own is None:
            continue
        host = next((h for h in own.network.hosts() if h != own.ip), own.ip)
        for protocol, port in _GATEWAY_SERVICES:
            packet = Packet(protocol, host, own.ip, port)
            redirect = _policy_redirect(sorted(sequences.get(policy.words[3], []), key=lambda s: int(s.words[3])), acls, packet)
            if redirect is not None:
                what = "a ping" if protocol == "icmp" else f"{protocol} {port}"
                yield config.finding(
                    redirect.number,
                    "cisco-pbr-self",
                    f"{redirect.text} (on {interface.words[1]}): policy-routes {what} from {own.network} to the "
                    f"router's own address {own.ip}; deny the router's addresses in the match ACL first",
                )
                break


def _policy_redirect(sequences: list[Line], acls: dict[str, Line], packet: Packet) -> Line | None:
    """The route-map sequence that redirects `packet` (sets a next hop or an interface for it),
    None when the first sequence that matches it does not, or none does."""
    for sequence in sequences:
        names = [
            name
            for line in sequence.children
            if line.words[:3] == ["match", "ip", "address"] and line.words[3:4] != ["prefix-list"]
            for name in line.words[3:]
        ]
        if names and not any(name in acls and acl_verdict(acls[name], packet).forwarded for name in names):
            continue
        redirects = any(line.words[:3] == ["set", "ip", "next-hop"] or line.words[:2] == ["set", "interface"] for line in sequence.children)
        return sequence if sequence.words[2] == "permit" and redirects else None
    return None


def _acl_entries(acl: Line) -> list[_AclEntry]:
    """The entries of extended ACL `acl`, each read once per ACL text (`_read_acl`): a store's
    ACLs meet a packet per application, path and segment, and every parse of a hub's again."""
    return _read_acl(_Acl(acl))


class _Acl:
    """An ACL's lines as a cache key: equal when their `Line.signature`s (number, text and
    children) are, so a Line read from one is as good as the other's."""

    __slots__ = ("hash", "line")

    def __init__(self, line: Line) -> None:
        self.line = line
        self.hash = hash(line.signature)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Acl) and self.line.signature == other.line.signature


@functools.lru_cache(maxsize=4096)
def _read_acl(key: _Acl) -> list[_AclEntry]:
    acl = key.line
    entries: list[_AclEntry] = []
    for entry in acl.children:
        w = entry.words[1:] if entry.words[:1] and entry.words[0].isdigit() else entry.words
        if len(w) < 3 or w[0] not in ("permit", "deny"):
            continue
        source, at = _endpoint(w, 2)
        source_ports, at = _ports(w, at)
        destination, at = _endpoint(w, at)
        destination_ports, at = _ports(w, at)
        tests = (
            *((int(source.network_address), int(source.netmask)) if source is not None else (0, 0)),
            *((int(destination.network_address), int(destination.netmask)) if destination is not None else (0, 0)),
        )
        entries.append(
            (entry, w[0], w[1], source, source_ports, destination, destination_ports, w[at:], "object-group" in w, tests)
        )
    return entries


# The ICMP messages an extended ACL entry names (`permit icmp S D NAME`) by their type, each
# matching every code of it: what the fleet's ACLs name.
_ICMP_TYPES = {"echo-reply": 0, "unreachable": 3, "echo": 8, "time-exceeded": 11, "timestamp-reply": 14}


def _entries_verdict(acl: Line, entries: list[_AclEntry], packet: Packet) -> Verdict:
    # most of an IOS-XE hub's isolation lint: the addresses read once, each entry's as integers
    source_ip, destination_ip = int(packet.source), int(packet.destination)
    for entry, action, protocol, _, source_ports, _, destination_ports, rest, group, tests in entries:
        if protocol not in ("ip", packet.protocol):
            continue
        if group:
            if action == "permit":
                return Verdict(True, entry.number, entry.text)
            continue
        source_value, source_mask, destination_value, destination_mask = tests
        if source_ip & source_mask != source_value or destination_ip & destination_mask != destination_value:
            continue
        if protocol == "tcp" and action == "permit" and "established" in rest:
            continue  # ACK or RST set: never the start of a connection
        # `permit icmp S D NAME`: every code of that type (`Packet.icmp`; None: an echo request)
        if protocol == "icmp" and rest and rest[0] != "log" and _ICMP_TYPES.get(rest[0]) != (packet.icmp[0] if packet.icmp else 8):
            continue
        matches: bool | None = True
        if protocol in ("tcp", "udp") and packet.port is not None:
            matches = _port_matches(destination_ports, packet.port)
            if source_ports is not None:  # the sender chooses its source port
                matches = None if matches is not False else False
        if matches is None:
            matches = action == "permit"
        if matches:
            return Verdict(action == "permit", entry.number, entry.text)
    return Verdict(False, acl.number, f"{acl.text}: the implicit deny")


def acl_verdict(acl: Line, packet: Packet) -> Verdict:
    """What extended ACL `acl` does with `packet`: its first matching entry decides, the implicit
    deny when none matches. An ICMP entry naming a message matches an echo request only as
    `echo`; an entry this reader cannot follow (an object group, a port name it does not know)
    matches when it permits and not when it denies, so a doubt never hides a permit."""
    return _acl_verdict(_Acl(acl), packet)


@functools.lru_cache(maxsize=65536)
def _acl_verdict(acl: _Acl, packet: Packet) -> Verdict:
    """`acl_verdict`, a pure function of the ACL's lines and the packet, cached."""
    return _entries_verdict(acl.line, _acl_entries(acl.line), packet)


@register_rule(PLATFORM)
def aws_tunnel_filter(config: ConfigFile) -> Iterator[Finding]:
    """A store's AWS tunnels (IPsec profile `AWS-...`) share the OVERLAY zone with its hub
    tunnels, so what OVERLAY-TO-SELF passes (SSH and SNMP from the management ranges, ping)
    reaches the router from an AWS source too, spoofed or not, unless the tunnel filters what it
    takes in: each needs an inbound extended ACL that exists and whose every permit admits only
    the tunnel's far end to its own address (BGP, ICMP) or a source within the prefixes the store
    takes from AWS (`AWS-ROUTES`), as `ViewBuilder._aws_filter` builds it; the implicit deny
    drops the rest."""
    if config.suffix or config.role != "edge":
        return
    root = parse(config.text, ("!",))
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended") if len(line.words) > 3}
    clouds = [rule.prefix for rule in line_prefix_lists(config).get("AWS-ROUTES", []) if rule.permit]
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        if not any(t.startswith("tunnel protection ipsec profile AWS-") for t in texts):
            continue
        name = next((t.split()[2] for t in texts if t.startswith("ip access-group ") and t.endswith(" in")), None)
        acl = acls.get(name or "")
        if acl is None:
            yield config.finding(
                interface.number,
                "cisco-aws-tunnel-filter",
                f"{interface.text}: no inbound ACL"
                + (f" ({name} is not an extended ACL of this config)" if name else "")
                + ": an AWS source, spoofed or not, reaches the router as the hub tunnels' management "
                "traffic does (OVERLAY-TO-SELF)",
            )
            continue
        tunnel = interface_address(interface)
        for entry, action, _, source, _, destination, _, _, group, _ in _acl_entries(acl):
            if action != "permit":
                continue
            if group or tunnel is None or not aws_filter_admits(source, destination, tunnel, clouds):
                yield config.finding(
                    entry.number,
                    "cisco-aws-tunnel-filter",
                    f"{acl.text} (on {interface.words[1]}): {entry.text!r} admits "
                    f"{source or 'any source'}, which is neither the tunnel's far end to its own "
                    "address nor within the prefixes the store takes from AWS (AWS-ROUTES)",
                )


@register_forwarding(PLATFORM)
def store_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What a hub forwards from its store links: the store virtual template (every dialled-in
    link's virtual-access is cloned from it) and each static store tunnel (IPsec profile
    `STORE-N`) filter inbound with an extended ACL; a packet passes when the ACL of the link it
    arrives on permits it (the verdict is the most permissive of the links' ACLs). An inbound
    interface ACL filters what is addressed to the router too ("Protecting Your Core:
    Infrastructure Protection Access Control Lists", Cisco white paper: inbound infrastructure
    ACLs deny external sources access to the router's interface addresses), so the verdict holds
    for the hub's own addresses. A store link's IKEv2 authorization policy (named after its
    identity's host part, the name mangler's output) may hand its virtual-access an inbound ACL
    of its own (`attribute type interface-config "ip access-group NAME in"` in its AAA attribute
    list), which replaces the template's there: the links of `peers` (IKE identities, static
    tunnels' destinations) are read through the ACL in effect on each."""
    facts = _inbound_forwarding(
        config,
        lambda name, texts: name.startswith("Virtual-Template")
        or any(t.startswith("tunnel protection ipsec profile STORE-") for t in texts),
    )
    root = parse(config.text, ("!",))
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended") if len(line.words) > 3}
    in_effect = _store_link_acls(root, peers)
    if not in_effect:
        return facts
    # each ACL's verdicts cached (`_acl_verdict`): a lint again with another file changed reads
    # an unchanged hub's ACLs once per packet, as the FRR and VRP hubs' readers do
    keys = [_Acl(acls[name]) for name in dict.fromkeys(in_effect) if name in acls]
    missing = [name for name in in_effect if name not in acls]

    def verdict(packet: Packet) -> Verdict:
        if missing:
            return Verdict(True, 0, f"{missing[0]} is not an extended ACL of this config")
        return most_permissive([_acl_verdict(key, packet) for key in keys], "no ACL")

    return ForwardingFacts(verdict, unfiltered=facts.unfiltered, to_hub=True)


def _store_link_acls(root: Line, peers: frozenset[str]) -> list[str]:
    """The inbound ACL in effect on each store link of `peers`: a dialled-in link's (an IKE
    identity: its authorization policy's AAA attribute list's `ip access-group ... in`, else the
    virtual template's), a static tunnel's (its `tunnel destination`). Empty when none of
    `peers` is one of this config's store links."""
    template = None
    statics: dict[str, str | None] = {}
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        group = next((t.split()[2] for t in texts if t.startswith("ip access-group ") and t.split()[3:] == ["in"]), None)
        if len(interface.words) > 1 and interface.words[1].startswith("Virtual-Template"):
            template = group
        elif any(t.startswith("tunnel protection ipsec profile STORE-") for t in texts):
            for t in texts:
                if t.startswith("tunnel destination "):
                    statics[t.split()[2]] = group
    attributes: dict[str, str | None] = {}
    for section in top(root, "aaa", "attribute", "list"):
        found = None
        for text in section.child_texts():
            m = re.fullmatch(r'attribute type interface-config "ip access-group (\S+) in"', text)
            if m:
                found = m.group(1)
        attributes[section.words[3] if len(section.words) > 3 else ""] = found
    policies: dict[str, str | None] = {}
    for section in top(root, "crypto", "ikev2", "authorization", "policy"):
        lists = [t.split()[3] for t in section.child_texts() if t.startswith("aaa attribute list ")]
        if len(section.words) > 4:
            policies[section.words[4]] = attributes.get(lists[0]) if lists else None
    in_effect: list[str] = []
    # Reading every store link (no store's alone), the template's own ACL is read too: what a
    # virtual-access takes in before its attribute list applies, and a doubt never hides an accept.
    if template is not None and all(any(p.split(".", 1)[0] == host for p in peers) for host in policies):
        in_effect.append(template)
    for peer in sorted(peers):
        if peer in statics:
            in_effect.append(statics[peer] or "")
        elif (host := peer.split(".", 1)[0]) in policies and not is_address(peer):
            acl = policies[host] or template
            in_effect.append(acl or "")
    return in_effect


@register_cloud_forwarding(PLATFORM)
def cloud_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What a hub forwards from its cloud VPNs (IPsec profile `CLOUD-N`): their inbound ACL, as
    `store_forwarding` reads the store links'; only those whose own inside address (`ip
    address`) is one of `peers`, where given (one cloud site's tunnels)."""
    return _inbound_forwarding(
        config,
        lambda _name, texts: any(t.startswith("tunnel protection ipsec profile CLOUD-") for t in texts)
        and (not peers or any(t.startswith("ip address ") and t.split()[2:3] in ([p] for p in peers) for t in texts)),
    )


def _inbound_forwarding(config: ConfigFile, chosen: Callable[[str, list[str]], bool]) -> ForwardingFacts:
    """The most permissive verdict of the inbound ACLs of the interfaces `chosen` picks (by name
    and lines), and each such interface without one."""
    root = parse(config.text, ("!",))
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended") if len(line.words) > 3}
    applied: dict[str, Line] = {}
    unfiltered: list[tuple[int, str]] = []
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        texts = interface.child_texts()
        if not chosen(name, texts):
            continue
        acl_name = next(
            (t.split()[2] for t in texts if t.startswith("ip access-group ") and t.split()[3:] == ["in"]), None
        )
        acl = acls.get(acl_name or "")
        if acl is None:
            unfiltered.append(
                (
                    interface.number,
                    f"{interface.text}: no inbound ACL"
                    + (f" ({acl_name} is not an extended ACL of this config)" if acl_name else ""),
                )
            )
        else:
            applied[acl_name or ""] = acl

    keys = [_Acl(acl) for acl in applied.values()]  # verdicts cached, as `store_forwarding`'s

    def verdict(packet: Packet) -> Verdict:
        return most_permissive([_acl_verdict(key, packet) for key in keys], "no ACL")

    return ForwardingFacts(verdict, unfiltered=unfiltered, to_hub=True)


# ---------------------------------------------------------------- tunnels


def _ike_proposals(root: Line) -> frozenset[IkeProposal]:
    proposals: set[IkeProposal] = set()
    for section in top(root, "crypto", "ikev2", "proposal"):
        values: dict[str, list[str]] = {line.words[0]: line.words[1:] for line in section.children}
        for encryption in values.get("encryption", []):
            for prf in values.get("prf", []):
                for group in values.get("group", []):
                    proposals.add(IkeProposal(_IKE_ENCRYPTION.get(encryption, encryption), prf, int(group)))
    return frozenset(proposals)


def _esp_proposals(root: Line, transform_set: str, pfs: int) -> frozenset[EspProposal]:
    for section in top(root, "crypto", "ipsec", "transform-set"):
        w = section.words
        if len(w) > 4 and w[3] == transform_set and w[4] == "esp-gcm":
            size = w[5] if len(w) > 5 else "128"
            return frozenset({EspProposal(_ESP_GCM.get(size, f"esp-gcm-{size}"), None, pfs)})
    return frozenset()


def _section(root: Line, *prefix: str) -> Line | None:
    return next(top(root, *prefix), None)


def _bgp_bfd(root: Line) -> dict[str, bool]:
    """Per BGP neighbour address: does BGP track it with BFD. `neighbor X fall-over bfd` on the
    neighbour, on its peer-group (`neighbor X peer-group G`, `neighbor G fall-over bfd`) or in a
    session template it inherits (`neighbor X inherit peer-session T`; `template peer-session T`
    with `fall-over bfd`, itself inheriting others)."""
    direct: set[str] = set()
    group_of: dict[str, str] = {}
    template_of: dict[str, str] = {}
    template_bfd: set[str] = set()
    template_parent: dict[str, str] = {}
    for bgp in top(root, "router", "bgp"):
        for line in bgp.children:
            words = line.words
            if words[:2] == ["template", "peer-session"] and len(words) == 3:
                for inner in line.children:
                    if inner.words[:2] == ["fall-over", "bfd"]:
                        template_bfd.add(words[2])
                    elif inner.words[:2] == ["inherit", "peer-session"] and len(inner.words) >= 3:
                        template_parent[words[2]] = inner.words[2]
            elif words[:1] != ["neighbor"] or len(words) < 3:
                continue
            elif words[2:4] == ["fall-over", "bfd"]:
                direct.add(words[1])
            elif words[2] == "peer-group" and len(words) == 4:
                group_of[words[1]] = words[3]
            elif words[2:4] == ["inherit", "peer-session"] and len(words) >= 5:
                template_of[words[1]] = words[4]

    def inherited(template: str | None) -> bool:
        seen: set[str] = set()
        while template is not None and template not in seen:
            if template in template_bfd:
                return True
            seen.add(template)
            template = template_parent.get(template)
        return False

    result = {}
    for line in root.walk():
        words = line.words
        if words[:1] == ["neighbor"] and words[2:3] == ["remote-as"]:
            address = words[1]
            group = group_of.get(address)
            result[address] = (
                address in direct
                or group in direct
                or inherited(template_of.get(address))
                or inherited(template_of.get(group or ""))
            )
    return result


def _bfd_timers(interface: Line | None) -> tuple[int, int, int] | None:
    """An interface's `bfd interval I min_rx R multiplier M`."""
    for line in _children(interface):
        words = line.words
        if words[:2] == ["bfd", "interval"] and len(words) == 7 and words[3] == "min_rx" and words[5] == "multiplier":
            return int(words[2]), int(words[4]), int(words[6])
    return None


@register_session_bfd(PLATFORM)
def session_bfd(config: ConfigFile) -> dict[str, SessionBfdFact]:
    """Per BGP neighbour: does BGP track it with BFD (`_bgp_bfd`), on the `bfd interval` of the
    interface whose subnet holds it (single-hop BFD runs on the interface the neighbour is on)."""
    if config.suffix:
        return {}
    root = parse(config.text, ("!",))
    subnets = []
    for interface in top(root, "interface"):
        for line in interface.children:
            w = line.words
            if w[:2] == ["ip", "address"] and len(w) == 4 and is_address(w[2]) and is_address(w[3]):
                subnets.append((ipaddress.IPv4Interface(f"{w[2]}/{w[3]}").network, interface))
    lines = {
        line.words[1]: line.number
        for line in root.walk()
        if line.words[0] == "neighbor" and line.words[2:3] == ["remote-as"] and is_address(line.words[1])
    }
    facts = {}
    for address, bfd in _bgp_bfd(root).items():
        if not is_address(address):
            continue
        on = next((i for net, i in subnets if ipaddress.IPv4Address(address) in net), None)
        facts[address] = SessionBfdFact(lines.get(address, 0), bfd, _bfd_timers(on) if bfd else None)
    return facts


@register_tunnels(PLATFORM)
def tunnels(config: ConfigFile) -> list[TunnelFact]:
    """Every route-based IPsec tunnel: addresses, identities, PSK slot, BGP ASN and proposals."""
    root = parse(config.text, ("!",))
    ike = _ike_proposals(root)
    remote_as = {
        line.words[1]: int(line.words[3])
        for line in root.walk()
        if line.words[0] == "neighbor" and line.words[2:3] == ["remote-as"] and line.words[3].isdigit()
    }
    bgp_bfd = _bgp_bfd(root)
    facts: list[TunnelFact] = []
    for interface in top(root, "interface"):
        values = {" ".join(line.words[:-1]): line.words[-1] for line in interface.children}
        profile_name = values.get("tunnel protection ipsec profile")
        if profile_name is None or interface.words[1].startswith("Virtual-Template"):
            continue  # a virtual template's tunnels are its peers' (_template_tunnels)
        local_inside = peer_inside = None
        address = next(
            (line.words for line in interface.children if line.words[:2] == ["ip", "address"]), None
        )
        if address and len(address) == 4:
            local_inside = address[2]
            network = ipaddress.IPv4Network(f"{address[2]}/{address[3]}", strict=False)
            peer_inside = next(
                (peer for peer in remote_as if ipaddress.IPv4Address(peer) in network and peer != address[2]),
                None,
            )
        destination = values.get("tunnel destination")
        profile = _section(root, "crypto", "ipsec", "profile", profile_name)
        settings = {
            " ".join(line.words[:-1]): line.words[-1] for line in (profile.children if profile else [])
        }
        pfs = int(settings.get("set pfs", "group0").removeprefix("group"))
        ikev2 = _section(root, "crypto", "ikev2", "profile", settings.get("set ikev2-profile", ""))
        local_id = peer_id = keyring = local_id_type = peer_id_type = None
        for line in ikev2.children if ikev2 else []:
            lw = line.words
            if lw[:2] == ["identity", "local"]:
                local_id, local_id_type = lw[-1], _ID_TYPES.get(lw[2]) if len(lw) > 3 else None
            elif lw[:3] == ["match", "identity", "remote"] and len(lw) > 4:
                peer_id = lw[4]  # fqdn NAME | address A.B.C.D MASK
                peer_id_type = _ID_TYPES.get(lw[3])
            elif lw[:2] == ["keyring", "local"]:
                keyring = lw[2]
        psk = None
        ring = _section(root, "crypto", "ikev2", "keyring", keyring or "")
        ring_peers = _children(ring)
        for peer in ring_peers:
            texts = peer.child_texts()
            if (
                len(ring_peers) == 1
                or f"identity fqdn {peer_id}" in texts
                or f"address {destination}" in texts
            ):
                psk = next(
                    (text.split(maxsplit=1)[1] for text in texts if text.startswith("pre-shared-key")), None
                )
                break
        facts.append(
            TunnelFact(
                file=config.name,
                line=interface.number,
                name=_tunnel_name(interface),
                peer_outside=None if destination in (None, "dynamic") else destination,
                local_inside=local_inside,
                peer_inside=peer_inside,
                local_id=local_id,
                peer_id=peer_id,
                psk_slot=psk,
                peer_asn=remote_as.get(peer_inside or ""),
                ike=ike,
                esp=_esp_proposals(root, settings.get("set transform-set", ""), pfs),
                bfd=bgp_bfd.get(peer_inside) if peer_inside else None,
                bfd_timers=_bfd_timers(interface) if bgp_bfd.get(peer_inside or "") else None,
                selectors=_tunnel_selectors(interface),
                local_id_type=local_id_type,
                peer_id_type=peer_id_type,
                mtu=_mtu_mss([line.words for line in interface.children])[0],
                tcp_mss=_mtu_mss([line.words for line in interface.children])[1],
            )
        )
    facts += _template_tunnels(config, root, ike, remote_as, bgp_bfd)
    window = _replay_window(root)
    return [replace(fact, replay_window=window) for fact in facts]


def _mtu_mss(commands: list[list[str]]) -> tuple[int, int]:
    """A tunnel interface's `ip mtu N` and `ip tcp adjust-mss N` (the last of each; 0: none)."""
    mtu = mss = 0
    for words in commands:
        if words[:2] == ["ip", "mtu"] and len(words) == 3 and words[2].isdigit():
            mtu = int(words[2])
        elif words[:3] == ["ip", "tcp", "adjust-mss"] and len(words) == 4 and words[3].isdigit():
            mss = int(words[3])
    return mtu, mss


# IOS-XE's anti-replay window when the config sets none: 64 packets ("IPsec Anti-Replay Window
# Expanding and Disabling", Security Configuration Guide: `crypto ipsec security-association
# replay window-size [N]`, `... replay disable`).
_IOS_REPLAY_WINDOW = 64


def _replay_window(root: Line) -> int:
    """The global anti-replay window of every SA (0: checking off). A crypto map's or IPsec
    profile's own `set security-association replay ...` is not read: storestack renders none."""
    window = _IOS_REPLAY_WINDOW
    for line in root.children:
        words = line.words
        if words[:4] != ["crypto", "ipsec", "security-association", "replay"]:
            continue
        if words[4:5] == ["disable"]:
            return 0
        if words[4:5] == ["window-size"]:
            window = int(words[5]) if len(words) > 5 and words[5].isdigit() else window
    return window


# An IKEv2 profile's identity keywords (`identity local`, `match identity remote`) and the
# identification types they send or match (IOS-XE Security Configuration Guide, "Configuring
# Internet Key Exchange Version 2": identity local {address | dn | email | fqdn | key-id}).
_ID_TYPES = {"address": "ipv4", "fqdn": "fqdn", "email": "user-fqdn", "key-id": "key-id", "dn": "dn"}


def _tunnel_selectors(interface: Line | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a tunnel interface with `tunnel protection` negotiates: `tunnel mode ipsec ipv4` (a
    virtual tunnel interface) everything, 0.0.0.0/0 both ways; without it the interface is in
    IOS's default mode, GRE over IP (command reference, `tunnel mode`: "Default: GRE"), and its
    IPsec SA protects the GRE packets between the two outside addresses only."""
    mode = next((line.words[2:] for line in _children(interface) if line.words[:2] == ["tunnel", "mode"]), None)
    if mode == ["ipsec", "ipv4"]:
        return ROUTE_BASED_SELECTORS
    word = SELECTORS_GRE if mode is None or mode[:1] == ["gre"] else " ".join(mode)
    return (word,), (word,)


def _template_tunnels(
    config: ConfigFile, root: Line, ike: frozenset[IkeProposal], remote_as: dict[str, int], bgp_bfd: dict[str, bool]
) -> list[TunnelFact]:
    """The store tunnels of a FlexVPN server: one per keyring peer of a profile that clones a
    virtual template, as its virtual-access will be (the template's IPsec profile, the attribute
    list's address and description); the store's outside address is never named."""
    interfaces = {line.words[1]: line for line in top(root, "interface") if len(line.words) > 1}
    facts = []
    for peer in _template_peers(root):
        template = interfaces.get(peer.template)
        values = {" ".join(line.words[:-1]): line.words[-1] for line in _children(template)}
        profile = _section(root, "crypto", "ipsec", "profile", values.get("tunnel protection ipsec profile", ""))
        settings = {" ".join(line.words[:-1]): line.words[-1] for line in _children(profile)}
        pfs = int(settings.get("set pfs", "group0").removeprefix("group"))
        local = next((line.words for line in peer.profile.children if line.words[:2] == ["identity", "local"]), None)
        local_id = local[-1] if local else None
        local_inside = peer_inside = None
        if peer.address is not None:
            local_inside = peer.address[0]
            network = ipaddress.IPv4Interface("/".join(peer.address)).network
            peer_inside = next(
                (ip for ip in remote_as if ipaddress.IPv4Address(ip) in network and ip != local_inside), None
            )
        mtu_mss = _mtu_mss([line.words for line in _children(template)] + [text.split() for text in peer.interface_config])
        facts.append(
            TunnelFact(
                file=config.name,
                line=peer.line.number,
                name=tunnel_id(peer.interface_config) or peer.line.text,
                peer_outside=None,
                local_inside=local_inside,
                peer_inside=peer_inside,
                local_id=local_id,
                peer_id=peer.identity,
                psk_slot=peer.psk,
                peer_asn=remote_as.get(peer_inside or ""),
                ike=ike,
                esp=_esp_proposals(root, settings.get("set transform-set", ""), pfs),
                any_peer_address=True,
                bfd=bgp_bfd.get(peer_inside) if peer_inside else None,
                bfd_timers=_bfd_timers(template) if bgp_bfd.get(peer_inside or "") else None,
                selectors=_tunnel_selectors(template),
                local_id_type=_ID_TYPES.get(local[2]) if local and len(local) > 3 else None,
                # the keyring names the peer by `identity fqdn` (_template_peers)
                peer_id_type="fqdn" if peer.identity else None,
                # the template's, then its per-user interface config's (applied after it)
                mtu=mtu_mss[0],
                tcp_mss=mtu_mss[1],
            )
        )
    return facts


# A hub's BGP originations and discard routes, for the cross-file `hub-summary` check.
_SUMMARY_LINES = (
    ("network", re.compile(rf"^  network {IP_PATTERN}(?:/(\d+)| mask {IP_PATTERN})(?: |$)")),
    ("aggregate", re.compile(rf"^  aggregate-address {PREFIX_PATTERN}(?: |$)")),
    ("discard", re.compile(rf"^ip route {PREFIX_PATTERN} Null0(?: |$)")),
)


@register_summaries(PLATFORM)
def summaries(config: ConfigFile) -> list[SummaryFact]:
    return pattern_summaries(config, _SUMMARY_LINES)


@register_advertisements(PLATFORM)
def advertisements(config: ConfigFile) -> AdvertisementFacts:
    """A hub's conditional advertisements (`neighbor A advertise-map M exist-map C`), for the
    cross-file `hub-stores-conditional` check."""
    return line_advertisements(config)


@register_route_filters(PLATFORM)
def route_filters(config: ConfigFile) -> RouteFilters:
    """Each BGP neighbour's route-maps, for the cross-file `route-filter` check."""
    return line_route_filters(config)


# ---------------------------------------------------------------- SLA probes and their answers

# An IP SLA operation: `udp-jitter D P source-ip S ...`, `icmp-jitter D ... source-ip S ...`,
# `icmp-echo D source-interface I` (or `source-ip S`).
_OPERATION = re.compile(
    r"^ (udp-jitter|icmp-jitter|icmp-echo) (\d+\.\d+\.\d+\.\d+)(?: (\d+))?(?:.*\bsource-ip (\d+\.\d+\.\d+\.\d+)\b)?"
)
# An ACL entry letting UDP from S to D in on one port or a range.
_UDP_PERMIT = re.compile(r"^ (?:\d+ )?permit udp host (\S+) host (\S+) (?:eq (\d+)|range (\d+) (\d+))$")


@register_probes(PLATFORM)
def probes(config: ConfigFile) -> list[SentProbe]:
    """Each IP SLA operation's kind, target, `source-ip` (where it names one) and (udp-jitter)
    test port."""
    found = []
    for number, line in enumerate(config.lines, start=1):
        match = _OPERATION.match(line)
        if match:
            port = int(match[3]) if match[1] == "udp-jitter" and match[3] else None
            found.append(SentProbe(number, match[1], match[2], match[4], port))
    return found


@register_answers(PLATFORM)
def answers(config: ConfigFile) -> ProbeAnswers:
    """udp-jitter needs the hub's IP SLA responder and its inbound filter letting the control
    message (UDP 1967) and the test port through, from the probe's source to its target ("IP
    SLAs UDP Jitter Operation": the sender asks the responder on 1967 to open the test port)."""
    responder = "ip sla responder" in config.lines
    ports: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for line in config.lines:
        permit = _UDP_PERMIT.match(line)
        if permit:
            low = int(permit[3] or permit[4])
            ports.setdefault((permit[1], permit[2]), []).append((low, int(permit[3] or permit[5])))

    def gaps(probe: SentProbe) -> list[str]:
        if probe.kind != "udp-jitter":
            return []
        if not responder:
            return [f"{config.hostname} runs no `ip sla responder`"]
        let_in = ports.get((probe.source or "", probe.target), [])
        return [
            f"{config.hostname} lets no UDP from the store's tunnel address {probe.source} in to its {what} {wanted}"
            for wanted, what in ((IOS_SLA_CONTROL_PORT, "control port"), (probe.port or 0, "test port"))
            if not any(low <= wanted <= high for low, high in let_in)
        ]

    return ProbeAnswers(hub_probe_kinds(PLATFORM), gaps)


@register_rule(PLATFORM)
def store_answers(config: ConfigFile) -> Iterator[Finding]:
    """Stores: every hub tunnel, wired or cellular, in one zone behind one inbound filter and with
    no unicast reverse path check, so the answers a hub returns into a cellular tunnel for a flow
    that left on the wire meet its session (`hub_tunnel_answers`)."""
    if config.suffix or config.role != "edge":
        return
    root = parse(config.text, ("!",))

    def inbound(interface: Line) -> str | None:
        return next((c.words[2] for c in interface.children if c.words[:2] == ["ip", "access-group"] and c.words[3:] == ["in"]), None)

    for line, why in hub_tunnel_answers(root, ("zone-member", "security"), inbound, "ip verify unicast"):
        yield config.finding(line, "cisco-store-answers", why)
