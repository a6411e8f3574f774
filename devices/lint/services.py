"""The services every appliance runs, checked against the network intent on every platform.

- `guest-dns`: guest Wi-Fi's DHCP hands out the fleet's public resolvers (`management.guest_dns`),
  never a private or corporate one, and no DNS domain; the store's own resolver answers no guest.
- `ntp-auth`: NTP is authenticated with the intent's keys whose algorithm the platform implements
  (`common/ntp.py`): authentication on, each such key defined with the algorithm the NTP servers
  verify it with and trusted, every server the intent names asked with the first of them, no
  key used that the platform cannot compute as the servers do (on FRR hosts: chrony.conf and the
  key file it names).
- `qos`: every segment is re-marked at the trust boundary to its QoS class's DSCP (guest Wi-Fi
  to best effort), and the WAN queues are the intent's classes (DSCP, priority, guaranteed share);
  on FRR hosts (qos.tc) every WAN link is shaped, at most to its rate, with every class queued;
  every FortiOS store WAN port has an `outbandwidth` (the queues' parent), at most the link's rate;
  the routers' own network control (BGP, BFD; `NETWORK_CONTROL_DSCPS`) keeps its share of every
  WAN link: IOS-XE's and VRP's QUEUE-<link> queue both DSCPs in a class guaranteed the fleet's
  share of the shaped rate (`NETWORK_CONTROL_PERCENT`); on FortiOS (`NO_CONTROL_CLASS`), whose own traffic
  leaves in priority level 0, no WAN port takes an egress shaping profile and no shaping policy
  takes local-out traffic, either of which would put it behind the shapers;
  a hub with `uplink_mbps` shapes the port its tunnels leave by (FRR and IOS-XE), none without;
  a hub whose platform cannot shape its tunnels apart (`HUB_NO_UPLINK_QUEUES`: VRP, FortiOS) shapes and
  queues nothing on that port, which would hold the DC core LAN's own traffic too; a hub that
  queues towards the stores has its DC-port trust boundary (`HubIntent.dc_trust`): every
  network-control DSCP it forwards from the DC re-marked to default on the way in (FRR: a rule on
  the nftables forward or prerouting hook; IOS-XE: the port's input policy), none of the fleet's
  classes' DSCPs re-marked.
- `hub-management-held`: a hub whose platform has an out-of-band management port
  (`HubIntent.management_port`, `common/platforms.py` HUB_MANAGEMENT_PORT) holds the inventory's
  `management_address`, where the push connects, on that port with the management LAN's prefix,
  isolated from forwarding (IOS-XE: `vrf forwarding Mgmt-intf`, and the VTY lines' access-class
  with `vrf-also`, without which SSH through that VRF is refused; FortiOS: `dedicated-to
  management`; FRR, without a VRF: the routing batch's address with `noprefixroute`, the LAN in
  a table only the address's packets look up, then `unreachable`, and the nftables forward chain
  dropping everything in or out of the port). A config without it would not say how the push
  reaches the hub, and a push of it would empty the port its own session runs over.

Each platform's spelling is read here by a small extractor; the findings are the same for all.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

from storestack.common.addressing import public_address_problem
from storestack.common.ntp import PLATFORM_NTP_ALGORITHMS, NtpAlgorithm
from storestack.common.platforms import HUB_NO_UPLINK_QUEUES, NO_CONTROL_CLASS, Platform
from storestack.devices.frr import CHRONY_KEYFILE
from storestack.devices.frr import NTP_KEY_TYPES as CHRONY_NTP_KEY_TYPES
from storestack.devices.lint import ConfigFile, Finding, Packet
from storestack.devices.lint import fortinet as fortinet_lint
from storestack.devices.lint.frr import chain_verdict
from storestack.devices.lint.linetree import interface_address, parse, top
from storestack.devices.platforms import get_platform
from storestack.devices.platforms.cisco_xe import CONTROL_CLASS as XE_CONTROL_CLASS
from storestack.devices.platforms.cisco_xe import NTP_KEY_TYPES as IOS_NTP_KEY_TYPES
from storestack.devices.platforms.fortinet import NTP_KEY_TYPES as FORTIOS_NTP_KEY_TYPES
from storestack.devices.platforms.fortinet import shaper_name as fortios_shaper_name
from storestack.devices.platforms.huawei_vrp import CONTROL_CLASSIFIER as VRP_CONTROL_CLASSIFIER
from storestack.devices.platforms.huawei_vrp import NTP_KEY_TYPES as VRP_NTP_KEY_TYPES
from storestack.devices.platforms.huawei_vrp import mqc_name
from storestack.devices.views import SEGMENT_TAGS
from storestack.inventory.models import DSCP_VALUES, NETWORK_CONTROL_PERCENT
from storestack.network.build import NetworkIntent
from storestack.network.model import (
    NETWORK_CONTROL_DSCPS,
    WAN_SHAPE_PERCENT,
    HubIntent,
    ManagementAccess,
    QosClass,
    StoreIntent,
    share_kbps,
    usable_ntp_keys,
)

GUEST_DNS = "guest-dns"
GUEST_LEASE = "guest-lease"
# What a DHCP scope leases for when it does not say: IOS-XE and VRP one day, FortiOS a week
# (`lease-time`, 604800 s), dnsmasq an hour (a `dhcp-range` without a lease time).
_DEFAULT_LEASE_SECONDS = {"cisco_xe": 86400, "huawei_vrp": 86400, "fortinet": 604800, "frr": 3600}
NTP_AUTH = "ntp-auth"


# ---------------------------------------------------------------- guest DNS


@dataclass(frozen=True, slots=True)
class DhcpScope:
    """One DHCP scope as a config spells it: where, the gateway it hands out, its resolvers."""

    line: int
    gateway: ipaddress.IPv4Address | None
    dns: tuple[str, ...]
    interface: str | None = None
    lease_seconds: int | None = None  # None: the scope does not say (the platform's default)
    domain: str | None = None  # the DNS domain it hands out (DHCP option 15)


@dataclass
class GuestDnsFacts:
    scopes: list[DhcpScope] = field(default_factory=list)
    # (line, why): places where the store's resolver answers guest Wi-Fi or the WAN
    open_resolver: list[tuple[int, str]] = field(default_factory=list)


def _address(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def _blocks(lines: list[str], start: re.Pattern[str]) -> Iterator[tuple[int, re.Match[str], list[str]]]:
    """Top-level blocks opened by `start`: (0-based line, match, the indented lines after it)."""
    for number, line in enumerate(lines):
        found = start.match(line)
        if found is None:
            continue
        body = []
        for inner in lines[number + 1 :]:
            if not inner.startswith(" "):
                break
            body.append(inner)
        yield number, found, body


def _ios_lease(words: list[str]) -> int | None:
    """`lease DAYS [HOURS [MINUTES]]` in seconds (None: `infinite` or unreadable)."""
    try:
        parts = [int(word) for word in words] + [0, 0]
    except ValueError:
        return None
    return parts[0] * 86400 + parts[1] * 3600 + parts[2] * 60


_VRP_LEASE = re.compile(r"^ dhcp server lease day (\d+)(?: hour (\d+))?(?: minute (\d+))?$")
_DNSMASQ_LEASE = re.compile(r"^(\d+)([smhdw]?)$")
_DNSMASQ_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _cisco_guest_dns(config: ConfigFile, guest: ipaddress.IPv4Network | None) -> GuestDnsFacts:
    facts = GuestDnsFacts()
    lines = config.lines
    for number, _, body in _blocks(lines, re.compile(r"ip dhcp pool (\S+)$")):
        gateway = next((_address(b.split()[1]) for b in body if b.startswith(" default-router ")), None)
        dns = next((tuple(b.split()[1:]) for b in body if b.startswith(" dns-server ")), ())
        lease = next((_ios_lease(b.split()[1:]) for b in body if b.startswith(" lease ")), None)
        domain = next((b.split()[1] for b in body if b.startswith(" domain-name ")), None)
        facts.scopes.append(DhcpScope(number + 1, gateway, dns, lease_seconds=lease, domain=domain))
    for number, found, body in _blocks(lines, re.compile(r"ip access-list extended (\S+)-TO-SELF$")):
        source = found.group(1)
        for offset, rule in enumerate(body, start=number + 2):
            if " permit " in rule and re.search(r"\beq (?:domain|53)\b", rule):
                if source == "GUEST":
                    facts.open_resolver.append((offset, "the router's DNS server answers guest Wi-Fi"))
                elif source == "INTERNET" or source.startswith("INTERNET-"):
                    facts.open_resolver.append(
                        (offset, "the router's DNS server answers the WAN (an open resolver)")
                    )
    return facts


def _vrp_guest_dns(config: ConfigFile, guest: ipaddress.IPv4Network | None) -> GuestDnsFacts:
    facts = GuestDnsFacts()
    lines = config.lines
    acls = {found.group(1): body for _, found, body in _blocks(lines, re.compile(r"acl name (\S+) \d+$"))}
    for number, found, body in _blocks(lines, re.compile(r"interface (\S+)$")):
        address = next(
            (b.split() for b in body if b.startswith(" ip address ") and len(b.split()) == 4), None
        )
        dns = next((tuple(b.split()[3:]) for b in body if b.startswith(" dhcp server dns-list ")), None)
        gateway = _address(address[2]) if address else None
        lease = next((m for b in body if (m := _VRP_LEASE.match(b))), None)
        seconds = (
            int(lease.group(1)) * 86400 + int(lease.group(2) or 0) * 3600 + int(lease.group(3) or 0) * 60
            if lease
            else None
        )
        domain = next((b.split()[3] for b in body if b.startswith(" dhcp server domain-name ")), None)
        if dns is not None:
            facts.scopes.append(DhcpScope(number + 1, gateway, dns, found.group(1), seconds, domain))
        if guest is not None and gateway is not None and gateway in guest:
            filters = [b.split()[-1] for b in body if b.startswith(" traffic-filter inbound acl name ")]
            # A deny of DNS, or of everything to the gateway (GUEST-IN refuses guests every service
            # of the router, DHCP and pings to their gateway aside)
            denies = any(
                ("deny udp" in rule and "eq dns" in rule) or rule.split()[2:6] == ["deny", "ip", "destination", str(gateway)]
                for name in filters
                for rule in acls.get(name, ())
            )
            if not denies:
                facts.open_resolver.append(
                    (number + 1, "the guest interface has no inbound filter keeping guests off the DNS proxy")
                )
    return facts


_FORTI_EDIT = re.compile(r"^\s*edit (\S+)")
_FORTI_SET = re.compile(r"^\s*set (\S+) (.*)$")


def _forti_section(lines: list[str], header: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The edits of a top-level `config` section: (1-based line of the edit, its set values)."""
    inside = False
    current: dict[str, str] | None = None
    line_of_edit = 0
    depth = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not inside:
            inside = stripped == header and not line.startswith(" ")
            continue
        if stripped.startswith("config "):
            depth += 1
            continue
        if stripped == "end":
            if depth:
                depth -= 1
                continue
            break
        if depth:
            continue
        found = _FORTI_EDIT.match(line)
        if found:
            current, line_of_edit = {"edit": found.group(1).strip('"')}, number
        elif stripped == "next" and current is not None:
            yield line_of_edit, current
            current = None
        elif current is not None and (setting := _FORTI_SET.match(line)):
            current[setting.group(1)] = setting.group(2).strip()


