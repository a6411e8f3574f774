"""storestack-confirm: the commit-confirm timer of an FRR appliance's Linux host, and its login.

IOS-XE, VRP and FortiOS revert an unconfirmed change by themselves; FRR has no such command, so
the host around it does it. This file is the program installed on the appliance (stdlib only,
run by the host's own python3, which FRR's `frr-reload.py` needs anyway):

    python3 -I -S /usr/lib/storestack/storestack-confirm --config /etc/storestack/confirm.json VERB

Verbs, each one line of output (errors on stderr, exit status 1):

- `arm SECONDS [stdin]`: snapshot the running config and the watched host files, then start a
  detached timer (forked: no second interpreter) that survives the SSH session. Without `stdin`
  the snapshot is `vtysh -c 'show running-config'`. With `stdin` (what the push engine uses) it
  is the running config the engine read a moment before in the same login, sent on stdin and
  checked to be whole, and the arm stays running as the change's guard, taking `challenge` and
  `confirm TOKEN` lines (`guard`). Refused while a timer is armed, and when `frr-reload.py` is
  missing: a timer that cannot revert is never armed.
- `confirm`: cancel the timer, after a round trip: it prints `challenge TOKEN` and waits for the
  token on its stdin. A change that cut only the way back (a blackhole route to the management
  station) lets the confirm arrive but not its answer, so it must not count. Fails when nothing
  is armed, which after an `arm` means the timer ran out and the appliance reverted: the push
  engine then reports a failed confirm, not success.
- `revert`: revert now and disarm (the push engine's abort of a change that failed).
- `status`: JSON: armed or not, seconds left, the last outcome.
- `companion-digests`: JSON: each companion file this appliance takes (its config's allow-list)
  → the sha256 of the file in place, null when there is none. One request tells the push which
  of its rendered companions differ.
- `companion-read NAME`: that file as it is (secrets included: the push shows only a redacted
  diff of it, as it does with the running config).
- `companion-install NAME [stdin]`: install that file from stdin (at most MAX_COMPANION_BYTES,
  UTF-8 text): staged beside the live file at a fixed name with the companion's mode (0600 for
  swanctl.conf), its check run on the staged file (`nft -c -f`), renamed into place, its reload
  run (`nft -f`, `swanctl --load-all` …); a failed reload puts the old file back. Prints
  `installed NAME sha256 HEX` (or `unchanged …`). The name only selects an entry of the
  allow-list, which maps it to its path: no path ever comes from the request. Under an armed
  timer the arm's snapshot holds every companion as it was, and the revert puts them back.

When the timer runs out it puts the snapshot back with FRR's own reload, `frr-reload.py
--reload`, which computes the difference between the running config and the file and applies
it, deletions included (a second pass if one did not converge). `vtysh -f` is not used: it only
adds lines, it would leave a bad route or a shut interface in place. Then the companion files
that changed since `arm` are written back (with their own mode; one that did not exist at the
arm is removed) and their reload command run (nftables, swanctl …), last installed first, and
the other watched host files that changed. That is the push undone step by step: it installs the
companions in the platform's order (devices/platforms/frr.py) and changes FRR last, so the
revert passes only through states the push passed through, in reverse. FRR's saved config is never
touched: the push engine saves only after it confirmed, so an appliance that reboots while armed
comes back on the saved (old) config, and a stale timer state found at the next `arm` is
discarded.

**The login** (`login_command`, the sshd `ForceCommand` of the push engine's account) is a
restricted command set, not a shell: without a command the shell sshd runs it with execs
`vtysh` at once (the push's interactive session, no Python started); with `storestack-confirm
arm N [stdin]|confirm|revert|status|companion-digests|companion-read NAME|companion-install
NAME` (an SSH exec request, on its own channel of the push's login) this program's `login` runs
that verb; anything else is refused. The account needs only
the `frr` and `frrvty` groups and its own state directory (0700): vtysh and frr-reload.py talk to the
daemons over their group-owned sockets. Writing back and reloading watched host files (nft,
swanctl) needs root, which that account lacks: where a config lists them, the login must run as
root (sudo limited to this exact command); with the plain account, list none.

The configuration (JSON, root-owned, readable by the account):
`{"state_dir": "/var/lib/storestack-confirm", "pathspace": null,
  "host_files": [{"path": "/etc/ssh/sshd_config.d/x.conf", "reload": ["systemctl", "reload", "ssh"]}],
  "companions": {"nftables.conf": {}, "swanctl.conf": {}, "chrony.keys": {"mode": "0600"}}}`
(`pathspace`: FRR's `-N`, one FRR instance of several on a host, as in the lab; `companions`:
the allow-list of files the push may install, each field it leaves out (`path`, `mode`,
`group`, `check`, `reload`, `ends`) taken from DEFAULT_COMPANIONS, the Debian 12 layout; none when
absent). Installing companions needs write access to their paths and whatever their check,
reload and session ends need (root, or the account plus sudo rules for exactly those commands, as
the lab does: swanctl.conf's `ends` runs `swanctl --list-sas` and `swanctl --terminate`, as the
reload runs `swanctl --load-all`).
"""

from __future__ import annotations

# Every login and every verb starts this program, so it imports only what each needs: argparse,
# dataclasses, secrets, subprocess and typing cost more CPU than the interpreter itself, on an
# appliance that answers 20 logins at once. subprocess comes in with the verbs that run vtysh.
# Paths are plain strings: pathlib (with urllib.parse and ipaddress behind it) would be a fifth
# of the instructions of an arm.
import fcntl
import json
import os
import re
import select
import signal
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    StrPath = str | os.PathLike[str]

PROGRAM = "storestack-confirm"
# The timer's bounds, in seconds: long enough for the reload itself, short enough that a store
# cut off by a change is back within the hour. The platform registry clamps to these.
MIN_TIMER = 10
MAX_TIMER = 3600
# What an SSH exec request may ask for; anything else is refused.
_ALLOWED = re.compile(
    rf"^{PROGRAM} (?:arm (?P<seconds>\d{{1,5}})(?P<stdin> stdin)?|(?P<verb>confirm|revert|status|companion-digests)"
    r"|(?P<file_verb>companion-install|companion-read) (?P<name>[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*))$"
)
# A companion file on stdin larger than this is refused (a hub's swanctl.conf with 2,000 stores
# is about 1.5 MB).
MAX_COMPANION_BYTES = 4 * 1024 * 1024
# A companion's name is at most this long (the allow-list decides which names exist).
MAX_COMPANION_NAME = 64
# `confirm` prints this and a token, and cancels the timer only when the token comes back on
# its stdin: the confirm proves the way back from the appliance still works.
CHALLENGE_PREFIX = "challenge "
CHALLENGE_TIMEOUT = 10.0
# A challenge proves the way back only once the change is in the forwarding table: FRR applies a
# route after vtysh returns (staticd tells zebra, zebra queues it for the kernel), and on a busy
# host that can be after the push's verify read came back. So a challenge is handed out only
# once what the kernel does with this session's packets toward the push (`kernel_route`) stays
# the same over SETTLE_INTERVAL, waiting at most SETTLE_TIMEOUT (then it goes out anyway: a
# challenge that does not come back still leaves the timer armed). The kernel, not zebra: it is
# what drops the packets, and asking it costs no vtysh on an appliance answering 50 pushes.
SETTLE_INTERVAL = 0.3
SETTLE_TIMEOUT = 5.0
_ADDRESS = re.compile(r"^[0-9A-Fa-f:.]{2,45}$")
# How long `arm` waits for the timer process to show up in /proc before it gives up.
TIMER_START_TIMEOUT = 10.0
# A running config on stdin larger than this is refused (a hub with 2,000 peers has ~0.5 MB).
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024
VTYSH = "/usr/bin/vtysh"
FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
RELOAD_TIMEOUT = 120.0
_BANNER = re.compile(r"^(Building configuration|Current configuration)")
_RUNNING_NOISE = re.compile(r"^(Building configuration|Current configuration|frr version |end$|!)")


