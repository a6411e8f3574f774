"""The CLI imports a command's module only when the command runs.

`storestack inventory validate` in a CI step or a pre-commit hook should not pay for importing
Pulumi, Netmiko and asyncssh, which the inventory commands never use.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click

from storestack.cli import main as cli_main
from storestack.inventory import sample_chain_path

HEAVY = ("pulumi", "pulumi_aws", "pulumi_openstack", "netmiko", "paramiko", "asyncssh", "hier_config", "jinja2")


def test_inventory_commands_run_without_importing_cloud_or_device_libraries() -> None:
    probe = (
        "import json, sys\n"
        "from storestack.cli.main import cli\n"
        "try:\n"
        f"    cli(['inventory', 'validate', {str(sample_chain_path())!r}])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print(json.dumps([code, sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    code, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert "valid" in out.stdout and code == 0
    assert imported == []


def test_every_command_is_found_where_the_group_says_and_nothing_else_is_registered() -> None:
    eager = click.Group()
    for module in sorted(set(cli_main.COMMAND_MODULES.values())):
        cli_main.add_commands_of(eager, module)
    assert sorted(eager.commands) == sorted(cli_main.COMMAND_MODULES)
    for name, module in cli_main.COMMAND_MODULES.items():
        assert eager.commands[name].callback is not None
        assert eager.commands[name].callback.__module__ == module, name