def _forti_guest_dns(config: ConfigFile, guest: ipaddress.IPv4Network | None) -> GuestDnsFacts:
    facts = GuestDnsFacts()
    served: dict[str, ipaddress.IPv4Address | None] = {}
    for line, values in _forti_section(config.lines, "config system dhcp server"):
        gateway = _address(values.get("default-gateway", ""))
        dns = tuple(values[f"dns-server{n}"] for n in range(1, 5) if f"dns-server{n}" in values)
        interface = values.get("interface", "").strip('"') or None
        lease = values.get("lease-time", "")
        domain = values.get("domain", "").strip('"') or None
        facts.scopes.append(
            DhcpScope(line, gateway, dns, interface, int(lease) if lease.isdigit() else None, domain)
        )
        if interface:
            served[interface] = gateway
    for line, values in _forti_section(config.lines, "config system dns-server"):
        name = values["edit"]
        gateway = served.get(name)
        if name not in served:
            facts.open_resolver.append((line, f"the DNS server listens on {name}, which is no LAN segment"))
        elif guest is not None and gateway is not None and gateway in guest:
            facts.open_resolver.append((line, "the FortiGate's DNS server answers guest Wi-Fi"))
    return facts


def _frr_guest_dns(config: ConfigFile, guest: ipaddress.IPv4Network | None) -> GuestDnsFacts:
    facts = GuestDnsFacts()
    dnsmasq = config.companions.get("dnsmasq.conf", "").splitlines()
    interface = None
    guest_if = None
    leases: dict[str, int | None] = {}  # dhcp-range tag -> its lease in seconds
    for number, line in enumerate(dnsmasq, start=1):
        if line.startswith("interface="):
            interface = line.partition("=")[2]
        if line.startswith("dhcp-range=set:"):
            fields = line.removeprefix("dhcp-range=set:").split(",")
            lease = _DNSMASQ_LEASE.match(fields[-1]) if len(fields) == 5 else None
            leases[fields[0]] = int(lease.group(1)) * _DNSMASQ_UNIT[lease.group(2)] if lease else None
        if line.startswith("dhcp-range=set:guest-wifi,"):
            guest_if = interface
        elif line.startswith("dhcp-option=tag:") and ",option:dns-server," in line:
            tag = line.removeprefix("dhcp-option=tag:").split(",")[0]
            dns = tuple(line.partition(",option:dns-server,")[2].split(","))
            router = next(
                (
                    x.rpartition(",")[2]
                    for x in dnsmasq
                    if x.startswith(f"dhcp-option=tag:{tag},option:router,")
                ),
                "",
            )
            gateway = _address(router)
            facts.scopes.append(
                DhcpScope(number, gateway, dns, interface, leases.get(tag), _dnsmasq_domain(dnsmasq, gateway))
            )
    nftables = config.companions.get("nftables.conf", "").splitlines()
    for number, line in enumerate(nftables, start=1):
        if guest_if and f'iifname "{guest_if}"' in line and re.search(r"dport (?:\{[^}]*\b53\b|53\b)", line):
            facts.open_resolver.append((number, "the host's DNS forwarder answers guest Wi-Fi"))
    return facts


_GUEST_DNS_EXTRACTORS = {
    "cisco_xe": _cisco_guest_dns,
    "huawei_vrp": _vrp_guest_dns,
    "fortinet": _forti_guest_dns,
    "frr": _frr_guest_dns,
}


def _private(text: str, intent: NetworkIntent) -> bool:
    address = _address(text)
    if address is None:
        return True
    return public_address_problem(address) is not None or any(address in net for net in intent.fleet_space)


def _dnsmasq_domain(dnsmasq: list[str], gateway: ipaddress.IPv4Address | None) -> str | None:
    """The domain dnsmasq hands out to the scope of `gateway`: a `domain=D,<range>` whose range
    holds it, or a `domain=D` for every scope."""
    for line in dnsmasq:
        if not line.startswith("domain="):
            continue
        domain, _, scope = line.removeprefix("domain=").partition(",")
        if not scope:
            return domain
        try:
            if gateway is not None and gateway in ipaddress.IPv4Network(scope.partition(",")[0], strict=False):
                return domain
        except ValueError:
            return domain  # a range dnsmasq reads and this does not: assume it is handed out
    return None


def guest_dns(config: ConfigFile, store: StoreIntent, intent: NetworkIntent) -> Iterator[Finding]:
    extractor = _GUEST_DNS_EXTRACTORS.get(config.platform)
    zone = store.zone("guest-wifi")
    if extractor is None:
        return
    guest = zone.prefixes[0] if zone is not None and zone.prefixes else None
    facts = extractor(config, guest)
    # Findings in a companion file (FRR's dnsmasq / nftables) point at that file.
    where = {"frr": f"{config.hostname}.dnsmasq.conf"}.get(config.platform, config.name)
    expected = tuple(str(address) for address in store.management.guest_dns)
    for scope in facts.scopes:
        if guest is None or scope.gateway is None or scope.gateway not in guest:
            continue
        private = [server for server in scope.dns if _private(server, intent)]
        if private:
            yield Finding(
                where,
                scope.line,
                GUEST_DNS,
                f"guest Wi-Fi's DHCP hands out {', '.join(private)}: a private/corporate resolver guests "
                f"must not use (management.guest_dns: {', '.join(expected)})",
            )
        elif set(scope.dns) != set(expected):
            yield Finding(
                where,
                scope.line,
                GUEST_DNS,
                f"guest Wi-Fi's DHCP hands out {', '.join(scope.dns) or 'no resolver'}; the intent says "
                f"{', '.join(expected)} (management.guest_dns)",
            )
        if scope.domain is not None:
            yield Finding(
                where,
                scope.line,
                GUEST_DNS,
                f"guest Wi-Fi's DHCP hands out the domain {scope.domain}: guests' lookups of internal "
                "names go to the public resolvers with it, and every guest learns the chain's domain",
            )
    for scope in facts.scopes:
        if guest is None or scope.gateway is None or scope.gateway not in guest:
            continue
        lease = scope.lease_seconds or _DEFAULT_LEASE_SECONDS[config.platform]
        wanted = store.management.guest_lease_seconds
        if lease != wanted:
            yield Finding(
                where,
                scope.line,
                GUEST_LEASE,
                f"guest Wi-Fi's DHCP leases for {lease} s"
                + ("" if scope.lease_seconds else " (the platform's default)")
                + f"; the intent says {wanted} s (management.guest_lease_seconds): longer leases let a "
                "day's passers-by exhaust the pool",
            )
    if guest is not None and not any(s.gateway is not None and s.gateway in guest for s in facts.scopes):
        yield config.finding(0, GUEST_DNS, f"no DHCP scope for guest Wi-Fi {guest} hands out its resolvers")
    where_rules = {"frr": f"{config.hostname}.nftables.conf"}.get(config.platform, config.name)
    for line, why in facts.open_resolver:
        yield Finding(where_rules, line, GUEST_DNS, why)


# ---------------------------------------------------------------- NTP authentication


@dataclass
class NtpFacts:
    authenticate: int = 0  # line of the switch that turns authentication on; 0: none
    # id -> (line, algorithm): our name (common/ntp.py) where the keyword is one we know, else
    # the keyword as the config spells it
    keys: dict[int, tuple[int, str]] = field(default_factory=dict)
    # every definition of a key (id, line, algorithm): FortiOS repeats a key in each server entry,
    # and one entry with another type breaks that server alone
    definitions: list[tuple[int, int, str]] = field(default_factory=list)
    trusted: set[int] = field(default_factory=set)
    servers: list[tuple[int, str, int | None]] = field(default_factory=list)  # (line, address, key id)
    # Where the lines are, when not in the appliance's config (FRR: the host's chrony files):
    # the file of the switch and the servers, and the file of the keys.
    where: str | None = None
    keys_where: str | None = None


def _keywords(types: dict[NtpAlgorithm, str]) -> dict[str, str]:
    """A platform's keyword -> our algorithm name (the inverse of its module's NTP_KEY_TYPES)."""
    return {keyword: algorithm for algorithm, keyword in types.items()}


@dataclass(frozen=True)
class _NtpSyntax:
    """How a line-oriented CLI spells NTP authentication: the switch, a key (id, algorithm), a
    trusted key id, and a server (address, optional key id); `algorithms` maps the platform's
    keywords to our algorithm names (common/ntp.py)."""

    enable: str
    key: re.Pattern[str]
    trusted: re.Pattern[str]
    server: re.Pattern[str]
    algorithms: dict[str, str] = field(default_factory=dict)


