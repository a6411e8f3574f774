"""`storestack stacks`: the group of `stacks render` and `stacks matrix` (`cli/stacks.py`).

Its commands' module imports the Pulumi SDK and the components (about a second of CPU); it is
imported when one of them runs, not to list them (`storestack stacks --help`).
"""

from __future__ import annotations

import click

from storestack.cli.lazy import LazyGroup


class _StacksGroup(LazyGroup):
    modules = dict.fromkeys(("render", "matrix"), "storestack.cli.stacks")
    help_lines = {
        "matrix": "Print a CI matrix (JSON): the core stack, then store stacks in even, stable shards.",
        "render": "Write Pulumi.<stack>.yaml for every stack (deterministic; unchanged files are left alone).",
    }
    register = "register_stacks"


@click.group(cls=_StacksGroup)
def stacks() -> None:
    """Render Pulumi stack configs from the inventory and emit CI matrices."""


def register(group: click.Group) -> None:
    group.add_command(stacks)
