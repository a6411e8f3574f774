"""Fortinet FortiOS (FortiGate edge firewalls): naming, session driver, hier_config options."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from hier_config.child import HConfigChild
from hier_config.platforms.fortinet_fortios.driver import HConfigDriverFortinetFortiOS

from storestack.common.ntp import NtpAlgorithm
from storestack.common.platforms import APPLICATION_NUMBERS, SLA_CLASS_NUMBERS
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.devices.announced import advertised_entries, segment_entry_id
from storestack.devices.errors import RenderError
from storestack.devices.naming import short_ifname
from storestack.devices.platforms.base import (
    OWN_AS_CAUSES,
    CommitConfirm,
    DeletedWith,
    EmptiedEntry,
    ExclusiveAddresses,
    PlatformDriver,
    PlatformProfile,
    PolicyRefresh,
    RecreatedEntries,
    RefusedChange,
    SendStage,
    UniqueNames,
    snmp_keywords,
)
from storestack.inventory.models import SEGMENT_KINDS
from storestack.network.crypto import FLEET_CRYPTO, fleet_crypto, in_range
from storestack.network.model import HubBeacon, PrefixLimit

if TYPE_CHECKING:
    from storestack.devices.views import (
        AclRule,
        AwsTunnelView,
        CloudTunnelView,
        FlowView,
        HealthCheckView,
        HubView,
        ManagementView,
        MarkView,
        Net,
        SegmentView,
        SteeredApplicationView,
        StoreApplianceView,
        TunnelView,
        WanLinkView,
    )
    from storestack.network.secrets import Secret


class HConfigDriverFortiOS(HConfigDriverFortinetFortiOS):
    """FortiOS blocks nest to any depth: every `config` block closes with `end`, every `edit` with
    `next`. The structure comes from indentation alone (the configdiff normaliser drops the `next`
    and `end` lines, which would otherwise parse as duplicate siblings of an empty `edit`), and the
    closing words are put back here when remediation lines are written."""

    def sectional_exit(self, config: HConfigChild) -> str | None:
        if config.text.startswith("config "):
            return "end"
        if config.text.startswith("edit "):
            return "next"
        return super().sectional_exit(config)

    def swap_negation(self, child: HConfigChild) -> HConfigChild:
        """An entry the config no longer holds is deleted (`delete <name>` in its section); the
        rest as hier_config's FortiOS driver does (`set x` becomes `unset x`)."""
        if child.text.startswith("edit "):
            child.text = "delete " + child.text.removeprefix("edit ")
            return child
        if child.text.startswith("delete "):
            child.text = "edit " + child.text.removeprefix("delete ")
            return child
        return super().swap_negation(child)


class FortinetPlatform(PlatformProfile):
    """FortiOS names ports `wan1`, `wan2`, then `port1` …, and segments are named VLAN
    interfaces (at most 15 characters) on the `internal` switch."""

    def wan_port(self, port: int, link_name: str) -> str:
        return f"wan{port + 1}" if port < 2 else f"port{port - 1}"

    def hub_dc_port(self) -> str:
        return "port1"  # wan1 holds the hub's public IKE address

    def segment_interface(self, vlan: int, kind: str) -> str:
        return short_ifname(kind, self.ifname_limit)

    def route_filter_name(self, name: str) -> str:
        return route_filter_name(name)


# The distance FortiOS gives eBGP routes (`config router bgp` `distance-external`, default 20),
# which the hubs' default route arrives with.
BGP_EXTERNAL_DISTANCE = 20
STATIC_DISTANCE = 10  # a static route's, unless it sets `distance`
# The guest breakout's default route via a DHCP port (whose gateway only the lease knows) sits at
# the eBGP distance, so that it is installed beside the hubs' default (routes of equal distance
# and different priority are all in the forwarding table, the lowest priority preferred) and the
# guest policy route, which names only the port, finds its next hop; a priority above BGP's
# routes' keeps every other default on the overlay (FortiOS administration guide: "Policy routes",
# "Routing concepts"; CLI reference: router static `dynamic-gateway`, `priority`).
BREAKOUT_ROUTE_DISTANCE = BGP_EXTERNAL_DISTANCE
BREAKOUT_ROUTE_PRIORITY = 100


# FortiOS refuses a reference to an object that does not exist yet ("entry not found in
# datasource") and the deletion of an object something still refers to ("entry is used"): objects
# before what refers to them. A phase 1 needs the port or loopback it is bound to and creates its
# own tunnel interface, whose addresses follow it (the one cycle, split by entry); an SD-WAN
# neighbor names a BGP neighbor, and policies name SD-WAN zones. Every section the templates
# render is named here: those are storestack's, their entries deleted when no longer intended.
# Any other section (shipped with the unit, or added by hand) is left as it is; one a template
# starts to render before it is named here goes after the named ones (it may refer to them).
SEND_ORDER = (
    SendStage(section="config system global"),
    SendStage(section="config system console"),
    SendStage(section="config system settings"),
    SendStage(section="config system interface"),
    # Names the management port; a hub without a management gateway holds none of its settings.
    SendStage(section="config system dedicated-mgmt"),
    # Sourced from the loopback.
    SendStage(section="config system dns"),
    SendStage(section="config system ntp"),
    *(SendStage(section=f"config log {name} setting") for name in ("syslogd", "syslogd2", "syslogd3", "syslogd4")),
    SendStage(section="config system snmp sysinfo"),
    SendStage(section="config system snmp user"),
    SendStage(section="config firewall address"),
    SendStage(section="config firewall addrgrp"),
    SendStage(section="config firewall service custom"),
    SendStage(section="config firewall service group"),
    SendStage(section="config firewall shaper traffic-shaper"),
    SendStage(section="config vpn ipsec phase1-interface"),
    SendStage(section="config vpn ipsec phase2-interface"),
    SendStage(section="config system interface", entries=r"^\s*set type tunnel$"),
    SendStage(section="config system zone"),
    SendStage(section="config system dhcp server"),
    SendStage(section="config system dns-server"),
    SendStage(section="config router access-list"),
    SendStage(section="config router prefix-list"),
    SendStage(section="config router community-list"),
    SendStage(section="config router route-map"),
    SendStage(section="config router bgp"),
    SendStage(section="config system sdwan"),
    SendStage(section="config router static"),
    SendStage(section="config system link-monitor"),
    SendStage(section="config router policy"),
    SendStage(section="config firewall policy"),
    # Names tunnel interfaces, the stores' zone, addresses and services.
    SendStage(section="config firewall local-in-policy"),
    SendStage(section="config firewall shaping-policy"),
    # Names the WAN ports.
    SendStage(section="config firewall DoS-policy"),
    SendStage(section="config user tacacs+"),
    SendStage(section="config user group"),
    SendStage(section="config system admin"),
    # A WAN port whose link is gone (`EMPTIED_PORTS`), last: after its tunnels' phase 1s, the
    # routes over it and its DoS policy are deleted or moved to another port.
    SendStage(section="config system interface", emptied=True),
)

# A WAN port's entry, and the description the templates give it, its link's name first
# (`PlatformProfile.port_description`, `EMPTIED_PORTS`).
WAN_PORT_ENTRY = r'edit "(?P<port>wan\d+|port\d+)"'
WAN_PORT_DESCRIPTION = r'set description "(?P<link>[^\s"]+)(?: [^"]*)?"'
# A store's WAN link as its port's description spells it in full (`WanLinkView.description`,
# devices/views/builder.py: name, kind, ISP, bandwidth, role), which no hub port's description
# ("dc core lan", "out-of-band management") is.
WAN_LINK_DESCRIPTION = r'set description "[^\s"]+ [^"]* \d+M (?:primary|secondary|backup)"'

# A WAN port the push configured for a store's link (its description is the link's) that the intended
# config no longer names (the link removed from the inventory, or moved to another port by a
# stated `port`): FortiOS never deletes a port, and kept as it was (`keep_entries`) it went on
# holding the cancelled circuit's public address, `role wan` and `allowaccess ping`, answering
# ping. Emptied: every setting but its VDOM unset, `unset` resetting a field to its default value
# and clearing a list such as `allowaccess` (Fortinet Community, "Technical Tip: Useful
# multi-option values CLI commands", ta-p/197205: "unset to delete (or reset to default value)",
# "clear ... It's same as unset (reset the list to default value)", shown on an interface's
# `allowaccess`). A port the templates never described for a link (shipped with the unit, set up
# by hand, a hub's management port the inventory moved: the push's own path) is left alone.
EMPTIED_PORTS = EmptiedEntry(
    section="config system interface",
    entry=f"^{WAN_PORT_ENTRY}$",
    made=f"^{WAN_LINK_DESCRIPTION}$",
    kept=r"^set vdom ",
)

# The unit's own BGP AS changed (`config router bgp`, `set as N` over the AS it runs): the CLI
# reference documents the setting only as "Router AS number, valid from 1 to 4294967295, 0 to
# disable BGP" (FortiOS CLI reference, "router bgp",
# https://docs.fortinet.com/document/fortigate/6.0.6/cli-reference/722994/router-bgp), and no
# Fortinet document found says what a running unit does with its sessions, its networks and the
# routes it learned when its AS changes in place (nor whether the change applies before a BGP
# restart). A store's AS is also what its hubs' neighbours expect (`remote-as`): pushed alone, its
# sessions would be refused until the hubs change too, the unit unreachable through them. So the
# line is never sent over a held AS: refused at the diff, before any line. A unit without BGP
# (no `set as`, or `set as 0`) takes its first AS as any other line.
AS_CHANGED = RefusedChange(
    line=r"set as \d+",
    held=r"set as [1-9]\d*",
    why=(
        "FortiOS documents `set as` only as the router's AS number (CLI reference, \"router bgp\"), and no "
        "Fortinet document found says whether a running FortiGate changes its AS in place, nor what happens "
        "to its BGP sessions and routes meanwhile; its hubs' neighbours expect the old AS until they change"
    ),
    remedy=(
        "Change the FortiGate's BGP AS by hand in a maintenance window, with its peers' `remote-as` (or keep "
        "the old AS in the inventory), then push again"
    ),
    causes=OWN_AS_CAUSES,
)

# How long an SSH connection to the unit may stay unauthenticated, hub and store alike (`config
# system global`, `set admin-ssh-grace-time {integer}`, CLI reference; 10-3600 s, default 120 in
# the FortiOS 7.6.5 REST API schema): a connection that has not logged in within it is closed.
ADMIN_SSH_GRACE_SECONDS = 30

# Settings FortiOS's `show` leaves out while they hold their default value: `show` prints the
# commands "required to achieve that configuration from the firmware's default state" and "does
# not display settings that are in their default state" (Fortinet CLI reference, "show", the
# FortiOS CLI framework's, e.g. FortiAnalyzer 7.4.3 CLI reference,
# https://docs.fortinet.com/document/fortianalyzer/7.4.3/cli-reference/783700). Such a line
# never reads back from the unit, so every diff against `show` would send it again and drift
# would never settle: the templates leave these out (the default does the same), and lint
# `fortios-default-shown` keeps them out. Each: the `config` path from the top (nested blocks
# after it), the setting, its default in FortiOS 7.2, 7.4 and 7.6 alike (CLI reference of each
# block, Default column; FortiOS 7.6.5 REST API schema). Where a default moved between those
# releases (phase 1 and 2 `dhgrp`, 20 from 7.6 on), the line stays: 7.2 and 7.4 show it.
# Two of them come from the intent, and are written only where it differs from the default.
DPD_RETRY_COUNT_DEFAULT = 3
BFD_DETECT_MULT_DEFAULT = 3
SHOW_OMITS_DEFAULTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("system settings",), "bfd-detect-mult", str(BFD_DETECT_MULT_DEFAULT)),
    (("system interface",), "mode", "static"),
    (("system interface",), "bfd-detect-mult", str(BFD_DETECT_MULT_DEFAULT)),
    # The reverse path check, on unless turned off per interface (FortiOS 7.6.5 REST API schema,
    # system/interface: src-check "enable"; `show` prints `set src-check disable` only).
    (("system interface",), "src-check", "enable"),
    (("system zone",), "intrazone", "deny"),
    (("system snmp user",), "queries", "enable"),
    (("system snmp user",), "auth-proto", "sha"),
    (("system snmp user",), "priv-proto", "aes"),
    (("system link-monitor",), "protocol", "ping"),
    (("system link-monitor",), "recoverytime", "5"),
    (("system link-monitor",), "update-policy-route", "enable"),
    (("system sdwan", "health-check"), "protocol", "ping"),
    (("system sdwan", "service"), "mode", "manual"),
    # "dpd-retrycount 0-10, default 3" (CLI reference, config vpn ipsec phase1-interface).
    (("vpn ipsec phase1-interface",), "type", "static"),
    (("vpn ipsec phase1-interface",), "dpd-retrycount", str(DPD_RETRY_COUNT_DEFAULT)),
    # "set pfs enable <----- default value" (Fortinet Community, "Technical Tip: Understanding
    # Perfect Forward Secrecy (PFS)", https://community.fortinet.com/t5/FortiGate/Technical-Tip-Understanding-Perfect-Forward-Secrecy-PFS/ta-p/405554).
    (("vpn ipsec phase2-interface",), "pfs", "enable"),
    (("router community-list",), "type", "standard"),
    (("router bgp", "neighbor", "conditional-advertise"), "condition-type", "exist"),
    (("firewall shaper traffic-shaper",), "priority", "high"),
    (("firewall policy",), "action", "deny"),
    (("firewall local-in-policy",), "action", "deny"),
    # A DHCP server hands out the resolvers and NTP servers it names (`specify`) unless told to
    # hand out its own address (`local`) or the unit's servers (`default`); `specify` is the
    # default (FortiOS 7.6.5 REST API schema, system/dhcp/server: dns-service and ntp-service
    # "specify"): `show` prints `set ntp-service local` and `set dns-service default`, never
    # `specify` (the FortiLink DHCP server of a factory configuration, `show system dhcp server`).
    (("system dhcp server",), "dns-service", "specify"),
    (("system dhcp server",), "ntp-service", "specify"),
    # "auto: Use PAP, MSCHAP, and CHAP (in that order)", the default (CLI reference 7.6.3, config
    # user tacacs+, authen-type, Default column); never ASCII, the method CVE-2025-22252 needs
    # (lint `fortios-tacacs-ascii`).
    (("user tacacs+",), "authen-type", "auto"),
    # FortiCloud SSO administrator login, which CVE-2025-59718/59719 (FG-IR-25-647) and
    # CVE-2026-24858 (FG-IR-26-060) reach on FortiOS 7.4.0-7.4.8 / 7.4.10 (the fleet's 7.4.7):
    # "not enabled in default factory settings" (both advisories, whose workaround is `set
    # admin-forticloud-sso-login disable`), but turned on by registering the unit to FortiCare
    # from its GUI. So no line: a unit that shows `enable` is out of sync, and the push unsets it.
    (("system global",), "admin-forticloud-sso-login", "disable"),
)


