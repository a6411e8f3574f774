"""Names held to a length: a readable head and a hash of the full name (`shortened`), for names
built from inventory ids and link names (up to 32 characters each) where a device or the kernel
takes fewer; the fleet's IKE identities (`IKE_ID_LIMIT`) and the domain they need room under."""

from __future__ import annotations

import hashlib

HASH_LEN = 6


def shortened(full: str, limit: int) -> str:
    """`full` when it fits in `limit` characters, else a readable prefix plus a short hash.

    The hash is of the full name, so two long names that share a prefix never collide.
    """
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:HASH_LEN]
    head = full[: limit - HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


# The longest FQDN IKE identity (`network/build.py` `NetworkIntent.ike_id`): a FortiOS phase 1's
# local ID takes at most 63 characters (`config vpn ipsec phase1-interface`, `localid`: Fortinet's
# schema of the table as its Terraform provider for FortiOS 7.x carries it,
# fortinetdev/terraform-provider-fortios `resource_vpnipsec_phase1interface.go`, "localid"
# `StringLenBetween(0, 63)`; the peer ID it is matched against takes 255), where a store link's
# `<id>-<link>.<domain>` reaches 65 characters before the domain (store ids and link names take up
# to 32 each). Both ends of a tunnel read the identity from the intent, so every platform sends and
# expects the same one.
IKE_ID_LIMIT = 63
# The longest fleet domain that leaves an identity room for a shortened name before it: one
# character of head, a dash and the hash (`shortened`), then the dot before the domain.
IKE_DOMAIN_LIMIT = IKE_ID_LIMIT - (1 + 1 + HASH_LEN) - 1


def ike_domain_refusal(domain: str) -> str | None:
    """Why the IKE identities `<name>.<domain>` cannot be held to `IKE_ID_LIMIT` under `domain`
    (None: they can). The inventory refuses such a domain at its line; the intent at render."""
    if len(domain) <= IKE_DOMAIN_LIMIT:
        return None
    return (
        f"{domain!r} is {len(domain)} characters: the IKE identities <name>.<domain> need a domain of "
        f"at most {IKE_DOMAIN_LIMIT} characters (a FortiOS phase 1's local ID takes {IKE_ID_LIMIT})"
    )


def ike_identity(name: str, domain: str) -> str:
    """The FQDN IKE identity of `name` under a domain `ike_domain_refusal` takes, held to
    `IKE_ID_LIMIT`: a longer name's head and a hash of it (`shortened`) before the domain."""
    return f"{shortened(name, IKE_ID_LIMIT - len(domain) - 1)}.{domain}"
