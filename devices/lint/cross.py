"""Cross-file lint: every tunnel of the network intent, checked at both ends as the configs spell
it (addresses, identities, BGP ASN, PSK slot), and its proposals against the far end's
(AWS's from `network/crypto.py`; an OpenStack site's gateway runs the fleet policy itself, with
the inside /30 of `network/cloud.py`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from storestack.devices.lint import EXTRACTORS, ConfigFile, Finding, TunnelFact, load_platform_rules
from storestack.network.build import NetworkIntent
from storestack.network.cloud import hub_openstack_inside
from storestack.network.crypto import FLEET_CRYPTO, EspProposal, IkeProposal, aws_tunnel_options
from storestack.network.model import Tunnel

_AWS_ENCRYPTION = {"AES256-GCM-16": "aes256gcm16", "AES256": "aes256", "AES128-GCM-16": "aes128gcm16"}
_AWS_INTEGRITY = {"SHA2-384": "sha384", "SHA2-256": "sha256", "SHA2-512": "sha512"}


def aws_proposals() -> tuple[frozenset[IkeProposal], frozenset[EspProposal]]:
    """What the AWS VpnConnection tunnel options (built from the fleet policy) accept."""
    options = aws_tunnel_options()
    ike = frozenset(
        IkeProposal(_AWS_ENCRYPTION[enc], _AWS_INTEGRITY[integ], int(group))
        for enc in options["phase1_encryption_algorithms"]
        for integ in options["phase1_integrity_algorithms"]
        for group in options["phase1_dh_group_numbers"]
    )
    esp = frozenset(
        EspProposal(
            _AWS_ENCRYPTION[enc],
            None if "GCM" in enc else _AWS_INTEGRITY[integ],
            int(group),
        )
        for enc in options["phase2_encryption_algorithms"]
        for integ in options["phase2_integrity_algorithms"]
        for group in options["phase2_dh_group_numbers"]
    )
    return ike, esp


@dataclass(frozen=True, slots=True)
class _End:
    hostname: str
    platform: str
    file: str
    facts: dict[str, TunnelFact]  # by tunnel id


def _ends(files: Sequence[ConfigFile]) -> dict[str, _End]:
    load_platform_rules()
    ends = {}
    for config in files:
        extractor = EXTRACTORS.get(config.platform)
        if config.suffix or extractor is None:
            continue
        ends[config.hostname] = _End(
            config.hostname, config.platform, config.name, {fact.name: fact for fact in extractor(config)}
        )
    return ends


def cross_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    ends = _ends(files)
    aws_ike, aws_esp = aws_proposals()
    fleet_ike, fleet_esp = frozenset(FLEET_CRYPTO.ike), frozenset(FLEET_CRYPTO.esp)
    checked_hubs: set[str] = set()
    for config in files:
        if config.suffix:
            continue
        if config.role == "hub":
            checked_hubs.add(config.hostname)
            end = ends.get(config.hostname)
            if end is None:
                continue
            for tunnel in intent.hub(config.hostname).tunnels:
                fact = end.facts.get(tunnel.id)
                if fact is None:
                    yield Finding(
                        end.file, 0, "missing-peer", f"hub has no tunnel {tunnel.id} (to {tunnel.peer})"
                    )
                    continue
                yield from _against_intent(fact, tunnel)
                if tunnel.kind == "hub-aws":
                    yield from _proposals(fact, aws_ike, aws_esp, "AWS")
                if tunnel.kind == "hub-openstack":
                    yield from _proposals(fact, fleet_ike, fleet_esp, "the OpenStack gateway (fleet crypto policy)")
                    yield from _against_openstack_gateway(fact, tunnel, intent, config.hostname)
            continue
        if config.store_id is None:
            continue
        store = intent.store(config.store_id, config.hostname)
        end = ends.get(config.hostname)
        for tunnel in store.tunnels:
            fact = end.facts.get(tunnel.id) if end else None
            if end is not None and fact is None:
                yield Finding(
                    end.file, 0, "missing-tunnel", f"store has no tunnel {tunnel.id} (to {tunnel.peer})"
                )
                continue
            if fact is not None:
                yield from _against_intent(fact, tunnel)
            if tunnel.kind == "store-aws" and fact is not None:
                yield from _proposals(fact, aws_ike, aws_esp, "AWS")
                continue
            if tunnel.kind != "store-hub":
                continue
            hub_end = ends.get(tunnel.peer)
            hub_fact = hub_end.facts.get(tunnel.id) if hub_end else None
            if fact is not None and hub_fact is not None:
                yield from _pair(fact, hub_fact)


def _against_intent(fact: TunnelFact, tunnel: Tunnel) -> Iterator[Finding]:
    """The config's end says what the intent says for that end."""
    expected = {
        "inside address": (fact.local_inside, str(tunnel.local_inside.ip) if tunnel.local_inside else None),
        "peer inside address": (fact.peer_inside, str(tunnel.peer_inside) if tunnel.peer_inside else None),
        "peer outside address": (
            fact.peer_outside,
            str(tunnel.peer_outside) if tunnel.peer_outside else None,
        ),
        "IKE identity": (fact.local_id, tunnel.local_id),
        "peer IKE identity": (fact.peer_id, tunnel.peer_id),
        "peer ASN": (fact.peer_asn, tunnel.peer_asn if tunnel.local_inside else None),
        "PSK slot": (fact.psk_slot, f"<{tunnel.psk.name}>"),
    }
    for what, (found, wanted) in expected.items():
        if found != wanted:
            yield Finding(
                fact.file,
                fact.line,
                "peer-mismatch",
                f"tunnel {fact.name}: {what} is {found}, the intent says {wanted}",
            )


