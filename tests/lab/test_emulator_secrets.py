"""The emulated appliances keep a secret as the real ones do, not as it was sent: VRP shows a
`cipher` key encrypted (`%^%#...%^%#`) and an `irreversible-cipher` password hashed
(`$1a$...$`), FortiOS shows `ENC <base64>` (an administrator's password `ENC SH2...`), each salted
anew every time the secret is applied, and keeps a stored form sent back (a rollback) as it is.
IOS-XE applies an SNMPv3 user but never shows it in its running config, only in `show snmp user`.
A rendered config's secrets are nowhere in the running config the appliance shows."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import SHAPES, TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform, secrets_carried_by

from storestack.common.platforms import Platform
from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession
from storestack.lab.emulator.profiles.fortinet import FortiSession
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession

STORE = SHAPES["dual-wan"]
VRP_CIPHER = re.compile(r" cipher (%\^%#\S{40,}%\^%#)$")
VRP_HASH = re.compile(r" irreversible-cipher (\$1a\$\S+\$\S+\$)$")
FORTI_SECRET = re.compile(r"^ +set (?:psksecret|password|passwd|auth-pwd|priv-pwd|key) ")
FORTI_ENC = re.compile(r"^ +set (?:psksecret|password|passwd|auth-pwd|priv-pwd|key) (ENC [A-Za-z0-9+/]+=*)$")


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _rendered(platform: Platform) -> str:
    fleet = on_platform(load_fleet(sample_chain_path()), platform)
    (config,) = render_store(fleet, STORE)
    return config.text


def _psks(text: str, keyword: str) -> set[str]:
    """The tunnel PSKs a rendered config carries after `keyword`."""
    return {line.split()[-1] for line in text.splitlines() if line.strip().startswith(keyword + " ")}


def _leaked(platform: Platform, intended: str, running: str) -> list[str]:
    """Which of the config's secrets the running config shows as sent."""
    psks = _psks(intended, "pre-shared-key cipher") | _psks(intended, "set psksecret") | _psks(intended, "pre-shared-key")
    assert psks, "the store has tunnels with PSKs"
    values = [*secrets_carried_by(platform, TEST_SECRETS).values(), *psks]
    return [value for value in values if value in running]


# -- Huawei VRP ------------------------------------------------------------------------------------


def _ar() -> tuple[DeviceState, VrpSession]:
    device = DeviceState(EmulatedDevice(name="ar", platform="huawei_vrp"))
    session = VrpSession(device)
    session.handle("system-view")
    return device, session


def _vrp_send(session: VrpSession, lines: list[str]) -> list[str]:
    """The lines the unit refused."""
    return [line for line in lines if "Error:" in session.handle(line).output]


def _vrp_secret_lines(running: str) -> list[str]:
    return [line for line in running.splitlines() if " cipher " in line and not line.startswith("ssh server cipher ")]


def _vrp_store() -> tuple[list[str], DeviceState, VrpSession]:
    """A factory unit that took the rendered store config (its lines) whole."""
    intended = _rendered("huawei_vrp")
    device, session = _ar()
    lines = [line for line in intended.splitlines() if line.strip() and not line.startswith(("#", "return"))]
    assert _vrp_send(session, [*lines, "commit"]) == []
    return lines, device, session


def test_vrp_shows_its_stored_forms_never_the_secrets_sent() -> None:
    lines, device, _session = _vrp_store()
    intended = "\n".join(lines)
    running = device.running_text()
    assert _leaked("huawei_vrp", intended, running) == []
    secret_lines = _vrp_secret_lines(running)
    # Every tunnel's PSK, HWTACACS, the SNMPv3 user's two keys, the NTP key; the local user hashed.
    assert len(secret_lines) == len(_vrp_secret_lines(intended)) >= 6
    for line in secret_lines:
        assert VRP_HASH.search(line) if "irreversible-cipher" in line else VRP_CIPHER.search(line), line
    assert "ssh server cipher aes256_ctr aes128_ctr" in running.splitlines()


def _sent_back(lines: list[str], running: str, shown: re.Pattern[str]) -> list[str]:
    """`lines` with each secret in the form `running` shows it: what a rollback to that running
    config sends (the secret lines, statement by statement, in the order both list them)."""
    stored: dict[str, list[str]] = {}
    for line in running.splitlines():
        if (found := shown.search(line)) is not None:
            stored.setdefault(line[: found.start(1)].strip(), []).append(found.group(1))
    back = []
    for line in lines:
        statement = line.rsplit(" ", 1)[0]
        sent = stored.get(statement.strip())
        back.append(f"{statement} {sent.pop(0)}" if sent else line)
    assert not any(stored.values()), stored
    return back


def test_vrp_keeps_a_stored_form_sent_back() -> None:
    """A rollback sends the running config's own secrets back: the unit keeps them byte for byte."""
    lines, device, session = _vrp_store()
    before = device.running_text()
    back = _sent_back(lines, before, re.compile(r" (?:irreversible-)?cipher (\S+)$"))
    assert back != lines
    assert _vrp_send(session, [*back, "commit"]) == []
    assert device.running_text() == before


