"""Rollout pieces that need no lab: the report read back from a journal, stack outputs for the
templates, and the CLI's refusals (nothing changes, exit 2)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.common.journal import RunSteps, StepRecord, StepStatus, load_steps_journal
from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.network.errors import StackOutputsError
from storestack.rollout.environment import DrillGate, HubBatch
from storestack.rollout.report import layers, resume_command, summarise
from storestack.rollout.rollout import STEP_NAMES, STEPS, RolloutObserver, RolloutOptions, run_rollout
from storestack.rollout.runner import StepFailed, StepOutcome
from storestack.rollout.verify import HubBgpReader, StoreVerifier, expectation
from storestack.stacks.device_bridge import outputs_from_store_stack
from storestack.stacks.plan import planned_store_outputs


def journal_with(**steps: dict[str, object]) -> RunSteps:
    journal = RunSteps.start("rollout", {"nw-0101": STEP_NAMES}, {"stores": ["nw-0101"], "dry_run": False})
    for name, changes in steps.items():
        record = journal.subjects["nw-0101"].step(name)
        for key, value in changes.items():
            setattr(record, key, value)
    return journal


def test_a_store_stopped_at_push_reports_every_layer_and_how_to_resume(tmp_path: Path) -> None:
    edge_failed = {
        "name": "nw-0101-edge1", "role": "edge", "outcome": "failed", "lines_sent": 7, "stage": "verify",
        "backup": "/b/nw-0101-edge1.cfg", "rollback": {"ok": True},
    }
    hub_ok = {"name": "hq-hub1", "role": "hub", "outcome": "changed", "lines_sent": 12, "stage": "save"}
    journal = journal_with(
        validate={"status": StepStatus.DONE, "summary": "valid; allocation pinned"},
        plan={"status": StepStatus.DONE, "summary": "store-nw-0101: 4 resources", "data": {"resources": 4, "change": "new"}},
        up={"status": StepStatus.DONE, "summary": "PLANNED outputs"},
        render={"status": StepStatus.DONE, "summary": "rendered"},
        push={
            "status": StepStatus.FAILED,
            "error": "nw-0101-edge1: verify: BGP session down",
            "rollback": "nw-0101-edge1 rolled back",
            "data": {"devices": [hub_ok, edge_failed], "lines_sent": 19, "hubs_already_pushed": ["hq-hub2 (pushed for nw-0102)"]},
        },
    )
    state = {layer.layer: layer.state for layer in layers(journal.subjects["nw-0101"])}
    assert state["inventory"] == "valid; allocation pinned"
    assert state["hubs"] == "hq-hub2 (pushed for nw-0102); hq-hub1 changed (12 lines)"
    assert state["store edge"] == "nw-0101-edge1 failed at verify (rolled back to its backup)"
    assert state["verification"] == "not run"

    summary = summarise(journal, state_dir=tmp_path / "state", outputs_mode="planned", titles=dict(STEPS))
    assert not summary.ok and summary.stores[0].failed_step == "push"
    assert summary.stores[0].lines_pushed == 19
    assert summary.resume_command == f"storestack rollout --resume {journal.run_id} --state-dir {tmp_path / 'state'}"


def test_default_state_dir_is_left_out_of_the_resume_command() -> None:
    assert resume_command("rollout-x", Path(".storestack")) == "storestack rollout --resume rollout-x"


def test_a_finished_rerun_that_pushed_nothing_is_reported_unchanged(tmp_path: Path) -> None:
    done = {"status": StepStatus.DONE}
    journal = journal_with(
        validate={**done, "data": {"new_allocation": False}},
        plan={**done, "data": {"change": "unchanged", "resources": 4}},
        up={**done, "data": {"mode": "planned"}},
        render=done,
        push={**done, "data": {"devices": [], "lines_sent": 0}},
        verify={**done, "data": {"passed": 6}},
        activate=done,
    )
    summary = summarise(journal, state_dir=tmp_path, outputs_mode="planned", titles=dict(STEPS))
    assert summary.ok and summary.nothing_changed and summary.resume_command is None
    assert summary.totals["checks_passed"] == 6


def test_options_survive_the_journal_for_resume(tmp_path: Path) -> None:
    options = RolloutOptions(
        stores=("nw-0001", "nw-0002"), fleet_path=tmp_path / "fleet", lab_state_dir=tmp_path / "lab",
        verify_timeout=12.0, failover=False, state_dir=tmp_path,
    )
    journal = RunSteps.start("rollout", {s: STEP_NAMES for s in options.stores}, options.to_journal())
    again = RolloutOptions.from_journal(journal, state_dir=tmp_path, concurrency=2)
    assert again.stores == options.stores and again.concurrency == 2
    assert again.lab_state_dir == (tmp_path / "lab").resolve()
    assert again.verify_timeout == 12.0 and again.failover is False


def test_planned_stack_outputs_render_the_same_frr_config_as_the_inventory_plan() -> None:
    fleet = load_fleet(sample_chain_path())
    values = {name: out.value for name, out in planned_store_outputs(fleet, "nw-0001").items()}
    outputs = outputs_from_store_stack("nw-0001", values["tunnels"], values["tunnel_psks"], planned=True)
    # Every WAN link reaches both hubs (the network intent's tunnels, which the stack builds).
    assert [(t.link, t.hub) for t in outputs.links] == [
        ("wan1", "hq-hub1"), ("wan1", "hq-hub2"), ("lte1", "hq-hub1"), ("lte1", "hq-hub2")
    ]
    assert len(outputs.aws_tunnels) == 2
    (with_outputs,) = render_store(fleet, "nw-0001", outputs={"nw-0001": outputs})
    (from_inventory,) = render_store(fleet, "nw-0001")
    # The hub overlay the stack plans is the one IPAM pinned: every overlay line is the same.
    def overlay(text: str) -> list[str]:
        return [line for line in text.splitlines() if "100.64." in line]

    assert "neighbor 100.64.0.0 remote-as 65000" in with_outputs.text
    assert overlay(with_outputs.text) == overlay(from_inventory.text)


def test_stack_outputs_without_a_psk_are_refused_without_echoing_values() -> None:
    fleet = load_fleet(sample_chain_path())
    values = {name: out.value for name, out in planned_store_outputs(fleet, "nw-0002").items()}
    psks = dict(values["tunnel_psks"])
    secret = psks.pop("nw-0002-wan1-hq-hub2")
    with pytest.raises(StackOutputsError, match="nw-0002-wan1-hq-hub2 has no PSK") as caught:
        outputs_from_store_stack("nw-0002", values["tunnels"], psks, planned=True)
    assert secret not in str(caught.value)
    broken = [{k: v for k, v in t.items() if k != "inside_cidr"} for t in values["tunnels"]]
    with pytest.raises(StackOutputsError, match="inside_cidr"):
        outputs_from_store_stack("nw-0002", broken, values["tunnel_psks"], planned=True)


@pytest.fixture
def fleet_copy(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    return fleet


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nw-9999"], "no store 'nw-9999'"),
        (["nw-0001", "--lab"], "run `storestack lab up` first"),
        (["--resume", "rollout-nope"], "no run journal"),
        (["nw-0001", "--resume", "rollout-nope"], "name no store"),
        ([], "name at least one store"),
    ],
)
def test_rollout_refuses_to_start_with_exit_2_and_changes_nothing(
    fleet_copy: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    lock = (fleet_copy / "allocations.yaml").read_text()
    result = CliRunner().invoke(
        cli,
        ["rollout", *args, "--fleet", str(fleet_copy), "--state-dir", str(tmp_path / "state"),
         "--lab-dir", str(tmp_path / "no-lab")],
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "nothing was changed" in result.output
    assert (fleet_copy / "allocations.yaml").read_text() == lock
    assert not (tmp_path / "state" / "runs").exists()


@pytest.mark.parametrize(
    ("store", "field"),
    [("nw-9999", "STORES"), ("nw-0001", "--targets")],
    ids=["unknown-store", "store-missing-from-targets"],
)
def test_a_refused_rollout_names_the_argument_or_option_in_its_json_error(
    fleet_copy: Path, tmp_path: Path, store: str, field: str
) -> None:
    """A CI job reading the --json error learns which input to fix: the STORES argument (as
    `devices show` and `inventory show` name theirs) or the --targets file lacking an appliance."""
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "source: lab:test\nappliances:\n"
        + "".join(f"  - {{name: {hub}, role: hub, platform: frr, host: 127.0.0.1, port: 9}}\n"
                  for hub in ("hq-hub1", "hq-hub2"))
    )
    result = CliRunner().invoke(
        cli,
        ["rollout", store, "--fleet", str(fleet_copy), "--state-dir", str(tmp_path / "state"),
         "--targets", str(targets), "--json"],
    )
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["field"] == field, entry
    assert store in entry["message"] and not (tmp_path / "state" / "runs").exists()


def test_an_invalid_inventory_lists_its_issues_and_exits_1(fleet_copy: Path, tmp_path: Path) -> None:
    store = fleet_copy / "stores" / "nw-0002.yaml"
    store.write_text(store.read_text().replace("pos: {vlan: 10}", "pos: {vlan: 5000}"))
    result = CliRunner().invoke(
        cli, ["rollout", "nw-0002", "--fleet", str(fleet_copy), "--state-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "stores/nw-0002.yaml" in result.output and "lan.pos.vlan" in result.output


def test_drift_without_a_lab_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["drift", "--lab", "--lab-dir", str(tmp_path / "none"), "--json"])
    assert result.exit_code == 2
    assert "storestack lab up" in result.output


class FakeEnvironment:
    """What run_rollout needs of an environment when the steps themselves are stand-ins."""

    outputs_mode = "planned"

    def start_batch(self, stores: Sequence[str], *, after: HubBatch | None = None) -> HubBatch:
        return HubBatch(stores, after=after)

    def close(self) -> None:
        pass


class FailureSeen(RolloutObserver):
    def __init__(self) -> None:
        self.event = threading.Event()
        self.other_started = threading.Event()  # the other store is inside its `validate`

    def on_step(self, store: str, record: StepRecord) -> None:
        if record.status is StepStatus.FAILED:
            self.event.set()


def stand_in_steps(monkeypatch: pytest.MonkeyPatch, failing: str, seen: FailureSeen) -> None:
    """Every step succeeds, except `plan` of the failing store, which fails only once the other
    store is inside its `validate`; that `validate` lasts until the failure has been reported.
    So the order of events is fixed, however the threads are scheduled."""
    from storestack.rollout import rollout as module

    def make(name: str) -> object:
        def run(store_run: object) -> StepOutcome:
            store_id = store_run.store_id  # type: ignore[attr-defined]
            if store_id == failing and name == "plan":
                assert seen.other_started.wait(10)
                raise StepFailed("plan checks failed")
            if store_id != failing and name == "validate":
                seen.other_started.set()
                assert seen.event.wait(10)
            return StepOutcome(summary=f"{name} ok")

        return run

    monkeypatch.setattr(module, "STEP_FUNCTIONS", {name: make(name) for name in STEP_NAMES})


@pytest.mark.parametrize("fail_fast", [False, True])
def test_one_store_failing_stops_the_others_only_with_fail_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fail_fast: bool
) -> None:
    seen = FailureSeen()
    stand_in_steps(monkeypatch, "nw-0001", seen)
    options = RolloutOptions(
        stores=("nw-0001", "nw-0002"), fleet_path=tmp_path, state_dir=tmp_path, fail_fast=fail_fast, concurrency=2
    )
    result = run_rollout(options, environment=FakeEnvironment(), observer=seen)  # type: ignore[arg-type]

    journal = load_steps_journal(tmp_path / "runs", result.journal.run_id).record
    assert journal.subjects["nw-0001"].status is StepStatus.FAILED
    other = {step.name: step.status for step in journal.subjects["nw-0002"].steps}
    if fail_fast:
        # It finished the step it was in, then started nothing more.
        assert other["validate"] is StepStatus.DONE and other["plan"] is StepStatus.PENDING
    else:
        assert set(other.values()) == {StepStatus.DONE}
    assert not result.ok and journal.finished is False


def test_ctrl_c_during_a_rollout_ends_it_as_interrupted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ctrl-C (the stop event) lets the running step finish and starts no other; the result says
    it was interrupted, so the CLI exits 130 as on every other Ctrl-C, not 1 as on a failure."""
    from storestack.rollout import rollout as module

    stop = threading.Event()

    def make(name: str) -> object:
        def run(store_run: object) -> StepOutcome:
            if name == "validate":
                stop.set()  # Ctrl-C arrives while the first step runs
            return StepOutcome(summary=f"{name} ok")

        return run

    monkeypatch.setattr(module, "STEP_FUNCTIONS", {name: make(name) for name in STEP_NAMES})
    options = RolloutOptions(stores=("nw-0001",), fleet_path=tmp_path, state_dir=tmp_path)
    result = run_rollout(options, environment=FakeEnvironment(), stop=stop)  # type: ignore[arg-type]
    steps = {step.name: step.status for step in result.journal.subjects["nw-0001"].steps}
    assert steps["validate"] is StepStatus.DONE and steps["plan"] is StepStatus.PENDING
    assert result.interrupted and not result.ok

    result = run_rollout(options, environment=FakeEnvironment())  # type: ignore[arg-type]
    assert not result.interrupted


