"""Cisco IOS-XE in the emulator: its config dialect, factory config, CLI session and profile."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storestack.lab.emulator.cli import (
    CliSession,
    Reply,
    apply_filter,
    caret_error,
    deny_match,
    matches,
    physical_port_deleted,
    split_pipe,
)
from storestack.lab.emulator.lineconfig import ConfigNode, LineConfig, LineDialect
from storestack.lab.emulator.profiles.base import EmulatorProfile

if TYPE_CHECKING:
    from storestack.lab.emulator.device import DeviceState

IOS_VERSION = "17.9"
IOS_INVALID = "% Invalid input detected at '^' marker."
# What IOS answers to `ip sla N` while operation N is scheduled: it stays in global configuration
# mode, so the block's own lines that follow are refused as unknown global commands. (The wording
# as an IOS router printed it; a scheduled operation "cannot" be modified: Cisco ME 3800X and
# ME 3600X Switch Command Reference, OL-28238-01, `ip sla`.)
IOS_SLA_RUNNING = (
    "Entry already running and cannot be modified\n"
    "\t(only can delete (no) and start over)\n"
    "\t(check to see if the probe has finished exiting)\n"
)
_SLA_OPERATION = re.compile(r"^(no )?ip sla (\d+)$")
# `ip access-list resequence NAME START STEP` (global configuration): the named ACL's entries keep
# their order and take the numbers START, START + STEP, ... ("IP Access List Entry Sequence
# Numbering", Security Configuration Guide: Access Control Lists, Cisco IOS XE).
_RESEQUENCE = re.compile(r"^ip access-list resequence (\S+) (\d+) (\d+)$")
# An entry typed with its sequence number in a named ACL's mode (`ip access-list extended|standard
# NAME`). The same document, "Sequence Numbering Behavior": the entry takes its place among the
# others by its number (an entry added between 10 and 20 as 15 is matched between them at once);
# "If the user enters an entry that matches an already existing entry (except for the sequence
# number), then no changes are made"; "If the user enters a sequence number that is already
# present, the following error message is generated: Duplicate sequence number" (a Catalyst
# answers `% Duplicate sequence number.`, puppetlabs/cisco_ios pull request #235); the highest
# number is 2147483647.
_ACL_SECTIONS = ("ip access-list extended ", "ip access-list standard ")
_ACL_ENTRY = re.compile(r"^(\d+) (.+)$")
IOS_DUPLICATE_SEQUENCE = "% Duplicate sequence number.\n"
ACL_HIGHEST_SEQUENCE = 2147483647
# What IOS answers to a `[no] neighbor X ...` line in `router bgp` (or one of its address families)
# naming a neighbour or peer group it does not hold (Cisco's unicon iosxe plugin lists it among the
# IOS-XE configuration errors, `CONFIGURE_ERROR_PATTERN`).
IOS_NO_NEIGHBOR = "% Specify remote-as or peer-group commands first\n"
_NEIGHBOR = re.compile(r"^(?P<no>no )?neighbor (?P<name>\S+)(?: (?P<rest>.*))?$")
# The lines that make a neighbour (`remote-as`), a peer group (`peer-group` alone) or a member of
# one (`peer-group G`).
_NEIGHBOR_MADE = re.compile(r"^neighbor (?P<name>\S+) (?:remote-as \S+|peer-group(?: (?P<group>\S+))?)$")
# The lines of an operation that `no ip sla N` removes with it: "all configuration information for
# an operation, including the schedule of the operation, reaction configuration, and reaction
# triggers" (the same command reference).
_SLA_PARTS = ("ip sla reaction-configuration", "ip sla reaction-trigger", "ip sla schedule")

# SNMPv3 users: IOS keeps them outside its running config. `snmp-server user ... v3 ...` is applied
# but never shown by `show running-config` ("SNMPv3 user configuration does not display in
# running config ... Must use `show snmp user`", ansible-collections/cisco.ios issue #609);
# `show snmp user` lists them, in the form of a router's output (genieparser, iosxe
# ShowSnmpUser golden output). `no snmp-server user NAME GROUP v3` removes one.
_SNMP_USER = re.compile(r"^(?P<no>no )?snmp-server user (?P<name>\S+)(?: (?P<group>\S+))?(?: (?P<version>v\S+))?(?P<rest>.*)$")
_SNMP_AUTH = re.compile(r"\bauth (?P<protocol>md5|sha)\b")
_SNMP_PRIV = re.compile(r"\bpriv (?P<protocol>des|3des|aes (?:128|192|256))\b")
_SNMP_ACCESS = re.compile(r"\baccess (?P<acl>\S+)")
SNMP_USERS = "snmp users"  # its key in the device's `outside_config`


@dataclass(frozen=True)
class SnmpUser:
    name: str
    group: str
    auth: str  # as `show snmp user` names the protocol: "SHA", "MD5", "None"
    priv: str  # "AES128", "DES", "None"...
    acl: str | None

    @classmethod
    def from_line(cls, name: str, group: str, rest: str) -> SnmpUser:
        auth = _SNMP_AUTH.search(rest)
        priv = _SNMP_PRIV.search(rest)
        acl = _SNMP_ACCESS.search(rest)
        return cls(
            name=name,
            group=group,
            auth=auth.group("protocol").upper() if auth else "None",
            priv=priv.group("protocol").replace(" ", "").upper() if priv else "None",
            acl=acl.group("acl") if acl else None,
        )

    def shown(self, engine_id: str) -> str:
        access = f"        access-list: {self.acl}" if self.acl else ""
        return (
            f"User name: {self.name}\n"
            f"Engine ID: {engine_id}\n"
            f"storage-type: nonvolatile        active{access}\n"
            f"Authentication Protocol: {self.auth}\n"
            f"Privacy Protocol: {self.priv}\n"
            f"Group-name: {self.group}\n"
        )


def engine_id(name: str) -> str:
    """The local SNMP engine ID: Cisco's enterprise number and a MAC address (`800000090300` and
    the MAC, as a router shows it); the emulator derives the MAC from the device's name."""
    return "800000090300" + hashlib.sha256(name.encode()).hexdigest()[:12].upper()


