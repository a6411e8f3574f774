"""Shared pieces of the fault matrix: an unreachable address, journals, reruns through the CLI."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import yaml
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.devices.journal import last_push_run
from storestack.devices.report import RunReport
from storestack.devices.runner import PushObserver


@contextmanager
def unreachable_port() -> Iterator[int]:
    """A port on 127.0.0.1 where a TCP connect hangs as it does to a host that is down.

    The listener's accept queue (backlog 0, i.e. one slot) is filled by a connection that is
    never accepted; the kernel then drops further SYNs, so a client waits out its connect timeout
    exactly as for a router that lost its route, with no packet leaving 127.0.0.0/8.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect(("127.0.0.1", port))
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            pass
        else:
            raise AssertionError("the accept queue did not fill: this kernel answers SYNs beyond the backlog")
        finally:
            probe.close()
        yield port
    finally:
        filler.close()
        listener.close()


def set_port(targets_file: Path, appliance: str, port: int) -> None:
    """Point one appliance of a targets inventory at another port (the route came back, say)."""
    data = yaml.safe_load(targets_file.read_text())
    for item in data["appliances"]:
        if item["name"] == appliance:
            item["port"] = port
    targets_file.write_text(yaml.safe_dump(data, sort_keys=False))


class StageHook(PushObserver):
    """Runs `action` once, when `device` reaches `stage` (to inject what no fault flag can)."""

    def __init__(self, device: str, stage: str, action: Callable[[], None]) -> None:
        self.device, self.stage, self.action = device, stage, action
        self.fired = False

    def on_stage(self, name: str, stage: str) -> None:
        if name == self.device and stage == self.stage and not self.fired:
            self.fired = True
            self.action()


def journal_of(state: Path) -> RunReport:
    """The last push run as its journal on disk tells it (not as the runner returned it)."""
    report = last_push_run(state / "runs")
    assert report is not None, f"no push journal in {state / 'runs'}"
    return report


def cli_push(*args: str) -> tuple[int, dict[str, Any]]:
    """`storestack devices push … --json` in-process: (exit code, the JSON report)."""
    result = CliRunner().invoke(cli, ["devices", "push", *args, "--json"], catch_exceptions=False)
    try:
        payload = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"no JSON report (exit {result.exit_code}): {result.output}") from exc
    return result.exit_code, payload


def outcomes(payload: dict[str, Any]) -> dict[str, str]:
    return {device["name"]: device["outcome"] for device in payload["devices"]}


def logins_ended(username: str) -> bool:
    """Nothing runs as a lab's login user any more but detached commit-confirm timers.

    After a push died, its SSH sessions end on their own, but not at once: an FRR arm whose
    backup had been sent may still be starting, and arms when it gets there. Only once every
    such process has ended does the appliance's timer state say what it will do. A timer is a
    session leader (it left the login's session) running storestack-confirm."""
    for process in psutil.process_iter(["username", "cmdline"]):
        try:
            if process.info["username"] != username:
                continue
            timer = "storestack-confirm" in " ".join(process.info["cmdline"] or []) and os.getsid(process.pid) == process.pid
        except (psutil.Error, ProcessLookupError):
            continue
        if not timer:
            return False
    return True
