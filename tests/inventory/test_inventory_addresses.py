"""The fast address constructors build exactly what the standard library builds, or defer to it."""

from __future__ import annotations

import ipaddress
import itertools
import pickle
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storestack.inventory.addresses import address, interface, network, parse_address, parse_network, span


def _same(fast: Any, standard: Any) -> None:
    assert type(fast) is type(standard)
    assert fast == standard and hash(fast) == hash(standard)
    assert str(fast) == str(standard) and repr(fast) == repr(standard)
    assert pickle.loads(pickle.dumps(fast)) == standard


def _same_network(fast: ipaddress.IPv4Network, standard: ipaddress.IPv4Network) -> None:
    _same(fast, standard)
    assert sorted(vars(fast)) == sorted(vars(standard))
    for name in ("network_address", "netmask", "hostmask", "broadcast_address", "prefixlen", "num_addresses"):
        assert getattr(fast, name) == getattr(standard, name), name
    assert list(itertools.islice(fast.hosts(), 3)) == list(itertools.islice(standard.hosts(), 3))
    assert fast.with_prefixlen == standard.with_prefixlen
    assert span(fast) == span(standard) == (int(standard.network_address), int(standard.broadcast_address))
    assert fast.overlaps(standard) and fast.subnet_of(standard) and standard.supernet_of(fast)


@pytest.mark.parametrize("prefixlen", range(33))
def test_networks_of_every_prefix_length_match_the_standard_library(prefixlen: int) -> None:
    for first in (0, 0x0A400000, 0xC0A80100, 0xFFFFFFFF):
        first &= ((1 << 32) - 1) ^ ((1 << (32 - prefixlen)) - 1)
        _same_network(network(first, prefixlen), ipaddress.IPv4Network((first, prefixlen)))
        _same_network(
            parse_network(f"{ipaddress.IPv4Address(first)}/{prefixlen}"),
            ipaddress.IPv4Network(f"{ipaddress.IPv4Address(first)}/{prefixlen}"),
        )


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_interfaces_and_addresses_match_the_standard_library(value: int, prefixlen: int) -> None:
    fast, standard = interface(value, prefixlen), ipaddress.IPv4Interface((value, prefixlen))
    _same(fast, standard)
    assert sorted(vars(fast)) == sorted(vars(standard))
    assert (fast.ip, fast.network, fast.netmask, fast.with_prefixlen) == (
        standard.ip,
        standard.network,
        standard.netmask,
        standard.with_prefixlen,
    )
    _same(address(value), ipaddress.IPv4Address(value))
    _same(parse_address(str(standard.ip)), standard.ip)


@pytest.mark.parametrize(
    "text", ["10.0.0.1/24", "10.0.0.0/33", "010.0.0.0/8", "256.0.0.0/8", "10.0.0/8", "x", ""]
)
def test_what_the_standard_library_refuses_is_refused_with_its_own_error(text: str) -> None:
    with pytest.raises(ValueError) as standard:
        ipaddress.IPv4Network(text)
    with pytest.raises(type(standard.value), match="^" + re.escape(str(standard.value)) + "$"):
        parse_network(text)


@pytest.mark.parametrize(
    "text", ["010.0.0.1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/32", " 1.2.3.4", ""]
)
def test_addresses_the_standard_library_refuses_are_refused_alike(text: str) -> None:
    with pytest.raises(ValueError) as standard:
        ipaddress.IPv4Address(text)
    with pytest.raises(type(standard.value)) as fast:
        parse_address(text)
    assert str(fast.value) == str(standard.value)


def test_host_bits_are_refused_as_the_standard_library_refuses_them() -> None:
    with pytest.raises(ValueError, match="has host bits set"):
        network(0x0A000001, 24)


@pytest.mark.parametrize("text", ["10.0.0.0/08", "10.0.0.0/255.0.0.0", "10.0.0.0/0.255.255.255", "10.0.0.0"])
def test_other_spellings_the_standard_library_takes_are_read_by_it(text: str) -> None:
    _same_network(parse_network(text), ipaddress.IPv4Network(text))
