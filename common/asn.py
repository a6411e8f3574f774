"""The BGP AS numbers the inventory and the cloud components accept, spelled once: the
inventory refuses what the components would refuse (`inventory/types.py` `Asn`,
`inventory/checks.py`; `components/` args' `Field(ge=..., le=...)` and validators)."""

from __future__ import annotations

# Any AS number but 0 and 4294967295 (RFC 7607, RFC 7300: reserved).
ASN_FIRST = 1
ASN_LAST = 4_294_967_294
# What AWS takes as a Transit Gateway's Amazon-side ASN: "The range is 64512 to 65534 for 16-bit
# ASNs and 4200000000 to 4294967294 for 32-bit ASNs. The default is 64512" (EC2 API,
# TransitGatewayRequestOptions `AmazonSideAsn`).
TRANSIT_GATEWAY_ASN_RANGES: tuple[tuple[int, int], ...] = ((64_512, 65_534), (4_200_000_000, 4_294_967_294))
TRANSIT_GATEWAY_ASN_DEFAULT = 64_512
# A virtual private gateway created without an Amazon-side ASN: "If you don't specify an ASN, the
# virtual private gateway is created with the default ASN (64512)" (AWS Site-to-Site VPN User Guide,
# How AWS Site-to-Site VPN works). Either gateway's ASN is the one AWS's end of each of its VPN
# tunnels peers from (the customer gateway configuration's `vpn_gateway/bgp/asn`).
VPN_GATEWAY_ASN_DEFAULT = 64_512
# The ASNs a customer gateway may not have, and the regions AWS keeps each for itself:
# CreateCustomerGateway takes every 2-byte ASN "with the exception of 7224, which is reserved in the
# us-east-1 region, and 9059, which is reserved in the eu-west-1 region" (EC2 API,
# CreateCustomerGateway). Every HQ hub and OpenStack gateway has one in each AWS region, a store
# in its own.
CUSTOMER_GATEWAY_RESERVED_ASNS: dict[int, frozenset[str]] = {
    7224: frozenset({"us-east-1"}),
    9059: frozenset({"eu-west-1"}),
}


def transit_gateway_asn_refusal(asn: int) -> str | None:
    """Why AWS would refuse `asn` as a Transit Gateway's Amazon-side ASN, or None."""
    if any(low <= asn <= high for low, high in TRANSIT_GATEWAY_ASN_RANGES):
        return None
    ranges = " or ".join(f"{low}-{high}" for low, high in TRANSIT_GATEWAY_ASN_RANGES)
    return f"{asn} is not an AWS Transit Gateway ASN ({ranges})"


def customer_gateway_asn_refusal(asn: int, region: str) -> str | None:
    """Why AWS would refuse `asn` for a customer gateway in `region`, or None."""
    if region in CUSTOMER_GATEWAY_RESERVED_ASNS.get(asn, frozenset()):
        return f"ASN {asn} is reserved by AWS in {region}: no customer gateway there may have it"
    return None
