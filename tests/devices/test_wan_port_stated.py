"""A store's WAN link keeps the physical port it is cabled to when another link goes.

A link's port used to be its place among the store's links: nw-0002 going LTE-only (its fibre
link wan1 removed) moved lte1's settings from the port its modem is plugged into (IOS-XE
GigabitEthernet0/0/1, VRP GigabitEthernet0/0/2, FortiOS wan2) to the fibre's: the push emptied
the modem's port, the store's only link went down mid-push and the config could not work until
someone moved the cable; on VRP the underlay VPN instance's route distinguisher changed with it.
The inventory now states the port (`WanLink.port`); stated, the link keeps its port, its tunnels,
its routing table and its RD, and the push leaves its port alone."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from testsupport.cli import cli_runner
from testsupport.emulator_push import emulator_run_options
from testsupport.rendering import (
    NW_0002_LTE1,
    edited_sample_chain,
    lte_only_chain,
    lte_only_configs,
    on_platform,
)

from storestack.cli.main import cli
from storestack.common.platforms import Platform
from storestack.devices.configdiff import compute_diff
from storestack.devices.configdiff.moved_ports import MovedLink, moved_links, port_links
from storestack.devices.drivers import driver_for
from storestack.devices.intended import (
    STATED_PORTS_FILE,
    IntendedConfig,
    IntendedConfigDirectory,
    IntendedConfigs,
    read_stated_ports,
)
from storestack.devices.push import PushOptions
from storestack.devices.render import render_store
from storestack.devices.report import DeviceResult
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.secret_ledger import HeldSecrets
from storestack.devices.targets import ApplianceTarget
from storestack.devices.views.builder import ViewBuilder
from storestack.devices.views.model import WanLinkView
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.errors import InventoryError
from storestack.lab.emulator import Emulator, EmulatorThread
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

# lte1's port in the dual-WAN store, where its modem is cabled.
LTE1_PORT = {
    "cisco_xe": "GigabitEthernet0/0/1",
    "huawei_vrp": "GigabitEthernet0/0/2",
    "fortinet": "wan2",
    "frr": "lte1",
}
# The first port (wan1's in the dual-WAN store), where a link without a stated port goes alone.
FIRST_PORT = {"cisco_xe": "GigabitEthernet0/0/0", "huawei_vrp": "GigabitEthernet0/0/1", "fortinet": "wan1"}


def _block(config: str, header: str) -> list[str]:
    """The lines of the block `header` opens (IOS-XE, VRP, FRR: indented lines after it; FortiOS:
    up to its `next`)."""
    lines = config.splitlines()
    start = lines.index(header)
    body = [header]
    for line in lines[start + 1 :]:
        if header.lstrip().startswith("edit "):
            body.append(line)
            if line.strip() == "next":
                break
        elif line.startswith(" "):
            body.append(line)
        else:
            break
    return body


def _lte1(platform: Platform, tmp_path: Path, port: int | None) -> tuple[WanLinkView, WanLinkView]:
    """lte1's link view in the dual-WAN store and in the store gone LTE-only."""
    dual = on_platform(load_fleet(sample_chain_path()), platform, "frr")
    single = on_platform(load_fleet(lte_only_chain(tmp_path, port)), platform, "frr")
    views = []
    for fleet in (dual, single):
        (view,) = ViewBuilder(fleet).store_views(fleet.store("nw-0002"))
        views.append(next(link for link in view.wan if link.name == "lte1"))
    return views[0], views[1]


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet", "frr"])
def test_a_stated_port_keeps_the_link_on_its_port_its_table_and_its_tunnels(platform: Platform, tmp_path: Path) -> None:
    before, after = _lte1(platform, tmp_path, 1)
    assert before.ifname == after.ifname == LTE1_PORT[platform]
    assert before.table == after.table
    # Its tunnels keep their interfaces (alone, the link is homed on the store's own hub: its
    # tunnels to the two hubs trade places, the intent's homing, not its port).
    assert sorted(t.ifname for t in before.tunnels) == sorted(t.ifname for t in after.tunnels)
    assert sorted(t.number for t in before.tunnels) == sorted(t.number for t in after.tunnels)
    # Its preference is its place: alone, it is the store's primary link now.
    assert (before.index, after.index, after.primary) == (1, 0, True)


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_without_a_stated_port_the_link_takes_the_first_port(platform: Platform, tmp_path: Path) -> None:
    """What an inventory without `port` still renders (its place in the links): the move the push
    refuses."""
    _, after = _lte1(platform, tmp_path, None)
    assert after.ifname != LTE1_PORT[platform]


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_the_port_of_a_link_with_a_stated_port_renders_as_it_did(platform: Platform, tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, platform, port=1)
    header = {
        "cisco_xe": f"interface {LTE1_PORT[platform]}",
        "huawei_vrp": f"interface {LTE1_PORT[platform]}",
        "fortinet": f'    edit "{LTE1_PORT[platform]}"',
    }[platform]
    # Alone, the link is the primary one: only its description says so.
    role = re.compile(r"\b(backup|primary)\b")
    assert [role.sub("ROLE", line) for line in _block(after, header)] == [
        role.sub("ROLE", line) for line in _block(before, header)
    ]