# Secret values, all settings FortiOS shows as `ENC <encrypted, salted value>`.
FORTIOS_SECRET_PATTERNS = (r"(\bset (?:psksecret|password|passwd|auth-pwd|priv-pwd|key)\s+)(?:ENC\s+)?\S+",)

# FortiOS applies a changed route-map, prefix list or community list only to prefixes received or
# advertised from then on, "not applied retroactively" (Fortinet community, "Technical Tip: How to
# clear BGP Sessions", article 199680): `execute router clear bgp ip A soft in` (with the route
# refresh capability negotiated) and `... soft out` apply it without resetting the session. Run
# for each session whose policy a push changed (PlatformDriver.policy_refresh).
BGP_POLICY_REFRESH = PolicyRefresh(
    commands=("execute router clear bgp ip {neighbor} soft in", "execute router clear bgp ip {neighbor} soft out"),
    objects=(
        r'^config router (?:route-map|prefix-list|community-list|aspath-list) / edit "?(?P<name>[^"]+)"?(?: / |$)',
    ),
    sessions=r'^config router bgp / config neighbor / edit "?(?P<neighbor>[^" ]+)"?$',
    bindings=(
        r'^config router bgp / config neighbor / edit "?(?P<neighbor>[^" ]+)"? / '
        r'set (?:route-map-(?:in|out)(?:-preferable)?|prefix-list-(?:in|out)|filter-list-(?:in|out)|default-originate-routemap) '
        r'"?(?P<policy>[^"]+)"?$',
    ),
)

# No two interfaces hold addresses in one subnet, tunnel interfaces included, unless
# `config system settings` `set allow-subnet-overlap enable` (FortiOS 7.2 CLI Reference, "config
# system settings"; off unless enabled: the 7.2 Administration Guide's "GRE over IPsec" example
# enables it as its first step, before two interfaces share a subnet): "IP addresses of all
# FortiGate interfaces cannot overlap" (FortiGate Version 4.0 Administration Guide, "Rules for VLAN IP addresses"), and two
# IPsec tunnel interfaces holding one address need `allow-subnet-overlap` (Fortinet's Azure
# solutions, 40net-cloud/fortinet-azure-solutions, FortiGate/SD-WAN/docs/
# config-sdwan-encrypted-expressroute.md, "BGP Configuration"). A store whose hubs change gives the
# new hub's tunnel the inside address its tunnel to the hub it leaves holds until that tunnel goes
# with its phase 1 later in the push (a hub added, `three_hub_chain`): the old tunnel gives the
# address up first, `unset ip` resetting it to its default 0.0.0.0 0.0.0.0 (`EMPTIED_PORTS`).
EXCLUSIVE_ADDRESSES = ExclusiveAddresses(
    section="config system interface",
    block=r'edit "[^"]+"',
    address=r"set ip (?P<address>\d+\.\d+\.\d+\.\d+) (?P<mask>\d+\.\d+\.\d+\.\d+)",
    exit="next",
    freed_as="unset ip",
    removed="delete {name}",
)

# A firewall policy's name is unique in the VDOM ("Every policy name must be unique for the current
# VDOM regardless of policy type", FortiOS 6.0 Handbook, "Policy names"): a policy whose name
# another takes in the push (a store's policies numbered by place, given their own ids:
# `segment_policy_id`) is renamed `retired-<id>` first, keeping what it permits until it is
# deleted (a name of at most 35 characters, CLI Reference, `config firewall policy`: name).
POLICY_NAMES = UniqueNames(
    section="config firewall policy",
    entry=r"edit \d+",
    name=r'set name "(?P<name>[^"]+)"',
    freed_as='set name "retired-{entry}"',
    exit="next",
    section_exit="end",
)

# A shaping policy's name likewise (CLI Reference, `config firewall shaping-policy`: `name`): the
# handbook's "regardless of policy type" read as every policy table, so a shaping policy whose
# name another takes in the push (a unit numbered by place taking `segment_policy_id`'s ids) is
# renamed `retired-<id>` first, and shapes as before until it is deleted.
SHAPING_POLICY_NAMES = POLICY_NAMES.model_copy(update={"section": "config firewall shaping-policy"})

DRIVER = PlatformDriver(
    name="fortinet",
    netmiko_device_type="fortinet",
    show_running="show",
    # Every top-level `config` block is its own transaction, committed by its `end`.
    config_enter=None,
    config_exit="end",
    config_prompt=r"{host} \([^)]*\) # $",
    exec_prompt=r"{host} # $",
    # FortiOS pages long output unless the console's output mode is `standard`. Netmiko's session
    # preparation probes for VDOMs, version and output mode and reconfigures the console (four
    # round trips and a config change per login); instead, the pager's prompt is answered.
    login_prompt=r"(?P<host>\S+) # $",
    more_prompt=r"--More--\s*$",
    # Netmiko's `fortinet` driver restricts key exchange to finite-field Diffie-Hellman, SHA-1
    # included, for old FortiOS releases; FortiOS 7 offers curve25519 (and it costs a tenth of
    # the CPU). Only the SHA-1 exchanges are refused here.
    disabled_kex=(
        "diffie-hellman-group1-sha1",
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1",
    ),
    session_setup=(),
    any_prompt=r"{host}(?: \([^)]*\))? # ",
    atomic_blocks=True,
    abandon_command="abort",
    block_opens=("config ", "edit "),
    block_closes=("end", "next"),
    # `next` and `end` close blocks; the hier_config driver writes them back (HConfigDriverFortiOS).
    # The revert-mode settings are the push engine's own while a change is armed (CommitConfirm).
    ignore_lines=(
        r"^#",
        r"^\s*$",
        r"^\s*next$",
        r"^\s*end$",
        r"^\s*set cfg-save revert$",
        r"^\s*set cfg-revert-timeout \d+$",
        # The unit's own identifier of each policy and address object, "automatically assigned"
        # (FortiOS CLI reference, `set uuid {uuid}`): the config never sets one, so it is neither
        # compared nor removed.
        r"^\s*set uuid [0-9a-fA-F-]+$",
        # The unit's own number of each interface, "Each configured interface inside ... System
        # -> Interface statement has an SNMP index" (Fortinet Community, "Technical Tip: FortiOS
        # SNMP and RMON indexes and their relations", ta-p/342204), and a port's type, fixed by
        # the hardware: a unit shows `set type physical` and `set snmp-index 5` in a port's
        # entry (FortiOS 7.2 New Features, "Enabling the INDEX extension"). The config sets
        # neither (a tunnel's or loopback's `set type` it does, and those are compared), so
        # neither is compared nor unset: every push sent `unset type` and `unset snmp-index`
        # to each interface it configures, renumbering what an NMS polls, and drift never settled.
        r"^\s*set snmp-index \d+$",
        r"^\s*set type physical$",
    ),
    policy_refresh=BGP_POLICY_REFRESH,
    error_patterns=(r"Command fail", r"command parse error", r"^\s*(?:entry|value) not found"),
    # FortiOS writes every accepted `end` to flash itself.
    save_command=None,
    # Ports, and the objects every FortiOS VDOM is shipped with (addresses such as "all",
    # predefined services and shapers, the admin account, guest groups): never deleted.
    keep_entries=(
        "config system interface",
        "config firewall address",
        "config firewall addrgrp",
        "config firewall service custom",
        "config firewall service group",
        "config firewall shaper traffic-shaper",
        "config system admin",
        "config user group",
    ),
    # The addresses of each tunnel its local-in policies name (its two inside addresses, its far
    # end's outside address), and a hub's per-store source group and its members (`hub_store_zones`:
    # SOURCES-<store>, SRC-<prefix>): a store's, gone with it.
    owned_entries=r'^edit "(?:[^"]+-(?:NEAR|FAR|GW)|SOURCES-[^"]+|SRC-[^"]+)"$',
    # A segment's VLAN interface (`segment_interfaces`, described `<kind> segment vlan N` by
    # `SegmentView.description`): kept once its segment is gone, it held the VLAN ID on the LAN
    # trunk and its gateway address, and FortiOS takes no second VLAN interface of one VLAN ID on
    # one physical interface, nor overlapping addresses on two interfaces, VLAN interfaces
    # included (FortiGate Version 4.0 Administration Guide, 01-400-89802-20090424, "VLANs in
    # NAT/Route mode": "Rules for VLAN IDs", "Rules for VLAN IP addresses"; no page of a current
    # release found). Deleted, after the DHCP server, DNS service and policies naming it
    # (`SEND_ORDER`, deletions in reverse).
    owned_settings=r'^set description "[^\s"]+ segment vlan \d+"$',
    emptied_entries=(EMPTIED_PORTS,),
    exclusive_addresses=EXCLUSIVE_ADDRESSES,
    unique_names=(POLICY_NAMES, SHAPING_POLICY_NAMES),
    refused_changes=(AS_CHANGED,),
    # The factory `admin` account: restricted to the management ranges like every administrator
    # here, its password left as the operator set it, never created again once removed.
    factory_entries=((r'^edit "admin"$', r"^set password "),),
    send_order=SEND_ORDER,
    # A hub's phase 1 to a store link turns from static (`remote-gw`) to dial-up (`type dynamic`)
    # and back when the link's addressing changes in the inventory, and "the IPsec phase 1
    # interface type cannot be changed after it is configured. This is due to the tunnel ID
    # parameter (tun_id), which is used to match routes to IPsec tunnels to forward traffic. If
    # the IPsec phase 1 interface type needs to be changed, a new interface must be configured"
    # (Administration Guide 7.4, "Phase 1 configuration",
    # https://docs.fortinet.com/document/fortigate/7.4.1/administration-guide/790613): such a
    # phase 1 is deleted, with its phase 2 and its place in the store's zone, and configured anew.
    recreated_entries=(RecreatedEntries(section="config vpn ipsec phase1-interface", setting=r"^set type "),),
    # A route-based phase 1 makes the tunnel interface of its name ("For a route-based tunnel, the
    # FortiGate also uses the name for the virtual IPsec interface that it creates automatically",
    # Administration Guide, "Phase 1 configuration", 790613), and its deletion takes the interface
    # and every setting the interface held: the push deletes the phase 1 only, and the way back
    # configures the interface whole after the phase 1 that makes it anew.
    deleted_with=(DeletedWith(section="config system interface", owner="config vpn ipsec phase1-interface"),),
    entry_word="edit",
    deletion_word="delete",
    # The tables FortiOS evaluates top down, first match first: policies whose order carries the
    # intent (an office's deny of the private ranges before its accept of the internet, a
    # tunnel's accepts before its deny), and the SD-WAN rules. FortiOS keeps an entry's place
    # when it is edited, and `move <id> before|after <id>` (in these tables only) reorders them
    # (Fortinet Community, "Technical Tip: Using the CLI to change the order of the IPV4,
    # traffic shaping, local-in and SD-WAN policy list", ta-p/197353).
    ordered_tables=(
        ("config firewall policy",),
        ("config firewall local-in-policy",),
        ("config firewall shaping-policy",),
        ("config router policy",),
        ("config system sdwan", "config service"),
    ),
    move_command="move {entry} {where} {anchor}",
    hostname_line=r"^\s*set hostname\s+\"?([^\"\s]+)\"?\s*$",
    stored_secret_patterns=FORTIOS_SECRET_PATTERNS,
    secret_patterns=FORTIOS_SECRET_PATTERNS,
)

