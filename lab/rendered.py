"""What storestack renders for an FRR appliance's IPsec, and the lab's one adaptation of it.

A lab built from a fleet runs the `swanctl.conf` and `strongswan.conf` companions that
`storestack devices render` writes for each FRR appliance (`templates/devices/frr/`), with the
fleet's IPsec PSK secret: `$STORESTACK_IPSEC_PSK` (the `ipsec-psk` reference of
`management.secrets`) when it is set, so the lab runs the very PSKs a rollout pushes; else a
random per-lab secret, set for the lab's render only (so is a missing NTP key: the lab runs
no chrony).

The rendered tunnels are route-based: 0.0.0.0/0 selectors bound to an XFRM interface
(`if_id_in/out`) per tunnel. This kernel has neither kernel ESP nor XFRM interfaces, so the lab
adapts exactly this, and nothing else (`adapt_swanctl`):
- each child's `local_ts`/`remote_ts` become the tunnel's /32 VTEP pair, and `if_id_in/out`
  go: a VXLAN device named like the rendered tunnel interface (from the routing companion:
  `xfrm<N>` on a store, `<store>-<link>` on a hub) carries the inside address instead;
- `include transport/<link>*.conf` (what a real appliance's DHCP/PPP lease hook writes) becomes
  `local_addrs = <the lab's address on that link>`;
- connections to far ends the lab does not run (AWS, OpenStack, stores outside the lab) are
  left out.
The rendered strongswan.conf's settings are kept; the lab adds what running many charons in
namespaces needs (plugin list with kernel-libipsec, VICI socket, log file, `ipsec0` ignored).
The rendered host firewall (nftables.conf) runs as rendered, as the appliance's companion file
(`storestack.lab.companions`): `lab up` loads it, and the push (`rollout --lab`, `devices push`)
installs a changed one through the appliance's login, as on a real FRR appliance; the lab's one
extra rule (VXLAN accepted on the TUN device) is loaded from a file of its own after it. Each
tunnel device joins the interface group the routing companion gives it, so the firewall's
tunnel rules apply as rendered. The companions this module adapts (swanctl.conf,
strongswan.conf, routing) and steering.conf the push does not deliver to a lab appliance: the
lab loads them when it starts.
The rendered WAN queues (qos.tc, `tc -batch`) are loaded at start as rendered, with one
adaptation (`adapt_qos`): the first WAN link's tree goes on the TUN device instead of the link.
A real appliance's kernel ESP copies the inner DSCP to the ESP header (`copy_dscp = out`), so
the tree classifies the tunnels' ESP on the WAN; libipsec builds its ESP packets in user space
with DSCP 0 (it implements no `copy_dscp`), and on the lab's WAN every class would be best
effort. The TUN device is where the lab's tunnel packets still carry their DSCP (the VXLAN
devices copy the inner DSCP to their outer header, `tos inherit`, as XFRM does) and the one
queue all of the appliance's tunnels share, so it stands in for the first link; guest breakout
and IKE on that link stay unshaped in the lab. A hub's tree (on its DC port) goes there too, its
filters matching the VTEPs instead of the hub's public address.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address

from storestack.common.ntp import NTP_KEY_LENGTHS
from storestack.devices.render import render_fleet
from storestack.devices.secrets import env_variable
from storestack.inventory import Fleet
from storestack.network.outputs import StoreCloudOutputs

PSK_SECRET = "ipsec-psk"
# A port the routing companion addresses (a hub's management port).
_PORT_ADDRESS = re.compile(r"^address (?:add|replace) \S+ dev (\S+)")
# The SNMPv3 user's passphrases (the FRR hosts' snmpd.conf).
SNMP_SECRETS = ("snmp-auth-key", "snmp-priv-key")
# A connection, possibly inheriting a top-level template section (`name : template {`).
_CONNECTION = re.compile(r"^    ([A-Za-z0-9._-]+)(?: : [A-Za-z0-9._-]+)? \{$")
_SECRET = re.compile(r"^    ike-([A-Za-z0-9._-]+) \{$")
_INCLUDE_TRANSPORT = re.compile(r"^(\s*)include transport/([A-Za-z0-9._-]+)\*\.conf$")
_IF_ID = re.compile(r"^\s*if_id_(in|out) = (\d+)$")
_LINK_ADD = re.compile(r"^link add (\S+) type xfrm(?: dev \S+)? if_id (\d+)$")
_SETTING = re.compile(r"^\s+([a-z_]+) = (.*)$")
_GROUP = re.compile(r"^link set (\S+) group (\d+)\b")
_LOOPBACK_ACCEPT = '        iif "lo" accept'



@dataclass(frozen=True)
class RenderedIpsec:
    """An appliance's rendered IPsec files (PSKs revealed: keep in 0600 files only)."""

    swanctl: str
    strongswan: str
    routing: str
    nftables: str = ""
    steering: str = ""  # a store's steering.conf (storestack-steer)
    qos: str = ""  # qos.tc (a store's WAN queues, a hub's towards the stores; `tc -batch`)

    def interface_groups(self) -> dict[str, int]:
        """Tunnel interface → its interface group (what the firewall's `iifgroup` matches)."""
        return {m.group(1): int(m.group(2)) for line in self.routing.splitlines() if (m := _GROUP.match(line))}

    def policy_rules(self) -> list[str]:
        """The routing companion's `rule add …` lines (`ip -batch` syntax); the lab's transport
        tables carry the rendered numbers, so they route as on a real appliance."""
        return [line for line in self.routing.splitlines() if line.startswith("rule add ")]

    def management_routing(self) -> list[str]:
        """The routing companion's lines for a hub's management port (`ip -batch` syntax,
        devices/frr.py `hub_management_routing`): the port up, its address, its table's route."""
        ports = {m.group(1) for line in self.routing.splitlines() if (m := _PORT_ADDRESS.match(line))}
        return [
            line for line in self.routing.splitlines()
            if any(line == f"link set {port} up" or line.split(" dev ", 1)[-1].split()[:1] == [port] for port in ports)
            and not line.startswith("rule ")
        ]

    def tunnel_interfaces(self) -> dict[str, str]:
        """tunnel id → its rendered tunnel interface name (from if_id and the routing file)."""
        names = {int(m.group(2)): m.group(1) for line in self.routing.splitlines() if (m := _LINK_ADD.match(line))}
        found: dict[str, str] = {}
        connection: str | None = None
        for line in self.swanctl.splitlines():
            if match := _CONNECTION.match(line):
                connection = match.group(1)
            elif (match := _IF_ID.match(line)) and connection and int(match.group(2)) in names:
                found[connection] = names[int(match.group(2))]
        return found

    def charon_settings(self) -> dict[str, str]:
        """The `charon { … }` settings of the rendered strongswan.conf (one level)."""
        return {m.group(1): m.group(2).strip() for line in self.strongswan.splitlines() if (m := _SETTING.match(line))}


