"""The device's own objects (`PlatformDriver.factory_objects`) that the intended config does not
name: left out of the running config the diff compares."""

from __future__ import annotations

import re

from storestack.devices.configdiff.lines import indent_width, with_paths
from storestack.devices.drivers import PlatformDriver


def without_factory_objects(running_lines: list[str], intended_lines: list[str], driver: PlatformDriver) -> list[str]:
    """The running lines without the device's own objects (`PlatformDriver.factory_objects`)
    that the intended config does not name, each with the lines under it."""
    if not driver.factory_objects:
        return running_lines
    objects = [tuple(re.compile(level) for level in path) for path in driver.factory_objects]
    intended_paths = {path for _, path in with_paths(intended_lines)}
    kept: list[str] = []
    skipping: int | None = None  # the indentation of the object being left out
    for line, path in with_paths(running_lines):
        if skipping is not None and indent_width(line) > skipping:
            continue
        skipping = None
        if path not in intended_paths and any(
            len(levels) == len(path) and all(level.fullmatch(text) for level, text in zip(levels, path, strict=True))
            for levels in objects
        ):
            skipping = indent_width(line)
            continue
        kept.append(line)
    return kept
