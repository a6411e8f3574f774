"""`--targets` (an appliance inventory) is refused alike by every command that takes it: a
directory or a file that is not there is a usage error before anything runs (exit 2), and the
--json error names the option and the path."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from testsupport.cli import FLEET, cli_runner

from storestack.cli.main import cli

# Every command taking --targets, with what else it needs to get as far as reading it. Nothing
# reaches an appliance: the targets are refused first.
COMMANDS = {
    "devices push": ["devices", "push", "--intended", "{tmp}"],
    "devices restore": ["devices", "restore", "edge1"],
    "rollout": ["rollout", "nw-0001", "--dry-run", *FLEET],
    "drift": ["drift", *FLEET],
}


def _commands_with_targets(group: click.Group, prefix: str = "") -> set[str]:
    """The commands below `group` with a --targets option (the group loads each one lazily)."""
    found: set[str] = set()
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found |= _commands_with_targets(command, f"{path} ")
        elif any("--targets" in getattr(param, "opts", ()) for param in command.params):
            found.add(path)
    return found


def test_the_cases_below_cover_every_command_taking_targets() -> None:
    assert _commands_with_targets(cli) == set(COMMANDS)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    return cli_runner(monkeypatch, tmp_path)


@pytest.mark.parametrize("kind", ["directory", "missing"])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_targets_directory_or_missing_file_is_a_usage_error_naming_the_option(
    runner: CliRunner, tmp_path: Path, name: str, kind: str
) -> None:
    targets = tmp_path / "targets"
    if kind == "directory":
        targets.mkdir()
        (targets / "inventory.yaml").write_text("appliances: []\n")
    state = tmp_path / "state"
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in COMMANDS[name]]
    result = runner.invoke(cli, [*args, "--targets", str(targets), "--state-dir", str(state), "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    (entry,) = payload["errors"]
    assert entry["field"] == "--targets" and entry["file"] == str(targets), entry
    assert str(targets) in entry["message"] and "Traceback" not in result.output
    assert not state.exists(), "nothing ran: no journal, backup or host key was written"

    text = runner.invoke(cli, [*args, "--targets", str(targets), "--state-dir", str(state)])
    assert text.exit_code == 2 and "'--targets'" in text.stderr and "Traceback" not in text.output


# Every other file an option reads, refused the same way (the same option type, `InputFile`).
TARGETS = "source: lab:test\nappliances:\n  - {name: a1, role: hub, platform: frr, host: 127.0.0.1, port: 9}\n"
READ_FILES = {
    "devices render --outputs": ["devices", "render", "--out", "{tmp}/out", *FLEET, "--outputs"],
    "devices render --core-outputs": ["devices", "render", "--out", "{tmp}/out", *FLEET, "--core-outputs"],
    "devices show --outputs": ["devices", "show", "nw-0001", *FLEET, "--outputs"],
    "devices push --outputs": ["devices", "push", "--targets", "{tmp}/t.yaml", "--state-dir", "{tmp}/state", *FLEET,
                               "--outputs"],
    "devices restore --backup": ["devices", "restore", "a1", "--targets", "{tmp}/t.yaml", "--state-dir", "{tmp}/state",
                                 "--backup"],
}


@pytest.mark.parametrize("kind", ["directory", "missing"])
@pytest.mark.parametrize("name", sorted(READ_FILES))
def test_every_file_an_option_reads_is_refused_naming_the_option_and_the_path(
    runner: CliRunner, tmp_path: Path, name: str, kind: str
) -> None:
    (tmp_path / "t.yaml").write_text(TARGETS)
    given = tmp_path / "given"
    if kind == "directory":
        given.mkdir()
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in READ_FILES[name]]
    result = runner.invoke(cli, [*args, str(given), "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["field"], entry["file"]) == (name.rsplit(" ", 1)[1], str(given)), entry
    assert not (tmp_path / "out").exists() and not (tmp_path / "state").exists()


def test_a_missing_folder_of_intended_configs_names_intended(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TARGETS)
    result = runner.invoke(
        cli,
        ["devices", "push", "--targets", str(tmp_path / "t.yaml"), "--intended", str(tmp_path / "none"),
         "--state-dir", str(tmp_path / "state"), "--json"],
    )
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["field"] == "--intended" and str(tmp_path / "none") in entry["message"]


# A `rollout --targets` file that is there but wrong: each error names the file, and the entry,
# field and line that is wrong where there is one; the rollout starts no run.
HUBS = (
    "  - {name: hq-hub1, role: hub, platform: frr, host: 127.0.0.1, port: 2201}\n"
    "  - {name: hq-hub2, role: hub, platform: frr, host: 127.0.0.1, port: 2202}\n"
)
EDGE = "  - {name: nw-0001-edge1, role: edge, store_id: nw-0001, platform: %s, host: 127.0.0.1, port: 2203}\n"
INVALID_TARGETS = {
    # name: (the file, the field of its one error, its line)
    "empty": ("", "--targets", 1),
    "not YAML": ("source: lab:test\nappliances: [\n", "--targets", 3),
    "one name twice": (
        "source: lab:test\nappliances:\n" + HUBS + EDGE % "frr" + EDGE % "frr", "appliances[3].name", 6
    ),
    "another platform than the inventory's": (
        "source: lab:test\nappliances:\n" + HUBS + EDGE % "cisco_xe", "appliances[2].platform", 5
    ),
    "a store the inventory does not give it": (
        "source: lab:test\nappliances:\n" + HUBS + (EDGE % "frr").replace("store_id: nw-0001", "store_id: nw-0002"),
        "appliances[2].store_id", 5,
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_TARGETS))
def test_an_invalid_targets_file_of_a_rollout_names_file_field_and_line(
    runner: CliRunner, tmp_path: Path, case: str
) -> None:
    text, field, line = INVALID_TARGETS[case]
    targets = tmp_path / "targets.yaml"
    targets.write_text(text)
    state = tmp_path / "state"
    args = [*COMMANDS["rollout"], "--targets", str(targets), "--state-dir", str(state)]

    result = runner.invoke(cli, [*args, "--json"])

    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"], entry["line"]) == (str(targets), field, line), entry
    assert not state.exists(), "nothing ran: no journal was written"
    text_result = runner.invoke(cli, args)
    assert text_result.exit_code == 2
    assert f"{targets}:{line}" in text_result.stderr


def test_a_targets_file_without_an_appliance_the_rollout_needs_names_the_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text("source: lab:test\nappliances:\n" + HUBS)
    result = runner.invoke(cli, [*COMMANDS["rollout"], "--targets", str(targets), "--state-dir", str(tmp_path / "s"),
                                 "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"]) == (str(targets), "--targets"), entry
    assert "nw-0001-edge1" in entry["message"]


# Every command that reaches appliances through --targets refuses an entry that says otherwise
# than the inventory of an appliance it would reach, at the entry's file, line and field, before
# any is reached: the appliances "listen" here and nothing connects. (command: what it runs with)
REACHING = {
    "drift": ["drift", *FLEET],
    "devices push": ["devices", "push", *FLEET],
    "devices restore": ["devices", "restore", "nw-0001-edge1", *FLEET, "--backup", "{tmp}/backup.cfg"],
}
HUBS_AT = (
    "  - {{name: hq-hub1, role: hub, platform: frr, host: 127.0.0.1, port: {port}}}\n"
    "  - {{name: hq-hub2, role: hub, platform: frr, host: 127.0.0.1, port: {port}}}\n"
)
EDGE_AT = "  - {name: nw-0001-edge1, role: edge, store_id: nw-0001, platform: frr, host: 127.0.0.1, port: %d}\n"
# field: (the entry as the file says it, otherwise than the inventory)
CONTRADICTING = {
    "platform": ("platform: frr", "platform: fortinet"),
    "store_id": ("store_id: nw-0001", "store_id: nw-0002"),
    "role": ("role: edge, store_id: nw-0001", "role: hub, store_id: nw-0001"),
}


@pytest.mark.parametrize("field", sorted(CONTRADICTING))
@pytest.mark.parametrize("name", sorted(REACHING))
def test_a_targets_entry_contradicting_the_inventory_is_refused_before_any_appliance_is_reached(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, field: str
) -> None:
    import socket

    # A login that resolves: the contradiction is the one thing wrong.
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "admin")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "lab-password")
    (tmp_path / "backup.cfg").write_text("hostname nw-0001-edge1\n")
    state = tmp_path / "state"
    targets = tmp_path / "targets.yaml"
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in REACHING[name]]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        edge = (EDGE_AT % port).replace(*CONTRADICTING[field])
        targets.write_text("source: lab:test\nappliances:\n" + HUBS_AT.format(port=port) + edge)
        result = runner.invoke(cli, [*args, "--targets", str(targets), "--state-dir", str(state), "--json"])
        text = runner.invoke(cli, [*args, "--targets", str(targets), "--state-dir", str(state)])
        with pytest.raises(TimeoutError):
            listener.accept()

    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"], entry["line"]) == (str(targets), f"appliances[2].{field}", 5), entry
    assert "nw-0001-edge1" in entry["message"]
    assert text.exit_code == 2 and f"{targets}:5" in text.stderr and "Traceback" not in text.output
    assert not (state / "backups").exists(), "no backup was taken: nothing was reached"
