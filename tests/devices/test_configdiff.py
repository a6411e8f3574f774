"""Remediation and rollback per platform against hier_config-style fixture sets.

Each fixtures/<platform>/ holds running.cfg, intended.cfg (hier_config's "generated"),
remediation.cfg and rollback.cfg. The expected files were reviewed line by line against the
platform's CLI; FRR's were also applied to a real FRR 8.4 vtysh (see test_push_frr.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storestack.common.platforms import PLATFORM_NAMES
from storestack.devices.configdiff import REDACTED, compute_diff, normalise, redactor_for, remediation_lines
from storestack.devices.drivers import driver_for

FIXTURES = Path(__file__).parent / "fixtures"
PLATFORMS = PLATFORM_NAMES


def fixture(platform: str, name: str) -> str:
    return (FIXTURES / platform / f"{name}.cfg").read_text(encoding="utf-8")


def lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_remediation_matches_fixture(platform: str) -> None:
    diff = compute_diff(fixture(platform, "running"), fixture(platform, "intended"), platform)
    assert diff.remediation == lines(fixture(platform, "remediation"))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rollback_matches_fixture(platform: str) -> None:
    diff = compute_diff(fixture(platform, "running"), fixture(platform, "intended"), platform)
    assert diff.rollback == lines(fixture(platform, "rollback"))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_intended_against_itself_needs_nothing(platform: str) -> None:
    intended = fixture(platform, "intended")
    diff = compute_diff(intended, intended, platform)
    assert diff.in_sync
    assert diff.change_lines == 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_remediation_only_path_agrees_with_full_diff(platform: str) -> None:
    running, intended = fixture(platform, "running"), fixture(platform, "intended")
    assert remediation_lines(running, intended, platform) == compute_diff(running, intended, platform).remediation


def test_frr_header_lines_never_reach_the_remediation() -> None:
    diff = compute_diff(fixture("frr", "running"), fixture("frr", "intended"), "frr")
    sent = "\n".join(diff.remediation + diff.rollback)
    # running has `ip forwarding` / `no ipv6 forwarding`, intended `ipv6 forwarding`: toggling
    # forwarding on a live store edge is exactly what normalisation must prevent.
    for header in ("forwarding", "frr version", "frr defaults", "service integrated-vtysh-config", "Building"):
        assert header not in sent
    assert all(line.strip() not in {"!", "end", "exit-address-family"} for line in diff.remediation)


def test_frr_normalisation_drops_headers_and_section_exits() -> None:
    kept = normalise(fixture("frr", "running"), driver_for("frr"))
    assert kept[0] == "hostname nw-0001-edge1"
    assert not any(line.strip() in {"exit", "!", "end", "exit-address-family"} for line in kept)
    assert "interface wan1" in kept


def test_frr_changes_neighbor_asn_in_place() -> None:
    """`no neighbor X remote-as` would delete the neighbour with all its settings on FRR."""
    diff = compute_diff(fixture("frr", "running"), fixture("frr", "intended"), "frr")
    assert "  neighbor 100.64.0.0 remote-as 65001" in diff.remediation
    assert not any("no neighbor" in line for line in diff.remediation)


def test_frr_removes_a_connect_timer_and_changes_the_hold_timers_in_place() -> None:
    """`timers connect N` and `timers K H` are two settings of a neighbour: a connect timer the
    intended config drops is negated (else the neighbour keeps it for good), while new keepalive
    and hold times replace the old ones without a negation."""
    bgp = "router bgp 65000\n neighbor 10.0.0.1 remote-as 65010\n"
    both = bgp + " neighbor 10.0.0.1 timers 10 30\n neighbor 10.0.0.1 timers connect 5\n"
    assert remediation_lines(both, bgp + " neighbor 10.0.0.1 timers 10 30\n", "frr") == (
        "router bgp 65000",
        "  no neighbor 10.0.0.1 timers connect 5",
        "  exit",
    )
    faster = bgp + " neighbor 10.0.0.1 timers 3 9\n neighbor 10.0.0.1 timers connect 5\n"
    assert remediation_lines(both, faster, "frr") == ("router bgp 65000", "  neighbor 10.0.0.1 timers 3 9", "  exit")
    assert remediation_lines(both, faster.replace("connect 5", "connect 10"), "frr")[1:] == (
        "  neighbor 10.0.0.1 timers 3 9",
        "  neighbor 10.0.0.1 timers connect 10",
        "  exit",
    )


def test_frr_interfaces_are_emptied_not_deleted() -> None:
    """A physical interface cannot be deleted on FRR (`no interface` fails while it is up)."""
    diff = compute_diff(fixture("frr", "running"), fixture("frr", "intended"), "frr")
    assert "no interface lte1" not in diff.remediation
    index = diff.remediation.index("interface lte1")
    assert diff.remediation[index + 1] == "  no description"


def test_unified_diff_and_remediation_are_redacted() -> None:
    running, intended = fixture("frr", "running"), fixture("frr", "intended")
    diff = compute_diff(running, intended, "frr")
    redactor = redactor_for("frr", secrets={"N3wFibreSecret"})
    shown = diff.unified(redactor, name="nw-0001-edge1") + "\n".join(redactor.redact_lines(diff.remediation))
    assert "N3wFibreSecret" not in shown
    # The old secret was never given by value; the platform pattern still hides it.
    assert "0ldFibreSecret" not in shown
    assert f"neighbor 100.64.0.0 password {REDACTED}" in shown
    assert "+ neighbor 100.64.0.0 remote-as 65001" in shown


@pytest.mark.parametrize(
    ("platform", "secret"),
    [("cisco_xe", "N3wC0mmunity"), ("huawei_vrp", "N3wAuthKey"), ("fortinet", "N3wPskSecret")],
)
def test_vendor_secrets_are_redacted_by_pattern(platform: str, secret: str) -> None:
    diff = compute_diff(fixture(platform, "running"), fixture(platform, "intended"), platform)
    redactor = redactor_for(platform)
    shown = diff.unified(redactor) + "\n".join(redactor.redact_lines(diff.remediation + diff.rollback))
    assert secret not in shown
    assert secret in "\n".join(diff.remediation)  # what is sent still carries it
    assert REDACTED in shown


def test_redactor_hides_known_values_anywhere() -> None:
    redactor = redactor_for("frr", secrets={"hunter2-long", "ab"})
    text = redactor.redact("description hunter2-long is here; ab stays")
    assert "hunter2-long" not in text
    # Very short values are not replaced by value (they would wreck every line).
    assert "ab stays" in text



@pytest.mark.parametrize("shown", [" undo version 1", " version 2"])
def test_vrp_ikev2_only_peer_reads_the_same_in_either_release_form(shown: str) -> None:
    """AR V200 prints an IKEv2-only peer as `undo version 1`, NetEngine AR as `version 2`: both
    are in sync with the template's `undo version 1`, and a push never sends `undo version 2`."""
    intended = "#\nike peer STORE-1\n undo version 1\n ike-proposal 10\n#\nreturn\n"
    running = f"#\nike peer STORE-1\n{shown}\n ike-proposal 10\n#\nreturn\n"
    assert compute_diff(running, intended, "huawei_vrp").in_sync
    assert remediation_lines(running, intended, "huawei_vrp") == ()
    # A peer that still takes both versions gets `undo version 1`, nothing else.
    both = "#\nike peer STORE-1\n ike-proposal 10\n#\nreturn\n"
    assert [line.strip() for line in remediation_lines(both, intended, "huawei_vrp")] == [
        "ike peer STORE-1",
        "undo version 1",
        "quit",
    ]


