"""Huawei VRP in the emulator: its config dialect, factory config, CLI session and profile."""

from __future__ import annotations

import ipaddress
import re
import string
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
from storestack.lab.emulator.salt import salted_text

if TYPE_CHECKING:
    from storestack.lab.emulator.device import DeviceState

VRP_VERSION = "V300R019C10SPC300"
VRP_UNRECOGNIZED = "Error: Unrecognized command found at '^' position."
VRP_WRONG_PARAMETER = "Error: Wrong parameter found at '^' position."
# `undo peer X` in the BGP view (Huawei command reference "peer as-number": `undo peer
# ipv4-address`; "If you run the undo peer ipv4-address command, all configurations related to
# the peer are deleted"). The line negated whole (`undo peer X as-number N`) is taken the same
# way: what the AR answers to it is not documented. `undo peer X group G` likewise: it "deletes
# a peer from a peer group and all configurations of the peer" and "has the same function with
# the undo peer command" (Huawei NetEngine 8000 F1A command reference, "peer group").
_PEER_UNDONE = re.compile(r"^undo peer (?P<peer>\d+\.\d+\.\d+\.\d+)(?: as-number \S+| group \S+)?$")
# A peer's BFD timers reset by their keywords alone, the form Huawei documents beside the one with
# the values (campus switch command reference, "peer bfd", BGP view: `undo peer { group-name |
# ipv4-address } bfd { min-tx-interval | min-rx-interval | detect-multiplier } *`): each named
# timer goes back to its default, and the line goes once it sets none.
_BFD_TIMER = r"(?:min-tx-interval|min-rx-interval|detect-multiplier)"
_BFD_TIMERS_RESET = re.compile(rf"^undo peer (?P<peer>\S+) bfd (?P<timers>{_BFD_TIMER}(?: {_BFD_TIMER})*)$")

# A secret typed after `cipher` or `irreversible-cipher` in the statements that carry one
# (devices/platforms/huawei_vrp.py `secret_patterns`; not `ssh server cipher`, which lists
# algorithms). VRP keeps and shows it in its own form, never as typed: `cipher` "You can type in
# the plain text or the cipher text, and it is displayed as the cipher text when the configuration
# file is viewed" (Huawei VRP command reference, `ntp-service authentication-keyid`), encrypted
# with a salt, `%^%#...%^%#` (Huawei's NTP hardening example shows `cipher Huawei-12345` as
# `%^%#5_TD+l')]GVp>0:^0zBMN{%V;<_rw:v7E3,1X}C/%^%#`, and the same key on a second unit as
# `%@%@...%@%@`); `irreversible-cipher` as a salted hash, `$1a$<salt>$<hash>$` (Huawei's SFTP
# configuration example: `local-user client001 password irreversible-cipher $1a$jbB7=)5o.6$...$`).
# A value in its stored form (a rollback sends the running config back) is kept as given.
SECRET_STATEMENT = (
    r".*?\b(?:pre-shared-key|shared-key|password|(?:authentication|privacy)-mode\s+\S+)"
    r"\s+(?:cipher|irreversible-cipher)(?=\s)"
)
VRP_SECRET = re.compile(rf"(?P<statement>{SECRET_STATEMENT})\s+(?P<value>\S+)")
VRP_CIPHERTEXT = re.compile(r"^(%\^%#|%@%@)\S+\1$")
VRP_IRREVERSIBLE = re.compile(r"^\$1[a-z]\$\S+\$$")
# The characters of the emulator's stored forms: printable ones VRP's stored forms use, less `?`
# (the CLI's help), `|` (an output filter to the emulator's CLI), quotes, `\`, `$` and `%` (the
# forms' own delimiters).
VRP_SALT_ALPHABET = string.ascii_letters + string.digits + "!#&'()*+,-./:;<=>@[]^_`{}~"


