"""Lint a fleet: render every config (secrets as slot names), then run the per-platform rules
and the cross-file checks against the network intent."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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

# What a lint reports as it goes, for a display: its phase ("rendering" the configs, "checking"
# each file with its platform's rules), and how many of the phase's items are done of how many.
LintProgress = Callable[[str, int, int], None]


def _quiet(phase: str, done: int, total: int) -> None:
    """No display."""


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
    fleet: Fleet,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    core: CoreCloudOutputs | None = None,
    on_progress: LintProgress = _quiet,
) -> list[ConfigFile]:
    files = []
    # Every hub, and every appliance of a store that is not decommissioned: what render_fleet renders.
    total = len(fleet.hubs) + sum(len(store.appliances) for store in fleet if store.state != "decommissioned")
    for done, config in enumerate(render_fleet(fleet, outputs=outputs, secrets="slots", core=core), start=1):
        on_progress("rendering", done, total)
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


def lint_configs(files: Sequence[ConfigFile], intent: NetworkIntent, on_progress: LintProgress = _quiet) -> LintReport:
    findings: list[Finding] = []
    for done, config in enumerate(files, start=1):  # most of a lint's time
        findings += run_platform_rules([config])
        on_progress("checking", done, len(files))
    findings += [
        *cross_check(files, intent),
        *steering_check(files, intent),
        *frr_sla_check(files, intent),
        *services_check(files, intent),
        *isolation_check(files, intent),
    ]
    platforms = sorted({config.platform for config in files} - set(EXTRACTORS))
    return LintReport(sorted(set(findings)), len(files), platforms)


def lint_fleet(
    fleet: Fleet,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    core: CoreCloudOutputs | None = None,
    on_progress: LintProgress = _quiet,
) -> LintReport:
    """Lint every config of `fleet`; `on_progress` hears of each config rendered and file checked."""
    files = config_files(fleet, outputs, core, on_progress)
    return lint_configs(files, NetworkIntent(fleet, outputs, core=core), on_progress)
