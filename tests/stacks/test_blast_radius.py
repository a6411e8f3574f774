"""Nothing destroys much of the fleet by accident, and removed stores are destroyed on purpose.

The blast-radius guard stops render, matrix and plan with exit 2 when more store stacks would
be destroyed than allowed; `stacks matrix` lists removed stores' stacks under `destroy`; shards
are never empty while there are enough stores; plans are kept per fleet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from stack_harness import copy_sample_chain

from storestack.cli.main import cli
from storestack.common.destroyguard import DestroyRefusedError, guard_destroy
from storestack.inventory import load_fleet
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.stacks.plan import plans_dir_for
from storestack.stacks.render import Shard, plan_stacks, stack_matrix


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def pinned_fleet(tmp_path: Path) -> Path:
    fleet_dir = copy_sample_chain(tmp_path)
    load_fleet(fleet_dir, write_lock=True)
    return fleet_dir


def test_matrix_lists_a_removed_stores_stack_under_destroy(pinned_fleet: Path, tmp_path: Path) -> None:
    (pinned_fleet / "stores" / "nw-0007.yaml").unlink()
    out = tmp_path / "never-rendered"  # CI runs the matrix on a fresh checkout
    code, output = _invoke(
        "stacks", "matrix", "--fleet", str(pinned_fleet), "--out", str(out), "--shards", "2"
    )
    # The matrix is read by CI as JSON: so is its refusal.
    assert code == 2 and "1 of 8 store stacks would be destroyed (store-nw-0007)" in json.loads(output)["error"]
    code, output = _invoke(
        "stacks",
        "matrix",
        "--fleet",
        str(pinned_fleet),
        "--out",
        str(out),
        "--shards",
        "2",
        "--allow-destroy",
        "1",
    )
    assert code == 0, output
    shards = json.loads(output)["include"]
    assert [name for shard in shards for name in shard["destroy"]] == ["store-nw-0007"]
    assert all("store-nw-0007" not in shard["stacks"] for shard in shards)


def test_render_refuses_to_orphan_many_stacks_and_writes_nothing(pinned_fleet: Path, tmp_path: Path) -> None:
    for store_id in ("nw-0002", "nw-0003", "nw-0004"):
        (pinned_fleet / "stores" / f"{store_id}.yaml").unlink()
    out = tmp_path / "out"
    code, output = _invoke("stacks", "render", "--fleet", str(pinned_fleet), "--out", str(out), "--json")
    assert code == 2
    assert json.loads(output)["error"].startswith("3 of 8 store stacks would be destroyed")
    assert not out.exists()
    code, output = _invoke(
        "stacks", "render", "--fleet", str(pinned_fleet), "--out", str(out), "--json", "--allow-destroy", "2"
    )
    assert code == 2 and "--allow-destroy 2 allows at most 2" in json.loads(output)["error"]
    code, output = _invoke(
        "stacks", "render", "--fleet", str(pinned_fleet), "--out", str(out), "--json", "--allow-destroy", "3"
    )
    assert code == 0 and json.loads(output)["destroy"] == ["store-nw-0002", "store-nw-0003", "store-nw-0004"]


def test_plan_refuses_when_the_saved_plans_show_most_stacks_removed(tmp_path: Path) -> None:
    fleet_dir = copy_sample_chain(tmp_path)
    plans = tmp_path / "plans"
    plans.mkdir()
    for index in range(20):  # another, bigger fleet's plans
        (plans / f"store-xx-{index:04d}.json").write_text("{}")
    code, output = _invoke(
        "plan", "--fleet", str(fleet_dir), "--plans-dir", str(plans), "--stack", "core", "--json"
    )
    assert code == 0, output  # a partial plan never reads other stacks as removed
    code, output = _invoke(
        "plan", "--fleet", str(fleet_dir), "--plans-dir", str(plans), "--json", "--workers", "1"
    )
    assert code == 2 and "20 of 28 store stacks would be destroyed" in json.loads(output)["error"]
    assert len(list(plans.glob("*.json"))) == 21  # nothing deleted; only the core plan was added


def test_plans_are_kept_per_fleet(tmp_path: Path) -> None:
    first = load_fleet(copy_sample_chain(tmp_path / "a"))
    second = load_fleet(copy_sample_chain(tmp_path / "b"))
    assert plans_dir_for(first) != plans_dir_for(second)
    assert plans_dir_for(first) == plans_dir_for(load_fleet(first.root))


@pytest.mark.parametrize(("stores", "shards"), [(20, 3), (8, 8), (9, 4), (50, 7), (3, 3)])
def test_no_shard_is_empty_while_there_are_enough_stores(tmp_path: Path, stores: int, shards: int) -> None:
    write_fleet(generate_fleet(stores, seed=stores), tmp_path / "fleet")
    fleet = load_fleet(tmp_path / "fleet")
    matrix = stack_matrix(fleet, tmp_path / "out", shards=shards)
    # A shard's stores: those to bring up and its decommissioned ones (to destroy).
    members = [sorted(shard["stacks"] + shard["destroy"]) for shard in matrix["include"]]
    sizes = [len(names) for names in members]
    assert min(sizes) >= stores // shards >= 1 and max(sizes) <= -(-stores // shards)
    assert sorted(name for names in members for name in names) == sorted(
        f"store-{store.id}" for store in fleet
    )
    for index, names in enumerate(members, start=1):  # `--shard K/N` plans the same stacks
        entries, _ = plan_stacks(fleet, tmp_path / "out", shard=Shard(index, shards))
        assert sorted(e.name for e in entries if e.kind == "store") == names


def test_adding_a_store_moves_few_stacks_between_shards(tmp_path: Path) -> None:
    write_fleet(generate_fleet(40, seed=3), tmp_path / "fleet")
    before = load_fleet(tmp_path / "fleet")
    write_fleet(generate_fleet(41, seed=3), tmp_path / "fleet")
    after = load_fleet(tmp_path / "fleet")
    where: dict[str, list[str]] = {}
    for fleet in (before, after):
        for shard in stack_matrix(fleet, tmp_path / "out", shards=4)["include"]:
            for name in shard["stacks"] + shard["destroy"]:
                where.setdefault(name, []).append(shard["shard"])
    moved = [name for name, seen in where.items() if len(seen) == 2 and seen[0] != seen[1]]
    assert len(moved) <= 3  # at most one across each of the three boundaries


def test_the_guard_counts_share_and_number() -> None:
    guard_destroy(["store-a"], 20, None)
    with pytest.raises(DestroyRefusedError, match="1 of 5 store stacks"):
        guard_destroy(["store-a"], 5, None, what="store stacks")
    with pytest.raises(DestroyRefusedError):
        guard_destroy(["store-a", "store-b"], 1000, None)
    guard_destroy(["store-a", "store-b"], 2, 2)
