"""Selection, sharding, waves, journals and health rules: the parts of a run that need no appliance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storestack.devices.errors import PushConfigError
from storestack.devices.health import (
    HealthSnapshot,
    findings,
    parse_bfd_peers,
    parse_bgp_peers,
    parse_bgp_summary,
    required_new_peers,
)
from storestack.devices.journal import last_push_run, push_journal, record_devices, unfinished_names
from storestack.devices.report import DeviceResult, RunReport
from storestack.devices.runner import PushTargets, parse_shard, plan_waves
from storestack.devices.targets import ApplianceTarget


def make_targets(count: int) -> PushTargets:
    items = [
        ApplianceTarget(name="hq-hub1", role="hub", platform="frr", host="127.0.0.1"),
        *(
            ApplianceTarget(
                name=f"nw-{i:04d}-edge1",
                role="edge",
                store_id=f"nw-{i:04d}",
                platform="frr" if i % 2 else "cisco_xe",
                host="127.0.0.1",
            )
            for i in range(1, count + 1)
        ),
    ]
    return PushTargets(items, source="test")


def test_filter_returns_a_copy() -> None:
    targets = make_targets(6)
    frr = targets.filter(platform="frr")
    assert frr.names == ["hq-hub1", "nw-0001-edge1", "nw-0003-edge1", "nw-0005-edge1"]
    assert targets.filter(platform="cisco_xe").names == ["nw-0002-edge1", "nw-0004-edge1", "nw-0006-edge1"]
    assert len(targets) == 7  # the original is untouched
    assert targets.filter(stores=["nw-0002"]).names == ["nw-0002-edge1"]
    assert targets.filter(role="hub").names == ["hq-hub1"]


def test_unknown_store_or_appliance_is_a_usage_error() -> None:
    with pytest.raises(PushConfigError, match="nw-9999"):
        make_targets(3).filter(stores=["nw-9999"])
    with pytest.raises(PushConfigError, match="edge9"):
        make_targets(3).filter(names=["edge9"])


def test_shards_partition_the_targets() -> None:
    targets = make_targets(40)
    shards = [targets.shard(k, 4).names for k in range(1, 5)]
    flat = [name for shard in shards for name in shard]
    assert sorted(flat) == sorted(targets.names)
    assert len(set(flat)) == len(flat)
    assert all(shards)
    # Stable as the fleet grows: an appliance stays in its shard when others are added.
    grown = make_targets(80)
    assert set(shards[0]) <= set(grown.shard(1, 4).names)


@pytest.mark.parametrize("text", ["3", "0/4", "5/4", "a/b", "1/0"])
def test_bad_shard_is_rejected(text: str) -> None:
    with pytest.raises(PushConfigError):
        parse_shard(text)


def test_hubs_go_first() -> None:
    targets = PushTargets(
        [
            ApplianceTarget(name="a-edge", role="edge", store_id="s1", platform="frr", host="h"),
            ApplianceTarget(name="z-hub", role="hub", platform="frr", host="h"),
        ]
    )
    assert targets.ordered().names == ["z-hub", "a-edge"]


def test_canary_waves() -> None:
    targets = make_targets(5)
    edges = [f"nw-{i:04d}-edge1" for i in range(1, 6)]
    assert plan_waves(targets, None) == ([["hq-hub1"], edges], ["hubs", "stores"])
    assert plan_waves(targets.filter(role="edge"), None) == ([edges], ["all"])
    assert plan_waves(targets, 2) == ([["hq-hub1"], edges[:2], edges[2:]], ["hubs", "canary", "rest"])
    assert plan_waves(targets.filter(role="edge"), 9) == ([edges], ["canary"])


def report_with(run_id: str, started: datetime, outcomes: dict[str, str], *, dry_run: bool = False) -> RunReport:
    return RunReport(
        run_id=run_id,
        started_at=started,
        concurrency=1,
        dry_run=dry_run,
        devices=[
            DeviceResult(name=name, store_id=None, role="edge", platform="frr", host="h", port=22, outcome=outcome)  # type: ignore[arg-type]
            for name, outcome in outcomes.items()
        ],
    )


def test_last_run_and_what_did_not_finish(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    push_journal(tmp_path, report_with("push-1", t0, {"a": "failed"})).save()
    latest = report_with(
        "push-2",
        t0 + timedelta(minutes=1),
        {"a": "changed", "b": "failed", "c": "skipped", "d": "running", "e": "unchanged"},
    )
    path = push_journal(tmp_path, latest).save()
    push_journal(tmp_path, report_with("push-3", t0 + timedelta(minutes=2), {"a": "failed"}, dry_run=True)).save()
    # A rollout journal in the same directory is not a push run.
    (tmp_path / "push-zzz.json").write_text(json.dumps({"kind": "rollout", "run_id": "x"}))
    assert path.stat().st_mode & 0o777 == 0o600
    found = last_push_run(tmp_path, dry_run=False)
    assert found is not None and found.run_id == "push-2"
    assert unfinished_names(found) == ["b", "c", "d"]
    assert json.loads(path.read_text())["summary"]["failed"] == 1


def test_bgp_summary_parsing_and_findings() -> None:
    summary = json.dumps(
        {
            "ipv4Unicast": {"peers": {"100.64.0.0": {"state": "Established"}, "100.64.0.8": {"state": "Active"}}},
            "ipv6Unicast": {"peers": {"100.64.0.8": {"state": "Established"}}},
        }
    )
    peers = parse_bgp_summary("vtysh noise\n" + summary)
    assert peers == {"100.64.0.0": "Established", "100.64.0.8": "Established"}
    before = HealthSnapshot(bgp={"p1": "Established", "p2": "Active"}, interfaces_up={"wan1": True, "lte1": False})
    after = HealthSnapshot(bgp={"p1": "Idle", "p2": "Active", "p3": "Connect"}, interfaces_up={"wan1": False, "lte1": False})
    problems = findings(before, after, must_establish={"p3"})
    assert problems == [
        "BGP session to p1 was Established, now Idle",
        "new BGP session to p3 is Connect, not Established",
        "interface wan1 was up, now down",
    ]
    # A session that was already down and is not new to this change is not held against it.
    assert findings(before, before, must_establish=set()) == []


def test_fleet_appliances_become_push_targets() -> None:
    from storestack.devices.fleet_targets import targets_from_fleet
    from storestack.inventory import load_fleet, sample_chain_path

    fleet = load_fleet(sample_chain_path())
    inventory = targets_from_fleet(fleet)
    by_name = inventory.by_name()
    assert inventory.source == "fleet"
    assert [t.name for t in inventory.appliances if t.role == "hub"] == sorted(fleet.hubs)
    edges = [t for t in inventory.appliances if t.role == "edge"]
    assert len(edges) == sum(len(store.appliances) for store in fleet)
    store = next(iter(fleet))
    edge = by_name[store.appliances[0].hostname]
    assert edge.store_id == store.id
    assert edge.host == str(store.appliances[0].management_address)
    assert edge.credentials.kind == "env"  # never inline credentials


def test_cli_rejects_an_unknown_region_before_connecting(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from storestack.cli.main import cli
    from storestack.inventory import sample_chain_path

    (tmp_path / "intended").mkdir()
    result = CliRunner().invoke(
        cli,
        ["devices", "push", "--fleet", str(sample_chain_path()), "--region", "atlantis", "--intended", str(tmp_path / "intended"),
         "--state-dir", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "unknown region 'atlantis'" in result.output
    assert not (tmp_path / "runs").exists()


def test_events_of_a_killed_run_are_replayed(tmp_path: Path) -> None:
    from storestack.devices.journal import load_run

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    report = report_with("push-k", t0, {"a": "pending", "b": "pending"})
    journal = push_journal(tmp_path, report, snapshot_interval=3600)
    path = journal.save()
    started = report.devices[0].model_copy(update={"outcome": "running", "changed": None})
    record_devices(journal, [started])
    # Killed here: the report on disk still says pending, the event log knows better.
    assert '"outcome": "running"' not in path.read_text()
    recovered = load_run(path)
    assert recovered.device("a").outcome == "running" and recovered.device("a").changed is None
    assert unfinished_names(recovered) == ["a", "b"]
    done = started.model_copy(update={"outcome": "changed", "changed": True})
    record_devices(journal, [done])
    journal.close()
    assert not (tmp_path / "push-k.events.jsonl").exists()
    assert load_run(path).device("a").outcome == "changed"


def test_only_new_neighbours_on_links_that_are_up_must_establish() -> None:
    from storestack.devices.configdiff import parse

    running = parse("router bgp 65101\n neighbor 100.64.0.2 remote-as 65000\n", "frr")
    intended = parse(
        "interface wan1\n ip address 100.64.0.1/31\n"
        "interface lte1\n ip address 100.64.0.5/31\n"
        "interface aws-t1\n ip address 169.254.16.2/30\n"
        "router bgp 65101\n"
        " neighbor 100.64.0.0 remote-as 65000\n"  # new, over wan1 (up)
        " neighbor 100.64.0.2 remote-as 65000\n"  # not new
        " neighbor 100.64.0.4 remote-as 65000\n"  # new, over lte1 (down)
        " neighbor 169.254.16.1 remote-as 64512\n"  # new, over a tunnel that does not exist yet
        " neighbor 192.0.2.9 remote-as 64999\n",  # new, not on any connected subnet
        "frr",
    )
    before = HealthSnapshot(interfaces_up={"wan1": True, "lte1": False})
    assert required_new_peers(intended, running, before) == {"100.64.0.0"}


def test_bgp_peers_keep_the_established_family_and_its_counters() -> None:
    summary = json.dumps(
        {
            "ipv4Unicast": {
                "peers": {"10.0.0.1": {"state": "Active", "remoteAs": 65001, "pfxRcd": 0, "peerUptime": "never"}}
            },
            "ipv6Unicast": {
                "as": 65010,
                "peers": {
                    "10.0.0.1": {
                        "state": "Established", "remoteAs": 65001, "pfxRcd": 3, "peerUptime": "00:01:02", "desc": "hub-1",
                    }
                },
            },
        }
    )
    (peer,) = parse_bgp_peers(summary)
    assert (peer.peer, peer.state, peer.remote_as, peer.prefixes_received, peer.uptime) == (
        "10.0.0.1",
        "Established",
        65001,
        3,
        "00:01:02",
    )
    assert (peer.local_as, peer.description) == (65010, "hub-1")
    assert parse_bgp_peers("% BGP instance not found") == []


def test_bfd_peers_as_frr_lists_them() -> None:
    output = "show bfd peers json\n" + json.dumps(
        [
            {"multihop": False, "peer": "169.254.0.1", "local": "169.254.0.2", "vrf": "default",
             "interface": "xfrm1", "status": "up", "diagnostic": "ok", "remote-diagnostic": "ok"},
            {"multihop": False, "peer": "169.254.0.5", "vrf": "default", "interface": "xfrm2",
             "status": "down", "diagnostic": "control detection time expired"},
            {"peer": 7},
        ]
    )  # fmt: skip
    up, down = parse_bfd_peers(output)
    assert (up.peer, up.local, up.interface, up.up) == ("169.254.0.1", "169.254.0.2", "xfrm1", True)
    assert (down.up, down.status, down.diagnostic) == (False, "down", "control detection time expired")
    assert parse_bfd_peers("% bfdd is not running") == [] and parse_bfd_peers("{}") == []


def test_only_failed_after_a_run_that_finished_everything_says_so(tmp_path: Path) -> None:
    """--only-failed after a run where nothing failed answered "no appliance matches the
    selection", field null, as if the filters were wrong; it now says there is nothing to retry,
    reaches nothing and exits 0 (README: a CI job re-run is idempotent)."""
    from click.testing import CliRunner

    from storestack.cli.main import cli

    runs = tmp_path / "state" / "runs"
    runs.mkdir(parents=True)
    push_journal(runs, report_with("push-9", datetime(2026, 1, 1, tzinfo=UTC), {"a1": "changed"})).save()
    targets = tmp_path / "targets.yaml"
    targets.write_text("source: lab:test\nappliances:\n  - {name: a1, role: hub, platform: frr, host: 127.0.0.1, port: 9}\n")
    result = CliRunner().invoke(
        cli,
        ["devices", "push", "--only-failed", "--targets", str(targets), "--state-dir", str(tmp_path / "state"), "--json"],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and answer["changed"] is False and answer["retried"] == []
    assert answer["only_failed"] == "push-9" and "nothing to retry" in answer["message"]
    assert sorted(path.name for path in runs.iterdir()) == ["push-9.json"]
