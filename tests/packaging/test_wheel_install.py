"""A wheel built from the source tree works in a fresh virtualenv, outside the repository.

This proves the `package-dir` mapping of the top-level folders into `storestack.*`, the package
data (the sample chain) and the console script, none of which an editable install exercises.
The fresh venv gets the wheel only; its dependencies are lent from the test's own environment
(linked, not installed), so the test needs no network and takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".venv",
    ".git",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".hypothesis",
    ".*_cache",
    "stacks-out",
    ".storestack",
)


def run(
    *command: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_validates_the_bundled_sample(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE, symlinks=True)
    run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("storestack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in [
        "storestack/cli/main.py",
        "storestack/inventory/loader.py",
        "storestack/devices/platforms/frr.py",
        "storestack/inventory/examples/sample-chain/fleet.yaml",
        "storestack/inventory/examples/sample-chain/allocations.yaml",
        "storestack/inventory/examples/sample-chain/stores/nw-0007.yaml",
        "storestack/templates/py.typed",
    ]:
        assert expected in names
    assert not any(name.startswith(("tests/", "cli/", "inventory/")) for name in names)
    # Every package of the source tree (setuptools takes only the ones pyproject lists).
    folders = ("cli", "common", "components", "devices", "inventory", "lab", "network", "rollout", "stacks", "templates")
    packages = {f"storestack/{init.relative_to(REPO)}" for folder in folders for init in (REPO / folder).rglob("__init__.py")}
    assert packages - set(names) == set()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).stdout.strip()
    )
    # Lend the dependencies: link everything of this environment except storestack itself.
    lent = tmp_path / "lent-dependencies"
    lent.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.startswith(("storestack", "__editable__", "_storestack")) or entry.suffix == ".pth":
            continue
        (lent / entry.name).symlink_to(entry)
    (site / "lent-dependencies.pth").write_text(f"{lent}\n")
    run(python, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", wheel, cwd=tmp_path)
    run(python, "-m", "pip", "check", cwd=tmp_path)  # every declared dependency is satisfied

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("STORESTACK_FLEET", "PYTHONPATH")}
    where = run(python, "-c", "import storestack.inventory as m; print(m.__file__)", cwd=outside, env=env)
    assert Path(where.stdout.strip()).is_relative_to(site)
    validated = run(venv / "bin" / "storestack", "inventory", "validate", "--json", cwd=outside, env=env)
    assert json.loads(validated.stdout) == {
        "ok": True,
        "stores": 8,
        "hubs": 2,
        "appliances": 8,
        "provisional_allocations": [],
        "lock_written": False,
        "rename_hints": {},
    }
    sample = run(
        python,
        "-c",
        "from storestack.inventory import sample_chain_path; print(sample_chain_path())",
        cwd=outside,
        env=env,
    )
    assert Path(sample.stdout.strip()).is_relative_to(site)
    shown = run(
        venv / "bin" / "storestack",
        "inventory",
        "show",
        "nw-0007",
        "--fleet",
        sample.stdout.strip(),
        cwd=outside,
        env=env,
    )
    assert "lte1" in shown.stdout
