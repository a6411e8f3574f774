"""Lint rules for FRR appliances: the FRR config, and the host files beside it (swanctl.conf,
routing, nftables.conf). Also the tunnel extractor the cross-file rules use."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import ipaddress
import re
from collections.abc import Iterable, Iterator

from storestack.devices.frr import SLA_CONNECT_RETRY, SYSLOG_PORT, SYSLOG_PROTOCOL
from storestack.devices.lint import (
    PREFIX_PATTERN,
    SELECTORS_DYNAMIC,
    AdvertisementFacts,
    ConfigFile,
    Finding,
    ForwardingFacts,
    Packet,
    ProbeAnswers,
    RankingFacts,
    RouteFilters,
    SentProbe,
    SessionBfdFact,
    SubnetIndex,
    SummaryFact,
    TunnelFact,
    Verdict,
    hub_probe_kinds,
    id_type_of,
    line_advertisements,
    line_route_filters,
    most_permissive,
    pattern_summaries,
    register_advertisements,
    register_answers,
    register_cloud_forwarding,
    register_forwarding,
    register_ranking,
    register_route_filters,
    register_rule,
    register_session_bfd,
    register_summaries,
    register_tunnels,
)
from storestack.devices.lint.linetree import parse, top
from storestack.devices.lint.steering import route_map_ranking
from storestack.network.crypto import TCP_IPV4_HEADERS, EspProposal, IkeProposal

PLATFORM = "frr"
_DH = {"modp2048": 14, "ecp256": 19, "ecp384": 20, "ecp521": 21}


def _definitions(config: ConfigFile) -> dict[str, set[str]]:
    defined: dict[str, set[str]] = {
        "route-map": set(),
        "prefix-list": set(),
        "interface": set(),
        "bfd-profile": set(),
        "peer-group": set(),
    }
    for line in config.lines:
        words = line.split()
        if line.startswith("route-map ") and len(words) >= 3:
            defined["route-map"].add(words[1])
        elif line.startswith("ip prefix-list ") and len(words) >= 3:
            defined["prefix-list"].add(words[2])
        elif line.startswith("interface ") and len(words) >= 2:
            defined["interface"].add(words[1])
        elif line.startswith(" profile ") and len(words) == 2:
            defined["bfd-profile"].add(words[1])
        elif line.startswith(" neighbor ") and words[-1] == "peer-group" and len(words) == 3:
            defined["peer-group"].add(words[1])
    return defined


_REFERENCES = (
    (re.compile(r"^\s*neighbor \S+ route-map (\S+) (?:in|out)$"), "route-map"),
    (re.compile(r"^\s*neighbor \S+ default-originate route-map (\S+)$"), "route-map"),
    # `advertise-map A exist-map C` (or non-exist-map): both are route-maps (FRR user guide, BGP,
    # "Advertise Map").
    (re.compile(r"^\s*neighbor \S+ advertise-map (\S+) (?:exist-map|non-exist-map) \S+$"), "route-map"),
    (re.compile(r"^\s*neighbor \S+ advertise-map \S+ (?:exist-map|non-exist-map) (\S+)$"), "route-map"),
    (re.compile(r"^\s*match ip address prefix-list (\S+)$"), "prefix-list"),
    (re.compile(r"^\s*neighbor \S+ bfd profile (\S+)$"), "bfd-profile"),
    (re.compile(r"^\s*profile (\S+)$"), "bfd-profile"),
    (re.compile(r"^\s*neighbor \S+ peer-group (\S+)$"), "peer-group"),
    (re.compile(r"^\s*neighbor \S+ update-source (\S+)$"), "interface"),
    (re.compile(r"^\s*peer \S+ local-address \S+ interface (\S+)$"), "interface"),
)


def _route_interface(line: str) -> str | None:
    """The interface an `ip route PREFIX [GATEWAY] [IFNAME] [DISTANCE] [table N]` line names."""
    words = line.split()
    if words[:2] != ["ip", "route"]:
        return None
    rest = words[3:]
    if "table" in rest:
        rest = rest[: rest.index("table")]
    names = [
        w
        for w in rest
        if not w.isdigit() and not w[0].isdigit() and w not in ("blackhole", "Null0", "reject")
    ]
    return names[0] if names else None


@register_rule(PLATFORM)
def undefined_references(config: ConfigFile) -> Iterator[Finding]:
    """Every route-map, prefix-list, BFD profile, peer-group and interface a line names is defined."""
    if config.suffix:
        return
    defined = _definitions(config)
    for number, line in enumerate(config.lines, start=1):
        references = [(kind, m.group(1)) for pattern, kind in _REFERENCES if (m := pattern.match(line))]
        route_interface = _route_interface(line)
        if route_interface is not None:
            references.append(("interface", route_interface))
        for kind, name in references:
            if name not in defined[kind]:
                yield config.finding(
                    number, "undefined-reference", f"{kind} {name} is used but never defined"
                )


@register_ranking(PLATFORM)
def return_ranking(config: ConfigFile) -> RankingFacts:
    """Hub: the route-map entries that rank routes by local preference and the `bgp
    community-list`s, for the cross-file check that those bound to store sessions take the
    routes a store tags degraded (`match community`) below every untagged route of the same
    store, as the vendor hubs do: the hub's best path, and so the DC core's way back, moves to
    the other hub when the store steers away. The return within one hub (connection marks) is
    `frr_sla`'s half of `frr-return-path`."""
    root = parse(config.text, ("!",))
    lists = {line.words[3] for line in top(root, "bgp", "community-list") if len(line.words) > 3}
    return RankingFacts("frr-return-path", route_map_ranking(root), lists)


def _sections(text: str, top: str) -> dict[str, tuple[int, dict[str, str]]]:
    """`top { name { key = value ... } }` of a swanctl.conf, flattened per second-level section:
    name -> (line, {dotted.key: value}), with section references (`name : base {`) resolved
    against the file's top-level sections."""
    result: dict[str, tuple[int, dict[str, str]]] = {}
    bases: dict[str, dict[str, str]] = {}  # top-level sections, flattened
    refs: list[tuple[str, str, str]] = []  # (connection, key prefix inside it, referenced section)
    stack: list[str] = []
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            name, _, ref = line[:-1].partition(":")
            stack.append(name.strip())
            if len(stack) == 1:
                bases[stack[0]] = {}
            if len(stack) == 2 and stack[0] == top:
                current = stack[1]
                result[current] = (number, {})
            if ref.strip() and current is not None:
                refs.append((current, ".".join(stack[2:]), ref.strip()))
            continue
        if line == "}":
            if not stack:  # a brace too many: `swanctl_braces` reports it, the rest is read on
                continue
            stack.pop()
            if len(stack) < 2:
                current = None
            continue
        if "=" not in line or not stack:
            continue
        key, _, value = line.partition("=")
        value = value.strip().strip('"')
        if current is not None:
            result[current][1][".".join([*stack[2:], key.strip()])] = value
        elif stack[0] != top:
            bases[stack[0]][".".join([*stack[1:], key.strip()])] = value
    for name, prefix, ref in refs:
        settings = result[name][1]
        for key, value in bases.get(ref, {}).items():
            settings.setdefault(f"{prefix}.{key}" if prefix else key, value)
    return result


def _unbalanced_brace(text: str) -> tuple[int, str] | None:
    """The first line where a swanctl.conf's braces do not balance, and how (None: they do)."""
    depth, number = 0, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.endswith("{"):
            depth += 1
        elif line == "}":
            if depth == 0:
                return number, "closes a section that was never opened"
            depth -= 1
    return (number, f"leaves {depth} section(s) open at the end of the file") if depth else None


@register_rule(PLATFORM)
def swanctl_braces(config: ConfigFile) -> Iterator[Finding]:
    """A swanctl.conf whose braces do not balance, which `swanctl --load-all` refuses whole: the
    appliance would keep no tunnel."""
    if config.suffix != "swanctl.conf":
        return
    if (found := _unbalanced_brace(config.text)) is not None:
        number, how = found
        yield config.finding(number, "frr-swanctl-syntax", f"a brace {how}: swanctl refuses the file, no tunnel loads")


def connections(text: str) -> dict[str, tuple[int, dict[str, str]]]:
    return _sections(text, "connections")


def secrets(text: str) -> dict[str, tuple[int, dict[str, str]]]:
    return _sections(text, "secrets")


def _child(settings: dict[str, str], name: str, key: str) -> str | None:
    return settings.get(f"children.{name}.{key}")


_REQUIRED = {"version": "2", "encap": "yes", "mobike": "no", "keyingtries": "0"}


@register_rule(PLATFORM)
def swanctl_connections(config: ConfigFile) -> Iterator[Finding]:
    """Each connection: IKEv2, UDP encapsulation, no MOBIKE, retries forever, DPD, PSK auth, a
    secret of its own, and an XFRM interface (if_id) that the routing file creates."""
    if config.suffix != "swanctl.conf":
        return
    found = connections(config.text)
    keys = secrets(config.text)
    routing = config.companions.get("routing", "")
    xfrm_ids = {
        int(m.group(2)): m.group(1)
        for m in re.finditer(r"^link add (\S+) type xfrm.* if_id (\d+)$", routing, re.M)
    }
    main = config.companions.get("", "")
    host_addresses = {
        str(address.ip) for addresses in _interface_addresses(main.splitlines()).values() for address in addresses
    }
    for name, (line, settings) in found.items():
        for key, value in _REQUIRED.items():
            if settings.get(key) != value:
                yield config.finding(line, "ipsec-setting", f"connection {name}: {key} must be {value}")
        if "dpd_delay" not in settings:
            yield config.finding(line, "ipsec-setting", f"connection {name}: no dpd_delay")
        if settings.get("local.auth") != "psk" or settings.get("remote.auth") != "psk":
            yield config.finding(line, "ipsec-setting", f"connection {name}: both ends authenticate by PSK")
        if f"ike-{name}" not in keys:
            yield config.finding(line, "undefined-reference", f"connection {name} has no secret ike-{name}")
        if_id = settings.get("if_id_out")
        if if_id is None or settings.get("if_id_in") != if_id:
            yield config.finding(
                line, "ipsec-setting", f"connection {name}: if_id_in and if_id_out must match"
            )
        elif routing and int(if_id) not in xfrm_ids:
            yield config.finding(
                line, "undefined-reference", f"connection {name}: no XFRM interface with if_id {if_id}"
            )
        if _child(settings, name, "esp_proposals") is None:
            yield config.finding(line, "ipsec-setting", f"connection {name}: child {name} is missing")
        # As responder charon takes a connection only when the IKE packet's destination matches
        # local_addrs, and as initiator it sends from that address (swanctl.conf(5),
        # connections.<conn>.local_addrs): an address on none of the host's interfaces brings
        # no tunnel up. A carrier-assigned transport's comes from its lease hook's include.
        local_addrs = settings.get("local_addrs", "%any")
        if main and local_addrs != "%any":
            missing = [a.strip() for a in local_addrs.split(",") if a.strip() not in host_addresses]
            if missing:
                yield config.finding(
                    line,
                    "ipsec-local-address",
                    f"connection {name}: local_addrs {', '.join(missing)} is on none of the appliance's interfaces",
                )


