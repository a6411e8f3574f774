"""Where the push engine gets each appliance's intended config from.

The engine depends only on the `IntendedConfigSource` protocol: rendering (templates + inventory
+ stack outputs), a directory of rendered files, or a plain mapping in tests all fit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from storestack.common.errors import InventoryIssue
from storestack.devices.errors import IntendedConfigMismatchError, MissingIntendedConfigError, PushConfigError
from storestack.devices.targets import AppliancesFileError, ApplianceTarget
from storestack.inventory.errors import InventoryError

if TYPE_CHECKING:
    from storestack.inventory import Fleet
    from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs


@dataclass(frozen=True)
class IntendedConfig:
    """The config an appliance should run, with the secret values it contains.

    `secrets` lets every displayed or recorded output redact those values wherever they appear.
    """

    text: str = field(repr=False)
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    # The files of the appliance's host rendered beside the config (FRR: nftables.conf,
    # swanctl.conf …), as (companion name, text); the push delivers them where the platform has
    # a way (`companion_delivery`).
    companions: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # A store appliance's links whose WAN port the inventory states (`RenderedConfig.stated_ports`):
    # the push moves such a link to another port and refuses to move another one
    # (devices/configdiff/moved_ports.py). None: not known (a config read from a file), every
    # move refused.
    stated_ports: frozenset[str] | None = None
    # In a dry run, the config the appliance holds when this push starts where an earlier push of
    # the same run puts it there (a hub's first config of two in a fleet change, `RunOptions.held_over`):
    # the plan is made from it rather than from the running config the dry run reads.
    planned_over: str | None = field(default=None, repr=False)

    def with_secrets(self, secrets: Iterable[str]) -> IntendedConfig:
        # Every other field as it is: a copy that named them each dropped a field added later.
        return replace(self, secrets=self.secrets | frozenset(secrets))


@runtime_checkable
class IntendedConfigSource(Protocol):
    def intended_config(self, target: ApplianceTarget) -> IntendedConfig:
        """The intended config for `target`; raises MissingIntendedConfigError when there is none."""
        ...


class IntendedConfigs:
    """Intended configs held in memory, by appliance name."""

    def __init__(
        self, configs: Mapping[str, str | IntendedConfig], *, secrets: Iterable[str] = ()
    ) -> None:
        shared = frozenset(secrets)
        self._configs = {
            name: value.with_secrets(shared) if isinstance(value, IntendedConfig) else IntendedConfig(value, shared)
            for name, value in configs.items()
        }

    def intended_config(self, target: ApplianceTarget) -> IntendedConfig:
        try:
            return self._configs[target.name]
        except KeyError:
            raise MissingIntendedConfigError(f"no intended config for {target.name}") from None

    def names(self) -> list[str]:
        return sorted(self._configs)


# Beside rendered configs (`devices render --out`, a rollout's render step): each appliance's
# links whose WAN port the inventory states (`RenderedConfig.stated_ports`), which a push of the
# configs read from the folder needs (devices/push.py `_refuse_moved_ports`). No secrets.
STATED_PORTS_FILE = "stated-ports.json"


def stated_ports_text(stated: Mapping[str, frozenset[str]]) -> str:
    """The text of a `STATED_PORTS_FILE` holding `stated` (appliance name: its stated links)."""
    return json.dumps({name: sorted(links) for name, links in stated.items()}, sort_keys=True)


def read_stated_ports(directory: Path) -> dict[str, frozenset[str]] | None:
    """The stated ports written beside the configs in `directory`; None where none were written
    (or the file is not one `stated_ports_text` writes): every move of a link is then refused."""
    try:
        held = json.loads((Path(directory) / STATED_PORTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(held, dict) or not all(isinstance(links, list) for links in held.values()):
        return None
    return {str(name): frozenset(map(str, links)) for name, links in held.items()}


class IntendedConfigDirectory:
    """Rendered configs on disk, one `<appliance>.cfg` per appliance (as `devices render --out` writes),
    with the companion files written beside each (`<appliance>.<companion>`) for its platform and
    the stated WAN ports of the folder's appliances (`STATED_PORTS_FILE`; none there: not known).

    `secrets` are the values to redact (e.g. from the environment the configs were rendered with).
    """

    def __init__(self, directory: Path, *, suffix: str = ".cfg", secrets: Iterable[str] = ()) -> None:
        self.directory = Path(directory)
        self.suffix = suffix
        self._secrets = frozenset(secrets)
        self._stated_ports: dict[Path, dict[str, frozenset[str]] | None] = {}

    def _stated(self, config: Path, name: str) -> frozenset[str] | None:
        """The links of appliance `name` whose port is stated, from the folder `config` is in."""
        folder = config.parent
        if folder not in self._stated_ports:
            self._stated_ports[folder] = read_stated_ports(folder)
        stated = self._stated_ports[folder]
        return None if stated is None else stated.get(name, frozenset())

    def _candidates(self, target: ApplianceTarget) -> list[Path]:
        candidates = [self.directory / f"{target.name}{self.suffix}"]
        if target.store_id:
            candidates.append(self.directory / target.store_id / f"{target.name}{self.suffix}")
        return candidates

    def intended_config(self, target: ApplianceTarget) -> IntendedConfig:
        candidates = self._candidates(target)
        for path in candidates:
            if path.is_file():
                return IntendedConfig(
                    path.read_text(encoding="utf-8"),
                    self._secrets,
                    _companions_beside(path, target),
                    self._stated(path, target.name),
                )
        raise MissingIntendedConfigError(
            f"no intended config for {target.name} in {self.directory} (looked for {candidates[0].name})"
        )

    def stated_identity(self, target: ApplianceTarget) -> StatedIdentity | None:
        """What the config the push would read for `target` says it is for; None where there is
        none or it has no storestack header (written by hand)."""
        path = next((path for path in self._candidates(target) if path.is_file()), None)
        return None if path is None else read_stated_identity(path)


# The line every rendered config opens with (after the PLANNED line where there is one), as
# `devices/render.py` `_config_header` writes it in the platform's comment: "! storestack: intended
# config of nw-0001-edge1 (store nw-0001 Northwind …), platform frr", "(hub, 17 store links)".
_HEADER = re.compile(
    r"\S+ storestack: intended config of (?P<name>\S+) \((?P<role>hub\b.*|store (?P<store>\S+).*)\), "
    r"platform (?P<platform>\S+)"
)
_HEADER_LINES = 2


@dataclass(frozen=True)
class StatedIdentity:
    """What a rendered config's header says of its appliance: name, role, store and platform, at
    the config's `path` and `line`."""

    path: Path
    line: int
    name: str
    role: str
    store_id: str | None
    platform: str


