"""A VRP appliance that holds its intended IPsec configuration reads back in sync.

A NetEngine AR (V300R0xx) shows its IKE and IPsec settings in a form of its own: every IKE peer
with three settings at their defaults that storestack never sets (`rsa encryption-padding oaep`,
`rsa signature-padding pss`, `ikev2 authentication sign-hash sha2-256`), an IKE proposal with its
IKEv1 authentication algorithm at the default (`authentication-algorithm sha2-256`), and an IPsec
proposal without the security protocol and encapsulation mode it has by default (ESP, tunnel),
as a V300R019C00SPC300 AR's `display current-configuration` (a public running config) and
Huawei Cloud's AR651 customer-gateway example have them. The running configs here are the
rendered hub and stores as such an AR shows them: a push must send nothing, and a drift check
report nothing.
"""

from __future__ import annotations

import functools
import re

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet, sample_chain_path

IKE_PEER_SHOWN_DEFAULTS = (
    " rsa encryption-padding oaep",
    " rsa signature-padding pss",
    " ikev2 authentication sign-hash sha2-256",
)


@functools.cache
def _intended(name: str) -> str:
    fleet = load_fleet(sample_chain_path())
    if name == "hub":
        return render_hub(on_platform(fleet, "huawei_vrp"), "hq-hub1").text
    (config,) = render_store(on_platform(fleet, "huawei_vrp", hubs="frr"), SHAPES[name])
    return config.text


def as_the_ar_shows_it(intended: str) -> str:
    """The intended config as a V300R0xx AR prints it back once it holds it."""
    shown = re.sub(r"(?m)^ (?:transform esp|encapsulation-mode tunnel)\n", "", intended)
    shown = re.sub(r"(?m)^( dh group\d+\n)", r"\1 authentication-algorithm sha2-256\n", shown)
    return re.sub(
        r"(?ms)^(ike peer \S+\n.*?)^#\n",
        lambda peer: peer.group(1) + "".join(line + "\n" for line in IKE_PEER_SHOWN_DEFAULTS) + "#\n",
        shown,
    )


@pytest.mark.parametrize("name", ["hub", "dual-wan", "mall-guest"])
def test_an_ar_holding_its_ipsec_config_is_in_sync(name: str) -> None:
    intended = _intended(name)
    running = as_the_ar_shows_it(intended)
    assert running.count(" rsa signature-padding pss\n") == intended.count("\nike peer ") > 0
    diff = compute_diff(running, intended, "huawei_vrp")
    assert diff.remediation == ()


def test_a_setting_away_from_its_default_is_still_a_change() -> None:
    """Only the defaults are read past: an IKE proposal authenticating IKEv1 with SHA-1 is drift,
    and the push puts the default back."""
    intended = _intended("dual-wan")
    running = as_the_ar_shows_it(intended).replace(
        " authentication-algorithm sha2-256\n", " authentication-algorithm sha1\n", 1
    )
    sent = [line.strip() for line in compute_diff(running, intended, "huawei_vrp").remediation]
    assert sent[:2] == ["ike proposal 10", "undo authentication-algorithm sha1"]


def test_the_snmp_engine_id_the_ar_gives_itself_is_no_change() -> None:
    """An AR running an SNMP agent shows the engine ID it generated (`snmp-agent local-engineid`,
    Huawei's enterprise number and its MAC), which storestack never sets: a push must not send
    `undo snmp-agent local-engineid` every time, nor drift report it."""
    intended = _intended("dual-wan")
    running = as_the_ar_shows_it(intended).replace(
        "\nsnmp-agent\n", "\nsnmp-agent local-engineid 800007DB03E0FC000A0B0C\nsnmp-agent\n", 1
    )
    assert "local-engineid" in running
    assert compute_diff(running, intended, "huawei_vrp").remediation == ()


def in_vrp5_display_form(shown: str) -> str:
    """`shown` as an AR printing in VRP5's form shows it: the release in brackets first, and the
    blocks of one-line system-view commands after a `#` indented by one space (` sysname`,
    ` snmp-agent ...`, ` ssh server ...`, ` http ...`), as the AR V200R003 and V300R019C00SPC300
    `display current-configuration` outputs print them."""
    blocks = re.sub(r"(?m)^# storestack:.*\n", "", shown).split("\n#\n")
    indented = [
        "\n".join(" " + line for line in block.split("\n"))
        if re.match(r"(?:sysname|snmp-agent|stelnet|ssh |http )", block)
        else block
        for block in blocks
    ]
    return "[V300R019C00SPC300]\n#\n" + "\n#\n".join(indented)


def test_an_ar_printing_in_vrp5_form_is_in_sync() -> None:
    """Read in VRP5's form, the same held config is the same config: nothing to send (else the
    push would send `undo stelnet server enable` under another line, and cut its own SSH)."""
    intended = _intended("dual-wan")
    running = in_vrp5_display_form(as_the_ar_shows_it(intended))
    assert "\n stelnet server enable\n" in running and "\n snmp-agent\n" in running
    assert running.startswith("[V300R019C00SPC300]\n#\n sysname nw-0002-edge1\n")
    assert compute_diff(running, intended, "huawei_vrp").remediation == ()


def test_the_ars_own_local_zone_is_never_deleted() -> None:
    """A V300R019 AR shows its built-in `firewall zone Local` (for the router itself), which no
    template names: a push must not send `undo firewall zone Local` (a system zone)."""
    intended = _intended("mall-guest")
    running = as_the_ar_shows_it(intended).replace("\nbfd\n#\n", "\nbfd\n#\nfirewall zone Local\n#\n", 1)
    assert "firewall zone Local" in running
    assert compute_diff(running, intended, "huawei_vrp").remediation == ()
