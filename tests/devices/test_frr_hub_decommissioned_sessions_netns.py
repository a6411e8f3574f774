"""A store removed from an FRR hub's swanctl.conf (decommissioned) can no longer reach HQ through
the hub once the push installed the file, although the store's own box keeps its config and keeps
dialling: with real strongSwan (kernel-libipsec) and packets, in network namespaces.

`swanctl --load-all` unloads a connection the new file drops but leaves its IKE_SA and CHILD_SAs
up until they expire (hours); the store's traffic went on reaching HQ. The install of swanctl.conf
(`devices/frr_confirm.py` `companion_install`, the push's `companion-install`) now ends the sessions
of the connections it dropped (`SessionEnds`: `swanctl --terminate --ike NAME --force`, strongSwan
docs, swanctl --terminate), and the other store's tunnel stays up. The hub installs swanctl.conf
before its firewall (`devices/platforms/frr.py` `hub_companions`), so the removed store's tunnel
ends while its filter is still loaded.

What this does not prove: the tunnels here carry the stores' LAN addresses in their selectors,
not 0.0.0.0/0 over XFRM interfaces (this kernel has neither kernel ESP nor XFRM interfaces); the
hub's firewall and routing companions are not loaded. The file is the one companion_install runs
with the appliance's default commands, pointed at this charon's VICI socket (`--uri`).

Namespaces, root and strongSwan: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storestack.devices import frr_confirm
from storestack.devices.platforms import get_platform
from storestack.lab import ipsec

PREFIX = f"ssdecom{os.getpid() % 100000}"
HUB, HQ = f"{PREFIX}-hub", f"{PREFIX}-hq"
HQ_HOST = "10.0.0.10"
# Each store: its namespace, WAN address, LAN address (the tunnel's selector) and connection name.
STORES = {
    "nw-0001": (f"{PREFIX}-s1", "192.0.2.2", "10.64.0.1", "nw-0001-wan1-hq-hub1"),
    "nw-0002": (f"{PREFIX}-s2", "192.0.2.3", "10.64.2.1", "nw-0002-wan1-hq-hub1"),
}
PSK = "decommissioned-store-test-0123456789"
PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(1.0)
s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], 4711))
    print("reachable")
except ConnectionRefusedError:
    print("reachable")
except OSError:
    print("unreachable")
"""


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    assert not check or result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def _connection(name: str, local: str, remote: str, local_id: str, remote_id: str, local_ts: str, remote_ts: str, initiator: bool) -> str:
    return f"""  {name} {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    proposals = aes256gcm16-prfsha384-ecp384
    encap = yes
    mobike = no
    keyingtries = 0
    dpd_delay = 5s
    local {{
      auth = psk
      id = {local_id}
    }}
    remote {{
      auth = psk
      id = {remote_id}
    }}
    children {{
      {name} {{
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = aes256gcm16-ecp384
        dpd_action = {"restart" if initiator else "clear"}
        start_action = {"start" if initiator else "none"}
      }}
    }}
  }}
"""


def _secret(index: int, local_id: str, remote_id: str) -> str:
    return f'  ike-{index} {{\n    id-1 = {local_id}\n    id-2 = {remote_id}\n    secret = "{PSK}"\n  }}\n'


def hub_swanctl(stores: list[str]) -> str:
    """The hub's swanctl.conf serving `stores` (responder, as the rendered hub's)."""
    connections = "".join(
        _connection(STORES[s][3], "192.0.2.1", STORES[s][1], "hq-hub1.example", f"{s}-wan1.example", "10.0.0.0/24", f"{STORES[s][2]}/32", False)
        for s in stores
    )
    secrets = "".join(_secret(i, "hq-hub1.example", f"{s}-wan1.example") for i, s in enumerate(stores))
    return f"connections {{\n{connections}}}\nsecrets {{\n{secrets}}}\n"


def store_swanctl(store: str) -> str:
    _ns, wan, lan, name = STORES[store]
    connection = _connection(name, wan, "192.0.2.1", f"{store}-wan1.example", "hq-hub1.example", f"{lan}/32", "10.0.0.0/24", True)
    return f"connections {{\n{connection}}}\nsecrets {{\n{_secret(0, f'{store}-wan1.example', 'hq-hub1.example')}}}\n"


def _ready(namespace: str, address: str | None) -> None:
    folder = ipsec.instance_dir(namespace)
    deadline = time.monotonic() + 20
    while not (folder / "charon.vici").exists() or _run("ip", "-n", namespace, "link", "show", ipsec.TUN_DEVICE, check=False).returncode:
        assert time.monotonic() < deadline, f"charon in {namespace} did not start"
        time.sleep(0.05)
    if address:
        # libipsec routes a policy only from an address it knows: on ipsec0 before the load.
        _run("ip", "-n", namespace, "addr", "add", f"{address}/32", "dev", ipsec.TUN_DEVICE)
    _run("ip", "-n", namespace, "link", "set", ipsec.TUN_DEVICE, "up")
    ipsec.swanctl(namespace, "--load-all", "--file", str(folder / "swanctl.conf"))
    _run("ip", "-n", namespace, "rule", "del", "pref", "220", check=False)


def reaches_hq(store: str) -> bool:
    namespace, _wan, lan, _name = STORES[store]
    return _run("ip", "netns", "exec", namespace, "python3", "-c", PROBE, lan, HQ_HOST).stdout.strip() == "reachable"


