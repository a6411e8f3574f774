"""The `storestack` command group. Each concern adds its own sub-group here."""

from __future__ import annotations

from typing import Any

import click

from storestack.cli.lazy import LazyGroup, add_commands_of
from storestack.common.errors import StorestackError

# ctx.meta key: whether `--json` is among the command line's options (see _LazyGroup.parse_args).
JSON_ON_COMMAND_LINE = "storestack.json-on-command-line"

# The module that defines each top-level command. A command's module is imported only when the
# command runs (or help lists it): `storestack inventory validate` then starts without importing
# Pulumi, Netmiko and asyncssh, which took most of a second.
COMMAND_MODULES: dict[str, str] = {
    "inventory": "storestack.cli.inventory",
    "devices": "storestack.cli.devices",
    "lab": "storestack.cli.lab",
    "stacks": "storestack.cli.stacks_group",
    **dict.fromkeys(("plan", "preview", "up", "refresh", "destroy", "outputs"), "storestack.cli.stacks"),
    **dict.fromkeys(("rollout", "drift"), "storestack.cli.rollout"),
    "demo": "storestack.cli.demo",
    "network": "storestack.cli.network",
}

__all__ = ["COMMAND_HELP", "COMMAND_MODULES", "add_commands_of", "cli"]

# Each command's one line in `storestack --help`, so listing the commands imports none of their
# modules (their imports cost about 2 s of CPU). tests/packaging/test_cli_startup.py checks that
# the list reads as it would with every command's module loaded.
COMMAND_HELP: dict[str, str] = {
    "demo": "The sample chain end to end in the local lab: validate, render, plan, lab up, roll out "
    "every store, BGP state, one failover, summary, lab down.",
    "destroy": "Destroy a stack's resources (Automation API).",
    "devices": "Render, show and push appliance configs.",
    "drift": "Compare every hub's and store appliance's running config with the inventory (read-only).",
    "inventory": "Validate, inspect and export the store inventory.",
    "lab": "The local device lab: FRR appliances in network namespaces and the vendor emulator.",
    "network": "Show the network intent: tunnels, BGP peers, routes, zones and flows.",
    "outputs": "Show a stack's outputs (secrets stay hidden).",
    "plan": "Plan stacks offline under Pulumi mocks: resource graph, change list, checks.",
    "preview": "Preview changes to a stack with the Pulumi engine (Automation API).",
    "refresh": "Refresh a stack's state from the clouds (Automation API).",
    "rollout": "Take STORE… from inventory entry to live store: validate, plan, up, render, push, verify, activate.",
    "stacks": "Render Pulumi stack configs from the inventory and emit CI matrices.",
    "up": "Create or update a stack's resources (Automation API).",
}


class _LazyGroup(LazyGroup):
    modules = COMMAND_MODULES
    help_lines = COMMAND_HELP

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Whether --json is on the command line, before its option is parsed: a usage error
        # (an unknown option, a bad value) stops the parse before --json's own callback runs.
        options = args[: args.index("--")] if "--" in args else args
        ctx.meta[JSON_ON_COMMAND_LINE] = "--json" in options
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a typed error it lets escape becomes a message and its exit code."""
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            # With --json, a CI job parses stdout: the usage error is one JSON object there too.
            from storestack.cli.common import fail_on_usage

            if not fail_on_usage(error, json_on_command_line=bool(ctx.meta.get(JSON_ON_COMMAND_LINE))):
                raise
        except StorestackError as error:
            # Imported here: every command module has imported cli.common by now, while at the top
            # it would make `storestack --help` import the inventory package.
            from storestack.cli.common import JSON_REQUESTED, fail_on

            fail_on(error, as_json=bool(ctx.meta.get(JSON_REQUESTED)))
        except KeyboardInterrupt:
            # Ctrl-C: 130 as a shell reports it (not 1, a failure of the work), and with --json
            # still one JSON object. Files are written whole or not at all (common/files.py).
            from storestack.cli.common import EXIT_INTERRUPTED, JSON_REQUESTED, fail

            fail("interrupted (Ctrl-C); files are written whole or not at all", EXIT_INTERRUPTED,
                 as_json=bool(ctx.meta.get(JSON_REQUESTED)))


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="storestack")
def cli() -> None:
    """storestack: a retail chain's hybrid cloud and store networks from one inventory."""
