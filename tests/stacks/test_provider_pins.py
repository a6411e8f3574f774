"""The provider SDKs are pinned to the majors the components are written for."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _requirement(name: str) -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    found = [Requirement(d) for d in dependencies if Requirement(d).name == name]
    assert len(found) == 1, f"{name} is not a dependency"
    return found[0]


def test_pulumi_aws_is_pinned_to_7_which_has_per_resource_region() -> None:
    spec = _requirement("pulumi-aws").specifier
    assert not spec.contains("6.83.0"), "pulumi-aws 6 lacks the per-resource region= the components use"
    assert not spec.contains("8.0.0"), "the next major may change resource inputs: pin the major"
    assert spec.contains(version("pulumi-aws"))


def test_pulumi_openstack_is_pinned_to_one_major() -> None:
    spec = _requirement("pulumi-openstack").specifier
    assert not spec.contains("4.9.0") and not spec.contains("6.0.0")
    assert spec.contains(version("pulumi-openstack"))
