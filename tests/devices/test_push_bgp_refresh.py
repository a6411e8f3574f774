"""A push that changes a BGP session's policy makes it apply to the routes the session holds.

IOS-XE and FortiOS apply a changed route-map, prefix list or community list only to the routes
received or sent after it: a store's prefix filter tightened on the hub kept accepting the
store's routes it had already received (and a loosened one kept refusing them) until the session
happened to reset. The push runs the documented soft refresh, in and out, for exactly the
sessions whose policy it changed, after the change and before the post-push checks; never a
hard reset. FRR applies a changed policy itself after its route-map delay timer: nothing is run
there. A VRP AR holds every routing-policy change from BGP for its `route-policy-change
notify-delay`; a push that changed a policy object or binding runs `refresh bgp all import` and
`export` once, the documented way to have BGP use it at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storestack.devices.configdiff import compute_diff
from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.report import DeviceResult
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.session import SessionOptions
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread

GOLDEN = Path(__file__).parent / "golden"
PLATFORMS = ("cisco_xe", "fortinet")
PEER = "192.0.2.1"

# One session whose inbound route-map matches a prefix list, added to the factory config:
# (the lines, the prefix list's entry, the entry that replaces it).
BGP: dict[str, tuple[str, str, str]] = {
    "cisco_xe": (
        "ip prefix-list PEER seq 5 permit 10.1.0.0/16\n"
        "route-map FROM-PEER permit 10\n match ip address prefix-list PEER\n"
        f"router bgp 65000\n neighbor {PEER} remote-as 65001\n address-family ipv4\n"
        f"  neighbor {PEER} activate\n  neighbor {PEER} route-map FROM-PEER in\n",
        "permit 10.1.0.0/16",
        "permit 10.2.0.0/16",
    ),
    "fortinet": (
        'config router prefix-list\n    edit "PEER"\n        config rule\n            edit 1\n'
        "                set prefix 10.1.0.0 255.255.0.0\n                unset ge\n                unset le\n"
        "            next\n        end\n    next\nend\n"
        'config router route-map\n    edit "FROM-PEER"\n        config rule\n            edit 1\n'
        '                set match-ip-address "PEER"\n            next\n        end\n    next\nend\n'
        "config router bgp\n    set as 65000\n    config neighbor\n"
        f'        edit "{PEER}"\n            set remote-as 65001\n            set route-map-in "FROM-PEER"\n'
        "        next\n    end\nend\n",
        "set prefix 10.1.0.0 255.255.0.0",
        "set prefix 10.2.0.0 255.255.0.0",
    ),
}
# A change that touches no BGP policy.
UNRELATED = {
    "cisco_xe": ("interface GigabitEthernet2\n no ip address", "interface GigabitEthernet2\n description LAN trunk\n no ip address"),
    "fortinet": ('    edit "port2"\n        set vdom "root"\n', '    edit "port2"\n        set vdom "root"\n        set alias "wan2"\n'),
}


def _with_bgp(platform: str, factory: str) -> str:
    text = factory.replace("\r\n", "\n").rstrip("\n")
    lines = BGP[platform][0]
    if platform == "cisco_xe" and text.endswith("\nend"):
        return text[: -len("end")] + lines + "end\n"
    return text + "\n" + lines


def _device(platform: str) -> str:
    return f"{platform.replace('_', '-')}-bgp"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=_device(platform), platform=platform, store_id=f"s-{_device(platform)}")  # type: ignore[arg-type]
        for platform in PLATFORMS
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


def _push(emulator: Emulator, platform: str, intended: str, state: Path) -> DeviceResult:
    name = _device(platform)
    targets = PushTargets.from_inventory(emulator.inventory()).filter(names=[name])
    options = RunOptions(
        runs_dir=state / "runs",
        push=PushOptions(
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            secret_ledger=state / "secrets",
            session=SessionOptions(conn_timeout=3.0, banner_timeout=3.0, auth_timeout=3.0, read_timeout=3.0),
            confirm_timeout=60,
        ),
    )
    return run_push(targets, IntendedConfigs({name: intended}), options=options).device(name)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_changed_prefix_list_is_applied_to_the_routes_its_session_holds(
    emulator: Emulator, platform: str, tmp_path: Path
) -> None:
    name = _device(platform)
    base = _with_bgp(platform, emulator.running_config(name))
    emulator.set_running_config(name, base, save=True)
    base = emulator.running_config(name)
    assert compute_diff(base, base, platform).in_sync

    _, entry, replaced = BGP[platform]
    changed = _push(emulator, platform, base.replace(entry, replaced), tmp_path / "state")
    assert changed.outcome == "changed", changed.error
    assert emulator.bgp_refreshes(name) == [(PEER, "in"), (PEER, "out")]

    now = emulator.running_config(name)
    assert UNRELATED[platform][0] in now
    other = _push(emulator, platform, now.replace(*UNRELATED[platform], 1), tmp_path / "state")
    assert other.outcome == "changed", other.error
    assert emulator.bgp_refreshes(name) == [(PEER, "in"), (PEER, "out")]


def test_only_the_sessions_of_a_changed_prefix_list_are_refreshed() -> None:
    running = (GOLDEN / "cisco_xe" / "hub.cfg").read_text()
    # nw-0001's prefix list, which its two sessions' inbound route-maps match
    intended = running.replace(
        "ip prefix-list STORE-nw-0001 seq 101 permit 10.64.0.0/26",
        "ip prefix-list STORE-nw-0001 seq 101 permit 10.64.0.0/25",
    )
    assert compute_diff(running, intended, "cisco_xe").refresh == (
        "clear ip bgp 100.64.0.1 soft in",
        "clear ip bgp 100.64.0.1 soft out",
        "clear ip bgp 100.64.255.253 soft in",
        "clear ip bgp 100.64.255.253 soft out",
    )


def test_a_route_map_bound_to_a_peer_group_refreshes_its_members() -> None:
    running = (GOLDEN / "cisco_xe" / "hub.cfg").read_text()
    intended = running.replace("route-map TO-STORES permit 10\n", "route-map TO-STORES permit 10\n set metric 10\n", 1)
    refresh = compute_diff(running, intended, "cisco_xe").refresh
    members = {line.split()[3] for line in refresh}
    assert "100.64.0.1" in members and "100.64.255.253" in members  # STORES-WIRED, STORES-CELLULAR
    assert "10.0.0.1" not in members  # the DC core's session takes FROM-DC / TO-DC
    assert all(line.endswith((" soft in", " soft out")) for line in refresh)


@pytest.mark.parametrize(
    ("platform", "old", "new"),
    [("frr", "ip prefix-list HUBS seq 5 permit", "ip prefix-list HUBS seq 5 deny")],
)
def test_platforms_that_apply_a_changed_policy_themselves_get_no_refresh(platform: str, old: str, new: str) -> None:
    running = (GOLDEN / platform / "hub.cfg").read_text()
    assert old in running
    diff = compute_diff(running, running.replace(old, new, 1), platform)
    assert diff.remediation and diff.refresh == ()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ip ip-prefix HUBS index 10 permit", "ip ip-prefix HUBS index 10 deny"),
        ("route-policy TO-DC permit node 10\n", "route-policy TO-DC permit node 10\n apply cost 10\n"),
        ("  peer 10.0.0.4 route-policy HUBS export\n", "  peer 10.0.0.4 route-policy TO-DC export\n"),
    ],
)
def test_a_vrp_policy_change_refreshes_every_session_once(old: str, new: str) -> None:
    running = (GOLDEN / "huawei_vrp" / "hub.cfg").read_text()
    assert old in running
    diff = compute_diff(running, running.replace(old, new, 1), "huawei_vrp")
    assert diff.remediation and diff.refresh == ("refresh bgp all import", "refresh bgp all export")


def test_a_vrp_change_that_touches_no_policy_refreshes_nothing() -> None:
    running = (GOLDEN / "huawei_vrp" / "hub.cfg").read_text()
    intended = running.replace(" router-id 10.255.0.1\n", " router-id 10.255.0.1\n timer keepalive 10 hold 30\n", 1)
    diff = compute_diff(running, intended, "huawei_vrp")
    assert diff.remediation and diff.refresh == ()
