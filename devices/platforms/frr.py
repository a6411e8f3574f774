"""FRR on a Linux host (the reference platform, and the one the lab runs for real): naming,
session driver, hier_config options and the host's companion files."""

from __future__ import annotations

from hier_config.models import IdempotentCommandsRule, MatchRule, NegationDefaultWithRule, OrderingRule
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverRules

from storestack.common.platforms import LINUX_IFNAME_MAX
from storestack.devices import frr_confirm
from storestack.devices.platforms.base import (
    CommitConfirm,
    CompanionDelivery,
    PlatformDriver,
    PlatformProfile,
    PolicyRefresh,
    PrefixLists,
    RemovedWhole,
)
from storestack.devices.platforms.cisco_xe import IOS_SECRET_PATTERNS


def _neighbor_attribute(attribute: str) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(
        match_rules=(MatchRule(startswith="router bgp "), MatchRule(re_search=rf"^neighbor (\S+) ({attribute}) "))
    )


class HConfigDriverFRR(HConfigDriverCiscoIOS):
    """FRR's vtysh speaks IOS, with a few commands whose last value wins where IOS would stack.

    Idempotent here means: the new line replaces the old one on FRR, so the remediation must
    not negate the old line first. That matters: `no neighbor X remote-as A` would delete the
    neighbor with all its settings, where `neighbor X remote-as B` just changes it.
    """

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        # An FRR interface carries any number of addresses; a new one does not replace the old.
        kept = [
            rule
            for rule in rules.idempotent_commands
            if not (
                len(rule.match_rules) == 2
                and rule.match_rules[0].startswith == "interface "
                and rule.match_rules[1].startswith == "ip address "
            )
        ]
        added = [
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="hostname "),)),
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="router bgp "), MatchRule(startswith="bgp router-id "))),
            _neighbor_attribute("remote-as"),
            _neighbor_attribute("description"),
            _neighbor_attribute("password"),
            _neighbor_attribute("update-source"),
            _neighbor_attribute("ebgp-multihop"),
            # `timers K H` and `timers connect N` are two settings: one rule for each, else a
            # dropped connect timer would never be negated (`no neighbor X timers connect N`).
            _neighbor_attribute("timers(?! connect )"),
            _neighbor_attribute("timers connect"),
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="router bgp "),
                    MatchRule(startswith="address-family "),
                    MatchRule(re_search=r"^neighbor (\S+) (route-map|prefix-list) \S+ (in|out)$"),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(MatchRule(re_search=r"^ip prefix-list (\S+) seq (\d+) "),)
            ),
            # A route-map entry holds one value per match/set kind.
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="route-map "),
                    MatchRule(re_search=r"^(match (?:ip address|ipv6 address|community|as-path)(?: prefix-list)?) "),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="route-map "),
                    MatchRule(re_search=r"^(set (?:local-preference|metric|weight|as-path prepend|community|origin)) "),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith="bandwidth ")),
            ),
        ]
        # vtysh rejects the value in these negations ("no description KPN" is an unknown command).
        negations = [
            NegationDefaultWithRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith="description ")),
                use="no description",
            ),
            NegationDefaultWithRule(
                match_rules=(MatchRule(startswith="route-map "), MatchRule(startswith="description ")),
                use="no description",
            ),
            NegationDefaultWithRule(
                match_rules=(MatchRule(startswith="route-map "), MatchRule(startswith="set as-path prepend ")),
                use="no set as-path prepend",
            ),
        ]
        # Deleting a neighbour (`no neighbor X remote-as`) deletes all its settings; negating
        # any of them afterwards fails ("Specify remote-as or peer-group commands first"). So it
        # goes last in its section, after the address families (weight 0) have been cleaned.
        ordering = [
            OrderingRule(
                match_rules=(MatchRule(startswith="router bgp "), MatchRule(re_search=r"^no neighbor \S+ remote-as ")),
                weight=100,
            ),
            # A BGP policy object a change adds or edits (route-map, prefix list, community or
            # AS-path list) goes in before anything that binds it: bgpd binds `neighbor ...
            # route-map` to a route-map that exists at once, but to one defined after it only
            # when its route-map delay timer runs out, denying everything until then
            # (BGP_POLICY_APPLIED). Their deletions (`no ...`, which hier_config puts ahead of
            # the additions anyway) move with them, still first: an entry replaced by one of
            # the same sequence number is deleted before the new one goes in, never after it.
            *(
                OrderingRule(match_rules=(MatchRule(re_search=form),), weight=-20)
                for pattern in BGP_POLICY_APPLIED.objects
                for form in (f"^no {pattern.removeprefix('^')}", pattern)
            ),
        ]
        return rules.model_copy(
            update={
                "idempotent_commands": kept + added,
                "negate_with": [*rules.negate_with, *negations],
                "ordering": [*rules.ordering, *ordering],
            }
        )


