"""The routing batch's reload on a running host (`devices/frr_confirm.py` `routing_changes`, run as
`ip -force -batch`), with the real kernel in network namespaces: a host booted on one rendered
hub batch and then changed to another must hold exactly what a host booted on the second holds
(links with their kind, id, group, MTU and state, IPv4 addresses, the routes of every table but
`local`, the policy rules), both ways (the way back is what a failed reload and a commit-confirm
revert run). Every line of the change must succeed (`ip -force -batch` exits non-zero when one
fails, and the install then counts the reload as failed).

What this does not prove: the tunnels' XFRM interfaces are VXLAN interfaces here (this kernel
has no XFRM interface type). A VXLAN id stands in for the if_id, so a changed id re-creates the
interface as a changed if_id does, and the group, MTU and up lines, the addresses and routes act
on a real interface. It does not show that the kernel accepts `type xfrm ... if_id N` (or an XFRM
interface's MTU), nor that a re-created XFRM interface carries an SA's packets again: the lab's
strongSwan tests do (tests/lab/). The host's ports (the DC port, the management port) are veth
pairs, the kernel having no dummy interfaces either. The stand-in `ip` of
tests/devices/test_frr_confirm_companions.py shows which lines run; this shows what they leave on
a kernel.

Namespaces and root: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from testsupport.hub_netns import run, unavailable
from testsupport.rendering import edited_sample_chain

from storestack.devices import frr_confirm
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet

HUB = "hq-hub1"
# The host's own ports, there before the first batch (the DC port, the management port, and
# the port a change moves the management address to).
PORTS = ("dc", "mgmt", "eth2")
# The far end of each port's veth pair (its neighbour).
FAR = "-far"
XFRM = re.compile(r"^link add (\S+) type xfrm if_id (\d+)$")
# Each change a push brings: the batch the host runs, the batch it goes to (`_variants`).
CHANGES = {
    "store-left": ("sample", "store-left"),
    "gateway": ("sample", "gateway"),
    "recreated": ("sample", "recreated"),
    "lan-grown": ("gateway", "lan-grown"),
    "port-moved": ("sample", "port-moved"),
}


def _on_this_kernel(batch: str) -> str:
    """The batch with each XFRM interface a VXLAN interface of the same id."""
    return "\n".join(
        f"link add {m.group(1)} type vxlan id {m.group(2)} dstport 4789" if (m := XFRM.match(line)) else line
        for line in batch.splitlines()
    ) + "\n"


def _routing(fleet: Fleet) -> str:
    return _on_this_kernel(dict(render_hub(fleet, HUB).companions)["routing"])


@contextmanager
def _host(tag: str) -> Iterator[str]:
    """A namespace with the host's ports (veth pairs, the far ends up so the ports have carrier),
    removed at the end whatever happened."""
    namespace = f"ss-rc{os.getpid()}-{tag}"
    try:
        run("ip", "netns", "add", namespace)
        for port in PORTS:
            run("ip", "-n", namespace, "link", "add", port, "type", "veth", "peer", f"{port}{FAR}")
            run("ip", "-n", namespace, "link", "set", f"{port}{FAR}", "up")
        yield namespace
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True, timeout=30)


def _load(namespace: str, lines: str | list[str]) -> None:
    """What the boot (the whole file) or the reload (`routing_changes`) runs: `ip -force -batch`."""
    text = lines if isinstance(lines, str) else "".join(f"{line}\n" for line in lines)
    run("ip", "netns", "exec", namespace, "ip", "-force", "-batch", "-", stdin=text)


def _state(namespace: str) -> dict[str, list[object]]:
    """What the host holds, without what differs between two hosts holding the same (indexes,
    MAC addresses, counters) and without the ports' far ends (the neighbours, not the host: one
    whose port was up holds an IPv6 link-local route a boot's never had)."""

    def shown(*argv: str) -> list[dict[str, object]]:
        held = json.loads(run("ip", "-n", namespace, "-j", "-d", *argv) or "[]")
        return [item for item in held if not str(item.get("ifname", item.get("dev", ""))).endswith(FAR)]

    def info(link: dict[str, object]) -> dict[str, object]:
        return link.get("linkinfo") or {}  # type: ignore[return-value]

    links = sorted(
        (
            link["ifname"],
            link.get("mtu"),
            link.get("group"),
            "UP" in link.get("flags", []),  # type: ignore[operator]
            info(link).get("info_kind"),
            (info(link).get("info_data") or {}).get("id"),  # type: ignore[attr-defined]
        )
        for link in shown("link", "show")
    )
    addresses = sorted(
        (a["ifname"], i["local"], i["prefixlen"], bool(i.get("noprefixroute")))
        for a in shown("address", "show")
        for i in a.get("addr_info", [])  # type: ignore[attr-defined]
        if i.get("family") == "inet"
    )
    routes = sorted(
        json.dumps({k: v for k, v in r.items() if k != "flags"}, sort_keys=True)
        for r in shown("route", "show", "table", "all")
        if r.get("table") != "local"
    )
    rules = sorted(json.dumps(r, sort_keys=True) for r in shown("rule", "show"))
    return {"links": list(links), "addresses": list(addresses), "routes": list(routes), "rules": list(rules)}


