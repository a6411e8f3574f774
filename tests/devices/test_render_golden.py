"""Golden files: every platform x every store shape, every platform's hub, and live outputs.
A store shape's files are rendered against its own platform's hubs, except where those take
statically addressed stores only (`_store_hubs`); for those platforms one store shape is also
rendered in the hub golden's own fleet (`<shape>.paired.cfg`), so the hub golden's peers of that
store can be read against the store's end of the same tunnels.

A template change shows up here as a readable diff. Regenerate deliberately with
`STORESTACK_UPDATE_GOLDEN=1 pytest tests/devices/test_render_golden.py` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rendering import SHAPES, on_platform, update_golden

from storestack.common.platforms import HUB_STATIC_PEERS_ONLY, PLATFORM_NAMES, Platform
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet
from storestack.network.outputs import StoreCloudOutputs

GOLDEN = Path(__file__).parent / "golden"


def _compare(path: Path, text: str) -> None:
    if update_golden():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} is missing; create it with STORESTACK_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{path.name} differs from the golden file"


def _store_hubs(platform: Platform) -> Platform | None:
    """The hubs a store's golden files are rendered against: on its own platform, except where
    that platform's hubs take statically addressed stores only (`HUB_STATIC_PEERS_ONLY`); its
    store shapes keep their DHCP and cellular links, served by FRR hubs."""
    return "frr" if platform in HUB_STATIC_PEERS_ONLY else None


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_store_config_matches_golden(fleet: Fleet, platform: Platform, shape: str) -> None:
    (config,) = render_store(on_platform(fleet, platform, hubs=_store_hubs(platform)), SHAPES[shape])
    assert config.platform == platform
    _compare(GOLDEN / platform / f"{shape}.cfg", config.text)
    for suffix, text in config.companions:
        _compare(GOLDEN / platform / f"{shape}.{suffix}", text)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_hub_config_matches_golden(fleet: Fleet, platform: Platform) -> None:
    config = render_hub(on_platform(fleet, platform), "hq-hub1")
    _compare(GOLDEN / platform / "hub.cfg", config.text)
    for suffix, text in config.companions:
        _compare(GOLDEN / platform / f"hub.{suffix}", text)


# The store shape rendered in the hub golden's fleet where a platform's store shapes are not:
# dual-wan (nw-0002), whose tunnels are the hub golden's STORE-3 and STORE-4.
PAIRED_SHAPE = "dual-wan"


@pytest.mark.parametrize("platform", sorted(HUB_STATIC_PEERS_ONLY))
def test_store_config_paired_with_the_hub_golden_matches_golden(fleet: Fleet, platform: Platform) -> None:
    # The hub golden's fleet: every store on `platform` and, its hubs taking statically addressed
    # stores only, every link static; a store platform with one FQDN identity per device then
    # identifies its first link by FQDN and the others by address (`STORE_ONE_FQDN_IDENTITY`),
    # which is not what the same shape does against FRR hubs, where its dynamic link keeps the FQDN.
    paired = on_platform(fleet, platform)
    (config,) = render_store(paired, SHAPES[PAIRED_SHAPE])
    assert config.platform == platform
    _compare(GOLDEN / platform / f"{PAIRED_SHAPE}.paired.cfg", config.text)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_live_outputs_config_matches_golden(
    fleet: Fleet, platform: Platform, live_outputs: dict[str, StoreCloudOutputs]
) -> None:
    (config,) = render_store(
        on_platform(fleet, platform, hubs=_store_hubs(platform)), "nw-0001", outputs=live_outputs
    )
    assert not config.planned
    _compare(GOLDEN / platform / "aws-live.cfg", config.text)
