"""Cisco IOS-XE (ISR/Catalyst 8000 edge routers): naming, session driver, hier_config options."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
from functools import lru_cache
from typing import TYPE_CHECKING

from hier_config.models import IdempotentCommandsRule, MatchRule, SectionalExitingRule
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverRules
from pydantic import SecretStr

from storestack.common.ntp import NtpAlgorithm
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.devices.errors import RenderError
from storestack.devices.platforms.base import (
    CommitConfirm,
    ExclusiveAddresses,
    LiveLinkAddresses,
    NamedObjects,
    NumberedEntries,
    PlatformDriver,
    PlatformProfile,
    PolicyRefresh,
    RemovedWhole,
    UnshownListing,
    WipedBy,
    days_hours_minutes,
    snmp_keywords,
)
from storestack.devices.steering import IOS_SLA_CONTROL_PORT
from storestack.inventory.models import NETWORK_CONTROL_PERCENT
from storestack.network.crypto import FLEET_CRYPTO, fleet_crypto, in_range
from storestack.network.model import NETWORK_CONTROL_DSCPS, PrefixLimit
from storestack.network.secrets import Secret

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from storestack.devices.views import (
        AclRule,
        HubView,
        ManagementView,
        Net,
        ProbeView,
        QosClassView,
        SegmentSteeringView,
        SegmentView,
        SteeringView,
        StoreApplianceView,
        TunnelView,
        WanLinkView,
    )

# Secrets as they appear in IOS-like configs; FRR's vtysh shares most of them.
IOS_SECRET_PATTERNS = (
    r"(\b(?:password|secret)(?: \d)?\s+)(?!=\s)\S+",  # not swanctl's `secret = …` (FRR hosts)
    r"(\bpre-shared-key(?: (?:local|remote))?(?: \d)?\s+)\S+",
    r"(\bkey-string(?: \d)?\s+)\S+",
    r"(\b(?:isakmp|tacacs-server|radius-server) key (?:\d )?)\S+",
    r"(^\s*key [067] )\S+",
    r"(\bauthentication-key \d+ (?:md5|hmac-sha1|hmac-sha2-256|cmac-aes-128)\s+)\S+",
    r"(\bauth (?:md5|sha)\s+)\S+",
    r"(\bpriv (?:des|3des|aes(?: \d+)?)\s+)\S+",
    r"(\bsnmp-server community\s+)\S+",
)


class HConfigDriverCiscoXE(HConfigDriverCiscoIOS):
    """IOS-XE shows a class's `service-policy` indented under its `shape average`, though `shape`
    opens no mode: the remediation must not send an `exit` for it (that `exit` would leave the class,
    and the next one the policy-map, and configuration mode after that).

    Idempotent here, as in HConfigDriverFRR, means the new line replaces the old one: a BGP
    neighbour or peer group holds one prefix limit in an address family, the maximum number of
    prefixes the router accepts from it ("BGP Restart Neighbor Session After Max-Prefix Limit
    Reached", IP Routing: BGP Configuration Guide, IOS XE 16.6, "Prefix Limits and BGP Peering
    Sessions"), so a changed limit (a store added or removed changes a hub's) is sent as the new
    line alone. The `no` form, sent first, left the session without a limit until the new line.
    (No Cisco command reference page in our document index says in so many words that the
    command given again replaces the value.)"""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        no_mode = SectionalExitingRule(
            match_rules=(
                MatchRule(startswith="policy-map "),
                MatchRule(startswith="class "),
                MatchRule(startswith="shape "),
            ),
            exit_text="",
        )
        prefix_limit = IdempotentCommandsRule(
            match_rules=(
                MatchRule(startswith="router bgp "),
                MatchRule(startswith="address-family "),
                MatchRule(re_search=r"^neighbor (\S+) maximum-prefix "),
            )
        )
        return rules.model_copy(
            update={
                "sectional_exiting": [no_mode, *rules.sectional_exiting],
                "idempotent_commands": [*rules.idempotent_commands, prefix_limit],
            }
        )


# The virtual template an IOS-XE hub clones for every store link (templates/devices/cisco_xe/hub.j2).
HUB_VIRTUAL_TEMPLATE = "Virtual-Template1"


class CiscoXEPlatform(PlatformProfile):
    def wan_port(self, port: int, link_name: str) -> str:
        return f"GigabitEthernet0/0/{port}"

    def store_tunnel(self, link_index: int, link_name: str, number: int, hub: str) -> str:
        return f"Tunnel{number}"

    def cloud_tunnel(self, label: str, number: int) -> str:
        return f"Tunnel{number}"

    def wan_zone(self, link_name: str) -> str:
        """One zone per WAN port: each port lives in its own front-door VRF (the guest breakout
        port in the global table), so no zone mixes routing tables, and each port's policy towards
        the router itself admits IKE and ESP from that port's own tunnel peers only."""
        return f"INTERNET-{link_name}"

    def aws_tunnel(self, link_index: int, link_name: str, tunnel: int) -> str:
        return f"Tunnel{100 + 2 * link_index + tunnel}"

    def hub_peer_interface(self, store_id: str, link_name: str, transit_index: int) -> str:
        """The hub is a FlexVPN server: every store link is a virtual-access cloned from this one
        template when the store dials in (its number is the router's); the config names only it."""
        return HUB_VIRTUAL_TEMPLATE


# Tracks, and the lines that name one: a tracked static route (`ip route … track N`), a route-map's
# next hop (`set ip next-hop verify-availability … track N`), another track's list (`object N`),
# an EEM applet's action (`action … track set N state …`). The remediation removes every line
# that stops naming track N before `no track N`, so no route, next hop or list is left naming a
# track that is gone, and defines `track N` before any line that starts naming it ("An object must
# exist before you can add it to a tracked list": Catalyst 4500 Series Switch Cisco IOS Software
# Configuration Guide, Cisco IOS XE 3.9.xE and IOS 15.2(5)Ex, "Configuring Enhanced Object
# Tracking", "Configuring a Tracked List with a Boolean Expression").
# A track whose defining line changes (`track N ip sla M state` becoming `track N list boolean
# and`: its type) is another line to hier_config, so it is deleted and defined again. Deferring
# every `no track N` to the very end would then delete the new definition; instead the deletion
# goes after the lines that stop naming N and before the new definition, which goes before the
# lines that start naming N. Lines naming N that do not change are not in the remediation at all:
# routes are not taken out and put back for a change of the track they follow.
TRACKS = NamedObjects(
    defined_by=r"^track (\d+)\b",
    named_by=(r"\btrack (?:set )?(\d+)\b", r"^object (\d+)\b"),
)

# IP SLA operations: `ip sla N` defines one, a track follows it (`track T ip sla N state`), and its
# reaction configuration, reaction triggers and schedule are its parts: `no ip sla N` removes
# "all configuration information for an operation, including the schedule of the operation,
# reaction configuration, and reaction triggers" (Cisco ME 3800X and ME 3600X Switch Command
# Reference, OL-28238-01, `ip sla`; the IOS IP SLAs command references say the same).
# - A probe that goes away is removed by `no ip sla N` alone, once no track names it: negating its
#   parts after it would be refused (they are gone), and negating them before it is not needed
#   (`no ip sla N` takes them) and would send `no ip sla schedule N life forever start-time now`,
#   a negation with arguments the reference does not give, for nothing. The device ends with
#   none of the operation's lines, exactly as intended, so drift finds nothing left to send.
# - A probe that changes (a class's threshold or timers, the far end) cannot be changed in place:
#   "After you schedule an operation, you cannot modify the configuration of the operation" (the
#   same reference), and IOS answers `ip sla N` itself with "Entry already running and cannot be
#   modified". It is deleted and defined again (`replaced_whole`): `no ip sla N`, the whole new
#   block, then every reaction configuration line and the schedule it is meant to have, the
#   unchanged ones too, which `no ip sla N` removed though running and intended both hold them.
#   (Not hier_config's sectional overwrite: it compares a block's lines in order, so a router that
#   shows them in another order than the template writes them would have its probes deleted and
#   defined again by every push, their tracks flapping.) The tracks that follow the operation are
#   not sent again: the reference does not say whether `no ip sla N` touches a track naming N (a
#   lab capture of IOS shows such a track kept, down while N does not run); drift would show one
#   that went away.
IP_SLA_OPERATIONS = NamedObjects(
    defined_by=r"^ip sla (\d+)$",
    named_by=(r"^track \d+ ip sla (\d+)\b",),
    parts=(r"^ip sla (?:reaction-configuration|reaction-trigger|schedule) (\d+)\b",),
    replaced_whole=True,
)

# Policy-maps, class-maps and ACLs, and the lines that attach or name one. IOS refuses to delete a
# policy-map still attached (to `control-plane`, an interface, a zone-pair or a parent policy's
# class) and a class-map a policy-map still names, so a remediation that removes one detaches it
# first: the `no service-policy ...` (or the parent's change) goes before `no policy-map ...`, the
# policy-map before its class-maps, the class-maps before their ACLs. An ACL removed before the
# line that applies it would leave, for a moment, an interface or a line with a filter that names
# nothing (IOS then filters nothing there), so it goes last too. Added, each is defined before
# what names it. (The refusal is IOS behaviour we have not found in a command reference; the order
# is right whether or not the device refuses.) A hub's AAA attribute list binds a store's filter to
# the virtual-access of each link the store dials in (`attribute type interface-config "ip
# access-group F in"`) and names it too: a store link that came up between its attribute list and
# its filter was cloned bound to a filter not there yet ("You should create the ACL before applying
# it to an interface. With most versions of Cisco IOS Software, an interface that has an empty ACL
# applied to it permits all traffic", Cisco Press, Interconnecting Cisco Network Devices Part 2,
# "Managing Traffic with Access Control Lists").
POLICY_MAPS = NamedObjects(
    defined_by=r"^policy-map (?:type inspect )?(\S+)$",
    named_by=(r"^service-policy (?:input |output )?(\S+)$", r"^service-policy type inspect (\S+)$"),
)
CLASS_MAPS = NamedObjects(
    defined_by=r"^class-map (?:type inspect )?(?:match-any |match-all )?(\S+)$",
    named_by=(r"^class (?:type inspect )?(\S+)$",),
)
ACCESS_LISTS = NamedObjects(
    defined_by=r"^ip access-list (?:standard|extended) (\S+)$",
    named_by=(
        r"^match access-group name (\S+)$",
        r"^access-class (\S+) in$",
        r"^ip access-group (\S+) (?:in|out)$",
        r'^attribute type interface-config "ip access-group (\S+) (?:in|out)"$',
        r"^match ip address (?!prefix-list )(\S+)",
        r"^ip nat inside source list (\S+) ",
        r"^ntp access-group (?:peer|serve|serve-only|query-only) (\S+)$",
        r"^snmp-server (?:group|user) .* access (\S+)$",
    ),
)

# The IPsec chain of a tunnel, the security zones and the VRFs, and the lines that name one: a
# tunnel's `tunnel protection ipsec profile P` names an IPsec profile, whose `set ikev2-profile`
# and `set transform-set` name an IKEv2 profile and a transform-set; the IKEv2 profile's
# `keyring local K` names a keyring, an IKEv2 policy's `proposal X` a proposal; an interface's
# `zone-member security Z` and a zone-pair's `source`/`destination` name zones; an interface's
# `vrf forwarding V`, a tunnel's `tunnel vrf V`, an IKEv2 profile's `match fvrf V`, a static
# route's `ip route vrf V` and BGP's `address-family ipv4 vrf V` name a VRF. Each is defined
# before what names it and deleted after the lines that name it stop doing so. A
# `set transform-set` naming several transform-sets orders only around the first.
IKEV2_KEYRINGS = NamedObjects(defined_by=r"^crypto ikev2 keyring (\S+)$", named_by=(r"^keyring local (\S+)$",))
# A hub's store link: its keyring peer admits it (the PSK of its FQDN identity), the IKEv2
# authorization policy named after the identity's host part (name mangler `fqdn hostname`) names
# the AAA attribute list that configures its virtual-access (`aaa attribute list L`), which names
# its filter (ACCESS_LISTS). A virtual-access is configured when the link comes up, from the
# template and then the per-user configuration defined for it at that moment ("a router can
# create a virtual access interface by first using the information from a virtual interface
# template ... and then using the information in a per-user configuration (if AAA is configured on
# the router and per-user configuration is defined for the specific user)", Cisco IOS Dial
# Technologies Configuration Guide, "Configuring Virtual Template Interfaces"; "Virtual access
# interfaces are not directly configurable by users" but through the template or the per-user
# configuration, same guide, for Cisco IOS XE Release 2.1 and later). A link admitted before its
# authorization policy and attribute list came up with the template alone (FROM-STORES and no /31
# of its own: its BGP session down) and kept it until it dialled again. So a store added gets its
# filter, then its attribute lists, then its authorization policies, and its keyring peers last;
# a store removed loses its keyring peers first. (What IOS does with a link whose authorization
# policy is missing, refuse it or bring it up bare, is not documented; the order is right either
# way.)
IKEV2_AUTHORIZATION_POLICIES = NamedObjects(
    defined_by=r"^crypto ikev2 authorization policy (\S+)$", named_by=(r"^identity fqdn ([^.\s]+)\.",)
)
AAA_ATTRIBUTE_LISTS = NamedObjects(defined_by=r"^aaa attribute list (\S+)$", named_by=(r"^aaa attribute list (\S+)$",))
IKEV2_PROPOSALS = NamedObjects(defined_by=r"^crypto ikev2 proposal (\S+)$", named_by=(r"^proposal (\S+)$",))
IKEV2_PROFILES = NamedObjects(defined_by=r"^crypto ikev2 profile (\S+)$", named_by=(r"^set ikev2-profile (\S+)$",))
TRANSFORM_SETS = NamedObjects(defined_by=r"^crypto ipsec transform-set (\S+) ", named_by=(r"^set transform-set (\S+)",))
IPSEC_PROFILES = NamedObjects(
    defined_by=r"^crypto ipsec profile (\S+)$", named_by=(r"^tunnel protection ipsec profile (\S+)",)
)
ZONES = NamedObjects(
    defined_by=r"^zone security (\S+)$",
    named_by=(
        r"^zone-member security (\S+)$",
        r"^zone-pair security \S+ source (\S+) ",
        r"^zone-pair security \S+ source \S+ destination (\S+)$",
    ),
)
VRFS = NamedObjects(
    defined_by=r"^vrf definition (\S+)$",
    named_by=(
        r"^vrf forwarding (\S+)$",
        r"^tunnel vrf (\S+)$",
        r"^match fvrf (\S+)$",
        r"^ip route vrf (\S+) ",
        r"^address-family ipv4 vrf (\S+)$",
    ),
)
# Route-maps and prefix-lists, each defined by one or more entries (`route-map R permit 10`,
# `ip prefix-list L seq 5 ...`): a BGP neighbour's `route-map R in|out`, `advertise-map R
# exist-map R2` / `non-exist-map R2`, an interface's `ip policy route-map R`, the router's `ip local
# policy route-map R`, and a route-map's `match ip address prefix-list L` name them. IOS takes a
# name no entry defines yet, but a neighbour whose route-map is gone filters as if it denied
# everything, so the naming line goes first when one is removed.
ROUTE_MAPS = NamedObjects(
    defined_by=r"^route-map (\S+) (?:permit|deny) \d+$",
    named_by=(
        r"^neighbor \S+ route-map (\S+) (?:in|out)$",
        r"^neighbor \S+ advertise-map (\S+) ",
        r"^neighbor \S+ advertise-map \S+ (?:non-)?exist-map (\S+)$",
        r"^ip policy route-map (\S+)$",
        r"^ip local policy route-map (\S+)$",
    ),
)
PREFIX_LISTS = NamedObjects(
    defined_by=r"^ip prefix-list (\S+) seq \d+ ",
    named_by=(r"^match ip address prefix-list (\S+)$", r"^neighbor \S+ prefix-list (\S+) (?:in|out)$"),
)

# An interface moved into, out of or between VRFs loses its IPv4 and IPv6 addresses: IOS removes
# them when `vrf forwarding` is entered or removed (IOS behaviour we have not found in a command
# reference; re-sending an address the interface still holds changes nothing). hier_config sends
# only the `vrf forwarding` change, the address lines being the same on both sides, so the
# interface would be left with no address: they are sent again after it (`WipedBy`).
VRF_FORWARDING_WIPES = WipedBy(trigger=r"^vrf forwarding \S+$", wiped=r"^(?:ip address|ipv6 address)\b")

# The SNMPv3 user's protocols (common/snmp.py), as `snmp-server user NAME GROUP v3 auth {md5 | sha}
# PASSWORD priv {des | 3des | aes {128 | 192 | 256}} PASSWORD` spells them ("snmp-server user",
# Cisco IOS command reference; "Configure SNMPv2c/v3 on Catalyst 9000 Series Switches", Cisco IOS
# XE 17.x). Cisco documents no SHA-2 keyword for IOS-XE's SNMP user, so SHA-1 is its only one.
SNMP_AUTH_KEYWORDS: dict[SnmpAuth, str] = {"sha1": "sha"}
SNMP_PRIV_KEYWORDS: dict[SnmpPriv, str] = {"aes128": "aes 128", "aes256": "aes 256"}
# As `show snmp user` prints them ("Authentication Protocol: SHA", "Privacy Protocol: AES256",
# DISA IOS XE router NDM STIG V-220553 check text; genieparser ShowSnmpUser golden output): the
# drift compare reads the user with them (`DRIVER.unshown_listing`).
SNMP_SHOWN = {"sha": "SHA", "aes 128": "AES128", "aes 256": "AES256"}


def snmp_user_protocols(mgmt: ManagementView) -> dict[str, str]:
    """`auth` and `priv`: the keywords of the fleet's SNMPv3 pair; a pair IOS-XE does not
    document is refused (RenderError)."""
    auth, priv = snmp_keywords("cisco_xe", SNMP_AUTH_KEYWORDS, SNMP_PRIV_KEYWORDS, mgmt.snmp_auth, mgmt.snmp_priv)
    return {"auth": auth, "priv": priv}


# IOS applies a changed route-map, prefix list, community list or AS-path list only to updates
# received or sent from then on: "whenever there is a change in the routing policy, the BGP
# session must be soft cleared, or soft reset, for the new policy to take effect" (Cisco IOS IP
# Configuration Guide, "Configuring BGP", "Managing Routing Policy Changes"). `clear ip bgp A soft
# in` asks the neighbour to send its routes again (the route refresh capability, negotiated by
# default), `soft out` sends ours again; neither resets the session. Run for each session whose
# policy a push changed (PlatformDriver.policy_refresh).
BGP_POLICY_REFRESH = PolicyRefresh(
    commands=("clear ip bgp {neighbor} soft in", "clear ip bgp {neighbor} soft out"),
    objects=(
        r"^route-map (?P<name>\S+) (?:permit|deny)\b",
        r"^ip prefix-list (?P<name>\S+) ",
        r"^ip community-list (?:standard |expanded )?(?P<name>\S+) ",
        r"^ip as-path access-list (?P<name>\S+) ",
    ),
    sessions=r"^router bgp \d+ / neighbor (?P<neighbor>\d+\.\d+\.\d+\.\d+) remote-as ",
    bindings=(
        r"^router bgp \d+ / (?:address-family ipv4(?: unicast)? / )?neighbor (?P<neighbor>\S+) "
        r"(?:route-map|prefix-list|filter-list) (?P<policy>\S+) (?:in|out)$",
        r"^router bgp \d+ / (?:address-family ipv4(?: unicast)? / )?neighbor (?P<neighbor>\S+) "
        r"default-originate route-map (?P<policy>\S+)$",
    ),
    members=r"^router bgp \d+ / (?:address-family ipv4(?: unicast)? / )?neighbor (?P<neighbor>\S+) peer-group (?P<group>\S+)$",
)

# A BGP neighbour or peer group goes whole with the line that made it: `no neighbor X remote-as N`
# removes the neighbour's entry from the neighbour table ("To remove an entry from the table, use
# the no form of this command", Cisco IOS IP Command Reference, Volume 2: Routing Protocols,
# "neighbor remote-as"), `no neighbor G peer-group` "the peer group and all of its members" (same
# reference, "neighbor peer-group (creating)"), with their settings in `router bgp` and in every
# address family. A later `no neighbor X ...` is refused ("% Specify remote-as or peer-group
# commands first", an IOS-XE configuration error of Cisco's unicon iosxe plugin,
# `CONFIGURE_ERROR_PATTERN`): that deletion is the only line sent for it. A neighbour whose AS
# changes (`no neighbor X remote-as A`, `neighbor X remote-as B`) is removed whole by the first
# line too: the second makes it bare, so all its intended lines follow; so do a staying member's
# after its group's removal.
BGP_NEIGHBORS_REMOVED_WHOLE = RemovedWhole(
    section=r"^router bgp \d+$",
    made_by=(r"^neighbor (?P<name>\S+) remote-as \S+$", r"^neighbor (?P<name>\S+) peer-group$"),
    names=r"^neighbor {name} ",
    member_of=r"^neighbor (?P<name>\S+) peer-group (?P<group>\S+)$",
)

# No two active interfaces of one VRF hold addresses in one subnet: "a subnet cannot appear on
# more than one active interface of the router at a time" (Cisco IOS IP Configuration Guide,
# "Configuring IP Addressing", "Assigning Multiple IP Addresses to Network Interfaces"); the router
# refuses the line with "% <subnet> overlaps with <interface>". A store whose links change can give
# one tunnel the inside address another tunnel holds until later in the push, where a new
# `ip address` replaces it or the tunnel is removed (a dual-WAN store gone LTE-only, and back):
# the address is deleted there first (`ExclusiveAddresses`).
#
# A hub's store link dialled in over FlexVPN holds its overlay address on a virtual-access the
# hub cloned for it, configured from the link's AAA attribute list (`interface-config`
# attributes) when the link dialled in and kept for as long as its session lives: a push that
# drops that attribute list (the store's platform changed to one known by its address, whose link
# gets a static tunnel interface with the same /31) leaves the address on the virtual-access, and
# the tunnel's `ip address` is refused. The session is cleared first, by the link's outside
# address, which the tunnel names (`tunnel destination`): `clear crypto session remote
# ip-address`, the privileged EXEC command that deletes one peer's IKE and IPsec SAs, sent from
# configuration mode with `do`. Its Cisco command reference page (Cisco IOS Security Command
# Reference: Commands A to C, `clear crypto session`) is not in the document index, and neither
# is one for `clear crypto ikev2 sa` (searched: "clear crypto session remote", "clear crypto ikev2
# sa remote", FlexVPN virtual-access), so no documented command fits better and the session
# command stays. What was found: Cisco's pyATS sends the command on IOS-XE (genielibs
# sdk/apis/iosxe/ike/configure.py `clear_crypto_session`: `clear crypto session` [active]
# [ikev2] [fvrf F]) and clears IKEv2 SAs by remote address alike (sdk/apis/iosxe/ikev2
# `clear_ikev2_sa`); the `remote` form appears in operators' runbooks only. The FlexVPN server
# clones its virtual-access for the session ("Configuring the FlexVPN Server", as the hub
# template cites it); that the virtual-access goes with the cleared session is said by a
# community answer, not by Cisco ("Issuing the clear crypto session command forces the IPsec SAs
# to be torn down and the associated virtual-access interfaces to be removed", NetworkLessons
# forum, "FlexVPN Hub and Spoke"), and is what the emulator models. The lines before it have
# dropped the link's keyring peer and authorization policy, so the box still online cannot dial
# back in with the old identity.
CLEARED_SESSIONS = LiveLinkAddresses(
    block=r"aaa attribute list \S+",
    address=r'attribute type interface-config "ip address (?P<address>\d+\.\d+\.\d+\.\d+) (?P<mask>\d+\.\d+\.\d+\.\d+)"',
    remote=r"tunnel destination (?P<remote>\d+\.\d+\.\d+\.\d+)",
    freed_by="do clear crypto session remote {remote}",
)
EXCLUSIVE_ADDRESSES = ExclusiveAddresses(
    block=r"interface \S+",
    address=r"ip address (?P<address>\d+\.\d+\.\d+\.\d+) (?P<mask>\d+\.\d+\.\d+\.\d+)(?: secondary)?",
    exit="exit",
    live_links=CLEARED_SESSIONS,
)

# A physical port (and Null0, always there) is hardware: IOS-XE cannot delete it, so a config
# that drops one empties it. Every other interface storestack configures is one the router
# created in software ("Virtual interfaces are software-based interfaces that you create in the
# memory of the networking device using Cisco IOS XE commands": loopback, null, subinterfaces,
# tunnels; Interface and Hardware Component Configuration Guide, Cisco IOS XE, "Configuring
# Virtual Interfaces"), with a Virtual-Template: one the config drops is deleted whole (`no
# interface X`), never emptied line by line and left behind.
PHYSICAL_INTERFACES = (
    r"interface (?:(?:Fast|Gigabit|TwoGigabit|FiveGigabit|TenGigabit|TwentyFiveGig|FortyGigabit|HundredGig)?Ethernet"
    r"|Cellular|Serial|Wlan-GigabitEthernet)[\d/]+|interface Null0"
)
# A logical interface other lines name: a line that stops naming it is deleted before it, and
# it is created before a line that starts naming it (a tunnel's source, a route or a BGP session
# through it, a track of its line protocol).
LOGICAL_INTERFACES = NamedObjects(
    defined_by=r"^interface ((?:Loopback|Tunnel|Virtual-Template)\d+|\S+\.\d+)$",
    named_by=(
        r"^tunnel source (\S+)$",
        r"^ip route (?:vrf \S+ )?\S+ \S+ ((?:Loopback|Tunnel|Virtual-Template)\d+|\S+\.\d+)\b",
        r"^neighbor \S+ update-source (\S+)$",
        r"^track \d+ interface (\S+) ",
        r"\bsource-interface (\S+)",
        r"^ntp source (\S+)$",
        r"^ip unnumbered (\S+)$",
        r"^ip nat inside source .* interface (\S+)",
    ),
)

DRIVER = PlatformDriver(
    name="cisco_xe",
    netmiko_device_type="cisco_xe",
    ignore_lines=(
        r"^Building configuration",
        r"^Current configuration",
        r"^! (Last configuration change|NVRAM config last updated)",
        r"^\s*!",
        r"^version ",
        r"^end$",
        r"^\s+no shutdown$",
    ),
    # A scheduled IP SLA operation refuses `ip sla N` with a message of its own, not always
    # opened by `%` (IP_SLA_OPERATIONS).
    error_patterns=(
        r"^\s*% ?(Invalid|Incomplete|Ambiguous|Unknown|Error|Bad)",
        r"^\s*%?\s*Entry already running and cannot be modified",
        # A line naming a BGP neighbour or peer group the router does not hold (BGP_NEIGHBORS_REMOVED_WHOLE).
        r"^\s*% ?Specify remote-as or peer-group commands first",
        # An address whose subnet another active interface holds (EXCLUSIVE_ADDRESSES).
        r"^\s*% ?\S+ overlaps with \S+",
        # An ACL entry typed with a number the ACL holds already: refused, the ACL unchanged
        # ("IP Access List Entry Sequence Numbering", Sequence Numbering Behavior).
        r"^\s*% ?Duplicate sequence number",
    ),
    session_setup=("terminal length 0", "terminal width 511"),
    save_command="write memory",
    save_success=r"\[OK\]",
    # `control-plane` is always there (IOS shows it, empty, in every running config): a config
    # without CoPP detaches the policy inside it, never `no control-plane`.
    keep_sections=(PHYSICAL_INTERFACES, r"control-plane"),
    secret_patterns=IOS_SECRET_PATTERNS,
    # IOS-XE shows the TACACS+ server key as `key 7 …` and an NTP key as `… <encrypted> 7`, and
    # an SNMPv3 user not at all: it is kept outside the running config, `show snmp user` lists it
    # without its keys (RFC 3414 localised keys; ansible-collections/cisco.ios#609, "SNMPv3 user
    # configuration does not display in running config").
    stored_secret_patterns=(
        r"(^\s+key )(?:[067] )?\S+\s*$",
        r"(\bauthentication-key \d+ (?:md5|hmac-sha1|hmac-sha2-256|cmac-aes-128)\s+)\S+(?: 7)?",
        r"(^snmp-server user .*\bauth (?:md5|sha)\s+)\S+",
        r"(^snmp-server user .*\bpriv (?:des|3des|aes(?: \d+)?)\s+)\S+",
    ),
    unshown_lines=(r"^snmp-server user ",),
    # `show snmp user` lists each user by name with its protocols ("User name: NAME", ...,
    # "Authentication Protocol: SHA", "Privacy Protocol: AES128", genieparser's ShowSnmpUser): a
    # user held under its name but with other protocols (changed by hand, or by the fleet's pair)
    # is sent again.
    unshown_listing=UnshownListing(
        command="show snmp user",
        listed=r"^User name: (\S+)\n(?:(?!User name:).*\n)*?Authentication Protocol: (\S+)\n(?:(?!User name:).*\n)*?Privacy Protocol: (\S+)",
        key=r"^snmp-server user (\S+) \S+ v3 auth (md5|sha) \S+ priv (des|3des|aes \d+) ",
        shown=tuple(SNMP_SHOWN.items()),
    ),
    # Entering or removing `vrf forwarding` on an interface removes its IP addresses (IOS
    # behaviour, see VRF_FORWARDING_WIPES): they are sent again after it.
    wiped_by=(VRF_FORWARDING_WIPES,),
    exclusive_addresses=EXCLUSIVE_ADDRESSES,
    # ACL entries are numbered and applied as they are sent: a renumbered entry is deleted and
    # added again, from the ends (PlatformDriver.numbered_entries). An ACL whose change keeps its
    # common entries in order takes its new entries at free numbers in between and is then
    # renumbered in place: `ip access-list resequence access-list-name starting-sequence-number
    # increment` ("IP Access List Entry Sequence Numbering", Security Configuration Guide: Access
    # Control Lists, Cisco IOS XE; "The maximum sequence number is 2147483647"), so an entry that
    # only moves is never missing: the management ranges' SSH after a new tunnel's BGP in
    # OVERLAY-TO-SELF (whose `pass` reads every packet against the ACL as it stands), the closing
    # `permit ip any any` of the hub's HUB-INFRASTRUCTURE after a new hub's BGP and BFD entries
    # (deleted from the bottom, the DC port dropped all transit through the hub while the push
    # ran). Never the same entry under two numbers: IOS ignores an entry that "matches an already
    # existing entry (except for the sequence number)" (same guide, "Sequence Numbering
    # Behavior").
    numbered_entries=(
        NumberedEntries(
            section=r"^ip access-list (?:extended|standard) ",
            resequence="ip access-list resequence {name} {start} {step}",
            highest=2147483647,
        ),
    ),
    policy_refresh=BGP_POLICY_REFRESH,
    removed_whole=(BGP_NEIGHBORS_REMOVED_WHOLE,),
    named_objects=(
        LOGICAL_INTERFACES,
        TRACKS,
        IP_SLA_OPERATIONS,
        POLICY_MAPS,
        CLASS_MAPS,
        ACCESS_LISTS,
        IKEV2_KEYRINGS,
        IKEV2_AUTHORIZATION_POLICIES,
        AAA_ATTRIBUTE_LISTS,
        IKEV2_PROPOSALS,
        IKEV2_PROFILES,
        TRANSFORM_SETS,
        IPSEC_PROFILES,
        ZONES,
        VRFS,
        ROUTE_MAPS,
        PREFIX_LISTS,
    ),
)

# IOS shows well-known ports by name, so they are written by name; the keyword lists are per
# protocol (`bgp` is a TCP keyword only, `bootps`/`bootpc` UDP only: `permit udp ... eq bgp`
# is rejected), so a port is named only where its protocol has the name.
_PORT_NAMES = {
    "tcp": {49: "tacacs", 53: "domain", 179: "bgp"},
    "udp": {53: "domain", 67: "bootps", 68: "bootpc", 123: "ntp", 161: "snmp", 500: "isakmp", 4500: "non500-isakmp"},
}


# NTP key types by algorithm (common/ntp.py), as `ntp authentication-key N TYPE KEY` spells
# them (System Management Configuration Guide, Cisco IOS XE, "Configuring NTP Authentication":
# {md5 | cmac-aes-128 | hmac-sha1 | hmac-sha2-256}).
NTP_KEY_TYPES: dict[NtpAlgorithm, str] = {"aes128-cmac": "cmac-aes-128", "hmac-sha256": "hmac-sha2-256"}


def ntp_key_type(algorithm: NtpAlgorithm) -> str:
    """The keyword of an NTP key of `algorithm` (only those the platform implements reach here)."""
    return NTP_KEY_TYPES[algorithm]


# Local user secrets as IOS-XE's type 9 (scrypt) hash, never the password: `username NAME secret 9
# HASH` ("9 Specifies a SCRYPT HASHED secret will follow", the IOS-XE CLI's `username NAME secret ?`
# help): nothing reversible, and no password in the pushed file.
# The router keeps a hashed secret as given and shows that same line in its running config, so
# the intended line is what a drift check reads back, push after push (a cleartext `secret PW`
# turns into a hash the device salts at random, which would never read back as sent). The format:
# `$9$` + a 14-character salt + `$` + scrypt(password, salt, N=16384, r=1, p=1, 32 bytes) in
# Cisco's crypt alphabet, unpadded; tests check it against the published known answer (hashcat
# example hash 9300, "Cisco-IOS $9$ (scrypt)"). The salt is derived from the password and the
# user name, so a render is reproducible; every router of the fleet shares the local password
# (one `local-admin-password` secret), so a per-router salt would hide nothing.
_CISCO64 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)
_TYPE9_SALT_LENGTH = 14


