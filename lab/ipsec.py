"""strongSwan in the lab: one charon per FRR appliance namespace, ESP in user space.

The kernel here has XFRM but no ESP (see DEVELOPERS.md, "IPsec in the lab"), so charon runs
with the kernel-libipsec plugin: ESP in user space over a TUN device, `ipsec0`. Per instance:
- its own strongswan.conf (`STRONGSWAN_CONF`), VICI socket and a private `/run` (charon's
  pidfile is fixed at /run/charon.pid), all under `/var/lib/storestack-lab-ipsec/<namespace>/`;
- `install_routes = no`, and libipsec's `pref 220` rule deleted, so FRR's main table routes;
- explicit retransmit and DPD timers, `mobike = no`, `encap = yes` (ESP always in UDP 4500).

One TUN per charon means an SA is chosen by traffic selector alone, so several tunnels per
appliance (a transport to both hubs, AWS's two tunnels) cannot all negotiate 0.0.0.0/0. The
lab's one adaptation of a route-based tunnel: IPsec protects only a pair of /32 tunnel
endpoint addresses (VTEPs, from 198.19.0.0/16) per tunnel, and a VXLAN device per tunnel runs
over them and carries the tunnel's inside (overlay) addresses. BGP, BFD and all LAN traffic
ride inside the VXLAN devices, so inside the ESP; the VTEP addresses live on `ipsec0` and are
re-added whenever charon (and with it ipsec0) restarts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from storestack.common.files import atomic_write_text
from storestack.lab import system
from storestack.lab.errors import LabError
from storestack.lab.system import ip_batch

# Not under /run: charon gets a private /run, which would hide its own files there.
IPSEC_RUN_ROOT = Path("/var/lib/storestack-lab-ipsec")
CHARON = Path("/usr/lib/ipsec/charon")
SWANCTL = Path("/usr/sbin/swanctl")
TUN_DEVICE = "ipsec0"
VTEP_POOL = IPv4Network("198.19.0.0/16")
VXLAN_PORT = 4789
# ESP-in-UDP and VXLAN overhead on a 1500-byte WAN: 1350 leaves room for both.
OVERLAY_MTU = 1350
# IKE retransmits: 2 s, then x1.4, 4 tries: a dead peer is noticed in about 12 s.
RETRANSMIT_TIMEOUT = 2.0
RETRANSMIT_TRIES = 4
RETRANSMIT_BASE = 1.4
# charon learns the VTEP addresses from netlink events. At the default socket buffer (about
# 200 KiB) a hub's burst of address, route and link events overflowed it while charon's threads
# waited for CPU ("unable to receive from RT event socket: No buffer space available"): the
# lost addresses stayed unknown to charon, libipsec could not route the child's policy
# ("error installing route with policy"), the responder answered TS_UNACCEPTABLE and the
# initiator kept a childless IKE_SA for good. 8 MiB holds thousands of events, forced past
# net.core.rmem_max (charon keeps CAP_NET_ADMIN).
NETLINK_RECEIVE_BUFFER = 8 * 1024 * 1024
_EVENT_OVERFLOW = "unable to receive from RT event socket"

_PLUGINS = (
    "random nonce openssl aes sha1 sha2 hmac gcm kdf curve25519 pem pkcs1 x509 pubkey "
    # kernel-libipsec before kernel-netlink: it takes the IPsec part, netlink keeps the rest.
    "kernel-libipsec kernel-netlink socket-default vici updown"
)


class TunnelEnd(BaseModel):
    """One end of a lab tunnel, as its appliance sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    appliance: str
    outside: IPv4Address  # the WAN address IKE and ESP use
    identity: str  # IKE identity
    ifname: str  # the VXLAN device carrying the inside address
    inside: IPv4Interface  # overlay address, e.g. the /31 BGP runs on
    vtep: IPv4Address  # /32 the SA protects, the VXLAN endpoint


class LabTunnel(BaseModel):
    """One IPsec tunnel between two lab appliances; `initiator` dials, `responder` answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    vni: int
    initiator: TunnelEnd
    responder: TunnelEnd
    psk: SecretStr
    ike_version: int = 2
    ike_proposals: str
    esp_proposals: str
    ike_lifetime_seconds: int
    esp_lifetime_seconds: int
    dpd_seconds: int

    def end(self, appliance: str) -> tuple[TunnelEnd, TunnelEnd, Literal["initiator", "responder"]]:
        """(local end, far end, local role) for `appliance`."""
        if appliance == self.initiator.appliance:
            return self.initiator, self.responder, "initiator"
        if appliance == self.responder.appliance:
            return self.responder, self.initiator, "responder"
        raise KeyError(appliance)


def vtep_pair(index: int) -> tuple[IPv4Address, IPv4Address]:
    """The /32 endpoint addresses of the lab's `index`-th tunnel (responder, initiator)."""
    base = int(VTEP_POOL.network_address) + 2 * index
    if base + 1 >= int(VTEP_POOL.broadcast_address):
        raise LabError(f"the lab has more than {VTEP_POOL.num_addresses // 2 - 1} tunnels")
    return IPv4Address(base), IPv4Address(base + 1)


