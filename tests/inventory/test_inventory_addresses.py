"""span() gives a network's first and last address as the standard library computes them."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from storestack.inventory.addresses import span


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_span_is_the_first_and_the_broadcast_address(value: int, prefixlen: int) -> None:
    net = ipaddress.IPv4Network((value, prefixlen), strict=False)
    assert span(net) == (int(net.network_address), int(net.broadcast_address))
