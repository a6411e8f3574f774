"""The factory `admin` account of a FortiGate: restricted to the management ranges like every
administrator the config defines (trusted hosts on some administrators only leave the unit
taking administrative access attempts from anywhere for the one without), its password left as
the operator set it, and never created again where someone removed it."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint.fortinet import parse
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet

FACTORY_ADMIN = (
    '    edit "admin"\n'
    '        set accprofile "super_admin"\n'
    '        set vdom "root"\n'
    "        set password ENC SH2nlSGaoJwXHnJ3vLH3IC3vTDYS1Nr5XkF0Z6F8GQ2bX0k6Lz0b6f1rDs0RzE=\n"
    "    next\n"
)


def _store_text(fleet: Fleet) -> str:
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES["dual-wan"])
    return config.text


def _rendered_admin(text: str) -> str:
    start = text.index('    edit "admin"\n')
    return text[start : text.index("    next\n", start) + len("    next\n")]


@pytest.mark.parametrize("shape", [*sorted(SHAPES), "hub"])
def test_every_administrator_admin_included_takes_logins_from_the_management_ranges_only(
    fleet: Fleet, shape: str
) -> None:
    fleet = on_platform(fleet, "fortinet")
    text = render_hub(fleet, "hq-hub1").text if shape == "hub" else render_store(fleet, SHAPES[shape])[0].text
    admins = {entry.name: entry for entry in parse(text)["system admin"].entries}
    assert "admin" in admins
    ranges = {
        " ".join(e.get("subnet"))
        for e in parse(text)["firewall address"].entries
        if e.name.startswith("MGMT-")
    }
    assert ranges
    for name, entry in admins.items():
        trusted = {
            " ".join(values) for key, (values, _) in entry.settings.items() if key.startswith("trusthost")
        }
        assert trusted == ranges, name


def test_the_factory_admin_gets_trusted_hosts_and_keeps_its_password(fleet: Fleet) -> None:
    intended = _store_text(fleet)
    running = intended.replace(_rendered_admin(intended), FACTORY_ADMIN)
    diff = compute_diff(running, intended, "fortinet")
    remediation = [line.strip() for line in diff.remediation]
    admin = remediation[
        remediation.index('edit "admin"') : remediation.index("next", remediation.index('edit "admin"'))
    ]
    assert admin == ['edit "admin"', "set trusthost1 10.0.250.0 255.255.255.0"]
    assert not [line for line in remediation if "password" in line]
    assert not [line for line in diff.rollback if "password" in line]
    # Once restricted, the account reads as rendered: nothing more to send.
    restricted = intended.replace(
        _rendered_admin(intended),
        _rendered_admin(intended).replace("    next\n", FACTORY_ADMIN.splitlines(True)[3] + "    next\n"),
    )
    assert compute_diff(restricted, intended, "fortinet").in_sync


def test_an_admin_account_someone_removed_is_not_created_again(fleet: Fleet) -> None:
    intended = _store_text(fleet)
    running = intended.replace(_rendered_admin(intended), "")
    diff = compute_diff(running, intended, "fortinet")
    assert diff.in_sync
    assert 'edit "admin"' not in [line.strip() for line in diff.remediation]


def test_hub_and_store_close_an_unauthenticated_ssh_connection_alike(fleet: Fleet) -> None:
    """The SSH grace time (`admin-ssh-grace-time`, FortiOS's default 120 s) is the fleet's on
    every FortiOS appliance: a hub, which holds every store's tunnels, no less than a store."""
    fleet = on_platform(fleet, "fortinet")
    texts = {"hub": render_hub(fleet, "hq-hub1").text}
    texts |= {shape: render_store(fleet, store)[0].text for shape, store in SHAPES.items()}
    grace = {shape: parse(text)["system global"].own.first("admin-ssh-grace-time") for shape, text in texts.items()}
    assert set(grace.values()) == {"30"}, grace
