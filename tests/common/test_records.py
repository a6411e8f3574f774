"""Records are immutable to the type checker, and compare and hash by value at runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

from storestack.common.records import record

_REPO = Path(__file__).resolve().parents[2]

_ASSIGNS = '''
from storestack.common.records import record

@record
class Point:
    x: int
    y: int = 0

point = Point(1)
total: int = point.x + point.y
point.x = 2
'''


def test_mypy_refuses_assigning_a_field_of_a_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_REPO)  # the project's mypy settings name their paths from the repository
    snippet = tmp_path / "snippet.py"
    snippet.write_text(_ASSIGNS)
    out, _, status = api.run([
        "--config-file", str(_REPO / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"), str(snippet),
    ])
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "snippet.py:11:" in errors[0] and '"x"' in errors[0] and "read-only" in errors[0], out


@record
class _Pair:
    a: str
    b: tuple[int, ...] = ()


def test_records_compare_and_hash_by_their_fields() -> None:
    assert _Pair("x", (1,)) == _Pair(a="x", b=(1,)) and _Pair("x") != _Pair("y")
    assert hash(_Pair("x", (1,))) == hash(_Pair("x", (1,)))
    assert {_Pair("x"): 1}[_Pair("x")] == 1
    assert not hasattr(_Pair("x"), "__dict__")
