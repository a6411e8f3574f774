"""The random keys storestack keeps in files (the secret ledger's, the saved plans' digest key):
made 0600 whatever the umask, and a key file others may read or that holds no key of the right
length refused by name, never used or replaced."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from storestack.common.files import KeyFileError, private_key, read_private_key
from storestack.devices.secret_ledger import SecretLedger
from storestack.stacks.plan import StackPlan, compare_and_save
from storestack.stacks.plan_digests import DIGEST_KEY_FILE


def test_a_new_key_is_random_hex_mode_0600_whatever_the_umask_and_read_back_the_same(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key = private_key(tmp_path / "keys" / "a.key")
    finally:
        os.umask(old)
    path = tmp_path / "keys" / "a.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32 and path.read_text() == key.hex() + "\n"
    assert private_key(path) == key == read_private_key(path)
    assert private_key(tmp_path / "b.key") != key
    assert read_private_key(tmp_path / "none.key") is None
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["a.key"]  # no draft left


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_may_read_is_refused_by_name(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "a.key"
    path.write_text(os.urandom(32).hex() + "\n")
    path.chmod(mode)
    for reader in (read_private_key, private_key):
        with pytest.raises(KeyFileError, match=re.escape(f"{path}: mode 0{mode:o} lets others")) as refused:
            reader(path)
        assert refused.value.file == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode, "left as it was for its owner to look at"


# Fixed texts, not random ones: pytest-xdist workers must collect the same test ids.
@pytest.mark.parametrize(
    "text",
    ["not a key\n", "5e" * 16 + "\n", "a7" * 33, ""],
    ids=["text", "16-bytes", "33-bytes", "empty"],
)
def test_a_key_file_holding_no_key_of_the_right_length_is_refused_not_replaced(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.key"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=re.escape(f"{path}: holds no key of 32 bytes")):
        private_key(path)
    assert path.read_text() == text


def test_a_symbolic_link_is_no_key_file(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.key"
    target.write_text(os.urandom(32).hex() + "\n")
    target.chmod(0o600)
    (tmp_path / "a.key").symlink_to(target)
    with pytest.raises(KeyFileError, match="symbolic link"):
        read_private_key(tmp_path / "a.key")


def test_the_secret_ledger_refuses_a_key_others_may_read(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    SecretLedger(root).record("nw-0001-edge1", [("snmp-server user u g v3 auth sha KEY",)])
    assert stat.S_IMODE((root / "ledger.key").stat().st_mode) == 0o600
    (root / "ledger.key").chmod(0o644)
    with pytest.raises(KeyFileError, match=r"ledger\.key: mode 0644"):
        SecretLedger(root).held("nw-0001-edge1")
    with pytest.raises(KeyFileError, match=r"ledger\.key: mode 0644"):
        SecretLedger(root).record("nw-0001-edge1", [("snmp-server user u g v3 auth sha KEY",)])


def test_saved_plans_refuse_a_digest_key_others_may_read(tmp_path: Path) -> None:
    plans_dir = tmp_path / "plans"
    plan = StackPlan(stack="core", kind="core", project="p", resources=[], outputs={}, secret_outputs=[], findings=[])
    compare_and_save([plan], plans_dir)
    key = plans_dir / DIGEST_KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key.chmod(0o644)
    for save in (True, False):
        with pytest.raises(KeyFileError, match=re.escape(f"{key}: mode 0644")):
            compare_and_save([plan], plans_dir, save=save)