@contextlib.contextmanager
def _lab_render_secrets(fleet: Fleet, fallback: str) -> Iterator[None]:
    """While rendering, the fleet's PSK variable holds the lab's secret when the environment has
    none, and each NTP key and SNMP passphrase variable a throwaway: the lab runs no chrony and
    no snmpd, so the host's NTP key file and SNMP agent file it renders beside the IPsec files
    are never used."""
    refs = fleet.spec.management.secret_refs
    fallbacks = {env_variable(refs.get(PSK_SECRET, "")): fallback}
    for key in fleet.spec.management.ntp_keys:
        length = NTP_KEY_LENGTHS[key.algorithm][1]
        fallbacks.setdefault(env_variable(refs.get(key.secret, "")), ("lab." + secrets.token_urlsafe(24))[:length])
    for slug in SNMP_SECRETS:
        fallbacks.setdefault(env_variable(refs.get(slug, "")), ("lab." + secrets.token_urlsafe(24))[:24])
    unset = {variable: value for variable, value in fallbacks.items() if variable and not os.environ.get(variable)}
    os.environ.update(unset)
    try:
        yield
    finally:
        for variable in unset:
            os.environ.pop(variable, None)


def render_ipsec(
    fleet: Fleet,
    stores: list[str],
    hubs: list[str],
    lab_secret: str,
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
) -> dict[str, RenderedIpsec]:
    """appliance name → its rendered IPsec files, as `storestack devices render` makes them
    (with `outputs`: as a rollout renders them with the stores' stack outputs)."""
    rendered: dict[str, RenderedIpsec] = {}
    with _lab_render_secrets(fleet, lab_secret):
        for config in render_fleet(fleet, outputs=outputs, store_ids=stores, hubs=hubs, reveal_secrets=True):
            if not config.companions:
                continue
            files = dict(config.companions)
            if "swanctl.conf" not in files:
                continue
            rendered[config.name] = RenderedIpsec(
                swanctl=files["swanctl.conf"],
                strongswan=files.get("strongswan.conf", ""),
                routing=files.get("routing", ""),
                nftables=files.get("nftables.conf", ""),
                steering=files.get("steering.conf", ""),
                qos=files.get("qos.tc", ""),
            )
    return rendered


