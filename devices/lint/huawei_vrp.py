"""Lint rules for Huawei VRP (AR series) configs: references, NQA/PBR/BGP limits, NQA tests
that nothing tracks, interface names, the interzone firewall, and tunnel and steering facts for
the cross-file checks.

Limits follow the AR command references: an NQA test needs interval > timeout and
frequency > interval x probe-count (defaults: 3 probes, 4 s interval, 3 s timeout), or it never
completes a test; one policy-based-route node takes at most two next hops. Forwarded traffic
is policy-routed by traffic behaviors (`redirect ip-nexthop ... track-nqa`), see
`policy_routing`.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from storestack.common.addressing import is_rfc1918
from storestack.devices.lint import (
    PREFIX_PATTERN,
    ROUTE_BASED_SELECTORS,
    SELECTORS_GRE,
    ConfigFile,
    DefaultOrigination,
    Finding,
    ForwardingFacts,
    Packet,
    PolicyFact,
    PrefixRule,
    ProbeAnswers,
    ProbeFact,
    RankingFact,
    RankingFacts,
    RouteFilters,
    RouteMapEntry,
    SentProbe,
    SessionBfdFact,
    SteeringFacts,
    SummaryFact,
    TunnelFact,
    Verdict,
    aws_filter_admits,
    hub_probe_kinds,
    most_permissive,
    pattern_summaries,
    prefix_rule,
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
    resolved_defaults,
    resolved_limits,
    summary_net,
)
from storestack.devices.lint.linetree import (
    Line,
    LineSignature,
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
from storestack.devices.lint.steering import CLASS_PROBE_PREFIX
from storestack.devices.platforms import get_platform
from storestack.devices.platforms.huawei_vrp import (
    ICMP_NAMES,
    IKE_NAME_LIMIT,
    MQC_NAME_LIMIT,
    NQA_NAME_FORBIDDEN,
    PORT_NAMES,
    ROUTE_POLICY_NAME_LIMIT,
    SSH_SERVER_ALGORITHMS,
    VTY_RANGES,
    ike_dpd,
    nqa_name,
)
from storestack.devices.steering import APPLICATION_ACL_PREFIX
from storestack.network.crypto import FLEET_CRYPTO, EspProposal, IkeProposal

PLATFORM = "huawei_vrp"

_INTERFACE = re.compile(
    r"^(GigabitEthernet|Ethernet|XGigabitEthernet|Tunnel|Cellular)\d+/\d+/\d+(\.\d+)?$|"
    r"^(LoopBack|Vlanif|Dialer|Eth-Trunk|Virtual-Template)\d+(\.\d+)?$|^NULL0$"
)
_IKE_ENCRYPTION = {"aes-gcm-256": "aes256gcm16", "aes-gcm-128": "aes128gcm16", "aes-256": "aes256"}
_ESP_ENCRYPTION = {"aes-256-gcm-128": "aes256gcm16", "aes-128-gcm-128": "aes128gcm16", "aes-256": "aes256"}
_HASH = {"hmac-sha2-384": "sha384", "hmac-sha2-256": "sha256", "sha2-384": "sha384", "sha2-256": "sha256"}
_NQA_DEFAULTS = {"probe-count": 3, "interval": 4, "timeout": 3, "frequency": 0}
# `apply output-interface` takes a point-to-point interface (tunnel, dialer, cellular): "The
# outbound interface of packets cannot be a broadcast interface, such as an Ethernet interface"
# (Huawei HCIP-Datacom course, "PBR Configuration"); on Ethernet a node needs its next hop.
_BROADCAST = re.compile(r"^(GigabitEthernet|Ethernet|XGigabitEthernet|Eth-Trunk|Vlanif)\d")
# AR command reference, NQA view: probe-count 1-15, timeout 1-60 s, fail-percent 1-100,
# frequency 1-604800 s.
_NQA_RANGES = {"probe-count": (1, 15), "timeout": (1, 60), "fail-percent": (1, 100), "frequency": (1, 604800)}


def definitions(root: Line) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {"interface": {"NULL0": 0}}

    def add(kind: str, name: str, line: Line) -> None:
        found.setdefault(kind, {}).setdefault(name, line.number)

    for line in root.children:
        w = line.words
        if w[0] == "interface" and len(w) > 1:
            add("interface", w[1], line)
        elif w[0] == "acl":
            # acl name NAME [NUMBER] | acl number N | acl N: an ACL is known by name and number
            if w[1:2] == ["name"]:
                add("acl", w[2], line)
                if len(w) > 3:
                    add("acl", w[3], line)
            else:
                add("acl", w[-1], line)
        elif w[:2] == ["ip", "ip-prefix"]:
            add("ip-prefix", w[2], line)
        elif w[0] == "route-policy":
            add("route-policy", w[1], line)
        elif w[0] == "traffic" and len(w) > 2:
            add(f"traffic-{w[1]}", w[2], line)
        elif w[:2] == ["ike", "proposal"]:
            add("ike-proposal", w[2], line)
        elif w[:2] == ["ike", "peer"]:
            add("ike-peer", w[2], line)
        elif w[:2] in (["ipsec", "proposal"], ["ipsec", "profile"]):
            add(f"ipsec-{w[1]}", w[2], line)
        elif w[:2] == ["firewall", "zone"]:
            add("zone", w[-1], line)
        elif w[:2] == ["nqa", "test-instance"] and len(w) > 3:
            add("nqa", f"{w[2]} {w[3]}", line)
        elif w[:2] == ["ip", "vpn-instance"]:
            add("vpn-instance", w[2], line)
        elif w[0] == "policy-based-route":
            add("policy-based-route", w[1], line)
        elif w[:2] == ["hwtacacs-server", "template"]:
            add("hwtacacs", w[2], line)
    return found


def _acls(root: Line) -> dict[str, Line]:
    """Each ACL by every name it answers to: `acl name NAME NUMBER` by both, `acl number N` by N."""
    acls: dict[str, Line] = {}
    for line in top(root, "acl"):
        for key in line.words[2:] if line.words[1:2] == ["name"] else line.words[-1:]:
            acls[key] = line
    return acls


def references(root: Line) -> Iterator[tuple[str, str, int]]:
    for line in root.walk():
        w = line.words
        context = line.parent.words[:2] if line.parent and line.parent.number else []
        if w[0] == "if-match" and w[1:2] == ["acl"]:
            yield "acl", w[-1], line.number
        elif w[:2] == ["if-match", "ip-prefix"]:
            yield "ip-prefix", w[2], line.number
        elif w[0] == "acl" and context[:1] == ["user-interface"]:
            yield "acl", w[1], line.number
        elif w[0] == "snmp-agent" and "acl" in w:
            yield "acl", after(w, "acl") or "", line.number
        elif w[0] == "traffic-filter":
            yield "acl", w[-1], line.number
        elif w[0] == "packet-filter":
            yield "acl", w[1], line.number
        elif w[:2] == ["qos", "car"] and "acl" in w:
            yield "acl", after(w, "acl") or "", line.number
        elif w[:2] == ["nat", "outbound"]:
            yield "acl", w[2], line.number
        elif w[0] == "peer" and "route-policy" in w:
            yield "route-policy", after(w, "route-policy") or "", line.number
        elif w[0] == "classifier" and "behavior" in w:
            yield "traffic-classifier", w[1], line.number
            yield "traffic-behavior", after(w, "behavior") or "", line.number
        elif w[0] == "traffic-policy":
            yield "traffic-policy", w[1], line.number
        elif w[0] == "ike-proposal":
            yield "ike-proposal", w[1], line.number
        elif w[0] == "ike-peer":
            yield "ike-peer", w[1], line.number
        elif w[0] == "proposal" and context == ["ipsec", "profile"]:
            yield "ipsec-proposal", w[1], line.number
        elif w[:2] == ["ipsec", "profile"] and context[:1] == ["interface"]:
            yield "ipsec-profile", w[2], line.number
        elif w[0] == "zone" and len(w) == 2 and context[:1] == ["interface"]:
            yield "zone", w[1], line.number
        elif w[:2] == ["firewall", "interzone"]:
            yield "zone", w[2], line.number
            yield "zone", w[3], line.number
        elif "track" in w and after(w, "track") == "nqa":
            index = w.index("track")
            yield "nqa", " ".join(w[index + 2 : index + 4]), line.number
        elif w[:2] == ["redirect", "ip-nexthop"] and "track-nqa" in w:
            index = w.index("track-nqa")
            yield "nqa", " ".join(w[index + 1 : index + 3]), line.number
        elif w[0] == "source" and context[:1] == ["interface"] and not is_address(w[1]):
            yield "interface", w[1], line.number
        elif w[:2] in (["ip", "binding"], ["sa", "binding"]):
            yield "vpn-instance", w[-1], line.number
        elif w[0] in ("destination", "remote-address") and after(w, w[0]) == "vpn-instance":
            yield "vpn-instance", w[2], line.number
        elif w[:2] == ["ip", "route-static"]:
            rest = w[2:]
            if rest[:1] == ["vpn-instance"]:
                yield "vpn-instance", rest[1], line.number
                rest = rest[2:]
            for word in rest[2:]:
                if re.match(r"^[A-Z][A-Za-z-]+\d", word):
                    yield "interface", word, line.number
        elif w[:2] == ["ip", "route"] and w[-1] == "dhcp":
            yield "interface", w[-2], line.number
        elif w[:2] == ["ip", "policy-based-route"]:
            yield "policy-based-route", w[2], line.number
        elif w[:3] == ["ip", "local", "policy-based-route"] and len(w) > 3:
            yield "policy-based-route", w[3], line.number
        elif w[:2] == ["apply", "output-interface"]:
            yield "interface", w[2], line.number
        elif w[0] == "hwtacacs-server" and len(w) == 2:
            yield "hwtacacs", w[1], line.number
        elif "source-interface" in w and w[0] in ("ntp-service", "nqa"):
            yield "interface", after(w, "source-interface") or "", line.number
        elif w[:3] in (["info-center", "loghost", "source"], ["snmp-agent", "trap", "source"]):
            yield "interface", w[3], line.number
        elif w[:2] == ["ssh", "server-source"] and "-i" in w:
            yield "interface", after(w, "-i") or "", line.number


@register_rule(PLATFORM)
def undefined_references(config: ConfigFile) -> Iterator[Finding]:
    """Every ACL, ip-prefix, route-policy, traffic classifier/behavior/policy, IKE proposal and
    peer, IPsec proposal and profile, zone, NQA test, VPN instance and interface referenced is
    defined."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    for kind, name, number in unresolved(definitions(root), references(root)):
        yield config.finding(number, "vrp-undefined-reference", f"{kind} {name!r} is referenced but not defined")


def _acl_identity(line: Line) -> tuple[str | None, int] | None:
    """A top-level ACL definition's name (None for a numbered-only ACL) and number: `acl name NAME
    NUMBER`, `acl number N`, `acl N`; None for `acl name NAME` without a number (the router
    numbers it) and for anything that is no ACL definition."""
    w = line.words
    if w[1:2] == ["name"]:
        return (w[2], int(w[3])) if len(w) > 3 and w[3].isdigit() else None
    number = w[2] if w[1:2] == ["number"] and len(w) > 2 else w[1] if len(w) > 1 else ""
    return (None, int(number)) if number.isdigit() else None


@register_rule(PLATFORM)
def acl_numbers(config: ConfigFile) -> Iterator[Finding]:
    """No two ACL definitions of one config share a number under different names. An ACL is one
    object known by its name and its number (`acl name NAME NUMBER`, AR command reference "acl
    name", EDOC1100064351), so a second definition of a number is not a second ACL: the router
    takes it as the first one renamed, or refuses it, and either way the interface that names
    one of the two filters with the other's rules or with none (devices/platforms/huawei_vrp.py
    numbers every ACL in one table)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    first: dict[int, tuple[str | None, int]] = {}
    for line in top(root, "acl"):
        identity = _acl_identity(line)
        if identity is None:
            continue
        name, number = identity
        earlier = first.setdefault(number, (name, line.number))
        if earlier[0] != name:
            yield config.finding(
                line.number,
                "vrp-acl-number",
                f"{line.text}: ACL number {number} is already {earlier[0] or 'defined'} (line "
                f"{earlier[1]}); the router takes this as that ACL renamed or refuses it",
            )


# Interfaces a router creates only when configured (a sub-interface too): a command that names
# one before it exists is refused ("If the source interface of the SSH server is a logical
# interface, the logical interface must have been created. Otherwise, the command cannot be
# executed successfully.", Huawei NetEngine 8000 F1A command reference, "ssh server-source";
# the same holds for every command that takes an interface name, `ntp-service
# source-interface` and `info-center loghost source` among them). Physical ports exist from the
# factory.
_LOGICAL_INTERFACE = re.compile(r"^(LoopBack|Tunnel|Vlanif|Dialer|Eth-Trunk|Virtual-Template)\d|\.\d+$")


@register_rule(PLATFORM)
def interface_before_definition(config: ConfigFile) -> Iterator[Finding]:
    """A logical interface is defined above the first line that names it: a push sends the
    lines in order, and the router refuses a name it has not created yet."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    defined = definitions(root)["interface"]
    for kind, name, number in references(root):
        if kind == "interface" and _LOGICAL_INTERFACE.search(name) and number < defined.get(name, 0):
            yield config.finding(
                number,
                "vrp-interface-before-definition",
                f"interface {name!r} is named here but defined further down (line {defined[name]}): "
                "a router that does not have it yet refuses this line",
            )


_VTY_LINES = frozenset(n for first, last in VTY_RANGES for n in range(first, last + 1))


