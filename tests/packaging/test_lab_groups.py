"""A test module that brings a lab up in a module-scoped fixture, for all its tests, keeps an
`xdist_group` (DEVELOPERS.md "Test suite layout"): under `--dist loadgroup` the tests of a module
without one are handed out one by one, so every worker that runs one of them starts the lab again
(three starts of the sample chain's lab in one run where one serves)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# What brings a lab up: `lab.up` (or `frr_lab.up`) and the test helpers around it.
LAB_STARTS = {"up", "running_lab", "rolled_out_lab", "cli_lab_dirs"}


def _called(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            function = call.func
            if isinstance(function, ast.Attribute) and function.attr == "up" and isinstance(function.value, ast.Name):
                names.add("up" if function.value.id in {"lab", "frr_lab"} else "")
            elif isinstance(function, ast.Name):
                names.add(function.id)
    return names


def _module_scoped(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(decorator, ast.Call)
        and any(k.arg == "scope" and isinstance(k.value, ast.Constant) and k.value.value == "module" for k in decorator.keywords)
        for decorator in function.decorator_list
    )


def lab_modules_without_a_group(root: Path) -> list[str]:
    """The test modules under `root` with a module-scoped fixture that brings a lab up and no
    `xdist_group` on the module."""
    found = []
    for path in sorted(root.rglob("test_*.py")):
        text = path.read_text()
        if 'scope="module"' not in text or not any(f"{name}(" in text for name in LAB_STARTS):
            continue  # read only the modules that may hold such a fixture
        tree = ast.parse(text, str(path))
        starts = [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and _module_scoped(node) and _called(node) & LAB_STARTS
        ]
        marks = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        ]
        grouped = any("xdist_group" in ast.dump(node) for node in marks)
        if starts and not grouped:
            found.append(f"{path.relative_to(root)} ({', '.join(starts)})")
    return found


def test_every_module_that_runs_a_lab_for_all_its_tests_keeps_an_xdist_group() -> None:
    assert lab_modules_without_a_group(TESTS) == []


def test_a_module_lab_without_a_group_is_found(tmp_path: Path) -> None:
    fixture = (
        "import pytest\n\n"
        '@pytest.fixture(scope="module")\n'
        "def frr(tmp_path_factory):\n"
        "    with running_lab(TOPOLOGY, tmp_path_factory.mktemp('x')) as info:\n"
        "        yield info\n"
    )
    (tmp_path / "test_alone.py").write_text("pytestmark = pytest.mark.lab\n" + fixture)
    (tmp_path / "test_grouped.py").write_text("pytestmark = [pytest.mark.lab, pytest.mark.xdist_group('g')]\n" + fixture)
    (tmp_path / "test_per_test.py").write_text(fixture.replace('scope="module"', 'scope="function"'))
    assert lab_modules_without_a_group(tmp_path) == ["test_alone.py (frr)"]
