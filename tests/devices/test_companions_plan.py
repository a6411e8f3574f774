"""What the push engine makes of an appliance's companion files before it sends any (no root).

tests/lab/test_lab_companions.py pushes them to a lab appliance for real."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storestack.devices.companions import (
    installed_digest,
    parse_digests,
    plan_companions,
    refuse_placeholders,
    result_of,
)
from storestack.devices.configdiff import redactor_for
from storestack.devices.errors import PushError
from storestack.devices.intended import IntendedConfig, IntendedConfigDirectory
from storestack.devices.push import intended_digest
from storestack.devices.targets import ApplianceTarget, CredentialsRef

PSK = "psk-0123456789abcdef-not-for-eyes"
SWANCTL_BEFORE = 'secrets {\n    ike-a {\n        secret = "old-psk-aaaaaaaaaaaa"\n    }\n}\n'
SWANCTL_AFTER = f'secrets {{\n    ike-b {{\n        secret = "{PSK}"\n    }}\n}}\n'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_only_files_the_appliance_takes_and_that_differ_are_pending() -> None:
    rendered = [("nftables.conf", "table inet x {}\n"), ("swanctl.conf", SWANCTL_AFTER), ("qos.conf", "shape\n")]
    digests = {"nftables.conf": sha("table inet x {}\n"), "swanctl.conf": sha(SWANCTL_BEFORE)}

    plan = {change.name: change for change in plan_companions(rendered, digests)}

    assert not plan["nftables.conf"].pending
    assert plan["swanctl.conf"].pending
    # A file the platform renders but this appliance's allow-list lacks is never sent.
    assert not plan["qos.conf"].taken and not plan["qos.conf"].pending


def test_a_dry_run_diff_of_a_secret_file_shows_the_change_but_no_psk() -> None:
    (change,) = plan_companions([("swanctl.conf", SWANCTL_AFTER)], {"swanctl.conf": sha(SWANCTL_BEFORE)})
    change.before_text = SWANCTL_BEFORE
    redactor = redactor_for("frr", {PSK})

    result = result_of(change, appliance="edge", redactor=redactor, dry_run=True)

    assert result.status == "planned" and result.change_lines == 4
    assert result.diff is not None and "edge:swanctl.conf (intended)" in result.diff
    assert "-    ike-a {" in result.diff and "+    ike-b {" in result.diff
    assert PSK not in result.model_dump_json() and "old-psk-aaaaaaaaaaaa" not in result.model_dump_json()
    assert result.sha256_before == sha(SWANCTL_BEFORE) and result.sha256_intended == sha(SWANCTL_AFTER)
    # A new secret alone: the diff says there is one, never what it is.
    (only,) = plan_companions([("swanctl.conf", SWANCTL_BEFORE.replace("old-psk", "new-psk"))], {"swanctl.conf": "0" * 64})
    only.before_text = SWANCTL_BEFORE
    shown = result_of(only, appliance="edge", redactor=redactor_for("frr"), dry_run=True)
    assert shown.diff == "edge:swanctl.conf: only secret values differ (not shown)\n" and shown.change_lines == 2


@pytest.mark.parametrize("said", ["", "not json", '["nftables.conf"]', '{"nftables.conf": "abc"}', '{"x": 5}'])
def test_digests_that_are_not_what_was_asked_for_stop_the_push(said: str) -> None:
    with pytest.raises(PushError, match="not what was asked for"):
        parse_digests(said, "edge")


def test_an_install_is_believed_only_with_the_digest_it_reports() -> None:
    assert installed_digest(f"installed nftables.conf sha256 {'a' * 64}\n") == "a" * 64
    assert installed_digest("sudo: a password is required\n") is None


def test_the_rendered_directory_gives_a_push_the_companions_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "edge1.cfg").write_text("hostname edge1\n")
    (tmp_path / "edge1.nftables.conf").write_text("table inet x {}\n")
    (tmp_path / "edge1.unknown.conf").write_text("never read\n")
    target = ApplianceTarget(
        name="edge1", role="edge", platform="frr", host="127.0.0.1", port=22,
        credentials=CredentialsRef(kind="env", username_env="U", password_env="P"), store_id="nw-0001",
    )

    intended = IntendedConfigDirectory(tmp_path).intended_config(target)

    assert intended.companions == (("nftables.conf", "table inet x {}\n"),)
    # A change of a host file alone is a change of its own (a reverted one is refused again).
    assert intended_digest(intended) != intended_digest(IntendedConfig("hostname edge1\n"))


def test_a_display_render_of_a_secret_file_is_never_installed() -> None:
    display = SWANCTL_AFTER.replace(PSK, "<redacted>")
    changes = plan_companions([("swanctl.conf", display)], {"swanctl.conf": sha(SWANCTL_BEFORE)})
    with pytest.raises(PushError, match=r"swanctl.conf holds <redacted> placeholders .*nothing was sent"):
        refuse_placeholders(changes, "edge")
    # The same text already on the appliance is not a change, so nothing would be sent anyway.
    refuse_placeholders(plan_companions([("swanctl.conf", display)], {"swanctl.conf": sha(display)}), "edge")
