"""A store moving from dual-WAN to LTE-only (and back), on a real kernel and a real zebra in a
network namespace: what the host holds once the push's routing batch (`routing_changes`, run
as `ip -force -batch`) and then its FRR remediation are in must be what a host booted on the new
files holds, and between the two steps every tunnel interface the batch re-created (its
underlay moved from wan1 to lte1, from lte1 to lte2) holds the addresses zebra was configured
with: zebra keeps an interface's configuration when the kernel deletes the interface and
installs it again on the interface of that name the kernel creates.

What this does not prove: the tunnels' XFRM interfaces are VXLAN interfaces on their underlay
here (this kernel has no XFRM interface type; `dev` moves as it does), and the ports are veth
pairs. That strongSwan's SAs use the re-created interfaces is the lab's (tests/lab/).
Namespaces, root and FRR: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from frr_instance import FrrInstance, frr_available
from testsupport.rendering import SHAPES, edited_sample_chain

from storestack.devices import frr_confirm
from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path

STORE = SHAPES["dual-wan"]
PORTS = ("wan1", "lte1", "lte2", "lan0")
FAR = "-far"
XFRM = re.compile(r"^link add (\S+) type xfrm dev (\S+) if_id (\d+)$")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def _run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, input=stdin, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result.stdout


def _on_this_kernel(batch: str) -> str:
    """The batch with each XFRM interface a VXLAN interface of the same id on the same underlay."""
    return "\n".join(
        f"link add {m[1]} type vxlan id {m[3]} dev {m[2]} dstport 4789" if (m := XFRM.match(line)) else line
        for line in batch.splitlines()
    ) + "\n"


def _interfaces(config: str) -> str:
    """The config's interface sections: what zebra holds of it (the addresses)."""
    kept: list[str] = []
    inside = False
    for line in config.splitlines():
        if not line[:1].isspace():
            inside = line.startswith("interface ")
        if inside:
            kept.append(line)
    return "\n".join(kept) + "\n"


def _wan(store_file: Path) -> str:
    text = store_file.read_text()
    return text[text.index("wan:\n") : text.index("lan:\n")]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """The store's (routing batch, interface sections) dual-WAN, and LTE-only: its WAN links
    those of the sample chain's LTE-only store."""
    if (reason := frr_available()) is not None:
        _unavailable(reason)
    stores = sample_chain_path() / "stores"
    moved = edited_sample_chain(
        tmp_path_factory.mktemp("moved"),
        _wan(stores / f"{STORE}.yaml"),
        _wan(stores / f"{SHAPES['lte-only']}.yaml"),
        f"stores/{STORE}.yaml",
    )
    found = {}
    for shape, root in (("dual-wan", sample_chain_path()), ("lte-only", moved)):
        rendered = render_store(load_fleet(root), STORE)[0]
        found[shape] = (_on_this_kernel(dict(rendered.companions)["routing"]), _interfaces(rendered.text))
    return found


@contextmanager
def _host() -> Iterator[FrrInstance]:
    with FrrInstance("store-edge", prefix="ssmv") as frr:
        for port in PORTS:
            _run("ip", "-n", frr.name, "link", "add", port, "type", "veth", "peer", f"{port}{FAR}")
            _run("ip", "-n", frr.name, "link", "set", f"{port}{FAR}", "up")
            _run("ip", "-n", frr.name, "link", "set", port, "up")
        yield frr


def _load(frr: FrrInstance, batch: str) -> None:
    _run("ip", "netns", "exec", frr.name, "ip", "-force", "-batch", "-", stdin=batch)


def _configure(frr: FrrInstance, lines: str, tmp: Path) -> None:
    path = tmp / f"{frr.name}.conf"
    path.write_text(lines)
    result = frr.apply_file(path)
    assert result.returncode == 0 and "%" not in result.stdout + result.stderr, result.stdout + result.stderr


def _addresses(frr: FrrInstance) -> dict[str, list[str]]:
    """Each interface's IPv4 addresses (the far ends left out), once zebra has settled."""
    time.sleep(1)
    shown = json.loads(_run("ip", "-n", frr.name, "-j", "address", "show"))
    return {
        link["ifname"]: sorted(f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet")
        for link in shown
        if not link["ifname"].endswith(FAR) and link["ifname"] != "lo"
    }


def _booted(batch: str, interfaces: str, tmp: Path) -> dict[str, list[str]]:
    with _host() as frr:
        _load(frr, batch)
        _configure(frr, interfaces, tmp)
        return _addresses(frr)


@pytest.mark.parametrize("direction", ["to-lte-only", "to-dual-wan"])
def test_a_store_moving_between_transports_holds_what_a_boot_on_the_new_files_holds(
    shapes: dict[str, tuple[str, str]], tmp_path: Path, direction: str
) -> None:
    (before_batch, before_frr), (after_batch, after_frr) = (
        (shapes["dual-wan"], shapes["lte-only"]) if direction == "to-lte-only" else (shapes["lte-only"], shapes["dual-wan"])
    )
    changes = frr_confirm.routing_changes(before_batch, after_batch)
    recreated = sorted({line.split()[2] for line in changes if line.startswith("link add ")})
    assert recreated, "the move re-creates no tunnel interface: the test compares nothing"
    booted = _booted(after_batch, after_frr, tmp_path)
    with _host() as frr:
        _load(frr, before_batch)
        _configure(frr, before_frr, tmp_path)
        held = _addresses(frr)
        _load(frr, "".join(f"{line}\n" for line in changes))
        # Between the push's two steps: each re-created interface holds what zebra held on it.
        between = _addresses(frr)
        for name in recreated:
            assert held[name] and between[name] == held[name], name
        remediation = compute_diff(_interfaces(frr.running_config()), after_frr, "frr").remediation
        _configure(frr, "".join(f"{line}\n" for line in remediation), tmp_path)
        assert _addresses(frr) == booted