@pytest.mark.parametrize(
    "shown", ["ssh authentication-type default password", "ssh user default-authentication-type password"]
)
def test_vrp_default_ssh_authentication_reads_the_same_in_either_release_form(shown: str) -> None:
    """The default SSH authentication type (HWTACACS operators log in over SSH) printed in the
    AR V200 form or the newer releases' one is in sync with the template's line."""
    intended = "#\nstelnet server enable\nssh authentication-type default password\n#\nreturn\n"
    running = f"#\nstelnet server enable\n{shown}\n#\nreturn\n"
    assert compute_diff(running, intended, "huawei_vrp").in_sync
    assert remediation_lines(running, intended, "huawei_vrp") == ()


@pytest.mark.parametrize("golden", ["dual-wan", "hub"])
def test_vrp_first_push_creates_the_loopback_before_naming_it(golden: str) -> None:
    """An AR out of the box has no LoopBack0 and refuses a source interface it has not created:
    the first push creates the loopback before NTP, syslog (or anything) names it."""
    intended = (Path(__file__).parent / "golden" / "huawei_vrp" / f"{golden}.cfg").read_text(encoding="utf-8")
    factory = "#\nsysname AR6120\n#\ninterface GigabitEthernet0/0/0\n shutdown\n#\nreturn\n"
    sent = [line.strip() for line in remediation_lines(factory, intended, "huawei_vrp")]
    created = sent.index("interface LoopBack0")
    naming = [i for i, line in enumerate(sent) if "LoopBack0" in line and i != created]
    assert naming and min(naming) > created


def test_fortios_remediation_goes_in_dependency_order_with_deletions_last() -> None:
    """FortiOS refuses a reference to an object not defined yet and the deletion of one in use:
    a route-map rule moves to a new prefix-list (created before the rule names it), and the old
    one is deleted only after the rule no longer names it."""
    running = (
        "config router route-map\n"
        '    edit "OUT"\n        config rule\n            edit 1\n'
        '                set match-ip-address "OLD"\n            next\n        end\n    next\nend\n'
        "config router prefix-list\n"
        '    edit "OLD"\n        config rule\n            edit 1\n'
        "                set prefix 10.0.0.0 255.0.0.0\n            next\n        end\n    next\nend\n"
    )
    intended = running.replace('"OLD"', '"NEW"')
    lines = [line.strip() for line in compute_diff(running, intended, "fortinet").remediation]
    assert lines.index('edit "NEW"') < lines.index('set match-ip-address "NEW"') < lines.index('delete "OLD"')
    assert lines[-3:] == ["config router prefix-list", 'delete "OLD"', "end"]


def test_an_frr_hosts_swanctl_psk_is_hidden_by_its_shape_alone() -> None:
    """The FRR host's swanctl.conf holds its PSKs as `secret = "…"`; a PSK the redactor was not
    given by value (a rotated one, a file from elsewhere) must still not show."""
    swanctl = 'secrets {\n    ike-nw-0001-wan1-hub1 {\n        id = hub1.example\n        secret = "Unkn0wn PSK-value"\n    }\n}\n'
    shown = redactor_for("frr").redact(swanctl)
    assert "Unkn0wn" not in shown and "PSK-value" not in shown
    assert f"        secret = {REDACTED}\n" in shown and "id = hub1.example" in shown
