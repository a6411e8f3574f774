"""A new-store rollout killed outright (SIGKILL: the OOM killer, a CI job's timeout) while it
writes the store's stack folder or its push files. What it leaves is whole or absent, never a
folder holding part of them; the push files (secrets) are 0600 and no secret is anywhere else on
disk; and `--resume` finishes the run's folders, leaving no staging behind.

No lab: the appliances are 127.0.0.1 ports nothing listens on, so the run (killed before its
push step, resumed up to it) never reaches an appliance."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from testsupport.killed import HELD_CLI, RUN_CLI, killed_when_held, wait_for_hold
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, new_store_file

from storestack.inventory import sample_chain_path

STORE = "nw-0201"
# Port 9 on the loopback: nothing listens, every connection is refused at once.
TARGETS = f"""\
source: lab:killed
appliances:
  - {{name: hq-hub1, role: hub, platform: frr, host: 127.0.0.1, port: 9}}
  - {{name: hq-hub2, role: hub, platform: frr, host: 127.0.0.1, port: 9}}
  - {{name: {STORE}-edge1, role: edge, store_id: {STORE}, platform: frr, host: 127.0.0.1, port: 9}}
"""
STACK_FILES = sorted(["Pulumi.yaml", f"Pulumi.store-{STORE}.yaml", "__main__.py"])

# Held after `count` files written by one module (`stacks.render`: the stack folder;
# `devices.render`: the push files).
_HOLD = """
import importlib
module = importlib.import_module({module!r})
calls = {{"n": 0}}
real_write = module.atomic_write_text
def write(path, text, **options):
    calls["n"] += 1
    if calls["n"] == {count} + 1:
        hold()
    return real_write(path, text, **options)