@register_rule(PLATFORM)
def underlay_next_hops(config: ConfigFile) -> Iterator[Finding]:
    """Every route through a transport (a WAN link a tunnel rides, `link add … dev <link>` in the
    routing file) names its next hop: `ip route P <ifname>` alone has the kernel resolve P on the
    link itself (ARP), which a far end beyond the ISP's router never answers. The one such route
    a transport's table takes is the link's own subnet (`transport_table_routes`): its neighbours
    are on the link."""
    if config.suffix:
        return
    routing = config.companions.get("routing", "")
    transports = set(re.findall(r"^link add \S+ type xfrm dev (\S+) ", routing, re.M))
    on_link = {(name, str(a.network)) for name, addresses in _interfaces(config).items() for a in addresses}
    for number, line in enumerate(config.lines, start=1):
        words = line.split()
        if (
            words[:2] == ["ip", "route"]
            and len(words) > 3
            and words[3] in transports
            and (words[3], words[2]) not in on_link
        ):
            yield config.finding(
                number, "underlay-next-hop", f"{line}: no next hop on transport {words[3]} (the kernel would ARP for {words[2]})"
            )


# The appliance's own address the DC core routes back to: the loopback (router id and
# management), which every store announces. A tunnel's inside address (100.64.x) is announced to
# nobody, so an answer to a query sent from it has no way back.
_LOOPBACK = "lo"


@register_rule(PLATFORM)
def dns_upstream_source(config: ConfigFile) -> Iterator[Finding]:
    """dnsmasq sends its upstream queries from its loopback: `server=ADDR@SOURCE` (dnsmasq(8),
    --server). Without a source the kernel picks the outgoing tunnel's inside address, and the
    resolvers' answers never come back, so no client of the store resolves a name."""
    if config.suffix != "dnsmasq.conf":
        return
    main = config.companions.get("", "")
    loopback = {str(a.ip) for a in _interface_addresses(main.splitlines()).get(_LOOPBACK, [])}
    for number, line in enumerate(config.lines, start=1):
        if not line.startswith("server="):
            continue
        value = line.removeprefix("server=")
        if value.startswith("/"):
            value = value.rsplit("/", 1)[1]  # `/domain/addr`: the address after the domains
        _, _, source = value.partition("@")
        source = source.split("#", 1)[0]
        if source not in loopback:
            yield config.finding(
                number,
                "dns-upstream-source",
                f"{line}: upstream queries must leave from the loopback ({', '.join(sorted(loopback)) or 'none'}), "
                f"not {source or 'the outgoing tunnel'}'s address",
            )


_OMFWD = re.compile(r'action\(type="omfwd"(?P<params>[^)]*)\)', re.S)
_OMFWD_PARAM = re.compile(r'(\w+)="([^"]*)"')


@register_rule(PLATFORM)
def syslog_forwarding(config: ConfigFile) -> Iterator[Finding]:
    """Each remote syslog server rsyslog forwards to (omfwd, rsyslog.conf) is sent to from the
    loopback (`address`: the DC routes no tunnel address back, and the syslog servers tell the
    appliances apart by it), over UDP to port 514 as every platform sends (no answer needed:
    the hubs' filters take none back), and the host firewall lets it out: an nftables `output`
    chain that drops the packet leaves the server without the appliance's messages."""
    if config.suffix != "rsyslog.conf":
        return
    main = config.companions.get("", "")
    loopback = {str(a.ip) for a in _interface_addresses(main.splitlines()).get(_LOOPBACK, [])}
    nftables = config.companions.get("nftables.conf", "")
    for found in _OMFWD.finditer(config.text):
        line = config.text.count("\n", 0, found.start()) + 1
        params = {key.lower(): value for key, value in _OMFWD_PARAM.findall(found["params"])}
        target, source = params.get("target", ""), params.get("address", "")
        protocol, port = params.get("protocol", "udp").lower(), params.get("port", "514")
        if source not in loopback:
            yield config.finding(
                line,
                "frr-syslog",
                f"syslog to {target} must leave from the loopback ({', '.join(sorted(loopback)) or 'none'}), "
                f"not {source or 'the outgoing tunnel'}'s address",
            )
        if (protocol, port) != (SYSLOG_PROTOCOL, str(SYSLOG_PORT)):
            yield config.finding(
                line, "frr-syslog", f"syslog to {target} goes {protocol}/{port}, not {SYSLOG_PROTOCOL}/{SYSLOG_PORT}"
            )
        try:
            packet = Packet(protocol, ipaddress.IPv4Address(source), ipaddress.IPv4Address(target), int(port))
        except ValueError:
            continue
        verdict = chain_verdict(nftables, "output", packet, iifname="lo", from_tunnel=False)
        if not verdict.forwarded:
            yield config.finding(
                line, "frr-syslog", f"syslog to {target} ({protocol}/{port}) is dropped by nftables.conf: {verdict.rule}"
            )


# snmpd.conf directives that grant access (snmpd.conf(5), ACCESS CONTROL): communities
# (SNMPv1/v2c, sent in the clear), write access, and the VACM forms that can do either.
_SNMP_GRANTS = ("rocommunity", "rwcommunity", "rocommunity6", "rwcommunity6", "com2sec", "com2sec6", "rwuser", "access")