def vrp_ciphertext(plain: str) -> str:
    """`cipher`'s stored form of `plain`: 40 characters between `%^%#`, as Huawei's examples show
    for keys of up to 16 characters; 4 more for every 3 characters beyond (the emulator's rule)."""
    length = 40 + 4 * -(-max(0, len(plain) - 16) // 3)
    return f"%^%#{salted_text(VRP_SALT_ALPHABET, length)}%^%#"


def vrp_irreversible() -> str:
    """`irreversible-cipher`'s stored form: a 10-character salt and a 40-character hash."""
    return f"$1a${salted_text(VRP_SALT_ALPHABET, 10)}${salted_text(VRP_SALT_ALPHABET, 40)}$"


def stored_secrets(line: str) -> str:
    """`line` as VRP keeps it: a secret it carries in its stored form (a negation as typed)."""
    found = None if line.split()[:1] == ["undo"] else VRP_SECRET.match(line)
    if found is None:
        return line
    value = found.group("value")
    if found.group("statement").endswith("irreversible-cipher"):
        stored = value if VRP_IRREVERSIBLE.match(value) else vrp_irreversible()
    else:
        stored = value if VRP_CIPHERTEXT.match(value) else vrp_ciphertext(value)
    return line[: found.start("value")] + stored + line[found.end("value") :]


# Which lines open sections, which are global-only and which replace one another (LineDialect).
VRP = LineDialect(
    negation="undo",
    openers={
        "": (
            "interface",
            "bgp",
            "ospf",
            "isis",
            "ip vpn-instance",
            "acl",
            "acl number",
            "acl name",
            "route-policy",
            "aaa",
            "user-interface",
            "ike proposal",
            "ike peer",
            "ipsec proposal",
            "ipsec policy",
            "nqa test-instance",
            "traffic classifier",
            "traffic behavior",
            "traffic policy",
            "vlan",
            "ip pool",
            "nat address-group",
            "hwtacacs-server template",
            "ipsec profile",
            "policy-based-route",
            "firewall zone",
            "firewall interzone",
        ),
        "aaa": ("authentication-scheme", "authorization-scheme", "accounting-scheme", "domain"),
        "bgp": ("ipv4-family", "ipv6-family", "l2vpn-ad-family"),
        "ip vpn-instance": ("ipv4-family", "ipv6-family"),
        "ospf": ("area",),
    },
    global_only=frozenset(
        {
            "sysname",
            "interface",
            "bgp",
            "ospf",
            "isis",
            "acl",
            "route-policy",
            "aaa",
            "user-interface",
            "ntp-service",
            "snmp-agent",
            "info-center",
            "stelnet",
            "ssh",
            "clock",
            "header",
            "lldp",
            "stp",
            "ike",
            "ipsec",
            "nqa",
            "traffic",
            "hwtacacs-server",
            "bfd",
            "policy-based-route",
            "route-policy-change",
        }
    ),
    top_keywords=frozenset(
        {
            "sysname",
            "interface",
            "bgp",
            "ospf",
            "isis",
            "ip",
            "ipv6",
            "acl",
            "route-policy",
            "aaa",
            "user-interface",
            "ntp-service",
            "snmp-agent",
            "info-center",
            "dhcp",
            "dns",
            "vlan",
            "stelnet",
            "ssh",
            "clock",
            "header",
            "firewall",
            "nqa",
            "ike",
            "ipsec",
            "traffic",
            "qos",
            "sftp",
            "lldp",
            "stp",
            "local-user",
            "rsa",
            "pki",
            "http",
            "telnet",
            "nat",
            "drop-profile",
            "set",
            "undo",
            "hwtacacs-server",
            "bfd",
            "policy-based-route",
            "route-policy-change",
        }
    ),
    replace_keys=(
        ("sysname", 1),
        ("description", 1),
        ("ip address", 2),
        ("ipv6 address", 2),
        ("router-id", 1),
        ("route-policy-change notify-delay", 2),
        ("mtu", 1),
        ("apply cost", 2),
        ("apply local-preference", 2),
        # One ACL per direction on an interface ("You can apply only one ACL in one direction",
        # AR command reference, "traffic-filter (interface view)"): the emulator takes a second
        # in place of the first; whether an AR does so or refuses it, no document seen says.
        ("traffic-filter inbound", 2),
        ("traffic-filter outbound", 2),
    ),
    exit_words=frozenset({"quit"}),
    section_end_markers={},
    comment_prefixes=("#", "!"),
    separator="#",
    # A secret applied again replaces the one before, whatever its salted form.
    keyed_by=(re.compile(SECRET_STATEMENT),),
    # System-view lines whose first word also begins view lines (`ip address`, `ip binding`):
    # typed in a view, an AR runs them in the system view and prints them at the margin (AR
    # command reference EDOC1100064351, "ip ip-prefix", "ip community-filter", "ip route-static",
    # "ip as-path-filter": System view).
    global_lines=("ip ip-prefix", "ip community-filter", "ip as-path-filter", "ip route-static"),
)

# Lines an AR refuses in a view (the opener's first words), with the word the caret points at
# (its match group). An AR interface policy-routes forwarded traffic by a traffic behavior's
# `redirect ip-nexthop ... track-nqa` in a traffic policy applied inbound; it has no interface
# `ip policy-based-route`, and a `policy-based-route` node's `apply ip-address next-hop` takes
# one or two addresses and no `track` (devices/lint/huawei_vrp.py `policy_routing`).
#
# An ACL rule matches a port only for TCP or UDP: Huawei's "rule (advanced ACL view)" gives
# `source-port` and `destination-port` in the command's TCP form (`{ protocol-number | tcp }`)
# and UDP form (`{ protocol-number | udp }`) only, never in its ICMP form or its form for the
# other protocols (`gre`, `igmp`, `ip`, `ipinip`, `ospf`, a number), and "rule (basic ACL view)"
# takes no protocol or port at all; the caret points at the first port keyword.
REFUSED_IN_VIEW: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("interface", re.compile(r"^\s*ip\s+(policy-based-route)\b")),
    (
        "acl",
        re.compile(
            r"^\s*rule\s+(?:\d+\s+)?(?:permit|deny)\s+(?!(?:tcp|udp|6|17)\s)(?:\S+\s+)*?"
            r"(destination-port|source-port)\b"
        ),
    ),
    ("policy-based-route", re.compile(r"^\s*apply\s+ip-address\s+next-hop\s+(?:\S+\s+){1,2}?(track)\b")),
)


