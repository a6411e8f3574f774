"""A FortiGate store's SD-WAN members and rules, local-in policies, DoS policies and underlay routes
keep their ids when the inventory adds a link, removes a segment or changes the store's home hub,
and when a hub is added to the fleet; so do a FortiGate hub's local-in policies of its cloud VPNs
and its DC port when a hub or an AWS region is added.

They were numbered by place: such a change turned one entry into another under the same id (a
member's interface moved to the other hub's tunnel, an SD-WAN rule became the next rule, a local-in
accept took a deny's place, a port's DoS policy moved to another port, an underlay route led to
another hub), so while the push edited them a live store steered, filtered or routed by the wrong
entry. Now every id both configs hold is one entry in both (the same interface, name, port or
destination), the push adds an entry before it deletes the one it replaces, and at every line of
the push (and of its rollback) the unit holds every entry both configs hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.emulator_push import forti_entries, fortios_held, fortios_holding, send_to_fortios
from testsupport.rendering import edited_sample_chain, on_platform, three_hub_chain

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.forticonfig import FortiConfig
from storestack.lab.emulator.profiles.fortinet import FortiSession

Entries = dict[str, frozenset[tuple[str, str]]]
Tables = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]

# (table, its block's path from the top, the settings that say what an entry is)
TABLES: Tables = (
    ("SD-WAN member", ("system sdwan", "members"), ("interface",)),
    ("SD-WAN rule", ("system sdwan", "service"), ("name",)),
    ("local-in policy", ("firewall local-in-policy",), ("intf", "dstaddr", "service", "action")),
    ("DoS policy", ("firewall DoS-policy",), ("interface",)),
    ("static route", ("router static",), ("dst", "device")),
)
HUB_TABLES: Tables = (("local-in policy", ("firewall local-in-policy",), ("intf", "dstaddr", "service", "action")),)
STORE = "nw-0008"  # homed on hq-hub2, guest Wi-Fi, IoT kept off its 5G link
LTE = "  - name: lte1\n    kind: 5g\n"
ADDED_LINK = (
    "  - name: wan2\n    kind: broadband\n    isp: KPN Zakelijk\n    bandwidth_mbps: 200\n"
    "    monthly_cost: 60\n    priority: 20\n    port: 2\n"
)


def _rendered(chain: Fleet, store: str = STORE) -> str:
    ((config,),) = [render_store(on_platform(chain, "fortinet", "frr"), store)]
    return config.text


def _edited(tmp_path: Path, old: str, new: str) -> str:
    return _rendered(load_fleet(edited_sample_chain(tmp_path, old, new, f"stores/{STORE}.yaml")))


def _ids(text: str, tables: Tables = TABLES) -> dict[str, Entries]:
    config = FortiConfig(text)
    return {table: forti_entries(config, path) for table, path, _ in tables}


def _what(entry: frozenset[tuple[str, str]], key: tuple[str, ...]) -> tuple[str | None, ...]:
    settings = dict(entry)
    return tuple(settings.get(k) for k in key)


def _kept_ids_are_one_entry(before: str, after: str, tables: Tables = TABLES) -> None:
    """Every id of each table that both configs hold names one entry in both: the same interface,
    rule, policy or route, never another one edited in place."""
    old, new = _ids(before, tables), _ids(after, tables)
    for table, _, key in tables:
        for number in sorted(old[table].keys() & new[table].keys()):
            was, becomes = _what(old[table][number], key), _what(new[table][number], key)
            assert was == becomes, f"{table} {number} is {was} before and {becomes} after"


def _held_at_every_line(
    session: FortiSession, lines: tuple[str, ...], before: str, after: str, tables: Tables
) -> None:
    """Each line sent (a refused one fails); after every one the unit holds every entry of each
    table that `before` and `after` both hold, by what it is (its key settings) and under the id
    both give it."""
    kept = {}
    for table, path, key in tables:
        old, new = forti_entries(FortiConfig(before), path), forti_entries(FortiConfig(after), path)
        kept[table] = {(n, _what(old[n], key)) for n in old.keys() & new.keys() if _what(old[n], key) == _what(new[n], key)}
    for line in lines:
        send_to_fortios(session, [line])
        config = fortios_held(session)
        for table, path, key in tables:
            entries = forti_entries(config, path)
            held = {(n, _what(entry, key)) for n, entry in entries.items()}
            missing = kept[table] - held
            assert not missing, f"after {line!r} the unit holds no {table} {sorted(missing)}"


def _pushed(before: str, after: str, tables: Tables = TABLES) -> None:
    device, session = fortios_holding(before)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    _held_at_every_line(session, diff.remediation, before, after, tables)
    running = device.running_text()
    assert _ids(running, tables) == _ids(after, tables)
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()
    _held_at_every_line(session, diff.rollback, after, before, tables)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync


@pytest.fixture(scope="module")
def full(fleet: Fleet) -> str:
    return _rendered(fleet)


@pytest.fixture(scope="module")
def rehomed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The store homed on hq-hub1 instead."""
    return _edited(tmp_path_factory.mktemp("rehomed"), "hub: hq-hub2\n", "hub: hq-hub1\n")


