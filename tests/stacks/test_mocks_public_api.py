"""The mock runtime uses only the Pulumi SDK's public API, so an SDK minor release cannot break planning."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pulumi

import storestack.stacks.mocks as mocks_module
from storestack.stacks.mocks import (
    RecordingMonitor,
    StorestackMocks,
    evaluate_under_mocks,
    run_program_under_mocks,
)


def _private_pulumi_uses(source: str) -> list[str]:
    tree = ast.parse(source)
    pulumi_names = {"pulumi"}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi"):
            for alias in node.names:
                pulumi_names.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pulumi"):
                    pulumi_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in pulumi_names:
                found.append(ast.unparse(node))
    return found


def test_the_mock_runtime_touches_no_private_pulumi_name() -> None:
    source = Path(mocks_module.__file__).read_text(encoding="utf-8")
    assert _private_pulumi_uses(source) == []


def test_the_private_name_scan_catches_what_the_old_runtime_used() -> None:
    old = (
        "from pulumi.runtime.sync_await import _sync_await\n"
        "from pulumi.runtime import mocks as pulumi_mocks\n"
        "x = pulumi_mocks._resolve_callbacks([])\n"
    )
    assert _private_pulumi_uses(old) == [
        "from pulumi.runtime.sync_await import _sync_await",
        "pulumi_mocks._resolve_callbacks",
    ]


def test_runs_are_isolated_from_each_other() -> None:
    def build() -> pulumi.Output[str]:
        resource = pulumi.CustomResource("test:index:Thing", "thing", {"value": "x"})
        return resource.urn

    first = RecordingMonitor(StorestackMocks())
    second = RecordingMonitor(StorestackMocks())
    urn = evaluate_under_mocks(build, first, project="p", stack="a")
    again = evaluate_under_mocks(build, second, project="p", stack="b")
    assert urn.startswith("urn:pulumi:a::p::") and again.startswith("urn:pulumi:b::p::")
    assert len(first.registered_urns) == len(second.registered_urns) == 1



def _exports() -> None:
    thing = pulumi.CustomResource("test:index:Thing", "thing", {"value": "x", "later": None})
    computed = thing.id.apply(lambda value: f"id-{value}")
    pulumi.export("nested_secret", [{"a": "plain", "b": pulumi.Output.secret("s3cret")}, ("t", 1)])
    pulumi.export("outer_secret", pulumi.Output.secret({"k": ["v", {"deep": computed}]}))
    pulumi.export("plain", {"x": [], "y": {}, "z": None, "n": 1.5, "t": ()})
    pulumi.export("output_in_output", computed.apply(lambda value: {"inner": pulumi.Output.secret(value)}))
    # The mock returns no `later`, so in a preview it stays unknown, and so does all around it.
    pulumi.export("unknown", {"known": "yes", "later": [thing.later]})  # type: ignore[attr-defined]


def test_stack_outputs_resolve_as_output_from_input_does() -> None:
    """Exports resolve without an Output per nested value, to what the SDK's deep `from_input` gives:
    secret if any part is, unknown (value None) if any part is, tuples and empty containers kept."""

    def build() -> pulumi.Output[dict[str, tuple[Any, bool, bool]]]:
        _exports()
        exported = dict(pulumi.runtime.get_root_resource().outputs)  # type: ignore[union-attr]

        async def resolve() -> dict[str, tuple[Any, bool, bool]]:
            resolved = {}
            for key, value in exported.items():
                output = pulumi.Output.from_input(value)
                resolved[key] = (
                    await output.future(with_unknowns=False), await output.is_secret(), await output.is_known()
                )
            return resolved

        return pulumi.Output.from_input(resolve())

    expected = evaluate_under_mocks(build, RecordingMonitor(StorestackMocks()), project="p", stack="s")
    run = run_program_under_mocks(_exports, project="p", stack="s")
    assert {key: (out.value, out.secret, out.known) for key, out in run.outputs.items()} == expected
    assert expected["nested_secret"] == ([{"a": "plain", "b": "s3cret"}, ("t", 1)], True, True)
    assert expected["output_in_output"][1:] == (True, True)
    assert expected["unknown"] == (None, False, False)