_CISCO_NTP = _NtpSyntax(
    enable="ntp authenticate",
    key=re.compile(r"ntp authentication-key (\d+) (\S+) "),
    trusted=re.compile(r"ntp trusted-key (\d+)$"),
    server=re.compile(r"ntp server (\S+)(?: .*\bkey (\d+))?"),
    algorithms=_keywords(IOS_NTP_KEY_TYPES),
)
_VRP_NTP = _NtpSyntax(
    enable="ntp-service authentication enable",
    key=re.compile(r"ntp-service authentication-keyid (\d+) authentication-mode (\S+) "),
    trusted=re.compile(r"ntp-service reliable authentication-keyid (\d+)$"),
    server=re.compile(r"ntp-service unicast-server (\S+)(?: .*\bauthentication-keyid (\d+))?"),
    algorithms=_keywords(VRP_NTP_KEY_TYPES),
)


def _line_ntp(config: ConfigFile, syntax: _NtpSyntax) -> NtpFacts:
    facts = NtpFacts()
    for number, line in enumerate(config.lines, start=1):
        if line == syntax.enable:
            facts.authenticate = number
        elif found := syntax.key.match(line):
            key_id, algorithm = int(found.group(1)), syntax.algorithms.get(found.group(2), found.group(2))
            facts.keys[key_id] = (number, algorithm)
            facts.definitions.append((key_id, number, algorithm))
        elif found := syntax.trusted.match(line):
            facts.trusted.add(int(found.group(1)))
        elif found := syntax.server.match(line):
            key = found.group(2)
            facts.servers.append((number, found.group(1), int(key) if key else None))
    return facts


def _cisco_ntp(config: ConfigFile) -> NtpFacts:
    return _line_ntp(config, _CISCO_NTP)


def _vrp_ntp(config: ConfigFile) -> NtpFacts:
    return _line_ntp(config, _VRP_NTP)


def _forti_ntp(config: ConfigFile) -> NtpFacts:
    """FortiOS authenticates per server: each server entry carries its key, its id and type."""
    facts = NtpFacts()
    lines = config.lines
    start = next((n for n, line in enumerate(lines) if line == "config system ntp"), None)
    if start is None:
        return facts
    server: dict[str, str] | None = None
    edit_line = 0
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        stripped = line.strip()
        if stripped == "end" and not line.startswith(" "):
            break
        if _FORTI_EDIT.match(line):
            server, edit_line = {}, number
        elif stripped == "next" and server is not None:
            address = server.get("server", "").strip('"')
            key_id = int(server["key-id"]) if server.get("key-id", "").isdigit() else None
            if server.get("authentication") == "enable" and key_id is not None:
                facts.authenticate = facts.authenticate or edit_line
                key_type = server.get("key-type", "MD5")  # FortiOS's default key type
                facts.keys.setdefault(key_id, (edit_line, _FORTI_NTP.get(key_type, key_type)))
                facts.definitions.append((key_id, edit_line, _FORTI_NTP.get(key_type, key_type)))
                facts.trusted.add(key_id)
                facts.servers.append((edit_line, address, key_id))
            else:
                facts.servers.append((edit_line, address, None))
            server = None
        elif server is not None and (setting := _FORTI_SET.match(line)):
            server[setting.group(1)] = setting.group(2).strip()
    return facts


# chrony's directives that add a time source (chrony.conf(5)); `key N` authenticates one.
_CHRONY_SOURCES = ("server", "pool", "peer")
# chrony.conf(5): a line whose first non-blank character is one of these is a comment.
_CHRONY_COMMENT = ("!", ";", "#", "%")


def _chrony_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(1-based line, words) of the directives of a chrony file, comments and blanks skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if words and not words[0].startswith(_CHRONY_COMMENT):
            yield number, words


def _frr_ntp(config: ConfigFile) -> NtpFacts:
    """chrony on the FRR host: `authselectmode require` is the switch (an unauthenticated source
    is never selected), every key of the key file chrony.conf names is usable (chrony has no
    separate trusted list), a source's `key N` authenticates it. Key types are chrony's names,
    mapped to ours (AES128: aes128-cmac, SHA256: the keyed sha256 digest)."""
    facts = NtpFacts(where=f"{config.hostname}.chrony.conf", keys_where=f"{config.hostname}.chrony.keys")
    keyfile = None
    for number, words in _chrony_lines(config.companions.get("chrony.conf", "")):
        directive, args = words[0].lower(), words[1:]
        if directive == "authselectmode" and args == ["require"]:
            facts.authenticate = number
        elif directive == "keyfile" and len(args) == 1:
            keyfile = args[0]
        elif directive in _CHRONY_SOURCES and args:
            options = args[1:]
            key = options[options.index("key") + 1] if "key" in options[:-1] else ""
            facts.servers.append((number, args[0], int(key) if key.isdigit() else None))
    if keyfile != CHRONY_KEYFILE:
        return facts  # no keys: chrony reads none, or another file than where the rendered one lands
    for number, words in _chrony_lines(config.companions.get("chrony.keys", "")):
        # `ID [TYPE] KEY`, the type MD5 when left out (chrony.conf(5), keyfile)
        if words[0].isdigit() and len(words) in (2, 3):
            algorithm = words[1].upper() if len(words) == 3 else "MD5"
            key_id = int(words[0])
            facts.keys[key_id] = (number, _CHRONY_NTP.get(algorithm, algorithm))
            facts.definitions.append((key_id, number, _CHRONY_NTP.get(algorithm, algorithm)))
            facts.trusted.add(key_id)
    return facts


_FORTI_NTP = _keywords(FORTIOS_NTP_KEY_TYPES)
_CHRONY_NTP = _keywords(CHRONY_NTP_KEY_TYPES)
_NTP_EXTRACTORS = {"cisco_xe": _cisco_ntp, "huawei_vrp": _vrp_ntp, "fortinet": _forti_ntp, "frr": _frr_ntp}


def ntp_auth(config: ConfigFile, management: ManagementAccess) -> Iterator[Finding]:
    extractor = _NTP_EXTRACTORS.get(config.platform)
    if extractor is None or not management.ntp_keys:
        return
    facts = extractor(config)
    where = facts.where or config.name
    keys_where = facts.keys_where or config.name
    platform = cast(Platform, config.platform)
    implemented = PLATFORM_NTP_ALGORITHMS[platform]
    intent = {key.id: key.algorithm for key in management.ntp_keys}
    usable = usable_ntp_keys(management.ntp_keys, platform)
    if not usable:
        why = f"{platform} implements none of the intent's NTP key algorithms: it can authenticate no server"
        yield Finding(where, 0, NTP_AUTH, why)
        return
    wanted = {key.id for key in usable}
    current = usable[0].id
    if not facts.authenticate:
        yield Finding(where, 0, NTP_AUTH, "NTP authentication is not enabled: any host can set the clock")
    for key_id, line, algorithm in sorted(facts.definitions):
        if key_id in intent and algorithm != intent[key_id]:
            yield Finding(
                keys_where,
                line,
                NTP_AUTH,
                f"NTP key {key_id} uses {algorithm}, but the NTP servers verify it with {intent[key_id]}: "
                "no packet would authenticate",
            )
        elif algorithm not in implemented:
            why = f"NTP key {key_id} uses {algorithm}, which {platform} cannot compute as the NTP servers do"
            yield Finding(keys_where, line, NTP_AUTH, why)
    for key_id in sorted(wanted):
        if key_id not in facts.keys:
            yield Finding(keys_where, 0, NTP_AUTH, f"NTP key {key_id} of the intent is not defined")
        if key_id not in facts.trusted:
            yield Finding(
                keys_where, 0, NTP_AUTH, f"NTP key {key_id} is not trusted: servers signing with it are refused"
            )
    for trusted_id in sorted(facts.trusted - wanted):
        why = (
            f"its algorithm {intent[trusted_id]} is not one {platform} implements"
            if trusted_id in intent
            else "it is no key of the intent"
        )
        yield Finding(keys_where, 0, NTP_AUTH, f"NTP key {trusted_id} is trusted but {why}")
    seen = set()
    for line, address, server_key in facts.servers:
        seen.add(address)
        if server_key is None:
            yield Finding(where, line, NTP_AUTH, f"NTP server {address} is used without authentication")
        elif server_key != current:
            yield Finding(where, line, NTP_AUTH, f"NTP server {address} is asked with key {server_key}, not {current}")
    for server in management.ntp_servers:
        if str(server) not in seen:
            yield Finding(where, 0, NTP_AUTH, f"NTP server {server} of the intent is not configured")


# IOS-XE NTP access control (Basic System Management Command Reference, "ntp access-group": with
# any access group configured, only the access types configured are granted): the router peers
# with the intent's servers only, and serves time, control queries and peering to nobody.
_IOS_NTP_GROUP = re.compile(r"ntp access-group (?:ipv4 )?(peer|serve|serve-only|query-only) (\S+)(?: kod)?$")
_IOS_STANDARD_ACL = re.compile(r"ip access-list standard (\S+)$")
_IOS_STANDARD_RULE = re.compile(r"^ (?:\d+ )?(permit|deny) (any|host \S+|\S+(?: \S+)?)$")


def _ios_standard_acls(config: ConfigFile) -> dict[str, list[tuple[int, str, str]]]:
    """Named standard ACLs: name -> (line, permit|deny, what) of each rule, in order."""
    acls: dict[str, list[tuple[int, str, str]]] = {}
    current: list[tuple[int, str, str]] | None = None
    for number, line in enumerate(config.lines, start=1):
        if found := _IOS_STANDARD_ACL.match(line):
            current = acls.setdefault(found.group(1), [])
        elif current is not None and line.startswith(" "):
            if rule := _IOS_STANDARD_RULE.match(line):
                what = rule.group(2)
                current.append((number, rule.group(1), what[5:] if what.startswith("host ") else what))
        else:
            current = None
    return acls


