"""A configuration error names the file, line and field a user has to fix, in text and in the
one --json error shape, and exits 2 before anything is reached: a device's login, a fleet secret,
a stack outputs entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.cli import FLEET, cli_runner

from storestack.cli.main import cli
from storestack.inventory import sample_chain_path


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    return cli_runner(monkeypatch, tmp_path)


def _fleet_line(text: str) -> int:
    lines = (sample_chain_path() / "fleet.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.strip().startswith(text))


# ------------------------------------------------------------------ device credentials


# Lab appliances on 127.0.0.1 port 9 (discard: nothing listens), as a targets file lists them.
HUB1 = "{name: hq-hub1, role: hub, platform: frr, host: 127.0.0.1, port: 9}"
HUB2 = "{name: hq-hub2, role: hub, platform: frr, host: 127.0.0.1, port: 9}"
EDGE = "{name: nw-0001-edge1, role: edge, store_id: nw-0001, platform: frr, host: 127.0.0.1, port: 9}"
A1 = "{name: a1, role: hub, platform: frr, host: 127.0.0.1, port: 9}"


def _lab_targets(tmp_path: Path, *appliances: str) -> Path:
    """tmp_path/targets.yaml listing `appliances`, each a flow mapping."""
    targets = tmp_path / "targets.yaml"
    targets.write_text("source: lab:test\nappliances:\n" + "".join(f"  - {appliance}\n" for appliance in appliances))
    return targets


def _targets(tmp_path: Path, credentials: Path) -> Path:
    """Two lab appliances on 127.0.0.1 port 9 (discard: nothing listens), logging in from a
    credentials file that is not there; a third from the environment."""
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "source: lab:test\n"
        "appliances:\n"
        "  - name: a1\n    role: hub\n    platform: frr\n    host: 127.0.0.1\n    port: 9\n"
        f"    credentials: {{kind: file, path: {credentials}}}\n"
        "  - name: a2\n    role: hub\n    platform: frr\n    host: 127.0.0.1\n    port: 9\n"
        f"    credentials: {{kind: file, path: {credentials}}}\n"
        "  - name: a3\n    role: hub\n    platform: frr\n    host: 127.0.0.1\n    port: 9\n"
    )
    intended = tmp_path / "intended"
    intended.mkdir()
    for name in ("a1", "a2", "a3"):
        (intended / f"{name}.cfg").write_text("hostname x\n")
    return targets


def _push(runner: CliRunner, tmp_path: Path, targets: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        cli,
        ["devices", "push", "--targets", str(targets), "--intended", str(tmp_path / "intended"),
         "--state-dir", str(tmp_path / "state"), "--conn-timeout", "1", *extra],
    )
    return result.exit_code, result.stdout, result.stderr


def test_missing_device_credentials_are_one_configuration_error_before_any_connection(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Each appliance failed at its `credentials` stage (exit 1, a push failure, a journal of
    failed appliances), where nothing about the appliances was wrong: the operator's set-up was."""
    missing = tmp_path / "nowhere" / "credentials.yaml"
    targets = _targets(tmp_path, missing)
    code, stdout, _ = _push(runner, tmp_path, targets, "--dry-run", "--json")
    assert code == 2, stdout
    payload = json.loads(stdout)
    assert set(payload) == {"ok", "error", "errors"} and payload["ok"] is False
    where = sorted((e["file"], e["line"], e["field"]) for e in payload["errors"])
    assert where == [
        (str(targets), 8, "appliances[0].credentials"),
        (str(targets), 15, "appliances[2].credentials"),
    ]
    messages = " ".join(e["message"] for e in payload["errors"])
    assert str(missing) in messages and "a1" in messages and "a2" in messages
    assert "STORESTACK_DEVICE_USERNAME" in messages and "STORESTACK_DEVICE_PASSWORD" in messages
    # Nothing ran: no run journal of failed appliances to retry with --only-failed.
    assert not (tmp_path / "state" / "runs").exists() or not any((tmp_path / "state" / "runs").iterdir())


def test_missing_device_credentials_in_text_name_the_file_line_and_field(
    runner: CliRunner, tmp_path: Path
) -> None:
    targets = _targets(tmp_path, tmp_path / "credentials.yaml")
    code, stdout, stderr = _push(runner, tmp_path, targets, "--dry-run")
    assert code == 2, stdout + stderr
    assert f"{targets}:8 appliances[0].credentials" in stderr.replace("\n", " ")
    assert "failed" not in stdout