# Confirms a change, and leaves an appliance that reverted by itself as it was before the push.
# The change is saved while revert mode still holds it unsaved: in revert (and manual) mode
# `execute cfg save` is what writes it, in automatic mode the command "has no effect" and prints
# "no config to be saved." (CLI Reference 6.0, "execute cfg save",
# https://docs.fortinet.com/document/fortigate/6.0.0/cli-reference/846611/cfg-save; Fortinet KB
# 191106, "set cfg-save revert": changes "must be saved manually with the command execute cfg save
# within the period of the timeout, otherwise the FortiGate will reboot"). No document says that
# leaving revert mode writes what revert mode held unsaved, so saving only after `unset cfg-save`
# staked the whole push on it (lost at the next reboot if not). Then revert mode is left, and
# saved again for the mode change itself (a no-op where automatic mode saved it already).
_LEAVE_REVERT_MODE_AND_SAVE = (
    "execute cfg save",
    "config system global",
    "unset cfg-save",
    "unset cfg-revert-timeout",
    "end",
    "execute cfg save",
)

# A firewall policy of one flow: action, protocol, destination port (None: any), and the
# destination networks' CIDRs (empty: "all").
PolicyGroup = tuple[str, str, int | None, tuple[str, ...]]


# NTP key types by algorithm (common/ntp.py), as an `ntpserver` entry's `set key-type` spells them
# (FortiOS 7.4.4+: Administration Guide, "Cryptographic hash function authentication support";
# 7.2 knows MD5 and SHA1 only).
NTP_KEY_TYPES: dict[NtpAlgorithm, str] = {"sha256": "SHA256"}


def ntp_key_type(algorithm: NtpAlgorithm) -> str:
    """The keyword of an NTP key of `algorithm` (only those the platform implements reach here)."""
    return NTP_KEY_TYPES[algorithm]


# The SNMPv3 user's protocols (common/snmp.py), as `config system snmp user` spells them:
# `set auth-proto {md5 | sha | sha224 | sha256 | sha384 | sha512}` (FortiOS 6.4.0+, New
# Features, "Support SHA-2 for SNMPv3", https://docs.fortinet.com/document/fortigate/6.4.0/new-features/391997)
# and `set priv-proto aes` (CFB128-AES-128; CLI reference "system snmp user",
# https://docs.fortinet.com/document/fortigate/6.2.4/cli-reference/54620). `sha` and `aes` are the
# defaults `show` leaves out (SHOW_OMITS_DEFAULTS), so only another protocol is written.
SNMP_AUTH_KEYWORDS: dict[SnmpAuth, str] = {"sha1": "sha", "sha256": "sha256"}
SNMP_PRIV_KEYWORDS: dict[SnmpPriv, str] = {"aes128": "aes"}


def snmp_user_protocols(mgmt: ManagementView) -> dict[str, str | None]:
    """`auth-proto` and `priv-proto` of the fleet's SNMPv3 user: the keyword, or None where it is
    the default (which `show` never prints, so the template leaves the line out); a pair FortiOS
    does not document is refused (RenderError)."""
    auth, priv = snmp_keywords("fortinet", SNMP_AUTH_KEYWORDS, SNMP_PRIV_KEYWORDS, mgmt.snmp_auth, mgmt.snmp_priv)
    defaults = {setting: default for path, setting, default in SHOW_OMITS_DEFAULTS if path == ("system snmp user",)}
    return {
        setting: None if defaults.get(setting) == keyword else keyword
        for setting, keyword in (("auth-proto", auth), ("priv-proto", priv))
    }

def policy_groups(rules: Sequence[AclRule]) -> list[PolicyGroup]:
    """One policy per set of a flow's rules with the same action, protocol, port and any-ness,
    in the order each set first appears (first match wins, as in the intent's ordered rules);
    a policy's destinations in rule order."""
    groups: dict[tuple[str, str, int | None, bool], list[str]] = {}
    for rule in rules:
        destinations = groups.setdefault((rule.action, rule.protocol, rule.port, rule.destination is None), [])
        if rule.destination is not None:
            destinations.append(rule.destination.cidr)
    return [(action, protocol, port, tuple(cidrs)) for (action, protocol, port, _), cidrs in groups.items()]


def flow_destinations(flows: Sequence[FlowView]) -> list[Net]:
    """Every network a flow's rule names as destination, once (by CIDR), in rule order: the
    firewall address objects the policies refer to."""
    seen: dict[str, Net] = {}
    for flow in flows:
        for rule in flow.rules:
            if rule.destination is not None:
                seen.setdefault(rule.destination.cidr, rule.destination)
    return list(seen.values())


def flow_services(flows: Sequence[FlowView]) -> list[tuple[str, int]]:
    """(protocol, port) of every custom service a flow's rule limits traffic to, once, grouped
    by port in the order ports first appear."""
    by_port: dict[int, dict[str, None]] = {}
    for flow in flows:
        for rule in flow.rules:
            if rule.port:
                by_port.setdefault(rule.port, {}).setdefault(rule.protocol)
    return [(protocol, port) for port, protocols in by_port.items() for protocol in protocols]


def quote(value: object) -> str:
    """A FortiOS string value: in double quotes, with backslashes and quotes escaped (`fq`)."""
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# A FortiOS zone's name takes at most 35 characters (FortiOS 7.4.8 CLI reference, `config system
# zone`: name, "Maximum length: 35"), and so do a prefix list's and a route-map's (7.4.3 CLI
# reference, `config router prefix-list`: name, "Maximum length: 35"; a BGP neighbor's
# `route-map-in`, which names the route-map, the same), which a hub names after a store and its
# links (`route_filter_name`); a firewall policy's name is held to the same (no limit of its own
# found in the documents read here). Longer names are shortened as `short_ifname` does.
NAME_LIMIT = 35


# A traffic shaper's and a shaping policy's name take at most 35 characters too (Fortinet's schema
# of the tables as its Terraform provider for FortiOS 7.x carries them,
# fortinetdev/terraform-provider-fortios `resource_firewallshaper_trafficshaper.go` "name" and
# `resource_firewall_shapingpolicy.go` "name" and "traffic_shaper", `StringLenBetween(0, 35)`),
# where a store names them after the inventory's QoS classes and applications (`QOS-<class>`,
# `QOS-<segment>-<application>`; both slugs of up to 32 characters).
def shaper_name(tag: str) -> str:
    """The traffic shaper of QoS class `tag` (`QOS-<class>`), as FortiOS takes it: shortened to
    NAME_LIMIT with a hash of the full name, the same in its shaper and every policy naming it."""
    return short_ifname(f"QOS-{tag}", NAME_LIMIT)


def route_filter_name(name: str) -> str:
    """A prefix list's or route-map's name made of a store's, link's or hub's names (a hub's
    `STORE-<id>` and `FROM-<id>-<link>`, a store's `HUB-IN-<link>-<hub>`, `AWS-IN-<link>` …) as
    FortiOS takes it: shortened to NAME_LIMIT with a hash of the full name (`fortios_name`)."""
    return short_ifname(name, NAME_LIMIT)


# A BGP neighbour's description takes up to 63 characters (`config router bgp` / `config
# neighbor`, `description`: Fortinet's schema of the table as its Terraform provider for FortiOS
# 7.x carries it, fortinetdev/terraform-provider-fortios `resource_router_bgp.go`, "description"
# `StringLenBetween(0, 63)`; FortiOS 8.0 CLI reference, "Maximum length: 63"), where a hub
# describes a store link's neighbour `<id> <link> <kind> <role>` (store ids and link names take up
# to 32 each) and a store its hub's `<hub> via <link> <role>`.
NEIGHBOR_DESCRIPTION_LIMIT = 63


def neighbor_description(text: str) -> str:
    """A BGP neighbour's description as FortiOS takes it: cut to NEIGHBOR_DESCRIPTION_LIMIT (it
    names nothing, so its head is enough)."""
    return text[:NEIGHBOR_DESCRIPTION_LIMIT].rstrip()

# The ids of a hub's per-store firewall policies (`hub_store_zones`): the store of stable number N
# (`StoreSources.number`, the same for the store's life whatever other stores come and go) takes
# FIRST_STORE_POLICY + 2N (to the corporate ranges) and the next (to the internet), clear of the
# hub's fixed policies (1..8) and the cloud policies numbered above them. Its local-in policies
# take STORE_LOCAL_IN_STRIDE ids from FIRST_STORE_LOCAL_IN + STORE_LOCAL_IN_STRIDE * N: one per
# tunnel of the store's to the hub, then its pings to the hub's loopback, then its zone's deny;
# the hub's other local-in policies (its cloud VPNs', its DC port's) are numbered from 1 below
# FIRST_STORE_LOCAL_IN. A policy id is 0-4294967294 (FortiManager 7.4 Administration Guide,
# "Appendix B - Policy ID support": "FortiGate allows a policy-id value in the range of
# 0-4294967294"), a local-in policy id 0-4294967295 (FortiOS 6.4.11 CLI Reference, `config
# firewall local-in-policy`: policyid); a store whose number would pass either is refused.
FIRST_STORE_POLICY = 1000
POLICY_ID_MAX = 4294967294
# The rule of TO-STORES (what a hub announces to its stores) that passes the DC core's default on:
# an id of its own, below every summary's and address's (`network_rule_ids`, `host_rule_id`), so a hub neighbour or beacon added or removed (a fleet change's
# held-over config, network/transition.py `held_over`) renumbers no rule and no line of the push
# leaves the stores' default route unannounced (`tests/devices/test_fortios_hub_rule_ids.py`).
TO_STORES_DEFAULT_RULE = 1000
FIRST_STORE_LOCAL_IN = 1000
STORE_LOCAL_IN_STRIDE = 16
LOCAL_IN_ID_MAX = 4294967295
# A hub's other local-in policies by what each is, never their place: a cloud VPN's accept and deny
# from its slot (`CloudTunnelView.slot`: its AWS region's or OpenStack site's pinned slot), the DC
# port's BGP accept, BFD accept and deny fixed. Numbered by place, a cloud VPN added or removed, or
# a hub added (the DC port's BFD accept appearing), turned the later policies into others in place.
# Above the ids a place gave (1 to 2 x the cloud VPNs + 3) and below the stores'; FortiOS takes them
# in the table's order (`ordered_tables`), the push moving them into the rendered one.
FIRST_CLOUD_LOCAL_IN = 100
DC_LOCAL_IN = (900, 901, 902)  # BGP from the DC peers, BFD from them, the rest of BGP and BFD


def cloud_local_in_id(tunnel: CloudTunnelView, which: int) -> int:
    """The id of cloud VPN `tunnel`'s accept (`which` 0) or deny (1) local-in policy on its hub."""
    number = FIRST_CLOUD_LOCAL_IN + 2 * tunnel.slot + which
    if not 0 <= which < 2 or number >= DC_LOCAL_IN[0]:
        raise RenderError(f"cloud VPN {tunnel.name}: slot {tunnel.slot} has no local-in policy id below the DC port's")
    return number


@dataclass(frozen=True, slots=True)
class HubStoreZone:
    """One store's tunnels on a FortiOS hub, as a zone of their own, and what its policies take
    in from them: the store's own addresses only (`StoreForwarding.own`), so no store's tunnel
    brings in another store's source: the hub answers on the tunnel a flow came in on."""

    store: str
    zone: str
    ifnames: tuple[str, ...]  # the store's tunnels to the hub: the zone's members
    group: str  # the address group of its own addresses: what its tunnels bring to the corporate ranges
    addresses: tuple[tuple[str, Net], ...]  # (address name, network) of each own address
    segments: tuple[str, ...]  # the names of its segments' addresses: what reaches the internet
    excluded: tuple[str, ...]  # `HUB-OWNED-` addresses inside its own addresses (none by IPAM)
    corporate_policy: tuple[int, str]  # (id, name)
    internet_policy: tuple[int, str]
    tunnel_local_in: tuple[int, ...]  # the id of each tunnel's local-in policy, in `ifnames` order
    ping_local_in: int  # the id of the local-in policy of its pings to the hub's loopback
    deny_local_in: int  # the id of its zone's last local-in policy, which denies the rest