def _ios_ntp_access(config: ConfigFile, management: ManagementAccess) -> Iterator[Finding]:
    groups: dict[str, tuple[int, str]] = {}
    for number, text in enumerate(config.lines, start=1):
        if found := _IOS_NTP_GROUP.match(text):
            groups[found.group(1)] = (number, found.group(2))
    if "peer" not in groups:
        yield Finding(
            config.name, 0, NTP_AUTH, "no `ntp access-group peer`: the router answers and peers with anyone"
        )
        return
    acls = _ios_standard_acls(config)
    servers = {str(address) for address in management.ntp_servers}
    for kind, (line, name) in groups.items():
        if name not in acls:
            yield Finding(config.name, line, NTP_AUTH, f"ntp access-group {kind} names no standard ACL {name!r}")
            continue
        # a standard ACL's first matching rule decides; the implicit end is deny
        permitted: set[str] = set()
        denied: set[str] = set()
        for _, action, what in acls[name]:
            if what in permitted or what in denied:
                continue
            (permitted if action == "permit" else denied).add(what)
            if what == "any":
                break
        if kind != "peer":
            if permitted:
                yield Finding(
                    config.name, line, NTP_AUTH,
                    f"ntp access-group {kind} {name} grants {', '.join(sorted(permitted))}: the router serves nobody",
                )
            continue
        for what in sorted(permitted - servers):
            yield Finding(
                config.name, line, NTP_AUTH,
                f"ntp access-group peer {name} admits {what}, no NTP server of the intent",
            )
        for server in sorted(servers - permitted):
            yield Finding(
                config.name, line, NTP_AUTH,
                f"ntp access-group peer {name} refuses NTP server {server}: the router would never synchronise",
            )


# ---------------------------------------------------------------- entry point


def services_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    for config in files:
        if config.suffix:
            continue
        if config.role == "edge" and config.store_id is not None:
            store = intent.store(config.store_id, config.hostname)
            yield from guest_dns(config, store, intent)
            yield from qos(config, store)
            yield from ntp_auth(config, store.management)
            if config.platform == "cisco_xe":
                yield from _ios_ntp_access(config, store.management)
        elif config.role == "hub":
            yield from hub_management_held(config, intent.hub(config.hostname))
            yield from ntp_auth(config, intent.hub(config.hostname).management)
            yield from hub_qos(config, intent.hub(config.hostname))
            if config.platform == "cisco_xe":
                yield from _ios_ntp_access(config, intent.hub(config.hostname).management)


# ---------------------------------------------------------------- management port

HUB_MANAGEMENT_HELD = "hub-management-held"


@dataclass(frozen=True)
class _ManagementPortFacts:
    line: int  # the port's first line; 0 where the config lacks the port
    address: ipaddress.IPv4Interface | None
    isolated: bool  # IOS-XE: in VRF Mgmt-intf; FortiOS: dedicated to management
    problems: tuple[tuple[int, str], ...] = ()  # (line, what) of what else keeps management off it


def _ios_management_port(config: ConfigFile, port: str, hub: HubIntent) -> _ManagementPortFacts:
    root = parse(config.text, ("!",))
    interface = next((i for i in top(root, "interface") if i.words[1:] == [port]), None)
    problems = tuple(
        (access.number, f"{line.text}: `{access.text}` refuses SSH through the management port's VRF (no vrf-also)")
        for line in top(root, "line", "vty")
        for access in line.children
        if access.words[:1] == ["access-class"] and access.words[-1] != "vrf-also"
    )
    if interface is None:
        return _ManagementPortFacts(0, None, False, problems)
    isolated = ["vrf", "forwarding", "Mgmt-intf"] in (child.words for child in interface.children)
    return _ManagementPortFacts(interface.number, interface_address(interface), isolated, problems)


def _fortios_management_port(config: ConfigFile, port: str, hub: HubIntent) -> _ManagementPortFacts:
    block = fortinet_lint.parse(config.text).get("system interface")
    entry = next((e for e in block.entries if e.name == port), None) if block else None
    if entry is None:
        return _ManagementPortFacts(0, None, False)
    ip = entry.get("ip")
    address = None
    if len(ip) == 2:
        try:
            address = ipaddress.IPv4Interface(f"{ip[0]}/{ip[1]}")
        except ValueError:
            address = None
    return _ManagementPortFacts(entry.line, address, entry.get("dedicated-to") == ["management"])


_FRR_PORT_ADDRESS = re.compile(r"^address (?:add|replace) (?P<address>\S+) dev (?P<port>\S+)(?P<rest>.*)$")
_FRR_TABLE_ROUTE = re.compile(r"^route (?:add|replace) (?P<lan>\S+) dev (?P<port>\S+)(?: src \S+)? table (?P<table>\d+)$")
_FRR_SOURCE_RULE = re.compile(r"^rule add from (?P<source>\S+) (?P<action>lookup (?P<table>\d+)|unreachable) pref (?P<pref>\d+)$")


def _frr_management_port(config: ConfigFile, port: str, hub: HubIntent) -> _ManagementPortFacts:
    """An FRR hub's host files (`devices/frr.py` `hub_management_routing`): the routing batch puts
    the address on the port without a main-table prefix route, the LAN in a table that the
    address's packets alone look up, the rest of them unreachable; the nftables forward chain
    forwards nothing in or out of the port (`_frr_forwards_through`)."""
    routing = config.companions.get("routing", "").splitlines()
    nftables = config.companions.get("nftables.conf", "")
    held = [(n, m) for n, line in enumerate(routing, start=1) if (m := _FRR_PORT_ADDRESS.match(line)) and m["port"] == port]
    if not held:
        return _ManagementPortFacts(0, None, False)
    number, found = held[0]
    try:
        address = ipaddress.IPv4Interface(found["address"])
    except ValueError:
        return _ManagementPortFacts(number, None, False)
    tables = {
        m["table"] for line in routing
        if (m := _FRR_TABLE_ROUTE.match(line)) and m["port"] == port and m["lan"] == str(address.network)
    }
    rules = sorted(
        (int(m["pref"]), m["table"]) for line in routing
        if (m := _FRR_SOURCE_RULE.match(line)) and m["source"] in (str(address.ip), f"{address.ip}/32")
    )
    isolated = (
        "noprefixroute" in found["rest"].split()
        and bool(rules) and rules[0][1] in tables  # the address's packets: the port's table first
        and any(table is None for _, table in rules)  # then unreachable, never the main table
        and not _frr_forwards_through(nftables, port, address, hub)
    )
    return _ManagementPortFacts(number, address, isolated)


def _frr_forwards_through(nftables: str, port: str, address: ipaddress.IPv4Interface, hub: HubIntent) -> bool:
    """Whether the hub's forward chain, walked as the kernel walks it (`chain_verdict`: the first
    deciding rule, a jump followed), passes anything in or out of the management port: a new
    connection or a flow's answer, TCP (SSH), UDP (SNMP) or ICMP, between a host of the
    management LAN and a store, HQ or the internet, arriving on the port, on the DC port or
    from a tunnel. A rule the reader cannot tell about counts as accepting."""
    lan_host = next(host for host in address.network.hosts() if host != address.ip)
    forwarding = hub.store_forwarding
    far = [next(forwarding.stores.hosts()), *(next(net.hosts()) for net in forwarding.corporate[:1])]
    far.append(ipaddress.IPv4Address("192.0.2.1"))  # the internet (RFC 5737 TEST-NET-1)
    shapes = [("tcp", 22), ("udp", 161), ("icmp", None)]
    for other in far:
        for protocol, service in shapes:
            for answer in (False, True):
                inbound = Packet(protocol, lan_host, other, service, answer=answer)
                outbound = Packet(protocol, other, lan_host, service, answer=answer)
                walks = [
                    (inbound, port, False, None),  # from the management LAN
                    (outbound, "dc", False, port),  # into it, from the DC core LAN
                    (outbound, None, True, port),  # into it, from a tunnel
                ]
                for packet, iifname, from_tunnel, oifname in walks:
                    if chain_verdict(nftables, "forward", packet, iifname, from_tunnel=from_tunnel, oifname=oifname).forwarded:
                        return True
    return False


_MANAGEMENT_PORT_READERS: dict[str, Callable[[ConfigFile, str, HubIntent], _ManagementPortFacts]] = {
    "cisco_xe": _ios_management_port,
    "fortinet": _fortios_management_port,
    "frr": _frr_management_port,
}


def hub_management_held(config: ConfigFile, hub: HubIntent) -> Iterator[Finding]:
    """The hub holds its management address on its management port (`hub-management-held`)."""
    port, expected = hub.management_port, hub.management_interface
    reader = _MANAGEMENT_PORT_READERS.get(config.platform)
    if port is None or expected is None or reader is None:
        return
    facts = reader(config, port, hub)
    where = f"the management port {port}"
    if facts.line == 0:
        yield config.finding(
            0, HUB_MANAGEMENT_HELD,
            f"the hub does not render {where}: it does not hold its management address {expected} "
            "(where the push connects), and a push would empty the port its session runs over",
        )
        return
    if facts.address != expected:
        held = facts.address or "no address"
        yield config.finding(
            facts.line, HUB_MANAGEMENT_HELD,
            f"{where} holds {held}, not the hub's management address {expected} (where the push connects)",
        )
    if not facts.isolated:
        yield config.finding(
            facts.line, HUB_MANAGEMENT_HELD,
            f"{where} is not isolated from forwarding (IOS-XE: vrf forwarding Mgmt-intf; FortiOS: dedicated-to "
            "management; FRR: no main-table prefix route, its own table for the address, unreachable "
            "after it, nothing forwarded in or out)",
        )
    for line, what in facts.problems:
        yield config.finding(line, HUB_MANAGEMENT_HELD, what)


# ---------------------------------------------------------------- QoS classes

QOS = "qos"
_TAG_KIND = {tag: kind for kind, tag in SEGMENT_TAGS.items()}


