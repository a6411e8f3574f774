"""storestack-confirm's swanctl.conf install ends the sessions of the connections the new file
drops (`frr_confirm.SessionEnds`), and only those that are up: against a stand-in swanctl that
logs each call and lists an SA for the names in a file. The namespace test with strongSwan itself
is tests/devices/test_frr_hub_decommissioned_sessions_netns.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from storestack.devices import frr_confirm
from storestack.devices.frr_confirm import ConfirmConfig
from storestack.devices.frr_confirm import _VerbError as VerbError


def swanctl_file(*names: str) -> bytes:
    connections = "".join(
        f"    {name} : storestack-ike {{\n        remote {{\n            id = {name}.example\n        }}\n"
        f"        children {{\n            {name} : storestack-responder {{\n            }}\n        }}\n    }}\n"
        for name in names
    )
    return (
        "storestack-ike {\n    version = 2\n}\n"
        f"connections {{\n{connections}}}\n"
        'secrets {\n    ike-1 {\n        secret = "not{a}connection"\n    }\n}\n'
    ).encode()


def _appliance(tmp_path: Path, live: set[str], terminate: str = "  :\n") -> tuple[ConfirmConfig, Path]:
    log = tmp_path / "swanctl.log"
    (tmp_path / "live").write_text("".join(f"{name}\n" for name in live))
    swanctl = tmp_path / "swanctl"
    swanctl.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'if [ "$1" = "--list-sas" ]; then\n'
        f'  grep -qx "$3" {tmp_path / "live"} && echo "$3: #1, ESTABLISHED, IKEv2"\n'
        "  exit 0\n"
        "fi\n"
        f'if [ "$1" = "--terminate" ]; then\n{terminate}fi\n'
    )
    swanctl.chmod(0o755)
    default = frr_confirm.DEFAULT_COMPANIONS["swanctl.conf"]
    given = {
        "path": str(tmp_path / "swanctl.conf"),
        "reload": [[str(swanctl), *command[1:]] for command in default["reload"]],
        "ends": {key: [str(swanctl), *command[1:]] for key, command in default["ends"].items()},
    }
    config = ConfirmConfig.load_data({"state_dir": str(tmp_path / "state"), "companions": {"swanctl.conf": given}})
    return config, log


def test_the_connections_a_swanctl_conf_defines() -> None:
    assert frr_confirm.swanctl_connections(swanctl_file("nw-0001-wan1-hq-hub1", "aws1").decode()) == [
        "nw-0001-wan1-hq-hub1",
        "aws1",
    ]


def test_an_install_ends_the_live_sessions_of_the_connections_it_drops_after_the_reload(tmp_path: Path) -> None:
    config, log = _appliance(tmp_path, live={"nw-0001", "nw-0002"})
    frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0001", "nw-0002", "nw-0003"))
    log.unlink()
    said = frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0002"))
    assert said.startswith("installed swanctl.conf")
    calls = log.read_text().splitlines()
    # The reload first (the store cannot set its tunnel up again), then each dropped
    # connection's SA, where one is up (nw-0003 has none: nothing to terminate).
    assert calls[0].startswith("--load-all")
    assert calls[1:] == [
        "--list-sas --ike nw-0001",
        "--terminate --ike nw-0001 --force",
        "--list-sas --ike nw-0003",
    ]


def test_an_install_that_drops_no_connection_ends_nothing(tmp_path: Path) -> None:
    config, log = _appliance(tmp_path, live={"nw-0001"})
    frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0001"))
    frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0001", "nw-0002"))
    assert [call for call in log.read_text().splitlines() if not call.startswith("--load-all")] == []


def test_a_session_gone_by_itself_before_its_terminate_is_no_failure(tmp_path: Path) -> None:
    """The far end deleted the SA between the list and the terminate: swanctl answers that it
    found none (exit 1), and a second list shows none: the install stands."""
    live = tmp_path / "live"
    gone_then_fail = f'  : > {live}\n  echo "terminate failed: no matching SAs to terminate found"\n  exit 1\n'
    config, _log = _appliance(tmp_path, live={"nw-0001"}, terminate=gone_then_fail)
    frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0001", "nw-0002"))
    assert frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0002")).startswith("installed")


def test_a_terminate_that_fails_while_the_session_stays_up_fails_the_install(tmp_path: Path) -> None:
    config, _log = _appliance(tmp_path, live={"nw-0001"}, terminate='  echo "terminate failed: timeout"\n  exit 1\n')
    frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0001", "nw-0002"))
    with pytest.raises(VerbError, match="ending the sessions of nw-0001"):
        frr_confirm.companion_install(config, "swanctl.conf", swanctl_file("nw-0002"))
    # The old file is back (the store's connection with it), as for any failed reload.
    assert frr_confirm.swanctl_connections((tmp_path / "swanctl.conf").read_text()) == ["nw-0001", "nw-0002"]