class FrrPlatform(PlatformProfile):
    """Linux interface names: WAN links keep their inventory names; each hub tunnel is an XFRM
    interface whose if_id is the tunnel's number (templates/devices/frr)."""

    def store_tunnel(self, link_index: int, link_name: str, number: int, hub: str) -> str:
        return f"xfrm{number}"


# bgpd applies a changed route-map, prefix list or community list to the routes its sessions hold
# itself, but only when `bgp route-map delay-timer` runs out (default 5 s; "Time in secs to wait
# before processing route-map changes", bgpd/bgp_vty.c), a timer each change starts (FRR 8.x
# restarts it: bgp_routemap.c `bgp_route_map_mark_update`); a `neighbor ... route-map` bound
# before its route-map exists (FRR prints route-maps after `router bgp`) denies everything until
# then too (bgp_route.c `bgp_input_modifier`), while one bound to an existing route-map takes it
# at once (bgp_vty.c `peer_route_map_set_vty`): the push sends the objects first (the ordering
# rule above). A push's checks and confirm read what a session it holds did: they wait for it,
# and a second for the route refresh the timer sends each peer (a WAN round trip) and the RIB
# install.
BGP_POLICY_APPLIED = PolicyRefresh(
    applied_after_s=6.0,
    objects=(
        r"^route-map (?P<name>\S+) (?:permit|deny)\b",
        r"^ip prefix-list (?P<name>\S+) ",
        r"^bgp community-list (?:standard |expanded )?(?P<name>\S+) ",
        r"^bgp as-path access-list (?P<name>\S+) ",
    ),
    sessions=r"^router bgp \d+ / neighbor (?P<neighbor>\d+\.\d+\.\d+\.\d+) remote-as ",
    bindings=(
        r"^router bgp \d+ / address-family ipv4(?: unicast)? / neighbor (?P<neighbor>\S+) "
        r"(?:route-map|prefix-list|filter-list) (?P<policy>\S+) (?:in|out)$",
        r"^router bgp \d+ / address-family ipv4(?: unicast)? / neighbor (?P<neighbor>\S+) "
        r"default-originate route-map (?P<policy>\S+)$",
    ),
    members=r"^router bgp \d+ / neighbor (?P<neighbor>\S+) peer-group (?P<group>\S+)$",
)

# A BGP neighbour goes whole, with every setting it holds in `router bgp` and its address
# families, with the line that made it or with its peer group: FRR 8.4's bgpd deletes the peer
# (`peer_delete`) for `no neighbor X remote-as N` (bgpd/bgp_vty.c `no_neighbor`), for `no neighbor
# X peer-group G`, which leaves no member unbound (`no_neighbor_set_peer_group`), and for each
# member of a group `no neighbor G peer-group` deletes (bgpd.c `peer_group_delete`); tags
# frr-8.4.4 and debian/frr-8.4.4-1, Debian 12's. A later `no neighbor X ...` is refused ("% Specify
# remote-as or peer-group commands first", bgp_vty.c `peer_and_group_lookup_vty`), and a
# neighbour that stays, bound to another group (a store link whose BFD profile changes with its
# store's platform), comes back bare from `neighbor X peer-group NEW`, without its AS or its
# inbound route-map: all its intended lines are sent again after the deletion
# (devices/configdiff/removed_whole.py).
BGP_NEIGHBORS_REMOVED_WHOLE = RemovedWhole(
    section=r"^router bgp \d+$",
    made_by=(
        r"^neighbor (?P<name>\S+) remote-as \S+$",
        r"^neighbor (?P<name>\S+) peer-group$",
        r"^neighbor (?P<name>\d+\.\d+\.\d+\.\d+) peer-group \S+$",
    ),
    names=r"^neighbor {name} ",
    member_of=r"^neighbor (?P<name>\S+) peer-group (?P<group>\S+)$",
)