def test_the_hubs_of_a_batch_are_pushed_once_after_every_store_arrived_or_left() -> None:
    batch = HubBatch(["nw-0001", "nw-0002", "nw-0003"])
    pushes: list[list[str]] = []

    def push(stores: list[str]) -> str:
        pushes.append(stores)
        return f"pushed for {len(stores)}"

    batch.leave("nw-0003")  # failed before its push step: nobody waits for it
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda store: batch.arrive(store, push), ["nw-0001", "nw-0002"]))
    assert pushes == [["nw-0001", "nw-0002"]]
    assert results[0] == results[1] and results[0][1] == "pushed for 2"


class CountingProbe:
    """A hub that answers BGP show commands, counting the exchanges it is asked for."""

    def __init__(self, summary: str, routes: dict[str, str]) -> None:
        self.summary, self.routes = summary, routes
        self.exchanges: list[tuple[str, list[str]]] = []

    def show(self, appliance: str, command: str) -> str:
        return self.show_many(appliance, [command])[0]

    def show_many(self, appliance: str, commands: Sequence[str]) -> list[str]:
        self.exchanges.append((appliance, list(commands)))
        return [self.summary if c == "show bgp summary json" else self.routes.get(c.split()[5], "{}") for c in commands]


def test_the_stores_of_a_batch_read_each_hub_together() -> None:
    import json

    fleet = load_fleet(sample_chain_path())
    stores = [s for s in fleet if s.wan and all(a.platform == "frr" for a in s.appliances)][:2]
    assert len(stores) == 2
    expectations = [expectation(store, NetworkIntent(fleet)) for store in stores]
    peers = {link.store_address: {"state": "Established"} for e in expectations for link in e.links}
    summary = json.dumps({"ipv4Unicast": {"peers": peers}})
    routes = {
        link.store_address: json.dumps({"routes": {p: [] for p in e.prefixes}}) for e in expectations for link in e.links
    }
    probe = CountingProbe(summary, routes)
    reader = HubBgpReader(probe, max_age=60.0)
    reader.expect(expectations)
    platforms = {name: "frr" for name in {*fleet.hubs, *(a.hostname for s in stores for a in s.appliances)}}
    checks = [c for e in expectations for c in StoreVerifier(e, probe, platforms, hubs=reader).bgp_checks()]
    assert checks and all(c.status == "passed" for c in checks), [c for c in checks if c.status != "passed"]
    hubs = {link.hub for e in expectations for link in e.links}
    # One exchange per hub for both stores, holding the summary and every batch peer's routes.
    assert sorted(hub for hub, _commands in probe.exchanges) == sorted(hubs)
    for hub, commands in probe.exchanges:
        wanted = {link.store_address for e in expectations for link in e.links if link.hub == hub}
        assert commands[0] == "show bgp summary json"
        assert {c.split()[5] for c in commands[1:]} == wanted


