"""Names held to a length: a readable head and a hash of the full name (`shortened`), for names
built from inventory ids and link names (up to 32 characters each) where a device or the kernel
takes fewer."""

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