def test_a_vrp_store_keeps_its_lte_vpn_instance_rd(tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, "huawei_vrp", port=1)
    rd = re.compile(r"(?m)^ip vpn-instance INET-lte1\n(?: .*\n)*?  route-distinguisher (\S+)$")
    held, intended = rd.search(before), rd.search(after)
    assert held is not None and intended is not None
    assert held[1] == intended[1]
    diff = compute_diff(before, after, "huawei_vrp")
    assert [line for line in diff.remediation if "route-distinguisher" in line] == []


def test_an_ios_push_of_the_lte_only_store_leaves_the_modem_port_alone(tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, "cisco_xe", port=1)
    device = DeviceState(EmulatedDevice(name="isr", platform="cisco_xe", validation="immediate", running_config=before))
    session = IosSession(device)
    start = device.running_text()
    port = _block(start, f"interface {LTE1_PORT['cisco_xe']}")
    diff = compute_diff(start, after, "cisco_xe")
    session.handle("configure terminal")
    refused = [f"{line.strip()}: {out.strip()}" for line in diff.remediation if (out := session.handle(line).output)]
    session.handle("end")
    assert refused == []
    running = device.running_text()
    # The modem's port holds what it held (its description names it the primary link now) and
    # the fibre's port is emptied; the link's tunnels are the ones it had.
    assert [line for line in port if not line.startswith(" description")] == [
        line for line in _block(running, f"interface {LTE1_PORT['cisco_xe']}") if not line.startswith(" description")
    ]
    assert not [line for line in _block(running, "interface GigabitEthernet0/0/0") if "ip address" in line and "no " not in line]
    assert "interface Tunnel2" in running and "interface Tunnel4" in running
    assert compute_diff(running, after, "cisco_xe", held=HeldSecrets(everything=True)).remediation == ()