# Deletions an AR takes only in their documented form, with the word the caret points at (its
# match group) in any other: a route-policy node by its number alone (Huawei command reference
# "route-policy": `undo route-policy route-policy-name [ node node ]`; no Huawei reference seen
# takes the node's `permit`/`deny` with its number), and an interface's filter by its direction
# alone (AR command reference EDOC1100064351, "traffic-filter (Interface view)": `undo
# traffic-filter { inbound | outbound } [ ipv6 acl ]`, never the ACL it binds). What an AR prints
# for them, no document says: the emulator answers as for any word it does not take.
UNDOCUMENTED_UNDO: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\s*undo\s+route-policy\s+\S+\s+(permit|deny)\b"),
    re.compile(r"^\s*undo\s+traffic-filter\s+(?:inbound|outbound)\s+(?:ipv6\s+acl\s+(\S+)|(?!ipv6\s+acl\s*$)(\S+))"),
    # A named ACL by its name alone: `undo acl name acl-name` (AR command reference "acl name",
    # EDOC1100064351), never the number its header gives after the name.
    re.compile(r"^\s*undo\s+acl\s+name\s+\S+\s+(\S+)"),
    # A route-policy node's `apply` clause by its keyword alone, never the value it sets (AR
    # V300R021 command reference EDOC1100203224, "apply as-path": `undo apply as-path`; campus
    # V200R022C10 command reference EDOC1100325914, "apply local-preference", "apply
    # preferred-value" alike), and a traffic behavior's re-mark with the field it re-marks
    # ("remark dscp", traffic behavior view: `undo remark dscp`).
    re.compile(r"^\s*undo\s+apply\s+(?:as-path|local-preference|preferred-value)\s+(\S+)"),
    re.compile(r"^\s*undo\s+remark\s*()$"),
    # A traffic classifier by its name alone (`undo traffic classifier classifier-name`, Huawei
    # command reference "traffic classifier"), never with its operator, and a traffic policy's
    # binding by the classifier's name alone (`undo classifier classifier-name`, "classifier
    # behavior (traffic policy view)"), never with the behavior it binds.
    re.compile(r"^\s*undo\s+traffic\s+classifier\s+\S+\s+(operator)\b"),
    re.compile(r"^\s*undo\s+classifier\s+\S+\s+(behavior)\b"),
    # An IKE peer's DPD mode by the keyword alone (AR500, AR510, and AR530 V200R007 Commands
    # Reference EDOC1000097293, "dpd type": `undo dpd type`), and its DPD timers likewise (Huawei
    # HiSecEngine USG command reference, "dpd": `undo dpd { idle-time | retransmit-interval |
    # retry-limit }`).
    re.compile(r"^\s*undo\s+dpd\s+type\s+(\S+)"),
    re.compile(r"^\s*undo\s+dpd\s+(?:idle-time|retransmit-interval|retry-limit)\s+(\S+)"),
    # An interface's MTU and TCP MSS and an IPsec profile's SA lifetime by their keyword alone
    # (CloudEngine command reference "mtu (MTI view)": `undo mtu`; NetEngine 8000 F1A command
    # reference "tcp adjust-mss": `undo tcp adjust-mss`; "sa duration", IPsec profile view:
    # `undo sa duration { time-based | traffic-based }`).
    re.compile(r"^\s*undo\s+mtu\s+(\S+)"),
    re.compile(r"^\s*undo\s+tcp\s+adjust-mss\s+(\S+)"),
    re.compile(r"^\s*undo\s+sa\s+duration\s+(?:time-based|traffic-based)\s+(\S+)"),
    # A segment's DHCP lease, a BGP session's prefix limit, BGP's preferences and an NQA test's
    # parameters by their keyword alone too (AR command reference EDOC1100064351, "dhcp server
    # lease": `undo dhcp server lease`; CloudEngine command reference, "peer route-limit": `undo
    # peer { group-name | ipv4-address } route-limit`, "preference (BGP)": `undo preference`; NQA
    # view, "probe-count", "frequency", "interval (NQA view)", "timeout", "fail-percent").
    re.compile(r"^\s*undo\s+dhcp\s+server\s+lease\s+(\S+)"),
    re.compile(r"^\s*undo\s+peer\s+\S+\s+route-limit\s+(\S+)"),
    re.compile(r"^\s*undo\s+preference\s+(\S+)"),
    re.compile(r"^\s*undo\s+(?:probe-count|frequency|timeout|fail-percent|interval)\s+(\S+)"),
    # An IKE proposal's SA lifetime (NetEngine 8000 F1A command reference, "sa duration
    # (ike-proposal)": `undo sa duration`) and the route-policy notification delay (CloudEngine
    # command reference, "route-policy-change notify-delay": `undo route-policy-change
    # notify-delay`) alike.
    re.compile(r"^\s*undo\s+sa\s+duration\s+(\d+)"),
    re.compile(r"^\s*undo\s+route-policy-change\s+notify-delay\s+(\S+)"),
)
# `undo route-policy NAME node N`: the node N of NAME, whichever its mode.
NODE_DELETED = re.compile(r"^undo route-policy (\S+) node (\d+)$")