@register_rule(PLATFORM)
def snmp_agent(config: ConfigFile) -> Iterator[Finding]:
    """The SNMP agent (snmpd.conf) answers on the loopback only (`agentaddress`: without one,
    snmpd listens on UDP 161 of every address, the LAN segments' gateways included), to SNMPv3
    users with read-only, encrypted access (`rouser ... priv`): no community, no write access."""
    if config.suffix != "snmpd.conf":
        return
    main = config.companions.get("", "")
    loopback = {str(a.ip) for a in _interface_addresses(main.splitlines()).get(_LOOPBACK, [])}
    listens = False
    for number, line in enumerate(config.lines, start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "agentaddress":
            listens = True
            for address in " ".join(words[1:]).split(","):
                host = address.strip().removeprefix("udp:").rsplit(":", 1)[0]
                if host not in loopback:
                    yield config.finding(
                        number, "frr-snmp", f"snmpd listens on {address.strip()}, not only on the loopback ({', '.join(sorted(loopback))})"
                    )
        elif words[0] in _SNMP_GRANTS:
            yield config.finding(number, "frr-snmp", f"{words[0]}: only SNMPv3 users with read-only, encrypted access (rouser ... priv)")
        elif words[0] == "rouser":
            rest = words[3:] if words[1:2] == ["-s"] else words[1:]  # USER [noauth|auth|priv ...]
            level = rest[1] if len(rest) > 1 else "auth"
            if level.lower() not in ("priv", "authpriv"):
                yield config.finding(number, "frr-snmp", f"rouser {' '.join(words[1:])}: access without encryption (not `priv`)")
    if not listens:
        yield config.finding(1, "frr-snmp", "no agentaddress: snmpd listens on UDP 161 of every address")


_SYSCTL = re.compile(r"^\s*(?P<key>[\w./*-]+)\s*=\s*(?P<value>\S*)\s*$")
_IP_FORWARD = "net.ipv4.ip_forward"
_RP_FILTER = ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter")


def _forwards(config: ConfigFile) -> bool:
    return config.suffix == "nftables.conf" and bool(re.search(r"^\s*type filter hook forward ", config.text, re.M))


def _sysctl(config: ConfigFile, key: str) -> str | None:
    """The value the appliance's sysctl.d file (companion sysctl.conf) keeps for `key`: its last
    assignment (sysctl.d(5))."""
    value = None
    for line in config.companions.get("sysctl.conf", "").splitlines():
        found = _SYSCTL.match(line)
        if found and not line.lstrip().startswith(("#", ";")) and found["key"].lstrip("-").replace("/", ".") == key:
            value = found["value"]
    return value


@register_rule(PLATFORM)
def ipv4_forwarding(config: ConfigFile) -> Iterator[Finding]:
    """A host firewall that forwards (an nftables `forward` chain) on a host whose kernel forwards
    nothing: its sysctl.d file (sysctl.conf) must set net.ipv4.ip_forward to 1, the last
    assignment of the key being the one kept (sysctl.d(5)). The kernel's and Debian 12's default
    is 0, and FRR's zebra leaves it alone: such a store routes none of its segments into the
    tunnels, such a hub none of the stores' traffic."""
    if not _forwards(config):
        return
    value = _sysctl(config, _IP_FORWARD)
    if value != "1":
        yield config.finding(
            config.line_of("hook forward"),
            "frr-forwarding",
            f"the forward chain forwards nothing: sysctl.conf sets {_IP_FORWARD} to {value or 'nothing'} (the kernel's"
            " default is 0), not 1",
        )


@register_rule(PLATFORM)
def reverse_path_filter(config: ConfigFile) -> Iterator[Finding]:
    """An appliance that forwards leaves reverse-path filtering to nobody but itself: its sysctl.d
    file pins net.ipv4.conf.all.rp_filter and .default.rp_filter to 2, loose (the kernel applies
    the higher of `all` and the interface's own, so `all` at 2 keeps an interface an operator or
    a hardening baseline set to 1 loose too, and an interface made later, every XFRM tunnel,
    starts with `default`). Strict mode (1) drops whatever arrives on a tunnel the main table does
    not route its source back through: HQ's answers on a store's backup tunnel or on LTE while
    CCTV leaves on the wire (README, "Return path"), a store's flows on a hub's tunnel that BGP's
    best path back to the store avoids."""
    if not _forwards(config):
        return
    for key in _RP_FILTER:
        value = _sysctl(config, key)
        if value != "2":
            yield config.finding(
                config.line_of("hook forward"),
                "frr-rp-filter",
                f"sysctl.conf sets {key} to {value or 'nothing'}, not 2 (loose): strict reverse-path filtering (1) drops"
                " what arrives on a tunnel the main table does not route its source back through (a backup tunnel)",
            )


# A segment's flow into the overlay (`nft_forward_rules`): its segment, destinations and ports.
_SEGMENT_FLOW = re.compile(
    r'^\s*iifname "(?P<segment>[^"]+)" oifgroup 10 ip daddr (?P<daddr>\{[^}]*\}|!= @private)'
    r"(?: (?P<protocol>tcp|udp) dport (?P<ports>\{[^}]*\}|\S+))? accept$"
)
_SEGMENT_PREFIX = re.compile(r'^\s*iifname "(?P<segment>[^"]+)" ip saddr != (?P<net>\S+) drop$', re.M)
# A host on the internet (RFC 5737), the far end of a segment's flow to `!= @private`.
_INTERNET_HOST = ipaddress.IPv4Address("192.0.2.10")
# The port a segment's host opens its flows from (Linux's ephemeral range starts at 32768).
_EPHEMERAL_PORT = 40000


@register_rule(PLATFORM)
def store_answers(config: ConfigFile) -> Iterator[Finding]:
    """A store takes the answers of every flow its segments open into the overlay on every one of
    its tunnels, not only the one the flow left by. A hub returns a store's traffic over the
    tunnel it ranks first, and once the store signals a wired tunnel out of its strictest class's
    SLA (`<hub AS>:911`) that may be a cellular one while CCTV and IoT, which never leave over
    LTE/5G, still leave on the wire (README, "Return path"). Each flow's answer (conntrack
    `established`, `Packet.answer`) goes through the forward chain from each tunnel of the routing
    file's tunnel group (the kernel's reverse path filter, which would drop them in strict mode,
    is `frr-rp-filter`'s)."""
    if config.suffix != "nftables.conf" or config.role != "edge":
        return
    tunnels = tunnel_group(config.companions.get("routing", ""))
    if not tunnels:
        return
    # strict=False: nft takes a prefix written with host bits as its network, and so does the check
    prefixes = {
        m["segment"]: ipaddress.IPv4Network(m["net"], strict=False) for m in _SEGMENT_PREFIX.finditer(config.text)
    }
    for number, line in enumerate(config.text.splitlines(), start=1):
        flow = _SEGMENT_FLOW.match(line)
        if flow is None or flow["segment"] not in prefixes:
            continue
        far_end = _INTERNET_HOST
        if flow["daddr"].startswith("{"):
            far_end = ipaddress.IPv4Network(_nft_literal(flow["daddr"])[0][0], strict=False).network_address + 1
        port = 443
        if flow["ports"]:
            port = int(_nft_literal(flow["ports"])[0][0].split("-")[0])
        answer = Packet(
            flow["protocol"] or "tcp",
            far_end,
            prefixes[flow["segment"]].network_address + 2,
            port=_EPHEMERAL_PORT,
            tcp_flags=frozenset({"ack"}),
            source_port=port,
            answer=True,
        )
        for tunnel in sorted(tunnels):
            verdict = chain_verdict(config.text, "forward", answer, tunnel, oifname=flow["segment"])
            if not verdict.forwarded:
                yield config.finding(
                    verdict.line or number,
                    "frr-store-answers",
                    f"the answer from {far_end} port {port} to {flow['segment']}'s flow (line {number}) arriving on"
                    f" {tunnel} is dropped: {verdict.rule}",
                )


_MASQUERADE = re.compile(r'^\s*oifname "(?P<link>[^"]+)" ip saddr \S+ masquerade$')
_GUEST_ACCEPT = re.compile(r'^\s*iifname "(?P<segment>[^"]+)" oifname "(?P<link>[^"]+)" accept$')


@register_rule(PLATFORM)
def guest_queue(config: ConfigFile) -> Iterator[Finding]:
    """Stores: what a segment sends out a WAN link in the clear (guest Wi-Fi's NATed breakout)
    takes that link's best-effort class (`meta priority set 1:<htb default>`), whatever its
    headers say: the link's queue filters give UDP 500, and 4500 with a zero marker, the control
    class of the store's own IKE, BGP and BFD, and a guest may send exactly that."""
    if config.suffix != "nftables.conf" or config.role != "edge":
        return
    queues = config.companions.get("qos.tc", "")
    defaults = dict(re.findall(r"^qdisc replace dev (\S+) root handle 1: htb default ([0-9a-f]+)$", queues, re.M))
    natted = {m.group("link") for line in config.lines if (m := _MASQUERADE.match(line))}
    for number, line in enumerate(config.lines, start=1):
        found = _GUEST_ACCEPT.match(line)
        if found is None or found.group("link") not in natted or found.group("link") not in defaults:
            continue
        segment, link = found.group("segment"), found.group("link")
        wanted = f'iifname "{segment}" oifname "{link}" meta priority set 1:{defaults[link]}'
        if not any(other.strip() == wanted for other in config.lines):
            yield config.finding(
                number,
                "frr-guest-queue",
                f"{segment} breaks out by {link} in the clear but is not held to its best-effort class"
                f" (`{wanted}`): a guest's UDP to port 500 or 4500 takes the control class",
            )


# A forward rule that accepts with no destination or interface restriction lets one zone reach
# everything: the "permit any any" the intent never allows.
_ACCEPT = re.compile(r"^\s*(?P<match>.*?)\s*accept$")


@register_rule(PLATFORM)
def no_permit_any_between_zones(config: ConfigFile) -> Iterator[Finding]:
    if config.suffix != "nftables.conf":
        return
    in_forward = False
    for number, line in enumerate(config.lines, start=1):
        stripped = line.strip()
        if stripped.startswith("chain "):
            in_forward = stripped.startswith("chain forward")
            continue
        if not in_forward or not stripped.endswith("accept") or stripped.startswith("ct state"):
            continue
        match = _ACCEPT.match(stripped)
        assert match is not None
        rule = match.group("match")
        restricted = "daddr" in rule or "oifname" in rule or "oifgroup" in rule
        if not restricted or ("iifname" not in rule and "iifgroup" not in rule and "saddr" not in rule):
            yield config.finding(number, "permit-any", f"forward rule accepts any destination: {stripped}")


_NFT_NAMES = re.compile(r'\b(?:iifname|oifname) (?:!= )?(\{[^}]*\}|"[^"]*")')
_NFT_SET_USE = re.compile(r"@(\w+)")
_NFT_SET_DEF = re.compile(r"^\s*(?:set|map) (\w+) \{", re.M)


@register_rule(PLATFORM)
def nftables_references(config: ConfigFile) -> Iterator[Finding]:
    """Every interface a firewall rule names exists on the appliance (nft accepts any name and
    the rule then silently never matches), and every @set is defined."""
    if config.suffix != "nftables.conf":
        return
    main = config.companions.get("", "")
    routing = config.companions.get("routing", "")
    interfaces = {line.split()[1] for line in main.splitlines() if line.startswith("interface ")}
    interfaces |= {m.group(1) for m in re.finditer(r"^link add (\S+) ", routing, re.M)}
    # A port the routing batch addresses (a hub's management port, `hub_management_routing`)
    interfaces |= {m.group(1) for m in re.finditer(r"^address (?:add|replace) \S+ dev (\S+)", routing, re.M)}
    sets = set(_NFT_SET_DEF.findall(config.text))
    for number, line in enumerate(config.lines, start=1):
        for group in _NFT_NAMES.findall(line):
            for name in re.findall(r'"([^"]*)"', group):
                if main and name not in interfaces:
                    yield config.finding(number, "undefined-reference", f"interface {name} is not on the appliance")
        for name in _NFT_SET_USE.findall(line):
            if name not in sets:
                yield config.finding(number, "undefined-reference", f"set @{name} is never defined")


def _ike(text: str) -> frozenset[IkeProposal]:
    proposals = set()
    for item in text.split(","):
        parts = item.strip().split("-")
        if len(parts) == 3 and parts[1].startswith("prf"):  # aes256gcm16-prfsha384-ecp384
            proposals.add(IkeProposal(parts[0], parts[1][3:], _DH.get(parts[2], 0)))
        elif len(parts) == 3:  # aes256-sha256-modp2048
            proposals.add(IkeProposal(parts[0], parts[1], _DH.get(parts[2], 0)))
    return frozenset(proposals)


def _esp(text: str) -> frozenset[EspProposal]:
    proposals = set()
    for item in text.split(","):
        parts = item.strip().split("-")
        if len(parts) == 2:
            proposals.add(EspProposal(parts[0], None, _DH.get(parts[1], 0)))
        elif len(parts) == 3:
            proposals.add(EspProposal(parts[0], parts[1], _DH.get(parts[2], 0)))
    return frozenset(proposals)


def _interfaces(config: ConfigFile) -> dict[str, list[ipaddress.IPv4Interface]]:
    return _interface_addresses(config.lines)


def _interface_addresses(lines: list[str]) -> dict[str, list[ipaddress.IPv4Interface]]:
    """Interface name -> its `ip address` lines, from an FRR config's lines."""
    result: dict[str, list[ipaddress.IPv4Interface]] = {}
    current: str | None = None
    for line in lines:
        if line.startswith("interface "):
            current = line.split()[1]
            result[current] = []
        elif line.startswith(" ip address ") and current is not None:
            result[current].append(ipaddress.IPv4Interface(line.split()[2]))
        elif line == "exit":
            current = None
    return result


def _by_address(names: Iterable[str]) -> Iterator[tuple[ipaddress.IPv4Address, str]]:
    """Each of `names` that is an IPv4 address (a BGP neighbour, not a peer group), with it."""
    for name in names:
        try:
            yield ipaddress.IPv4Address(name), name
        except ValueError:
            continue


def _neighbors(config: ConfigFile) -> dict[str, int]:
    found = {}
    for line in config.lines:
        words = line.split()
        if (
            len(words) == 4
            and words[0] == "neighbor"
            and words[2] == "remote-as"
            and line.startswith(" neighbor")
        ):
            found[words[1]] = int(words[3])
    return found


def _connect_timers(config: ConfigFile) -> dict[str, tuple[int, int | None]]:
    """Per BGP neighbour address: the line of its `remote-as` and its ConnectRetry in seconds
    (`neighbor X timers connect N`, on the neighbour or its peer-group; None: bgpd's default)."""
    timers: dict[str, int] = {}
    group_of: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(config.lines, start=1):
        words = line.split()
        if not line.startswith(" neighbor ") or line.startswith("  "):
            continue
        if words[2:4] == ["timers", "connect"] and len(words) == 5 and words[4].isdigit():
            timers[words[1]] = int(words[4])
        elif words[2:3] == ["peer-group"] and len(words) == 4:
            group_of[words[1]] = words[3]
        elif words[2:3] == ["remote-as"]:
            lines.setdefault(words[1], number)
    neighbors = _neighbors(config)
    return {
        address: (line, timers.get(address, timers.get(group_of.get(address, ""))))
        for address, line in lines.items()
        if address in neighbors
    }


@register_rule(PLATFORM)
def connect_retry(config: ConfigFile) -> Iterator[Finding]:
    """Every BGP session of an FRR appliance (a hub's stores, other hubs, DC core and cloud VPNs;
    a store's hubs and AWS tunnels) retries its connection within `SLA_CONNECT_RETRY`: at bgpd's
    default ConnectRetry (120 s; FRR user guide, BGP, `neighbor PEER timers connect`) a session
    whose far end came back waits up to two minutes for the next attempt."""
    if config.suffix:
        return
    for address, (line, seconds) in _connect_timers(config).items():
        if seconds is None or seconds > SLA_CONNECT_RETRY:
            shown = "bgpd's default 120 s" if seconds is None else f"{seconds} s"
            yield config.finding(
                line,
                "frr-connect-retry",
                f"neighbor {address} retries its connection every {shown}, not within {SLA_CONNECT_RETRY} s",
            )


# bfdd's defaults (FRR user guide, BFD: `transmit-interval`, `receive-interval` 300 ms,
# `detect-multiplier` 3).
_BFD_DEFAULTS = (300, 300, 3)
_BFD_TIMER = {"transmit-interval": 0, "receive-interval": 1, "detect-multiplier": 2}


def _bfd_block(config: ConfigFile) -> tuple[dict[str, tuple[int, int, int]], dict[str, str | None]]:
    """bfdd's block, read once: its profiles, name -> (transmit ms, receive ms, multiplier) with
    the defaults filled in, and its declared sessions, peer address -> its profile (None: bfdd's
    defaults)."""
    profiles: dict[str, list[int]] = {}
    peers: dict[str, str | None] = {}
    profile: list[int] | None = None
    peer: str | None = None
    inside = False
    for line in config.lines:
        if line == "bfd":
            inside = True
        elif not inside:
            continue
        elif line == "exit":
            inside = False
        elif line.startswith(" profile "):
            profile, peer = profiles.setdefault(line.split()[1], list(_BFD_DEFAULTS)), None
        elif line.startswith(" peer "):
            profile, peer = None, line.split()[1]
            peers[peer] = None
        elif line.startswith(" ") and not line.startswith("  "):
            profile = peer = None
        elif peer is not None and line.startswith("  profile "):
            peers[peer] = line.split()[1]
        elif profile is not None and len(words := line.split()) == 2 and words[0] in _BFD_TIMER:
            profile[_BFD_TIMER[words[0]]] = int(words[1])
    return {name: (t[0], t[1], t[2]) for name, t in profiles.items()}, peers


def _bgp_bfd(config: ConfigFile) -> dict[str, tuple[bool, str | None]]:
    """Per BGP neighbour address: does BGP track it with BFD (`neighbor X bfd`, on the neighbour
    or its peer-group), and with which profile (`neighbor X bfd profile P`, either)."""
    direct: dict[str, bool] = {}
    profile: dict[str, str] = {}
    group_of: dict[str, str] = {}
    for line in config.lines:
        words = line.split()
        if not line.startswith(" neighbor ") or line.startswith("  "):
            continue
        if words[2:] == ["bfd"]:
            direct[words[1]] = True
        elif words[2:4] == ["bfd", "profile"] and len(words) == 5:
            direct[words[1]] = True
            profile[words[1]] = words[4]
        elif words[2:3] == ["peer-group"] and len(words) == 4:
            group_of[words[1]] = words[3]
    result = {}
    for address in _neighbors(config):
        group = group_of.get(address, "")
        result[address] = (
            direct.get(address, False) or direct.get(group, False),
            profile.get(address) or profile.get(group),
        )
    return result


@register_session_bfd(PLATFORM)
def session_bfd(config: ConfigFile) -> dict[str, SessionBfdFact]:
    """Per BGP neighbour: does bgpd track it with BFD (`_bgp_bfd`), on the timers of the profile
    its bfdd session declares, else of the one bgpd names, else bfdd's defaults."""
    if config.suffix:
        return {}
    profiles, peers = _bfd_block(config)
    lines: dict[str, int] = {}
    for number, line in enumerate(config.lines, start=1):
        words = line.split()
        if line.startswith(" neighbor ") and words[2:3] == ["remote-as"]:
            lines.setdefault(words[1], number)
    facts = {}
    for address, (bfd, profile) in _bgp_bfd(config).items():
        name = peers.get(address) or profile
        timers = (profiles.get(name, _BFD_DEFAULTS) if name else _BFD_DEFAULTS) if bfd else None
        facts[address] = SessionBfdFact(lines.get(address, 0), bfd, timers)
    return facts


_BFD_SESSION = re.compile(r"^ peer (\S+) local-address (\S+) interface (\S+)$")


@register_rule(PLATFORM)
def bfd_sessions_configured(config: ConfigFile) -> Iterator[Finding]:
    """Every BGP neighbour on a directly connected subnet that BGP tracks with BFD has its bfdd
    session configured (`peer P local-address L interface I`, L the interface's own address), not
    only registered by bgpd. bgpd deregisters its session and registers it again when the BGP
    session first comes up (its local address and interface then known); bfdd frees a session
    no configuration holds, telling the far end it went down, and starts another."""
    if config.suffix:
        return
    declared = {m.group(1): (m.group(2), m.group(3)) for line in config.lines if (m := _BFD_SESSION.match(line))}
    connected = [(name, address) for name, addresses in _interfaces(config).items() for address in addresses]
    # Each interface address's place among them, by the subnets it is on: the first interface
    # on a neighbour's subnet is found without reading every interface for every neighbour.
    by_subnet = SubnetIndex((address.ip, index) for index, (_name, address) in enumerate(connected))
    subnets = sorted({address.network.prefixlen for _name, address in connected})
    lines = {
        line.split()[1]: number
        for number, line in enumerate(config.lines, start=1)
        if line.startswith(" neighbor ") and " remote-as " in line
    }
    for neighbor, (tracked, _profile) in _bgp_bfd(config).items():
        address = ipaddress.IPv4Address(neighbor)
        on = [
            index
            for length in subnets
            for index in by_subnet.on(ipaddress.IPv4Network((address, length), strict=False))
            if connected[index][1].network.prefixlen == length
        ]
        ifname, local = connected[min(on)] if on else (None, None)
        if not tracked or ifname is None or local is None:
            continue
        wanted = (str(local.ip), ifname)
        if declared.get(neighbor) != wanted:
            yield config.finding(
                lines.get(neighbor, 1),
                "frr-bfd-session",
                f"BGP tracks {neighbor} on {ifname} with BFD, but bfdd has no configured session"
                f" `peer {neighbor} local-address {wanted[0]} interface {ifname}`: bfdd frees the"
                " session bgpd registered whenever bgpd registers it again, as when BGP first comes up,"
                " and the far end's session goes down with it",
            )


@register_tunnels(PLATFORM)
def extract(config: ConfigFile) -> list[TunnelFact]:
    """FRR tunnels: the swanctl connections, each joined to its XFRM interface's address (via
    if_id and the routing file) and to the BGP neighbour on that interface's subnet."""
    swanctl = config.companions.get("swanctl.conf", "")
    routing = config.companions.get("routing", "")
    ifnames = _xfrm_names(routing)
    addresses = _interfaces(config)
    neighbors = _neighbors(config)
    on_subnet = SubnetIndex(_by_address(neighbors))
    keys = secrets(swanctl)
    bgp_bfd = _bgp_bfd(config)
    profiles, bfd_peers = _bfd_block(config)
    # Each XFRM interface's MTU (routing: `link set NAME group 10 mtu N up`), and the forward
    # chain's MSS clamp: `rt mtu` clamps a SYN to the smaller of its route's MTU and its reverse
    # route's, less 40 bytes (nft(8), "tcp option maxseg size set rt mtu"), i.e. to the tunnel's.
    mtus = {m.group(1): int(m.group(2)) for m in _LINK_MTU.finditer(routing)}
    clamp = next(
        (m.group(1) for m in _MSS_CLAMP.finditer(config.companions.get("nftables.conf", ""))),
        None,
    )
    facts = []
    for name, (line, settings) in connections(swanctl).items():
        ifname = ifnames.get(int(settings.get("if_id_out", "-1")))
        local = next(iter(addresses.get(ifname or "", [])), None)
        peer = None
        if local is not None:
            peer = next((a for a in on_subnet.on(local.network) if a != str(local.ip)), None)
        secret = keys.get(f"ike-{name}", (0, {}))[1]
        local_id, local_id_type = _identity(settings.get("local.id"))
        peer_id, peer_id_type = _identity(settings.get("remote.id"))
        # BFD as BGP uses it: a session bfdd runs that BGP does not track moves no route.
        bfd, bfd_profile = bgp_bfd.get(peer or "", (False, None))
        bfd_profile = bfd_profile or bfd_peers.get(peer or "")
        facts.append(
            TunnelFact(
                file=f"{config.hostname}.swanctl.conf",
                line=line,
                name=name,
                peer_outside=None
                if settings.get("remote_addrs", "%any") == "%any"
                else settings["remote_addrs"],
                local_inside=str(local.ip) if local else None,
                peer_inside=peer,
                local_id=local_id,
                peer_id=peer_id,
                psk_slot=secret.get("secret"),
                peer_asn=neighbors.get(peer) if peer else None,
                ike=_ike(settings.get("proposals", "")),
                esp=_esp(_child(settings, name, "esp_proposals") or ""),
                bfd=bfd if peer else None,
                bfd_timers=(profiles.get(bfd_profile, _BFD_DEFAULTS) if bfd_profile else _BFD_DEFAULTS) if bfd else None,
                selectors=(_selectors(_child(settings, name, "local_ts")), _selectors(_child(settings, name, "remote_ts"))),
                local_id_type=local_id_type,
                peer_id_type=peer_id_type,
                replay_window=int(_child(settings, name, "replay_window") or _SWANCTL_REPLAY_WINDOW),
                mtu=mtus.get(ifname or "", 0),
                tcp_mss=(mtus.get(ifname or "", 0) - TCP_IPV4_HEADERS if clamp == "rt mtu" else int(clamp or 0))
                if mtus.get(ifname or "")
                else 0,
            )
        )
    return facts


_LINK_MTU = re.compile(r"^link set (\S+)\b.* mtu (\d+)\b", re.MULTILINE)
_MSS_CLAMP = re.compile(r"^\s*tcp flags syn tcp option maxseg size set (rt mtu|\d+)\s*$", re.MULTILINE)

# swanctl's anti-replay window when a child names none (swanctl.conf(5), `replay_window`).
_SWANCTL_REPLAY_WINDOW = 32


def _identity(value: str | None) -> tuple[str | None, str | None]:
    """A swanctl identity and the type strongSwan gives it ("Identity Parsing", strongSwan
    documentation): `=` in it, a DN; a leading `@#` a KEY_ID (hex), `@@` an RFC 822 address and
    `@` an FQDN, each without its prefix; any other `@` an RFC 822 address; else an IP address
    where it is one, otherwise an FQDN. Unset or `%any`: no identity of its own (None, None)."""
    if value is None or value == "%any":
        return None, None
    if "=" in value:
        return value, "dn"
    for prefix, kind in (("@#", "key-id"), ("@@", "user-fqdn"), ("@", "fqdn")):
        if value.startswith(prefix):
            return value[len(prefix) :], kind
    if "@" in value:
        return value, "user-fqdn"
    return value, id_type_of(value)


def _selectors(value: str | None) -> tuple[str, ...]:
    """A child's `local_ts` / `remote_ts` as prefixes; unset, swanctl's default `dynamic`: the IKE
    address of that end only (swanctl.conf, connections.<conn>.children.<child>.local_ts)."""
    if value is None:
        return (SELECTORS_DYNAMIC,)
    return tuple(sorted(part.strip() for part in value.split(",") if part.strip()))


# ---------------------------------------------------------------- a hub's forward chain

# The interface group of the tunnel devices (store links), as the hub's host files number it.
_TUNNEL_GROUP = "10"
_NFT_SET = re.compile(r"^\s*set (\w+) \{(.*?)^\s*\}", re.M | re.S)
_NFT_ELEMENTS = re.compile(r"elements = \{([^}]*)\}", re.S)
# nft's names of the ICMP types a rule may match (`nft describe icmp type`), by type number:
# what `icmp type` compares a `Packet.icmp` with (None there: an echo request)
_ICMP_TYPE_NAMES = {
    0: "echo-reply", 3: "destination-unreachable", 4: "source-quench", 5: "redirect", 8: "echo-request",
    9: "router-advertisement", 10: "router-solicitation", 11: "time-exceeded", 12: "parameter-problem",
    13: "timestamp-request", 14: "timestamp-reply", 15: "info-request", 16: "info-reply",
    17: "address-mask-request", 18: "address-mask-reply",
}  # fmt: skip
# The ICMP errors (destination unreachable, source quench, redirect, time exceeded, parameter
# problem), which conntrack ties to the flow of the packet they carry (`related`)
_ICMP_ERRORS = frozenset({3, 4, 5, 11, 12})

_NFT_TOKENS = re.compile(r"\{[^}]*\}|\"[^\"]*\"|\S+")
_NFT_POLICY = re.compile(r"policy (accept|drop);")


@dataclasses.dataclass(frozen=True)
class _NftSet:
    """A named set's elements, a concatenation's as a tuple of its parts, with what a lookup
    needs worked out once per ruleset (a hub's checks ask about each of its tunnels)."""

    elements: tuple[tuple[str, ...], ...]
    # The elements of single values (a name, a port, an address), looked up as they are spelt
    # (with their lengths), and the others (prefixes, ranges), which `_nft_in` walks.
    exact: frozenset[tuple[str, ...]]
    lengths: frozenset[int]
    rest: tuple[tuple[str, ...], ...]
    # The elements of one part, as interface names.
    names: frozenset[str]
    # `rest` by its elements' first part as a name (`iifname . ip saddr`: one tunnel's
    # prefixes), the only ones a lookup whose first value is a name can match.
    by_name: dict[str, tuple[tuple[str, ...], ...]] = dataclasses.field(compare=False, repr=False)
    # Whether some element of `rest` cannot be told about for values of these types (another
    # length, a part no value of its type is compared with): the same for every such lookup.
    _doubts: dict[tuple[type, ...], bool] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    # `holds`'s answer for each lookup so far: a hub's checks send many packets of one address.
    held: dict[tuple[_NftValue, ...], bool | None] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, elements: tuple[tuple[str, ...], ...], walked: bool = False) -> _NftSet:
        """`walked`: every element in `rest`, none looked up as spelt (an anonymous set, whose
        every element `_nft_value_matches` reads)."""
        exact = [e for e in elements if not walked and all(_NFT_EXACT.match(part) for part in e)]
        rest = tuple(e for e in elements if walked or not all(_NFT_EXACT.match(part) for part in e))
        by_name: dict[str, list[tuple[str, ...]]] = {}
        for element in rest:
            by_name.setdefault(element[0].strip('"'), []).append(element)
        return cls(
            elements=elements,
            exact=frozenset(tuple(part.strip('"') for part in e) for e in exact),
            lengths=frozenset(len(e) for e in exact),
            rest=rest,
            names=frozenset(e[0].strip('"') for e in elements if len(e) == 1),
            by_name={name: tuple(found) for name, found in by_name.items()},
        )

    def doubtful(self, values: tuple[_NftValue, ...]) -> bool:
        """Whether some element of `rest` cannot be told about for `values` (`_nft_in`'s None):
        another length, or a part `_nft_value_matches` cannot compare with a value of its type
        (which does not depend on the value)."""
        kinds = tuple(type(value) for value in values)
        if kinds not in self._doubts:
            self._doubts[kinds] = any(
                len(element) != len(values)
                or any(_nft_value_matches(part, value) is None for part, value in zip(element, values, strict=True))
                for element in self.rest
            )
        return self._doubts[kinds]

    def holds(self, values: tuple[_NftValue, ...]) -> bool | None:
        """Whether `values` (one, or a concatenation's parts) is an element; None when it cannot
        be told (`_nft_in`, which keeps each answer in `held`)."""
        if self.lengths - {len(values)} or self.doubtful(values):
            return None
        if self.exact and tuple(str(value) for value in values) in self.exact:
            return True
        if len(values) == 1 and isinstance(values[0], ipaddress.IPv4Address):
            return self.holds_address(values[0])
        # Not doubtful: every candidate has one part per value and each part tells (no None).
        return any(
            all(_nft_value_matches(part, value) for part, value in zip(element, values, strict=True))
            for element in self.candidates(values)
        )

    def candidates(self, values: tuple[_NftValue, ...]) -> tuple[tuple[str, ...], ...]:
        """The elements of `rest` that may hold `values`: those of its first value's name, where
        that is a name (a name part holds exactly its name), else all."""
        return self.by_name.get(values[0], ()) if isinstance(values[0], str) else self.rest

    @functools.cached_property
    def _address_spans(self) -> tuple[list[int], list[int]]:
        """The one-part elements of `rest` that spell addresses (prefixes, ranges), as the first
        and last addresses of their union's disjoint spans, in order: what `holds_address`
        searches instead of walking every element (a generated fleet's hub sets hold thousands)."""
        spans = sorted(span for (part,) in (e for e in self.rest if len(e) == 1) if (span := _nft_address_span(part)))
        starts: list[int] = []
        ends: list[int] = []
        for low, high in spans:
            if ends and low <= ends[-1] + 1:
                ends[-1] = max(ends[-1], high)
            else:
                starts.append(low)
                ends.append(high)
        return starts, ends

    def holds_address(self, address: ipaddress.IPv4Address) -> bool:
        """Whether some one-part element of `rest` spans `address` (where `doubtful` is False for
        an address, every element of `rest` is one part that spells addresses)."""
        starts, ends = self._address_spans
        at = bisect.bisect_right(starts, int(address)) - 1
        return at >= 0 and int(address) <= ends[at]


