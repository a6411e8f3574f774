"""Stand-ins for FRR's `vtysh` and `frr-reload.py` in the commit-confirm tests
(devices/frr_confirm.py runs them): the running config kept in a file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from storestack.devices.frr_confirm import ConfirmConfig


def frr_stand_ins(tmp_path: Path, running_text: str, then: str = "") -> tuple[Path, Path]:
    """vtysh and frr-reload.py stand-ins keeping the running config in `tmp_path`/running.conf,
    which starts as `running_text` (`then`: a shell line the reload runs after it)."""
    running = tmp_path / "running.conf"
    running.write_text(running_text)
    vtysh = tmp_path / "vtysh"
    vtysh.write_text(f'#!/bin/sh\nprintf "Building configuration...\\n\\n"\ncat {running}\n')
    reload = tmp_path / "frr-reload.py"
    reload.write_text(f'#!/bin/sh\nfor last; do :; done\ncp "$last" {running}\n{then}\n')
    for script in (vtysh, reload):
        script.chmod(0o755)
    return vtysh, reload


def companions_confirm_config(
    tmp_path: Path, vtysh: Path, reload: Path, etc: Path, reloads: Mapping[str, list[list[str]]]
) -> ConfirmConfig:
    """The appliance's commit-confirm config (devices/frr_confirm.py) with FRR stood in by `vtysh`
    and `reload`, and one companion per entry of `reloads`, in its order: the file of that name in
    `etc`, no check, no group, the commands its reload runs."""
    return ConfirmConfig.load_data(
        {
            "state_dir": str(tmp_path / "state"),
            "vtysh": str(vtysh),
            "frr_reload": str(reload),
            "companions": {
                name: {"path": str(etc / name), "group": None, "check": [], "reload": commands, "ends": None}
                for name, commands in reloads.items()
            },
        }
    )