# --------------------------------------------------------------------------------------------
# files


def instance_dir(namespace: str) -> Path:
    return IPSEC_RUN_ROOT / namespace


def vici_uri(namespace: str) -> str:
    return f"unix://{instance_dir(namespace) / 'charon.vici'}"


def strongswan_conf(
    namespace: str, ignore_interfaces: Iterable[str] = (), settings: dict[str, str] | None = None
) -> str:
    """The instance's strongswan.conf: `settings` (the rendered file's `charon` settings, else
    the lab's own timers), plus what a charon in a lab namespace needs."""
    folder = instance_dir(namespace)
    given = dict(
        settings
        or {
            "install_routes": "no",
            "install_virtual_ip": "no",
            "retransmit_timeout": str(RETRANSMIT_TIMEOUT),
            "retransmit_tries": str(RETRANSMIT_TRIES),
            "retransmit_base": str(RETRANSMIT_BASE),
        }
    )
    ignored = [name.strip() for name in given.pop("interfaces_ignore", "").split(",") if name.strip()]
    ignored += [name for name in (TUN_DEVICE, *ignore_interfaces) if name not in ignored]
    given["install_routes"] = "no"  # libipsec would route everything into ipsec0 otherwise
    lines = "\n".join(f"  {key} = {value}" for key, value in given.items())
    return f"""# storestack lab: charon of namespace {namespace} (kernel-libipsec, private /run)
charon {{
  load = {_PLUGINS}
{lines}
  interfaces_ignore = {", ".join(ignored)}
  plugins {{
    vici {{
      socket = {vici_uri(namespace)}
    }}
    kernel-netlink {{
      receive_buffer_size = {NETLINK_RECEIVE_BUFFER}
      force_receive_buffer_size = yes
    }}
  }}
  filelog {{
    charon {{
      path = {folder / 'charon.log'}
      default = 1
      ike = 1
      # Prefix lines with the IKE_SA's name, so `lab check` can say why a tunnel is down.
      ike_name = yes
    }}
  }}
}}
"""


def swanctl_conf(appliance: str, tunnels: Iterable[LabTunnel]) -> str:
    """swanctl.conf of one appliance: a connection and a child per tunnel it terminates."""
    connections: list[str] = []
    secrets: list[str] = []
    for tunnel in tunnels:
        local, remote, role = tunnel.end(appliance)
        start = "start" if role == "initiator" else "none"
        # The initiator keeps dialling; the responder drops a dead peer and waits for it.
        dpd_action = "restart" if role == "initiator" else "clear"
        connections.append(
            f"""  {tunnel.id} {{
    version = {tunnel.ike_version}
    local_addrs = {local.outside}
    remote_addrs = {remote.outside}
    proposals = {tunnel.ike_proposals}
    encap = yes
    mobike = no
    unique = never
    keyingtries = 0
    dpd_delay = {tunnel.dpd_seconds}s
    rekey_time = {tunnel.ike_lifetime_seconds}s
    local {{
      auth = psk
      id = {local.identity}
    }}
    remote {{
      auth = psk
      id = {remote.identity}
    }}
    children {{
      {tunnel.id} {{
        local_ts = {local.vtep}/32
        remote_ts = {remote.vtep}/32
        esp_proposals = {tunnel.esp_proposals}
        rekey_time = {tunnel.esp_lifetime_seconds}s
        dpd_action = {dpd_action}
        start_action = {start}
      }}
    }}
  }}"""
        )
        secrets.append(
            f"""  ike-{tunnel.id} {{
    id-1 = {local.identity}
    id-2 = {remote.identity}
    secret = "{tunnel.psk.get_secret_value()}"
  }}"""
        )
    return "connections {\n" + "\n".join(connections) + "\n}\nsecrets {\n" + "\n".join(secrets) + "\n}\n"


# --------------------------------------------------------------------------------------------
# charon lifecycle