_NftSets = dict[str, _NftSet]


@functools.lru_cache(maxsize=8)
def _nft_sets(text: str) -> _NftSets:
    """Each named set of a ruleset (read once per ruleset)."""
    sets: _NftSets = {}
    for match in _NFT_SET.finditer(text):
        elements = _NFT_ELEMENTS.search(match[2])
        items = elements[1].split(",") if elements else []
        sets[match[1]] = _NftSet.of(
            tuple(tuple(part.strip() for part in item.split(" . ")) for item in items if item.strip())
        )
    return sets


_NFT_EXACT = re.compile(r'^(?:"[^"]*"|[A-Za-z_][\w.-]*|\d+|\d+\.\d+\.\d+\.\d+)$')

_NftValue = ipaddress.IPv4Address | int | str  # an address, a port, an interface name
# The next part of a concatenation (`iifname . ip saddr . ip daddr`)
_NFT_CONCATENATED = ([".", "ip", "saddr"], [".", "ip", "daddr"])


@functools.lru_cache(maxsize=65536)
def _nft_address_span(element: str) -> tuple[int, int] | None:
    """The first and last address (as integers) of an element that spells a range or a prefix
    (a lone address: one); None when it spells no address. Cached: a hub's checks walk the
    same elements for every packet."""
    try:
        if "-" in element:
            low, _, high = element.partition("-")
            return int(ipaddress.IPv4Address(low.strip())), int(ipaddress.IPv4Address(high.strip()))
        network = ipaddress.IPv4Network(element, strict=False)
    except ValueError:
        return None
    return int(network.network_address), int(network.broadcast_address)


