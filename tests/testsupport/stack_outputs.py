"""A store stack's outputs as `storestack devices render/push --outputs` reads them, from a run under mocks."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from storestack.inventory import Fleet
from storestack.stacks import store
from storestack.stacks.config import CONFIG_NAMESPACE, PROJECTS, store_stack_name
from storestack.stacks.core import mock_outputs
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
    """The run's tunnels and PSKs in the `--outputs` file shape."""
    psks = run.outputs["tunnel_psks"].value
    links: list[dict[str, Any]] = []
    aws: list[dict[str, Any]] = []
    for tunnel in run.outputs["tunnels"].value:
        if tunnel["peer_kind"] == "hub":
            prefix = ipaddress.IPv4Network(tunnel["inside_cidr"]).prefixlen
            links.append(
                {
                    "link": tunnel["wan_link"],
                    "outside_address": tunnel["peer_outside_address"],
                    "inside": f"{tunnel['local_inside_address']}/{prefix}",
                    "inside_peer": tunnel["peer_inside_address"],
                    "psk": psks[tunnel["name"]],
                }
            )
        else:
            number = 1 + sum(1 for t in aws if t["link"] == tunnel["wan_link"])
            aws.append(
                {
                    "link": tunnel["wan_link"],
                    "tunnel": number,
                    "outside_address": tunnel["peer_outside_address"],
                    "inside_cidr": tunnel["inside_cidr"],
                    "psk": psks[tunnel["name"]],
                }
            )
    return {store_id: {"links": links, "aws_tunnels": aws, "planned": planned}}
