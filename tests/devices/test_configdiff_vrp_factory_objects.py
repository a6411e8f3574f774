"""What an AR creates by itself is left alone; what storestack rendered is still compared.

A real AR's running config holds objects the device made and no template renders: the default
RADIUS template, PKI realm, SSL policy and IKE proposal, the NAC access profiles, the console,
the AAA view's default schemes and domains (an AR1000V V300R019C00SPC300's and eNSP's AR
V200R003C00's `display current-configuration`; devices/platforms/huawei_vrp.py
FACTORY_OBJECTS cites each). Before, the VRP diff sent `undo` for every one of them (the
device refuses some; `undo http secure-server enable` asks a question the push cannot answer)
and drift reported them on every AR. Only those objects are left alone: another object of the
same kind, or a block storestack rendered once and no longer does, is still deleted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storestack.devices.configdiff import compute_diff, remediation_lines

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"

# Top-level objects as the AR1000V prints them (some in VRP5's one-space form after `#`).
FACTORY_BLOCKS = """\
authentication-profile name default_authen_profile
authentication-profile name dot1x_authen_profile
authentication-profile name dot1xmac_authen_profile
authentication-profile name mac_authen_profile
authentication-profile name multi_authen_profile
authentication-profile name portal_authen_profile
#
radius-server template default
#
pki realm default
#
ssl policy default_policy type server
 pki-realm default
 version tls1.2
 ciphersuite rsa_aes_128_cbc_sha rsa_aes_128_sha256 rsa_aes_256_sha256 ecdhe_rsa_aes128_gcm_sha256 ecdhe_rsa_aes256_gcm_sha384
#
ike proposal default
 encryption-algorithm aes-256 aes-192 aes-128
 dh group14
 authentication-algorithm sha2-512 sha2-384 sha2-256
 authentication-method pre-share
 integrity-algorithm hmac-sha2-256
 prf hmac-sha2-256
#
free-rule-template name default_free_rule
#
portal-access-profile name portal_access_profile
#
 http secure-server ssl-policy default_policy
 http secure-server enable
#
user-interface con 0
 authentication-mode aaa
#
dot1x-access-profile name dot1x_access_profile
#
mac-access-profile name mac_access_profile
#
ops
#
autostart
#
secelog
#
 ms-channel
#
"""
# The AAA view's own schemes and domain, printed in the one `aaa` block with storestack's.
FACTORY_AAA = """\
 authentication-scheme default
 authentication-scheme radius
  authentication-mode radius
 authorization-scheme default
 accounting-scheme default
 local-aaa-user password policy administrator
 local-aaa-user password policy access-user
 domain default
  authentication-scheme default
"""


def with_factory_objects(config: str, blocks: str = FACTORY_BLOCKS, aaa: str = FACTORY_AAA) -> str:
    """`config` as an AR holding it shows it: its own objects after `sysname`, its AAA defaults
    first in the `aaa` view."""
    shown = re.sub(r"(?m)^(sysname .*\n#\n)", lambda m: m.group(1) + blocks, config, count=1)
    shown = shown.replace("\naaa\n", "\naaa\n" + aaa, 1)
    assert shown.count("radius-server template default") == 1 and "\naaa\n authentication-scheme default\n" in shown
    return shown


@pytest.mark.parametrize("name", ["hub", "dual-wan", "mall-guest"])
def test_an_ar_holding_its_config_beside_its_own_objects_is_in_sync(name: str) -> None:
    intended = (GOLDEN / f"{name}.cfg").read_text()
    running = with_factory_objects(intended)
    diff = compute_diff(running, intended, "huawei_vrp")
    assert diff.remediation == () and diff.rollback == ()
    assert remediation_lines(running, intended, "huawei_vrp") == ()


def test_what_storestack_no_longer_renders_is_still_deleted() -> None:
    """A block storestack rendered once (a cloud site's filter), and objects of the factory
    kinds under other names, are deleted as before: only the AR's own are left alone."""
    intended = (GOLDEN / "hub.cfg").read_text()
    running = with_factory_objects(
        intended,
        blocks=FACTORY_BLOCKS + "acl name FROM-CLOUD-AWS9 3090\n rule 5 deny ip\n#\nradius-server template CORP\n#\n",
        aaa=FACTORY_AAA + " domain corp\n",
    )
    sent = [line.strip() for line in compute_diff(running, intended, "huawei_vrp").remediation]
    # Deleted in the documented form, by name alone, last (AR command reference "acl name").
    assert sent[-1] == "undo acl name FROM-CLOUD-AWS9"
    assert "undo radius-server template CORP" in sent
    assert "undo domain corp" in sent
    assert not [line for line in sent if "default" in line or "_profile" in line or line.startswith("undo ops")]


def test_a_factory_object_the_intent_amends_is_still_compared() -> None:
    """`domain default_admin` is the AR's own, and storestack's management block amends it: an AR
    that lets administrators in by the default scheme again is drift, and the push sets it back."""
    intended = (GOLDEN / "dual-wan.cfg").read_text()
    running = with_factory_objects(intended).replace(
        " domain default_admin\n  authentication-scheme STORESTACK\n",
        " domain default_admin\n  authentication-scheme default\n",
        1,
    )
    sent = [line.strip() for line in compute_diff(running, intended, "huawei_vrp").remediation]
    assert sent[:2] == ["aaa", "domain default_admin"]
    assert "authentication-scheme STORESTACK" in sent
