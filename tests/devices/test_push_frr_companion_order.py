"""The engine's own rollback of an FRR push undoes it step by step, in reverse.

The push installs the host's files in the platform's order (devices/platforms/frr.py
`companions`, `hub_companions`), then changes FRR. A rollback the engine runs itself (no
appliance timer: `--confirm-timeout 0`) puts FRR back first, then the files, last installed first,
as the appliance's own revert does (devices/frr_confirm.py, tests/devices/test_frr_confirm_companions.py):
the appliance passes only through states the push passed through. In the platform's order, a hub
whose rollback put swanctl.conf back before its firewall brought a decommissioned store's tunnel
back while its filters were still missing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from testsupport.push_runs import offline_run

from storestack.devices.errors import PushError
from storestack.devices.intended import IntendedConfig
from storestack.devices.platforms import get_platform
from storestack.devices.targets import ApplianceTarget

GOLDEN = Path(__file__).parent / "golden" / "frr"


class Done:
    def __init__(self, output: str) -> None:
        self.output = output

    def result(self) -> str:
        return self.output


class FailingFrrAppliance:
    """An FRR appliance whose host takes every companion, and whose vtysh refuses the change
    after taking its first lines: it notes each step that changes it, in order."""

    def __init__(self, running: str, intended: str, files: dict[str, str]) -> None:
        self.running = running
        self.before = running
        self.intended = intended
        self.files = dict(files)
        self.steps: list[str] = []
        self.config_lines_sent = 0
        self.usable = True
        self.mode = None
        self.host_key = None

    def _digests(self) -> str:
        return json.dumps({name: hashlib.sha256(text.encode()).hexdigest() for name, text in self.files.items()})

    def start_host_file_command(self, command: str, doing: str) -> Done:
        return Done(self.host_file_command(command, doing))

    def host_file_command(self, command: str, doing: str, stdin: bytes | None = None) -> str:
        verb, *name = command.split()[1:]
        if verb == "companion-digests":
            return self._digests()
        if verb == "companion-read":
            return self.files[name[0]]
        assert verb == "companion-install" and stdin is not None
        text = stdin.decode()
        self.files[name[0]] = text
        self.steps.append(f"{name[0]} {text.split()[-1]}")
        return f"installed {name[0]} sha256 {hashlib.sha256(stdin).hexdigest()}"

    def running_and_listed(self, *more: str) -> tuple[str, frozenset[str] | None, list[str]]:
        return self.running, None, ["" for _ in more]

    def running_config(self) -> str:
        return self.running

    def configure(self, lines: Sequence[str], **options: object) -> list[str]:
        self.config_lines_sent += len(lines)
        if options.get("stop_on_error", True):
            # The lines before the one vtysh refused are in.
            self.running = self.intended
            self.steps.append("frr new, refused")
            raise PushError("vtysh: % Unknown command", stage="apply")
        self.running = self.before
        self.steps.append("frr old")
        return []

    def mechanism(self, commands: Sequence[str], doing: str) -> list[str]:
        return []

    def close(self) -> None:
        self.usable = False


@pytest.mark.parametrize("role", ["edge", "hub"])
def test_the_engines_rollback_puts_frr_back_then_the_files_last_installed_first(tmp_path: Path, role: str) -> None:
    frr = get_platform("frr")
    order = [name for name, _ in (frr.hub_companions if role == "hub" else frr.companions)]
    running = (GOLDEN / ("hub.cfg" if role == "hub" else "dual-wan.cfg")).read_text()
    intended = f"{running}ip route 192.0.2.0/24 blackhole\n"
    appliance = FailingFrrAppliance(running, intended, {name: f"# {name}\nold\n" for name in order})
    target = ApplianceTarget(name="edge", role=role, platform="frr", host="127.0.0.1")
    companions = tuple((name, f"# {name}\nnew\n") for name in order)
    run = offline_run(target, IntendedConfig(intended, companions=companions), tmp_path)
    run.session = appliance  # type: ignore[assignment]

    run._cycle()

    assert run.result.outcome == "failed" and run.result.rollback is not None and run.result.rollback.ok
    assert appliance.steps == [
        *(f"{name} new" for name in order),
        "frr new, refused",
        "frr old",
        *(f"{name} old" for name in reversed(order)),
    ]
