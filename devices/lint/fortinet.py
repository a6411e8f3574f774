"""Lint rules for FortiOS configs: references, BFD prerequisites, firewall policies, management
on the loopback, BGP timers, SD-WAN health checks and rules (and the BGP paths they need), and
tunnel and steering facts for the cross-file checks.

FortiOS forwards nothing that no firewall policy accepts (traffic to a loopback included), and a
BGP neighbour's `set bfd enable` does nothing until BFD is enabled for the VDOM in
`config system settings` (FortiOS CLI reference: system settings, router bgp).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from storestack.common.names import IKE_ID_LIMIT
from storestack.common.platforms import SLA_CLASS_NUMBERS
from storestack.devices.lint import (
    AdvertisementFacts,
    ConditionalFact,
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
    hub_probe_kinds,
    most_permissive,
    prefix_rule,
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
    summary_net,
)
from storestack.devices.lint.linetree import is_address, private_gaps
from storestack.devices.platforms.fortinet import (
    BGP_EXTERNAL_DISTANCE,
    DOS_ANOMALY_THRESHOLDS,
    ECHO_ANOMALY,
    INTERFACE_MTU_DEFAULT,
    NAME_LIMIT,
    NEIGHBOR_DESCRIPTION_LIMIT,
    SHOW_OMITS_DEFAULTS,
    STATIC_DISTANCE,
    dpd_retrycount,
    dpd_retryinterval,
)
from storestack.network.crypto import FLEET_CRYPTO, EspProposal, IkeProposal

PLATFORM = "fortinet"

# Predefined objects every FortiOS VDOM has.
_BUILTIN_SERVICES = frozenset(
    {
        "ALL",
        "ALL_TCP",
        "ALL_UDP",
        "ALL_ICMP",
        "PING",
        "SSH",
        "SNMP",
        "HTTPS",
        "HTTP",
        "DNS",
        "NTP",
        "SYSLOG",
        "BGP",
    }
)
_ENCRYPTION = {"aes256gcm": "aes256gcm16", "aes128gcm": "aes128gcm16", "aes256": "aes256", "aes128": "aes128"}


@dataclass
class Entry:
    """An `edit` entry (or a `config` block's own settings, name "")."""

    name: str
    line: int
    settings: dict[str, tuple[list[str], int]] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)

    def get(self, key: str) -> list[str]:
        return self.settings.get(key, ([], 0))[0]

    def first(self, key: str) -> str | None:
        values = self.get(key)
        return values[0] if values else None


@dataclass
class Block:
    path: str
    line: int
    entries: list[Entry] = field(default_factory=list)
    own: Entry = field(default_factory=lambda: Entry("", 0))

    def names(self) -> set[str]:
        return {entry.name for entry in self.entries}


# A line of bare words and whole double-quoted strings, each ended by a blank or the line's end:
# what shlex makes of it, read in one match (shlex reads a hub's config a character at a time).
_PLAIN_WORDS = re.compile(r'(?:\s*(?:"[^"\\]*"|[^\s"\'\\]+)(?=\s|$))*\s*')
_PLAIN_WORD = re.compile(r'"([^"\\]*)"|([^\s"\'\\]+)')


def _words(line: str) -> list[str]:
    """The words of a config line as shlex splits them (quotes removed)."""
    if _PLAIN_WORDS.fullmatch(line):
        return [quoted if bare == "" else bare for quoted, bare in _PLAIN_WORD.findall(line)]
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