def _eventually(check: Any, want: bool, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check() == want:
            return True
        time.sleep(0.2)
    return check() == want


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        _unavailable("network namespaces need root and iproute2")
    if not ipsec.CHARON.exists() or not ipsec.SWANCTL.exists():
        _unavailable("strongSwan (charon, swanctl) is not installed")
    namespaces = [HUB, HQ, *(ns for ns, *_ in STORES.values())]
    try:
        for namespace in namespaces:
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        _run("ip", "-n", HUB, "link", "add", "wan", "type", "bridge")
        _run("ip", "-n", HUB, "addr", "add", "192.0.2.1/24", "dev", "wan")
        _run("ip", "-n", HUB, "link", "set", "wan", "up")
        for index, (namespace, wan, _lan, _name) in enumerate(STORES.values()):
            _run("ip", "link", "add", "wan", "netns", namespace, "type", "veth", "peer", "name", f"s{index}", "netns", HUB)
            _run("ip", "-n", HUB, "link", "set", f"s{index}", "master", "wan", "up")
            _run("ip", "-n", namespace, "addr", "add", f"{wan}/24", "dev", "wan")
            _run("ip", "-n", namespace, "link", "set", "wan", "up")
        _run("ip", "link", "add", "dc", "netns", HUB, "type", "veth", "peer", "name", "dc", "netns", HQ)
        _run("ip", "-n", HUB, "addr", "add", "10.0.0.1/24", "dev", "dc")
        _run("ip", "-n", HUB, "link", "set", "dc", "up")
        _run("ip", "-n", HQ, "addr", "add", f"{HQ_HOST}/24", "dev", "dc")
        _run("ip", "-n", HQ, "link", "set", "dc", "up")
        _run("ip", "-n", HQ, "route", "add", "default", "via", "10.0.0.1")
        _run("ip", "netns", "exec", HUB, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        ipsec.start_charon(HUB, hub_swanctl(list(STORES)), ipsec.strongswan_conf(HUB, ("dc",)))
        for store, (namespace, _wan, _lan, _name) in STORES.items():
            ipsec.start_charon(namespace, store_swanctl(store), ipsec.strongswan_conf(namespace))
        _ready(HUB, None)
        for _namespace, _wan, lan, _name in STORES.values():
            _run("ip", "-n", HUB, "route", "add", f"{lan}/32", "dev", ipsec.TUN_DEVICE)
        for namespace, _wan, lan, _name in STORES.values():
            _ready(namespace, lan)
            _run("ip", "-n", namespace, "route", "replace", "10.0.0.0/24", "dev", ipsec.TUN_DEVICE, "src", lan)
        yield tmp_path_factory.mktemp("decommissioned")
    finally:
        for namespace in namespaces:
            ipsec.stop_charon(namespace)
        ipsec.cleanup_dirs(namespaces)
        for namespace in namespaces:
            _run("ip", "netns", "del", namespace, check=False)


def _hub_confirm(state: Path) -> frr_confirm.ConfirmConfig:
    """The hub's storestack-confirm config: swanctl.conf with the appliance's default commands,
    each pointed at this charon's VICI socket."""
    default = frr_confirm.DEFAULT_COMPANIONS["swanctl.conf"]
    uri = ["--uri", ipsec.vici_uri(HUB)]
    given = {
        "path": str(ipsec.instance_dir(HUB) / "swanctl.conf"),
        "reload": [[str(ipsec.SWANCTL), *command[1:], *uri] for command in default["reload"]],
        "ends": {key: [str(ipsec.SWANCTL), *command[1:], *uri] for key, command in default.get("ends", {}).items()},
    }
    return frr_confirm.ConfirmConfig.load_data({"state_dir": str(state / "confirm"), "companions": {"swanctl.conf": given}})


def test_a_store_removed_from_the_hub_no_longer_reaches_hq_through_it(lab: Path) -> None:
    assert _eventually(lambda: reaches_hq("nw-0001") and reaches_hq("nw-0002"), True, 30), "the tunnels never came up"
    said = frr_confirm.companion_install(_hub_confirm(lab), "swanctl.conf", hub_swanctl(["nw-0002"]).encode())
    assert said.startswith("installed swanctl.conf")
    # The decommissioned store keeps its config and keeps dialling: the hub no longer answers it.
    assert _eventually(lambda: reaches_hq("nw-0001"), False, 5), "the removed store still reaches HQ through the hub"
    time.sleep(3)
    assert not reaches_hq("nw-0001")
    assert "nw-0001" not in ipsec.swanctl(HUB, "--list-sas")
    # The other store's tunnel was never touched.
    assert reaches_hq("nw-0002")
    # Installing the same file again ends nothing (no connection dropped, nothing to terminate).
    assert frr_confirm.companion_install(_hub_confirm(lab), "swanctl.conf", hub_swanctl(["nw-0002"]).encode()).startswith("unchanged")


def test_the_frr_hub_installs_swanctl_before_its_firewall() -> None:
    """The removed store's tunnel ends (swanctl.conf) while its filter is still loaded
    (nftables.conf): no moment where the tunnel is up and the hub's firewall has dropped it."""
    names = [name for name, _template in get_platform("frr").hub_companions]
    assert names.index("swanctl.conf") < names.index("nftables.conf")
