"""The vendor SSH emulator, driven through Netmiko's own drivers (no root needed; `testsupport.netmiko_drivers`
says the one thing the `huawei` driver does differently here)."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from netmiko import BaseConnection
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)
from testsupport.netmiko_drivers import hang_up, netmiko_connect

from storestack.common.platforms import EMULATED_PLATFORM_NAMES
from storestack.devices.targets import ApplianceInventory
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread

# Netmiko's fortinet driver allows only finite-field Diffie-Hellman key exchange, which the
# cryptography package flags as deprecated on the emulator's side.
pytestmark = pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")

PLATFORMS = EMULATED_PLATFORM_NAMES
SHOW_RUNNING = {
    "cisco_xe": "show running-config",
    "huawei_vrp": "display current-configuration",
    "fortinet": "show full-configuration",
}
ERROR_PATTERN = {"cisco_xe": r"% Invalid", "huawei_vrp": r"Error:", "fortinet": r"Command fail"}
# Three config lines that change the config and name a description that shows in it.
CHANGE = {
    "cisco_xe": [
        "interface GigabitEthernet2",
        " description to-hub-1",
        " ip address 10.0.0.1 255.255.255.252",
    ],
    "huawei_vrp": ["interface GigabitEthernet0/0/1", " description to-hub-1", " ip address 10.0.0.1 30"],
    "fortinet": ["config system interface", "edit port2", "set description to-hub-1", "next", "end"],
}
INVALID_LINE = {
    "cisco_xe": "frobnicate the router",
    "huawei_vrp": "frobnicate the router",
    "fortinet": "config frobnicate",
}
VENDOR_ERROR = {
    "cisco_xe": "% Invalid input detected at '^' marker.",
    "huawei_vrp": "Error: Unrecognized command found at '^' position.",
    "fortinet": "command parse error before 'frobnicate'\nCommand fail. Return code -61",
}


def device_name(platform: str) -> str:
    return f"store-0001-{platform.replace('_', '-')}"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    devices = [EmulatedDevice(name=device_name(p), platform=p) for p in PLATFORMS]
    devices.append(EmulatedDevice(name="bystander", platform="cisco_xe"))
    emulator = Emulator(devices, password="lab-secret", state_dir=tmp_path / "emulator", name="emu")
    with EmulatorThread(emulator):
        yield emulator


def connect(emulator: Emulator, platform: str, **options: object) -> BaseConnection:
    name = device_name(platform)
    return netmiko_connect(
        platform,
        host="127.0.0.1",
        port=emulator.port(name),
        username="admin",
        password="lab-secret",
        conn_timeout=5,
        **options,
    )


def push(emulator: Emulator, platform: str, lines: list[str], **options: object) -> str:
    connection = connect(emulator, platform, **options)
    try:
        if platform == "huawei_vrp":  # VRP8's two-phase validation: nothing is live before `commit`
            lines = [*lines, "commit"]
        output = connection.send_config_set(lines, error_pattern=ERROR_PATTERN[platform])
        if platform != "fortinet":  # FortiOS saves when `end` commits; Netmiko has no save for it
            connection.save_config()
        return str(output)
    except BaseException:
        hang_up(connection)
        raise
    finally:
        connection.disconnect()


def normalise(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_netmiko_reads_the_running_config_the_emulator_reports(emulator: Emulator, platform: str) -> None:
    connection = connect(emulator, platform)
    try:
        prompt = connection.find_prompt()
        shown = connection.send_command(SHOW_RUNNING[platform])
    finally:
        connection.disconnect()

    assert device_name(platform) in prompt
    assert normalise(shown) == normalise(emulator.running_config(device_name(platform)))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_pushed_change_shows_in_running_and_after_save_in_startup(
    emulator: Emulator, platform: str
) -> None:
    name = device_name(platform)
    startup_before = emulator.startup_config(name)

    push(emulator, platform, CHANGE[platform])

    running = emulator.running_config(name)
    assert "to-hub-1" in running
    assert "to-hub-1" not in startup_before
    assert emulator.startup_config(name) == running
    # The other device saw nothing of it.
    assert "to-hub-1" not in emulator.running_config("bystander")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_invalid_line_is_rejected_with_the_vendor_error(emulator: Emulator, platform: str) -> None:
    name = device_name(platform)
    before = emulator.running_config(name)
    connection = connect(emulator, platform)
    try:
        output = connection.send_config_set([INVALID_LINE[platform]])
    finally:
        connection.disconnect()

    assert VENDOR_ERROR[platform] in output.replace("\r", "")
    assert emulator.running_config(name) == before


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_configured_deny_pattern_rejects_matching_lines(tmp_path: Path, platform: str) -> None:
    device = EmulatedDevice(name=device_name(platform), platform=platform, reject_patterns=["to-hub-1"])
    emulator = Emulator([device], password="lab-secret", state_dir=tmp_path)
    with EmulatorThread(emulator):
        with pytest.raises(ConfigInvalidException):
            push(emulator, platform, CHANGE[platform])
        assert "to-hub-1" not in emulator.running_config(device.name)


def test_ios_negation_and_replacement_edit_the_config_like_the_device(emulator: Emulator) -> None:
    name = device_name("cisco_xe")
    push(
        emulator,
        "cisco_xe",
        [
            "interface GigabitEthernet1",
            " ip address 10.0.0.1 255.255.255.0",
            " ip address 10.0.0.5 255.255.255.0",
            " no shutdown",
            "router bgp 65001",
            " neighbor 10.0.0.2 remote-as 65000",
            " address-family ipv4 unicast",
            "  neighbor 10.0.0.2 activate",
            " exit-address-family",
            "hostname store-0001-cisco-xe",
            "interface GigabitEthernet1.40",
            " encapsulation dot1Q 40",
            "no interface GigabitEthernet1.40",
        ],
    )

    running = emulator.running_config(name)
    assert "interface GigabitEthernet1\n ip address 10.0.0.5 255.255.255.0\n!" in running
    assert "10.0.0.1" not in running
    assert "GigabitEthernet1.40" not in running
    assert (
        "router bgp 65001\n neighbor 10.0.0.2 remote-as 65000\n address-family ipv4 unicast\n"
        "  neighbor 10.0.0.2 activate\n exit-address-family\n!"
    ) in running


def test_vrp_undo_removes_and_quit_leaves_a_view(emulator: Emulator) -> None:
    name = device_name("huawei_vrp")
    push(
        emulator,
        "huawei_vrp",
        [
            "interface GigabitEthernet0/0/0",
            " undo shutdown",
            " ip address 10.0.0.1 30",
            " quit",
            "bgp 65001",
            " peer 10.0.0.2 as-number 65000",
            " ipv4-family unicast",
            "  peer 10.0.0.2 enable",
        ],
    )

    running = emulator.running_config(name)
    assert "interface GigabitEthernet0/0/0\n ip address 10.0.0.1 30\n#" in running
    assert (
        "bgp 65001\n peer 10.0.0.2 as-number 65000\n #\n ipv4-family unicast\n  peer 10.0.0.2 enable\n#"
        in running
    )


def test_fortios_nested_config_and_delete(emulator: Emulator) -> None:
    name = device_name("fortinet")
    push(
        emulator,
        "fortinet",
        [
            "config router bgp",
            "set as 65001",
            "config neighbor",
            'edit "10.0.0.2"',
            "set remote-as 65000",
            "next",
            "end",
            "end",
            "config system interface",
            "delete port3",
            "end",
        ],
    )

    running = emulator.running_config(name)
    assert (
        "config router bgp\n    set as 65001\n    config neighbor\n"
        '        edit "10.0.0.2"\n            set remote-as 65000\n        next\n    end\nend'
    ) in running
    assert '"port3"' not in running


NESTED_CONFIG = {
    "cisco_xe": (
        "version 17.9\nhostname edge\n!\ninterface GigabitEthernet1\n description wan\n"
        " ip address 10.0.0.1 255.255.255.252\n!\nrouter bgp 65001\n bgp router-id 10.255.0.1\n"
        " neighbor 10.0.0.2 remote-as 65000\n address-family ipv4 unicast\n"
        "  neighbor 10.0.0.2 activate\n exit-address-family\n!\nno ip http server\n!\nend\n"
    ),
    "huawei_vrp": (
        "#\nsysname edge\n#\ninterface GigabitEthernet0/0/0\n description wan\n"
        " ip address 10.0.0.1 30\n#\nbgp 65001\n router-id 10.255.0.1\n"
        " peer 10.0.0.2 as-number 65000\n #\n ipv4-family unicast\n  peer 10.0.0.2 enable\n#\nreturn\n"
    ),
    "fortinet": (
        'config system global\n    set hostname "edge"\nend\n'
        "config system console\n    set output standard\nend\n"
        "config router bgp\n    set as 65001\n"
        '    config neighbor\n        edit "10.0.0.2"\n            set remote-as 65000\n        next\n'
        "    end\nend\n"
    ),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_initial_running_config_is_served_and_read_back_byte_identical(
    tmp_path: Path, platform: str
) -> None:
    device = EmulatedDevice(name="edge", platform=platform, running_config=NESTED_CONFIG[platform])
    emulator = Emulator([device], password="lab-secret", state_dir=tmp_path)
    text = emulator.running_config("edge")
    for line in NESTED_CONFIG[platform].splitlines():
        assert line in text.splitlines()

    with EmulatorThread(emulator):
        connection = netmiko_connect(
            platform,
            host="127.0.0.1",
            port=emulator.port("edge"),
            username="admin",
            password="lab-secret",
        )
        shown = connection.send_command(SHOW_RUNNING[platform])
        connection.disconnect()
    assert normalise(shown) == normalise(text)

    # What was read back, written to a fresh device, reads back byte for byte the same.
    fresh = Emulator([EmulatedDevice(name="edge", platform=platform)], password="x", state_dir=tmp_path / "2")
    fresh.set_running_config("edge", text)
    assert fresh.running_config("edge") == text


def test_fortinet_paging_is_switched_off_for_the_session_and_restored(tmp_path: Path) -> None:
    paged = NESTED_CONFIG["fortinet"].replace("set output standard", "set output more")
    emulator = Emulator(
        [EmulatedDevice(name="edge", platform="fortinet", running_config=paged)],
        password="lab-secret",
        state_dir=tmp_path,
    )
    with EmulatorThread(emulator):
        connection = netmiko_connect(
            "fortinet",
            host="127.0.0.1",
            port=emulator.port("edge"),
            username="admin",
            password="lab-secret",
        )
        during = emulator.running_config("edge")
        connection.disconnect()
        after = emulator.running_config("edge")

    assert "set output standard" in during
    assert "set output more" in after and "set output standard" not in after


def test_inventory_lists_every_device_with_the_key_it_presents(emulator: Emulator) -> None:
    inventory = ApplianceInventory.load(emulator.inventory_path)

    assert inventory.source == "lab:emu"
    assert {t.platform for t in inventory.appliances} == {"cisco_xe", "huawei_vrp", "fortinet"}
    assert emulator.credentials_path.stat().st_mode & 0o777 == 0o600
    assert "lab-secret" not in emulator.inventory_path.read_text(encoding="utf-8")
    for target in inventory.appliances:
        assert target.credentials.resolve().password.get_secret_value() == "lab-secret"
        assert presented_fingerprint(target.port) == target.host_key_fingerprint


def presented_fingerprint(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=5)
            key = transport.get_remote_server_key()
        finally:
            transport.close()
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


# --- faults -----------------------------------------------------------------------------------


def set_faults(emulator: Emulator, platform: str, **faults: object) -> None:
    emulator.set_faults(device_name(platform), DeviceFaults.model_validate(faults))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_refused_connection(emulator: Emulator, platform: str) -> None:
    set_faults(emulator, platform, refuse_connection=True)

    with pytest.raises(NetmikoTimeoutException, match="TCP connection to device failed"):
        connect(emulator, platform)
    # The fault can be lifted at run time, on the same port.
    set_faults(emulator, platform)
    connect(emulator, platform).disconnect()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_wrong_host_key_is_caught_by_a_strict_client(
    emulator: Emulator, platform: str, tmp_path: Path
) -> None:
    name = device_name(platform)
    recorded = emulator.inventory().by_name()[name].host_key_fingerprint
    known_hosts = tmp_path / "known_hosts"
    emulator.write_known_hosts(known_hosts)
    strict = {
        "ssh_strict": True,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": str(known_hosts),
    }
    connect(emulator, platform, **strict).disconnect()

    set_faults(emulator, platform, wrong_host_key=True)

    assert presented_fingerprint(emulator.port(name)) != recorded
    with pytest.raises(NetmikoTimeoutException, match="does not match"):
        connect(emulator, platform, **strict)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_auth_failure(emulator: Emulator, platform: str) -> None:
    set_faults(emulator, platform, reject_auth=True)

    with pytest.raises(NetmikoAuthenticationException):
        connect(emulator, platform)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_slow_banner_beyond_the_client_timeout_fails_and_within_it_works(
    emulator: Emulator, platform: str
) -> None:
    set_faults(emulator, platform, banner_delay=2.0)

    with pytest.raises(NetmikoTimeoutException):
        connect(emulator, platform, banner_timeout=0.5)
    connect(emulator, platform, banner_timeout=10).disconnect()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_slow_prompt_beyond_the_read_timeout_fails(emulator: Emulator, platform: str) -> None:
    set_faults(emulator, platform, prompt_delay=3.0)

    with pytest.raises((ReadTimeout, NetmikoTimeoutException)):
        connect(emulator, platform, read_timeout_override=1)
    set_faults(emulator, platform, prompt_delay=0.5)
    connection = connect(emulator, platform)
    assert device_name(platform) in connection.find_prompt()
    connection.disconnect()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rejecting_the_second_config_line_stops_the_push_there(emulator: Emulator, platform: str) -> None:
    name = device_name(platform)
    before = emulator.running_config(name)
    set_faults(emulator, platform, reject_config_line=2)

    with pytest.raises(ConfigInvalidException):
        push(emulator, platform, CHANGE[platform])

    assert "to-hub-1" not in emulator.running_config(name)
    assert emulator.startup_config(name) == before
    # The fault fires once: the same push then goes through.
    push(emulator, platform, CHANGE[platform])
    assert "to-hub-1" in emulator.running_config(name)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_session_dropped_mid_push(emulator: Emulator, platform: str) -> None:
    name = device_name(platform)
    before = emulator.running_config(name)
    set_faults(emulator, platform, drop_after_config_lines=2)
    connection = connect(emulator, platform, read_timeout_override=2)

    with pytest.raises((ReadTimeout, OSError)):
        connection.send_config_set(CHANGE[platform], error_pattern=ERROR_PATTERN[platform])

    assert not connection.is_alive()
    running = emulator.running_config(name)
    if platform == "fortinet":
        # FortiOS commits a config block only at its `end`: nothing was applied.
        assert running == before
    elif platform == "huawei_vrp":
        # VRP8 validates in two phases: the lines sat in the session's candidate, never committed.
        assert running == before
    else:
        # IOS-XE applies each line as it arrives: the first two went in, the third did not.
        assert "to-hub-1" in running and "10.0.0.1" not in running
    assert emulator.startup_config(name) == before
    assert emulator.running_config("bystander") == emulator.startup_config("bystander")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hang_on_save_leaves_startup_config_unchanged(emulator: Emulator, platform: str) -> None:
    name = device_name(platform)
    before = emulator.startup_config(name)
    set_faults(emulator, platform, hang_on_save=True)

    with pytest.raises(ReadTimeout):
        push(emulator, platform, CHANGE[platform], read_timeout_override=2)

    assert "to-hub-1" in emulator.running_config(name)
    assert emulator.startup_config(name) == before
    # Other devices keep answering while this one hangs.
    bystander = netmiko_connect(
        "cisco_xe",
        host="127.0.0.1",
        port=emulator.port("bystander"),
        username="admin",
        password="lab-secret",
    )
    assert bystander.find_prompt() == "bystander#"
    bystander.disconnect()


def test_ios_xe_revert_timer_puts_the_running_config_back_unless_confirmed(tmp_path: Path) -> None:
    """Configuration Rollback Confirmed Change: `configure terminal revert timer N` (minutes; one
    emulated minute lasts 0.3 s here) arms a rollback to the running config of that moment,
    `configure confirm` cancels it. It needs the configuration archive."""
    import time

    from storestack.devices.session import ApplianceSession

    name = device_name("cisco_xe")
    device = EmulatedDevice(name=name, platform="cisco_xe", store_id="s1", timer_minute_seconds=0.3)
    with EmulatorThread(Emulator([device], state_dir=tmp_path)) as emulator:
        # The default config has the archive; without it the timer is refused.
        emulator.set_running_config(name, emulator.running_config(name).replace("archive\n path bootflash:archive\n", ""))
        assert "archive" not in emulator.running_config(name)
        target = emulator.inventory().appliances[0]
        with ApplianceSession(target, target.credentials.resolve()).open() as session:
            (refused,) = session.commands(["configure terminal revert timer 1"])
            assert "archive" in refused and not emulator.revert_armed(name)
            session.configure(["archive", " path flash:archive"])
            before = emulator.running_config(name)

            change = ["interface GigabitEthernet2", " description doomed", "end"]
            session.commands(["configure terminal revert timer 1", *change])
            assert "description doomed" in emulator.running_config(name)
            time.sleep(1.0)
            assert emulator.running_config(name) == before  # nobody confirmed: reverted

            session.commands(["configure terminal revert timer 1", *change, "configure confirm"])
            time.sleep(1.0)
            assert "description doomed" in emulator.running_config(name)  # confirmed: kept
            assert not emulator.revert_armed(name)


def test_fortios_cfg_save_revert_puts_the_saved_config_back_unless_saved(tmp_path: Path) -> None:
    """`config system global` / `set cfg-save revert` / `set cfg-revert-timeout N` (seconds; one
    emulated minute lasts 0.3 s here): committed changes run unsaved, and unless `execute cfg save`
    comes before the session has been idle for the timeout, the saved config is back."""
    import time

    from storestack.devices.session import ApplianceSession

    name = device_name("fortinet")
    device = EmulatedDevice(name=name, platform="fortinet", store_id="s1", timer_minute_seconds=0.3)
    change = ["config system interface", '    edit "port2"', '        set alias "doomed"', "    next", "end"]
    with EmulatorThread(Emulator([device], state_dir=tmp_path)) as emulator:
        target = emulator.inventory().appliances[0]
        with ApplianceSession(target, target.credentials.resolve()).open() as session:
            session.configure(["config system global", "    set cfg-save revert", "    set cfg-revert-timeout 60", "end"])
            saved = emulator.startup_config(name)
            assert "set cfg-save revert" in saved  # set while saving was still automatic

            session.configure(change)
            assert 'set alias "doomed"' in emulator.running_config(name)
            assert 'set alias "doomed"' not in emulator.startup_config(name)
            time.sleep(1.0)
            assert emulator.running_config(name) == saved  # idle past the timeout: reverted

            session.configure(change)
            assert session.command("execute cfg save").strip() == "config saved."
            time.sleep(1.0)
            assert 'set alias "doomed"' in emulator.running_config(name)
            assert emulator.startup_config(name) == emulator.running_config(name)
            assert not emulator.revert_armed(name)
