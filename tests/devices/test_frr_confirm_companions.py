"""storestack-confirm's companion verbs: the FRR appliance's host files installed by the push.

Against stand-ins (a check and a reload that are shell scripts, vtysh and frr-reload.py keeping a
running config in a file), so every path runs without root; tests/lab/test_lab_companions.py
runs them on a lab appliance behind sshd, with nftables for real.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testsupport.frr_stand_ins import companions_confirm_config, frr_stand_ins

from storestack.devices import frr_confirm
from storestack.devices.frr_confirm import ConfirmConfig
from storestack.devices.frr_confirm import _VerbError as VerbError

PROGRAM = str(Path(frr_confirm.__file__).resolve())
RUNNING = "frr version 8.4.4\nhostname edge\n!\nend\n"
RULESET = "table inet filter {\n  chain input { type filter hook input priority 0; policy drop; }\n}\n"
KEYS = "1 SHA256 HEX:00112233445566778899aabbccddeeff\n"


@pytest.fixture
def appliance(tmp_path: Path) -> ConfirmConfig:
    """nftables.conf (checked: a staged file holding BAD is refused; its reload fails on
    RELOADFAIL), chrony.keys and swanctl.conf (secrets, 0600) in an `etc` of their own."""
    vtysh, reload = frr_stand_ins(tmp_path, RUNNING)
    log = tmp_path / "host.log"
    check = tmp_path / "nft-check"
    check.write_text(f'#!/bin/sh\necho "check $1" >> {log}\n! grep -q BAD "$1"\n')
    nft = tmp_path / "nft-load"
    nft.write_text(f'#!/bin/sh\necho "load $(head -c 40 "$1" | tr -d "\\n")" >> {log}\n! grep -q RELOADFAIL "$1"\n')
    for script in (check, nft):
        script.chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    path = tmp_path / "confirm.json"
    path.write_text(
        json.dumps(
            {
                "state_dir": str(tmp_path / "state"),
                "vtysh": str(vtysh),
                "frr_reload": str(reload),
                "companions": {
                    "nftables.conf": {
                        "path": str(etc / "nftables.conf"),
                        "check": [str(check), "{file}"],
                        "reload": [[str(nft), str(etc / "nftables.conf")]],
                    },
                    "chrony.keys": {
                        "path": str(etc / "chrony.keys"),
                        "mode": "0600",
                        "group": None,
                        "reload": [["sh", "-c", f"echo rekey >> {log}"]],
                    },
                    "swanctl.conf": {"path": str(etc / "swanctl.conf"), "reload": []},
                },
            }
        )
    )
    return ConfirmConfig.load(path)


def etc(config: ConfirmConfig) -> Path:
    return Path(config.state_dir).parent / "etc"


def host_log(config: ConfirmConfig) -> list[str]:
    log = Path(config.state_dir).parent / "host.log"
    return log.read_text().splitlines() if log.exists() else []


def login(config: ConfirmConfig, command: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The login as sshd runs it (ForceCommand through `sh -c`), the request in the environment."""
    return subprocess.run(
        ["/bin/sh", "-c", frr_confirm.login_command(config, python=sys.executable, program=PROGRAM)],
        env={"PATH": os.environ["PATH"], "SSH_ORIGINAL_COMMAND": command},
        input=stdin,
        capture_output=True,
        timeout=30,
        check=False,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_defaults_give_every_rendered_companion_a_place_and_secrets_stay_unreadable_to_others() -> None:
    from storestack.devices.platforms import get_platform

    frr = get_platform("frr")
    rendered = {name for name, _ in (*frr.companions, *frr.hub_companions)}
    assert rendered <= set(frr_confirm.DEFAULT_COMPANIONS)
    config = ConfirmConfig.load_data({"companions": {name: {} for name in rendered}})
    for secret in ("swanctl.conf", "chrony.keys", "snmpd.conf"):
        assert config.companion(secret).mode & 0o007 == 0
    # snmpd reads its passphrases again as Debian-snmp on a reload (Debian 12's snmpd postinst).
    assert (config.companion("snmpd.conf").mode, config.companion("snmpd.conf").group) == (0o640, "Debian-snmp")
    assert config.companion("swanctl.conf").mode == 0o600
    assert config.companion("nftables.conf").check[:3] == ("nft", "-c", "-f")
    # rsyslog's drop-in is validated before it replaces the live one (rsyslogd(8) -N1: config
    # check only, `-f` the file to check).
    syslog = config.companion("rsyslog.conf")
    assert syslog.path == "/etc/rsyslog.d/storestack.conf" and syslog.check == ("rsyslogd", "-N1", "-f", "{file}")


def test_install_checks_the_staged_file_then_replaces_it_atomically_with_its_mode_and_reloads(
    appliance: ConfirmConfig,
) -> None:
    said = login(appliance, "storestack-confirm companion-install nftables.conf", RULESET.encode())
    assert said.returncode == 0, said.stderr
    digest = hashlib.sha256(RULESET.encode()).hexdigest()
    assert said.stdout.decode().strip() == f"installed nftables.conf sha256 {digest}"
    live = etc(appliance) / "nftables.conf"
    assert live.read_text() == RULESET and mode(live) == 0o644
    staged = etc(appliance) / ".nftables.conf.storestack-new"
    assert host_log(appliance) == [f"check {staged}", "load table inet filter {  chain input { type"]
    # Nothing is left beside it.
    assert sorted(p.name for p in etc(appliance).iterdir()) == ["nftables.conf"]

    keys = login(appliance, "storestack-confirm companion-install chrony.keys", KEYS.encode())
    assert keys.returncode == 0, keys.stderr
    assert mode(etc(appliance) / "chrony.keys") == 0o600
    # A secret file left too open by hand gets its mode back with the next install.
    os.chmod(etc(appliance) / "chrony.keys", 0o644)
    again = login(appliance, "storestack-confirm companion-install chrony.keys", KEYS.encode())
    assert again.returncode == 0 and mode(etc(appliance) / "chrony.keys") == 0o600

    digests = json.loads(login(appliance, "storestack-confirm companion-digests").stdout)
    assert digests == {
        "chrony.keys": hashlib.sha256(KEYS.encode()).hexdigest(),
        "nftables.conf": digest,
        "swanctl.conf": None,
    }
    read = login(appliance, "storestack-confirm companion-read nftables.conf")
    assert read.returncode == 0 and read.stdout == RULESET.encode()
    # The same file again: the host does not reload it.
    before = host_log(appliance)
    assert b"unchanged" in login(appliance, "storestack-confirm companion-install nftables.conf", RULESET.encode()).stdout
    assert host_log(appliance) == before


def test_a_file_the_check_refuses_never_goes_live(appliance: ConfirmConfig) -> None:
    assert login(appliance, "storestack-confirm companion-install nftables.conf", RULESET.encode()).returncode == 0
    refused = login(appliance, "storestack-confirm companion-install nftables.conf", b"BAD ruleset\n")
    assert refused.returncode == 1
    assert b"the check refused it, nothing is installed" in refused.stderr
    assert (etc(appliance) / "nftables.conf").read_text() == RULESET
    assert sorted(p.name for p in etc(appliance).iterdir()) == ["nftables.conf"]
    assert not any(line.startswith("load BAD") for line in host_log(appliance))


def test_a_reload_that_fails_puts_the_old_file_back_and_reloads_it(appliance: ConfirmConfig) -> None:
    assert login(appliance, "storestack-confirm companion-install nftables.conf", RULESET.encode()).returncode == 0
    failed = login(appliance, "storestack-confirm companion-install nftables.conf", b"RELOADFAIL\n")
    assert failed.returncode == 1
    assert b"the reload failed" in failed.stderr and b"the old file is back and reloaded" in failed.stderr
    assert (etc(appliance) / "nftables.conf").read_text() == RULESET
    assert host_log(appliance)[-2:] == ["load RELOADFAIL", "load table inet filter {  chain input { type"]


@pytest.mark.parametrize(
    "request_line",
    [
        "storestack-confirm companion-install ../../etc/passwd",
        "storestack-confirm companion-install /etc/passwd",
        "storestack-confirm companion-install nftables.conf/../../x",
        "storestack-confirm companion-install .nftables.conf",
        "storestack-confirm companion-read ../confirm.json",
        "storestack-confirm companion-install nftables.conf extra",
        "storestack-confirm companion-install nftables.conf; sh",
        "storestack-confirm companion-install",
    ],
)
def test_names_that_are_paths_never_reach_the_verbs(appliance: ConfirmConfig, request_line: str) -> None:
    refused = login(appliance, request_line, b"owned\n")
    assert refused.returncode == 126 and b"refused" in refused.stderr
    assert not any(etc(appliance).iterdir())


def test_a_name_off_the_allow_list_is_refused_and_nothing_is_written(appliance: ConfirmConfig, tmp_path: Path) -> None:
    for verb in ("companion-install", "companion-read"):
        refused = login(appliance, f"storestack-confirm {verb} passwd", b"root::0:0::/:/bin/sh\n")
        assert refused.returncode == 1
        assert b"not a companion file of this appliance (it takes: chrony.keys, nftables.conf, swanctl.conf)" in refused.stderr
    assert not any(etc(appliance).iterdir())
    # A config without companions takes none, whatever the defaults know.
    bare = ConfirmConfig.load_data({"state_dir": str(tmp_path / "bare")})
    with pytest.raises(VerbError, match=r"it takes: none"):
        frr_confirm.companion_install(bare, "nftables.conf", RULESET.encode())


def test_files_over_the_size_limit_or_not_text_are_refused_before_anything_is_written(
    appliance: ConfirmConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    over = b"#" * (frr_confirm.MAX_COMPANION_BYTES + 1)
    refused = login(appliance, "storestack-confirm companion-install nftables.conf", over)
    assert refused.returncode == 1 and b"over 4194304 bytes: nothing is installed" in refused.stderr
    for data, said in ((b"\xff\xfe\n", "not UTF-8"), (b"a\0b\n", "NUL byte")):
        with pytest.raises(VerbError, match=said):
            frr_confirm.companion_install(appliance, "nftables.conf", data)
    assert not any(etc(appliance).iterdir())
    assert host_log(appliance) == []


def test_a_symlink_planted_at_the_staging_name_is_replaced_not_followed(appliance: ConfirmConfig, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("untouched\n")
    (etc(appliance) / ".nftables.conf.storestack-new").symlink_to(target)
    frr_confirm.companion_install(appliance, "nftables.conf", RULESET.encode())
    assert target.read_text() == "untouched\n"
    assert (etc(appliance) / "nftables.conf").read_text() == RULESET
    assert not (etc(appliance) / "nftables.conf").is_symlink()


def test_companions_installed_under_an_armed_timer_go_back_when_it_runs_out(appliance: ConfirmConfig) -> None:
    frr_confirm.companion_install(appliance, "nftables.conf", RULESET.encode())
    frr_confirm.companion_install(appliance, "chrony.keys", KEYS.encode())
    frr_confirm.arm(appliance, 60)
    armed = json.loads((Path(appliance.state_dir) / "armed.json").read_text())
    os.kill(armed["pid"], 15)
    changed = RULESET.replace("policy drop", "policy accept")
    frr_confirm.companion_install(appliance, "nftables.conf", changed.encode())
    frr_confirm.companion_install(appliance, "chrony.keys", b"2 SHA256 HEX:ffff\n")
    frr_confirm.companion_install(appliance, "swanctl.conf", b"connections {}\n")  # new since the arm
    os.chmod(etc(appliance) / "chrony.keys", 0o644)  # and someone opened it up
    # The snapshot of a secret is the login's own (0600) in the state directory.
    assert mode(Path(appliance.state_dir) / "companion-chrony.keys") == 0o600
    (Path(appliance.state_dir) / "armed.json").write_text(json.dumps({**armed, "deadline": time.time() - 1}))

    frr_confirm.timer(appliance, armed["token"])

    assert (etc(appliance) / "nftables.conf").read_text() == RULESET
    assert (etc(appliance) / "chrony.keys").read_text() == KEYS and mode(etc(appliance) / "chrony.keys") == 0o600
    assert not (etc(appliance) / "swanctl.conf").exists()
    assert host_log(appliance)[-2:] == ["rekey", "load table inet filter {  chain input { type"]
    last = json.loads(frr_confirm.status(appliance))["last"]
    assert last["outcome"] == "reverted"
    assert "nftables.conf restored" in last["detail"] and "swanctl.conf restored" in last["detail"]


def test_revert_now_restores_a_companion_too_and_a_confirmed_one_stays(appliance: ConfirmConfig) -> None:
    frr_confirm.companion_install(appliance, "nftables.conf", RULESET.encode())
    changed = RULESET.replace("policy drop", "policy accept")
    frr_confirm.arm(appliance, 60)
    frr_confirm.companion_install(appliance, "nftables.conf", changed.encode())
    frr_confirm.revert(appliance)
    assert (etc(appliance) / "nftables.conf").read_text() == RULESET

    frr_confirm.arm(appliance, 60)
    frr_confirm.companion_install(appliance, "nftables.conf", changed.encode())
    frr_confirm.confirm(appliance, lambda challenge: challenge)
    assert (etc(appliance) / "nftables.conf").read_text() == changed


# A hub's routing batch (`<host>.routing`), before and after a store joins the fleet: its tunnel
# interface and the interface's settings.
ROUTING = (
    "# storestack: intended config of hq-hub1\n"
    "link add nw-0001-wan1 type xfrm if_id 1\n"
    "link set nw-0001-wan1 group 10 mtu 1432 up\n"
    "link set mgmt up\n"
    "address replace 10.0.250.11/24 dev mgmt noprefixroute\n"
    "route replace 10.0.250.0/24 dev mgmt src 10.0.250.11 table 5400\n"
    "rule add from 10.0.250.11 lookup 5400 pref 950\n"
    "rule add fwmark 0x00005200 lookup 5200 pref 1300\n"
)
JOINED = ROUTING.replace(
    "link set mgmt up\n",
    "link add nw-0009-wan1 type xfrm if_id 18\nlink set nw-0009-wan1 group 10 mtu 1432 up\nlink set mgmt up\n",
)


@pytest.fixture
def routed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfirmConfig:
    """An appliance taking the routing batch with its default reload, whose `ip` is a stand-in
    that notes its arguments and the batch it was given (and fails on a batch adding IPFAIL)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ip = bin_dir / "ip"
    ip.write_text(
        f'#!/bin/sh\necho "ip $1 $2" >> {tmp_path}/host.log\nfor last; do :; done\n'
        f'sed "s/^/  /" "$last" >> {tmp_path}/host.log\n! grep -q "add IPFAIL" "$last"\n'
    )
    ip.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "etc").mkdir()
    vtysh, reload = frr_stand_ins(tmp_path, RUNNING)
    return ConfirmConfig.load_data(
        {
            "state_dir": str(tmp_path / "state"),
            "vtysh": str(vtysh),
            "frr_reload": str(reload),
            "companions": {"routing": {"path": str(tmp_path / "etc" / "routing")}},
        }
    )


def test_a_store_joining_reaches_a_running_hub_not_only_its_next_boot(routed: ConfirmConfig) -> None:
    """The routing batch was written for the next boot only: a running hub never got a new
    store's tunnel interface, so swanctl's new connection (its if_id) had no interface and the
    store's traffic went nowhere until a reboot. Running the whole file again fails at its first
    line (`ip link add` / `ip rule add` of what exists: "File exists", the first failure ending
    the batch, ip(8)). The install now runs what changed."""
    frr_confirm.companion_install(routed, "routing", ROUTING.encode())
    first = host_log(routed)
    assert first[0] == "ip -force -batch" and len(first) == 1 + 7  # a fresh host: the whole file
    frr_confirm.companion_install(routed, "routing", JOINED.encode())
    assert host_log(routed)[len(first):] == [
        "ip -force -batch",
        "  link add nw-0009-wan1 type xfrm if_id 18",
        "  link set nw-0009-wan1 group 10 mtu 1432 up",
    ]
    # Nothing is left beside the file.
    assert sorted(p.name for p in etc(routed).iterdir()) == ["routing"]


def test_a_routing_change_undoes_what_the_new_file_no_longer_holds(routed: ConfirmConfig) -> None:
    frr_confirm.companion_install(routed, "routing", JOINED.encode())
    start = len(host_log(routed))
    # The store leaves, the other tunnel's MTU changes, the fwmark rule moves.
    left = ROUTING.replace("mtu 1432", "mtu 1400").replace("pref 1300", "pref 1310")
    frr_confirm.companion_install(routed, "routing", left.encode())
    assert host_log(routed)[start:] == [
        "ip -force -batch",
        "  rule del fwmark 0x00005200 lookup 5200 pref 1300",
        "  link del nw-0009-wan1",
        "  link set nw-0001-wan1 group 10 mtu 1400 up",
        "  rule add fwmark 0x00005200 lookup 5200 pref 1310",
    ]
    # The same file again runs nothing.
    before = host_log(routed)
    frr_confirm.companion_install(routed, "routing", left.encode())
    assert host_log(routed) == before


def test_a_recreated_interface_gets_its_settings_back(routed: ConfirmConfig) -> None:
    frr_confirm.companion_install(routed, "routing", ROUTING.encode())
    start = len(host_log(routed))
    frr_confirm.companion_install(routed, "routing", ROUTING.replace("if_id 1\n", "if_id 7\n").encode())
    assert host_log(routed)[start:] == [
        "ip -force -batch",
        "  link del nw-0001-wan1",
        "  link add nw-0001-wan1 type xfrm if_id 7",
        "  link set nw-0001-wan1 group 10 mtu 1432 up",
    ]


def test_a_management_port_given_up_goes_down_once_the_new_one_holds_the_address(routed: ConfirmConfig) -> None:
    """The management address moved to another port left the old one up without an address: it
    still took packets for the hub's other addresses, under a ruleset that no longer names it.
    It now goes down, as a boot on the new file leaves it, and only after the new port holds the
    address and the management LAN's route (the push's own session moves over, never cut)."""
    frr_confirm.companion_install(routed, "routing", ROUTING.encode())
    start = len(host_log(routed))
    frr_confirm.companion_install(routed, "routing", ROUTING.replace("mgmt", "eth2").encode())
    assert host_log(routed)[start:] == [
        "ip -force -batch",
        "  address del 10.0.250.11/24 dev mgmt",
        "  link set eth2 up",
        "  address replace 10.0.250.11/24 dev eth2 noprefixroute",
        "  route replace 10.0.250.0/24 dev eth2 src 10.0.250.11 table 5400",
        "  link set mgmt down",
    ]
    # The way back brings the old port up again and lets the new one go.
    start = len(host_log(routed))
    frr_confirm.companion_install(routed, "routing", ROUTING.encode())
    assert host_log(routed)[start:][1] == "  address del 10.0.250.11/24 dev eth2"
    assert host_log(routed)[start:][-2:] == [
        "  route replace 10.0.250.0/24 dev mgmt src 10.0.250.11 table 5400",
        "  link set eth2 down",
    ]


def test_a_routing_change_that_fails_or_times_out_goes_back_on_the_running_host(routed: ConfirmConfig) -> None:
    frr_confirm.companion_install(routed, "routing", ROUTING.encode())
    start = len(host_log(routed))
    with pytest.raises(VerbError, match="the old file is back and reloaded"):
        frr_confirm.companion_install(routed, "routing", (ROUTING + "rule add IPFAIL\n").encode())
    assert (etc(routed) / "routing").read_text() == ROUTING
    assert host_log(routed)[start:] == ["ip -force -batch", "  rule add IPFAIL", "ip -force -batch", "  rule del IPFAIL"]

    # Under an armed timer that runs out: the store's interface goes again.
    frr_confirm.arm(routed, 60)
    armed = json.loads((Path(routed.state_dir) / "armed.json").read_text())
    os.kill(armed["pid"], 15)
    frr_confirm.companion_install(routed, "routing", JOINED.encode())
    (Path(routed.state_dir) / "armed.json").write_text(json.dumps({**armed, "deadline": time.time() - 1}))
    frr_confirm.timer(routed, armed["token"])
    assert (etc(routed) / "routing").read_text() == ROUTING
    assert host_log(routed)[-2:] == ["ip -force -batch", "  link del nw-0009-wan1"]


def test_the_rendered_routing_batches_change_nothing_when_pushed_again() -> None:
    golden = Path(__file__).parent / "golden" / "frr"
    for path in sorted(golden.glob("*.routing")):
        text = path.read_text()
        assert frr_confirm.routing_changes(text, text) == [], path.name
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert frr_confirm.routing_changes("", text) == lines, path.name


@pytest.mark.parametrize("hub", [False, True], ids=["store", "hub"])
def test_a_revert_undoes_the_push_in_its_reverse_order_frr_first(tmp_path: Path, hub: bool) -> None:
    """The push installs the companions in the platform's order, then changes FRR; the timer's
    revert goes back through the same states in reverse: FRR first, then each companion the push
    installed, last installed first. So the host never holds a mix the push did not pass through
    (a hub whose firewall forgot a new store while the store's tunnel interface and SA are still
    up, or a store's tunnels gone back under the new firewall)."""
    from storestack.devices.platforms import get_platform

    frr = get_platform("frr")
    order = [name for name, _ in (frr.hub_companions if hub else frr.companions)]
    log = tmp_path / "host.log"
    running = tmp_path / "running.conf"
    vtysh, reload = frr_stand_ins(tmp_path, RUNNING, f"echo frr >> {log}")
    etc = tmp_path / "etc"
    etc.mkdir()
    config = companions_confirm_config(
        tmp_path, vtysh, reload, etc, {name: [["sh", "-c", f'echo "{name} $(cat {etc / name})" >> {log}']] for name in order}
    )
    for name in order:
        frr_confirm.companion_install(config, name, b"old")
    frr_confirm.arm(config, 60, snapshot=RUNNING)
    for name in order:  # the push: the host's files in the platform's order, then FRR
        frr_confirm.companion_install(config, name, b"new")
    running.write_text(RUNNING.replace("hostname edge", "hostname edge\nip route 0.0.0.0/0 blackhole"))
    log.write_text("")

    frr_confirm.revert(config)

    assert log.read_text().splitlines() == ["frr", *(f"{name} old" for name in reversed(order))]
    assert all((tmp_path / "etc" / name).read_text() == "old" for name in order)
