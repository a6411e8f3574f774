"""FortiCloud SSO administrator login stays off on every FortiOS unit: CVE-2025-59718/59719
(FG-IR-25-647) and CVE-2026-24858 (FG-IR-26-060) let an attacker log in as an administrator
through it on FortiOS 7.4 up to 7.4.8 / 7.4.10 (the fleet runs 7.4.7). It is off by default
("not enabled in default factory settings", both advisories), so the rendered configs leave
`admin-forticloud-sso-login` at that default: a `set ... disable` line would never read back
from `show` (`SHOW_OMITS_DEFAULTS`); a unit whose GUI FortiCare registration turned it on is out
of sync, and the push turns it off again."""

from __future__ import annotations

from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint import ConfigFile
from storestack.devices.lint.fortinet import default_shown
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet

SETTING = "admin-forticloud-sso-login"


def _rendered(fleet: Fleet) -> list[tuple[str, str]]:
    fleet = on_platform(fleet, "fortinet")
    configs = [render_store(fleet, store_id)[0] for store_id in sorted(set(SHAPES.values()))]
    configs.append(render_hub(fleet, "hq-hub1"))
    return [(config.name, config.text) for config in configs]


def _with_sso(text: str, value: str) -> str:
    assert "config system global\n" in text
    return text.replace("config system global\n", f"config system global\n    set {SETTING} {value}\n", 1)


def test_no_rendered_config_sets_forticloud_sso_login(fleet: Fleet) -> None:
    assert [name for name, text in _rendered(fleet) if SETTING in text] == []


def test_a_unit_with_forticloud_sso_login_on_is_turned_off_by_the_push(fleet: Fleet) -> None:
    for _, intended in _rendered(fleet):
        diff = compute_diff(_with_sso(intended, "enable"), intended, "fortinet")
        assert not diff.in_sync
        # `unset` restores the default, off
        assert diff.remediation == ("config system global", f"  unset {SETTING}", "  end")


def test_a_line_setting_it_to_its_default_is_flagged(fleet: Fleet) -> None:
    """`set admin-forticloud-sso-login disable` is the default, which `show` leaves out: the
    unit would never show the line back, and every push and drift check would find it missing."""
    name, text = _rendered(fleet)[0]
    config = ConfigFile(name=name, platform="fortinet", role="edge", hostname=name, text=_with_sso(text, "disable"))
    findings = [f for f in default_shown(config) if SETTING in f.message]
    assert [f.rule for f in findings] == ["fortios-default-shown"]
