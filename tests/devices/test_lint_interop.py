"""`storestack devices lint` across platforms: what one end of a store-hub tunnel negotiates, the
other end (or the network intent) must accept, or the tunnel never comes up. The sample chain's
IOS-XE (nw-0003), VRP (nw-0005) and FortiOS (nw-0006) stores are served by FRR (strongSwan) hubs."""

from __future__ import annotations

import pytest
from lint_files import broken_files, rule_findings

from storestack.devices.lint import ConfigFile
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def test_a_fortios_phase1_left_on_ikev1_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # FortiOS negotiates IKEv1 unless told otherwise; the strongSwan hub takes IKEv2 only.
    assert not rule_findings(fleet, rendered, "fortios-ike-version")
    files = broken_files(rendered, "nw-0006-edge1.cfg", lambda t: t.replace("        set ike-version 2\n", "", 1))
    findings = rule_findings(fleet, files, "fortios-ike-version")
    assert [f.message.split()[2] for f in findings] == ["hq-hub1-wan1"]
    assert "unset (1)" in findings[0].message and findings[0].line > 0
    files = broken_files(rendered, "nw-0006-edge1.cfg", lambda t: t.replace("set ike-version 2", "set ike-version 1"))
    assert len(rule_findings(fleet, files, "fortios-ike-version")) == 6  # four hub tunnels, two AWS
