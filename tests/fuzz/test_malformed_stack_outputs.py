"""Malformed stack outputs, missing fields and wrong types: clear errors, never a traceback.

Two consumers read another stack's outputs: `storestack devices render --outputs` (a store
stack's tunnels for the device templates) and the store stack program (the core's Transit
Gateway through a StackReference). Both must say which value is wrong and where, and must not
echo a PSK while doing so.
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.errors import StackOutputsError
from storestack.network.outputs import parse_stack_outputs
from storestack.stacks import store
from storestack.stacks.config import CONFIG_NAMESPACE, PROJECTS, store_stack_name
from storestack.stacks.core import mock_outputs
from storestack.stacks.errors import StackReferenceError
from storestack.stacks.mapping import core_config, store_config
from storestack.stacks.mocks import StorestackMocks, run_program_under_mocks
from storestack.stacks.plan import planning_keys

PSK = "Hub.Psk_Wan1_Live_Value"
GOOD: dict[str, Any] = {
    "nw-0001": {
        "links": [
            {"link": "wan1", "outside_address": "203.0.113.11", "inside": "100.64.0.1/31",
             "inside_peer": "100.64.0.0", "psk": PSK},
            {"link": "lte1", "outside_address": "203.0.113.12", "inside": "100.64.0.3/31",
             "inside_peer": "100.64.0.2", "psk": "Hub.Psk_Lte1_Live_Value"},
        ],
        "aws_tunnels": [
            {"link": "wan1", "tunnel": 1, "outside_address": "52.19.10.21", "inside_cidr": "169.254.44.0/30",
             "psk": "Aws.Psk_Tunnel1_Live"},
        ],
    }
}


def edited(path: tuple[Any, ...], value: Any, *, delete: bool = False) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


CASES = {
    "missing links": (edited(("nw-0001", "links"), None, delete=True), "links: Field required"),
    "missing psk": (edited(("nw-0001", "links", 0, "psk"), None, delete=True), "links[0].psk: Field required"),
    "missing outside address": (
        edited(("nw-0001", "aws_tunnels", 0, "outside_address"), None, delete=True),
        "aws_tunnels[0].outside_address: Field required",
    ),
    "links not a list": (edited(("nw-0001", "links"), "wan1"), "links: Input should be a valid list"),
    "tunnel number a word": (edited(("nw-0001", "aws_tunnels", 0, "tunnel"), "one"), "aws_tunnels[0].tunnel"),
    "address a number": (edited(("nw-0001", "links", 0, "outside_address"), 12), "links[0].outside_address"),
    "inside not an address": (edited(("nw-0001", "links", 0, "inside"), "wan1"), "links[0].inside"),
    "psk a number": (edited(("nw-0001", "links", 0, "psk"), 12345678), "links[0].psk"),
    "psk with a newline": (edited(("nw-0001", "links", 0, "psk"), PSK + "\nend"), "links[0].psk"),
    "unknown key": (edited(("nw-0001", "links", 0, "pks"), "x"), "links[0].pks: Extra inputs are not permitted"),
    "store is a list": (edited(("nw-0001",), [1, 2]), "nw-0001"),
    "not a mapping": ("just text", "expected a mapping of store id to outputs"),
    "store id not a slug": ({"NW 0001!": GOOD["nw-0001"]}, "store_id"),
    "unknown store": ({"zz-9999": GOOD["nw-0001"]}, "not in the inventory: zz-9999"),
    "links missing for a WAN link": (
        edited(("nw-0001", "links"), GOOD["nw-0001"]["links"][:1]),
        "inventory links without outputs: lte1",
    ),
}


def render_with(outputs: Any, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "outputs.yaml"
    path.write_text(yaml.safe_dump(outputs))
    path.chmod(0o600)
    result = CliRunner().invoke(
        cli, ["devices", "render", "--store", "nw-0001", "--outputs", str(path), "--out", str(tmp_path / "out")]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_outputs_fail_the_render_with_the_field_named(case: str, tmp_path: Path) -> None:
    outputs, message = CASES[case]
    code, output = render_with(outputs, tmp_path)
    assert code == 2, output
    assert message in output, output
    assert "Traceback" not in output
    assert PSK not in output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_the_good_outputs_render(tmp_path: Path) -> None:
    code, output = render_with(GOOD, tmp_path)
    assert code == 0, output
    assert "PLANNED" not in (tmp_path / "out" / "nw-0001-edge1.cfg").read_text()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_mangled_outputs_either_parse_or_raise_a_typed_error(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_paths(GOOD)))
    outputs = edited(path, data.draw(json_values), delete=data.draw(st.booleans()))
    try:
        parse_stack_outputs(outputs)
    except StackOutputsError as exc:
        text = str(exc)
        assert "\n" not in text and PSK not in text


# --- the store stack reading the core's outputs through its StackReference -----------------------


def run_store_stack(core_outputs: dict[str, Any]) -> None:
    fleet = load_fleet(sample_chain_path())
    config = store_config(fleet, fleet.store("nw-0001"))
    run_program_under_mocks(
        functools.partial(store.program, None, planning_keys(config.model_dump(mode="json"))),
        project=PROJECTS["store"],
        stack=store_stack_name("nw-0001"),
        config={f"{CONFIG_NAMESPACE}:store": json.dumps(config.model_dump(mode="json"))},
        mocks=StorestackMocks(stack_outputs={config.core_stack: core_outputs}),
    )


def _core() -> dict[str, Any]:
    fleet = load_fleet(sample_chain_path())
    return mock_outputs(core_config(fleet))


def _without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return data


def _with(data: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


CORE_CASES = {
    "no regions output": (lambda core: {}, "has no output 'regions'"),
    "region missing": (lambda core: {"regions": {}}, "output regions.eu-west-1 is missing (present: none)"),
    "route tables missing": (
        lambda core: _without(core, "regions", "eu-west-1", "route_table_ids"),
        "output regions.eu-west-1.route_table_ids is missing",
    ),
    "stores table missing": (
        lambda core: _without(core, "regions", "eu-west-1", "route_table_ids", "stores"),
        "output regions.eu-west-1.route_table_ids.stores is missing (present: desktops, hq, workloads)",
    ),
    "gateway id a number": (
        lambda core: _with(core, 5, "regions", "eu-west-1", "transit_gateway_id"),
        "output regions.eu-west-1.transit_gateway_id should be a non-empty string",
    ),
    "gateway id empty": (
        lambda core: _with(core, "", "regions", "eu-west-1", "transit_gateway_id"),
        "output regions.eu-west-1.transit_gateway_id should be a non-empty string",
    ),
    "regions a string": (lambda core: {"regions": "eu-west-1"}, "output regions should be a mapping, got str"),
}


@pytest.mark.parametrize("case", list(CORE_CASES))
def test_malformed_core_outputs_stop_the_store_stack_with_the_output_named(case: str) -> None:
    make, message = CORE_CASES[case]
    with pytest.raises(StackReferenceError) as caught:
        run_store_stack(make(_core()))
    assert message in str(caught.value)
    assert "organization/storestack-core/core" in str(caught.value)


def test_the_good_core_outputs_build_the_store_stack() -> None:
    run_store_stack(_core())


def test_a_store_stack_stopped_by_the_core_outputs_prints_nothing_later(caplog: pytest.LogCaptureFixture) -> None:
    """The run raises its one error; the outputs that failed with it print nothing when they are
    freed during the next run (a dozen tracebacks on stderr in the middle of the next stack's plan;
    in CPython 3.11, printed inside a running `compile()`, they break that compile with
    `SystemError: AST constructor recursion depth mismatch`)."""
    make, message = CORE_CASES["stores table missing"]
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        try:
            run_store_stack(make(_core()))
        except StackReferenceError as error:  # its traceback goes with `error`
            raised = str(error)
        run_store_stack(_core())
        gc.collect()
    assert message in raised
    assert [record.getMessage() for record in caplog.records if record.name == "asyncio"] == []