def _booted(batch: str, tag: str) -> dict[str, list[object]]:
    with _host(tag) as namespace:
        _load(namespace, batch)
        return _state(namespace)


def _changed(before: str, after: str, tag: str) -> dict[str, list[object]]:
    with _host(tag) as namespace:
        _load(namespace, before)
        _load(namespace, frr_confirm.routing_changes(before, after))
        return _state(namespace)


def _variants(tmp_path: Path, fleet: Fleet) -> dict[str, str]:
    """The sample chain's hub batch and changes a push brings: a store leaving (its tunnels
    and their return rules go), a management gateway (a management range outside the LAN, routed
    in the management table), a tunnel's interface re-created (another id) with its MTU changed,
    with the gateway, the management LAN grown from a /24 to a /23 (the port's address and
    the LAN's route change, the gateway's route does not), and the management address moved to
    another port (`management_port`)."""
    sample = _routing(fleet)
    gone = edited_sample_chain(tmp_path / "gone", "", "")
    (gone / "stores" / "nw-0008.yaml").unlink()
    gateway = edited_sample_chain(
        tmp_path / "gw", "        management_address: 10.0.250.11\n",
        "        management_address: 10.0.250.11\n        management_gateway: 10.0.250.1\n",
    )
    spec = gateway / "fleet.yaml"
    spec.write_text(spec.read_text().replace("    - 10.0.250.0/24\n", "    - 10.0.250.0/24\n    - 10.0.240.0/24\n", 1))
    grown = tmp_path / "grown"
    shutil.copytree(gateway, grown)
    spec = grown / "fleet.yaml"
    spec.write_text(spec.read_text().replace("    - 10.0.250.0/24\n", "    - 10.0.250.0/23\n", 1))
    moved = edited_sample_chain(
        tmp_path / "moved", "        management_address: 10.0.250.11\n",
        "        management_address: 10.0.250.11\n        management_port: eth2\n",
    )
    first = re.search(r"^link add (\S+) type vxlan id (\d+) ", sample, re.M)
    assert first is not None
    name, ident = first.groups()
    recreated = sample.replace(f"link add {name} type vxlan id {ident} ", f"link add {name} type vxlan id 999 ", 1)
    recreated = re.sub(rf"^link set {name} group 10 mtu \d+ up$", f"link set {name} group 10 mtu 1400 up", recreated, count=1, flags=re.M)
    return {
        "sample": sample,
        "store-left": _routing(load_fleet(gone)),
        "gateway": _routing(load_fleet(gateway)),
        "lan-grown": _routing(load_fleet(grown)),
        "recreated": recreated,
        "port-moved": _routing(load_fleet(moved)),
    }


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory, fleet: Fleet) -> dict[str, str]:
    if os.geteuid() != 0:
        unavailable("network namespaces need root")
    if shutil.which("ip") is None:
        unavailable("iproute2 (ip) is not installed")
    return _variants(tmp_path_factory.mktemp("variants"), fleet)


def test_the_variants_are_the_changes_they_stand_for(variants: dict[str, str]) -> None:
    """Each change renders what it is named for (a rendering that moved would make the kernel
    comparisons below compare nothing)."""
    assert "nw-0008-wan1" in variants["sample"] and "nw-0008-wan1" not in variants["store-left"]
    assert "route replace 10.0.240.0/24 via 10.0.250.1 dev mgmt src 10.0.250.11 table 5400" in variants["gateway"]
    grown = variants["lan-grown"]
    assert "address replace 10.0.250.11/23 dev mgmt noprefixroute" in grown
    assert "route replace 10.0.240.0/24 via 10.0.250.1 dev mgmt src 10.0.250.11 table 5400" in grown
    assert "address replace 10.0.250.11/24 dev eth2 noprefixroute" in variants["port-moved"]
    assert " dev mgmt " not in variants["port-moved"] and "link set mgmt " not in variants["port-moved"]
    assert "type vxlan id 999 " in variants["recreated"] and "mtu 1400 up" in variants["recreated"]


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("direction", ["push", "revert"])
def test_a_routing_change_leaves_the_host_as_a_boot_on_the_new_file_would(
    variants: dict[str, str], change: str, direction: str
) -> None:
    first, second = CHANGES[change]
    before, after = variants[first], variants[second]
    if direction == "revert":
        before, after = after, before
    assert before != after
    tag = f"{change[:5]}{direction[0]}"
    changed, booted = _changed(before, after, f"c{tag}"), _booted(after, f"b{tag}")
    for kind, held in booted.items():
        assert changed[kind] == held, (
            f"{kind} a boot holds and the change does not: {sorted(map(str, set(held) - set(changed[kind])))}; "
            f"the change's alone: {sorted(map(str, set(changed[kind]) - set(held)))}"
        )


