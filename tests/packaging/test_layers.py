"""The layering DEVELOPERS.md states ("Map"), checked on every import of every package.

A package imports only packages of the layers after its own; packages of one layer import
nothing of each other. The exceptions are named here and in DEVELOPERS.md, and each is
checked to be what it claims: a module that imports only `common` (and the modules of its own
exception set), so importing it pulls nothing of the layer above in.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# DEVELOPERS.md: `cli` → `rollout` → `lab` → `stacks` → `devices` → `network` →
# `inventory` / `components` → `common`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("rollout",),
    ("lab",),
    ("stacks",),
    ("devices",),
    ("network",),
    ("inventory", "components"),
    ("common",),
    ("templates",),  # package data, read by devices: it imports nothing
)

# Fleet-wide constants below `inventory`: the cloud tunnels' addressing and the one crypto
# policy (with the error it raises) import only `common`, so the inventory's IPAM and checks
# and the Pulumi components read the same values the intent does.
LEAF_MODULES = ("storestack.network.cloud", "storestack.network.crypto", "storestack.network.errors")
EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "inventory": ("storestack.network.cloud",),
    "components": ("storestack.network.cloud", "storestack.network.crypto"),
}

RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every `storestack.…` name a file imports, at the top, in a function or under
    TYPE_CHECKING alike: `import storestack.x.y` as `storestack.x.y`, `from storestack.x import
    y` as `storestack.x.y` (a module or a name in one)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("storestack.")]


def _package(name: str) -> str:
    return name.split(".")[1]


def _within(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(f"{module}.") for module in modules)


def layering_violations(root: Path) -> list[str]:
    """Each import against the layering, as `file:line imports name (why)`."""
    problems = []
    for package in RANK:
        for path in sorted((root / package).rglob("*.py")):
            for line, name in _imports(path):
                target = _package(name)
                if target == package or RANK.get(target, -1) > RANK[package]:
                    continue
                if _within(name, EXCEPTIONS.get(package, ())):
                    continue
                problems.append(f"{path.relative_to(root)}:{line} imports {name} ({package} may not import {target})")
    return problems


def leaf_violations(root: Path) -> list[str]:
    """A leaf module importing anything but `common` and the other leaf modules, or the package
    holding them importing anything on import (importing a leaf runs its `__init__.py`)."""
    problems = []
    for module in LEAF_MODULES:
        path = root.joinpath(*module.split(".")[1:]).with_suffix(".py")
        problems += [
            f"{path.relative_to(root)}:{line} imports {name} (only common and the leaf modules)"
            for line, name in _imports(path)
            if _package(name) != "common" and not _within(name, LEAF_MODULES)
        ]
    for package in sorted({_package(module) for module in LEAF_MODULES}):
        init = root / package / "__init__.py"
        problems += [f"{init.relative_to(root)}:{line} imports {name}" for line, name in _imports(init)]
    return problems


def test_the_layers_cover_every_package_the_project_ships() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = {name.split(".")[1] for name in pyproject["tool"]["setuptools"]["package-dir"]}
    assert shipped == set(RANK)


def test_each_package_imports_only_the_layers_after_it() -> None:
    assert layering_violations(ROOT) == []


def test_the_stated_exceptions_are_leaf_modules_that_import_only_common() -> None:
    assert leaf_violations(ROOT) == []


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("network", "from storestack.devices.errors import RenderError\n", "network may not import devices"),
        ("common", "import storestack.inventory.types\n", "common may not import inventory"),
        ("inventory", "from storestack.components import vpn_gateway\n", "inventory may not import components"),
        ("inventory", "from storestack.network import crypto\n", "inventory may not import network"),
        ("components", "from storestack.network.build import NetworkIntent\n", "components may not import network"),
        ("components", "from storestack.network import NetworkIntent\n", "components may not import network"),
        ("devices", "if TYPE_CHECKING:\n    from storestack.lab import topology\n", "devices may not import lab"),
        ("devices", "def f():\n    from storestack.rollout.errors import RolloutError\n", "devices may not import rollout"),
    ],
)
def test_an_import_against_the_layers_is_found(tmp_path: Path, package: str, source: str, expected: str) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "probe.py").write_text(source)
    (found,) = layering_violations(tmp_path)
    assert found.startswith(f"{package}/probe.py:") and expected in found


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("inventory", "from storestack.network.cloud import HUB_AWS_REGIONS\n"),
        ("components", "from storestack.network import crypto\n"),
        ("lab", "from storestack.stacks.plan import planned_store_outputs\n"),
        ("network", "from storestack.inventory import Fleet\n"),
    ],
)
def test_an_import_the_layers_allow_is_not_found(tmp_path: Path, package: str, source: str) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "probe.py").write_text(source)
    assert layering_violations(tmp_path) == []