def refused_column(context: list[ConfigNode], line: str) -> int | None:
    """Where an AR's caret points in `line`, refused in the current view; None: not refused."""
    for pattern in UNDOCUMENTED_UNDO:
        if found := pattern.match(line):
            return found.start(found.lastindex or 0)
    if not context:
        return None
    opener = context[-1].text.split()
    for view, pattern in REFUSED_IN_VIEW:
        found = pattern.match(line)
        if found and opener[: len(view.split())] == view.split():
            return found.start(1)
    return None


# System-view lines that name an interface as a source, with the name as their match group. A
# logical interface (a loopback, tunnel, VLANIF, sub-interface...) exists only once configured,
# and VRP refuses a line that names one it has not created ("If the source interface ... is a
# logical interface, the logical interface must have been created. Otherwise, the command cannot
# be executed successfully.", Huawei "ssh server-source"); physical ports exist from the factory.
NAMES_INTERFACE = re.compile(
    r"^(?:ntp-service\s+source-interface|info-center\s+loghost\s+source|snmp-agent\s+trap\s+source"
    r"|ssh\s+server-source\s+-i)\s+(\S+)"
)
LOGICAL_INTERFACE = re.compile(r"^(?:LoopBack|Tunnel|Vlanif|Dialer|Eth-Trunk|Virtual-Template)\d|\.\d+$")


def missing_interface_column(config: LineConfig, line: str) -> int | None:
    """Where an AR's caret points in a system-view `line` (these are global: typed in a section
    they leave it) that names a logical interface the config does not have yet; None: the line
    names none, or one that exists."""
    found = NAMES_INTERFACE.match(line)
    if not found or not LOGICAL_INTERFACE.search(found.group(1)):
        return None
    if config.root.find(f"interface {found.group(1)}") is not None:
        return None
    return found.start(1)


# An interface address no other interface of its VPN instance holds one of the same subnet:
# "if another interface is configured with the IP address 20.1.1.2/16, the system prompts an IP
# address conflict. The configuration fails" (Huawei S2700 V100R006C00 Configuration Guide - IP
# Services, "Features of IP Addresses Supported by the S2700"; VRP8 detects the conflict by
# default, NetEngine 8000 "ip address conflict check disable"). An address of a subnet that only
# overlaps another's is taken there with a prompt: the emulator takes it. No document gives an
# AR's text: this one is the emulator's own.
ADDRESS_LINE = re.compile(r"^\s*ip\s+address\s+(\d+\.\d+\.\d+\.\d+)\s+(\d+\.\d+\.\d+\.\d+)(?:\s+sub)?\s*$")
ADDRESS_CONFLICT = "Error: The specified IP address conflicts with another address."


def _binding(interface: ConfigNode) -> str:
    return next(
        (child.text.split()[-1] for child in interface.children if child.text.startswith("ip binding vpn-instance ")),
        "",
    )


def address_conflict(config: LineConfig, context: list[ConfigNode], line: str) -> bool:
    """Whether `line`, typed in an interface view, gives it an address in a subnet another
    interface of the same VPN instance holds one in."""
    found = ADDRESS_LINE.match(line)
    if found is None or not context or not context[-1].text.startswith("interface "):
        return False
    here = context[-1]
    network = ipaddress.IPv4Interface(f"{found[1]}/{found[2]}").network
    for node in config.root.children:
        if node is here or not node.text.startswith("interface ") or _binding(node) != _binding(here):
            continue
        for child in node.children:
            held = ADDRESS_LINE.match(child.text)
            if held and ipaddress.IPv4Interface(f"{held[1]}/{held[2]}").network == network:
                return True
    return False