def _nft_value_matches(element: str, value: _NftValue) -> bool | None:
    """Whether one set element or literal (address, prefix, range, port, interface name) holds `value`."""
    if isinstance(value, str):
        return element.strip('"') == value
    if isinstance(value, int):
        try:
            low, _, high = element.partition("-")
            return int(low) <= value <= int(high or low)
        except ValueError:
            return None
    span = _nft_address_span(element)
    return None if span is None else span[0] <= int(value) <= span[1]


@functools.lru_cache(maxsize=4096)
def _nft_literal(operand: str) -> tuple[tuple[str, ...], ...]:
    """The elements of an anonymous set `{ a, b }` (a concatenation's as its parts), or of one literal."""
    if operand.startswith("{"):
        return tuple(tuple(p.strip() for p in item.split(" . ")) for item in operand[1:-1].split(",") if item.strip())
    return ((operand,),)


def _nft_in(operand: str, values: tuple[_NftValue, ...], sets: _NftSets) -> bool | None:
    """Whether `values` (one, or a concatenation's parts) is in `operand`: `@set`, `{ a, b }` or
    one literal; None when it cannot be told."""
    if operand.startswith("@"):
        named = sets.get(operand[1:])
        if named is None:
            return None
    else:
        named = _nft_literal_set(operand)
    if values not in named.held:
        named.held[values] = named.holds(values)
    return named.held[values]


