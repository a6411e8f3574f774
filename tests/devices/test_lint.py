"""`storestack devices lint`: clean on what storestack renders, and catching each class of defect
in a deliberately broken config."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lint_files import broken_files
from testsupport.rendering import on_platform, three_hub_chain

from storestack.cli.main import cli
from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet, load_fleet
from storestack.network.build import NetworkIntent


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def _lint(fleet: Fleet, files: list[ConfigFile]) -> list[Finding]:
    return lint_configs(files, NetworkIntent(fleet)).findings


def _rules(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(finding.file, finding.rule) for finding in findings}


def test_sample_chain_is_clean(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    assert _lint(fleet, rendered) == []


def test_cli_clean_on_the_sample_chain_and_a_generated_fleet(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["devices", "lint", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["findings"] == [] and report["files"] > 30
    generated = tmp_path / "fleet"
    assert runner.invoke(cli, ["inventory", "generate", "--stores", "200", "--out", str(generated)]).exit_code == 0
    result = runner.invoke(cli, ["devices", "lint", "--fleet", str(generated), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"] > 600


def test_an_undefined_route_map_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(rendered, "nw-0001-edge1.cfg", lambda t: t.replace("route-map HUB-IN-xfrm1 permit 10", "route-map HUB-IN-xfrmX permit 10"))
    findings = _lint(fleet, files)
    assert any(f.rule == "undefined-reference" and "route-map HUB-IN-xfrm1" in f.message for f in findings)
    assert findings[0].line > 0


def test_a_hub_without_the_store_tunnel_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    def drop_connection(text: str) -> str:
        return re.sub(r"\n    nw-0001-wan1-hq-hub2 : storestack-ike \{.*?\n    \}\n", "\n", text, count=1, flags=re.S)

    findings = _lint(fleet, broken_files(rendered, "hq-hub2.swanctl.conf", drop_connection))
    assert any(f.rule == "missing-peer" and "nw-0001-wan1-hq-hub2" in f.message for f in findings)


def test_psk_slot_identity_and_address_mismatches_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(
        rendered, "hq-hub1.swanctl.conf",
        lambda t: t.replace('secret = "<psk nw-0001-wan1-hq-hub1>"', 'secret = "<psk nw-0002-wan1-hq-hub1>"'),
    )  # fmt: skip
    assert any("PSK slot" in f.message for f in _lint(fleet, files))
    files = broken_files(
        rendered, "hq-hub1.swanctl.conf",
        lambda t: t.replace("id = nw-0001-wan1.northwind.example", "id = nw-0001-wan9.northwind.example", 1),
    )  # fmt: skip
    assert any("IKE identit" in f.message for f in _lint(fleet, files))
    files = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace("ip address 100.64.0.0/31", "ip address 100.64.9.0/31"))
    assert any(f.rule == "peer-mismatch" and "address" in f.message for f in _lint(fleet, files))
    files = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace("remote-as 4200000000", "remote-as 4200000009", 1))
    assert any("peer ASN" in f.message for f in _lint(fleet, files))


def test_proposals_that_do_not_intersect_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    def cbc(text: str) -> str:  # one connection overrides the shared IKE proposal
        head = "    nw-0001-wan1-hq-hub1 : storestack-ike {\n"
        return text.replace(head, head + "        proposals = aes256-sha256-modp2048\n", 1)

    findings = _lint(fleet, broken_files(rendered, "nw-0001-edge1.swanctl.conf", cbc))
    assert any(f.rule == "proposal-mismatch" and f.file == "hq-hub1.swanctl.conf" for f in findings)

    def aws_cbc(text: str) -> str:  # an AWS child overrides the shared ESP proposal
        head = "            nw-0001-wan1-aws1 : storestack-initiator {\n"
        return text.replace(head, head + "                esp_proposals = aes128-sha1-modp1024\n", 1)

    findings = _lint(fleet, broken_files(rendered, "nw-0001-edge1.swanctl.conf", aws_cbc))
    assert any(f.rule == "proposal-mismatch" and "AWS" in f.message and "ESP" in f.message for f in findings)


def test_permit_any_between_zones_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(
        rendered, "nw-0001-edge1.nftables.conf",
        lambda t: t.replace("        ct state invalid drop\n        # Guest", '        ct state invalid drop\n        iifname "lan0.50" accept\n        # Guest', 1),
    )  # fmt: skip
    findings = _lint(fleet, files)
    assert ("nw-0001-edge1.nftables.conf", "permit-any") in _rules(findings)


def test_unsafe_ipsec_settings_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(rendered, "nw-0001-edge1.swanctl.conf", lambda t: t.replace("mobike = no", "mobike = yes", 1))
    assert any(f.rule == "ipsec-setting" and "mobike" in f.message for f in _lint(fleet, files))


def test_cli_exits_1_on_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    from storestack.devices.lint import run

    real = run.lint_configs

    def with_a_defect(files: list[ConfigFile], intent: NetworkIntent, on_progress: run.LintProgress) -> run.LintReport:
        broken = broken_files(files, "nw-0001-edge1.cfg", lambda t: t.replace("route-map HUB-OUT-xfrm1 permit", "route-map X permit"))
        return real(broken, intent, on_progress)

    monkeypatch.setattr(run, "lint_configs", with_a_defect)
    result = CliRunner().invoke(cli, ["devices", "lint"])
    assert result.exit_code == 1
    assert "nw-0001-edge1.cfg:" in result.output and "undefined-reference" in result.output


def test_firewall_rules_naming_a_missing_interface_or_set_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(
        rendered, "nw-0001-edge1.nftables.conf",
        lambda t: t.replace('oifname "wan1" accept', 'oifname "wan9" accept').replace("daddr @private drop", "daddr @privat drop"),
    )  # fmt: skip
    messages = [f.message for f in _lint(fleet, files) if f.file == "nw-0001-edge1.nftables.conf"]
    assert "interface wan9 is not on the appliance" in messages
    assert "set @privat is never defined" in messages


def test_openstack_tunnel_off_the_gateways_rule_or_policy_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # The hub's inside address is not the one the OpenStack gateway peers with.
    files = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace("ip address 169.254.252.1/30", "ip address 169.254.252.9/30"))
    assert any(
        f.rule == "peer-mismatch" and "hq-hub1-ams-private-openstack" in f.message and "OpenStack gateway" in f.message
        for f in _lint(fleet, files)
    )
    # The hub's BGP session to the gateway names another ASN than asn.openstack.
    files = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace("neighbor 169.254.252.2 remote-as 64513", "neighbor 169.254.252.2 remote-as 64999"))
    assert any("peer ASN is 64999, the OpenStack gateway" in f.message for f in _lint(fleet, files))

    def cbc(text: str) -> str:  # the OpenStack child overrides the shared ESP proposal
        head = "            hq-hub1-ams-private-openstack : storestack-initiator {\n"
        return text.replace(head, head + "                esp_proposals = aes128-sha1-modp1024\n", 1)

    findings = _lint(fleet, broken_files(rendered, "hq-hub1.swanctl.conf", cbc))
    assert any(f.rule == "proposal-mismatch" and "OpenStack gateway" in f.message and "ESP" in f.message for f in findings)


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_every_appliance_on_one_vendor_platform_is_clean(fleet: Fleet, platform: Platform) -> None:
    # Hub and store ends on the vendor platform: both ends of every tunnel, and the hubs' tunnels
    # to AWS and to the OpenStack gateway, are found and agree.
    same = on_platform(fleet, platform)
    assert _lint(same, config_files(same)) == []


@pytest.mark.parametrize("platform", ["frr", "cisco_xe", "huawei_vrp", "fortinet"])
def test_hub_dc_core_and_hub_peers_off_the_dc_lan_or_with_a_wrong_asn_are_found(
    fleet: Fleet, platform: Platform
) -> None:
    # The hubs' iBGP used to run loopback to loopback with nothing routing the loopbacks: a
    # neighbour on no connected subnet never comes up. The DC core peers must carry asn.dc_core.
    same = fleet if platform == "frr" else on_platform(fleet, platform)
    files = config_files(same)
    assert not [f for f in _lint(same, files) if f.rule == "peer-unreachable"]
    hub = next(f for f in files if f.name == "hq-hub1.cfg")
    dc_line = next(
        line
        for line in hub.lines
        if line.strip()
        in (
            "ip address 10.0.0.3/28",
            "ip address 10.0.0.3 255.255.255.240",
            "set ip 10.0.0.3 255.255.255.240",
        )
    )
    off_lan = broken_files(files, "hq-hub1.cfg", lambda t: t.replace(dc_line + "\n", "", 1))
    findings = [f for f in _lint(same, off_lan) if f.file == "hq-hub1.cfg"]
    unreachable = {f.message.split()[2] for f in findings if f.rule == "peer-unreachable"}
    assert unreachable == {"10.0.0.1", "10.0.0.2", "10.0.0.4"}
    assert all(f.line > 0 for f in findings if f.rule == "peer-unreachable")
    wrong_as = broken_files(files, "hq-hub1.cfg", lambda t: t.replace(" 65010", " 65011"))
    assert any(
        f.rule == "peer-mismatch" and "10.0.0.1" in f.message and "65010" in f.message
        for f in _lint(same, wrong_as)
    )


def test_a_generated_fleet_behind_fortios_hubs_is_clean(tmp_path: Path) -> None:
    """FortiOS hubs serve stores of every platform and addressing (dial-up phase 1s for DHCP and
    cellular transports). An IOS-XE store probes such a hub with icmp-echo and holds its class
    timers on the operation's own track; the list that takes every realtime path's track
    inverted (the return signal) is no steering list, and lint must not read its timers."""
    from storestack.inventory import load_fleet
    from storestack.inventory.generate import generate_fleet, write_fleet

    write_fleet(generate_fleet(40, seed=2), tmp_path / "fleet")
    generated = load_fleet(tmp_path / "fleet")
    hubs = {name: hub.model_copy(update={"platform": "fortinet"}) for name, hub in generated.hubs.items()}
    behind_fortios = Fleet(generated.spec, hubs, dict(generated.stores.items()), generated.root)
    platforms = {store.appliances[0].platform for store in behind_fortios}
    assert {"cisco_xe", "fortinet", "frr"} <= platforms
    assert _lint(behind_fortios, config_files(behind_fortios)) == []


def test_a_vrp_hub_identity_is_its_ike_local_name(fleet: Fleet) -> None:
    """A VRP hub sends one FQDN identity, the device's `ike local-name` (an IKE peer only says
    `local-id-type fqdn`); the cross-check reads it from there, so a hub named otherwise than
    the intent says is found on every store tunnel it terminates."""
    vrp = on_platform(fleet, "huawei_vrp")
    files = config_files(vrp)
    hub = next(f for f in files if f.name == "hq-hub1.cfg")
    assert "\nike local-name hq-hub1.northwind.example\n" in hub.text
    assert not re.search(r"^ local-id ", hub.text, re.M) and "remote-id-type" not in hub.text
    assert _lint(vrp, files) == []
    renamed = broken_files(files, "hq-hub1.cfg", lambda t: t.replace("ike local-name hq-hub1.", "ike local-name hub-one.", 1))
    found = [f for f in _lint(vrp, renamed) if "IKE identit" in f.message]
    assert found and {f.file for f in found} >= {"hq-hub1.cfg"}


@pytest.mark.parametrize("hubs", ["frr", "cisco_xe", "fortinet"])
def test_a_vrp_store_sends_one_fqdn_and_is_known_by_address_on_its_other_link(fleet: Fleet, hubs: Platform) -> None:
    """An AR sends one FQDN IKE identity, its `ike local-name`; no IKE peer names a value of its
    own. nw-0005 (VRP) gives it to wan1 (DHCP) and identifies lte1 (a fixed-IP APN) by its
    address, and every hub platform binds lte1's tunnels by that address: lint finds both ends
    agreeing. A per-peer `local-id` is flagged, and a hub expecting the FQDN on lte1 is found."""
    served = on_platform(fleet, None, hubs=hubs)
    files = config_files(served)
    store = next(f for f in files if f.name == "nw-0005-edge1.cfg")
    lte1 = str(served.store("nw-0005").wan[1].address.ip)  # type: ignore[union-attr]
    assert re.findall(r"^ike local-name (\S+)$", store.text, re.M) == ["nw-0005-wan1.northwind.example"]
    assert not re.search(r"^ local-id ", store.text, re.M)
    assert store.text.count(" local-id-type ip\n") == 2 and store.text.count(" local-id-type fqdn\n") == 2
    intent = NetworkIntent(served)
    by_link = {t.transport: t.local_id for t in intent.store("nw-0005").tunnels if t.kind == "store-hub"}
    assert by_link == {"wan1": "nw-0005-wan1.northwind.example", "lte1": lte1}
    assert _lint(served, files) == []
    per_peer = broken_files(
        files, "nw-0005-edge1.cfg", lambda t: t.replace(" local-id-type ip\n", f" local-id-type ip\n local-id {lte1}\n", 1)
    )
    assert any(f.rule == "vrp-ike-local-id" for f in _lint(served, per_peer))
    hub_file = "hq-hub1.swanctl.conf" if hubs == "frr" else "hq-hub1.cfg"
    assert lte1 in next(f for f in files if f.name == hub_file).text
    fqdn = broken_files(
        files,
        "nw-0005-edge1.cfg",
        lambda t: t.replace(" local-id-type ip\n", " local-id-type fqdn\n"),
    )
    assert any(
        f.rule == "peer-mismatch" and "IKE identit" in f.message and "nw-0005-lte1" in f.message
        for f in _lint(served, fqdn)
    )


@pytest.mark.parametrize("platform", ["frr", "cisco_xe", "huawei_vrp", "fortinet"])
def test_a_hub_announcing_a_summary_unconditionally_is_found(fleet: Fleet, platform: Platform) -> None:
    # HQ's and the clouds' summaries are aggregates, announced only while the hub learns a route
    # inside them; a `network` statement over a static discard route kept a hub that lost its DC
    # sessions drawing the stores' HQ traffic into the discard.
    same = fleet if platform == "frr" else on_platform(fleet, platform)
    files = config_files(same)
    assert not [f for f in _lint(same, files) if f.rule == "hub-summary"]
    aggregate, network = {
        "frr": ("  aggregate-address 10.0.0.0/16\n", "  network 10.0.0.0/16\n"),
        "cisco_xe": ("  aggregate-address 10.0.0.0 255.255.0.0\n", "  network 10.0.0.0 mask 255.255.0.0\n"),
        "huawei_vrp": ("  aggregate 10.0.0.0 255.255.0.0\n", "  network 10.0.0.0 255.255.0.0\n"),
        "fortinet": (None, None),
    }[platform]
    if aggregate is None:
        def unconditional(text: str) -> str:
            head = "    config network\n"
            entry = "        edit 9\n            set prefix 10.0.0.0 255.255.0.0\n        next\n"
            text = re.sub(r"        edit \d+\n            set prefix 10\.0\.0\.0 255\.255\.0\.0\n        next\n", "", text, count=1)
            return text.replace(head, head + entry, 1)
    else:
        def unconditional(text: str) -> str:
            return text.replace(aggregate, network, 1)

    findings = [f for f in _lint(same, broken_files(files, "hq-hub1.cfg", unconditional)) if f.rule == "hub-summary"]
    assert [(f.file, "10.0.0.0/16 is announced unconditionally" in f.message) for f in findings] == [("hq-hub1.cfg", True)]
    assert findings[0].line > 0


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_chain_of_three_hubs_is_clean(tmp_path: Path, platform: Platform) -> None:
    """A store takes its own hubs' loopbacks and beacons, not those of a hub it has no tunnel
    to, though its hubs announce every hub's: the intent says so (`accepts`), and lint reads
    the routes a session carries as those one end announces and the other accepts."""
    fleet = on_platform(load_fleet(three_hub_chain(tmp_path)), platform)
    intent = NetworkIntent(fleet)
    store = fleet.stores["nw-0002"]
    assert store.hubs == ["hq-hub2", "hq-hub3"]
    loopbacks = {name: f"{hub.loopback}/32" for name, hub in fleet.hubs.items()}
    for session in (s for s in intent.store("nw-0002").sessions if s.kind == "store-hub"):
        accepted = {str(net) for net in session.accepts}
        assert {loopbacks["hq-hub2"], loopbacks["hq-hub3"]} <= accepted
        assert loopbacks["hq-hub1"] not in accepted
    assert _lint(fleet, config_files(fleet)) == []