class _VerbError(Exception):
    """A verb that cannot do what it was asked; the message is for the operator. (Private: it
    never leaves this program, which runs on the appliance without storestack's errors.)"""


class HostFile:
    def __init__(self, path: StrPath, reload: tuple[str, ...]) -> None:
        self.path = os.fspath(path)
        self.reload = reload


class Companion:
    """A companion file the push may install (`companion-install NAME`): where it lands, its
    mode (and group), the check run on the staged file before it replaces the live one
    (`{file}` stands for the staged file's path) and the commands that make the host use it.
    Installed or restored, the file is written atomically with this mode, never another."""

    def __init__(
        self,
        name: str,
        path: StrPath,
        mode: int = 0o644,
        group: str | None = None,
        check: tuple[str, ...] = (),
        reload: tuple[tuple[str, ...], ...] = (),
        ends: SessionEnds | None = None,
    ) -> None:
        self.name = name
        self.path = os.fspath(path)
        self.mode = mode
        self.group = group
        self.check = check
        self.reload = reload
        self.ends = ends

    def staged(self) -> str:
        """Where an install writes the new file before its check: beside the live one (the same
        file system, so the rename is atomic), at a fixed name (a sudo rule can name it)."""
        directory, name = os.path.split(self.path)
        return os.path.join(directory, f".{name}.storestack-new")

    def changes(self) -> str:
        """Where a reload that applies a change rather than the whole file (`{changes}` in a
        reload command: the routing batch, `routing_changes`) finds it, at a fixed name."""
        directory, name = os.path.split(self.path)
        return os.path.join(directory, f".{name}.storestack-changes")

    def run_reload(self, before: bytes | None, after: bytes | None) -> str:
        """Make the host use this file, now `after` where it was `before`: each reload command in
        turn (`_run_all`); one that takes `{changes}` gets the lines from `before` to `after`
        (`routing_changes`), and is skipped when there are none or the file goes. What failed,
        or ""."""
        if not any("{changes}" in word for command in self.reload for word in command):
            return _run_all(self.reload) or self._end_sessions(before, after)
        # A file that goes (a revert to before the first install) leaves the host as it is: what
        # it set up may have been there before it, and its removal matters at the next boot only.
        lines = [] if after is None else routing_changes((before or b"").decode("utf-8", "replace"), after.decode("utf-8", "replace"))
        if not lines:
            return ""
        path = self.changes()
        _write_new(path, "".join(f"{line}\n" for line in lines).encode("utf-8"), 0o600)
        try:
            return _run_all(
                tuple(tuple(word.replace("{changes}", path) for word in command) for command in self.reload)
            )
        finally:
            _unlink(path)

    def _end_sessions(self, before: bytes | None, after: bytes | None) -> str:
        """After the reload: the sessions of every connection `before` defined and `after` does
        not are ended (`SessionEnds`). What failed, or ""."""
        if self.ends is None:
            return ""
        return self.ends.end(
            list(dropped_connections((before or b"").decode("utf-8", "replace"), (after or b"").decode("utf-8", "replace")))
        )


class SessionEnds:
    """How the host ends the live sessions of a connection its reloaded file no longer defines.

    strongSwan: `swanctl --load-all` (`--load-conns`) unloads a connection the file dropped,
    but its established IKE_SA and CHILD_SAs stay up until they expire or are rekeyed (measured:
    a store removed from a hub's swanctl.conf kept reaching HQ through it). `swanctl --terminate
    --ike NAME` ends an IKE_SA with its CHILD_SAs (strongSwan docs, swanctl --terminate; `--force`:
    without waiting for the far end's answer); it fails where no SA of that name is up, hence
    `--list-sas --ike NAME` first (nothing listed: nothing to end). Run after the reload, so the
    far end cannot set it up again, and before the hub's firewall drops the connection's filter
    (the FRR hub installs swanctl.conf before nftables.conf, devices/platforms/frr.py)."""

    def __init__(self, listed: tuple[str, ...], end: tuple[str, ...]) -> None:
        self.listed = listed
        self.terminate = end

    def end(self, connections: list[str]) -> str:
        """End the live sessions of each of `connections`: what failed, or ""."""
        for name in connections:
            listed, failed = _run_one([word.replace("{name}", name) for word in self.listed])
            if failed:
                return failed
            if not listed.strip():
                continue
            _said, failed = _run_one([word.replace("{name}", name) for word in self.terminate])
            if failed:
                # An SA that went by itself between the two (its far end deleted it) is no failure.
                again, unlisted = _run_one([word.replace("{name}", name) for word in self.listed])
                if unlisted or again.strip():
                    return f"ending the sessions of {name}: {failed}"
        return ""


