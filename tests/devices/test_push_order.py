"""A fleet change that adds or removes a hub, pushed in the make-before-break order: at every step
of the push no store is left with fewer hubs on a transport than it has before and after.

A store's tunnel to a hub is up while both ends hold the same tunnel (its id, inside addresses and
the store link's address) and the hub is in service. The push is walked appliance by appliance in
its waves' order (`plan_waves`), each appliance going from the fleet before's intent to the fleet
after's, a retired hub leaving service after the push. With the hubs all pushed before the stores,
adding hq-hub3 cut hq-hub1's end of the hq-hub2 stores' backup tunnels before those stores had
their tunnels to hq-hub3: each had one hub left on every transport until its own push.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from testsupport.cli import cli_runner
from testsupport.rendering import hub_removed_chain, lte_only_chain, three_hub_chain

from storestack.cli.main import cli
from storestack.devices.errors import PushConfigError
from storestack.devices.fleet_targets import targets_from_fleet
from storestack.devices.push_order import (
    FleetChangeOrder,
    TunnelKey,
    hub_store_tunnels,
    make_before_break,
    selection_gaps,
    store_appliances,
    store_end_key,
)
from storestack.devices.runner import PushTargets, plan_waves, step_of
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.ipam import LOCK_FILE_NAME
from storestack.network.build import NetworkIntent
from storestack.network.transition import ChangeIntent

Counts = dict[tuple[str, str], int]


def _up(intent_of: dict[str, NetworkIntent], in_service: set[str]) -> Counts:
    """How many hubs each (store, transport) has a tunnel up to, with each appliance holding the
    intent `intent_of` gives it (a store by its id, a hub by its name)."""
    held: dict[str, frozenset[TunnelKey]] = {
        hub: hub_store_tunnels(intent, hub) for hub, intent in intent_of.items() if hub in in_service
    }
    counts: Counts = {}
    for store_id, intent in intent_of.items():
        if store_id not in intent.fleet.stores:
            continue
        for tunnel in intent.store(store_id).tunnels:
            if tunnel.kind != "store-hub":
                continue
            key = (store_id, tunnel.transport)
            counts[key] = counts.get(key, 0) + (store_end_key(tunnel) in held.get(tunnel.peer, frozenset()))
    return counts


def _steps(before: NetworkIntent, after: NetworkIntent, waves: list[list[str]], order: FleetChangeOrder) -> Iterator[tuple[str, Counts]]:
    """Each step of the push (after which appliance), with the tunnels up then. A hub's first push
    of two (`step_of`: "union") gives it the intent of the fleet during the change."""
    targets = {t.name: t for t in targets_from_fleet(after.fleet).appliances}
    intent_of = {hub: before for hub in before.fleet.hubs} | {store: before for store in before.fleet.stores}
    during = ChangeIntent(before, after.fleet)
    in_service = set(before.fleet.hubs)
    yield "start", _up(intent_of, in_service)
    for index, wave in enumerate(waves, start=1):
        for name in wave:
            target = targets[name]
            step = step_of(order, name, index, waves)
            intent_of[target.store_id if target.role != "hub" else name] = during if step == "union" else after
            in_service |= {name} if target.role == "hub" else set()
            yield f"{name} ({step})" if step else name, _up(intent_of, in_service)
    for hub in order.retired:
        in_service.discard(hub)
        yield f"{hub} retired", _up(intent_of, in_service)


def _walk(before_path: Path, after_path: Path) -> tuple[FleetChangeOrder, list[tuple[str, Counts]], Counts, Counts]:
    before, after = NetworkIntent(load_fleet(before_path)), NetworkIntent(load_fleet(after_path))
    order = make_before_break(before, after)
    waves, _ = plan_waves(PushTargets.from_inventory(targets_from_fleet(after.fleet)), None, order)
    steps = list(_steps(before, after, waves, order))
    return order, steps, steps[0][1], steps[-1][1]


def test_adding_a_hub_keeps_every_store_on_two_hubs(tmp_path: Path) -> None:
    order, steps, start, end = _walk(sample_chain_path(), three_hub_chain(tmp_path))
    # hq-hub2 keeps its tunnels, but its stores' other hub moves from hq-hub1 to hq-hub3: its return
    # partner for them (`_repartnered`), hq-hub1 until each store's push, hq-hub3 from then on
    assert order == FleetChangeOrder(
        before_stores=("hq-hub3",), after_stores=("hq-hub1", "hq-hub2"), retired=(), held_over=("hq-hub1", "hq-hub2")
    )
    assert set(start.values()) == set(end.values()) == {2}
    short = [(step, link, count) for step, counts in steps for link, count in counts.items() if count < 2]
    assert short == [], "a store lost its backup hub during the push"


def test_removing_a_hub_retires_it_after_its_stores_moved(tmp_path: Path) -> None:
    order, steps, start, end = _walk(three_hub_chain(tmp_path), hub_removed_chain(tmp_path / "after"))
    assert order.retired == ("hq-hub2",)
    assert set(start.values()) == set(end.values()) == {2}
    cut = [(step, link) for step, counts in steps for link, count in counts.items() if count == 0]
    assert cut == [], "a store lost every hub on a transport during the push"
    (_, last_push), (retired, gone) = steps[-2:]
    assert retired == "hq-hub2 retired" and gone == last_push, "a store still used the retired hub"


def _short(steps: list[tuple[str, Counts]], start: Counts) -> list[tuple[str, tuple[str, str], int]]:
    """Every step at which a store has fewer tunnels up to hubs in service on a transport than
    before the change."""
    return [(step, link, count) for step, counts in steps for link, count in counts.items() if count < start[link]]


def test_removing_a_hub_keeps_the_stores_it_did_not_serve_on_as_many_hubs(tmp_path: Path) -> None:
    # Removing hq-hub2: hq-hub1's stores move their backup from hq-hub2 to hq-hub3, which also
    # changes the tunnels of the stores moved to it off hq-hub2 and so is pushed last. Pushed once,
    # last, hq-hub3 gave hq-hub1's stores their new backup end only then: from each one's own push
    # to hq-hub3's, one hub on each transport. Pushed twice (with the hubs, holding its old and
    # new tunnels; last, its own), they keep two at every step.
    before, after = three_hub_chain(tmp_path), hub_removed_chain(tmp_path / "after")
    order, steps, start, _ = _walk(before, after)
    assert order.held_over == ("hq-hub1", "hq-hub3")
    rehomed = {
        store.id for store in load_fleet(before).stores.values() if store.primary_hub == "hq-hub2"
    }
    assert rehomed and len(rehomed) < len(load_fleet(before).stores)
    assert [s for s in _short(steps, start) if s[1][0] not in rehomed] == []


def test_a_rehomed_store_keeps_one_hub_per_transport_only_between_its_push_and_its_new_primary(tmp_path: Path) -> None:
    # A store whose primary hub is removed: its tunnel to its backup hub becomes its primary one,
    # with the link's own transit /31 (the backup's is mirrored from the top of the pool), the same
    # tunnel with other addresses on both ends, which no hub can hold twice. So it is down from the
    # store's push to its new primary's last push, and the store holds its other hub meanwhile:
    # one per transport, never none and never longer.
    before, after = three_hub_chain(tmp_path), hub_removed_chain(tmp_path / "after")
    _, steps, start, _ = _walk(before, after)
    names = [step for step, _ in steps]
    rehomed = {store.id for store in load_fleet(before).stores.values() if store.primary_hub == "hq-hub2"}
    for step, (store, transport), count in _short(steps, start):
        assert store in rehomed and count == 1, (step, store, transport)
        position = names.index(step)
        assert names.index(f"{store}-edge1") <= position < names.index("hq-hub3 (final)"), (step, store)


def test_a_store_going_lte_only_keeps_both_hubs_on_its_lte_link_at_every_step(tmp_path: Path) -> None:
    # nw-0002 loses its fibre link, its LTE link cabled where it was (`port: 1`). The LTE link's
    # tunnels are the same tunnels before and after, each on the same hub with the same
    # addresses: no step of the push cuts them. When an all-cellular store's first link took the
    # primary hub as its home, both tunnels swapped addresses and numbers between the hubs, and
    # the store had no hub at all from its own push to the hubs' (its management path too).
    _, steps, start, end = _walk(sample_chain_path(), lte_only_chain(tmp_path, port=1))
    assert start[("nw-0002", "lte1")] == end[("nw-0002", "lte1")] == 2
    assert _short(steps, start) == []
    before, after = NetworkIntent(load_fleet(sample_chain_path())), NetworkIntent(load_fleet(lte_only_chain(tmp_path / "again", port=1)))
    for hub in after.fleet.hubs:
        lte = [key for key in hub_store_tunnels(before, hub) ^ hub_store_tunnels(after, hub) if "lte1" in key[0]]
        assert lte == [], f"{hub} changed the LTE link's tunnel"


def test_adding_a_hub_gives_the_hub_pushed_last_its_session_with_the_new_hub_first(tmp_path: Path) -> None:
    # hq-hub1 drops the backup tunnels of hq-hub2's stores (last) and gains its iBGP session with
    # hq-hub3 (first): pushed once, last, it had no session with hq-hub3 while the stores moved
    # their backup to hq-hub3, whose cloud routes come from hq-hub1 (rank 0) over that session.
    before, after = NetworkIntent(load_fleet(sample_chain_path())), NetworkIntent(load_fleet(three_hub_chain(tmp_path)))
    order = make_before_break(before, after)
    waves, labels = plan_waves(PushTargets.from_inventory(targets_from_fleet(after.fleet)), None, order)
    assert "hq-hub1" in order.held_over and labels[0] == "hubs" and "hq-hub1" in waves[0]
    union = ChangeIntent(before, after.fleet).hub("hq-hub1")
    assert {s.peer for s in union.sessions if s.kind == "hub-hub"} == {"hq-hub2", "hq-hub3"}
    assert hub_store_tunnels(ChangeIntent(before, after.fleet), "hq-hub1") == hub_store_tunnels(before, "hq-hub1")
    assert step_of(order, "hq-hub1", 1, waves) == "union" and step_of(order, "hq-hub1", len(waves), waves) == "final"


def test_a_change_that_moves_a_kept_hubs_dc_address_is_refused(tmp_path: Path) -> None:
    # Without the lock file that pins the hubs' DC core LAN addresses (a fleet whose lock was not
    # carried), removing hq-hub2 gives hq-hub3 hq-hub2's address (its place among the hubs), which
    # hq-hub2 holds until it is retired: two hubs on one address.
    after = hub_removed_chain(tmp_path / "after")
    (after / LOCK_FILE_NAME).unlink()
    before_intent = NetworkIntent(load_fleet(three_hub_chain(tmp_path)))
    with pytest.raises(PushConfigError) as refused:
        make_before_break(before_intent, NetworkIntent(load_fleet(after)))
    assert "hq-hub3 dc_address 10.0.0.5 -> 10.0.0.4, which hq-hub2 holds" in refused.value.message
    assert refused.value.field == "--fleet-before"


def test_a_store_pushed_alone_takes_the_hubs_of_its_move_and_keeps_two_hubs(tmp_path: Path) -> None:
    # Adding hq-hub3: a store homed on hq-hub2 moves its backup from hq-hub1 to hq-hub3. Pushed
    # alone it would wait for hq-hub3's end with one hub on each transport; with what the
    # selection needs (hq-hub3, and hq-hub1 with every store whose tunnel hq-hub1 drops) every
    # store keeps two hubs at every step, whatever the stores outside the selection hold.
    before, after = NetworkIntent(load_fleet(sample_chain_path())), NetworkIntent(load_fleet(three_hub_chain(tmp_path)))
    order = make_before_break(before, after)
    every = PushTargets.from_inventory(targets_from_fleet(after.fleet))
    by_store = store_appliances(every)
    moved = [store for store in by_store if order.store_needs.get(store)]
    assert moved, "the change moves stores"
    for store in by_store:
        selected = set(by_store[store])
        selected |= set(selection_gaps(order, by_store, selected))
        assert selection_gaps(order, by_store, selected) == [], "what a selection needs needs nothing more"
        waves, _ = plan_waves(every.filter(names=sorted(selected)), None, order)
        short = [(step, link) for step, counts in _steps(before, after, waves, order) for link, count in counts.items() if count < 2]
        assert short == [], (store, sorted(selected))
    hub2_store = sorted(order.hub_needs["hq-hub1"])[0]
    assert {"hq-hub1", "hq-hub3"} <= set(selection_gaps(order, by_store, by_store[hub2_store]))
    # hq-hub3 pushed ok in an earlier run of the change: not needed again.
    assert "hq-hub3" not in selection_gaps(order, by_store, by_store[hub2_store], done={"hq-hub3"})


@pytest.mark.parametrize("canary", [None, 2])
def test_change_waves_put_hubs_that_drop_store_tunnels_last(tmp_path: Path, canary: int | None) -> None:
    before, after = NetworkIntent(load_fleet(sample_chain_path())), NetworkIntent(load_fleet(three_hub_chain(tmp_path)))
    targets = PushTargets.from_inventory(targets_from_fleet(after.fleet))
    waves, labels = plan_waves(targets, canary, make_before_break(before, after))
    # hq-hub1 twice: first with what it holds before and after (its session with hq-hub3 gained);
    # hq-hub2 too: first handing its stores' return flows to their backup before and after.
    assert waves[0] == ["hq-hub1", "hq-hub2", "hq-hub3"] and waves[-1] == ["hq-hub1", "hq-hub2"]
    assert labels == (["hubs", "stores", "hubs-last"] if canary is None else ["hubs", "canary", "rest", "hubs-last"])
    assert sorted(name for wave in waves[1:-1] for name in wave) == sorted(t.name for t in targets if t.role != "hub")


def _cli_push(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, before: Path, after: Path, *extra: str) -> Result:
    """`devices push --fleet-before` over targets on a closed loopback port and no intended
    configs: each appliance started fails at its intended config, before anything is reached."""
    runner = cli_runner(monkeypatch, tmp_path)
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "admin")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "Lab.Admin_Pw1")
    appliances = [
        {"name": t.name, "role": t.role, "store_id": t.store_id, "platform": t.platform, "host": "127.0.0.1", "port": 9}
        for t in targets_from_fleet(load_fleet(after)).appliances
    ]
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"source": "test", "appliances": appliances}))
    (tmp_path / "intended").mkdir(exist_ok=True)
    args = ["devices", "push", "--fleet", str(after), "--fleet-before", str(before), "--targets", str(targets)]
    return runner.invoke(cli, [*args, "--intended", str(tmp_path / "intended"), "--state-dir", str(tmp_path / "state"), *extra])


def test_cli_push_with_the_fleet_before_runs_the_change_waves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    after = three_hub_chain(tmp_path)
    result = _cli_push(monkeypatch, tmp_path, sample_chain_path(), after, "--dry-run", "--json")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["wave_labels"] == ["hubs", "stores", "hubs-last"]
    assert payload["waves"][0] == ["hq-hub1", "hq-hub2", "hq-hub3"] and payload["waves"][-1] == ["hq-hub1", "hq-hub2"]
    assert payload["retire_after"] == []
    assert [(d["name"], d["wave"], d["step"]) for d in payload["devices"] if d["name"] == "hq-hub1"] == [
        ("hq-hub1", 1, "union"),
        ("hq-hub1", 3, "final"),
    ]
    first = [d for d in payload["devices"] if d["wave"] == 1]
    assert {d["stage"] for d in first} == {"intended"}, "nothing was reached"
    assert {d["outcome"] for d in payload["devices"] if d["wave"] > 1} == {"skipped"}, "a failed wave stops the change"


def test_cli_push_names_the_hub_to_retire_after_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before, after = three_hub_chain(tmp_path), hub_removed_chain(tmp_path / "after")
    result = _cli_push(monkeypatch, tmp_path, before, after, "--json")
    assert json.loads(result.stdout)["retire_after"] == ["hq-hub2"]
    text = _cli_push(monkeypatch, tmp_path, before, after)
    assert "hq-hub2: no longer in the fleet: keep it in service until a push of this change finished ok" in text.stdout
    # One row per push: the kept hubs' first (failed: no first config in --intended's
    # held-over/) and last (not started).
    rows = [" ".join(line.split()[:3]) for line in text.stdout.splitlines() if "(union)" in line or "(final)" in line]
    assert rows == [
        "hq-hub1 (union) 1", "hq-hub3 (union) 1", "hq-hub1 (final) 3", "hq-hub3 (final) 3"
    ], text.stdout


def test_cli_push_refuses_a_fleet_before_that_is_not_there(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _cli_push(monkeypatch, tmp_path, tmp_path / "missing", sample_chain_path(), "--json")
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["file"] == str(tmp_path / "missing" / "fleet.yaml"), entry
    assert not (tmp_path / "state").exists(), "nothing ran"
