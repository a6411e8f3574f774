"""The HQ service addresses and the hubs' DC core LAN are inventory fields: defaults keep existing
inventories' addresses, written values reach the intent and every platform's config."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.rendering import edited_sample_chain, hubs_on_yaml, on_platform, static_wan_yaml

from storestack.cli.common import console
from storestack.cli.main import cli
from storestack.cli.network import _print_hub
from storestack.common.platforms import HUB_NO_UPLINK_QUEUES, HUB_STATIC_PEERS_ONLY, Platform
from storestack.devices.render import render_appliance, render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.errors import InventoryError
from storestack.network.build import NetworkIntent
from storestack.network.show import hub_report

Net = ipaddress.IPv4Network
Address = ipaddress.IPv4Address


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


def test_defaults_keep_the_services_where_they_were_and_put_the_dc_lan_at_the_start_of_hq(
    fleet: Fleet,
) -> None:
    intent = NetworkIntent(fleet)
    services = intent.services
    assert services["hq-pos"].prefixes == (Net("10.0.10.0/24"),)
    assert services["payment"].prefixes == (Net("10.0.11.0/24"),)
    assert services["iot-services"].prefixes == (Net("10.0.20.0/24"),)
    assert services["recorder"].prefixes == (Net("10.0.30.0/24"),)
    hub1, hub2 = intent.hub("hq-hub1"), intent.hub("hq-hub2")
    assert hub1.dc.address == ipaddress.IPv4Interface("10.0.0.3/28")
    assert hub2.dc.address == ipaddress.IPv4Interface("10.0.0.4/28")
    assert hub1.dc.routers == (Address("10.0.0.1"), Address("10.0.0.2"))
    assert hub1.dc.core_asn == fleet.spec.asn.dc_core == 65010


def test_hubs_peer_the_dc_core_and_each_other_on_the_dc_lan(fleet: Fleet) -> None:
    hub = NetworkIntent(fleet).hub("hq-hub1")
    dc = [s for s in hub.sessions if s.kind == "hub-dc"]
    assert [(str(s.peer_address), s.peer_asn, str(s.local_address)) for s in dc] == [
        ("10.0.0.1", 65010, "10.0.0.3"),
        ("10.0.0.2", 65010, "10.0.0.3"),
    ]
    for session in dc:
        assert session.accepts_default and session.accepts == (Net("10.0.0.0/16"),)
        assert Net("10.64.0.0/12") in session.announces and Net("10.255.0.0/16") in session.announces
        assert Net("10.0.0.0/16") not in session.announces  # HQ is never sent back to HQ
    (ibgp,) = [s for s in hub.sessions if s.kind == "hub-hub"]
    assert (str(ibgp.local_address), str(ibgp.peer_address), ibgp.peer_asn) == ("10.0.0.3", "10.0.0.4", 65000)


def test_written_services_reach_the_flows_and_the_store_acls(tmp_path: Path) -> None:
    root = edited_sample_chain(
        tmp_path,
        "    name: ams-dc1\n",
        "    name: ams-dc1\n    services:\n      payment: [10.0.77.0/24, 10.16.9.0/24]\n",
    )
    fleet = load_fleet(root)
    intent = NetworkIntent(fleet)
    pos = {f.service.name: f.service.prefixes for f in intent.store("nw-0003").flows if f.source == "pos"}
    assert pos["payment"] == (Net("10.0.77.0/24"), Net("10.16.9.0/24"))
    assert pos["hq-pos"] == (Net("10.0.10.0/24"),)  # the others keep their defaults
    text = render_appliance(fleet, "nw-0003", "nw-0003-edge1").text  # IOS-XE
    assert "10.0.77.0 0.0.0.255" in text and "10.16.9.0 0.0.0.255" in text
    # The default payment /24 is no payment service any more (only an office's corporate range).
    assert "10.0.11.0 0.0.0.255 eq 443" not in text


@pytest.mark.parametrize("platform", ["frr", "cisco_xe", "huawei_vrp", "fortinet"])
def test_a_written_dc_core_reaches_every_hub_platform(tmp_path: Path, platform: Platform) -> None:
    root = edited_sample_chain(
        tmp_path,
        "    name: ams-dc1\n",
        "    name: ams-dc1\n    core:\n      subnet: 10.0.4.0/29\n      routers: [10.0.4.6]\n",
    )
    hubs_on_yaml(root, platform, platform)
    text = (root / "fleet.yaml").read_text()
    text = text.replace("  openstack: 64513\n", "  openstack: 64513\n  dc_core: 64900\n", 1)
    (root / "fleet.yaml").write_text(text)
    if platform in HUB_STATIC_PEERS_ONLY:
        static_wan_yaml(root)  # such a hub serves only statically addressed stores
    fleet = load_fleet(root)
    config = render_hub(fleet, "hq-hub2").text
    # hq-hub2 is the second hub: the LAN's second host after the one router.
    assert {"frr": "ip address 10.0.4.3/29", "fortinet": "set ip 10.0.4.3 255.255.255.248"}.get(
        platform, "ip address 10.0.4.3 255.255.255.248"
    ) in config
    neighbor = {
        "frr": " neighbor 10.0.4.6 remote-as 64900",
        "cisco_xe": " neighbor 10.0.4.6 remote-as 64900",
        "huawei_vrp": " peer 10.0.4.6 as-number 64900",
        "fortinet": 'edit "10.0.4.6"',
    }[platform]
    assert neighbor in config
    assert "10.0.0.1" not in config.replace("10.0.0.0", "")  # the default routers are gone
    # iBGP towards hq-hub1 on its LAN address, not its loopback.
    assert "10.0.4.2" in config and "update-source" not in config


def test_a_default_that_does_not_fit_is_an_error_at_the_hq_line(tmp_path: Path) -> None:
    root = edited_sample_chain(tmp_path, "    - 10.0.0.0/16\n", "    - 10.0.0.0/20\n")
    fleet_text = (root / "fleet.yaml").read_text()
    for old, new in (
        ("10.0.250.0/24", "10.0.15.0/24"),
        ("10.0.250.11", "10.0.15.11"),
        ("10.0.250.12", "10.0.15.12"),
    ):
        fleet_text = fleet_text.replace(old, new)
    (root / "fleet.yaml").write_text(fleet_text)
    with pytest.raises(InventoryError) as error:
        load_fleet(root)
    line = fleet_text.splitlines().index("    - 10.0.0.0/20") + 1
    messages = [str(issue) for issue in error.value.issues]
    assert (
        f"fleet.yaml:{line} ip_plan.hq[0]: 10.0.0.0/20 cannot hold the default /24 of sites.hq.services.recorder (offset 30); set sites.hq.services.recorder"
        in messages
    )


def test_network_show_reports_a_hub_with_its_dc_core_peers() -> None:
    result = CliRunner().invoke(cli, ["network", "show", "hq-hub2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dc"] == {"address": "10.0.0.4/28", "core_asn": 65010, "routers": ["10.0.0.1", "10.0.0.2"]}
    dc = [p for p in report["peers"] if p["kind"] == "hub-dc"]
    assert {p["address"] for p in dc} == {"10.0.0.1", "10.0.0.2"} and dc[0]["accepts"][0] == "0.0.0.0/0"
    assert [p["address"] for p in report["peers"] if p["kind"] == "hub-hub"] == ["10.0.0.3"]
    # its queues towards the stores: the stores' classes, shaped to the intent's rate of its uplink
    # (95% of it, what its qos.tc root and the qos lint hold it to), not to the line rate
    assert report["uplink_mbps"] == 1000 and report["uplink_queue_kbps"] == 950000
    assert [(q["class"], q["dscp"]) for q in report["qos"]][:2] == [("voice", "ef"), ("pos", "af31")]
    text = CliRunner().invoke(cli, ["network", "show", "hq-hub2"])
    assert text.exit_code == 0, text.output
    assert "queues to the stores shaped to 950000 kbit/s (uplink 1000 Mbit/s): voice ef, pos af31" in text.output


def test_network_show_reports_a_hub_without_an_uplink_rate_as_not_shaped(tmp_path: Path) -> None:
    """hq-hub1 without `uplink_mbps`: no shaped rate in its report, and the text says it is not
    shaped rather than printing a rate its qos.tc does not have."""
    intent = NetworkIntent(load_fleet(edited_sample_chain(tmp_path, "        uplink_mbps: 1000\n", "")))
    report = hub_report(intent, "hq-hub1")
    assert report["uplink_mbps"] is None and report["uplink_queue_kbps"] is None
    with console.capture() as captured:
        _print_hub(report)
    text = " ".join(captured.get().split())
    assert "queues to the stores not shaped (no uplink_mbps): voice ef" in text
    assert "kbit/s" not in text


def test_network_show_says_a_vrp_hub_queues_nothing_towards_the_stores(fleet: Fleet) -> None:
    """A VRP hub is reported as queuing nothing, and why, not as "not shaped (no uplink_mbps)": an
    AR cannot shape its tunnels' packets apart from the DC core LAN's own traffic
    (HUB_NO_UPLINK_QUEUES), so no rate would help; an FRR hub's report keeps its rate."""
    vrp = hub_report(NetworkIntent(on_platform(fleet, "huawei_vrp")), "hq-hub1")
    assert vrp["uplink_mbps"] is None and vrp["uplink_queue_kbps"] is None
    assert vrp["no_queues_because"] == HUB_NO_UPLINK_QUEUES["huawei_vrp"]
    assert hub_report(NetworkIntent(fleet), "hq-hub1")["no_queues_because"] is None
    with console.capture() as captured:
        _print_hub(vrp)
    text = " ".join(captured.get().split())
    assert "queues to the stores none: a Huawei VRP hub cannot shape its tunnels' packets" in text
    assert "shaped to" not in text and "no uplink_mbps" not in text


