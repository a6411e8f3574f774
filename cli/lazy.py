"""A Click group whose commands' modules are imported only when a command runs.

Listing the commands (the group's `--help`) imports none of them: each is listed by its one line
of help, which `tests/packaging/test_cli_startup.py` checks against the command's own. What a
module costs to import (Pulumi, Netmiko, asyncssh: seconds of CPU) is paid by its commands only.
"""

from __future__ import annotations

import importlib
from typing import ClassVar

import click


class LazyGroup(click.Group):
    """`modules`: the module defining each lazily loaded command, which its function `register`
    adds to the group; `help_lines`: each one's line in the group's help until it is loaded."""

    modules: ClassVar[dict[str, str]] = {}
    help_lines: ClassVar[dict[str, str]] = {}
    # The function of each module that adds its commands to this group.
    register: ClassVar[str] = "register"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.modules})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.modules:
            add_commands_of(self, self.modules[cmd_name], register=self.register)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # A command not loaded yet is listed by its line in `help_lines`, its module not imported.
        listed = {
            name: self.commands.get(name) or click.Command(name, help=self.help_lines[name])
            for name in self.list_commands(ctx)
        }
        click.Group(commands=listed).format_commands(ctx, formatter)


def add_commands_of(group: click.Group, module_name: str, *, register: str = "register") -> None:
    """Add the commands a module defines: through its function `register(group)`, or the one
    command named after the module."""
    module = importlib.import_module(module_name)
    adds = getattr(module, register, None)
    if adds is not None:
        adds(group)
    else:
        group.add_command(getattr(module, module_name.rsplit(".", 1)[1]))
