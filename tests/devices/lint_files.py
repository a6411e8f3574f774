"""Shared by the lint tests that break one rendered file of the sample chain: the files with one
changed, as `devices lint` would read them, and what one rule finds in them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from testsupport.rendering import on_platform

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def broken_files(files: list[ConfigFile], name: str, change: Callable[[str], str]) -> list[ConfigFile]:
    """`files` with `name`'s text changed (its appliance's companion views updated too)."""
    target = next(f for f in files if f.name == name)
    text = change(target.text)
    assert text != target.text, "the change must change something"
    companions = dict(target.companions)
    companions[target.suffix] = text
    return [
        dataclasses.replace(config, companions=companions, text=text if config is target else config.text)
        if config.hostname == target.hostname
        else config
        for config in files
    ]


def rule_findings(fleet: Fleet, files: list[ConfigFile], rule: str) -> list[Finding]:
    """What `devices lint` finds in `files` (the configs of `fleet`) under one rule."""
    return [f for f in lint_configs(files, NetworkIntent(fleet)).findings if f.rule == rule]


def files_on_platform(fleet: Fleet, platform: Platform) -> tuple[Fleet, list[ConfigFile]]:
    """The sample chain with every appliance on `platform` (stores and hubs, `on_platform`) and
    its rendered files, as `devices lint` reads them."""
    changed = on_platform(fleet, platform)
    return changed, config_files(changed)


def files_per_platform(fleet: Fleet) -> dict[Platform, tuple[Fleet, list[ConfigFile]]]:
    """`files_on_platform` for each platform."""
    return {platform: files_on_platform(fleet, platform) for platform in PLATFORM_NAMES}