# "Each zone has a globally unique security priority" (AR100-AR3600 V200R010 CLI-based
# Configuration Guide - Security, "Security Zone and Interzone", EDOC1100034077): a zone's
# `priority N` while another zone holds N is refused. The guide gives the rule, not the AR's
# message: this text is the emulator's own.
ZONE_PRIORITY_TAKEN = "Error: The priority has been used by another security zone."
_ZONE_PRIORITY = re.compile(r"^\s*priority (\d+)$")


def zone_priority_taken(config: LineConfig, context: list[ConfigNode], line: str) -> bool:
    """Whether `line`, typed in a security zone's view, gives it a priority another zone holds."""
    found = _ZONE_PRIORITY.match(line)
    if found is None or not context or not context[-1].text.startswith("firewall zone "):
        return False
    here = context[-1]
    return any(
        node is not here and node.text.startswith("firewall zone ") and any(
            (held := _ZONE_PRIORITY.match(child.text)) is not None and held[1] == found[1] for child in node.children
        )
        for node in config.root.children
    )


# A traffic classifier or behavior a traffic policy binds (`classifier C behavior B`) is not
# deleted: "To delete a traffic behavior, unbind the traffic policy containing the traffic
# behavior from an interface and unbind the traffic behavior from a traffic classifier in the
# traffic policy" (AR command reference EDOC1100064351, "traffic behavior"); "After a traffic
# policy is applied, you cannot directly delete ... the traffic classifier and traffic behavior
# bound to the traffic policy" (Huawei S-series command reference, "traffic-policy global"). The
# emulator refuses the deletion while any policy binds it, applied or not. The references give
# the rule, not the AR's message: this text is the emulator's own.
MQC_IN_USE = "Error: The {kind} is being used by a traffic policy."
_MQC_DELETED = re.compile(r"^undo traffic (classifier|behavior|policy) (\S+)$")
# A traffic policy an interface applies likewise: "After a traffic policy is applied, you cannot
# directly delete the traffic policy" (Huawei S-series command reference, "traffic-policy
# global"). The message is the emulator's own.
POLICY_APPLIED = "Error: The traffic policy has been applied."


def mqc_in_use(config: LineConfig, line: str) -> str | None:
    """The refusal of `line` where it deletes a traffic classifier or behavior a traffic policy
    binds, or a traffic policy an interface applies; None: it deletes none, or one in no use."""
    found = _MQC_DELETED.match(" ".join(line.split()))
    if found is None:
        return None
    kind, name = found.groups()
    if kind == "policy":
        applied = re.compile(rf"^traffic-policy {re.escape(name)} (?:inbound|outbound)$")
        for node in config.root.children:
            if node.text.startswith("interface ") and any(applied.match(child.text) for child in node.children):
                return POLICY_APPLIED
        return None
    at = 1 if kind == "classifier" else 3
    for node in config.root.children:
        if node.text.startswith("traffic policy ") and any(
            len(words := child.text.split()) == 4 and words[0] == "classifier" and words[at] == name
            for child in node.children
        ):
            return MQC_IN_USE.format(kind=f"traffic {kind}")
    return None


# An interface's `traffic-policy P inbound|outbound` binds a traffic policy that exists: its name
# "must be the name of an existing traffic policy", the prerequisite "A traffic policy has been
# created using the traffic policy command" (Huawei S-series command reference, "traffic-policy
# (VLANIF interface view)", "traffic-policy (VLAN view)", "traffic-policy global"). The references
# give the rule, not the AR's message: this text is the emulator's own. (A BGP peer's `peer X
# route-policy P` naming a route-policy not created yet is taken: no Huawei document seen says
# the AR refuses it.)
POLICY_MISSING = "Error: The traffic policy does not exist."
_POLICY_BOUND = re.compile(r"^traffic-policy (\S+) (?:inbound|outbound)$")


def missing_traffic_policy(config: LineConfig, context: list[ConfigNode], line: str) -> bool:
    """Whether `line`, typed in an interface view, binds a traffic policy the config lacks."""
    found = _POLICY_BOUND.match(" ".join(line.split()))
    if found is None or not context or not context[-1].text.startswith("interface "):
        return False
    return not any(node.text.split()[:3] == ["traffic", "policy", found[1]] for node in config.root.children)


# An NQA test instance runs from its `start` line on, and the parameters of a running one
# cannot be changed ("The ToS value of a running test instance cannot be changed", likewise its
# frequency: Huawei NQA command reference, `tos`, `frequency`); `undo start` stops it. The
# reference gives the rule, not the AR's message: this text is the emulator's own.
NQA_RUNNING = "Error: The test instance is running, and its parameters cannot be modified."