def test_a_rollout_without_device_credentials_stops_before_any_store_step(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A rollout reached each appliance's push step before its login was found missing."""
    targets = _lab_targets(tmp_path, HUB1, HUB2, EDGE)
    result = runner.invoke(
        cli,
        ["rollout", "nw-0001", "--dry-run", "--targets", str(targets), "--state-dir", str(tmp_path / "state"),
         "--json", *FLEET],
    )
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["line"], entry["field"]) == (str(targets), 3, "appliances[0].credentials")
    assert "STORESTACK_DEVICE_PASSWORD" in entry["message"] and "nw-0001-edge1" in entry["message"]



def test_drift_without_device_credentials_stops_before_any_appliance_is_reached(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Drift's login pre-check had no test, and drift no --targets: it read the fleet's own
    appliances or a running lab's only. A lab appliance inventory whose one store edge listens
    here: the unset login is one configuration error (exit 2) and nothing connects."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        edge = f"{{name: nw-0001-edge1, role: edge, store_id: nw-0001, platform: frr, host: 127.0.0.1, port: {port}}}"
        targets = _lab_targets(tmp_path, edge)
        result = runner.invoke(
            cli, ["drift", "--targets", str(targets), "--state-dir", str(tmp_path / "state"), "--json", *FLEET]
        )
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["line"], entry["field"]) == (str(targets), 3, "appliances[0].credentials")
    assert "STORESTACK_DEVICE_PASSWORD" in entry["message"] and "nw-0001-edge1" in entry["message"]


# ------------------------------------------------------------------ fleet secrets


@pytest.mark.parametrize(("slug", "variable", "value"), [
    ("tacacs-key", "STORESTACK_TACACS_KEY", None),
    ("ipsec-psk", "STORESTACK_IPSEC_PSK", "aaaaaaaa"),  # every tunnel's PSK derives from it
    ("local-admin-password", "STORESTACK_LOCAL_ADMIN_PASSWORD", "passwordpass"),
])
def test_a_missing_or_weak_secret_names_its_fleet_yaml_line_and_field(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slug: str, variable: str, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    out = tmp_path / "configs"
    args = ["devices", "render", "--with-secrets", "--out", str(out), *FLEET]
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    where = {(e["file"], e["line"], e["field"]) for e in payload["errors"]}
    assert where == {("fleet.yaml", _fleet_line(f"{slug}:"), f"management.secrets.{slug}")}
    assert f"env:{variable}" in payload["error"]
    assert value is None or value not in result.output
    text = runner.invoke(cli, args)
    assert text.exit_code == 2
    assert f"fleet.yaml:{_fleet_line(f'{slug}:')} management.secrets.{slug}" in text.stderr.replace("\n", " ")


def test_a_push_that_cannot_render_for_a_missing_secret_names_its_fleet_yaml_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The push wrapped the secret's error in its own and dropped the place: file, line and
    field null in --json. Targets on 127.0.0.1 port 9: nothing is reached either way."""
    monkeypatch.delenv("STORESTACK_IPSEC_PSK")
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "admin")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "Lab.Device_Pw1")
    targets = _lab_targets(tmp_path, EDGE)
    result = runner.invoke(
        cli,
        ["devices", "push", "--targets", str(targets), "--dry-run", "--state-dir", str(tmp_path / "state"),
         "--json", *FLEET],
    )
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    line = _fleet_line("ipsec-psk:")
    assert (entry["file"], entry["line"], entry["field"]) == ("fleet.yaml", line, "management.secrets.ipsec-psk")
    assert "env:STORESTACK_IPSEC_PSK" in entry["message"]


def test_a_push_from_an_invalid_inventory_names_each_issue_as_every_command_does(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The push said only "the inventory at … is invalid (1 issue(s))", with exit 2 where every
    other command reports an invalid inventory with exit 1 and each issue's file, line and field."""
    from testsupport.rendering import edited_sample_chain

    chain = edited_sample_chain(tmp_path, "bandwidth_mbps: 1000", "bandwidth_mbps: -5", "stores/nw-0001.yaml")
    result = runner.invoke(
        cli,
        ["devices", "push", "--store", "nw-0001", "--dry-run", "--state-dir", str(tmp_path / "state"),
         "--fleet", str(chain), "--json"],
    )
    assert result.exit_code == 1, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["line"], entry["field"]) == ("stores/nw-0001.yaml", 12, "wan[0].bandwidth_mbps")
    assert not (tmp_path / "state").exists()


# nw-0005's VRP edge takes no MD5 NTP key, its FRR hubs do.
VRP_EDGE = "{name: nw-0005-edge1, role: edge, store_id: nw-0005, platform: huawei_vrp, host: 127.0.0.1, port: 9}"


