"""VRP route-policies named after a store whose id, or a link whose name, is long. The inventory
takes store ids and link names of up to 32 characters (`Slug`); a VRP hub names each store link's
import policy `FROM-<id>-<link>` (up to 70 characters) and a store its hub and AWS policies
`HUB-IN-<link>-<hub>`, `HUB-OUT-<link>-<hub>` and `AWS-IN-<link>`, where VRP takes a route-policy's
name in 1 to 40 characters (Huawei WLAN AC V200R010C00 Command Reference, EDOC1100064351,
"route-policy"): a name the router refuses, so the peer named a policy that did not exist.
Such names are now shortened to 40 (a readable head and a hash of the full name, as FortiOS's
are), and the lint holds a route-policy's name to 40 (`vrp-name-length`). A hub's per-store ACL
(`FROM-STORE-<id>`) is held to the lint's 31 characters for an ACL's name, where it was 32; a
store's AWS tunnels and queues named after a long link are shortened to the limits the lint
already held them to (IKE peer and IPsec profile 15, ACL and MQC names 31)."""

from __future__ import annotations

from pathlib import Path

from testsupport.rendering import on_platform, renamed_store_chain

from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path

HUB = "hq-hub1"
OLD = "nw-0001"  # a dual-WAN store of hq-hub1 with AWS tunnels
LONG = "northwind-amsterdam-zuidas-00001"  # 32 characters, the longest id the inventory takes
LONG_LINK = "fiber-primary-amsterdam-zuidas-1"  # 32 characters, the longest link name taken
LIMIT = 40


def _long_chain(tmp_path: Path) -> Path:
    return renamed_store_chain(tmp_path, OLD, LONG, {"wan1": LONG_LINK})


def _policies(text: str) -> tuple[set[str], set[str]]:
    """The route-policies a config defines, and those its BGP peers name."""
    defined = {line.split()[1] for line in text.splitlines() if line.startswith("route-policy ")}
    used = {
        line.split()[3]
        for line in text.splitlines()
        if line.startswith("  peer ") and len(line.split()) > 4 and line.split()[2] == "route-policy"
    }
    return defined, used


def _vrp_name_findings(name: str, role: str, hostname: str, text: str) -> list[str]:
    file = ConfigFile(name=name, platform="huawei_vrp", role=role, hostname=hostname, text=text)
    return [f.message for f in run_platform_rules([file]) if f.rule in ("vrp-name-length", "vrp-undefined-reference")]


def test_a_long_store_id_and_link_name_the_hubs_route_policies_as_vrp_takes_them(tmp_path: Path) -> None:
    fleet = on_platform(load_fleet(_long_chain(tmp_path)), "huawei_vrp")
    text = render_hub(fleet, HUB).text
    defined, used = _policies(text)
    assert all(len(name) <= LIMIT for name in defined | used), sorted(defined | used)
    # the long store's links each have their import policy, and every peer names a defined one
    mine = {name for name in used if name.startswith("FROM-northwind-amsterdam")}
    assert len(mine) == 2
    assert used <= defined
    assert _vrp_name_findings(f"{HUB}.cfg", "hub", HUB, text) == []


def test_a_long_link_name_names_the_stores_route_policies_as_vrp_takes_them(tmp_path: Path) -> None:
    fleet = on_platform(load_fleet(_long_chain(tmp_path)), "huawei_vrp")
    (config,) = render_store(fleet, LONG)
    defined, used = _policies(config.text)
    assert all(len(name) <= LIMIT for name in defined | used), sorted(defined | used)
    assert used <= defined
    assert any(name.startswith("HUB-IN-fiber-primary") for name in used)
    assert any(name.startswith("HUB-OUT-fiber-primary") for name in used)
    assert any(name.startswith("AWS-IN-fiber-primary") for name in used)
    findings = _vrp_name_findings("edge.cfg", "edge", f"{OLD}-edge1", config.text)
    assert not [message for message in findings if "route-policy" in message], findings


def test_a_long_link_name_names_the_stores_aws_tunnels_and_queues_as_vrp_takes_them(tmp_path: Path) -> None:
    """The long link's AWS tunnels (`ike peer` and `ipsec profile` AWS-<LINK>-T<n>, 1 to 15
    characters; their filter FROM-AWS-<LINK>-T<n>) and queues (`traffic behavior`
    QOS-<TAG>-<link>, `traffic policy` QUEUE-<link>, held to 31) take names VRP accepts, each
    still told apart from the other tunnel's and named the same where it is used."""
    fleet = on_platform(load_fleet(_long_chain(tmp_path)), "huawei_vrp")
    (config,) = render_store(fleet, LONG)
    lines = config.text.splitlines()
    peers = {line.split()[2] for line in lines if line.startswith("ike peer AWS-")}
    profiles = {line.split()[2] for line in lines if line.startswith("ipsec profile AWS-")}
    assert len(peers) == 2 and profiles == peers, sorted(peers | profiles)
    assert all(len(name) <= 15 for name in peers)
    assert {line.split()[1] for line in lines if line.startswith(" ike-peer AWS-")} == peers
    assert {line.split()[2] for line in lines if line.startswith(" ipsec profile AWS-")} == profiles
    behaviors = {line.split()[2] for line in lines if line.startswith("traffic behavior ")}
    policies = {line.split()[2] for line in lines if line.startswith("traffic policy ")}
    assert behaviors and all(len(name) <= 31 for name in behaviors | policies), sorted(behaviors | policies)
    queues = {name for name in policies if name.startswith("QUEUE-")}
    assert any(name.startswith("QUEUE-fiber-primary") for name in queues)
    assert {line.split()[1] for line in lines if line.startswith(" traffic-policy QUEUE-")} == queues
    assert {line.split()[3] for line in lines if line.startswith(" classifier ") and len(line.split()) == 4} <= behaviors
    assert _vrp_name_findings("edge.cfg", "edge", f"{OLD}-edge1", config.text) == []


def test_the_lint_holds_a_route_policys_name_to_40_characters() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "huawei_vrp")
    text = render_hub(fleet, HUB).text
    assert _vrp_name_findings(f"{HUB}.cfg", "hub", HUB, text) == []
    fits, too_long = "X" * LIMIT, "X" * (LIMIT + 1)
    for name, expected in ((fits, 0), (too_long, 1)):
        broken = text.replace("route-policy TO-STORES permit node 10\n", f"route-policy {name} permit node 10\n", 1)
        assert broken != text
        messages = _vrp_name_findings(f"{HUB}.cfg", "hub", HUB, broken)
        assert len([m for m in messages if name in m and "40" in m]) == expected, messages
