"""The fleet's SNMPv3 protocol pair (`management.snmp_auth` / `snmp_priv`) on every platform.

The fleet has one SNMPv3 user, polled by one NMS, so every appliance takes the pair the fleet
chose, spelled as its platform documents it (`common/snmp.py`). A platform that documents no
keyword for the chosen protocol is refused at render, never given the weaker SHA-1 / AES-128 it
had before: an NMS set to HMAC-SHA-256 would otherwise fail on it, or an auditor would find it
weaker than the fleet's policy."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.common.platforms import Platform
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.devices.errors import RenderError
from storestack.devices.render import render_store
from storestack.inventory import Fleet

STORE = SHAPES["dual-wan"]


def with_snmp(fleet: Fleet, auth: SnmpAuth, priv: SnmpPriv) -> Fleet:
    """The same fleet with the SNMPv3 pair `auth` / `priv` (set past the inventory's check, as a
    fleet loaded before the check or built by hand would be)."""
    management = fleet.spec.management.model_copy(update={"snmp_auth": auth, "snmp_priv": priv})
    spec = fleet.spec.model_copy(update={"management": management})
    return Fleet(spec, fleet.hubs, {store.id: store for store in fleet}, fleet.root)


def rendered(fleet: Fleet, platform: Platform) -> str:
    """The store's config and companion files, as one text."""
    (config,) = render_store(on_platform(fleet, platform), STORE, reveal_secrets=True)
    return "\n".join([config.text, *(text for _, text in config.companions)])


@pytest.mark.usefixtures("device_secrets")
@pytest.mark.parametrize(
    ("platform", "auth", "priv", "expected"),
    [
        # net-snmp: createUser NAME SHA-256 PASS AES PASS (snmpd.conf(5), 5.9.3)
        ("frr", "sha256", "aes128", r'^createUser nw-netops SHA-256 "Snmp\.Auth_Key_42" AES "Snmp\.Priv_Key_43"$'),
        # FortiOS: auth-proto sha256 is written (not the default `show` omits); priv-proto aes is
        # the default, so it is not.
        (
            "fortinet",
            "sha256",
            "aes128",
            r'^        set security-level auth-priv\n        set auth-proto sha256\n        set auth-pwd "?Snmp\.Auth_Key_42"?\n'
            r'        set priv-pwd "?Snmp\.Priv_Key_43"?$',
        ),
        # IOS-XE: priv aes 256
        (
            "cisco_xe",
            "sha1",
            "aes256",
            r"^snmp-server user nw-netops STORESTACK v3 auth sha Snmp\.Auth_Key_42 priv aes 256 Snmp\.Priv_Key_43 access MGMT-HQ$",
        ),
        # VRP on an AR: SHA-1 / AES-128, the only pair it documents
        (
            "huawei_vrp",
            "sha1",
            "aes128",
            r"^snmp-agent usm-user v3 nw-netops authentication-mode sha cipher Snmp\.Auth_Key_42\n"
            r"snmp-agent usm-user v3 nw-netops privacy-mode aes128 cipher Snmp\.Priv_Key_43$",
        ),
    ],
)
def test_each_platform_spells_the_fleets_pair(
    fleet: Fleet, platform: Platform, auth: SnmpAuth, priv: SnmpPriv, expected: str
) -> None:
    text = rendered(with_snmp(fleet, auth, priv), platform)
    assert re.search(expected, text, re.MULTILINE), [line for line in text.splitlines() if "snmp" in line.lower() or "-pwd" in line]


@pytest.mark.usefixtures("device_secrets")
@pytest.mark.parametrize(
    ("platform", "auth", "priv", "refused"),
    [
        ("cisco_xe", "sha256", "aes128", "cisco_xe documents no SNMPv3 authentication 'sha256'"),
        ("huawei_vrp", "sha256", "aes128", "huawei_vrp documents no SNMPv3 authentication 'sha256'"),
        ("huawei_vrp", "sha1", "aes256", "huawei_vrp documents no SNMPv3 privacy 'aes256'"),
        ("fortinet", "sha256", "aes256", "fortinet documents no SNMPv3 privacy 'aes256'"),
        ("frr", "sha256", "aes256", "frr documents no SNMPv3 privacy 'aes256'"),
    ],
)
def test_a_pair_the_platform_does_not_document_is_refused_not_weakened(
    fleet: Fleet, platform: Platform, auth: SnmpAuth, priv: SnmpPriv, refused: str
) -> None:
    with pytest.raises(RenderError, match=re.escape(refused)):
        rendered(with_snmp(fleet, auth, priv), platform)
