"""Each tunnel's MTU and TCP MSS come from the transport it rides on (`Tunnel.mtu`): an LTE
link's tunnels carry less than a fiber link's, so a full-size packet still fits the carrier's
MTU once ESP in UDP (NAT-T) with the fleet's AES-GCM has wrapped it, and both ends of a tunnel
hold the same values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.rendering import edited_sample_chain

from storestack.cli.main import cli
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.network.crypto import FLEET_CRYPTO, CryptoPolicy, EspProposal, IkeProposal


@pytest.fixture(scope="module")
def sample() -> Fleet:
    return load_fleet(sample_chain_path())


def _esp_in_udp_bytes(inner: int) -> int:
    """What an `inner`-byte IPv4 packet becomes on the wire with AES-256-GCM-16 in tunnel mode,
    UDP-encapsulated, counted field by field (RFC 4303, 4106, 3948)."""
    padded = -(-(inner + 2) // 4) * 4  # payload, pad length and next header to 4 bytes
    return 20 + 8 + 8 + 8 + padded + 16  # outer IPv4, UDP, SPI+seq, IV, ..., ICV


def test_fleet_esp_overhead_is_counted_field_by_field() -> None:
    assert FLEET_CRYPTO.esp_overhead_bytes() == 65  # 20 + 8 + 8 + 8 + 3 + 2 + 16
    # The old fixed MTU over an LTE carrier's 1428: 1400 inner bytes do not fit.
    assert _esp_in_udp_bytes(1400) > 1428
    # A CBC proposal costs more (16-byte IV and blocks, HMAC-SHA-256-128): the worst one counts.
    cbc = CryptoPolicy(ike=(IkeProposal("aes256", "sha256", 20),), esp=(EspProposal("aes256", "sha256", 20),))
    assert cbc.esp_overhead_bytes() == 20 + 8 + 8 + 16 + 15 + 2 + 16


@pytest.mark.parametrize(
    ("store_id", "link", "underlay", "mtu", "mss"),
    [
        ("nw-0003", "wan1", 1500, 1432, 1392),  # fiber
        ("nw-0003", "wan2", 1492, 1424, 1384),  # broadband (PPPoE)
        ("nw-0003", "lte1", 1428, 1360, 1320),  # 5g
        ("nw-0002", "lte1", 1428, 1360, 1320),  # lte
    ],
)
def test_store_tunnels_take_their_transports_mtu(
    sample: Fleet, store_id: str, link: str, underlay: int, mtu: int, mss: int
) -> None:
    intent = NetworkIntent(sample).store(store_id)
    tunnels = [t for t in intent.tunnels if t.transport == link]
    assert {t.kind for t in tunnels} >= {"store-hub"}
    for tunnel in tunnels:
        assert (tunnel.mtu.underlay, tunnel.mtu.mtu, tunnel.mtu.tcp_mss) == (underlay, mtu, mss), tunnel.id
        # A full-size inner packet fits the carrier's MTU after encryption, and 8 bytes more would not
        # be a multiple of 8 that does.
        assert _esp_in_udp_bytes(tunnel.mtu.mtu) <= underlay < _esp_in_udp_bytes(tunnel.mtu.mtu + 8) + 8
    (transport,) = (t for t in intent.transports if t.name == link)
    assert transport.mtu.mtu == mtu


def test_hub_end_of_every_store_link_agrees_with_the_store(sample: Fleet) -> None:
    intent = NetworkIntent(sample)
    seen = 0
    for hub in sample.hubs:
        for tunnel in intent.hub(hub).tunnels:
            if tunnel.kind == "store-hub":
                (store_end,) = (t for t in intent.store(tunnel.peer).tunnels if t.id == tunnel.id)
                assert tunnel.mtu == store_end.mtu, tunnel.id
                seen += 1
            else:  # the hub's cloud VPNs ride its own Ethernet uplink
                assert (tunnel.mtu.underlay, tunnel.mtu.mtu, tunnel.mtu.tcp_mss) == (1500, 1432, 1392)
    assert seen


def test_a_links_own_mtu_overrides_its_kinds(tmp_path: Path) -> None:
    """A carrier that hands out 1400 (`mtu: 1400` on the link in the store's file)."""
    root = edited_sample_chain(tmp_path, "    isp: KPN Mobile\n", "    isp: KPN Mobile\n    mtu: 1400\n", "stores/nw-0002.yaml")
    intent = NetworkIntent(load_fleet(root))
    tunnels = [t for t in intent.store("nw-0002").tunnels if t.transport == "lte1"]
    assert tunnels and {(t.mtu.mtu, t.mtu.tcp_mss) for t in tunnels} == {(1328, 1288)}
    hub_ends = [t for hub in ("hq-hub1", "hq-hub2") for t in intent.hub(hub).tunnels if t.id in {x.id for x in tunnels}]
    assert hub_ends and {t.mtu.mtu for t in hub_ends} == {1328}


def test_network_show_prints_each_tunnels_mtu_and_mss() -> None:
    """nw-0003: fiber, PPPoE broadband and 5G, each with its own tunnel MTU and MSS."""
    report = json.loads(CliRunner().invoke(cli, ["network", "show", "nw-0003", "--json"]).output)
    by_link = {(t["transport"], t["underlay_mtu"], t["mtu"], t["tcp_mss"]) for t in report["tunnels"]}
    assert by_link == {("wan1", 1500, 1432, 1392), ("wan2", 1492, 1424, 1384), ("lte1", 1428, 1360, 1320)}
    assert {t["name"]: t["mtu"] for t in report["transports"]} == {"wan1": 1500, "wan2": 1492, "lte1": 1428}
    text = CliRunner().invoke(cli, ["network", "show", "nw-0003"]).output
    lte = [line for line in text.splitlines() if "nw-0003-lte1-" in line]
    assert lte and all("mtu 1360 mss 1320 (underlay 1428)" in line for line in lte)
