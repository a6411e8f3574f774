"""The CLI imports a command's module only when the command runs.

`storestack inventory validate` in a CI step or a pre-commit hook should not pay for importing
Pulumi, Netmiko and asyncssh, which the inventory commands never use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from storestack.cli import main as cli_main
from storestack.inventory import sample_chain_path

HEAVY = ("pulumi", "pulumi_aws", "pulumi_openstack", "netmiko", "paramiko", "asyncssh", "hier_config", "jinja2")


def _run_and_list_heavy_imports(
    arguments: list[str], *, load_all: bool = False, cwd: Path | None = None
) -> tuple[int, str, list[str]]:
    """(exit code, stdout, heavy top-level packages imported) of `storestack ARGUMENTS`, run in
    a fresh interpreter so nothing an earlier test imported counts; with `load_all`, every
    command's module imported first (a group's own lazily loaded commands' too)."""
    probe = (
        "import json, sys\n"
        "from storestack.cli.main import COMMAND_MODULES, add_commands_of, cli\n"
        f"for module in sorted(set(COMMAND_MODULES.values())) if {load_all!r} else ():\n"
        "    add_commands_of(cli, module)\n"
        f"for group in list(cli.commands.values()) if {load_all!r} else ():\n"
        "    for module in sorted(set(getattr(group, 'modules', {}).values())):\n"
        "        add_commands_of(group, module, register=group.register)\n"
        "code = 0\n"
        "try:\n"
        f"    cli({arguments!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print(json.dumps([code, sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd)
    *printed, last = out.stdout.strip().splitlines()
    code, imported = json.loads(last)
    return code, "\n".join(printed), imported


def test_inventory_commands_run_without_importing_cloud_or_device_libraries() -> None:
    code, stdout, imported = _run_and_list_heavy_imports(["inventory", "validate", str(sample_chain_path())])
    assert "valid" in stdout and code == 0
    assert imported == []


def test_top_level_help_lists_commands_without_importing_cloud_or_device_libraries() -> None:
    code, stdout, imported = _run_and_list_heavy_imports(["--help"])
    assert code == 0 and "Commands:" in stdout
    assert imported == []


@pytest.mark.parametrize("arguments", [["lab", "--help"], ["lab", "status"]])
def test_lab_commands_that_plan_no_cloud_tunnels_do_not_import_pulumi(arguments: list[str], tmp_path: Path) -> None:
    code, _stdout, imported = _run_and_list_heavy_imports(arguments, cwd=tmp_path)
    assert code == (0 if "--help" in arguments else 2)  # lab status: no lab recorded in tmp_path
    assert not [name for name in imported if name.startswith("pulumi")]


@pytest.mark.parametrize("arguments", [["lab", "--help"], ["lab", "status"]])
def test_lab_commands_that_reach_no_appliance_import_no_ssh_library(arguments: list[str], tmp_path: Path) -> None:
    """asyncssh (the emulator's server) and paramiko (the push engine's host keys) are for the
    commands that serve or reach appliances."""
    code, _stdout, imported = _run_and_list_heavy_imports(arguments, cwd=tmp_path)
    assert code == (0 if "--help" in arguments else 2)
    assert not {"asyncssh", "paramiko", "netmiko"} & set(imported), imported


def test_top_level_help_lists_each_command_as_the_command_itself_describes_it() -> None:
    _, lazy, _ = _run_and_list_heavy_imports(["--help"])
    _, loaded, imported = _run_and_list_heavy_imports(["--help"], load_all=True)
    assert "pulumi" in imported  # the comparison is with every command's own module loaded
    assert lazy == loaded
    assert "  lab        The local device lab: FRR appliances in network namespaces" in lazy


def test_every_command_is_found_where_the_group_says_and_nothing_else_is_registered() -> None:
    eager = click.Group()
    for module in sorted(set(cli_main.COMMAND_MODULES.values())):
        cli_main.add_commands_of(eager, module)
    assert sorted(eager.commands) == sorted(cli_main.COMMAND_MODULES)
    for name, module in cli_main.COMMAND_MODULES.items():
        assert eager.commands[name].callback is not None
        assert eager.commands[name].callback.__module__ == module, name


@pytest.mark.parametrize(
    "arguments", [["devices", "lint"], ["devices", "lint", "--help"], ["devices", "--help"], ["stacks", "--help"]]
)
def test_commands_that_reach_no_appliance_or_cloud_import_neither_pulumi_nor_netmiko(
    arguments: list[str], tmp_path: Path
) -> None:
    """`devices lint` reads rendered configs only and `stacks --help` lists commands: neither
    needs the Pulumi SDK or Netmiko (with paramiko), which the push and the stack commands load."""
    code, stdout, imported = _run_and_list_heavy_imports(arguments, cwd=tmp_path)
    assert code == 0, stdout
    assert ("Usage:" if "--help" in arguments else "0 finding(s)") in stdout
    assert not [name for name in imported if name.startswith(("pulumi", "netmiko", "paramiko"))], imported


@pytest.mark.parametrize(("group", "heavy"), [("devices", "netmiko"), ("stacks", "pulumi")])
def test_a_group_lists_its_lazily_loaded_commands_as_the_commands_describe_themselves(group: str, heavy: str) -> None:
    _, lazy, _ = _run_and_list_heavy_imports([group, "--help"])
    _, loaded, imported = _run_and_list_heavy_imports([group, "--help"], load_all=True)
    assert heavy in imported  # the comparison is with the commands' own module loaded
    assert lazy == loaded


# What a group's --help needs is its options and its commands' lines: none of the renderers (and
# the Jinja2 and hier_config they load), the lab's FRR and namespace code, or the fleet's pydantic
# models. Each is the first module of its kind a command's import would pull in.
NOT_FOR_HELP = (
    "jinja2",
    "hier_config",
    "pydantic",
    "storestack.devices.render",
    "storestack.devices.platforms",
    "storestack.inventory.fleet",
    "storestack.inventory.models",
    "storestack.lab.frr_lab",
    "storestack.network.build",
)


def _modules_imported(arguments: list[str], cwd: Path) -> tuple[int, str, set[str]]:
    """(exit code, stdout, every module imported) of `storestack ARGUMENTS` in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        "from storestack.cli.main import cli\n"
        "code = 0\n"
        "try:\n"
        f"    cli({arguments!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd)
    *printed, last = out.stdout.strip().splitlines()
    code, modules = json.loads(last)
    return code, "\n".join(printed), set(modules)


@pytest.mark.parametrize(
    "arguments", [["lab", "--help"], ["devices", "--help"], ["devices", "lint", "--help"], ["devices", "render", "--help"]]
)
def test_a_groups_help_imports_no_renderer_lab_or_fleet_model(arguments: list[str], tmp_path: Path) -> None:
    code, stdout, modules = _modules_imported(arguments, tmp_path)
    assert code == 0 and "Usage:" in stdout, stdout
    assert not {name for name in modules if name.startswith(NOT_FOR_HELP)}, sorted(
        name for name in modules if name.startswith(NOT_FOR_HELP)
    )


def test_the_inventory_package_still_gives_every_name_it_exports() -> None:
    """`storestack.inventory` imports each name from its module on first use: every name in its
    `__all__` is there, and is the module's own object."""
    probe = (
        "import importlib, json, storestack.inventory as inv\n"
        "print(json.dumps({n: getattr(inv, n).__module__ if hasattr(getattr(inv, n), '__module__') else '' "
        "for n in inv.__all__}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert set(found) >= {"Fleet", "load_fleet", "InventoryError", "sample_chain_path"}
    assert found["Fleet"] == "storestack.inventory.fleet" and found["load_fleet"] == "storestack.inventory.loader"
