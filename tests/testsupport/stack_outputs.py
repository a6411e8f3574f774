"""A store stack's outputs as `storestack devices render/push --outputs` reads them, from a run under mocks."""

from __future__ import annotations

import json
from typing import Any

from storestack.inventory import Fleet
from storestack.stacks import store
from storestack.stacks.config import CONFIG_NAMESPACE, PROJECTS, store_stack_name
from storestack.stacks.core import mock_outputs
from storestack.stacks.device_bridge import outputs_from_store_stack
from storestack.stacks.mapping import core_config, store_config
from storestack.stacks.mocks import MockRun, StorestackMocks, run_program_under_mocks


def run_store_stack(fleet: Fleet, store_id: str, *, preview: bool, program: Any = store.program) -> MockRun:
    """The store's stack program under mocks, its core answering with mock outputs."""
    config = store_config(fleet, fleet.store(store_id))
    mocks = StorestackMocks(stack_outputs={config.core_stack: mock_outputs(core_config(fleet))})
    return run_program_under_mocks(
        program,
        project=PROJECTS["store"],
        stack=store_stack_name(store_id),
        config={f"{CONFIG_NAMESPACE}:store": json.dumps(config.model_dump(mode="json"))},
        mocks=mocks,
        preview=preview,
    )


def outputs_file(run: MockRun, store_id: str, *, planned: bool) -> dict[str, Any]:
    """The run's tunnels and PSKs in the `--outputs` file shape, PSKs in clear as a stack export has them."""
    outputs = outputs_from_store_stack(
        store_id, run.outputs["tunnels"].value, run.outputs["tunnel_psks"].value, planned=planned
    )
    data = outputs.model_dump(mode="json", exclude={"store_id"})
    for item, tunnel in zip(data["links"], outputs.links, strict=True):
        item["psk"] = tunnel.psk.get_secret_value()
    for item, aws in zip(data["aws_tunnels"], outputs.aws_tunnels, strict=True):
        item["psk"] = aws.psk.get_secret_value()
    return {store_id: data}