def type9_hash(password: str, salt: str) -> str:
    """The IOS type 9 secret of `password` with `salt` (14 characters of Cisco's alphabet)."""
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    return f"$9${salt}${base64.b64encode(digest).decode().translate(_CISCO64).rstrip('=')}"


@lru_cache(maxsize=16)
def _type9_of(password: str, user: str) -> str:
    keyed = hmac.new(password.encode(), f"storestack ios type 9 salt {user}".encode(), hashlib.sha256).digest()
    salt = base64.b64encode(keyed).decode().translate(_CISCO64)[:_TYPE9_SALT_LENGTH]
    return type9_hash(password, salt)


def type9_secret(secret: Secret, user: str) -> Secret:
    """The slot of `user`'s local secret as its type 9 hash (`{{ password | ios_type9(user) |
    secret }}` after `secret 9`); a slot without a value (a redacted render) stays as it is."""
    if secret.value is None:
        return secret
    return Secret(secret.name, secret.source, SecretStr(_type9_of(secret.value.get_secret_value(), user)))


def _port(protocol: str, port: int) -> str:
    return _PORT_NAMES.get(protocol, {}).get(port, str(port))


def _endpoint(net: Net | None) -> str:
    if net is None:
        return "any"
    return f"host {net.address}" if net.prefixlen == 32 else f"{net.address} {net.wildcard}"


