"""`storestack inventory …` as a user runs it: output, --json and exit codes (0 ok, 1 invalid, 2 usage)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.generate import generate_fleet


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("STORESTACK_FLEET", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./inventory here: the default fleet is the sample chain
    return CliRunner()


def test_validate_sample_chain_by_default(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok 8 stores, 2 hubs valid")


def test_validate_json_for_ci(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "validate", str(sample_chain_path()), "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["ok"] is True and payload["stores"] == 8 and payload["provisional_allocations"] == []


def test_invalid_fleet_exits_1_listing_every_error(
    runner: CliRunner, make_fleet: Callable[..., Path]
) -> None:
    fleet = make_fleet("bad-vlan")
    result = runner.invoke(cli, ["inventory", "validate", str(fleet)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "stores/sh-0042.yaml:17 lan.pos.vlan: 4097 is not a VLAN id (1-4094)",
        "stores/sh-0042.yaml:18 lan.office.vlan: 0 is not a VLAN id (1-4094)",
        "2 error(s)",
    ]
    as_json = runner.invoke(cli, ["inventory", "validate", str(fleet), "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["errors"][0] == {
        "file": "stores/sh-0042.yaml",
        "line": 17,
        "field": "lan.pos.vlan",
        "message": "4097 is not a VLAN id (1-4094)",
    }


def test_missing_path_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["inventory", "validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such fleet directory or bundle" in result.stderr


def test_validate_reads_a_bundle_from_stdin_and_from_a_file(runner: CliRunner, tmp_path: Path) -> None:
    bundle = generate_fleet(25, seed=2).bundle()
    from_stdin = runner.invoke(cli, ["inventory", "validate", "-"], input=bundle)
    assert from_stdin.exit_code == 0, from_stdin.output
    assert "ok 25 stores" in from_stdin.output
    (tmp_path / "chain.yaml").write_text(bundle.replace("vlan: 50", "vlan: 5000", 1))
    from_file = runner.invoke(cli, ["inventory", "validate", str(tmp_path / "chain.yaml")])
    assert from_file.exit_code == 1
    assert from_file.stderr.splitlines()[0].endswith("lan.iot.vlan: 5000 is not a VLAN id (1-4094)")
    locked = runner.invoke(cli, ["inventory", "validate", "-", "--write-lock"], input=bundle)
    assert locked.exit_code == 2


def test_write_lock_pins_allocations_once(runner: CliRunner, fleet_dir: Path) -> None:
    first = runner.invoke(cli, ["inventory", "validate", str(fleet_dir)])
    assert "2 store(s) have provisional IPAM allocations" in first.output
    pinned = runner.invoke(cli, ["inventory", "validate", str(fleet_dir), "--write-lock"])
    assert pinned.exit_code == 0 and f"wrote {fleet_dir / 'allocations.yaml'}" in pinned.output
    again = runner.invoke(cli, ["inventory", "validate", str(fleet_dir), "--write-lock"])
    assert again.exit_code == 0 and "wrote" not in again.output and "provisional" not in again.output


def test_show_prints_the_resolved_store(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "show", "nw-0008"])
    assert result.exit_code == 0
    store = yaml.safe_load(result.output)
    assert store["segments"]["pos"]["subnet"] == "10.79.255.0/26"  # pinned in the store file
    assert store["segments"]["office"]["subnet"] == "10.64.14.64/26"  # from its IPAM block
    assert store["asn"] == 4200000007
    as_json = json.loads(runner.invoke(cli, ["inventory", "show", "nw-0008", "--json"]).output)
    assert as_json["advertised_prefixes"][0] == "10.79.255.0/26"


def test_show_unknown_store_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "show", "nw-0088"])
    assert result.exit_code == 2
    assert "no store 'nw-0088' in the inventory (did you mean 'nw-0008'?)" in result.stderr


def test_list_filters(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "list", "--region", "randstad", "--platform", "frr", "--json"])
    assert result.exit_code == 0
    assert [row["id"] for row in json.loads(result.output)] == ["nw-0001", "nw-0002", "nw-0004", "nw-0007"]
    table = runner.invoke(cli, ["inventory", "list", "--format", "convenience"])
    assert "nw-0007" in table.output and "1 store(s)" in table.output


def test_invalid_fleet_stops_show_with_exit_1(runner: CliRunner, make_fleet: Callable[..., Path]) -> None:
    result = runner.invoke(cli, ["inventory", "show", "sh-0001", "--fleet", str(make_fleet("id-mismatch"))])
    assert result.exit_code == 1
    assert "does not match its file name" in result.stderr


def test_generate_prints_a_bundle_or_writes_a_directory(runner: CliRunner, tmp_path: Path) -> None:
    printed = runner.invoke(cli, ["inventory", "generate", "--stores", "5", "--seed", "8"])
    assert printed.exit_code == 0
    assert printed.stdout == generate_fleet(5, seed=8).bundle()
    out = tmp_path / "generated"
    written = runner.invoke(cli, ["inventory", "generate", "--stores", "5", "--seed", "8", "--out", str(out)])
    assert written.exit_code == 0
    assert "5 stores (seed 8): 6 written, 0 unchanged" in written.stderr
    assert runner.invoke(cli, ["inventory", "validate", str(out)]).exit_code == 0
    too_many = runner.invoke(cli, ["inventory", "generate", "--stores", "10001"])
    assert too_many.exit_code == 2


def test_generate_refuses_to_overwrite_a_real_fleet(runner: CliRunner, fleet_dir: Path) -> None:
    result = runner.invoke(cli, ["inventory", "generate", "--stores", "3", "--out", str(fleet_dir)])
    assert result.exit_code == 2
    assert "did not write (fleet.yaml, stores/sh-0001.yaml" in result.stderr


def test_list_prints_plain_full_width_rows_when_piped(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "list", "--fleet", str(sample_chain_path())])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "format", "region", "state", "platform", "wan", "hub"]
    row = next(line for line in lines if line.startswith("nw-0003 "))
    assert "Northwind Utrecht Hoog Catharijne" in row and row.split()[-1] == "hq-hub1"
    assert row.split()[-2] == "fiber+broadband+5g"
    assert not any(char in result.stdout for char in "│┃━─…")


@pytest.mark.parametrize(("given", "hint"), [("7", "did you mean 'nw-0007'?"), ("zzz", "8 stores; `storestack")])
def test_show_of_an_unknown_store_says_what_was_meant(runner: CliRunner, given: str, hint: str) -> None:
    result = runner.invoke(cli, ["inventory", "show", given, "--fleet", str(sample_chain_path())])
    assert result.exit_code == 2 and hint in result.stderr


def test_help_texts_describe_the_options_each_command_has(runner: CliRunner) -> None:
    validate_help = runner.invoke(cli, ["inventory", "validate", "--help"]).output
    assert "--fleet" not in validate_help and "$STORESTACK_FLEET" in validate_help
    drift_help = " ".join(runner.invoke(cli, ["drift", "--help"]).output.split())
    assert "Roll out" not in drift_help and "--lab Check for drift on the running lab" in drift_help


def test_generate_json_reports_what_it_wrote_and_a_refusal(runner: CliRunner, tmp_path: Path, fleet_dir: Path) -> None:
    out = tmp_path / "generated"
    args = ["inventory", "generate", "--stores", "5", "--seed", "8", "--out", str(out), "--json"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {
        "ok": True, "out": str(out), "stores": 5, "seed": 8, "written": 6, "unchanged": 0, "removed": 0,
    }
    again = json.loads(runner.invoke(cli, args).stdout)
    assert (again["written"], again["unchanged"]) == (0, 6)
    refused = runner.invoke(cli, ["inventory", "generate", "--stores", "3", "--out", str(fleet_dir), "--json"])
    assert refused.exit_code == 2
    payload = json.loads(refused.stdout)
    assert payload["ok"] is False and "did not write (fleet.yaml" in payload["error"]
    bundle = runner.invoke(cli, ["inventory", "generate", "--stores", "2", "--json"])
    assert bundle.exit_code == 2
    assert "pass --out DIR" in json.loads(bundle.stdout)["error"]


@pytest.mark.parametrize(
    ("export_format", "files"), [("ansible", ["inventory.yaml"]), ("nornir", ["hosts.yaml", "groups.yaml", "defaults.yaml"])]
)
def test_export_json_reports_the_files_it_wrote(
    runner: CliRunner, tmp_path: Path, export_format: str, files: list[str]
) -> None:
    out = tmp_path / "exported"
    args = ["inventory", "export", "--format", export_format, "--out", str(out), "--region", "randstad", "--json"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["ok"] is True and payload["out"] == str(out) and payload["format"] == export_format
    assert sorted(payload["written"]) == sorted(files) and payload["unchanged"] == []
    assert sorted(path.name for path in out.iterdir()) == sorted(files)
    assert payload["stores"] == len(load_fleet(sample_chain_path()).filter(region="randstad"))
    again = json.loads(runner.invoke(cli, args).stdout)
    assert again["written"] == [] and sorted(again["unchanged"]) == sorted(files)


def test_export_json_answers_an_invalid_fleet_and_a_missing_out_in_json(
    runner: CliRunner, make_fleet: Callable[..., Path], tmp_path: Path
) -> None:
    fleet = make_fleet("bad-vlan")
    args = ["inventory", "export", "--format", "ansible", "--fleet", str(fleet), "--out", str(tmp_path / "x"), "--json"]
    invalid = runner.invoke(cli, args)
    assert invalid.exit_code == 1
    assert json.loads(invalid.stdout)["errors"][0]["field"] == "lan.pos.vlan"
    assert not (tmp_path / "x").exists()
    to_stdout = runner.invoke(cli, ["inventory", "export", "--format", "ansible", "--json"])
    assert to_stdout.exit_code == 2
    assert "pass --out DIR" in json.loads(to_stdout.stdout)["error"]