@pytest.fixture(scope="module")
def with_link(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second broadband link between wan1 and lte1 in preference, on a port of its own (lte1's
    port stated, as a store whose links change states them)."""
    return _edited(tmp_path_factory.mktemp("link"), LTE, ADDED_LINK + LTE + "    port: 1\n")


@pytest.fixture(scope="module")
def without_iot(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _edited(tmp_path_factory.mktemp("iot"), "  iot: {vlan: 50}\n", "")


@pytest.fixture(scope="module")
def with_third_hub(tmp_path_factory: pytest.TempPathFactory) -> str:
    """hq-hub3 added after hq-hub2: the store keeps hq-hub2 and takes hq-hub3 for hq-hub1."""
    return _rendered(load_fleet(three_hub_chain(tmp_path_factory.mktemp("hub3"))))


def test_the_changes_change_what_the_tables_hold(
    full: str, rehomed: str, with_link: str, without_iot: str, with_third_hub: str
) -> None:
    """Each edit is one the tables feel: the home hub leads the SD-WAN rules, a link adds members,
    a DoS policy and a port's local-in policies, IoT's wired-only rule goes, hq-hub3's members and
    routes replace hq-hub1's."""
    def first_members(text: str) -> str:
        return next(dict(e)["priority-members"] for e in _ids(text)["SD-WAN rule"].values() if ("name", '"pos"') in e)

    assert first_members(full) != first_members(rehomed)
    assert len(_ids(with_link)["DoS policy"]) == len(_ids(full)["DoS policy"]) + 1
    assert ('"iot-wired"',) in {_what(e, ("name",)) for e in _ids(full)["SD-WAN rule"].values()}
    assert ('"iot-wired"',) not in {_what(e, ("name",)) for e in _ids(without_iot)["SD-WAN rule"].values()}
    interfaces = {_what(e, ("interface",))[0] for e in _ids(with_third_hub)["SD-WAN member"].values()}
    assert any("hq-hub3" in str(name) for name in interfaces)
    assert not any("hq-hub1" in str(name) for name in interfaces)


@pytest.mark.parametrize("change", ["rehomed", "with_link", "without_iot", "with_third_hub"])
def test_every_kept_id_is_one_entry_both_ways(full: str, change: str, request: pytest.FixtureRequest) -> None:
    other = request.getfixturevalue(change)
    _kept_ids_are_one_entry(full, other)
    _kept_ids_are_one_entry(other, full)


@pytest.mark.parametrize("change", ["rehomed", "with_link", "without_iot", "with_third_hub"])
def test_the_push_holds_every_kept_entry_at_every_line(full: str, change: str, request: pytest.FixtureRequest) -> None:
    other = request.getfixturevalue(change)
    _pushed(full, other)
    _pushed(other, full)


def test_the_sdwan_rules_keep_their_order(full: str, with_link: str) -> None:
    """FortiOS takes the first SD-WAN rule that matches, in the table's order, not by id: after a
    push the unit holds the rules in the intended order."""
    device, session = fortios_holding(with_link)
    send_to_fortios(session, compute_diff(device.running_text(), full, "fortinet", held=HELD_AS_SENT).remediation)
    held = list(forti_entries(device.forti(), ("system sdwan", "service")))
    assert held == list(_ids(full)["SD-WAN rule"])


def _hub(chain: Fleet) -> str:
    return render_hub(on_platform(chain, "fortinet"), "hq-hub1").text


@pytest.fixture(scope="module")
def hub(fleet: Fleet) -> str:
    return _hub(fleet)


@pytest.fixture(scope="module")
def hub_with_third_hub(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _hub(load_fleet(three_hub_chain(tmp_path_factory.mktemp("hub-hub3"))))


@pytest.fixture(scope="module")
def hub_with_region(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second AWS region: two more cloud VPNs, listed before the OpenStack site's."""
    root = edited_sample_chain(tmp_path_factory.mktemp("region"), "regions: [eu-west-1]", "regions: [eu-west-1, us-east-1]")
    return _hub(load_fleet(root))


def test_the_region_adds_cloud_local_in_policies(hub: str, hub_with_region: str) -> None:
    intfs = {_what(e, ("intf",))[0] for e in _ids(hub_with_region, HUB_TABLES)["local-in policy"].values()}
    assert '"aws1-us-east-1"' in intfs
    assert len(_ids(hub_with_region, HUB_TABLES)["local-in policy"]) == len(_ids(hub, HUB_TABLES)["local-in policy"]) + 4


@pytest.mark.parametrize("change", ["hub_with_third_hub", "hub_with_region"])
def test_a_hubs_kept_local_in_ids_are_one_policy_and_held_at_every_line(
    hub: str, change: str, request: pytest.FixtureRequest
) -> None:
    other = request.getfixturevalue(change)
    _kept_ids_are_one_entry(hub, other, HUB_TABLES)
    _kept_ids_are_one_entry(other, hub, HUB_TABLES)
    _pushed(hub, other, HUB_TABLES)