def test_the_next_batch_prepares_and_pushes_while_one_verifies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from storestack.rollout import rollout as module

    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    second_batch_pushed = threading.Event()

    def note(store: str, what: str) -> None:
        with lock:
            events.append((store, what))

    def make(name: str) -> object:
        def run(store_run: object) -> StepOutcome:
            store_id: str = store_run.store_id  # type: ignore[attr-defined]
            if name == "push":
                store_run.batch.arrive(store_id, lambda stores: note(",".join(stores), "hub push"))  # type: ignore[attr-defined]
            if name == "verify" and store_id in ("nw-0001", "nw-0002"):
                # The first batch verifies until the second has pushed: only an overlap ends this.
                assert second_batch_pushed.wait(10), "the second batch did not go ahead during the first's verify"
            note(store_id, name)
            with lock:
                if {("nw-0003", "push"), ("nw-0004", "push")} <= set(events):
                    second_batch_pushed.set()
            return StepOutcome(summary=f"{name} ok")

        return run

    monkeypatch.setattr(module, "STEP_FUNCTIONS", {name: make(name) for name in STEP_NAMES})
    options = RolloutOptions(
        stores=("nw-0001", "nw-0002", "nw-0003", "nw-0004"), fleet_path=tmp_path, state_dir=tmp_path, concurrency=2
    )
    result = run_rollout(options, environment=FakeEnvironment())  # type: ignore[arg-type]

    assert result.ok
    assert [store for store, what in events if what == "hub push"] == ["nw-0001,nw-0002", "nw-0003,nw-0004"]
    # The second batch pushed after the first had pushed, while it verified.
    pushes = [store for store, what in events if what == "push"]
    assert set(pushes[:2]) == {"nw-0001", "nw-0002"} and set(pushes[2:]) == {"nw-0003", "nw-0004"}


