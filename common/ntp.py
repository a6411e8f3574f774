"""NTP authentication algorithms: what each one computes, and which platforms implement which.

One NTP key (a key id and a secret on the NTP servers) verifies packets with exactly one
algorithm, and the four platforms share none that is not MD5 (RFC 8573 deprecates MD5 for NTP):

- `aes128-cmac`: AES-128-CMAC over the packet (RFC 4493), the MAC RFC 8573 recommends. IOS-XE
  `cmac-aes-128` (System Management Configuration Guide, Cisco IOS XE, "Configuring NTP
  Authentication": "Cipher-based message authentication codes (CMAC) with the AES-128
  algorithm ... key length is 16 or 32 bytes"); chrony `AES128` (chrony.conf(5) `keyfile`: "the
  length of the key must match the cipher (i.e. 128 bits for AES128)"); ntpd/NTPsec `AES128CMAC` /
  `AES-128` (ntp.keys(5)). Huawei AR VRP and FortiOS have none.
- `hmac-sha256`: RFC 2104 HMAC with SHA-256. IOS-XE `hmac-sha2-256` (same guide: "Authentication
  using HMAC using the SHA2 hash function. The digest length is 256 bits and the key length is 1
  to 32 bytes"); Huawei VRP `hmac-sha256` ("ntp-service authentication-keyid": "hashed message
  authentication code-secure hash algorithm 256 (HMAC-SHA256)"). chrony, ntpd and NTPsec have no
  HMAC key type, so the NTP servers need an implementation that has one for this key.
- `sha256`: NTP's classic keyed digest (RFC 5905 style): SHA-256 over the key, then the packet,
  truncated to 20 octets in NTPv4 (chrony `SHA256`: `HSH_Hash(key, packet)` in keys.c,
  `NTP_MAX_V4_MAC_LENGTH` in ntp_auth.c; ntpd/NTPsec `SHA256`: "Digests or CMACs longer than 20
  bytes will be truncated", ntp.keys(5)). FortiOS 7.4.4+ `set key-type SHA256` (Administration
  Guide, "Cryptographic hash function authentication support"; the guide names the hash function
  only, and FortiOS's NTP client is taken to compute it as ntpd does).

Each platform authenticates its servers with the first of the fleet's keys whose algorithm it
implements and trusts every such key; the NTP servers hold every key.
"""

from __future__ import annotations

from typing import Literal, get_args

from storestack.common.platforms import Platform

NtpAlgorithm = Literal["aes128-cmac", "hmac-sha256", "sha256"]
NTP_ALGORITHMS: tuple[NtpAlgorithm, ...] = get_args(NtpAlgorithm)

# What each algorithm computes, for messages, `network show` and the README's table.
NTP_ALGORITHM_TEXT: dict[NtpAlgorithm, str] = {
    "aes128-cmac": "AES-128-CMAC (RFC 8573)",
    "hmac-sha256": "HMAC-SHA256 (RFC 2104)",
    "sha256": "keyed SHA-256 digest (ntpd/chrony SHA256, 20 octets in NTPv4)",
}

# The algorithms each platform implements, in the sense above (not its keyword: that is the
# platform module's). chrony on the FRR hosts: Debian 12's chrony 4.3 is built with Nettle,
# which gives it AES-CMAC (chrony NEWS 4.0 "Add support for AES-CMAC keys (AES128, AES256) with
# Nettle").
PLATFORM_NTP_ALGORITHMS: dict[Platform, tuple[NtpAlgorithm, ...]] = {
    "frr": ("aes128-cmac", "sha256"),
    "cisco_xe": ("aes128-cmac", "hmac-sha256"),
    "huawei_vrp": ("hmac-sha256",),
    "fortinet": ("sha256",),
}

# The secret's length each algorithm takes, as the platforms that implement it take a key typed
# as text: AES-128 needs exactly 16 bytes (chrony refuses any other length for AES128; IOS-XE
# takes 16 or 32), HMAC-SHA256 1-32 bytes on IOS-XE (VRP takes up to 255), the keyed digest at
# most 32 like the others (FortiOS documents no limit of its own). None shorter than 16, the
# floor of every key (`network.secrets.MIN_KEY_LENGTH`).
NTP_KEY_LENGTHS: dict[NtpAlgorithm, tuple[int, int]] = {
    "aes128-cmac": (16, 16),
    "hmac-sha256": (16, 32),
    "sha256": (16, 32),
}


def key_length_rule(algorithm: NtpAlgorithm) -> str:
    low, high = NTP_KEY_LENGTHS[algorithm]
    if low == high:
        return f"exactly {low} characters (an {algorithm} NTP key)"
    return f"{low}-{high} characters (an {algorithm} NTP key)"
