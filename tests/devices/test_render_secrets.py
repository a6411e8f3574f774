"""Secrets appear only in push files: every displayed or diffed output shows `<redacted>`."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from testsupport.rendering import FIXTURES, TEST_IPSEC_PSK_SEED, on_platform, secrets_carried_by

from storestack.cli.main import cli
from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.configdiff import redactor_for
from storestack.devices.fleet_targets import fleet_secret_values
from storestack.devices.platforms.cisco_xe import type9_hash
from storestack.devices.render import render_fleet, render_store, write_configs
from storestack.devices.secrets import REDACTED, hex_secret, secret_spellings
from storestack.inventory import Fleet
from storestack.network.errors import SecretUnavailableError
from storestack.network.outputs import StoreCloudOutputs
from storestack.network.secrets import Secret


def _psks() -> list[str]:
    data = yaml.safe_load((FIXTURES / "outputs-nw-0001.yaml").read_text())["nw-0001"]
    return [item["psk"] for item in data["links"] + data["aws_tunnels"]]


def _all_secret_values(device_secrets: dict[str, str]) -> list[str]:
    return [*device_secrets.values(), *_psks()]


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_redacted_render_contains_no_secret(
    fleet: Fleet,
    platform: Platform,
    device_secrets: dict[str, str],
    live_outputs: dict[str, StoreCloudOutputs],
) -> None:
    configs = list(render_fleet(on_platform(fleet, platform), outputs=live_outputs))
    assert configs
    for config in configs:
        assert not config.with_secrets
        for name, text in config.files():
            for value in _all_secret_values(device_secrets):
                for spelling in secret_spellings(value):
                    assert spelling not in text, f"{name} leaks a secret"
    # The others show the marker in the config; FRR in its host files (IPsec PSKs, NTP keys).
    assert all(any(REDACTED in text for _, text in config.files()) for config in configs)


@pytest.mark.parametrize("platform", [p for p in PLATFORM_NAMES if p != "frr"])
def test_push_render_fills_every_secret(
    fleet: Fleet,
    platform: Platform,
    device_secrets: dict[str, str],
    live_outputs: dict[str, StoreCloudOutputs],
) -> None:
    (config,) = render_store(
        on_platform(fleet, platform),
        "nw-0001",
        outputs=live_outputs,
        reveal_secrets=True,
    )
    assert config.with_secrets and config.file_mode == 0o600
    assert REDACTED not in config.text
    for value in _all_secret_values(secrets_carried_by(platform, device_secrets)):
        assert value in config.text
    assert TEST_IPSEC_PSK_SEED[1] not in config.text  # tunnel PSKs derive from it; it never appears


def test_frr_push_files_carry_the_snmp_keys_only_in_the_agents_file_mode_0600(
    fleet: Fleet, tmp_path: Path, device_secrets: dict[str, str]
) -> None:
    """The SNMPv3 user's passphrases (the same as every platform's user) are in snmpd.conf alone,
    written 0600 for the push; the display render and the redactor, by shape, hide them."""
    auth, priv = device_secrets["STORESTACK_SNMP_AUTH_KEY"], device_secrets["STORESTACK_SNMP_PRIV_KEY"]
    frr = on_platform(fleet, "frr")
    pushed = list(render_fleet(frr, store_ids=["nw-0003"], hubs=["hq-hub1"], reveal_secrets=True))
    for config in pushed:
        holders = {name for name, text in config.files() if auth in text or priv in text}
        assert holders == {f"{config.name}.snmpd.conf"}
        line = f'createUser nw-netops SHA "{auth}" AES "{priv}"'
        assert f"\n{line}\n" in dict(config.companions)["snmpd.conf"]
        assert redactor_for("frr").redact(line) == f"createUser nw-netops SHA {REDACTED} AES {REDACTED}"
    write_configs(pushed, tmp_path)
    assert {stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()} == {0o600}
    shown = list(render_fleet(frr, store_ids=["nw-0003"], hubs=["hq-hub1"]))
    assert all(auth not in text and priv not in text for config in shown for _, text in config.files())


def test_frr_push_files_carry_the_vendor_ntp_key_only_in_the_key_file_mode_0600(
    fleet: Fleet, tmp_path: Path, device_secrets: dict[str, str]
) -> None:
    """chrony gets the same AES-128-CMAC key as IOS-XE (the ntp-key secret, its bytes in hex),
    in the key file alone, written 0600; the display render and every redactor hide it."""
    key = device_secrets["STORESTACK_NTP_KEY"]
    hex_key = key.encode().hex().upper()
    frr = on_platform(fleet, "frr")
    pushed = list(render_fleet(frr, store_ids=["nw-0003"], hubs=["hq-hub1"], reveal_secrets=True))
    for config in pushed:
        holders = {name for name, text in config.files() if hex_key in text or key in text}
        assert holders == {f"{config.name}.chrony.keys"}
        assert f"\n1 AES128 HEX:{hex_key}\n" in dict(config.companions)["chrony.keys"]
    write_configs(pushed, tmp_path)
    assert {stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()} == {0o600}
    line = f"1 AES128 HEX:{hex_key}"
    assert redactor_for("frr").redact(line) == f"1 AES128 HEX:{REDACTED}"  # by shape, value unknown
    # by value, in either spelling, wherever values are redacted (push, drift, session logs)
    for redactor in (redactor_for("cisco_xe", fleet_secret_values(frr)), redactor_for("cisco_xe").with_secrets([key])):
        assert redactor.redact(f"x {hex_key} {key} y") == f"x {REDACTED} {REDACTED} y"


def test_push_render_without_a_secret_names_the_variable_not_a_value(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, device_secrets: dict[str, str]
) -> None:
    monkeypatch.delenv("STORESTACK_SNMP_PRIV_KEY")
    with pytest.raises(SecretUnavailableError, match="STORESTACK_SNMP_PRIV_KEY") as caught:
        render_store(on_platform(fleet, "cisco_xe"), "nw-0003", reveal_secrets=True)
    for value in device_secrets.values():
        assert value not in str(caught.value)


def test_push_render_of_planned_config_needs_the_fleet_psk_secret(
    fleet: Fleet, device_secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned PSKs derive per tunnel from the fleet's ipsec-psk secret: without it, no push file."""
    monkeypatch.delenv("STORESTACK_IPSEC_PSK")
    with pytest.raises(SecretUnavailableError, match="STORESTACK_IPSEC_PSK"):
        render_store(fleet, "nw-0003", reveal_secrets=True)


