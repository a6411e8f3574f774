"""The FortiOS emulator refuses what FortiOS refuses: a setting that names an object not defined
yet ("entry not found in datasource"), a tunnel interface made anywhere but by its phase 1, and
the deletion of an object something still refers to. The push sends FortiOS configs in an order
it accepts: every rendered store and hub config goes onto a factory unit, and back off again."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), "fortinet")


def _unit(running: str | None = None) -> tuple[DeviceState, FortiSession]:
    device = DeviceState(EmulatedDevice(name="fgt", platform="fortinet", running_config=running))
    return device, FortiSession(device)


def _send(session: FortiSession, lines: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """(line, error) of every line the unit refused."""
    refused = []
    for line in lines:
        output = session.handle(line).output
        if "Command fail" in output:
            refused.append((line.strip(), output.splitlines()[0]))
    return refused


def test_a_reference_to_an_undefined_object_is_refused() -> None:
    device, session = _unit()
    refused = _send(
        session,
        [
            "config firewall policy",
            "edit 1",
            'set srcintf "port2"',
            'set dstintf "hub-wan1"',
            'set srcaddr "POS-NET"',
            'set dstaddr "all"',
            'set service "ALL"',
            "next",
            "end",
        ],
    )
    assert refused == [
        ('set dstintf "hub-wan1"', "entry not found in datasource"),
        ('set srcaddr "POS-NET"', "entry not found in datasource"),
    ]
    # Defined first, in its own block, the same reference is taken.
    assert not _send(session, ["config firewall address", 'edit "POS-NET"', "set subnet 10.0.0.0 255.255.255.0", "next", "end"])
    assert not _send(session, ["config firewall policy", "edit 1", 'set srcaddr "POS-NET"', "next", "end"])
    assert 'set srcaddr "POS-NET"' in device.running_text()


def test_a_phase2_before_its_phase1_and_a_tunnel_made_in_system_interface_are_refused() -> None:
    _device, session = _unit()
    assert _send(session, ["config vpn ipsec phase2-interface", 'edit "t1"', 'set phase1name "t1"', "next", "end"]) == [
        ('set phase1name "t1"', "entry not found in datasource")
    ]
    assert _send(session, ["config system interface", 'edit "t1"', "set type tunnel", "next", "end"]) == [
        ("set type tunnel", "entry not found in datasource")
    ]
    # The phase 1 makes its tunnel interface; then both are taken.
    assert not _send(session, ["config vpn ipsec phase1-interface", 'edit "t1"', 'set interface "port1"', "next", "end"])
    assert not _send(session, ["config system interface", 'edit "t1"', "set type tunnel", "set ip 10.0.0.1 255.255.255.255", "next", "end"])
    assert not _send(session, ["config vpn ipsec phase2-interface", 'edit "t1"', 'set phase1name "t1"', "next", "end"])


def test_an_object_in_use_cannot_be_deleted() -> None:
    _device, session = _unit()
    _send(session, ["config vpn ipsec phase1-interface", 'edit "t1"', 'set interface "port1"', "next", "end"])
    _send(session, ["config vpn ipsec phase2-interface", 'edit "t1"', 'set phase1name "t1"', "next", "end"])
    assert _send(session, ["config vpn ipsec phase1-interface", 'delete "t1"', "end"]) == [
        ('delete "t1"', "The entry is used by other 1 entries")
    ]
    assert not _send(session, ["config vpn ipsec phase2-interface", 'delete "t1"', "end"])
    assert not _send(session, ["config vpn ipsec phase1-interface", 'delete "t1"', "end"])


def test_a_conditional_advertisement_naming_an_undefined_route_map_is_refused() -> None:
    # The route-map advertised (the entry's name) and its condition are both route-maps.
    _device, session = _unit()
    _send(session, ["config router route-map", 'edit "BEACON-CONDITION"', "next", 'edit "HUB-STORES"', "next", "end"])
    neighbour = ["config router bgp", "config neighbor", 'edit "10.0.0.4"', "set remote-as 65000", "config conditional-advertise"]
    assert _send(session, [*neighbour, 'edit "HUB-STORE"', "end", "next", "end", "end"]) == [
        ('edit "HUB-STORE"', "entry not found in datasource")
    ]
    assert _send(
        session, [*neighbour, 'edit "HUB-STORES"', 'set condition-routemap "BEACON-CONDITON"', "next", "end", "next", "end", "end"]
    ) == [('set condition-routemap "BEACON-CONDITON"', "entry not found in datasource")]
    assert not _send(
        session,
        [*neighbour, 'edit "HUB-STORES"', 'set condition-routemap "BEACON-CONDITION"', "next", "end", "next", "end", "end"],
    )
    # Nor can a route-map the advertisement names be deleted while it does.
    assert _send(session, ["config router route-map", 'delete "BEACON-CONDITION"', "end"]) == [
        ('delete "BEACON-CONDITION"', "The entry is used by other 1 entries")
    ]


def _configs(fleet: Fleet) -> list[tuple[str, str]]:
    stores = [(store_id, render_store(fleet, store_id)[0].text) for store_id in sorted(set(SHAPES.values()))]
    return [*stores, ("hq-hub1", render_hub(fleet, "hq-hub1").text)]


def test_rendered_configs_in_template_order_are_refused(fleet: Fleet) -> None:
    """The templates' order alone does not suit FortiOS (a hub's phase 1s are bound to a loopback
    the config defines later; tunnel interfaces come before their phase 1): pasted as rendered,
    the unit refuses lines."""
    _device, session = _unit()
    hub = render_hub(fleet, "hq-hub1").text
    refused = _send(session, [line for line in hub.splitlines() if line.strip() and not line.startswith("#")])
    assert ('set interface "ike-endpoint"', "entry not found in datasource") in refused


@pytest.mark.parametrize("index", range(len(SHAPES) + 1))
def test_every_rendered_config_goes_onto_a_factory_unit_and_back_off(fleet: Fleet, index: int) -> None:
    name, intended = _configs(fleet)[index]
    device, session = _unit()
    factory = device.running_text()
    diff = compute_diff(factory, intended, "fortinet")
    assert _send(session, diff.remediation) == [], name
    # The unit now shows what was intended (its secrets as ENC values it was just sent): nothing
    # left to send.
    assert compute_diff(device.running_text(), intended, "fortinet", held=HELD_AS_SENT).in_sync, name
    # And the rollback (deletions after what refers to them) takes the unit back.
    assert _send(session, diff.rollback) == [], name
    assert compute_diff(device.running_text(), factory, "fortinet").in_sync, name


def test_a_removed_store_leaves_the_hub_in_dependency_order(fleet: Fleet) -> None:
    """Dropping a store deletes its policies' references, BGP neighbour, route-map, prefix-list,
    phase 2 and phase 1, each after whatever referred to it."""
    hub = render_hub(fleet, "hq-hub1").text
    fewer = Fleet(fleet.spec, fleet.hubs, {k: v for k, v in fleet.stores.items() if k != "nw-0002"}, fleet.root)
    smaller = render_hub(fewer, "hq-hub1").text
    device, session = _unit()
    assert _send(session, compute_diff(device.running_text(), hub, "fortinet").remediation) == []
    # the unit holds every secret of the hub's config: it was just sent
    diff = compute_diff(device.running_text(), smaller, "fortinet", held=HELD_AS_SENT)
    deletions = [line.strip() for line in diff.remediation if line.strip().startswith("delete ")]
    assert deletions, "removing a store deletes its objects"
    assert _send(session, diff.remediation) == []
    assert compute_diff(device.running_text(), smaller, "fortinet", held=HELD_AS_SENT).in_sync
    assert "nw-0002" not in device.running_text()
    # Nor the addresses its source group held (named by prefix, not by store).
    assert not [p for p in fleet.store("nw-0002").advertised_prefixes if f'"SRC-{p}"' in device.running_text()]


def test_a_section_sent_in_two_blocks_counts_its_changes_once_each(fleet: Fleet) -> None:
    """A hub's interfaces go in two blocks (ports and loopbacks, then the tunnels their phase 1s
    made): the change count reads both."""
    device, _session = _unit()
    diff = compute_diff(device.running_text(), render_hub(fleet, "hq-hub1").text, "fortinet")
    assert sum(1 for line in diff.remediation if line == "config system interface") == 2
    changes = [
        line
        for line in diff.remediation
        if line.strip() not in ("end", "next") and not line.strip().startswith(("config ", "edit "))
    ]
    assert diff.change_lines == len(changes)


def test_every_section_the_templates_render_has_its_place_in_the_send_order(fleet: Fleet) -> None:
    """A section no stage names is sent after the named ones and its entries are never deleted:
    each section a FortiOS template renders needs its stage in `fortinet.SEND_ORDER`."""
    from storestack.devices.platforms.fortinet import SEND_ORDER

    staged = {stage.section for stage in SEND_ORDER}
    rendered = {line for _name, text in _configs(fleet) for line in text.splitlines() if line.startswith("config ")}
    assert rendered - staged == set()


@pytest.mark.parametrize(
    ("block", "good", "bad"),
    [
        (["config system sdwan", "config members"], "512", "513"),
        (["config system sdwan", "config service"], "4000", "4001"),
        (["config firewall DoS-policy"], "9999", "10000"),
    ],
)
def test_an_id_out_of_its_tables_range_is_refused(block: list[str], good: str, bad: str) -> None:
    """A numbered table takes the ids FortiOS documents only (SD-WAN members 1-512, SD-WAN rules
    1-4000, DoS policies 0-9999): a rendered id past them would be refused by a real unit."""
    _, session = _unit()
    assert _send(session, [*block, f"edit {good}", "next"]) == []
    assert [line for line, _ in _send(session, [f"edit {bad}"])] == [f"edit {bad}"]


@pytest.mark.parametrize(
    ("block", "line"),
    [
        (["config firewall shaper traffic-shaper"], 'edit "{name}"'),
        (["config firewall shaping-policy", "edit 2001"], 'set name "{name}"'),
        (["config firewall policy", "edit 2001"], 'set name "{name}"'),
        (["config system sdwan", "config service", "edit 1"], 'set name "{name}"'),
    ],
)
def test_a_name_longer_than_its_table_takes_is_refused(block: list[str], line: str) -> None:
    """A traffic shaper's name, a policy's, a shaping policy's and an SD-WAN rule's take 35
    characters at most (FortiOS Administration Guide 7.4.0, "Text strings"; Fortinet's schema of
    each table): a rendered name past that would be refused by a real unit."""
    _, session = _unit()
    assert _send(session, [*block, line.format(name="Q" * 35)]) == []
    _, session = _unit()
    refused = line.format(name="Q" * 36)
    assert _send(session, [*block, refused]) == [(refused, f"string {'Q' * 36!r} longer than 35 characters")]


def test_a_shaping_policy_naming_a_long_shaper_is_refused_for_its_length() -> None:
    _, session = _unit()
    lines = ["config firewall shaping-policy", "edit 2001", f'set traffic-shaper "{"Q" * 36}"']
    assert _send(session, lines) == [(lines[-1], f"string {'Q' * 36!r} longer than 35 characters")]