@functools.lru_cache(maxsize=4096)
def _nft_literal_set(operand: str) -> _NftSet:
    """An anonymous set `{ a, b }` or one literal as `_nft_in` looks it up (`_NftSet.of`, every
    element walked), worked out once: a generated fleet's hub rules list hundreds of prefixes."""
    return _NftSet.of(_nft_literal(operand), walked=True)


def _nft_names(operand: str, sets: _NftSets) -> frozenset[str] | None:
    """The interface names an `iifname` operand holds: `@set`, `{ "a", "b" }` or one name; None
    for a missing set."""
    if operand.startswith("@"):
        named = sets.get(operand[1:])
        return None if named is None else named.names
    return _nft_literal_names(operand)


@functools.lru_cache(maxsize=4096)
def _nft_literal_names(operand: str) -> frozenset[str]:
    if operand.startswith("{"):
        return frozenset(item.strip().strip('"') for item in operand[1:-1].split(",") if item.strip())
    return frozenset({operand.strip('"')})


def _nft_ifname_in(operand: str, ifname: str, sets: _NftSets) -> bool | None:
    """Whether interface `ifname` is in `operand`: `@set`, `{ "a", "b" }` or one name."""
    names = _nft_names(operand, sets)
    return None if names is None else ifname in names


def _nft_from_tunnel(operand: str, tunnels: frozenset[str] | None, sets: _NftSets) -> bool | None:
    """Whether an `iifname` operand may hold for a packet from some tunnel of `tunnels` (the
    hub's interface group 10): False when it names none of them (the DC port), None when it names
    one or cannot be told (no routing file, a missing set, a wildcard)."""
    if tunnels is None or "*" in operand:
        return None
    if not tunnels:
        return False
    names = _nft_names(operand, sets)
    return None if names is None or not names.isdisjoint(tunnels) else False


def _nft_rule_matches(
    tokens: list[str],
    packet: Packet,
    sets: _NftSets,
    iifname: str | None = None,
    tunnels: frozenset[str] | None = None,
    from_tunnel: bool = True,
    oifname: str | None = None,
) -> bool | None:
    """Whether a forward rule's match part holds for `packet`, the start of a connection arriving
    from a tunnel (interface group 10; `from_tunnel` False: from a port of no known group, a
    transport or the DC port): `iifname` when known, else any store tunnel (of `tunnels`, the
    group's store interfaces, where known: a rule for another interface alone does not hold);
    None when a statement cannot be told (an outgoing interface, the incoming one when not known,
    anything this reader does not follow). `oifname`, where given, is the interface the packet
    leaves by (an answer's: the segment its flow came from), which `oifname` rules are read
    against."""
    # A rule is its statements' conjunction: the first that does not hold decides (False).
    result: bool | None = True
    index = 0
    count = len(tokens)
    while index < count:
        word = tokens[index]
        if word == "counter":
            index += 1
            continue
        following = tokens[index + 1] if index + 1 < count else ""
        negate = following == "!="
        operand_at = index + (2 if negate else 1)
        value: bool | None
        if word in ("iifname", "iif") and iifname is not None and operand_at < count and following != ".":
            value = _nft_ifname_in(tokens[operand_at], iifname, sets)
            index = operand_at + 1
        elif (word == "ip" and following in ("saddr", "daddr")) or (
            word == "iifname" and iifname is not None and tokens[index + 1 : index + 4] in _NFT_CONCATENATED
        ):
            # an address, or a concatenation `[iifname .] ip saddr [. ip daddr]`, in a set
            fields: list[_NftValue] = (
                [iifname or ""] if word == "iifname" else [packet.source if following == "saddr" else packet.destination]
            )
            at = index + (1 if word == "iifname" else 2)
            while at < count and tokens[at] == "." and tokens[at : at + 3] in _NFT_CONCATENATED:
                fields.append(packet.source if tokens[at + 2] == "saddr" else packet.destination)
                at += 3
            negate = at < count and tokens[at] == "!="
            at += 1 if negate else 0
            if at >= count:
                return None
            value = _nft_in(tokens[at], tuple(fields), sets)
            index = at + 1
        elif word in ("iifname", "iif") and operand_at < count:
            # which store tunnel it came in by (a concatenation's parts: not followed here)
            value = None if following == "." else _nft_from_tunnel(tokens[operand_at], tunnels, sets)
            index = operand_at + 1
        elif word == "oifname" and oifname is not None and operand_at < count:
            value = _nft_ifname_in(tokens[operand_at], oifname, sets)
            index = operand_at + 1
        elif word in ("oifgroup", "oifname") and operand_at < count:
            value = None  # where it leaves (routing)
            index = operand_at + 1
        elif word == "iifgroup" and operand_at < count:
            in_group = tokens[operand_at] == _TUNNEL_GROUP
            value = in_group if from_tunnel else (False if in_group else None)
            index = operand_at + 1
        elif word in ("tcp", "udp") and following in ("dport", "sport") and index + 2 < count:
            negate = tokens[index + 2] == "!="
            at = index + (3 if negate else 2)
            port = packet.port if following == "dport" else packet.source_port
            value = False if packet.protocol != word else (_nft_in(tokens[at], (port,), sets) if port is not None else None)
            index = at + 1
        elif word == "tcp" and following == "flags":
            value, index = _nft_tcp_flags(tokens, index + 2, packet)
            negate = False
        elif word == "icmp" and following == "type" and index + 2 < count:
            name = _ICMP_TYPE_NAMES.get(packet.icmp[0] if packet.icmp else 8)
            named = re.findall(r"[a-z-]+", tokens[index + 2])
            value = False if packet.protocol != "icmp" else (name in named if name else None)
            index += 3
        elif word in ("meta", "ip") and following in ("l4proto", "protocol"):
            at = index + (3 if index + 2 < count and tokens[index + 2] == "!=" else 2)
            negate = at == index + 3
            value = packet.protocol in tokens[at] if at < count else None
            index = at + 1
        elif word == "ct" and following == "state" and index + 2 < count:
            value = _first_ct_state(packet) in re.findall(r"[a-z]+", tokens[index + 2])
            index += 3
        else:
            return None
        if negate and value is not None:
            value = not value
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _first_ct_state(packet: Packet) -> str:
    """conntrack's state for `packet` where it holds no entry for its flow: TCP as the state
    table takes a first segment (net/netfilter/nf_conntrack_proto_tcp.c `tcp_conntracks`, from
    NONE; `nf_conntrack_tcp_loose` at its default 1): a SYN opens one (`new`), an ACK mid-stream
    is picked up (`new`), a SYN-ACK, RST, FIN or no flag is `invalid`. An echo request is `new`;
    an ICMP error about no flow conntrack holds is `invalid` (nf_conntrack_proto_icmp.c attaches
    no entry to it). An answer (`Packet.answer`) is of a flow conntrack holds: `established`, an
    ICMP error about it `related`, whatever interface it came in on (conntrack's tuples hold
    addresses, protocol and ports, no interface)."""
    error = packet.protocol == "icmp" and packet.icmp is not None and packet.icmp[0] in _ICMP_ERRORS
    if packet.answer:
        return "related" if error else "established"
    if packet.protocol != "tcp":
        return "invalid" if error else "new"
    flags = packet.tcp_flags
    if "rst" in flags:
        return "invalid"
    if "syn" in flags:
        return "invalid" if "ack" in flags else "new"
    return "new" if "ack" in flags and "fin" not in flags else "invalid"


def _nft_tcp_flags(tokens: list[str], at: int, packet: Packet) -> tuple[bool | None, int]:
    """A `tcp flags` match from tokens[at] (after `tcp flags`) for `packet`, and where the next
    statement starts: `& (a | b) OP VALUE` (OP `==` or `!=`, VALUE a flag, flags joined by `|`,
    or 0) or one flag alone (set); None for any other form. Not TCP: False."""
    if tokens[at : at + 1] != ["&"]:
        if at < len(tokens) and re.fullmatch(r"[a-z]+", tokens[at]):
            return (packet.protocol == "tcp" and tokens[at] in packet.tcp_flags), at + 1
        return None, len(tokens)
    operator = next((i for i in range(at + 1, len(tokens)) if tokens[i] in ("==", "!=")), None)
    if operator is None or operator + 1 >= len(tokens):
        return None, len(tokens)
    mask = set(re.findall(r"[a-z]+", " ".join(tokens[at + 1 : operator])))
    end = operator + 2
    value_text = tokens[operator + 1]
    if value_text.startswith("("):
        while end < len(tokens) and not tokens[end - 1].endswith(")"):
            end += 1
        value_text = " ".join(tokens[operator + 1 : end])
    else:
        while end + 1 < len(tokens) and tokens[end] == "|":
            value_text, end = f"{value_text} | {tokens[end + 1]}", end + 2
    if packet.protocol != "tcp":
        return False, end
    value = set() if value_text.strip("() ") == "0" else set(re.findall(r"[a-z]+", value_text))
    holds = (set(packet.tcp_flags) & mask) == value
    return (holds if tokens[operator] == "==" else not holds), end


def forward_verdict(
    text: str, packet: Packet, iifname: str | None = None, tunnels: frozenset[str] | None = None
) -> Verdict:
    """What the `forward` chain of an nftables ruleset does with `packet`, arriving from a tunnel
    (interface group 10, whose interfaces `tunnels` names where known; `iifname` names the one
    where known): the first rule whose match holds decides (accept or drop), else the chain's
    policy. A rule this reader cannot tell about decides when it accepts, never when it drops, so
    a doubt never hides an accept."""
    return chain_verdict(text, "forward", packet, iifname, tunnels)


def tunnel_group(routing: str) -> frozenset[str] | None:
    """The interfaces the routing file puts in the tunnel group (`link set NAME group 10`), None
    without a routing file."""
    if not routing:
        return None
    return frozenset(re.findall(rf"^link set (\S+) group {_TUNNEL_GROUP}\b", routing, re.M))