@pytest.mark.parametrize(("store", "edge", "variable", "slug"), [
    ("nw-0001", EDGE, "STORESTACK_IPSEC_PSK", "ipsec-psk"),
    ("nw-0005", VRP_EDGE, "STORESTACK_NTP_KEY", "ntp-key"),
])
def test_a_rollout_missing_a_device_secret_stops_before_its_first_step(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: str, edge: str, variable: str, slug: str
) -> None:
    """The rollout planned the store's stack and brought it up (a real run creates cloud
    resources) before its render step found the fleet secret unset: exit 1, a failed step. The
    pre-check that stopped that rendered the store's appliances only: a secret only its hubs
    need (nw-0005's) was still found at the push step, rendering the hubs."""
    monkeypatch.delenv(variable)
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "admin")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "Lab.Device_Pw1")
    targets = _lab_targets(tmp_path, HUB1, HUB2, edge)
    state = tmp_path / "state"
    result = runner.invoke(
        cli, ["rollout", store, "--dry-run", "--targets", str(targets), "--state-dir", str(state), "--json", *FLEET]
    )
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    line = _fleet_line(f"{slug}:")
    assert (entry["file"], entry["line"], entry["field"]) == ("fleet.yaml", line, f"management.secrets.{slug}")
    assert not (state / "runs").exists() or not any((state / "runs").iterdir())


# ------------------------------------------------------------------ stack outputs


OUTPUTS = """\
nw-0001:
  links:
    - link: wan1
      hub: hq-hub1
      outside_address: 203.0.113.11
      inside: 100.64.0.1/31
      inside_peer: 100.64.0.7
      psk: Hub.Psk_Wan1_Value
"""

# The commands that read stack outputs, each run as `command` with the outputs option added.
READING_OUTPUTS = pytest.mark.parametrize("command", [
    ["devices", "render", "--out", "{tmp}/out"],
    ["devices", "lint"],
])


def _outputs_run(tmp_path: Path, command: list[str], option: str, name: str, text: str) -> tuple[Path, list[str]]:
    """An outputs file `name` (mode 0600) holding `text`, and `command` reading it with `option`."""
    outputs = tmp_path / name
    outputs.write_text(text)
    outputs.chmod(0o600)
    return outputs, [arg.replace("{tmp}", str(tmp_path)) for arg in command] + [option, str(outputs), *FLEET]


@READING_OUTPUTS
def test_an_invalid_stack_outputs_entry_names_its_line_and_field(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    """A validation error of a stack outputs file named the store and the field in its message
    only; its --json entry had file, line and field null."""
    outputs, args = _outputs_run(tmp_path, command, "--outputs", "outputs.yaml", OUTPUTS)
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["line"], entry["field"]) == (str(outputs), 3, "nw-0001.links[0]")
    assert "inside_peer" in entry["message"] and "Hub.Psk_Wan1_Value" not in result.output


def test_push_keeps_the_line_of_an_invalid_stack_outputs_entry(runner: CliRunner, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"nw-0001": {"links": [{"link": "wan1", "outside_address": "x"}]}}, indent=2))
    outputs.chmod(0o600)
    result = runner.invoke(
        cli,
        ["devices", "push", "--store", "nw-0001", "--dry-run", "--outputs", str(outputs),
         "--state-dir", str(tmp_path / "state"), "--json", *FLEET],
    )
    assert result.exit_code == 2, result.output
    entries = json.loads(result.stdout)["errors"]
    assert {e["file"] for e in entries} == {str(outputs)}
    assert all(e["line"] is not None and e["field"].startswith("nw-0001.links[0]") for e in entries)


CORE_OUTPUTS = """\
{
  "hub_vpn_tunnels": {
    "eu-west-1/hq-hub1": {
      "hub": "hq-hub1",
      "region": "eu-west-1",
      "tunnels": [
        {"outside_address": "203.0.113.9", "inside_cidr": "169.254.10.0/30"},
        {"outside_address": "203.0.113.10", "inside_cidr": "169.254.10.8/29"}
      ]
    }
  },
  "hub_vpn_psks": {"eu-west-1/hq-hub1": ["Core.Psk_Tunnel1", "Core.Psk_Tunnel2"]},
  "openstack_hub_tunnels": {
    "dc1/hq-hub1": {"hub": "hq-hub1", "site": "dc1"}
  }
}
"""