def test_network_show_says_what_a_hub_trusts_from_the_dc(fleet: Fleet, tmp_path: Path) -> None:
    """A hub that queues towards the stores re-marks network control from the DC (CS6/CS7, what
    the FRR control class matches) to default and keeps the fleet's classes' DSCPs, in the report,
    its --json and its text; one that queues nothing (VRP; no uplink_mbps) trusts every DSCP."""
    report = hub_report(NetworkIntent(fleet), "hq-hub1")
    assert report["dc_trust"] == {
        "remarked": ["cs6", "cs7"],
        "to": "default",
        "kept": ["ef", "af31", "af21", "af11", "cs1", "default"],
    }
    shown = CliRunner().invoke(cli, ["network", "show", "hq-hub1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["dc_trust"] == report["dc_trust"]
    with console.capture() as captured:
        _print_hub(report)
    text = " ".join(captured.get().split())
    assert "trusted from the DC ef, af31, af21, af11, cs1, default kept; cs6, cs7 re-marked to default" in text
    vrp = hub_report(NetworkIntent(on_platform(fleet, "huawei_vrp")), "hq-hub1")
    unshaped = hub_report(NetworkIntent(load_fleet(edited_sample_chain(tmp_path, "        uplink_mbps: 1000\n", ""))), "hq-hub1")
    for untrusting in (vrp, unshaped):
        assert untrusting["dc_trust"] is None
        with console.capture() as captured:
            _print_hub(untrusting)
        assert "trusted from the DC every DSCP as marked" in " ".join(captured.get().split())


def test_a_hubs_uplink_rate_reaches_its_intent_with_the_stores_qos_classes(fleet: Fleet, tmp_path: Path) -> None:
    intent = NetworkIntent(fleet)
    hub = intent.hub("hq-hub1")
    assert hub.uplink_mbps == 1000
    # one model of the classes: the hub queues in exactly the stores' classes
    assert hub.qos == intent.store("nw-0001").qos
    assert [cls.name for cls in hub.qos] == list(fleet.spec.qos.classes)
    unknown = load_fleet(edited_sample_chain(tmp_path, "        uplink_mbps: 1000\n", ""))
    assert NetworkIntent(unknown).hub("hq-hub1").uplink_mbps is None
    assert NetworkIntent(unknown).hub("hq-hub2").uplink_mbps == 1000


@pytest.mark.parametrize("rate", ["0", "100001", "fast"])
def test_an_uplink_rate_out_of_range_is_an_error_at_its_line(tmp_path: Path, rate: str) -> None:
    root = edited_sample_chain(tmp_path, "        uplink_mbps: 1000\n", f"        uplink_mbps: {rate}\n")
    with pytest.raises(InventoryError) as error:
        load_fleet(root)
    line = (root / "fleet.yaml").read_text().splitlines().index(f"        uplink_mbps: {rate}") + 1
    messages = [str(issue) for issue in error.value.issues]
    assert any(message.startswith(f"fleet.yaml:{line} sites.hq.hubs[0].uplink_mbps: ") for message in messages), messages
