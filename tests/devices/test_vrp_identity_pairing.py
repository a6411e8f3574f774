"""Both ends of every store-hub tunnel with a Huawei VRP end agree on the IKE identities, type and
value, each way: a VRP store behind FRR (strongSwan), IOS-XE, FortiOS and VRP hubs, and a VRP hub
serving every store platform. IKEv2 matches an ID payload by its type and its value (RFC 7296
3.5), so an end that sends ID_IPV4_ADDR where the other expects an FQDN fails authentication.

A VRP store sends one FQDN per device (`ike local-name`, `STORE_ONE_FQDN_IDENTITY`): its link
without a static address carries it, or its first link where all are static, and its other links
are identified by address on both ends (`NetworkIntent.known_by_address`). Which link that is
depends on the fleet: the VRP store goldens are rendered against FRR hubs (nw-0002's DHCP lte1 the
FQDN link, wan1 by address), the VRP hub golden in a fleet of all-static VRP stores (nw-0002's
wan1 the FQDN link, hub.cfg's STORE-3), so the two files side by side look crossed while each
fleet's two ends agree; `golden/huawei_vrp/dual-wan.paired.cfg` is nw-0002 in the hub golden's
fleet."""

from __future__ import annotations

from collections import Counter

import pytest
from lint_files import broken_files, rule_findings
from testsupport.rendering import make_links_static, on_platform

from storestack.common.platforms import Platform
from storestack.devices.lint import EXTRACTORS, ConfigFile, TunnelFact, id_type_of, load_platform_rules
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

VRP: Platform = "huawei_vrp"
OTHERS: tuple[Platform, ...] = ("frr", "cisco_xe", "fortinet")

# (store platform, hub platform, links): `as-is` is the sample chain's own addressing where the
# hubs take it (VRP stores keep one DHCP or cellular link, `on_platform`); `static` every link
# static. VRP stores behind FRR, IOS-XE and FortiOS hubs: all of them static (the sample chain's
# nw-0008 breaks guest Wi-Fi out through a DHCP wan1, which a VRP store refuses), and the chain's
# own mix, where nw-0005 is VRP with a DHCP link.
CASES: list[tuple[Platform | None, Platform, str]] = [
    *[(stores, VRP, "static") for stores in (*OTHERS, VRP)],
    *[(VRP, hubs, "static") for hubs in OTHERS],
    *[(None, hubs, "as-is") for hubs in OTHERS],
]


def _served(fleet: Fleet, stores: Platform | None, hubs: Platform, links: str) -> Fleet:
    chain = on_platform(fleet, stores, hubs=hubs)
    return make_links_static(chain) if links == "static" else chain


def _facts(files: list[ConfigFile]) -> dict[str, dict[str, TunnelFact]]:
    """Each appliance's tunnels as its platform's extractor reads them, by tunnel id."""
    load_platform_rules()
    return {
        config.hostname: {fact.name: fact for fact in EXTRACTORS[config.platform](config)}
        for config in files
        if not config.suffix and config.platform in EXTRACTORS
    }