# An FRR prefix list takes no entry whose match another of its entries holds at another sequence
# number, and says nothing: "Backward compatibility: don't complain about duplicated values, just
# silently accept" (lib/filter_cli.c `ip_prefix_list`, `plist_is_dup`; frr-8.4.4, Debian 12's).
# An entry dropped from the middle of a list (a hub's HUB-STORES or a store's HUB-ROUTES when a
# third hub takes over some backups) moves every later entry down a number: the line putting one
# at its new number came while its old one still held it and was dropped, then the line for that
# old number replaced it, and the list lost it. Such entries are deleted first
# (`PrefixLists.unique_matches`, `no ip prefix-list NAME seq N`, filter_cli.c
# `no_ip_prefix_list_seq`); a list they alone make is held meanwhile by `deny any`, which lets no
# route through (a missing list matches no route either: bgp_routemap.c
# `route_match_address_prefix_list`), and bgpd applies the changed lists only when its
# route-map delay timer runs out, after the push's lines (BGP_POLICY_APPLIED).
PREFIX_LISTS = PrefixLists(
    entry=r"^ip prefix-list (\S+) seq (\d+) ",
    deleted_as="ip prefix-list {name} seq {number}",
    placeholder="ip prefix-list {name} seq {number} deny any",
    unique_matches=True,
)

DRIVER = PlatformDriver(
    name="frr",
    netmiko_device_type="cisco_ios",
    ignore_lines=(
        r"^Building configuration",
        r"^Current configuration",
        r"^frr version ",
        r"^frr defaults ",
        r"^service integrated-vtysh-config$",
        r"^(no )?ip(v6)? forwarding$",
        r"^\s*!",
        r"^\s*exit$",
        r"^\s*exit-vrf$",
        r"^\s*exit-address-family$",
        r"^end$",
        # An interface that is up shows no `no shutdown` line; intended configs often say it.
        r"^\s+no shutdown$",
    ),
    # vtysh marks most rejections with '%'; a command for a daemon that is not running prints
    # '… is not running' without one.
    error_patterns=(r"^\s*%", r"is not running"),
    save_command="write memory",
    save_success=r"\[OK\]",
    keep_sections=(r"interface .*",),
    # bfd_registrations: FRR 8.4's bgpd registers each neighbour's BFD session with bfdd through
    # zebra once (lib/bfd.c `_bfd_sess_send`): a registration sent while its zebra connection is
    # down is dropped, never retried nor replayed, and one zebra forgot when bgpd reconnected is
    # not sent again (bgp_zebra.c `bgp_zebra_connected`), so BFD would never take that BGP
    # session down (devices/health.py `unregistered_bfd`)
    health_checks=("bgp_sessions", "interfaces_up", "bfd_registrations"),
    policy_refresh=BGP_POLICY_APPLIED,
    removed_whole=(BGP_NEIGHBORS_REMOVED_WHOLE,),
    prefix_lists=PREFIX_LISTS,
    secret_patterns=(
        # swanctl's `secret = "PSK"` first, whole: the IOS `secret X` shape below would take the
        # `=` for the value and leave the key in sight
        r'(\bsecret\s*=\s*)"[^"\n]*"',
        *IOS_SECRET_PATTERNS,
        r"(\bneighbor \S+ password\s+)\S+",
        # snmpd.conf's `createUser USER AUTH "passphrase" PRIV "passphrase"` (snmpd.conf(5)): the
        # privacy passphrase first, then the authentication one, quoted or not (already hidden)
        r'(\bcreateUser\s+(?:-e\s+\S+\s+)?\S+\s+\S+\s+(?:"[^"\n]*"|\S+)\s+(?:DES|AES)\s+)(?:"[^"\n]*"|\S+)',
        r'(\bcreateUser\s+(?:-e\s+\S+\s+)?\S+\s+\S+\s+)(?:"[^"\n]*"|\S+)',
        # a line of chrony's key file (the host's NTP keys): `ID TYPE [HEX:|ASCII:]key`
        r"(^\s*\d+\s+(?:MD5|SHA1|SHA256|SHA384|SHA512|SHA3-\d+|TIGER|WHIRLPOOL|AES128|AES256)\s+(?:HEX:|ASCII:)?)\S+\s*$",
    ),
)

