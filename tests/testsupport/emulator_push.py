"""The push options of tests that push to the asyncssh vendor emulator on 127.0.0.1: short
session timeouts (the emulator answers at once) and a quick poll of the appliance's own revert
timer, which the emulator runs in fast time; one appliance of a running emulator pushed (or its
push planned, a dry run); lines sent straight to an emulated FortiOS
session, each refused line a failure, and a unit a push put a config on; lines typed in an emulated
AR's system view, each refused line a failure; an emulated AR in immediate validation loaded
with a config typed line by line; and lines typed at an emulated AR or IOS-XE router in immediate
validation (`TypedCli`), the lines it refused and the subnets two of its interfaces held after
each line."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from storestack.devices.configdiff import compute_diff
from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.report import DeviceResult
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.devices.session import SessionOptions
from storestack.lab.emulator import Emulator
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.forticonfig import FortiBlock, FortiConfig, unquote
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession
from storestack.lab.emulator.profiles.fortinet import FortiSession
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession


def emulator_run_options(state: Path, *, confirm_timeout: int = 60, force: bool = False) -> RunOptions:
    """Run options keeping the run's journals, backups and known hosts under `state`."""
    return RunOptions(
        runs_dir=state / "runs",
        push=PushOptions(
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            session=SessionOptions(conn_timeout=3.0, banner_timeout=3.0, auth_timeout=3.0, read_timeout=3.0, save_timeout=3.0),
            confirm_timeout=confirm_timeout,
            revert_poll=0.2,
            revert_margin=10.0,
            force=force,
        ),
    )


def push_emulated(
    emulator: Emulator, name: str, intended: str, state: Path, *, dry_run: bool = False, confirm_timeout: int = 60
) -> DeviceResult:
    """`intended` pushed to the emulated appliance `name` (its run's files under `state`), or
    planned (`dry_run`): the appliance's result."""
    targets = PushTargets.from_inventory(emulator.inventory()).filter(names=[name])
    options = emulator_run_options(state, confirm_timeout=confirm_timeout)
    if dry_run:
        options = RunOptions(
            runs_dir=state / "runs",
            push=PushOptions(dry_run=True, backup_root=state / "backups", known_hosts=state / "known_hosts.json"),
        )
    return run_push(targets, IntendedConfigs({name: intended}), options=options).device(name)


def send_to_fortios(session: FortiSession, lines: Sequence[str]) -> None:
    """Each line to the emulated FortiOS session in turn; one it refuses ("Command fail") fails
    the test, naming the line and the answer."""
    for line in lines:
        output = session.handle(line).output
        assert "Command fail" not in output, (line, output)


def send_to_vrp(session: VrpSession, lines: Sequence[str]) -> None:
    """Each line typed in the emulated AR's system view in turn, then back to the user view; one
    it refuses ("Error:") fails the test, naming the line and the answer."""
    session.handle("system-view")
    for line in lines:
        output = session.handle(line).output
        assert "Error:" not in output, (line, output)
    session.handle("return")


def forti_block(config: FortiConfig, path: tuple[str, ...]) -> FortiBlock:
    """The block at `path` of a FortiOS config (a block's name, or an entry's name then a
    block's), empty if none."""
    block = config.root.blocks.get(path[0], FortiBlock())
    rest = path[1:]
    while rest:
        if rest[0] in block.blocks:
            block, rest = block.blocks[rest[0]], rest[1:]
            continue
        entry = next((e for name, e in block.entries.items() if unquote(name) == rest[0]), None)
        if entry is None or len(rest) < 2:
            return FortiBlock()
        block, rest = entry.blocks.get(rest[1], FortiBlock()), rest[2:]
    return block


def forti_entries(config: FortiConfig, path: tuple[str, ...]) -> dict[str, frozenset[tuple[str, str]]]:
    """Each entry of the table at `path` by id: its settings but the unit's own uuid."""
    return {
        unquote(name): frozenset((key, value) for key, value in entry.attributes.items() if key != "uuid")
        for name, entry in forti_block(config, path).entries.items()
    }


def fortios_held(session: FortiSession) -> FortiConfig:
    """What an emulated FortiOS unit would apply now: the block being edited where one is open,
    else its running config."""
    return session.staged if session.staged is not None else session.device.forti()


def fortios_holds_kept_at_every_line(
    session: FortiSession,
    lines: Sequence[str],
    before: str,
    after: str,
    tables: Sequence[tuple[tuple[str, ...], tuple[str, ...]]],
) -> None:
    """Each line sent (a refused one fails); after every one, each table of `tables` ((path, the
    settings that say what an entry is)) holds every entry that both `before` and `after` hold."""

    def what(config: FortiConfig, path: tuple[str, ...], key: tuple[str, ...]) -> set[tuple[str | None, ...]]:
        return {tuple(dict(entry).get(k) for k in key) for entry in forti_entries(config, path).values()}

    kept = {path: what(FortiConfig(before), path, key) & what(FortiConfig(after), path, key) for path, key in tables}
    for line in lines:
        send_to_fortios(session, [line])
        config = fortios_held(session)
        for path, key in tables:
            missing = kept[path] - what(config, path, key)
            assert not missing, f"after {line!r} {path} holds no {sorted(map(str, missing))}"


def fortios_holding(intended: str, name: str = "fgt") -> tuple[DeviceState, FortiSession]:
    """A factory FortiOS unit the push has put `intended` on (each refused line a failure), in
    sync with it."""
    device = DeviceState(EmulatedDevice(name=name, platform="fortinet"))
    session = FortiSession(device)
    send_to_fortios(session, compute_diff(device.running_text(), intended, "fortinet").remediation)
    assert compute_diff(device.running_text(), intended, "fortinet", held=HELD_AS_SENT).in_sync
    return device, session