def _issues(root: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        load_fleet(root)
    return [str(issue) for issue in caught.value.issues]


def _line(root: Path, text: str, after: str = "") -> int:
    lines = (root / "stores" / "nw-0002.yaml").read_text().splitlines()
    start = next(i for i, t in enumerate(lines, 1) if t.strip() == after) if after else 0
    return next(i for i, t in enumerate(lines, 1) if i > start and t.strip() == text)


def test_two_links_on_one_port_are_refused_at_the_stated_port(tmp_path: Path) -> None:
    # lte1 stated on port 0, which wan1 is on by default (the first by priority).
    chain = edited_sample_chain(tmp_path, "  - name: lte1\n", "  - name: lte1\n    port: 0\n", "stores/nw-0002.yaml")
    store = chain / "stores" / "nw-0002.yaml"
    assert _issues(chain) == [
        f"stores/nw-0002.yaml:{_line(chain, 'port: 0')} wan[1].port: link lte1: WAN port 0 is link wan1's as well, "
        "which is on it by default (its place in the links by priority): each link is cabled to a port of its own"
    ]
    # Both stated on one port: each is refused.
    store.write_text(store.read_text().replace("  - name: wan1\n", "  - name: wan1\n    port: 0\n"))
    assert _issues(chain) == [
        f"stores/nw-0002.yaml:{_line(chain, 'port: 0')} wan[0].port: link wan1: WAN port 0 is link lte1's as well, "
        "which states it too: each link is cabled to a port of its own",
        f"stores/nw-0002.yaml:{_line(chain, 'port: 0', '- name: lte1')} wan[1].port: link lte1: WAN port 0 is link "
        "wan1's as well, which states it too: each link is cabled to a port of its own",
    ]
    # Apart, they load, each on its own port.
    store.write_text(store.read_text().replace("    port: 0\n    kind: lte", "    port: 2\n    kind: lte"))
    assert [(link.name, link.port, link.port_stated) for link in load_fleet(chain).store("nw-0002").wan] == [
        ("wan1", 0, True),
        ("lte1", 2, True),
    ]


def test_a_negative_port_is_refused(tmp_path: Path) -> None:
    chain = lte_only_chain(tmp_path, -1)
    assert _issues(chain) == [
        f"stores/nw-0002.yaml:{_line(chain, 'port: -1')} wan[0].port: -1 is out of range (must be at least 0)"
    ]


def test_the_sample_chain_renders_each_link_on_its_place(tmp_path: Path) -> None:
    """No `port` stated: every link on the port its place gives it, as before."""
    for store in load_fleet(sample_chain_path()):
        assert [(link.port, link.port_stated) for link in store.wan] == [(i, False) for i in range(len(store.wan))]
    ((config,),) = [render_store(on_platform(load_fleet(sample_chain_path()), "cisco_xe", "frr"), "nw-0002")]
    assert "interface GigabitEthernet0/0/0\n description wan1 " in config.text


# ---------------------------------------------------------------- the push


def _push(
    tmp_path: Path, platform: Platform, running: str, intended: IntendedConfig, *, dry_run: bool = False
) -> tuple[DeviceResult, str, int, str]:
    """Push `intended` to an emulated nw-0002-edge1 on `platform` holding `running`: the result,
    the config it runs after, the lines it received and the config it ran before (with what the
    device adds itself, such as FortiOS's `snmp-index`)."""
    name = "nw-0002-edge1"
    device = EmulatedDevice(name=name, platform=platform, store_id="nw-0002", running_config=running)
    with EmulatorThread(Emulator([device], state_dir=tmp_path / "emulator")) as emulator:
        held = emulator.running_config(name)
        options = emulator_run_options(tmp_path / "state", confirm_timeout=0, force=True)
        if dry_run:
            options = RunOptions(
                runs_dir=tmp_path / "state" / "runs",
                push=PushOptions(
                    dry_run=True, backup_root=tmp_path / "state" / "backups", known_hosts=tmp_path / "state" / "kh.json"
                ),
            )
        targets = PushTargets.from_inventory(emulator.inventory()).filter(names=[name])
        result = run_push(targets, IntendedConfigs({name: intended}), options=options).device(name)
        after = emulator.running_config(name)
        received = emulator.config_lines_received(name)
    assert held  # the emulator loaded it
    return result, after, received, held


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_push_moving_a_link_off_its_defaulted_port_is_refused_before_any_line(
    tmp_path: Path, platform: Platform, dry_run: bool
) -> None:
    before, after = lte_only_configs(tmp_path, platform)
    result, running, received, _ = _push(
        tmp_path, platform, before, IntendedConfig(after, stated_ports=frozenset()), dry_run=dry_run
    )
    assert (result.outcome, result.stage, result.error_type) == ("failed", "diff", "RefusedChangeError"), result.error
    error = result.error or ""
    port, first = LTE1_PORT[platform], FIRST_PORT[platform]
    assert f"link lte1 is on {port}" in error and f"puts it on {first}" in error
    assert "stores/nw-0002.yaml" in error and "`port: 1` on link lte1" in error
    assert result.config_lines_sent == 0 and received == 0
    assert compute_diff(running, before, platform).in_sync


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_a_push_of_a_stated_port_goes_ahead_and_leaves_the_modem_port_alone(tmp_path: Path, platform: Platform) -> None:
    before, after = lte_only_configs(tmp_path, platform, port=1)
    result, running, _, held = _push(tmp_path, platform, before, IntendedConfig(after, stated_ports=frozenset({"lte1"})))
    assert result.outcome == "changed", result.error
    port = LTE1_PORT[platform]
    # No line under the modem's port but its description (the link is the primary one now).
    sent = [line.strip() for line in _sent_under(result.remediation, _port_header(platform, port))]
    assert [
        line for line in sent if not line.startswith(("description ", "undo description", "set description "))
    ] in ([], ["exit"], ["quit"], ["next"])
    # The port holds what it held, but its description and what the unit numbers itself (a
    # FortiGate's `set snmp-index`, the platform's ignored lines).
    header = _port_header(platform, port, rendered=True)
    driver = driver_for(platform)

    def kept(config: str) -> list[str]:
        return [line for line in _block(config, header) if "description" not in line and not driver.is_ignored(line)]

    assert kept(running) == kept(held) and len(kept(held)) > 3
    assert compute_diff(running, after, platform, held=HeldSecrets(everything=True)).remediation == ()


def _port_header(platform: Platform, port: str, *, rendered: bool = False) -> str:
    """The line that opens `port`'s block: in a config, or (FortiOS) in a remediation."""
    if platform != "fortinet":
        return f"interface {port}"
    return f'{"    " if rendered else "  "}edit "{port}"'


def _sent_under(lines: Sequence[str], header: str) -> list[str]:
    """The lines a remediation sends in the block `header` opens, wherever it opens it (FortiOS:
    an `edit` of `config system interface`, up to its `next`)."""
    sent: list[str] = []
    inside = False
    if header.lstrip().startswith("edit "):
        table = ""
        for line in lines:
            if not line.startswith(" "):
                table = line
            elif table == "config system interface" and line == header:
                inside = True
            elif inside:
                sent.append(line)
                inside = line.strip() != "next"
        return sent
    for line in lines:
        if not line.startswith(" "):
            inside = line == header
        elif inside:
            sent.append(line)
    return sent


def test_a_stated_move_goes_ahead(tmp_path: Path) -> None:
    """The port a stated `port` names is the operator's: a link moved to it is moved."""
    before, after = lte_only_configs(tmp_path, "cisco_xe", port=0)
    assert moved_links(before, after, "cisco_xe") == [
        MovedLink("lte1", "GigabitEthernet0/0/1", "GigabitEthernet0/0/0", 1)
    ]
    result, running, _, _ = _push(tmp_path, "cisco_xe", before, IntendedConfig(after, stated_ports=frozenset({"lte1"})))
    assert result.outcome == "changed", result.error
    assert "interface GigabitEthernet0/0/0\n description lte1 " in running


def test_a_config_read_from_a_file_does_not_say_the_port_is_stated(tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, "cisco_xe", port=0)
    result, _, received, _ = _push(tmp_path, "cisco_xe", before, IntendedConfig(after))
    assert result.error_type == "RefusedChangeError" and received == 0
    assert "read from a file" in (result.error or "")


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_each_platform_with_a_port_description_names_its_links(tmp_path: Path, platform: Platform) -> None:
    before, after = lte_only_configs(tmp_path, platform)
    first = FIRST_PORT[platform]
    assert port_links(before, platform) == {"wan1": first, "lte1": LTE1_PORT[platform]}
    assert moved_links(before, after, platform) == [MovedLink("lte1", LTE1_PORT[platform], first, 1)]
    _, stated = lte_only_configs(tmp_path / "stated", platform, port=1)
    assert moved_links(before, stated, platform) == []


def test_frr_names_its_ports_after_their_links(tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, "frr")
    assert port_links(before, "frr") == {} and moved_links(before, after, "frr") == []


def test_a_rollout_push_reads_the_stated_ports_its_render_wrote(tmp_path: Path) -> None:
    """The rollout renders into a folder and pushes from it (resumed, in another process): the
    stated ports go beside the configs, so a stated move is not refused as one read from a file."""
    (tmp_path / STATED_PORTS_FILE).write_text(json.dumps({"nw-0002-edge1": ["lte1"]}))
    (tmp_path / "nw-0002-edge1.cfg").write_text("hostname nw-0002-edge1\n")
    target = ApplianceTarget(name="nw-0002-edge1", role="edge", store_id="nw-0002", platform="cisco_xe", host="127.0.0.1")
    intended = IntendedConfigDirectory(tmp_path).intended_config(target)
    assert intended.stated_ports == frozenset({"lte1"})
    (tmp_path / STATED_PORTS_FILE).unlink()
    assert IntendedConfigDirectory(tmp_path).intended_config(target).stated_ports is None
    assert read_stated_ports(tmp_path / "none") is None


# ---------------------------------------------------------------- render --out, then push --intended


def _ios_chain(chain: Path) -> Path:
    """`chain` with nw-0002's edge router on IOS-XE."""
    store = chain / "stores" / "nw-0002.yaml"
    store.write_text(store.read_text().replace("    platform: frr\n", "    platform: cisco_xe\n", 1))
    return chain


def _render_then_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int | None, *, keep_sidecar: bool = True
) -> tuple[dict[str, Any], str]:
    """nw-0002 gone LTE-only (lte1 on WAN port `port` where stated) rendered with `devices render
    --out DIR`, then pushed with `devices push --intended DIR` to an emulated IOS-XE nw-0002-edge1
    running the dual-WAN config (lte1 on GigabitEthernet0/0/1), the folder's stated ports removed
    unless `keep_sidecar`: the push's device report and the config the router runs after."""
    before = edited_sample_chain(tmp_path / "before", "    platform: frr\n", "    platform: cisco_xe\n", "stores/nw-0002.yaml")
    ((held,),) = [render_store(load_fleet(before), "nw-0002")]
    after = _ios_chain(lte_only_chain(tmp_path / "after", port))
    runner = cli_runner(monkeypatch, tmp_path)
    out = tmp_path / "intended"
    rendered = runner.invoke(
        cli, ["devices", "render", "--fleet", str(after), "--store", "nw-0002", "--out", str(out), "--with-secrets"]
    )
    assert rendered.exit_code == 0, rendered.output
    if not keep_sidecar:
        (out / STATED_PORTS_FILE).unlink()
    name = "nw-0002-edge1"
    device = EmulatedDevice(name=name, platform="cisco_xe", store_id="nw-0002", running_config=held.text)
    with EmulatorThread(Emulator([device], state_dir=tmp_path / "emulator")) as emulator:
        pushed = runner.invoke(
            cli,
            [
                "devices", "push", "--fleet", str(after), "--targets", str(emulator.inventory_path),
                "--intended", str(out), "--state-dir", str(tmp_path / "state"), "--read-timeout", "3",
                "--conn-timeout", "3", "--json",
            ],
        )
        running = emulator.running_config(name)
    (report,) = [d for d in json.loads(pushed.stdout)["devices"] if d["name"] == name]
    return report, running


