"""The BGP AS numbers the inventory and the cloud components accept, spelled once: the
inventory refuses what the components would refuse (`inventory/types.py` `Asn`,
`inventory/checks.py`; `components/` args' `Field(ge=..., le=...)`)."""

from __future__ import annotations

# Any AS number but 0 and 4294967295 (RFC 7607, RFC 7300: reserved).
ASN_FIRST = 1
ASN_LAST = 4_294_967_294
# What AWS takes as a Transit Gateway's Amazon-side ASN.
TRANSIT_GATEWAY_ASN_FIRST = 64512
TRANSIT_GATEWAY_ASN_LAST = 65534
