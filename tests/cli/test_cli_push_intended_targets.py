"""`devices push --intended DIR --targets FILE` with no readable fleet: each rendered config says
in its header which appliance it is for (hub or the store it is in) and its platform, so a
--targets entry saying otherwise (another vendor's driver, store or role) is refused at its file,
line and field before any appliance is reached, as it is against the fleet inventory."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.cli import FLEET, cli_runner

from storestack.cli.main import cli

GOLDEN = Path(__file__).resolve().parents[1] / "devices" / "golden"
EDGE = "  - {name: nw-0001-edge1, role: edge, store_id: nw-0001, platform: frr, host: 127.0.0.1, port: %d}\n"
HUB = "  - {name: hq-hub1, role: hub, platform: frr, host: 127.0.0.1, port: %d}\n"
# field: (the entry as its intended config says it, otherwise)
CONTRADICTING = {
    "platform": ("platform: frr", "platform: cisco_xe"),
    "store_id": ("store_id: nw-0001", "store_id: nw-0002"),
    "role": ("role: edge, store_id: nw-0001", "role: hub, store_id: nw-0001"),
}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    runner = cli_runner(monkeypatch, tmp_path)
    monkeypatch.setenv("STORESTACK_FLEET", str(tmp_path / "no-fleet"))  # no readable fleet inventory
    # A login that resolves: the contradiction is the one thing wrong.
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "admin")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "lab-password")
    return runner


def _intended(tmp_path: Path) -> Path:
    """A folder of rendered FRR configs: a store edge's (of nw-0001) and a hub's."""
    intended = tmp_path / "intended"
    intended.mkdir()
    (intended / "nw-0001-edge1.cfg").write_text((GOLDEN / "frr" / "aws.cfg").read_text())
    (intended / "hq-hub1.cfg").write_text((GOLDEN / "frr" / "hub.cfg").read_text())
    return intended


@pytest.mark.parametrize("field", sorted(CONTRADICTING))
def test_a_targets_entry_contradicting_its_intended_config_is_refused_before_any_appliance_is_reached(
    runner: CliRunner, tmp_path: Path, field: str
) -> None:
    intended = _intended(tmp_path)
    targets = tmp_path / "targets.yaml"
    state = tmp_path / "state"
    args = ["devices", "push", "--intended", str(intended), "--targets", str(targets), "--state-dir", str(state)]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        edge = (EDGE % port).replace(*CONTRADICTING[field])
        targets.write_text("source: lab:test\nappliances:\n" + HUB % port + edge)
        result = runner.invoke(cli, [*args, "--json"])
        text = runner.invoke(cli, args)
        with pytest.raises(TimeoutError):
            listener.accept()

    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"], entry["line"]) == (str(targets), f"appliances[1].{field}", 4), entry
    assert "nw-0001-edge1" in entry["message"] and str(intended / "nw-0001-edge1.cfg") in entry["message"]
    assert text.exit_code == 2 and f"{targets}:4" in text.stderr and "Traceback" not in text.output
    assert not (state / "backups").exists(), "no backup was taken: nothing was reached"


@pytest.mark.parametrize("fleet", [[], FLEET], ids=["no fleet", "fleet"])
def test_a_config_of_another_vendor_in_the_folder_is_refused_for_the_targets_platform(
    runner: CliRunner, tmp_path: Path, fleet: list[str]
) -> None:
    """The targets are right (as the fleet inventory, where it is read, says too) and the folder
    holds an IOS-XE config for the FRR edge: the same refusal, naming the config that says cisco_xe."""
    intended = _intended(tmp_path)
    (intended / "nw-0001-edge1.cfg").write_text((GOLDEN / "cisco_xe" / "aws.cfg").read_text())
    targets = tmp_path / "targets.yaml"
    targets.write_text("source: lab:test\nappliances:\n" + EDGE % 9)
    result = runner.invoke(cli, ["devices", "push", "--intended", str(intended), "--targets", str(targets),
                                 "--state-dir", str(tmp_path / "state"), *fleet, "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["field"], entry["line"]) == ("appliances[0].platform", 3), entry
    assert "'frr' for nw-0001-edge1, whose platform in its intended config" in entry["message"]
    assert f"{intended / 'nw-0001-edge1.cfg'}:2 is 'cisco_xe'" in entry["message"], entry


def test_a_config_copied_under_another_appliances_name_is_refused_at_its_header(
    runner: CliRunner, tmp_path: Path
) -> None:
    """nw-0002's edge config saved as nw-0001-edge1.cfg would be sent to nw-0001's edge: refused
    at the config's header line, whatever the targets say, before any appliance is reached."""
    intended = _intended(tmp_path)
    config = intended / "nw-0001-edge1.cfg"
    config.write_text((GOLDEN / "frr" / "dual-wan.cfg").read_text())  # nw-0002-edge1's
    targets = tmp_path / "targets.yaml"
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        targets.write_text("source: lab:test\nappliances:\n" + EDGE % listener.getsockname()[1])
        result = runner.invoke(cli, ["devices", "push", "--intended", str(intended), "--targets", str(targets),
                                     "--state-dir", str(tmp_path / "state"), "--json"])
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"], entry["line"]) == (str(config), "name", 2), entry
    assert "the intended config of nw-0002-edge1, found as nw-0001-edge1's" in entry["message"]


def test_a_config_of_another_vendor_for_an_appliance_of_the_fleet_is_refused_at_its_header(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --targets: the appliances are the fleet's, and the folder holds an IOS-XE config for
    nw-0001's FRR edge. Refused at the config's header (the fleet inventory is right), and no
    connection is opened (the fleet's addresses are real-world ones: any attempt fails the test)."""
    attempts: list[object] = []

    def no_connection(_socket: socket.socket, address: object) -> None:
        attempts.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket.socket, "connect", no_connection)
    intended = _intended(tmp_path)
    config = intended / "nw-0001-edge1.cfg"
    config.write_text((GOLDEN / "cisco_xe" / "aws.cfg").read_text())
    result = runner.invoke(cli, ["devices", "push", *FLEET, "--appliance", "nw-0001-edge1", "--intended",
                                 str(intended), "--state-dir", str(tmp_path / "state"), "--dry-run", "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"]) == (str(config), "platform"), entry
    assert "'cisco_xe' for nw-0001-edge1, whose platform in the fleet inventory is 'frr'" in entry["message"]
    assert attempts == []
