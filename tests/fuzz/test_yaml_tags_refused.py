"""Every YAML file storestack reads is loaded safely: `!!python/object` tags are refused, never run.

The payloads are live: the first test shows that PyYAML's unsafe loader really runs them (it
creates a marker file). Then each of storestack's YAML entry points gets the same payload and
must refuse it with a one-line message naming the file, exit non-zero without a traceback, and
leave no marker behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from storestack.cli.main import cli
from storestack.inventory import sample_chain_path

PAYLOADS = {
    "apply": '!!python/object/apply:os.system ["touch {marker}"]',
    "new": '!!python/object/new:os.system ["touch {marker}"]',
    "subprocess": '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
    "name": "!!python/name:os.system",
}


def payload(kind: str, marker: Path) -> str:
    return PAYLOADS[kind].format(marker=marker)


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=True)


def assert_refused_cleanly(result: Result, marker: Path, *, names: str) -> None:
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert names in result.output, result.output
    assert "python/" in result.output, "the message says which tag was refused"
    assert not marker.exists(), "the payload ran"


@pytest.mark.parametrize("kind", ["apply", "new", "subprocess"])
def test_the_payloads_are_live_under_an_unsafe_loader(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    yaml.unsafe_load(f"value: {payload(kind, marker)}\n")
    assert marker.exists()


def _copy_sample(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    return fleet


def store_file(tmp_path: Path, marker: Path, kind: str) -> tuple[list[str], str | None, str]:
    fleet = _copy_sample(tmp_path)
    path = fleet / "stores" / "nw-0002.yaml"
    path.write_text(path.read_text().replace("city: ", f"city: {payload(kind, marker)}\nx_city: ", 1))
    return ["inventory", "validate", str(fleet)], None, "stores/nw-0002.yaml"


def fleet_file(tmp_path: Path, marker: Path, kind: str) -> tuple[list[str], str | None, str]:
    fleet = _copy_sample(tmp_path)
    path = fleet / "fleet.yaml"
    path.write_text(f"anything: {payload(kind, marker)}\n" + path.read_text())
    return ["devices", "render", "--fleet", str(fleet), "--out", str(tmp_path / "out")], None, "fleet.yaml"


def bundle_on_stdin(tmp_path: Path, marker: Path, kind: str) -> tuple[list[str], str | None, str]:
    bundle = (sample_chain_path() / "fleet.yaml").read_text()
    return ["inventory", "validate", "-"], f"{bundle}\n---\nid: {payload(kind, marker)}\n", "<stdin>"


def stack_outputs(tmp_path: Path, marker: Path, kind: str) -> tuple[list[str], str | None, str]:
    path = tmp_path / "outputs.yaml"
    path.write_text(f"nw-0001: {payload(kind, marker)}\n")
    path.chmod(0o600)
    return ["devices", "render", "--outputs", str(path), "--out", str(tmp_path / "out")], None, "outputs.yaml:1"


def appliance_inventory(tmp_path: Path, marker: Path, kind: str) -> tuple[list[str], str | None, str]:
    path = tmp_path / "targets.yaml"
    path.write_text(f"source: lab:x\nappliances: {payload(kind, marker)}\n")
    intended = tmp_path / "intended"
    intended.mkdir()
    args = ["devices", "push", "--targets", str(path), "--intended", str(intended), "--state-dir", str(tmp_path / "s")]
    return args, None, "targets.yaml:2"


def emulator_spec(tmp_path: Path, marker: Path, kind: str) -> tuple[list[str], str | None, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(f"devices: {payload(kind, marker)}\n")
    return ["lab", "emulator", "--spec", str(path), "--state-dir", str(tmp_path / "emu")], None, "spec.yaml:1"


ENTRY_POINTS: dict[str, Callable[[Path, Path, str], tuple[list[str], str | None, str]]] = {
    "store-file": store_file,
    "fleet-file": fleet_file,
    "bundle-stdin": bundle_on_stdin,
    "stack-outputs": stack_outputs,
    "appliance-inventory": appliance_inventory,
    "emulator-spec": emulator_spec,
}


@pytest.mark.parametrize("kind", list(PAYLOADS))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_python_tags_are_refused_at_every_entry_point(entry: str, kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    args, stdin, names = ENTRY_POINTS[entry](tmp_path, marker, kind)
    assert_refused_cleanly(invoke(*args, stdin=stdin), marker, names=names)


def test_a_python_tag_in_a_credentials_file_stops_the_push_before_any_appliance_without_echoing_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    secret = "Very.Secret_Password_1"
    credentials = tmp_path / "credentials.yaml"
    credentials.write_text(f"username: {payload('apply', marker)}\npassword: {secret}\n")
    credentials.chmod(0o600)
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        yaml.safe_dump(
            {
                "source": "lab:x",
                "appliances": [
                    {
                        "name": "edge1", "role": "edge", "platform": "frr", "host": "127.0.0.1", "port": 9,
                        "credentials": {"kind": "file", "path": str(credentials)},
                    }
                ],
            }
        )
    )
    intended = tmp_path / "intended"
    intended.mkdir()
    (intended / "edge1.cfg").write_text("hostname edge1\n")
    result = invoke(
        "devices", "push", "--targets", str(targets), "--intended", str(intended),
        "--state-dir", str(tmp_path / "s"), "--json",
    )
    # A configuration error (exit 2) naming the file, line and field, before any appliance is
    # reached: no run, so no journal to hold the file's content.
    assert result.exit_code == 2, result.output
    assert f"{credentials}:1 username: YAML tag '!!python/object/apply" in result.output
    assert "python/object/apply" in result.output
    assert secret not in result.output and "Traceback" not in result.output
    assert not marker.exists()
    assert not list((tmp_path / "s" / "runs").glob("*.json"))