def hub_store_zones(view: HubView) -> list[HubStoreZone]:
    """Each served store's zone, address group and policy ids and names, in the hub's store
    order (`StoreForwarding.own`): `store-<id>`, `SOURCES-<id>`, `CORPORATE-<id>` and
    `INTERNET-<id>` (a zone's and a policy's name shortened as an interface's where the id is
    long), the addresses `SRC-<prefix>`; its policies' ids from its stable number
    (`FIRST_STORE_POLICY`, `FIRST_STORE_LOCAL_IN`). A store whose ids FortiOS would not take is
    refused (RenderError)."""
    from storestack.devices.views.model import Net  # the views import the platforms

    forwarding = view.intent.store_forwarding
    by_tunnel = {peer.id: peer.ifname for peer in view.peers}
    ifnames = {
        own.store: names
        for own, controls in forwarding.served()
        if (names := [by_tunnel[c.tunnel] for c in controls if c.tunnel in by_tunnel])
    }
    # The cloud VPNs' local-in policies (two each, `cloud_local_in_id`) below the DC port's and the stores'.
    for tunnel in view.cloud_tunnels:
        cloud_local_in_id(tunnel, 1)
    zones: list[HubStoreZone] = []
    for own in (o for o in forwarding.own if o.store in ifnames):
        first = FIRST_STORE_POLICY + 2 * own.number
        local_in = FIRST_STORE_LOCAL_IN + STORE_LOCAL_IN_STRIDE * own.number
        tunnels = len(ifnames[own.store])
        if tunnels > STORE_LOCAL_IN_STRIDE - 2:
            raise RenderError(
                f"hub {view.hostname}: store {own.store} has {tunnels} tunnels to the hub; its local-in "
                f"policies hold {STORE_LOCAL_IN_STRIDE - 2}"
            )
        if first + 1 > POLICY_ID_MAX or local_in + STORE_LOCAL_IN_STRIDE - 1 > LOCAL_IN_ID_MAX:
            raise RenderError(
                f"hub {view.hostname}: store {own.store}'s number {own.number} (its ASN's offset in "
                "asn.store_range) puts its policy ids past FortiOS's; narrow asn.store_range"
            )
        zones.append(
            HubStoreZone(
                store=own.store,
                zone=short_ifname(f"store-{own.store}", NAME_LIMIT),
                ifnames=tuple(ifnames[own.store]),
                group=f"SOURCES-{own.store}",
                addresses=tuple((f"SRC-{net}", Net.of(net)) for net in own.sources),
                segments=tuple(f"SRC-{net}" for net in own.sources if net.subnet_of(forwarding.stores)),
                excluded=tuple(
                    f"HUB-OWNED-{address}"
                    for address in forwarding.hub_owned
                    if any(address in net for net in own.sources)
                ),
                corporate_policy=(first, short_ifname(f"CORPORATE-{own.store}", NAME_LIMIT)),
                internet_policy=(first + 1, short_ifname(f"INTERNET-{own.store}", NAME_LIMIT)),
                tunnel_local_in=tuple(range(local_in, local_in + tunnels)),
                ping_local_in=local_in + STORE_LOCAL_IN_STRIDE - 2,
                deny_local_in=local_in + STORE_LOCAL_IN_STRIDE - 1,
            )
        )
    return zones


def firewall_addresses(view: StoreApplianceView) -> list[str]:
    """The entries of `config firewall address`: the segments (`<SEG>-NET`), the corporate
    ranges the hubs announce (`CORP-`), every destination a flow names (`NET-`), the HQ
    management ranges (`MGMT-`), the loopback and each guest segment's gateway
    (`<SEG>-GATEWAY`, for its local-in policies: `guest_segments`)."""
    lines: list[str] = []
    for name, net in _named_addresses(view):
        lines += [f'    edit "{name}"', f"        set subnet {net.address} {net.netmask}", "    next"]
    lines += ['    edit "LOOPBACK"', f"        set subnet {view.loopback.ip} 255.255.255.255", "    next"]
    for segment in guest_segments(view):
        lines += [f'    edit "{segment.tag}-GATEWAY"', f"        set subnet {segment.gateway.ip} 255.255.255.255", "    next"]
    return lines


def guest_segments(view: StoreApplianceView) -> list[SegmentView]:
    """The segments that never enter the overlay (guest Wi-Fi), whose hosts reach the unit only
    for DHCP and pings at their own gateway. Their breakout policy (the segment to the breakout
    port, any destination) also takes a packet to the breakout port's own address, FortiOS
    judging one for another interface's address by the firewall policy between the two
    interfaces (Fortinet KB 369268, "Accessing the FortiGate administrative GUI/CLI from
    different interfaces"), and the port's local-in policies, bound to the port, never see it:
    it arrives on the segment. So each gets local-in policies of its own (store.j2)."""
    return [segment for segment in view.segments if not segment.overlay]


def _named_addresses(view: StoreApplianceView) -> list[tuple[str, Net]]:
    """(name, subnet) of every firewall address but the loopback: those `firewall_addresses`
    lists, then `DIRECT-` for a destination steering never takes that none of them names."""
    named = [(f"{segment.tag}-NET", segment.net) for segment in view.segments]
    named += [(f"CORP-{net.cidr}", net) for net in view.hub_routes]
    named += [(f"NET-{net.cidr}", net) for net in flow_destinations(view.flows)]
    named += [(f"MGMT-{net.cidr}", net) for net in view.mgmt.ranges]
    known = {net.cidr for _, net in named} | {view.loopback.cidr}
    named += [(f"DIRECT-{net.cidr}", net) for net in view.unsteered if net.cidr not in known]
    return named


def unsteered_members(view: StoreApplianceView) -> str:
    """The members of address group STORE-LOCAL, which every SD-WAN rule leaves out
    (`dst-negate`): the view's `unsteered` destinations by their address names."""
    names = {net.cidr: name for name, net in reversed(_named_addresses(view))}
    names[view.loopback.cidr] = "LOOPBACK"
    return "".join(f' "{names[net.cidr]}"' for net in view.unsteered)


def _overlay_interfaces(view: StoreApplianceView, *, cellular: bool) -> str:
    """The SD-WAN zones a segment's overlay traffic may leave by (the cellular one only where the
    intent allows the segment on LTE/5G), then the AWS tunnels: a policy's `dstintf` value."""
    zones = ['"overlay"', '"overlay-cellular"'] if cellular else ['"overlay"']
    return " ".join([*zones, *(quote(tunnel.ifname) for tunnel in view.aws_tunnels)])


# A store's firewall policies keep their ids whatever else the inventory changes: a segment's flow
# numbers its policies from its kind's block (`SEGMENT_KINDS` order, a kind added at the end of
# that tuple takes the next block), management from HQ has an id of its own. FortiOS holds one
# name per policy in a VDOM ("Every policy name must be unique for the current VDOM regardless of
# policy type", FortiOS 6.0 Handbook, "Policy names"): numbered by place, a segment added or
# removed renamed every policy after it, and `set name` of a name the next policy still held was
# refused (and a segment added turned the management policy into the new segment's before the
# new management policy existed). Now a segment's policies come and go alone, and the push moves
# the entries into the intended order (`ordered_tables`). Every id is above any a store numbered
# by place ever held (1 to its count of policies, far fewer than MGMT_POLICY), so a unit still
# numbered so takes the new ids beside the old ones, each old policy renamed first
# (`POLICY_NAMES`) and deleted last (README, "FortiOS store policy ids").
MGMT_POLICY = 1000
FIRST_SEGMENT_POLICY = 2000
SEGMENT_POLICY_STRIDE = 1000


def segment_policy_id(kind: str, index: int, what: str = "firewall policies") -> int:
    """The id of the `index`-th (from 1) policy of the flow of a segment of `kind` (of its shaping
    policies: `what`); more policies than its block holds are refused (RenderError)."""
    if not 0 < index < SEGMENT_POLICY_STRIDE:
        raise RenderError(f"the {kind} segment needs {index} {what}; its block holds {SEGMENT_POLICY_STRIDE - 1}")
    return FIRST_SEGMENT_POLICY + SEGMENT_POLICY_STRIDE * SEGMENT_KINDS.index(kind) + index


# The entries of a store's other tables have ids of their own as well, fixed by what each entry
# is, never its place in a list: numbered by place, a segment, link or hub added or removed
# renumbered every entry after it, so the push edited entries in place, and for some lines the
# unit held a DHCP server twice on one interface, a blackhole or underlay route under another's
# id, or no default route for guest Wi-Fi's breakout. Now an entry comes and goes alone.
# A segment's DHCP server, BGP network, STORE-PREFIXES rule and blackhole route: its kind's place
# in SEGMENT_KINDS past SEGMENT_ENTRY; the store's loopback's network and rule: LOOPBACK_ENTRY (the
# numbers every platform gives what a store announces, `devices/announced.py`).
# Static routes: the DHCP breakout's default BREAKOUT_ROUTE; a link's underlay routes from its
# WAN port's block (`underlay_route_id`). A prefix-list rule matching one address (a hub's
# loopback or beacon, a store's loopback on a hub) is that address as a number (`host_rule_id`;
# a rule id is 0-4294967295, CLI Reference 7.2.6, `config router prefix-list`, `config rule`:
# id); HUB-ROUTES's default and the fleet's summaries keep 1, 2, ... (the fleet's order). Every
# other id is above any a store numbered by place ever held (1 to its count of entries),
# so a unit still numbered so takes them beside the old entries (README, "FortiOS store entry
# ids").
BREAKOUT_ROUTE = 1000
FIRST_UNDERLAY_ROUTE = 2000
UNDERLAY_PORT_STRIDE = 100
# A hub tunnel's far end by its hub's slot (`HubRef.slot`, pinned by IPAM), past the two offsets
# (0, 1: home hub, other hub) the routes held before: a store whose home hub changes keeps both
# routes, one whose other hub changes adds the new hub's before the old one's is deleted.
HUB_UNDERLAY_OFFSET = 10
AWS_UNDERLAY_OFFSET = 50  # a link's AWS tunnels' far ends, past its hub tunnels'


def host_rule_id(address: object) -> int:
    """The id of a prefix-list rule matching the one address `address` (text or an address):
    the address as a 32-bit number, never 0 (`edit 0` takes the next free id)."""
    number = int(ipaddress.IPv4Address(str(address)))
    if number == 0:
        raise RenderError("0.0.0.0/32 has no prefix-list rule id of its own")
    return number


# A hub's BEACON-CONDITION rules by what each is, never their place: the deny of its own DC LAN leg
# (`HubBeacon.connected`, at most that one network) BEACON_CONNECTED_RULE, each HQ summary's permit
# its network address as a number (`host_rule_id`), above it: the rules are read in id order
# (`_prefix_rules`), the deny first. Numbered by place (the leg, then the summaries), a leg that
# came or went with a change of the DC LAN turned every summary's permit into the next one in place.
BEACON_CONNECTED_RULE = 1


def beacon_condition_rules(beacon: HubBeacon) -> list[tuple[int, ipaddress.IPv4Network, bool]]:
    """(id, network, whether a deny) of each rule of `beacon`'s BEACON-CONDITION, in id order."""
    if len(beacon.connected) > 1:
        raise RenderError(f"beacon {beacon.address}: {len(beacon.connected)} connected networks; BEACON-CONDITION denies one")
    rules = [(BEACON_CONNECTED_RULE, net, True) for net in beacon.connected]
    rules += [(host_rule_id(net.network_address), net, False) for net in beacon.summaries]
    _refuse_shared_ids(f"beacon {beacon.address}: BEACON-CONDITION rule", [(number, str(net)) for number, net, _ in rules])
    return sorted(rules, key=lambda rule: rule[0])


# A hub's static routes by what each is, never their place: the beacon's blackhole BEACON_ROUTE (the
# id it always held), a policy-based cloud VPN's route to a peer selector the selector's network
# address as a number (`host_rule_id`; seq-num 0-4294967295, FortiOS 7.6.3 CLI Reference, `config
# router static`, https://docs.fortinet.com/document/fortigate/7.6.3/cli-reference/200835411).
# Numbered by place, a cloud VPN or selector added or removed moved the routes after it, the
# beacon's blackhole included, to other destinations in place.
BEACON_ROUTE = 1


def hub_static_routes(view: HubView) -> list[tuple[int, str, str, CloudTunnelView | None]]:
    """(seq-num, destination address, netmask, the cloud VPN it leads into or None for the beacon's
    blackhole) of each of a hub's static routes, in seq-num order."""
    routes: list[tuple[int, str, str, CloudTunnelView | None]] = [
        (host_rule_id(net.address), net.address, net.netmask, tunnel)
        for tunnel in view.cloud_tunnels
        if tunnel.inside is None
        for net in tunnel.peer_selectors
    ]
    beacon = view.intent.beacon
    if beacon is not None:
        routes.append((BEACON_ROUTE, str(beacon.address), "255.255.255.255", None))
    _refuse_shared_ids(f"hub {view.hostname}: static route", [(number, f"{dst}/{mask}") for number, dst, mask, _ in routes])
    return sorted(routes, key=lambda route: route[0])


def _refuse_shared_ids(what: str, entries: Sequence[tuple[int, str]]) -> None:
    """RenderError naming two entries of `entries` ((id, what it is)) that share an id."""
    seen: dict[int, str] = {}
    for number, name in entries:
        if number in seen and seen[number] != name:
            raise RenderError(f"{what} {number} would be both {seen[number]} and {name}")
        seen[number] = name


# The rules of a hub's other prefix lists (TO-STORES' summaries, HUB-STORES' store block, HUBS,
# each cloud VPN's CLOUD-IN-<slot>, FROM-DC's accepted ranges, TO-DC, CLOUD-OUT) and its BGP
# aggregate-address entries by what each is, never their place: a network's id is its network
# address as a number (`host_rule_id`), FROM-DC's default route FROM_DC_DEFAULT_RULE. Every rule of
# these lists permits, so the order ids give them matches nothing differently (CLI Reference 6.0,
# "router {prefix-list | prefix-list6}": first match from the top, default deny). Numbered by
# place, an HQ range, cloud region, store or hub added ahead of others (the lists follow the
# fleet's order) turned every later rule into the next one in place, and the push deleted and
# added again rules that had not changed: for those lines a hub dropped routes it had accepted or
# announced. Two networks of one table that share an address are refused at render.
FROM_DC_DEFAULT_RULE = 1
NetT = TypeVar("NetT")