def nqa_running_refuses(context: list[ConfigNode], tokens: list[str]) -> bool:
    """Whether a line (its words) typed in a running NQA test instance's view changes it."""
    if not context or not context[-1].text.startswith("nqa test-instance "):
        return False
    if tokens[0] in ("start", "quit", "return") or tokens[:2] == ["undo", "start"]:
        return False
    return any(child.text.startswith("start ") for child in context[-1].children)


# What the AR's route management (RM) holds from BGP: with `route-policy-change notify-delay`
# configured, a change to a route-policy, an IP prefix list, a community or AS-path filter
# reaches BGP only once no change came for the delay, or at `refresh bgp all import|export`
# (Huawei "route-policy-change notify-delay"); without it, at once. The emulator keeps the config
# of the last policy BGP took (`DeviceState.held_policy`) from the first such change until a
# `refresh bgp all`, in immediate validation (two-phase: not modelled); it runs no delay timer.
NOTIFY_DELAY = re.compile(r"^route-policy-change notify-delay \d+$", re.MULTILINE)
POLICY_LINE = re.compile(r"^(?:undo\s+)?(?:route-policy|ip\s+(?:ip-prefix|community-filter|as-path-filter))\s")


def edits_policy(context: list[ConfigNode], line: str) -> bool:
    """Whether `line`, typed at `context`, edits a routing policy object."""
    if POLICY_LINE.match(line.strip()) and not line.strip().startswith("route-policy-change"):
        return True
    return bool(context) and line[:1].isspace() and context[0].text.startswith("route-policy ")


def deleted_node(config: LineConfig, line: str) -> str:
    """`line`, where it deletes a route-policy node by its number (`NODE_DELETED`), as the
    deletion of that node's section, whichever its mode; any other line as it is."""
    found = NODE_DELETED.match(" ".join(line.split()))
    if found is None:
        return line
    name, number = found.groups()
    for node in config.root.children:
        if re.fullmatch(rf"route-policy {re.escape(name)} (?:permit|deny) node {number}", node.text):
            return f"undo {node.text}"
    return line


def default_config(name: str) -> str:
    """An AR out of the box: its physical ports, and no loopback (one exists once configured)."""
    return (
        f"#\nsysname {name}\n#\n"
        "interface GigabitEthernet0/0/0\n shutdown\n#\n"
        "interface GigabitEthernet0/0/1\n shutdown\n#\n"
        "interface GigabitEthernet0/0/2\n shutdown\n#\nreturn\n"
    )


def running_text(config: LineConfig) -> str:
    """`display current-configuration` as VRP prints it."""
    lines = [f"!Software Version {VRP_VERSION}", "#", *config.render_lines(), "return"]
    return "\n".join(lines) + "\n"


