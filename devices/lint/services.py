"""The services every appliance runs, checked against the network intent on every platform.

- `guest-dns`: guest Wi-Fi's DHCP hands out the fleet's public resolvers (`management.guest_dns`),
  never a private or corporate one, and the store's own resolver answers no guest.
- `ntp-auth`: NTP is authenticated with the intent's keys (HMAC-SHA256): authentication on,
  every key trusted, every server the intent names asked with the first key.

Each platform's spelling is read here by a small extractor; the findings are the same for all.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from storestack.common.addressing import public_address_problem
from storestack.devices.lint import ConfigFile, Finding
from storestack.network.build import NetworkIntent
from storestack.network.model import ManagementAccess, StoreIntent

GUEST_DNS = "guest-dns"
NTP_AUTH = "ntp-auth"


# ---------------------------------------------------------------- guest DNS


@dataclass(frozen=True, slots=True)
class DhcpScope:
    """One DHCP scope as a config spells it: where, the gateway it hands out, its resolvers."""

    line: int
    gateway: ipaddress.IPv4Address | None
    dns: tuple[str, ...]
    interface: str | None = None


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


def _cisco_guest_dns(config: ConfigFile, guest: ipaddress.IPv4Network | None) -> GuestDnsFacts:
    facts = GuestDnsFacts()
    lines = config.lines
    for number, _, body in _blocks(lines, re.compile(r"ip dhcp pool (\S+)$")):
        gateway = next((_address(b.split()[1]) for b in body if b.startswith(" default-router ")), None)
        dns = next((tuple(b.split()[1:]) for b in body if b.startswith(" dns-server ")), ())
        facts.scopes.append(DhcpScope(number + 1, gateway, dns))
    for number, found, body in _blocks(lines, re.compile(r"ip access-list extended (\S+)-TO-SELF$")):
        source = found.group(1)
        for offset, rule in enumerate(body, start=number + 2):
            if " permit " in rule and re.search(r"\beq (?:domain|53)\b", rule):
                if source == "GUEST":
                    facts.open_resolver.append((offset, "the router's DNS server answers guest Wi-Fi"))
                elif source == "INTERNET":
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
        if dns is not None:
            facts.scopes.append(DhcpScope(number + 1, gateway, dns, found.group(1)))
        if guest is not None and gateway is not None and gateway in guest:
            filters = [b.split()[-1] for b in body if b.startswith(" traffic-filter inbound acl name ")]
            denies = any(
                "deny udp" in rule and "eq dns" in rule for name in filters for rule in acls.get(name, ())
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
        facts.scopes.append(DhcpScope(line, gateway, dns, interface))
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
    for number, line in enumerate(dnsmasq, start=1):
        if line.startswith("interface="):
            interface = line.partition("=")[2]
        elif line.startswith("dhcp-range=set:guest-wifi,"):
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
            facts.scopes.append(DhcpScope(number, _address(router), dns, interface))
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
    if guest is not None and not any(s.gateway is not None and s.gateway in guest for s in facts.scopes):
        yield config.finding(0, GUEST_DNS, f"no DHCP scope for guest Wi-Fi {guest} hands out its resolvers")
    where_rules = {"frr": f"{config.hostname}.nftables.conf"}.get(config.platform, config.name)
    for line, why in facts.open_resolver:
        yield Finding(where_rules, line, GUEST_DNS, why)


# ---------------------------------------------------------------- NTP authentication


@dataclass
class NtpFacts:
    authenticate: int = 0  # line of the switch that turns authentication on; 0: none
    keys: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (line, algorithm)
    trusted: set[int] = field(default_factory=set)
    servers: list[tuple[int, str, int | None]] = field(default_factory=list)  # (line, address, key id)


def _cisco_ntp(config: ConfigFile) -> NtpFacts:
    facts = NtpFacts()
    for number, line in enumerate(config.lines, start=1):
        if line == "ntp authenticate":
            facts.authenticate = number
        elif found := re.match(r"ntp authentication-key (\d+) (\S+) ", line):
            facts.keys[int(found.group(1))] = (number, found.group(2))
        elif found := re.match(r"ntp trusted-key (\d+)$", line):
            facts.trusted.add(int(found.group(1)))
        elif found := re.match(r"ntp server (\S+)(?: .*\bkey (\d+))?", line):
            key = found.group(2)
            facts.servers.append((number, found.group(1), int(key) if key else None))
    return facts


_VRP_ALGORITHM = {"hmac-sha256": "hmac-sha2-256"}


def _vrp_ntp(config: ConfigFile) -> NtpFacts:
    facts = NtpFacts()
    for number, line in enumerate(config.lines, start=1):
        if line == "ntp-service authentication enable":
            facts.authenticate = number
        elif found := re.match(r"ntp-service authentication-keyid (\d+) authentication-mode (\S+) ", line):
            facts.keys[int(found.group(1))] = (number, _VRP_ALGORITHM.get(found.group(2), found.group(2)))
        elif found := re.match(r"ntp-service reliable authentication-keyid (\d+)$", line):
            facts.trusted.add(int(found.group(1)))
        elif found := re.match(r"ntp-service unicast-server (\S+)(?: .*\bauthentication-keyid (\d+))?", line):
            key = found.group(2)
            facts.servers.append((number, found.group(1), int(key) if key else None))
    return facts


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
                facts.keys[key_id] = (
                    edit_line,
                    "hmac-sha2-256"
                    if server.get("key-type") == "SHA256"
                    else server.get("key-type", "MD5").lower(),
                )
                facts.trusted.add(key_id)
                facts.servers.append((edit_line, address, key_id))
            else:
                facts.servers.append((edit_line, address, None))
            server = None
        elif server is not None and (setting := _FORTI_SET.match(line)):
            server[setting.group(1)] = setting.group(2).strip()
    return facts


_NTP_EXTRACTORS = {"cisco_xe": _cisco_ntp, "huawei_vrp": _vrp_ntp, "fortinet": _forti_ntp}


def ntp_auth(config: ConfigFile, management: ManagementAccess) -> Iterator[Finding]:
    extractor = _NTP_EXTRACTORS.get(config.platform)
    if extractor is None or not management.ntp_keys:
        return
    facts = extractor(config)
    wanted = {key.id for key in management.ntp_keys}
    current = management.ntp_keys[0].id
    if not facts.authenticate:
        yield config.finding(0, NTP_AUTH, "NTP authentication is not enabled: any host can set the clock")
    for key_id in sorted(wanted):
        if key_id not in facts.keys:
            yield config.finding(0, NTP_AUTH, f"NTP key {key_id} of the intent is not defined")
        elif facts.keys[key_id][1] != "hmac-sha2-256":
            line, algorithm = facts.keys[key_id]
            yield config.finding(line, NTP_AUTH, f"NTP key {key_id} uses {algorithm}, not HMAC-SHA256")
        if key_id not in facts.trusted:
            yield config.finding(
                0, NTP_AUTH, f"NTP key {key_id} is not trusted: servers signing with it are refused"
            )
    for key_id in sorted(facts.trusted - wanted):
        yield config.finding(0, NTP_AUTH, f"NTP key {key_id} is trusted but is no key of the intent")
    seen = set()
    for line, address, key_id in facts.servers:
        seen.add(address)
        if key_id is None:
            yield config.finding(line, NTP_AUTH, f"NTP server {address} is used without authentication")
        elif key_id != current:
            yield config.finding(
                line, NTP_AUTH, f"NTP server {address} is asked with key {key_id}, not {current}"
            )
    for address in management.ntp_servers:
        if str(address) not in seen:
            yield config.finding(0, NTP_AUTH, f"NTP server {address} of the intent is not configured")


# ---------------------------------------------------------------- entry point


def services_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    for config in files:
        if config.suffix:
            continue
        if config.role == "edge" and config.store_id is not None:
            store = intent.store(config.store_id, config.hostname)
            yield from guest_dns(config, store, intent)
            yield from ntp_auth(config, store.management)
        elif config.role == "hub":
            yield from ntp_auth(config, intent.hub(config.hostname).management)