# Which lines open sections, which are global-only and which replace one another (LineDialect).
IOS = LineDialect(
    negation="no",
    openers={
        "": (
            "interface",
            "router",
            "line",
            "route-map",
            "ip access-list",
            "ipv6 access-list",
            "vrf definition",
            "ip vrf",
            "zone security",
            "zone-pair security",
            "class-map",
            "policy-map",
            "crypto isakmp policy",
            "crypto ikev2 proposal",
            "crypto ikev2 policy",
            "crypto ikev2 keyring",
            "crypto ikev2 profile",
            "crypto ikev2 authorization policy",
            "crypto ikev2 name-mangler",
            "crypto ipsec profile",
            "crypto ipsec transform-set",
            "crypto keyring",
            "track",
            "event manager applet",
            "object-group",
            "key chain",
            "ip sla",
            "control-plane",
            "archive",
            "ip dhcp pool",
            "ip dns view",
            "ip prefix-list-section",
            "aaa group server",
            "aaa attribute list",
            "tacacs server",
            "radius server",
        ),
        "router": ("address-family",),
        "vrf definition": ("address-family",),
        "policy-map": ("class",),
        "crypto ikev2 keyring": ("peer",),
        "key chain": ("key",),
    },
    global_only=frozenset(
        {
            "hostname",
            "interface",
            "router",
            "line",
            "route-map",
            "banner",
            "ntp",
            "logging",
            "snmp-server",
            "username",
            "enable",
            "service",
            "access-list",
            "version",
            "boot",
            "aaa",
            "crypto",
            "track",
            "key",
            "class-map",
            "policy-map",
            "spanning-tree",
            "license",
            "clock",
            "cdp",
            "lldp",
            "vrf",
            "control-plane",
            "archive",
        }
    ),
    top_keywords=frozenset(
        {
            "hostname",
            "interface",
            "router",
            "ip",
            "ipv6",
            "line",
            "logging",
            "ntp",
            "snmp-server",
            "username",
            "enable",
            "service",
            "banner",
            "crypto",
            "access-list",
            "route-map",
            "vrf",
            "aaa",
            "spanning-tree",
            "vlan",
            "track",
            "object-group",
            "class-map",
            "policy-map",
            "key",
            "boot",
            "boot-start-marker",
            "boot-end-marker",
            "version",
            "license",
            "platform",
            "redundancy",
            "control-plane",
            "archive",
            "clock",
            "cdp",
            "lldp",
            "mpls",
            "multilink",
            "event",
            "alias",
            "privilege",
            "login",
            "file",
            "security",
            "default",
            "call-home",
            "diagnostic",
            "memory",
            "tacacs",
            "radius",
            "sdwan",
            "system",
            "zone",
            "zone-pair",
            "no",
        }
    ),
    replace_keys=(
        ("hostname", 1),
        ("description", 1),
        ("ip address", 2),
        ("ipv6 address", 2),
        ("bgp router-id", 2),
        ("mtu", 1),
        ("ip mtu", 2),
        ("bandwidth", 1),
        ("speed", 1),
        ("duplex", 1),
        ("enable secret", 2),
        ("ip domain name", 3),
        ("ip domain-name", 2),
        ("set local-preference", 2),
        ("set metric", 2),
        ("match ip address", 3),
        # a secret setting given again replaces the old value (a key rotation): a TACACS+
        # server's `key`, a keyring peer's `pre-shared-key`, an NTP key by number
        ("key", 1),
        ("pre-shared-key", 1),
        ("ntp authentication-key", 3),
    ),
    # A BGP neighbour's or peer group's prefix limit in an address family is one setting: a new
    # `neighbor X maximum-prefix N ...` replaces the old one (devices/platforms/cisco_xe.py
    # `HConfigDriverCiscoXE` says what Cisco documents of it).
    keyed_by=(re.compile(r"neighbor \S+ maximum-prefix(?= )"),),
    exit_words=frozenset({"exit"}),
    section_end_markers={"address-family": "exit-address-family"},
    comment_prefixes=("!", "Building configuration", "Current configuration"),
    separator="!",
    shown_under=(("service-policy", "shape average"),),
    # Defaults on every interface, which an emptied port or a removed setting gets back: ICMP
    # redirects and proxy ARP (Cisco Router and Security Device Manager 2.2 User's Guide,
    # Security Audit, "Disable IP Redirects", "Disable IP Proxy ARP"), BFD echo mode where BFD
    # runs (IOS XE command reference, "bfd echo": "enabled by default"). `show running-config`
    # leaves out what is at its default; only `show running-config all` lists it (the cisco.ios
    # collection's ios_config, `defaults`: "whether or not to collect all defaults when getting
    # the remote device running config", read with the `all` keyword, ansible/ansible#39475).
    shown_by_no_line=frozenset({"ip redirects", "ip proxy-arp", "bfd echo"}),
)