@functools.lru_cache(maxsize=65536)
def chain_verdict(
    text: str,
    chain: str,
    packet: Packet,
    iifname: str | None = None,
    tunnels: frozenset[str] | None = None,
    from_tunnel: bool = True,
    oifname: str | None = None,
) -> Verdict:
    """What a base chain (`forward`, `input`) does with `packet`, the start of a connection
    arriving on `iifname` (None: a tunnel of interface group 10, one of `tunnels` where known;
    `from_tunnel` False: a port of no known group; `oifname`, where known, the interface it
    leaves by), read as `forward_verdict` says. A `jump`
    whose match holds (or cannot be told) goes through its chain, whose first deciding rule
    decides; past its end, the rules after the jump do. Cached (a verdict depends on these
    values alone): configs linted again with one file changed, as a caller that breaks one file
    at a time does, walk each unchanged ruleset once per packet, not once per lint."""
    bodies, starts = _nft_ruleset(text)
    sets = _nft_sets(text)
    start = starts.get(chain)
    if start is None:
        return Verdict(True, 0, f"no {chain} chain: the kernel takes everything")
    policy = Verdict(True, start + 1, f"chain {chain}: policy accept")
    found = _nft_chain_walk(bodies, starts, sets, start, packet, iifname, tunnels, from_tunnel, set(), oifname)
    if isinstance(found, Verdict):
        return found
    return Verdict(found[1] == "accept", found[0], f"chain {chain}: policy {found[1]}") if found else policy


@dataclasses.dataclass(frozen=True, slots=True)
class _NftLine:
    """One line of a ruleset as the chain walk reads it."""

    stripped: str
    policy: str | None  # a base chain's `policy accept;` / `policy drop;`: accept or drop
    tokens: list[str]  # `_NFT_TOKENS`


# A chain's body: its policy and rule lines up to its closing brace (no comment, no blank), each
# with its line number.
_NftBody = tuple[tuple[int, _NftLine], ...]


@functools.lru_cache(maxsize=8)
def _nft_ruleset(text: str) -> tuple[dict[int, _NftBody], dict[str, int]]:
    """The body of each chain, by the index of the line it starts at, and that index by the
    chain's name (its first `chain NAME ...`): read once per ruleset, as a hub's checks walk its
    chains for every packet they send."""
    lines = []
    starts: dict[str, int] = {}
    for index, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        policy = _NFT_POLICY.search(stripped)
        lines.append(_NftLine(stripped, policy[1] if policy else None, _NFT_TOKENS.findall(stripped)))
        name, space, _ = stripped.removeprefix("chain ").partition(" ")
        if stripped.startswith("chain ") and space:
            starts.setdefault(name, index)
    bodies: dict[int, _NftBody] = {}
    for start in starts.values():
        body = []
        for number, line in enumerate(lines[start + 1 :], start=start + 2):
            if line.stripped == "}":
                break
            if line.policy or (line.tokens and not line.stripped.startswith("#")):
                body.append((number, line))
        bodies[start] = tuple(body)
    return bodies, starts


def _nft_chain_walk(
    bodies: dict[int, _NftBody],
    starts: dict[str, int],
    sets: _NftSets,
    start: int,
    packet: Packet,
    iifname: str | None,
    tunnels: frozenset[str] | None,
    from_tunnel: bool,
    visited: set[int],
    oifname: str | None = None,
) -> Verdict | tuple[int, str] | None:
    """The verdict of the chain starting at line index `start`; past its end, its policy as (line,
    accept|drop) for a base chain, None for a regular one."""
    visited = visited | {start}
    policy: tuple[int, str] | None = None
    for number, line in bodies[start]:
        stripped, tokens = line.stripped, line.tokens
        if line.policy:
            policy = (number, line.policy)
            continue
        if tokens[-2:-1] == ["jump"]:
            target = starts.get(tokens[-1])
            if target is None or target in visited or _nft_rule_matches(tokens[:-2], packet, sets, iifname, tunnels, from_tunnel, oifname) is False:
                continue
            decided = _nft_chain_walk(bodies, starts, sets, target, packet, iifname, tunnels, from_tunnel, visited, oifname)
            if isinstance(decided, Verdict):
                return decided
            continue
        if tokens[-1] not in ("accept", "drop", "reject"):
            continue
        matches = _nft_rule_matches(tokens[:-1], packet, sets, iifname, tunnels, from_tunnel, oifname)
        if matches is None:
            matches = tokens[-1] == "accept"
        if matches:
            return Verdict(tokens[-1] == "accept", number, stripped)
    return policy


@register_forwarding(PLATFORM)
def store_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What an FRR hub forwards from its store tunnels: its host firewall's forward chain
    (nftables.conf beside the FRR config)."""
    text = config.companions.get("nftables.conf")
    if text is None:
        return ForwardingFacts(
            lambda packet: Verdict(True, 0, "no nftables.conf"),
            unfiltered=[(0, "no nftables.conf: the hub forwards whatever its tunnels bring in")],
        )
    tunnels = _store_tunnels(config.companions.get("routing", ""), text)
    file = f"{config.hostname}.nftables.conf"
    # Given some of the store links only (one store's, by their IKE identities or outside
    # addresses: swanctl.conf's connections, each on its XFRM interface), what arrives on those
    # interfaces, by name: the most permissive verdict.
    named = _store_link_interfaces(config, peers)
    if tunnels is not None and named and set(named) != tunnels:
        return ForwardingFacts(
            lambda packet: most_permissive(
                [forward_verdict(text, packet, iifname=name) for name in named], "no such store link"
            ),
            file=file,
        )
    return ForwardingFacts(lambda packet: forward_verdict(text, packet, tunnels=tunnels), file=file)


@functools.lru_cache(maxsize=64)
def _store_tunnels(routing: str, nftables: str) -> frozenset[str] | None:
    """A hub's store tunnels: the tunnel group's interfaces but the cloud VPNs (set
    `cloud_tunnels`), which share the group and have rules of their own. Read once per hub's
    files (one object, which the verdict cache hashes once), though asked for once per store."""
    group = tunnel_group(routing)
    clouds = set(cloud_set.names) if (cloud_set := _nft_sets(nftables).get("cloud_tunnels")) else set()
    return None if group is None else group - clouds


def _store_link_interfaces(config: ConfigFile, peers: frozenset[str]) -> list[str]:
    """The XFRM interfaces of the swanctl connections whose far end is one of `peers` (its
    identity, `remote.id`, or its address, `remote_addrs`)."""
    ifnames, by_far_end = _link_interfaces(
        config.companions.get("swanctl.conf", ""), config.companions.get("routing", "")
    )
    return [ifnames[index] for index in sorted({index for peer in peers for index in by_far_end.get(peer, ())})]


@functools.lru_cache(maxsize=64)
def _link_interfaces(swanctl: str, routing: str) -> tuple[list[str], dict[str, list[int]]]:
    """The XFRM interface of each swanctl connection that has one, in their order, and the
    places in that list of each far end's (identity and address): read once per hub's files, as
    the isolation checks ask for one store's links per store."""
    names = _xfrm_names(routing)
    ifnames: list[str] = []
    by_far_end: dict[str, list[int]] = {}
    for _line, settings in connections(swanctl).values():
        ifname = names.get(int(settings.get("if_id_in", "-1")))
        if ifname is None:
            continue
        for far in {_identity(settings.get("remote.id"))[0], settings.get("remote_addrs")}:
            if far is not None:
                by_far_end.setdefault(far, []).append(len(ifnames))
        ifnames.append(ifname)
    return ifnames, by_far_end


