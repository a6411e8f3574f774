"""A FortiGate store's DHCP servers, static routes, BGP networks, prefix-list rules and shaping
policies keep their ids when the inventory adds or removes a segment.

They were numbered by place: a segment added or removed renumbered every entry after it, so the
push edited entries in place, and for some lines the unit held one segment's DHCP server twice,
an underlay route twice and another not at all, a shaping policy's name on two policies, or (a
store whose guest Wi-Fi breaks out over a DHCP link) no default route for the breakout. Now a
segment's entries are added or deleted alone: at every line of the push (and of its rollback)
the unit holds every entry that both configs hold, and no two entries of a table for one thing.
A unit still numbered by place takes the new ids in one push that FortiOS accepts and that never
leaves it without an entry both configs hold."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from testsupport.emulator_push import (
    forti_block,
    forti_entries,
    fortios_held,
    fortios_holding,
    send_to_fortios,
)
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.forticonfig import FortiConfig
from storestack.lab.emulator.profiles.fortinet import FortiSession

# (table, its block's path from the top, the settings no two of its entries may share)
TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("static route", ("router static",), ("dst", "device")),
    ("DHCP server", ("system dhcp server",), ("interface",)),
    ("shaping policy", ("firewall shaping-policy",), ("name",)),
    ("BGP network", ("router bgp", "network"), ("prefix",)),
    ("HUB-ROUTES rule", ("router prefix-list", "HUB-ROUTES", "rule"), ("prefix",)),
    ("STORE-PREFIXES rule", ("router prefix-list", "STORE-PREFIXES", "rule"), ("prefix",)),
)
DEFAULT_ROUTE = "0.0.0.0 0.0.0.0"


def _rendered(chain: Fleet, store: str) -> str:
    ((config,),) = [render_store(on_platform(chain, "fortinet", "frr"), store)]
    return config.text


def _edited(tmp_path: Path, store: str, old: str, new: str) -> str:
    return _rendered(load_fleet(edited_sample_chain(tmp_path, old, new, f"stores/{store}.yaml")), store)


def _ids(text: str) -> dict[str, dict[str, frozenset[tuple[str, str]]]]:
    config = FortiConfig(text)
    return {table: forti_entries(config, path) for table, path, _ in TABLES}


def _what(entries: Iterable[frozenset[tuple[str, str]]]) -> set[frozenset[tuple[str, str]]]:
    """What each entry does: its settings but its name (a shaping policy renamed `retired-<id>`
    while it gives its name up shapes as before)."""
    return {frozenset((key, value) for key, value in entry if key != "name") for entry in entries}


def _push_line_by_line(session: FortiSession, lines: tuple[str, ...], before: str, after: str, *, duplicates: bool) -> None:
    """Each line sent (a refused one fails); after every one the unit holds every entry of each
    table that `before` and `after` both hold (with all its settings but its name, under any id) and, unless
    `duplicates` may arise, no two entries of a table sharing its key settings."""
    kept = {}
    for table, path, _ in TABLES:
        old, new = forti_entries(FortiConfig(before), path), forti_entries(FortiConfig(after), path)
        kept[table] = _what(old.values()) & _what(new.values())
    for line in lines:
        send_to_fortios(session, [line])
        config = fortios_held(session)
        for table, path, key in TABLES:
            entries = forti_entries(config, path).values()
            missing = kept[table] - _what(entries)
            assert not missing, f"after {line!r} the unit holds no {table} {sorted(dict(next(iter(missing))).items())}"
            if duplicates:
                continue
            keys = [tuple(dict(entry).get(k) for k in key) for entry in entries]
            assert len(keys) == len(set(keys)), f"after {line!r} two {table}s hold {key}: {sorted(keys)}"


def _pushed(before: str, after: str, *, duplicates: bool = False) -> None:
    device, session = fortios_holding(before)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    _push_line_by_line(session, diff.remediation, before, after, duplicates=duplicates)
    running = device.running_text()
    assert _ids(running) == _ids(after)
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()
    _push_line_by_line(session, diff.rollback, after, before, duplicates=duplicates)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync


# What one segment has in each table: its DHCP server, its shaping policy, its network, its
# STORE-PREFIXES rule, its blackhole route; nothing in HUB-ROUTES.
ONE_SEGMENT = {table: 0 if table == "HUB-ROUTES rule" else 1 for table, _, _ in TABLES}


def _kept_ids_unchanged(before: str, after: str) -> None:
    """Every id of each table that both configs hold is one entry in both, and one config holds
    one segment's entries more."""
    old, new = _ids(before), _ids(after)
    for table, _, _ in TABLES:
        for number in old[table].keys() & new[table].keys():
            assert old[table][number] == new[table][number], f"{table} {number} is another entry in the other config"
        only = old[table].keys() ^ new[table].keys()
        assert len(only) == ONE_SEGMENT[table], f"{table}: ids {sorted(only)} differ for one segment"


@pytest.fixture(scope="module")
def full(fleet: Fleet) -> str:
    """nw-0008: guest Wi-Fi breaking out over its DHCP broadband link (a default route of its own)."""
    return _rendered(fleet, "nw-0008")


@pytest.fixture(scope="module")
def without_cctv(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _edited(tmp_path_factory.mktemp("cctv"), "nw-0008", "  cctv: {vlan: 30}\n", "")


def test_the_store_breaks_out_over_a_dhcp_link(full: str, without_cctv: str) -> None:
    """The default route is an entry both configs hold: the pushes below hold it at every line."""
    (default,) = [e for e in _ids(full)["static route"].values() if ("dst", DEFAULT_ROUTE) in e]
    assert ("dynamic-gateway", "enable") in default
    assert default in _ids(without_cctv)["static route"].values()


def test_a_removed_segment_deletes_its_own_entries_only(full: str, without_cctv: str) -> None:
    _kept_ids_unchanged(full, without_cctv)
    _pushed(full, without_cctv)


def test_an_added_segment_adds_its_own_entries_only(full: str, without_cctv: str) -> None:
    _kept_ids_unchanged(without_cctv, full)
    _pushed(without_cctv, full)


def _by_place(text: str) -> str:
    """`text` with each table's entries numbered 1, 2, ... in list order, as storestack rendered
    them before they had ids of their own."""
    config = FortiConfig(text)
    for _, path, _ in TABLES:
        block = forti_block(config, path)
        block.entries = {str(place): entry for place, entry in enumerate(block.entries.values(), start=1)}
    return config.render()


def test_a_unit_numbered_by_place_takes_the_stable_ids_in_one_accepted_push(full: str) -> None:
    numbered = _by_place(full)
    assert _ids(numbered)["DHCP server"].keys() == {"1", "2", "3", "4", "5"}
    # Old and new entries stand side by side until the old ones are deleted: never one missing.
    _pushed(numbered, full, duplicates=True)