def vrp_immediate_with(config: str, name: str = "ar") -> tuple[DeviceState, VrpSession]:
    """An emulated AR in immediate validation (each line live as typed) that took `config`
    typed line by line in the system view (its `#` and `return` lines left out), each view left
    with `quit` before a line of an outer one, as an operator types it (no VRP5 document says
    the AR runs a command typed in a view that lacks it in an outer one), each refused line a
    failure; the session is back in the user view."""
    device = DeviceState(EmulatedDevice(name=name, platform="huawei_vrp", validation="immediate"))
    session = VrpSession(device)
    session.handle("system-view")
    views: list[int] = []  # the indentation of each line that opened a view still open
    for line in config.splitlines():
        if not line.strip() or line.startswith(("#", "return")) or line.strip() == "#":
            continue
        indent = len(line) - len(line.lstrip())
        while views and views[-1] >= indent:
            session.handle("quit")
            views.pop()
        depth = len(session.context)
        output = session.handle(line).output
        assert "Error:" not in output, (line, output)
        if len(session.context) > depth:
            views.append(indent)
    session.handle("return")
    return device, session


def vrp_push_and_rollback(before: str, after: str, name: str = "ar") -> None:
    """An emulated AR in immediate validation holding `before` (`vrp_immediate_with`) takes the
    push to `after` and then its rollback, each refused line a failure: after the push it is in
    sync with `after`, after the rollback with what it ran before."""
    device, session = vrp_immediate_with(before, name)
    running = device.running_text()
    diff = compute_diff(running, after, "huawei_vrp")
    send_to_vrp(session, diff.remediation)
    assert compute_diff(device.running_text(), after, "huawei_vrp", held=HELD_AS_SENT).in_sync
    send_to_vrp(session, diff.rollback)
    assert compute_diff(device.running_text(), running, "huawei_vrp", held=HELD_AS_SENT).in_sync


@dataclass(frozen=True)
class TypedCli:
    """An emulated line-oriented CLI as a test types at it: its session, how it enters and leaves
    configuration, what an answer refusing a line looks like, how its running config separates
    blocks and binds an interface to a VPN instance or VRF, and which two subnets of one VPN
    instance two interfaces may not both hold (the emulator's rule)."""

    platform: str
    unit: str
    session: Callable[[DeviceState], VrpSession | IosSession]
    configure: str
    refuses: Callable[[str], bool]
    separator: str
    binding: re.Pattern[str]
    address: re.Pattern[str]
    clash: Callable[[ipaddress.IPv4Network, ipaddress.IPv4Network], bool]


# VRP answers a refused line with "Error: …" and refuses an address of the very subnet another
# interface holds; IOS-XE answers a taken line with nothing and refuses any overlapping subnet.
VRP = TypedCli(
    "huawei_vrp", "ar", VrpSession, "system-view", lambda output: "Error:" in output, r"(?m)^#\n",
    re.compile(r"(?m)^ ip binding vpn-instance (\S+)$"), re.compile(r"^ ip address (\S+) (\S+)$"),
    lambda a, b: a == b,
)
IOS_XE = TypedCli(
    "cisco_xe", "isr", IosSession, "configure terminal", bool, r"(?m)^!\n",
    re.compile(r"(?m)^ vrf forwarding (\S+)$"),
    re.compile(r"^ ip address (\d+\.\d+\.\d+\.\d+) (\d+\.\d+\.\d+\.\d+)(?: secondary)?$"),
    lambda a, b: a.overlaps(b),
)


def immediate_unit(cli: TypedCli, config: str = "") -> tuple[DeviceState, VrpSession | IosSession]:
    """An emulated unit in immediate validation (each line live as typed) running `config`, its
    session in configuration."""
    device = DeviceState(EmulatedDevice(name=cli.unit, platform=cli.platform, validation="immediate", running_config=config))
    session = cli.session(device)
    session.handle(cli.configure)
    return device, session


def refused(cli: TypedCli, session: VrpSession | IosSession, lines: Sequence[str]) -> list[str]:
    """Each line typed in turn; the ones the unit refused, each as "line: answer"."""
    return [
        f"{line.strip()}: {output.strip()}" for line in lines if cli.refuses(output := session.handle(line).output)
    ]


def shared_subnets(cli: TypedCli, running: str) -> list[str]:
    """The subnets two interfaces of one VPN instance (VRF) hold addresses in that clash."""
    held: list[tuple[str, str, ipaddress.IPv4Network]] = []
    for block in re.split(cli.separator, running):
        if not block.startswith("interface "):
            continue
        name = block.split()[1]
        binding = cli.binding.search(block)
        for line in block.splitlines():
            if found := cli.address.match(line):
                network = ipaddress.IPv4Interface(f"{found[1]}/{found[2]}").network
                held.append((binding[1] if binding else "", name, network))
    return [
        f"{a} on {x} and {b} on {y}"
        for i, (v, x, a) in enumerate(held)
        for (w, y, b) in held[i + 1 :]
        if v == w and x != y and cli.clash(a, b)
    ]


def typed_keeping_subnets_apart(
    cli: TypedCli, device: DeviceState, session: VrpSession | IosSession, lines: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Each line typed in turn: the ones refused, and the subnets two interfaces held after any."""
    refusals: list[str] = []
    shared: list[str] = []
    for line in lines:
        refusals += refused(cli, session, [line])
        shared += shared_subnets(cli, device.running_text())
    return refusals, shared
