"""`devices push` over SSH to the vendor emulator: its waves run one after the other, each
appliance of a wave starting only once every appliance of the wave before finished. A push of
hubs and stores used to be one wave, hubs first in the queue but up to 20 at a time: all ten
appliances started within milliseconds, the stores beside their hubs. With `--fleet-before`
(make before break), a hub the fleet no longer has is named decommissionable once the push
finished ok, and a failed wave stops the change before the next one moves or cuts tunnels.

The emulated appliances take the fleet's names, the fleet put on IOS-XE, hubs and stores (the
order is the engine's, whatever the platform; --targets must say what the inventory says); each
gets a one-line change, so each is pushed in full.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from testsupport.cli import cli_runner
from testsupport.rendering import edited_sample_chain, hub_removed_chain, hubs_on_yaml, three_hub_chain

from storestack.cli.main import cli
from storestack.devices.configdiff import compute_diff
from storestack.devices.fleet_targets import targets_from_fleet
from storestack.devices.intended import HELD_OVER_DIR
from storestack.devices.render import render_hub
from storestack.inventory import load_fleet
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread

CHANGE = ("interface GigabitEthernet2\n no ip address", "interface GigabitEthernet2\n description LAN trunk\n no ip address")


def _all_ios_xe(root: Path) -> Path:
    """`root` with every appliance on IOS-XE, as the emulator runs them: an appliance's platform
    in --targets must be the inventory's."""
    for path in [root / "fleet.yaml", *(root / "stores").glob("*.yaml")]:
        path.write_text(re.sub(r"(?m)^(\s+platform:) \w+$", r"\1 cisco_xe", path.read_text()))
    return root


@pytest.fixture
def chains(tmp_path: Path) -> tuple[Path, Path]:
    return _all_ios_xe(three_hub_chain(tmp_path / "before")), _all_ios_xe(hub_removed_chain(tmp_path / "after"))


@pytest.fixture
def emulator(chains: tuple[Path, Path], tmp_path: Path) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=t.name, platform="cisco_xe", role=t.role, store_id=t.store_id)
        for t in targets_from_fleet(load_fleet(chains[1])).appliances
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path / "emulator")) as running:
        yield running


def _intended(emulator: Emulator, tmp_path: Path) -> Path:
    """Each appliance's running config with the one-line change, as --intended, and for each hub
    the same as its first config of a change that pushes it twice (`held-over/`): written once,
    from the appliances as the emulator starts them."""
    intended = tmp_path / "intended"
    if intended.is_dir():
        return intended
    (intended / HELD_OVER_DIR).mkdir(parents=True)
    for name in emulator.device_names:
        running = emulator.running_config(name)
        assert CHANGE[0] in running
        (intended / f"{name}.cfg").write_text(running.replace(*CHANGE))
        if name.startswith("hq-hub"):
            (intended / HELD_OVER_DIR / f"{name}.cfg").write_text(running.replace(*CHANGE))
    return intended


def _args(emulator: Emulator, tmp_path: Path, fleet: Path, *extra: str) -> list[str]:
    return [
        "devices", "push", "--fleet", str(fleet), "--targets", str(emulator.inventory_path),
        "--intended", str(_intended(emulator, tmp_path)), "--state-dir", str(tmp_path / "state"),
        "--read-timeout", "3", "--conn-timeout", "3", *extra,
    ]


def _assert_waves_in_turn(payload: dict[str, Any]) -> None:
    """No appliance of a wave started before every appliance of the wave before finished."""
    devices = {(d["wave"], d["name"]): d for d in payload["devices"]}
    waves = [[(index, name) for name in wave] for index, wave in enumerate(payload["waves"], start=1)]
    for earlier, later in itertools.pairwise(waves):
        done = max(_at(devices[name]["started_at"]) + timedelta(seconds=devices[name]["duration_s"]) for name in earlier)
        assert min(_at(devices[name]["started_at"]) for name in later) >= done, (earlier, later)