@READING_OUTPUTS
def test_an_invalid_core_outputs_entry_names_its_file_line_and_field(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    """The core stack's outputs (--core-outputs) were refused with file, line and field null,
    one message for the first problem only; the store outputs name each problem's place."""
    core, args = _outputs_run(tmp_path, command, "--core-outputs", "core.json", CORE_OUTPUTS)
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 2, result.output
    entries = json.loads(result.stdout)["errors"]
    places = {(e["file"], e["line"], e["field"]) for e in entries}
    assert places == {
        (str(core), 8, "hub_vpn_tunnels['eu-west-1/hq-hub1'].tunnels[1]"),
        (str(core), 14, "openstack_hub_tunnels['dc1/hq-hub1'].peer_outside_address"),
    }, entries
    assert "Core.Psk" not in result.output
    text = runner.invoke(cli, args)
    assert text.exit_code == 2 and f"{core}:8 " in text.stderr, text.output
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the sample chain


@pytest.mark.parametrize("args", [
    ["inventory", "rename", "nw-0008", "nw-0098", "--json"],
    ["inventory", "validate", "--write-lock", "--json"],
])
def test_a_command_never_writes_into_the_sample_chain_that_ships_with_storestack(
    runner: CliRunner, args: list[str]
) -> None:
    """Without --fleet, `inventory rename` renamed a store of the package's own sample chain (its
    store file and lock entry), changing it for every later run, or failing half way where the
    package is installed read-only."""
    root = sample_chain_path()
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    try:
        result = runner.invoke(cli, args)
        after = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    finally:
        for path in {path for path in root.rglob("*") if path.is_file()} - set(before):
            path.unlink()
        for path, data in before.items():
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
    assert after == before
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert "read-only" in entry["message"] and "--fleet" in entry["message"]


# ------------------------------------------------------------------ files that cannot be written


@pytest.mark.parametrize("command", [
    ["devices", "render", "--out", "{blocked}", *FLEET],
    ["stacks", "render", "--out", "{blocked}", *FLEET],
    ["devices", "push", "--targets", "{targets}", "--intended", "{intended}", "--state-dir", "{blocked}", "--dry-run"],
])
def test_a_file_that_cannot_be_written_is_named_in_the_json_entry(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    """The file was only inside the message: the entry's `file` was null."""
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "admin")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "Lab.Device_Pw1")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    _targets(tmp_path, tmp_path / "unused.yaml")  # for its intended folder (a1.cfg …)
    targets = _lab_targets(tmp_path, A1)
    values = {"{blocked}": str(blocker / "out"), "{targets}": str(targets), "{intended}": str(tmp_path / "intended")}
    result = runner.invoke(cli, [values.get(arg, arg) for arg in command] + ["--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["file"] is not None and entry["file"].startswith(str(blocker)), entry
    assert entry["file"] in entry["message"]


# ------------------------------------------------------------------ bad option values


@pytest.mark.parametrize(("args", "field"), [
    (["devices", "render", "--store", "nope", *FLEET], "--store"),
    (["devices", "show", "nope", *FLEET], "NAME"),
    (["inventory", "show", "nope", *FLEET], "STORE_ID"),
    (["plan", "--store", "nope", "--workers", "1", *FLEET], "--store"),
    (["devices", "push", "--store", "nope", "--dry-run", "--targets", "{targets}"], "--store"),
    (["devices", "push", "--appliance", "zz", "--dry-run", "--targets", "{targets}"], "--appliance"),
    (["devices", "push", "--shard", "3/2", "--dry-run", "--targets", "{targets}"], "--shard"),
    (["devices", "push", "--region", "nowhere", "--dry-run", "--targets", "{targets}", *FLEET], "--region"),
    (["network", "show", "NOPE", *FLEET], "STORE|HUB"),
    (["inventory", "export", "--format", "ansible", *FLEET], "--out"),
    (["inventory", "export", "--format", "nornir", *FLEET], "--out"),
    (["inventory", "generate", "--stores", "3"], "--out"),
    (["devices", "push", "--only-failed", "--dry-run", "--targets", "{targets}"], "--only-failed"),
    (["inventory", "list", "--region", "nowhere", *FLEET], "--region"),
    (["inventory", "export", "--format", "ansible", "--region", "nowhere", "--out", "export", *FLEET], "--region"),
    (["rollout", "--resume", "rollout-nope"], "--resume"),
    (["plan", "--stack", "nope", "--workers", "1", *FLEET], "--stack"),
    (["outputs", "--stack", "nope", *FLEET], "--stack"),
    (["up", "--stack", "core", "--parallel", "0", *FLEET], "--parallel"),
    (["devices", "restore", "zz", "--dry-run", "--targets", "{targets}"], "APPLIANCE"),
    (["inventory", "validate", "--write-lock", "{targets}"], "--write-lock"),
])
def test_a_bad_option_value_names_its_option_in_the_json_field(
    runner: CliRunner, tmp_path: Path, args: list[str], field: str
) -> None:
    """An unknown store, appliance or region, a shard out of range, an export or generation
    under --json without the --out it needs, --only-failed with no earlier run, a run to resume
    that has no journal, an unknown --stack, a --parallel out of range, an appliance to restore
    that the targets lack, --write-lock of a bundle, answered with field null (and an unknown region of `inventory list` or
    `export` with exit 0 and no store, as if the region had none): the README promises the
    option of a bad value in `field`, as Click's own checks give it."""
    targets = _lab_targets(tmp_path, A1)
    result = runner.invoke(cli, [str(targets) if arg == "{targets}" else arg for arg in args] + ["--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["field"] == field, entry
    assert not (tmp_path / ".storestack").exists() and not (tmp_path / "export").exists()


def test_a_fleet_path_that_does_not_exist_is_named_in_the_json_entry(runner: CliRunner, tmp_path: Path) -> None:
    """`inventory validate PATH` of a missing PATH named it in the message only (file null),
    where a --fleet without fleet.yaml names the file."""
    missing = tmp_path / "nowhere"
    result = runner.invoke(cli, ["inventory", "validate", str(missing), "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["file"] == str(missing), entry


@pytest.mark.parametrize("option", ["--outputs", "--core-outputs"])
@pytest.mark.parametrize("problem", ["missing", "readable by others"])
def test_a_stack_outputs_file_that_cannot_be_read_is_named_in_the_json_entry(
    runner: CliRunner, tmp_path: Path, option: str, problem: str
) -> None:
    """A missing outputs file, or one others may read, was named in the message only: the
    entry's `file` was null, where an unreadable --targets file names it."""
    outputs = tmp_path / "outputs.json"
    if problem != "missing":
        outputs.write_text("{}\n")
        outputs.chmod(0o644)
    result = runner.invoke(cli, ["devices", "lint", option, str(outputs), "--json", *FLEET])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["file"] == str(outputs), entry



# ------------------------------------------------------------------ the emulator's spec


def test_an_invalid_emulator_spec_names_each_file_line_and_field(runner: CliRunner, tmp_path: Path) -> None:
    """`lab emulator --spec` printed pydantic's own dump: several lines per problem, no file line,
    a link to pydantic's site and the refused values as given (a running config, a password)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "username: admin\n"
        "devices:\n"
        "  - name: x1\n"
        "    platform: nope\n"
        "  - name: x2\n"
        "    platform: cisco_xe\n"
        "    port: 70000\n"
        "    running_config: [Hidden.Secret_Value1]\n"
    )
    result = runner.invoke(cli, ["lab", "emulator", "--spec", str(spec), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{spec}:4 devices[0].platform" in lines[0] and "(and 2 more)" in lines[0], lines
    assert "Hidden.Secret_Value1" not in result.output and "pydantic" not in result.output
    assert not (tmp_path / "state").exists()


# ------------------------------------------------------------------ re-runs


def test_a_rename_run_again_changes_nothing_and_says_so(runner: CliRunner, tmp_path: Path) -> None:
    """The same rename again (a CI job re-run) was refused with exit 2, its --json entry naming
    a file `rename`, which no fleet holds: the store was already renamed, nothing was left to do."""
    import shutil

    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    args = ["inventory", "rename", "nw-0001", "nw-0101", "--fleet", str(fleet), "--json"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    files = {path: path.read_bytes() for path in fleet.rglob("*") if path.is_file()}
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    payload = json.loads(again.stdout)
    assert payload["ok"] is True and payload["changed"] is False and payload["file_renamed"] is False
    assert {path: path.read_bytes() for path in fleet.rglob("*") if path.is_file()} == files
    text = runner.invoke(cli, args[:-1])
    assert text.exit_code == 0 and "nothing changed" in text.stdout, text.output


def test_a_refused_rename_names_the_lock_file_and_entry(runner: CliRunner, tmp_path: Path) -> None:
    """A rename onto a store that has numbers named a file `rename` in its --json entry."""
    import shutil

    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    result = runner.invoke(cli, ["inventory", "rename", "nw-0001", "nw-0002", "--fleet", str(fleet), "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"]) == ("allocations.yaml", "stores.nw-0002"), entry
    assert entry["line"] is not None