def charon_pid(namespace: str) -> int | None:
    pid = system.read_pidfile(instance_dir(namespace) / "run" / "charon.pid")
    if pid is not None and system.process_matches(pid, str(CHARON)):
        return pid
    return None


def start_charon(namespace: str, swanctl_text: str, strongswan_text: str) -> None:
    """Start (or restart) the namespace's charon with these files (0600: they hold PSKs).

    Initiating children start by themselves (`start_action = start`)."""
    folder = instance_dir(namespace)
    stop_charon(namespace)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    run_dir = folder / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(mode=0o700)
    (folder / "charon.vici").unlink(missing_ok=True)
    conf = folder / "strongswan.conf"
    atomic_write_text(conf, strongswan_text, mode=0o600)
    atomic_write_text(folder / "swanctl.conf", swanctl_text, mode=0o600)
    # charon's pidfile and its other run-time files go to /run: a private mount namespace
    # binds the instance's own directory there, so instances never share them.
    script = f'mount --bind "$1" /run && exec {CHARON}'
    log = (folder / "charon.stdout").open("ab")
    try:
        subprocess.Popen(
            [
                "nsenter",
                f"--net={system.NETNS_RUN_ROOT / namespace}",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "storestack-lab-charon",
                str(run_dir),
            ],
            env={**os.environ, "STRONGSWAN_CONF": str(conf)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives `storestack lab up`; `down` stops it
        )
    finally:
        log.close()


def wait_charon(namespace: str, appliance: str, tunnels: list[LabTunnel], *, timeout: float = 20.0) -> None:
    """Wait for the VICI socket and ipsec0, put the tunnels' endpoints on ipsec0, then load
    swanctl.conf and take routing back from libipsec.

    The endpoint addresses go first: libipsec installs a route per outbound policy, which
    fails (and takes the child SA down) while charon knows the policy's local address nowhere."""
    folder = instance_dir(namespace)
    deadline = time.monotonic() + timeout
    while not (folder / "charon.vici").exists():
        if time.monotonic() > deadline:
            stdout = folder / "charon.stdout"
            tail = stdout.read_text(errors="replace")[-1000:] if stdout.exists() else ""
            raise LabError(f"charon in {namespace} did not open its VICI socket within {timeout:g} s {tail}")
        time.sleep(0.02)
    configure_overlay(namespace, appliance, tunnels)
    swanctl(namespace, "--load-all", "--file", str(folder / "swanctl.conf"))
    # libipsec routes everything through table 220 even with install_routes = no.
    _delete_rule_220(namespace)


def _delete_rule_220(namespace: str) -> None:
    for _ in range(50):
        rules = system.run(["ip", "-n", namespace, "rule", "show", "pref", "220"]).stdout
        if rules.strip():
            system.run(["ip", "-n", namespace, "rule", "del", "pref", "220"], check=False)
            return
        time.sleep(0.02)


def swanctl(namespace: str, *arguments: str, timeout: float = 20.0) -> str:
    return system.run([SWANCTL, *arguments, "--uri", vici_uri(namespace)], timeout=timeout).stdout


def stop_charon(namespace: str) -> int:
    pid = charon_pid(namespace)
    if pid is None:
        return 0
    return len(system.terminate([pid]))


def create_tunnel_devices(namespace: str, appliance: str, tunnels: Iterable[LabTunnel]) -> None:
    """The VXLAN device carrying each tunnel's inside address. Made before charon starts, so
    that charon's netlink event socket sees only the VTEP addresses and routes
    (`configure_overlay`), not the devices' burst of link and address events too."""
    lines: list[str] = []
    for tunnel in tunnels:
        local, remote, _role = tunnel.end(appliance)
        lines += [
            f"link add {local.ifname} type vxlan id {tunnel.vni} local {local.vtep} "
            # tos inherit: the inner DSCP on the outer header, as XFRM copies it to ESP's
            f"remote {remote.vtep} dstport {VXLAN_PORT} tos inherit",
            f"link set {local.ifname} mtu {OVERLAY_MTU}",
            f"addr add {local.inside.with_prefixlen} dev {local.ifname}",
            f"link set {local.ifname} up",
        ]
    ip_batch(namespace, lines)


def configure_overlay(namespace: str, appliance: str, tunnels: Iterable[LabTunnel]) -> None:
    """VTEP addresses on ipsec0, and the route to each far VTEP through it (again after every
    charon restart: ipsec0 vanishes with charon)."""
    lines: list[str] = []
    for tunnel in tunnels:
        local, remote, _role = tunnel.end(appliance)
        lines.append(f"addr replace {local.vtep}/32 dev {TUN_DEVICE}")
        lines.append(f"route replace {remote.vtep}/32 dev {TUN_DEVICE} src {local.vtep}")
    _wait_for_tun(namespace)
    ip_batch(namespace, lines)


def _wait_for_tun(namespace: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if system.run(["ip", "-n", namespace, "link", "show", TUN_DEVICE], check=False).returncode == 0:
            return
        if time.monotonic() > deadline:
            raise LabError(f"charon in {namespace} created no {TUN_DEVICE} within {timeout:g} s")
        time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# state


class ChildState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tunnel: str
    ike_state: str
    child_state: str | None
    ike_proposal: str | None
    esp_proposal: str | None
    local: str | None
    remote: str | None

    @property
    def up(self) -> bool:
        return self.ike_state == "ESTABLISHED" and self.child_state == "INSTALLED"


_IKE_LINE = re.compile(r"^(\S+): #\d+, (\w+), IKEv\d")
_CHILD_LINE = re.compile(r"^\s+(\S+): #\d+, reqid \d+, (\w+), [^,]+, (ESP:\S+)")
_ENDPOINT = re.compile(r"^\s+(local|remote)\s+'[^']*' @ (\S+)")
_IKE_PROPOSAL = re.compile(r"^  ([A-Z][A-Z0-9_-]*(?:/[A-Z0-9_-]+)+)$")


def tunnel_states(namespace: str) -> dict[str, ChildState]:
    """tunnel id → IKE and child SA state with the negotiated proposals (`swanctl --list-sas`)."""
    output = swanctl(namespace, "--list-sas")
    states: dict[str, ChildState] = {}
    name: str | None = None
    for line in output.splitlines():
        if match := _IKE_LINE.match(line):
            name = match.group(1)
            states[name] = ChildState(
                tunnel=name,
                ike_state=match.group(2),
                child_state=None,
                ike_proposal=None,
                esp_proposal=None,
                local=None,
                remote=None,
            )
            continue
        if name is None:
            continue
        if match := _ENDPOINT.match(line):
            states[name] = states[name].model_copy(update={match.group(1): match.group(2)})
        elif match := _IKE_PROPOSAL.match(line):
            states[name] = states[name].model_copy(update={"ike_proposal": match.group(1)})
        elif (match := _CHILD_LINE.match(line)) and (
            match.group(2) == "INSTALLED" or states[name].child_state is None
        ):
            states[name] = states[name].model_copy(
                update={"child_state": match.group(2), "esp_proposal": match.group(3)}
            )
    return states


# What an initiator's charon logs when the far end refused or never answered.
_REASONS = (
    (re.compile(r"NO_PROPOSAL_CHOSEN|no acceptable proposal|no matching proposal", re.I), "no proposal in common with the far end"),
    (re.compile(r"AUTHENTICATION_FAILED|authentication of .* failed|no shared key", re.I), "authentication failed (PSK or identity)"),
    (re.compile(r"TS_UNACCEPTABLE", re.I), "traffic selectors refused"),
    (re.compile(r"giving up after \d+ retransmits|retransmit \d+ of request", re.I), "no answer from the far end"),
)


def down_reason(namespace: str, tunnel_id: str) -> str | None:
    """Why `tunnel_id` is down, from the last reason the namespace's charon logged for it."""
    log = instance_dir(namespace) / "charon.log"
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-400:]
    except OSError:
        return None
    marker = f"<{tunnel_id}|"  # the log's IKE_SA name prefix (`ike_name = yes`)
    for line in reversed(lines):
        if marker not in line:
            continue
        for pattern, reason in _REASONS:
            if pattern.search(line):
                return reason
    return None


def lost_kernel_events(namespace: str) -> bool:
    """Whether the namespace's charon logged a netlink event overflow: addresses it missed stay
    unknown to it, and a child whose selector uses one cannot be routed."""
    log = instance_dir(namespace) / "charon.log"
    try:
        return _EVENT_OVERFLOW in log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def cleanup_dirs(namespaces: Iterable[str]) -> None:
    for namespace in namespaces:
        shutil.rmtree(instance_dir(namespace), ignore_errors=True)


def prefixed_instances(prefix: str) -> set[str]:
    if not IPSEC_RUN_ROOT.is_dir():
        return set()
    return {entry.name for entry in IPSEC_RUN_ROOT.iterdir() if entry.name.startswith(f"{prefix}-")}


def charon_alive(namespace: str) -> bool:
    with contextlib.suppress(OSError):
        return charon_pid(namespace) is not None
    return False