@pytest.mark.parametrize(
    ("stores", "hubs", "links"), CASES, ids=[f"{stores or 'mixed'}-stores-{hubs}-hubs-{links}" for stores, hubs, links in CASES]
)
def test_every_tunnel_with_a_vrp_end_sends_the_identity_the_other_end_expects(
    fleet: Fleet, stores: Platform | None, hubs: Platform, links: str
) -> None:
    served = _served(fleet, stores, hubs, links)
    files = config_files(served)
    intent = NetworkIntent(served)
    facts = _facts(files)
    platform = {config.hostname: config.platform for config in files if not config.suffix}
    sent: Counter[tuple[str, str]] = Counter()
    for store in served:
        for appliance in store.appliances:
            for tunnel in intent.store(store.id, appliance.hostname).tunnels:
                if tunnel.kind != "store-hub" or VRP not in (platform[appliance.hostname], platform[tunnel.peer]):
                    continue
                store_end = facts[appliance.hostname][tunnel.id]
                hub_end = facts[tunnel.peer][tunnel.id]
                for sender, receiver, who in ((store_end, hub_end, "store"), (hub_end, store_end, "hub")):
                    where = f"{tunnel.id}: the {who}"
                    assert sender.local_id == receiver.peer_id, where
                    # A VRP end says both types: `local-id-type`, and what it checks the far end by.
                    for end in (sender, receiver):
                        if platform[end.file.split(".")[0]] == VRP:
                            assert end.local_id_type is not None and end.peer_id_type is not None, where
                    kinds = {kind for kind in (sender.local_id_type, receiver.peer_id_type) if kind is not None}
                    assert kinds == {id_type_of(sender.local_id or "")}, (where, kinds, sender.local_id)
                    sent[(who, id_type_of(sender.local_id or ""))] += 1
    # Every tunnel was read, and where a VRP store has static links besides its FQDN one, both
    # kinds of identity were exercised.
    assert sent[("store", "fqdn")] > 0
    if stores in (VRP, None):  # a VRP store (nw-0005 in the chain's own mix) with static links
        assert sent[("store", "ipv4")] > 0 and sent[("hub", "ipv4")] == sent[("store", "ipv4")]
    assert sum(sent.values()) == 2 * sum(
        1
        for store in served
        for appliance in store.appliances
        for tunnel in intent.store(store.id, appliance.hostname).tunnels
        if tunnel.kind == "store-hub" and VRP in (platform[appliance.hostname], platform[tunnel.peer])
    )
    # And `devices lint`, which reads the same two ends across files, finds nothing.
    assert [f.message for f in rule_findings(served, files, "peer-mismatch")] == []


def _identity_messages(fleet: Fleet, files: list[ConfigFile]) -> list[str]:
    return [f"{f.file}: {f.message}" for f in rule_findings(fleet, files, "peer-mismatch") if "IKE identit" in f.message]


def _by_address(fleet: Fleet, files: list[ConfigFile], name: str, fqdn_peer: str) -> list[str]:
    """What `devices lint` finds once `name`'s one IKE peer with `fqdn_peer` (its FQDN identity
    lines) identifies by address instead (`local-id-type ip`, no `remote-id`): only on
    nw-0002-wan1's tunnel to hq-hub1."""

    def by_address(text: str) -> str:
        assert text.count(fqdn_peer) == 1
        return text.replace(fqdn_peer, " local-id-type ip\n")

    found = _identity_messages(fleet, broken_files(files, name, by_address))
    assert found and not [m for m in found if "nw-0002-wan1-hq-hub1" not in m], found
    return found


def test_a_vrp_store_and_hub_with_crossed_identity_types_are_found(fleet: Fleet) -> None:
    # The VRP store and hub goldens' fleet: nw-0002's wan1 is its FQDN link, hq-hub1's STORE-3
    # expects `remote-id nw-0002-wan1.<domain>` (hub.cfg) and the store sends it (dual-wan.paired.cfg).
    vrp = on_platform(fleet, VRP)
    files = config_files(vrp)
    assert _identity_messages(vrp, files) == []
    hub = next(config.text for config in files if config.name == "hq-hub1.cfg")
    store = next(config.text for config in files if config.name == "nw-0002-edge1.cfg")
    assert " local-id-type fqdn\n remote-id nw-0002-wan1.northwind.example\n remote-address 198.51.100.6\n" in hub
    assert "ike local-name nw-0002-wan1.northwind.example\n" in store

    # What the goldens side by side seemed to say: the store sending its wan1 address to hq-hub1,
    # where hq-hub1 expects the FQDN.
    found = _by_address(vrp, files, "nw-0002-edge1.cfg", " local-id-type fqdn\n remote-id hq-hub1.northwind.example\n")
    assert any("the store sends an IKE identity of type ipv4, the other end expects fqdn" in m for m in found), found
    assert any("IKE identities differ between the ends" in m for m in found), found
    # The other way round: hq-hub1 expecting nw-0002-wan1's address while the store sends its FQDN.
    found = _by_address(vrp, files, "hq-hub1.cfg", " local-id-type fqdn\n remote-id nw-0002-wan1.northwind.example\n")
    assert any("the store sends an IKE identity of type fqdn, the other end expects ipv4" in m for m in found), found
