"""A rollout killed (SIGKILL) in the middle of its push, then `storestack rollout --resume`.

Root, FRR and sshd; fails under CI=true when the lab cannot run. Two new stores of the sample
chain, their edges freshly installed in the lab; the rollout is killed once one store's push step
is running and its edge's backup exists. Afterwards: the journal says the push step was running
(not done, not failed), the edges that were not reached still have their factory config, the
backup is there, and `--resume` brings both stores live.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testsupport.lab import require_frr_lab
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, new_store_file

from storestack import lab
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.fleet import topology_from_fleet

pytestmark = pytest.mark.lab

STORES = ("nw-0201", "nw-0202")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    require_frr_lab()
    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    for path in (fleet / "stores").glob("*.yaml"):
        path.unlink()
    for number, store_id in enumerate(STORES, start=1):
        (fleet / "stores" / f"{store_id}.yaml").write_text(
            new_store_file(store_id, number)
        )
    lab_dir = tmp_path / "lab"
    try:
        lab.up(topology_from_fleet(load_fleet(fleet), list(STORES)), lab_dir)
    except lab.LabError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab did not start: {exc}")
        raise
    try:
        yield fleet, lab_dir
    finally:
        lab.down(lab_dir)


def journal(state: Path) -> dict[str, Any] | None:
    runs = sorted((state / "runs").glob("rollout-*.json"))
    if not runs:
        return None
    try:
        data: dict[str, Any] = json.loads(runs[-1].read_text())
    except json.JSONDecodeError:
        return None  # caught between write and rename: the next poll reads it
    return data


def steps(report: dict[str, Any], store_id: str) -> dict[str, str]:
    return {s["name"]: s["status"] for s in report["subjects"][store_id]["steps"]}


def test_rollout_killed_mid_push_resumes_to_live_stores(chain: tuple[Path, Path], tmp_path: Path) -> None:
    fleet, lab_dir = chain
    state = tmp_path / "state"
    env = {**os.environ, **TEST_SECRETS, TEST_IPSEC_PSK_SEED[0]: TEST_IPSEC_PSK_SEED[1]}
    factory = {f"{s}-edge1": lab.vtysh(lab_dir, f"{s}-edge1", "show running-config") for s in STORES}
    command = [
        sys.executable, "-c", "from storestack.cli.main import cli; cli()", "rollout", *STORES,
        "--fleet", str(fleet), "--lab", "--lab-dir", str(lab_dir), "--state-dir", str(state),
        "--stacks-out", str(tmp_path / "stacks-out"), "--concurrency", "1", "--no-failover",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    victim = f"{STORES[0]}-edge1"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            report = journal(state)
            backed_up = any((state / "backups").rglob(f"*{victim}*/*.cfg"))
            if report is not None and steps(report, STORES[0]).get("push") == "running" and backed_up:
                process.send_signal(signal.SIGKILL)
                break
            if process.poll() is not None:
                raise AssertionError("the rollout finished before it could be killed mid-push")
            time.sleep(0.01)
        else:
            raise AssertionError("the rollout never reached the push step")
    finally:
        process.kill()
        process.wait(timeout=10)

    killed = journal(state)
    assert killed is not None and not killed.get("finished")
    first = steps(killed, STORES[0])
    assert first["push"] == "running"  # cut off mid-push: neither done nor failed, as it was
    assert first["verify"] == first["activate"] == "pending"
    assert steps(killed, STORES[1])["push"] == "pending"
    assert lab.vtysh(lab_dir, f"{STORES[1]}-edge1", "show running-config") == factory[f"{STORES[1]}-edge1"]
    backups = [p for p in (state / "backups").rglob("*.cfg") if victim in str(p)]
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    assert backups[0].read_text().strip() == factory[victim].strip()

    resume = subprocess.run(
        [sys.executable, "-c", "from storestack.cli.main import cli; cli()", "rollout", "--resume",
         killed["run_id"], "--state-dir", str(state), "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert resume.returncode == 0, resume.stdout + resume.stderr
    resumed = json.loads(resume.stdout)
    assert resumed["run_id"] == killed["run_id"]
    for store_id in STORES:
        summary = next(s for s in resumed["stores"] if s["store"] == store_id)
        assert summary["active"] is True, summary
    final = journal(state)
    assert final is not None and final.get("finished")
    assert all(status == "done" for status in steps(final, STORES[0]).values() if status != "skipped")