class VrpSession(CliSession):
    def __init__(self, device: DeviceState) -> None:
        super().__init__(device)
        self.system_view = False
        self.context: list[ConfigNode] = []
        self.awaiting_save_confirm = False
        # Two-phase validation (VRP8's default): lines edit this session's candidate, and only
        # `commit` (or `commit trial`) makes them the running config. `[*host]` while it differs.
        # Immediate validation (VRP5: AR V200R/V300R releases): each line is live once typed, the
        # system view's prompt carries no mark and there is no commit (`validation` of the spec).
        self.two_phase = device.spec.validation == "two-phase"
        self.candidate: LineConfig | None = None
        self.uncommitted = False
        self.awaiting_exit_answer = False

    @property
    def prompt(self) -> str:
        host = self.device.hostname()
        if not self.system_view:
            return f"<{host}>"
        mark = ("*" if self.uncommitted else "~") if self.two_phase else ""
        if not self.context:
            return f"[{mark}{host}]"
        return f"[{mark}{host}-{self.view_name()}]"

    def view_name(self) -> str:
        parts: list[str] = []
        for node in self.context:
            words = node.text.split()
            if words[0] == "interface" and len(words) > 1:
                parts = [words[1]]
            elif words[0] in ("ipv4-family", "ipv6-family"):
                parts.append("af-" + words[0].split("-")[0])
            elif words[0] in ("ospf", "area", "isis") and len(words) > 1:
                parts.append(f"{words[0]}-{words[1]}")
            else:
                parts.append(words[0])
        return "-".join(parts)

    def invalid(self, line: str, column: int) -> str:
        return caret_error(self.prompt, line, column, VRP_UNRECOGNIZED)

    def handle(self, line: str) -> Reply:
        if self.awaiting_exit_answer:
            self.awaiting_exit_answer = False
            answer = line.strip().lower()
            if answer in ("y", "yes"):
                self.commit_candidate()
            elif answer not in ("n", "no"):
                return Reply("")  # cancel: stay in the system view
            self.leave_system_view()
            return Reply("")
        if self.awaiting_save_confirm:
            self.awaiting_save_confirm = False
            if line.strip().lower() not in ("y", "yes"):
                return Reply("")
            with self.device.lock:
                hang = self.device.faults.hang_on_save
            if hang:
                return Reply("Now saving the current configuration to the slot 1.\n", "hang")
            self.device.save()
            return Reply(
                "Now saving the current configuration to the slot 1.\n"
                "Info: Save the configuration successfully.\n"
            )
        command, filter_kind, filter_pattern = split_pipe(line.strip())
        tokens = command.split()
        if not tokens:
            return Reply("")
        if matches(tokens, "display current-configuration"):
            return Reply(apply_filter(self.device.running_text(), filter_kind, filter_pattern))
        if matches(tokens, "display saved-configuration"):
            with self.device.lock:
                startup = self.device.startup_text
            return Reply(apply_filter(startup, filter_kind, filter_pattern))
        if matches(tokens, "display version"):
            text = (
                "Huawei Versatile Routing Platform Software\n"
                f"VRP (R) software, Version 5.170 (AR6120 {VRP_VERSION})\n"
                f"{self.device.hostname()} uptime is 0 days, 1 hours, 2 minutes\n"
            )
            return Reply(apply_filter(text, filter_kind, filter_pattern))
        if matches(tokens, "save"):
            self.awaiting_save_confirm = True
            return Reply(
                "Warning: The current configuration will be written to the device. Continue? [Y/N]:",
                awaiting_answer=True,
            )
        if matches(tokens, "screen-length 0 temporary"):
            return Reply(
                "Info: The configuration takes effect on the current user terminal interface only.\n"
            )
        if not self.system_view and tokens[:3] == ["refresh", "bgp", "all"] and tokens[3:] in (["import"], ["export"]):
            with self.device.lock:
                self.device.bgp_refreshes.append(("all", "in" if tokens[3] == "import" else "out"))
                self.device.held_policy = None
            return Reply("")
        if not self.system_view:
            if matches(tokens, "system-view"):
                self.system_view = True
                self.context = []
                with self.device.lock:
                    self.candidate = self.device.lines().copy()
                self.uncommitted = False
                return Reply("Enter system view, return user view with return command.\n")
            if matches(tokens, "quit"):
                return Reply("", "close")
            if matches(tokens, "return"):
                return Reply("")
            return Reply(self.invalid(line, len(line) - len(line.lstrip())))
        if tokens == ["return"] or (tokens == ["quit"] and not self.context):
            if self.uncommitted:
                self.awaiting_exit_answer = True
                return Reply(
                    "Warning: Uncommitted configurations found. Are you sure to commit them before "
                    "exiting? [Y(yes)/N(no)/C(cancel)]:",
                    awaiting_answer=True,
                )
            self.leave_system_view()
            return Reply("")
        if not self.two_phase and (tokens[0] == "commit" or tokens == ["abort", "trial"]):
            return Reply(self.invalid(line, len(line) - len(line.lstrip())))
        if tokens[0] == "commit" and not line[:1].isspace():
            return self.commit(tokens)
        if tokens == ["abort", "trial"]:
            if not self.device.revert_now():
                return Reply("Error: The system is not in the trial configuration mode.\n")
            self.reload_candidate()
            return Reply("Info: The trial configuration was aborted and the configuration rolled back.\n")
        dialect = VRP

        def apply() -> str:
            # Two-phase: the session's candidate; immediate: the running config (under the
            # device's lock here), so the line is live as it is applied.
            candidate = self.candidate if self.two_phase else self.device.lines()
            assert candidate is not None
            denied = deny_match(self.device.spec.reject_patterns, line)
            if denied is not None:
                return self.invalid(line, denied)
            refused = refused_column(self.context, line)
            port = physical_port_deleted(line)
            if port is not None:
                return caret_error(self.prompt, line, port, VRP_WRONG_PARAMETER)
            if refused is not None:
                return self.invalid(line, refused)
            base = command.split(" ", 1)[1] if tokens[0] == dialect.negation and len(tokens) > 1 else command
            leaves = not line[:1].isspace() and (
                dialect.opens_top_section(base) or dialect.is_global(base)
            )
            if not leaves and nqa_running_refuses(self.context, tokens):
                return NQA_RUNNING + "\n"
            missing = missing_interface_column(candidate, line)
            if missing is not None:
                return caret_error(self.prompt, line, missing, VRP_WRONG_PARAMETER)
            if address_conflict(candidate, self.context, line):
                return ADDRESS_CONFLICT + "\n"
            if zone_priority_taken(candidate, self.context, line):
                return ZONE_PRIORITY_TAKEN + "\n"
            if (in_use := mqc_in_use(candidate, line)) is not None:
                return in_use + "\n"
            if not leaves and missing_traffic_policy(candidate, self.context, line):
                return POLICY_MISSING + "\n"
            at_top = not self.context or (not line[:1].isspace() and dialect.is_global(base))
            if at_top and tokens[0] not in dialect.top_keywords and tokens[0] not in dialect.exit_words:
                return self.invalid(line, len(line) - len(line.lstrip()))
            if not self.two_phase and self.device.held_policy is None and edits_policy(self.context, line):
                held = self.device.running_text()
                if NOTIFY_DELAY.search(held):
                    self.device.held_policy = held
            reset = _BFD_TIMERS_RESET.match(" ".join(tokens)) if len(self.context) == 1 and not leaves else None
            if reset is not None and re.match(r"bgp \d+$", self.context[0].text):
                _bfd_timers_reset(self.context[0], reset.group("peer"), reset.group("timers").split())
                self.uncommitted = self.two_phase
                return ""
            undone = _PEER_UNDONE.match(" ".join(tokens)) if len(self.context) == 1 and not leaves else None
            if undone is not None and re.match(r"bgp \d+$", self.context[0].text):
                _peer_removed(self.context[0], undone.group("peer"))
                self.uncommitted = self.two_phase
                return ""
            self.context = candidate.apply(self.context, stored_secrets(deleted_node(candidate, line)))
            self.uncommitted = self.two_phase
            return ""

        return self.gate_config_line(line, self.invalid, apply)

    def commit(self, tokens: list[str]) -> Reply:
        """`commit` makes the candidate the running config, or confirms a trial run;
        `commit trial [<60-65535>]` (seconds, default 600) commits and reverts by itself unless
        a `commit` confirms it in time."""
        in_trial = self.device.revert_armed
        if tokens == ["commit"]:
            if in_trial and not self.uncommitted:
                self.device.confirm_revert()
                return Reply("Info: The trial configuration was confirmed.\n")
            if in_trial:
                return Reply("Error: The configuration cannot be changed during a trial run.\n")
            self.commit_candidate()
            return Reply("")
        if tokens[:2] != ["commit", "trial"] or len(tokens) > 3:
            return Reply(self.invalid(" ".join(tokens), 0))
        seconds = tokens[2] if len(tokens) == 3 else "600"
        if not seconds.isdigit() or not 60 <= int(seconds) <= 65535:
            return Reply("Error: Wrong parameter found at '^' position.\n")
        if in_trial:
            return Reply("Error: The configuration cannot be changed during a trial run.\n")
        with self.device.lock:
            before = self.device.running_text()
            self.commit_candidate()
            self.device.arm_revert(int(seconds) * self.device.spec.timer_minute_seconds / 60, to=before)
        return Reply(
            "Info: The system enters the trial configuration mode. The system will revert to previous "
            f"configuration if the trial configuration is not confirmed in {seconds} seconds.\n"
        )

    def commit_candidate(self) -> None:
        if self.uncommitted and self.candidate is not None:
            with self.device.lock:
                self.device.config = self.candidate.copy()
            self.device.changed()
        self.uncommitted = False

    def reload_candidate(self) -> None:
        with self.device.lock:
            self.candidate = self.device.lines().copy()
        self.uncommitted = False
        self.context = []

    def leave_system_view(self) -> None:
        self.system_view = False
        self.context = []
        self.candidate = None
        self.uncommitted = False