def network_rule_ids(nets: Sequence[NetT], what: str, fixed: Sequence[tuple[int, str]] = ()) -> list[tuple[int, NetT]]:
    """(id, network) of each of `nets` (`Net`s or `IPv4Network`s) in id order, each id its network
    address as a number; `fixed` the table's other entries ((id, what each is)), whose ids none may
    share (RenderError naming `what`)."""
    numbered: list[tuple[int, NetT]] = []
    for net in nets:
        network = ipaddress.IPv4Network(str(getattr(net, "cidr", net)))
        if int(network.network_address) == 0:
            raise RenderError(f"{what}: {network} has no id of its own (its address is 0)")
        numbered.append((int(network.network_address), net))
    _refuse_shared_ids(what, [*fixed, *((number, str(getattr(net, "cidr", net))) for number, net in numbered)])
    return sorted(numbered, key=lambda entry: entry[0])


def underlay_route_id(link: WanLinkView, far_end: int, *, aws: bool = False) -> int:
    """The id of the underlay route over `link` to the far end of its tunnel to the hub in slot
    `far_end` (`HubRef.slot`) or, with `aws`, of its AWS tunnel `far_end` (1, 2): by the link's WAN
    port (`WanLinkView.port`) and the hub, never their places among the links and the hubs."""
    offset = AWS_UNDERLAY_OFFSET + far_end if aws else HUB_UNDERLAY_OFFSET + far_end
    if offset >= (UNDERLAY_PORT_STRIDE if aws else AWS_UNDERLAY_OFFSET):
        kind = "AWS tunnel" if aws else "hub slot"
        raise RenderError(f"link {link.name}: {kind} {far_end} has no underlay route id in the port's block")
    return FIRST_UNDERLAY_ROUTE + UNDERLAY_PORT_STRIDE * link.port + offset


# A store's SD-WAN members by what each is, its link's WAN port and its hub's slot (`HubRef.slot`),
# never its place: numbered by place (P ports: 1..P to the links' home hubs, P+1..2P to the other
# hub), a link on a new port renumbered every member to the other hub, and a store whose home hub
# changed swapped its members' interfaces in place, the SD-WAN rules and health checks naming
# them steering to the wrong hub meanwhile. Above every number a place gave (at most 2P), within
# FortiOS's range (`config system sdwan`, `config members`: seq-num 1-512; FortiOS 7.x schema as
# fortinetdev/terraform-provider-fortios publishes it, `fortios_system_sdwan`, members `seq_num`).
FIRST_SDWAN_MEMBER = 100
SDWAN_MEMBER_PORTS = 16  # WAN ports per hub's block
SDWAN_MEMBER_MAX = 512


def sdwan_member_id(tunnel: TunnelView) -> int:
    """The seq-num of the SD-WAN member of hub tunnel `tunnel`: its hub's block, its port in it."""
    number = FIRST_SDWAN_MEMBER + SDWAN_MEMBER_PORTS * tunnel.hub.slot + tunnel.port
    if tunnel.port >= SDWAN_MEMBER_PORTS or number > SDWAN_MEMBER_MAX:
        raise RenderError(
            f"tunnel {tunnel.id}: WAN port {tunnel.port} to hub {tunnel.hub.hostname} (slot {tunnel.hub.slot}) "
            f"has no SD-WAN member number (FortiOS takes 1-{SDWAN_MEMBER_MAX}, {SDWAN_MEMBER_PORTS} ports per hub)"
        )
    return number


# A store's local-in policies by what each is, never their place: each hub tunnel's three by its
# SD-WAN member number (`sdwan_member_id`), each AWS tunnel's two by its number, each WAN port's two
# by the port, the `any` BGP/BFD refusal one id, a guest segment's two by its kind
# (`segment_entry_id`). Numbered by place, a link, hub or segment added or removed turned every
# later policy into another in place: while the push edited them, a tunnel's accept stood where its
# deny had been, or a port took IKE from another port's peers. FortiOS evaluates them top down, by
# their place in the table (`move`, `ordered_tables`), which the push keeps as rendered. Every id is
# above the ones a place gave (1 to the store's count of policies), within FortiOS's range
# (policyid 0-4294967295, FortiOS 6.4.11 CLI Reference, `config firewall local-in-policy`).
LOCAL_IN_STRIDE = 10
FIRST_TUNNEL_LOCAL_IN = 1000  # + LOCAL_IN_STRIDE x SD-WAN member number (at most 512)
FIRST_AWS_LOCAL_IN = 7000  # + LOCAL_IN_STRIDE x AWS tunnel number
FIRST_PORT_LOCAL_IN = 10000  # + LOCAL_IN_STRIDE x WAN port
ANY_LOCAL_IN = 20000
FIRST_SEGMENT_LOCAL_IN = 30000  # + LOCAL_IN_STRIDE x segment_entry_id


def local_in_id(owner: TunnelView | AwsTunnelView | WanLinkView | SegmentView, which: int) -> int:
    """The id of `owner`'s `which`-th (from 0) local-in policy: a hub or AWS tunnel's, a WAN
    port's, a guest segment's."""
    from storestack.devices.views import AwsTunnelView, SegmentView, TunnelView, WanLinkView

    if isinstance(owner, TunnelView):
        first = FIRST_TUNNEL_LOCAL_IN + LOCAL_IN_STRIDE * sdwan_member_id(owner)
    elif isinstance(owner, AwsTunnelView):
        first = FIRST_AWS_LOCAL_IN + LOCAL_IN_STRIDE * owner.number
    elif isinstance(owner, WanLinkView):
        first = FIRST_PORT_LOCAL_IN + LOCAL_IN_STRIDE * owner.port
    elif isinstance(owner, SegmentView):
        first = FIRST_SEGMENT_LOCAL_IN + LOCAL_IN_STRIDE * segment_entry_id(owner.kind)
    else:
        raise TypeError(f"no local-in policies of {owner!r}")
    bound = {TunnelView: FIRST_AWS_LOCAL_IN, AwsTunnelView: FIRST_PORT_LOCAL_IN, WanLinkView: ANY_LOCAL_IN}.get(type(owner))
    if not 0 <= which < LOCAL_IN_STRIDE or (bound is not None and first + which >= bound):
        raise RenderError(f"local-in policy {which} of {owner!r} has no id in its block")
    return first + which


# A WAN port's DoS policy by the port (`WanLinkView.port`), never the link's place: numbered by
# place, a link added or removed moved every later port's policy to another interface in place.
# Above the ids a place gave (1 to the store's links), within FortiOS's range (policyid 0-9999,
# FortiOS 6.4.11 CLI Reference, `config firewall DoS-policy`,
# https://docs.fortinet.com/document/fortigate/6.4.11/cli-reference/326620). One policy per port,
# each on its own interface: their order decides nothing.
FIRST_DOS_POLICY = 100
DOS_POLICY_MAX = 9999


def dos_policy_id(link: WanLinkView) -> int:
    """The id of the DoS policy of `link`'s WAN port."""
    number = FIRST_DOS_POLICY + link.port
    if number > DOS_POLICY_MAX:
        raise RenderError(f"link {link.name}: WAN port {link.port} has no DoS policy id (FortiOS takes 0-{DOS_POLICY_MAX})")
    return number


def firewall_policies(view: StoreApplianceView) -> list[str]:
    """The entries of `config firewall policy`: per allowed flow one policy per group of its
    rules (`policy_groups`, first match wins), each accepted one re-marking DSCP to the segment's
    class; then management from HQ to the loopback. Each policy's id is its own (`segment_policy_id`,
    `MGMT_POLICY`), never its place in the list."""
    lines: list[str] = []
    for flow in view.flows:
        segment = flow.segment
        assert segment is not None, f"flow {flow.name} has no source segment"
        if flow.destination == "OVERLAY":
            destination = _overlay_interfaces(view, cellular=segment.cellular_allowed)
        else:
            # The intent gives a store without a guest breakout no flow to the internet.
            assert view.breakout is not None, f"flow {flow.name} leaves by a breakout the store lacks"
            destination = quote(view.breakout.ifname)
        for index, (action, protocol, port, cidrs) in enumerate(policy_groups(flow.rules), 1):
            number = segment_policy_id(segment.kind, index)
            addresses = "".join(f' "NET-{cidr}"' for cidr in cidrs) or ' "all"'
            if port:
                service = quote(f"{protocol.upper()}-{port}")
            else:
                service = '"ALL_ICMP"' if protocol == "icmp" else '"ALL"'
            lines += [
                f"    edit {number}",
                f'        set name "{flow.name}-{index}"',
                f"        set srcintf {quote(segment.ifname)}",
                f"        set dstintf {destination}",
                f'        set srcaddr "{segment.tag}-NET"',
                f"        set dstaddr{addresses}",
                # A deny policy holds FortiOS's default action: no `set action` (SHOW_OMITS_DEFAULTS).
                *(["        set action accept"] if action == "permit" else []),
                '        set schedule "always"',
                f"        set service {service}",
                "        set logtraffic all",
            ]
            if action == "permit":
                lines += ["        set diffserv-forward enable", f"        set diffservcode-forward {segment.qos.dscp_bits}"]
                if flow.destination == "INTERNET":
                    lines.append("        set nat enable")
            lines.append("    next")
    lines += [
        f"    edit {MGMT_POLICY}",
        '        set name "MGMT-TO-LOOPBACK"',
        '        set srcintf "overlay" "overlay-cellular"',
        f"        set dstintf {quote(view.loopback_ifname)}",
        '        set srcaddr "MGMT"',
        '        set dstaddr "LOOPBACK"',
        "        set action accept",
        '        set schedule "always"',
        '        set service "SSH" "SNMP" "PING"',
        "        set logtraffic all",
        "    next",
    ]
    return lines


def hub_phase1_interfaces(wan: Sequence[WanLinkView], secret: Callable[[Secret], str]) -> list[str]:
    """The hub tunnels' entries of `config vpn ipsec phase1-interface` (links in order, each
    link's tunnels in order): bound to the link, IKEv2, the hub's and our FQDN identities, the
    fleet's proposals and IKE lifetime (`ike_keylife`), the PSK spelled by `secret` (the render
    mode's filter), DPD when idle with the fleet policy's retries."""
    keylife, retryinterval, retrycount = ike_keylife(None), dpd_retryinterval(None), dpd_retrycount(None)
    lines: list[str] = []
    for link in wan:
        interface = quote(link.ifname)
        for tunnel in link.tunnels:
            lines += [
                f"    edit {quote(tunnel.ifname)}",
                f"        set interface {interface}",
                "        set ike-version 2",
                "        set peertype one",
                f"        set peerid {quote(tunnel.peer_ike_id)}",
                "        set proposal aes256gcm-prfsha384 aes256-sha256",
                "        set dhgrp 20",
                f"        set keylife {keylife}",
                "        set localid-type fqdn",
                f"        set localid {quote(tunnel.ike_id)}",
                f"        set remote-gw {tunnel.peer_outside}",
                f"        set psksecret {secret(tunnel.psk)}",
                "        set dpd on-idle",
                f"        set dpd-retryinterval {retryinterval}",
                *([f"        set dpd-retrycount {retrycount}"] if retrycount != DPD_RETRY_COUNT_DEFAULT else []),
                "    next",
            ]
    return lines


def segment_marks(segments: Sequence[SegmentView]) -> list[MarkView]:
    """Every segment's applications picked out by port, in segment order: the custom services
    they are matched by (`{% set marks = view.segments | fortios_segment_marks %}`)."""
    return [mark for segment in segments for mark in segment.marks]


def traffic_shapers(view: StoreApplianceView) -> list[str]:
    """The entries of `config firewall shaper traffic-shaper`, one per QoS class: the priority
    class high and held to its share, guaranteed classes medium with their share, a shaped class
    capped, best effort low; shares of the smallest transport's shaped rate (the first such
    link), each shaper marking its class's DSCP (store.j2 says why)."""
    smallest = min(view.wan, key=lambda link: link.queue_kbps)
    lines: list[str] = []
    for cls in view.qos:
        lines += [
            f"    edit {quote(shaper_name(cls.tag))}",
            # `high` is the default, which `show` leaves out (SHOW_OMITS_DEFAULTS).
            *([] if cls.priority else [f"        set priority {'medium' if cls.bandwidth_percent else 'low'}"]),
        ]
        if cls.bandwidth_percent:
            lines.append(f"        set guaranteed-bandwidth {smallest.share_kbps(cls.bandwidth_percent)}")
        if cls.priority:
            lines.append(f"        set maximum-bandwidth {smallest.share_kbps(cls.bandwidth_percent)}")
        elif cls.shape_percent:
            lines.append(f"        set maximum-bandwidth {smallest.shaped_kbps(cls.shape_percent)}")
        lines += ["        set diffserv enable", f"        set diffservcode {cls.dscp_bits}", "    next"]
    return lines