_SWANCTL_OPEN = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?::\s*[A-Za-z0-9_.,\s-]+)?\{\s*(?:#.*)?$")


def dropped_connections(before: str, after: str) -> tuple[str, ...]:
    """The connections swanctl.conf `before` defines and `after` does not: those whose sessions
    its install ends (`SessionEnds`); the push's plan shows them (devices/platforms/frr.py)."""
    kept = set(swanctl_connections(after))
    return tuple(name for name in swanctl_connections(before) if name not in kept)


def swanctl_connections(text: str) -> list[str]:
    """The connections a swanctl.conf defines (swanctl.conf(5): each subsection of the top-level
    `connections` section, `NAME [: TEMPLATES] {`), in the file's order."""
    found: list[str] = []
    path: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        opened = _SWANCTL_OPEN.match(line)
        if opened:
            if path == ["connections"]:
                found.append(opened.group(1))
            path.append(opened.group(1))
        elif line.startswith("}") and path:
            path.pop()
    return found


def _batch_lines(text: str) -> list[str]:
    """An `ip -batch` file's commands, one per line, without comments and blank lines."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _dev(words: list[str]) -> str | None:
    return words[words.index("dev") + 1] if "dev" in words[:-1] else None


def _src(words: list[str]) -> str | None:
    return words[words.index("src") + 1] if "src" in words[:-1] else None


def _route_key(words: list[str]) -> tuple[str, str]:
    """A route's prefix and table (`route add|replace PREFIX ... [table T]`): one route each."""
    return words[2], words[words.index("table") + 1] if "table" in words[:-1] else "main"


def routing_changes(before: str, after: str) -> list[str]:
    """The `ip -batch` commands that take a running host from the routing batch `before` (as it
    was installed) to `after`, the file a push installs: what `before` held and `after` does not,
    undone, last first (`link add` -> `link del`, `rule add` -> `rule del`, `address` and `route`
    -> `del`, unless `after` puts the same address or route back; a removed `link set` is
    superseded by its new line, and nothing else a routing batch renders needs undoing), then
    what `after` adds, in its order. An interface `after`
    creates gets every `link set`, address and route of `after` on it, changed or not (a
    re-created interface comes up bare), and so does every route of `after` whose source (`src`)
    is an address the change deletes: the kernel removes the routes preferring an IPv4 address
    along with the address (Linux `fib_del_ifaddr`; the kernel's selftest
    `fib_tests.sh` `ipv4_del_addr`), so a management port whose address moves to
    another prefix length keeps its gateway's routes only if they are added again (`route
    replace`: the same line twice is harmless). The same file gives nothing."""
    old, new = _batch_lines(before), _batch_lines(after)
    kept_old, kept_new = set(old), set(new)
    added = [line for line in new if line not in kept_old]
    removed = [line for line in old if line not in kept_new]
    created = {line.split()[2] for line in added if line.startswith("link add ")}
    deleted = {line.split()[2] for line in removed if line.startswith("link add ")}
    new_words = [line.split() for line in new]
    new_routes = {_route_key(w) for w in new_words if w[0] == "route" and len(w) > 2}
    new_addresses = {(w[2], _dev(w)) for w in new_words if w[0] in ("address", "addr") and len(w) > 2}
    undo: list[str] = []
    # The addresses the change takes away (deleted, or gone with their interface).
    unsourced: set[str] = set()
    for line in reversed(removed):
        words = line.split()
        verb = tuple(words[:2])
        if verb == ("link", "add"):
            undo.append(f"link del {words[2]}")
        elif verb == ("rule", "add"):
            undo.append(" ".join(["rule", "del", *words[2:]]))
        elif words[0] == "route" and verb[1] in ("add", "replace"):
            prefix, table = _route_key(words)
            if (prefix, table) not in new_routes and _dev(words) not in deleted:
                undo.append(f"route del {prefix} table {table}")
        elif words[0] in ("address", "addr") and verb[1] in ("add", "replace"):
            dev = _dev(words)
            if (words[2], dev) not in new_addresses and dev is not None:
                unsourced.add(words[2].split("/")[0])
                if dev not in deleted:
                    undo.append(f"address del {words[2]} dev {dev}")
    redo = [
        line for line, words in zip(new, new_words, strict=True)
        if line not in kept_old
        or (words[:2] == ["link", "set"] and words[2] in created)
        or (words[0] in ("address", "addr", "route") and _dev(words) in created)
        or (words[0] == "route" and _src(words) in unsourced)
    ]
    return undo + redo + _ports_let_go(removed, new_words, deleted)


def _ports_let_go(removed: list[str], new_words: list[list[str]], deleted: set[str]) -> list[str]:
    """`link set NAME down` for each of the host's own ports (a link the batch brought up and never
    created: a hub's management port) that `after` no longer names at all, as when the management
    address moves to another port. Left up without its address, the port would still take packets
    for the host's other addresses and hold an IPv6 link-local address (an IPv6 interface has one
    once it is up), while the firewall, which names only the new port, no longer drops what comes
    in on it; a boot on `after` leaves it down (a port comes up only when told to, ip-link(8)
    `set DEVICE up`). A port no longer used is disabled (DISA STIG CISC-RT-000060 "If an
    interface is no longer used, the configuration must be deleted and the interface disabled").
    Last, after `after`'s own lines: the new port holds the address before the old one goes down,
    so a session that came in on the old port is answered from the new one throughout."""
    named = {word for words in new_words for word in ([words[2]] if words[:2] == ["link", "set"] else []) + [_dev(words) or ""]}
    ports: list[str] = []
    for line in removed:
        words = line.split()
        if words[:2] == ["link", "set"] and "up" in words[3:] and words[2] not in deleted | named | set(ports):
            ports.append(words[2])
    return [f"link set {port} down" for port in ports]


# Where each companion file of the FRR platform (devices/platforms/frr.py) lands on a Debian 12
# appliance, with its mode, check and reload (devices/frr.py says the same in prose). A config
# names the companions its appliance takes (`"companions": {"nftables.conf": {}}`); each
# field it leaves out comes from here. A name in neither is refused.
DEFAULT_COMPANIONS: dict[str, dict[str, Any]] = {
    "nftables.conf": {
        "path": "/etc/nftables.conf",
        "mode": "0644",
        "check": ["nft", "-c", "-f", "{file}"],
        "reload": [["nft", "-f", "/etc/nftables.conf"]],
    },
    "dnsmasq.conf": {
        "path": "/etc/dnsmasq.d/storestack.conf",
        "mode": "0644",
        "check": ["dnsmasq", "--test", "-C", "{file}"],
        "reload": [["systemctl", "restart", "dnsmasq"]],
    },
    "swanctl.conf": {
        "path": "/etc/swanctl/swanctl.conf",
        "mode": "0600",
        "reload": [["swanctl", "--load-all", "--file", "/etc/swanctl/swanctl.conf"]],
        # The IKE_SAs of the connections the new file drops (a store decommissioned): `--load-all`
        # leaves them up (SessionEnds).
        "ends": {
            "list": ["swanctl", "--list-sas", "--ike", "{name}"],
            "end": ["swanctl", "--terminate", "--ike", "{name}", "--force"],
        },
    },
    "strongswan.conf": {
        "path": "/etc/strongswan.d/storestack.conf",
        "mode": "0644",
        "reload": [["swanctl", "--reload-settings"]],
    },
    "routing": {
        # `ip -batch` at boot. On a running appliance the file cannot be run again: `ip link add`
        # and `ip rule add` of what exists answer "File exists", and the first failure ends the
        # batch (ip(8) `-batch`). A push runs what changed instead (`routing_changes`: the old
        # file's lines undone, the new one's added), every line tried (ip(8) `-force`: "Don't
        # terminate ip on errors in batch mode"; any error still fails the reload, which puts the
        # old file back and runs the way back).
        "path": "/etc/storestack/routing",
        "mode": "0644",
        "reload": [["ip", "-force", "-batch", "{changes}"]],
    },
    "qos.tc": {
        # `tc -batch`: each WAN link's root is replaced, then its classes and filters added, so
        # loading it again is a reload (tc has no dry run to check it with).
        "path": "/etc/storestack/qos.tc",
        "mode": "0644",
        "reload": [["tc", "-batch", "/etc/storestack/qos.tc"]],
    },
    "steering.conf": {
        "path": "/etc/storestack/steering.conf",
        "mode": "0644",
        "reload": [["systemctl", "restart", "storestack-steer"]],
    },
    "chrony.conf": {
        "path": "/etc/chrony/chrony.conf",
        "mode": "0644",
        "reload": [["systemctl", "restart", "chrony"]],
    },
    "chrony.keys": {
        # chronyd reads its keys as _chrony (root:_chrony 0640, as Debian ships it).
        "path": "/etc/chrony/chrony.keys",
        "mode": "0640",
        "group": "_chrony",
        "reload": [["chronyc", "rekey"]],
    },
    "rsyslog.conf": {
        "path": "/etc/rsyslog.d/storestack.conf",
        "mode": "0644",
        "check": ["rsyslogd", "-N1", "-f", "{file}"],
        "reload": [["systemctl", "restart", "rsyslog"]],
    },
    "snmpd.conf": {
        # The SNMPv3 user's passphrases: root:Debian-snmp 0640, as Debian ships the file (snmpd
        # reads it again as Debian-snmp on a reload).
        "path": "/etc/snmp/snmpd.conf",
        "mode": "0640",
        "group": "Debian-snmp",
        "reload": [["systemctl", "restart", "snmpd"]],
    },
    "snmpd.unit": {
        "path": "/etc/systemd/system/snmpd.service.d/storestack.conf",
        "mode": "0644",
        "reload": [["systemctl", "daemon-reload"]],
    },
    "nftables.unit": {
        # Boot only (nftables.service's ExecStart; a push loads nftables.conf itself).
        "path": "/etc/systemd/system/nftables.service.d/storestack.conf",
        "mode": "0644",
        "reload": [["systemctl", "daemon-reload"]],
    },
    "sysctl.conf": {
        # IPv4 forwarding, reverse-path filtering (sysctl.d(5)): systemd-sysctl applies them at boot,
        # `sysctl -p` now.
        "path": "/etc/sysctl.d/storestack.conf",
        "mode": "0644",
        "reload": [["sysctl", "-q", "-p", "/etc/sysctl.d/storestack.conf"]],
    },
}


def _companion(name: str, given: dict[str, Any]) -> Companion:
    fields = {**DEFAULT_COMPANIONS.get(name, {}), **given}
    if "path" not in fields:
        raise ValueError(f"companion {name!r} has no path (and no default)")
    return Companion(
        name,
        fields["path"],
        mode=int(str(fields.get("mode", "0644")), 8),
        group=fields.get("group"),
        check=tuple(fields.get("check", ())),
        reload=tuple(tuple(command) for command in fields.get("reload", ())),
        ends=SessionEnds(tuple(ends["list"]), tuple(ends["end"])) if (ends := fields.get("ends")) else None,
    )


class ConfirmConfig:
    DEFAULT_STATE_DIR = "/var/lib/storestack-confirm"

    def __init__(
        self,
        state_dir: StrPath = DEFAULT_STATE_DIR,
        pathspace: str | None = None,
        host_files: tuple[HostFile, ...] = (),
        vtysh: str = VTYSH,
        frr_reload: str = FRR_RELOAD,
        source: StrPath | None = None,
        companions: tuple[Companion, ...] = (),
    ) -> None:
        self.state_dir = os.fspath(state_dir)
        self.pathspace = pathspace
        self.host_files = host_files
        # The companion files the push may install: the allow-list (none unless listed).
        self.companions = companions
        self.vtysh = vtysh
        self.frr_reload = frr_reload
        # The file this was read from (the login hands it on to the verbs).
        self.source = None if source is None else os.fspath(source)

    @classmethod
    def load(cls, path: StrPath) -> ConfirmConfig:
        return cls.load_data(json.loads(_read_text(path)), source=path)

    @classmethod
    def load_data(cls, data: dict[str, Any], source: StrPath | None = None) -> ConfirmConfig:
        return cls(
            source=source,
            state_dir=data.get("state_dir", cls.DEFAULT_STATE_DIR),
            pathspace=data.get("pathspace"),
            host_files=tuple(
                HostFile(item["path"], tuple(item.get("reload", ()))) for item in data.get("host_files", ())
            ),
            vtysh=data.get("vtysh", VTYSH),
            frr_reload=data.get("frr_reload", FRR_RELOAD),
            companions=tuple(_companion(name, given) for name, given in sorted(data.get("companions", {}).items())),
        )

    def companion(self, name: str) -> Companion:
        for companion in self.companions:
            if companion.name == name:
                return companion
        taken = ", ".join(c.name for c in self.companions) or "none"
        raise _VerbError(f"{name[:MAX_COMPANION_NAME]!r} is not a companion file of this appliance (it takes: {taken})")

    def watched(self) -> list[tuple[str, Companion | HostFile]]:
        """Every host file an arm snapshots and a revert writes back: the watched host files and
        the companions, each with the name of its saved copy in the state directory."""
        found: list[tuple[str, Companion | HostFile]] = [
            (f"host-file-{index}", host_file) for index, host_file in enumerate(self.host_files)
        ]
        found += [(f"companion-{companion.name}", companion) for companion in self.companions]
        return found

    def vtysh_argv(self, *args: str) -> list[str]:
        return [self.vtysh, *(["-N", self.pathspace] if self.pathspace else []), *args]


class Armed:
    """The state file of an armed timer. `started`: the timer process's start time (field 22 of
    /proc/PID/stat), which with its pid names it for good: a pid alone may be reused."""

    def __init__(
        self,
        token: str,
        pid: int,
        armed_at: float,
        deadline: float,
        timeout_s: int,
        host_files: list[str] | None = None,
        started: str = "",
        installed: list[str] | None = None,
    ) -> None:
        self.token = token
        self.pid = pid
        self.armed_at = armed_at
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.host_files = host_files or []
        self.started = started
        # The companions installed since the arm, in the order they went in (the push's,
        # devices/platforms/frr.py): the revert undoes them last first.
        self.installed = installed or []


# ---------------------------------------------------------------------- files of the state dir


def _state_file(config: ConfirmConfig) -> str:
    return os.path.join(config.state_dir, "armed.json")


def _last_file(config: ConfirmConfig) -> str:
    return os.path.join(config.state_dir, "last.json")


def backup_file(config: ConfirmConfig) -> str:
    return os.path.join(config.state_dir, "backup.conf")


def _saved_host_file(config: ConfirmConfig, key: str) -> str:
    return os.path.join(config.state_dir, key)


def _read_text(path: StrPath, encoding: str = "utf-8", errors: str = "strict") -> str:
    with open(path, encoding=encoding, errors=errors) as handle:
        return handle.read()


def _read_bytes(path: str) -> bytes | None:
    """A file's bytes; None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _unlink(path: str) -> None:
    """Remove a file that may be gone already."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return


def _write(path: str, text: str, mode: int = 0o600) -> None:
    """Atomic: a reader (or a revert after a crash) never sees half a file. (This program runs
    on the appliance without storestack, so not storestack.common.files.)"""
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    _write_new(temporary, text.encode("utf-8"), mode)
    # No fsync: nothing here must outlive a reboot (the timer does not, and the saved config is
    # the old one), and on a busy host it would cost the arm seconds.
    os.replace(temporary, path)


def _write_new(path: str, data: bytes, mode: int, group: str | None = None) -> None:
    """A fresh file (whatever was at `path` goes first; a symlink there is never followed) with
    exactly `mode`, and `group` when given, before a byte of `data` is in it."""
    _unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o600)
    try:
        if group is not None:
            import grp

            os.fchown(fd, -1, grp.getgrnam(group).gr_gid)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
    finally:
        os.close(fd)


def _install_bytes(companion: Companion, data: bytes | None) -> None:
    """Put `data` in place of a companion (None: remove it), atomically, with its mode."""
    if data is None:
        _unlink(companion.path)
        return
    staged = companion.staged()
    _write_new(staged, data, companion.mode, companion.group)
    os.replace(staged, companion.path)


def _read_armed(config: ConfirmConfig) -> Armed | None:
    try:
        return Armed(**json.loads(_read_text(_state_file(config))))
    except FileNotFoundError:
        return None


def _write_armed(config: ConfirmConfig, armed: Armed) -> None:
    _write(_state_file(config), json.dumps(armed.__dict__) + "\n")


def _record_last(config: ConfirmConfig, outcome: str, detail: str) -> None:
    _write(_last_file(config), json.dumps({"outcome": outcome, "at": time.time(), "detail": detail}) + "\n")


def _read_last(config: ConfirmConfig) -> dict[str, Any] | None:
    try:
        last: dict[str, Any] = json.loads(_read_text(_last_file(config)))
    except FileNotFoundError:
        return None
    return last


class _locked:
    """One verb or one timer expiry at a time: a confirm racing the timer sees its outcome."""

    def __init__(self, config: ConfirmConfig) -> None:
        self.config = config
        self.fd = -1

    def __enter__(self) -> None:
        os.makedirs(self.config.state_dir, mode=0o700, exist_ok=True)
        self.fd = os.open(os.path.join(self.config.state_dir, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


# ---------------------------------------------------------------------- the appliance


def running_config(config: ConfirmConfig) -> str:
    """The running config as a file FRR loads: without the banner lines `show` prints first."""
    import subprocess

    result = subprocess.run(
        config.vtysh_argv("-c", "show running-config"), capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise _VerbError(f"cannot read the running config: {(result.stderr or result.stdout).strip()}")
    return _without_banner(result.stdout)


def _without_banner(text: str) -> str:
    lines = text.replace("\r\n", "\n").splitlines()
    while lines and (not lines[0].strip() or _BANNER.match(lines[0])):
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n"


def snapshot_from(text: str) -> str:
    """The running config the push engine read just before the arm (`arm N stdin`), as the file
    a revert loads. It must be whole: FRR's `show running-config` ends with `end`, and a cut
    one would revert to half a config."""
    snapshot = _without_banner(text)
    if snapshot.rstrip("\n").rsplit("\n", 1)[-1].strip() != "end":
        raise _VerbError("the running config on stdin is not whole (no final `end`): nothing is armed")
    return snapshot


def config_lines(text: str) -> list[str]:
    """A config's lines without FRR's header and separators: what a reload must make equal."""
    return [line.rstrip() for line in text.splitlines() if line.strip() and not _RUNNING_NOISE.match(line.strip())]


def _process_start(pid: int) -> str | None:
    """A live process's start time (field 22 of /proc/PID/stat); None when gone or a zombie."""
    try:
        stat = _read_text(f"/proc/{pid}/stat", encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # the command name may hold spaces and ')'
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return fields[19]


def _timer_alive(armed: Armed) -> bool:
    """The armed timer process still runs: its pid, started when the state says."""
    if armed.pid <= 0:
        return False
    return bool(armed.started) and _process_start(armed.pid) == armed.started


def _signal_quietly(pid: int, number: int) -> None:
    """Signal a process that may have ended a moment ago."""
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        return


def _stop_timer(armed: Armed) -> None:
    if _timer_alive(armed):
        _signal_quietly(armed.pid, signal.SIGTERM)


def _undo_order(config: ConfirmConfig, armed: Armed) -> list[tuple[str, Companion | HostFile]]:
    """The order a revert puts the watched files back in: the companions the push installed
    since the arm, last installed first (the push's states again, in reverse), then any other
    watched file that changed (a companion or host file changed behind the push's back)."""
    watched = config.watched()
    installed = [(key, item) for name in reversed(armed.installed) for key, item in watched if key == f"companion-{name}"]
    return installed + [entry for entry in watched if entry not in installed]


def _restore_host_files(config: ConfirmConfig, armed: Armed) -> list[str]:
    """Watched host files and companions that changed since `arm` go back (a companion that did
    not exist then goes), and their reload runs, in `_undo_order`; what was done."""
    done: list[str] = []
    for key, host_file in _undo_order(config, armed):
        if host_file.path not in armed.host_files:
            continue
        before = _read_bytes(_saved_host_file(config, key))
        now = _read_bytes(host_file.path)
        if now == before:
            continue
        if isinstance(host_file, Companion):
            _install_bytes(host_file, before)
            failed = host_file.run_reload(now, before)
        else:
            if before is None:
                _unlink(host_file.path)
            else:
                mode = os.stat(host_file.path).st_mode & 0o777 if now is not None else 0o644
                _write(host_file.path, before.decode("utf-8"), mode)
            failed = _run_all((host_file.reload,) if host_file.reload else ())
        done.append(f"{host_file.path} restored" + (f", reload failed: {failed}" if failed else ""))
    return done


def _run_all(commands: tuple[tuple[str, ...], ...], file: str = "") -> str:
    """Run each command in turn (`{file}` in one stands for `file`) until one fails: what the
    failing one printed (its last 400 characters), or "" when all succeeded."""
    for command in commands:
        _said, failed = _run_one([word.replace("{file}", file) for word in command])
        if failed:
            return failed
    return ""


def _run_one(argv: list[str]) -> tuple[str, str]:
    """Run one command: what it printed on stdout, and what failed (its last 400 characters) or
    ""."""
    import subprocess

    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=RELOAD_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return "", f"{argv[0]}: {exc}"
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip()[-400:]
        return result.stdout, f"{os.path.basename(argv[0])} exited {result.returncode}: {said or 'no output'}"
    return result.stdout, ""


def _reload_frr(config: ConfirmConfig) -> str:
    """FRR back on the snapshot with frr-reload.py; a second pass when one did not converge."""
    backup = backup_file(config)
    wanted = config_lines(_read_text(backup))
    argv = [
        config.frr_reload,
        "--reload",
        "--stdout",
        "--rundir",
        config.state_dir,
        *(["--pathspace", config.pathspace] if config.pathspace else []),
        backup,
    ]
    import subprocess

    problems = ""
    for attempt in (1, 2):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=RELOAD_TIMEOUT, check=False)
        if result.returncode != 0:
            problems = (result.stderr or result.stdout).strip()[-400:]
        if config_lines(running_config(config)) == wanted:
            return f"FRR reloaded the backup in {attempt} pass(es)"
    raise _VerbError(f"FRR still differs from the backup after 2 reloads: {problems or 'no error reported'}")


def _revert(config: ConfirmConfig, armed: Armed, why: str) -> str:
    """Put everything armed back; the state goes, whatever happens, so nothing reverts twice."""
    import subprocess

    try:
        # FRR first: the push changed it last, after the host's files it relies on, so the
        # revert goes back through the push's own states (`_undo_order`). A failed FRR reload
        # still lets the host's files go back before it is reported.
        try:
            done = [_reload_frr(config)]
        except (_VerbError, OSError, subprocess.SubprocessError) as exc:
            _restore_host_files(config, armed)
            raise exc from None
        done += _restore_host_files(config, armed)
    except (_VerbError, OSError, subprocess.SubprocessError) as exc:
        _record_last(config, "revert-failed", f"{why}: {exc}")
        raise _VerbError(f"{why}, but the revert failed: {exc}") from None
    finally:
        _unlink(_state_file(config))
    detail = f"{why}: " + "; ".join(done)
    _record_last(config, "reverted", detail)
    return detail


# ---------------------------------------------------------------------- verbs


# The refusal of an arm while an earlier timer runs, and the push engine's reading of it
# (`CommitConfirm.armed_earlier`): one wording for both.
ARMED_EARLIER_MESSAGE = (
    "a timer is armed already: it reverts an earlier, unconfirmed change in {left} s; push "
    "again after that, or end it now with `{program} revert`"
)
ARMED_EARLIER = r"a timer is armed already: it reverts an earlier, unconfirmed change in (?P<left>\d+) s"


def arm(config: ConfirmConfig, seconds: int, *, snapshot: str | None = None) -> str:
    """Arm the timer. `snapshot`: the running config as the push engine read it a moment ago, in
    the same login (`arm N stdin`); without it, vtysh is asked for it (one more dump of every
    daemon's config on a busy appliance)."""
    _arm(config, seconds, snapshot)
    return f"armed: reverts to the running config of now in {seconds} s unless confirmed"


def _arm(config: ConfirmConfig, seconds: int, snapshot: str | None) -> Armed:
    if not MIN_TIMER <= seconds <= MAX_TIMER:
        raise _VerbError(f"the timer takes {MIN_TIMER} to {MAX_TIMER} seconds, got {seconds}")
    if not os.access(config.frr_reload, os.X_OK):
        raise _VerbError(
            f"cannot arm: {config.frr_reload} is missing (Debian: frr-pythontools), nothing could revert the change"
        )
    with _locked(config):
        armed = _read_armed(config)
        if armed is not None and _timer_alive(armed):
            left = max(0, round(armed.deadline - time.time()))
            raise _VerbError(ARMED_EARLIER_MESSAGE.format(left=left, program=PROGRAM))
        # A state without its timer is left from before a reboot: the saved config is running.
        _unlink(_state_file(config))
        _write(backup_file(config), snapshot_from(snapshot) if snapshot is not None else running_config(config))
        watched = []
        for key, host_file in config.watched():
            saved = _saved_host_file(config, key)
            _unlink(saved)
            current = _read_bytes(host_file.path)
            if current is not None:
                _write_new(saved, current, 0o600)
            watched.append(host_file.path)
        now = time.time()
        token = _token()
        # The state goes down before the timer starts: a timer that reads no state (or another
        # token) ends at once, so on a busy host it must never start ahead of its own state.
        armed = Armed(token, 0, now, now + seconds, seconds, watched)
        _write_armed(config, armed)
        try:
            armed.pid = _start_timer(config, token)
            started = _process_start(armed.pid)
            if started is None:
                raise _VerbError("the timer ended as it started: nothing would revert the change, so nothing is armed")
            armed.started = started
        except (OSError, _VerbError):
            _unlink(_state_file(config))
            raise
        _write_armed(config, armed)
    return armed


def _start_timer(config: ConfirmConfig, token: str) -> int:
    """A detached process (own session, no terminal, nothing of the SSH channel open) that runs
    `timer TOKEN`: it outlives the login that armed it, which is the point. Forked from this
    one: a second interpreter would cost the appliance its start-up again."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered here may be written twice, by the child too
    pid = os.fork()
    if pid == 0:  # the timer; it never returns into the arm
        status = 1
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            # Nothing of the SSH channel, and not the state lock the arm holds.
            os.closerange(3, max(int(name) for name in os.listdir("/proc/self/fd")) + 1)
            timer(config, token)
            status = 0
        finally:
            os._exit(status)
    # The child is in /proc as soon as fork returns; wait until it shows there all the same, so
    # that `status` and a second `arm` recognise it, and never report armed with a timer that
    # died on its way up. Wait for its own session too: until then, the end of the SSH session
    # (a hang-up to the login's process group) would take the timer with it.
    deadline = time.monotonic() + TIMER_START_TIMEOUT
    while _process_start(pid) is None or not _leads_its_session(pid):
        if os.waitpid(pid, os.WNOHANG)[0] == pid or time.monotonic() > deadline:
            raise _VerbError("the timer did not start: nothing would revert the change, so nothing is armed")
        time.sleep(0.01)
    return pid


def _leads_its_session(pid: int) -> bool:
    try:
        return os.getsid(pid) == pid
    except ProcessLookupError:
        return False


def _token() -> str:
    return os.urandom(8).hex()


def session_ends() -> tuple[str, str | None] | None:
    """The push's address and this host's address of the session, as sshd tells every command
    of it (SSH_CONNECTION: client, port, server, port; SSH_CLIENT has the client only)."""
    words = os.environ.get("SSH_CONNECTION", "").split()
    if len(words) >= 3 and _ADDRESS.match(words[0]) and _ADDRESS.match(words[2]):
        return words[0], words[2]
    words = os.environ.get("SSH_CLIENT", "").split()
    return (words[0], None) if words and _ADDRESS.match(words[0]) else None


def kernel_route(ends: tuple[str, str | None]) -> str:
    """What the kernel does now with a packet from this session's address toward the push (policy
    rules included): that it leaves, from which address, or why it cannot (a blackhole route
    refuses with EINVAL, unreachable EHOSTUNREACH, prohibit EACCES, no route ENETUNREACH). A
    UDP connect asks the routing table and sends nothing."""
    import socket

    client, local = ends
    with socket.socket(socket.AF_INET6 if ":" in client else socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            if local is not None:
                probe.bind((local, 0))
            probe.connect((client, 9))
            return f"leaves from {probe.getsockname()[0]}"
        except OSError as exc:
            return f"refused: errno {exc.errno}"


def settle(ends: tuple[str, str | None] | None, probe: Callable[[tuple[str, str | None]], str] = kernel_route) -> None:
    """Wait until the kernel's answer toward the push stays the same over SETTLE_INTERVAL (see
    there); nothing to wait for without a session."""
    if ends is None:
        return
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last = probe(ends)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_INTERVAL)
        now = probe(ends)
        if now == last:
            return
        last = now


def timer(config: ConfirmConfig, token: str) -> None:
    """The detached timer: sleep until the deadline, then revert unless confirmed meanwhile."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        armed = _read_armed(config)
        if armed is None or armed.token != token:
            return
        left = armed.deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(left, 5.0))
    with _locked(config):
        armed = _read_armed(config)
        if armed is None or armed.token != token:
            return  # confirmed or reverted while we waited for the lock
        try:
            _revert(config, armed, f"not confirmed within {armed.timeout_s} s")
        except _VerbError:
            return  # _revert recorded the failure in last.json


def confirm(config: ConfirmConfig, answer: Callable[[str], str | None]) -> str:
    """Cancel the timer, once whoever confirms proved they still hear the appliance: `answer`
    gets a fresh challenge and must return it. A change that cut the way back to the push lets
    the confirm itself arrive; its answer does not, and the timer stays armed."""
    with _locked(config):
        armed = _read_armed(config)
        if armed is None:
            raise _nothing_armed(config, "confirm")
        settle(session_ends())
        challenge = _token()
        if answer(challenge) != challenge:
            raise _VerbError(
                f"the challenge was not answered within {CHALLENGE_TIMEOUT:g} s: the way back from this "
                "appliance may be cut, the timer stays armed"
            )
        return _disarm(config, armed)


def _nothing_armed(config: ConfirmConfig, what: str) -> _VerbError:
    last = _read_last(config)
    said = f" (last: {last['outcome']}: {last['detail']})" if last else ""
    return _VerbError(f"nothing is armed to {what}{said}")


def _disarm(config: ConfirmConfig, armed: Armed) -> str:
    """Cancel the timer of `armed` (under the lock): the change stays."""
    os.unlink(_state_file(config))
    _stop_timer(armed)
    _record_last(config, "confirmed", f"confirmed {round(time.time() - armed.armed_at)} s after arm")
    return "confirmed: the timer is cancelled"


def guard(config: ConfirmConfig, seconds: int, lines: LineReader) -> str:
    """`arm N stdin`: arm with the running config the push engine sends (`snapshot LENGTH`, then
    that many bytes), then stay as the change's guard beside the push's CLI session, reading
    lines until the session ends:

    - `challenge`: print a fresh `challenge TOKEN`, once the change is in the forwarding table
      toward the push (`settle`);
    - `confirm TOKEN`: with the last challenge, printed at most CHALLENGE_TIMEOUT s before,
      cancel this arm's timer (not another's) and end; anything else ends with an error, the
      timer armed.

    The push asks for the challenge along with its verify read, right after the change, and
    confirms once the verify passed: the challenge came back over the way the change could have
    cut, the confirm went out over the other, and neither costs a round trip or an interpreter
    of its own. An end of stdin (the session ended) leaves the timer armed."""
    header = lines.line(CHALLENGE_TIMEOUT)
    if header is None or not header.startswith("snapshot ") or not header[9:].strip().isdigit():
        raise _VerbError("no `snapshot LENGTH` line on stdin: nothing is armed")
    length = int(header[9:])
    if length > MAX_SNAPSHOT_BYTES:
        raise _VerbError(f"the running config on stdin is over {MAX_SNAPSHOT_BYTES} bytes: nothing is armed")
    armed = _arm(config, seconds, lines.exactly(length, CHALLENGE_TIMEOUT).decode("utf-8"))
    print(f"armed: reverts to the running config of now in {seconds} s unless confirmed", flush=True)
    challenge, issued = "", 0.0
    while True:
        line = lines.line(max(0.0, armed.deadline - time.time()))
        if line is None:
            return "the session ended: the timer stays armed"
        if line == "challenge":
            settle(session_ends())
            challenge, issued = _token(), time.monotonic()
            print(f"{CHALLENGE_PREFIX}{challenge}", flush=True)
        elif line.startswith("confirm "):
            answered = line[8:].strip()
            if not challenge or answered != challenge or time.monotonic() - issued > CHALLENGE_TIMEOUT:
                raise _VerbError(
                    f"the confirm did not answer a challenge of the last {CHALLENGE_TIMEOUT:g} s: the way back "
                    "from this appliance may be cut, the timer stays armed"
                )
            with _locked(config):
                now = _read_armed(config)
                if now is None or now.token != armed.token:
                    raise _nothing_armed(config, "confirm")
                return _disarm(config, now)
        else:
            raise _VerbError(f"unknown request {line[:40]!r}: the timer stays armed")


class LineReader:
    """Lines and bytes from a file descriptor, each read bounded in time."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.ended = False

    def _fill(self, deadline: float) -> bool:
        if self.ended:
            return False
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise _VerbError("stdin went quiet: the timer stays as it is")
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.ended = True
            return False
        self.buffer += chunk
        return True

    def line(self, timeout: float) -> str | None:
        """The next line without its end; None at the end of the input; an error when none
        comes within `timeout`."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            if len(self.buffer) > 4096:
                raise _VerbError("a request line over 4096 bytes")
            if not self._fill(deadline):
                return None
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        return line.decode("utf-8", "replace").strip()

    def exactly(self, length: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buffer) < length:
            if not self._fill(deadline):
                raise _VerbError("stdin ended inside the running config: nothing is armed")
        data, self.buffer = bytes(self.buffer[:length]), self.buffer[length:]
        return data


def snapshot_frame(text: str) -> bytes:
    """What the push engine sends an `arm N stdin` first: the running config it backed up."""
    data = text.encode("utf-8")
    return f"snapshot {len(data)}\n".encode() + data


# ---------------------------------------------------------------------- companion files


def companion_digests(config: ConfirmConfig) -> str:
    """JSON: every companion this appliance takes → the sha256 of its file (null: none there).
    What the push compares with the files it rendered, in one request, reading no file twice."""
    import hashlib

    found: dict[str, str | None] = {}
    for companion in config.companions:
        data = _read_bytes(companion.path)
        found[companion.name] = None if data is None else hashlib.sha256(data).hexdigest()
    return json.dumps(found, sort_keys=True)


def companion_read(config: ConfirmConfig, name: str) -> bytes:
    """One companion's file as it is (the push diffs it and shows only a redacted diff); empty
    when there is none."""
    return _read_bytes(config.companion(name).path) or b""


def read_input(fd: int, limit: int = MAX_COMPANION_BYTES, quiet: float = 60.0) -> bytes:
    """All of stdin, up to `limit` bytes (more is refused, before anything is written); an
    error when it goes quiet for `quiet` seconds."""
    data = bytearray()
    while True:
        ready, _, _ = select.select([fd], [], [], quiet)
        if not ready:
            raise _VerbError(f"stdin went quiet for {quiet:g} s: nothing is installed")
        chunk = os.read(fd, 65536)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise _VerbError(f"the file on stdin is over {limit} bytes: nothing is installed")


def companion_install(config: ConfirmConfig, name: str, data: bytes) -> str:
    """Install one companion file: staged beside the live one with its mode, checked (`check`),
    renamed into place, then the host reloads it. A check that fails leaves the live file as it
    was; a reload that fails puts the old file back and reloads that. Under an armed timer the
    arm's snapshot holds the file as it was, so the timer's revert puts it back too."""
    import hashlib

    companion = config.companion(name)
    if len(data) > MAX_COMPANION_BYTES:
        raise _VerbError(f"the file on stdin is over {MAX_COMPANION_BYTES} bytes: nothing is installed")
    if b"\0" in data:
        raise _VerbError("the file on stdin holds a NUL byte: nothing is installed")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _VerbError("the file on stdin is not UTF-8 text: nothing is installed") from None
    digest = hashlib.sha256(data).hexdigest()
    with _locked(config):
        before = _read_bytes(companion.path)
        if before == data and _mode_of(companion.path) == companion.mode:
            return f"unchanged {name} sha256 {digest}"
        staged = companion.staged()
        _write_new(staged, data, companion.mode, companion.group)
        failed = _run_all((companion.check,) if companion.check else (), staged)
        if failed:
            _unlink(staged)
            raise _VerbError(f"{name}: the check refused it, nothing is installed: {failed}")
        armed = _read_armed(config)
        if armed is not None:
            # Its place in the push's order, for the revert (`_undo_order`); before it goes live.
            armed.installed = [*(taken for taken in armed.installed if taken != name), name]
            _write_armed(config, armed)
        os.replace(staged, companion.path)
        failed = companion.run_reload(before, data)
        if failed:
            _install_bytes(companion, before)
            again = companion.run_reload(data, before)
            back = "the old file is back" + (f", but its reload failed too: {again}" if again else " and reloaded")
            raise _VerbError(f"{name}: the reload failed ({failed}); {back}")
    return f"installed {name} sha256 {digest}"


def _mode_of(path: str) -> int | None:
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None


def revert(config: ConfirmConfig) -> str:
    with _locked(config):
        armed = _read_armed(config)
        if armed is None:
            raise _VerbError("nothing is armed to revert")
        _stop_timer(armed)
        return "reverted: " + _revert(config, armed, "revert asked")


def status(config: ConfirmConfig) -> str:
    armed = _read_armed(config)
    alive = armed is not None and _timer_alive(armed)
    report: dict[str, Any] = {
        "armed": alive,
        "seconds_left": max(0, round(armed.deadline - time.time())) if armed is not None and alive else None,
        "timeout_s": armed.timeout_s if armed is not None and alive else None,
        "last": _read_last(config),
    }
    return json.dumps(report, sort_keys=True)


# ---------------------------------------------------------------------- the login


def allowed(command: str) -> re.Match[str] | None:
    """The verb an SSH exec request asks for, or None: then the login refuses it."""
    return _ALLOWED.match(command.strip())


def login(config: ConfirmConfig, original_command: str | None) -> int:
    """The sshd ForceCommand: interactive vtysh, or one storestack-confirm verb, or nothing.
    (`login_command` execs vtysh itself, without this program, when there is no command.)"""
    if not original_command or not original_command.strip():
        argv = config.vtysh_argv()
        os.execv(argv[0], argv)
    match = allowed(original_command)
    if match is None:
        import shlex

        shown = " ".join(shlex.quote(word) for word in original_command.split()[:3])
        print(
            f"refused: {shown!s}: this login runs vtysh, or {PROGRAM} arm SECONDS [stdin]|confirm|revert|status"
            "|companion-digests|companion-read NAME|companion-install NAME",
            file=sys.stderr,
        )
        return 126
    if match.group("file_verb"):
        return run_verb(config, match.group("file_verb"), name=match.group("name"))
    seconds = match.group("seconds")
    if not seconds:
        return run_verb(config, match.group("verb"))
    return run_verb(config, "arm", int(seconds), snapshot_on_stdin=match.group("stdin") is not None)


def login_command(config: ConfirmConfig, *, python: str, program: str) -> str:
    """The sshd `ForceCommand` line of the push engine's account (sshd runs it with the
    account's shell, `sh -c`). Without a command it execs vtysh straight from that shell: the
    interactive session of every push, most of them a no-op, starts no Python. With one, this
    program's `login` decides what runs."""
    import shlex

    if config.source is None:
        raise ValueError("the login needs the config file the verbs read")
    vtysh = shlex.join(config.vtysh_argv())
    verbs = shlex.join([python, "-I", "-S", program, "--config", str(config.source), "login"])
    return f'[ -n "$SSH_ORIGINAL_COMMAND" ] || exec {vtysh}; exec {verbs}'


def _answer_on_stdin(challenge: str) -> str | None:
    """Print the challenge line and read the answer from stdin, within CHALLENGE_TIMEOUT."""
    print(f"{CHALLENGE_PREFIX}{challenge}", flush=True)
    ready, _, _ = select.select([sys.stdin], [], [], CHALLENGE_TIMEOUT)
    return sys.stdin.readline().strip() if ready else None


def run_verb(
    config: ConfirmConfig, verb: str, seconds: int = 0, *, snapshot_on_stdin: bool = False, name: str = ""
) -> int:
    try:
        if verb == "companion-install":
            print(companion_install(config, name, read_input(sys.stdin.fileno())))
        elif verb == "companion-read":
            sys.stdout.flush()
            sys.stdout.buffer.write(companion_read(config, name))
        elif verb == "companion-digests":
            print(companion_digests(config))
        elif verb == "arm" and snapshot_on_stdin:
            print(guard(config, seconds, LineReader(sys.stdin.fileno())))
        elif verb == "arm":
            print(arm(config, seconds))
        elif verb == "confirm":
            print(confirm(config, _answer_on_stdin))
        elif verb == "revert":
            print(revert(config))
        else:
            print(status(config))
    except _VerbError as exc:
        print(f"{PROGRAM} {verb}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # The host failed under us (a full disk, a missing vtysh): said, never a traceback.
        # (subprocess is imported only by the verbs that run something: a status never pays it.)
        subprocess = sys.modules.get("subprocess")
        failed_here = subprocess is not None and isinstance(exc, subprocess.SubprocessError)
        if not (failed_here or isinstance(exc, (OSError, UnicodeDecodeError))):
            raise
        print(f"{PROGRAM} {verb}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


_USAGE = (
    f"usage: {PROGRAM} [--config FILE] login|arm SECONDS|confirm|revert|status"
    "|companion-digests|companion-read NAME|companion-install NAME"
)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    config_path: str | None = None
    if args[:1] == ["--config"] and len(args) >= 2:
        config_path, args = args[1], args[2:]
    verb, rest = (args[0], args[1:]) if args else ("", [])
    if verb == "arm" and len(rest) == 1 and rest[0].isdigit():
        seconds = int(rest[0])
    elif verb in ("login", "confirm", "revert", "status", "companion-digests") and not rest:
        seconds = 0
    elif verb in ("companion-read", "companion-install") and len(rest) == 1:
        config = ConfirmConfig.load(config_path) if config_path else ConfirmConfig()
        os.umask(0o077)
        return run_verb(config, verb, name=rest[0])
    else:
        print(_USAGE, file=sys.stderr)
        return 2
    config = ConfirmConfig.load(config_path) if config_path else ConfirmConfig()
    os.umask(0o077)
    if verb == "login":
        return login(config, os.environ.get("SSH_ORIGINAL_COMMAND"))
    return run_verb(config, verb, seconds)


def _exit(status: int) -> None:
    """End without the interpreter's teardown (a tenth of this program's instructions): every
    file is closed by now, and only what is buffered for stdout and stderr must still go out."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the SSH channel is gone: nobody reads it any more
            status = status or 1
    os._exit(status)


if __name__ == "__main__":
    _exit(main())
