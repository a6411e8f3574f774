"""The lab appliances' companion files, delivered by the push as on a real FRR appliance.

A lab appliance that runs its rendered host firewall (`nftables.conf`, a lab built from a fleet
with the IPsec overlay) keeps it as a file, `<confirm dir>/<ns>.etc/nftables.conf`, and its
storestack-confirm config takes that companion: `storestack devices push` and `rollout --lab`
install it with `companion-install`, `drift` reads it with `companion-digests`, and an armed
timer that runs out puts it back. `lab up` writes the rendered file there and loads it the same
way, so a push of the same render finds nothing to do.

The lab's only addition to the firewall stays outside the file: one rule, in a root-owned file
of its own (`<ns>.lab.nft`), loaded after it, accepting the VXLAN that stands in for the XFRM
interfaces (`firewall_rule`). The login user is not root; its check and reloads go through
sudo, limited to exactly these commands (`sudo_rules`, /etc/sudoers.d/storestack-lab-<prefix>).
The other companions (swanctl.conf, strongswan.conf, routing, steering.conf) the lab adapts or
runs differently (lab/rendered.py), and it runs no chrony or dnsmasq: those the lab loads at
start, and its appliances do not take them, so a push reports them `not-taken`.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
from pathlib import Path
from typing import Any

from storestack.common.files import atomic_write_text
from storestack.devices import frr_confirm
from storestack.lab import system
from storestack.lab.errors import LabError

# What a lab appliance takes through the push, as rendered.
LAB_COMPANIONS = ("nftables.conf",)
SUDOERS_DIR = Path("/etc/sudoers.d")
SUDO = Path("/usr/bin/sudo")
VISUDO = Path("/usr/sbin/visudo")
_TABLE = re.compile(r"^table (inet|ip) (\S+) \{$")
_CHAIN_INPUT = re.compile(r"^\s+chain input \{$")
_LOOPBACK_ACCEPT = 'iif "lo" accept'


def etc_dir(root: Path, namespace: str) -> Path:
    """Where a lab appliance's companion files live (its `/etc`)."""
    return root / f"{namespace}.etc"


def lab_rule_file(root: Path, namespace: str) -> Path:
    return root / f"{namespace}.lab.nft"


def firewall_rule(text: str, tun_device: str, vxlan_port: int) -> str:
    """The lab's one rule beside the rendered host firewall, as an nft command: in the input
    chain, right after `iif "lo" accept`, accept the VXLAN that stands in for the XFRM
    interfaces (it arrives decrypted on the TUN device; the firewall's `iifgroup` rules then
    see the tunnel devices as rendered)."""
    table: str | None = None
    in_input = False
    index = 0
    for line in text.splitlines():
        if match := _TABLE.match(line):
            table = f"{match.group(1)} {match.group(2)}"
        elif _CHAIN_INPUT.match(line):
            in_input, index = True, 0
        elif in_input:
            stripped = line.strip()
            if stripped == "}":
                break
            if not stripped or stripped.startswith(("#", "type ")):
                continue
            if stripped == _LOOPBACK_ACCEPT and table is not None:
                return (
                    f'add rule {table} input index {index} iifname "{tun_device}" udp dport {vxlan_port} accept '
                    'comment "lab: VXLAN stands in for XFRM interfaces"\n'
                )
            index += 1
    raise LabError('the rendered nftables.conf has no `iif "lo" accept` in its input chain')


def _in_namespace(namespace: str, *argv: str) -> list[str]:
    ip = shutil.which("ip") or "/usr/sbin/ip"
    nft = shutil.which("nft") or "/usr/sbin/nft"
    return [ip, "netns", "exec", namespace, nft, *argv]


def companion_entries(root: Path, namespace: str, *, sudo: bool) -> dict[str, dict[str, Any]]:
    """The storestack-confirm `companions` of a lab appliance whose firewall file exists: the
    check and reloads run in its namespace (through sudo for the login user)."""
    etc = etc_dir(root, namespace)
    prefix = [str(SUDO), "-n"] if sudo else []
    entries: dict[str, dict[str, Any]] = {}
    if (etc / "nftables.conf").is_file():
        companion = frr_confirm.Companion("nftables.conf", etc / "nftables.conf")
        entries["nftables.conf"] = {
            "path": companion.path,
            "mode": "0644",
            "check": [*prefix, *_in_namespace(namespace, "-c", "-f", companion.staged())],
            "reload": [
                [*prefix, *_in_namespace(namespace, "-f", companion.path)],
                [*prefix, *_in_namespace(namespace, "-f", str(lab_rule_file(root, namespace)))],
            ],
        }
    return entries


def install_firewall(root: Path, namespace: str, rendered: str, tun_device: str, vxlan_port: int) -> None:
    """At `lab up`: the rendered firewall as the appliance's companion file, and the lab's rule
    beside it, loaded as a push's reload loads them (root, no sudo)."""
    etc = etc_dir(root, namespace)
    etc.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write_text(etc / "nftables.conf", rendered, mode=0o644)
    atomic_write_text(lab_rule_file(root, namespace), firewall_rule(rendered, tun_device, vxlan_port), mode=0o644)
    for command in companion_entries(root, namespace, sudo=False)["nftables.conf"]["reload"]:
        system.run(command)


def hand_over(root: Path, namespace: str, username: str) -> None:
    """The appliance's companion directory and files become the login user's (it installs them)."""
    user = pwd.getpwnam(username)
    etc = etc_dir(root, namespace)
    for path in (etc, *etc.iterdir()):
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def sudo_rules(username: str, entries_by_namespace: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A sudoers file that lets the login user run exactly its appliances' companion checks and
    reloads as root, nothing else."""
    commands: list[str] = []
    for entries in entries_by_namespace.values():
        for entry in entries.values():
            for argv in [entry["check"], *entry["reload"]]:
                words = argv[2:] if argv[:2] == [str(SUDO), "-n"] else argv
                commands.append(" ".join(_sudoers_word(word) for word in words))
    if not commands:
        return ""
    lines = [
        "# storestack lab: the push account's companion checks and reloads (removed by `lab down`)",
        f"Defaults:{username} !lecture",
        *(f"{username} ALL=(root) NOPASSWD: {command}" for command in commands),
    ]
    return "\n".join(lines) + "\n"


def _sudoers_word(word: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_./+-]+", word):
        raise LabError(f"cannot name {word!r} in a sudo rule")
    return word


def sudoers_file(prefix: str) -> Path:
    return SUDOERS_DIR / f"storestack-lab-{prefix}"


def write_sudoers(prefix: str, text: str) -> None:
    """Checked with visudo before it goes live; removed when there is nothing to allow."""
    path = sudoers_file(prefix)
    if not text:
        path.unlink(missing_ok=True)
        return
    SUDOERS_DIR.mkdir(mode=0o755, exist_ok=True)
    staged = SUDOERS_DIR / f".storestack-lab-{prefix}.new"
    atomic_write_text(staged, text, mode=0o440)
    try:
        system.run([VISUDO, "-c", "-q", "-f", staged])
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def remove_sudoers(prefix: str) -> None:
    sudoers_file(prefix).unlink(missing_ok=True)
