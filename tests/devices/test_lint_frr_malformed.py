"""`devices lint` reads a malformed FRR host file and reports what it finds, never a traceback:
a segment prefix written with its host bits set (`10.64.2.1/26`, which nft takes as the /26), and
a swanctl.conf with a closing brace too many."""

from __future__ import annotations

import re

import pytest
from lint_files import broken_files

from storestack.devices.lint import ConfigFile
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

STORE = "nw-0001-edge1"


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def _store_file(files: list[ConfigFile], suffix: str) -> str:
    return next(f.name for f in files if f.hostname == STORE and f.suffix == suffix)


def test_a_segment_prefix_with_host_bits_is_read(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    name = _store_file(rendered, "nftables.conf")
    files = broken_files(
        rendered, name, lambda t: re.sub(r"(ip saddr != \d+\.\d+\.\d+\.)(\d+)(/\d+ drop)",
                                         lambda m: f"{m[1]}{int(m[2]) + 1}{m[3]}", t, count=1)
    )  # fmt: skip
    clean = lint_configs(rendered, NetworkIntent(fleet)).findings
    assert lint_configs(files, NetworkIntent(fleet)).findings == clean


def test_a_swanctl_conf_with_a_brace_too_many_is_reported(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    name = _store_file(rendered, "swanctl.conf")
    files = broken_files(rendered, name, lambda t: t.replace("\n}\n", "\n}\n}\n", 1))
    findings = lint_configs(files, NetworkIntent(fleet)).findings
    assert any(f.file == name and "brace" in f.message for f in findings), findings