def default_config(name: str) -> str:
    return (
        f"version {IOS_VERSION}\n"
        "service timestamps debug datetime msec\n"
        "service timestamps log datetime msec\n"
        f"hostname {name}\n"
        "!\n"
        "no aaa new-model\n"
        "!\n"
        "interface GigabitEthernet1\n"
        " no ip address\n"
        " shutdown\n"
        "!\n"
        "interface GigabitEthernet2\n"
        " no ip address\n"
        " shutdown\n"
        "!\n"
        "interface GigabitEthernet3\n"
        " no ip address\n"
        " shutdown\n"
        "!\n"
        "no ip http server\n"
        "!\n"
        "archive\n"
        " path bootflash:archive\n"
        "!\n"
        "line vty 0 4\n"
        " login local\n"
        " transport input ssh\n"
        "!\n"
        "end\n"
    )


def running_text(config: LineConfig) -> str:
    """`show running-config` as IOS-XE prints it."""
    body = "\n".join(["!", *config.render_lines(), "end"]) + "\n"
    return f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}"


# An interface address whose subnet overlaps one another active interface of the same VRF
# holds is refused: "a subnet cannot appear on more than one active interface of the router at a
# time" (Cisco IOS IP Configuration Guide, "Configuring IP Addressing", "Assigning Multiple IP
# Addresses to Network Interfaces"); VRFs exist so that their interfaces may hold overlapping
# subnets (IP Addressing Configuration Guide, Cisco IOS XE 17.x, EVN/VRF-Lite). The text is the
# router's as engineers quote it ("% 192.168.1.0 overlaps with FastEthernet0/0"); no Cisco page
# gives it.
_ADDRESS_LINE = re.compile(r"^ip address (\d+\.\d+\.\d+\.\d+) (\d+\.\d+\.\d+\.\d+)(?: secondary)?$")


