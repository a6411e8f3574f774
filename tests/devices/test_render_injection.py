"""Inventory strings cannot leave their line, even when they skipped validation.

Validation (inventory types) is the first wall; the renderer is the second: every value a
template prints is checked, so a value built with `model_copy`/`model_construct` (which skip
validation) still cannot smuggle a config line in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2.sandbox import SecurityError
from testsupport.rendering import on_platform

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.errors import RenderError
from storestack.devices.render import Renderer, render_hub, render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet, InventoryError, load_fleet, sample_chain_path

PAYLOADS = [
    "KPN\nno router bgp 4200000000",
    "KPN\r\nend",
    "KPN\x1b[2K",
    "KPN\x00",
    "KPN\u2028no ip routing",
    "KPN\x85exit",
    "KPN\tdescription",
]


def _with_store(fleet: Fleet, store_id: str, **changes: object) -> Fleet:
    stores = dict(fleet.stores)
    stores[store_id] = stores[store_id].model_copy(update=changes)
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_unvalidated_isp_name_cannot_break_out(fleet: Fleet, platform: Platform, payload: str) -> None:
    store = fleet.store("nw-0002")
    evil_link = store.wan[0].model_copy(update={"isp": payload})
    evil = _with_store(on_platform(fleet, platform), "nw-0002", wan=[evil_link, *store.wan[1:]])
    with pytest.raises(RenderError, match="control or non-ASCII"):
        render_store(evil, "nw-0002")


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_unvalidated_store_name_cannot_break_out_of_a_comment(fleet: Fleet, platform: Platform) -> None:
    evil = _with_store(on_platform(fleet, platform), "nw-0007", name="Delft\nno router bgp 4200000006")
    with pytest.raises(RenderError):
        render_store(evil, "nw-0007")


def test_unvalidated_store_id_cannot_reach_a_hub_config(fleet: Fleet) -> None:
    evil = _with_store(fleet, "nw-0002", id="nw-0002\nrouter bgp 1")
    with pytest.raises(RenderError):
        render_hub(evil, "hq-hub1")


def test_fortios_quotes_in_a_value_stay_inside_the_string(fleet: Fleet) -> None:
    store = fleet.store("nw-0002")
    link = store.wan[0].model_copy(update={"isp": 'KPN" set allowaccess http'})
    clean = render_store(on_platform(fleet, "fortinet"), "nw-0002")[0].text
    (config,) = render_store(
        _with_store(on_platform(fleet, "fortinet"), "nw-0002", wan=[link, *store.wan[1:]]), "nw-0002"
    )
    assert len(config.text.splitlines()) == len(clean.splitlines())
    assert r"KPN\" set allowaccess http" in config.text
    assert not any(line.strip() == "set allowaccess http" for line in config.text.splitlines())


@pytest.mark.parametrize("payload", PAYLOADS)
def test_lines_spelled_in_typed_code_cannot_carry_a_second_command(payload: str) -> None:
    """What a platform module's line builder returns is printed as one block (`lines`): a value
    that skipped validation still cannot end its line there."""
    template = Renderer().env.from_string("ip access-list extended X\n{{ rules | lines -}}\n!\n")
    assert template.render(rules=[" 10 permit ip any any"]) == "ip access-list extended X\n 10 permit ip any any\n!\n"
    with pytest.raises(RenderError, match="control or non-ASCII"):
        template.render(rules=[" 10 permit ip any any", f" 20 permit udp any any eq {payload}"])


def test_templates_cannot_reach_python_internals() -> None:
    env = Renderer().env
    with pytest.raises(SecurityError):
        env.from_string("{{ view.__class__.__mro__[1].__subclasses__() }}").render(view=object())


@pytest.mark.parametrize(
    "expression",
    ["view.__class__.__mro__", "view.__dataclass_fields__", "view.mgmt.__class__", "view.hostname.__class__"],
)
def test_a_real_view_gives_templates_its_fields_and_no_internals(fleet: Fleet, expression: str) -> None:
    """The renderer reads a view's declared fields directly (`getattr`); everything else about a
    view, and anything reached from its fields, is still refused by the stock sandbox."""
    store = fleet.store("nw-0001")
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    env = Renderer().env
    assert env.from_string("{{ view.hostname }} {{ view.mgmt.domain }}").render(view=view) == (
        f"{view.hostname} {view.mgmt.domain}"
    )
    with pytest.raises(SecurityError):
        env.from_string(f"{{{{ {expression} }}}}").render(view=view)


def test_validation_stops_a_multi_line_isp_before_rendering(tmp_path: Path) -> None:
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    store_file = root / "stores" / "nw-0002.yaml"
    text = store_file.read_text().replace("isp: Eurofiber", 'isp: "Eurofiber\\nno router bgp 1"')
    store_file.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_fleet(root)
    assert any(issue.field.endswith("isp") for issue in caught.value.issues)