# IKEv2 profile `dpd <interval> <retry-interval> {periodic | on-demand}`: interval 10-3600 s,
# retry-interval 2-60 s (Cisco IOS XE 17.12.1 YANG model, Cisco-IOS-XE-crypto.yang, crypto ikev2
# `dpd-container`: `dpd` 10..3600, `retry-interval` 2..60). IOS-XE has no retry count: an
# unanswered liveness check is retransmitted, `retry-interval` apart, as IKEv2 retransmits any
# request, and the peer is declared dead when those retransmissions run out. Their number is not
# configurable here and not stated in the model; 5 is assumed (to be confirmed on a device), so
# the retry interval spreads the policy's timeout over them.
IOS_DPD_INTERVAL_SECONDS = (10, 3600)
IOS_DPD_RETRY_SECONDS = (2, 60)
IOS_IKEV2_RETRANSMITS = 5


def ike_dpd(_: object, mode: str) -> str:
    """An IKEv2 profile's `dpd` line from the fleet policy (network/crypto.py): a liveness check
    after `dpd_interval_seconds` (`periodic`: of silence from the peer; `on-demand`: only when
    there is traffic to send), and retransmissions spread over the policy's timeout. Applied to
    the view (`view | ios_ike_dpd("periodic")`), not to the literal mode: Jinja folds a filter of
    constants when it compiles the template, which would freeze the policy of the first render."""
    policy = fleet_crypto()
    interval = in_range("IOS-XE dpd interval", policy.dpd_interval_seconds, IOS_DPD_INTERVAL_SECONDS)
    low, high = IOS_DPD_RETRY_SECONDS
    retry = min(high, max(low, round(policy.dpd_timeout_seconds / IOS_IKEV2_RETRANSMITS)))
    return f"dpd {interval} {retry} {mode}"