def _vrf(interface: ConfigNode) -> str:
    return next((c.text.split()[-1] for c in interface.children if c.text.startswith("vrf forwarding ")), "")


def address_overlap(root: ConfigNode, here: ConfigNode, line: str, live: Iterable[ConfigNode] = ()) -> str | None:
    """The refusal of `line`, typed in interface `here`, where it gives it an address whose
    subnet overlaps one another active interface of the same VRF holds, a FlexVPN virtual-access
    among them (`live`: `LiveLinks.interfaces`) (None: taken)."""
    found = _ADDRESS_LINE.match(" ".join(line.split()))
    if found is None or not here.text.startswith("interface "):
        return None
    network = ipaddress.IPv4Interface(f"{found[1]}/{found[2]}").network
    for node in [*root.children, *live]:
        if node is here or not node.text.startswith("interface ") or _vrf(node) != _vrf(here):
            continue
        if any(child.text == "shutdown" for child in node.children):
            continue
        for child in node.children:
            held = _ADDRESS_LINE.match(child.text)
            if held and ipaddress.IPv4Interface(f"{held[1]}/{held[2]}").network.overlaps(network):
                return f"% {network.network_address} overlaps with {node.text.split(' ', 1)[1]}\n"
    return None


# FlexVPN server: a store link that dials in is authorized by the IKEv2 authorization policy its
# FQDN's host part names (name mangler `fqdn hostname`), and the hub clones Virtual-Template1 into
# a virtual-access for it, configured from the AAA attribute list that policy names (the
# `interface-config` attributes, applied as interface commands: "Configuring the FlexVPN Server",
# Cisco IOS XE 17; "Configuring per-User Configuration", Dial Configuration Guide). The
# virtual-access is an active interface that `show running-config` does not print; it keeps what
# it was cloned with for as long as the session lives: a changed or deleted attribute list
# applies only to the link's next session. `clear crypto session remote A` deletes the sessions
# from outside address A (devices/platforms/cisco_xe.py CLEARED_SESSIONS says where that comes
# from), and their virtual-access with them; a store still online dials again at once, and comes
# up only if the hub still authorizes it (its keyring STORES peer and its authorization policy)
# and the address it is given takes.
LIVE_LINKS = "flexvpn sessions"  # its key in the device's `outside_config`
_INTERFACE_CONFIG = re.compile(r'^attribute type interface-config "(.*)"$')
_CLEAR_SESSION = re.compile(r"^clear crypto session remote (\d+\.\d+\.\d+\.\d+)$")


@dataclass
class LiveLink:
    """One store link dialled in: its IKE identity (an FQDN), its outside address, and its
    virtual-access while its session is up (None: down, refused by the hub)."""

    identity: str
    remote: str
    interface: ConfigNode | None = None


def _authorized(root: ConfigNode, identity: str) -> list[str] | None:
    """The interface commands the hub configures a store link's virtual-access with (its
    authorization policy's attribute list), None where it does not authorize `identity`."""
    keyring = root.find("crypto ikev2 keyring STORES")
    peers = keyring.children if keyring is not None else []
    if not any(child.text == f"identity fqdn {identity}" for peer in peers for child in peer.children):
        return None
    policy = root.find(f"crypto ikev2 authorization policy {identity.split('.', 1)[0]}")
    listed = next((c.text.split()[-1] for c in (policy.children if policy else []) if c.text.startswith("aaa attribute list ")), None)
    attributes = root.find(f"aaa attribute list {listed}") if listed is not None else None
    if attributes is None:
        return None
    return [found[1] for child in attributes.children if (found := _INTERFACE_CONFIG.match(child.text)) is not None]


