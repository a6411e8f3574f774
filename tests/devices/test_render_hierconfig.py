"""hier_config reads every IOS-XE (and VRP) config back without losing or re-nesting a line.

That is what the push engine relies on: remediation is computed from this parse. The only
lines hier_config drops on purpose are section terminators it re-creates itself.
"""

from __future__ import annotations

import pytest
from hier_config import Platform as HPlatform
from hier_config import get_hconfig
from testsupport.rendering import on_platform

from storestack.devices.render import RenderedConfig, render_fleet
from storestack.inventory import Fleet
from storestack.network.outputs import StoreCloudOutputs

_TERMINATORS: dict[str, set[str]] = {"cisco_xe": {"exit-address-family", "end"}, "huawei_vrp": set()}
_COMMENT = {"cisco_xe": "!", "huawei_vrp": "#"}
_HPLATFORM = {"cisco_xe": HPlatform.CISCO_IOS, "huawei_vrp": HPlatform.HUAWEI_VRP}


def _source_lines(config: RenderedConfig) -> list[tuple[int, str]]:
    lines = []
    for line in config.text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(_COMMENT[config.platform]):
            continue
        if stripped in _TERMINATORS[config.platform]:
            continue
        lines.append((len(line) - len(line.lstrip(" ")) + 1, stripped))
    return lines


def _configs(fleet: Fleet, platform: str, outputs: dict[str, StoreCloudOutputs]) -> list[RenderedConfig]:
    variant = on_platform(fleet, platform)  # type: ignore[arg-type]
    return [*render_fleet(variant), *render_fleet(variant, outputs=outputs, store_ids=["nw-0001"], hubs=[])]


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_hier_config_parses_every_config_without_loss(
    fleet: Fleet, platform: str, live_outputs: dict[str, StoreCloudOutputs]
) -> None:
    for config in _configs(fleet, platform, live_outputs):
        parsed = get_hconfig(_HPLATFORM[platform], config.text)
        lines = [(child.depth(), child.text) for child in parsed.all_children_sorted()]
        assert lines == _source_lines(config), f"{config.name}: hier_config parse differs from the config"


def test_hier_config_sees_no_change_between_identical_configs(fleet: Fleet) -> None:
    """Re-rendering is deterministic: running == intended gives an empty remediation."""
    (first,) = render_fleet(on_platform(fleet, "cisco_xe"), store_ids=["nw-0003"], hubs=[])
    (second,) = render_fleet(on_platform(fleet, "cisco_xe"), store_ids=["nw-0003"], hubs=[])
    running = get_hconfig(HPlatform.CISCO_IOS, first.text)
    intended = get_hconfig(HPlatform.CISCO_IOS, second.text)
    assert not list(running.config_to_get_to(intended).all_children())
