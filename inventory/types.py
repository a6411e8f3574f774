"""Constrained value types for every string that can reach a device config or a cloud name.

Each type is an allow-list: the validator says what is accepted, never what is refused, so a
newline, a `!`, a CLI keyword glued onto a value or a unicode look-alike cannot pass.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from storestack.common import patterns
from storestack.common.asn import ASN_FIRST, ASN_LAST
from storestack.common.secretrefs import parse_secret_ref

_SLUG = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
_HOSTNAME_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_TEXT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .,'()&/_+-]{0,61}[A-Za-z0-9.)'])?")
_SERIAL = re.compile(r"[A-Z0-9][A-Z0-9-]{2,31}")
# A physical port's name as a platform spells it (GigabitEthernet0, mgmt, mgmt1, MEth0/0/1): a
# letter, then letters, digits and / . -; 1-32 chars, no spaces or quotes (it reaches a config line).
_PORT = re.compile(r"[A-Za-z][A-Za-z0-9/.-]{0,31}")
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_TAG = re.compile(patterns.TAG)
_URL = re.compile(patterns.HTTPS_URL)
_AWS_REGION = re.compile(patterns.AWS_REGION)
_AWS_ACCOUNT = re.compile(patterns.AWS_ACCOUNT_ID)
_AZ_SUFFIX = re.compile(r"[a-z]")
# An IAM role's path and name, at most a trailing `*` on the name (the stack checks it again).
_IAM_ROLE = re.compile(patterns.IAM_ROLE)


def describe(value: object) -> str:
    """A value quoted for an error message: ASCII-escaped, so a newline cannot break the message's
    own line and a unicode look-alike shows as what it is (`'\\u0430'`), and cut to 60 chars."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = str(value) if isinstance(value, int) else ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_reason(exc: Exception) -> str:
    """ipaddress's reason for refusing a value, in a few safe words (its own text repeats the value)."""
    reason = str(exc)
    if "host bits set" in reason:
        return "host bits set"
    if "netmask" in reason or "prefix" in reason:
        return "bad prefix length"
    return "bad address"


def _refuse(kind: str, message: str) -> PydanticCustomError:
    """An error whose message is final: no context, so braces in a hostile value stay literal."""
    return PydanticCustomError(kind, message)


def _require_str(value: object) -> str:
    if not isinstance(value, str):
        raise _refuse("storestack_type", f"{describe(value)} is not a string")
    return value


def _pattern_type(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: object) -> str:
        text = _require_str(value)
        if not pattern.fullmatch(text):
            raise _refuse("storestack_pattern", f"{describe(text)} is not {what}")
        return text

    return BeforeValidator(check)


Slug = Annotated[str, _pattern_type(_SLUG, "a slug (lower-case letters, digits and '-', 2-32 chars)")]
Text = Annotated[
    str,
    _pattern_type(
        _TEXT,
        "allowed text (ASCII letters, digits, space and . , ' ( ) & / _ + -; 1-63 chars, no trailing space)",
    ),
]
Serial = Annotated[str, _pattern_type(_SERIAL, "a serial number (A-Z, 0-9 and '-', 3-32 chars)")]
PortName = Annotated[str, _pattern_type(_PORT, "a port name (a letter, then letters, digits and / . -; 1-32 chars)")]
HostKeyFingerprint = Annotated[
    str, _pattern_type(_FINGERPRINT, "an OpenSSH SHA256 host-key fingerprint ('SHA256:' + 43 chars)")
]
TagText = Annotated[str, _pattern_type(_TAG, "an allowed tag value (1-128 chars, no control characters)")]
HttpsUrl = Annotated[str, _pattern_type(_URL, "an https URL")]
AwsRegion = Annotated[str, _pattern_type(_AWS_REGION, "an AWS region name (e.g. eu-west-1)")]
AwsAccountId = Annotated[str, _pattern_type(_AWS_ACCOUNT, "a 12-digit AWS account id")]
AzSuffix = Annotated[str, _pattern_type(_AZ_SUFFIX, "an availability-zone letter (a-z)")]
IamRolePath = Annotated[
    str, _pattern_type(_IAM_ROLE, "an IAM role's path and name (e.g. saml/staff-sign-in; a '*' only at the end)")
]


