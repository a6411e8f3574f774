"""FortiOS in the emulator: its factory config, CLI session and profile."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from storestack.lab.emulator.cli import (
    CliSession,
    Reply,
    apply_filter,
    deny_match,
    split_pipe,
)
from storestack.lab.emulator.forticonfig import (
    FortiBlock,
    FortiConfig,
    FortiEntry,
    split_words,
    unquote,
    unset_attribute,
)
from storestack.lab.emulator.profiles.base import EmulatorProfile
from storestack.lab.emulator.salt import salted_base64

if TYPE_CHECKING:
    from storestack.lab.emulator.device import DeviceState

# The release the emulator answers as: the one the templates target (README "Platforms"), 7.4.7,
# the first 7.4 release fixed for CVE-2025-22252 (FG-IR-24-472, 7.4.4 to 7.4.6) and CVE-2025-22251
# (FG-IR-24-287, 7.4.0 to 7.4.5). Build 2731 is taken from a public 7.4.7 image name
# (`FWF60E-v7.4.7-FW-build2731`), not from a Fortinet document; its build date is not known here
# and nothing reads it (000000).
FORTIOS_RELEASE = "7.4.7"
FORTIOS_BUILD = "2731"
FORTIOS_HEADER = (
    f"#config-version=FGVM64-{FORTIOS_RELEASE}-FW-build{FORTIOS_BUILD}-000000:opmode=0:vdom=0:user=admin\n"
    "#conf_file_ver=1\n"
    f"#buildno={FORTIOS_BUILD}\n"
    "#global_vdom=1\n"
)
FORTI_PARSE_ERROR = "command parse error before '{token}'\nCommand fail. Return code -61"
# A value naming an object that does not exist, and the deletion of an object still referred to.
FORTI_NOT_FOUND = "entry not found in datasource\n\nvalue parse error before '{token}'\nCommand fail. Return code -3"
FORTI_IN_USE = "The entry is used by other {count} entries\nCommand fail. Return code -23"
# A phase 1's type is fixed once it is configured ("The IPsec phase 1 interface type cannot be
# changed after it is configured ... a new interface must be configured": Administration Guide
# 7.4, "Phase 1 configuration"); the refusal's wording is the emulator's.
FORTI_PHASE1_TYPE_FIXED = "phase1 type cannot be changed once configured\nCommand fail. Return code -1"
# An interface address whose subnet another interface's address overlaps, tunnel interfaces
# included, unless `config system settings` `set allow-subnet-overlap enable` (devices/platforms/
# fortinet.py EXCLUSIVE_ADDRESSES); the first line as a FortiGate printed it in
# fortinet-ansible-dev/ansible-galaxy-fortios-collection issue #274, the return code the emulator's.
FORTI_SUBNET_OVERLAP = "Subnets overlap between '{name}' with primary IP of '{other}'\nCommand fail. Return code -54"
# A firewall policy's name another policy of the VDOM holds: "Every policy name must be unique for
# the current VDOM regardless of policy type" (FortiOS 6.0 Handbook, "Policy names",
# https://docs.fortinet.com/document/fortigate/6.0.0/handbook/473851/policy-names); the refusal's
# wording is the emulator's. A shaping policy's name is held unique the same way (the handbook's
# "regardless of policy type"; no Fortinet page found says otherwise).
FORTI_DUPLICATE_POLICY_NAME = "A policy named '{name}' already exists (policy {other})\nCommand fail. Return code -1"
NAMED_POLICY_TABLES = frozenset({("firewall policy",), ("firewall shaping-policy",)})
# The tables FortiOS evaluates in order, the only ones `move <id> before|after <id>` works in
# (Fortinet Community, "Technical Tip: Using the CLI to change the order of the IPV4, traffic
# shaping, local-in and SD-WAN policy list", ta-p/197353).
FORTI_ORDERED_TABLES = frozenset(
    {
        ("firewall policy",),
        ("firewall local-in-policy",),
        ("firewall shaping-policy",),
        ("router policy",),
        ("system sdwan", "service"),
    }
)

# The ids a numbered table takes (FortiOS 7.x schema as fortinetdev/terraform-provider-fortios
# publishes it, `fortios_system_sdwan`: members `seq_num` 1-512, service `id` 1-4000, a health
# check's `sla` `id` 1-32; FortiOS 6.4.11
# CLI Reference, `config firewall DoS-policy`: policyid 0-9999); the refusal's wording is the
# emulator's.
FORTI_ID_RANGES: dict[tuple[str, ...], tuple[int, int]] = {
    ("system sdwan", "members"): (1, 512),
    ("system sdwan", "service"): (1, 4000),
    ("system sdwan", "health-check", "sla"): (1, 32),
    ("firewall DoS-policy",): (0, 9999),
}
FORTI_ID_OUT_OF_RANGE = "value {value} out of range {low}-{high}\nCommand fail. Return code -1"
# The names a table's entries or a setting hold to a length (the `tree` command shows each;
# FortiOS Administration Guide 7.4.0, "Text strings"; Fortinet's schema of each table as its
# Terraform provider for FortiOS 7.x carries it, `StringLenBetween(0, 35)`): a traffic shaper's
# name, a firewall or shaping policy's and an SD-WAN rule's name, the shaper a shaping policy names.
# The refusal's wording is the emulator's.
FORTI_NAME_LIMITS: dict[tuple[str, ...], int] = {("firewall shaper traffic-shaper",): 35}
FORTI_VALUE_LIMITS: dict[tuple[tuple[str, ...], str], int] = {
    (("firewall policy",), "name"): 35,
    (("firewall shaping-policy",), "name"): 35,
    (("firewall shaping-policy",), "traffic-shaper"): 35,
    (("system sdwan", "service"), "name"): 35,
}
FORTI_TOO_LONG = "string {value!r} longer than {limit} characters\nCommand fail. Return code -1"

# Objects every VDOM has, and the names a policy may use without defining them.
_PREDEFINED = {
    "interface": frozenset({"any"}),
    "address": frozenset({"all", "none"}),
    "service": frozenset(
        {"ALL", "ALL_TCP", "ALL_UDP", "ALL_ICMP", "PING", "SSH", "SNMP", "HTTPS", "HTTP", "DNS", "NTP", "SYSLOG", "BGP"}
    ),
}
# Where each kind of object is defined: (block path from the top, entries of the last block).
_DEFINED_BY: dict[str, tuple[tuple[str, ...], ...]] = {
    "interface": (
        ("system interface",),
        ("system zone",),
        ("system sdwan", "zone"),
        ("vpn ipsec phase1-interface",),
    ),
    "address": (("firewall address",), ("firewall addrgrp",)),
    "service": (("firewall service custom",), ("firewall service group",)),
    "shaper": (("firewall shaper traffic-shaper",),),
    "phase1": (("vpn ipsec phase1-interface",),),
    "prefix-list": (("router prefix-list",),),
    "access-list": (("router access-list",),),
    "community-list": (("router community-list",),),
    "route-map": (("router route-map",),),
    "bgp-neighbor": (("router bgp", "neighbor"),),
    "sdwan-zone": (("system sdwan", "zone"),),
    "sdwan-member": (("system sdwan", "members"),),
    "health-check": (("system sdwan", "health-check"),),
    "tacacs": (("user tacacs+",),),
    "user-group": (("user group",),),
}
# The settings (by block path and key; key "" is the entry's own name) that name an object.
_REFERENCES: dict[tuple[str, ...], str] = {
    ("system interface", "interface"): "interface",
    ("system zone", "interface"): "interface",
    ("vpn ipsec phase1-interface", "interface"): "interface",
    ("vpn ipsec phase2-interface", "phase1name"): "phase1",
    ("firewall addrgrp", "member"): "address",
    ("firewall policy", "srcintf"): "interface",
    ("firewall policy", "dstintf"): "interface",
    ("firewall policy", "srcaddr"): "address",
    ("firewall policy", "dstaddr"): "address",
    ("firewall policy", "service"): "service",
    ("firewall policy", "traffic-shaper"): "shaper",
    ("firewall local-in-policy", "intf"): "interface",
    ("firewall local-in-policy", "srcaddr"): "address",
    ("firewall local-in-policy", "dstaddr"): "address",
    ("firewall local-in-policy", "service"): "service",
    ("firewall shaping-policy", "srcintf"): "interface",
    ("firewall shaping-policy", "dstintf"): "interface",
    ("firewall shaping-policy", "srcaddr"): "address",
    ("firewall shaping-policy", "dstaddr"): "address",
    ("firewall shaping-policy", "service"): "service",
    ("firewall shaping-policy", "traffic-shaper"): "shaper",
    ("firewall shaping-policy", "traffic-shaper-reverse"): "shaper",
    ("firewall DoS-policy", "interface"): "interface",
    ("firewall DoS-policy", "srcaddr"): "address",
    ("firewall DoS-policy", "dstaddr"): "address",
    ("firewall DoS-policy", "service"): "service",
    ("router route-map", "rule", "match-ip-address"): "prefix-list",
    ("router route-map", "rule", "match-community"): "community-list",
    ("router bgp", "neighbor", "route-map-in"): "route-map",
    ("router bgp", "neighbor", "route-map-out"): "route-map",
    ("router bgp", "neighbor", "route-map-out-preferable"): "route-map",
    ("router bgp", "neighbor", "conditional-advertise", ""): "route-map",
    ("router bgp", "neighbor", "conditional-advertise", "advertise-routemap"): "route-map",
    ("router bgp", "neighbor", "conditional-advertise", "condition-routemap"): "route-map",
    ("router static", "device"): "interface",
    ("system dedicated-mgmt", "interface"): "interface",
    ("router policy", "input-device"): "interface",
    ("router policy", "output-device"): "interface",
    ("system link-monitor", "srcintf"): "interface",
    ("system dhcp server", "interface"): "interface",
    ("system dns-server", ""): "interface",
    ("system sdwan", "members", "interface"): "interface",
    ("system sdwan", "members", "zone"): "sdwan-zone",
    ("system sdwan", "health-check", "members"): "sdwan-member",
    ("system sdwan", "neighbor", ""): "bgp-neighbor",
    ("system sdwan", "neighbor", "member"): "sdwan-member",
    ("system sdwan", "neighbor", "health-check"): "health-check",
    ("system sdwan", "service", "priority-members"): "sdwan-member",
    ("system sdwan", "service", "src"): "address",
    ("system sdwan", "service", "dst"): "address",
    ("system sdwan", "service", "sla", ""): "health-check",
    ("user group", "member"): "tacacs",
    ("system admin", "remote-group"): "user-group",
}


# Settings that hold a secret (devices/platforms/fortinet.py `secret_patterns`). FortiOS keeps
# and shows each encrypted with a salt, `set <name> ENC <base64>`, never as sent (a FortiGate's
# `show vpn ipsec phase1-interface`: `set psksecret ENC icHbdHoDV+Raoke5...`; a config file's
# `"set" "password" "ENC" "qO9BAPwPxcx..."`, Fortinet KB 195668), and an administrator's password
# as a salted SHA-256 hash, `ENC SH2<base64>`, up to FortiOS 7.4.7, the release emulated ("In
# FortiOS 7.2.10, 7.4.7, 7.6.0, and earlier, the hash function is SHA256. 'SH2' denotes SHA256.",
# Fortinet KB 424308). Later 7.4 releases store a password set anew as PBKDF2, `ENC PB2<base64>`
# (KB 424308; Administration Guide 7.4.10, "Enhanced administrator password security"), which
# is not emulated.
# A value sent as `ENC <x>` (a rollback sends the running config back) is kept as given.
FORTI_SECRETS = frozenset({"psksecret", "password", "passwd", "auth-pwd", "priv-pwd", "key"})
# Bytes behind an `ENC` value (208 base64 characters, as a FortiOS 7.x `psksecret` shows) and
# behind `SH2` (60 characters, as an administrator's password shows).
FORTI_ENC_BYTES = 156
FORTI_SH2_BYTES = 44


def stored_secret(path: tuple[str, ...], name: str, value: str) -> str:
    """The value FortiOS keeps of setting `name` (in the block at `path`) when sent `value`."""
    if name not in FORTI_SECRETS or value.startswith("ENC "):
        return value
    if path == ("system admin",) and name == "password":
        return f"ENC SH2{salted_base64(FORTI_SH2_BYTES)}"
    return f"ENC {salted_base64(FORTI_ENC_BYTES)}"


def default_config(name: str) -> str:
    return (
        FORTIOS_HEADER + "config system global\n"
        f'    set hostname "{name}"\n'
        "    set timezone 04\n"
        "end\n"
        "config system console\n"
        "    set output standard\n"
        "end\n"
        "config system interface\n"
        '    edit "port1"\n'
        '        set vdom "root"\n'
        "        set mode static\n"
        "        set allowaccess ping https ssh\n"
        "        set type physical\n"
        "        set snmp-index 1\n"
        "    next\n"
        '    edit "port2"\n'
        '        set vdom "root"\n'
        "        set type physical\n"
        "        set snmp-index 2\n"
        "    next\n"
        '    edit "port3"\n'
        '        set vdom "root"\n'
        "        set type physical\n"
        "        set snmp-index 3\n"
        "    next\n"
        "end\n"
    )


FORTI_CONFIG_PATHS = frozenset(
    {
        "system global",
        "system interface",
        "system console",
        "system dns",
        "system ntp",
        "system admin",
        "system settings",
        "system zone",
        "system sdwan",
        "system virtual-wan-link",
        "system dhcp server",
        "system snmp community",
        "system ha",
        "system accprofile",
        "system automation-action",
        "system link-monitor",
        "system dedicated-mgmt",
        "router static",
        "router bgp",
        "router ospf",
        "router route-map",
        "router prefix-list",
        "router community-list",
        "router access-list",
        "router policy",
        "firewall policy",
        "firewall local-in-policy",
        "firewall address",
        "firewall addrgrp",
        "firewall service custom",
        "firewall service group",
        "firewall vip",
        "firewall ippool",
        "firewall shaping-policy",
        "firewall DoS-policy",
        "firewall traffic-shaper",
        "firewall shaper traffic-shaper",
        "system dns-server",
        "system snmp sysinfo",
        "system snmp user",
        "user tacacs+",
        "vpn ipsec phase1-interface",
        "vpn ipsec phase2-interface",
        "log setting",
        "log syslogd setting",
        "user local",
        "user group",
        "switch-controller global",
        "wireless-controller setting",
    }
)


def _block(config: FortiConfig, path: tuple[str, ...]) -> FortiBlock | None:
    """The block at `path` (nested blocks of a top-level block's own settings), or None."""
    block = config.root.blocks.get(path[0])
    for name in path[1:]:
        block = block.blocks.get(name) if block is not None else None
    return block


def _number_interfaces(config: FortiConfig) -> None:
    """Every interface the unit holds has its SNMP index (`set snmp-index`, shown in its entry:
    Fortinet Community, "Technical Tip: FortiOS SNMP and RMON indexes and their relations",
    ta-p/342204); one made without gets the next above the highest (the emulator's numbering)."""
    interfaces = config.root.blocks.get("system interface")
    if interfaces is None:
        return
    indexes = [entry.attributes.get("snmp-index", "") for entry in interfaces.entries.values()]
    taken = [int(index) for index in indexes if index.isdigit()]
    following = max(taken, default=0) + 1
    for entry in interfaces.entries.values():
        if not entry.attributes.get("snmp-index", "").isdigit():
            entry.attributes["snmp-index"] = str(following)
            following += 1


def defined_names(config: FortiConfig, kind: str) -> set[str]:
    names = set(_PREDEFINED.get(kind, ()))
    for path in _DEFINED_BY.get(kind, ()):
        block = _block(config, path)
        if block is not None:
            names.update(block.entries)
    return names


def _ip_network(value: str) -> ipaddress.IPv4Network | None:
    """The subnet of an interface's `ip` value (`A M` or `A/len`), None for none (0.0.0.0)."""
    try:
        interface = ipaddress.IPv4Interface("/".join(value.split()[:2]))
    except ValueError:
        return None
    return None if interface.ip == ipaddress.IPv4Address(0) else interface.network


def _values(value: str) -> list[str]:
    return [unquote(word) for word in split_words(value)]


def references(config: FortiConfig) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(kind, name, path of the referring block, referring entry) of every reference."""
    found: list[tuple[str, str, tuple[str, ...], str]] = []

    def walk(block: FortiBlock, path: tuple[str, ...], entry_name: str) -> None:
        for key, value in block.attributes.items():
            if (kind := _REFERENCES.get((*path, key))) is not None:
                found.extend((kind, name, path, entry_name) for name in _values(value))
        for sub_path, sub in block.blocks.items():
            walk(sub, (*path, sub_path), entry_name)
        for name, entry in block.entries.items():
            owner = entry_name or name
            if (kind := _REFERENCES.get((*path, ""))) is not None:
                found.append((kind, name, path, owner))
            for key, value in entry.attributes.items():
                if (kind := _REFERENCES.get((*path, key))) is not None:
                    found.extend((kind, value_name, path, owner) for value_name in _values(value))
            for sub_path, sub in entry.blocks.items():
                walk(sub, (*path, sub_path), owner)

    for top_path, block in config.root.blocks.items():
        walk(block, (top_path,), "")
    return found


class FortiSession(CliSession):
    def __init__(self, device: DeviceState) -> None:
        super().__init__(device)
        # While inside a top-level `config` block, edits go to a staged copy that `end` commits.
        self.staged: FortiConfig | None = None
        self.scopes: list[FortiBlock | FortiEntry] = []
        self.labels: list[str] = []
        # The block path of each scope (an entry's is its block's), for the datasource checks.
        self.paths: list[tuple[str, ...]] = []
        # The entries the open `config` block made with `edit` (block path, name): a phase 1's
        # type is set while it is being made, never afterwards.
        self.made: set[tuple[tuple[str, ...], str]] = set()

    @property
    def prompt(self) -> str:
        host = self.device.hostname()
        if not self.labels:
            return f"{host} # "
        return f"{host} ({self.labels[-1]}) # "

    @staticmethod
    def parse_error(token: str) -> str:
        return FORTI_PARSE_ERROR.format(token=token) + "\n"

    def reject(self, line: str, _column: int) -> str:
        words = split_words(line)
        return self.parse_error(words[1] if len(words) > 1 else (words[0] if words else ""))

    def handle(self, line: str) -> Reply:
        text = line.strip()
        command, filter_kind, filter_pattern = split_pipe(text)
        words = split_words(command)
        if not words:
            return Reply("")
        self.restart_revert_timeout()
        if self.scopes:
            if words[0] == "end" and len(self.scopes) == 1:
                return self.commit()
            if words[0] == "show":
                return Reply(self.show_scope())
            if words[0] == "abort" and len(self.scopes) == 1:
                self.leave()
                return Reply("")
            return self.gate_config_line(line, self.reject, lambda: self.edit(words))
        if words[0] == "config":
            path = " ".join(words[1:])
            if path not in FORTI_CONFIG_PATHS:
                bad = words[1] if len(words) > 1 else "config"
                for index in range(2, len(words) + 1):
                    if not any(p.startswith(" ".join(words[1:index])) for p in FORTI_CONFIG_PATHS):
                        bad = words[index - 1]
                        break
                return Reply(self.parse_error(bad))

            def enter() -> str:
                denied = deny_match(self.device.spec.reject_patterns, line)
                if denied is not None:
                    return self.parse_error(words[1])
                with self.device.lock:
                    self.staged = self.device.forti().copy()
                block = self.staged.root.blocks.setdefault(path, FortiBlock())
                self.scopes = [block]
                self.labels = [words[-1]]
                self.paths = [(path,)]
                return ""

            return self.gate_config_line(line, self.reject, enter)
        if words[0] == "show":
            return Reply(apply_filter(self.show(words[1:]), filter_kind, filter_pattern))
        if words[:3] == ["get", "system", "status"]:
            return Reply(apply_filter(self.system_status(), filter_kind, filter_pattern))
        if words[:3] == ["get", "system", "console"]:
            with self.device.lock:
                output = self.device.forti().attribute("system console", "output") or "more"
            text = (
                "mode                : line\n"
                "baudrate            : 9600\n"
                f"output              : {output}\n"
                "login               : enable\n"
            )
            return Reply(apply_filter(text, filter_kind, filter_pattern))
        if words[:3] == ["execute", "cfg", "save"]:
            with self.device.lock:
                hang = self.device.faults.hang_on_save
                unsaved = self.device.running_text() != self.device.startup_text
            if hang:
                return Reply("", "hang")
            self.device.confirm_revert()
            if not unsaved:
                return Reply("no config to be saved.\n")
            self.device.save()
            return Reply("config saved.\n")
        if words[:5] == ["execute", "router", "clear", "bgp", "ip"] and len(words) == 8 and words[6] == "soft":
            return self.soft_refresh(words[5], words[7])
        if words[0] == "execute":
            return Reply(self.parse_error(words[1] if len(words) > 1 else "execute"))
        if words[0] in ("exit", "quit"):
            return Reply("", "close")
        return Reply("Unknown action 0\n")

    def soft_refresh(self, neighbor: str, direction: str) -> Reply:
        """`execute router clear bgp ip A soft in|out`: the session stays up, the routes are asked
        for or sent again (recorded); a neighbour `config router bgp` lacks, or another
        direction, is refused (the emulator's wording)."""
        with self.device.lock:
            bgp = self.device.running_text().partition("config router bgp\n")[2].partition("\nend\n")[0]
            if direction not in ("in", "out") or f'edit "{neighbor}"' not in bgp:
                return Reply(self.parse_error(neighbor if direction in ("in", "out") else direction))
            self.device.bgp_refreshes.append((neighbor, direction))
        return Reply("")

    def edit(self, words: list[str]) -> str:
        line = " ".join(words)
        denied = deny_match(self.device.spec.reject_patterns, line)
        if denied is not None:
            return self.parse_error(words[1] if len(words) > 1 else words[0])
        scope = self.scopes[-1]
        path = self.paths[-1]
        verb = words[0]
        if (
            path == ("vpn ipsec phase1-interface",)
            and verb in ("set", "unset")
            and len(words) >= 2
            and words[1] == "type"
            and isinstance(scope, FortiEntry)
            and (path, self.labels[-1]) not in self.made
            and unquote(scope.attributes.get("type", "static")) != (unquote(" ".join(words[2:])) if verb == "set" else "static")
        ):
            return FORTI_PHASE1_TYPE_FIXED + "\n"
        if verb == "set" and len(words) >= 3:
            value = " ".join(words[2:])
            limit = FORTI_VALUE_LIMITS.get((path, words[1]))
            if limit is not None and len(unquote(value)) > limit:
                return FORTI_TOO_LONG.format(value=unquote(value), limit=limit) + "\n"
            refused = (
                self.refused_reference(path, words[1], value)
                or self.overlapping(path, words[1], value)
                or self.duplicate_name(path, words[1], value)
            )
            if refused:
                return refused
            scope.attributes[words[1]] = stored_secret(path, words[1], value)
        elif verb == "unset" and len(words) == 2:
            unset_attribute(scope.attributes, words[1])
        elif verb == "edit" and len(words) >= 2 and isinstance(scope, FortiBlock):
            name = unquote(" ".join(words[1:]))
            if path in FORTI_ID_RANGES:
                low, high = FORTI_ID_RANGES[path]
                if not (name.isdigit() and low <= int(name) <= high):
                    return FORTI_ID_OUT_OF_RANGE.format(value=name, low=low, high=high) + "\n"
            if len(name) > FORTI_NAME_LIMITS.get(path, len(name)):
                return FORTI_TOO_LONG.format(value=name, limit=FORTI_NAME_LIMITS[path]) + "\n"
            if name not in scope.entries:
                refused = self.refused_reference(path, "", words[1])
                if refused:
                    return refused
                self.made.add((path, name))
            self.scopes.append(scope.entries.setdefault(name, FortiEntry()))
            self.labels.append(name)
            self.paths.append(path)
        elif verb == "next" and isinstance(scope, FortiEntry):
            self.scopes.pop()
            self.labels.pop()
            self.paths.pop()
        elif verb == "delete" and len(words) >= 2 and isinstance(scope, FortiBlock):
            name = unquote(" ".join(words[1:]))
            if name not in scope.entries:
                return "entry not found in datasource\n" + self.parse_error(words[1])
            users = self.users_of(path, name)
            if users:
                return FORTI_IN_USE.format(count=users) + "\n"
            del scope.entries[name]
            if path == ("vpn ipsec phase1-interface",) and self.staged is not None:
                # The phase 1's own tunnel interface goes with it.
                self.staged.root.blocks.get("system interface", FortiBlock()).entries.pop(name, None)
        elif verb == "move" and len(words) == 4 and words[2] in ("before", "after") and isinstance(scope, FortiBlock):
            if path not in FORTI_ORDERED_TABLES:
                return self.parse_error(verb)
            name, anchor = unquote(words[1]), unquote(words[3])
            if name not in scope.entries or anchor not in scope.entries:
                return "entry not found in datasource\n" + self.parse_error(words[1])
            entry = scope.entries.pop(name)
            entries = list(scope.entries.items())
            at = [key for key, _ in entries].index(anchor) + (words[2] == "after")
            entries.insert(at, (name, entry))
            scope.entries.clear()
            scope.entries.update(entries)
        elif verb == "config" and len(words) >= 2:
            sub_path = " ".join(words[1:])
            self.scopes.append(scope.blocks.setdefault(sub_path, FortiBlock()))
            self.labels.append(words[-1])
            self.paths.append((*path, sub_path))
        elif verb == "end" and len(self.scopes) > 1:
            # Leaves a nested block; an open `edit` inside it is closed with it.
            while len(self.scopes) > 1 and isinstance(self.scopes[-1], FortiEntry):
                self.scopes.pop()
                self.labels.pop()
                self.paths.pop()
            self.scopes.pop()
            self.labels.pop()
            self.paths.pop()
        else:
            return self.parse_error(words[1] if verb in ("set", "unset", "edit") and len(words) > 1 else verb)
        return ""

    def refused_reference(self, path: tuple[str, ...], key: str, value: str) -> str:
        """FortiOS's answer to a setting that names an object that does not exist ("" if none).
        A tunnel interface is made by its phase 1, never in `system interface`."""
        if self.staged is None:
            return ""
        if path == ("system interface",) and key == "type" and unquote(value) == "tunnel":
            entry = self.scopes[-1]
            name = self.labels[-1]
            phase1 = self.staged.root.blocks.get("vpn ipsec phase1-interface", FortiBlock())
            if isinstance(entry, FortiEntry) and name not in phase1.entries:
                return FORTI_NOT_FOUND.format(token=name) + "\n"
            return ""
        kind = _REFERENCES.get((*path, key))
        if kind is None:
            return ""
        defined = defined_names(self.staged, kind)
        for name in _values(value):
            if name not in defined:
                return FORTI_NOT_FOUND.format(token=name) + "\n"
        return ""

    def duplicate_name(self, path: tuple[str, ...], key: str, value: str) -> str:
        """FortiOS's answer to a policy name another policy of the table holds ("" if none)."""
        if path not in NAMED_POLICY_TABLES or key != "name" or not isinstance(self.scopes[-2], FortiBlock):
            return ""
        name, own = unquote(value), self.labels[-1]
        for other, entry in self.scopes[-2].entries.items():
            if other != own and unquote(entry.attributes.get("name", "")) == name:
                return FORTI_DUPLICATE_POLICY_NAME.format(name=name, other=other) + "\n"
        return ""

    def overlapping(self, path: tuple[str, ...], key: str, value: str) -> str:
        """FortiOS's answer to an interface address whose subnet another interface's address
        overlaps ("" if none, or where `allow-subnet-overlap` is enabled)."""
        if self.staged is None or path != ("system interface",) or key != "ip":
            return ""
        settings = self.staged.root.blocks.get("system settings", FortiBlock())
        if unquote(settings.attributes.get("allow-subnet-overlap", "disable")) == "enable":
            return ""
        network = _ip_network(value)
        if network is None:
            return ""
        name = self.labels[-1]
        for other, entry in self.staged.root.blocks.get("system interface", FortiBlock()).entries.items():
            held = _ip_network(entry.attributes.get("ip", ""))
            if other != name and held is not None and held.overlaps(network):
                return FORTI_SUBNET_OVERLAP.format(name=name, other=other) + "\n"
        return ""

    def users_of(self, path: tuple[str, ...], name: str) -> int:
        """How many entries refer to the entry `name` of the block at `path`."""
        assert self.staged is not None
        kinds = {kind for kind, paths in _DEFINED_BY.items() if path in paths}
        users = {
            (where, owner)
            for kind, target, where, owner in references(self.staged)
            if kind in kinds and target == name and not (where == path and owner == name)
        }
        # A phase 1's tunnel interface is the phase 1's own, not a user of it.
        users.discard((("system interface",), name))
        return len(users)

    def commit(self) -> Reply:
        staged = self.staged
        self.leave()
        if staged is None:
            return Reply("")
        # A phase 1 makes its tunnel interface (FortiOS shows it under `system interface`).
        for name, phase1 in staged.root.blocks.get("vpn ipsec phase1-interface", FortiBlock()).entries.items():
            interfaces = staged.root.blocks.setdefault("system interface", FortiBlock())
            if name not in interfaces.entries:
                interfaces.entries[name] = FortiEntry(
                    attributes={
                        "vdom": '"root"',
                        "type": "tunnel",
                        **({"interface": phase1.attributes["interface"]} if "interface" in phase1.attributes else {}),
                    }
                )
        _number_interfaces(staged)
        with self.device.lock:
            revert = self.revert_timeout()
            self.device.config = staged
            hang = self.device.faults.hang_on_save
        self.device.changed()
        if revert is not None:
            # `set cfg-save revert`: the change runs but is not saved; unless `execute cfg save`
            # comes before the administrative session has been idle for cfg-revert-timeout, the
            # unit goes back to its saved configuration.
            self.device.arm_revert(revert, to=self.device.startup_text)
            return Reply("")
        # FortiOS writes the configuration to flash when a top-level `end` commits it.
        if hang:
            return Reply("", "hang")
        self.device.save()
        return Reply("")

    def revert_timeout(self) -> float | None:
        """Seconds of idleness before unsaved changes revert, in `cfg-save revert` mode; else None."""
        with self.device.lock:
            forti = self.device.forti()
            if forti.attribute("system global", "cfg-save") != "revert":
                return None
            seconds = float(forti.attribute("system global", "cfg-revert-timeout") or 600)
        return seconds * self.device.spec.timer_minute_seconds / 60

    def restart_revert_timeout(self) -> None:
        """Any command is activity: an armed revert counts its idle timeout from now again."""
        timeout = self.revert_timeout()
        if timeout is not None and self.device.revert_armed:
            with self.device.lock:
                saved = self.device.startup_text
            self.device.arm_revert(timeout, to=saved)

    def leave(self) -> None:
        self.staged = None
        self.scopes = []
        self.labels = []
        self.paths = []
        self.made = set()

    def show(self, words: list[str]) -> str:
        if words[:1] == ["full-configuration"]:
            words = words[1:]
        with self.device.lock:
            if not words:
                return self.device.running_text()
            return self.device.forti().render(" ".join(words))

    def show_scope(self) -> str:
        # Inside a block: show what the staged block holds.
        if self.staged is None:
            return ""
        return self.staged.render()

    def system_status(self) -> str:
        return (
            f"Version: FortiGate-VM64 v{FORTIOS_RELEASE},build{FORTIOS_BUILD},000000 (GA.F)\n"
            "Serial-Number: FGVMEVSTORESTACK0\n"
            "BIOS version: 04000002\n"
            "Log hard disk: Not available\n"
            f"Hostname: {self.device.hostname()}\n"
            "Operation Mode: NAT\n"
            "Current virtual domain: root\n"
            "Max number of virtual domains: 1\n"
            "Virtual domains status: 1 in NAT mode, 0 in TP mode\n"
            "Virtual domain configuration: disable\n"
            "FIPS-CC mode: disable\n"
            "Current HA mode: standalone\n"
            "System time: Tue Nov 25 13:00:00 2025\n"
        )


PROFILE = EmulatorProfile(
    name="fortinet",
    ssh_server_version="FortiSSH_7.4",
    default_config=default_config,
    parse=FortiConfig,
    hostname=lambda config: config.attribute("system global", "hostname"),
    running_text=lambda config: FORTIOS_HEADER + config.render(),
    session=FortiSession,
)