def test_planned_psks_differ_per_tunnel_and_never_show_the_fleet_secret(
    fleet: Fleet, device_secrets: dict[str, str]
) -> None:
    (config,) = render_store(fleet, "nw-0001", reveal_secrets=True)
    swanctl = dict(config.companions)["swanctl.conf"]
    psks = [line.split('"')[1] for line in swanctl.splitlines() if line.strip().startswith("secret =")]
    assert len(psks) == 6 and len(set(psks)) == 6, "each of the store's six tunnels has its own PSK"
    assert TEST_IPSEC_PSK_SEED[1] not in swanctl


def test_secret_that_would_break_a_cli_line_is_refused(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, device_secrets: dict[str, str]
) -> None:
    monkeypatch.setenv("STORESTACK_TACACS_KEY", "key with\nno aaa new-model")
    with pytest.raises(SecretUnavailableError, match="STORESTACK_TACACS_KEY") as caught:
        render_store(on_platform(fleet, "cisco_xe"), "nw-0003", reveal_secrets=True)
    assert "no aaa" not in str(caught.value)


def test_push_files_are_0600_and_display_files_are_not_secret(
    fleet: Fleet, tmp_path: Path, device_secrets: dict[str, str], live_outputs: dict[str, StoreCloudOutputs]
) -> None:
    cisco = on_platform(fleet, "cisco_xe")
    push = render_store(cisco, "nw-0001", outputs=live_outputs, reveal_secrets=True)
    write_configs(push, tmp_path / "push")
    display = render_store(cisco, "nw-0001", outputs=live_outputs)
    write_configs(display, tmp_path / "display")
    assert stat.S_IMODE((tmp_path / "push" / "nw-0001-edge1.cfg").stat().st_mode) == 0o600
    shown = (tmp_path / "display" / "nw-0001-edge1.cfg").read_text()
    assert not any(value in shown for value in _all_secret_values(device_secrets))