def read_stated_identity(path: Path) -> StatedIdentity | None:
    """The identity the header of the config at `path` states; None where it has none."""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as handle:
            head = [handle.readline().rstrip("\n") for _ in range(_HEADER_LINES)]
    except OSError:
        return None
    for number, text in enumerate(head, start=1):
        if (found := _HEADER.fullmatch(text)) is not None:
            store = found["store"]
            return StatedIdentity(
                Path(path), number, found["name"], "edge" if store else "hub", store, found["platform"]
            )
    return None


def refuse_intended_contradictions(directory: IntendedConfigDirectory, targets: Iterable[ApplianceTarget]) -> None:
    """Refuse, before any appliance is reached, a push whose intended configs in `directory` say
    otherwise than the appliances they would be sent to. Called with the appliances a push reaches
    (from an appliance inventory file, `--targets`, or built from the fleet); a config without a
    header (written by hand) says nothing.

    - A config whose header names another appliance than the one whose file it is (one copied
      under another's name would be sent to that appliance): an IntendedConfigMismatchError at the
      config's file and line.
    - A config saying another platform (another vendor's driver would send it), store or role than
      the appliance's entry: an AppliancesFileError at the --targets entry's line and field; for an
      appliance built from the fleet, an IntendedConfigMismatchError at the config's line.

    Both are usage errors (exit 2)."""
    in_configs: list[InventoryIssue] = []
    in_targets: list[InventoryIssue] = []
    for target in targets:
        stated = directory.stated_identity(target)
        if stated is None:
            continue
        where = str(stated.path)
        if stated.name != target.name:
            in_configs.append(
                InventoryIssue(
                    where, stated.line, "name",
                    f"the intended config of {stated.name}, found as {target.name}'s: it would be sent to "
                    f"{target.name}",
                )
            )
            continue
        if target.from_file:
            in_targets += target.contradictions(stated, f"its intended config {stated.path}:{stated.line}")
            continue
        in_configs += [
            InventoryIssue(
                where, stated.line, said,
                f"{theirs!r} for {target.name}, whose {said} in the fleet inventory is {ours!r}",
            )
            for said, ours, theirs in target.differences(stated)
        ]
    if in_configs:
        raise IntendedConfigMismatchError.of(InventoryError(in_configs))
    if in_targets:
        raise AppliancesFileError.of(InventoryError(in_targets))