def _peer_removed(bgp: ConfigNode, peer: str) -> None:
    """Remove BGP peer `peer` whole from the BGP view `bgp`: every line naming it, there and in
    each address family (`undo peer X`, _PEER_UNDONE)."""

    def kept(node: ConfigNode) -> bool:
        return not node.text.startswith(f"peer {peer} ")

    bgp.children = [child for child in bgp.children if kept(child)]
    for child in bgp.children:
        child.children = [grandchild for grandchild in child.children if kept(grandchild)]


def _bfd_timers_reset(bgp: ConfigNode, peer: str, timers: list[str]) -> None:
    """Reset BGP peer `peer`'s BFD `timers` in the BGP view `bgp` (_BFD_TIMERS_RESET): the
    timers its `peer X bfd min-tx-interval ...` line sets less those, the line gone once it sets
    none."""
    prefix = f"peer {peer} bfd "
    for index, child in enumerate(bgp.children):
        words = child.text[len(prefix) :].split() if child.text.startswith(prefix) else []
        if not words or words[0] not in ("min-tx-interval", "min-rx-interval", "detect-multiplier"):
            continue
        kept = [f"{key} {value}" for key, value in zip(words[::2], words[1::2], strict=True) if key not in timers]
        if kept:
            bgp.children[index] = ConfigNode(text=prefix + " ".join(kept))
        else:
            del bgp.children[index]
        return


PROFILE = EmulatorProfile(
    name="huawei_vrp",
    ssh_server_version="HUAWEI-1.5",
    default_config=default_config,
    parse=lambda text: LineConfig(VRP, text),
    hostname=lambda config: config.top_value("sysname"),
    running_text=running_text,
    session=VrpSession,
)