def acl_rule(rule: AclRule) -> str:
    """One extended ACL entry after its sequence number: `permit tcp any host 10.0.0.5 eq bgp`."""
    text = f"{rule.action} {rule.protocol} {_endpoint(rule.source)}"
    if rule.source_port:
        text += f" eq {_port(rule.protocol, rule.source_port)}"
    text += f" {_endpoint(rule.destination)}"
    if rule.port_end:
        text += f" range {rule.port} {rule.port_end}"
    elif rule.port:
        text += f" eq {_port(rule.protocol, rule.port)}"
    if rule.established and rule.protocol == "tcp":
        # ACK or RST set (Cisco IOS "permit (IP extended)", `established`).
        text += " established"
    if rule.icmp_type and rule.protocol == "icmp":
        text += f" {rule.icmp_type}"  # `permit icmp SOURCE DESTINATION echo`, as OVERLAY-TO-SELF spells it
    return text


def acl_lines(rules: Sequence[AclRule]) -> list[str]:
    """An extended ACL's entries as config lines, numbered 10, 20, ...: ` 10 permit udp ...`."""
    return [f" {10 * position} {acl_rule(rule)}" for position, rule in enumerate(rules, start=1)]


# The hub's HUB-STORES prefix list (`HubBeacon.stores`): the store of stable number N
# (`StoreSources.number`, the same for the store's life whatever other stores come and go) takes
# sequence numbers STORE_ENTRIES_FIRST + STORE_ENTRIES_STRIDE * N and up, one per network of its
# own (its loopbacks); the networks of no one store before them (the store block) take 10, 20,
# ... and those after them TAIL_ENTRIES_FIRST, +10, ... A prefix list's `seq` is part of each
# line the running config shows and keeps. Numbered by place, a store that went moved every
# later store's loopback to another number: deleted, and added again only at the end of the push,
# each was outside the hub-to-hub advertise-map (advertised whatever the exist-map said) for the
# length of it. Adding or decommissioning a store now adds or deletes its own entries alone. The
# ACLs stay numbered 10, 20, ... (the numbers a reload gives back, `NumberedEntries.resequence`).
# No Cisco document read here states the `ip prefix-list ... seq` range; the numbers stay below
# 2147483647, the documented highest ACL sequence number. A store whose number would put its
# entries past TAIL_ENTRIES_FIRST, or with more than STORE_ENTRIES_STRIDE networks, is refused.
STORE_ENTRIES_FIRST = 1000
STORE_ENTRIES_STRIDE = 100
TAIL_ENTRIES_FIRST = 1_000_000_000
SEQUENCE_MAX = 2147483647


def hub_stores_prefixes(view: HubView, networks: Sequence[ipaddress.IPv4Network]) -> list[str]:
    """The HUB-STORES prefix list's lines: the networks of no one store (the store block) first
    from 10, each store's under its stable number, any later ones of no store last. Refused
    (RenderError) where they would not fit, or where a store's networks are not in one run."""
    owners = view.intent.store_forwarding.own

    def owner(network: ipaddress.IPv4Network) -> int | None:
        return next((own.number for own in owners if any(network.subnet_of(net) for net in own.sources)), None)

    entries = [(f"permit {net}{' le 32' if net.prefixlen < 32 else ''}", owner(net)) for net in networks]
    owned = [index for index, (_, number) in enumerate(entries) if number is not None]
    first, last = (owned[0], owned[-1]) if owned else (len(entries), len(entries) - 1)
    if any(number is None for _, number in entries[first : last + 1]):
        raise RenderError(f"hub {view.hostname}: HUB-STORES's per-store entries are not in one run")
    head, tail = entries[:first], entries[last + 1 :]
    if 10 * len(head) >= STORE_ENTRIES_FIRST or TAIL_ENTRIES_FIRST + 10 * len(tail) > SEQUENCE_MAX:
        raise RenderError(f"hub {view.hostname}: HUB-STORES has {len(head) + len(tail)} entries of no one store")
    numbered = [(10 * (index + 1), text) for index, (text, _) in enumerate(head)]
    stores: dict[int, list[str]] = {}
    for text, number in entries[first : last + 1]:
        stores.setdefault(number or 0, []).append(text)
    for number, texts in stores.items():
        start = STORE_ENTRIES_FIRST + STORE_ENTRIES_STRIDE * number
        if len(texts) > STORE_ENTRIES_STRIDE or start + STORE_ENTRIES_STRIDE > TAIL_ENTRIES_FIRST:
            raise RenderError(
                f"hub {view.hostname}: store number {number} (its ASN's offset in asn.store_range) does not fit "
                f"HUB-STORES's numbering; narrow asn.store_range"
            )
        numbered += [(start + index, text) for index, text in enumerate(texts)]
    numbered += [(TAIL_ENTRIES_FIRST + 10 * index, text) for index, (text, _) in enumerate(tail)]
    return [f"ip prefix-list HUB-STORES seq {number} {text}" for number, text in numbered]


# The hub's TO-STORES prefix list, each entry numbered by what it is: HQ's and the clouds'
# summaries from 5 (`HubView.summaries`, fleet-wide ranges), the hub's own loopback, beacon and the
# DC core's default route at TO_STORES_OWN (each its own number, there or not), and each other
# hub's loopback at TO_STORES_HUBS_FIRST + 5 * its slot (`HubRef.slot`, `Fleet.hub_slot`, which
# IPAM pins in the lock). Every entry is an exact permit, so their order matches nothing
# differently. Numbered by place, a hub removed from the middle of the fleet moved each later
# hub's loopback down one number: deleted and added again at the end of the push, that hub was
# not announced to the stores meanwhile. A hub added or removed now adds or deletes its own entry
# alone, in the held-over push (`network/transition.py` `held_over`) as in the last.
TO_STORES_OWN = {"loopback": 1000, "beacon": 1005, "default": 1010}
TO_STORES_HUBS_FIRST = 2000


def to_stores_prefixes(view: HubView) -> list[str]:
    """The TO-STORES prefix list's lines (see TO_STORES_OWN); refused (RenderError) where the
    summaries would reach the hub's own entries."""
    if 5 * len(view.summaries) >= TO_STORES_OWN["loopback"]:
        raise RenderError(f"hub {view.hostname}: TO-STORES has {len(view.summaries)} summaries, more than its numbering holds")
    beacon = view.intent.beacon
    default = view.intent.store_default
    numbered = [(5 * index, net.cidr) for index, net in enumerate(view.summaries, start=1)]
    numbered.append((TO_STORES_OWN["loopback"], f"{view.loopback.ip}/32"))
    if beacon is not None:
        numbered.append((TO_STORES_OWN["beacon"], f"{beacon.address}/32"))
    if default is not None and default.passed_on:
        numbered.append((TO_STORES_OWN["default"], str(default.condition)))
    numbered += [(TO_STORES_HUBS_FIRST + 5 * hub.slot, f"{hub.loopback}/32") for hub in view.hub_neighbors]
    return [f"ip prefix-list TO-STORES seq {number} permit {prefix}" for number, prefix in sorted(numbered)]


def sequenced(rules: Sequence[str]) -> list[str]:
    """Rules already spelled (`overlay_to_self`) as ACL entry lines numbered 10, 20, ..."""
    return [f" {10 * position} {rule}" for position, rule in enumerate(rules, start=1)]


def sla_operation(probe: ProbeView) -> str:
    """An IP SLA operation's kind line (under `ip sla <number>`) towards the tunnel's far end:
    udp-jitter to an IOS-XE hub's responder, icmp-jitter to a Linux hub, else icmp-echo."""
    timers, over = probe.ios, probe.tunnel
    if timers is None:
        raise ValueError(f"probe {probe.number} has no IOS-XE timers")
    if timers.kind == "udp-jitter":
        return (
            f"udp-jitter {over.inside_peer} {probe.udp_port} source-ip {over.inside.ip} "
            f"num-packets {timers.packets} interval {timers.interval_ms}"
        )
    if timers.kind == "icmp-jitter":
        return (
            f"icmp-jitter {over.inside_peer} interval {timers.interval_ms} "
            f"num-packets {timers.packets} source-ip {over.inside.ip}"
        )
    return f"icmp-echo {over.inside_peer} source-interface {over.ifname}"


def sla_applets(probe: ProbeView) -> list[str]:
    """The two EEM applets of each reaction stub of a probe: the reaction's "Threshold Occurred"
    log sets the stub track down (the path leaves the class's rotation), "Threshold Cleared" up."""
    tracks = probe.ios_tracks
    if tracks is None:
        raise ValueError(f"probe {probe.number} has no IOS-XE tracks")
    class_name, over = probe.sla.name, probe.tunnel.id
    lines: list[str] = []
    for stub in tracks.stubs:
        lines += [
            f"event manager applet {stub.applet}-BREACH",
            f" description {class_name} {stub.dimension} over {over} breached: path out of rotation",
            f' event syslog pattern "{stub.breach_pattern}"',
            f" action 1.0 track set {stub.track} state down",
            f"event manager applet {stub.applet}-CLEAR",
            f" description {class_name} {stub.dimension} over {over} within the SLA again",
            f' event syslog pattern "{stub.clear_pattern}"',
            f" action 1.0 track set {stub.track} state up",
        ]
    return lines


def segment_marking(segments: Sequence[SegmentView]) -> list[str]:
    """Per segment, the trust boundary: an ACL and class-map per application marked apart (its
    ports), and the MARK-<SEG> input policy setting each one's DSCP, then the segment's class."""
    lines: list[str] = []
    for segment in segments:
        for mark in segment.marks:
            lines += [
                f"ip access-list extended {mark.acl.name}",
                *acl_lines(mark.acl.rules),
                "!",
                f"class-map match-any {mark.name}",
                f" match access-group name {mark.acl.name}",
                "!",
            ]
        lines.append(f"policy-map MARK-{segment.tag}")
        for mark in segment.marks:
            lines += [f" class {mark.name}", f"  set dscp {mark.qos.dscp_name}"]
        lines += [" class class-default", f"  set dscp {segment.qos.dscp_name}", "!"]
    return lines


