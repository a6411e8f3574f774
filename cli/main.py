"""The `storestack` command group. Each concern adds its own sub-group here."""

from __future__ import annotations

import click

from storestack.cli.demo import demo
from storestack.cli.devices import devices
from storestack.cli.inventory import inventory
from storestack.cli.lab import lab
from storestack.cli.rollout import register as register_rollout
from storestack.cli.stacks import register as register_stacks


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="storestack")
def cli() -> None:
    """storestack: a retail chain's hybrid cloud and store networks from one inventory."""


cli.add_command(inventory)
cli.add_command(devices)
cli.add_command(lab)
register_stacks(cli)
register_rollout(cli)
cli.add_command(demo)
