"""SNMPv3 (USM) authentication and privacy protocols: what each one is, and which platforms
document which.

The fleet has one SNMPv3 user, so one pair (`management.snmp_auth` / `snmp_priv` in the
inventory, `ManagementAccess.snmp_auth` / `snmp_priv` in the intent): every appliance and the NMS
use it. The inventory refuses a pair a platform of the fleet does not document (`snmp_checks`,
inventory/checks.py), and rendering refuses it too (each platform module's keyword map): an
appliance is never given a weaker pair than the fleet chose.

- `sha1`: HMAC-SHA-96 (RFC 3414 usmHMACSHAAuthProtocol). Every platform.
- `sha256`: HMAC-SHA-256 truncated to 192 bits (RFC 7860 usmHMAC192SHA256AuthProtocol).
  FortiOS 6.4.0+ `set auth-proto sha256` (FortiOS 6.4.0 New Features, "Support SHA-2 for
  SNMPv3", https://docs.fortinet.com/document/fortigate/6.4.0/new-features/391997); net-snmp
  `createUser NAME SHA-256 ...` (snmpd.conf(5) of Debian 12's snmpd 5.9.3: "SHA|SHA-512|SHA-384|
  SHA-256|SHA-224 ... require OpenSSL ... and the agent to be built with OpenSSL support";
  Debian's libsnmp-dev 5.9.3+dfsg-2+deb12u1 net-snmp-config.h defines NETSNMP_USE_OPENSSL).
  Not documented for IOS-XE (its command references give `auth {md5 | sha}`: "snmp-server
  user", Cisco IOS command reference; "Configure SNMPv2c/v3 on Catalyst 9000 Series Switches",
  IOS XE 17.x: MD5 or SHA) nor for Huawei AR VRP (its `snmp-agent usm-user v3` gives
  `authentication-mode { md5 | sha }`; `sha2-256` is documented for VRP8 products, not the AR).
- `aes128`: CFB128-AES-128 (RFC 3826 usmAesCfb128Protocol). Every platform.
- `aes256`: CFB128-AES-256. IOS-XE `priv aes 256` ("snmp-server user", Cisco IOS command
  reference: `priv {des | 3des | aes {128 | 192 | 256}}`; Catalyst 9000 IOS XE 17.x note: "AES
  128-bit, 192-bit, or 256-bit encryption"). No IETF standard fixes how a 256-bit privacy key is
  derived from the passphrase: net-snmp builds two (Debian's libsnmp 5.9.3 is built with
  NETSNMP_DRAFT_BLUMENTHAL_AES_04 and knows `AES-256` and `AES-256-C`), and its snmpd.conf(5)
  documents only `DES|AES` for createUser; FortiOS documents `aes` (CFB128-AES-128) for
  `config system snmp user` (6.2 CLI reference; aes256 is documented for the FortiSwitch
  users under `switch-controller snmp-user` only); Huawei AR VRP documents `aes128` in the
  releases the templates cite. So only IOS-XE takes it.

Where a platform documents nothing stronger, it keeps SHA-1 / AES-128, so a fleet with an IOS-XE
or VRP appliance keeps `sha1`, and one with an FRR, FortiOS or VRP appliance keeps `aes128`
(README, "Management access").
"""

from __future__ import annotations

from typing import Literal, get_args

from storestack.common.platforms import Platform

SnmpAuth = Literal["sha1", "sha256"]
SnmpPriv = Literal["aes128", "aes256"]
SNMP_AUTHS: tuple[SnmpAuth, ...] = get_args(SnmpAuth)
SNMP_PRIVS: tuple[SnmpPriv, ...] = get_args(SnmpPriv)

# The protocols as USM names them: what the NMS polling the fleet is set to (`network show`).
SNMP_AUTH_TEXT: dict[SnmpAuth, str] = {
    "sha1": "HMAC-SHA-96 (RFC 3414; net-snmp SHA)",
    "sha256": "HMAC-SHA-256-192 (RFC 7860; net-snmp SHA-256)",
}
SNMP_PRIV_TEXT: dict[SnmpPriv, str] = {
    "aes128": "CFB128-AES-128 (RFC 3826; net-snmp AES)",
    "aes256": "CFB128-AES-256 (no RFC: the key derivation is the device's)",
}

# The protocols each platform documents, in the sense above (its keyword is the platform
# module's).
PLATFORM_SNMP_AUTHS: dict[Platform, tuple[SnmpAuth, ...]] = {
    "frr": ("sha1", "sha256"),
    "cisco_xe": ("sha1",),
    "huawei_vrp": ("sha1",),
    "fortinet": ("sha1", "sha256"),
}
PLATFORM_SNMP_PRIVS: dict[Platform, tuple[SnmpPriv, ...]] = {
    "frr": ("aes128",),
    "cisco_xe": ("aes128", "aes256"),
    "huawei_vrp": ("aes128",),
    "fortinet": ("aes128",),
}


def snmp_pair_problem(platform: Platform, auth: SnmpAuth, priv: SnmpPriv) -> str | None:
    """Why `platform` cannot take the fleet's SNMPv3 pair, or None when it can."""
    missing = [
        f"{kind} {chosen!r} (it documents {', '.join(usable)})"
        for kind, chosen, usable in (
            ("authentication", auth, PLATFORM_SNMP_AUTHS[platform]),
            ("privacy", priv, PLATFORM_SNMP_PRIVS[platform]),
        )
        if chosen not in usable
    ]
    if not missing:
        return None
    return f"{platform} documents no SNMPv3 " + " nor ".join(missing)