def dial(device: DeviceState, link: LiveLink) -> None:
    """Bring `link`'s session up where the hub authorizes it and the address it is given takes:
    a virtual-access numbered after the highest one up (held under the device's lock)."""
    root = device.lines().root
    lines = _authorized(root, link.identity)
    links: list[LiveLink] = device.outside_config.setdefault(LIVE_LINKS, [])
    if lines is None:
        link.interface = None
        return
    numbers = [int(other.interface.text.rsplit("Access", 1)[1]) for other in links if other.interface is not None]
    interface = ConfigNode(f"interface Virtual-Access{max(numbers, default=1) + 1}")
    others = [other.interface for other in links if other.interface is not None and other is not link]
    for text in lines:
        if address_overlap(root, interface, text, others) is not None:
            link.interface = None
            return
        interface.children.append(ConfigNode(text))
    link.interface = interface


def live_interfaces(device: DeviceState) -> list[ConfigNode]:
    """The virtual-access interfaces up now."""
    links: list[LiveLink] = device.outside_config.get(LIVE_LINKS, [])
    return [link.interface for link in links if link.interface is not None]


def clear_sessions(device: DeviceState, remote: str) -> None:
    """`clear crypto session remote A`: the sessions from A go, with their virtual-access; each
    store link there dials again at once."""
    with device.lock:
        links: list[LiveLink] = device.outside_config.get(LIVE_LINKS, [])
        cleared = [link for link in links if link.remote == remote]
        for link in cleared:
            link.interface = None
        for link in cleared:
            dial(device, link)


_IOS_MODE_NAMES = {
    "interface": "config-if",
    "router": "config-router",
    "address-family": "config-router-af",
    "line": "config-line",
    "route-map": "config-route-map",
    "ip access-list": "config-ext-nacl",
    "class-map": "config-cmap",
    "policy-map": "config-pmap",
    "class": "config-pmap-c",
    "vrf definition": "config-vrf",
}