def test_hubs_finish_before_the_stores_start(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli_runner(monkeypatch, tmp_path).invoke(cli, [*_args(emulator, tmp_path, chains[1]), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["wave_labels"] == ["hubs", "stores"]
    assert payload["waves"][0] == ["hq-hub1", "hq-hub3"]
    _assert_waves_in_turn(payload)


def test_change_waves_run_one_after_the_other_and_the_retired_hub_is_released(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    runner = cli_runner(monkeypatch, tmp_path)
    args = _args(emulator, tmp_path, after, "--fleet-before", str(before))
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["wave_labels"] == ["hubs", "stores", "hubs-last"]
    # Both kept hubs gain and drop (hq-hub2's stores, their session with hq-hub2): pushed twice.
    assert payload["waves"][0] == ["hq-hub1", "hq-hub3"] and payload["waves"][2] == ["hq-hub1", "hq-hub3"]
    assert payload["retire_after"] == ["hq-hub2"]
    assert all(d["changed"] for d in payload["devices"] if d["step"] != "final")
    assert {d["step"]: d["outcome"] for d in payload["devices"] if d["name"] == "hq-hub1"} == {
        "union": "changed", "final": "unchanged"
    }
    _assert_waves_in_turn(payload)
    for name in emulator.device_names:
        assert "description LAN trunk" in emulator.running_config(name)

    # Run again in text: nothing left to change, the retired hub is released.
    text = runner.invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "hq-hub2: no longer in the fleet and no store uses it now: it can be decommissioned" in text.stdout


def test_a_failed_hub_stops_the_change_before_the_stores_move(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    emulator.set_faults("hq-hub1", DeviceFaults(reject_config_line=1))
    args = _args(emulator, tmp_path, after, "--fleet-before", str(before), "--json")
    result = cli_runner(monkeypatch, tmp_path).invoke(cli, args)
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    outcomes = {(d["name"], d["step"]): d["outcome"] for d in payload["devices"] if d["wave"] > 1}
    assert {d["name"]: d["outcome"] for d in payload["devices"] if d["wave"] == 1}["hq-hub1"] == "failed"
    assert set(outcomes.values()) == {"skipped"}, "no store moved to a hub whose push failed"
    assert payload["status"] == "stopped" and "make before break" in payload["stop_reason"]
    assert "hq-hub2: no longer" not in result.stdout
    for name in emulator.device_names:
        if not name.startswith("hq-hub"):
            assert "description LAN trunk" not in emulator.running_config(name)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Stores homed on hq-hub2 before it is removed: they move to hq-hub1 (pushed before the stores)
# and hq-hub3 (pushed after them, once they no longer use its old ends).
MOVED = ("nw-0002", "nw-0004", "nw-0005", "nw-0008")


def _store_appliances(fleet: Path, *stores: str) -> list[str]:
    return [t.name for t in targets_from_fleet(load_fleet(fleet)).appliances if t.store_id in stores]


def _refused(result: Any, field: str) -> str:
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["errors"][0]["field"] == field
    return str(payload["error"])


def test_a_selection_that_moves_stores_without_their_hubs_is_refused_before_any_appliance(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    runner = cli_runner(monkeypatch, tmp_path)
    change = ("--fleet-before", str(before), "--json")

    store = _refused(runner.invoke(cli, [*_args(emulator, tmp_path, after, "--store", "nw-0002", *change)]), "--store")
    assert "hq-hub1" in store and "hq-hub3" in store, store
    hub = _refused(runner.invoke(cli, [*_args(emulator, tmp_path, after, "--appliance", "hq-hub3", *change)]), "--appliance")
    assert all(name in hub for name in _store_appliances(after, *MOVED)), hub
    for name in emulator.device_names:
        assert "description LAN trunk" not in emulator.running_config(name)
    assert not list((tmp_path / "state" / "runs").glob("*")), "no run started"


def test_appliances_pushed_in_an_earlier_run_of_the_change_count(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kept hub's last push drops its session with hq-hub2, which carries the cloud flows and
    # return traffic of every store still on hq-hub2: pushed alone, it needs all of them moved.
    before, after = chains
    runner = cli_runner(monkeypatch, tmp_path)
    change = ("--fleet-before", str(before), "--json")
    hub = _refused(runner.invoke(cli, _args(emulator, tmp_path, after, "--appliance", "hq-hub1", *change)), "--appliance")
    assert all(name in hub for name in _store_appliances(before, *MOVED, "nw-0001")), hub

    # The whole change with one store failing: it stops before the hubs' last pushes; the retry
    # takes the store and both pushes of each kept hub, not the stores the first run moved.
    emulator.set_faults("nw-0001-edge1", DeviceFaults(reject_config_line=1))
    first = runner.invoke(cli, _args(emulator, tmp_path, after, *change))
    assert first.exit_code == 1, first.output
    stopped = json.loads(first.stdout)
    assert {(d["name"], d["step"]) for d in stopped["devices"] if d["outcome"] == "skipped"} == {
        ("hq-hub1", "final"), ("hq-hub3", "final")
    }
    emulator.set_faults("nw-0001-edge1", DeviceFaults())
    second = runner.invoke(cli, _args(emulator, tmp_path, after, "--only-failed", *change))
    assert second.exit_code == 0, second.output
    retry = json.loads(second.stdout)
    assert retry["waves"] == [["hq-hub1", "hq-hub3"], ["nw-0001-edge1"], ["hq-hub1", "hq-hub3"]]
    assert retry["change"] == stopped["change"] is not None
    assert {(d["name"], d["step"], d["outcome"]) for d in retry["devices"] if d["role"] == "hub"} == {
        ("hq-hub1", "union", "unchanged"), ("hq-hub3", "union", "unchanged"),
        ("hq-hub1", "final", "unchanged"), ("hq-hub3", "final", "unchanged"),
    }


def _ios_hubs(root: Path, count: int) -> Path:
    hubs_on_yaml(root, *(["cisco_xe"] * count))  # type: ignore[list-item]
    return root


def test_a_hub_added_gives_the_hub_pushed_last_its_union_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hq-hub3 added after hq-hub2, IOS-XE hubs: hq-hub1 drops the backup tunnels of hq-hub2's
    # stores and gains its iBGP session with hq-hub3. Its first push adds the session and drops
    # nothing; its last push drops those tunnels; a second run has nothing left to send.
    runner = cli_runner(monkeypatch, tmp_path)
    before = _ios_hubs(edited_sample_chain(tmp_path / "before", "hq-hub2", "hq-hub2"), 2)
    after = _ios_hubs(three_hub_chain(tmp_path / "after"), 3)
    old, new = load_fleet(before), load_fleet(after)
    running = {hub: render_hub(old, hub, reveal_secrets=True).text for hub in old.hubs}
    running["hq-hub3"] = render_hub(new, "hq-hub3", reveal_secrets=True).text  # staged before the change
    devices = [EmulatedDevice(name=hub, platform="cisco_xe", role="hub", running_config=text) for hub, text in running.items()]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path / "emulator")) as emulator:
        args = [
            "devices", "push", "--fleet", str(after), "--fleet-before", str(before), "--targets", str(emulator.inventory_path),
            "--state-dir", str(tmp_path / "state"), "--read-timeout", "3", "--conn-timeout", "3", "--health-timeout", "2", "--json",
        ]
        # The dry run plans hq-hub1's last push from its first config, as the push makes it.
        plan = runner.invoke(cli, [*args, "--dry-run"])
        assert plan.exit_code == 0, plan.output
        planned = {d["step"]: d["remediation"] for d in json.loads(plan.stdout)["devices"] if d["name"] == "hq-hub1"}
        assert any("neighbor 10.0.0.5 remote-as 65000" in line for line in planned["union"])
        assert planned["final"] and not any("neighbor 10.0.0.5 remote-as" in line for line in planned["final"])
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["wave_labels"] == ["hubs", "hubs-last"]
        assert [d["remediation"] for d in payload["devices"] if d["name"] == "hq-hub1"] == [planned["union"], planned["final"]]
        assert payload["waves"] == [["hq-hub1", "hq-hub2", "hq-hub3"], ["hq-hub1"]]
        union, final = (d for d in payload["devices"] if d["name"] == "hq-hub1")
        assert (union["step"], union["outcome"], final["step"], final["outcome"]) == ("union", "changed", "final", "changed")
        # The first push holds both: the session with hq-hub3 added, nothing taken away.
        assert any("neighbor 10.0.0.5 remote-as 65000" in line for line in union["remediation"])
        assert not [line for line in union["remediation"] if "nw-000" in line or line.startswith("no crypto")]
        # The last push drops the backup ends of hq-hub2's stores, which have moved to hq-hub3.
        dropped = [line for line in final["remediation"] if line.startswith("no ") and "nw-0002" in line]
        # (the hub sessions' prefix limit, one per hub from the fleet's size, is the fleet's after
        # the change only in the last push: the first changes nothing it holds)
        assert dropped and not any("neighbor 10.0.0.5 remote-as" in line for line in final["remediation"])
        intended = render_hub(new, "hq-hub1", reveal_secrets=True).text
        assert not compute_diff(emulator.running_config("hq-hub1"), intended, "cisco_xe").remediation
        # Pushed again: hq-hub1 is in its config after the change (an earlier run of the change
        # left it there), so it gets no first push, and nothing is left to send.
        again = json.loads(runner.invoke(cli, args).stdout)
        assert again["waves"] == [["hq-hub2", "hq-hub3"], ["hq-hub1"]]
        assert {(d["name"], d["step"], d["outcome"]) for d in again["devices"]} == {
            ("hq-hub1", None, "unchanged"), ("hq-hub2", None, "unchanged"), ("hq-hub3", None, "unchanged")
        }


def test_held_over_configs_rendered_beforehand_plan_the_push_as_rendered_at_push_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI renders the change's configs (`devices render --fleet-before`) and the push reads them
    # (`--intended`): hq-hub1, pushed twice, gets from the folder the same first config the push
    # renders itself, so the dry run plans the same two pushes.
    runner = cli_runner(monkeypatch, tmp_path)
    before = _ios_hubs(edited_sample_chain(tmp_path / "before", "hq-hub2", "hq-hub2"), 2)
    after = _ios_hubs(three_hub_chain(tmp_path / "after"), 3)
    old, new = load_fleet(before), load_fleet(after)
    running = {hub: render_hub(old, hub, reveal_secrets=True).text for hub in old.hubs}
    running["hq-hub3"] = render_hub(new, "hq-hub3", reveal_secrets=True).text
    out = tmp_path / "rendered"
    render_args = ["devices", "render", "--fleet", str(after), "--fleet-before", str(before), "--out", str(out)]
    rendered = runner.invoke(cli, [*render_args, "--with-secrets", "--json"])
    assert rendered.exit_code == 0, rendered.output
    assert json.loads(rendered.stdout)["held_over"] == [f"{HELD_OVER_DIR}/hq-hub1.cfg"]
    assert (out / HELD_OVER_DIR / "hq-hub1.cfg").stat().st_mode & 0o777 == 0o600
    # Rendered again, nothing changes, the held-over configs compared too.
    check = runner.invoke(cli, [*render_args, "--with-secrets", "--check", "--json"])
    assert check.exit_code == 0, check.output
    assert f"{HELD_OVER_DIR}/hq-hub1" in json.loads(check.stdout)["unchanged"]
    devices = [EmulatedDevice(name=hub, platform="cisco_xe", role="hub", running_config=text) for hub, text in running.items()]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path / "emulator")) as emulator:
        args = [
            "devices", "push", "--fleet", str(after), "--fleet-before", str(before), "--targets", str(emulator.inventory_path),
            "--state-dir", str(tmp_path / "state"), "--read-timeout", "3", "--conn-timeout", "3", "--dry-run", "--json",
        ]

        def plans(*extra: str) -> dict[tuple[str, str | None], list[str]]:
            result = runner.invoke(cli, [*args, *extra])
            assert result.exit_code == 0, result.output
            return {(d["name"], d["step"]): d["remediation"] for d in json.loads(result.stdout)["devices"]}

        rendered_now = plans()
        assert any("neighbor 10.0.0.5 remote-as 65000" in line for line in rendered_now[("hq-hub1", "union")])
        assert plans("--intended", str(out)) == rendered_now
        # hq-hub3's config left as hq-hub1's first one: refused at its header before any hub is
        # reached, as a final config under another appliance's name is.
        first = out / HELD_OVER_DIR / "hq-hub1.cfg"
        kept = first.read_text()
        first.write_text((out / "hq-hub3.cfg").read_text())
        refused = runner.invoke(cli, [*args, "--intended", str(out)])
        first.write_text(kept)
        assert refused.exit_code == 2, refused.output
        answer = json.loads(refused.stdout)
        (entry,) = answer["errors"]
        assert (entry["file"], entry["field"], entry["line"]) == (str(first), "name", 2), entry
        assert "the intended config of hq-hub3, found as hq-hub1's" in entry["message"]
        assert "devices" not in answer, "no hub was reached"
    # A first config edited in the folder is one --check reports.
    (out / HELD_OVER_DIR / "hq-hub1.cfg").write_text("hostname hq-hub1\n")
    (out / HELD_OVER_DIR / "hq-hub1.cfg").chmod(0o600)
    stale = runner.invoke(cli, [*render_args, "--with-secrets", "--check", "--json"])
    assert stale.exit_code == 1, stale.output
    assert json.loads(stale.stdout)["would_change"] == [f"{HELD_OVER_DIR}/hq-hub1"]