def test_vrp_salts_a_key_anew_each_time_and_shows_it_once() -> None:
    device, session = _ar()
    line = "snmp-agent usm-user v3 nw-netops authentication-mode sha cipher Snmp.Auth_Key_42"
    shown = []
    for _ in range(2):
        assert _vrp_send(session, [line, "commit"]) == []
        shown.append([row for row in device.running_text().splitlines() if row.startswith("snmp-agent usm-user v3 nw-netops ")])
    assert all(len(rows) == 1 and VRP_CIPHER.search(rows[0]) for rows in shown), shown
    assert shown[0] != shown[1]


# -- FortiOS ---------------------------------------------------------------------------------------


def _fortigate() -> tuple[DeviceState, FortiSession]:
    device = DeviceState(EmulatedDevice(name="fgt", platform="fortinet"))
    return device, FortiSession(device)


def _forti_send(session: FortiSession, lines: list[str] | tuple[str, ...]) -> list[str]:
    return [line for line in lines if "Command fail" in session.handle(line).output]


def test_fortios_shows_enc_values_never_the_secrets_sent() -> None:
    intended = _rendered("fortinet")
    device, session = _fortigate()
    assert _forti_send(session, compute_diff(device.running_text(), intended, "fortinet").remediation) == []
    running = device.running_text()
    assert _leaked("fortinet", intended, running) == []
    sent = [line for line in intended.splitlines() if FORTI_SECRET.match(line)]
    shown = [line for line in running.splitlines() if FORTI_SECRET.match(line)]
    assert len(shown) == len(sent) >= 5
    assert all(FORTI_ENC.match(line) for line in shown), shown
    admin = running[running.index("config system admin") :]
    assert re.search(r'edit "localadmin"\n(?: {8}set .*\n)*? {8}set password ENC SH2[A-Za-z0-9+/]{59}=\n', admin), admin


def test_fortios_keeps_an_enc_value_sent_back_and_salts_a_new_one() -> None:
    device, session = _fortigate()
    block = ["config user tacacs+", 'edit "TACACS-HQ"', 'set server "10.0.1.20"', "set key Tacacs.Shared_Key", "next", "end"]
    assert _forti_send(session, block) == []
    first = device.running_text()
    (stored,) = [line.strip() for line in first.splitlines() if line.strip().startswith("set key ENC ")]
    assert _forti_send(session, ["config user tacacs+", 'edit "TACACS-HQ"', stored, "next", "end"]) == []
    assert device.running_text() == first
    assert _forti_send(session, block) == []
    assert stored not in device.running_text()


# -- IOS-XE ----------------------------------------------------------------------------------------


def _router() -> tuple[DeviceState, IosSession]:
    device = DeviceState(EmulatedDevice(name="nw-0002", platform="cisco_xe"))
    session = IosSession(device)
    session.handle("configure terminal")
    return device, session


def test_ios_xe_shows_an_snmpv3_user_in_show_snmp_user_only() -> None:
    intended = _rendered("cisco_xe")
    _device, session = _router()
    lines = [line for line in intended.splitlines() if line.strip() and not line.startswith("!") and line != "end"]
    assert [line for line in lines if "% Invalid" in session.handle(line).output] == []
    session.handle("end")
    running = session.handle("show running-config").output
    assert "snmp-server user" not in running
    assert "Snmp.Auth_Key_42" not in running and "Snmp.Priv_Key_43" not in running
    assert "snmp-server group STORESTACK v3 priv access MGMT-HQ\n" in running
    users = session.handle("show snmp user").output
    assert re.fullmatch(
        r"User name: nw-netops\n"
        r"Engine ID: 800000090300[0-9A-F]{12}\n"
        r"storage-type: nonvolatile        active        access-list: MGMT-HQ\n"
        r"Authentication Protocol: SHA\n"
        r"Privacy Protocol: AES128\n"
        r"Group-name: STORESTACK\n",
        users,
    ), users


def test_ios_xe_removes_an_snmpv3_user_and_lists_each_user_once() -> None:
    _device, session = _router()
    for line in (
        "snmp-server user nw-netops STORESTACK v3 auth sha Snmp.Auth_Key_42 priv aes 128 Snmp.Priv_Key_43",
        "snmp-server user nw-audit STORESTACK v3 auth sha Snmp.Auth_Key_42 priv aes 128 Snmp.Priv_Key_43",
        "snmp-server user nw-netops STORESTACK v3 auth sha Snmp.Auth_Key_42 priv aes 128 Snmp.Priv_Key_43",
    ):
        assert session.handle(line).output == ""
    listed = session.handle("do show snmp user").output
    assert re.findall(r"^User name: (\S+)$", listed, re.MULTILINE) == ["nw-netops", "nw-audit"]
    assert "\n\nUser name: nw-audit\n" in listed
    assert session.handle("no snmp-server user nw-netops STORESTACK v3").output == ""
    assert re.findall(r"^User name: (\S+)$", session.handle("do show snmp user").output, re.MULTILINE) == ["nw-audit"]
    assert "snmp-server user" not in session.handle("do show running-config").output