def shaping_policies(view: StoreApplianceView) -> list[str]:
    """The entries of `config firewall shaping-policy`: per segment that sends anything out,
    first its applications picked out by port (`marks`), then the whole segment, each through its
    class's shaper. Each policy's id is its own, from its segment kind's block as the firewall
    policies' (`segment_policy_id`): the whole segment first, its marks after it, so a segment
    added or removed moves no other segment's policies; the push moves them into this order.
    Policy and shaper names within FortiOS's NAME_LIMIT (`shaper_name`)."""
    lines: list[str] = []
    for segment in view.segments:
        if not (segment.overlay or view.breakout):
            continue
        if segment.overlay:
            destination = _overlay_interfaces(view, cellular=True)
        else:
            assert view.breakout is not None
            destination = quote(view.breakout.ifname)
        marks = [
            (segment_policy_id(segment.kind, index, "shaping policies"), mark.name, mark.name, mark.qos.tag)
            for index, mark in enumerate(segment.marks, start=2)
        ]
        whole = (segment_policy_id(segment.kind, 1, "shaping policies"), f"QOS-{segment.tag}", "ALL", segment.qos.tag)
        for number, name, service, tag in [*marks, whole]:
            lines += [
                f"    edit {number}",
                f"        set name {quote(short_ifname(name, NAME_LIMIT))}",
                f"        set srcintf {quote(segment.ifname)}",
                f"        set dstintf {destination}",
                f'        set srcaddr "{segment.tag}-NET"',
                '        set dstaddr "all"',
                f'        set service "{service}"',
                f"        set traffic-shaper {quote(shaper_name(tag))}",
                "    next",
            ]
    return lines



# FortiOS's predefined DoS anomalies, each with its default threshold, in the order a DoS policy
# lists them: `show` prints every one with its threshold, so a policy spells them all to read back
# as rendered (Administration Guide 7.4, "DoS policy": the anomalies, their recommended thresholds,
# the `diagnose ips anomaly config` listing, https://docs.fortinet.com/document/fortigate/7.4.3/administration-guide/771644).
DOS_ANOMALY_THRESHOLDS: tuple[tuple[str, int], ...] = (
    ("tcp_syn_flood", 2000),
    ("tcp_port_scan", 1000),
    ("tcp_src_session", 5000),
    ("tcp_dst_session", 5000),
    ("udp_flood", 2000),
    ("udp_scan", 2000),
    ("udp_src_session", 5000),
    ("udp_dst_session", 5000),
    ("icmp_flood", 250),
    ("icmp_sweep", 100),
    ("icmp_src_session", 300),
    ("icmp_dst_session", 1000),
    ("ip_src_session", 5000),
    ("ip_dst_session", 5000),
    ("sctp_flood", 2000),
    ("sctp_scan", 1000),
    ("sctp_src_session", 5000),
    ("sctp_dst_session", 5000),
)
# The anomaly that limits echo requests: ICMP packets a second to one destination address (the
# same guide); FortiOS counts no sender on its own for packets, so every sender shares the rate.
ECHO_ANOMALY = "icmp_flood"


def dos_policies(view: StoreApplianceView) -> list[str]:
    """The entries of `config firewall DoS-policy`: per WAN port, the echo requests (service PING)
    that arrive on it are held to the intent's `icmp_requests_pps` a second per destination
    address, the rest dropped (`action block` drops what is above the threshold: Fortinet KB
    196685, "Technical Tip: Information about Count field in anomaly log"). Only echo requests
    from the internet: the SD-WAN health checks and their answers run inside the tunnels (the
    tunnel interfaces, not the port), where no DoS policy applies."""
    pps = view.intent.management.icmp_requests_pps
    lines: list[str] = []
    for link in view.wan:
        lines += [
            f"    edit {dos_policy_id(link)}",
            f"        set name {quote('WAN-PING-' + link.ifname)}",
            f"        set interface {quote(link.ifname)}",
            '        set srcaddr "all"',
            '        set dstaddr "all"',
            '        set service "PING"',
            "        config anomaly",
        ]
        for anomaly, threshold in DOS_ANOMALY_THRESHOLDS:
            lines.append(f'            edit "{anomaly}"')
            if anomaly == ECHO_ANOMALY:
                lines += [
                    "                set status enable",
                    "                set log enable",
                    "                set action block",
                ]
                threshold = pps
            lines += [f"                set threshold {threshold}", "            next"]
        lines += ["        end", "    next"]
    return lines

# Phase 1 DPD: `dpd on-idle` probes a tunnel idle for `dpd-retryinterval` seconds, and
# `dpd-retrycount` unanswered probes that far apart bring the tunnel down (FortiOS CLI reference,
# config vpn ipsec phase1-interface: dpd-retrycount 0-10, default 3; dpd-retryinterval, default
# 20; Fortinet Community "Technical Tip: Explanation of IPsec VPN DPD options and on-idle tunnel
# flushing process": interval 10, count 3, flushed after 30 s). Where FortiOS means less than the
# policy: over IKEv2, which every tunnel here negotiates, an unanswered liveness check is an IKE
# request that FortiOS retransmits on its own fixed schedule, 3+6+12+24+48 s, not configurable,
# and honours neither setting for it (Fortinet Community "Technical Tip: IKEv2 retransmission and
# DPD", 2025): a FortiGate declares a silent peer dead ~93 s after its first probe, later than the
# policy's timeout; BGP's hold time (30 s) still takes the routes away first. The settings are
# written anyway so the idle trigger is the policy's and nothing is left to a default.
FORTIOS_DPD_RETRY_INTERVAL_SECONDS = (1, 60)
FORTIOS_DPD_RETRY_COUNT = (0, 10)


def dpd_retryinterval(_: object) -> int:
    """Phase 1 `dpd-retryinterval`: the fleet policy's DPD interval (network/crypto.py), read
    when the config is rendered."""
    return in_range("FortiOS dpd-retryinterval", fleet_crypto().dpd_interval_seconds, FORTIOS_DPD_RETRY_INTERVAL_SECONDS)


def dpd_retrycount(_: object) -> int:
    """Phase 1 `dpd-retrycount`: the fleet policy's DPD retries."""
    return in_range("FortiOS dpd-retrycount", fleet_crypto().dpd_retries, FORTIOS_DPD_RETRY_COUNT)


def ike_keylife(_: object) -> int:
    """Phase 1 `keylife` of every FortiOS phase 1: the fleet policy's IKE SA lifetime. Always
    written: left out, FortiOS keeps its default of 86400 s (CLI reference, `config vpn ipsec
    phase1-interface`), three times the 28800 s the far ends use and above the most an AWS
    Site-to-Site VPN tunnel accepts (Phase1LifetimeSeconds 900-28800)."""
    return FLEET_CRYPTO.ike_lifetime_seconds


def esp_keylife(_: object) -> int:
    """Phase 2 `keylifeseconds` of every FortiOS phase 2: the fleet policy's child SA lifetime
    (FortiOS's default is 43200 s; AWS accepts 900-3600)."""
    return FLEET_CRYPTO.esp_lifetime_seconds


def phase2_interfaces(view: StoreApplianceView) -> list[str]:
    """`config vpn ipsec phase2-interface` entries: one per phase 1 (hub and AWS tunnels), the
    fleet's ESP proposal with PFS."""
    names = [tunnel.ifname for tunnel in view.tunnels] + [tunnel.ifname for tunnel in view.aws_tunnels]
    lines: list[str] = []
    for name in names:
        lines += [
            f"    edit {quote(name)}",
            f"        set phase1name {quote(name)}",
            "        set proposal aes256gcm",
            "        set dhgrp 20",
            f"        set keylifeseconds {esp_keylife(view)}",
            "        set auto-negotiate enable",
            "    next",
        ]
    return lines


# A port's MTU where it sets none (`mtu-override disable`, the default): "the default <value> is
# 1500" (FortiOS 7.4 administration guide, FortiGate-6000, "Setting the MTU for a data
# interface", https://docs.fortinet.com/document/fortigate/7.4.1/fortigate-6000-administration-guide/807854).
INTERFACE_MTU_DEFAULT = 1500


def wan_port_mtu(link: WanLinkView) -> int | None:
    """The MTU a store's WAN port overrides its default with: the link's own (`WanLinkView.mtu`,
    the carrier's), or None where that is the default. FortiOS sizes the ESP of the traffic it
    forwards into a tunnel from the path MTU between the tunnel's ends, not from the tunnel
    interface's MTU, which only the unit's own traffic takes (Fortinet KB 193388, "Technical Tip:
    How to override MTU for IPsec VPN interfaces"); the path starts at this port, so on a link
    below 1500 bytes the port holds the carrier's MTU (`set mtu-override enable`, `set mtu N`, as
    that guide and the administration guide's "IPv6 tunnel inherits MTU based on physical
    interface" set it) and a 1360-1430-byte UDP or ICMP packet is not sent larger than the
    carrier carries once encrypted. TCP is clamped on the tunnel (`tcp-mss`) as well."""
    return None if link.mtu == INTERFACE_MTU_DEFAULT else link.mtu


def dhcp_servers(view: StoreApplianceView) -> list[str]:
    """`config system dhcp server` entries: per segment its gateway, resolvers, domain and range,
    and no NTP server. The store serves no NTP (`system ntp` leaves `server-mode` at its default,
    disable), so, as on every platform, the lease names none. `dns-service` and `ntp-service`
    stay at their default, `specify` (SHOW_OMITS_DEFAULTS): the resolvers are `dns-server1..`,
    and no `ntp-server1..3` names no NTP server (Administration Guide, "DHCP options", option 42:
    local, default or specify, https://docs.fortinet.com/document/fortigate/7.2.0/administration-guide/45773).
    A rendered `set ... specify` would never read back from the unit. Each server's id is its
    segment kind's (`segment_entry_id`), never its place among the segments."""
    lines: list[str] = []
    for segment in view.segments:
        lines += [
            f"    edit {segment_entry_id(segment.kind)}",
            f"        set interface {quote(segment.ifname)}",
            f"        set default-gateway {segment.gateway.ip}",
            f"        set netmask {segment.gateway.netmask}",
            *(f"        set dns-server{number} {server}" for number, server in enumerate(segment.dns_servers, start=1)),
            *([f"        set domain {quote(segment.dhcp_domain)}"] if segment.dhcp_domain else []),
            # FortiOS leases for a week unless told (`lease-time`, default 604800 s)
            *([f"        set lease-time {segment.dhcp_lease_seconds}"] if segment.dhcp_lease_seconds is not None else []),
            "        config ip-range",
            "            edit 1",
            f"                set start-ip {segment.dhcp_start}",
            f"                set end-ip {segment.dhcp_end}",
            "            next",
            "        end",
            "    next",
        ]
    return lines


def dns_forwarders(segments: Sequence[SegmentView]) -> list[str]:
    """`config system dns-server` entries: the segments that resolve at their gateway."""
    lines: list[str] = []
    for segment in segments:
        if segment.kind != "guest-wifi":
            lines += [f"    edit {quote(segment.ifname)}", "        set mode forward-only", "    next"]
    return lines


def sdwan_members(links: Sequence[WanLinkView]) -> list[str]:
    """`config members` of the SD-WAN: every hub tunnel in its zone (LTE/5G apart) and its hub's
    overlay address as gateway. No `cost`: every member keeps the default, 0, so each `sla` rule
    takes its members in its own `priority-members` order, the intent's order of the class's
    paths. A Lowest Cost (SLA) rule takes the member with the lowest cost that meets the SLA and
    reads that order only between equal costs (Administration Guide 7.2.13, "Lowest cost (SLA)
    strategy", https://docs.fortinet.com/document/fortigate/7.2.13/administration-guide/342836);
    one cost per member cannot spell every class's order (voice may prefer 5G to LTE where the
    store's links are in the other order)."""
    lines: list[str] = []
    for link in links:
        zone = "overlay-cellular" if link.cellular else "overlay"
        for tunnel in link.tunnels:
            lines += [
                f"        edit {sdwan_member_id(tunnel)}",
                f"            set interface {quote(tunnel.ifname)}",
                f"            set zone {quote(zone)}",
                f"            set gateway {tunnel.inside_peer}",
                f"            set comment {quote(link.description + ' to ' + tunnel.hub.hostname)}",
                "        next",
            ]
    return lines


def _prefix_rule(number: int, address: str, netmask: str, le: int | None = None) -> list[str]:
    return [
        f"            edit {number}",
        f"                set prefix {address} {netmask}",
        "                unset ge",
        f"                set le {le}" if le is not None else "                unset le",
        "            next",
    ]


def prefix_lists(view: StoreApplianceView) -> list[str]:
    """`config router prefix-list` entries: HUB-ROUTES (the default, the hubs' summaries and
    loopbacks), STORE-PREFIXES (what the store announces) and, with AWS tunnels, AWS-ROUTES.
    A hub's loopback's rule id is its address (`host_rule_id`), a prefix the store announces
    its own (`advertised_entries`): a hub or segment added or removed renumbers no other rule."""
    lines = ['    edit "HUB-ROUTES"', "        config rule", *_prefix_rule(1, "0.0.0.0", "0.0.0.0")]
    for number, net in enumerate(view.hub_routes, start=2):
        lines += _prefix_rule(number, net.address, net.netmask)
    hubs = list({tunnel.hub.hostname: tunnel.hub for tunnel in view.tunnels}.values())  # first seen
    for hub in hubs:
        lines += _prefix_rule(host_rule_id(hub.loopback), hub.loopback, "255.255.255.255")
    lines += ["        end", "    next", '    edit "STORE-PREFIXES"', "        config rule"]
    for number, net in advertised_entries(view):
        lines += _prefix_rule(number, net.address, net.netmask)
    lines += ["        end", "    next"]
    if view.aws_tunnels:
        summary, aws = view.cloud_summary, view.aws_routes
        lines += [
            '    edit "AWS-ROUTES"',
            "        config rule",
            *_prefix_rule(1, aws.address, aws.netmask, view.cloud_max_prefixlen),
            "        end",
            "    next",
            '    edit "HUB-CLOUD"',
            "        config rule",
            *_prefix_rule(1, summary.address, summary.netmask),
            "        end",
            "    next",
        ]
    return lines