@dataclass
class QosFacts:
    # (line, segment kind, DSCP name) of what the trust boundary marks a segment's traffic with
    marks: list[tuple[int, str, str]] = field(default_factory=list)
    # (line, class tag, DSCP name it matches / marks, priority, bandwidth percent)
    queues: list[tuple[int, str, str | None, bool | None, int | None]] = field(default_factory=list)
    # the file the queues are in, when not the appliance's config (FRR: the host's qos.tc)
    queues_where: str | None = None
    # (line, why) of what is wrong with a link's queues as a whole (a WAN link without a shaper,
    # one above the intent's shaped rate of the link; FRR: a class of the intent missing)
    shapers: list[tuple[int, str]] = field(default_factory=list)
    # VRP: (line, link, class tag, kbit/s; None for a `pct`) of each guarantee (`queue ef/af
    # bandwidth`) in a link's QUEUE-<link> policy, checked against the link's shaped rate
    guarantees: list[tuple[int, str, str, int | None]] = field(default_factory=list)
    # VRP: (line, policy, the network-control DSCPs a queued classifier of it matches) of each
    # QUEUE-<link> policy
    control: list[tuple[int, str, frozenset[str]]] = field(default_factory=list)


def _dscp(name: str) -> str:
    return "default" if name in ("cs0", "0", "000000") else name


def _cisco_qos(config: ConfigFile) -> QosFacts:
    facts = QosFacts()
    lines = config.lines
    matched: dict[str, str] = {}
    for _, found, body in _blocks(lines, re.compile(r"class-map match-any QOS-(\S+)$")):
        dscp = next((b.split()[-1] for b in body if b.startswith(" match dscp ")), None)
        if dscp is not None:
            matched[found.group(1)] = dscp
    applied = {
        line.split()[-1].removeprefix("MARK-") for line in lines if line.startswith(" service-policy input MARK-")
    }
    for number, found, body in _blocks(lines, re.compile(r"policy-map MARK-(\S+)$")):
        kind = _TAG_KIND.get(found.group(1)) if found.group(1) in applied else None
        default = next((i for i, b in enumerate(body) if b == " class class-default"), None)
        dscp = body[default + 1].split()[-1] if default is not None and default + 1 < len(body) else "none"
        if kind:
            facts.marks.append((number + 1, kind, _dscp(dscp)))
    control_dscps = frozenset(
        dscp
        for _, _, body in _blocks(lines, re.compile(rf"class-map match-any {XE_CONTROL_CLASS}$"))
        for inner in body
        if inner.startswith(" match dscp ")
        for dscp in inner.split()[2:]
    )
    for number, found, body in _blocks(lines, re.compile(r"policy-map (QUEUE-\S+)$")):
        tag = None
        in_control, control = False, frozenset[str]()
        for offset, inner in enumerate(body):
            if opened := re.match(r" class (\S+)$", inner):
                # a class of the fleet's (QOS-<tag>), or another (NETWORK-CONTROL, class-default)
                tag = opened.group(1).removeprefix("QOS-") if opened.group(1).startswith("QOS-") else None
                in_control = opened.group(1) == XE_CONTROL_CLASS
                if tag:
                    facts.queues.append((0, tag, matched.get(tag), False, 0))
            elif tag and (share := re.match(r"  (priority|bandwidth) percent (\d+)$", inner)):
                facts.queues[-1] = (0, tag, matched.get(tag), share.group(1) == "priority", int(share.group(2)))
            elif in_control and (share := re.match(r"  bandwidth percent (\d+)$", inner)):
                # the control class counts only with its guarantee: without one it queues as the rest
                control = control_dscps
                if int(share.group(1)) != NETWORK_CONTROL_PERCENT:
                    facts.shapers.append(
                        (number + 2 + offset, f"{found.group(1)} guarantees the routers' own network control "
                         f"({XE_CONTROL_CLASS}) {share.group(1)}%, not the intent's {NETWORK_CONTROL_PERCENT}%")
                    )
        facts.control.append((number + 1, found.group(1), control))
    return facts


def _vrp_qos(config: ConfigFile) -> QosFacts:
    facts = QosFacts()
    lines = config.lines
    behaviors = {
        found.group(1): body for _, found, body in _blocks(lines, re.compile(r"traffic behavior (\S+)$"))
    }
    classifiers = {
        found.group(1): body for _, found, body in _blocks(lines, re.compile(r"traffic classifier (\S+) operator"))
    }
    # A segment's one inbound policy (LAN-IN-<TAG>) marks, steers and breaks out; what matches
    # none of its classifiers is marked by its last, `classifier ANY`.
    applied = {line.split()[1] for line in lines if re.fullmatch(r" traffic-policy LAN-IN-\S+ inbound", line)}
    for number, found, body in _blocks(lines, re.compile(r"traffic policy (\S+)$")):
        name = found.group(1)
        kind = _TAG_KIND.get(name.removeprefix("LAN-IN-")) if name in applied else None
        if kind:
            behavior = next((b.split()[-1] for b in body if b.startswith(" classifier ANY behavior ")), "")
            dscp = next((b.split()[-1] for b in behaviors.get(behavior, ()) if b.startswith(" remark dscp ")), "none")
            facts.marks.append((number + 1, kind, _dscp(dscp)))
        elif name.startswith("QUEUE-"):
            control: set[str] = set()
            for offset, inner in enumerate(body):
                parts = inner.split()
                if len(parts) == 4 and parts[1] == VRP_CONTROL_CLASSIFIER:
                    queue = next((b.split() for b in behaviors.get(parts[3], ()) if b.startswith(" queue ")), None)
                    if queue is None:
                        continue
                    control.update(
                        _DSCP_BY_VALUE.get(int(dscp), dscp) if dscp.isdigit() else dscp
                        for c in classifiers.get(parts[1], ())
                        if c.startswith(" if-match dscp ")
                        for dscp in c.split()[2:]
                    )
                    if queue[2:3] == ["bandwidth"] and len(queue) > 3:
                        kbit = None if queue[3] == "pct" else int(queue[3]) if queue[3].isdigit() else 0
                        facts.guarantees.append((number + 2 + offset, name.removeprefix("QUEUE-"), parts[1], kbit))
                    continue
                if len(parts) != 4 or not parts[1].startswith("QOS-"):
                    continue
                tag = parts[1].removeprefix("QOS-")
                matches = next((c.split()[-1] for c in classifiers.get(parts[1], ()) if " dscp " in c), None)
                queue = next((b.split() for b in behaviors.get(parts[3], ()) if b.startswith(" queue ")), None)
                priority = queue[1] == "ef" if queue else False
                # the share is in kbit/s of the link's shaped rate: `_vrp_guarantee_problems`
                facts.queues.append((number + 1, tag, matches, priority, None))
                if queue and queue[2:3] == ["bandwidth"] and len(queue) > 3:
                    kbit = None if queue[3] == "pct" else int(queue[3]) if queue[3].isdigit() else 0
                    facts.guarantees.append((number + 2 + offset, name.removeprefix("QUEUE-"), tag, kbit))
            facts.control.append((number + 1, name, frozenset(control)))
    return facts


def _vrp_guarantee_problems(facts: QosFacts, store: StoreIntent) -> list[tuple[int, str]]:
    """VRP's queue guarantees against the intent's shaped rate of each link (`qos gts cir`, the
    queues' parent): in kbit/s, each class at its share of that rate (`share_kbps`), together not
    above it. A `pct` counts from the interface's available bandwidth, the port's rate, not from
    `qos gts cir`: its guarantees are no shares of the shaped rate and can add up above it."""
    transports = {transport.name: transport for transport in store.transports}
    percents = {cls.name.upper(): cls.bandwidth_percent for cls in store.qos}
    percents[VRP_CONTROL_CLASSIFIER] = NETWORK_CONTROL_PERCENT  # the routers' own network control
    totals: dict[str, tuple[int, int]] = {}  # link -> (line of its first guarantee, kbit/s)
    problems: list[tuple[int, str]] = []
    for line, link, tag, kbit in facts.guarantees:
        transport, percent = transports.get(link), percents.get(tag)
        if transport is None or percent is None:  # a class the intent lacks is reported with the queues
            continue
        what = (
            f"the routers' own network control ({tag})" if tag == VRP_CONTROL_CLASSIFIER else f"QoS class {tag}"
        )
        share = share_kbps(transport.queue_kbps, percent)
        intent = (
            f"the intent's {share} kbit/s is {percent}% of the link's shaped rate "
            f"({transport.queue_kbps} kbit/s, qos gts cir)"
        )
        if kbit is None:
            problems.append(
                (line, f"{what} on the {link} link is given a pct, which an AR counts from the port's rate, "
                 f"not from qos gts cir: {intent}")
            )
            continue
        if kbit != share:
            problems.append((line, f"{what} on the {link} link is given {kbit} kbit/s: {intent}"))
        first, total = totals.get(link, (line, 0))
        totals[link] = (first, total + kbit)
    for link, (line, total) in totals.items():
        if total > transports[link].queue_kbps:
            problems.append(
                (line, f"the {link} link's guarantees add up to {total} kbit/s, above its shaped rate "
                 f"({transports[link].queue_kbps} kbit/s, qos gts cir): the shaper cannot keep them")
            )
    return problems


def _control_problems(
    facts: QosFacts, store: StoreIntent, policy_name: Callable[[str], str] = lambda name: name
) -> list[tuple[int, str]]:
    """Each WAN link's QUEUE-<link> policy (named on the device by `policy_name`) queues every
    network-control DSCP in a class with a guarantee (`huawei_vrp.CONTROL_CLASSIFIER`,
    `cisco_xe.CONTROL_CLASS` say why): a DSCP no guaranteed class takes goes to the default
    class, with the bulk the tunnel carries."""
    policies = {policy: (line, matched) for line, policy, matched in facts.control}
    problems: list[tuple[int, str]] = []
    for transport in store.transports:
        found = policies.get(policy_name(f"QUEUE-{transport.name}"))
        if found is None:  # a link without queues: no class of the intent is queued either
            continue
        line, matched = found
        missing = [name for name, _ in NETWORK_CONTROL_DSCPS if name not in matched]
        if missing:
            problems.append(
                (line, f"the {transport.name} link's queues have no class for the routers' own network control "
                 f"({' '.join(missing)}): their BGP and BFD wait in the best-effort queue with the bulk "
                 "their tunnel carries, and a busy link drops the sessions")
            )
    return problems


