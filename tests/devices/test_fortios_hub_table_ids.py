"""A FortiGate hub's prefix-list rules and BGP aggregates keep their ids when the inventory adds an
HQ range or an AWS region ahead of the others.

TO-STORES' summaries, HUB-STORES' store block, HUBS, each CLOUD-IN-<slot>, FROM-DC, TO-DC,
CLOUD-OUT and the aggregate-address entries were numbered by place, in the fleet's order: a range
or region listed first turned every later rule into the next one in place, so the push edited
rules that had not changed and for those lines the hub dropped routes it had accepted or announced.
Now a network's id is its address: every id both configs hold is one entry in both, and at every
line of the push (and of its rollback) the unit holds every entry both configs hold."""

from __future__ import annotations

import pytest
from testsupport.emulator_push import forti_entries, fortios_holding, fortios_holds_kept_at_every_line
from testsupport.rendering import edited_sample_chain, hq_range_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.errors import RenderError
from storestack.devices.platforms import fortinet
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.forticonfig import FortiConfig, unquote

HUB = "hq-hub1"
# CLOUD-IN-AWS2: the added region's list (its slot is the next after eu-west-1's), none before.
ADDED = "CLOUD-IN-AWS2"
LISTS = ("TO-STORES", "HUB-STORES", "HUBS", "CLOUD-IN-AWS1", ADDED, "CLOUD-IN-OPENSTACK1", "FROM-DC", "TO-DC", "CLOUD-OUT")
TABLES = (
    *((("router prefix-list", name, "rule"), ("prefix", "le")) for name in LISTS),
    (("router bgp", "aggregate-address"), ("prefix",)),
)
Entries = dict[tuple[str, ...], dict[str, tuple[str | None, ...]]]


def _hub(chain: Fleet) -> str:
    return render_hub(on_platform(chain, "fortinet"), HUB).text


def _entries(text: str) -> Entries:
    """Each table's entries by id: what each is (a rule's prefix and `le`, an aggregate's prefix)."""
    config = FortiConfig(text)
    return {
        path: {number: tuple(dict(entry).get(k) for k in key) for number, entry in forti_entries(config, path).items()}
        for path, key in TABLES
    }


@pytest.fixture(scope="module")
def hub(fleet: Fleet) -> str:
    return _hub(fleet)


@pytest.fixture(scope="module")
def with_range(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second HQ range (a DC prefix), listed before 10.0.0.0/16."""
    return _hub(load_fleet(hq_range_chain(tmp_path_factory.mktemp("hq-range"))))


@pytest.fixture(scope="module")
def with_region(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second AWS region, listed before eu-west-1."""
    root = edited_sample_chain(tmp_path_factory.mktemp("aws-region"), "regions: [eu-west-1]", "regions: [eu-central-1, eu-west-1]")
    return _hub(load_fleet(root))


@pytest.mark.parametrize("changed", ["with_range", "with_region"])
def test_every_kept_id_is_one_entry_both_ways(hub: str, changed: str, request: pytest.FixtureRequest) -> None:
    after: str = request.getfixturevalue(changed)
    old, new = _entries(hub), _entries(after)
    assert old != new, "the change added nothing to these tables"
    for path, _ in TABLES:
        assert old[path] or path[1] == ADDED, f"{path} is empty"
        for number in sorted(old[path].keys() & new[path].keys()):
            assert old[path][number] == new[path][number], f"{path} {number}: {old[path][number]} before, {new[path][number]} after"
        # An entry both configs hold keeps its id.
        kept = set(old[path].values()) & set(new[path].values())
        assert {n for n, what in old[path].items() if what in kept} == {n for n, what in new[path].items() if what in kept}, path


def _deleted(lines: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(table path, id) of each `delete` among `lines`, the table named as `TABLES` names it."""
    stack: list[tuple[str, str]] = []
    found: list[tuple[tuple[str, ...], str]] = []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        if word in ("config", "edit"):
            stack.append((word, unquote(rest)))
        elif word == "next":
            while stack and stack.pop()[0] != "edit":
                pass
        elif word == "end" and stack:
            stack.pop()
        elif word == "delete":
            found.append((tuple(name for _, name in stack), unquote(rest)))
    return found


@pytest.mark.parametrize("changed", ["with_range", "with_region"])
def test_the_push_holds_every_kept_entry_at_every_line(hub: str, changed: str, request: pytest.FixtureRequest) -> None:
    after: str = request.getfixturevalue(changed)
    device, session = fortios_holding(hub)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    before_entries, after_entries = _entries(hub), _entries(after)
    kept = {(path, number) for path, _ in TABLES for number, what in before_entries[path].items() if after_entries[path].get(number) == what}
    assert kept
    deleted = set(_deleted(diff.remediation))
    assert not deleted & kept, f"the push deletes {sorted(deleted & kept)}"
    fortios_holds_kept_at_every_line(session, diff.remediation, hub, after, TABLES)
    assert _entries(device.running_text()) == _entries(after)
    fortios_holds_kept_at_every_line(session, diff.rollback, after, hub, TABLES)
    assert compute_diff(device.running_text(), hub, "fortinet", held=HELD_AS_SENT).in_sync


def test_networks_sharing_an_address_are_refused() -> None:
    with pytest.raises(RenderError, match="HUBS 167772160 would be both"):
        fortinet.network_rule_ids(["10.0.0.0/16", "10.0.0.0/8"], "HUBS")
    with pytest.raises(RenderError, match=r"FROM-DC: 0\.0\.0\.0/1"):
        fortinet.network_rule_ids(["0.0.0.0/1"], "FROM-DC", [(fortinet.FROM_DC_DEFAULT_RULE, "0.0.0.0/0")])