def segment_interfaces(view: StoreApplianceView) -> list[str]:
    """Each segment's dot1Q sub-interface: its gateway address; guest Wi-Fi NAT inside with its
    breakout policy, a steered segment its STEER-<SEG> policy; its zone and MARK-<SEG> policy."""
    steered = {policy.segment.tag for policy in view.steering.segments} if view.steering is not None else set()
    lines: list[str] = []
    for segment in view.segments:
        lines += [
            f"interface {segment.ifname}",
            f" description {segment.description}",
            f" encapsulation dot1Q {segment.vlan}",
            f" ip address {segment.gateway.ip} {segment.gateway.netmask}",
        ]
        if segment.kind == "guest-wifi":
            lines.append(" ip nat inside")
            if view.breakout is not None:
                lines.append(" ip policy route-map GUEST-BREAKOUT")
        elif segment.tag in steered:
            lines.append(f" ip policy route-map STEER-{segment.tag}")
        lines += [f" zone-member security {segment.tag}", f" service-policy input MARK-{segment.tag}", "!"]
    return lines


def bgp_networks(view: StoreApplianceView) -> list[str]:
    """`network` statements of the IPv4 family: the announced prefixes, then the return signals
    and the "none" signal (they never leave the store: STORE-PREFIXES filters every neighbour)."""
    lines = [f"  network {prefix.address} mask {prefix.netmask}" for prefix in view.advertised]
    steering = view.steering
    if steering is not None and steering.return_signals:
        lines += [f"  network {signal.signal} mask 255.255.255.255" for signal in steering.return_signals]
        lines.append(f"  network {steering.return_none_signal} mask 255.255.255.255")
    return lines


def static_routes(view: StoreApplianceView) -> list[str]:
    """Null0 routes for the announced prefixes (distance 254) and the tracked signals; with a
    DHCP-addressed guest breakout, Null0 routes (distance 254) for the summaries the hubs announce
    (`hub_routes`: HQ, the clouds, the desktops); per transport its front-door VRF's default, or
    (the breakout link in the global table) each far end of its tunnels via its gateway.

    The DHCP client installs a default route via the lease's router at distance 254 in the
    interface's table (ipSpace.net, "DHCP response sets default route", a floating static
    route; the lease's router is also what the breakout's `... dhcp` host routes and guest
    policy route to, so the store keeps asking for it). A breakout in the global table puts that
    default beside the hubs' routes: while the hubs announce HQ, BGP's routes win;
    once every hub withdraws them (every tunnel down, or both hubs without the DC core), what the
    router sends to HQ from its loopback (syslog, NTP, DNS, TACACS+) followed that default out of
    the breakout port unencrypted, its own packets passing the self zone to the WAN zone, which
    has no pair. The discard routes, more specific than that default and less preferred than
    BGP's, keep it to the overlay or nowhere, as a static breakout's table (no default) does."""
    lines = [
        f"ip route {prefix.address} {prefix.netmask} Null0 254" for prefix in view.advertised if prefix.prefixlen < 32
    ]
    breakout = view.breakout
    if breakout is not None and not breakout.front_door_vrf and not breakout.static:
        lines += [f"ip route {net.address} {net.netmask} Null0 254" for net in _corporate_discards(view)]
    steering = view.steering
    if steering is not None and steering.return_signals:
        for signal in steering.return_signals:
            if signal.probe.ios_tracks is None:
                raise ValueError(f"probe {signal.probe.number} has no IOS-XE tracks")
            lines.append(f"ip route {signal.signal} 255.255.255.255 Null0 track {signal.probe.ios_tracks.steer}")
        lines.append(
            f"ip route {steering.return_none_signal} 255.255.255.255 Null0 track {steering.return_none_track}"
        )
    for link in view.wan:
        if link.front_door_vrf:
            if link.static:
                lines.append(f"ip route vrf {link.front_door_vrf} 0.0.0.0 0.0.0.0 {link.gateway}")
            continue
        via = link.gateway if link.static else f"{link.ifname} dhcp"
        far_ends = view.far_ends(link)
        lines += [f"ip route {destination} 255.255.255.255 {via}" for destination in far_ends]
    return lines


def _corporate_discards(view: StoreApplianceView) -> list[Net]:
    """What the router reaches only through its hubs: the summaries they announce (`hub_routes`),
    then each management range and server outside them (reached by the hubs' default)."""
    from storestack.devices.views.model import Net  # the views import the platforms

    summaries = [ipaddress.IPv4Network(net.cidr) for net in view.hub_routes]
    extra = [
        *(ipaddress.IPv4Network(net.cidr) for net in view.mgmt.ranges),
        *(
            ipaddress.IPv4Network(f"{server}/32")
            for server in (
                *view.mgmt.ntp_servers,
                *view.mgmt.syslog_servers,
                *view.mgmt.tacacs_servers,
                *view.mgmt.dns_forwarders,
            )
        ),
    ]
    outside = [net for net in dict.fromkeys(extra) if not any(net.subnet_of(summary) for summary in summaries)]
    return [*view.hub_routes, *(Net.of(net) for net in outside)]


def access_lists(view: StoreApplianceView) -> list[str]:
    """The store's own ACLs (CELLULAR-ALLOWED) and each steered application's APP-<NAME>."""
    acls = [*view.acls, *(application.acl for application in view.steering.applications)] if view.steering else view.acls
    lines: list[str] = []
    for acl in acls:
        lines += [f"ip access-list extended {acl.name}", *acl_lines(acl.rules), "!"]
    return lines


def security_zones(view: StoreApplianceView) -> list[str]:
    """The security zones: a segment each, OVERLAY, one per WAN port. They come before the
    interfaces: "A zone must be configured before interfaces can be assigned to the zone"
    (Zone-Based Policy Firewall Design and Application Guide, "Rules For Applying Zone-Based Policy
    Firewall"), so an interface's `zone-member security` naming a zone the
    router does not have yet (a first push, a new segment) is refused."""
    lines = [f"zone security {zone}" for zone in view.zones if zone != "INTERNET"]
    lines += [f"zone security {link.zone}" for link in view.wan]
    return [*lines, "!"]


def zone_firewall(view: StoreApplianceView) -> list[str]:
    """Per allowed flow, its ACL, inspect class and policy, and the zone pair (between the zones
    `security_zones` defines) in the direction it starts."""
    lines: list[str] = []
    for flow in view.flows:
        if flow.destination == "INTERNET":
            if view.breakout is None:
                raise ValueError(f"store {view.store_id}: flow {flow.name} to the internet without a breakout")
            destination = view.breakout.zone
        else:
            destination = flow.destination
        lines += [
            f"ip access-list extended {flow.name}",
            *acl_lines(flow.rules),
            "!",
            f"class-map type inspect match-any {flow.name}",
            f" match access-group name {flow.name}",
            "!",
            f"policy-map type inspect {flow.name}",
            f" class type inspect {flow.name}",
            "  inspect",
            " class class-default",
            "  drop log",
            "!",
            f"zone-pair security {flow.name} source {flow.source} destination {destination}",
            f" service-policy type inspect {flow.name}",
            "!",
        ]
    return lines


def sla_probes(probes: Sequence[ProbeView]) -> list[str]:
    """Every IP SLA operation of a store with its reactions, schedule, tracks and EEM applets
    (the SLA probes section of store.j2 says why each line is there):

        ip sla <number>
         <the operation line: sla_operation>
         tag <class>
         threshold <ms>
         timeout <ms>
         frequency <s>
         tos <ToS byte>                            (a marked class)
        ip sla reaction-configuration <number> react rtt threshold-value <ms> <ms> threshold-type immediate action-type trapOnly
        ip sla reaction-configuration <number> react <stub reaction> threshold-value <n> <n> ...   (per stub)
        ip sla schedule <number> life forever start-time now
        track <state> ip sla <number> state
        track <stub> stub-object / default-state up                                               (per stub)
        track <steer> list boolean and / object <state> / object <stub> ... / object <beacon>
                                                   (with stubs or a hub beacon: `beacon_tracks`)
         delay [down <s>] [up <s>]                 (on the last track, when the class holds down)
        <the stubs' EEM applets: sla_applets>
        !
    """
    lines: list[str] = []
    for probe in probes:
        timers, tracks, sla = probe.ios, probe.ios_tracks, probe.sla
        if timers is None or tracks is None:
            raise ValueError(f"probe {probe.number} has no IOS-XE timers and tracks")
        number, threshold, stubs = probe.number, timers.threshold_ms, tracks.stubs
        lines += [
            f"ip sla {number}",
            f" {sla_operation(probe)}",
            f" tag {sla.name}",
            f" threshold {threshold}",
            f" timeout {timers.timeout_ms}",
            f" frequency {timers.frequency_s}",
        ]
        if sla.tos:
            lines.append(f" tos {sla.tos}")
        react = "threshold-type immediate action-type trapOnly"
        lines.append(f"ip sla reaction-configuration {number} react rtt threshold-value {threshold} {threshold} {react}")
        lines += [
            f"ip sla reaction-configuration {number} react {stub.reaction} threshold-value {stub.threshold} {stub.threshold} {react}"
            for stub in stubs
        ]
        lines += [f"ip sla schedule {number} life forever start-time now", f"track {tracks.state} ip sla {number} state"]
        for stub in stubs:
            lines += [f"track {stub.track} stub-object", " default-state up"]
        if tracks.steer != tracks.state:
            lines += [f"track {tracks.steer} list boolean and", f" object {tracks.state}"]
            lines += [f" object {stub.track}" for stub in stubs]
            if tracks.beacon is not None:
                lines.append(f" object {tracks.beacon}")
        if timers.delay_down_s or timers.delay_up_s:
            down = f" down {timers.delay_down_s}" if timers.delay_down_s else ""
            up = f" up {timers.delay_up_s}" if timers.delay_up_s else ""
            lines.append(f" delay{down}{up}")
        lines += sla_applets(probe)
        lines.append("!")
    return lines


def beacon_tracks(steering: SteeringView) -> list[str]:
    """Per hub the store steers to that announces a beacon (`HubBeacon`): a track that is up
    while the routing table holds the beacon's host route ("Configuring Enhanced Object
    Tracking", Tracking IP-Route Reachability: `track object-number ip route ip-address/prefix-length
    reachability`, up while a routing table entry exists for the route; the running config
    spells the mask). They come above the steering lists that name them (`sla_probes`)."""
    lines = [
        f"track {beacon.track} ip route {beacon.address} 255.255.255.255 reachability" for beacon in steering.beacons
    ]
    return [*lines, "!"] if lines else []


def steering_route_maps(segments: Sequence[SegmentSteeringView]) -> list[str]:
    """Per segment, one route-map sequence per application class (numbered 10, 20, ...): its ACL
    and its paths' next hops (`next_hops`)."""
    lines: list[str] = []
    for policy in segments:
        for seq, app in enumerate(policy.applications, start=1):
            lines += [
                f"route-map {policy.policy} permit {10 * seq}",
                f" description {app.name} sla {app.sla.name}",
                f" match ip address {app.acl.name}",
                *next_hops(app.paths),
                "!",
            ]
    return lines