def test_a_move_the_inventory_states_is_pushed_from_a_rendered_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`devices render --out` writes which ports are stated beside the configs, as the rollout
    does: the operator's move of lte1 to port 0 is pushed from the folder."""
    report, running = _render_then_push(tmp_path, monkeypatch, 0)
    assert report["outcome"] == "changed", report["error"]
    assert "interface GigabitEthernet0/0/0\n description lte1 " in running


def test_a_defaulted_move_from_a_rendered_folder_is_still_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, running = _render_then_push(tmp_path, monkeypatch, None)
    assert (report["outcome"], report["stage"]) == ("failed", "diff"), report
    assert "link lte1 is on GigabitEthernet0/0/1" in report["error"] and "`port: 1` on link lte1" in report["error"]
    # The folder says no port is stated: the refusal is not put on the file.
    assert "read from a file" not in report["error"]
    assert "interface GigabitEthernet0/0/1\n description lte1 " in running


def test_a_folder_without_its_stated_ports_refuses_every_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, running = _render_then_push(tmp_path, monkeypatch, 0, keep_sidecar=False)
    assert (report["outcome"], report["stage"]) == ("failed", "diff"), report
    assert "read from a file" in report["error"]
    assert "interface GigabitEthernet0/0/1\n description lte1 " in running


