"""The sample chain's FRR stores and hubs, rendered from the inventory and pushed to a lab built from it.

This is the whole device path a rollout takes: inventory → templates → push engine → real FRR,
with BGP between each store and its hubs. Needs root, FRR and sshd; fails under CI=true when the
lab cannot start.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from testsupport.frr_lab_configs import established_peers, running_lab, wait_for

from storestack import lab
from storestack.cli.main import cli
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.fleet import topology_from_fleet

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("push-sample-chain")]

# Rendering with secrets needs them set, as a real push would.
SECRETS = {
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Local-Admin-Pw-7731",
    "STORESTACK_SNMP_AUTH_KEY": "Snmp-Auth-Key-5521",
    "STORESTACK_SNMP_PRIV_KEY": "Snmp-Priv-Key-9043",
    "STORESTACK_TACACS_KEY": "Tacacs-Key-44100",
    "STORESTACK_NTP_KEY": "Ntp-Cmac-Key-220",  # aes128-cmac: exactly 16 characters
    "STORESTACK_NTP_KEY_HMAC": "Ntp-Hmac-Key-2208",
    "STORESTACK_NTP_KEY_SHA256": "Ntp-Sha-Key-2209",
    "STORESTACK_IPSEC_PSK": "Ipsec-Psk-Seed-6604",  # FRR's tunnel PSKs derive from it
}


def frr_stores(fleet: Fleet) -> list[str]:
    return [s.id for s in fleet if s.appliances and all(a.platform == "frr" for a in s.appliances)]


@pytest.fixture(scope="module")
def sample_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.LabInfo]:
    fleet = load_fleet(sample_chain_path())
    topology = topology_from_fleet(fleet, frr_stores(fleet))
    with running_lab(topology, tmp_path_factory.mktemp("sample-chain") / "lab") as info:
        yield info


def push(info: lab.LabInfo, state: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(
        cli,
        ["devices", "push", "--targets", str(info.inventory_path), "--state-dir", str(state), "--json", *extra],
        catch_exceptions=False,
    )
    return result.exit_code, json.loads(result.stdout), result.output


def test_rendered_sample_chain_converges_then_sends_nothing(
    sample_lab: lab.LabInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    fleet = load_fleet(sample_chain_path())
    edges = [a.hostname for s in fleet if s.id in frr_stores(fleet) for a in s.appliances]

    code, first, output = push(sample_lab, tmp_path)
    assert code == 0, [(d["name"], d["error"]) for d in first["devices"]]  # type: ignore[index, union-attr]
    devices = first["devices"]
    assert isinstance(devices, list)
    assert {d["name"] for d in devices} == {*fleet.hubs, *edges}
    assert all(d["outcome"] == "changed" for d in devices)
    for edge in edges:
        store = next(s for s in fleet if any(a.hostname == edge for a in s.appliances))
        hub_peers = {str(link.overlay_peer) for link in store.wan}
        wait_for(
            lambda edge=edge, hub_peers=hub_peers: hub_peers <= established_peers(sample_lab.state_dir, edge),
            30,
            f"{edge}: BGP to its hubs",
        )

    code, second, output2 = push(sample_lab, tmp_path)
    assert code == 0
    assert second["summary"]["config_lines_sent"] == 0  # type: ignore[index]
    assert {d["outcome"] for d in second["devices"]} == {"unchanged"}  # type: ignore[union-attr]

    journals = "".join(p.read_text() for p in (tmp_path / "runs").glob("*.json"))
    password = yaml.safe_load(sample_lab.credentials_path.read_text())["password"]
    assert password not in output + output2 + journals
