"""The lint flags an SD-WAN health check's SLA id outside FortiOS's 1-32 (`fortios-sla-id`): the
unit refuses it (as the emulator does), and the rules naming it go with it."""

from __future__ import annotations

from testsupport.rendering import on_platform

from storestack.common.platforms import SLA_CLASS_NUMBERS
from storestack.devices.lint import ConfigFile, run_platform_rules
from storestack.devices.render import render_store
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path

STORE = "nw-0002"
SLA = "            config sla\n                edit 1\n"


def _findings(text: str, hostname: str) -> list[tuple[int, str]]:
    config = ConfigFile(f"{hostname}.cfg", "fortinet", "edge", hostname, text, STORE, "", {"": text})
    return [(f.line, f.message) for f in run_platform_rules([config]) if f.rule == "fortios-sla-id"]


def test_the_lint_holds_sla_ids_to_1_32() -> None:
    (config,) = render_store(on_platform(load_fleet(sample_chain_path()), "fortinet"), STORE)
    text = config.text
    assert SLA in text
    assert _findings(text, config.name) == []
    at = text[: text.index(SLA)].count("\n") + 2  # the `edit 1` line
    for number, expected in ((SLA_CLASS_NUMBERS, []), (SLA_CLASS_NUMBERS + 1, [at]), (0, [at])):
        broken = text.replace(SLA, SLA.replace("edit 1", f"edit {number}"), 1)
        found = _findings(broken, config.name)
        assert [line for line, _ in found] == expected, (number, found)
        assert all(f"sla {number}: FortiOS takes 1-32" in message for _, message in found)