def return_signals(steering: SteeringView) -> list[str]:
    """The return path's conditions: the "none" track (every steering track down), the
    RETURN-ADVERTISE route-map, and per signal its exist-map and the prefix-list of its two
    signals (its own and "none")."""
    if not steering.return_signals:
        return []
    lines = [f"track {steering.return_none_track} list boolean and"]
    for signal in steering.return_signals:
        if signal.probe.ios_tracks is None:
            raise ValueError(f"probe {signal.probe.number} has no IOS-XE tracks")
        lines.append(f" object {signal.probe.ios_tracks.steer} not")
    lines += ["!", "route-map RETURN-ADVERTISE permit 10", " match ip address prefix-list STORE-PREFIXES", "!"]
    for signal in steering.return_signals:
        lines += [
            f"ip prefix-list {signal.exist_map} seq 5 permit {signal.signal}/32",
            f"ip prefix-list {signal.exist_map} seq 10 permit {steering.return_none_signal}/32",
            f"route-map {signal.exist_map} permit 10",
            f" match ip address prefix-list {signal.exist_map}",
            "!",
        ]
    return lines


def next_hops(paths: Sequence[ProbeView]) -> list[str]:
    """A steering route-map sequence's next hops, in the paths' order: each tunnel's far end
    while its probe's steering track is up."""
    lines: list[str] = []
    for position, probe in enumerate(paths, start=1):
        if probe.ios_tracks is None:
            raise ValueError(f"probe {probe.number} has no IOS-XE tracks")
        lines.append(
            f" set ip next-hop verify-availability {probe.tunnel.inside_peer} {position} track {probe.ios_tracks.steer}"
        )
    return lines


def hub_tunnel_interfaces(links: Sequence[WanLinkView]) -> list[str]:
    """The tunnel interface of every (transport, hub): its overlay address, MTU and MSS, the
    CELLULAR-ALLOWED filter on LTE/5G, no ICMP redirects, BFD where the hub runs it, in
    asynchronous mode only (`no bfd echo`: no hub loops a store's echo packets back, see
    common/platforms.py), the OVERLAY zone, and IPsec over its transport's front-door VRF."""
    lines: list[str] = []
    for link in links:
        for tunnel in link.tunnels:
            hub = tunnel.hub.hostname
            lines += [
                f"interface {tunnel.ifname}",
                f" description ipsec {tunnel.id} overlay to {hub} via {link.name} {tunnel.role}",
                f" ip address {tunnel.inside.ip} {tunnel.inside.netmask}",
                f" ip mtu {tunnel.mtu}",
                f" ip tcp adjust-mss {tunnel.tcp_mss}",
            ]
            if link.cellular:
                lines.append(" ip access-group CELLULAR-ALLOWED out")
            lines.append(" no ip redirects")
            if tunnel.peer_bfd:
                bfd = tunnel.bfd
                lines += [f" bfd interval {bfd.interval_ms} min_rx {bfd.interval_ms} multiplier {bfd.multiplier}", " no bfd echo"]
            lines += [
                " zone-member security OVERLAY",
                f" tunnel source {link.ifname}",
                " tunnel mode ipsec ipv4",
                f" tunnel destination {tunnel.peer_outside}",
            ]
            if link.front_door_vrf:
                lines.append(f" tunnel vrf {link.front_door_vrf}")
            lines += [f" tunnel protection ipsec profile HUB-{link.name}-{hub}", "!"]
    return lines


def bgp_neighbors(view: StoreApplianceView) -> list[str]:
    """`router bgp` lines of the hub tunnels' neighbours (BFD where the hub runs it)."""
    lines: list[str] = []
    timers = view.hub_timers
    for tunnel in view.tunnels:
        peer = f" neighbor {tunnel.inside_peer}"
        lines += [
            f"{peer} remote-as {tunnel.hub.asn}",
            f"{peer} description {neighbor_description(f'{tunnel.hub.hostname} via {tunnel.link} {tunnel.role}')}",
            f"{peer} timers {timers.keepalive} {timers.hold}",
        ]
        if tunnel.peer_bfd:
            lines.append(f"{peer} fall-over bfd")
    return lines


# A BGP neighbour's description takes up to 80 characters ("Cisco IOS in a Nutshell", 2nd ed.,
# `neighbor description`: "The text can be up to 80 characters"), where a hub names a store
# link's neighbour `<id> <link> <kind> <role>` (store ids and link names take up to 32 each) and a
# store its hub's `<hub> via <link> <role>`.
NEIGHBOR_DESCRIPTION_LIMIT = 80


def neighbor_description(text: str) -> str:
    """A BGP neighbour's description as IOS-XE takes it: cut to NEIGHBOR_DESCRIPTION_LIMIT (it
    names nothing, so its head is enough)."""
    return text[:NEIGHBOR_DESCRIPTION_LIMIT].rstrip()


def maximum_prefix(limit: PrefixLimit) -> str:
    """`maximum-prefix N restart M` of an IPv4 family neighbour or peer group (`PrefixLimit`):
    over N prefixes the router closes the session and opens it again after M minutes, where
    without `restart` it stays down until `clear ip bgp` ("BGP Restart Neighbor Session After
    Max-Prefix Limit Reached", IP Routing: BGP Configuration Guide, IOS XE 16.6; restart 1-65535
    minutes). The warning threshold stays at its default, 75 %."""
    return f"maximum-prefix {limit.maximum} restart {limit.restart_minutes}"


def bgp_neighbor_families(view: StoreApplianceView) -> list[str]:
    """IPv4 family lines of the hub tunnels' neighbours: activated, the route-maps of their path,
    the prefix limit (`maximum_prefix`) and the conditional advertisement of the SLA return
    signals where the tunnel has one."""
    exist_maps = view.steering.return_exist_maps if view.steering is not None else {}
    limit = view.hub_prefix_limit
    lines: list[str] = []
    for tunnel in view.tunnels:
        peer, path = f"  neighbor {tunnel.inside_peer}", f"{tunnel.link}-{tunnel.hub.hostname}"
        lines += [f"{peer} activate", f"{peer} route-map HUB-IN-{path} in", f"{peer} route-map HUB-OUT-{path} out"]
        if limit is not None:
            lines.append(f"{peer} {maximum_prefix(limit)}")
        exist_map = exist_maps.get(tunnel.id)
        if exist_map is not None:
            lines.append(f"{peer} advertise-map RETURN-ADVERTISE exist-map {exist_map}")
    return lines


def segment_to_self(segments: Sequence[SegmentView]) -> list[str]:
    """Per segment, what reaches the router itself (zone pair to `self`): DHCP, DNS at its
    gateway (not from guest Wi-Fi) and ping to its gateway; everything else is dropped."""
    lines: list[str] = []
    for segment in segments:
        name, net, gateway = f"{segment.tag}-TO-SELF", segment.net, segment.gateway.ip
        source = f"{net.address} {net.wildcard}"
        lines += [f"ip access-list extended {name}", " 10 permit udp any eq bootpc any eq bootps"]
        if segment.kind != "guest-wifi":
            lines += [
                f" 20 permit udp {source} host {gateway} eq domain",
                f" 30 permit tcp {source} host {gateway} eq domain",
            ]
        lines += [f" 40 permit icmp {source} host {gateway} echo", "!", *_pass_to_self(name, segment.tag)]
    return lines


def _pass_to_self(name: str, zone: str) -> list[str]:
    """The zone pair from `zone` to the router itself that passes what ACL `name` permits and
    drops the rest (the self zone takes `pass`, not `inspect`)."""
    return [
        f"class-map type inspect match-any {name}",
        f" match access-group name {name}",
        "!",
        f"policy-map type inspect {name}",
        f" class type inspect {name}",
        "  pass",
        " class class-default",
        "  drop log",
        "!",
        f"zone-pair security {name} source {zone} destination self",
        f" service-policy type inspect {name}",
        "!",
    ]


def wan_to_self(view: StoreApplianceView) -> list[str]:
    """Per WAN port, what reaches the router itself from it: IKE (500, NAT-T 4500) and ESP from
    that port's own tunnel peers (hubs, then AWS), DHCP replies where the port takes its address
    by DHCP, and the ICMP the router needs; nothing else."""
    lines: list[str] = []
    for link in view.wan:
        name = f"{link.zone}-TO-SELF"
        peers = [tunnel.peer_outside for tunnel in link.tunnels]
        peers += [tunnel.peer_outside for tunnel in view.aws_tunnels if tunnel.link == link.name]
        lines.append(f"ip access-list extended {name}")
        seq = 0
        for peer in dict.fromkeys(peers):
            seq += 30
            lines += [
                f" {seq - 20} permit udp host {peer} any eq isakmp",
                f" {seq - 10} permit udp host {peer} any eq non500-isakmp",
                f" {seq} permit esp host {peer} any",
            ]
        if not link.static:
            seq += 10
            lines.append(f" {seq} permit udp any eq bootps any eq bootpc")
        lines += [
            f" {seq + 10} permit icmp any any echo",
            f" {seq + 20} permit icmp any any echo-reply",
            f" {seq + 30} permit icmp any any unreachable",
            f" {seq + 40} permit icmp any any time-exceeded",
            "!",
            *_pass_to_self(name, link.zone),
        ]
    return lines


# Control plane policing of the echo requests a store answers from the internet ("Control Plane
# Policing", QoS: Policing and Shaping Configuration Guide, Cisco IOS XE: a QoS policy on the
# `control-plane` with `service-policy input`; `police cir bps bc burst-normal conform-action
# transmit exceed-action drop`, bps from 8000 in steps of 8000, burst from 1000 bytes). Written with
# its `cir` and `bc` keywords, the form IOS-XE shows it in: one line, `police cir 2565 bc 4234
# conform-action transmit  exceed-action drop` in `show run policy-map` (genieparser's IOS-XE
# ShowRunPolicyMap and its golden output; the extra blanks are no difference to the diff). The
# push engine compares this line with the running config, so a form the router rewrites on entry
# would be sent again by every push. The policer counts
# bytes, so the intent's requests a second are budgeted at this many bytes each (IOS and Windows
# pings are 100 and 60 bytes, Linux's 84; a bigger ping gets proportionally fewer answers).
IOS_COPP_POLICY = "COPP-IN"
IOS_COPP_WAN_ECHO = "COPP-WAN-ECHO"
IOS_ECHO_BUDGET_BYTES = 100
IOS_POLICE_STEP_BPS = 8000
IOS_POLICE_MIN_BURST_BYTES = 1000


def echo_police(pps: int) -> str:
    """The `police` line that holds echo requests to about `pps` a second (twice that in a burst)."""
    bps = max(1, math.ceil(pps * IOS_ECHO_BUDGET_BYTES * 8 / IOS_POLICE_STEP_BPS)) * IOS_POLICE_STEP_BPS
    burst = max(IOS_POLICE_MIN_BURST_BYTES, 2 * pps * IOS_ECHO_BUDGET_BYTES)
    return f"police cir {bps} bc {burst} conform-action transmit exceed-action drop"


def wan_echo_policing(view: StoreApplianceView) -> list[str]:
    """The control-plane policy that holds the echo requests the router answers from the internet
    to the intent's `icmp_requests_pps` (for the whole WAN side: control plane policing polices a
    class in aggregate, and IOS-XE documents no per-sender limit). The class takes every echo
    request addressed to the router except those to its addresses the LAN and the overlay reach
    (loopback, segment gateways, tunnel inside addresses), whose pings (HQ monitoring, a hub's,
    a till's) keep their answers however hard the internet pings the WAN ports. The router's own
    probes (IP SLA icmp-echo, icmp-jitter) get echo and timestamp replies, which no class takes;
    BGP, BFD and IKE are no echo requests either."""
    own = [str(view.intent.management.loopback)]
    own += [str(segment.gateway.ip) for segment in view.segments]
    own += [str(tunnel.inside.ip) for tunnel in view.tunnels]
    own += [str(tunnel.inside.ip) for tunnel in view.aws_tunnels]
    rules = [f"deny icmp any host {address} echo" for address in dict.fromkeys(own)]
    rules.append("permit icmp any any echo")
    return [
        f"ip access-list extended {IOS_COPP_WAN_ECHO}",
        *sequenced(rules),
        "!",
        f"class-map match-all {IOS_COPP_WAN_ECHO}",
        f" match access-group name {IOS_COPP_WAN_ECHO}",
        "!",
        f"policy-map {IOS_COPP_POLICY}",
        f" class {IOS_COPP_WAN_ECHO}",
        f"  {echo_police(view.intent.management.icmp_requests_pps)}",
        "!",
        "control-plane",
        f" service-policy input {IOS_COPP_POLICY}",
        "!",
    ]