def test_namespaces_are_gone_after_a_test_that_fails_inside_one() -> None:
    if os.geteuid() != 0:
        unavailable("network namespaces need root")
    with pytest.raises(AssertionError), _host("fail") as namespace:
        _load(namespace, "link add broken type no-such-kind\n")
    assert namespace not in run("ip", "netns", "list").split()


# The push's own session while the management address moves to another port: the appliance's
# end, which runs the change when told to (what `storestack-confirm companion-install routing`
# does inside the session) and answers each line after it.
_APPLIANCE = """
import socket, subprocess, sys
server = socket.create_server(("10.0.250.11", 2222))
print("listening", flush=True)
conn, _ = server.accept()
for line in conn.makefile("r"):
    if line.startswith("apply "):
        done = subprocess.run(["ip", "-force", "-batch", line.split()[1]], capture_output=True, text=True)
        conn.sendall(f"applied {done.returncode} {done.stderr.strip()}\\n".encode())
    else:
        conn.sendall(line.encode())
"""
# The management host's end: each line of its input sent, each answer printed.
_OPERATOR = """
import socket, sys
conn = socket.create_connection(("10.0.250.11", 2222), timeout=30)
answers = conn.makefile("r")
for line in sys.stdin:
    conn.sendall(line.encode())
    print(answers.readline().strip(), flush=True)
"""


@contextmanager
def _management_lan(tag: str) -> Iterator[tuple[str, str]]:
    """A hub namespace whose ports `mgmt` and `eth2` are both patched into the management LAN (a
    bridge in a second namespace, which holds the management host's address 10.0.250.50)."""
    hub, lan = f"ss-rc{os.getpid()}-{tag}h", f"ss-rc{os.getpid()}-{tag}l"
    try:
        run("ip", "netns", "add", hub)
        run("ip", "netns", "add", lan)
        run("ip", "-n", lan, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", lan, "address", "add", "10.0.250.50/24", "dev", "br0")
        run("ip", "-n", lan, "link", "set", "br0", "up")
        for port in PORTS:
            run("ip", "-n", hub, "link", "add", port, "type", "veth", "peer", f"{port}{FAR}")
            if port == "dc":
                run("ip", "-n", hub, "link", "set", f"{port}{FAR}", "up")
                continue
            run("ip", "-n", hub, "link", "set", f"{port}{FAR}", "netns", lan)
            run("ip", "-n", lan, "link", "set", f"{port}{FAR}", "master", "br0", "up")
        yield hub, lan
    finally:
        for namespace in (hub, lan):
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True, timeout=30)


def _answer(process: subprocess.Popen[str], line: str, within: float) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"{line}\n")
    process.stdin.flush()
    ready, _, _ = select.select([process.stdout], [], [], within)
    return process.stdout.readline().strip() if ready else ""


@pytest.mark.parametrize("direction", ["push", "revert"])
def test_the_push_session_over_the_management_port_survives_the_address_moving_to_another_port(
    variants: dict[str, str], tmp_path: Path, direction: str
) -> None:
    """The old port goes down last, once the new one holds the address: the session's next answer
    leaves by the new port, whose ARP request for the management host carries the address with
    the new port's MAC, and the host takes it for that address (RFC 826: the sender's pair already
    in the table is updated), so the session goes on without waiting for the host's ARP entry to
    age (a change that cut it would be reverted by the appliance's timer, never confirmed)."""
    before, after = variants["sample"], variants["port-moved"]
    if direction == "revert":
        before, after = after, before
    batch = tmp_path / "changes"
    batch.write_text("".join(f"{line}\n" for line in frr_confirm.routing_changes(before, after)))
    with _management_lan(f"s{direction[0]}") as (hub, lan):
        _load(hub, before)
        appliance = subprocess.Popen(
            ["ip", "netns", "exec", hub, sys.executable, "-c", _APPLIANCE],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        operator: subprocess.Popen[str] | None = None
        try:
            assert appliance.stdout is not None and appliance.stdout.readline().strip() == "listening"
            operator = subprocess.Popen(
                ["ip", "netns", "exec", lan, sys.executable, "-c", _OPERATOR],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            assert _answer(operator, "hello", 10) == "hello"
            assert _answer(operator, f"apply {batch}", 10) == "applied 0"
            assert _answer(operator, "still there", 3) == "still there"
            shown = json.loads(run("ip", "-n", hub, "-j", "link", "show"))
            links = {link["ifname"]: ("UP" in link["flags"], link["address"]) for link in shown}
            old, new = ("mgmt", "eth2") if direction == "push" else ("eth2", "mgmt")
            assert (links[old][0], links[new][0]) == (False, True)
            # The management host reaches the address at the new port's MAC.
            (entry,) = json.loads(run("ip", "-n", lan, "-j", "neigh", "show", "10.0.250.11"))
            assert entry["lladdr"] == links[new][1]
        finally:
            for process in (operator, appliance):
                if process is not None:
                    process.kill()
                    process.wait(timeout=10)