def adapt_swanctl(
    text: str,
    vteps: dict[str, tuple[IPv4Address, IPv4Address]],
    transport_addresses: dict[str, IPv4Address],
) -> str:
    """The rendered swanctl.conf as the lab runs it (see the module docstring).

    `vteps`: tunnel id → (local, remote) VTEP of the tunnels the lab runs; every other
    connection and its secret are left out."""
    out: list[str] = []
    skipping = False
    connection: str | None = None
    top: str | None = None  # the top-level section: connections, secrets or a template
    for line in text.splitlines():
        if skipping:
            if line == "    }":
                skipping = False
            continue
        if line.endswith("{") and not line.startswith((" ", "#")):
            top = line.split()[0]
        elif line == "}":
            top = None
        match = (_SECRET.match(line) or _CONNECTION.match(line)) if top in ("connections", "secrets") else None
        if match:
            connection = match.group(1)
            if connection not in vteps:
                skipping = True
                continue
        if _IF_ID.match(line):
            continue
        if match := _INCLUDE_TRANSPORT.match(line):
            indent, transport = match.groups()
            out.append(f"{indent}# lab: the address the lab gives {transport} (a real appliance's lease hook writes it)")
            out.append(f"{indent}local_addrs = {transport_addresses[transport]}")
            continue
        stripped = line.strip()
        if connection in vteps and stripped in ("local_ts = 0.0.0.0/0", "remote_ts = 0.0.0.0/0"):
            local, remote = vteps[connection]
            indent = line[: len(line) - len(line.lstrip())]
            address = local if stripped.startswith("local_ts") else remote
            key = stripped.split(" ", 1)[0]
            out.append(f"{indent}# lab: VXLAN over this /32 pair stands in for the route-based XFRM interface")
            out.append(f"{indent}{key} = {address}/32")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


_TC_DEVICE = re.compile(r"\bdev (\S+) ")
_TC_SOURCE = re.compile(r"\bmatch ip src (\S+)")


def adapt_qos(text: str, tun_device: str, tunnel_sources: str) -> str:
    """The rendered WAN queues as the lab loads them: the first link's lines on `tun_device`
    (see the module's docstring), every other link's as rendered. A hub's tree takes only its
    tunnels' packets, by their source (its public address); on the TUN device they come from the
    VTEPs, so its filters match `tunnel_sources` (the VTEP range) instead."""
    first: str | None = None
    out = []
    for line in text.splitlines():
        found = _TC_DEVICE.search(line)
        if found is None or line.lstrip().startswith("#"):
            out.append(line)
            continue
        first = first or found.group(1)
        if found.group(1) == first:
            line = f"{line[: found.start(1)]}{tun_device}{line[found.end(1) :]}"
            line = _TC_SOURCE.sub(f"match ip src {tunnel_sources}", line)
        out.append(line)
    return "\n".join(out) + "\n"