def dhcp_lease(seconds: int) -> str:
    """A DHCP pool's `lease DAYS [HOURS [MINUTES]]`, in whole minutes."""
    days, hours, minutes = days_hours_minutes(seconds)
    parts = [days, hours, minutes] if minutes else [days, hours] if hours else [days]
    return "lease " + " ".join(str(part) for part in parts)


def dhcp_pools(view: StoreApplianceView) -> list[str]:
    """The router's DHCP server: per segment its gateway .. reserved end kept out of the scope,
    then one pool (with the segment's lease where the intent sets one: guest Wi-Fi)."""
    lines = [f"ip dhcp excluded-address {s.gateway.ip} {s.dhcp_reserved_end}" for s in view.segments]
    lines.append("!")
    for segment in view.segments:
        lines += [
            f"ip dhcp pool {segment.tag}",
            f" network {segment.net.address} {segment.net.netmask}",
            f" default-router {segment.gateway.ip}",
            f" dns-server {' '.join(segment.dns_servers)}",
            *([f" domain-name {segment.dhcp_domain}"] if segment.dhcp_domain else []),
            *([f" {dhcp_lease(segment.dhcp_lease_seconds)}"] if segment.dhcp_lease_seconds is not None else []),
            "!",
        ]
    return lines


def hub_crypto(wan: Sequence[WanLinkView], secret: Callable[[Secret], str]) -> list[str]:
    """Per hub tunnel (links in order, each link's tunnels in order), named HUB-<link>-<hub>:
    its IKEv2 keyring (the PSK spelled by `secret`, the render mode's filter), its IKEv2 profile
    (in the link's front-door VRF, if any) and its IPsec profile, with the fleet's lifetimes."""
    lines: list[str] = []
    for link in wan:
        fvrf = [f" match fvrf {link.front_door_vrf}"] if link.front_door_vrf else []
        for tunnel in link.tunnels:
            name = f"HUB-{link.name}-{tunnel.hub.hostname}"
            lines += [
                f"crypto ikev2 keyring {name}",
                f" peer {tunnel.hub.hostname}",
                f"  address {tunnel.peer_outside}",
                f"  identity fqdn {tunnel.peer_ike_id}",
                f"  pre-shared-key {secret(tunnel.psk)}",
                "!",
                f"crypto ikev2 profile {name}",
                *fvrf,
                f" match identity remote fqdn {tunnel.peer_ike_id}",
                f" identity local fqdn {tunnel.ike_id}",
                " authentication remote pre-share",
                " authentication local pre-share",
                f" keyring local {name}",
                f" lifetime {FLEET_CRYPTO.ike_lifetime_seconds}",
                f" {ike_dpd(None, 'periodic')}",
                "!",
                f"crypto ipsec profile {name}",
                " set transform-set STORESTACK",
                " set pfs group20",
                f" set security-association lifetime seconds {FLEET_CRYPTO.esp_lifetime_seconds}",
                f" set ikev2-profile {name}",
                "!",
            ]
    return lines


# A store's HUB-ROUTES prefix list, each entry numbered by what it is: the default route 5, the
# summaries a store accepts from its hubs from 10 (`hub_routes`, fleet-wide ranges), each hub's
# loopback at HUB_ROUTES_LOOPBACKS + 5 * its slot and its beacon at HUB_ROUTES_BEACONS + 5 * its
# slot (`HubRef.slot`, `Fleet.hub_slot`, which IPAM pins in the lock). Every entry is an exact
# permit, so their order matches nothing differently. Numbered by the hubs' place in the store's
# tunnels, a store whose backup became its home hub (a hub removed, its stores moved to their
# backup) had the kept hub's loopback and beacon deleted and added again by its push.
HUB_ROUTES_LOOPBACKS = 1000
HUB_ROUTES_BEACONS = 2000


def hub_route_prefixes(view: StoreApplianceView) -> list[str]:
    """`ip prefix-list HUB-ROUTES` (see HUB_ROUTES_LOOPBACKS), once per hub; refused (RenderError)
    where the summaries would reach the hubs' entries."""
    if 5 * (1 + len(view.hub_routes)) >= HUB_ROUTES_LOOPBACKS:
        raise RenderError(f"{view.hostname}: HUB-ROUTES has {len(view.hub_routes)} summaries, more than its numbering holds")
    hubs = {tunnel.hub.hostname.lower(): tunnel.hub for tunnel in view.tunnels}
    numbered = [(5, "0.0.0.0/0"), *((5 * index, net.cidr) for index, net in enumerate(view.hub_routes, start=2))]
    numbered += [(HUB_ROUTES_LOOPBACKS + 5 * hub.slot, f"{hub.loopback}/32") for hub in hubs.values()]
    numbered += [(HUB_ROUTES_BEACONS + 5 * hub.slot, f"{hub.beacon}/32") for hub in hubs.values() if hub.beacon is not None]
    return [f"ip prefix-list HUB-ROUTES seq {number} permit {entry}" for number, entry in sorted(numbered)]


def hub_route_maps(tunnels: Sequence[TunnelView]) -> list[str]:
    """Per hub tunnel: what it accepts (HUB-ROUTES, at the path's local preference) and what it
    announces (the store's prefixes, prepended on the less preferred paths)."""
    lines: list[str] = []
    for tunnel in tunnels:
        path = f"{tunnel.link}-{tunnel.hub.hostname}"
        lines += [
            f"route-map HUB-IN-{path} permit 10",
            " match ip address prefix-list HUB-ROUTES",
            f" set local-preference {tunnel.local_pref}",
            "!",
            f"route-map HUB-OUT-{path} permit 10",
            " match ip address prefix-list STORE-PREFIXES",
        ]
        if tunnel.prepend:
            lines.append(f" set as-path prepend {tunnel.prepend_path}")
        lines.append("!")
    return lines


def overlay_to_self(view: StoreApplianceView) -> list[str]:
    """The OVERLAY-TO-SELF ACL's rules after their sequence numbers, duplicates dropped (first
    kept): what reaches the router itself from the overlay (`pass`, stateless). BGP sessions its
    tunnel neighbours open and BFD control from them (BFD only where the hub runs it; no echo
    packets: `no bfd echo` on every tunnel), SSH and SNMP from the HQ management ranges, ping and
    the ICMP errors and replies the router needs. No TCP or UDP entry names a source port: the
    answers of what the router itself asks into the overlay (BGP to its neighbours, TACACS+, DNS
    over UDP and TCP, NTP, the IP SLA udp-jitter control and test packets) come back through the
    inspection of SELF-TO-OVERLAY (`self_to_overlay`), so nobody in the overlay reaches another
    port of the router (SNMP included) by sending from port 179, 49, 53, 123, 1967 or a probe's
    test port. BFD control stays stateless: it is no request and answer, each end sends to the
    other's port 3784 on its own."""
    rules: list[str] = []
    for tunnel in view.tunnels:
        peer, own = tunnel.inside_peer, tunnel.inside.ip
        rules.append(f"permit tcp host {peer} host {own} eq bgp")
        if tunnel.peer_bfd:
            rules.append(f"permit udp host {peer} host {own} eq 3784")
    for aws in view.aws_tunnels:
        rules.append(f"permit tcp host {aws.inside_peer} host {aws.inside.ip} eq bgp")
    for net in view.mgmt.ranges:
        source = f"host {net.address}" if net.prefixlen == 32 else f"{net.address} {net.wildcard}"
        rules += [f"permit tcp {source} any eq 22", f"permit udp {source} any eq snmp"]
    rules += [
        "permit icmp any any echo",
        "permit icmp any any echo-reply",
        "permit icmp any any unreachable",
        "permit icmp any any time-exceeded",
    ]
    probes = view.steering.probes if view.steering is not None else []
    if any(probe.ios is not None and probe.ios.kind == "icmp-jitter" for probe in probes):
        rules.append("permit icmp any any timestamp-reply")
    return list(dict.fromkeys(rules))


def self_to_overlay(view: StoreApplianceView) -> list[str]:
    """The SELF-TO-OVERLAY ACL's rules after their sequence numbers, duplicates dropped: what the
    router itself asks into the overlay, which its zone pair from the self zone inspects so that
    the answers come back statefully (a session's answers bypass the reverse pair's policy; the
    self zone inspects TCP and UDP the router originates or terminates, Cisco Security Manager
    User Guide, "The Self Zone"; a UDP answer passes when it comes within the UDP idle time after
    the last request sent, "ip inspect udp idle-time"). BGP to each tunnel and AWS neighbour;
    each udp-jitter probe's control message to the hub's responder (port 1967, on which the
    responder opens the probe's test port) and its test packets (the class's port), both from
    the probe's source address: each is a request the responder answers at once, and an answer
    later than the operation's timeout (at most 10 s) no longer counts anyway, whatever the
    probe's frequency; TACACS+, DNS over UDP and TCP and NTP to the HQ servers. Everything else
    the router sends into the overlay passes (class-default), as it did without a pair from the
    self zone."""
    rules = [f"permit tcp host {t.inside.ip} host {t.inside_peer} eq bgp" for t in view.tunnels]
    rules += [f"permit tcp host {t.inside.ip} host {t.inside_peer} eq bgp" for t in view.aws_tunnels]
    probes = view.steering.probes if view.steering is not None else []
    for probe in probes:
        if probe.ios is not None and probe.ios.kind == "udp-jitter":
            own, peer = probe.tunnel.inside.ip, probe.tunnel.inside_peer
            rules += [
                f"permit udp host {own} host {peer} eq {IOS_SLA_CONTROL_PORT}",
                f"permit udp host {own} host {peer} eq {probe.udp_port}",
            ]
    rules += [f"permit tcp any host {server} eq tacacs" for server in view.mgmt.tacacs_servers]
    for server in view.mgmt.dns_forwarders:
        rules += [f"permit udp any host {server} eq domain", f"permit tcp any host {server} eq domain"]
    rules += [f"permit udp any host {server} eq ntp" for server in view.mgmt.ntp_servers]
    return list(dict.fromkeys(rules))


# The routers' own control traffic, the network-control DSCPs (network/model.py
# NETWORK_CONTROL_DSCPS: BGP, BFD; inside the tunnels, copied into the ESP header), in a class of
# its own in every queue policy, guaranteed the fleet's share (inventory/models.py
# NETWORK_CONTROL_PERCENT, which says why): BGP gets no PAK_priority, so without it the
# keepalives queued in class-default with the bulk their tunnel carries (one ESP flow to
# `fair-queue`) and a busy link dropped the sessions. Not a `QOS-` name, which the inventory's
# classes take. One `match dscp` line lists both (any matches), as DC-TRUST's does.
CONTROL_CLASS = "NETWORK-CONTROL"


def qos_class_maps(qos: Sequence[QosClassView]) -> list[str]:
    """The intent's QoS classes, one class-map per DSCP (`QOS-<tag>`; best effort is
    class-default), and the routers' own control traffic's (`CONTROL_CLASS`)."""
    lines = [line for cls in qos if not cls.best_effort for line in (f"class-map match-any QOS-{cls.tag}", f" match dscp {cls.dscp_name}")]
    control = " ".join(name for name, _ in NETWORK_CONTROL_DSCPS)
    return [*lines, f"class-map match-any {CONTROL_CLASS}", f" match dscp {control}", "!"]