def companion_names(target: ApplianceTarget) -> tuple[str, ...]:
    """The companion files rendered for an appliance of this platform and role."""
    from storestack.devices.platforms import get_platform

    platform = get_platform(target.platform)
    return tuple(name for name, _ in (platform.hub_companions if target.role == "hub" else platform.companions))


def _companions_beside(config: Path, target: ApplianceTarget) -> tuple[tuple[str, str], ...]:
    found = []
    for name in companion_names(target):
        path = config.with_name(f"{target.name}.{name}")
        if path.is_file():
            found.append((name, path.read_text(encoding="utf-8")))
    return tuple(found)


# The folder under an intended configs folder holding the first config of each hub a fleet change
# pushes twice (`devices/push_order.py` `FleetChangeOrder.held_over`), laid out as its parent.
HELD_OVER_DIR = "held-over"


def rendered_held_over_configs(
    before: Fleet,
    after: Fleet,
    hubs: Iterable[str],
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    secrets: Iterable[str] = (),
    core: CoreCloudOutputs | None = None,
) -> IntendedConfigs:
    """The first config of each of `hubs` in the change from `before` to `after`, what it holds
    in both (`devices/render.py` `render_change_hubs`), rendered as `rendered_intended_configs`."""
    from storestack.devices.errors import IntendedRenderError, RenderError
    from storestack.devices.render import render_change_hubs
    from storestack.network.errors import NetworkError
    from storestack.network.outputs import psk_values

    try:
        rendered: dict[str, str | IntendedConfig] = {
            config.name: IntendedConfig(config.text, companions=config.companions, stated_ports=config.stated_ports)
            for config in render_change_hubs(
                before, after, sorted(hubs), outputs=outputs, reveal_secrets=True, core=core
            )
        }
    except (RenderError, NetworkError) as exc:
        raise IntendedRenderError(f"cannot render the hubs' first configs of the change: {exc}", getattr(exc, "issues", ())) from None
    return IntendedConfigs(rendered, secrets={*secrets, *psk_values((outputs or {}).values(), core)})


def rendered_intended_configs(
    fleet: Fleet,
    targets: Iterable[ApplianceTarget],
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    secrets: Iterable[str] = (),
    core: CoreCloudOutputs | None = None,
) -> IntendedConfigs:
    """Render the targets' intended configs from the fleet, secrets filled in (push files, in memory).
    `core`, the core stack's outputs, gives the hubs' cloud ends (`render_fleet`), as
    `devices render --core-outputs` does; without it they are planned.

    Every secret value that went into them (device secrets from the environment, PSKs from the
    stack outputs, plus `secrets`) is known to the redactor. Render errors (a missing secret,
    an unknown store) are configuration errors: nothing is pushed.
    """
    from storestack.devices.errors import IntendedRenderError, RenderError
    from storestack.devices.render import render_fleet
    from storestack.network.errors import NetworkError
    from storestack.network.outputs import psk_values

    targets = list(targets)
    stores = sorted({t.store_id for t in targets if t.store_id})
    hubs = sorted({t.name for t in targets if t.role == "hub"})
    unknown = [store for store in stores if store not in fleet.stores]
    unknown += [hub for hub in hubs if hub not in fleet.hubs]
    if unknown:
        raise PushConfigError(
            f"cannot render intended configs: not in the fleet inventory: {', '.join(unknown)} (pass --intended DIR)"
        )
    try:
        rendered: dict[str, str | IntendedConfig] = {
            config.name: IntendedConfig(config.text, companions=config.companions, stated_ports=config.stated_ports)
            for config in render_fleet(
                fleet, outputs=outputs, store_ids=stores, hubs=hubs, reveal_secrets=True, core=core
            )
        }
    except (RenderError, NetworkError) as exc:
        raise IntendedRenderError(f"cannot render intended configs: {exc}", getattr(exc, "issues", ())) from None
    return IntendedConfigs(rendered, secrets={*secrets, *psk_values((outputs or {}).values(), core)})
