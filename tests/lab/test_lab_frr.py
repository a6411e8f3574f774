"""The real FRR lab: namespaces, veth WAN links, sshd, pushed with plain Netmiko (needs root)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import psutil
import pytest
from lab_bgp_configs import bgp_configs
from netmiko import BaseConnection
from testsupport.lab import require_frr_lab
from testsupport.netmiko_drivers import netmiko_connect

from storestack import lab
from storestack.devices.targets import ApplianceInventory, ApplianceTarget
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.state import lab_prefix

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-frr")]

# The sample chain: two FRR hubs, five FRR stores and three vendor stores (run in the emulator).
TOPOLOGY = topology_from_fleet(load_fleet(sample_chain_path()))
FRR_NAMES = {a.name for a in TOPOLOGY.appliances if a.platform == "frr"}
VETH_LINKS = [
    link for link in TOPOLOGY.links if link.a.appliance in FRR_NAMES and link.b.appliance in FRR_NAMES
]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.5)


def connect(target: ApplianceTarget) -> BaseConnection:
    credentials = target.credentials.resolve()
    return netmiko_connect(
        target.platform,
        host=target.host,
        port=target.port,
        username=credentials.username,
        password=credentials.password.get_secret_value(),
        conn_timeout=10,
    )


def default_route_interfaces(state_dir: Path, appliance: str) -> set[str]:
    output = lab.vtysh(state_dir, appliance, "show ip route 0.0.0.0/0 json")
    routes = json.loads(output or "{}").get("0.0.0.0/0", [])
    return {
        hop.get("interfaceName", "")
        for route in routes
        if route.get("selected")
        for hop in route.get("nexthops", [])
        if hop.get("fib")
    }


def lab_processes(prefix: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline", "username"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if prefix in cmdline or (process.info["username"] or "").startswith(prefix):
            found.append(f"{process.pid} {cmdline}")
    return found


def lab_namespaces(prefix: str) -> list[str]:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in names.splitlines() if line.startswith(prefix)]


@pytest.fixture(scope="module")
def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.LabInfo]:
    require_frr_lab()
    state_dir = tmp_path_factory.mktemp("frr") / "bgp-lab"
    try:
        yield lab.up(TOPOLOGY, state_dir)
    finally:
        lab.down(state_dir)


def test_up_writes_an_inventory_the_push_engine_can_load(running_lab: lab.LabInfo) -> None:
    loaded = ApplianceInventory.load(running_lab.inventory_path)

    assert loaded.source == "lab:bgp-lab"
    assert {t.name: t.platform for t in loaded.appliances} == {
        a.name: a.platform for a in TOPOLOGY.appliances
    }
    assert sorted(loaded.by_name()) == sorted(a.name for a in TOPOLOGY.appliances)
    assert len({target.port for target in loaded.appliances}) == len(loaded.appliances)
    assert all(target.host == "127.0.0.1" for target in loaded.appliances)
    mode = running_lab.credentials_path.stat().st_mode & 0o777
    assert mode == 0o600
    # Passwords live only in 0600 credentials files, never in the inventory.
    for target in loaded.appliances:
        assert target.credentials.path is not None
        assert Path(target.credentials.path).stat().st_mode & 0o777 == 0o600
        password = target.credentials.resolve().password.get_secret_value()
        assert password not in running_lab.inventory_path.read_text(encoding="utf-8")


def test_sshd_presents_the_host_key_recorded_in_the_inventory(running_lab: lab.LabInfo) -> None:
    for target in running_lab.inventory.appliances:
        with socket.create_connection((target.host, target.port), timeout=5) as sock:
            transport = paramiko.Transport(sock)
            transport.start_client(timeout=5)
            key = transport.get_remote_server_key()
            transport.close()
        digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
        assert target.host_key_fingerprint == f"SHA256:{digest}"


def test_each_appliance_answers_netmiko_with_its_hostname_prompt(running_lab: lab.LabInfo) -> None:
    for target in running_lab.inventory.appliances:
        connection = connect(target)
        try:
            assert target.name in connection.find_prompt()
            if target.platform != "frr":
                continue
            interfaces = connection.send_command("show interface brief")
        finally:
            connection.disconnect()
        for link in VETH_LINKS:
            for end in (link.a, link.b):
                if end.appliance == target.name:
                    assert end.ifname in interfaces
                    assert str(end.address) in interfaces


def test_pushed_bgp_comes_up_and_fiber_failure_moves_default_route_to_lte(
    running_lab: lab.LabInfo,
) -> None:
    state_dir = running_lab.state_dir
    configs = bgp_configs(TOPOLOGY)

    def push(target: ApplianceTarget) -> str:
        connection = connect(target)
        try:
            output = connection.send_config_set(configs[target.name])
            connection.save_config()
            return output
        finally:
            connection.disconnect()

    frr_targets = [t for t in running_lab.inventory.appliances if t.platform == "frr"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(push, frr_targets))
    for output in outputs:
        assert "% " not in output, output

    expected_sessions = {
        name: sum(1 for link in VETH_LINKS if name in (link.a.appliance, link.b.appliance))
        for name in FRR_NAMES
    }

    def all_established() -> bool:
        return all(
            sum(1 for peer in lab.bgp_peers(state_dir, name) if peer.state == "Established") == count
            for name, count in expected_sessions.items()
        )

    wait_for(all_established, 90, "every store's BGP sessions to its hubs")
    for store in ("nw-0001", "nw-0002"):
        # Sessions up is not routes installed: on a busy machine zebra may lag behind bgpd.
        wait_for(
            lambda store=store: default_route_interfaces(state_dir, f"{store}-edge1") == {"wan1"},
            30,
            f"the default route of {store} via its fiber link wan1",
        )
    status = lab.status(state_dir)
    assert status.healthy
    assert {item.name: item.bgp_established for item in status.appliances if not item.emulated} == (
        expected_sessions
    )

    lab.fail_link(state_dir, "nw-0001", "wan1")
    try:
        wait_for(
            lambda: default_route_interfaces(state_dir, "nw-0001-edge1") == {"lte1"},
            30,
            "the default route of nw-0001 to move to lte1",
        )
        # Another store on the same hub is not affected.
        assert default_route_interfaces(state_dir, "nw-0002-edge1") == {"wan1"}
    finally:
        lab.restore_link(state_dir, "nw-0001", "wan1")
    wait_for(
        lambda: default_route_interfaces(state_dir, "nw-0001-edge1") == {"wan1"},
        60,
        "the default route of nw-0001 to return to wan1",
    )

    # `write memory` went through watchfrr into the appliance's own frr.conf.
    namespace = frr_lab.require_state(state_dir).runtime("hq-hub1").namespace
    assert "router bgp 65000" in Path(f"/etc/frr/{namespace}/frr.conf").read_text(encoding="utf-8")


def test_unknown_link_is_a_typed_error(running_lab: lab.LabInfo) -> None:
    with pytest.raises(lab.UnknownLinkError, match="nw-0001 wan1"):
        lab.fail_link(running_lab.state_dir, "nw-0099", "wan1")


def test_a_link_to_an_emulated_appliance_cannot_be_failed(running_lab: lab.LabInfo) -> None:
    with pytest.raises(lab.LabError, match="emulated"):
        lab.fail_link(running_lab.state_dir, "nw-0003", "wan1")


def test_up_again_with_the_same_topology_keeps_the_running_lab(running_lab: lab.LabInfo) -> None:
    again = lab.up(TOPOLOGY, running_lab.state_dir)

    assert again.reused
    assert again.inventory == running_lab.inventory


def test_down_leaves_no_namespace_process_or_user_and_is_safe_twice(frr_lab_dir: Path) -> None:
    info = lab.up(lab.synthetic_topology(1), frr_lab_dir)
    prefix = lab_prefix(frr_lab_dir)
    assert len(lab_namespaces(prefix)) == 3
    # An open SSH session must not survive down either.
    session = connect(info.inventory.appliances[0])

    first = lab.down(frr_lab_dir)
    second = lab.down(frr_lab_dir)

    assert len(first.namespaces_deleted) == 3
    assert first.user_removed
    assert lab_namespaces(prefix) == []
    assert lab_processes(prefix) == []
    assert not any(Path("/etc/frr").glob(f"{prefix}-*"))
    assert not any(Path("/var/run/frr").glob(f"{prefix}-*"))
    assert second.processes_stopped == 0 and second.namespaces_deleted == []
    assert not (frr_lab_dir / "credentials.yaml").exists()
    session.disconnect()


def test_down_cleans_up_after_a_crashed_up(frr_lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object) -> None:
        raise RuntimeError("simulated crash after FRR started")

    monkeypatch.setattr(frr_lab, "start_sshd", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        lab.up(lab.synthetic_topology(1), frr_lab_dir)
    prefix = lab_prefix(frr_lab_dir)
    assert len(lab_namespaces(prefix)) == 3
    assert lab_processes(prefix) != []

    report = lab.down(frr_lab_dir)

    assert report.was_recorded
    assert lab_namespaces(prefix) == []
    assert lab_processes(prefix) == []


def test_two_labs_run_side_by_side_without_colliding(tmp_path: Path) -> None:
    require_frr_lab()
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    topology = lab.synthetic_topology(1)
    try:
        first = lab.up(topology, first_dir)
        second = lab.up(topology, second_dir)
        assert lab.status(first_dir).healthy and lab.status(second_dir).healthy
        first_ports = {t.port for t in first.inventory.appliances}
        assert first_ports.isdisjoint(t.port for t in second.inventory.appliances)
        lab.down(first_dir)
        assert lab.status(second_dir).healthy
    finally:
        lab.down(first_dir)
        lab.down(second_dir)


def test_status_without_a_lab_says_so(tmp_path: Path) -> None:
    with pytest.raises(lab.LabNotFoundError):
        lab.status(tmp_path / "nothing-here")