def _against_openstack_gateway(fact: TunnelFact, tunnel: Tunnel, intent: NetworkIntent, hub: str) -> Iterator[Finding]:
    """The hub end of an OpenStack tunnel matches the gateway `OpenStackSite` builds: the inside
    /30 of the shared rule (site and hub in fleet order, as the core stack numbers them) and the
    gateway's ASN (`asn.openstack`)."""
    spec = intent.fleet.spec
    site = tunnel.peer.split(":", 1)[1]
    site_index = [s.name for s in spec.sites.openstack].index(site)
    inside = hub_openstack_inside(site_index, list(intent.fleet.hubs).index(hub))
    expected = {
        "inside address": (fact.local_inside, str(inside.hub.ip)),
        "peer inside address": (fact.peer_inside, str(inside.gateway.ip)),
        "peer ASN": (fact.peer_asn, spec.asn.openstack),
    }
    for what, (found, wanted) in expected.items():
        if found != wanted:
            yield Finding(
                fact.file,
                fact.line,
                "peer-mismatch",
                f"tunnel {fact.name}: {what} is {found}, the OpenStack gateway of {site} expects {wanted}",
            )


def _pair(store: TunnelFact, hub: TunnelFact) -> Iterator[Finding]:
    """Both ends of one store-hub tunnel agree with each other."""
    if (store.local_inside, store.peer_inside) != (hub.peer_inside, hub.local_inside):
        yield Finding(
            hub.file,
            hub.line,
            "peer-mismatch",
            f"tunnel {hub.name}: inside addresses differ between the ends",
        )
    if (store.local_id, store.peer_id) != (hub.peer_id, hub.local_id):
        yield Finding(
            hub.file, hub.line, "peer-mismatch", f"tunnel {hub.name}: IKE identities differ between the ends"
        )
    if store.psk_slot != hub.psk_slot:
        yield Finding(
            hub.file, hub.line, "peer-mismatch", f"tunnel {hub.name}: PSK slots differ between the ends"
        )
    yield from _proposals(hub, store.ike, store.esp, f"the store end ({store.file})")


def _proposals(
    fact: TunnelFact, ike: frozenset[IkeProposal], esp: frozenset[EspProposal], far: str
) -> Iterator[Finding]:
    if not fact.ike & ike:
        yield Finding(
            fact.file,
            fact.line,
            "proposal-mismatch",
            f"tunnel {fact.name}: no IKE proposal in common with {far}",
        )
    if not fact.esp & esp:
        yield Finding(
            fact.file,
            fact.line,
            "proposal-mismatch",
            f"tunnel {fact.name}: no ESP proposal in common with {far}",
        )
