"""The `storestack` command group."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="storestack")
def cli() -> None:
    """storestack: a retail chain's hybrid cloud and store networks from one inventory."""