def test_render_check_tells_a_stated_port_the_folder_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`port: 1` stated on lte1, the port it is on already: no config line changes, but a folder
    rendered before it would refuse the link's later move, so `--check` says the folder is out of
    date (and the stated ports are no stale file of a whole-fleet render)."""
    runner = cli_runner(monkeypatch, tmp_path)
    out = tmp_path / "configs"
    chain = edited_sample_chain(tmp_path, NW_0002_LTE1, NW_0002_LTE1, "stores/nw-0002.yaml")
    render = ["devices", "render", "--fleet", str(chain), "--out", str(out), "--workers", "1"]
    assert runner.invoke(cli, render).exit_code == 0
    assert read_stated_ports(out) is not None and read_stated_ports(out)["nw-0002-edge1"] == frozenset()
    checked = runner.invoke(cli, [*render, "--check"])
    assert checked.exit_code == 0, checked.output
    store = chain / "stores" / "nw-0002.yaml"
    configs = {path.name: path.read_text() for path in out.iterdir()}
    store.write_text(store.read_text().replace(NW_0002_LTE1, f"{NW_0002_LTE1}    port: 1\n"))
    checked = runner.invoke(cli, [*render, "--check"])
    assert checked.exit_code == 1, checked.output
    assert "changed: nw-0002-edge1" in checked.stdout and "stale" not in checked.stdout
    assert {path.name: path.read_text() for path in out.iterdir()} == configs  # --check writes nothing
    assert runner.invoke(cli, render).exit_code == 0
    assert read_stated_ports(out)["nw-0002-edge1"] == frozenset({"lte1"})
    assert {path.name: path.read_text() for path in out.iterdir() if path.name != STATED_PORTS_FILE} == {
        name: text for name, text in configs.items() if name != STATED_PORTS_FILE
    }
    assert runner.invoke(cli, [*render, "--check"]).exit_code == 0
