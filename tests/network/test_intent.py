"""The network intent: what a store's network is, checked the way a network engineer would."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import Fleet, hq, load_fleet, sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.network.build import NetworkIntent, derive_psk, excluding

PSK_ENV = "STORESTACK_TEST_IPSEC_PSK"


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture
def revealed(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> NetworkIntent:
    """An intent with the fleet's PSK secret configured and values revealed."""
    monkeypatch.setenv(PSK_ENV, "fleet-secret-for-tests")
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", "fleet-secret-for-tests")  # for the CLI's own fleet
    monkeypatch.setitem(fleet.spec.management.secrets, "ipsec-psk", f"env:{PSK_ENV}")
    return NetworkIntent(fleet, reveal_secrets=True)


def test_every_transport_reaches_both_hubs(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    for store in fleet:
        built = intent.store(store.id)
        pairs = {(t.transport, t.peer) for t in built.tunnels if t.kind == "store-hub"}
        assert pairs == {(link.name, hub) for link in store.wan for hub in fleet.hubs}, store.id


def test_lte_stays_backup_and_backup_hub_ranks_below_primary(fleet: Fleet) -> None:
    built = NetworkIntent(fleet).store("nw-0001")
    pref = {(t.transport, t.peer): t.local_pref for t in built.tunnels if t.kind == "store-hub"}
    assert (
        pref[("wan1", "hq-hub1")]
        > pref[("wan1", "hq-hub2")]
        > pref[("lte1", "hq-hub1")]
        > pref[("lte1", "hq-hub2")]
    )


def _hub_preferences(intent: NetworkIntent, fleet: Fleet) -> dict[str, dict[tuple[str, str], int]]:
    """Per store, the local preference each hub gives the store's routes over each of its links:
    (link, hub) -> local preference, from the hubs' own ends of the store tunnels."""
    found: dict[str, dict[tuple[str, str], int]] = {store.id: {} for store in fleet}
    for hub in fleet.hubs:
        for tunnel in intent.hub(hub).tunnels:
            if tunnel.kind == "store-hub":
                assert tunnel.peer_transport is not None
                found[tunnel.peer][(tunnel.peer_transport, hub)] = tunnel.local_pref
    return found


def test_the_hubs_and_the_lte_only_store_prefer_the_link_voice_leaves_on(fleet: Fleet) -> None:
    """nw-0007 lists its LTE link first and its 5G link second, and voice, its strictest class,
    leaves over 5G: each hub prefers the store's routes over the 5G link, and the store prefers
    the hubs' routes over it and announces its own there with the shorter AS path, so answers
    come back the way the calls left."""
    store = fleet.stores["nw-0007"]
    assert [(link.name, link.kind) for link in store.wan] == [("lte1", "lte"), ("lte2", "5g")]
    intent = NetworkIntent(fleet)
    built = intent.store(store.id)
    assert built.sla.application("voice").paths[0].transport == "lte2"
    hubs = _hub_preferences(intent, fleet)[store.id]
    for hub in fleet.hubs:
        assert hubs[("lte2", hub)] > hubs[("lte1", hub)], hub
    tunnels = [tunnel for tunnel in built.tunnels if tunnel.kind == "store-hub"]
    over = {link: [t for t in tunnels if t.transport == link] for link in ("lte1", "lte2")}
    assert min(t.local_pref for t in over["lte2"]) > max(t.local_pref for t in over["lte1"])
    assert built.routed_tunnel is not None and built.routed_tunnel.transport == "lte2"
    prepends = {(t.transport, t.peer): t.prepend for t in tunnels}
    for hub in fleet.hubs:
        assert prepends[("lte2", hub)] < prepends[("lte1", hub)], hub


def _assert_hubs_prefer_the_strictest_first_path(fleet: Fleet) -> None:
    """For every store and each hub, the link over which the hub gives the store's routes its
    highest local preference is the transport of the first path of the store's strictest overlay
    application (lowest loss threshold, then the quickest detection). No hub serves a
    decommissioned store."""
    intent = NetworkIntent(fleet)
    preferences = _hub_preferences(intent, fleet)
    for store in fleet:
        if store.state == "decommissioned":
            assert preferences[store.id] == {}, store.id
            continue
        applications = [a for a in intent.store(store.id).sla.applications if a.overlay]
        strictest = min(
            applications, key=lambda a: (a.sla.thresholds.loss_percent, a.sla.timers.detection_seconds, a.sla.name)
        )
        links = preferences[store.id]
        assert {hub for _, hub in links} == set(store.hubs), store.id
        for hub in store.hubs:
            at_hub = {link: value for (link, each), value in links.items() if each == hub}
            top = max(at_hub.values())
            best = {link for link, value in at_hub.items() if value == top}
            assert best == {strictest.paths[0].transport}, (store.id, hub, strictest.name, at_hub)


def test_the_hubs_prefer_each_sample_store_over_its_strictest_application_s_first_path(fleet: Fleet) -> None:
    _assert_hubs_prefer_the_strictest_first_path(fleet)


def test_the_hubs_prefer_each_generated_store_over_its_strictest_application_s_first_path(tmp_path: Path) -> None:
    """A generated fleet (LTE-only stores list LTE before 5G), every third store's voice
    preferring broadband to fibre and LTE to 5G, against the stores' own link order."""
    generated = generate_fleet(60, seed=7)
    reordered = {store["id"] for store in generated.stores[::3]}
    for store in generated.stores[::3]:
        store["sla"] = {
            "applications": {
                "voice": {
                    "sla": "realtime",
                    "segments": ["office"],
                    "protocol": "udp",
                    "ports": ["5060", "16384-32767"],
                    "transports": ["broadband", "fiber", "lte", "5g"],
                    "dscp": "ef",
                }
            }
        }
    write_fleet(generated, tmp_path / "fleet")
    fleet = load_fleet(tmp_path / "fleet", write_lock=True)
    kinds = {store.id: tuple(link.kind for link in store.wan) for store in fleet if store.state != "decommissioned"}
    assert ("lte", "5g") in kinds.values()
    assert any(kinds[name][:2] == ("fiber", "broadband") for name in reordered & kinds.keys())
    _assert_hubs_prefer_the_strictest_first_path(fleet)


def test_each_tunnel_underlay_is_pinned_to_its_own_transport(fleet: Fleet) -> None:
    built = NetworkIntent(fleet).store("nw-0001")
    for tunnel in built.tunnels:
        assert tunnel.underlay is not None
        assert tunnel.underlay.transport == tunnel.transport
        assert tunnel.underlay.destination == ipaddress.IPv4Network(f"{tunnel.peer_outside}/32")


def test_both_ends_of_every_tunnel_agree(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    hub_ends = {t.id: t for hub in fleet.hubs for t in intent.hub(hub).tunnels}
    overlay: set[ipaddress.IPv4Network] = set()
    for store in fleet:
        for tunnel in intent.store(store.id).tunnels:
            if tunnel.kind != "store-hub":
                continue
            hub = hub_ends[tunnel.id]
            assert tunnel.local_inside is not None and hub.local_inside is not None
            assert (hub.peer_inside, hub.local_inside.ip) == (tunnel.local_inside.ip, tunnel.peer_inside)
            assert (hub.local_id, hub.peer_id) == (tunnel.peer_id, tunnel.local_id)
            assert (hub.local_asn, hub.peer_asn) == (tunnel.peer_asn, tunnel.local_asn)
            assert hub.local_outside == tunnel.peer_outside
            assert hub.psk.name == tunnel.psk.name
            assert tunnel.local_inside.network not in overlay, "two tunnels share an overlay /31"
            overlay.add(tunnel.local_inside.network)


def test_per_tunnel_psks_differ_and_both_ends_compute_the_same(revealed: NetworkIntent) -> None:
    store = revealed.store("nw-0001")
    values = [t.psk.reveal() for t in store.tunnels]
    assert len(set(values)) == len(values), "planned PSKs must differ per tunnel"
    hub_end = next(t for t in revealed.hub("hq-hub2").tunnels if t.id == "nw-0001-wan1-hq-hub2")
    assert hub_end.psk.reveal() == next(t for t in store.tunnels if t.id == hub_end.id).psk.reveal()
    assert values[0] == derive_psk("fleet-secret-for-tests", store.tunnels[0].id)
    assert "fleet-secret-for-tests" not in values


def test_psk_is_acceptable_to_aws_and_every_cli() -> None:
    psk = derive_psk("x" * 12, "nw-0001-wan1-hq-hub1")
    assert 8 <= len(psk) <= 64 and psk[0] != "0" and psk.isalnum()


def test_hubs_carry_cloud_vpns_and_peer_each_other(fleet: Fleet) -> None:
    hub = NetworkIntent(fleet).hub("hq-hub1")
    kinds = {t.kind for t in hub.tunnels}
    assert {"store-hub", "hub-aws", "hub-openstack"} <= kinds
    assert any(s.kind == "hub-hub" and s.peer == "hq-hub2" for s in hub.sessions)
    assert ipaddress.IPv4Network(f"{hub.loopback}/32") in hub.originates


def test_hubs_share_the_cloud_routes_they_originate_summaries_for(fleet: Fleet) -> None:
    """Every hub announces the cloud and desktop summaries to the stores while a route inside
    them is learned from its cloud VPNs or the other hub: a hub whose own cloud VPNs are down
    learns the specifics from the other hub and keeps delivering the stores' cloud traffic."""
    intent = NetworkIntent(fleet)
    plan = fleet.spec.ip_plan
    for name in fleet.hubs:
        hub = intent.hub(name)
        (ibgp,) = [s for s in hub.sessions if s.kind == "hub-hub"]
        summaries = {s.prefix: s.sources for s in hub.summaries}
        for summary in (plan.cloud, plan.desktops):
            assert summary not in hub.originates
            assert set(summaries[summary]) == {"hub-aws", "hub-openstack", "hub-hub"}
            assert any(summary.subnet_of(net) for net in ibgp.accepts), f"{name} refuses {summary} from its peer hub"
            assert any(summary.subnet_of(net) for net in ibgp.announces), f"{name} keeps {summary} from its peer hub"


def test_a_hub_announces_hq_only_while_the_dc_core_teaches_it(fleet: Fleet) -> None:
    """HQ's summary comes from the DC core alone: the hubs never pass HQ's routes to each other,
    so a hub whose DC sessions are down has nothing inside it and withdraws it, and the stores
    send HQ's traffic to the other hub instead of into a discard route."""
    intent = NetworkIntent(fleet)
    plan = fleet.spec.ip_plan
    for name in fleet.hubs:
        hub = intent.hub(name)
        summaries = {s.prefix: s.sources for s in hub.summaries}
        for net in plan.hq:
            assert summaries[net] == ("hub-dc",) and net not in hub.originates
            for session in hub.sessions:
                if session.kind == "hub-hub":
                    assert not any(net.overlaps(other) for other in (*session.accepts, *session.announces))


def test_segmentation_is_default_deny_with_narrow_flows(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    flows = intent.store("nw-0001").flows
    by_zone: dict[str, set[str]] = {}
    for flow in flows:
        by_zone.setdefault(flow.source, set()).add(flow.service.name)
    assert by_zone["pos"] == {"hq-pos", "payment"}
    assert by_zone["guest-wifi"] == {"internet"}
    assert by_zone["iot"] == {"iot-services"}
    assert by_zone["cctv"] == {"recorder"}
    assert by_zone["office"] == {"corporate", "desktops", "internet"}
    # No flow reaches POS or office from any other zone.
    store = intent.store("nw-0001")
    protected = {p for z in store.zones if z.name in ("pos", "office") for p in z.prefixes}
    for flow in flows:
        assert not any(p.overlaps(q) for p in flow.service.prefixes for q in protected)
    guest = store.zone("guest-wifi")
    assert guest is not None and not guest.enters_overlay and guest.qos_class == "best-effort"


def test_lte_only_store_still_carries_office_and_iot(fleet: Fleet) -> None:
    lte_only = [store for store in fleet if store.lte_only]
    assert lte_only, "the sample chain has an LTE-only store"
    built = NetworkIntent(fleet).store(lte_only[0].id)
    over_cellular = {zone.name for zone in built.zones if zone.over_cellular}
    assert {"pos", "office"} <= over_cellular
    assert "iot" in over_cellular or "iot" not in {zone.name for zone in built.zones}


def test_network_show_json_has_no_secret(revealed: NetworkIntent, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["network", "show", "nw-0001", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert len([t for t in report["tunnels"] if t["kind"] == "store-hub"]) == 4
    assert {z["name"] for z in report["zones"]} >= {"pos", "guest-wifi"}
    assert derive_psk("fleet-secret-for-tests", "nw-0001-wan1-hq-hub1") not in result.output


@pytest.mark.parametrize(("store", "aws"), [("nw-0001", True), ("nw-0002", False)])
def test_network_show_says_where_each_application_goes_through_the_hubs(fleet: Fleet, store: str, aws: bool) -> None:
    """Per overlay application, the private prefixes its segments' flows reach through the hubs
    (what a hub must route for steering to send it there): POS to HQ POS and payment only; the
    office's classes to HQ (but payment, HQ POS and management) and the desktops, and the cloud
    only where no AWS tunnel carries it; nothing for guest Wi-Fi, which breaks out locally."""
    intent = NetworkIntent(fleet)
    report = json.loads(CliRunner().invoke(cli, ["network", "show", store, "--json"]).output)
    by_name = {a["name"]: a["destinations"] for a in report["sla"]["applications"]}
    services = intent.services
    assert by_name["pos"] == sorted(str(p) for name in ("hq-pos", "payment") for p in services[name].prefixes)
    assert by_name.get("guest", []) == []
    hq = ipaddress.IPv4Network("10.0.0.0/16")
    office_hq = [p for p in services["corporate"].prefixes if p.subnet_of(hq)]
    assert office_hq and all(not p.overlaps(q) for p in office_hq for name in ("hq-pos", "payment") for q in services[name].prefixes)
    if aws:
        assert sorted(by_name["voice"]) == sorted(str(p) for p in (*office_hq, *services["desktops"].prefixes))
    else:
        assert "10.16.0.0/14" in by_name["voice"]  # no AWS tunnel: the cloud through the hubs


def test_no_store_office_or_desktop_reaches_the_dc_core(fleet: Fleet) -> None:
    """The DC core LAN (the core routers, the hubs' DC addresses: BGP between them only) is no
    corporate range: `network show STORE --json` lists the office's corporate flow without it
    and every other HQ address with it (payment, HQ POS and management aside), `network show
    HUB --json` the stores' corporate ranges without it, and the cloud desktops' HTTPS goes
    everywhere corporate but there."""
    core = hq.core_lan(fleet.spec)
    intent = NetworkIntent(fleet)
    assert core.subnet_of(fleet.spec.ip_plan.hq[0])
    report = json.loads(CliRunner().invoke(cli, ["network", "show", "nw-0001", "--json"]).output)
    (office,) = [f for f in report["flows"] if f["from"] == "office" and f["to"] == "corporate"]
    reached = [ipaddress.IPv4Network(p) for p in office["prefixes"]]
    assert reached and not any(net.overlaps(core) for net in reached)
    services = intent.services
    holes = (core, *services["payment"].prefixes, *services["hq-pos"].prefixes, *fleet.spec.ip_plan.management)
    assert sorted(reached) == sorted(excluding((*fleet.spec.ip_plan.hq, fleet.spec.ip_plan.cloud), holes))
    hub = json.loads(CliRunner().invoke(cli, ["network", "show", "hq-hub1", "--json"]).output)
    assert not any(ipaddress.IPv4Network(n).overlaps(core) for n in hub["store_forwarding"]["corporate"])
    assert core.broadcast_address + 1 in ipaddress.IPv4Network(hub["store_forwarding"]["corporate"][0])
    https = next(f for f in intent.desktop_flows if f.service == "corporate")
    assert https.destinations and not any(net.overlaps(core) for net in https.destinations)
    assert intent.dc_infrastructure == (core,)


def test_network_show_unknown_store_exits_2() -> None:
    result = CliRunner().invoke(cli, ["network", "show", "nw-9999"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("target", "platform", "trusted", "asks_with"),
    [
        ("hq-hub1", "frr", [1, 3], 1),  # chrony: AES128 and the keyed SHA256 digest
        ("nw-0003", "cisco_xe", [1, 2], 1),  # cmac-aes-128 and hmac-sha2-256
        ("nw-0005", "huawei_vrp", [2], 2),  # hmac-sha256 only
        ("nw-0006", "fortinet", [3], 3),  # SHA256 (the keyed digest) only
    ],
)
def test_network_show_names_every_key_the_ntp_servers_need(
    target: str, platform: str, trusted: list[int], asks_with: int
) -> None:
    """Per appliance, the keys its platform can compute as the servers do and the one it asks
    with; for the NTP servers, every key of the fleet with its algorithm and who uses it."""
    result = CliRunner().invoke(cli, ["network", "show", target, "--json"])
    assert result.exit_code == 0, result.output
    ntp = json.loads(result.output)["ntp"]
    assert (ntp["platform"], ntp["trusted_key_ids"], ntp["asks_with"]) == (platform, trusted, asks_with)
    assert [(k["id"], k["algorithm"], k["secret"], k["platforms"]) for k in ntp["server_keys"]] == [
        (1, "aes128-cmac", "ntp-key", ["cisco_xe", "frr"]),
        (2, "hmac-sha256", "ntp-key-hmac", ["cisco_xe", "huawei_vrp"]),
        (3, "sha256", "ntp-key-sha256", ["fortinet", "frr"]),
    ]
    table = CliRunner().invoke(cli, ["network", "show", target])
    assert table.exit_code == 0, table.output
    assert f"asks with key {asks_with}" in table.output and "hmac-sha256" in table.output


def test_aws_tunnel_options_refuse_a_lifetime_aws_does_not_accept() -> None:
    """The fleet's lifetimes are inside what an AWS Site-to-Site VPN tunnel accepts (phase 1
    900-28800 s, phase 2 900-3600 s); a policy outside them fails before any stack is planned."""
    import dataclasses

    import pytest

    from storestack.network.crypto import FLEET_CRYPTO, aws_tunnel_options

    options = aws_tunnel_options(FLEET_CRYPTO)
    assert (options["phase1_lifetime_seconds"], options["phase2_lifetime_seconds"]) == (
        FLEET_CRYPTO.ike_lifetime_seconds,
        FLEET_CRYPTO.esp_lifetime_seconds,
    )
    with pytest.raises(ValueError, match="IKE \\(phase 1\\) lifetime 86400 s"):
        aws_tunnel_options(dataclasses.replace(FLEET_CRYPTO, ike_lifetime_seconds=86400))
    with pytest.raises(ValueError, match="ESP \\(phase 2\\) lifetime 43200 s"):
        aws_tunnel_options(dataclasses.replace(FLEET_CRYPTO, esp_lifetime_seconds=43200))


def test_network_show_tells_the_nms_the_fleets_snmp_protocols() -> None:
    """The NMS polls every appliance with the fleet's one SNMPv3 pair (the sample chain keeps
    SHA-1 / AES-128: its IOS-XE and VRP stores document no SHA-2, its FRR, FortiOS and VRP
    appliances no AES-256), at the appliance's loopback."""
    result = CliRunner().invoke(cli, ["network", "show", "nw-0003", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["snmp"] == {
        "poll": report["management"]["source"],
        "security_level": "authPriv",
        "auth": "sha1",
        "auth_protocol": "HMAC-SHA-96 (RFC 3414; net-snmp SHA)",
        "priv": "aes128",
        "priv_protocol": "CFB128-AES-128 (RFC 3826; net-snmp AES)",
    }
    table = CliRunner().invoke(cli, ["network", "show", "hq-hub1"])
    assert table.exit_code == 0, table.output
    assert "SNMPv3 authPriv: HMAC-SHA-96" in table.output