def queue_policies(
    name: str, qos: Sequence[QosClassView], shape_kbps: int, parent_class: str = "class-default"
) -> list[str]:
    """A link's queues, `QUEUE-<name>` under the parent shaper `SHAPE-<name>`: the priority class
    held to its share (an implicit policer under congestion), the others guaranteed theirs, a
    shaped class capped at its share, the routers' own control traffic guaranteed its share
    (`CONTROL_CLASS`, after the fleet's: the classes' DSCPs are disjoint, so their order decides
    nothing, and the diff compares a policy's classes in any order), the rest fair-queued; the
    parent shapes to `shape_kbps` (the intent's shaped rate of the link) in `parent_class` (a
    hub's: only its tunnels' packets) so the queues build here. Every share is of `shape_kbps`:
    `priority percent` and `bandwidth percent` are of the parent shaper's rate, and the shaped
    class's `shape average` is computed from it."""
    from storestack.devices.views.model import shaped_kbps  # the views import the platforms

    lines = [f"policy-map QUEUE-{name}"]
    for cls in qos:
        if cls.best_effort:
            continue
        lines.append(f" class QOS-{cls.tag}")
        if cls.priority:
            lines.append(f"  priority percent {cls.bandwidth_percent}")
        elif cls.bandwidth_percent:
            lines.append(f"  bandwidth percent {cls.bandwidth_percent}")
        if cls.shape_percent:
            lines.append(f"  shape average {min(shape_kbps, shaped_kbps(shape_kbps, cls.shape_percent)) * 1000}")
    lines += [f" class {CONTROL_CLASS}", f"  bandwidth percent {NETWORK_CONTROL_PERCENT}"]
    lines += [" class class-default", "  fair-queue", "!"]
    lines += [f"policy-map SHAPE-{name}", f" class {parent_class}", f"  shape average {shape_kbps * 1000}"]
    lines += [f"   service-policy QUEUE-{name}", "!"]
    return lines


# The hub's QoS trust boundary on its DC core LAN port (network.model.DcTrust), as IOS-XE's MQC
# spells a re-mark (QoS Packet Marking, QoS Modular QoS CLI Configuration Guide, Cisco IOS XE
# 17, https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/qos/b-quality-of-service/m_qos-mrkg.html;
# "Applying QoS Features Using the MQC", IOS XE QoS configuration guide: class-map, policy-map,
# `service-policy input`): a match-all class of the network-control DSCPs among what the hub
# forwards, re-marked to default by an input policy on the port. One `match dscp` line takes a
# list of up to eight values, separated by spaces, any of which matches (Cisco IOS software
# configuration guide, Configuring QoS, "ip dscp dscp-list"; IOS XR's MQC guide says the same:
# "Up to eight values ... per match statement"); `default` and `csN` are IOS's DSCP keywords.
# What is addressed to the hub keeps its mark: the route processor's input queue lets packets of
# precedence 6 (BGP) past its normal limit (Selective Packet Discard, QoS Modular QoS CLI
# Configuration Guide, Cisco IOS XE 17,
# https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/qos/b-quality-of-service/m_ip6-spd-xe.html).
DC_TRUST_POLICY = "DC-TRUST"
DC_TRUST_CLASS = "DC-NETWORK-CONTROL"
DC_TRANSIT_ACL = "DC-TRANSIT"


def hub_infrastructure(view: HubView) -> list[AclRule]:
    """The infrastructure ACL of the DC core LAN (HUB-INFRASTRUCTURE), where the DC edge delivers
    the stores' and clouds' IKE and ESP, first match wins: nothing claiming to come from the
    overlay or the hub itself; addresses the hub owns take only IKE and ESP (on the public
    endpoint, from anywhere), BGP from the core routers and the other hubs, BFD from the other
    hubs, SSH, SNMP and ping from the management ranges, the answers to what the hub itself asks (TACACS+ and NTP, from
    its loopback; no DNS: a hub resolves no names, network/model.py HubIntent.management) and the
    ICMP errors path MTU discovery and traceroute need. An answer entry by TCP source port (BGP
    sessions the hub opens, TACACS+) is `established` (ACK or RST set), so a sender on port 179
    or 49 opens no connection to another port of the hub; one by UDP source port (NTP) names the
    one port it answers, so its sender reaches no other port. Transit (HQ, the DC and the
    internet towards the stores and the clouds behind the hub's tunnels) passes, but not to the
    overlay pool or the cloud tunnels' inside /30s: the hub does not firewall transit, the stores
    do."""
    from storestack.devices.views.model import AclRule, Net  # the views import the platforms

    def host(address: str) -> Net:
        return Net.at(int(ipaddress.IPv4Address(address)), 32)

    loopback, public, dc = host(view.loopback.ip), host(view.public_address), host(view.dc.address.ip)
    own = [loopback, public, dc]
    rules = [AclRule("deny", "ip", view.overlay_pool), *(AclRule("deny", "ip", address) for address in own)]
    rules += [
        AclRule("permit", "udp", None, public, 500),
        AclRule("permit", "udp", None, public, 4500),
        AclRule("permit", "esp", None, public),
    ]
    for peer in [*(hub.dc_address for hub in view.hub_neighbors), *view.dc.routers]:
        rules += [
            AclRule("permit", "tcp", host(peer), dc, 179),
            AclRule("permit", "tcp", host(peer), dc, source_port=179, established=True),
        ]
    # BFD control (single-hop, UDP 3784) from the other hubs, whose sessions run BFD (`dc_bfd_peers`).
    rules += [AclRule("permit", "udp", host(peer), dc, 3784) for peer in view.dc_bfd_peers]
    for net in view.mgmt.ranges:
        rules += [AclRule("permit", "tcp", net, loopback, 22), AclRule("permit", "udp", net, loopback, 161)]
        rules += [AclRule("permit", "icmp", net, address, icmp_type="echo") for address in own]
    rules += [
        AclRule("permit", "tcp", host(server), loopback, source_port=49, established=True)
        for server in view.mgmt.tacacs_servers
    ]
    rules += [
        AclRule("permit", "udp", host(server), loopback, 123, source_port=123) for server in view.mgmt.ntp_servers
    ]
    rules += [
        AclRule("permit", "icmp", None, address, icmp_type=kind)
        for address in own
        for kind in ("echo-reply", "unreachable", "time-exceeded")
    ]
    rules += [AclRule("deny", "ip", None, address) for address in own]
    rules.append(AclRule("deny", "ip", None, view.overlay_pool))
    rules += [
        AclRule("deny", "ip", None, tunnel.inside.network) for tunnel in view.cloud_tunnels if tunnel.inside
    ]
    rules.append(AclRule("permit", "ip"))
    return rules


def dc_trust_policy(view: HubView) -> list[str]:
    """The lines of the hub's DC-port trust boundary, or none where the intent has none: the
    `DC-TRANSIT` ACL (whatever is not addressed to the hub itself: its BGP with the DC core
    routers and the other hubs keeps its CS6, which the route processor's input queue favours,
    selective packet discard; the stores' IKE and ESP to the public endpoint are not forwarded
    as they are), the match-all class of the network-control DSCPs in it (one `match dscp` with
    several values matches any of them), and the `DC-TRUST` policy that sets them to default. The
    port's ` service-policy input DC-TRUST` goes on the interface."""
    trust = view.intent.dc_trust
    if trust is None:
        return []
    own = [view.loopback.ip, view.public_address, view.dc.address.ip]
    rules = [f"deny ip any host {address}" for address in own] + ["permit ip any any"]
    return [
        f"ip access-list extended {DC_TRANSIT_ACL}",
        *(f" {number * 10} {rule}" for number, rule in enumerate(rules, start=1)),
        "!",
        f"class-map match-all {DC_TRUST_CLASS}",
        f" match access-group name {DC_TRANSIT_ACL}",
        f" match dscp {' '.join(trust.remarked_names)}",
        "!",
        f"policy-map {DC_TRUST_POLICY}",
        f" class {DC_TRUST_CLASS}",
        f"  set dscp {trust.to}",
        "!",
    ]


PLATFORM = CiscoXEPlatform(
    name="cisco_xe",
    comment="!",
    loopback="Loopback0",
    lan_trunk="GigabitEthernet0/1/0",
    port_description=(r"interface (?P<port>GigabitEthernet0/0/\d+)", r"description (?P<link>\S+)(?: .*)?"),
    ifname_limit=64,
    driver=DRIVER,
    hier_driver=HConfigDriverCiscoXE,
    emulated=True,
    sla_steering="ip-sla-tracks",
    answers_ios_probe="udp-jitter",
    hub_filter_rules=True,
    hub_shared_store_filter=True,
    hub_retired_store_filters=True,
    # Type 3 (every code: fragmentation needed, port unreachable) and type 11, as
    # HUB-INFRASTRUCTURE names them (Cisco IOS "access-list (IP extended)", `icmp-message`).
    icmp_errors=("unreachable", "time-exceeded"),
    # Configuration Rollback Confirmed Change: the timer counts minutes (1-120) and rolls back to
    # an archived copy of the running config, so the archive needs a path.
    commit_confirm=CommitConfirm(
        unit_seconds=60,
        minimum=1,
        maximum=120,
        requires=r"^archive[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+path \S+",
        arm=("configure terminal revert timer {timer}",),
        arm_enters_config=True,
        confirm=("configure confirm",),
        abort=("configure revert now",),
    ),
    # The SA lifetimes every IKEv2 and IPsec profile states: the fleet policy's, which the far
    # end (a hub, a store or AWS) is configured from too (lint `cisco-ipsec-lifetime`).
    template_values=(
        ("ike_lifetime_seconds", FLEET_CRYPTO.ike_lifetime_seconds),
        ("esp_lifetime_seconds", FLEET_CRYPTO.esp_lifetime_seconds),
    ),
    secret_template_filters=(("ios_hub_crypto", hub_crypto),),
    template_filters=(
        ("ios_ike_dpd", ike_dpd),
        ("ios_acl_rule", acl_rule),
        ("ios_acl_lines", acl_lines),
        ("ios_sequenced", sequenced),
        ("ios_hub_stores_prefixes", hub_stores_prefixes),
        ("ios_to_stores_prefixes", to_stores_prefixes),
        ("ios_hub_route_prefixes", hub_route_prefixes),
        ("ios_overlay_to_self", overlay_to_self),
        ("ios_self_to_overlay", self_to_overlay),
        ("ios_sla_probes", sla_probes),
        ("ios_beacon_tracks", beacon_tracks),
        ("ios_segment_marking", segment_marking),
        ("ios_segment_interfaces", segment_interfaces),
        ("ios_bgp_networks", bgp_networks),
        ("ios_static_routes", static_routes),
        ("ios_access_lists", access_lists),
        ("ios_security_zones", security_zones),
        ("ios_zone_firewall", zone_firewall),
        ("ios_steering_route_maps", steering_route_maps),
        ("ios_return_signals", return_signals),
        ("ios_hub_tunnel_interfaces", hub_tunnel_interfaces),
        ("ios_bgp_neighbors", bgp_neighbors),
        ("ios_bgp_neighbor_families", bgp_neighbor_families),
        ("ios_maximum_prefix", maximum_prefix),
        ("ios_neighbor_description", neighbor_description),
        ("ios_segment_to_self", segment_to_self),
        ("ios_wan_to_self", wan_to_self),
        ("ios_wan_echo_policing", wan_echo_policing),
        ("ios_dhcp_pools", dhcp_pools),
        ("ios_hub_route_maps", hub_route_maps),
        ("ios_ntp_key_type", ntp_key_type),
        ("ios_snmp_user_protocols", snmp_user_protocols),
        ("ios_type9", type9_secret),
        ("ios_qos_class_maps", qos_class_maps),
        ("ios_queue_policies", queue_policies),
        ("ios_dc_trust", dc_trust_policy),
        ("ios_hub_infrastructure", hub_infrastructure),
    ),
)
