"""`storestack devices lint` across platforms: what one end of a store-hub tunnel negotiates, the
other end (or the network intent) must accept, or the tunnel never comes up. The sample chain's
IOS-XE (nw-0003), VRP (nw-0005) and FortiOS (nw-0006) stores are served by FRR (strongSwan) hubs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lint_files import broken_files, rule_findings
from testsupport.rendering import on_platform

from storestack.common.platforms import Platform
from storestack.devices.lint import ConfigFile
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.inventory.fleet import ResolvedHub, ResolvedStore, ResolvedWanLink
from storestack.network.build import NetworkIntent


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def test_a_fortios_phase1_left_on_ikev1_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # FortiOS negotiates IKEv1 unless told otherwise; the strongSwan hub takes IKEv2 only.
    assert not rule_findings(fleet, rendered, "fortios-ike-version")
    files = broken_files(rendered, "nw-0006-edge1.cfg", lambda t: t.replace("        set ike-version 2\n", "", 1))
    findings = rule_findings(fleet, files, "fortios-ike-version")
    assert [f.message.split()[2] for f in findings] == ["hq-hub1-wan1"]
    assert "unset (1)" in findings[0].message and findings[0].line > 0
    files = broken_files(rendered, "nw-0006-edge1.cfg", lambda t: t.replace("set ike-version 2", "set ike-version 1"))
    assert len(rule_findings(fleet, files, "fortios-ike-version")) == 6  # four hub tunnels, two AWS


def test_traffic_selectors_off_the_route_based_intent_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # Every store-hub tunnel is route-based: 0.0.0.0/0 both ways, which is all an IOS-XE or VRP
    # virtual tunnel interface and a FortiOS interface-mode phase 2 propose and accept.
    assert not rule_findings(fleet, rendered, "traffic-selectors")

    def narrowed(text: str) -> str:  # the hub's child of nw-0003-wan1 (IOS-XE) protects HQ only
        head = "            nw-0003-wan1-hq-hub1 : storestack-responder {\n                local_ts = 0.0.0.0/0\n"
        return text.replace(head, head.replace("0.0.0.0/0", "10.0.0.0/16"), 1)

    findings = rule_findings(fleet, broken_files(rendered, "hq-hub1.swanctl.conf", narrowed), "traffic-selectors")
    assert [(f.file, f.message.split()[1]) for f in findings] == [("hq-hub1.swanctl.conf", "nw-0003-wan1-hq-hub1:")]
    assert "local 10.0.0.0/16, remote 0.0.0.0/0" in findings[0].message

    def unset(text: str) -> str:  # swanctl's default is the IKE address alone
        return text.replace(
            "            nw-0005-lte1-hq-hub1 : storestack-responder {\n                local_ts = 0.0.0.0/0\n",
            "            nw-0005-lte1-hq-hub1 : storestack-responder {\n",
            1,
        )

    findings = rule_findings(fleet, broken_files(rendered, "hq-hub1.swanctl.conf", unset), "traffic-selectors")
    assert len(findings) == 1 and "local dynamic, remote 0.0.0.0/0" in findings[0].message

    # An IOS-XE tunnel without `tunnel mode ipsec ipv4` is GRE over IPsec, IOS's default mode.
    gre = broken_files(rendered, "nw-0003-edge1.cfg", lambda t: t.replace(" tunnel mode ipsec ipv4\n", "", 1))
    findings = rule_findings(fleet, gre, "traffic-selectors")
    assert len(findings) == 1 and findings[0].file == "nw-0003-edge1.cfg" and "local gre, remote gre" in findings[0].message
    # VRP's GRE tunnel protocol, likewise.
    gre = broken_files(rendered, "nw-0005-edge1.cfg", lambda t: t.replace(" tunnel-protocol ipsec\n", " tunnel-protocol gre\n", 1))
    assert len(rule_findings(fleet, gre, "traffic-selectors")) == 1
    # A FortiOS phase 2 that names the far end's subnet.
    def far_subnet(text: str) -> str:
        head = '        set phase1name "hq-hub1-wan1"\n'
        return text.replace(head, head + "        set dst-subnet 10.0.0.0 255.255.0.0\n", 1)

    findings = rule_findings(fleet, broken_files(rendered, "nw-0006-edge1.cfg", far_subnet), "traffic-selectors")
    assert len(findings) == 1 and "remote 10.0.0.0/16" in findings[0].message


def test_ike_identity_types_that_differ_between_the_ends_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # IKEv2 matches an identity's type with its value: an FQDN never matches a KEY_ID of the same
    # spelling. The ends agree on the sample chain.
    def types(files: list[ConfigFile]) -> list[str]:
        return [f.message for f in rule_findings(fleet, files, "peer-mismatch") if "type" in f.message]

    assert not types(rendered)
    # IOS-XE: nw-0003's wan1 identity sent as a KEY_ID, its value unchanged.
    key_id = broken_files(
        rendered, "nw-0003-edge1.cfg",
        lambda t: t.replace(" identity local fqdn nw-0003-wan1.northwind.example\n", " identity local key-id nw-0003-wan1.northwind.example\n", 1),
    )  # fmt: skip
    found = types(key_id)
    assert any("nw-0003-wan1-hq-hub1: IKE identity type is key-id, the intent says fqdn" in m for m in found)
    assert any("the store sends an IKE identity of type key-id, the other end expects fqdn" in m for m in found)
    # FortiOS: `localid-type keyid`; and `localid-type address`, which sends the WAN address instead.
    for localid_type, sent in (("keyid", "key-id"), ("address", "ipv4")):
        files = broken_files(
            rendered, "nw-0006-edge1.cfg",
            lambda t, kind=localid_type: t.replace("        set localid-type fqdn\n", f"        set localid-type {kind}\n", 1),
        )  # fmt: skip
        assert any(f"the store sends an IKE identity of type {sent}, the other end expects fqdn" in m for m in types(files))
    address = broken_files(rendered, "nw-0006-edge1.cfg", lambda t: t.replace("set localid-type fqdn", "set localid-type address", 1))
    assert any(
        "IKE identity is 198.51.100.18, the intent says nw-0006-wan1.northwind.example" in f.message
        for f in rule_findings(fleet, address, "peer-mismatch")
    )
    # strongSwan: `@` makes an FQDN of what reads as an address (nw-0005's lte1 sends an IPv4 ID).
    fqdn = broken_files(rendered, "hq-hub1.swanctl.conf", lambda t: t.replace("id = 198.51.100.42", "id = @198.51.100.42", 1))
    assert any("the store sends an IKE identity of type ipv4, the other end expects fqdn" in m for m in types(fqdn))


def _hubs_always_by_fqdn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The intent as it was: every hub sends its FQDN, also to a VRP store's address-identified link."""

    def fqdn(self: NetworkIntent, store: ResolvedStore, link: ResolvedWanLink, hub: ResolvedHub, outside: object) -> str:
        return self.ike_id(hub.hostname)

    monkeypatch.setattr(NetworkIntent, "hub_link_id", fqdn)