module.atomic_write_text = write
"""



def _env() -> dict[str, str]:
    return {
        **os.environ,
        **TEST_SECRETS,
        TEST_IPSEC_PSK_SEED[0]: TEST_IPSEC_PSK_SEED[1],
        "STORESTACK_DEVICE_USERNAME": "admin",
        "STORESTACK_DEVICE_PASSWORD": "Device.Login_Pw9",
    }


@pytest.fixture
def work(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    for path in (fleet / "stores").glob("*.yaml"):
        path.unlink()
    (fleet / "stores" / f"{STORE}.yaml").write_text(new_store_file(STORE, 1))
    (tmp_path / "targets.yaml").write_text(TARGETS)
    return tmp_path


def _rollout(work: Path, *args: str) -> list[str]:
    return [
        "rollout", *args, "--targets", str(work / "targets.yaml"), "--state-dir", str(work / "state"),
        "--stacks-out", str(work / "stacks"), "--json",
    ]


def _killed_at(work: Path, module: str, count: int) -> None:
    killed_when_held(
        _HOLD.format(module=module, count=count),
        _rollout(work, STORE, "--fleet", str(work / "fleet")),
        work / "held",
        _env(),
    )


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _run_dir(work: Path) -> tuple[str, Path]:
    (journal,) = (work / "state" / "runs").glob("rollout-*.json")
    return journal.stem, work / "state" / "rollout" / journal.stem


def _secrets_on_disk(work: Path) -> dict[str, int]:
    """Every file under `work` holding a lab secret, with its mode."""
    values = [value.encode() for value in TEST_SECRETS.values()] + [b"Device.Login_Pw9"]
    return {
        path.relative_to(work).as_posix(): path.stat().st_mode & 0o777
        for path in sorted(work.rglob("*"))
        if path.is_file() and any(value in path.read_bytes() for value in values)
    }


@pytest.mark.parametrize(
    ("module", "count"),
    [("storestack.stacks.render", 1), ("storestack.devices.render", 3)],
    ids=["stack-folder", "push-files"],
)
def test_a_rollout_killed_while_writing_leaves_each_folder_whole_or_absent_and_resume_finishes(
    work: Path, module: str, count: int
) -> None:
    _killed_at(work, module, count)
    run_id, run_dir = _run_dir(work)
    store_stack = work / "stacks" / "store"
    if store_stack.exists():
        assert _visible(store_stack) == STACK_FILES, "the store's stack folder is half-written"
    push_files = run_dir / STORE
    killed_push_files = _visible(push_files) if push_files.exists() else None
    assert killed_push_files != [], "the store's push folder is there without its files"
    secrets = _secrets_on_disk(work)
    assert all(mode == 0o600 for mode in secrets.values()), secrets
    assert all(path.startswith(f"state/rollout/{run_id}/") for path in secrets), secrets

    resumed = subprocess.run(
        [sys.executable, "-c", RUN_CLI, *_rollout(work, "--resume", run_id)],
        env=_env(), capture_output=True, text=True, timeout=300, cwd=work,
    )
    summary = json.loads(resumed.stdout)
    (store,) = summary["stores"]
    assert store["failed_step"] == "push", resumed.stdout  # nothing listens on the targets' port
    assert [s["status"] for s in store["steps"][:4]] == ["done"] * 4
    assert _visible(store_stack) == STACK_FILES
    assert sorted(p.name for p in (work / "stacks").iterdir()) == ["store"], "a staging folder was left"
    assert sorted(p.name for p in run_dir.iterdir()) == [STORE], "a staging folder was left"
    whole = _visible(push_files)
    assert f"{STORE}-edge1.cfg" in whole and len(whole) > 5
    assert killed_push_files in (None, whole), "the killed run left part of the push files"
    assert [p.name for p in push_files.iterdir() if p.name.startswith(".")] == []
    assert (push_files.stat().st_mode & 0o777) == 0o700
    secrets = _secrets_on_disk(work)
    assert secrets and set(secrets.values()) == {0o600}, secrets
    assert all(path.startswith(f"state/rollout/{run_id}/{STORE}/") for path in secrets), secrets

# Held as the push step starts: the push files are written, no appliance reached yet.
_HOLD_AT_PUSH = """
from storestack.rollout import rollout
rollout.STEP_FUNCTIONS["push"] = lambda run: hold()
"""


def _run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_CLI, *args], env=_env(), capture_output=True, text=True, timeout=300, cwd=work
    )


def test_a_run_given_up_is_discarded_with_its_secrets_and_never_resumed(work: Path) -> None:
    """A rollout stopped (or killed) and never resumed keeps its push files, the fleet's secrets,
    under the state directory. The next rollout names it; `rollout --discard RUN` removes them,
    and the run can no longer be resumed (nothing would be left to push from)."""
    stopped = _run(work, *_rollout(work, STORE, "--fleet", str(work / "fleet")))
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    (run_id,) = [path.stem for path in (work / "state" / "runs").glob("rollout-*.json")]
    run_dir = work / "state" / "rollout" / run_id
    assert json.loads(stopped.stdout)["stores"][0]["failed_step"] == "push"  # nothing listens on port 9
    assert _secrets_on_disk(work), "the stopped run keeps its push files for --resume"
    dry = _run(work, *_rollout(work, STORE, "--fleet", str(work / "fleet"), "--dry-run"))
    assert json.loads(dry.stdout)["held_push_files"] == [run_id], dry.stdout
    dry_text = _run(work, *_rollout(work, STORE, "--fleet", str(work / "fleet"), "--dry-run")[:-1])
    assert f"note: run {run_id} keeps" in dry_text.stderr, dry_text.stderr
    assert f"storestack rollout --discard {run_id}" in dry_text.stderr

    text = _run(work, "rollout", "--discard", run_id, "--state-dir", str(work / "state"))
    assert text.returncode == 0, text.stdout + text.stderr
    assert f"run {run_id}: removed" in text.stdout and STORE in text.stdout
    assert _secrets_on_disk(work) == {}
    assert not run_dir.exists()
    assert not any(value in text.stdout + text.stderr for value in TEST_SECRETS.values())

    resumed = _run(work, *_rollout(work, "--resume", run_id))
    assert resumed.returncode == 2, resumed.stdout + resumed.stderr
    (entry,) = json.loads(resumed.stdout)["errors"]
    assert entry["field"] == "--resume" and "was discarded" in entry["message"], entry
    assert not run_dir.exists(), "a refused resume renders nothing"

    again = _run(work, "rollout", "--discard", run_id, "--state-dir", str(work / "state"), "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout) == {
        "ok": True, "run_id": run_id, "stores": [], "files_removed": 0, "already_discarded": True
    }
    unknown = _run(work, "rollout", "--discard", "rollout-nope", "--state-dir", str(work / "state"), "--json")
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["errors"][0]["field"] == "--discard"



def test_a_run_still_running_is_neither_discarded_nor_resumed_until_it_ends(work: Path) -> None:
    """A rollout held alive as its push step starts, its push files written: `--discard` of it is
    refused (exit 2, naming --discard and its process) and removes nothing, as is a second
    `--resume` of it; once the process is gone (killed outright), the same --discard removes them."""
    mark = work / "held"
    running = subprocess.Popen(
        [sys.executable, "-c", HELD_CLI.format(hold=_HOLD_AT_PUSH),
         str(mark), *_rollout(work, STORE, "--fleet", str(work / "fleet"))],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work,
    )
    try:
        wait_for_hold(running, mark)
        run_id, run_dir = _run_dir(work)
        held_files = _secrets_on_disk(work)
        assert held_files, "the running rollout has written some of its push files"

        discard = _run(work, "rollout", "--discard", run_id, "--state-dir", str(work / "state"), "--json")
        assert discard.returncode == 2, discard.stdout + discard.stderr
        (entry,) = json.loads(discard.stdout)["errors"]
        assert entry["field"] == "--discard", entry
        assert f"pid {running.pid}" in entry["message"] and "running" in entry["message"], entry
        assert _secrets_on_disk(work) == held_files, "a refused discard removes nothing"
        text = _run(work, "rollout", "--discard", run_id, "--state-dir", str(work / "state"))
        assert text.returncode == 2 and "running" in text.stderr, text.stderr

        resumed = _run(work, *_rollout(work, "--resume", run_id))
        assert resumed.returncode == 2, resumed.stdout + resumed.stderr
        (entry,) = json.loads(resumed.stdout)["errors"]
        assert entry["field"] == "--resume" and f"pid {running.pid}" in entry["message"], entry
        assert json.loads((work / "state" / "runs" / f"{run_id}.json").read_text())["discarded_at"] is None
    finally:
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=30)

    discarded = _run(work, "rollout", "--discard", run_id, "--state-dir", str(work / "state"), "--json")
    assert discarded.returncode == 0, discarded.stdout + discarded.stderr
    assert json.loads(discarded.stdout)["files_removed"] > 0
    assert _secrets_on_disk(work) == {} and not run_dir.exists()