PLATFORM = FrrPlatform(
    name="frr",
    comment="!",
    loopback="lo",
    lan_trunk="lan0",
    ifname_limit=LINUX_IFNAME_MAX,
    driver=DRIVER,
    hier_driver=HConfigDriverFRR,
    emulated=False,
    answers_ios_probe="icmp-jitter",
    # Type 3 (every code: fragmentation needed, port unreachable) and type 11, as nft(8) names
    # them in `icmp type`: the errors a hub's cloud VPNs pass statelessly towards a store
    # (devices/frr.py `hub_cloud_answers`).
    icmp_errors=("destination-unreachable", "time-exceeded"),
    json_show_commands=True,
    bfd_follows_sla=True,
    store_flow_rules=False,
    # vtysh has no revert timer: the host runs one (devices/frr_confirm.py, installed on the
    # appliance as `storestack-confirm`, reached through the login's restricted command set).
    # It reverts with FRR's frr-reload.py; `revert` is the abort of a change that failed.
    commit_confirm=CommitConfirm(
        via="host",
        minimum=frr_confirm.MIN_TIMER,
        maximum=frr_confirm.MAX_TIMER,
        arm=(f"{frr_confirm.PROGRAM} arm {{timer}} stdin",),
        guard=True,
        # With the guard, `confirm TOKEN` is a line to it (the answer to its challenge).
        confirm=("confirm",),
        abort=(f"{frr_confirm.PROGRAM} revert",),
        armed_earlier=frr_confirm.ARMED_EARLIER,
    ),
    # The companion files go through the same login, to storestack-confirm's companion verbs:
    # the appliance's allow-list maps each name to its path, mode, check and reload, and an
    # armed timer's revert puts them back with the routing config.
    companion_delivery=CompanionDelivery(
        digests=f"{frr_confirm.PROGRAM} companion-digests",
        read=f"{frr_confirm.PROGRAM} companion-read {{name}}",
        install=f"{frr_confirm.PROGRAM} companion-install {{name}}",
        session_ends=(("swanctl.conf", frr_confirm.dropped_connections),),
    ),
    # The Linux host around FRR (devices/frr.py says where each file lands): IPsec (swanctl,
    # strongswan), tunnel interfaces and policy routing, nftables, the authenticated NTP client
    # (chrony and its key file), remote syslog (rsyslog), the SNMPv3 agent (snmpd), IPv4 forwarding
    # (sysctl.d), the WAN queues (`tc -batch`; a hub's on
    # its DC port, towards the stores) and, on stores, dnsmasq and the SLA steering of storestack-steer (devices/frr_steer.py).
    companions=(
        ("nftables.conf", "host-nftables.j2"),
        ("dnsmasq.conf", "host-dnsmasq.j2"),
        ("swanctl.conf", "host-swanctl.j2"),
        ("strongswan.conf", "host-strongswan.j2"),
        ("routing", "host-routing.j2"),
        ("steering.conf", "host-steering.j2"),
        ("qos.tc", "host-qos.j2"),
        ("chrony.conf", "host-chrony.j2"),
        ("chrony.keys", "host-chrony-keys.j2"),
        ("rsyslog.conf", "host-rsyslog.j2"),
        ("snmpd.conf", "host-snmpd.j2"),
        ("snmpd.unit", "host-snmpd-unit.j2"),
        ("nftables.unit", "host-nftables-unit.j2"),
        ("sysctl.conf", "host-sysctl.j2"),
    ),
    # A hub installs swanctl.conf before its firewall: the install ends the tunnels of the stores
    # it no longer serves (frr_confirm.SessionEnds) while their filters are still loaded, so a
    # decommissioned store's tunnel is never up without them; a new store's tunnel carries
    # nothing before its routing companion makes its interface. This order (and `companions`,
    # then the FRR lines) is the one home of a push's steps: a rollback and the appliance's
    # revert run it backwards (CompanionDelivery), so a store the push added loses its tunnel
    # interface before its filters.
    hub_companions=(
        ("swanctl.conf", "host-swanctl.j2"),
        ("nftables.conf", "hub-nftables.j2"),
        ("strongswan.conf", "host-strongswan.j2"),
        ("routing", "host-routing.j2"),
        ("qos.tc", "host-qos.j2"),
        ("chrony.conf", "host-chrony.j2"),
        ("chrony.keys", "host-chrony-keys.j2"),
        ("rsyslog.conf", "host-rsyslog.j2"),
        ("snmpd.conf", "host-snmpd.j2"),
        ("snmpd.unit", "host-snmpd-unit.j2"),
        ("nftables.unit", "host-nftables-unit.j2"),
        ("sysctl.conf", "host-sysctl.j2"),
    ),
)