def _identity_findings(fleet: Fleet, files: list[ConfigFile]) -> list[str]:
    return [f"{f.file}: {f.message}" for f in rule_findings(fleet, files, "peer-mismatch") if "IKE identit" in f.message]


@pytest.mark.parametrize("hubs", ["frr", "cisco_xe", "fortinet"])
def test_a_vrp_store_expecting_another_identity_type_than_its_hub_sends_is_found(
    fleet: Fleet, hubs: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nw-0005 (VRP) identifies lte1 by address (`local-id-type ip`). An AR IKE peer without
    # `remote-id-type` checks the far end's identity by its local ID type (the reading the lint
    # takes: no AR document says otherwise), so a `remote-id hq-hubN.<domain>` on that peer, and a
    # hub sending that FQDN, fail phase 1. Both ends by address pass.
    served = on_platform(fleet, None, hubs=hubs)
    assert _identity_findings(served, config_files(served)) == []
    _hubs_always_by_fqdn(monkeypatch)
    found = _identity_findings(served, config_files(served))
    for hub in ("hq-hub1", "hq-hub2"):
        tunnel = f"nw-0005-lte1-{hub}"
        assert any(
            m.startswith("nw-0005-edge1.cfg: ")
            and f"expects the far end's IKE identity as type ipv4 but names {hub}.northwind.example (type fqdn)" in m
            for m in found
        ), found
        assert any(
            tunnel in m and "the hub sends an IKE identity of type fqdn, the other end expects ipv4" in m for m in found
        ), found
    assert not [m for m in found if "nw-0005-lte1" not in m]  # the FQDN link and other stores agree


def test_a_vrp_hub_expecting_another_identity_type_than_its_store_sends_is_found(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A VRP hub's IKE peer for an address-identified store link said `local-id-type fqdn` and no
    # `remote-id`: it would check the store's address identity as an FQDN.
    vrp = on_platform(fleet, "huawei_vrp")
    assert _identity_findings(vrp, config_files(vrp)) == []
    _hubs_always_by_fqdn(monkeypatch)
    found = _identity_findings(vrp, config_files(vrp))
    hub = [m for m in found if m.startswith("hq-hub1.cfg: ") and "expects the far end's IKE identity as type fqdn" in m]
    stores = [m for m in found if "-edge1.cfg: " in m and "as type ipv4 but names hq-hub1.northwind.example" in m]
    assert hub and stores


def test_a_hub_firewall_dropping_a_tunnels_ike_bgp_or_bfd_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # The FRR hub's input chain takes IKE from every store (vendor stores dial in like FRR ones),
    # BGP from each tunnel's far end and BFD where BGP tracks it, each on its own tunnel.
    assert not rule_findings(fleet, rendered, "frr-hub-tunnel-control")

    def found(change: Callable[[str], str]) -> list[str]:
        files = broken_files(rendered, "hq-hub1.nftables.conf", change)
        return [f.message for f in rule_findings(fleet, files, "frr-hub-tunnel-control") if f.line > 0]

    # every IKE rule (known far ends, and the dynamic store links' any address but the private ranges)
    nat_t = found(lambda t: t.replace("udp dport { 500, 4500 } accept", "udp dport 500 accept"))
    assert len(nat_t) == 20 and all("udp 4500" in m for m in nat_t)  # 17 store links, 2 AWS, 1 OpenStack
    assert "nw-0005-wan1-hq-hub1: udp 4500 from its far end 198.18.0.7 to 203.0.113.11 is dropped" in " ".join(nat_t)
    bgp = found(lambda t: t.replace("        tcp dport 179 accept\n", "", 1))
    assert len(bgp) == 20 and any(
        m.startswith("nw-0006-wan1-hq-hub1: BGP (tcp 179) from 100.64.0.23 to 100.64.0.22 on nw-0006-wan1") for m in bgp
    )
    # nw-0003's cellular tunnel (IOS-XE) left out of tunnel_ends, the set's first element list
    ends = found(lambda t: t.replace('"nw-0003-lte1" . 100.64.255.243 . 100.64.255.242, "nw-0004-wan1"', '"nw-0004-wan1"', 1))
    assert sorted(m.split(" (")[0] for m in ends) == ["nw-0003-lte1-hq-hub1: BFD", "nw-0003-lte1-hq-hub1: BGP"]
    bfd = found(lambda t: t.replace("iifname . ip saddr . ip daddr @bfd_ends udp dport 3784 accept", "udp dport 3784 drop", 1))
    assert len(bfd) == 17 and all("BFD (udp 3784)" in m for m in bfd)
    unjumped = found(lambda t: t.replace("        iifgroup 10 jump from_tunnels\n", "", 1))
    assert {m.split(":")[1].split("(")[0].strip() for m in unjumped} == {"BGP", "BFD"}


def test_route_filters_that_refuse_what_the_other_end_announces_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # What a store announces passes its own outbound and its hub's inbound filter; what a hub
    # announces, the hub's outbound and the store's inbound one. Clean on the sample chain.
    assert not rule_findings(fleet, rendered, "route-filter")

    def found(name: str, change: Callable[[str], str]) -> list[str]:
        return [f"{f.file}:{f.message}" for f in rule_findings(fleet, broken_files(rendered, name, change), "route-filter")]

    # IOS-XE store: its loopback left out of what it announces (to all four hub tunnels it names)
    loopback = found("nw-0003-edge1.cfg", lambda t: t.replace("STORE-PREFIXES seq 100 permit 10.255.0.5/32", "STORE-PREFIXES seq 100 permit 10.255.0.55/32"))
    assert len(loopback) == 6 and all("store's outbound filter towards" in m and "refuses 10.255.0.5/32" in m for m in loopback)
    # VRP store: HQ's /16 narrowed in what it takes from the hubs
    hq = found("nw-0005-edge1.cfg", lambda t: t.replace("HUB-ROUTES index 10 permit 10.0.0.0 16", "HUB-ROUTES index 10 permit 10.0.0.0 17"))
    assert len(hq) == 4 and all("store's inbound filter from" in m and "refuses 10.0.0.0/16" in m for m in hq)
    # VRP store: a deny node where its route-policy to hq-hub1 should permit
    denied = found("nw-0005-edge1.cfg", lambda t: t.replace("route-policy HUB-OUT-wan1-hq-hub1 permit node 10", "route-policy HUB-OUT-wan1-hq-hub1 deny node 10"))
    assert len(denied) == 5 and all("nw-0005-wan1-hq-hub1" in m and "denies it" in m for m in denied)
    # FortiOS store: the degraded variant of one outbound route-map denies (a route must pass both)
    def degraded_deny(text: str) -> str:
        head = '    edit "HUB-OUT-wan1-hq-hub1-DEGRADED"\n        config rule\n            edit 1\n'
        return text.replace(head, head + "                set action deny\n", 1)

    fortios = found("nw-0006-edge1.cfg", degraded_deny)
    assert len(fortios) == 4 and all(m.startswith("nw-0006-edge1.cfg:tunnel nw-0006-wan1-hq-hub1") for m in fortios)
    # FRR hub: the IOS-XE store's loopback missing from what it takes from that store
    hub = found("hq-hub1.cfg", lambda t: t.replace("STORE-nw-0003 seq 100 permit 10.255.0.5/32", "STORE-nw-0003 seq 100 permit 10.255.0.55/32"))
    assert len(hub) == 3 and all(m.startswith("hq-hub1.cfg:") and "hub's inbound filter from" in m for m in hub)


def test_an_anti_replay_window_narrower_than_the_far_ends_queues_reorder_is_found(
    fleet: Fleet, rendered: list[ConfigFile]
) -> None:
    # Every end queues its ESP by class after numbering it (a store's WAN queues, a hub's uplink
    # queues): the receiver's window must take what voice and POS overtook. The fleet keeps 1024
    # packets on every end of the sample chain: the FRR hubs and stores (swanctl), the IOS-XE store,
    # the VRP store (the AR's default).
    assert not rule_findings(fleet, rendered, "replay-window")

    def found(name: str, change: Callable[[str], str]) -> list[str]:
        return [f"{f.file} {f.message}" for f in rule_findings(fleet, broken_files(rendered, name, change), "replay-window")]

    # FRR hub at swanctl's default of 32 packets: each store's tunnel to it, whatever the store's platform
    hub = found("hq-hub1.swanctl.conf", lambda t: t.replace("    replay_window = 1024\n", ""))
    stores = {"nw-0003-wan1-hq-hub1", "nw-0005-lte1-hq-hub1", "nw-0006-wan1-hq-hub1", "nw-0001-wan1-hq-hub1"}
    assert stores <= {m.split()[2].rstrip(":") for m in hub}
    assert all(m.startswith("hq-hub1.swanctl.conf tunnel ") and "window of 32 packets, the fleet keeps 1024" in m for m in hub)
    # IOS-XE store at IOS-XE's default of 64 packets, then with the check off
    ios = found("nw-0003-edge1.cfg", lambda t: t.replace("crypto ipsec security-association replay window-size 1024\n", ""))
    assert len(ios) == 8 and all("window of 64 packets" in m for m in ios)  # six hub tunnels, two AWS
    off = found(
        "nw-0003-edge1.cfg",
        lambda t: t.replace("replay window-size 1024\n", "replay window-size 1024\ncrypto ipsec security-association replay disable\n"),
    )
    assert len(off) == 8 and all("anti-replay checking is off" in m for m in off)
    # VRP store with a global window narrowed to 64
    vrp = found("nw-0005-edge1.cfg", lambda t: t.replace("ike proposal 10\n", "ipsec anti-replay window 64\n#\nike proposal 10\n", 1))
    assert vrp and all(m.startswith("nw-0005-edge1.cfg tunnel ") and "window of 64 packets" in m for m in vrp)