def test_a_hub_push_waits_for_a_running_failover_drill_and_a_drill_for_a_running_push() -> None:
    gate = DrillGate()
    log: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def hold(kind: str) -> None:
        with gate.drill() if kind == "drill" else gate.hub_push():
            log.append(f"{kind} start")
            started.set()
            assert release.wait(10)
            log.append(f"{kind} end")

    def quick(kind: str) -> None:
        with gate.drill() if kind == "drill" else gate.hub_push():
            log.append(kind)

    for first, second in (("drill", "push"), ("push", "drill")):
        log.clear()
        started.clear()
        release.clear()
        with ThreadPoolExecutor(2) as pool:
            holding = pool.submit(hold, first)
            assert started.wait(10)
            waiting = pool.submit(quick, second)
            release.set()
            holding.result()
            waiting.result()
        assert log == [f"{first} start", f"{first} end", second]


def test_a_hub_push_that_raised_is_not_run_again_by_the_next_store() -> None:
    batch = HubBatch(["nw-0001", "nw-0002"])
    calls: list[list[str]] = []

    def push(stores: list[str]) -> str:
        calls.append(stores)
        raise RuntimeError("hub render broke")

    def arrive(store: str) -> str:
        try:
            batch.arrive(store, push)
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(arrive, ["nw-0001", "nw-0002"]))
    assert outcomes == ["hub render broke", "hub render broke"]
    assert len(calls) == 1


def test_the_failover_drill_fails_the_link_the_stores_routes_prefer() -> None:
    """nw-0007 lists LTE first, but its strictest application, and so the local preference its
    routes from the hubs get, prefers 5G: the drill's primary is the 5G link, or the drill would
    find HQ "not routed over the primary link" before it starts."""
    fleet = load_fleet(sample_chain_path())
    store = fleet.store("nw-0007")
    intent = NetworkIntent(fleet)
    ranks = intent.transport_ranks(store)
    expect = expectation(store, intent)
    assert expect.primary is not None and store.wan[0].name != expect.primary.name
    assert ranks[expect.primary.name] == max(ranks.values(), key=lambda rank: (rank[0], -rank[1]))
    assert [link.name for link in expect.backups] == [link.name for link in store.wan if link.name != expect.primary.name]