def _route_map(name: str, *rules: list[str]) -> list[str]:
    """A route-map whose rules (numbered from 1, first match wins) each set what it lists."""
    lines = [f'    edit "{name}"', "        config rule"]
    for number, sets in enumerate(rules, start=1):
        lines += [f"            edit {number}", *(f"                {line}" for line in sets), "            next"]
    return [*lines, "        end", "    next"]


def _hub_route_maps(tunnel: TunnelView) -> tuple[str, str, str]:
    """A store's route-maps for one hub tunnel: what it takes in, what it announces, and what it
    announces while out of its SLA (`HUB-IN-`, `HUB-OUT-<link>-<hub>`, `-DEGRADED`)."""
    path = f"{tunnel.link}-{tunnel.hub.hostname}"
    return (
        route_filter_name(f"HUB-IN-{path}"),
        route_filter_name(f"HUB-OUT-{path}"),
        route_filter_name(f"HUB-OUT-{path}-DEGRADED"),
    )


def route_maps(view: StoreApplianceView) -> list[str]:
    """`config router route-map` entries: per hub tunnel what it accepts (HUB-ROUTES; with AWS
    tunnels, the hubs' cloud summary first, at the path's local preference) and announces
    (STORE-PREFIXES, prepended on the less preferred paths; with a health check also a -DEGRADED
    map tagging the prefixes degraded), per AWS link its preference, and STORE-OUT.

    The hub routes keep one local preference on every tunnel, so that eBGP multipath installs them
    through every member for the SD-WAN rules to choose from (store.j2 says why), but for the
    cloud summary on a store with AWS tunnels: no rule takes the cloud there (it is in
    STORE-LOCAL, `dst-negate`), the routing table alone carries it, and while both AWS tunnels are
    down multipath would spread it over the LTE/5G tunnels too (traffic no rule takes follows the
    implicit rule, which load-balances over the ECMP routes: Administration Guide, "Equal cost
    multi-path", https://docs.fortinet.com/document/fortigate/7.2.13/administration-guide/25967).
    At the path's local preference
    (the intent's order, as on IOS-XE and VRP) BGP installs the hubs' summary through the best
    path up, every wired one before any LTE/5G one."""
    checked = {check.tunnel.id for check in view.steering.health_checks} if view.steering is not None else set()
    lines: list[str] = []
    for tunnel in view.tunnels:
        hub_in, hub_out, degraded = _hub_route_maps(tunnel)
        out = ['set match-ip-address "STORE-PREFIXES"']
        if tunnel.prepend:
            out.append(f'set set-aspath "{tunnel.prepend_path}"')
        accepts = ['set match-ip-address "HUB-ROUTES"']
        if view.aws_tunnels:
            cloud = ['set match-ip-address "HUB-CLOUD"', f"set set-local-preference {tunnel.local_pref}"]
            lines += _route_map(hub_in, cloud, accepts)
        else:
            lines += _route_map(hub_in, accepts)
        lines += _route_map(hub_out, out)
        if tunnel.id in checked:
            lines += _route_map(degraded, [*out, f'set set-community "{tunnel.degraded_community}"'])
    for link in view.aws_links:
        lines += _route_map(
            route_filter_name(f"AWS-IN-{link.name}"),
            ['set match-ip-address "AWS-ROUTES"', f"set set-local-preference {250 - 10 * link.index}"],
        )
    if view.aws_tunnels:
        lines += _route_map("STORE-OUT", ['set match-ip-address "STORE-PREFIXES"'])
    return lines


def static_routes(view: StoreApplianceView) -> list[str]:
    """`config router static` entries: a blackhole per announced prefix (the store keeps
    announcing it while a segment is down), each tunnel's far end over its own transport (the
    underlay, never through the overlay's default) and, for a DHCP guest breakout, the default
    route via its port that the guest policy route needs (store.j2 says why). Each route's id
    is its own: a segment's blackhole its `segment_entry_id`, an underlay route its link's port's
    and far end's (`underlay_route_id`), the breakout's default BREAKOUT_ROUTE."""
    lines: list[str] = []
    blackholes = [(number, prefix) for number, prefix in advertised_entries(view) if prefix.prefixlen < 32]
    for number, prefix in blackholes:
        lines += [
            f"    edit {number}",
            f"        set dst {prefix.address} {prefix.netmask}",
            "        set blackhole enable",
            "        set distance 254",
            "    next",
        ]
    for link in view.wan:
        far_ends = [(underlay_route_id(link, tunnel.hub.slot), tunnel.peer_outside) for tunnel in link.tunnels]
        far_ends += [
            (underlay_route_id(link, tunnel.tunnel, aws=True), tunnel.peer_outside)
            for tunnel in view.aws_tunnels
            if tunnel.link == link.name
        ]
        assert [destination for _, destination in far_ends] == view.far_ends(link)
        for number, destination in far_ends:
            lines += [
                f"    edit {number}",
                f"        set dst {destination} 255.255.255.255",
                f"        set gateway {link.gateway}" if link.static else "        set dynamic-gateway enable",
                f"        set device {quote(link.ifname)}",
                f"        set comment {quote('underlay of ' + link.name)}",
                "    next",
            ]
    breakout = view.breakout
    if view.guest and breakout is not None and not breakout.static:
        lines += [
            f"    edit {BREAKOUT_ROUTE}",
            "        set dst 0.0.0.0 0.0.0.0",
            "        set dynamic-gateway enable",
            f"        set device {quote(breakout.ifname)}",
            f"        set distance {BREAKOUT_ROUTE_DISTANCE}",
            f"        set priority {BREAKOUT_ROUTE_PRIORITY}",
            '        set comment "guest Wi-Fi breakout"',
            "    next",
        ]
    return lines


def segment_interfaces(segments: Sequence[SegmentView], trunk: str) -> list[str]:
    """`config system interface` entries of the segments: a VLAN on the LAN trunk each."""
    lines: list[str] = []
    for segment in segments:
        lines += [
            f"    edit {quote(segment.ifname)}",
            '        set vdom "root"',
            f"        set interface {quote(trunk)}",
            f"        set vlanid {segment.vlan}",
            f"        set ip {segment.gateway.ip} {segment.gateway.netmask}",
            "        set allowaccess ping",
            "        set role lan",
            f"        set description {quote(segment.description)}",
            "    next",
        ]
    return lines


def hub_tunnel_interfaces(links: Sequence[WanLinkView]) -> list[str]:
    """`config system interface` entries of every (transport, hub) tunnel: its /32 overlay
    address towards the hub's, the fleet's TCP MSS clamp, and BFD where the hub runs it (none
    towards an IOS-XE hub)."""
    lines: list[str] = []
    for link in links:
        for tunnel in link.tunnels:
            lines += [
                f"    edit {quote(tunnel.ifname)}",
                '        set vdom "root"',
                "        set type tunnel",
                f"        set interface {quote(link.ifname)}",
                f"        set ip {tunnel.inside.ip} 255.255.255.255",
                f"        set remote-ip {tunnel.inside_peer} {tunnel.inside.netmask}",
                "        set allowaccess ping",
                f"        set tcp-mss {tunnel.tcp_mss}",
            ]
            if tunnel.peer_bfd:
                bfd = tunnel.bfd
                lines += [
                    "        set bfd enable",
                    f"        set bfd-desired-min-tx {bfd.interval_ms}",
                    f"        set bfd-required-min-rx {bfd.interval_ms}",
                    *([f"        set bfd-detect-mult {bfd.multiplier}"] if bfd.multiplier != BFD_DETECT_MULT_DEFAULT else []),
                ]
            description = f"ipsec {tunnel.id} overlay to {tunnel.hub.hostname} via {link.name} {tunnel.role}"
            lines += [f"        set description {quote(description)}", "    next"]
    return lines


def maximum_prefix(limit: PrefixLimit) -> list[str]:
    """A `config neighbor` entry's prefix limit (`PrefixLimit`), warning only: FortiOS's neighbour
    settings have no timer that opens a session again after the limit closed it (`restart-time` is
    graceful restart's), so a closed one would stay down until `execute router clear bgp`; over
    the limit FortiOS only logs, from 75 % (`maximum-prefix-threshold`'s default) on. FortiOS CLI
    reference, `config router bgp` / `config neighbor`: `maximum-prefix`, `maximum-prefix-threshold`,
    `maximum-prefix-warning-only`. `common/platforms.py` `PREFIX_LIMIT_LOGGED_ONLY` says so for
    `network show`."""
    return [
        f"            set maximum-prefix {limit.maximum}",
        "            set maximum-prefix-warning-only enable",
    ]


def bgp_neighbors(view: StoreApplianceView) -> list[str]:
    """`config neighbor` entries of the hub tunnels' BGP neighbours. A tunnel with an SD-WAN
    health check announces the store through its `-DEGRADED` route-map while out of its SLA,
    and the plain one (`route-map-out-preferable`) while within it."""
    checked = {check.tunnel.id for check in view.steering.health_checks} if view.steering is not None else set()
    lines: list[str] = []
    for tunnel in view.tunnels:
        hub_in, hub_out, degraded = _hub_route_maps(tunnel)
        lines.append(f"        edit {quote(tunnel.inside_peer)}")
        if tunnel.peer_bfd:
            lines.append("            set bfd enable")
        lines += [
            f"            set description {quote(neighbor_description(f'{tunnel.hub.hostname} via {tunnel.link} {tunnel.role}'))}",
            f"            set remote-as {tunnel.hub.asn}",
            f"            set keep-alive-timer {view.hub_timers.keepalive}",
            f"            set holdtime-timer {view.hub_timers.hold}",
            f"            set route-map-in {quote(hub_in)}",
        ]
        if tunnel.id in checked:
            lines += [
                f"            set route-map-out {quote(degraded)}",
                f"            set route-map-out-preferable {quote(hub_out)}",
            ]
        else:
            lines.append(f"            set route-map-out {quote(hub_out)}")
        if view.hub_prefix_limit is not None:
            lines += maximum_prefix(view.hub_prefix_limit)
        lines.append("        next")
    return lines


def health_checks(checks: Sequence[HealthCheckView]) -> list[str]:
    """The `config health-check` block of `config system sdwan`: one check per tunnel (ping to
    its far end), with an SLA entry per class steered over it (id: the class's number pinned in
    the lock, `SlaClassView.number`: a class added or removed edits no other class's entry).

    Its probes carry the DSCP of the strictest class steered over the tunnel (`diffservcode`,
    six bits; Administration Guide 7.0.4, "Health check packet DSCP marker support"), the class
    whose SLA also judges the hub neighbour (`return_sla`): unmarked they would queue, and be
    measured, as best effort, and a bulk transfer filling the link would fail the SLA of a class
    that the priority queue keeps clean. One check carries one DSCP, so the other classes on the
    tunnel are measured in the strictest class's queue (IOS-XE and VRP probe each class apart)."""
    lines = ["    config health-check"]
    for check in checks:
        timers, tunnel = check.timers, check.tunnel
        dscp = check.return_sla.dscp
        lines += [
            f"        edit {quote(tunnel.ifname)}",
            f"            set server {quote(tunnel.inside_peer)}",
            f"            set interval {timers.interval_ms}",
            f"            set probe-timeout {timers.probe_timeout_ms}",
            f"            set probe-count {timers.probe_count}",
            f"            set failtime {timers.failtime}",
            f"            set recoverytime {timers.recoverytime}",
            # 000000 (unmarked) is the default, which FortiOS leaves out of its configuration.
            *([f"            set diffservcode {dscp:06b}"] if dscp else []),
            f"            set sla-fail-log-period {timers.fail_log_s}",
            f"            set members {sdwan_member_id(tunnel)}",
            "            config sla",
        ]
        for sla in check.classes:
            if not 1 <= sla.number <= SLA_CLASS_NUMBERS:
                raise RenderError(f"SLA class {sla.name}: number {sla.number} is no FortiOS SLA id (1-{SLA_CLASS_NUMBERS})")
            lines += [
                f"                edit {sla.number}",
                "                    set link-cost-factor latency jitter packet-loss",
                f"                    set latency-threshold {sla.latency_ms}",
                f"                    set jitter-threshold {sla.jitter_ms}",
                f"                    set packetloss-threshold {sla.loss_whole_percent}",
                "                next",
            ]
        lines += ["            end", "        next"]
    return [*lines, "    end"]


def sdwan_neighbors(checks: Sequence[HealthCheckView]) -> list[str]:
    """The `config neighbor` block of `config system sdwan`: each hub BGP neighbour judged by its
    tunnel's health check against the strictest class steered over it."""
    lines = ["    config neighbor"]
    for check in checks:
        tunnel = check.tunnel
        lines += [
            f"        edit {quote(tunnel.inside_peer)}",
            f"            set member {sdwan_member_id(tunnel)}",
            f"            set health-check {quote(tunnel.ifname)}",
            f"            set sla-id {check.return_sla.number}",
            "        next",
        ]
    return [*lines, "    end"]