class IosSession(CliSession):
    def __init__(self, device: DeviceState) -> None:
        super().__init__(device)
        self.config_mode = False
        self.context: list[ConfigNode] = []
        self.awaiting_copy_destination = False

    @property
    def prompt(self) -> str:
        host = self.device.hostname()
        if not self.config_mode:
            return f"{host}#"
        if not self.context:
            return f"{host}(config)#"
        kind = self.device.lines().dialect.section_kind(self.context[-1].text)
        return f"{host}({_IOS_MODE_NAMES.get(kind, 'config-' + kind.split()[0])})#"

    def invalid(self, line: str, column: int) -> str:
        return caret_error(self.prompt, line, column, IOS_INVALID)

    def handle(self, line: str) -> Reply:
        if self.awaiting_copy_destination:
            self.awaiting_copy_destination = False
            return self.save()
        if self.config_mode:
            return self.handle_config(line)
        return self.handle_exec(line)

    def handle_exec(self, line: str) -> Reply:
        command, filter_kind, filter_pattern = split_pipe(line.strip())
        tokens = command.split()
        if not tokens:
            return Reply("")
        if len(tokens) == 5 and matches(tokens[:4], "configure terminal revert timer"):
            return self.configure_with_revert(tokens[4])
        if matches(tokens, "configure confirm"):
            self.device.confirm_revert()
            return Reply("")
        if matches(tokens, "configure revert now"):
            # Rolls back to the archived config of the armed revert timer at once.
            self.device.revert_now()
            return Reply("")
        if matches(tokens, "configure terminal") or matches(tokens, "configure"):
            self.config_mode = True
            self.context = []
            return Reply("Enter configuration commands, one per line.  End with CNTL/Z.\n")
        if matches(tokens[:2], "terminal length") or matches(tokens[:2], "terminal width"):
            return Reply("")
        if matches(tokens, "terminal no monitor") or matches(tokens, "enable"):
            return Reply("")
        if matches(tokens, "show running-config"):
            return Reply(apply_filter(self.device.running_text(), filter_kind, filter_pattern))
        if matches(tokens, "show startup-config"):
            with self.device.lock:
                startup = self.device.startup_text
            return Reply(apply_filter(startup, filter_kind, filter_pattern))
        if matches(tokens, "show version"):
            text = (
                f"Cisco IOS XE Software, Version {IOS_VERSION}.3\n"
                f"Cisco IOS Software [Cupertino], Virtual XE Software, Version {IOS_VERSION}.3\n"
                f"{self.device.hostname()} uptime is 1 hour, 2 minutes\n"
            )
            return Reply(apply_filter(text, filter_kind, filter_pattern))
        if matches(tokens, "show ip interface brief"):
            return Reply(apply_filter(self.interface_brief(), filter_kind, filter_pattern))
        if matches(tokens, "show snmp user"):
            return Reply(apply_filter(self.snmp_users(), filter_kind, filter_pattern))
        if len(tokens) == 6 and matches(tokens[:3], "clear ip bgp") and tokens[4] == "soft" and tokens[5] in ("in", "out"):
            return self.soft_refresh(tokens[3], tokens[5])
        if (cleared := _CLEAR_SESSION.match(" ".join(tokens))) is not None:
            clear_sessions(self.device, cleared[1])
            return Reply("")
        if matches(tokens, "write memory") or matches(tokens, "write"):
            return self.save()
        if matches(tokens, "copy running-config startup-config"):
            self.awaiting_copy_destination = True
            return Reply("Destination filename [startup-config]? ", awaiting_answer=True)
        if matches(tokens, "exit") or matches(tokens, "logout") or matches(tokens, "quit"):
            return Reply("", "close")
        column = self.unmatched_column(line)
        return Reply(self.invalid(line, column))

    def soft_refresh(self, neighbor: str, direction: str) -> Reply:
        """`clear ip bgp A soft in|out`: the session stays up, the device asks for or sends the
        routes again (recorded); a neighbour the running config lacks is refused (the emulator's
        wording)."""
        with self.device.lock:
            known = re.search(rf"^ neighbor {re.escape(neighbor)} remote-as ", self.device.running_text(), re.MULTILINE)
            if known is None:
                return Reply(f"% Unknown neighbor {neighbor}\n")
            self.device.bgp_refreshes.append((neighbor, direction))
        return Reply("")

    def configure_with_revert(self, minutes: str) -> Reply:
        """`configure terminal revert timer <1-120>` (minutes): Configuration Rollback Confirmed
        Change. It needs the configuration archive (`archive` with a `path`); the running config
        of now comes back when the timer runs out, unless `configure confirm` cancels it."""
        line = f"configure terminal revert timer {minutes}"
        if not minutes.isdigit() or not 1 <= int(minutes) <= 120:
            return Reply(self.invalid(line, len(line) - len(minutes)))
        with self.device.lock:
            archive = self.device.lines().root.find("archive")
            has_path = archive is not None and any(c.text.startswith("path ") for c in archive.children)
        if not has_path:
            # The emulator's wording: IOS-XE refuses a revert timer without an archive path.
            return Reply("% Rollback Confirmed Change requires the archive path to be configured\n")
        self.device.arm_revert(int(minutes) * self.device.spec.timer_minute_seconds)
        self.config_mode = True
        self.context = []
        return Reply("Enter configuration commands, one per line.  End with CNTL/Z.\n")

    @staticmethod
    def unmatched_column(line: str) -> int:
        # The caret goes under the first word IOS could not parse; for an unknown command
        # that is the word after the last one shared with a known command.
        known = ("show", "configure", "terminal", "write", "copy", "exit", "enable")
        words = list(re.finditer(r"\S+", line))
        if words and any(k.startswith(words[0].group(0).lower()) for k in known) and len(words) > 1:
            return words[1].start()
        return words[0].start() if words else 0

    def save(self) -> Reply:
        with self.device.lock:
            hang = self.device.faults.hang_on_save
        if hang:
            return Reply("Building configuration...\n", "hang")
        self.device.save()
        return Reply("Building configuration...\n[OK]\n")

    def handle_config(self, line: str) -> Reply:
        text = line.strip()
        if not text:
            return Reply("")
        if text in ("end", "\x1a") or (text == "exit" and not self.context):
            self.config_mode = False
            self.context = []
            return Reply("")
        if text.split()[0] == "do" and len(text.split()) > 1:
            return self.handle_exec(text.split(" ", 1)[1])
        dialect = self.device.lines().dialect

        def apply() -> str:
            denied = deny_match(self.device.spec.reject_patterns, line)
            if denied is None:
                denied = physical_port_deleted(line)
            if denied is not None:
                return self.invalid(line, denied)
            at_top = not self.context or (not line[:1].isspace() and text.split()[0] in dialect.global_only)
            if at_top and text.split()[0] not in dialect.top_keywords:
                return self.invalid(line, len(line) - len(line.lstrip()))
            at_global = not self.context or not line[:1].isspace()
            user = _SNMP_USER.match(text) if at_global else None
            if user is not None and user.group("version") == "v3":
                self.context = []
                self.keep_snmp_user(user)
                return ""
            root = self.device.lines().root
            resequence = _RESEQUENCE.match(text) if at_global else None
            if resequence is not None:
                self.context = []
                return _resequenced(root, *resequence.groups())
            neighbor = _NEIGHBOR.match(" ".join(text.split())) if self.context and not at_top else None
            if neighbor is not None and self.context[0].text.startswith("router bgp "):
                handled = _bgp_neighbor_line(self.context[0], neighbor)
                if handled is not None:
                    return handled
            operation = _SLA_OPERATION.match(text) if at_global else None
            if operation is not None and not operation.group(1) and _scheduled(root, operation.group(2)):
                self.context = []
                return IOS_SLA_RUNNING
            in_acl = bool(self.context) and not at_top and self.context[-1].text.startswith(_ACL_SECTIONS)
            entry = _ACL_ENTRY.match(" ".join(text.split())) if in_acl else None
            if entry is not None:
                return _acl_entry_added(self.context[-1], int(entry.group(1)), entry.group(2), line, self.invalid)
            if self.context and not at_top:
                overlap = address_overlap(root, self.context[-1], line, live_interfaces(self.device))
                if overlap is not None:
                    return overlap
            self.context = self.device.lines().apply(self.context, line)
            if operation is not None and operation.group(1):
                number = operation.group(2)
                root.children = [child for child in root.children if _part_of(child.text) != number]
            return ""

        return self.gate_config_line(line, self.invalid, apply)

    def keep_snmp_user(self, line: re.Match[str]) -> None:
        """Apply an `snmp-server user ... v3` line (or its negation) to the users kept outside
        the running config."""
        users: dict[str, SnmpUser] = self.device.outside_config.setdefault(SNMP_USERS, {})
        name, group = line.group("name"), line.group("group") or ""
        if line.group("no"):
            if name in users and users[name].group == group:
                del users[name]
            return
        users[name] = SnmpUser.from_line(name, group, line.group("rest"))

    def snmp_users(self) -> str:
        """`show snmp user`: one block per user, a blank line between them."""
        with self.device.lock:
            users: dict[str, SnmpUser] = self.device.outside_config.get(SNMP_USERS, {})
            engine = engine_id(self.device.spec.name)
            return "\n".join(user.shown(engine) for user in users.values())

    def interface_brief(self) -> str:
        rows = ["Interface              IP-Address      OK? Method Status                Protocol"]
        with self.device.lock:
            for node in self.device.lines().root.children:
                if not node.text.startswith("interface "):
                    continue
                name = node.text.split(" ", 1)[1]
                address = "unassigned"
                shutdown = False
                for child in node.children:
                    words = child.text.split()
                    if words[:2] == ["ip", "address"] and len(words) >= 3:
                        address = words[2]
                    if child.text == "shutdown":
                        shutdown = True
                status = "administratively down" if shutdown else "up"
                protocol = "down" if shutdown else "up"
                rows.append(f"{name:<22} {address:<15} YES manual {status:<21} {protocol}")
        return "\n".join(rows) + "\n"