@functools.lru_cache(maxsize=256)
def parse(text: str) -> dict[str, Block]:
    """Top-level `config` blocks by path ("firewall policy"), with nested blocks under entries.
    Parsed once per text (every rule and check of a config reads it, and the fleet-wide checks
    read each config again: a few hundred held, or a generated fleet's are parsed anew by each):
    the blocks are shared, read them and never change them."""
    top: dict[str, Block] = {}
    stack: list[Block | Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = _words(line)
        keyword, args = words[0], words[1:]
        if keyword == "config":
            block = Block(" ".join(args), number)
            parent = stack[-1] if stack else None
            if parent is None:
                top.setdefault(block.path, block)
                block = top[block.path]
            elif isinstance(parent, Entry):
                parent.blocks[block.path] = block
            else:
                parent.own.blocks[block.path] = block
            stack.append(block)
        elif keyword == "edit" and stack and isinstance(stack[-1], Block):
            entry = Entry(args[0] if args else "", number)
            stack[-1].entries.append(entry)
            stack.append(entry)
        elif keyword == "next" and stack and isinstance(stack[-1], Entry):
            stack.pop()
        elif keyword == "end" and stack:
            if isinstance(stack[-1], Entry):
                stack.pop()
            if stack:
                stack.pop()
        elif keyword in ("set", "unset") and stack and args:
            target = stack[-1]
            owner = target if isinstance(target, Entry) else target.own
            owner.settings[args[0]] = (args[1:], number)
    return top


def _entries(config: dict[str, Block], path: str) -> list[Entry]:
    block = config.get(path)
    return block.entries if block else []


def _nested(entry: Entry, path: str) -> list[Entry]:
    block = entry.blocks.get(path)
    return block.entries if block else []


def _sdwan(config: dict[str, Block]) -> Entry | None:
    block = config.get("system sdwan")
    return block.own if block else None


def definitions(config: dict[str, Block]) -> dict[str, set[str]]:
    sdwan = _sdwan(config)
    return {
        "interface": {
            "any",
            *(e.name for e in _entries(config, "system interface")),
            *(e.name for e in _entries(config, "vpn ipsec phase1-interface")),
            *(e.name for e in _entries(config, "system zone")),
            *((e.name for e in _nested(sdwan, "zone")) if sdwan else ()),
        },
        "phase1": {e.name for e in _entries(config, "vpn ipsec phase1-interface")},
        "address": {
            "all",
            *(e.name for e in _entries(config, "firewall address")),
            *(e.name for e in _entries(config, "firewall addrgrp")),
        },
        "service": {*_BUILTIN_SERVICES, *(e.name for e in _entries(config, "firewall service custom"))},
        "shaper": {e.name for e in _entries(config, "firewall shaper traffic-shaper")},
        "prefix-list": {e.name for e in _entries(config, "router prefix-list")},
        "route-map": {e.name for e in _entries(config, "router route-map")},
        "community-list": {e.name for e in _entries(config, "router community-list")},
        "tacacs": {e.name for e in _entries(config, "user tacacs+")},
        "user-group": {e.name for e in _entries(config, "user group")},
        "sdwan-member": {e.name for e in _nested(sdwan, "members")} if sdwan else set(),
        "health-check": {e.name for e in _nested(sdwan, "health-check")} if sdwan else set(),
    }


def references(config: dict[str, Block]) -> Iterator[tuple[str, str, int]]:
    def each(entry: Entry, key: str, kind: str) -> Iterator[tuple[str, str, int]]:
        values, line = entry.settings.get(key, ([], 0))
        for value in values:
            yield kind, value, line

    for entry in _entries(config, "system interface"):
        yield from each(entry, "interface", "interface")
    for entry in _entries(config, "vpn ipsec phase1-interface"):
        yield from each(entry, "interface", "interface")
    for entry in _entries(config, "vpn ipsec phase2-interface"):
        yield from each(entry, "phase1name", "phase1")
    for entry in _entries(config, "system zone"):
        yield from each(entry, "interface", "interface")
    for entry in _entries(config, "firewall addrgrp"):
        yield from each(entry, "member", "address")
        yield from each(entry, "exclude-member", "address")
    for entry in [*_entries(config, "firewall policy"), *_entries(config, "firewall shaping-policy")]:
        for key in ("srcintf", "dstintf"):
            yield from each(entry, key, "interface")
        for key in ("srcaddr", "dstaddr"):
            yield from each(entry, key, "address")
        yield from each(entry, "service", "service")
        yield from each(entry, "traffic-shaper", "shaper")
        yield from each(entry, "traffic-shaper-reverse", "shaper")
    for entry in _entries(config, "firewall DoS-policy"):
        yield from each(entry, "interface", "interface")
        for key in ("srcaddr", "dstaddr"):
            yield from each(entry, key, "address")
        yield from each(entry, "service", "service")
    for entry in _entries(config, "router route-map"):
        for rule in _nested(entry, "rule"):
            yield from each(rule, "match-ip-address", "prefix-list")
            yield from each(rule, "match-community", "community-list")
    bgp = config.get("router bgp")
    for neighbor in _nested(bgp.own, "neighbor") if bgp else []:
        yield from each(neighbor, "route-map-in", "route-map")
        yield from each(neighbor, "route-map-out", "route-map")
        yield from each(neighbor, "route-map-out-preferable", "route-map")
        # `edit <advertise-routemap>` and its conditions name route-maps (FortiOS datasource
        # router.route-map; Ansible fortinet.fortios, fortios_router_bgp: conditional_advertise).
        for condition in _nested(neighbor, "conditional-advertise"):
            yield "route-map", condition.name, condition.line
            yield from each(condition, "advertise-routemap", "route-map")
            yield from each(condition, "condition-routemap", "route-map")
    for entry in _entries(config, "system dhcp server"):
        yield from each(entry, "interface", "interface")
    for entry in _entries(config, "system dns-server"):
        yield "interface", entry.name, entry.line
    for entry in _entries(config, "router static"):
        yield from each(entry, "device", "interface")
    for entry in _entries(config, "router policy"):
        yield from each(entry, "input-device", "interface")
        yield from each(entry, "output-device", "interface")
    for entry in _entries(config, "system link-monitor"):
        yield from each(entry, "srcintf", "interface")
    for entry in _entries(config, "user group"):
        yield from each(entry, "member", "tacacs")
    for entry in _entries(config, "system admin"):
        yield from each(entry, "remote-group", "user-group")
    sdwan = _sdwan(config)
    if sdwan is not None:
        for member in _nested(sdwan, "members"):
            yield from each(member, "interface", "interface")
            yield from each(member, "zone", "interface")
        for check in _nested(sdwan, "health-check"):
            yield from each(check, "members", "sdwan-member")
        for service in _nested(sdwan, "service"):
            yield from each(service, "priority-members", "sdwan-member")
            yield from each(service, "src", "address")
            yield from each(service, "dst", "address")
            yield from each(service, "health-check", "health-check")
            for sla in _nested(service, "sla"):
                yield "health-check", sla.name, sla.line


@register_rule(PLATFORM)
def undefined_references(config: ConfigFile) -> Iterator[Finding]:
    """Every interface, zone, phase 1, address, service, shaper, prefix-list, community list,
    route-map (a BGP neighbour's conditional advertisements' among them), SD-WAN member and
    health check referenced is defined."""
    if config.suffix:
        return
    parsed = parse(config.text)
    defined = definitions(parsed)
    for kind, name, line in references(parsed):
        if name not in defined[kind]:
            yield config.finding(
                line, "fortios-undefined-reference", f"{kind} {name!r} is referenced but not defined"
            )


@register_rule(PLATFORM)
def quoted_names(config: ConfigFile) -> Iterator[Finding]:
    """Every name a setting refers to (interface, zone, address, service, phase 1 ...: a string or
    a datasource, `set zone {string}`) is written in double quotes, as `show` prints it
    (`set zone "overlay"`); unquoted, FortiOS takes it, but the line never reads back as rendered.
    SD-WAN member numbers are integers, unquoted."""
    if config.suffix:
        return
    parsed = parse(config.text)
    for kind, name, line in [*references(parsed), *_string_addresses(parsed)]:
        if kind != "sdwan-member" and line and f'"{name}"' not in config.lines[line - 1]:
            yield config.finding(
                line, "fortios-unquoted-name", f"{name} ({kind}) is not quoted, as FortiOS shows it"
            )


def _string_addresses(parsed: dict[str, Block]) -> Iterator[tuple[str, str, int]]:
    """The server and source addresses FortiOS holds as strings (`{string}` in the CLI reference,
    not `{ipv4-address}`), which `show` quotes like a name: a syslog server's `server` and
    `source-ip` (`config log syslogd setting`, "source-ip {string}"), a TACACS+ server's, an NTP
    server's, an SD-WAN health check's and a link monitor's `server`."""
    entries: list[Entry] = [block.own for path, block in parsed.items() if re.fullmatch(r"log syslogd\d* setting", path)]
    entries += _entries(parsed, "user tacacs+") + _entries(parsed, "system link-monitor")
    ntp = parsed.get("system ntp")
    entries += _nested(ntp.own, "ntpserver") if ntp else []
    sdwan = _sdwan(parsed)
    entries += _nested(sdwan, "health-check") if sdwan else []
    for entry in entries:
        for key in ("server", "secondary-server", "source-ip"):
            values, line = entry.settings.get(key, ([], 0))
            yield from (("address", value, line) for value in values)


# Each table's longest entry name: FortiOS 7.4 CLI reference, `config system interface` and
# `config vpn ipsec phase1-interface` (15), `config system zone` (7.4.8, 35), `config router
# prefix-list` (7.4.3, 35), `config router route-map` (a BGP neighbor's `route-map-in`, 35), `config
# firewall shaper traffic-shaper` (35, Fortinet's schema: `shaper_name` in the platform module).
_NAME_LIMITS = (
    ("system interface", 15),
    ("vpn ipsec phase1-interface", 15),
    ("system zone", NAME_LIMIT),
    ("router prefix-list", NAME_LIMIT),
    ("router route-map", NAME_LIMIT),
    ("firewall shaper traffic-shaper", NAME_LIMIT),
)


@register_rule(PLATFORM)
def interface_names(config: ConfigFile) -> Iterator[Finding]:
    """Names FortiOS accepts: an interface's and a phase 1's at most 15 characters, a zone's,
    a prefix list's, a route-map's and a traffic shaper's at most 35 (`NAME_LIMIT` in the
    platform module)."""
    if config.suffix:
        return
    parsed = parse(config.text)
    for path, limit in _NAME_LIMITS:
        for entry in _entries(parsed, path):
            if len(entry.name) > limit:
                yield config.finding(
                    entry.line, "fortios-name-length", f"{path} {entry.name!r} is longer than {limit} characters"
                )


# Values FortiOS holds to a length, each as (what the finding calls it, the entries that hold it,
# the setting, its longest): a BGP neighbour's description (`NEIGHBOR_DESCRIPTION_LIMIT`), a
# phase 1's local ID (63, `common/names.py` `IKE_ID_LIMIT`), and the names of firewall and shaping
# policies, SD-WAN rules and the traffic shaper a policy names (35, `NAME_LIMIT`: Fortinet's schema
# of each table as its Terraform provider for FortiOS 7.x carries it, `StringLenBetween(0, 35)`).
def _limited_values(parsed: dict[str, Block]) -> Iterator[tuple[str, Entry, str, int]]:
    bgp = parsed.get("router bgp")
    for neighbor in _nested(bgp.own, "neighbor") if bgp else []:
        yield f"router bgp neighbor {neighbor.name!r}", neighbor, "description", NEIGHBOR_DESCRIPTION_LIMIT
    for phase1 in _entries(parsed, "vpn ipsec phase1-interface"):
        yield f"vpn ipsec phase1-interface {phase1.name!r}", phase1, "localid", IKE_ID_LIMIT
    for path in ("firewall policy", "firewall shaping-policy"):
        for policy in _entries(parsed, path):
            yield f"{path} {policy.name}", policy, "name", NAME_LIMIT
            yield f"{path} {policy.name}", policy, "traffic-shaper", NAME_LIMIT
    sdwan = _sdwan(parsed)
    for rule in _nested(sdwan, "service") if sdwan else []:
        yield f"system sdwan service {rule.name}", rule, "name", NAME_LIMIT


@register_rule(PLATFORM)
def value_lengths(config: ConfigFile) -> Iterator[Finding]:
    """Values within what FortiOS takes: a BGP neighbour's description and a phase 1's local ID,
    63 characters each, a policy's, shaping policy's and SD-WAN rule's name and the shaper a
    policy names, 35 each (`_limited_values`)."""
    if config.suffix:
        return
    for where, entry, key, limit in _limited_values(parse(config.text)):
        values, line = entry.settings.get(key, ([], 0))
        for value in values:
            if len(value) > limit:
                yield config.finding(
                    line, "fortios-value-length", f"{where}: {key} {value!r} is longer than {limit} characters"
                )


@register_rule(PLATFORM)
def sla_ids(config: ConfigFile) -> Iterator[Finding]:
    """An SD-WAN health check's SLA ids within 1-32 (`SLA_CLASS_NUMBERS`; FortiOS 7.x schema as
    fortinetdev/terraform-provider-fortios publishes it, `fortios_system_sdwan`, `health_check` >
    `sla` > `id`): a unit refuses any other, and every rule naming it (`sla`) goes with it."""
    if config.suffix:
        return
    sdwan = _sdwan(parse(config.text))
    for check in _nested(sdwan, "health-check") if sdwan else []:
        for sla in _nested(check, "sla"):
            if not (sla.name.isdigit() and 1 <= int(sla.name) <= SLA_CLASS_NUMBERS):
                yield config.finding(
                    sla.line, "fortios-sla-id", f"system sdwan health-check {check.name} sla {sla.name}: FortiOS takes 1-{SLA_CLASS_NUMBERS}"
                )


@register_rule(PLATFORM)
def local_in_interfaces(config: ConfigFile) -> Iterator[Finding]:
    """A local-in policy's `intf` names an interface (an SD-WAN member's own, a tunnel's among
    them), a `system zone` or "any", never an SD-WAN zone: FortiOS takes SD-WAN zones there from
    7.6.1 on (New Features 7.6, "Specify SD-WAN zones in some policies"), and the fleet runs
    7.4.7 (README), which would refuse the policy. Nor a member of a `system zone`: once an
    interface is in a zone, policies name the zone, local-in policies included (Fortinet KB,
    "Technical Tip: Behavior and limitation of having an interface in a zone on FortiGate")."""
    if config.suffix:
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    zones = {entry.name for entry in _nested(sdwan, "zone")} if sdwan is not None else set()
    zoned = {name: zone.name for zone in _entries(parsed, "system zone") for name in zone.get("interface")}
    for policy in _entries(parsed, "firewall local-in-policy"):
        for name in policy.get("intf"):
            if name in zones:
                yield config.finding(
                    policy.settings["intf"][1],
                    "fortios-local-in-sdwan-zone",
                    f"local-in policy {policy.name}: intf {name!r} is an SD-WAN zone, which FortiOS takes "
                    "there only from 7.6.1 on; name its member interfaces",
                )
            elif name in zoned:
                yield config.finding(
                    policy.settings["intf"][1],
                    "fortios-local-in-zone-member",
                    f"local-in policy {policy.name}: intf {name!r} is a member of zone {zoned[name]!r}, "
                    "which FortiOS refuses there; name the zone",
                )


_ECHO_SERVICES = frozenset({"PING", "ALL_ICMP", "ALL"})


@register_rule(PLATFORM)
def wan_echo_limit(config: ConfigFile) -> Iterator[Finding]:
    """A WAN port that answers ping (`allowaccess ping`) has a DoS policy whose `icmp_flood`
    anomaly drops the echo requests above its threshold, as every platform holds what it answers
    from the internet to the intent's rate (FRR per sender); without one it answers every echo
    request a flood sends. A DoS policy lists every predefined anomaly: FortiOS shows them all,
    and one the config leaves out would read as one to delete, which FortiOS refuses
    (devices/platforms/fortinet.py DOS_ANOMALY_THRESHOLDS)."""
    if config.suffix:
        return
    parsed = parse(config.text)
    limited: set[str] = set()
    for policy in _entries(parsed, "firewall DoS-policy"):
        anomalies = {anomaly.name: anomaly for anomaly in _nested(policy, "anomaly")}
        missing = [name for name, _ in DOS_ANOMALY_THRESHOLDS if name not in anomalies]
        if missing:
            yield config.finding(
                policy.line,
                "fortios-dos-anomalies",
                f"DoS policy {policy.name} leaves out anomalies {', '.join(missing)}, which FortiOS lists in "
                "every DoS policy",
            )
        echo = anomalies.get(ECHO_ANOMALY)
        if (
            policy.first("status") != "disable"
            and "all" in policy.get("srcaddr")
            and "all" in policy.get("dstaddr")
            and _ECHO_SERVICES & set(policy.get("service"))
            and echo is not None
            and echo.first("status") == "enable"
            and echo.first("action") == "block"
        ):
            limited.update(policy.get("interface"))
    for interface in _entries(parsed, "system interface"):
        if interface.first("role") == "wan" and "ping" in interface.get("allowaccess") and interface.name not in limited:
            yield config.finding(
                interface.line,
                "fortios-wan-echo-unlimited",
                f"WAN port {interface.name} answers ping with no DoS policy whose {ECHO_ANOMALY} blocks echo "
                "requests above a rate: it answers every echo request a flood sends",
            )


@register_rule(PLATFORM)
def bfd_enabled(config: ConfigFile) -> Iterator[Finding]:
    """A BGP neighbour with BFD needs BFD enabled for the VDOM (system settings)."""
    if config.suffix:
        return
    parsed = parse(config.text)
    settings = parsed.get("system settings")
    if settings is not None and settings.own.first("bfd") == "enable":
        return
    bgp = parsed.get("router bgp")
    for neighbor in _nested(bgp.own, "neighbor") if bgp else []:
        if neighbor.first("bfd") == "enable":
            yield config.finding(
                neighbor.settings["bfd"][1],
                "fortios-bfd-disabled",
                f"neighbour {neighbor.name} uses BFD, but `config system settings` does not `set bfd enable`",
            )


@register_rule(PLATFORM)
def management_sources(config: ConfigFile) -> Iterator[Finding]:
    """DNS and TACACS+ leave from the loopback (the hubs advertise loopbacks to the DC, not
    tunnel addresses, so replies to a tunnel address are lost)."""
    if config.suffix:
        return
    parsed = parse(config.text)
    loopbacks = {
        (entry.get("ip") or [""])[0]
        for entry in _entries(parsed, "system interface")
        if entry.first("type") == "loopback"
    }
    dns = parsed.get("system dns")
    if dns is not None and dns.own.first("primary") and dns.own.first("source-ip") not in loopbacks:
        yield config.finding(dns.line, "fortios-dns-source", "`config system dns` has no loopback source-ip")
    for server in _entries(parsed, "user tacacs+"):
        if server.first("source-ip") not in loopbacks:
            yield config.finding(
                server.line, "fortios-aaa-source", f"TACACS+ server {server.name} has no loopback source-ip"
            )


@register_rule(PLATFORM)
def tacacs_ascii(config: ConfigFile) -> Iterator[Finding]:
    """No TACACS+ server authenticates administrators with ASCII: on FortiOS 7.4.4 to 7.4.6 and
    7.6.0 that is the configuration in which an attacker who knows an admin account's name logs
    in without its password (CVE-2025-22252, FG-IR-24-472; CVE record: "FortiOS versions 7.4.4
    through 7.4.6 and version 7.6.0"). The default, `auto`, tries "PAP, MSCHAP, and CHAP (in that
    order)" and never ASCII (CLI reference, config user tacacs+, authen-type), and so does each
    of those three set alone; a server that takes ASCII only (FortiAuthenticator's TACACS+
    service) would bring the case back."""
    for server in _entries(parse(config.text), "user tacacs+"):
        if server.first("authen-type") == "ascii":
            yield config.finding(
                server.settings["authen-type"][1],
                "fortios-tacacs-ascii",
                f"TACACS+ server {server.name} authenticates with ASCII (CVE-2025-22252 on 7.4.4-7.4.6)",
            )


@register_rule(PLATFORM)
def firewall_policies(config: ConfigFile) -> Iterator[Finding]:
    """Policies exist where traffic must pass (every hub, every store), none accepts any to any,
    and a loopback that admits management has a policy towards it."""
    if config.suffix:
        return
    parsed = parse(config.text)
    policies = _entries(parsed, "firewall policy")
    if not policies:
        yield config.finding(0, "fortios-no-policy", "no firewall policy: FortiOS forwards nothing")
    for policy in policies:
        if (
            policy.first("action") == "accept"
            and policy.get("srcaddr") == ["all"]
            and policy.get("dstaddr") == ["all"]
            and policy.get("service") == ["ALL"]
        ):
            yield config.finding(
                policy.line, "fortios-permit-any-any", f"policy {policy.name} accepts any to any"
            )
    subnets = {
        entry.name: [f"{entry.get('subnet')[0]}/{entry.get('subnet')[1]}"]
        for entry in _entries(parsed, "firewall address")
        if len(entry.get("subnet")) == 2
    }
    for group in _entries(parsed, "firewall addrgrp"):
        subnets[group.name] = [net for member in group.get("member") for net in subnets.get(member, [])]
    denied: dict[tuple[str, ...], list[str]] = {}
    for policy in policies:
        sources = tuple(policy.get("srcintf"))
        if (policy.first("action") or "deny") == "deny":  # FortiOS's default action
            denied.setdefault(sources, []).extend(
                net for name in policy.get("dstaddr") for net in subnets.get(name, [])
            )
        elif policy.get("dstaddr") == ["all"] and config.role == "edge":  # a store's segment flows
            gaps = private_gaps(denied.get(sources, []))
            if gaps:
                yield config.finding(
                    policy.line,
                    "fortios-internet-private",
                    f"policy {policy.name} accepts all destinations before denying {', '.join(gaps)}",
                )
    if config.role == "hub":
        # A tunnel outside the store zone (a cloud VPN) needs policies both ways, or it carries
        # its BGP session (local traffic) and nothing else.
        zoned = {name for zone in _entries(parsed, "system zone") for name in zone.get("interface")}
        from_interfaces = {name for policy in policies for name in policy.get("srcintf")}
        to_interfaces = {name for policy in policies for name in policy.get("dstintf")}
        for interface in _entries(parsed, "system interface"):
            unzoned = interface.first("type") == "tunnel" and interface.name not in zoned
            if unzoned and not (interface.name in from_interfaces and interface.name in to_interfaces):
                yield config.finding(
                    interface.line,
                    "fortios-tunnel-policy",
                    f"tunnel {interface.name} is not in a policy both as source and destination",
                )
    targets = {name for policy in policies for name in policy.get("dstintf")}
    for interface in _entries(parsed, "system interface"):
        admits = {"ssh", "snmp", "https"} & set(interface.get("allowaccess"))
        if interface.first("type") == "loopback" and admits and interface.name not in targets:
            yield config.finding(
                interface.line,
                "fortios-loopback-policy",
                f"loopback {interface.name} admits management but no policy reaches it",
            )


@register_rule(PLATFORM)
def policy_interfaces(config: ConfigFile) -> Iterator[Finding]:
    """Every firewall policy names the interfaces or zones its traffic enters and leaves by:
    `any` admits traffic from (or to) an interface nobody meant, the WAN included."""
    if config.suffix:
        return
    for policy in _entries(parse(config.text), "firewall policy"):
        for key in ("srcintf", "dstintf"):
            if "any" in policy.get(key):
                yield config.finding(
                    policy.settings[key][1],
                    "fortios-policy-any-interface",
                    f"policy {policy.first('name') or policy.name}: {key} \"any\"",
                )


@register_rule(PLATFORM)
def policy_logging(config: ConfigFile) -> Iterator[Finding]:
    """Every firewall policy logs all its sessions (`set logtraffic all`). Left out, a policy
    takes FortiOS's default, `utm`, which logs only sessions a security profile acts on (FortiOS
    7.4.8 CLI Reference, config firewall policy: logtraffic, default utm); no policy here carries
    a profile, so such a policy logs nothing, whatever it admits."""
    if config.suffix:
        return
    for policy in _entries(parse(config.text), "firewall policy"):
        if policy.first("logtraffic") != "all":
            yield config.finding(
                policy.settings.get("logtraffic", ([], policy.line))[1],
                "fortios-policy-log",
                f"policy {policy.first('name') or policy.name} does not log all its sessions "
                f"(logtraffic {policy.first('logtraffic') or 'utm, the default'})",
            )


@register_rule(PLATFORM)
def management_path(config: ConfigFile) -> Iterator[Finding]:
    """Stores: management reaches the loopback over the hub overlay (the SD-WAN zones) only,
    never over a WAN port or a cloud VPN."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    overlay = {entry.name for entry in _nested(sdwan, "zone")} if sdwan else set()
    loopbacks = {e.name for e in _entries(parsed, "system interface") if e.first("type") == "loopback"}
    for policy in _entries(parsed, "firewall policy"):
        if policy.first("action") != "accept" or not loopbacks & set(policy.get("dstintf")):
            continue
        outside = [name for name in policy.get("srcintf") if name not in overlay]
        if outside:
            yield config.finding(
                policy.settings["srcintf"][1],
                "fortios-management-path",
                f"policy {policy.first('name') or policy.name} admits traffic to the loopback from "
                f"{', '.join(outside)}, outside the hub overlay",
            )


@register_rule(PLATFORM)
def store_answers(config: ConfigFile) -> Iterator[Finding]:
    """Stores: where a segment's policies let its flows leave by some SD-WAN zones of the hub
    overlay but not all of them (CCTV and IoT by "overlay", never "overlay-cellular"), their
    answers may still come back on a member of another zone: a hub returns a store's traffic over
    the tunnel it ranks first, a cellular one once the store signals its wired tunnel out of its
    strictest class's SLA (README, "Return path"). With `auxiliary-session` at its default
    (disable) FortiOS refreshes the session with the reply's interface and judges it by policies
    that leave that zone out; `config system settings` / `set auxiliary-session enable` takes
    the change of interface as an auxiliary session (Administration Guide 7.4, "Controlling return
    path with auxiliary session")."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    if sdwan is None:
        return
    members = {member.first("zone") for member in _nested(sdwan, "members")}
    zones = {entry.name for entry in _nested(sdwan, "zone")} & members
    settings = parsed.get("system settings")
    if len(zones) < 2 or (settings is not None and settings.own.first("auxiliary-session") == "enable"):
        return
    for policy in _entries(parsed, "firewall policy"):
        leaves = set(policy.get("dstintf")) & zones
        if policy.first("action") == "accept" and leaves and leaves != zones:
            yield config.finding(
                policy.settings["dstintf"][1],
                "fortios-store-answers",
                f"policy {policy.first('name') or policy.name} sends by {', '.join(sorted(leaves))} only and"
                f" auxiliary-session is not enabled: its answers arriving on a member of"
                f" {', '.join(sorted(zones - leaves))} are judged by policies that leave that zone out",
            )
            return


@register_rule(PLATFORM)
def dialup_routes(config: ConfigFile) -> Iterator[Finding]:
    """A dial-up phase 1 (`type dynamic`) adds a static route to whatever its peer's phase 2
    proposes (a default route, for 0.0.0.0/0 selectors) unless `add-route disable`: where BGP
    runs over the tunnel, those routes duplicate and override it."""
    if config.suffix:
        return
    parsed = parse(config.text)
    bgp = parsed.get("router bgp")
    neighbors = {entry.name for entry in _nested(bgp.own, "neighbor")} if bgp else set()
    interfaces = {entry.name: entry for entry in _entries(parsed, "system interface")}
    for phase1 in _entries(parsed, "vpn ipsec phase1-interface"):
        if phase1.first("type") != "dynamic" or phase1.first("add-route") == "disable":
            continue
        interface = interfaces.get(phase1.name)
        if interface is not None and interface.first("remote-ip") in neighbors:
            yield config.finding(
                phase1.line,
                "fortios-dialup-add-route",
                f"dial-up phase 1 {phase1.name} adds routes from its peer's selectors beside BGP "
                "(set add-route disable)",
            )


@register_rule(PLATFORM)
def dialup_selection(config: ConfigFile) -> Iterator[Finding]:
    """Several dial-up phase 1s (`type dynamic`) on one interface: FortiOS answers an incoming
    IKE_SA_INIT with the first phase 1 (alphabetically) whose local gateway, mode, proposal and
    DH group match; with IKEv2 and pre-shared keys it re-validates the gateway once the peer's
    identity arrives in IKE_AUTH (Fortinet KB FD52381, "gateway re-validation ... IKEv2 with
    pre-shared key authentication"). Only a `peertype one` peer ID that no other dial-up phase 1
    of the interface accepts makes that choice the store's own tunnel (and PSK): the stores of
    other platforms send no Fortinet network-id (a proprietary IKEv2 attribute, Fortinet
    community "FortiGate Hub with multiple IPSec Dial-up phase1")."""
    if config.suffix:
        return
    parsed = parse(config.text)
    by_interface: dict[str, list[Entry]] = {}
    for phase1 in _entries(parsed, "vpn ipsec phase1-interface"):
        if phase1.first("type") == "dynamic":
            by_interface.setdefault(phase1.first("interface") or "", []).append(phase1)
    for phase1s in by_interface.values():
        if len(phase1s) < 2:
            continue
        owners: dict[str, str] = {}
        for phase1 in phase1s:
            peer_id = phase1.first("peerid") if phase1.first("peertype") == "one" else None
            if phase1.first("ike-version") != "2" or peer_id is None:
                yield config.finding(
                    phase1.line,
                    "fortios-dialup-selection",
                    f"dial-up phase 1 {phase1.name} shares its interface with other dial-up phase 1s but does "
                    "not bind its peer by IKEv2 identity (ike-version 2, peertype one, peerid): another "
                    "store's negotiation can land on it",
                )
            elif peer_id in owners:
                yield config.finding(
                    phase1.line,
                    "fortios-dialup-selection",
                    f"dial-up phase 1 {phase1.name} accepts peer ID {peer_id}, as {owners[peer_id]} does: "
                    "FortiOS cannot tell their peers apart",
                )
            else:
                owners[peer_id] = phase1.name


@register_rule(PLATFORM)
def ipsec_lifetimes(config: ConfigFile) -> Iterator[Finding]:
    """Every phase 1 and phase 2 states the fleet policy's SA lifetime (network/crypto.py). Left
    out, FortiOS keeps its defaults, 86400 s for phase 1 and 43200 s for phase 2 (CLI reference,
    `config vpn ipsec phase1-interface` / `phase2-interface`): above what an AWS Site-to-Site VPN
    tunnel accepts (28800 / 3600 s) and not what the far end rekeys at, every other platform and
    the AWS tunnel options being derived from the same policy."""
    if config.suffix:
        return
    parsed = parse(config.text)
    for path, phase, key, default, policy, sa in (
        ("vpn ipsec phase1-interface", "phase 1", "keylife", 86400, FLEET_CRYPTO.ike_lifetime_seconds, "IKE"),
        ("vpn ipsec phase2-interface", "phase 2", "keylifeseconds", 43200, FLEET_CRYPTO.esp_lifetime_seconds, "ESP"),
    ):
        for entry in _entries(parsed, path):
            if entry.first(key) != str(policy):
                yield config.finding(
                    entry.line,
                    "fortios-ipsec-lifetime",
                    f"{phase} {entry.name} {key} {entry.first(key) or f'unset ({default})'}: the fleet "
                    f"policy's {sa} lifetime is {policy} s",
                )


# What a phase 1 holds where it sets nothing (`SHOW_OMITS_DEFAULTS`).
_PHASE1_DEFAULTS = {
    setting: value for path, setting, value in SHOW_OMITS_DEFAULTS if path == ("vpn ipsec phase1-interface",)
}


@register_rule(PLATFORM)
def ipsec_dpd(config: ConfigFile) -> Iterator[Finding]:
    """Every phase 1 states the fleet policy's dead-peer detection (network/crypto.py): `dpd
    on-idle` with its retry interval and count. Left out, FortiOS probes only on demand, every
    20 s (CLI reference, config vpn ipsec phase1-interface: dpd, dpd-retryinterval defaults)."""
    if config.suffix:
        return
    for entry in _entries(parse(config.text), "vpn ipsec phase1-interface"):
        for key, policy in (
            ("dpd", "on-idle"),
            ("dpd-retryinterval", str(dpd_retryinterval(None))),
            ("dpd-retrycount", str(dpd_retrycount(None))),
        ):
            if (entry.first(key) or _PHASE1_DEFAULTS.get(key)) != policy:
                yield config.finding(
                    entry.line,
                    "fortios-ipsec-dpd",
                    f"phase 1 {entry.name} {key} {entry.first(key) or 'unset'}: the fleet policy's "
                    f"dead-peer detection gives {policy}",
                )


def _walk(
    blocks: dict[str, Block], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Entry]]:
    """Every entry and every block's own settings, with the `config` path that holds them."""
    for name, block in blocks.items():
        here = (*path, name)
        for entry in (block.own, *block.entries):
            yield here, entry
            yield from _walk(entry.blocks, here)


@register_rule(PLATFORM)
def default_shown(config: ConfigFile) -> Iterator[Finding]:
    """No line sets a value `show` leaves out, its default (`SHOW_OMITS_DEFAULTS`): the unit never
    shows it back, so every push and every drift check would find it missing."""
    if config.suffix:
        return
    defaults: dict[tuple[tuple[str, ...], str], str] = {
        (path, setting): value for path, setting, value in SHOW_OMITS_DEFAULTS
    }
    for path, entry in _walk(parse(config.text)):
        for setting, (values, line) in entry.settings.items():
            default = defaults.get((path, setting))
            if default is not None and values == default.split():
                yield config.finding(
                    line,
                    "fortios-default-shown",
                    f"{' / '.join(path)} {entry.name or ''}: set {setting} {default} is FortiOS's default, "
                    "which `show` leaves out: the line would never read back",
                )


@register_rule(PLATFORM)
def ike_version(config: ConfigFile) -> Iterator[Finding]:
    """Every phase 1 negotiates IKEv2, as every far end of the fleet does (strongSwan's `version
    = 2`, IOS-XE's `crypto ikev2`, VRP's `undo version 1`, the AWS tunnel options' `ikev2`): a
    phase 1 without `set ike-version 2` runs IKEv1, FortiOS's default (CLI reference, `config vpn
    ipsec phase1-interface`: `set ike-version [1|2]`), and never comes up with any of them."""
    if config.suffix:
        return
    for entry in _entries(parse(config.text), "vpn ipsec phase1-interface"):
        version = entry.first("ike-version")
        if version != "2":
            yield config.finding(
                entry.line,
                "fortios-ike-version",
                f"phase 1 {entry.name} ike-version {version or 'unset (1)'}: IKEv1, while its far end "
                "negotiates IKEv2 only, so the tunnel never comes up",
            )


@register_rule(PLATFORM)
def net_device_dialup_only(config: ConfigFile) -> Iterator[Finding]:
    """`net-device` decides whether the instances of a dial-up phase 1 (`type dynamic`) get
    interfaces of their own (Administration Guide, "Dynamic tunnel interface creation"); a
    static phase 1 is itself one tunnel interface and the setting says nothing there."""
    if config.suffix:
        return
    for phase1 in _entries(parse(config.text), "vpn ipsec phase1-interface"):
        if phase1.first("net-device") is not None and phase1.first("type") != "dynamic":
            yield config.finding(
                phase1.settings["net-device"][1],
                "fortios-net-device-static",
                f"phase 1 {phase1.name} is not dial-up (type {phase1.first('type') or 'static'}): "
                "net-device applies to dial-up phase 1s only",
            )


@register_rule(PLATFORM)
def local_out_backup(config: ConfigFile) -> Iterator[Finding]:
    """A store with wired and LTE/5G tunnels keeps its own traffic (NTP, syslog, TACACS+, DNS)
    off LTE/5G while a wired tunnel is up. Local-out traffic follows the routing table unless the
    feature says `interface-select-method sdwan` (Administration Guide, "Local out traffic"), and
    the hubs' routes run through every tunnel alike (eBGP multipath): each feature must select by
    SD-WAN, and an SD-WAN rule for the loopback's traffic must rank every wired member before any
    LTE/5G one."""
    if config.suffix:
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    if sdwan is None:
        return
    zones = {member.name: member.first("zone") for member in _nested(sdwan, "members")}
    cellular = {name for name, zone in zones.items() if zone == "overlay-cellular"}
    if not cellular or len(cellular) == len(zones):
        return
    features: list[tuple[str, Entry, int]] = [
        (path, block.own, block.line)
        for path, block in parsed.items()
        if path == "system dns" or (path.startswith("log syslogd") and path.endswith(" setting"))
    ]
    features += [(f"user tacacs+ {entry.name}", entry, entry.line) for entry in _entries(parsed, "user tacacs+")]
    ntp = parsed.get("system ntp")
    if ntp is not None:
        features += [
            (f"system ntp server {entry.name}", entry, entry.line) for entry in _nested(ntp.own, "ntpserver")
        ]
    for name, entry, line in features:
        if entry.first("interface-select-method") != "sdwan":
            yield config.finding(
                line,
                "fortios-local-out-cellular",
                f"{name}: no interface-select-method sdwan, so the routing table picks its tunnel "
                "and may pick an LTE/5G one while a wired tunnel is up",
            )
    rules = [rule for rule in _nested(sdwan, "service") if "LOOPBACK" in rule.get("src")]
    ranked = [
        rule
        for rule in rules
        if (members := rule.get("priority-members"))
        and not any(
            members[i] in cellular and members[j] not in cellular
            for i in range(len(members))
            for j in range(i + 1, len(members))
        )
        and set(zones) - cellular <= set(members)
    ]
    if features and not ranked:
        yield config.finding(
            parsed["system sdwan"].line,
            "fortios-local-out-cellular",
            "no SD-WAN rule for the loopback's traffic ranks every wired member before the LTE/5G ones",
        )


@register_rule(PLATFORM)
def local_out_rule(config: ConfigFile) -> Iterator[Finding]:
    """A store with more than one hub tunnel sends its own traffic by an SD-WAN rule for its
    loopback. Without one, SD-WAN's implicit rule spreads it over every member with a route by
    its `load-balance-mode` (Cookbook 6.2, "Implicit rule"), and the hubs' routes run through
    every tunnel alike (eBGP multipath): the loopback's traffic may land on the other hub's
    tunnel, while HQ's answers come back through the home hub, which holds no session for them
    and drops them (DNS, NTP, TACACS+)."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    if sdwan is None or len(_nested(sdwan, "members")) < 2:
        return
    if not any("LOOPBACK" in rule.get("src") for rule in _nested(sdwan, "service")):
        yield config.finding(
            parsed["system sdwan"].line,
            "fortios-local-out-hub",
            "no SD-WAN rule for the loopback's traffic: the implicit rule spreads it over every hub's "
            "tunnels, and HQ's answers come back through the home hub, which drops another hub's",
        )


@register_rule(PLATFORM)
def link_monitor_routes(config: ConfigFile) -> Iterator[Finding]:
    """A link monitor that fails removes every static route through its port and gateway unless
    told otherwise (`update-static-route`, on by default; `route` limits it to the routes
    listed: "Link monitor with route updates", FortiOS administration guide): on a port that
    also carries tunnel underlay routes, a gateway that stops answering pings takes the tunnels
    over that port down with it."""
    if config.suffix:
        return
    parsed = parse(config.text)
    for monitor in _entries(parsed, "system link-monitor"):
        if monitor.first("update-static-route") == "disable" or monitor.get("route"):
            continue
        port = monitor.first("srcintf")
        carried = [
            route.name
            for route in _entries(parsed, "router static")
            if route.first("device") == port and route.get("dst") not in ([], ["0.0.0.0", "0.0.0.0"])
        ]
        if carried:
            yield config.finding(
                monitor.line,
                "fortios-link-monitor-routes",
                f"link monitor {monitor.name} removes every static route via {port} when it fails, "
                f"static route(s) {', '.join(carried)} among them (set update-static-route disable)",
            )


@register_rule(PLATFORM)
def dhcp_leases(config: ConfigFile) -> Iterator[Finding]:
    """A DHCP WAN port takes only its address from the lease where routing and DNS are managed:
    by default the lease installs a default route (distance 5, above BGP's) and replaces the
    configured resolvers with the ISP's."""
    if config.suffix:
        return
    parsed = parse(config.text)
    bgp = parsed.get("router bgp")
    routed = bgp is not None and bool(_nested(bgp.own, "neighbor"))
    dns = parsed.get("system dns")
    resolvers = dns is not None and dns.own.first("primary") is not None
    for interface in _entries(parsed, "system interface"):
        if interface.first("mode") != "dhcp":
            continue
        if routed and interface.first("defaultgw") != "disable":
            yield config.finding(
                interface.line,
                "fortios-dhcp-lease",
                f"DHCP port {interface.name} installs the lease's default route over BGP's (set defaultgw disable)",
            )
        if resolvers and interface.first("dns-server-override") != "disable":
            yield config.finding(
                interface.line,
                "fortios-dhcp-lease",
                f"DHCP port {interface.name} replaces the configured DNS servers with the lease's "
                "(set dns-server-override disable)",
            )


@register_rule(PLATFORM)
def timers(config: ConfigFile) -> Iterator[Finding]:
    """BGP hold time at least three keepalives."""
    if config.suffix:
        return
    bgp = parse(config.text).get("router bgp")
    for neighbor in _nested(bgp.own, "neighbor") if bgp else []:
        keepalive, hold = neighbor.first("keep-alive-timer"), neighbor.first("holdtime-timer")
        if keepalive and hold and int(hold) != 0 and int(hold) < 3 * int(keepalive):
            yield config.finding(
                neighbor.settings["holdtime-timer"][1],
                "fortios-bgp-timers",
                f"hold time {hold} s is less than 3 x keepalive {keepalive} s",
            )


# FortiOS 7.2+ CLI reference, system sdwan: the ranges a health check, its SLA entries and a rule take.
_HEALTH_CHECK_RANGES = {
    "interval": (20, 3_600_000),
    "probe-timeout": (20, 3_600_000),
    "probe-count": (5, 30),
    "failtime": (1, 3600),
    "recoverytime": (1, 3600),
    "sla-fail-log-period": (0, 3600),
    "sla-pass-log-period": (0, 3600),
}
_SLA_RANGES = {
    "packetloss-threshold": (0, 100),
    "latency-threshold": (0, 10_000_000),
    "jitter-threshold": (0, 10_000_000),
}
_SERVICE_RANGES = {"hold-down-time": (0, 10_000_000)}


def _out_of_range(
    config: ConfigFile, entry: Entry, ranges: dict[str, tuple[int, int]], what: str
) -> Iterator[Finding]:
    for key, (low, high) in ranges.items():
        value = entry.first(key)
        if value is not None and (not value.isdigit() or not low <= int(value) <= high):
            yield config.finding(
                entry.settings[key][1],
                "fortios-sdwan-timers",
                f"{what} {entry.name}: {key} {value} is outside {low}-{high}",
            )


@register_rule(PLATFORM)
def sdwan_steering(config: ConfigFile) -> Iterator[Finding]:
    """SD-WAN health checks and rules: values within the CLI's ranges, every SLA a rule names is
    defined in its health check, every health check serves a rule, every rule takes only members
    whose route to the destination is the best one (`tie-break fib-best-match`: a hub that
    withdrew HQ's summary still gives its tunnels the default route; devices/platforms/fortinet.py
    SDWAN_TIE_BREAK), and rules in `sla` mode have candidate paths installed (eBGP multipath on,
    no local preference setting one hub route above another: a rule can only move traffic to a
    member that has a route). A preference on routes that no such rule takes (each rule's negated
    `dst` holds them: the cloud summary on a store with AWS tunnels) leaves no rule without a
    member and is not counted."""
    if config.suffix:
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    if sdwan is None:
        return
    checks = {entry.name: entry for entry in _nested(sdwan, "health-check")}
    used: set[str] = set()
    for check in checks.values():
        yield from _out_of_range(config, check, _HEALTH_CHECK_RANGES, "health check")
        for sla in _nested(check, "sla"):
            yield from _out_of_range(config, sla, _SLA_RANGES, f"health check {check.name} SLA")
    services = _nested(sdwan, "service")
    for service in services:
        yield from _out_of_range(config, service, _SERVICE_RANGES, "rule")
        used.update(service.get("health-check"))
        for sla in _nested(service, "sla"):
            used.add(sla.name)
            target = checks.get(sla.name)
            ids = {entry.name for entry in _nested(target, "sla")} if target is not None else set()
            if target is not None and sla.first("id") not in ids:
                yield config.finding(
                    sla.line,
                    "fortios-sla-undefined",
                    f"rule {service.first('name') or service.name}: health check {sla.name} "
                    f"has no SLA {sla.first('id')}",
                )
    for service in services:
        if service.get("priority-members") and service.first("tie-break") != "fib-best-match":
            yield config.finding(
                service.line,
                "fortios-sdwan-any-route",
                f"rule {service.first('name') or service.name}: takes a member with any route to the "
                "destination, the hubs' default route included, so it keeps steering to a hub that "
                "withdrew the destination's summary (set tie-break fib-best-match)",
            )
    for name, check in checks.items():
        if name not in used:
            yield config.finding(
                check.line, "fortios-health-check-unused", f"health check {name}: no rule uses it"
            )
    steering = [s for s in services if s.first("mode") == "sla" and len(s.get("priority-members")) > 1]
    if not steering:
        return
    bgp = parsed.get("router bgp")
    if bgp is None:
        return
    if bgp.own.first("ebgp-multipath") != "enable":
        yield config.finding(
            bgp.line,
            "fortios-sdwan-paths-not-installed",
            "SD-WAN rules in sla mode, but BGP installs one path per prefix (set ebgp-multipath enable)",
        )
    gateways = {entry.first("gateway") for entry in _nested(sdwan, "members")}
    maps = {entry.name: entry for entry in _entries(parsed, "router route-map")}
    steered = _steered_by(steering, _address_nets(parsed), _prefix_lists(parsed))
    preferences: dict[str, int] = {}
    for neighbor in _nested(bgp.own, "neighbor"):
        if neighbor.name not in gateways:
            continue
        route_map = maps.get(neighbor.first("route-map-in") or "")
        rules = _nested(route_map, "rule") if route_map is not None else []
        values = {
            value
            for rule in rules
            if (value := rule.first("set-local-preference")) is not None and steered(rule.first("match-ip-address"))
        }
        preferences[neighbor.name] = int(values.pop()) if values else 100
    if len(set(preferences.values())) > 1:
        yield config.finding(
            bgp.line,
            "fortios-sdwan-paths-not-installed",
            "SD-WAN rules in sla mode, but hub routes get different local preferences "
            f"({', '.join(f'{peer}: {pref}' for peer, pref in sorted(preferences.items()))}): only the best "
            "path is installed and the rules have no member to move to",
        )


def _prefix_lists(parsed: dict[str, Block]) -> dict[str, list[ipaddress.IPv4Network] | None]:
    """Each prefix list by name as the prefixes of its rules (`_prefix_rules`); None for one this
    reader cannot follow (a rule without a prefix it reads, a `ge`/`le` range, a deny)."""
    rules = _prefix_rules(parsed)
    found: dict[str, list[ipaddress.IPv4Network] | None] = {}
    for entry in _entries(parsed, "router prefix-list"):
        listed = rules.get(entry.name, [])
        exact = len(listed) == len(_nested(entry, "rule")) and all(
            rule.permit and rule.low == rule.high == rule.prefix.prefixlen for rule in listed
        )
        found[entry.name] = [rule.prefix for rule in listed] if exact else None
    return found


def _steered_by(
    rules: Sequence[Entry],
    nets: dict[str, list[ipaddress.IPv4Network] | None],
    prefix_lists: dict[str, list[ipaddress.IPv4Network] | None],
) -> Callable[[str | None], bool]:
    """Whether routes a route-map rule matches by a prefix list (None: every route) may carry
    traffic of one of the SD-WAN `rules`: unless each of its prefixes lies inside the negated
    `dst` of every rule, so that no rule takes a packet to it."""
    excluded: list[list[ipaddress.IPv4Network]] = []
    for rule in rules:
        found = [nets.get(name) for name in rule.get("dst")]
        if rule.first("dst-negate") != "enable" or any(net is None for net in found):
            return lambda _: True
        excluded.append([net for group in found if group is not None for net in group])

    def steered(prefix_list: str | None) -> bool:
        prefixes = prefix_lists.get(prefix_list) if prefix_list is not None else None
        if prefixes is None:
            return True
        return not all(any(prefix.subnet_of(net) for net in outside) for prefix in prefixes for outside in excluded)

    return steered


@register_rule(PLATFORM)
def sdwan_zone_members(config: ConfigFile) -> Iterator[Finding]:
    """A segment whose policies leave by some SD-WAN zones only (IoT: not "overlay-cellular") has
    all its traffic steered by SD-WAN rules whose members are in those zones. FortiOS picks the
    outgoing interface before it looks up the policy; traffic no rule takes follows the implicit
    rule, which spreads sessions by source address over every member with a route (the hubs'
    routes are installed through every tunnel: "Equal cost multi-path", FortiOS 7.2
    administration guide, ECMP and the SD-WAN implicit rule), so some of the segment's hosts
    land on a member of a zone no policy of theirs names and are dropped by the implicit deny."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    if sdwan is None:
        return
    zone_of = {member.name: member.first("zone") or "virtual-wan-link" for member in _nested(sdwan, "members")}
    zones = set(zone_of.values())
    services = [s for s in _nested(sdwan, "service") if s.first("status") != "disable"]
    seen: set[str] = set()
    for policy in _entries(parsed, "firewall policy"):
        allowed = set(policy.get("dstintf")) & zones
        if policy.first("action") != "accept" or not allowed or allowed == zones:
            continue
        for source in policy.get("srcaddr"):
            if source in seen:
                continue
            seen.add(source)
            rules = [s for s in services if source in s.get("src")]
            for rule in rules:
                outside = [m for m in rule.get("priority-members") if zone_of.get(m) not in allowed]
                if outside:
                    yield config.finding(
                        rule.line,
                        "fortios-sdwan-zone-members",
                        f"rule {rule.first('name') or rule.name}: sends {source} over member(s) "
                        f"{' '.join(outside)}, outside zone(s) {' '.join(sorted(allowed))} its policies "
                        "allow: those sessions meet the implicit deny",
                    )
            if not any(not rule.get("protocol") and not rule.get("start-port") for rule in rules):
                yield config.finding(
                    policy.line,
                    "fortios-sdwan-zone-members",
                    f"policy {policy.name} ({policy.first('name') or ''}): {source} may leave by zone(s) "
                    f"{' '.join(sorted(allowed))} only, but no SD-WAN rule takes all of its traffic: the "
                    "implicit rule spreads it over every member with a route, "
                    f"{' '.join(sorted(zones - allowed))} included, where it meets the implicit deny",
                )


@register_rule(PLATFORM)
def return_path(config: ConfigFile) -> Iterator[Finding]:
    """The hubs return traffic over the path the store's SLA allows: every hub BGP neighbour
    whose member a health check judges is an SD-WAN neighbour (member, health check, SLA id that
    exist), announces the store with `route-map-out-preferable` while in SLA and, out of it, with
    a `route-map-out` that tags the prefixes with a community (else the hub never learns); an
    SD-WAN neighbour that is no such BGP neighbour changes nothing."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    bgp = parsed.get("router bgp")
    if sdwan is None or bgp is None:
        return
    checks = {entry.name: entry for entry in _nested(sdwan, "health-check")}
    judged = {member for check in checks.values() for member in check.get("members")}
    gateways = {entry.first("gateway"): entry.name for entry in _nested(sdwan, "members")}
    neighbors = {entry.name: entry for entry in _nested(sdwan, "neighbor")}
    maps = {entry.name: entry for entry in _entries(parsed, "router route-map")}
    peers = {entry.name: entry for entry in _nested(bgp.own, "neighbor")}
    for name, sd_neighbor in neighbors.items():
        peer = peers.get(name)
        if peer is None or peer.first("route-map-out-preferable") is None:
            yield config.finding(
                sd_neighbor.line,
                "fortios-return-path",
                f"SD-WAN neighbor {name}: no BGP neighbor {name} with route-map-out-preferable, so its "
                "SLA changes nothing the hub sees",
            )
        check = checks.get(sd_neighbor.first("health-check") or "")
        if check is None:
            yield config.finding(
                sd_neighbor.line,
                "fortios-return-path",
                f"SD-WAN neighbor {name}: health check {sd_neighbor.first('health-check')!r} is not defined",
            )
        elif sd_neighbor.first("sla-id") not in {entry.name for entry in _nested(check, "sla")}:
            yield config.finding(
                sd_neighbor.line,
                "fortios-return-path",
                f"SD-WAN neighbor {name}: health check {check.name} has no SLA {sd_neighbor.first('sla-id')}",
            )
        elif gateways.get(name) not in sd_neighbor.get("member") or gateways.get(name) not in check.get("members"):
            yield config.finding(
                sd_neighbor.line,
                "fortios-return-path",
                f"SD-WAN neighbor {name}: member {' '.join(sd_neighbor.get('member'))} is not the tunnel "
                f"to {name} that health check {check.name} judges",
            )
    for name, peer in peers.items():
        member = gateways.get(name)
        if member is None or member not in judged:
            continue
        if name not in neighbors:
            yield config.finding(
                peer.line,
                "fortios-return-path",
                f"BGP neighbor {name}: its path is judged by a health check but it is no SD-WAN neighbor, "
                "so the hub keeps returning traffic over it out of SLA",
            )
            continue
        degraded = maps.get(peer.first("route-map-out") or "")
        rules = _nested(degraded, "rule") if degraded is not None else []
        if not any(rule.first("set-community") for rule in rules):
            yield config.finding(
                peer.line,
                "fortios-return-path",
                f"BGP neighbor {name}: route-map-out {peer.first('route-map-out')!r} (out of SLA) tags no "
                "community, so the hub cannot tell the path is degraded",
            )


@register_ranking(PLATFORM)
def hub_return_ranking(config: ConfigFile) -> RankingFacts:
    """Hub: the route-map rules that rank routes by local preference and the community lists,
    for the cross-file check that those bound to store sessions take the routes a store tags
    degraded (`match-community`) below every untagged route of the store."""
    parsed = parse(config.text)
    lists = {entry.name for entry in _entries(parsed, "router community-list")}
    facts = [
        RankingFact(
            route_map.name,
            rule.line,
            f"route-map {route_map.name} rule {rule.name}",
            prefixes,
            rule.first("match-community"),
            int(pref),
        )
        for route_map in _entries(parsed, "router route-map")
        for rule in _nested(route_map, "rule")
        if (pref := rule.first("set-local-preference")) is not None
        and (prefixes := rule.first("match-ip-address")) is not None
    ]
    return RankingFacts("fortios-return-path", facts, lists)


@register_rule(PLATFORM)
def hub_src_check(config: ConfigFile) -> Iterator[Finding]:
    """Hubs: the store tunnels (the tunnels of its zones; the cloud VPNs are in none) skip
    FortiOS's reverse path check, `src-check disable`, and no other interface does. The hub
    installs only its best BGP path to a store, and once the store signals a tunnel out of its
    strictest class's SLA its other classes keep arriving on that tunnel: the check would drop
    their new sessions ("reverse path check fail"). Elsewhere (the DC port, the loopbacks, the
    cloud tunnels) it stays the hub's anti-spoofing."""
    if config.suffix or config.role != "hub":
        return
    parsed = parse(config.text)
    zoned = {name: zone.name for zone in _entries(parsed, "system zone") for name in zone.get("interface")}
    for interface in _entries(parsed, "system interface"):
        store = interface.first("type") == "tunnel" and interface.name in zoned
        check = interface.first("src-check")
        if store and check != "disable":
            yield config.finding(
                interface.line,
                "fortios-hub-src-check",
                f"store tunnel {interface.name} (zone {zoned[interface.name]}) runs the reverse path check: "
                "a store's flows arriving on it while the hub's best route to the store is another "
                "tunnel are dropped",
            )
        elif not store and check == "disable":
            yield config.finding(
                interface.settings["src-check"][1],
                "fortios-hub-src-check",
                f"{interface.name} is no store tunnel: src-check disable drops the hub's anti-spoofing there",
            )


@register_steering(PLATFORM)
def steering(config: ConfigFile) -> SteeringFacts:
    """Every health check's SLA entries (class: the SLA id) and every `sla` rule with its members'
    gateways in the order FortiOS takes them (`_preference`: cost, then `priority-members`) and
    its hold-down (return) time."""
    parsed = parse(config.text)
    sdwan = _sdwan(parsed)
    if sdwan is None:
        return SteeringFacts()
    probes = [
        ProbeFact(
            line=sla.line,
            name=f"{check.name} sla {sla.name}",
            sla_class=sla.name,
            next_hop=check.first("server"),
            latency_ms=_number(sla.first("latency-threshold")),
            jitter_ms=_number(sla.first("jitter-threshold")),
            loss_percent=_number(sla.first("packetloss-threshold")),
        )
        for check in _nested(sdwan, "health-check")
        for sla in _nested(check, "sla")
    ]
    members = {entry.name: entry for entry in _nested(sdwan, "members")}
    gateways = {name: entry.first("gateway") or "" for name, entry in members.items()}
    nets = _address_nets(parsed)
    policies = [
        PolicyFact(
            line=service.line,
            application=service.first("name") or service.name,
            next_hops=tuple(gateways.get(member, member) for member in _preference(service, members)),
            recovery_s=_number(service.first("hold-down-time")),
            steers=_sdwan_rule_takes(service, nets),
        )
        for service in _nested(sdwan, "service")
        # SLA steering is the `sla` rules; a `manual` rule keeps a segment that no application
        # class takes whole (IoT) on the wired tunnels, by no SLA.
        if (service.first("mode") or "manual") != "manual"  # FortiOS's default mode
    ]
    return SteeringFacts(probes, policies)


def _preference(service: Entry, members: dict[str, Entry]) -> list[str]:
    """A rule's members in the order FortiOS takes them. In `sla` mode (Lowest Cost (SLA)) the
    member with the lowest `cost` (default 0) among those meeting the SLA, `priority-members`
    order only between equal costs (Administration Guide 7.2.13, "Lowest cost (SLA) strategy",
    https://docs.fortinet.com/document/fortigate/7.2.13/administration-guide/342836); other modes
    in `priority-members` order."""
    order = service.get("priority-members")
    if service.first("mode") != "sla":
        return order

    def cost(name: str) -> int:
        member = members.get(name)
        return (_number(member.first("cost")) if member is not None else None) or 0

    return sorted(order, key=cost)  # stable: equal costs keep the listed order


def _sdwan_rule_takes(
    service: Entry, nets: dict[str, list[ipaddress.IPv4Network] | None]
) -> Callable[[Packet], bool | None]:
    """Whether an SD-WAN rule takes a packet: its `src` and `dst` (with `dst-negate`), its
    `protocol` (none: any) and its destination port range (`start-port`, `end-port`)."""

    def takes(packet: Packet) -> bool | None:
        protocol = service.first("protocol")
        if protocol is not None and protocol != {"tcp": "6", "udp": "17"}.get(packet.protocol):
            return False
        low, high = _number(service.first("start-port")), _number(service.first("end-port"))
        if low is not None and (packet.port is None or not low <= packet.port <= (high or low)):
            return False
        source = _address_matches(service, "src", packet.source, nets)
        destination = _address_matches(service, "dst", packet.destination, nets)
        if source is False or destination is False:
            return False
        return None if source is None or destination is None else True

    return takes


def _number(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _address_id(interface: Entry | None) -> str | None:
    """Without a localid, FortiOS identifies itself by the phase 1 interface's address."""
    return interface.first("ip") if interface is not None else None


def _tunnel_id(interface: Entry | None) -> str | None:
    """The tunnel id the interface description carries ("ipsec <id> ...")."""
    words = (interface.first("description") or "").split() if interface else []
    return words[1] if words[:1] == ["ipsec"] and len(words) > 1 else None


# BFD timers where the level that decides sets none: bfd-desired-min-tx and bfd-required-min-rx
# 250 ms, bfd-detect-mult 3 (Fortinet community, "Technical Tip: How FortiGate calculates BFD
# timers": "Default MinTxInt/MinRxInt timers in a FortiGate").
_BFD_DEFAULTS = (250, 250, 3)
_BFD_TIMERS = ("bfd-desired-min-tx", "bfd-required-min-rx", "bfd-detect-mult")


def _bfd(
    neighbor: Entry | None, interface: Entry | None, settings: Entry | None
) -> tuple[bool | None, tuple[int, int, int] | None]:
    """Does BGP track the neighbour with BFD over its tunnel interface, and with which timers
    (transmit ms, receive ms, multiplier). The neighbour asks for it (`set bfd enable` under
    `config router bgp` / `config neighbor`); whether BFD runs and on which timers is the tunnel
    interface's when it overrides (`set bfd enable` / `disable` and its own `bfd-*` timers), else
    the VDOM's (`config system settings`; an interface's `bfd` is `global` by default): "Per-VDOM
    configuration: config system settings ... Per-interface (override) configuration: config
    system interface"; "The hierarchy allows each lower level to override the upper level's BFD
    setting", `set bfd {enable | disable | global}` (FortiOS 5.0 Help, Advanced Routing: "Dynamic
    routing terminology" and "Border Gateway Protocol", "Bi-directional forwarding detection
    (BFD)"). None: the tunnel has no BGP neighbour on this appliance."""
    if neighbor is None:
        return None, None
    if neighbor.first("bfd") != "enable":
        return False, None
    mode = interface.first("bfd") if interface is not None else None
    level = interface if mode in ("enable", "disable") else settings
    if level is None or level.first("bfd") != "enable":
        return False, None
    timers = tuple(_number(level.first(key)) or default for key, default in zip(_BFD_TIMERS, _BFD_DEFAULTS, strict=True))
    return True, (timers[0], timers[1], timers[2])


@register_session_bfd(PLATFORM)
def session_bfd(config: ConfigFile) -> dict[str, SessionBfdFact]:
    """Per BGP neighbour: does BGP track it with BFD, on which timers (`_bfd`: the neighbour's
    `set bfd enable`, the interface whose subnet holds it, else the VDOM's settings)."""
    if config.suffix:
        return {}
    parsed = parse(config.text)
    subnets = []
    for entry in _entries(parsed, "system interface"):
        address = entry.get("ip")
        if len(address) == 2:
            try:
                subnets.append((ipaddress.IPv4Interface("/".join(address)).network, entry))
            except ValueError:
                continue
    bgp = parsed.get("router bgp")
    settings_block = parsed.get("system settings")
    settings = settings_block.own if settings_block is not None else None
    facts = {}
    for neighbor in _nested(bgp.own, "neighbor") if bgp else []:
        try:
            peer = ipaddress.IPv4Address(neighbor.name)
        except ValueError:
            continue
        # the narrowest subnet: a tunnel's /32 or /30 before a LAN it lies in
        holding = sorted(((net, entry) for net, entry in subnets if peer in net), key=lambda item: -item[0].prefixlen)
        bfd, timers = _bfd(neighbor, holding[0][1] if holding else None, settings)
        facts[neighbor.name] = SessionBfdFact(neighbor.line, bool(bfd), timers)
    return facts


@register_tunnels(PLATFORM)
def tunnels(config: ConfigFile) -> list[TunnelFact]:
    parsed = parse(config.text)
    interfaces = {entry.name: entry for entry in _entries(parsed, "system interface")}
    phase2 = {entry.first("phase1name"): entry for entry in _entries(parsed, "vpn ipsec phase2-interface")}
    bgp = parsed.get("router bgp")
    neighbors = {n.name: n for n in (_nested(bgp.own, "neighbor") if bgp else [])}
    remote_as = {name: int(n.first("remote-as") or 0) for name, n in neighbors.items()}
    settings_block = parsed.get("system settings")
    settings = settings_block.own if settings_block is not None else None
    facts: list[TunnelFact] = []
    for phase1 in _entries(parsed, "vpn ipsec phase1-interface"):
        groups = [int(group) for group in phase1.get("dhgrp")]
        ike = frozenset(
            IkeProposal(_ENCRYPTION.get(encryption, encryption), prf.removeprefix("prf"), group)
            for proposal in phase1.get("proposal")
            for encryption, _, prf in (proposal.partition("-"),)
            for group in groups
        )
        child = phase2.get(phase1.name)
        esp: frozenset[EspProposal] = frozenset()
        if child is not None:
            pfs = 0 if child.first("pfs") == "disable" else int(child.first("dhgrp") or 0)
            esp = frozenset(
                EspProposal(_ENCRYPTION.get(encryption, encryption), integrity or None, pfs)
                for proposal in child.get("proposal")
                for encryption, _, integrity in (proposal.partition("-"),)
            )
        interface = interfaces.get(phase1.name)
        local_inside = interface.first("ip") if interface else None
        peer_inside = interface.first("remote-ip") if interface else None
        psk = phase1.get("psksecret")
        bfd, bfd_timers = _bfd(neighbors.get(peer_inside or ""), interface, settings)
        facts.append(
            TunnelFact(
                file=config.name,
                line=phase1.line,
                name=_tunnel_id(interface) or phase1.name,
                peer_outside=phase1.first("remote-gw"),
                local_inside=local_inside,
                peer_inside=peer_inside,
                # `localid-type address` sends the phase 1 interface's address whatever `localid` says
                local_id=(phase1.first("localid") if phase1.first("localid-type") != "address" else None)
                or _address_id(interfaces.get(phase1.first("interface") or "")),
                local_id_type=_ID_TYPES.get(phase1.first("localid-type") or "auto"),
                # peertype any: the peer is known by its address (remote-gw), as IKE identifies it
                peer_id=phase1.first("peerid") or phase1.first("remote-gw"),
                psk_slot=" ".join(psk) if psk else None,
                peer_asn=remote_as.get(peer_inside or "") or None,
                ike=ike,
                esp=esp,
                bfd=bfd,
                bfd_timers=bfd_timers,
                selectors=(_selector(child, "src"), _selector(child, "dst")) if child is not None else None,
                # FortiOS sizes a tunnel interface's MTU from its underlay itself; `tcp-mss` clamps
                tcp_mss=_number(interface.first("tcp-mss")) or 0 if interface is not None else 0,
                # ... and forwarded traffic's ESP from the path MTU, which starts at the phase 1's port
                underlay_mtu=_port_mtu(interfaces.get(phase1.first("interface") or "")),
            )
        )
    return facts


def _port_mtu(port: Entry | None) -> int | None:
    """A port's MTU as the unit takes it: `set mtu N` under `set mtu-override enable`, else
    FortiOS's default (`INTERFACE_MTU_DEFAULT`); None for a port the config does not hold."""
    if port is None:
        return None
    if port.first("mtu-override") == "enable":
        return _number(port.first("mtu")) or INTERFACE_MTU_DEFAULT
    return INTERFACE_MTU_DEFAULT


# A phase 1's `localid-type` values and the identification types they send (CLI reference,
# `config vpn ipsec phase1-interface`: localid-type [auto|fqdn|user-fqdn|keyid|address|asn1dn]);
# `auto`, the default, leaves the type to FortiOS (not read).
_ID_TYPES = {"fqdn": "fqdn", "user-fqdn": "user-fqdn", "keyid": "key-id", "address": "ipv4", "asn1dn": "dn"}


def _selector(phase2: Entry, side: str) -> tuple[str, ...]:
    """A phase 2's quick-mode selector on one side (`src` its own, `dst` the far end's): by
    default a subnet, 0.0.0.0 0.0.0.0 (CLI reference, `config vpn ipsec phase2-interface`:
    src-addr-type, src-subnet, dst-addr-type, dst-subnet); any other type as FortiOS spells it."""
    kind = phase2.first(f"{side}-addr-type") or "subnet"
    if kind != "subnet":
        return (" ".join([kind, *phase2.get(f"{side}-name"), *phase2.get(f"{side}-start-ip")]),)
    words = phase2.get(f"{side}-subnet") or ["0.0.0.0", "0.0.0.0"]
    try:
        return (str(ipaddress.IPv4Network("/".join(words[:2]), strict=False)),)
    except ValueError:
        return (" ".join(words),)


def _default_routes(parsed: dict[str, Block], port: str) -> list[Entry]:
    """The static default routes through `port` that have a next hop (a gateway, or the one a
    DHCP/PPPoE lease gives with `dynamic-gateway enable`)."""
    return [
        route
        for route in _entries(parsed, "router static")
        if route.first("device") == port
        and route.get("dst") in ([], ["0.0.0.0", "0.0.0.0"], ["0.0.0.0/0"])
        and route.first("blackhole") != "enable"
        and (route.first("gateway") is not None or route.first("dynamic-gateway") == "enable")
    ]


@register_rule(PLATFORM)
def policy_route_next_hops(config: ConfigFile) -> Iterator[Finding]:
    """A policy route that names only its outgoing port takes its next hop from an active route via
    that port to the packet's destination, and matches nothing without one ("Policy routes",
    FortiOS administration guide). A catch-all policy route out of a port with no gateway (a DHCP
    port's) therefore needs a default route via that port in the forwarding table: where BGP
    brings the default, one at the eBGP distance (a greater distance leaves it out of the table)
    and a priority above BGP's routes' (a smaller distance, or the same priority, takes the other
    segments' default away from the overlay)."""
    if config.suffix:
        return
    parsed = parse(config.text)
    bgp = parsed.get("router bgp")
    routed = bgp is not None and bool(_nested(bgp.own, "neighbor"))
    bgp_distance = _number(bgp.own.first("distance-external")) if bgp else None
    ebgp = bgp_distance or BGP_EXTERNAL_DISTANCE
    for policy in _entries(parsed, "router policy"):
        port = policy.first("output-device")
        if port is None or policy.first("gateway") is not None or policy.first("action") == "deny":
            continue
        if policy.get("dst") not in ([], ["0.0.0.0/0.0.0.0"], ["0.0.0.0/0"]) or policy.get("dstaddr"):
            continue
        routes = _default_routes(parsed, port)
        if not routes:
            yield config.finding(
                policy.line,
                "fortios-policy-route-no-route",
                f"policy route {policy.name} leaves through {port} without a gateway, and no default "
                f"route via {port} gives it one (it matches no packet)",
            )
            continue
        if not routed:
            continue
        for route in routes:
            distance = _number(route.first("distance")) or STATIC_DISTANCE
            priority = _number(route.first("priority")) or 0
            if distance > ebgp:
                yield config.finding(
                    route.line,
                    "fortios-policy-route-no-route",
                    f"default route {route.name} via {port} (distance {distance}) stays out of the "
                    f"forwarding table beside BGP's (distance {ebgp}), so policy route {policy.name} "
                    "matches no packet",
                )
            elif distance < ebgp or priority <= 1:
                yield config.finding(
                    route.line,
                    "fortios-policy-route-no-route",
                    f"default route {route.name} via {port} (distance {distance}, priority "
                    f"{priority or 'default'}) takes the default away from BGP's (distance {ebgp}): "
                    "set the eBGP distance and a higher priority",
                )


# One subnet of a policy route's `src` or `dst` as `show router policy` prints it.
_POLICY_ROUTE_SUBNET = re.compile(r'"(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,3}(?:\.\d{1,3}){3})"')


@register_rule(PLATFORM)
def policy_route_subnets(config: ConfigFile) -> Iterator[Finding]:
    """A policy route's `src` and `dst` are lists of subnets (CLI reference, `config router policy`:
    `set src <subnet1>, <subnet2>, ...`, "Source IP and mask"), each one quoted word
    `"A.B.C.D/M.M.M.M"` as `show router policy` prints it. Written as an address and its mask,
    `set src 10.64.5.0 255.255.255.128`, the two words are two entries of the list: the route
    never reads back as rendered (drift on every run), and the mask may be taken for a subnet of
    its own."""
    if config.suffix:
        return
    for policy in _entries(parse(config.text), "router policy"):
        for key in ("src", "dst"):
            _values, number = policy.settings.get(key, ([], 0))
            if not number:
                continue
            for word in config.lines[number - 1].split()[2:]:
                if not _POLICY_ROUTE_SUBNET.fullmatch(word):
                    yield config.finding(
                        number,
                        "fortios-policy-route-subnet",
                        f"policy route {policy.name} {key} {word} is not one quoted \"address/mask\" word, "
                        "as FortiOS takes and shows each subnet of the list",
                    )
                    break


# ---------------------------------------------------------------- what a hub forwards from stores


def _address_nets(parsed: dict[str, Block]) -> dict[str, list[ipaddress.IPv4Network] | None]:
    """Each address and address group by name, as the networks it stands for ("all" is every
    address); None for one this reader cannot resolve (an FQDN, a range, a loop). A group with
    `set exclude enable` stands for its members less its `exclude-member`s ("Address group
    exclusions", FortiOS 6.2 cookbook)."""
    nets: dict[str, list[ipaddress.IPv4Network] | None] = {"all": [ipaddress.IPv4Network("0.0.0.0/0")]}
    for entry in _entries(parsed, "firewall address"):
        subnet = entry.get("subnet")
        try:
            nets[entry.name] = [ipaddress.IPv4Network(f"{subnet[0]}/{subnet[1]}", strict=False)] if len(subnet) == 2 else None
        except ValueError:
            nets[entry.name] = None
    groups = {group.name: group for group in _entries(parsed, "firewall addrgrp")}

    def resolve_all(names: Iterable[str], seen: frozenset[str]) -> list[ipaddress.IPv4Network] | None:
        found: list[ipaddress.IPv4Network] = []
        for member in names:
            member_nets = resolve(member, seen)
            if member_nets is None:
                return None
            found += member_nets
        return found

    def resolve(name: str, seen: frozenset[str]) -> list[ipaddress.IPv4Network] | None:
        if name in nets:
            return nets[name]
        if name not in groups or name in seen:
            return None
        group = groups[name]
        found = resolve_all(group.get("member"), seen | {name})
        if found is None or group.first("exclude") != "enable":
            return found
        excluded = resolve_all(group.get("exclude-member"), seen | {name})
        if excluded is None:
            return None
        return _less(found, excluded)

    for name in groups:
        nets[name] = resolve(name, frozenset())
    return nets


def _less(nets: list[ipaddress.IPv4Network], excluded: list[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    """The addresses of `nets` outside every one of `excluded`, as networks."""
    left = list(nets)
    for cut in excluded:
        kept: list[ipaddress.IPv4Network] = []
        for net in left:
            if not net.overlaps(cut):
                kept.append(net)
            elif not net.subnet_of(cut):
                kept += net.address_exclude(cut)
        left = kept
    return left


def _address_matches(
    policy: Entry, key: str, address: ipaddress.IPv4Address, nets: dict[str, list[ipaddress.IPv4Network] | None]
) -> bool | None:
    """Whether `address` is what the policy's `srcaddr`/`dstaddr` (with its `-negate`) takes."""
    inside = False
    for name in policy.get(key):
        found = nets.get(name)
        if found is None:
            return None
        inside = inside or any(address in net for net in found)
    return inside != (policy.first(f"{key}-negate") == "enable")


# What some predefined services match, as the forwarding reader follows them: (protocol, port);
# port None for ICMP's echo request (PING).
_SERVICE_PACKETS = {"PING": ("icmp", None), "SSH": ("tcp", 22), "SNMP": ("udp", 161), "BGP": ("tcp", 179)}


# IP protocol numbers of the packets the readers follow (IANA), for a custom service that names
# an IP protocol (`set protocol IP`, `set protocol-number N`); "esp" for what a WAN port takes
# from its tunnel peers.
_IP_PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "esp": 50}


def _custom_services(parsed: dict[str, Block]) -> dict[str, list[tuple[str, int, int]] | None]:
    """Each custom service by name as the (protocol, first port, last port) it takes from its
    `tcp-portrange`/`udp-portrange` (destination ports), or ("ip", N, N) for one that names IP
    protocol N (`set protocol IP`, `set protocol-number N`: ESP's 50); None for one this reader
    cannot follow (an ICMP type, a source port range)."""
    found: dict[str, list[tuple[str, int, int]] | None] = {}
    for entry in _entries(parsed, "firewall service custom"):
        number = entry.first("protocol-number") or ""
        if entry.first("protocol") == "IP":
            # Protocol 0 takes every protocol: not followed here.
            found[entry.name] = [("ip", int(number), int(number))] if number.isdigit() and int(number) else None
            continue
        ranges: list[tuple[str, int, int]] | None = []
        for protocol in ("tcp", "udp"):
            for value in entry.get(f"{protocol}-portrange"):
                low, _, high = value.partition("-")
                if ranges is None or ":" in value or not low.isdigit() or not (high or low).isdigit():
                    ranges = None
                    break
                ranges.append((protocol, int(low), int(high or low)))
        found[entry.name] = ranges if ranges else None
    return found


def _service_matches(
    policy: Entry, packet: Packet, custom: dict[str, list[tuple[str, int, int]] | None] | None = None
) -> bool | None:
    """Whether the policy's services take `packet`; None when one of them is not known here."""
    services = policy.get("service")
    if "ALL" in services:
        return True
    unknown = False
    for name in services:
        if name in _SERVICE_PACKETS:
            if _SERVICE_PACKETS[name] == (packet.protocol, packet.port):
                return True
            continue
        ranges = (custom or {}).get(name)
        if ranges is None:
            unknown = True
            continue
        number = _IP_PROTOCOL_NUMBERS.get(packet.protocol)
        if any(p == "ip" and low == number for p, low, _ in ranges):
            return True
        if packet.port is not None and any(
            p == packet.protocol and low <= packet.port <= high for p, low, high in ranges
        ):
            return True
    return None if unknown else False


def _policy_verdict(
    policy: Entry,
    packet: Packet,
    nets: dict[str, list[ipaddress.IPv4Network] | None],
    custom: dict[str, list[tuple[str, int, int]] | None],
    what: str,
) -> Verdict | None:
    """What a firewall or local-in policy does with `packet`, None when it does not match; a
    policy this reader cannot follow matches when it accepts, never when it denies."""
    accept = policy.first("action") == "accept"
    matches = [
        _address_matches(policy, "srcaddr", packet.source, nets),
        _address_matches(policy, "dstaddr", packet.destination, nets),
        _service_matches(policy, packet, custom),
    ]
    if False in matches or (None in matches and not accept):
        return None
    return Verdict(accept, policy.line, f"{what} {policy.name} ({policy.first('name') or policy.first('comments') or ''})")


def _own_addresses(parsed: dict[str, Block]) -> set[ipaddress.IPv4Address]:
    """The unit's own addresses: the `ip` of every interface (loopbacks and tunnels included)."""
    found: set[ipaddress.IPv4Address] = set()
    for interface in _entries(parsed, "system interface"):
        try:
            found.add(ipaddress.IPv4Address(interface.first("ip") or ""))
        except ValueError:
            continue
    return found


# What a tunnel brings to the unit that no local-in policy decides: FortiOS's own local-in rules
# admit it (BGP from anywhere once BGP is configured, every service `allowaccess` opens).
_IMPLICIT_LOCAL_IN = "no local-in policy matches: FortiOS's implicit local-in rules (BGP from anywhere, allowaccess)"


def local_in(parsed: dict[str, Block]) -> Callable[[set[str], Packet], Verdict]:
    """What the unit does with a packet addressed to itself, arriving on an interface known by the
    names in the first argument (the interface, its zone, "any"): the first local-in policy on
    one of them that matches decides (action deny unless set); where none does, FortiOS's
    implicit local-in rules admit it."""
    nets, custom = _address_nets(parsed), _custom_services(parsed)
    # Each interface name's policies by list position: a hub has a few per tunnel, thousands in all.
    by_intf: dict[str, list[tuple[int, Entry]]] = {}
    for position, policy in enumerate(_entries(parsed, "firewall local-in-policy")):
        if policy.first("status") != "disable":
            for name in set(policy.get("intf")):
                by_intf.setdefault(name, []).append((position, policy))
    chains: dict[frozenset[str], list[Entry]] = {}

    def verdict(arrival: set[str], packet: Packet) -> Verdict:
        key = frozenset(arrival)
        if key not in chains:
            found = {position: policy for name in key for position, policy in by_intf.get(name, [])}
            chains[key] = [found[position] for position in sorted(found)]
        for policy in chains[key]:
            if decided := _policy_verdict(policy, packet, nets, custom, "local-in policy"):
                return decided
        return Verdict(True, 0, _IMPLICIT_LOCAL_IN)

    return verdict


# BGP and single-hop BFD, which a store runs inside its tunnels only.
_TUNNEL_CONTROL = (("tcp", 179), ("udp", 3784))
# IKE and its NAT traversal port, which a store takes on a WAN port from that port's own tunnel
# peers only.
_IKE = (("udp", 500), ("udp", 4500))
# Where a WAN port's packets come from: the internet (RFC 2544's benchmarking range, outside
# every plan of the fleet).
_INTERNET_HOST = ipaddress.IPv4Address("198.18.0.1")
# A WAN port's address where a carrier assigns it (DHCP): not in the config, so one of the same
# range stands in for the lease.
_LEASE = ipaddress.IPv4Address("198.18.0.2")


@register_rule(PLATFORM)
def control_outside_tunnels(config: ConfigFile) -> Iterator[Finding]:
    """Stores: BGP and BFD reach the unit through its tunnels only. FortiOS's own local-in rules
    admit TCP 179 from any address on every interface once BGP is configured, so a local-in
    policy (on the port, its zone or `any`) must refuse them on every WAN port (from the
    internet) and every segment (from a host of the segment), to each of the unit's addresses.
    IKE (UDP 500, 4500), which FortiOS's own rules take from anyone, reaches a WAN port's
    address from that port's own tunnel peers only (`fortios-wan-ike`): from the far end
    (`remote-gw`) of every phase 1 bound to the port, and from no other address."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    verdict = local_in(parsed)
    own = sorted(_own_addresses(parsed))
    zones = _entries(parsed, "system zone")
    peers: dict[str, list[tuple[str, ipaddress.IPv4Address]]] = {}
    for phase1 in _entries(parsed, "vpn ipsec phase1-interface"):
        try:
            gateway = ipaddress.IPv4Address(phase1.first("remote-gw") or "")
        except ValueError:
            continue
        peers.setdefault(phase1.first("interface") or "", []).append((phase1.name, gateway))
    for interface in _entries(parsed, "system interface"):
        if interface.first("type") in ("tunnel", "loopback"):
            continue
        source = _INTERNET_HOST
        if interface.first("role") != "wan" and len(interface.get("ip")) == 2:
            network = ipaddress.IPv4Interface("/".join(interface.get("ip"))).network
            source = next(host for host in network.hosts() if host not in own)
        arrival = {interface.name, "any", *(z.name for z in zones if interface.name in z.get("interface"))}
        if interface.first("role") == "wan":
            yield from _wan_ike(config, interface, arrival, verdict, own, peers.get(interface.name, []))
        admitted = sorted(
            {
                f"{protocol}/{port}"
                for protocol, port in _TUNNEL_CONTROL
                for address in own
                if verdict(arrival, Packet(protocol, source, address, port)).forwarded
            }
        )
        if admitted:
            yield config.finding(
                interface.line,
                "fortios-control-outside-tunnels",
                f"{interface.name}: the unit takes {', '.join(admitted)} from {source} "
                "(no local-in policy refuses them outside the tunnels)",
            )


def _wan_ike(
    config: ConfigFile,
    interface: Entry,
    arrival: set[str],
    verdict: Callable[[set[str], Packet], Verdict],
    own: list[ipaddress.IPv4Address],
    peers: list[tuple[str, ipaddress.IPv4Address]],
) -> Iterator[Finding]:
    """`fortios-wan-ike` on one WAN port: IKE from an address that is no tunnel's far end on the
    port reaches none of the unit's addresses (the port's own, or its lease), and IKE from each
    tunnel's far end reaches the port's address."""
    ip = interface.get("ip")
    address = ipaddress.IPv4Address(ip[0]) if len(ip) == 2 else _LEASE
    admitted = sorted(
        {
            f"{protocol}/{port}"
            for protocol, port in _IKE
            for destination in {*own, address}
            if verdict(arrival, Packet(protocol, _INTERNET_HOST, destination, port)).forwarded
        }
    )
    if admitted:
        yield config.finding(
            interface.line,
            "fortios-wan-ike",
            f"{interface.name}: the unit takes IKE ({', '.join(admitted)}) from {_INTERNET_HOST}, "
            "no tunnel peer of the port (no local-in policy refuses it)",
        )
    for tunnel, gateway in peers:
        for protocol, port in _IKE:
            found = verdict(arrival, Packet(protocol, gateway, address, port))
            if not found.forwarded:
                yield config.finding(
                    found.line or interface.line,
                    "fortios-wan-ike",
                    f"{interface.name}: IKE ({protocol}/{port}) from {gateway}, the far end of tunnel {tunnel}, "
                    f"is refused: {found.rule}",
                )
                break


# What a host of a segment with a breakout may not reach at an address of the unit other than its
# gateway (pings, IKE, SSH, SNMP, DNS, HTTPS), and at its gateway (IKE, which FortiOS's own rules
# take from anyone).
_BREAKOUT_REFUSED = (("icmp", None), ("udp", 500), ("udp", 4500), ("tcp", 22), ("udp", 161), ("udp", 53), ("tcp", 443))


@register_rule(PLATFORM)
def guest_router(config: ConfigFile) -> Iterator[Finding]:
    """Stores: a segment that breaks out locally (guest Wi-Fi: a firewall policy from it to a
    WAN port) reaches the unit only for DHCP and pings at its own gateway, as on every platform
    (`fortios-guest-router`). Its breakout policy also takes a packet to the WAN port's own
    address (FortiOS judges a packet for another interface's address by the firewall policy
    between the two interfaces: Fortinet KB 369268), which arrives on the segment, so the port's
    local-in policies never see it: a local-in policy on the segment (or its zone, or `any`)
    must refuse every address of the unit but the gateway (a DHCP-leased WAN address included),
    and IKE at the gateway."""
    if config.suffix or config.role != "edge":
        return
    parsed = parse(config.text)
    interfaces = {entry.name: entry for entry in _entries(parsed, "system interface")}
    wan = {name for name, entry in interfaces.items() if entry.first("role") == "wan"}
    breakout = {
        name
        for policy in _entries(parsed, "firewall policy")
        if policy.first("action") == "accept" and wan & set(policy.get("dstintf"))
        for name in policy.get("srcintf")
        if name in interfaces and name not in wan
    }
    if not breakout:
        return
    verdict = local_in(parsed)
    own = set(_own_addresses(parsed))
    if any(len(interfaces[name].get("ip")) != 2 for name in wan):
        own.add(_LEASE)
    zones = _entries(parsed, "system zone")
    for name in sorted(breakout):
        segment = interfaces[name]
        ip = segment.get("ip")
        if len(ip) != 2:
            continue
        address = ipaddress.IPv4Interface("/".join(ip))
        host = next(h for h in address.network.hosts() if h not in own)
        arrival = {name, "any", *(z.name for z in zones if name in z.get("interface"))}
        reached = [
            f"{protocol}/{port} to {destination}" if port else f"ping to {destination}"
            for destination in sorted(own)
            for protocol, port in _BREAKOUT_REFUSED
            if destination != address.ip or (protocol, port) in _IKE
            if verdict(arrival, Packet(protocol, host, destination, port)).forwarded
        ]
        if reached:
            more = f" and {len(reached) - 4} more" if len(reached) > 4 else ""
            yield config.finding(
                segment.line,
                "fortios-guest-router",
                f"{name}: a host of the segment, which breaks out locally, reaches the unit itself "
                f"({', '.join(reached[:4])}{more}); its local-in policies must refuse every address "
                f"of the unit but its gateway {address.ip}, and IKE there",
            )


def _tunnel_senders(parsed: dict[str, Block], tunnels: set[str]) -> list[tuple[ipaddress.IPv4Network, str]]:
    """(source network, tunnel) for what a store sends over each of its tunnels: the tunnel's far
    inside address (its `remote-ip`), and the prefixes the hub accepts from the BGP neighbour
    there (the store's segments and loopback, which it sends over every tunnel it has)."""
    far: dict[str, str] = {}
    for interface in _entries(parsed, "system interface"):
        remote = interface.get("remote-ip")
        if interface.name in tunnels and remote:
            far[remote[0]] = interface.name
    found = [(ipaddress.IPv4Network(address), tunnel) for address, tunnel in far.items()]
    found += [(prefix, far[neighbor]) for neighbor, prefix in _neighbor_prefixes(parsed, tunnels) if neighbor in far]
    return found


@register_forwarding(PLATFORM)
def store_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What a hub does with what its store tunnels (the phase 1 interfaces of its store links,
    by IKE identity or static address) bring in. What it forwards: the firewall policies taking
    traffic from them (directly, through their zone or `any`), first match in list order, else
    FortiOS's implicit deny; a zone of store tunnels that allows traffic between its members
    forwards between stores too. What is addressed to the unit itself (any interface's address)
    is local-in traffic, which firewall policies do not govern: the local-in policies of the
    tunnel it arrives on (by interface, zone or `any`), first match, and where none matches,
    FortiOS's implicit local-in rules, which admit it (the verdict is the most permissive of the
    tunnels the sender uses: those with its address as the far end or its prefixes behind their
    BGP neighbour, every store tunnel for a source none claims). A policy this reader cannot
    follow (an address
    it cannot resolve, a service that may not match) decides when it accepts, never when it
    denies. Each verdict is a pure function of the config's text, `peers` and the packet, cached
    (`_store_verdict`): a lint again with another file changed reads an unchanged hub's policies
    once per packet, as the other platforms' readers do."""
    text = config.text
    return ForwardingFacts(lambda packet: _store_verdict(text, peers, packet), to_hub=True)


@functools.lru_cache(maxsize=65536)
def _store_verdict(text: str, peers: frozenset[str], packet: Packet) -> Verdict:
    return _store_verdicts(text, peers)(packet)


@functools.lru_cache(maxsize=64)
def _store_verdicts(text: str, peers: frozenset[str]) -> Callable[[Packet], Verdict]:
    """`store_forwarding`'s reading of a hub config (`text`) for the store links of `peers`."""
    parsed = parse(text)
    tunnels = {
        entry.name
        for entry in _entries(parsed, "vpn ipsec phase1-interface")
        if entry.first("peerid") in peers or entry.first("remote-gw") in peers
    }
    zones = [zone for zone in _entries(parsed, "system zone") if tunnels & set(zone.get("interface"))]
    sources = tunnels | {zone.name for zone in zones} | {"any"}
    nets = _address_nets(parsed)
    custom = _custom_services(parsed)
    own = _own_addresses(parsed)
    policies = [
        policy
        for policy in _entries(parsed, "firewall policy")
        if policy.first("status") != "disable" and sources & set(policy.get("srcintf"))
    ]
    arrivals = {
        tunnel: {tunnel, "any", *(zone.name for zone in zones if tunnel in zone.get("interface"))}
        for tunnel in sorted(tunnels)
    }
    senders = _tunnel_senders(parsed, tunnels)
    open_zone = next((zone for zone in zones if zone.first("intrazone") == "allow"), None)
    to_unit = local_in(parsed)

    def verdict(packet: Packet) -> Verdict:
        if packet.destination in own:
            sent_on = [t for net, t in senders if packet.source in net] or list(arrivals)
            return most_permissive([to_unit(arrivals[t], packet) for t in sent_on], _IMPLICIT_LOCAL_IN)
        if open_zone is not None:
            return Verdict(True, open_zone.line, f"zone {open_zone.name}: intrazone allow")
        found = (_policy_verdict(policy, packet, nets, custom, "policy") for policy in policies)
        return next((v for v in found if v is not None), Verdict(False, 0, "no policy matches: FortiOS's implicit deny"))

    return verdict


def _management_servers(parsed: dict[str, Block]) -> list[tuple[str, str, int, str]]:
    """(what, protocol, port, address) of the servers the config's own NTP, TACACS+ and syslog
    settings name: the fleet's management servers at HQ, which every store uses too."""
    servers: list[tuple[str, str, int, str]] = []
    ntp = parsed.get("system ntp")
    servers += [("NTP", "udp", 123, s) for e in (_nested(ntp.own, "ntpserver") if ntp else []) if (s := e.first("server"))]
    servers += [("TACACS+", "tcp", 49, s) for e in _entries(parsed, "user tacacs+") if (s := e.first("server"))]
    syslog = parsed.get("log syslogd setting")
    if syslog is not None and (server := syslog.own.first("server")):
        servers.append(("syslog", "udp", 514, server))
    return servers


def _neighbor_prefixes(
    parsed: dict[str, Block], tunnels: set[str], direction: str = "route-map-in"
) -> list[tuple[str, ipaddress.IPv4Network]]:
    """(neighbour, prefix) for what the hub accepts from each BGP neighbour inside one of
    `tunnels` (its route-map-in's prefix lists: a store's segments and loopback, the clouds'
    prefixes), or with `direction` "route-map-out" what it announces to it."""
    inside: list[ipaddress.IPv4Network] = []
    for interface in _entries(parsed, "system interface"):
        remote = interface.get("remote-ip")
        if interface.name in tunnels and len(remote) == 2:
            inside.append(ipaddress.IPv4Network(f"{remote[0]}/{remote[1]}", strict=False))
    lists = _prefix_rules(parsed)
    maps = {entry.name: entry for entry in _entries(parsed, "router route-map")}
    bgp = parsed.get("router bgp")
    found: list[tuple[str, ipaddress.IPv4Network]] = []
    for neighbor in _nested(bgp.own, "neighbor") if bgp else []:
        try:
            address = ipaddress.IPv4Address(neighbor.name)
        except ValueError:
            continue
        route_map = maps.get(neighbor.first(direction) or "")
        if route_map is None or not any(address in net for net in inside):
            continue
        names = {rule.first("match-ip-address") for rule in _nested(route_map, "rule")}
        for name in sorted(n for n in names if n):
            found += [(neighbor.name, rule.prefix) for rule in lists.get(name, [])]
    return found


@register_rule(PLATFORM)
def hub_store_management(config: ConfigFile) -> Iterator[Finding]:
    """A hub forwards to HQ's management servers (NTP, TACACS+, syslog: those of its own
    settings) from every address a store announces to it, its loopback included: a store sources
    its own NTP, TACACS+, syslog and DNS from its loopback (the DC routes no tunnel address back),
    and the intent's hubs take anything from a store tunnel to the corporate ranges. FortiOS
    forwards nothing that no firewall policy accepts."""
    if config.suffix or config.role != "hub":
        return
    parsed = parse(config.text)
    stores = {
        entry.name: entry.first("peerid") or entry.first("remote-gw") or ""
        for entry in _entries(parsed, "vpn ipsec phase1-interface")
        if entry.first("peertype") == "one"
    }
    servers = _management_servers(parsed)
    if not stores or not servers:
        return
    verdict = store_forwarding(config, frozenset(stores.values())).verdict
    reported: set[tuple[str, str]] = set()
    for neighbor, prefix in _neighbor_prefixes(parsed, set(stores)):
        source = prefix.network_address if prefix.prefixlen == 32 else prefix.network_address + 1
        for what, protocol, port, server in servers:
            found = verdict(Packet(protocol, source, ipaddress.IPv4Address(server), port))
            if found.forwarded or (found.rule, what) in reported:
                continue
            reported.add((found.rule, what))
            yield config.finding(
                found.line or (parsed["router bgp"].line if "router bgp" in parsed else 0),
                "fortios-hub-store-management",
                f"{what} from {source} (announced by store neighbour {neighbor}) to {server} "
                f"({protocol}/{port}) is not forwarded: {found.rule}",
            )


@register_rule(PLATFORM)
def hub_sessions_into_stores(config: ConfigFile) -> Iterator[Finding]:
    """A hub starts sessions towards its stores only to the stores' loopbacks (the intent's
    in-band management address): a policy into the store tunnels whose destinations cover a
    store's segment lets HQ open connections to its tills and cameras wherever a store's own
    policies would admit them."""
    if config.suffix or config.role != "hub":
        return
    parsed = parse(config.text)
    tunnels = {
        entry.name for entry in _entries(parsed, "vpn ipsec phase1-interface") if entry.first("peertype") == "one"
    }
    zones = {zone.name for zone in _entries(parsed, "system zone") if tunnels & set(zone.get("interface"))}
    segments = list({p: (n, p) for n, p in _neighbor_prefixes(parsed, tunnels) if p.prefixlen < 32}.values())
    nets = _address_nets(parsed)
    for policy in _entries(parsed, "firewall policy"):
        if policy.first("action") != "accept" or not (tunnels | zones | {"any"}) & set(policy.get("dstintf")):
            continue
        if policy.first("dstaddr-negate") == "enable":
            covered = segments
        else:
            destinations = [net for name in policy.get("dstaddr") for net in (nets.get(name) or [])]
            covered = [(n, p) for n, p in segments if any(p.overlaps(net) for net in destinations)]
        if covered:
            neighbor, prefix = covered[0]
            yield config.finding(
                policy.line,
                "fortios-hub-into-stores",
                f"policy {policy.name} ({policy.first('name') or ''}) starts sessions into store segments "
                f"({prefix}, announced by {neighbor}, and {len(covered) - 1} more), not only to the stores' loopbacks",
            )


def _cloud_tunnels(parsed: dict[str, Block]) -> dict[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]]:
    """A hub's route-based cloud VPNs (AWS, the OpenStack gateways) by interface: the tunnels in
    no zone (each store's tunnels form its zone, `store-<id>`) with both inside addresses, as (the
    hub's, the far end's)."""
    zoned = {name for zone in _entries(parsed, "system zone") for name in zone.get("interface")}
    found: dict[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = {}
    for interface in _entries(parsed, "system interface"):
        ip, remote = interface.get("ip"), interface.get("remote-ip")
        if interface.first("type") == "tunnel" and interface.name not in zoned and ip and remote:
            found[interface.name] = (ipaddress.IPv4Address(ip[0]), ipaddress.IPv4Address(remote[0]))
    return found


class Forwarding(Protocol):
    def __call__(self, arriving: str, packet: Packet, leaving: str | None = None) -> Verdict: ...


def cloud_forwarding(parsed: dict[str, Block]) -> Forwarding:
    """What a hub does with a packet arriving on an interface (by name: a cloud VPN, the DC
    port), leaving by the interface in the third argument (None: whichever the policy names):
    to one of the unit's own addresses, its local-in policies (on the interface or `any`), else
    FortiOS's implicit local-in rules; through the unit, the firewall policies taking traffic
    from that interface (or `any`) to that one (or `any`), first match in list order, else
    FortiOS's implicit deny. A policy this reader cannot follow decides when it accepts, never
    when it denies."""
    nets, custom, own = _address_nets(parsed), _custom_services(parsed), _own_addresses(parsed)
    to_unit = local_in(parsed)
    policies = [p for p in _entries(parsed, "firewall policy") if p.first("status") != "disable"]

    def verdict(arriving: str, packet: Packet, leaving: str | None = None) -> Verdict:
        if packet.destination in own:
            return to_unit({arriving, "any"}, packet)
        for policy in policies:
            if (
                {arriving, "any"} & set(policy.get("srcintf"))
                and (leaving is None or {leaving, "any"} & set(policy.get("dstintf")))
                and (decided := _policy_verdict(policy, packet, nets, custom, "policy"))
            ):
                return decided
        return Verdict(False, 0, "no policy matches: FortiOS's implicit deny")

    return verdict


@register_cloud_forwarding(PLATFORM)
def cloud_vpn_forwarding(config: ConfigFile, peers: frozenset[str]) -> ForwardingFacts:
    """What a hub forwards from its cloud VPNs (`cloud_forwarding`, arriving on each of them;
    only those whose own inside address is one of `peers`, where given: one cloud site's
    tunnels): a packet passes when a policy takes it from any of them (the most permissive
    verdict)."""
    parsed = parse(config.text)
    tunnels = [name for name, (ip, _) in _cloud_tunnels(parsed).items() if not peers or str(ip) in peers]
    verdict = cloud_forwarding(parsed)
    return ForwardingFacts(
        lambda packet: most_permissive([verdict(tunnel, packet) for tunnel in tunnels], "no cloud VPN")
    )


# What a cloud host might try on the hub itself: SSH, SNMP, BFD, a ping.
_CLOUD_PROBES = (("tcp", 22), ("udp", 161), ("udp", 3784), ("icmp", None))


def _host(net: ipaddress.IPv4Network, index: int) -> ipaddress.IPv4Address:
    """The `index`-th address of `net` (its only one for a /32)."""
    return net.network_address + min(index, net.num_addresses - 1)


@register_rule(PLATFORM)
def hub_cloud_filter(config: ConfigFile) -> Iterator[Finding]:
    """Hubs: a cloud VPN brings in BGP from its far end to the hub's end of the tunnel and,
    through the hub, traffic from the clouds' prefixes (what the hub accepts from the cloud's
    BGP neighbour) to what the hub announces to the clouds (HQ; towards the stores nothing a
    cloud opens, which `cloud-store-isolation` checks on every hub platform), nothing else
    (`HubView.from_clouds`, as IOS-XE's and VRP's FROM-CLOUD-<site>): no ICMP or other service of the
    hub answers a cloud, no cloud sends from HQ's or a store's addresses, and none reaches
    another cloud's prefixes through the hub. From the DC port into a cloud VPN the same two
    sets swapped: HQ and the stores (a store's traffic the other hub relays across the DC LAN
    while its own cloud VPNs are down) reach the clouds' prefixes, and nothing from the clouds'
    own prefixes goes back into a cloud."""
    if config.suffix or config.role != "hub":
        return
    parsed = parse(config.text)
    clouds = _cloud_tunnels(parsed)
    if not clouds:
        return
    verdict = cloud_forwarding(parsed)
    own = sorted(_own_addresses(parsed))
    accepts = list(dict.fromkeys(net for _, net in _neighbor_prefixes(parsed, set(clouds))))
    announces = list(dict.fromkeys(net for _, net in _neighbor_prefixes(parsed, set(clouds), "route-map-out")))
    dc_ports = _dc_ports(parsed)
    # The probes' hosts lie beside the DC core LAN, which no cloud reaches at all: a policy that
    # took a foreign source to HQ would pass them.
    lans = _dc_lans(parsed, dc_ports)
    for tunnel, (near, far) in clouds.items():
        packets = [
            ("hub", f"the hub's address {address}", Packet(protocol, far, address, port))
            for address in own
            for protocol, port in (*_CLOUD_PROBES, *((("tcp", 179),) if address != near else ()))
        ]
        packets += [
            ("source", f"{destination} from {source}, no cloud's prefix", Packet("tcp", _host_beside(source, 1, lans), _host_beside(destination, 2, lans), 22))
            for source in announces
            for destination in announces
        ]
        packets += [
            ("cloud", f"{destination}, another cloud's prefix, from {source}", Packet("tcp", _host(source, 1), _host(destination, 2), 22))
            for source in accepts
            for destination in accepts
            if not source.overlaps(destination)
        ]
        for port in dc_ports:
            yield from _dc_to_cloud(config, parsed, verdict, port, tunnel, announces, accepts)
        # Once per tunnel, rule and kind of packet (to the hub, from a foreign source, to another cloud).
        reported: set[tuple[int, str]] = set()
        for kind, what, packet in packets:
            found = verdict(tunnel, packet)
            if found.forwarded and (found.line, kind) not in reported:
                reported.add((found.line, kind))
                service = packet.protocol if packet.port is None else f"{packet.protocol}/{packet.port}"
                yield config.finding(
                    found.line or _interface_line(parsed, tunnel),
                    "fortios-hub-cloud-filter",
                    f"cloud VPN {tunnel}: {found.rule} lets it reach {what} ({service} from {packet.source} to {packet.destination})",
                )


def _dc_ports(parsed: dict[str, Block]) -> list[str]:
    """The ports a hub's BGP neighbours outside its tunnels are connected to: the DC core LAN."""
    bgp = parsed.get("router bgp")
    neighbors = [ipaddress.IPv4Address(n.name) for n in (_nested(bgp.own, "neighbor") if bgp else []) if is_address(n.name)]
    ports = []
    for interface in _entries(parsed, "system interface"):
        ip = interface.get("ip")
        if interface.first("type") == "tunnel" or len(ip) != 2:
            continue
        network = ipaddress.IPv4Network(f"{ip[0]}/{ip[1]}", strict=False)
        if network.prefixlen < 32 and any(address in network for address in neighbors):
            ports.append(interface.name)
    return ports


def _dc_lans(parsed: dict[str, Block], ports: list[str]) -> list[ipaddress.IPv4Network]:
    """The networks of the DC ports `ports` (`_dc_ports`): the DC core LAN."""
    lans = []
    for interface in _entries(parsed, "system interface"):
        ip = interface.get("ip")
        if interface.name in ports and len(ip) == 2:
            lans.append(ipaddress.IPv4Network(f"{ip[0]}/{ip[1]}", strict=False))
    return lans


def _host_beside(net: ipaddress.IPv4Network, index: int, lans: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Address:
    """The `index`-th address of `net` (`_host`), or of what follows each of `lans` it falls in."""
    host = _host(net, index)
    for lan in lans:
        if host in lan and lan.subnet_of(net):
            host = _host(net, int(lan.broadcast_address) + index - int(net.network_address))
    return host


def _dc_to_cloud(
    config: ConfigFile,
    parsed: dict[str, Block],
    verdict: Forwarding,
    port: str,
    tunnel: str,
    announces: list[ipaddress.IPv4Network],
    accepts: list[ipaddress.IPv4Network],
) -> Iterator[Finding]:
    """`hub_cloud_filter` from the DC port into one cloud VPN: every prefix the hub announces to
    the clouds reaches every cloud prefix; no cloud prefix sends into a cloud. Once per kind."""
    missing = next(
        (
            packet
            for source in announces
            for destination in accepts
            if not verdict(port, packet := Packet("tcp", _host(source, 1), _host(destination, 2), 443), tunnel).forwarded
        ),
        None,
    )
    if missing is not None:
        yield config.finding(
            _interface_line(parsed, tunnel),
            "fortios-hub-cloud-filter",
            f"cloud VPN {tunnel}: no policy takes {missing.source} to {missing.destination} from {port}: HQ, and the"
            " stores the other hub relays across the DC LAN while its cloud VPNs are down, do not reach the cloud",
        )
    spoofed = next(
        (
            (packet, found)
            for source in accepts
            for destination in accepts
            if (found := verdict(port, packet := Packet("tcp", _host(source, 1), _host(destination, 2), 443), tunnel)).forwarded
        ),
        None,
    )
    if spoofed is not None:
        packet, found = spoofed
        yield config.finding(
            found.line or _interface_line(parsed, tunnel),
            "fortios-hub-cloud-filter",
            f"cloud VPN {tunnel}: {found.rule} takes {packet.source}, a cloud's own prefix, from {port} into the cloud",
        )


def _interface_line(parsed: dict[str, Block], name: str) -> int:
    """The line of an interface's `edit` in `config system interface`."""
    return next((e.line for e in _entries(parsed, "system interface") if e.name == name), 0)


@register_summaries(PLATFORM)
def summaries(config: ConfigFile) -> list[SummaryFact]:
    """`config router bgp` > `config network` / `config aggregate-address` entries (`set
    prefix`), and `config router static` entries with `set blackhole enable` (`set dst`)."""
    parsed = parse(config.text)
    bgp = parsed.get("router bgp")
    found = [
        (kind, entry.settings.get("prefix"))
        for kind, path in (("network", "network"), ("aggregate", "aggregate-address"))
        for entry in (_nested(bgp.own, path) if bgp else [])
    ]
    found += [
        ("discard", entry.settings.get("dst"))
        for entry in _entries(parsed, "router static")
        if entry.first("blackhole") == "enable"
    ]
    return [
        SummaryFact(kind, net, line)
        for kind, setting in found
        if setting is not None
        for values, line in [setting]
        if len(values) == 2 and (net := summary_net(values[0], None, values[1])) is not None
    ]


def _rule_id(entry: Entry) -> int:
    return int(entry.name) if entry.name.isdigit() else 0


def _prefix_rules(parsed: dict[str, Block]) -> dict[str, list[PrefixRule]]:
    """The prefix lists of a FortiOS config, each by name with its rules in id order: `config
    router prefix-list` > `config rule` (`set prefix A M`, `ge`, `le`, `action`, a permit unless
    `deny`); a rule without a prefix it reads is left out. The one reader of them."""
    prefix_lists: dict[str, list[PrefixRule]] = {}
    for entry in _entries(parsed, "router prefix-list"):
        rules = prefix_lists.setdefault(entry.name, [])
        for rule in sorted(_nested(entry, "rule"), key=_rule_id):
            prefix = rule.get("prefix")
            net = summary_net(prefix[0], None, prefix[1]) if len(prefix) == 2 else None
            if net is not None:
                rules.append(prefix_rule(rule.first("action") != "deny", net, rule.first("ge"), rule.first("le"), rule.line))
    return prefix_lists


@register_advertisements(PLATFORM)
def advertisements(config: ConfigFile) -> AdvertisementFacts:
    """`config router bgp` > `config neighbor` entries and their `config conditional-advertise`
    (`edit <advertise-routemap>`, `set condition-routemap`, `set condition-type`, exist when
    unset), `config router route-map` rules that permit (`set match-ip-address`), and `config
    router prefix-list` rules (`set prefix A M`, `ge`, `le`, `action`), each in id order."""
    parsed = parse(config.text)
    bgp = parsed.get("router bgp")
    neighbors = _nested(bgp.own, "neighbor") if bgp else []
    conditionals = [
        ConditionalFact(
            neighbor.name,
            condition.first("advertise-routemap") or condition.name,
            tuple(condition.get("condition-routemap")),
            (condition.first("condition-type") or "exist") == "exist",
            condition.line,
        )
        for neighbor in neighbors
        for condition in _nested(neighbor, "conditional-advertise")
    ]
    route_maps = {
        entry.name: (
            entry.line,
            tuple(
                name
                for rule in sorted(_nested(entry, "rule"), key=_rule_id)
                if rule.first("action") != "deny"
                for name in rule.get("match-ip-address")
            ),
        )
        for entry in _entries(parsed, "router route-map")
    }
    return AdvertisementFacts({n.name: n.line for n in neighbors}, conditionals, route_maps, _prefix_rules(parsed))


def _local_pref(rule: Entry) -> int | None:
    """A route-map rule's `set set-local-preference` (None: not set)."""
    value = rule.first("set-local-preference")
    return int(value) if value is not None and value.isdigit() else None


def _prepend(rule: Entry) -> tuple[int, ...]:
    """The AS numbers a route-map rule prepends: its `set-aspath`, unless `set-aspath-action
    replace` (the default action, prepend, is one `show` omits)."""
    if rule.first("set-aspath-action") == "replace":
        return ()
    numbers = [word for value in rule.get("set-aspath") for word in value.replace(",", " ").split()]
    return tuple(int(word) for word in numbers) if all(word.isdigit() for word in numbers) else ()


@register_route_filters(PLATFORM)
def route_filters(config: ConfigFile) -> RouteFilters:
    """`config router bgp` > `config neighbor`: `route-map-in`, and `route-map-out` with
    `route-map-out-preferable` (FortiOS advertises through one or the other as the SD-WAN SLA
    decides, so a route must pass both); `config router route-map` rules in id order (`set
    action deny`, else a permit; `set match-ip-address` its prefix lists; any other `match-*`
    makes it `other`); the prefix lists (`_prefix_rules`); each neighbour's `maximum-prefix`."""
    parsed = parse(config.text)
    bgp = parsed.get("router bgp")
    limits = {
        neighbor.name: (int(value), neighbor.settings["maximum-prefix"][1] or neighbor.line)
        for neighbor in (_nested(bgp.own, "neighbor") if bgp else [])
        if (value := neighbor.first("maximum-prefix")) is not None and value.isdigit() and int(value) > 0
    }
    neighbors = {
        neighbor.name: {
            "in": tuple(neighbor.get("route-map-in")),
            "out": (*neighbor.get("route-map-out"), *neighbor.get("route-map-out-preferable")),
        }
        for neighbor in (_nested(bgp.own, "neighbor") if bgp else [])
    }
    route_maps = {
        entry.name: [
            RouteMapEntry(
                rule.first("action") != "deny",
                tuple(rule.get("match-ip-address")),
                any(key.startswith("match-") and key != "match-ip-address" and rule.get(key) for key in rule.settings),
                rule.line,
                _local_pref(rule),
                _prepend(rule),
            )
            for rule in sorted(_nested(entry, "rule"), key=_rule_id)
        ]
        for entry in _entries(parsed, "router route-map")
    }
    defaults = {
        neighbor.name: DefaultOrigination(
            neighbor.settings["capability-default-originate"][1] or neighbor.line,
            neighbor.first("default-originate-routemap"),
            neighbor.first("default-originate-routemap"),
        )
        for neighbor in (_nested(bgp.own, "neighbor") if bgp else [])
        if neighbor.first("capability-default-originate") == "enable"
    }
    return RouteFilters(neighbors, route_maps, _prefix_rules(parsed), limits=limits, defaults=defaults)


@register_probes(PLATFORM)
def probes(config: ConfigFile) -> list[SentProbe]:
    """Each SD-WAN health check's servers: `protocol ping` (FortiOS's default) is an ICMP echo
    probe; any other protocol (twamp, udp-echo, tcp-echo, http ...) keeps its FortiOS name,
    which no hub platform answers."""
    sdwan = _sdwan(parse(config.text))
    found = []
    for check in _nested(sdwan, "health-check") if sdwan else []:
        protocol = check.first("protocol") or "ping"
        line = check.settings.get("server", ([], check.line))[1]
        found += [
            SentProbe(
                line,
                "icmp-echo" if protocol == "ping" else protocol,
                server,
                check.first("source"),
                _number(check.first("port")),
            )
            for server in check.get("server")
        ]
    return found


@register_answers(PLATFORM)
def answers(config: ConfigFile) -> ProbeAnswers:
    return ProbeAnswers(hub_probe_kinds(PLATFORM))
