"""Lint a fleet: render every config (secrets as slot names), then run the per-platform rules
and the cross-file checks against the network intent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from storestack.devices.lint import EXTRACTORS, ConfigFile, Finding, run_platform_rules
from storestack.devices.lint.cross import cross_check
from storestack.devices.lint.frr_sla import frr_sla_check
from storestack.devices.lint.isolation import isolation_check
from storestack.devices.lint.services import services_check
from storestack.devices.lint.steering import steering_check
from storestack.devices.render import render_fleet
from storestack.inventory.fleet import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs


@dataclass
class LintReport:
    findings: list[Finding]
    files: int
    # Platforms whose tunnels no extractor reads yet: their peers are checked from the other end only.
    unchecked_platforms: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def config_files(
    fleet: Fleet, outputs: Mapping[str, StoreCloudOutputs] | None = None, core: CoreCloudOutputs | None = None
) -> list[ConfigFile]:
    files = []
    for config in render_fleet(fleet, outputs=outputs, secrets="slots", core=core):
        companions = {"": config.text, **dict(config.companions)}
        files.append(
            ConfigFile(
                config.filename,
                config.platform,
                config.role,
                config.name,
                config.text,
                config.store_id,
                "",
                companions,
            )
        )
        files += [
            ConfigFile(
                f"{config.name}.{suffix}",
                config.platform,
                config.role,
                config.name,
                text,
                config.store_id,
                suffix,
                companions,
            )
            for suffix, text in config.companions
        ]
    return files


def lint_configs(files: Sequence[ConfigFile], intent: NetworkIntent) -> LintReport:
    findings = [
        *run_platform_rules(files),
        *cross_check(files, intent),
        *steering_check(files, intent),
        *frr_sla_check(files, intent),
        *services_check(files, intent),
        *isolation_check(files, intent),
    ]
    platforms = sorted({config.platform for config in files} - set(EXTRACTORS))
    return LintReport(sorted(set(findings)), len(files), platforms)


def lint_fleet(
    fleet: Fleet, outputs: Mapping[str, StoreCloudOutputs] | None = None, core: CoreCloudOutputs | None = None
) -> LintReport:
    return lint_configs(config_files(fleet, outputs, core), NetworkIntent(fleet, outputs, core=core))