def _forti_local_out_problems(config: ConfigFile, store: StoreIntent) -> list[tuple[int, str]]:
    """What takes a FortiOS store's own traffic out of priority level 0 (`NO_CONTROL_CLASS` says
    why it needs no class there): an egress shaping profile on a WAN port (its default class
    takes all local traffic) or a shaping policy on local-out traffic."""
    if config.platform not in NO_CONTROL_CLASS:
        return []
    platform = get_platform(config.platform)
    ports = dict(_forti_section_by_name(config.lines, "config system interface"))
    behind = "puts the FortiGate's own BGP, BFD and IKE behind the shapers, out of priority level 0"
    problems: list[tuple[int, str]] = []
    for transport in store.transports:
        port = platform.wan_port(transport.port, transport.name)
        values = ports.get(port, {})
        if values.get("egress-shaping-profile", "").strip('"'):
            problems.append(
                (int(values["line"]), f"an egress shaping profile on the {transport.name} link's port ({port}) {behind} "
                 "(its default class takes all local traffic)")
            )
    for line, values in _forti_section(config.lines, "config firewall shaping-policy"):
        if values.get("traffic-type") == "local-out":
            problems.append((line, f"a shaping policy on local-out traffic (edit {values['edit']}) {behind}"))
    return problems


def _forti_qos(config: ConfigFile) -> QosFacts:
    facts = QosFacts()
    shapers = dict(_forti_section_by_name(config.lines, "config firewall shaper traffic-shaper"))
    for line, values in _forti_section(config.lines, "config firewall shaping-policy"):
        name = values.get("name", "").strip('"')
        kind = _TAG_KIND.get(name.removeprefix("QOS-"))
        if kind is None or values.get("service", "").strip('"') != "ALL":
            continue
        shaper = shapers.get(values.get("traffic-shaper", "").strip('"'), {})
        bits = shaper.get("diffservcode", "none") if shaper.get("diffserv") == "enable" else "none"
        facts.marks.append((line, kind, _dscp(_DSCP_BY_BITS.get(bits, bits))))
    for name, values in shapers.items():
        if name.startswith("QOS-"):
            bits = values.get("diffservcode", "")
            # the guarantee is in kbit/s of the smallest transport: its share is not checked here
            tag, dscp = name.removeprefix("QOS-"), _dscp(_DSCP_BY_BITS.get(bits, bits))
            high = values.get("priority", "high") == "high"  # FortiOS's default, which `show` leaves out
            facts.queues.append((int(values["line"]), tag, dscp, high, None))
            ceiling = values.get("maximum-bandwidth", "0")
            if high and (
                not ceiling.isdigit() or ceiling == "0" or int(ceiling) > int(values.get("guaranteed-bandwidth", "0") or 0)
            ):
                facts.shapers.append((
                    int(values["line"]),
                    f"QoS class {tag} has priority high but no maximum-bandwidth at its guarantee: above it, it takes every lower class's bandwidth",
                ))
    return facts


def _forti_class_tags(
    queues: list[tuple[int, str, str | None, bool | None, int | None]], qos: Sequence[QosClass]
) -> list[tuple[int, str, str | None, bool | None, int | None]]:
    """Each FortiOS shaper's class by the intent's tag: a shaper is `QOS-<class>` held to FortiOS's
    35 characters (`fortinet.shaper_name`), shortened with a hash where the class's name is long."""
    spelled = {fortios_shaper_name(cls.name.upper()).removeprefix("QOS-"): cls.name.upper() for cls in qos}
    return [
        (line, spelled.get(tag, tag), matches, priority, percent) for line, tag, matches, priority, percent in queues
    ]


def _wan_shapers(config: ConfigFile, store: StoreIntent) -> list[tuple[int, str]]:
    """What is wrong with a vendor store's WAN ports as its queues' parent: each port is shaped,
    at most to the intent's shaped rate of its link (`Transport.queue_kbps`), the one rate every
    platform renders (IOS-XE: the `shape average` of its output policy; VRP: `qos gts cir`;
    FortiOS: `outbandwidth`). Without a shaper, or above that rate, the queue builds in the
    modem, where every class is alike."""
    found = _WAN_SHAPERS.get(config.platform)
    if found is None:
        return []
    shapers_of, what = found
    platform = get_platform(config.platform)
    problems: list[tuple[int, str]] = []
    for transport in store.transports:
        port = platform.wan_port(transport.port, transport.name)
        name = f"the {transport.name} link ({port})"
        port_line, shapers = shapers_of(config, port)
        if not shapers:
            problems.append((port_line, f"{name} has no {what}: its queues build in the modem, where every class is alike"))
        for line, kbit in shapers:
            if kbit > transport.queue_kbps:
                problems.append((line, _above_shaped_rate(name, kbit, transport.queue_kbps, transport.bandwidth_mbps * 1000)))
    return problems


def _above_shaped_rate(name: str, kbit: int, queue_kbps: int, link_kbit: int, queues_at: str = "the modem") -> str:
    """A link (a store's transport, a hub's uplink) shaped above the intent's shaped rate of it."""
    return (
        f"{name} is shaped to {kbit} kbit/s, above the intent's {queue_kbps} kbit/s "
        f"({WAN_SHAPE_PERCENT}% of the link's {link_kbit} kbit/s): {queues_at} queues"
    )


def _line_of(lines: list[str], header: str) -> int:
    """The 1-based line of a top-level `header`, 0 when there is none."""
    return next((number for number, line in enumerate(lines, start=1) if line == header), 0)


def _cisco_wan_shapers(config: ConfigFile, port: str) -> tuple[int, list[tuple[int, int]]]:
    return _line_of(config.lines, f"interface {port}"), _cisco_port_shapers(config, port)


def _vrp_wan_shapers(config: ConfigFile, port: str) -> tuple[int, list[tuple[int, int]]]:
    """The port's `qos gts cir` (kbit/s), with its 1-based line."""
    shapers = [
        (number + 2 + offset, int(gts[1]))
        for number, _, body in _blocks(config.lines, re.compile(rf"interface {re.escape(port)}$"))
        for offset, inner in enumerate(body)
        if (gts := re.match(r" qos gts cir (\d+)\b", inner))
    ]
    return _line_of(config.lines, f"interface {port}"), shapers


def _forti_wan_shapers(config: ConfigFile, port: str) -> tuple[int, list[tuple[int, int]]]:
    """The port's `outbandwidth` (kbit/s; 0 is none), with the line of its edit."""
    values = dict(_forti_section_by_name(config.lines, "config system interface")).get(port)
    if values is None:
        return 0, []
    line, outbandwidth = int(values["line"]), values.get("outbandwidth", "")
    return line, [(line, int(outbandwidth))] if outbandwidth.isdigit() and int(outbandwidth) else []


_WAN_SHAPERS: dict[str, tuple[Callable[[ConfigFile, str], tuple[int, list[tuple[int, int]]]], str]] = {
    "cisco_xe": (_cisco_wan_shapers, "shaper (an output policy with shape average)"),
    "huawei_vrp": (_vrp_wan_shapers, "shaper (qos gts cir)"),
    "fortinet": (_forti_wan_shapers, "outbandwidth"),
}


def _forti_section_by_name(lines: list[str], header: str) -> Iterator[tuple[str, dict[str, str]]]:
    for line, values in _forti_section(lines, header):
        yield values["edit"], {**values, "line": str(line)}


def _frr_qos(config: ConfigFile) -> QosFacts:
    facts = QosFacts()
    kinds: dict[str, str] = {}
    interface = None
    for line in config.companions.get("dnsmasq.conf", "").splitlines():
        if line.startswith("interface="):
            interface = line.partition("=")[2]
        elif line.startswith("dhcp-range=set:") and interface:
            kinds[interface] = line.removeprefix("dhcp-range=set:").split(",")[0]
    for number, line in enumerate(config.companions.get("nftables.conf", "").splitlines(), start=1):
        if found := re.fullmatch(r'\s*iifname "(\S+)" ip dscp set (\S+)', line):
            kind = kinds.get(found.group(1))
            if kind:
                facts.marks.append((number, kind, _dscp(found.group(2))))
    return facts


_TC_ROOT = re.compile(r"qdisc \S+ dev (\S+) root handle 1: htb default ([0-9a-f]+)\b")
_TC_CLASS = re.compile(
    r"class \S+ dev (\S+) parent (1:[0-9a-f]*) classid 1:([0-9a-f]+) htb rate (\d+)kbit ceil (\d+)kbit"
    r"(?: .*?\bprio (\d+))?[^#]*(?:#\s*(\S+))?$"
)
_TC_FILTER = re.compile(r"filter \S+ dev (\S+) ")
_TC_DSCP_FILTER = re.compile(r"filter \S+ dev (\S+) parent 1: .*\bmatch ip dsfield 0x([0-9a-f]+) 0xfc flowid 1:([0-9a-f]+)")
_TC_SOURCE = re.compile(r"\bmatch ip src (\S+)")
# a hub's last filter: the rest of its tunnels' packets (matched by their source alone)
_TC_SOURCE_ONLY = re.compile(r"filter \S+ dev (\S+) parent 1: .*\bu32 match ip src (\S+) flowid 1:([0-9a-f]+)\b")
# The host's own class (devices/frr.py CONTROL_*): no class of the intent, never reported as one.
_FRR_CONTROL = "control"


@dataclass(frozen=True)
class _QueuedLink:
    """A link the intent has the FRR host queue on: its device in qos.tc, what findings call it,
    its rate and the intent's shaped rate of it (a store's `Transport.queue_kbps`, a hub's
    `uplink_queue_kbps`), at most what its tree is shaped to; on a hub the one address whose
    packets the tree takes (`devices.frr.TcLink.source`)."""

    device: str
    name: str
    link_kbit: int
    queue_kbps: int
    source: str | None = None
    queues_at: str = "the modem"  # where the queue builds when the link is not shaped below its rate


