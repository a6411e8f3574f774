"""Interface names shared with the lab, and FRR's interface ordering."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storestack.devices.naming import (
    LINUX_IFNAMSIZ,
    frr_interface_order,
    hub_interface_name,
    sort_frr_interfaces,
)


def test_short_names_are_readable() -> None:
    assert hub_interface_name("nw-0001", "wan1") == "nw-0001-wan1"


def test_long_names_fit_linux_and_stay_distinct() -> None:
    names = {
        hub_interface_name(f"northwind-store-{n:05d}", link) for n in range(2000) for link in ("wan1", "lte1")
    }
    assert len(names) == 4000
    assert max(len(name) for name in names) <= LINUX_IFNAMSIZ
    assert hub_interface_name("northwind-store-00001", "wan1") == hub_interface_name(
        "northwind-store-00001", "wan1"
    )


def test_frr_order_compares_digit_runs_as_numbers() -> None:
    names = [
        "wan10",
        "lan0.100",
        "wan2",
        "lo",
        "lan0",
        "lan0.20",
        "nw-0010-lte1",
        "nw-0002-wan1",
        "a1",
        "a-1",
    ]
    assert sorted(names, key=frr_interface_order) == [
        "a-1", "a1", "lan0", "lan0.20", "lan0.100", "lo", "nw-0002-wan1", "nw-0010-lte1", "wan2", "wan10",
    ]  # fmt: skip


@given(st.lists(st.text(alphabet="abl-.0123456789", min_size=1, max_size=8), max_size=25))
def test_fast_frr_sort_always_matches_frr_rule(names: list[str]) -> None:
    assert sort_frr_interfaces(names) == sorted(names, key=frr_interface_order)


def test_frr_sort_of_hub_tunnel_names_matches_frr_rule() -> None:
    # A hub's store tunnels (`<store>-<link>`, hashed where too long) in FRR's order, with and
    # without a zero run ("00"), the one case the fast key alone orders unlike FRR.
    names = [hub_interface_name(f"ms-{n:05d}", link) for n in range(1, 400, 7) for link in ("wan1", "lte1", "broadband2")]
    names += ["lo", "dc", "xfrm65537", "xfrm65538"]
    assert sort_frr_interfaces(names[::-1]) == sorted(names, key=frr_interface_order)
    with_zero_runs = [*names, "x00", "x0", "x000-1", "lan0.00", "lan0.0"]
    assert sort_frr_interfaces(with_zero_runs[::-1]) == sorted(with_zero_runs, key=frr_interface_order)