@register_rule(PLATFORM)
def vty_access(config: ConfigFile) -> Iterator[Finding]:
    """Every VTY an SSH login can land on (`VTY_RANGES`) has an inbound ACL, AAA and SSH only;
    a range left out keeps the router's defaults, no ACL."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    blocks = list(top(root, "user-interface", "vty"))
    covered: set[int] = set()
    for block in blocks:
        numbers = [int(word) for word in block.words[2:4] if word.isdigit()]
        texts = block.child_texts()
        acl = any(t.startswith("acl ") and t.endswith(" inbound") for t in texts)
        if acl and "authentication-mode aaa" in texts and "protocol inbound ssh" in texts:
            covered.update(range(numbers[0], numbers[-1] + 1) if numbers else ())
        else:
            yield config.finding(
                block.number, "vrp-vty-open", f"{block.text}: no inbound ACL, not AAA or not SSH only"
            )
    missing = sorted(_VTY_LINES - covered)
    if blocks and missing:
        yield config.finding(
            0, "vrp-vty-open", f"VTY {', '.join(map(str, missing))} keep their defaults (no inbound ACL)"
        )


@register_rule(PLATFORM)
def ssh_remote_users(config: ConfigFile) -> Iterator[Finding]:
    """An SSH login that HWTACACS authenticates has a default SSH authentication type to land
    on (`ssh authentication-type default password`): VRP takes a password login over STelnet
    only from a user it knows as an SSH user (`ssh user NAME authentication-type password`, the
    local user's line) or, for every other name, by that default. Without it the operators whose
    accounts live on the HWTACACS server are refused and only the local fallback user logs in
    (Huawei "Example for Configuring Data Center Network Management (RADIUS Authentication)":
    remote users need their own `ssh user` lines, or the default)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    texts = {line.text for line in root.children}
    if "stelnet server enable" not in texts or "ssh authentication-type default password" in texts:
        return
    for aaa in top(root, "aaa"):
        for scheme in aaa.children:
            if scheme.words[:1] != ["authentication-scheme"]:
                continue
            for line in scheme.children:
                if line.words[:1] == ["authentication-mode"] and {"hwtacacs", "radius"} & set(line.words):
                    yield config.finding(
                        line.number,
                        "vrp-ssh-remote-login",
                        f"{scheme.text}: `{line.text}` but no `ssh authentication-type default password`; "
                        "a remote user who is no `ssh user` cannot log in over SSH",
                    )


@register_rule(PLATFORM)
def ssh_algorithms(config: ConfigFile) -> Iterator[Finding]:
    """An SSH server (`stelnet server enable`) names its ciphers, HMACs and key exchange, each
    from the strong ones (SSH_SERVER_ALGORITHMS): left out, a release's defaults apply, and some
    AR releases still offer CBC ciphers, HMAC-SHA1 or DH group 1; named, a weak algorithm is
    offered to any client that asks for it."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    if "stelnet server enable" not in {line.text for line in root.children}:
        return
    for kind, strong in SSH_SERVER_ALGORITHMS:
        lines = [line for line in root.children if line.words[:3] == ["ssh", "server", kind]]
        if not lines:
            yield config.finding(
                0,
                "vrp-ssh-algorithms",
                f"no `ssh server {kind}`: the release's default {kind} list applies "
                f"(offer {' '.join(strong)})",
            )
        for line in lines:
            weak = [name for name in line.words[3:] if name not in strong]
            if weak:
                yield config.finding(
                    line.number,
                    "vrp-ssh-algorithms",
                    f"{line.text}: offers {' '.join(weak)} (offer {' '.join(strong)} only)",
                )


@register_rule(PLATFORM)
def interface_names(config: ConfigFile) -> Iterator[Finding]:
    if config.suffix:
        return
    highest = get_platform(PLATFORM).max_tunnel_number
    for line in top(parse(config.text, ("#",)), "interface"):
        if len(line.words) < 2 or not _INTERFACE.match(line.words[1]):
            yield config.finding(
                line.number, "vrp-interface-name", f"{line.text!r}: not an AR interface name"
            )
            continue
        tunnel = re.fullmatch(r"Tunnel0/0/(\d+)", line.words[1])
        if tunnel and highest is not None and int(tunnel.group(1)) > highest:
            yield config.finding(
                line.number,
                "vrp-interface-name",
                f"{line.text!r}: tunnel number above Tunnel0/0/{highest}, the range storestack numbers AR tunnels in",
            )


# AR object names longer than this are refused (command reference: ike peer, ipsec proposal,
# ipsec profile take 1 to 15 characters; an NQA test's administrator and test names 1 to 32; a
# route-policy's name 1 to 40, `ROUTE_POLICY_NAME_LIMIT`).
_NAME_LIMITS: dict[tuple[str, ...], int] = {
    ("route-policy",): ROUTE_POLICY_NAME_LIMIT,
    ("ike", "peer"): IKE_NAME_LIMIT,
    ("ipsec", "proposal"): IKE_NAME_LIMIT,
    ("ipsec", "profile"): IKE_NAME_LIMIT,
    ("nqa", "test-instance"): 32,
    # MQC and ACL names (built from segment tags, flows, links and the inventory's application
    # names; a classifier's ACL takes the classifier's name): held to 31, below every Huawei value
    # found (`MQC_NAME_LIMIT` in the platform module).
    ("traffic", "classifier"): MQC_NAME_LIMIT,
    ("traffic", "behavior"): MQC_NAME_LIMIT,
    ("traffic", "policy"): MQC_NAME_LIMIT,
    ("acl", "name"): MQC_NAME_LIMIT,
}


@register_rule(PLATFORM)
def name_lengths(config: ConfigFile) -> Iterator[Finding]:
    """Object names within the AR limits, and NQA administrator and test names (in the test and
    in every `track nqa` or `track-nqa`) without the characters NQA refuses (NQA_NAME_FORBIDDEN:
    `-`, `?`, `"`)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    for line in root.children:
        w = line.words
        # `route-policy NAME permit node N`; the others `KIND KIND NAME ...`
        key, name = ((w[0],), w[1:2]) if w[:1] == ["route-policy"] else (tuple(w[:2]), w[2:3])
        limit = _NAME_LIMITS.get(key)
        if limit is not None and name and len(name[0]) > limit:
            yield config.finding(
                line.number, "vrp-name-length", f"{line.text!r}: the name is longer than {limit} characters"
            )
    for line in root.walk():
        w = line.words
        if w[:2] == ["nqa", "test-instance"]:
            names = w[2:4]
        elif "track" in w and after(w, "track") == "nqa":
            index = w.index("track")
            names = w[index + 2 : index + 4]
        elif w[:2] == ["redirect", "ip-nexthop"] and "track-nqa" in w:
            index = w.index("track-nqa")
            names = w[index + 1 : index + 3]
        else:
            continue
        bad = [name for name in names if NQA_NAME_FORBIDDEN & set(name)]
        if bad:
            yield config.finding(
                line.number,
                "vrp-nqa-name",
                f"{line.text!r}: NQA refuses {', '.join(bad)} (an administrator or test name takes "
                "no hyphen, question mark or quotation mark)",
            )


@register_rule(PLATFORM)
def management_plane(config: ConfigFile) -> Iterator[Finding]:
    """HWTACACS, and a store's DNS queries (its own and its DNS proxy's), leave from the
    loopback: the hubs advertise loopbacks to the DC, not tunnel addresses, so replies to a
    tunnel address are lost. A DNS client sends from its outbound interface's address unless
    `dns server source-ip` names one (Huawei "Configuring Dynamic Domain Name Resolution": "By
    default, the source interface IP address is used as the source IP address of DNS query
    packets"); a hub asks over its DC port, whose address the DC reaches. A remote accounting
    scheme lets a login on when its accounting-start fails (`accounting start-fail online`; the
    default refuses it, the local fallback user included, whenever the server is unreachable)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    loopbacks = {
        child.words[2]
        for interface in top(root, "interface")
        if interface.words[1:2] and interface.words[1].startswith("LoopBack")
        for child in interface.children
        if child.words[:2] == ["ip", "address"] and len(child.words) > 2
    }
    for template in top(root, "hwtacacs-server", "template"):
        source = next((c.words[2] for c in template.children if c.words[:2] == ["hwtacacs-server", "source-ip"]), None)
        if source not in loopbacks:
            yield config.finding(
                template.number,
                "vrp-aaa-source",
                f"{template.text}: HWTACACS is not sourced from a loopback address (hwtacacs-server source-ip)",
            )
    for aaa in top(root, "aaa"):
        for scheme in aaa.children:
            texts = scheme.child_texts()
            remote = any(t.startswith("accounting-mode ") and t.split()[1] in ("hwtacacs", "radius") for t in texts)
            if scheme.words[:1] == ["accounting-scheme"] and remote and "accounting start-fail online" not in texts:
                yield config.finding(
                    scheme.number,
                    "vrp-aaa-accounting",
                    f"{scheme.text.strip()}: a login whose accounting-start fails (server unreachable) is "
                    "refused, the local fallback user too (no `accounting start-fail online`)",
                )
    servers = [line for line in top(root, "dns", "server") if len(line.words) > 2 and is_address(line.words[2])]
    if servers and config.role != "hub":
        sources = {line.words[-1] for line in top(root, "dns", "server", "source-ip")}
        if not sources & loopbacks:
            yield config.finding(
                servers[0].number,
                "vrp-dns-source",
                "DNS queries are not sourced from a loopback address (dns server source-ip)",
            )


# What a WAN port must refuse before anything else: (protocol, port) of the router's own
# services (DNS, NTP, SSH, Telnet, SNMP, the web system on HTTP/HTTPS, NETCONF) and its control
# protocols, which run inside the tunnels only (BGP; BFD single hop, echo and multihop).
_WAN_REFUSED = {
    ("udp", 53), ("tcp", 53), ("udp", 123), ("tcp", 22), ("tcp", 23), ("udp", 161), ("tcp", 80), ("tcp", 443),
    ("tcp", 830), ("tcp", 179), ("udp", 3784), ("udp", 3785), ("udp", 4784),
}  # fmt: skip


# Where `vrp-wan-services` sends its probes from: an internet host (TEST-NET-2, no fleet address).
_INTERNET_HOST = ipaddress.IPv4Address("198.51.100.250")


def _wan_guarded(texts: list[str], local: list[str]) -> list[str]:
    """The router's addresses a WAN port's inbound filter guards: the port's own (static) and
    every address of the global table (`local`, `_global_interfaces`)."""
    own = [w[2] for w in (t.split() for t in texts) if w[:2] == ["ip", "address"] and len(w) == 4 and is_address(w[2])]
    return list(dict.fromkeys([*own, *local]))


@register_rule(PLATFORM)
def wan_services(config: ConfigFile) -> Iterator[Finding]:
    """Every WAN port (zone INTERNET) filters inbound traffic with an ACL that denies the
    router's own services (VRP's interzone firewall does not cover traffic to the router): each
    of `_WAN_REFUSED` from an internet host to each of the router's addresses in the global
    table and the port's own, through the port's inbound ACL (`acl_verdict`), so a permit ahead
    of the denies (the guest hosts', WAN-IN) that takes in an address of the router is caught."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    local, _ = _global_interfaces(root)
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        if "zone INTERNET" not in texts:
            continue
        acl = _inbound_acl(texts, acls)
        addresses = _wan_guarded(texts, local)
        reached: dict[tuple[str, int], list[str]] = {}
        for protocol, port in sorted(_WAN_REFUSED):
            for address in addresses:
                packet = Packet(protocol, _INTERNET_HOST, ipaddress.IPv4Address(address), port)
                if acl is None or acl_verdict(acl, packet).forwarded:
                    reached.setdefault((protocol, port), []).append(address)
        if reached:
            # Refused nowhere: the ports alone; at some of the router's addresses: those too.
            where = sorted({a for found in reached.values() for a in found if len(found) < len(addresses)})
            yield config.finding(
                interface.number,
                "vrp-wan-services",
                f"{interface.text}: the WAN port's inbound filter does not refuse "
                + ", ".join(f"{proto}/{port}" for proto, port in sorted(reached))
                + (f" at {_some(where)}" if where else ""),
            )


def _polices(acl: Line, packet: Packet) -> bool:
    """Whether a CAR with ACL `acl` polices `packet`: its first matching rule permits it (a CAR
    takes only what a permit rule matches; a rule this reader cannot follow counts as no match,
    so a doubt never hides an unpoliced port)."""
    for rule in acl.children:
        w = rule.words
        if len(w) < 4 or w[0] != "rule" or w[2] not in ("permit", "deny"):
            continue
        if _rule_matches(rule, packet):
            return w[2] == "permit"
    return False


def _hub_dc_ports(root: Line) -> Iterator[tuple[Line, list[str]]]:
    """A hub's ports outside its tunnels and loopbacks (its DC port), each with the addresses of
    the hub an echo request through it may be for: the port's own and every loopback's (the
    loopback and the public IKE endpoint, which the DC routes to the hub)."""
    interfaces = list(top(root, "interface"))

    def addresses(interface: Line) -> list[str]:
        return [
            child.words[2]
            for child in interface.children
            if child.words[:2] == ["ip", "address"] and len(child.words) > 2 and is_address(child.words[2])
        ]

    loopbacks = [a for i in interfaces if i.words[1:2] and i.words[1].startswith("LoopBack") for a in addresses(i)]
    for interface in interfaces:
        name = interface.words[1] if len(interface.words) > 1 else ""
        own = addresses(interface)
        if own and not name.startswith(("LoopBack", "Tunnel")):
            yield interface, [*own, *loopbacks]


@register_rule(PLATFORM)
def wan_echo(config: ConfigFile) -> Iterator[Finding]:
    """Every WAN port (a store's zone INTERNET, a hub's DC port) polices the echo requests to the
    router it takes in (`vrp-wan-echo`): `qos car inbound acl N cir C` with ACL N permitting ICMP
    echo to each of the router's addresses the internet reaches through the port (a hub's: not
    its private loopback and DC address, which HQ monitors), as the FRR appliances limit what they
    answer; without it the port's filter passes every ping to the router, which answers each
    one."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    outside = ipaddress.IPv4Address("192.0.2.1")
    ports: list[tuple[Line, list[str]]]
    if config.role == "hub":
        # The hub's addresses the internet reaches (its public IKE endpoint); HQ alone reaches its
        # private loopback and DC address, and its monitoring pings stay out of the policer.
        ports = [
            (port, [a for a in own if not is_rfc1918(ipaddress.IPv4Address(a))]) for port, own in _hub_dc_ports(root)
        ]
    else:
        ports = [(i, ["198.51.100.1"]) for i in top(root, "interface") if "zone INTERNET" in i.child_texts()]
    for interface, addresses in ports:
        texts = interface.child_texts()
        policed = [
            acls.get(after(t.split(), "acl") or "")
            for t in texts
            if t.split()[:3] == ["qos", "car", "inbound"] and "acl" in t.split() and "cir" in t.split()
        ]
        unpoliced = [
            address
            for address in addresses
            if not any(
                acl is not None and _polices(acl, Packet("icmp", outside, ipaddress.IPv4Address(address)))
                for acl in policed
            )
        ]
        if unpoliced:
            yield config.finding(
                interface.number,
                "vrp-wan-echo",
                f"{interface.text}: the port answers every echo request it takes in"
                + (f" for {', '.join(unpoliced)}" if config.role == "hub" else "")
                + "; police them with `qos car inbound acl <ACL permitting icmp echo> cir <kbit/s>`",
            )


@register_rule(PLATFORM)
def wan_timestamp(config: ConfigFile) -> Iterator[Finding]:
    """Every store WAN port (zone INTERNET) refuses ICMP timestamp requests (`vrp-wan-timestamp`)
    from the internet to each of the router's addresses (`_wan_guarded`): the router answers
    them, telling any sender its clock, where FRR stores drop them
    (`ManagementAccess.icmp_timestamps_from_internet`, network/model.py)."""
    if config.suffix or config.role == "hub":
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    local, _ = _global_interfaces(root)
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        if "zone INTERNET" not in texts:
            continue
        acl = _inbound_acl(texts, acls)
        answered = [
            address
            for address in _wan_guarded(texts, local)
            if acl is None
            or acl_verdict(acl, Packet("icmp", _INTERNET_HOST, ipaddress.IPv4Address(address), icmp=(13, 0))).forwarded
        ]
        if answered:
            yield config.finding(
                interface.number,
                "vrp-wan-timestamp",
                f"{interface.text}: the WAN port's inbound filter passes ICMP timestamp requests to "
                f"the router ({_some(answered)}), which answers with its clock "
                "(`deny icmp icmp-type timestamp-request`)",
            )


# What guest Wi-Fi may not reach at any of the router's addresses beyond DNS (`vrp-guest-dns`):
# the services and control protocols the WAN ports refuse, and IKE, which an AR answers on
# every address of its global table.
_GUEST_REFUSED = {(p, n) for p, n in _WAN_REFUSED if n != 53} | {("udp", 500), ("udp", 4500)}


def _global_interfaces(root: Line) -> tuple[list[str], list[tuple[Line, ipaddress.IPv4Interface, list[str]]]]:
    """The router's addresses in the global table (an interface bound to a VPN instance, a WAN
    link's front door, left out), and each interface with one: the interface, its address and
    its child lines."""
    local: list[str] = []
    found: list[tuple[Line, ipaddress.IPv4Interface, list[str]]] = []
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        if any(t.startswith("ip binding vpn-instance") for t in texts):
            continue
        for text in texts:
            words = text.split()
            if words[:2] == ["ip", "address"] and len(words) == 4 and is_address(words[2]):
                local.append(words[2])
                found.append((interface, ipaddress.IPv4Interface(f"{words[2]}/{words[3]}"), texts))
    return local, found


def _reached(
    acl: Line | None,
    address: ipaddress.IPv4Interface,
    local: list[str],
    refused: Iterable[tuple[str, int]],
    allowed: Iterable[tuple[str, int]] = (),
) -> list[str]:
    """What a host of the segment at `address` reaches of the router through its inbound filter
    (`acl`; None: no filter): each of `refused` (protocol, port) at every address in `local`
    but those `allowed` at its own gateway, and a ping to every address but that gateway."""
    host = next(address.network.hosts())
    gateway = str(address.ip)
    permitted = set(allowed)
    return [
        f"{protocol}/{port} to {destination}" if port else f"ping to {destination}"
        for destination in local
        for protocol, port in [*refused, *([] if destination == gateway else [("icmp", 0)])]
        if not (destination == gateway and (protocol, port) in permitted)
        if acl is None
        or acl_verdict(acl, Packet(protocol, host, ipaddress.IPv4Address(destination), port or None)).forwarded
    ]


def _some(items: list[str]) -> str:
    """The first four of `items`, and how many more."""
    return ", ".join(items[:4]) + (f" and {len(items) - 4} more" if len(items) > 4 else "")


def _gateway_refusals(
    config: ConfigFile,
    acl: Line,
    address: ipaddress.IPv4Interface,
    needed: list[tuple[str, int | None, str]],
    rule: str,
    whose: str,
) -> Iterator[Finding]:
    """A finding for each of `needed` (protocol, port, what) that the segment's inbound filter
    refuses from a host of the segment at `address` to its gateway."""
    host = next(address.network.hosts())
    for protocol, port, what in needed:
        verdict = acl_verdict(acl, Packet(protocol, host, address.ip, port))
        if not verdict.forwarded:
            yield config.finding(verdict.line, rule, f"{verdict.rule}: refuses {whose} {what} to its gateway {address.ip}")


@register_rule(PLATFORM)
def guest_services(config: ConfigFile) -> Iterator[Finding]:
    """Guest Wi-Fi (zone GUEST) gets no DNS from the router at any of its addresses in the global
    table: the DNS proxy answers on every one of them (each segment's gateway, the loopback, the
    tunnels), and a packet to the router passes no interzone filter, so the guest interface's
    inbound ACL must refuse UDP and TCP 53 to each (`vrp-guest-dns`). Nor any other service of
    the router (`vrp-guest-router`: SSH, Telnet, SNMP, NTP, the web system, NETCONF, BGP, BFD,
    IKE), nor a ping to any address but the guest gateway, which answers guests' pings and DHCP
    renewals as on every platform: guest Wi-Fi reaches no private address, the router's own
    included. (How long its DHCP pool leases is checked against the intent on every platform:
    `guest-lease`, devices/lint/services.py.)"""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    local, interfaces = _global_interfaces(root)
    for interface, address, texts in interfaces:
        if "zone GUEST" not in texts:
            continue
        acl = _inbound_acl(texts, acls)
        host = next(address.network.hosts())
        answered = [
            f"{protocol}/53 to {destination}"
            for destination in local
            for protocol in ("udp", "tcp")
            if acl is None
            or acl_verdict(acl, Packet(protocol, host, ipaddress.IPv4Address(destination), 53)).forwarded
        ]
        if answered:
            yield config.finding(
                interface.number,
                "vrp-guest-dns",
                f"{interface.text}: guest Wi-Fi reaches the router's DNS proxy ({_some(answered)}"
                + "); its inbound filter must refuse DNS to every address of the router",
            )
        reached = _reached(acl, address, local, sorted(_GUEST_REFUSED))
        if reached:
            yield config.finding(
                interface.number,
                "vrp-guest-router",
                f"{interface.text}: guest Wi-Fi reaches the router itself ({_some(reached)}"
                + "); its inbound filter must refuse every address of the router but DHCP and pings to the guest gateway",
            )
        if acl is not None:
            needed = [("udp", 67, "DHCP renewals"), ("icmp", None, "pings")]
            yield from _gateway_refusals(config, acl, address, needed, "vrp-guest-router", "guest Wi-Fi's")


# What no segment may reach at any of the router's addresses (`vrp-segment-router`): every
# service and control protocol a WAN port refuses, and IKE; DNS only at the segment's own
# gateway, where its DHCP hands that out as the resolver.
_SEGMENT_REFUSED = sorted(_WAN_REFUSED | {("udp", 500), ("udp", 4500)})
_DNS = (("udp", 53), ("tcp", 53))


@register_rule(PLATFORM)
def segment_services(config: ConfigFile) -> Iterator[Finding]:
    """Every segment but guest Wi-Fi (`vrp-guest-router` checks that one) reaches the router
    itself only for DHCP, DNS at its own gateway where its DHCP names the gateway as resolver,
    and pings to its gateway (`vrp-segment-router`): a packet to the router passes no interzone
    filter, so without its inbound ACL a host of any segment reaches SSH, SNMP, NTP, the web
    system, NETCONF, BGP, BFD and IKE at every address of the router, where the intent lets only
    the management network manage it. The filter must not refuse those three either."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    local, interfaces = _global_interfaces(root)
    for interface, address, texts in interfaces:
        if not any(t.startswith("dot1q termination vid") for t in texts) or "zone GUEST" in texts:
            continue
        gateway = str(address.ip)
        dns = any(t.split()[:3] == ["dhcp", "server", "dns-list"] and gateway in t.split()[3:] for t in texts)
        acl = _inbound_acl(texts, acls)
        reached = _reached(acl, address, local, _SEGMENT_REFUSED, _DNS if dns else ())
        if reached:
            yield config.finding(
                interface.number,
                "vrp-segment-router",
                f"{interface.text}: the segment reaches the router itself ({_some(reached)}"
                + "); its inbound filter must refuse every address of the router but DHCP, DNS and pings at its gateway",
            )
        if acl is None:
            continue
        needed: list[tuple[str, int | None, str]] = [("udp", 67, "DHCP renewals"), ("icmp", None, "pings")]
        needed += [("udp", 53, "DNS queries"), ("tcp", 53, "DNS queries over TCP")] if dns else []
        yield from _gateway_refusals(config, acl, address, needed, "vrp-segment-router", "the segment's")


_PORT_OPERATORS = {"eq": 1, "gt": 1, "lt": 1, "neq": 1, "range": 2}


@register_rule(PLATFORM)
def port_keywords(config: ConfigFile) -> Iterator[Finding]:
    """A port given by name in an ACL rule uses its protocol's keyword: VRP's TCP and UDP lists
    differ (TCP 53 is `domain`, UDP 53 is `dns`; `bgp` is TCP only, `snmp` UDP only), and a
    name from the other list is rejected."""
    if config.suffix:
        return
    for acl in top(parse(config.text, ("#",)), "acl"):
        for rule in acl.children:
            w = rule.words
            if w[:1] != ["rule"] or len(w) < 4:
                continue
            action = next((i for i, word in enumerate(w) if word in ("permit", "deny")), None)
            if action is None or action + 1 >= len(w):
                continue
            protocol = w[action + 1]
            names = PORT_NAMES.get(protocol, {})
            for i, word in enumerate(w):
                if word not in ("source-port", "destination-port") or i + 1 >= len(w):
                    continue
                count = _PORT_OPERATORS.get(w[i + 1], 0)
                for port in w[i + 2 : i + 2 + count]:
                    if not port.isdigit() and port not in names:
                        yield config.finding(
                            rule.number,
                            "vrp-port-keyword",
                            f"{rule.text.strip()}: {port!r} is not a {protocol} port keyword on VRP",
                        )


@register_rule(PLATFORM)
def timers(config: ConfigFile) -> Iterator[Finding]:
    """NQA interval > timeout and frequency > interval x probe-count; at most two next hops per
    PBR node and no broadcast outbound interface; BGP hold >= 3 x keepalive."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    for test in top(root, "nqa", "test-instance"):
        values = _nqa_values(test)
        for key, (low, high) in _NQA_RANGES.items():
            if key in values and not low <= values[key] <= high:
                yield config.finding(
                    test.number,
                    "vrp-nqa-timers",
                    f"{test.text}: {key} {values[key]} is outside {low}-{high}",
                )
        if values["interval"] <= values["timeout"]:
            yield config.finding(
                test.number,
                "vrp-nqa-timers",
                f"{test.text}: interval {values['interval']} s must exceed timeout {values['timeout']} s",
            )
        if values["frequency"] and values["frequency"] <= values["interval"] * values["probe-count"]:
            yield config.finding(
                test.number,
                "vrp-nqa-timers",
                f"{test.text}: frequency {values['frequency']} s must exceed interval x probe-count "
                f"({values['interval']} x {values['probe-count']})",
            )
    for node in top(root, "policy-based-route"):
        hops = [
            word
            for line in node.children
            if line.words[:3] == ["apply", "ip-address", "next-hop"]
            for word in line.words[3:]
            if is_address(word)
        ]
        if len(hops) > 2:
            yield config.finding(
                node.number,
                "vrp-pbr-next-hops",
                f"{node.text}: {len(hops)} next hops, AR takes at most 2 per node",
            )
        for line in node.children:
            if line.words[:2] == ["apply", "output-interface"] and _BROADCAST.match(line.words[-1]):
                yield config.finding(
                    line.number,
                    "vrp-pbr-output-interface",
                    f"{node.text}: {line.text.strip()}: a policy route's outbound interface cannot be a "
                    "broadcast (Ethernet) interface; it needs `apply ip-address next-hop`",
                )
    for line in root.walk():
        w = line.words
        if w[0] == "peer" and "keepalive" in w and "hold" in w:
            keepalive, hold = int(after(w, "keepalive") or 0), int(after(w, "hold") or 0)
            if hold != 0 and hold < 3 * keepalive:
                yield config.finding(
                    line.number,
                    "vrp-bgp-timers",
                    f"hold time {hold} s is less than 3 x keepalive {keepalive} s",
                )


def _nqa_values(test: Line) -> dict[str, float]:
    """A test's timers in seconds (`interval milliseconds N` too), counts and percentages, over
    the AR defaults."""
    values: dict[str, float] = dict(_NQA_DEFAULTS)
    for line in test.children:
        lw = line.words
        if lw[:2] == ["interval", "milliseconds"] and lw[-1].isdigit():
            values["interval"] = int(lw[-1]) / 1000
        elif lw[0] in (*_NQA_DEFAULTS, "fail-percent") and lw[-1].isdigit():
            values[lw[0]] = int(lw[-1])
    return values


@register_rule(PLATFORM)
def tracking(config: ConfigFile) -> Iterator[Finding]:
    """Every NQA test is tracked by a redirect, a policy route or a static route (else it
    measures and moves nothing), and every policy-based-route policy is applied
    (`ip local policy-based-route`: on an AR such a policy routes the router's own packets)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    used = {name for kind, name, _ in references(root) if kind == "nqa"}
    for test in top(root, "nqa", "test-instance"):
        if " ".join(test.words[2:4]) not in used:
            yield config.finding(test.number, "vrp-nqa-unused", f"{test.text}: no route or policy tracks it")
    applied = {
        line.words[3] for line in top(root, "ip", "local", "policy-based-route") if len(line.words) > 3
    }
    for node in top(root, "policy-based-route"):
        if node.words[1] not in applied:
            yield config.finding(
                node.number,
                "vrp-policy-unapplied",
                f"{node.text}: not applied (ip local policy-based-route)",
            )


def _traffic_policies(root: Line) -> dict[str, Line]:
    return {line.words[2]: line for line in top(root, "traffic", "policy") if len(line.words) > 2}


def _behaviors(root: Line) -> dict[str, Line]:
    return {line.words[2]: line for line in top(root, "traffic", "behavior") if len(line.words) > 2}


def _classifier_acls(root: Line) -> dict[str, list[str]]:
    """Each traffic classifier's ACLs (`if-match acl N` / `if-match acl name NAME`)."""
    return {
        line.words[2]: [c.words[-1] for c in line.children if c.words[:2] == ["if-match", "acl"]]
        for line in top(root, "traffic", "classifier")
        if len(line.words) > 2
    }


@register_rule(PLATFORM)
def policy_routing(config: ConfigFile) -> Iterator[Finding]:
    """Policy routing in the form an AR takes: forwarded traffic is policy-routed by a traffic
    behavior's `redirect ip-nexthop` in a traffic policy applied inbound ("Configuring Interface
    PBR", AR configuration guide EDOC1100069334; an AR interface has no `ip policy-based-route`,
    and a `policy-based-route` node's `apply ip-address next-hop ip-address1 [ip-address2]`
    takes no `track`: AR command reference, apply ip-address next-hop). Every redirect is
    withdrawn by an NQA test (`track-nqa`), so a broken path falls back to normal routing. A
    classifier of an applied traffic policy matches ACLs of permit rules only: a packet matching
    a `deny` rule is dropped whatever the behavior says (Huawei FAQ, "What Is the Relationship
    Between the permit/deny Rules in an ACL and Those in the Behavior of a Traffic Policy?")."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    for interface in top(root, "interface"):
        for line in interface.children:
            if line.words[:2] == ["ip", "policy-based-route"]:
                yield config.finding(
                    line.number,
                    "vrp-interface-pbr",
                    f"{interface.text}: `{line.text.strip()}` is not an AR command; an AR policy-routes "
                    "forwarded traffic with `redirect ip-nexthop` in a traffic policy applied inbound",
                )
    for node in top(root, "policy-based-route"):
        for line in node.children:
            if line.words[:3] == ["apply", "ip-address", "next-hop"] and "track" in line.words:
                yield config.finding(
                    line.number,
                    "vrp-pbr-track",
                    f"{node.text}: `{line.text.strip()}`: an AR policy node's next hops take no "
                    "`track`; withdraw a next hop with `redirect ip-nexthop ... track-nqa` instead",
                )
    behaviors = _behaviors(root)
    for behavior in behaviors.values():
        for line in behavior.children:
            if line.words[:2] == ["redirect", "ip-nexthop"] and "track-nqa" not in line.words:
                yield config.finding(
                    line.number,
                    "vrp-redirect-untracked",
                    f"{behavior.text}: `{line.text.strip()}` is never withdrawn (no track-nqa): a "
                    "broken path keeps its traffic",
                )
    policies = _traffic_policies(root)
    classifier_acls = _classifier_acls(root)
    acls = _acls(root)
    for interface in top(root, "interface"):
        for line in interface.children:
            w = line.words
            if w[0] != "traffic-policy" or len(w) < 3 or w[1] not in policies:
                continue
            policy = policies[w[1]]
            for entry in policy.children:
                if entry.words[0] != "classifier" or "behavior" not in entry.words:
                    continue
                target = behaviors.get(after(entry.words, "behavior") or "")
                redirects = target is not None and any(c.words[:1] == ["redirect"] for c in target.children)
                if redirects and w[2] == "outbound":
                    yield config.finding(
                        line.number,
                        "vrp-redirect-outbound",
                        f"{interface.text}: {policy.text} redirects, and a traffic policy that "
                        "redirects applies inbound only",
                    )
                for name in classifier_acls.get(entry.words[1], []):
                    acl = acls.get(name)
                    denies = [r for r in (acl.children if acl else []) if r.words[2:3] == ["deny"]]
                    if denies:
                        yield config.finding(
                            denies[0].number,
                            "vrp-mqc-acl-deny",
                            f"{policy.text}: classifier {entry.words[1]} matches ACL {name}, whose "
                            f"`{denies[0].text.strip()}` drops what it matches on {interface.words[1]}",
                        )


# One permit rule of an advanced ACL as a match: protocol, source, destination (None: any) and
# destination port range (None: every port).
_Match = tuple[str, ipaddress.IPv4Network | None, ipaddress.IPv4Network | None, tuple[int, int] | None]


def _acl_net(words: list[str], keyword: str) -> ipaddress.IPv4Network | bool | None:
    """The prefix after `source`/`destination` (address and wildcard; a host's wildcard may be
    written 0); None when the rule names none; False when it cannot be read."""
    if keyword not in words:
        return None
    index = words.index(keyword)
    address, wildcard = [*words[index + 1 : index + 3], "", ""][:2]
    # A host's wildcard (0, 0.0.0.0) read as a mask would be /0, every address.
    mask = "32" if wildcard in ("0", "0.0.0.0") else wildcard
    return _acl_prefix(f"{address}/{mask}")


@functools.lru_cache(maxsize=65536)
def _acl_prefix(text: str) -> ipaddress.IPv4Network | bool:
    """`address/wildcard` as a prefix, False when it cannot be read (cached: a hub's checks read
    the same rules for every packet)."""
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return False


def _acl_match(rule: Line) -> _Match | None:
    """A `rule N permit PROTOCOL [source A W] [destination A W] [destination-port eq P | range
    L H]` as a match; None for anything else (a deny, another field), which the shadow check
    leaves alone."""
    w = rule.words
    if len(w) < 4 or w[0] != "rule" or w[2] != "permit":
        return None
    protocol, rest = w[3], w[4:]
    known = {"source": 3, "destination": 3}
    span: tuple[int, int] | None = None
    index = 0
    while index < len(rest):
        word = rest[index]
        if word in known:
            index += known[word]
        elif word == "destination-port" and rest[index + 1 : index + 2] == ["eq"] and len(rest) > index + 2:
            port = rest[index + 2]
            number = int(port) if port.isdigit() else PORT_NAMES.get(protocol, {}).get(port)
            if number is None:
                return None
            span, index = (number, number), index + 3
        elif (
            word == "destination-port" and rest[index + 1 : index + 2] == ["range"] and len(rest) > index + 3
        ):
            if not (rest[index + 2].isdigit() and rest[index + 3].isdigit()):
                return None
            span, index = (int(rest[index + 2]), int(rest[index + 3])), index + 4
        else:
            return None
    source, destination = _acl_net(w, "source"), _acl_net(w, "destination")
    if source is False or destination is False:
        return None
    assert not isinstance(source, bool) and not isinstance(destination, bool)
    return protocol, source, destination, span


def _match_covers(earlier: _Match, later: _Match) -> bool:
    """Every packet `later` matches, `earlier` matches too."""
    protocol_a, source_a, destination_a, span_a = earlier
    protocol_b, source_b, destination_b, span_b = later
    if protocol_a != "ip" and protocol_a != protocol_b:
        return False
    for net_a, net_b in ((source_a, source_b), (destination_a, destination_b)):
        if net_a is not None and (net_b is None or not net_b.subnet_of(net_a)):
            return False
    return span_a is None or (span_b is not None and span_a[0] <= span_b[0] and span_b[1] <= span_a[1])


def _classifier_matches(classifier: Line | None, acls: dict[str, Line]) -> list[_Match] | bool | None:
    """What an `operator or` classifier matches: True for `if-match any`, its ACLs' permit rules
    as matches, or None when any part of it cannot be read (another if-match, another rule form,
    `operator and`)."""
    if classifier is None or "and" in classifier.words[3:]:
        return None
    matches: list[_Match] = []
    for line in classifier.children:
        if line.words == ["if-match", "any"]:
            return True
        if line.words[:2] != ["if-match", "acl"] or line.words[-1] not in acls:
            return None
        for rule in acls[line.words[-1]].children:
            match = _acl_match(rule)
            if match is None:
                return None
            matches.append(match)
    return matches


@register_rule(PLATFORM)
def shadowed_classifiers(config: ConfigFile) -> Iterator[Finding]:
    """No classifier of a traffic policy that can never match: in a traffic policy the first
    classifier a packet matches decides (labnario, "ACL in traffic policy on Huawei device"), so
    a classifier whose every packet an earlier classifier of the same policy already takes (each
    of its ACL's rules inside one earlier rule, or an earlier `if-match any`) is dead
    configuration, and its behavior never applies. Classifiers that match anything but ACLs of
    readable permit rules are left alone."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    classifiers = {line.words[2]: line for line in top(root, "traffic", "classifier") if len(line.words) > 2}
    acls = _acls(root)
    for policy in _traffic_policies(root).values():
        taken: list[_Match] = []
        everything = None  # the earlier `if-match any` classifier
        for entry in policy.children:
            if entry.words[0] != "classifier" or len(entry.words) < 2:
                continue
            name = entry.words[1]
            matches = _classifier_matches(classifiers.get(name), acls)
            if everything is not None:
                yield config.finding(
                    entry.number,
                    "vrp-shadowed-classifier",
                    f"{policy.text}: classifier {name} never matches: {everything} before it matches every packet",
                )
                continue
            if matches is True:
                everything = name
                continue
            if matches is None or isinstance(matches, bool):
                continue
            if matches and all(any(_match_covers(e, m) for e in taken) for m in matches):
                yield config.finding(
                    entry.number,
                    "vrp-shadowed-classifier",
                    f"{policy.text}: classifier {name} never matches: the classifiers before it take "
                    "every packet it matches",
                )
                continue
            taken += matches


# A class's NQA administrator: its probe name (SLA-STRICT) as an NQA name (SLA_STRICT).
_CLASS_NQA_PREFIX = nqa_name(CLASS_PROBE_PREFIX)


@register_steering(PLATFORM)
def steering(config: ConfigFile) -> SteeringFacts:
    """The NQA tests (class: their administrator, SLA_<CLASS>, read back as SLA-<CLASS>) and the
    steered applications: each classifier of a traffic policy applied inbound whose ACL is an
    APP-<NAME>-<N> one, with the tracked next hop its behavior redirects to."""
    root = parse(config.text, ("#",))
    probes = []
    for test in top(root, "nqa", "test-instance"):
        values = {line.words[0]: line.words[1:] for line in test.children}
        admin = test.words[2] if len(test.words) > 2 else ""
        destination = values.get("destination-address", [])
        threshold = values.get("threshold", [])
        rtd = threshold[1] if threshold[:1] == ["rtd"] and len(threshold) > 1 else None
        probes.append(
            ProbeFact(
                line=test.number,
                name=" ".join(test.words[2:4]),
                sla_class=admin.replace("_", "-") if admin.startswith(_CLASS_NQA_PREFIX) else None,
                next_hop=destination[-1] if destination else None,
                latency_ms=int(rtd) if rtd and rtd.isdigit() else None,
                loss_percent=int(values["fail-percent"][0]) if values.get("fail-percent") else None,
                tos=probe_tos(values),
            )
        )
    acl_names = {line.words[3]: line.words[2] for line in top(root, "acl", "name") if len(line.words) > 3}
    applied = {
        line.words[1]
        for interface in top(root, "interface")
        for line in interface.children
        if line.words[0] == "traffic-policy" and line.words[2:3] == ["inbound"]
    }
    behaviors = _behaviors(root)
    classifier_acls = _classifier_acls(root)
    classifiers = {line.words[2]: line for line in top(root, "traffic", "classifier") if len(line.words) > 2}
    acls = _acls(root)
    policies = []
    for name, policy in _traffic_policies(root).items():
        if name not in applied:
            continue
        for entry in policy.children:
            if entry.words[0] != "classifier" or "behavior" not in entry.words:
                continue
            acl_list = [acl_names.get(acl, acl) for acl in classifier_acls.get(entry.words[1], [])]
            application = next((acl for acl in acl_list if acl.startswith(APPLICATION_ACL_PREFIX)), None)
            if application is None:
                continue
            behavior = behaviors.get(after(entry.words, "behavior") or "")
            hops = tuple(
                line.words[2]
                for line in (behavior.children if behavior is not None else [])
                if line.words[:2] == ["redirect", "ip-nexthop"] and len(line.words) > 2
            )
            policies.append(
                PolicyFact(
                    entry.number,
                    application.removeprefix(APPLICATION_ACL_PREFIX).lower(),
                    hops,
                    steers=_first_classifier_is(policy, entry, classifiers, acls),
                )
            )
    return SteeringFacts(probes, policies)


def _first_classifier_is(
    policy: Line, entry: Line, classifiers: dict[str, Line], acls: dict[str, Line]
) -> Callable[[Packet], bool | None]:
    """Whether `entry` of traffic policy `policy` is the first of its classifiers that takes a
    packet: the first classifier a packet matches decides (`shadowed_classifiers`)."""

    def steers(packet: Packet) -> bool | None:
        for candidate in policy.children:
            if candidate.words[0] != "classifier" or "behavior" not in candidate.words:
                continue
            takes = _classifier_takes(classifiers.get(candidate.words[1]), acls, packet)
            if takes is None or takes:
                return None if takes is None else candidate is entry
        return False

    return steers


def _classifier_takes(classifier: Line | None, acls: dict[str, Line], packet: Packet) -> bool | None:
    """Whether an `operator or` classifier matches `packet`: `if-match any`, or an ACL whose first
    rule that matches it permits it; None when some part cannot be read."""
    if classifier is None or "and" in classifier.words[3:]:
        return None
    doubt = False
    for line in classifier.children:
        if line.words == ["if-match", "any"]:
            return True
        if line.words[:2] != ["if-match", "acl"] or line.words[-1] not in acls:
            return None
        for rule in acls[line.words[-1]].children:
            if len(rule.words) < 4 or rule.words[0] != "rule" or rule.words[2] not in ("permit", "deny"):
                continue
            matches = _rule_matches(rule, packet)
            if matches is None:
                doubt = True
            elif matches:
                if rule.words[2] == "permit":
                    return True
                break
    return None if doubt else False


@register_rule(PLATFORM)
def zone_policy(config: ConfigFile) -> Iterator[Finding]:
    """With firewall zones, every addressed interface is in a zone, every pair of zones has an
    interzone with the firewall enabled (an interzone that is not enabled forwards everything),
    and no interzone filter permits any to any."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    zones = [line.words[-1] for line in top(root, "firewall", "zone")]
    if not zones:
        return
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        name = interface.words[1]
        routed = any(t.startswith("ip address") for t in texts) and not name.startswith(("LoopBack", "NULL"))
        if routed and not any(t.startswith("zone ") for t in texts):
            yield config.finding(
                interface.number, "vrp-zone-member", f"{name} has an address but no firewall zone"
            )
    enabled = {
        frozenset(line.words[2:4])
        for line in top(root, "firewall", "interzone")
        if "firewall enable" in line.child_texts()
    }
    for index, first in enumerate(zones):
        for second in zones[index + 1 :]:
            if frozenset((first, second)) not in enabled:
                yield config.finding(
                    0, "vrp-interzone-open", f"no enabled firewall interzone between {first} and {second}"
                )
    acls = _acls(root)
    for interzone in top(root, "firewall", "interzone"):
        for line in interzone.children:
            if line.words[0] != "packet-filter":
                continue
            acl = acls.get(line.words[1])
            denied: list[str] = []
            for rule in acl.children if acl is not None else []:
                if re.fullmatch(r"rule \d+ permit ip", rule.text):
                    yield config.finding(
                        rule.number,
                        "vrp-permit-any-any",
                        f"{interzone.text}: ACL {line.words[1]} permits any to any",
                    )
                destination = after(rule.words, "destination")
                if rule.words[2:4] == ["deny", "ip"] and destination:
                    wildcard = rule.words[rule.words.index("destination") + 2]
                    denied.append(f"{destination}/{'32' if wildcard == '0' else wildcard}")
                elif rule.words[2:4] == ["permit", "ip"] and destination is None:
                    gaps = private_gaps(denied)
                    if gaps:
                        yield config.finding(
                            rule.number,
                            "vrp-internet-private",
                            f"{interzone.text}: ACL {line.words[1]} permits the internet before denying {', '.join(gaps)}",
                        )


# ---------------------------------------------------------------- tunnels


def _source_address(root: Line, tunnel: dict[str, list[str]]) -> str | None:
    source = (tunnel.get("source") or [""])[0]
    if is_address(source):
        return source
    interface = next(top(root, "interface", source), None) if source else None
    for line in interface.children if interface is not None else []:
        if line.words[:2] == ["ip", "address"] and len(line.words) == 4 and is_address(line.words[2]):
            return line.words[2]
    return None


def _number(words: list[str]) -> int:
    """The one number `words` hold (`["1432"]`), else 0."""
    return int(words[0]) if len(words) == 1 and words[0].isdigit() else 0


def _values(section: Line | None) -> dict[str, list[str]]:
    return {line.words[0]: line.words[1:] for line in (section.children if section else [])}


def _bgp_bfd(root: Line) -> dict[str, tuple[int, int, int] | None]:
    """BGP peers tracked with BFD (`peer X bfd enable`, on the peer or its group: `peer X group
    G`, `peer G bfd enable`) -> their `bfd min-tx-interval A min-rx-interval B detect-multiplier
    C` (the peer's, else its group's; None: VRP's defaults)."""
    enabled: set[str] = set()
    timers: dict[str, tuple[int, int, int]] = {}
    group_of: dict[str, str] = {}
    peers: list[str] = []
    for bgp in top(root, "bgp"):
        for line in bgp.children:
            words = line.words
            if words[:1] != ["peer"] or len(words) < 3:
                continue
            if words[2:] == ["bfd", "enable"]:
                enabled.add(words[1])
            elif words[2:3] == ["bfd"] and len(words) == 9 and words[3::2] == ["min-tx-interval", "min-rx-interval", "detect-multiplier"]:
                timers[words[1]] = (int(words[4]), int(words[6]), int(words[8]))
            elif words[2] == "group" and len(words) == 4:
                group_of[words[1]] = words[3]
            elif words[2] == "as-number":
                peers.append(words[1])
    result: dict[str, tuple[int, int, int] | None] = {}
    for peer in peers:
        group = group_of.get(peer, "")
        if peer in enabled or group in enabled:
            result[peer] = timers.get(peer) or timers.get(group)
    return result


@register_session_bfd(PLATFORM)
def session_bfd(config: ConfigFile) -> dict[str, SessionBfdFact]:
    """Per BGP peer: does BGP track it with BFD (`_bgp_bfd`), on which timers."""
    if config.suffix:
        return {}
    root = parse(config.text, ("#",))
    bgp_bfd = _bgp_bfd(root)
    return {
        line.words[1]: SessionBfdFact(line.number, line.words[1] in bgp_bfd, bgp_bfd.get(line.words[1]))
        for bgp in top(root, "bgp")
        for line in bgp.children
        if line.words[:1] == ["peer"] and line.words[2:3] == ["as-number"]
    }


@register_tunnels(PLATFORM)
def tunnels(config: ConfigFile) -> list[TunnelFact]:
    root = parse(config.text, ("#",))
    replay_window = _replay_window(root)
    sections = {tuple(line.words[:3]): line for line in root.children if len(line.words) >= 3}
    peers_asn = {
        line.words[1]: int(line.words[3])
        for line in root.walk()
        if line.words[0] == "peer" and line.words[2:3] == ["as-number"] and line.words[3].isdigit()
    }
    bgp_bfd = _bgp_bfd(root)
    # The device's FQDN identity (`ike local-name`), which a peer with `local-id-type fqdn` sends.
    local_name = next((line.words[2] for line in top(root, "ike", "local-name") if len(line.words) > 2), None)
    facts: list[TunnelFact] = []
    for interface in top(root, "interface"):
        values = _values(interface)
        if "ipsec" not in values or values["ipsec"][:1] != ["profile"]:
            continue
        profile = _values(sections.get(("ipsec", "profile", values["ipsec"][1])))
        peer = _values(sections.get(("ike", "peer", (profile.get("ike-peer") or [""])[0])))
        ike_section = _values(sections.get(("ike", "proposal", (peer.get("ike-proposal") or [""])[0])))
        esp_section = sections.get(("ipsec", "proposal", (profile.get("proposal") or [""])[0]))
        pfs = int((profile.get("pfs") or ["dh-group0"])[0].removeprefix("dh-group"))
        ike = frozenset(
            IkeProposal(
                _IKE_ENCRYPTION.get(encryption, encryption),
                _HASH.get(prf, prf),
                int(group.removeprefix("group")),
            )
            for encryption in ike_section.get("encryption-algorithm", [])
            for prf in ike_section.get("prf", [])
            for group in ike_section.get("dh", [])
        )
        esp_algorithms = {
            line.words[1]: line.words[2]
            for line in (esp_section.children if esp_section else [])
            if line.words[0] == "esp" and len(line.words) == 3
        }
        encryption = esp_algorithms.get("encryption-algorithm")
        integrity = esp_algorithms.get("authentication-algorithm")
        esp = (
            frozenset(
                {
                    EspProposal(
                        _ESP_ENCRYPTION.get(encryption, encryption),
                        _HASH.get(integrity or "", integrity),
                        pfs,
                    )
                }
            )
            if encryption
            else frozenset()
        )
        address = values.get("ip", [])
        local_inside = peer_inside = None
        if address[:1] == ["address"] and len(address) == 3:
            local_inside = address[1]
            network = ipaddress.IPv4Network(f"{address[1]}/{address[2]}", strict=False)
            peer_inside = next(
                (
                    p
                    for p in peers_asn
                    if is_address(p) and ipaddress.IPv4Address(p) in network and p != local_inside
                ),
                None,
            )
        psk = peer.get("pre-shared-key", [])
        local_type = (peer.get("local-id-type") or ["ip"])[0]
        # The type the peer expects of the far end's identity: `remote-id-type` where it says one.
        # Without it no AR document here says; Huawei documents elsewhere check the peer's ID by
        # the local ID type, so that is what this reads: a `remote-id` of another type then
        # matches nothing the far end can send (`_against_intent` in cross.py).
        facts.append(
            TunnelFact(
                file=config.name,
                line=interface.number,
                name=tunnel_id(interface.child_texts()) or interface.words[1],
                peer_outside=(values.get("destination") or [""])[-1] or None,
                local_inside=local_inside,
                peer_inside=peer_inside,
                # With `local-id-type fqdn` the identity is the device's `ike local-name` (an AR
                # has no per-peer local ID value: `ike_local_id`); otherwise VRP identifies both
                # ends by address: the tunnel source's and the remote-address.
                local_id=(local_name if peer.get("local-id-type") == ["fqdn"] else None)
                or _source_address(root, values),
                peer_id=(peer.get("remote-id") or [""])[0] or (peer.get("remote-address") or [""])[-1] or None,
                psk_slot=" ".join(psk[1:]) if psk[:1] == ["cipher"] else None,
                peer_asn=peers_asn.get(peer_inside or ""),
                ike=ike,
                esp=esp,
                bfd=(peer_inside in bgp_bfd) if peer_inside else None,
                bfd_timers=bgp_bfd.get(peer_inside or ""),
                selectors=_tunnel_selectors(values.get("tunnel-protocol")),
                # `local-id-type` chooses what the peer sends; unset, its address (`ip`)
                local_id_type=_ID_TYPES.get(local_type),
                peer_id_type=_ID_TYPES.get((peer.get("remote-id-type") or [local_type])[0]),
                replay_window=replay_window,
                # `mtu N` and `tcp adjust-mss N` in the tunnel interface (0: none set)
                mtu=_number(values.get("mtu", [])),
                tcp_mss=_number(values.get("tcp", [])[1:] if values.get("tcp", [])[:1] == ["adjust-mss"] else []),
            )
        )
    return facts


# An AR's global anti-replay window when the config sets none: 1024 packets (command reference,
# "ipsec anti-replay window": "By default, the global IPSec anti-replay window size is 1024 bits",
# one bit per packet); `undo ipsec anti-replay enable` turns checking off.
_VRP_REPLAY_WINDOW = 1024


def _replay_window(root: Line) -> int:
    """The global anti-replay window of every SA (0: checking off)."""
    window = _VRP_REPLAY_WINDOW
    for line in root.children:
        words = line.words
        if words[:4] == ["undo", "ipsec", "anti-replay", "enable"]:
            return 0
        if words[:3] == ["ipsec", "anti-replay", "window"] and len(words) > 3 and words[3].isdigit():
            window = int(words[3])
    return window


# An IKE peer's `local-id-type` values and the identification types they send (AR command
# reference, IPSec configuration commands: local-id-type {dn | fqdn | ip | key-id | user-fqdn}).
_ID_TYPES = {"ip": "ipv4", "fqdn": "fqdn", "user-fqdn": "user-fqdn", "key-id": "key-id", "dn": "dn"}


def _tunnel_selectors(protocol: list[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a tunnel interface with an IPsec profile negotiates: `tunnel-protocol ipsec` (an IPsec
    virtual tunnel interface) everything, 0.0.0.0/0 both ways; `tunnel-protocol gre` protects
    the GRE packets between the two outside addresses only (Huawei AR configuration guide, IPSec:
    "Using a Virtual Tunnel Interface to Establish an IPSec Tunnel", and GRE over IPSec)."""
    if protocol == ["ipsec"]:
        return ROUTE_BASED_SELECTORS
    word = SELECTORS_GRE if protocol == ["gre"] else " ".join(protocol or ["none"])
    return (word,), (word,)


@register_ranking(PLATFORM)
def return_ranking(config: ConfigFile) -> RankingFacts:
    """Hub: the route-policy nodes that rank routes by local preference and the `ip
    community-filter`s, for the cross-file check that those bound to store sessions take the
    routes a store tags degraded (`if-match community-filter`) below every untagged route of the
    store."""
    root = parse(config.text, ("#",))
    lists = {line.words[3] for line in top(root, "ip", "community-filter") if len(line.words) > 3}
    facts = []
    for node in top(root, "route-policy"):
        words = [line.words for line in node.children]
        pref = next((w[2] for w in words if w[:2] == ["apply", "local-preference"] and len(w) > 2), None)
        prefixes = next((w[2] for w in words if w[:2] == ["if-match", "ip-prefix"] and len(w) > 2), None)
        if pref is None or prefixes is None:
            continue
        community = next((w[2] for w in words if w[:2] == ["if-match", "community-filter"] and len(w) > 2), None)
        facts.append(RankingFact(node.words[1], node.number, node.text, prefixes, community, int(pref)))
    return RankingFacts("vrp-return-path", facts, lists)


# ---------------------------------------------------------------- IKE, web system, hub underlay


# A static route's preference when the route names none; a BGP route's, for each of external,
# internal and local routes, until `preference E I L` in the BGP view or its IPv4 unicast family
# lowers it (Huawei command reference, "preference (BGP)": "By default, the protocol
# preferences of external routes, internal routes, aggregated routes, and crossed routes are all
# 255"). The lower preference wins.
_STATIC_PREFERENCE = 60
_BGP_PREFERENCE = (255, 255, 255)


def _bgp_preference(bgp: Line) -> tuple[int, int, int]:
    """The (external, internal, local) preference of `bgp`'s IPv4 unicast routes."""
    found = _BGP_PREFERENCE
    for line in [*bgp.children, *(c for f in bgp.children if f.words == ["ipv4-family", "unicast"] for c in f.children)]:
        words = line.words
        if words[:1] == ["preference"] and len(words) == 4 and all(w.isdigit() for w in words[1:]):
            found = (int(words[1]), int(words[2]), int(words[3]))
    return found


@register_rule(PLATFORM)
def bgp_preference(config: ConfigFile) -> Iterator[Finding]:
    """A route BGP learns beats the NULL0 route that stands in for the same prefix (a summary
    the router originates, a store's segments): VRP ranks BGP routes at preference 255 unless
    told otherwise, so a NULL0 route at 254 would win and drop everything the learned route
    carries (a hub's 10.0.0.0/16 as the DC announces it)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    bgp = next(top(root, "bgp"), None)
    if bgp is None:
        return
    external, internal, _ = _bgp_preference(bgp)
    for line in top(root, "ip", "route-static"):
        words = line.words
        if "NULL0" not in words or words[2] == "vpn-instance":
            continue
        preference = int(after(words, "preference") or _STATIC_PREFERENCE)
        if max(external, internal) >= preference:
            yield config.finding(
                line.number,
                "vrp-bgp-preference",
                f"{line.text}: a BGP route for the same prefix (preference external {external}, internal "
                f"{internal}) loses to this NULL0 route; set `preference` in the BGP IPv4 unicast family below {preference}",
            )


@register_rule(PLATFORM)
def ike_version(config: ConfigFile) -> Iterator[Finding]:
    """Every IKE peer negotiates IKEv2 only: a VRP IKE peer takes IKEv1 and IKEv2 unless
    `undo version 1` says otherwise (IKEv1 would let a peer fall back to the older protocol)."""
    if config.suffix:
        return
    for peer in top(parse(config.text, ("#",)), "ike", "peer"):
        texts = peer.child_texts()
        if "undo version 1" not in texts or "version 1" in texts:
            yield config.finding(
                peer.number, "vrp-ike-version", f"{peer.text}: negotiates IKEv1 too (no `undo version 1`)"
            )


@register_rule(PLATFORM)
def ike_local_id(config: ConfigFile) -> Iterator[Finding]:
    """No `local-id` in an IKE peer: an AR sends one FQDN for the whole device, its `ike
    local-name`, and an IKE peer only chooses the type of its local ID (`local-id-type`; AR
    command reference, IPSec configuration commands). A per-peer `local-id` value is no AR
    command, so a store cannot give its links different FQDNs (`STORE_ONE_FQDN_IDENTITY`)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    for peer in top(root, "ike", "peer"):
        for line in peer.children:
            if line.words[0] == "local-id":
                yield config.finding(
                    line.number,
                    "vrp-ike-local-id",
                    f"{peer.text}: `{line.text}` is no AR command; the FQDN an IKE peer sends is the "
                    "device's `ike local-name` (with `local-id-type fqdn`)",
                )


@register_rule(PLATFORM)
def ike_peer_address(config: ConfigFile) -> Iterator[Finding]:
    """Every IPsec tunnel interface names its far end (`destination`) and its IKE peer the same
    `remote-address`: with several tunnel interfaces on one source, VRP binds an IKEv2
    negotiation to its interface by the peer's address (common/platforms.py
    HUB_STATIC_PEERS_ONLY), so a peer without one cannot be told apart."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    sections = {tuple(line.words[:3]): line for line in root.children if len(line.words) >= 3}
    for interface in top(root, "interface"):
        values = _values(interface)
        if values.get("tunnel-protocol") != ["ipsec"]:
            continue
        destination = (values.get("destination") or [""])[-1]
        applied = values.get("ipsec", [])
        profile_name = applied[1] if applied[:1] == ["profile"] and len(applied) > 1 else ""
        profile = _values(sections.get(("ipsec", "profile", profile_name)))
        name = (profile.get("ike-peer") or [""])[0]
        peer = sections.get(("ike", "peer", name))
        remote = (_values(peer).get("remote-address") or [""])[-1]
        if not destination:
            yield config.finding(
                interface.number,
                "vrp-ike-peer-address",
                f"{interface.text}: an IPsec tunnel interface without `destination` (the peer's address)",
            )
        if peer is not None and not remote:
            yield config.finding(
                peer.number,
                "vrp-ike-peer-address",
                f"{peer.text}: no remote-address; the tunnel cannot be bound to {interface.words[1]}",
            )
        elif peer is not None and destination and remote != destination:
            yield config.finding(
                peer.number,
                "vrp-ike-peer-address",
                f"{peer.text}: remote-address {remote} is not {interface.words[1]}'s destination {destination}",
            )


@register_rule(PLATFORM)
def web_system(config: ConfigFile) -> Iterator[Finding]:
    """The web system (HTTP/HTTPS, on from the factory) is either switched off (`undo http server
    enable` and `undo http secure-server enable`) or bound to a defined ACL (`http acl N`)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    texts = {line.text for line in root.children}
    if {"undo http server enable", "undo http secure-server enable"} <= texts:
        return
    acls = definitions(root).get("acl", {})
    bound = [line for line in root.children if line.words[:2] == ["http", "acl"] and len(line.words) > 2]
    if not bound:
        yield config.finding(
            0,
            "vrp-web-system",
            "the web system (HTTP/HTTPS) answers anyone: no `http acl` and not switched off",
        )
    for line in bound:
        if line.words[2] not in acls:
            yield config.finding(
                line.number, "vrp-web-system", f"{line.text}: ACL {line.words[2]} is not defined"
            )


def _destination_port(words: list[str], protocol: str) -> int | None:
    """The port of a rule's `destination-port eq PORT` (by number or VRP keyword); None without."""
    if after(words, "destination-port") != "eq":
        return None
    port = (
        words[words.index("destination-port") + 2] if len(words) > words.index("destination-port") + 2 else ""
    )
    return PORT_NAMES.get(protocol, {}).get(port, int(port) if port.isdigit() else None)


# Router services a hub's underlay filter may admit from named sources only.
_MANAGEMENT_PORTS = {("tcp", 22), ("tcp", 23), ("tcp", 80), ("tcp", 443), ("udp", 161)}


# The TCP flags `tcp-flag` names (`established`: ACK or RST set).
_TCP_FLAGS = frozenset({"ack", "established", "fin", "psh", "rst", "syn", "urg"})


def _tcp_flags(words: list[str], index: int) -> tuple[frozenset[str], int]:
    """The flags named after the `tcp-flag` at `words[index]`, and the index past them."""
    end = index + 1
    while end < len(words) and words[end] in _TCP_FLAGS:
        end += 1
    return frozenset(words[index + 1 : end]), end


def _answers_only(words: list[str]) -> bool:
    """Whether a TCP rule matches no connection's first segment (SYN alone): it names TCP flags,
    none of them SYN (`established`: ACK or RST set)."""
    flags = _tcp_flags(words, words.index("tcp-flag"))[0] if "tcp-flag" in words else frozenset()
    return bool(flags) and "syn" not in flags


def _acl_rules(acl: Line) -> list[Line]:
    """The `rule N ACTION PROTOCOL ...` lines of an ACL."""
    return [rule for rule in acl.children if rule.words[:1] == ["rule"] and len(rule.words) > 3]


def _unclosed(config: ConfigFile, acl: Line, rules: list[Line], rule: str) -> Iterator[Finding]:
    """A filter that does not end in `deny ip` (`rules`: its rule lines): a traffic-filter
    passes what no rule matches."""
    if not rules or rules[-1].words[2:] != ["deny", "ip"]:
        yield config.finding(
            acl.number, rule, f"{acl.text}: does not end in `deny ip`; the traffic-filter passes what no rule matches"
        )


def _inbound_acl(texts: list[str], acls: dict[str, Line]) -> Line | None:
    """The defined ACL an interface (its child lines, `texts`) filters inbound traffic with."""
    applied = next((t.split()[-1] for t in texts if t.startswith("traffic-filter inbound acl")), None)
    return acls.get(applied) if applied else None


def _profile_tunnels(root: Line, acls: dict[str, Line], profile: str) -> Iterator[tuple[Line, Line | None]]:
    """Each tunnel interface whose IPsec profile's name starts with `profile` (`HUB-`, `AWS-`,
    `CLOUD-`), with the defined ACL it filters inbound traffic with (None: none)."""
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        if any(t.startswith(f"ipsec profile {profile}") for t in texts):
            yield interface, _inbound_acl(texts, acls)


@register_rule(PLATFORM)
def hub_wan_filter(config: ConfigFile) -> Iterator[Finding]:
    """A hub's addressed physical interface (its underlay: the DC core LAN its public /32 is
    routed over) filters what it takes in: IKE (UDP 500, 4500) and ESP admitted, management
    ports only from named sources, nothing permitted from any to any, a server's answers (by
    source port) only towards a named destination, over TCP only as answers (`tcp-flag
    established`: ACK or RST set, never a SYN opening a connection) and, over UDP, to the one
    port they answer (NTP's `source-port eq ntp ... destination-port eq ntp`): the sender chooses
    its source port and a stateless filter cannot tie an answer to a request, so a DNS server's
    answers by source port alone would let anyone sending from its address and port 53 reach
    every UDP port of the hub, SNMP included; and a closing `deny ip` (a traffic-filter passes
    what no rule matches)."""
    if config.suffix or config.role != "hub":
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    for interface in top(root, "interface"):
        name = interface.words[1] if len(interface.words) > 1 else ""
        texts = interface.child_texts()
        if name.startswith(("LoopBack", "Tunnel", "NULL")) or not any(
            t.startswith("ip address") for t in texts
        ):
            continue
        acl = _inbound_acl(texts, acls)
        if acl is None:
            yield config.finding(
                interface.number,
                "vrp-hub-wan-filter",
                f"{interface.text}: the hub's underlay takes everything in (no defined traffic-filter inbound ACL)",
            )
            continue
        rules = _acl_rules(acl)
        admitted = set()
        for rule in rules:
            w = rule.words
            action, protocol = w[2], w[3]
            number = _destination_port(w, protocol)
            if action == "permit":
                admitted.add((protocol, number))
                if protocol == "ip" and "destination" not in w:
                    yield config.finding(
                        rule.number, "vrp-hub-wan-filter", f"{acl.text}: {rule.text.strip()} permits anything"
                    )
                if "source-port" in w and "destination" not in w:
                    # A server's answers matched by their source port alone: anything that
                    # address sends from that port reaches every port of the hub (SNMP too).
                    yield config.finding(
                        rule.number,
                        "vrp-hub-wan-filter",
                        f"{acl.text}: {rule.text.strip()} admits anything sent from that port, to any "
                        "destination (name the hub's own address the answers come back to)",
                    )
                elif protocol == "tcp" and "source-port" in w and not _answers_only(w):
                    # Answers matched by their source port alone: that address, sending a SYN
                    # from that port, opens a connection to the port it names.
                    yield config.finding(
                        rule.number,
                        "vrp-hub-wan-filter",
                        f"{acl.text}: {rule.text.strip()} admits new connections sent from that port "
                        "(take the answers only: `tcp-flag established`)",
                    )
                elif protocol == "udp" and "source-port" in w and after(w, "destination-port") != "eq":
                    yield config.finding(
                        rule.number,
                        "vrp-hub-wan-filter",
                        f"{acl.text}: {rule.text.strip()} admits anything sent from that port to more than "
                        "one UDP port of the hub (name the one port the answers come back to)",
                    )
                if (protocol, number) in _MANAGEMENT_PORTS and "source" not in w:
                    yield config.finding(
                        rule.number,
                        "vrp-hub-wan-filter",
                        f"{acl.text}: {rule.text.strip()} admits {protocol}/{number} from anywhere",
                    )
        for needed in (("udp", 500), ("udp", 4500), ("50", None)):
            if needed not in admitted:
                what = "ESP" if needed[0] == "50" else f"{needed[0]}/{needed[1]}"
                yield config.finding(
                    acl.number, "vrp-hub-wan-filter", f"{acl.text}: does not admit {what} (IKE/IPsec)"
                )
        yield from _unclosed(config, acl, rules, "vrp-hub-wan-filter")


def _vty_sources(root: Line, acls: dict[str, Line]) -> list[ipaddress.IPv4Address]:
    """One address of each source range the vty lines' inbound ACL admits (`acl N inbound`,
    basic ACL `rule permit source A W`): where management comes from."""
    names = {
        line.words[1]
        for vty in top(root, "user-interface", "vty")
        for line in vty.children
        if line.words[:1] == ["acl"] and line.words[-1:] == ["inbound"] and len(line.words) == 3
    }
    sources = []
    for name in sorted(names):
        for rule in _acl_rules(acls[name]) if name in acls else []:
            w = rule.words
            source = after(w, "source")
            if w[2] == "permit" and source and is_address(source):
                sources.append(ipaddress.IPv4Address(source))
    return sources


@register_rule(PLATFORM)
def hub_management_bound(config: ConfigFile) -> Iterator[Finding]:
    """A hub's DC port takes management (SSH, SNMP) from the management ranges at its management
    addresses only, never at the public IKE endpoint (a loopback the tunnels are sourced from,
    which the DC edge routes to the hub from the internet) nor at the port's own address: an
    internet host sending as a management host would have the hub's SYN-ACK or SNMP answer
    reflected at HQ's management hosts (the vty ACL limits who logs in, not who is answered).
    Each management source (`_vty_sources`) sends SSH and SNMP to each such address through the
    port's inbound filter (`acl_verdict`)."""
    if config.suffix or config.role != "hub":
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    sources = _vty_sources(root, acls)
    interfaces = list(top(root, "interface"))
    endpoints = {line.words[1] for i in interfaces for line in i.children if line.words[:1] == ["source"] and len(line.words) > 1}
    public = [
        address.ip
        for i in interfaces
        if len(i.words) > 1 and i.words[1] in endpoints and (address := interface_address(i)) is not None
    ]
    for interface, _ in _hub_dc_ports(root):
        own = interface_address(interface)
        acl = _inbound_acl(interface.child_texts(), acls)
        refused = [*public, *([own.ip] if own is not None else [])]
        reached = sorted(
            {
                f"{protocol}/{port} at {address}"
                for source in sources
                for address in refused
                for protocol, port in (("tcp", 22), ("udp", 161))
                if acl is None or acl_verdict(acl, Packet(protocol, source, address, port)).forwarded
            }
        )
        if reached:
            yield config.finding(
                interface.number,
                "vrp-hub-management-bound",
                f"{interface.text}: the DC port, which the internet reaches too, takes management from the "
                f"management ranges at an address other than the hub's loopback ({_some(reached)})",
            )


def _own_sources(root: Line) -> list[ipaddress.IPv4Network]:
    """What a router sends from into its tunnels, as its config holds it: each loopback's and
    tunnel's own address (alone: a tunnel's /31 holds the far end too) and the subnet of every
    other addressed interface but the tunnels' underlay ports (their subnet holds the carrier's
    gateway), i.e. the segments behind it."""
    interfaces = list(top(root, "interface"))
    underlay = {
        line.words[1]
        for interface in interfaces
        for line in interface.children
        if line.words[:1] == ["source"] and len(line.words) > 1
    }
    own: list[ipaddress.IPv4Network] = []
    for interface in interfaces:
        name = interface.words[1] if len(interface.words) > 1 else ""
        for line in interface.children:
            if line.words[:2] != ["ip", "address"] or len(line.words) < 4 or not is_address(line.words[2]):
                continue
            try:
                address = ipaddress.IPv4Interface(f"{line.words[2]}/{line.words[3]}")
            except ValueError:
                continue
            if name.startswith(("LoopBack", "Tunnel")):
                own.append(ipaddress.IPv4Network(address.ip))
            elif name not in underlay:
                own.append(address.network)
    return own


@register_rule(PLATFORM)
def overlay_transit(config: ConfigFile) -> Iterator[Finding]:
    """Every tunnel of a zone holding two or more (a store's hub and AWS tunnels share OVERLAY)
    lets out only what the router itself or the segments behind it send: a defined
    `traffic-filter outbound` ACL whose every permit names a source of the router's own
    (`_own_sources`) and that ends in `deny ip` (a traffic-filter passes what no rule matches).
    An AR applies no policy to traffic between the interfaces of one zone ("The firewall considers
    data flows transmitted within a zone reliable and implements no security policy for these
    data flows", AR V200R010 "Security Zone and Interzone", EDOC1100034077), so without it a
    packet one hub or AWS sends the store, addressed elsewhere, leaves by another tunnel: the
    store carries traffic between its hubs and clouds (IOS-XE's `cisco-overlay-transit`)."""
    if config.suffix:
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    own = _own_sources(root)
    checked: set[int] = set()
    for zone, tunnels in shared_tunnel_zones(zone_members(root, "zone")).items():
        names = ", ".join(tunnel.words[1] for tunnel in tunnels)
        for tunnel in tunnels:
            applied = next(
                (t.split()[-1] for t in tunnel.child_texts() if t.startswith("traffic-filter outbound acl")), None
            )
            acl = acls.get(applied or "")
            if acl is None:
                undefined = f" (ACL {applied} is not defined)" if applied else ""
                yield config.finding(
                    tunnel.number,
                    "vrp-overlay-transit",
                    f"{tunnel.text}: no traffic-filter outbound{undefined}, so the router forwards "
                    f"between the tunnels of zone {zone} ({names})",
                )
                continue
            if acl.number in checked:  # one ACL on many tunnels: said once
                continue
            checked.add(acl.number)
            rules = _acl_rules(acl)
            for rule in rules:
                if rule.words[2] != "permit":
                    continue
                source = _acl_net(rule.words, "source")
                if not (isinstance(source, ipaddress.IPv4Network) and any(source.subnet_of(net) for net in own)):
                    sent_by = str(source) if isinstance(source, ipaddress.IPv4Network) else "any source"
                    yield config.finding(
                        rule.number,
                        "vrp-overlay-transit",
                        f"{acl.text}: {rule.text} lets {sent_by} out of the tunnels of zone {zone}, "
                        "which is not the router's own address nor a segment's: it forwards that "
                        "between its tunnels",
                    )
            yield from _unclosed(config, acl, rules, "vrp-overlay-transit")


@register_rule(PLATFORM)
def hub_cloud_filter(config: ConfigFile) -> Iterator[Finding]:
    """A hub's cloud VPN tunnels (IPsec profile `CLOUD-N`: AWS, the OpenStack gateways) filter
    what they take in with a defined ACL that ends in `deny ip`: a cloud is no more trusted than
    a store, and a tunnel without a traffic-filter lets a cloud host reach every service of the
    hub and whatever it routes (HubView.from_clouds says what may pass)."""
    if config.suffix or config.role != "hub":
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    checked: set[int] = set()
    for interface, acl in _profile_tunnels(root, acls, "CLOUD-"):
        if acl is None:
            yield config.finding(
                interface.number,
                "vrp-hub-cloud-filter",
                f"{interface.text}: the cloud VPN takes everything in (no defined traffic-filter inbound ACL)",
            )
            continue
        if acl.number in checked:  # one ACL on every cloud tunnel: said once
            continue
        checked.add(acl.number)
        yield from _unclosed(config, acl, _acl_rules(acl), "vrp-hub-cloud-filter")


def _ip_prefixes(root: Line) -> dict[str, list[PrefixRule]]:
    """The prefix lists of a VRP config, each by name with its rules in index order: `ip ip-prefix
    L index N permit|deny A LENGTH [greater-equal X] [less-equal Y]`. The one reader of them."""
    prefix_lists: dict[str, list[tuple[int, PrefixRule]]] = {}
    for line in top(root, "ip", "ip-prefix"):
        w = line.words
        if len(w) < 8 or w[3] != "index" or not w[4].isdigit() or w[5] not in ("permit", "deny"):
            continue
        net = summary_net(w[6], w[7], None)
        if net is not None:
            rule = prefix_rule(w[5] == "permit", net, after(w, "greater-equal"), after(w, "less-equal"), line.number)
            prefix_lists.setdefault(w[2], []).append((int(w[4]), rule))
    return {name: [rule for _, rule in sorted(found, key=lambda e: e[0])] for name, found in prefix_lists.items()}


@register_rule(PLATFORM)
def aws_tunnel_filter(config: ConfigFile) -> Iterator[Finding]:
    """A store's AWS tunnels (IPsec profile `AWS-...`) share the OVERLAY zone with its hub
    tunnels, and no interzone filter judges what is addressed to the router, so every service of
    the router (SSH and SNMP from the management ranges, DNS, ping) answers an AWS source, spoofed
    or not, unless the tunnel filters what it takes in: each needs a defined `traffic-filter
    inbound` ACL whose every permit admits only the tunnel's far end to its own address (BGP,
    ICMP) or a source within the prefixes the store takes from AWS (`AWS-ROUTES`), as
    `ViewBuilder._aws_filter` builds it, and that ends in `deny ip` (a traffic-filter passes what
    no rule matches)."""
    if config.suffix or config.role != "edge":
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    clouds = [rule.prefix for rule in _ip_prefixes(root).get("AWS-ROUTES", []) if rule.permit]
    for interface, acl in _profile_tunnels(root, acls, "AWS-"):
        if acl is None:
            yield config.finding(
                interface.number,
                "vrp-aws-tunnel-filter",
                f"{interface.text}: no defined traffic-filter inbound ACL: every service of the router "
                "answers an AWS source, spoofed or not",
            )
            continue
        tunnel = interface_address(interface)
        rules = _acl_rules(acl)
        for rule in rules:
            if rule.words[2] != "permit":
                continue
            source, destination = _acl_net(rule.words, "source"), _acl_net(rule.words, "destination")
            readable = source is not False and destination is not False
            if (
                not readable
                or tunnel is None
                or not aws_filter_admits(
                    source if isinstance(source, ipaddress.IPv4Network) else None,
                    destination if isinstance(destination, ipaddress.IPv4Network) else None,
                    tunnel,
                    clouds,
                )
            ):
                yield config.finding(
                    rule.number,
                    "vrp-aws-tunnel-filter",
                    f"{acl.text} (on {interface.words[1]}): {rule.text} admits "
                    f"{source if isinstance(source, ipaddress.IPv4Network) else 'any source'}, which is "
                    "neither the tunnel's far end to its own address nor within the prefixes the store "
                    "takes from AWS (AWS-ROUTES)",
                )
        yield from _unclosed(config, acl, rules, "vrp-aws-tunnel-filter")


# What a store's hub tunnel filter is probed with, to each of the router's own addresses: its
# management and control ports (SSH, Telnet, the DNS proxy over TCP and UDP, the web system,
# BGP, NETCONF, NTP, SNMP, BFD). The rest of the overlay is stood for by an address outside every
# source a filter's permits name (documentation and benchmarking ranges: the first one no permit
# names), and each source a permit names by a host of its own.
_ROUTER_PORTS = (
    ("tcp", 22),
    ("tcp", 23),
    ("tcp", 53),
    ("tcp", 80),
    ("tcp", 179),
    ("tcp", 443),
    ("tcp", 830),
    ("udp", 53),
    ("udp", 123),
    ("udp", 161),
    ("udp", 3784),
)
_OVERLAY_STAND_INS = tuple(
    ipaddress.IPv4Address(a) for a in ("192.0.2.200", "198.51.100.200", "203.0.113.200", "198.18.0.200")
)


def _answer_problem(words: list[str]) -> str | None:
    """What is wrong with a permit that takes a server's answers by their source port (the
    sender chooses it), if anything: it must name the server and the router's own address the
    answers come back to; over TCP take answers only (`tcp-flag established`); over UDP reach the
    one port they answer (NTP), but for DNS, whose resolver asks from ports of its own."""
    source, destination = _acl_net(words, "source"), _acl_net(words, "destination")
    index = words.index("source-port")
    dns = words[index + 1 : index + 3] in (["eq", "dns"], ["eq", "domain"], ["eq", "53"])
    if not isinstance(destination, ipaddress.IPv4Network) or destination.prefixlen != 32:
        return "admits anything sent from that port, to any destination (name the router's own address the answers come back to)"
    if not isinstance(source, ipaddress.IPv4Network):
        return "admits answers from any source (name the server)"
    if words[3] == "tcp" and not _answers_only(words):
        return "admits new connections sent from that port (take the answers only: `tcp-flag established`)"
    if words[3] == "udp" and after(words, "destination-port") != "eq" and not dns:
        return "admits anything sent from that port to more than one UDP port of the router (name the one port the answers come back to)"
    return None


@register_rule(PLATFORM)
def hub_tunnel_filter(config: ConfigFile) -> Iterator[Finding]:
    """A store's hub tunnels (IPsec profile `HUB-...`) bring in what HQ, the clouds and the hubs
    send, and no interzone filter judges what is addressed to the router, so each needs a
    defined `traffic-filter inbound` ACL (FROM-HUBS, `hub_filter` in the platform module) that
    passes BGP from the tunnel's far end to its own address (and BFD where the router runs it
    with that peer) and admits no management or control port of the router (`_ROUTER_PORTS`) at
    any of its own addresses (those of its interfaces outside a VPN instance): not from a
    tunnel's far end beyond its BGP and BFD, not from the rest of the overlay, and from a source
    a permit names (the management ranges) SSH and SNMP only. Answers matched by their source
    port (the sender chooses it) name the router address they come back to; over TCP they are
    answers only (`tcp-flag established`), over UDP they reach the one port they answer (NTP),
    but for DNS, whose resolver asks from ports of its own."""
    if config.suffix or config.role != "edge":
        return
    root = parse(config.text, ("#",))
    acls = _acls(root)
    own: list[ipaddress.IPv4Address] = []
    for interface in top(root, "interface"):
        address = interface_address(interface)
        if address is not None and not any(t.startswith("ip binding vpn-instance") for t in interface.child_texts()):
            own.append(address.ip)
    bfd = {line.words[1] for bgp in top(root, "bgp") for line in bgp.children if line.words[2:] == ["bfd", "enable"]}
    tunnels: list[tuple[Line, Line | None, ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for interface, acl in _profile_tunnels(root, acls, "HUB-"):
        if acl is None:
            yield config.finding(
                interface.number,
                "vrp-hub-tunnel-filter",
                f"{interface.text}: no defined traffic-filter inbound ACL: every service of the router "
                "answers any source in the overlay",
            )
        address = interface_address(interface)
        far = next((host for host in address.network if host != address.ip), None) if address else None
        if address is not None and far is not None:
            tunnels.append((interface, acl, far, address.ip))
    # BGP and BFD between each tunnel's two ends: whichever tunnel's filter a pair meets, it passes.
    control = {
        (far, tunnel_ip, protocol, port)
        for _, _, far, tunnel_ip in tunnels
        for protocol, port in (("tcp", 179), *((("udp", 3784),) if str(far) in bfd else ()))
    }
    reported: set[int] = set()
    for interface, acl, far, tunnel_ip in tunnels:
        if acl is None:
            continue
        for protocol, port, name in (("tcp", 179, "BGP"), ("udp", 3784, "BFD")):
            if (far, tunnel_ip, protocol, port) not in control:
                continue
            verdict = acl_verdict(acl, Packet(protocol, far, tunnel_ip, port))
            if not verdict.forwarded:
                yield config.finding(
                    verdict.line or acl.number,
                    "vrp-hub-tunnel-filter",
                    f"{acl.text} (on {interface.words[1]}): drops {name} from the tunnel's far end {far} to "
                    f"{tunnel_ip} ({verdict.rule})",
                )
        if acl.number in reported:
            continue
        reported.add(acl.number)
        rules = _acl_rules(acl)
        named: list[ipaddress.IPv4Network] = []
        for rule in rules:
            w = rule.words
            if w[2] != "permit":
                continue
            source = _acl_net(w, "source")
            if "source-port" in w:
                problem = _answer_problem(w)
                if problem:
                    yield config.finding(rule.number, "vrp-hub-tunnel-filter", f"{acl.text}: {rule.text.strip()} {problem}")
            elif isinstance(source, ipaddress.IPv4Network):
                named.append(source)
        stand_in = next((a for a in _OVERLAY_STAND_INS if not any(a in net for net in named)), _OVERLAY_STAND_INS[0])
        ends = {far for _, _, far, _ in tunnels}
        sources = [(stand_in, "the overlay, e.g.", False)]
        for net in dict.fromkeys(named):
            host = net.network_address + (1 if net.prefixlen < 31 else 0)
            if host in ends:
                sources.append((host, "a tunnel's far end", False))
            else:  # management from a named source: the management ranges
                sources.append((host, f"{net}, a source a permit names, e.g.", True))
        flagged: set[int] = set()
        for sender, who, management in sources:
            for target in own:
                for protocol, port in _ROUTER_PORTS:
                    if (sender, target, protocol, port) in control:
                        continue
                    if management and (protocol, port) in (("tcp", 22), ("udp", 161)):
                        continue
                    verdict = acl_verdict(acl, Packet(protocol, sender, target, port))
                    if verdict.forwarded and verdict.line not in flagged:
                        flagged.add(verdict.line)
                        yield config.finding(
                            verdict.line or acl.number,
                            "vrp-hub-tunnel-filter",
                            f"{acl.text} (on {interface.words[1]}): admits {protocol}/{port} from {who} "
                            f"{sender} to the router's own {target} ({verdict.rule})",
                        )


def _rule_matches(rule: Line, packet: Packet) -> bool | None:
    """Whether advanced ACL rule `rule` matches `packet` (`_rule_matcher` reads its words)."""
    return _rule_matcher(tuple(rule.words)).matches(packet)


# The tests a packet meets in `_RuleMatcher.checks`: (kind, a, b).
_SOURCE = 0  # the source address in the prefix: (address & b) == a
_DESTINATION = 1  # the destination address likewise
_PORT = 2  # a destination port, when the packet has one, from a to b
_PORTLESS = 3  # `destination-port eq` naming no port: told only of a packet without one
_ICMP = 4  # the ICMP message (type a, code b); a packet's None is an echo request
_ECHO = ICMP_NAMES["echo"]


@dataclasses.dataclass(frozen=True, slots=True)
class _RuleMatcher:
    """An advanced ACL rule's words read once (`_rule_matcher`): the protocol it names, the tests
    a packet must pass (`checks`, in the rule's order; a packet failing one does not match), and
    what the rule says of a packet passing them all (`outcome`: True; False for TCP flags that
    leave out SYN; None when a field cannot be read). `folded`: the same tests as one
    (source value, mask, destination value, mask, lowest port, highest port, ICMP message or
    None), which `_rules_verdict` applies without walking `checks`; None where the order of the
    checks tells (a portless `destination-port eq`) or a field is tested twice."""

    protocol: str
    checks: tuple[tuple[int, int, int], ...]
    outcome: bool | None
    folded: tuple[int, int, int, int, int, int, tuple[int, int] | None] | None = None

    def matches(self, packet: Packet) -> bool | None:
        return self.test(packet.protocol, int(packet.source), int(packet.destination), packet.port, packet.icmp or _ECHO)

    def test(self, protocol: str, source: int, destination: int, port: int | None, icmp: tuple[int, int]) -> bool | None:
        """`matches` of a packet given by its fields (addresses as integers, `icmp` an echo
        request's where the packet says none)."""
        if self.protocol != "ip" and self.protocol != protocol:
            return False
        for kind, first, second in self.checks:
            if kind == _SOURCE:
                if source & second != first:
                    return False
            elif kind == _DESTINATION:
                if destination & second != first:
                    return False
            elif kind == _PORT:
                if port is not None and not first <= port <= second:
                    return False
            elif kind == _PORTLESS:
                if port is not None:
                    return None
            elif icmp != (first, second):
                return False
        return self.outcome


def _folded(checks: Sequence[tuple[int, int, int]]) -> tuple[int, int, int, int, int, int, tuple[int, int] | None] | None:
    """`_RuleMatcher.folded` of `checks`: each kind at most once, none portless (each test then
    only refuses, so their order does not matter); an absent test passes every packet (mask 0,
    every port, any ICMP message)."""
    kinds = [kind for kind, _, _ in checks]
    if _PORTLESS in kinds or len(set(kinds)) != len(kinds):
        return None
    found = {kind: (first, second) for kind, first, second in checks}
    source, destination = found.get(_SOURCE, (0, 0)), found.get(_DESTINATION, (0, 0))
    low, high = found.get(_PORT, (0, 0xFFFF))
    return (*source, *destination, low, high, found.get(_ICMP))


@functools.lru_cache(maxsize=65536)
def _rule_matcher(w: tuple[str, ...]) -> _RuleMatcher:
    """Advanced ACL rule `rule N ACTION PROTOCOL [source A W | any] [source-port eq P]
    [destination A W | any] [destination-port eq P | range L H] [icmp-type NAME] [tcp-flag
    FLAG...]` as what it matches of a connection's first segment (SYN alone): a rule naming only
    flags other than SYN (`established`: ACK or RST) matches none; it cannot be told (None) when
    a field cannot be read (another keyword, a port name not known, SYN with other flags).
    Cached by the rule's words: a hub's checks read the same rules for every packet."""
    protocol, rest = w[3], w[4:]
    checks: list[tuple[int, int, int]] = []

    def matcher(outcome: bool | None) -> _RuleMatcher:
        return _RuleMatcher(protocol, tuple(checks), outcome, _folded(checks))

    doubt = False
    index = 0
    while index < len(rest):
        word = rest[index]
        if word in ("source", "destination"):
            if rest[index + 1 : index + 2] == ("any",):
                index += 2
                continue
            net = _acl_net(list(rest[index:]), word)
            if not isinstance(net, ipaddress.IPv4Network):
                return matcher(None)
            kind = _SOURCE if word == "source" else _DESTINATION
            checks.append((kind, int(net.network_address), int(net.netmask)))
            index += 3
        elif word == "source-port" and rest[index + 1 : index + 2] == ("eq",):
            doubt, index = True, index + 3  # the sender chooses its source port
        elif word == "destination-port" and rest[index + 1 : index + 2] in (("eq",), ("range",)):
            values = rest[index + 2 : index + (3 if rest[index + 1] == "eq" else 4)]
            numbers = [int(v) if v.isdigit() else PORT_NAMES.get(protocol, {}).get(v) for v in values]
            if None in numbers:
                doubt = True
            elif not numbers:
                checks.append((_PORTLESS, 0, 0))
            else:
                checks.append((_PORT, numbers[0] or 0, numbers[-1] or 0))
            index += 2 + len(values)
        elif word == "icmp-type" and len(rest) > index + 1:
            # `icmp-type NAME` or `icmp-type TYPE CODE` (ICMP_NAMES): one type and code.
            typed = rest[index + 1 : index + 3]
            if len(typed) == 2 and all(n.isdigit() for n in typed):
                message: tuple[int, int] | None = (int(typed[0]), int(typed[1]))
                index += 3
            else:
                message = ICMP_NAMES.get(rest[index + 1])
                index += 2
            if message is None:
                return matcher(None)
            checks.append((_ICMP, *message))
        elif word == "tcp-flag":
            flags, index = _tcp_flags(list(rest), index)
            if flags and "syn" not in flags:
                return matcher(False)  # a bare SYN carries none of them
            if flags != {"syn"}:
                return matcher(None)
        elif word == "logging":
            index += 1
        else:
            return matcher(None)
    return matcher(None if doubt else True)


def acl_verdict(acl: Line, packet: Packet) -> Verdict:
    """What a traffic-filter with advanced ACL `acl` does with `packet`: the first matching rule
    decides, and a packet no rule matches passes (a traffic-filter drops only what a deny rule
    matches). A rule this reader cannot follow matches when it permits, not when it denies.
    Read from the ACL's lines (`_rules_verdict`, cached)."""
    return _rules_verdict(acl.signature, packet)


@functools.lru_cache(maxsize=65536)
def _rules_verdict(acl: LineSignature, packet: Packet) -> Verdict:
    """`acl_verdict` of the ACL whose lines' `Line.signature` is `acl`: a pure function of the
    ACL's text and the packet, cached, so linting configs again with one file changed reads an
    unchanged hub's filters once per packet."""
    protocol, port, icmp = packet.protocol, packet.port, packet.icmp or _ECHO
    source, destination = int(packet.source), int(packet.destination)
    for number, text, permit, matcher in _filter_rules(acl):
        # most of a VRP hub's isolation lint: the folded tests inline, the others walked
        folded = matcher.folded
        if folded is None:
            matches = matcher.test(protocol, source, destination, port, icmp)
        elif matcher.protocol != "ip" and matcher.protocol != protocol:
            continue
        else:
            source_value, source_mask, destination_value, destination_mask, low, high, message = folded
            if (
                source & source_mask != source_value
                or destination & destination_mask != destination_value
                or (port is not None and not low <= port <= high)
                or (message is not None and icmp != message)
            ):
                continue
            matches = matcher.outcome
        if matches is None:
            matches = permit
        if matches:
            return Verdict(permit, number, text)
    return Verdict(True, acl[0], f"{acl[1]}: no rule matches, and a traffic-filter passes that")


@functools.lru_cache(maxsize=1024)
def _filter_rules(acl: LineSignature) -> tuple[tuple[int, str, bool, _RuleMatcher], ...]:
    """The rule lines (`rule N permit|deny PROTOCOL ...`) of the ACL whose `Line.signature` is
    `acl`: each one's number, text, whether it permits, and what it matches (`_rule_matcher`),
    read once."""
    rules: list[tuple[int, str, bool, _RuleMatcher]] = []
    for number, text, _ in acl[2]:
        w = tuple(text.split())
        if len(w) >= 4 and w[0] == "rule" and w[2] in ("permit", "deny"):
            rules.append((number, text, w[2] == "permit", _rule_matcher(w)))
    return tuple(rules)


@register_forwarding(PLATFORM)
def store_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What a hub forwards from its store links: each store tunnel interface (IPsec profile
    `STORE-N`) filters inbound with `traffic-filter inbound acl name NAME`; a packet passes when
    the filter of the link it arrives on passes it (the verdict is the most permissive one).
    Given some of the store links only (one store's: `peers`, by the IKE peer's `remote-id` or
    `remote-address`, or the tunnel's `destination`), those links' filters."""
    root = parse(config.text, ("#",))
    far: dict[str, set[str]] = {}
    for section in top(root, "ike", "peer"):
        if len(section.words) > 2:
            far[section.words[2]] = {
                t.split()[1] for t in section.child_texts() if t.split()[0] in ("remote-id", "remote-address") and len(t.split()) > 1
            }
    ike_peer = {
        section.words[2]: next((t.split()[1] for t in section.child_texts() if t.startswith("ike-peer ")), "")
        for section in top(root, "ipsec", "profile")
        if len(section.words) > 2
    }
    links: dict[int, bool] = {}
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        profile = next((t.split()[2] for t in texts if t.startswith("ipsec profile STORE-")), None)
        if profile is None:
            continue
        ids = far.get(ike_peer.get(profile, ""), set()) | {t.split()[1] for t in texts if t.startswith("destination ")}
        links[interface.number] = bool(ids & peers)
    if any(links.values()) and not all(links.values()):
        return _inbound_forwarding(config, "ipsec profile STORE-", lines=frozenset(n for n, on in links.items() if on))
    return _inbound_forwarding(config, "ipsec profile STORE-")


@register_cloud_forwarding(PLATFORM)
def cloud_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What a hub forwards from its cloud VPNs (IPsec profile `CLOUD-N`): their inbound
    traffic-filter, as `store_forwarding` reads the store links'; only those whose own inside
    address (`ip address`) is one of `peers`, where given (one cloud site's tunnels)."""
    return _inbound_forwarding(config, "ipsec profile CLOUD-", peers)


def _inbound_forwarding(
    config: ConfigFile, profile: str, addresses: frozenset[str] = frozenset(), lines: frozenset[int] | None = None
) -> ForwardingFacts:
    """The most permissive verdict of the inbound traffic-filters of the tunnel interfaces whose
    IPsec profile starts with `profile` (and whose `ip address` is one of `addresses`, where
    given; whose line is one of `lines`, where given), and each such interface without one."""
    root = parse(config.text, ("#",))
    acls = _acls(root)
    applied: dict[str, Line] = {}
    unfiltered: list[tuple[int, str]] = []
    for interface in top(root, "interface"):
        texts = interface.child_texts()
        if not any(t.startswith(profile) for t in texts):
            continue
        if lines is not None and interface.number not in lines:
            continue
        if addresses and not any(t.startswith("ip address ") and t.split()[2:3] in ([a] for a in addresses) for t in texts):
            continue
        name = next((t.split()[-1] for t in texts if t.startswith("traffic-filter inbound acl")), None)
        acl = acls.get(name or "")
        if acl is None:
            unfiltered.append(
                (
                    interface.number,
                    f"{interface.text}: no traffic-filter inbound"
                    + (f" (ACL {name} is not defined)" if name else ""),
                )
            )
        else:
            applied[name or ""] = acl

    def verdict(packet: Packet) -> Verdict:
        return most_permissive([acl_verdict(acl, packet) for acl in applied.values()], "no filter")

    return ForwardingFacts(verdict, unfiltered=unfiltered)


@register_rule(PLATFORM)
def ipsec_dpd(config: ConfigFile) -> Iterator[Finding]:
    """Every IKE peer states the fleet policy's dead-peer detection (network/crypto.py, as
    `vrp_ike_dpd` spells it: idle time, retransmission interval, retry limit); left at VRP's
    defaults (30 s, 15 s, 3) a silent peer is dead only ~75 s later, not when the far end and
    AWS, configured from the same policy, give up on this one."""
    if config.suffix:
        return
    settings = tuple(
        (tuple(words[:2]), tuple(words[2:]))
        for words in (line.split() for line in ike_dpd(None, "periodic"))
        if words[1] != "type"
    )
    yield from policy_settings(
        config, parse(config.text, ("#",)), "vrp-ipsec-dpd", ("ike", "peer"), settings, "dead-peer detection"
    )


@register_rule(PLATFORM)
def ipsec_lifetimes(config: ConfigFile) -> Iterator[Finding]:
    """Every IKE proposal and IPsec profile states the fleet policy's SA lifetime
    (network/crypto.py: `sa duration` and `sa duration time-based`), from which the far end and
    the AWS tunnel options are configured too. Left out, the router runs its own default, which
    nothing ties to what the far end runs or to the 28800 s an AWS Site-to-Site VPN tunnel
    accepts at most."""
    if config.suffix:
        return
    yield from sa_lifetimes(
        config,
        parse(config.text, ("#",)),
        "vrp-ipsec-lifetime",
        (
            (("ike", "proposal"), ("sa", "duration"), FLEET_CRYPTO.ike_lifetime_seconds, "IKE"),
            (("ipsec", "profile"), ("sa", "duration", "time-based"), FLEET_CRYPTO.esp_lifetime_seconds, "ESP"),
        ),
    )


# A hub's BGP originations and discard routes, for the cross-file `hub-summary` check.
_SUMMARY_LINES = (
    ("network", re.compile(rf"^  network {PREFIX_PATTERN}(?: |$)")),
    ("aggregate", re.compile(rf"^  aggregate {PREFIX_PATTERN}(?: |$)")),
    ("discard", re.compile(rf"^ip route-static {PREFIX_PATTERN} NULL0(?: |$)")),
)


@register_summaries(PLATFORM)
def summaries(config: ConfigFile) -> list[SummaryFact]:
    return pattern_summaries(config, _SUMMARY_LINES)


@register_route_filters(PLATFORM)
def route_filters(config: ConfigFile) -> RouteFilters:
    """`peer A route-policy P import|export` (on A, or on the group A belongs to: `peer A group
    G`), each `route-policy P permit|deny node N` in node order with its `if-match ip-prefix`
    lists (any other `if-match` makes it `other`), `ip ip-prefix L index N permit|deny A
    LENGTH [greater-equal X] [less-equal Y]` in index order, and `peer A route-limit N` (on A or
    its group)."""
    root = parse(config.text, ("#",))
    neighbors: dict[str, dict[str, tuple[str, ...]]] = {}
    members: dict[str, list[str]] = {}
    bindings: list[tuple[str, str, str]] = []
    limits: list[tuple[str, int, int]] = []
    originations: list[tuple[str, DefaultOrigination]] = []
    for line in root.walk():
        w = line.words
        if w[:1] == ["peer"] and len(w) >= 3 and w[2] == "default-route-advertise":
            # `route-policy P` sets attributes; only `conditional-route-match-all|any` is a condition.
            condition = next((" ".join(w[i:]) for i, word in enumerate(w) if word.startswith("conditional-route-match")), None)
            originations.append((w[1], DefaultOrigination(line.number, condition)))
            continue
        if w[:1] != ["peer"] or len(w) < 4:
            continue
        if w[2] == "as-number":
            neighbors.setdefault(w[1], {})
        elif w[2] == "group":
            members.setdefault(w[3], []).append(w[1])
        elif w[2] == "route-policy" and len(w) > 4 and w[4] in ("import", "export"):
            bindings.append((w[1], "in" if w[4] == "import" else "out", w[3]))
        elif w[2] == "route-limit" and w[3].isdigit():
            limits.append((w[1], int(w[3]), line.number))
    for target, direction, policy in bindings:
        for address in members.get(target, [target]):
            if address in neighbors:
                neighbors[address][direction] = (policy,)
    route_maps: dict[str, list[tuple[int, RouteMapEntry]]] = {}
    for node in top(root, "route-policy"):
        w = node.words
        if len(w) < 5 or w[3] != "node" or not w[4].isdigit():
            continue
        matches = [line.words for line in node.children if line.words[:1] == ["if-match"]]
        lists = tuple(m[2] for m in matches if m[:2] == ["if-match", "ip-prefix"] and len(m) > 2)
        other = any(m[:2] != ["if-match", "ip-prefix"] for m in matches)
        applies = [line.words for line in node.children if line.words[:1] == ["apply"]]
        local_pref = next(
            (int(a[2]) for a in applies if a[:2] == ["apply", "local-preference"] and len(a) == 3 and a[2].isdigit()),
            None,
        )
        # `apply as-path AS ... additive` prepends them (`overwrite` replaces the path: no prepend).
        prepend = next(
            (
                tuple(int(asn) for asn in a[2:-1])
                for a in applies
                if a[:2] == ["apply", "as-path"] and a[-1] == "additive" and all(x.isdigit() for x in a[2:-1])
            ),
            (),
        )
        route_maps.setdefault(w[1], []).append(
            (int(w[4]), RouteMapEntry(w[2] == "permit", lists, other, node.number, local_pref, prepend))
        )
    return RouteFilters(
        neighbors,
        {name: [entry for _, entry in sorted(found, key=lambda e: e[0])] for name, found in route_maps.items()},
        _ip_prefixes(root),
        kind="route-policy",
        limits=resolved_limits(limits, members, neighbors),
        defaults=resolved_defaults(originations, members, neighbors),
    )


@register_probes(PLATFORM)
def probes(config: ConfigFile) -> list[SentProbe]:
    """Each NQA test with a destination: `test-type icmp` is an ICMP echo probe; any other type
    keeps its NQA name (nqa-<type>), which no hub platform answers."""
    found = []
    for test in top(parse(config.text, ("#",)), "nqa", "test-instance"):
        values = {line.words[0]: line.words[1:] for line in test.children}
        destination, source = values.get("destination-address", []), values.get("source-address", [])
        kind = values.get("test-type", [""])[0]
        if destination and kind:
            found.append(
                SentProbe(
                    test.number,
                    "icmp-echo" if kind == "icmp" else f"nqa-{kind}",
                    destination[-1],
                    source[-1] if source else None,
                )
            )
    return found


@register_answers(PLATFORM)
def answers(config: ConfigFile) -> ProbeAnswers:
    return ProbeAnswers(hub_probe_kinds(PLATFORM))


@register_rule(PLATFORM)
def store_answers(config: ConfigFile) -> Iterator[Finding]:
    """Stores: every hub tunnel, wired or cellular, in one zone behind one inbound filter and with
    no unicast reverse path check, so the answers a hub returns into a cellular tunnel for a flow
    that left on the wire meet its session (`hub_tunnel_answers`)."""
    if config.suffix or config.role != "edge":
        return
    root = parse(config.text, ("#",))

    def inbound(interface: Line) -> str | None:
        return next((c.words[4] for c in interface.children if c.words[:4] == ["traffic-filter", "inbound", "acl", "name"] and len(c.words) > 4), None)

    for line, why in hub_tunnel_answers(root, ("zone",), inbound, "urpf"):
        yield config.finding(line, "vrp-store-answers", why)
