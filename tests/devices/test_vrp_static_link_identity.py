"""A Huawei VRP store identifies its static links by address (`local-id-type ip`: it sends one
FQDN for the whole device). Where its IKE peer names no `remote-id-type`, what type it expects
of the hub is not documented for the AR, and Huawei documents elsewhere check the peer by the
local ID type: an FQDN from the hub would fail phase 1 on every such link. So both ends of those
tunnels identify by address, on every hub platform; FQDN links keep FQDNs on both ends."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import on_platform

from storestack.common.platforms import Platform
from storestack.devices.lint import ConfigFile
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

HUBS = {"hq-hub1": "203.0.113.11", "hq-hub2": "203.0.113.12"}


def _file(files: list[ConfigFile], name: str) -> str:
    return next(f.text for f in files if f.name == name)


def _blocks(text: str, head: str) -> dict[str, list[str]]:
    """Sections of a line-oriented config whose first line starts with `head`, by that line."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(head):
            current = blocks[line] = []
        elif current is not None and line.startswith(" "):
            current.append(line.strip())
        else:
            current = None
    return blocks


def _store_peers(text: str) -> dict[str, set[str]]:
    """nw-0005's VRP IKE peers towards the hubs: remote address -> its identity lines."""
    peers: dict[str, set[str]] = {}
    for head, lines in _blocks(text, "ike peer HUB-").items():
        address = next(line.split()[-1] for line in lines if line.startswith("remote-address"))
        key = f"{head.split()[-1]} {address}"
        peers[key] = {line for line in lines if line.startswith(("local-id-type", "remote-id"))}
    return peers


@pytest.mark.parametrize("hubs", ["frr", "cisco_xe", "fortinet"])
def test_the_hubs_send_their_address_to_a_vrp_stores_static_link(fleet: Fleet, hubs: Platform) -> None:
    served = on_platform(fleet, None, hubs=hubs)
    files = config_files(served)
    lte1 = str(served.store("nw-0005").wan[1].address.ip)  # type: ignore[union-attr]

    # The intent: one decision for both ends of each tunnel.
    tunnels = [t for t in NetworkIntent(served).store("nw-0005").tunnels if t.kind == "store-hub"]
    ids = {(t.transport, t.peer): (t.local_id, t.peer_id) for t in tunnels}
    assert ids == {
        ("lte1", "hq-hub1"): (lte1, HUBS["hq-hub1"]),
        ("lte1", "hq-hub2"): (lte1, HUBS["hq-hub2"]),
        ("wan1", "hq-hub1"): ("nw-0005-wan1.northwind.example", "hq-hub1.northwind.example"),
        ("wan1", "hq-hub2"): ("nw-0005-wan1.northwind.example", "hq-hub2.northwind.example"),
    }

    # The store: its address links expect the hub's address (no FQDN remote-id), its FQDN link the FQDN.
    store = _store_peers(_file(files, "nw-0005-edge1.cfg"))
    by_type: dict[str, list[set[str]]] = {}
    for lines in store.values():
        kind = next(line.split()[1] for line in lines if line.startswith("local-id-type"))
        by_type.setdefault(kind, []).append(lines)
    assert by_type["ip"] == [{"local-id-type ip"}] * 2
    assert sorted(sorted(lines) for lines in by_type["fqdn"]) == [
        ["local-id-type fqdn", "remote-id hq-hub1.northwind.example"],
        ["local-id-type fqdn", "remote-id hq-hub2.northwind.example"],
    ]

    # Each hub: its address on nw-0005-lte1's tunnel, its FQDN on nw-0005-wan1's.
    for hub, address in HUBS.items():
        fqdn = f"hq-hub{hub[-1]}.northwind.example"
        if hubs == "frr":
            text = _file(files, f"{hub}.swanctl.conf")
            for link, identity in (("lte1", address), ("wan1", fqdn)):
                connection = text.split(f"    nw-0005-{link}-{hub} : storestack-ike {{\n", 1)[1]
                local = connection.split("        local {\n", 1)[1].split("\n", 1)[0]
                assert local.strip() == f"id = {identity}", (hub, link)
        elif hubs == "cisco_xe":
            text = _file(files, f"{hub}.cfg")
            profiles = _blocks(text, "crypto ikev2 profile ")
            lte = [lines for lines in profiles.values() if f"match identity remote address {lte1} 255.255.255.255" in lines]
            assert len(lte) == 1 and f"identity local address {address}" in lte[0]
            assert not [line for line in lte[0] if line.startswith("identity local fqdn")]
            assert f"identity local fqdn {fqdn}" in profiles["crypto ikev2 profile STORES"]
        else:
            text = _file(files, f"{hub}.cfg")
            phase1 = text.split("config vpn ipsec phase1-interface\n", 1)[1].split("\nend\n", 1)[0]
            edits = {e.split("\n", 1)[0].strip(): e for e in phase1.split("    edit ")[1:]}
            lte, wan = edits['"nw-0005-lte1"'], edits['"nw-0005-wan1"']
            assert f"set remote-gw {lte1}\n" in lte
            assert "set localid-type address\n" in lte and "set localid " not in lte
            assert f'set localid "{fqdn}"' in wan and "set localid-type fqdn\n" in wan


def test_a_vrp_hub_sends_its_address_where_a_vrp_store_link_is_known_by_its_address(fleet: Fleet) -> None:
    # A VRP hub serves statically addressed stores only: every link static, the first one the
    # store's FQDN link, the others known by address.
    vrp = on_platform(fleet, "huawei_vrp")
    files = config_files(vrp)
    peers = _blocks(_file(files, "hq-hub1.cfg"), "ike peer STORE-")
    kinds = {
        (next(line for line in lines if line.startswith("local-id-type")), any(line.startswith("remote-id") for line in lines))
        for lines in peers.values()
    }
    # Known by address: the hub's address back, nothing else; known by FQDN: the FQDN both ways.
    assert kinds == {("local-id-type ip", False), ("local-id-type fqdn", True)}
    for store in vrp:
        links = store.wan[1:]
        store_text = _file(files, f"{store.appliances[0].hostname}.cfg")
        for lines in _store_peers(store_text).values():
            assert ("local-id-type ip" in lines) == (not any(line.startswith("remote-id") for line in lines))
        assert store_text.count(" local-id-type ip\n") == 2 * len(links)
    # And where no store has a second link, no hub peer sends its address.
    intent = NetworkIntent(vrp)
    addressed = {
        t.id for t in intent.hub("hq-hub1").tunnels if t.kind == "store-hub" and re.fullmatch(r"[\d.]+", t.local_id)
    }
    assert addressed == {
        t.id
        for store in vrp
        for t in intent.store(store.id).tunnels
        if t.kind == "store-hub" and t.peer == "hq-hub1" and re.fullmatch(r"[\d.]+", t.local_id)
    }
    assert addressed