@register_cloud_forwarding(PLATFORM)
def cloud_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What an FRR hub forwards from its cloud VPNs (set `cloud_tunnels`): its host firewall's
    forward chain, for the first packet of a connection (no conntrack entry yet). Given `peers`
    (one cloud site's tunnels, by their own inside addresses: the FRR config's interface `ip
    address`), what arrives on those interfaces, by name (the most permissive verdict)."""
    text = config.companions.get("nftables.conf")
    if text is None:
        return ForwardingFacts(
            lambda packet: Verdict(True, 0, "no nftables.conf"),
            unfiltered=[(0, "no nftables.conf: the hub forwards whatever its cloud VPNs bring in")],
        )
    clouds = set(cloud_set.names) if (cloud_set := _nft_sets(text).get("cloud_tunnels")) else set()
    file = f"{config.hostname}.nftables.conf"
    if peers:
        addresses = _interface_addresses(config.text.splitlines())
        named = [name for name in sorted(clouds) if any(str(a.ip) in peers for a in addresses.get(name, []))]
        return ForwardingFacts(
            lambda packet: most_permissive(
                [forward_verdict(text, packet, iifname=name) for name in named], "no such cloud VPN"
            ),
            file=file,
        )
    return ForwardingFacts(lambda packet: forward_verdict(text, packet, tunnels=frozenset(clouds)), file=file)


# An internet address that is no tunnel's far end in any sample or planned fleet (RFC 2544's
# benchmarking range): the sender `frr-wan-ike` tries against a store's WAN ports.
_STRANGER = ipaddress.IPv4Address("198.18.0.7")
_IKE_PORTS = (500, 4500)


@register_rule(PLATFORM)
def wan_ike_from_peers(config: ConfigFile) -> Iterator[Finding]:
    """A store's transport takes IKE and ESP-in-UDP (500, 4500) from the far ends of its own
    tunnels only, as the fleet's WAN ports do (README, "The router itself"; IOS-XE's
    INTERNET-<link>-TO-SELF, FortiOS's local-in policies): from any other address charon would
    answer every IKE_SA_INIT with a Diffie-Hellman exchange of its own. And each far end's
    packets are taken, or its tunnel never comes up. Read from the input chain, packet by packet,
    against the tunnels of swanctl.conf (each connection's `remote_addrs`, its transport from the
    routing file's `link add ... dev <transport> if_id N`). A hub answers stores from any address
    (they dial in from carrier-assigned ones) and is not checked."""
    if config.suffix != "nftables.conf" or config.role != "edge":
        return
    routing = config.companions.get("routing", "")
    transports = {
        int(m.group(2)): m.group(1) for m in re.finditer(r"^link add \S+ type xfrm dev (\S+) if_id (\d+)$", routing, re.M)
    }
    peers: dict[str, set[ipaddress.IPv4Address]] = {transport: set() for transport in transports.values()}
    for _line, settings in connections(config.companions.get("swanctl.conf", "")).values():
        transport = transports.get(int(settings.get("if_id_out", "0")))
        try:
            peer = ipaddress.IPv4Address(settings.get("remote_addrs", ""))
        except ValueError:
            continue
        if transport is not None:
            peers[transport].add(peer)
    for transport, far_ends in sorted(peers.items()):
        for port in _IKE_PORTS:
            taken = chain_verdict(config.text, "input", Packet("udp", _STRANGER, _STRANGER, port), transport)
            if taken.forwarded:
                yield config.finding(
                    taken.line,
                    "frr-wan-ike",
                    f"{transport} takes udp {port} from {_STRANGER}, which is no tunnel's far end: {taken.rule}",
                )
            for peer in sorted(far_ends):
                verdict = chain_verdict(config.text, "input", Packet("udp", peer, peer, port), transport)
                if not verdict.forwarded:
                    yield config.finding(
                        verdict.line or config.line_of("chain input"),
                        "frr-wan-ike",
                        f"{transport} drops udp {port} from its tunnel's far end {peer}: {verdict.rule}",
                    )


_SEGMENT = re.compile(r"^ description \S+ segment vlan \d+$")
_DADDR_LITERAL = re.compile(r"ip daddr \{([^}]*)\}")
_DPORT_LITERAL = re.compile(r"\b(tcp|udp) dport \{\s*(\d+)")


def _segments(lines: list[str]) -> dict[str, ipaddress.IPv4Network]:
    """A store's LAN segments by interface (`description <kind> segment vlan N`): their prefixes."""
    found: dict[str, ipaddress.IPv4Network] = {}
    current: str | None = None
    for line in lines:
        if line.startswith("interface "):
            current = line.split()[1]
        elif current is not None and _SEGMENT.match(line):
            addresses = _interface_addresses(lines).get(current, [])
            if addresses:
                found[current] = addresses[0].network
        elif line == "exit":
            current = None
    return found


@register_rule(PLATFORM)
def segment_sources(config: ConfigFile) -> Iterator[Finding]:
    """Stores: a segment forwards only what it sends from its own prefix. The intent's flows are
    each zone's, from the zone's prefixes, and every other store platform says so with the
    segment's source (IOS-XE's and VRP's ACLs, FortiOS's `srcaddr`); a forward rule that matches
    the segment by its incoming interface alone takes any source a host sends: a guest's spoofed
    public source leaves the breakout un-NATed, an office host reaches HQ as the POS segment or
    as another store. Read from the forward chain packet by packet: from each segment's interface
    (the FRR config's `description <kind> segment vlan N`), from every other segment's first host
    and from an internet address, to an internet address and to each destination (and its first
    port) the chain's accept rules name."""
    if config.suffix != "nftables.conf" or config.role != "edge":
        return
    segments = _segments(config.companions.get("", "").splitlines())
    targets: list[tuple[str, int | None, ipaddress.IPv4Address]] = [("tcp", 443, _STRANGER + 1)]
    for line in config.lines:
        if not line.strip().endswith("accept") or (daddr := _DADDR_LITERAL.search(line)) is None:
            continue
        port = _DPORT_LITERAL.search(line)
        for element in daddr[1].split(","):
            try:
                net = ipaddress.IPv4Network(element.strip())
            except ValueError:
                continue
            host = net.network_address + (1 if net.prefixlen < 32 else 0)
            targets.append((port[1], int(port[2]), host) if port else ("tcp", 443, host))
    for ifname, prefix in sorted(segments.items()):
        others = [next(net.hosts()) for name, net in sorted(segments.items()) if name != ifname]
        packets = (
            Packet(protocol, source, destination, port)
            for source in [*others, _STRANGER]
            for protocol, port, destination in dict.fromkeys(targets)
        )
        found = next(
            ((packet, verdict) for packet in packets if (verdict := chain_verdict(config.text, "forward", packet, ifname)).forwarded),
            None,
        )
        if found is not None:
            packet, verdict = found
            yield config.finding(
                verdict.line,
                "frr-segment-source",
                f"{ifname} ({prefix}) forwards {packet.protocol}/{packet.port} from {packet.source}, outside its "
                f"prefix, to {packet.destination}: {verdict.rule}",
            )
@register_rule(PLATFORM)
def hub_tunnel_control(config: ConfigFile) -> Iterator[Finding]:
    """A hub's host firewall takes in what each of its tunnels needs to come up and stay up,
    whatever platform the far end runs: IKE and ESP-in-UDP (500, 4500; `encap = yes`) to the
    connection's own address from its far end (any address where the far end dials in from one
    the hub does not know), on a port that is no tunnel (the DC port the public address is
    routed through); BGP (tcp 179) the far end opens from its inside address to the hub's, and
    single-hop BFD control (udp 3784) where BGP tracks the far end with BFD, each on the tunnel's
    own interface. Read from the input chain, packet by packet, jumps followed, against the
    tunnels the lint extractor reads (swanctl.conf, routing and the FRR config)."""
    if config.suffix != "nftables.conf" or config.role != "hub" or "" not in config.companions:
        return
    main = dataclasses.replace(config, text=config.companions[""], suffix="")
    routing = config.companions.get("routing", "")
    tunnel_names = _xfrm_names(routing)
    ports = [name for name in _interfaces(main) if name not in tunnel_names.values() and name != "lo"]
    settings = {name: values for name, (_line, values) in connections(config.companions.get("swanctl.conf", "")).items()}
    where = config.line_of("chain input")
    for fact in extract(main):
        values = settings.get(fact.name, {})
        ifname = tunnel_names.get(int(values.get("if_id_in", "-1")))
        try:
            local = ipaddress.IPv4Address(values.get("local_addrs", ""))
        except ValueError:
            continue
        far = ipaddress.IPv4Address(fact.peer_outside) if fact.peer_outside else _STRANGER
        for port in _IKE_PORTS:
            verdicts = [
                chain_verdict(config.text, "input", Packet("udp", far, local, port), name, from_tunnel=False)
                for name in ports
            ]
            if verdicts and not any(v.forwarded for v in verdicts):
                yield config.finding(
                    verdicts[0].line or where,
                    "frr-hub-tunnel-control",
                    f"{fact.name}: udp {port} from its far end {far} to {local} is dropped ({verdicts[0].rule}): "
                    "the tunnel never comes up",
                )
        if ifname is None or fact.local_inside is None or fact.peer_inside is None:
            continue
        inside = ipaddress.IPv4Address(fact.peer_inside), ipaddress.IPv4Address(fact.local_inside)
        needs = [("tcp", 179, "BGP")] + ([("udp", 3784, "BFD")] if fact.bfd else [])
        for protocol, port, what in needs:
            verdict = chain_verdict(config.text, "input", Packet(protocol, *inside, port), ifname)
            if not verdict.forwarded:
                yield config.finding(
                    verdict.line or where,
                    "frr-hub-tunnel-control",
                    f"{fact.name}: {what} ({protocol} {port}) from {inside[0]} to {inside[1]} on {ifname} is "
                    f"dropped ({verdict.rule}): the session never comes up",
                )


# An interface name no ruleset names: a tunnel interface the hub's firewall does not list
_UNLISTED_TUNNEL = "unlisted0"
_PUBLIC_PROBE = ipaddress.IPv4Address("192.0.2.1")  # outside every private range (RFC 5737)


def _first_hosts(set_: _NftSet | None) -> list[ipaddress.IPv4Address]:
    """The first address of each one-part address element of a set (none for a missing set)."""
    found = []
    for element in set_.elements if set_ else ():
        try:
            network = ipaddress.IPv4Network(element[0], strict=False) if len(element) == 1 else None
        except ValueError:
            continue
        if network is not None:
            found.append(network.network_address + (1 if network.num_addresses > 1 else 0))
    return found


@register_rule(PLATFORM)
def hub_unlisted_tunnel(config: ConfigFile) -> Iterator[Finding]:
    """A hub's host firewall takes nothing from an interface of the tunnel group (10) that none
    of its tunnel sets names (an operator's `ip link add`, a tunnel up before the ruleset lists
    it or after it no longer does): the rules that take the group's traffic come after each named
    tunnel's own spoofing check, which such an interface skips. Read packet by packet: from each
    of the stores' own ranges (`store_sources`) to HQ (`corporate`) and to the internet, a new
    connection and an answer within a flow, through the forward chain; BGP from a tunnel's far end
    to its hub end (`tunnel_ends`) through the input chain."""
    if config.suffix != "nftables.conf" or config.role != "hub":
        return
    sets = _nft_sets(config.text)
    corporate = _first_hosts(sets.get("corporate"))[:1]
    packets = [
        ("forward", Packet("tcp", source, destination, 443, answer=answer))
        for source in _first_hosts(sets.get("store_sources"))
        for destination in [*corporate, _PUBLIC_PROBE]
        for answer in (False, True)
    ]
    ends = sets.get("tunnel_ends")
    for element in ends.elements[:1] if ends else ():
        if len(element) == 3:
            far, near = (ipaddress.IPv4Address(part) for part in element[1:])
            packets.append(("input", Packet("tcp", far, near, 179)))
    for chain, packet in packets:
        verdict = chain_verdict(config.text, chain, packet, _UNLISTED_TUNNEL)
        if verdict.forwarded:
            yield config.finding(
                verdict.line or config.line_of(f"chain {chain}"),
                "frr-hub-unlisted-tunnel",
                f"{chain}: {packet.protocol} {packet.source} -> {packet.destination}"
                f"{' (an answer)' if packet.answer else ''} from an interface of group {_TUNNEL_GROUP} that no "
                f"tunnel set names is accepted ({verdict.rule}): no spoofing check of a named tunnel holds for it",
            )
            return


def _xfrm_names(routing: str) -> dict[int, str]:
    """The XFRM interfaces of a routing file: if_id -> name (`link add NAME type xfrm ... if_id N`)."""
    return {int(m.group(2)): m.group(1) for m in re.finditer(r"^link add (\S+) type xfrm.* if_id (\d+)$", routing, re.M)}


# A hub's BGP originations and discard routes, for the cross-file `hub-summary` check.
_SUMMARY_LINES = (
    ("network", re.compile(rf"^  network {PREFIX_PATTERN}$")),
    ("aggregate", re.compile(rf"^  aggregate-address {PREFIX_PATTERN}(?: |$)")),
    ("discard", re.compile(rf"^ip route {PREFIX_PATTERN} (?:blackhole|Null0|reject)(?: |$)")),
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


@register_answers(PLATFORM)
def answers(config: ConfigFile) -> ProbeAnswers:
    """icmp-jitter (ICMP timestamps, which the kernel answers) needs the hub's nftables to take
    timestamp requests in from its tunnels (chain from_tunnels) and accept them (chain
    icmp_requests)."""
    text = config.companions.get("nftables.conf", "")
    chains = dict(re.findall(r"\n    chain (\w+) \{\n(.*?)\n    \}", text, re.S))
    timestamps = all(
        any("timestamp-request" in rule and "drop" not in rule for rule in chains.get(chain, "").splitlines())
        for chain in ("from_tunnels", "icmp_requests")
    )

    def gaps(probe: SentProbe) -> list[str]:
        if probe.kind != "icmp-jitter" or timestamps:
            return []
        return [f"{config.hostname}'s nftables drop ICMP timestamp requests from the store tunnels"]

    return ProbeAnswers(hub_probe_kinds(PLATFORM), gaps)