# Every SD-WAN rule of a store picks among its members only those whose route to the packet's
# destination is the routing table's best one. By default a rule takes a member with any valid
# route through it, the default route included ("Best-route mode for SD-WAN", FortiOS 7.2 SD-WAN
# deployment for MSSPs, https://docs.fortinet.com/document/fortigate/7.2.0/sd-wan-deployment-for-mssps/63329;
# since 7.0.1 `fib-best-match` considers only the best routes, manual, priority and sla modes
# alike: Fortinet KB 230623). Every hub announces the default route to every store, but HQ's
# summary only while it learns HQ from the DC core (`HubSummary`): without this, a rule kept
# sending a class to the hub that lost the DC core (its tunnel still holds the default route and
# its probes still answer), which drops it. With it, that hub's members leave the rule as soon as
# its summary is withdrawn, as long as every member holds the hubs' routes when both offer them
# (eBGP multipath, one local preference: lint `fortios-sdwan-paths-not-installed`).
SDWAN_TIE_BREAK = "            set tie-break fib-best-match"


# A store's SD-WAN rules by what each is, never their place: an application class's rules from its
# number's block (pinned in the lock, `application_rule_ids`), a segment's wired-only rule by its kind, the local-out rule
# one id. Numbered by place, an application or segment added or removed turned every later rule into
# another in place, steering a class by another's members and SLA until the push ended. FortiOS
# evaluates the rules top down, by their place in the table, not by id (the table's order is what
# `move <id> before|after <id>` changes: Fortinet Community, "Technical Tip: Using the CLI to change
# the order of the IPV4, traffic shaping, local-in and SD-WAN policy list", ta-p/197353): the push
# moves them into the intended order (`ordered_tables`). Every id is above the ones a place gave
# (1 to the store's count of rules) and within FortiOS's range (SD-WAN rule ID 1-4000, FortiOS 7.x
# schema as fortinetdev/terraform-provider-fortios publishes it, `fortios_system_sdwan`, `service`).
FIRST_APPLICATION_RULE = 100
APPLICATION_RULE_STRIDE = 10  # one rule per port range, at most 9
APPLICATION_RULE_BLOCKS = APPLICATION_NUMBERS  # 100 .. 2899
FIRST_WIRED_ONLY_RULE = 3000
LOCAL_OUT_RULE = 3500


def application_rule_ids(applications: Sequence[SteeredApplicationView]) -> dict[str, int]:
    """The first rule id of each application class of `applications`: the block of its number
    pinned in the lock (`SteeredApplicationView.number`, `Fleet.application_number`), which no
    class added or removed moves."""
    ids: dict[str, int] = {}
    for app in applications:
        if not 0 <= app.number < APPLICATION_RULE_BLOCKS:
            raise RenderError(f"application {app.name}: number {app.number} has no block of SD-WAN rules (0-{APPLICATION_RULE_BLOCKS - 1})")
        ids[app.name] = FIRST_APPLICATION_RULE + APPLICATION_RULE_STRIDE * app.number
    return ids


def sdwan_services(view: StoreApplianceView) -> list[str]:
    """The `config service` block of `config system sdwan`: one rule per application class and
    port range, its members in the intent's order of paths, each judged by the class's SLA entry;
    then one per overlay segment that may not use LTE/5G and that no application class takes whole
    (`_wired_only_rules`), then the local-out rule. Each rule's id its own (`application_rule_ids`,
    FIRST_WIRED_ONLY_RULE, LOCAL_OUT_RULE), the push moving them into this order."""
    steering = view.steering
    assert steering is not None, f"store {view.store_id}: FortiOS steers by SD-WAN rules, the view has no steering"
    lines = ["    config service"]
    first_rules = application_rule_ids(steering.applications)
    for app in steering.applications:
        if len(app.port_ranges) >= APPLICATION_RULE_STRIDE:
            raise RenderError(
                f"application {app.name}: {len(app.port_ranges)} port ranges; its SD-WAN rules hold {APPLICATION_RULE_STRIDE - 1}"
            )
        for position, (low, high) in enumerate(app.port_ranges or [(0, 0)], start=1):
            rule = first_rules[app.name] + position - 1
            name = app.name if len(app.port_ranges) < 2 else f"{app.name}-{position}"
            lines += [f"        edit {rule}", f"            set name {quote(name)}", "            set mode sla"]
            if app.protocol != "ip":
                lines.append(f"            set protocol {6 if app.protocol == 'tcp' else 17}")
            if low:
                lines += [f"            set start-port {low}", f"            set end-port {high}"]
            lines += [
                "            set src" + "".join(f' "{segment.tag}-NET"' for segment in app.segments),
                '            set dst "STORE-LOCAL"',
                "            set dst-negate enable",
                "            config sla",
            ]
            for probe in app.paths:
                lines += [
                    f"                edit {quote(probe.tunnel.ifname)}",
                    f"                    set id {probe.sla.number}",
                    "                next",
                ]
            lines += [
                "            end",
                "            set priority-members" + "".join(f" {sdwan_member_id(probe.tunnel)}" for probe in app.paths),
                SDWAN_TIE_BREAK,
                f"            set hold-down-time {app.sla.recovery_seconds}",
                "        next",
            ]
    return [*lines, *_wired_only_rules(view, steering.applications), *_local_out_rule(view), "    end"]


def _local_out_rule(view: StoreApplianceView) -> list[str]:
    """Rule LOCAL_OUT_RULE for the store's own traffic from its loopback (NTP, syslog, TACACS+, DNS:
    each set to `interface-select-method sdwan` in the template): its hub tunnels in the order the
    hubs rank them for the way back (`TunnelView.local_pref`, the network intent's
    `transport_ranks`: wired before LTE/5G, the strictest class's transports, home hub first), so
    it leaves by the path HQ's answers come back through (`manual`: the first member in
    `priority-members` that is up). Local-out traffic follows the routing table unless its
    feature selects the interface by SD-WAN (Administration Guide, "Local out traffic",
    https://docs.fortinet.com/document/fortigate/7.0.5/administration-guide/848980), and with
    no rule of its own SD-WAN's implicit rule spreads it over every member with a route by its
    `load-balance-mode` (source-ip-based: a hash of the source address; Cookbook 6.2, "Implicit
    rule", https://docs.fortinet.com/document/fortigate/6.2.2/cookbook/216765), and the hubs'
    routes are installed through every tunnel alike (eBGP multipath, one local preference): the
    loopback's traffic may land on the other hub, whose session HQ's answers
    (the DC core routes the loopback by the store's prepends, to its home hub) never reach, and
    the home hub drops them (no session, no policy from HQ's servers into the store), or on LTE
    while a wired tunnel is up, where the design keeps LTE a backup. Every store with more than
    one hub tunnel gets it, whatever its links' kinds. `manual` is FortiOS's default mode: no
    `set mode`."""
    tunnels = [tunnel for link in view.wan for tunnel in link.tunnels]
    if len(tunnels) < 2:
        return []
    members = [sdwan_member_id(tunnel) for tunnel in sorted(tunnels, key=lambda tunnel: -tunnel.local_pref)]
    return [
        f"        edit {LOCAL_OUT_RULE}",
        '            set name "local-out"',
        '            set src "LOOPBACK"',
        '            set dst "STORE-LOCAL"',
        "            set dst-negate enable",
        "            set priority-members" + "".join(f" {number}" for number in members),
        SDWAN_TIE_BREAK,
        "        next",
    ]


def _wired_only_rules(view: StoreApplianceView, applications: Sequence[SteeredApplicationView]) -> list[str]:
    """A rule, numbered by its kind from FIRST_WIRED_ONLY_RULE, for each overlay segment kept off LTE/5G (IoT) that no
    application class takes whole: its traffic to the wired tunnels only, in the links' order,
    home hub first (`manual`: "Interfaces are manually assigned a priority", FortiOS 6.4
    administration guide, "Maximize bandwidth (SLA) strategy"). Without it the implicit rule
    spreads the segment's sessions by source address over every member with a route, and the
    hubs' routes are installed through every tunnel (eBGP multipath, one local preference): the
    share that lands on an LTE tunnel matches no policy (the segment's leave by zone "overlay"
    only) and is dropped. With no wired tunnel up the rule is skipped and the segment's traffic
    meets that deny, as the intent wants (fail closed, never over LTE)."""
    wired = [sdwan_member_id(tunnel) for link in view.wan if not link.cellular for tunnel in link.tunnels]
    if not wired or all(not link.cellular for link in view.wan):
        return []
    whole = {
        segment.kind
        for app in applications
        if app.protocol == "ip" and not app.port_ranges
        for segment in app.segments
    }
    lines: list[str] = []
    for segment in view.segments:
        if not segment.overlay or segment.cellular_allowed or segment.kind in whole:
            continue
        lines += [
            f"        edit {FIRST_WIRED_ONLY_RULE + SEGMENT_KINDS.index(segment.kind)}",
            f"            set name {quote(segment.kind + '-wired')}",
            f'            set src "{segment.tag}-NET"',
            '            set dst "STORE-LOCAL"',
            "            set dst-negate enable",
            "            set priority-members" + "".join(f" {number}" for number in wired),
            SDWAN_TIE_BREAK,
            "        next",
        ]
    return lines


PLATFORM = FortinetPlatform(
    name="fortinet",
    comment="#",
    loopback="lo0",
    lan_trunk="internal",
    port_description=(r"config system interface", WAN_PORT_ENTRY, WAN_PORT_DESCRIPTION),
    ifname_limit=15,
    driver=DRIVER,
    hier_driver=HConfigDriverFortiOS,
    emulated=True,
    template_values=(
        ("breakout_distance", BREAKOUT_ROUTE_DISTANCE),
        ("breakout_priority", BREAKOUT_ROUTE_PRIORITY),
        ("to_stores_default_rule", TO_STORES_DEFAULT_RULE),
        ("from_dc_default_rule", FROM_DC_DEFAULT_RULE),
        ("any_local_in", ANY_LOCAL_IN),
        ("dc_local_in", DC_LOCAL_IN),
        ("admin_ssh_grace_seconds", ADMIN_SSH_GRACE_SECONDS),
        ("dpd_retrycount_default", DPD_RETRY_COUNT_DEFAULT),
        ("bfd_detect_mult_default", BFD_DETECT_MULT_DEFAULT),
    ),
    sla_steering="sdwan-health-checks",
    # With `cfg-save revert`, committed changes run unsaved and the unit goes back to its saved
    # configuration once the session has been idle for cfg-revert-timeout seconds, unless
    # `execute cfg save` comes first. Confirming saves, then leaves revert mode and saves again.
    commit_confirm=CommitConfirm(
        minimum=10,
        maximum=4294967295,
        arm=("config system global", "set cfg-save revert", "set cfg-revert-timeout {timer}", "end"),
        confirm=_LEAVE_REVERT_MODE_AND_SAVE,
        settle=_LEAVE_REVERT_MODE_AND_SAVE,
    ),
    secret_template_filters=(("fortios_hub_phase1_interfaces", hub_phase1_interfaces),),
    template_filters=(
        ("fq", quote),
        ("fortios_name", route_filter_name),
        ("fortios_neighbor_description", neighbor_description),
        ("fortios_flow_services", flow_services),
        ("fortios_health_checks", health_checks),
        ("fortios_segment_interfaces", segment_interfaces),
        ("fortios_hub_tunnel_interfaces", hub_tunnel_interfaces),
        ("fortios_hub_store_zones", hub_store_zones),
        ("fortios_bgp_neighbors", bgp_neighbors),
        ("fortios_maximum_prefix", maximum_prefix),
        ("fortios_sdwan_neighbors", sdwan_neighbors),
        ("fortios_sdwan_services", sdwan_services),
        ("fortios_firewall_policies", firewall_policies),
        ("fortios_firewall_addresses", firewall_addresses),
        ("fortios_unsteered_members", unsteered_members),
        ("fortios_guest_segments", guest_segments),
        ("fortios_shaping_policies", shaping_policies),
        ("fortios_dos_policies", dos_policies),
        ("fortios_segment_marks", segment_marks),
        ("fortios_traffic_shapers", traffic_shapers),
        ("fortios_ntp_key_type", ntp_key_type),
        ("fortios_snmp_user_protocols", snmp_user_protocols),
        ("fortios_phase2_interfaces", phase2_interfaces),
        ("fortios_dpd_retryinterval", dpd_retryinterval),
        ("fortios_dpd_retrycount", dpd_retrycount),
        ("fortios_ike_keylife", ike_keylife),
        ("fortios_esp_keylife", esp_keylife),
        ("fortios_dhcp_servers", dhcp_servers),
        ("fortios_wan_port_mtu", wan_port_mtu),
        ("fortios_dns_forwarders", dns_forwarders),
        ("fortios_sdwan_members", sdwan_members),
        ("fortios_prefix_lists", prefix_lists),
        ("fortios_route_maps", route_maps),
        ("fortios_static_routes", static_routes),
        ("fortios_advertised", advertised_entries),
        ("fortios_host_rule", host_rule_id),
        ("fortios_beacon_condition_rules", beacon_condition_rules),
        ("fortios_hub_static_routes", hub_static_routes),
        ("fortios_network_rules", network_rule_ids),
        ("fortios_local_in_id", local_in_id),
        ("fortios_cloud_local_in_id", cloud_local_in_id),
    ),
)
