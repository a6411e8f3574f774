"""The mock runtime uses only the Pulumi SDK's public API, so an SDK minor release cannot break planning."""

from __future__ import annotations

import ast
from pathlib import Path

import pulumi

import storestack.stacks.mocks as mocks_module
from storestack.stacks.mocks import RecordingMonitor, StorestackMocks, evaluate_under_mocks


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
