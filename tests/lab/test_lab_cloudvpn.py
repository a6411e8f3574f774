"""The cloud VPN stand-in: AWS's end of each store's AWS tunnels, configured from the offline plan.

The stand-in reads the plan's `VpnConnection` / `CustomerGateway` values, never the intent, so a
plan that disagrees with the device side (here: the VPN's phase 1/2 algorithms) leaves the
store's AWS tunnels down, and `lab check` says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.frr_lab_configs import wait_for

from storestack import lab
from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.check import check
from storestack.lab.cloudvpn import CLOUD_VPN, plan_cloud
from storestack.lab.fleet import topology_from_fleet
from storestack.network.build import NetworkIntent
from storestack.network.crypto import FLEET_CRYPTO, aws_tunnel_options
from storestack.stacks.plan import planned_store_outputs

FLEET = load_fleet(sample_chain_path())

# What AWS would be told in a plan that drifted from the fleet's crypto policy.
DRIFTED = {
    **aws_tunnel_options(FLEET_CRYPTO),
    "phase1_encryption_algorithms": ["AES128-GCM-16"],
    "phase1_integrity_algorithms": ["SHA2-256"],
    "phase1_dh_group_numbers": [19],
}


def test_the_stand_in_takes_addresses_psks_and_proposals_from_the_plan() -> None:
    plan = plan_cloud(FLEET, ["nw-0001"])
    outputs = planned_store_outputs(FLEET, "nw-0001")
    planned = {t["name"]: t for t in outputs["tunnels"].value if t["peer_kind"] == "aws"}

    assert [t.id for t in plan.tunnels] == ["nw-0001-wan1-aws1", "nw-0001-wan1-aws2"]
    first = plan.tunnels[0]
    # The plan's tunnel addresses, which are the intent's planned ones: one planned-values path.
    assert str(first.outside) == planned["nw-0001-wan1-aws1"]["peer_outside_address"]
    intended = {t.id: t for t in NetworkIntent(FLEET).store("nw-0001").tunnels}
    for tunnel in plan.tunnels:
        assert (tunnel.outside, tunnel.aws_inside.ip, tunnel.store_inside) == (
            intended[tunnel.id].peer_outside,
            intended[tunnel.id].peer_inside,
            intended[tunnel.id].local_inside,
        )
    assert str(first.aws_inside.ip) == planned["nw-0001-wan1-aws1"]["peer_inside_address"]
    assert str(first.store_inside.ip) == planned["nw-0001-wan1-aws1"]["local_inside_address"]
    assert str(first.customer_gateway) == "198.51.100.2" and first.amazon_asn == 64512
    assert first.ike_version == 2
    # AWS accepts every combination of the listed algorithms; the fleet's proposals are among them.
    assert set(FLEET_CRYPTO.strongswan_ike().split(",")) <= set(first.ike_proposals.split(","))
    assert set(FLEET_CRYPTO.strongswan_esp().split(",")) <= set(first.esp_proposals.split(","))
    assert plan.psks[first.id].get_secret_value() == outputs["tunnel_psks"].value["nw-0001-wan1-aws1"]


def test_a_plan_with_other_algorithms_gives_the_stand_in_other_proposals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storestack.components.network.aws_tunnel_options", lambda _policy: DRIFTED)

    plan = plan_cloud(FLEET, ["nw-0001"])

    assert {t.ike_proposals for t in plan.tunnels} == {"aes128gcm16-prfsha256-ecp256"}


@pytest.mark.lab
def test_aws_tunnels_are_down_in_lab_check_when_the_plan_disagrees_with_the_device(
    frr_lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storestack.components.network.aws_tunnel_options", lambda _policy: DRIFTED)
    lab.up(topology_from_fleet(FLEET, ["nw-0001"], overlay="ipsec"), frr_lab_dir)

    def reported() -> bool:
        return any("nw-0001-wan1-aws1 is down: no proposal in common" in p for p in check(frr_lab_dir).problems)

    wait_for(reported, 40, "the AWS proposal mismatch in `lab check`")
    result = check(frr_lab_dir)
    aws = [t.tunnel for t in result.tunnels if t.tunnel.responder == CLOUD_VPN]
    assert len(aws) == 2 and not any(t.up for t in aws)
    # The hub tunnels run the fleet policy at both ends and are unaffected.
    assert all(t.tunnel.up for t in result.tunnels if t.tunnel.responder != CLOUD_VPN)
    cli_result = CliRunner().invoke(cli, ["lab", "check", "--state-dir", str(frr_lab_dir)])
    assert cli_result.exit_code == 1
    assert "cloud-vpn" in cli_result.output and "no proposal in common" in " ".join(cli_result.output.split())
