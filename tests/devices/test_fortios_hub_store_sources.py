"""A FortiOS hub takes a store's flows on whichever of the store's tunnels they arrive (no reverse
path check on its store tunnels) and answers on the tunnel they came in on. So each store's own
addresses (`StoreForwarding.own`) pass only on that store's own tunnels: a compromised store
router sending from its tunnel as another store's till would otherwise get HQ's answers, and
impersonate that store to the payment service."""

from __future__ import annotations

import dataclasses
import ipaddress

from testsupport.rendering import on_platform

from storestack.devices.lint import FORWARDING_EXTRACTORS, ConfigFile, Packet, load_platform_rules
from storestack.devices.lint.isolation import RULE, isolation_check
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import HubIntent, Tunnel

HUB = "hq-hub1"


def _config(fleet: Fleet) -> ConfigFile:
    config = render_hub(fleet, HUB)
    return ConfigFile(config.filename, "fortinet", "hub", config.name, config.text, None, "", {"": config.text})


def _tunnels(hub: HubIntent, store: str) -> list[Tunnel]:
    return [t for t in hub.tunnels if t.kind == "store-hub" and t.peer == store]


def _forwarded(config: ConfigFile, tunnels: list[Tunnel], packet: Packet) -> bool:
    """What the hub does with `packet` arriving on `tunnels` (by their IKE identities)."""
    load_platform_rules()
    peers = frozenset(v for t in tunnels for v in (t.peer_id, str(t.peer_outside) if t.peer_outside else None) if v)
    return FORWARDING_EXTRACTORS["fortinet"](config, peers).verdict(packet).forwarded


def _till(fleet: Fleet, store: str) -> ipaddress.IPv4Address:
    return fleet.stores[store].segments["pos"].subnet.network_address + 10


def test_the_intent_says_whose_addresses_each_store_tunnel_brings_in(fleet: Fleet) -> None:
    hub = NetworkIntent(fleet).hub(HUB)
    forwarding = hub.store_forwarding
    assert [own.store for own in forwarding.own] == list(dict.fromkeys(c.store for c in forwarding.control))
    for control in forwarding.control:
        session = next(s for s in hub.sessions if s.kind == "store-hub" and s.tunnel == control.tunnel)
        assert forwarding.tunnel_sources(control.tunnel) == session.accepts
    first, second = forwarding.own[:2]
    tunnel = next(c.tunnel for c in forwarding.control if c.store == first.store)
    assert forwarding.from_tunnel(tunnel, _till(fleet, first.store))
    assert not forwarding.from_tunnel(tunnel, _till(fleet, second.store))


def test_a_store_tunnel_sending_as_another_stores_till_does_not_reach_the_payment_service(fleet: Fleet) -> None:
    """nw-0001's tunnels (fibre and LTE) carry its own tills' payments to HQ, each on its own;
    the same packet from another store's till address is dropped on them."""
    fleet = on_platform(fleet, "fortinet")
    intent = NetworkIntent(fleet)
    hub = intent.hub(HUB)
    payment = intent.services["payment"].prefixes[0].network_address + 1
    sender = hub.store_forwarding.own[0].store
    victims = [own.store for own in hub.store_forwarding.own[1:]]
    tunnels = _tunnels(hub, sender)
    assert {t.peer_transport for t in tunnels} == {"wan1", "lte1"}
    config = _config(fleet)
    for tunnel in tunnels:
        own = Packet("tcp", _till(fleet, sender), payment, 443)
        assert _forwarded(config, [tunnel], own), f"{sender}'s till over {tunnel.peer_transport}"
        for victim in victims:
            spoofed = Packet("tcp", _till(fleet, victim), payment, 443)
            assert not _forwarded(config, [tunnel], spoofed), f"{sender} over {tunnel.peer_transport} as {victim}"
    # The victim's own tunnels still carry its till's payments.
    for victim in victims:
        assert _forwarded(config, _tunnels(hub, victim), Packet("tcp", _till(fleet, victim), payment, 443)), victim
    assert [f for f in isolation_check([config], intent) if f.rule == RULE] == []


def test_lint_flags_a_fortios_hub_that_takes_another_stores_source_on_a_store_tunnel(fleet: Fleet) -> None:
    """`store-isolation` sends from one store's tunnels as its other stores: a policy of the
    store's zone that also takes another store's addresses is reported, with the victim."""
    fleet = on_platform(fleet, "fortinet")
    intent = NetworkIntent(fleet)
    config = _config(fleet)
    sender, victim = (own.store for own in intent.hub(HUB).store_forwarding.own[:2])
    marker = f'        set srcaddr "SOURCES-{sender}"\n'
    assert marker in config.text
    text = config.text.replace(marker, f'        set srcaddr "SOURCES-{sender}" "SOURCES-{victim}"\n', 1)
    broken = dataclasses.replace(config, text=text, companions={"": text})
    (finding,) = [f for f in isolation_check([broken], intent) if f.rule == RULE]
    assert f"store {sender} send from its own tunnels as store {victim}" in finding.message
    assert f"{sender} impersonates {victim} to HQ" in finding.message