def _frr_queues(config: ConfigFile, links: Sequence[_QueuedLink], qos: Sequence[QosClass], facts: QosFacts) -> None:
    """The WAN queues of the FRR host (`qos.tc`, tc -batch): per WAN link an HTB root (class
    1:1) shaped at most to the intent's shaped rate of a store's link (a hub's uplink: its rate),
    and a class per QoS class (its name in the class
    line's comment), found by the DSCP its u32 filter matches; shares are of the shaped rate, a
    prio 2 class has none. A hub's uplink queues only its public address's packets: every
    filter matches that source, nothing else is classified (`htb default 0`, so the DC core
    LAN's own traffic bypasses the shaper) and a last filter gives the rest of them best effort."""
    facts.queues_where = f"{config.hostname}.qos.tc"
    defaults: dict[str, str] = {}
    roots: dict[str, tuple[int, int]] = {}  # device -> (line, kbit/s)
    classes: dict[tuple[str, str], tuple[int, int, int, str]] = {}  # (device, minor) -> (line, kbit, prio, name)
    matched: dict[tuple[str, str], str] = {}  # (device, minor) -> DSCP name
    sources: dict[str, list[tuple[int, str | None]]] = {}  # device -> (line, `match ip src`) of each filter
    rest: dict[str, str] = {}  # device -> the minor a filter matching the source alone sends to
    for number, line in enumerate(config.companions.get("qos.tc", "").splitlines(), start=1):
        if root := _TC_ROOT.match(line):
            defaults[root.group(1)] = root.group(2)
        elif found := _TC_CLASS.match(line):
            device, parent, minor, rate = found.group(1), found.group(2), found.group(3), int(found.group(4))
            if parent == "1:" and minor == "1":
                roots[device] = (number, min(rate, int(found.group(5))))
            elif parent == "1:1":
                classes[(device, minor)] = (number, rate, int(found.group(6) or 0), found.group(7) or "")
        elif filtered := _TC_FILTER.match(line):
            source = _TC_SOURCE.search(line)
            sources.setdefault(filtered.group(1), []).append((number, source.group(1) if source else None))
            if only := _TC_SOURCE_ONLY.match(line):
                rest[only.group(1)] = only.group(3)
            if dscp := _TC_DSCP_FILTER.match(line):
                value = int(dscp.group(2), 16) >> 2
                matched[(dscp.group(1), dscp.group(3))] = _DSCP_BY_VALUE.get(value, str(value))
    for link in links:
        if link.device not in roots or link.device not in defaults:
            facts.shapers.append((0, f"{link.name} has no shaper: its queues build in {link.queues_at}, where every class is alike"))
            continue
        root_line, shaped = roots[link.device]
        if shaped > link.queue_kbps:
            facts.shapers.append(
                (root_line, _above_shaped_rate(link.name, shaped, link.queue_kbps, link.link_kbit, link.queues_at))
            )
        best_effort = defaults[link.device]
        if link.source is not None:
            best_effort = rest.get(link.device, "")
            facts.shapers += _hub_uplink_problems(link, root_line, defaults[link.device], sources.get(link.device, []))
            if not best_effort:
                facts.shapers.append(
                    (root_line, f"{link.name}: no filter gives the tunnels' other packets best effort: they bypass the shaper")
                )
        names = {name for (device, _), (_, _, _, name) in classes.items() if device == link.device}
        for cls in qos:
            if cls.dscp and cls.name not in names:
                facts.shapers.append((root_line, f"QoS class {cls.name.upper()} of the intent has no queue on {link.name}"))
        for (device, minor), (number, rate, prio, name) in sorted(classes.items()):
            if device != link.device or name == _FRR_CONTROL:
                continue
            if minor == best_effort:  # best effort: what the others leave
                facts.queues.append((number, name.upper(), None, prio == 0, None))
                continue
            # prio 2 is no guarantee (a shaped class's rate is a trickle); else the share it is given
            percent = round(rate * 100 / shaped) if shaped and prio < 2 else 0
            facts.queues.append((number, name.upper(), matched.get((device, minor), "none"), prio == 0, percent))


def _hub_uplink_problems(
    link: _QueuedLink, root_line: int, default: str, filters: Sequence[tuple[int, str | None]]
) -> list[tuple[int, str]]:
    """What makes a hub's uplink tree shape more or less than its tunnels."""
    problems = []
    if default != "0":
        problems.append(
            (root_line, f"{link.name}: unclassified traffic goes to class 1:{default}, so the DC core LAN's own traffic "
             "is held to the uplink's rate (htb default 0 lets it bypass)")
        )
    own = f"{link.source}/32"
    for number, source in filters:
        if source != own:
            problems.append(
                (number, f"{link.name}: a filter takes packets {f'from {source}' if source else 'from any source'}, "
                 f"not only the tunnels' (from {own}): the DC core LAN's traffic is held to the uplink's rate")
            )
    return problems


_DSCP_BY_VALUE = {value: name for name, value in DSCP_VALUES.items()}
_DSCP_BY_BITS = {f"{value:06b}": name for name, value in DSCP_VALUES.items()}
_QOS_EXTRACTORS = {"cisco_xe": _cisco_qos, "huawei_vrp": _vrp_qos, "fortinet": _forti_qos, "frr": _frr_qos}


def qos(config: ConfigFile, store: StoreIntent) -> Iterator[Finding]:
    extractor = _QOS_EXTRACTORS.get(config.platform)
    if extractor is None:
        return
    facts = extractor(config)
    if config.platform == "frr":
        links = [_QueuedLink(t.name, t.name, t.bandwidth_mbps * 1000, t.queue_kbps) for t in store.transports]
        _frr_queues(config, links, store.qos, facts)
    else:
        facts.shapers += _wan_shapers(config, store)
    if config.platform == "huawei_vrp":
        facts.shapers += _vrp_guarantee_problems(facts, store)
        facts.shapers += _control_problems(facts, store, mqc_name)
    if config.platform == "cisco_xe":
        facts.shapers += _control_problems(facts, store)
    if config.platform == "fortinet":
        facts.shapers += _forti_local_out_problems(config, store)
        facts.queues = _forti_class_tags(facts.queues, store.qos)
    queues_where = facts.queues_where or config.name
    where = f"{config.hostname}.nftables.conf" if config.platform == "frr" else config.name
    classes = {cls.name: cls for cls in store.qos}
    marked = set()
    for line, kind, dscp in facts.marks:
        zone = store.zone(kind)
        if zone is None:
            continue
        marked.add(kind)
        expected = classes[zone.qos_class].dscp_name
        if dscp != expected:
            yield Finding(
                where,
                line,
                QOS,
                f"the trust boundary marks {kind} traffic {dscp}; its class {zone.qos_class!r} is {expected}"
                + (" (guests never choose their queue)" if kind == "guest-wifi" else ""),
            )
    leaving = {flow.source for flow in store.flows}
    for zone in store.zones:
        # A zone with no flow (guest Wi-Fi on a store with no wired link to break out through)
        # sends nothing anywhere: nothing to re-mark, and FortiOS, which marks by the shaping
        # policy towards a way out, has none to mark it by.
        if zone.name not in marked and zone.name in leaving:
            yield Finding(where, 0, QOS, f"{zone.name} traffic is not re-marked at the trust boundary")
    yield from _queue_findings(queues_where, facts, store.qos)


def hub_qos(config: ConfigFile, hub: HubIntent) -> Iterator[Finding]:
    """A hub's queues towards the stores: with the intent's `uplink_mbps`, the port its tunnels
    leave by (the DC core LAN) is shaped at most to that rate and queues the intent's classes;
    without it, no shaper there (a rate the intent does not know). FRR: the tree in qos.tc, taking
    only the tunnels' packets; vendor hubs: the output policy on that port."""
    facts = QosFacts()
    device = get_platform(config.platform).hub_dc_port()
    yield from _dc_trust(config, hub, device)
    if config.platform == "frr":
        where = f"{config.hostname}.qos.tc"
        if hub.uplink_mbps is None or hub.uplink_queue_kbps is None:
            if found := next((n for n, line in enumerate(config.companions.get("qos.tc", "").splitlines(), start=1)
                              if _TC_ROOT.match(line)), None):
                yield Finding(where, found, QOS, "the hub shapes a link, but the intent gives it no uplink_mbps")
            return
        uplink = _QueuedLink(
            device, f"the uplink ({device})", hub.uplink_mbps * 1000, hub.uplink_queue_kbps, str(hub.public_address),
            "the DC's internet edge",
        )
        _frr_queues(config, [uplink], hub.qos, facts)
        yield from _queue_findings(where, facts, hub.qos)
        return
    if (reason := HUB_NO_UPLINK_QUEUES.get(cast(Platform, config.platform))) is not None:
        # No shaper can take the tunnels' packets alone: one on the port holds the DC core's too.
        port_shapers = _PORT_SHAPERS.get(config.platform)
        for line, what in port_shapers(config, device) if port_shapers else []:
            yield Finding(
                config.name, line, QOS,
                f"the hub {what} on the uplink ({device}), which holds the DC core LAN's own traffic to it too: {reason}",
            )
        return
    shapers_of = _HUB_SHAPERS.get(config.platform)
    if shapers_of is None:
        return
    shapers = shapers_of(config, device)
    name = f"the uplink ({device})"
    if hub.uplink_mbps is None or hub.uplink_queue_kbps is None:
        for line, _ in shapers:
            yield Finding(config.name, line, QOS, f"the hub shapes {name}, but the intent gives it no uplink_mbps")
        return
    uplink_kbit = hub.uplink_mbps * 1000
    if not shapers:
        facts.shapers.append((0, f"{name} has no shaper: its queues build in the DC's internet edge, where every class is alike"))
    for line, kbit in shapers:
        if kbit > hub.uplink_queue_kbps:
            facts.shapers.append(
                (line, _above_shaped_rate(name, kbit, hub.uplink_queue_kbps, uplink_kbit, "the DC's internet edge"))
            )
    if shapers:
        facts.queues = _QOS_EXTRACTORS[config.platform](config).queues
        queued = {tag for _, tag, _, _, _ in facts.queues}
        facts.shapers += [
            (shapers[0][0], f"QoS class {cls.name.upper()} of the intent has no queue on {name}")
            for cls in hub.qos
            if cls.dscp and cls.name.upper() not in queued
        ]
    yield from _queue_findings(config.name, facts, hub.qos)


