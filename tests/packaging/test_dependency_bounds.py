"""Every dependency, runtime or dev, is bounded above, and what is installed is within the bounds.

An open range lets the next major of a library or a tool change what loading, rendering,
pushing or the checks rely on without anyone deciding to take it.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
REQUIREMENTS = [
    Requirement(line)
    for line in [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["dev"]]
]


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=lambda r: r.name)
def test_dependency_has_an_upper_bound_the_installed_version_meets(requirement: Requirement) -> None:
    assert any(spec.operator in {"<", "<=", "~=", "=="} for spec in requirement.specifier), (
        f"{requirement.name} has no upper bound"
    )
    assert requirement.specifier.contains(version(requirement.name), prereleases=True)
