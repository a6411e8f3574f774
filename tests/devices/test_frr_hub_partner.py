"""The partner hub (`HubIntent.return_partners`): a store flow split across the two hubs (the
store sends through one, the DC core answers its prefix through the other) is carried by the hub
that saw it. The intent names each hub's partner and the stores they share; the FRR hub's
rendered ruleset and routing pass the DC's packets of a flow it did not see to that partner, and
lint `frr-partner-path` finds a hub that would drop them. (Real packets through the rendered
ruleset: tests/devices/test_render_frr_host.py; the whole flow: tests/lab/test_lab_split.py.)"""

from __future__ import annotations

import ipaddress
import re

import pytest
from lint_files import broken_files, rule_findings

from storestack.devices.frr import partner_slots
from storestack.devices.lint import ConfigFile, Packet
from storestack.devices.lint.frr import forward_verdict
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.sla import PARTNER_MARK, PARTNER_TABLE

HUB = "hq-hub1"
RULESET = f"{HUB}.nftables.conf"


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def test_each_hub_names_the_other_hub_of_its_stores_with_their_own_addresses(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    for name, other in (("hq-hub1", "hq-hub2"), ("hq-hub2", "hq-hub1")):
        hub = intent.hub(name)
        (partner,) = hub.return_partners
        assert (partner.hostname, partner.dc_address, partner.loopback) == (
            other, fleet.hubs[other].dc_address, fleet.hubs[other].loopback
        )
        # every store this hub serves has the other hub as its primary or backup
        own = {item.store: item.sources for item in hub.store_forwarding.own}
        assert set(partner.stores) == set(own)
        assert set(partner.destinations) == {net for sources in own.values() for net in sources}


def test_the_rendered_hubs_pass_a_split_flow_to_their_partner(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    assert not rule_findings(fleet, rendered, "frr-partner-path")
    ruleset = next(c for c in rendered if c.name == RULESET).text
    partner = NetworkIntent(fleet).hub(HUB).return_partners[0]
    hops = re.search(r"set partner_hops \{[^}]*elements = \{ ([^}]*) \}", ruleset)
    assert hops and hops.group(1) == str(partner.dc_address)


def test_a_hub_that_drops_a_flow_the_other_hub_saw_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # the ruleset before: no partner rules at all
    dropped = broken_files(rendered, RULESET, lambda t: re.sub(r"^\s*iifname \S+ .*(@partner_stores|@partner_hops).*\n", "", t, flags=re.M))
    (finding,) = rule_findings(fleet, dropped, "frr-partner-path")
    assert "dropped as invalid" in finding.message and finding.file.endswith(RULESET)
    # the forward chain drops them as invalid before it accepts them
    late = broken_files(
        rendered,
        RULESET,
        lambda t: re.sub(
            r"^(\s*iifname \S+ oifname \S+ meta mark and \S+ == \S+ rt ip nexthop @partner_hops .*\n)((?:.*\n)*?)(\s*ct state invalid drop\n)",
            r"\2\3\1",
            t,
            count=1,
            flags=re.M,
        ),
    )
    assert [f.message for f in rule_findings(fleet, late, "frr-partner-path")] == [finding.message]


def test_a_partner_mark_without_its_rule_its_route_or_a_store_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # hq-hub1's partner hq-hub2 is host 4 of the DC core LAN: its mark and table (`partner_slots`).
    (slot,) = partner_slots(NetworkIntent(fleet).hub(HUB)).values()
    mark, table = f"{PARTNER_MARK + slot:#010x}", PARTNER_TABLE + slot
    assert (mark, table) == ("0x00005304", 5304)
    no_rule = broken_files(rendered, f"{HUB}.routing", lambda t: re.sub(rf"^rule add fwmark {mark} .*\n", "", t, flags=re.M))
    (finding,) = rule_findings(fleet, no_rule, "frr-partner-path")
    assert "no `ip rule fwmark`" in finding.message
    no_route = broken_files(rendered, f"{HUB}.cfg", lambda t: re.sub(rf"^ip route 0\.0\.0\.0/0 \S+ table {table}\n", "", t, count=1, flags=re.M))
    (finding,) = rule_findings(fleet, no_route, "frr-partner-path")
    assert f"table {table} has no route to its loopback" in finding.message
    no_store = broken_files(rendered, RULESET, lambda t: t.replace(f"10.64.0.0/26 : {mark}, ", "", 1))
    (finding,) = rule_findings(fleet, no_store, "frr-partner-path")
    assert "10.64.0.0/26 not marked for it" in finding.message


def test_one_partner_route_per_partner_whatever_the_stores(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """The partner's table holds one route, to the partner's loopback (resolved through iBGP: a
    dead partner takes nothing); which packets take it is the ruleset's mark. Before, one route
    per shared store address (some 1,000 on a 200-store hub)."""
    config = next(c for c in rendered if c.name == f"{HUB}.cfg").text
    partner = NetworkIntent(fleet).hub(HUB).return_partners[0]
    assert re.findall(r"^ip route (\S+) (\S+) table 53\d\d$", config, re.M) == [("0.0.0.0/0", str(partner.loopback))]


def test_a_store_never_reaches_another_through_the_partner_rule(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """The partner rule accepts the DC port's packets only: a store tunnel's SYN-ACK or ACK to
    another store (conntrack invalid or new at the hub) is dropped as before."""
    ruleset = next(c for c in rendered if c.name == RULESET).text
    own = NetworkIntent(fleet).hub(HUB).store_forwarding.own
    source, target = own[0].sources[0].network_address + 1, own[1].sources[0].network_address + 1
    for flags in ({"syn", "ack"}, {"ack"}):
        packet = Packet("tcp", ipaddress.IPv4Address(source), ipaddress.IPv4Address(target), 22, frozenset(flags))
        verdict = forward_verdict(ruleset, packet, iifname=f"{own[0].store}-wan1")
        assert not verdict.forwarded, verdict


def test_a_hub_that_passes_hq_management_polls_to_its_partner_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """HQ's SNMP polls and pings of a store (new, no TCP) stay on the hub the DC core chose: the
    partner routes that store back over the DC LAN and drops them (test_render_frr_host.py)."""
    bounced = broken_files(rendered, RULESET, lambda t: t.replace(" ip saddr != @hq_management meta mark set", " meta mark set"))
    (finding,) = rule_findings(fleet, bounced, "frr-partner-path")
    assert "SNMP poll" in finding.message and finding.file.endswith(RULESET)