# ---------------------------------------------------------------- the hub's DC-port trust boundary


@dataclass(frozen=True)
class _Remark:
    """A re-mark of a DSCP on what the hub takes in from its DC port: its 1-based line, the DSCP
    (or the DSCPs' name: None for "any"), what it becomes."""

    line: int
    dscp: str | None
    to: str


def _dc_trust(config: ConfigFile, hub: HubIntent, device: str) -> Iterator[Finding]:
    """The hub's QoS trust boundary on its DC port (`network.model.DcTrust`), where the intent
    has one (a hub that queues towards the stores): each network-control DSCP re-marked to
    default on the way in, none of the fleet's classes' DSCPs re-marked. Without it a DC host
    marking CS6 takes the class that keeps the tunnels' BGP, BFD and IKE alive (FRR's control
    class), or leaves marked as the routers' own traffic (IOS-XE)."""
    trust = hub.dc_trust
    extractor = _DC_REMARKS.get(config.platform)
    if trust is None or extractor is None:
        return
    where, port_line, remarks = extractor(config, device)
    for name in trust.remarked_names:
        found = [remark for remark in remarks if remark.dscp in (name, None)]
        if not found:
            yield Finding(
                where, port_line, QOS,
                f"the hub trusts {name} from the DC core LAN ({device}): a DC host's packets marked {name} keep it "
                f"towards the stores, where network control is the hub's own (no re-mark to {trust.to} on the way in)",
            )
        for remark in found:
            if _dscp(remark.to) != trust.to:
                yield Finding(
                    where, remark.line, QOS,
                    f"the hub re-marks {name} from the DC core LAN ({device}) to {_dscp(remark.to)}, not to {trust.to}",
                )
    for remark in remarks:
        if remark.dscp is None:
            yield Finding(
                where, remark.line, QOS,
                f"the hub re-marks every DSCP from the DC core LAN ({device}) to {_dscp(remark.to)}: the fleet's "
                f"classes ({', '.join(trust.kept)}) are kept as HQ marks them",
            )
        elif remark.dscp in trust.kept and _dscp(remark.to) != remark.dscp:
            yield Finding(
                where, remark.line, QOS,
                f"the hub re-marks {remark.dscp} from the DC core LAN ({device}) to {_dscp(remark.to)}: "
                f"{remark.dscp} is a class of the fleet, kept as HQ marks it",
            )


_NFT_CHAIN = re.compile(r"\s*chain (\S+) \{$")
_NFT_HOOK = re.compile(r"\s*type filter hook (\S+) priority")
_NFT_DSCP_REMARK = re.compile(r'\s*iifname "(\S+)" ip dscp (?:\{ ([^}]*) \}|(\S+)) ip dscp set (\S+)$')


def _frr_dc_remarks(config: ConfigFile, device: str) -> tuple[str, int, list[_Remark]]:
    """The FRR hub's re-marks of what arrives on its DC port (nftables.conf): rules `iifname
    "<port>" ip dscp <DSCP or { set }> ip dscp set <DSCP>` in a chain on the prerouting or
    forward hook, which run before the packet is encrypted into its tunnel and queued (a rule on
    the input or output hook never sees a forwarded packet)."""
    remarks: list[_Remark] = []
    hook = None
    for number, line in enumerate(config.companions.get("nftables.conf", "").splitlines(), start=1):
        if _NFT_CHAIN.match(line):
            hook = None
        elif found := _NFT_HOOK.match(line):
            hook = found.group(1)
        elif (found := _NFT_DSCP_REMARK.match(line)) and found.group(1) == device and hook in ("prerouting", "forward"):
            names = found.group(2).split(",") if found.group(2) is not None else [found.group(3)]
            remarks += [_Remark(number, _dscp(name.strip()), found.group(4)) for name in names]
    return f"{config.hostname}.nftables.conf", 0, remarks


def _cisco_dc_remarks(config: ConfigFile, device: str) -> tuple[str, int, list[_Remark]]:
    """The IOS-XE hub's re-marks of what arrives on its DC port: the port's input policy, each of
    its classes that sets a DSCP, by the DSCPs its class-map matches (`match dscp`; a class that
    matches no DSCP, class-default among them, re-marks any)."""
    lines = config.lines
    port_line = _line_of(lines, f"interface {device}")
    policies = {
        inner.split()[-1] for _, _, body in _blocks(lines, re.compile(rf"interface {re.escape(device)}$"))
        for inner in body if inner.startswith(" service-policy input ")
    }
    matched: dict[str, list[str]] = {
        found.group(1): [dscp for inner in body if inner.startswith(" match dscp ") for dscp in inner.split()[2:]]
        for _, found, body in _blocks(lines, re.compile(r"class-map (?:match-all |match-any )?(\S+)$"))
    }
    remarks: list[_Remark] = []
    for number, found, body in _blocks(lines, re.compile(r"policy-map (\S+)$")):
        if found.group(1) not in policies:
            continue
        current = None
        for offset, inner in enumerate(body):
            if opened := re.match(r" class (\S+)$", inner):
                current = opened.group(1)
            elif current and (marked := re.match(r"  set (?:ip )?dscp (\S+)$", inner)):
                dscps: list[str | None] = [_dscp(d) for d in matched.get(current, [])] or [None]
                remarks += [_Remark(number + 2 + offset, dscp, marked.group(1)) for dscp in dscps]
    return config.name, port_line, remarks


_DC_REMARKS: dict[str, Callable[[ConfigFile, str], tuple[str, int, list[_Remark]]]] = {
    "frr": _frr_dc_remarks,
    "cisco_xe": _cisco_dc_remarks,
}


_IOS_SHAPE = re.compile(r"  shape average (\d+)$")


def _cisco_port_shapers(config: ConfigFile, port: str) -> list[tuple[int, int]]:
    """(1-based line, kbit/s) of each parent shaper in the output policy of a port (a store's WAN
    port, a hub's DC port)."""
    policy = next(
        (inner.split()[-1] for _, _, body in _blocks(config.lines, re.compile(rf"interface {re.escape(port)}$"))
         for inner in body if inner.startswith(" service-policy output ")),
        None,
    )
    if policy is None:
        return []
    return [
        (number + 2 + offset, int(shape.group(1)) // 1000)
        for number, _, body in _blocks(config.lines, re.compile(rf"policy-map {re.escape(policy)}$"))
        for offset, inner in enumerate(body)
        if (shape := _IOS_SHAPE.match(inner))
    ]


_HUB_SHAPERS: dict[str, Callable[[ConfigFile, str], list[tuple[int, int]]]] = {"cisco_xe": _cisco_port_shapers}


def _vrp_port_shapers(config: ConfigFile, port: str) -> list[tuple[int, str]]:
    """(1-based line, what) of each shaper or queue on a VRP port: its `qos gts`, and an outbound
    traffic policy whose behaviors shape (`gts`) or queue (`queue ...`)."""
    lines = config.lines
    shaping = {
        found[1] for _, found, body in _blocks(lines, re.compile(r"traffic behavior (\S+)$"))
        if any(inner.startswith((" gts ", " queue ")) for inner in body)
    }
    policies = {
        found[1] for _, found, body in _blocks(lines, re.compile(r"traffic policy (\S+)$"))
        if any(inner.split()[-1] in shaping for inner in body if inner.startswith(" classifier "))
    }
    found_shapers: list[tuple[int, str]] = []
    for number, _, body in _blocks(lines, re.compile(rf"interface {re.escape(port)}$")):
        for offset, inner in enumerate(body):
            words = inner.split()
            if words[:2] == ["qos", "gts"]:
                found_shapers.append((number + 2 + offset, f"shapes the port ({inner.strip()})"))
            elif words[:1] == ["traffic-policy"] and words[-1] == "outbound" and words[1] in policies:
                found_shapers.append((number + 2 + offset, f"queues or shapes with {inner.strip()}"))
    return found_shapers


def _forti_port_shapers(config: ConfigFile, port: str) -> list[tuple[int, str]]:
    """(1-based line of the port's edit, what) of each shaper on a FortiOS port: a non-zero
    `outbandwidth` (the parent of the priority queues) and an `egress-shaping-profile`."""
    values = dict(_forti_section_by_name(config.lines, "config system interface")).get(port)
    if values is None:
        return []
    line = int(values["line"])
    found_shapers: list[tuple[int, str]] = []
    if (outbandwidth := values.get("outbandwidth", "0")) != "0":
        found_shapers.append((line, f"shapes the port (set outbandwidth {outbandwidth})"))
    if profile := values.get("egress-shaping-profile"):
        found_shapers.append((line, f"queues with set egress-shaping-profile {profile}"))
    return found_shapers


_PORT_SHAPERS: dict[str, Callable[[ConfigFile, str], list[tuple[int, str]]]] = {
    "huawei_vrp": _vrp_port_shapers,
    "fortinet": _forti_port_shapers,
}


def _queue_findings(queues_where: str, facts: QosFacts, qos: Sequence[QosClass]) -> Iterator[Finding]:
    """The links' shapers and the queues against the intent's classes."""
    by_tag = {cls.name.upper(): cls for cls in qos}
    for line, why in facts.shapers:
        yield Finding(queues_where, line, QOS, why)
    for line, tag, matches, priority, percent in facts.queues:
        cls = by_tag.get(tag)
        if cls is None:
            yield Finding(queues_where, line, QOS, f"QoS class {tag} is no class of the intent")
            continue
        if matches is not None and matches != cls.dscp_name:
            yield Finding(queues_where, line, QOS, f"QoS class {tag} matches {matches}, the intent's class is {cls.dscp_name}")
        if priority is not None and priority != cls.priority:
            yield Finding(
                queues_where, line, QOS, f"QoS class {tag} is {'' if priority else 'not '}a strict-priority queue, unlike the intent's"
            )
        if percent is not None and percent != cls.bandwidth_percent:
            yield Finding(
                queues_where, line, QOS, f"QoS class {tag} is given {percent}%, the intent's class {cls.bandwidth_percent}%"
            )
