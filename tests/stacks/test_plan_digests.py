"""`plan` sees a changed secret input through the keyed digests kept beside each saved plan,
and writes or prints no secret doing so."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from stack_harness import copy_sample_chain

from storestack.cli.main import cli
from storestack.common.files import FileWriteError, KeyFileError
from storestack.inventory import load_fleet
from storestack.stacks.plan import StackChanges, StackPlan, compare_and_save, make_tasks, plan_tasks
from storestack.stacks.plan_digests import DIGEST_KEY_FILE
from storestack.stacks.render import plan_stacks

FLEET_SECRET = "lab-fleet-secret-0123456789"
ROTATED_SECRET = "lab-fleet-secret-9876543210"
GATEWAY = "ams-private-vpn-gateway"
PEERS = "ams-private-vpn-gateway-peers"  # the gateway's peer config, a Swift object


def _plan(fleet_dir: Path, plans_dir: Path, stack: str = "core") -> tuple[StackPlan, StackChanges]:
    _, configs = plan_stacks(load_fleet(fleet_dir))
    (plan,) = plan_tasks([task for task in make_tasks(configs) if task.stack == stack], workers=1)
    (change,) = compare_and_save([plan], plans_dir)
    return plan, change


def _by_name(change: StackChanges) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    return {c.urn.rsplit("::", 1)[-1]: (c.action, c.keys, dict(c.secrets)) for c in change.changes}


def _secret_texts(plan: StackPlan) -> set[str]:
    """Every secret the plan's inputs hold: each secret input's string values, the pre-shared keys
    inside the OpenStack gateway's peer config (its swanctl `secret = "..."` lines) and its
    reader's credential inside its user data (`"secret": "..."`)."""
    found: set[str] = {FLEET_SECRET, ROTATED_SECRET}

    def walk(value: object) -> None:
        if isinstance(value, str) and len(value) >= 8:
            found.add(value)
            found.update(re.findall(r'secret = \\*"(\w{16,})', value))
            found.update(re.findall(r'\\*"secret\\*": \\*"(\w{16,})', value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for held in plan.secret_inputs.values():
        for text in held.values():
            walk(json.loads(text))
    return found


def _assert_no_secret(texts: dict[str, str], secrets: set[str]) -> None:
    for where, text in texts.items():
        leaked = [secret[:4] + "…" for secret in secrets if secret in text]
        assert not leaked, f"{where} holds a secret ({leaked})"


def _planned_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A copy of the sample chain and its plans folder, the core planned once with the fleet secret."""
    fleet_dir = copy_sample_chain(tmp_path)
    plans_dir = tmp_path / "plans"
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", FLEET_SECRET)
    _plan(fleet_dir, plans_dir)
    return fleet_dir, plans_dir


def _files(plans_dir: Path) -> dict[str, str]:
    return {str(p): p.read_text(encoding="utf-8", errors="replace") for p in plans_dir.rglob("*") if p.is_file()}


def test_a_psk_rotation_shows_as_changed_secrets_and_nothing_written_holds_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_dir, plans_dir = _planned_once(tmp_path, monkeypatch)
    before, again = _plan(fleet_dir, plans_dir)
    assert again.status == "unchanged", "the same secrets again are no change"

    monkeypatch.setenv("STORESTACK_IPSEC_PSK", ROTATED_SECRET)
    after, rotated = _plan(fleet_dir, plans_dir)
    changes = _by_name(rotated)
    assert rotated.status == "changed"
    # An AWS VPN connection takes new tunnel PSKs in place (ModifyVpnTunnelOptions).
    psks = ["tunnel1PresharedKey", "tunnel2PresharedKey"]
    assert changes["eu-west-1-hub-hq-hub1-vpn"] == ("change", psks, dict.fromkeys(psks, "changed"))
    # The OpenStack VPN gateway's keys are in its peer config, written in place: the gateway
    # instance (and its port, also named so) is unchanged, its tunnels stay up.
    assert changes[PEERS] == ("change", ["content"], {"content": "changed"})
    assert GATEWAY not in changes
    assert "store-staff-directory" not in changes, "the directory's password did not change"

    _assert_no_secret(_files(plans_dir), _secret_texts(before) | _secret_texts(after))
    for path in plans_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert {p.name for p in plans_dir.iterdir()} == {"core.json", "core.digests", DIGEST_KEY_FILE}


def test_a_gateway_peer_moved_shows_as_a_changed_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet_dir, plans_dir = _planned_once(tmp_path, monkeypatch)
    fleet_file = fleet_dir / "fleet.yaml"
    text = fleet_file.read_text()
    assert "public_address: 203.0.113.11" in text
    fleet_file.write_text(text.replace("public_address: 203.0.113.11", "public_address: 203.0.113.21"))

    _, moved = _plan(fleet_dir, plans_dir)
    changes = _by_name(moved)
    assert changes[PEERS] == ("change", ["content"], {"content": "changed"})
    assert GATEWAY not in changes
    # The hub's AWS customer gateway is new too; its tunnels' keys are not.
    assert changes["eu-west-1-hub-hq-hub1-cgw"][:2] == ("replace", ["ipAddress"])
    assert changes.get("eu-west-1-hub-hq-hub1-vpn", ("", [], {}))[2] == {}


def test_a_plan_saved_without_digests_says_unknown_for_secrets_not_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_dir, plans_dir = _planned_once(tmp_path, monkeypatch)
    # As a plan saved before digests were kept: the plan alone.
    (plans_dir / "core.digests").unlink()
    (plans_dir / DIGEST_KEY_FILE).unlink()

    _, first = _plan(fleet_dir, plans_dir)
    changes = _by_name(first)
    assert first.status == "unknown"
    assert changes[GATEWAY] == ("unknown", [], {"userData": "unknown"})
    assert changes[PEERS] == ("unknown", [], {"content": "unknown"})
    assert changes["eu-west-1-hub-hq-hub1-vpn"][2] == {"tunnel1PresharedKey": "unknown", "tunnel2PresharedKey": "unknown"}
    assert {action for action, _, _ in changes.values()} == {"unknown"}

    _, next_run = _plan(fleet_dir, plans_dir)
    assert next_run.status == "unchanged", "the digests saved by the first run compare"


def test_digests_of_another_key_are_not_compared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet_dir, plans_dir = _planned_once(tmp_path, monkeypatch)
    (plans_dir / DIGEST_KEY_FILE).unlink()  # a new key is made: the saved digests are of the old one

    _, change = _plan(fleet_dir, plans_dir)
    assert change.status == "unknown"
    assert _by_name(change)[GATEWAY] == ("unknown", [], {"userData": "unknown"})


def test_cli_plan_prints_a_rotated_psk_as_a_changed_secret_and_never_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_dir = copy_sample_chain(tmp_path)
    plans_dir = tmp_path / "plans"
    runner = CliRunner()
    args = ["plan", "--fleet", str(fleet_dir), "--store", "nw-0001", "--detail", "--plans-dir", str(plans_dir)]
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", FLEET_SECRET)
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", ROTATED_SECRET)
    as_json = runner.invoke(cli, [*args, "--json", "--no-save"])
    rotated = runner.invoke(cli, args)
    assert rotated.exit_code == 0, rotated.output
    assert "store-nw-0001 " in rotated.output and "changed: +0 ~1 +-0 -0" in rotated.output
    assert "tunnel1PresharedKey changed (secret), tunnel2PresharedKey changed (secret)" in rotated.output
    (change,) = [s["change"] for s in json.loads(as_json.output)["stacks"]]
    assert change["changes"][0]["secrets"] == {"tunnel1PresharedKey": "changed", "tunnel2PresharedKey": "changed"}

    _, configs = plan_stacks(load_fleet(fleet_dir))
    (plan,) = plan_tasks([t for t in make_tasks(configs) if t.stack == "store-nw-0001"], workers=1)
    secrets = _secret_texts(plan)
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", FLEET_SECRET)
    (plan,) = plan_tasks([t for t in make_tasks(configs) if t.stack == "store-nw-0001"], workers=1)
    secrets |= _secret_texts(plan)
    assert len(secrets) > 2
    outputs = {"first run": first.output, "rotated run": rotated.output, "--json": as_json.output}
    _assert_no_secret({**outputs, **_files(plans_dir)}, secrets)


def test_a_plans_folder_that_is_a_file_is_refused_by_name_and_nothing_written(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder\n")
    plan = StackPlan(stack="core", kind="core", project="p", resources=[], outputs={}, secret_outputs=[], findings=[])
    with pytest.raises(FileWriteError) as refused:
        compare_and_save([plan], tmp_path / "taken" / "plans")
    assert refused.value.path == str(tmp_path / "taken" / "plans")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_digest_key_that_is_no_key_is_refused_by_name_not_replaced(tmp_path: Path) -> None:
    plans_dir = tmp_path / "plans"
    plans_dir.mkdir()
    (plans_dir / DIGEST_KEY_FILE).write_text("not a key\n")
    (plans_dir / DIGEST_KEY_FILE).chmod(0o600)
    plan = StackPlan(stack="core", kind="core", project="p", resources=[], outputs={}, secret_outputs=[], findings=[])
    with pytest.raises(KeyFileError, match="holds no key of 32 bytes in hex; remove it") as refused:
        compare_and_save([plan], plans_dir)
    assert refused.value.path == str(plans_dir / DIGEST_KEY_FILE)
    assert sorted(p.name for p in plans_dir.iterdir()) == [DIGEST_KEY_FILE]
    assert (plans_dir / DIGEST_KEY_FILE).read_text() == "not a key\n"
