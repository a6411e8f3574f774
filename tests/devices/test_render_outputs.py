"""Stack outputs: live values replace planned ones; bad or mismatched outputs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from testsupport.rendering import FIXTURES

from storestack.devices.render import render_fleet, render_hub, render_store
from storestack.devices.views import PLANNED_HEADER
from storestack.inventory import Fleet
from storestack.network.errors import StackOutputsError
from storestack.network.outputs import StoreCloudOutputs, load_stack_outputs, parse_stack_outputs


def _raw() -> dict[str, dict[str, object]]:
    return yaml.safe_load((FIXTURES / "outputs-nw-0001.yaml").read_text())


def test_without_outputs_every_config_is_marked_planned(fleet: Fleet) -> None:
    (config,) = render_store(fleet, "nw-0001")
    assert config.planned
    assert config.text.splitlines()[0] == f"! {PLANNED_HEADER}"


def test_live_outputs_replace_planned_values(
    fleet: Fleet, live_outputs: dict[str, StoreCloudOutputs]
) -> None:
    (config,) = render_store(fleet, "nw-0001", outputs=live_outputs)
    assert not config.planned
    assert PLANNED_HEADER not in config.text
    assert "neighbor 169.254.44.1 remote-as 64512" in config.text  # AWS side of the live /30
    assert "ip address 169.254.44.2/30" in config.text
    assert "192.0.2." not in config.text  # no planned AWS endpoint left


def test_hub_uses_live_inside_addresses(fleet: Fleet) -> None:
    raw = _raw()
    links = raw["nw-0001"]["links"]
    assert isinstance(links, list)
    links[0] = {**links[0], "inside": "100.64.200.1/30", "inside_peer": "100.64.200.2"}
    outputs = parse_stack_outputs(raw)
    hub = render_hub(fleet, "hq-hub1", outputs=outputs).text
    assert " ip address 100.64.200.2/30" in hub
    assert "neighbor 100.64.200.1 remote-as 4200000000" in hub
    assert hub.startswith("! storestack: PLANNED")  # the other stores are still planned


def test_outputs_must_cover_exactly_the_store_links(fleet: Fleet) -> None:
    raw = _raw()
    links = raw["nw-0001"]["links"]
    assert isinstance(links, list)
    raw["nw-0001"]["links"] = links[:1]
    with pytest.raises(StackOutputsError, match="without outputs: lte1"):
        render_store(fleet, "nw-0001", outputs=parse_stack_outputs(raw))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("links", 0, "psk"), "short", "PSK"),
        (("links", 0, "psk"), "0startswithzero", "PSK"),
        (("links", 0, "psk"), "has space in it", "PSK"),
        (("aws_tunnels", 0, "inside_cidr"), "10.0.0.0/30", "169.254.0.0/16"),
        (("links", 0, "inside_peer"), "100.64.0.9", "other end"),
    ],
)
def test_malformed_outputs_are_refused_without_echoing_psks(
    path: tuple[str, int, str], value: str, message: str
) -> None:
    raw = _raw()
    section = raw["nw-0001"][path[0]]
    assert isinstance(section, list)
    section[path[1]] = {**section[path[1]], path[2]: value}
    with pytest.raises(StackOutputsError, match=message) as caught:
        parse_stack_outputs(raw)
    assert "Hub.Psk_" not in str(caught.value) and value not in str(caught.value).split(": ", 1)[0]


def test_outputs_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "outputs.yaml"
    path.write_text((FIXTURES / "outputs-nw-0001.yaml").read_text())
    path.chmod(0o644)
    with pytest.raises(StackOutputsError, match="0600"):
        load_stack_outputs(path)
    path.chmod(0o600)
    assert set(load_stack_outputs(path)) == {"nw-0001"}


def test_psk_never_shows_in_a_repr(live_outputs: dict[str, StoreCloudOutputs]) -> None:
    assert "Live_Value" not in repr(live_outputs) and "Live_Value" not in str(live_outputs)


def test_decommissioned_store_leaves_its_hubs_and_is_not_rendered(fleet: Fleet) -> None:
    stores = dict(fleet.stores)
    stores["nw-0002"] = stores["nw-0002"].model_copy(update={"state": "decommissioned"})
    shrunk = Fleet(fleet.spec, fleet.hubs, stores, fleet.root)
    names = [config.name for config in render_fleet(shrunk)]
    assert "nw-0002-edge1" not in names and "nw-0001-edge1" in names
    for hub in ("hq-hub1", "hq-hub2"):
        text = render_hub(shrunk, hub).text
        assert "nw-0002" not in text and "remote-as 4200000001" not in text
        assert "nw-0002" in render_hub(fleet, hub).text


def test_every_psk_of_the_stores_and_the_core_is_known_to_the_redactor(
    live_outputs: dict[str, StoreCloudOutputs],
) -> None:
    from pydantic import SecretStr

    from storestack.network.outputs import (
        CoreCloudOutputs,
        HubAwsTunnelOutput,
        HubOpenStackOutput,
        psk_values,
    )

    core = CoreCloudOutputs(
        hub_aws=[
            HubAwsTunnelOutput(hub="hq-hub1", region="eu-west-1", tunnel=1, outside_address="203.0.113.9",
                               inside_cidr="169.254.248.0/30", psk=SecretStr("coreAwsKey_0123456789"))
        ],
        hub_openstack=[
            HubOpenStackOutput(hub="hq-hub1", site="ams", gateway_address="203.0.113.10",
                               psk=SecretStr("coreOpenStackKey_0123456789")),
            HubOpenStackOutput(hub="hq-hub2", site="ams", gateway_address="203.0.113.10"),
        ],
    )  # fmt: skip
    stores = psk_values(live_outputs.values())
    assert stores and all(len(value) >= 8 for value in stores)
    assert psk_values(live_outputs.values(), core) == {
        *stores,
        "coreAwsKey_0123456789",
        "coreOpenStackKey_0123456789",
    }