def test_cli_outputs_never_show_a_secret(
    tmp_path: Path, device_secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "outputs.yaml"
    outputs.write_text((FIXTURES / "outputs-nw-0001.yaml").read_text())
    outputs.chmod(0o600)
    runner = CliRunner()
    results = [
        runner.invoke(cli, ["devices", "show", "nw-0001", "--outputs", str(outputs)]),
        runner.invoke(cli, ["devices", "show", "nw-0003", "--json"]),
        runner.invoke(cli, ["devices", "show", "hq-hub1", "--outputs", str(outputs)]),
        runner.invoke(
            cli, ["devices", "render", "--out", str(tmp_path / "o"), "--outputs", str(outputs), "--json"]
        ),
    ]
    for result in results:
        assert result.exit_code == 0, result.output
        for value in _all_secret_values(device_secrets):
            assert value not in result.output
    json.loads(results[1].output)
    for path in (tmp_path / "o").iterdir():
        text = path.read_text()
        assert not any(value in text for value in _all_secret_values(device_secrets)), path.name


def test_a_key_file_spelling_of_a_secret_that_is_not_ascii_is_refused_by_name_not_by_a_traceback() -> None:
    """chrony's key file takes the NTP key in hex of its text: a value with other characters
    becomes a slot whose reveal says which secret and why, never the value."""
    from pydantic import SecretStr

    assert hex_secret(Secret("ntp-key", "env:STORESTACK_NTP_KEY", SecretStr("Lab.Ntp_Key1"))).reveal() == "4C61622E4E74705F4B657931"
    refused = hex_secret(Secret("ntp-key", "env:STORESTACK_NTP_KEY", SecretStr("clé-ntp-secrète")))
    with pytest.raises(SecretUnavailableError, match=r"'ntp-key' \(env:STORESTACK_NTP_KEY\): must be ASCII text") as caught:
        refused.reveal()
    assert "clé" not in str(caught.value)


def test_ios_local_user_secret_is_its_type9_hash_never_the_password(
    fleet: Fleet, device_secrets: dict[str, str], live_outputs: dict[str, StoreCloudOutputs]
) -> None:
    # The published known answer of IOS type 9 (hashcat example hash 9300, password "hashcat").
    assert type9_hash("hashcat", "2MJBozw/9R3UsU") == "$9$2MJBozw/9R3UsU$2lFhcKvpghcyw8deP25GOfyZaagyUOGBymkryvOdfo6"
    password = device_secrets["STORESTACK_LOCAL_ADMIN_PASSWORD"]
    lines = []
    for _ in range(2):
        (config,) = render_store(on_platform(fleet, "cisco_xe"), "nw-0001", outputs=live_outputs, reveal_secrets=True)
        assert password not in config.text
        (line,) = [line for line in config.text.splitlines() if line.startswith("username ")]
        lines.append(line)
    # The same line every render: the router shows a hashed secret as sent, so drift reads it back.
    assert lines[0] == lines[1]
    match = re.fullmatch(r"username (\S+) privilege 15 secret 9 (\$9\$([./0-9A-Za-z]{14})\$[./0-9A-Za-z]{43})", lines[0])
    assert match, lines[0]
    assert type9_hash(password, match.group(3)) == match.group(2)
    assert redactor_for("cisco_xe").redact(lines[0]) == f"username {match.group(1)} privilege 15 secret 9 {REDACTED}"


def test_the_lab_renders_its_frr_host_files_without_the_snmp_passphrases(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab runs no snmpd: it renders the FRR hosts' files with throwaway passphrases when the
    environment has none, and leaves the environment as it found it."""
    from storestack.lab.rendered import render_ipsec

    for name in ("STORESTACK_SNMP_AUTH_KEY", "STORESTACK_SNMP_PRIV_KEY"):
        monkeypatch.delenv(name, raising=False)
    rendered = render_ipsec(on_platform(fleet, "frr"), ["nw-0001"], ["hq-hub1"], "lab-secret-0123456789")
    assert set(rendered) == {"nw-0001-edge1", "hq-hub1"}
    assert "STORESTACK_SNMP_AUTH_KEY" not in os.environ and "STORESTACK_SNMP_PRIV_KEY" not in os.environ