def _bgp_neighbor_line(router: ConfigNode, line: re.Match[str]) -> str | None:
    """Check a `[no] neighbor X ...` line typed in `router` (a `router bgp` block) against the
    neighbours it holds: refused where X is none of them and the line does not make it; where it
    deletes the line that made X, X goes whole: every line naming it, in the block and in each of
    its address families, and a peer group's members with it ("To remove the peer group and all of
    its members, use the no form of this command", Cisco IOS IP Command Reference, `neighbor
    peer-group (creating)`). None: apply the line as any other."""
    name, made = line.group("name"), _NEIGHBOR_MADE.match(line.group(0).removeprefix("no "))
    held: set[str] = set()
    members: dict[str, set[str]] = {}
    for child in router.children:
        if (making := _NEIGHBOR_MADE.match(child.text)) is not None:
            held.add(making.group("name"))
            if making.group("group") is not None:
                members.setdefault(making.group("group"), set()).add(making.group("name"))
    if name not in held:
        return None if made is not None and not line.group("no") else IOS_NO_NEIGHBOR
    if not line.group("no") or made is None or made.group("group") is not None:
        return None
    gone = {name, *members.get(name, set())}

    def kept(node: ConfigNode) -> bool:
        return not any(node.text.startswith(f"neighbor {each} ") or node.text == f"neighbor {each}" for each in gone)

    router.children = [child for child in router.children if kept(child)]
    for child in router.children:
        child.children = [grandchild for grandchild in child.children if kept(grandchild)]
    return ""


