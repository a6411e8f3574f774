"""Which hub carries the cloud flows and where the staff data bucket lives are stated or pinned,
never a place in fleet.yaml.

A hub's cloud rank (`NetworkIntent.cloud_rank`: rank 0 carries every cloud site's flows both
ways, the others prepend and lower their local preference) was its place among the hubs, and the
staff data bucket's region the first region listed: reordering the hubs moved the clouds' flows to
another hub, removing the first hub re-ranked every other, and reordering or removing a region
replaced the bucket. The inventory states them (`cloud_rank` on a hub, `data_region` on an AWS
account) or IPAM pins the default in the lock file, as it pins the cloud tunnels' slots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from testsupport.cli import SECRETS
from testsupport.rendering import committed, edited_sample_chain, three_hub_chain, with_lock_of

from storestack.cli.main import cli
from storestack.inventory import load_fleet
from storestack.inventory.errors import InventoryError
from storestack.inventory.ipam import LOCK_FILE_NAME
from storestack.network.build import NetworkIntent
from storestack.network.show import hub_report

HUB1 = (
    "      - hostname: hq-hub1\n"
    "        platform: frr\n"
    "        management_address: 10.0.250.11\n"
)


def _ranks(root: Path) -> dict[str, int]:
    fleet = load_fleet(root)
    intent = NetworkIntent(fleet)
    ranks = {}
    for hub in fleet.hubs:
        rank = intent.hub(hub).cloud_rank
        assert rank is not None, hub
        ranks[hub] = rank.rank
    return ranks


def _hub_block(text: str, hub: str) -> str:
    match = re.search(rf"(?ms)^      - hostname: {hub}\n.*?(?=^      - hostname: |^ {{0,4}}[a-z])", text)
    assert match, hub
    return match.group(0)


def _fleet_text(root: Path) -> str:
    return (root / "fleet.yaml").read_text()


def _write_fleet(root: Path, text: str) -> None:
    (root / "fleet.yaml").write_text(text)


def _swap_hubs(root: Path, first: str, second: str) -> None:
    text = _fleet_text(root)
    a, b = _hub_block(text, first), _hub_block(text, second)
    _write_fleet(root, text.replace(a, "\0").replace(b, a).replace("\0", b))


def _remove_hub(root: Path, hub: str, successor: str) -> None:
    """`hub` gone from fleet.yaml, its stores homed on `successor`."""
    _write_fleet(root, _fleet_text(root).replace(_hub_block(_fleet_text(root), hub), ""))
    for store in (root / "stores").glob("*.yaml"):
        store.write_text(store.read_text().replace(f"hub: {hub}\n", f"hub: {successor}\n"))


def _stated(root: Path, hub: str, line: str) -> None:
    text = _fleet_text(root)
    block = _hub_block(text, hub)
    _write_fleet(root, text.replace(block, block + f"        {line}\n"))


def test_reordering_the_hubs_keeps_each_hubs_cloud_rank(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(three_hub_chain(tmp_path / "after"), before)
    _swap_hubs(after, "hq-hub1", "hq-hub3")
    assert next(iter(load_fleet(after).hubs)) == "hq-hub3"
    assert _ranks(after) == _ranks(before) == {"hq-hub1": 0, "hq-hub2": 1, "hq-hub3": 2}


def test_removing_the_hub_of_rank_0_re_ranks_no_kept_hub(tmp_path: Path) -> None:
    """The kept hub of the best rank takes the clouds' flows; no other hub's attributes move."""
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(three_hub_chain(tmp_path / "after"), before)
    _remove_hub(after, "hq-hub1", "hq-hub2")
    assert _ranks(after) == {"hq-hub2": 1, "hq-hub3": 2}
    committed(after)
    # hq-hub1's rank stays pinned while its cloud sessions may still be up.
    lock = yaml.safe_load((after / LOCK_FILE_NAME).read_text())
    assert lock["hubs"]["hq-hub1"]["cloud_rank"] == 0
    # `network show HUB` says which hub carries the flows now: the best kept rank, not rank 0.
    intent = NetworkIntent(load_fleet(after))
    assert hub_report(intent, "hq-hub2")["cloud_rank"]["carries"] is True
    assert hub_report(intent, "hq-hub3")["cloud_rank"]["carries"] is False
    shown = CliRunner().invoke(cli, ["network", "show", "hq-hub2", "--fleet", str(after)], env=SECRETS)
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if "cloud rank" in line)
    assert "1 (carries the clouds' flows while its VPNs are up): cloud routes at local preference 90" in line


def test_a_hub_added_first_in_the_file_ranks_after_every_hub(tmp_path: Path) -> None:
    """A new hub takes no hub's cloud flows: it ranks after the others, wherever it is listed."""
    before = committed(edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", "regions: [eu-west-1]"))
    new = (
        "      - hostname: hq-hub3\n"
        "        platform: frr\n"
        "        management_address: 10.0.250.13\n"
        "        public_address: 203.0.113.13\n"
        "        serial: NW-HUB-0003\n"
    )
    after = with_lock_of(edited_sample_chain(tmp_path / "after", HUB1, new + HUB1), before)
    assert next(iter(load_fleet(after).hubs)) == "hq-hub3"
    assert _ranks(after) == {"hq-hub3": 2, "hq-hub1": 0, "hq-hub2": 1}


def test_a_stated_cloud_rank_wins_and_moves_only_the_hub_that_held_it(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(three_hub_chain(tmp_path / "after"), before)
    _stated(after, "hq-hub3", "cloud_rank: 0")
    ranks = _ranks(after)
    assert ranks["hq-hub3"] == 0 and ranks["hq-hub2"] == 1
    assert ranks["hq-hub1"] == 2, "it held rank 0: it moves, to the first rank after the others"
    committed(after)
    lock = yaml.safe_load((after / LOCK_FILE_NAME).read_text())
    assert {hub: lock["hubs"][hub]["cloud_rank"] for hub in ranks} == ranks
    # Stated the other way round later, the ranks follow; pinned, they stay once the lines go.
    _stated(after, "hq-hub1", "cloud_rank: 1")
    _stated(after, "hq-hub2", "cloud_rank: 2")
    assert _ranks(after) == {"hq-hub1": 1, "hq-hub2": 2, "hq-hub3": 0}


def test_one_cloud_rank_stated_for_two_hubs_is_refused_at_the_second(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    _stated(root, "hq-hub1", "cloud_rank: 1")
    _stated(root, "hq-hub3", "cloud_rank: 1")
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == ("fleet.yaml", "sites.hq.hubs[2].cloud_rank")
    lines = _fleet_text(root).splitlines()
    assert issue.line == lines.index("        cloud_rank: 1", lines.index("      - hostname: hq-hub3")) + 1
    assert "cloud rank 1 is already stated for hub hq-hub1" in issue.message


def test_a_cloud_rank_a_removed_hub_still_holds_is_refused_naming_its_lock_entry(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(three_hub_chain(tmp_path / "after"), before)
    _remove_hub(after, "hq-hub1", "hq-hub2")
    _stated(after, "hq-hub3", "cloud_rank: 0")
    with pytest.raises(InventoryError) as refused:
        load_fleet(after)
    (issue,) = refused.value.issues
    assert issue.field == "sites.hq.hubs[1].cloud_rank"
    assert "hubs.hq-hub1" in issue.message and LOCK_FILE_NAME in issue.message


def test_a_cloud_rank_out_of_local_preferences_reach_is_refused(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    _stated(root, "hq-hub2", "cloud_rank: 10")
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert issue.field == "sites.hq.hubs[1].cloud_rank" and "less than 10" in issue.message, issue


def test_a_cloud_rank_given_twice_in_the_lock_file_is_refused_at_its_line(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    path = root / LOCK_FILE_NAME
    text, changed = re.subn(r"(hq-hub2: \{.*)cloud_rank: 1,", r"\1cloud_rank: 0,", path.read_text())
    assert changed == 1
    path.write_text(text)
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == (LOCK_FILE_NAME, "hubs.hq-hub2.cloud_rank")
    assert "cloud rank 0 is already allocated to hubs.hq-hub1.cloud_rank" in issue.message


def test_a_lock_written_before_ranks_keeps_the_ranks_the_fleet_deployed(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    path = root / LOCK_FILE_NAME
    path.write_text(re.sub(r", cloud_rank: \d+", "", path.read_text()))
    _swap_hubs(root, "hq-hub1", "hq-hub3")
    # No pin: the place in the file, what a fleet ranked before the pins had deployed.
    assert _ranks(root) == {"hq-hub3": 0, "hq-hub2": 1, "hq-hub1": 2}


# ----------------------------------------------------------------- the staff data bucket's region

TWO_REGIONS = "regions: [eu-west-1, eu-central-1]"


def _data_region(root: Path) -> str:
    fleet = load_fleet(root)
    (account,) = fleet.spec.sites.aws
    return fleet.data_region(account.name)


def _first_load(root: Path) -> Path:
    """`root` committed as a fleet loaded for the first time: no data region pinned yet."""
    lock = root / LOCK_FILE_NAME
    text, dropped = re.subn(r"(?ms)^aws_accounts:\n.*?(?=^aws_regions:)", "", lock.read_text())
    assert dropped == 1
    lock.write_text(text)
    return committed(root)


def test_the_data_region_is_pinned_and_kept_when_the_regions_are_reordered(tmp_path: Path) -> None:
    before = _first_load(edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", TWO_REGIONS))
    assert _data_region(before) == "eu-west-1"
    lock = yaml.safe_load((before / LOCK_FILE_NAME).read_text())
    assert lock["aws_accounts"] == {"northwind-prod": {"data_region": "eu-west-1"}}
    after = with_lock_of(
        edited_sample_chain(tmp_path / "after", "regions: [eu-west-1]", "regions: [eu-central-1, eu-west-1]"), before
    )
    assert _data_region(after) == "eu-west-1"


def test_removing_the_data_region_leaves_the_bucket_where_it_is(tmp_path: Path) -> None:
    """The bucket holds the staff's data; nothing forces it to follow the VPCs out of a region."""
    before = _first_load(edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", "regions: [eu-central-1, eu-west-1]"))
    assert _data_region(before) == "eu-central-1"
    after = with_lock_of(edited_sample_chain(tmp_path / "after", "regions: [eu-west-1]", "regions: [eu-west-1]"), before)
    assert _data_region(after) == "eu-central-1"


def test_a_stated_data_region_wins_and_must_be_the_accounts(tmp_path: Path) -> None:
    stated = f"{TWO_REGIONS}\n      data_region: eu-central-1"
    root = committed(edited_sample_chain(tmp_path / "ok", "regions: [eu-west-1]", stated))
    assert _data_region(root) == "eu-central-1"
    elsewhere = f"{TWO_REGIONS}\n      data_region: us-east-1"
    root = edited_sample_chain(tmp_path / "typo", "regions: [eu-west-1]", elsewhere)
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == ("fleet.yaml", "sites.aws[0].data_region")
    assert "us-east-1" in issue.message and "eu-central-1" in issue.message