def _check_hostname(value: object) -> str:
    text = _require_str(value)
    labels = text.split(".")
    if len(text) > 253 or not all(_HOSTNAME_LABEL.fullmatch(label) for label in labels):
        raise _refuse(
            "storestack_hostname",
            f"{describe(text)} is not an RFC 1123 hostname (lower-case labels of a-z, 0-9 and '-', 1-63 chars)",
        )
    return text


Hostname = Annotated[str, BeforeValidator(_check_hostname)]


def _check_vlan(value: int) -> int:
    if not 1 <= value <= 4094:
        raise _refuse("storestack_vlan", f"{value} is not a VLAN id (1-4094)")
    return value


def _check_asn(value: int) -> int:
    if not ASN_FIRST <= value <= ASN_LAST:
        raise _refuse("storestack_asn", f"{value} is not a BGP ASN ({ASN_FIRST}-{ASN_LAST})")
    return value


def _strict_int(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse("storestack_int", f"{describe(value)} is not a whole number")
    return value


VlanId = Annotated[int, BeforeValidator(_strict_int), AfterValidator(_check_vlan)]
Asn = Annotated[int, BeforeValidator(_strict_int), AfterValidator(_check_asn)]


def _check_network(value: object) -> ipaddress.IPv4Network:
    text = _require_str(value) if not isinstance(value, ipaddress.IPv4Network) else str(value)
    try:
        network = ipaddress.IPv4Network(text)
    except ValueError as exc:
        reason = describe_reason(exc)
        if reason == "host bits set":
            reason += f"; did you mean {ipaddress.IPv4Network(text, strict=False)}?"
        raise _refuse(
            "storestack_cidr", f"{describe(text)} is not an IPv4 network in CIDR form ({reason})"
        ) from None
    if "/" not in text:
        raise _refuse("storestack_cidr", f"{describe(text)} needs a prefix length (e.g. /24)")
    return network


def _check_interface(value: object) -> ipaddress.IPv4Interface:
    text = _require_str(value) if not isinstance(value, ipaddress.IPv4Interface) else str(value)
    if "/" not in text:
        raise _refuse("storestack_ifaddr", f"{describe(text)} needs a prefix length (e.g. 192.0.2.1/30)")
    try:
        return ipaddress.IPv4Interface(text)
    except ValueError as exc:
        raise _refuse(
            "storestack_ifaddr",
            f"{describe(text)} is not an IPv4 interface address like 192.0.2.1/30 ({describe_reason(exc)})",
        ) from None


def _check_address(value: object) -> ipaddress.IPv4Address:
    text = _require_str(value) if not isinstance(value, ipaddress.IPv4Address) else str(value)
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise _refuse("storestack_address", f"{describe(text)} is not an IPv4 address") from None


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_check_network)]
InterfaceAddress = Annotated[ipaddress.IPv4Interface, BeforeValidator(_check_interface)]
IPv4 = Annotated[ipaddress.IPv4Address, BeforeValidator(_check_address)]


def _check_secret_ref(value: object) -> str:
    """A reference, never the secret: what is written here in its place is most likely the
    secret itself, pasted in, so the message does not quote it (it reaches CI logs)."""
    hidden = "(the value is not shown: it may be the secret itself)"
    if not isinstance(value, str):
        raise _refuse("storestack_type", f"not a string {hidden}")
    try:
        parse_secret_ref(value)
    except ValueError as exc:
        raise _refuse("storestack_secret_ref", f"not {exc} {hidden}") from None
    return value


SecretRef = Annotated[str, BeforeValidator(_check_secret_ref)]
EnvPrefix = Annotated[
    str,
    _pattern_type(re.compile(r"[A-Z][A-Z0-9_]{1,31}_"), "an environment variable prefix (e.g. STORESTACK_)"),
]


def _check_directory(value: object) -> str:
    text = _require_str(value)
    if not (
        text.startswith("/") and os.path.normpath(text) == text and text.isprintable() and len(text) < 256
    ):
        raise _refuse(
            "storestack_directory", f"{describe(text)} is not an absolute, normalised directory path"
        )
    return text


AbsoluteDirectory = Annotated[str, BeforeValidator(_check_directory)]