def _part_of(text: str) -> str | None:
    """The IP SLA operation a top-level line is part of (reaction configuration, reaction
    trigger, schedule), or None."""
    for prefix in _SLA_PARTS:
        if text.startswith(prefix + " "):
            return text.removeprefix(prefix + " ").split()[0]
    return None


def _acl_entry_added(acl: ConfigNode, number: int, rule: str, line: str, invalid: Callable[[str, int], str]) -> str:
    """Add entry `number` `rule` to named ACL `acl` at its place by number (IOS's answer where
    the number is taken or out of range; nothing where the ACL holds the rule already)."""
    if not 1 <= number <= ACL_HIGHEST_SEQUENCE:
        return invalid(line, len(line) - len(line.lstrip()))
    held = [(_entry_number(child), child) for child in acl.children]
    if any(held_number == number and child.text.split(" ", 1)[1] != rule for held_number, child in held):
        return IOS_DUPLICATE_SEQUENCE
    if any(held_number is not None and child.text.split(" ", 1)[1] == rule for held_number, child in held):
        return ""
    place = next((index for index, (held_number, _) in enumerate(held) if held_number is not None and held_number > number), len(held))
    acl.children.insert(place, ConfigNode(text=f"{number} {rule}"))
    return ""


def _entry_number(child: ConfigNode) -> int | None:
    first = child.text.split(" ", 1)[0]
    return int(first) if first.isdigit() and " " in child.text else None


def _resequenced(root: ConfigNode, name: str, start: str, step: str) -> str:
    """Number ACL `name`'s entries from `start` by `step`, in the order of their numbers (an ACL
    not held: nothing changes; what IOS prints then is not modelled)."""
    headers = (f"ip access-list extended {name}", f"ip access-list standard {name}")
    acl = next((child for child in root.children if child.text in headers), None)
    if acl is None:
        return ""
    numbered = sorted(
        (child for child in acl.children if child.text.split()[0].isdigit()), key=lambda child: int(child.text.split()[0])
    )
    for index, child in enumerate(numbered):
        child.text = f"{int(start) + index * int(step)} {child.text.split(' ', 1)[1]}"
    acl.children = [*numbered, *(child for child in acl.children if child not in numbered)]
    return ""


def _scheduled(root: ConfigNode, number: str) -> bool:
    return any(child.text.startswith("ip sla schedule ") and _part_of(child.text) == number for child in root.children)


def dial_in(device: DeviceState, identity: str, remote: str) -> str | None:
    """A store link with IKE identity `identity` (an FQDN) dials the hub from outside address
    `remote`, and stays online (it dials again whenever its session is cleared): its
    virtual-access's name, None where the hub does not authorize it."""
    link = LiveLink(identity, remote)
    with device.lock:
        device.outside_config.setdefault(LIVE_LINKS, []).append(link)
        dial(device, link)
        return link.interface.text.split(" ", 1)[1] if link.interface is not None else None


def live_links(device: DeviceState) -> dict[str, list[str]]:
    """The store links up now: identity -> its virtual-access's lines (its interface line
    first), as the hub configured it when the link dialled in."""
    with device.lock:
        links: list[LiveLink] = device.outside_config.get(LIVE_LINKS, [])
        return {
            link.identity: [link.interface.text, *(child.text for child in link.interface.children)]
            for link in links
            if link.interface is not None
        }


PROFILE = EmulatorProfile(
    name="cisco_xe",
    ssh_server_version="Cisco-1.25",
    default_config=default_config,
    parse=lambda text: LineConfig(IOS, text),
    hostname=lambda config: config.top_value("hostname"),
    running_text=running_text,
    session=IosSession,
    dial_in=dial_in,
    live_links=live_links,
)
