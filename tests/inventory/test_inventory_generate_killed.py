"""`storestack inventory generate --out DIR` killed outright (SIGKILL: the OOM killer, a CI
job's timeout) runs no clean-up of its own. The next run must still succeed and leave DIR whole:
the staged folder of a dead run is removed (or, killed while the new files took their places,
the new fleet finished), while a run still alive keeps its own and the second run is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import load_fleet

# A real `storestack inventory generate` in its own process, held still at one point of its
# write (after `writes` files are staged, or after `renames` of the new entries into place) so
# that it can be killed there. The hold is the only change to the command.
_HELD_RUN = """
import os, sys, time
from pathlib import Path
from storestack.common import files
from storestack.inventory import generate
mark, point, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
calls = {"n": 0}

def hold():
    calls["n"] += 1
    if calls["n"] == count + 1:
        mark.write_text(str(os.getpid()))
        time.sleep(600)

real_write, real_rename = generate.atomic_write_text, files.os.rename
def write(path, text, **options):
    hold()
    return real_write(path, text, **options)
def rename(source, target):
    if Path(source).parent.name.startswith(".staged-"):
        hold()
    return real_rename(source, target)
if point == "write":
    generate.atomic_write_text = write
else:
    files.os.rename = rename
from storestack.cli.main import cli
cli.main(sys.argv[4:], prog_name="storestack")
"""


def _held(tmp_path: Path, point: str, count: int, args: list[str]) -> subprocess.Popen[bytes]:
    mark = tmp_path / "held"
    mark.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", _HELD_RUN, str(mark), point, str(count), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not mark.exists():
        assert process.poll() is None, "the held run ended before it was held"
        assert time.monotonic() < deadline, "the held run never reached its hold"
        time.sleep(0.05)
    return process


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _generate(out: Path, stores: int, seed: int, *extra: str) -> list[str]:
    return ["inventory", "generate", "--stores", str(stores), "--seed", str(seed), "--out", str(out), *extra]


@pytest.mark.parametrize(("point", "count"), [("write", 3), ("rename", 0), ("rename", 1)],
                         ids=["staging", "before-renames", "between-renames"])
def test_a_regeneration_after_a_killed_one_succeeds_and_leaves_one_fleet(
    tmp_path: Path, point: str, count: int
) -> None:
    out = tmp_path / "fleet"
    runner = CliRunner()
    assert runner.invoke(cli, _generate(out, 4, 1)).exit_code == 0
    before = _tree(out)

    _kill(_held(tmp_path, point, count, _generate(out, 6, 2)))
    if point == "write":
        assert _tree(out) == {**before, **{k: v for k, v in _tree(out).items() if "/.staged-" in f"/{k}"}}

    again = runner.invoke(cli, _generate(out, 6, 2, "--json"))
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in out.iterdir()) == ["fleet.yaml", "stores"], "the killed run's folders stayed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet", "held"]
    assert sorted(load_fleet(out).stores) == [f"ms-{n:05d}" for n in range(1, 7)]
    third = runner.invoke(cli, _generate(out, 6, 2, "--json"))
    assert json.loads(third.stdout)["written"] == 0, "a re-run writes nothing"


def test_a_first_generation_after_a_killed_one_leaves_nothing_of_it(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    _kill(_held(tmp_path, "write", 2, _generate(out, 3, 1)))
    assert not out.exists()
    result = CliRunner().invoke(cli, _generate(out, 3, 1))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet", "held"], "the killed run's staging stayed"
    assert sorted(load_fleet(out).stores) == ["ms-00001", "ms-00002", "ms-00003"]


def test_a_generation_while_another_is_writing_is_refused_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    runner = CliRunner()
    assert runner.invoke(cli, _generate(out, 4, 1)).exit_code == 0
    before = _tree(out)
    running = _held(tmp_path, "write", 2, _generate(out, 5, 2))
    try:
        refused = runner.invoke(cli, _generate(out, 6, 3, "--json"))
        assert refused.exit_code == 2, refused.output
        error = json.loads(refused.stdout)
        assert str(running.pid) in error["error"] and str(out) in error["error"]
        staged = [p for p in out.iterdir() if p.name.startswith(".")]
        assert len(staged) == 1, "the running generation's staged folder was touched"
    finally:
        _kill(running)
    assert {k: v for k, v in _tree(out).items() if not k.startswith(".")} == before
    assert os.path.isdir(out / "stores")
