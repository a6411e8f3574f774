"""Impair a store's WAN link in the lab with real kernel mechanisms: loss, rate, flaps.

The impairment sits where an ISP's would: on the link's port of the lab internet's bridge
(the "ipsec" overlay; see `lab.underlay`), so the store's own ruleset (which a push replaces
with `flush ruleset`) never touches it. Both directions are impaired alike:

- **loss**: nftables `numgen random mod 100 < N drop` on IPv4 packets entering the bridge from
  the port and leaving the bridge to it (ARP is spared, as a line's loss is not the ISP's ARP);
- **rate**: a `tbf` qdisc on both ends of the veth (the port towards the store, the store's
  own interface towards the internet);
- **flap**: a small worker process puts the port in a "dark" set (everything dropped both
  ways) for SECONDS, then takes it out for SECONDS, until cleared.

This kernel has no `sch_netem`: latency and jitter cannot be added, and nothing here pretends to.
Each call sets a link's whole impairment; `clear` removes it (or every one). What is in force
is recorded in the lab's state directory (`impairments.json`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
from pydantic import BaseModel, ConfigDict, Field

from storestack.common.files import atomic_write_text
from storestack.lab import system
from storestack.lab.errors import LabError
from storestack.lab.state import LabState, require_state
from storestack.lab.underlay import wan_attachments

IMPAIR_FILE = "impairments.json"
NFT_TABLE = "storestack_impair"  # in the internet namespace, family bridge
DARK_SET = "dark"


class Impairment(BaseModel):
    """What is done to one store WAN link."""

    model_config = ConfigDict(extra="forbid")

    store_id: str
    link: str
    port: str  # the link's port on the internet bridge
    site_namespace: str  # the store appliance's namespace
    site_ifname: str  # the link's interface there
    loss_percent: int | None = Field(default=None, ge=1, le=100)
    rate_kbit: int | None = Field(default=None, ge=8)
    flap_seconds: float | None = Field(default=None, gt=0)
    flap_pid: int | None = None

    @property
    def summary(self) -> str:
        parts = []
        if self.loss_percent is not None:
            parts.append(f"{self.loss_percent}% loss both ways")
        if self.rate_kbit is not None:
            parts.append(f"{self.rate_kbit} kbit/s both ways")
        if self.flap_seconds is not None:
            parts.append(f"down {self.flap_seconds:g} s / up {self.flap_seconds:g} s")
        return ", ".join(parts) or "none"


def impairments(state_dir: Path) -> list[Impairment]:
    path = state_dir / IMPAIR_FILE
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Impairment.model_validate(record) for record in records]


def _save(state_dir: Path, records: list[Impairment]) -> None:
    text = json.dumps([record.model_dump() for record in records], indent=2) + "\n"
    atomic_write_text(state_dir / IMPAIR_FILE, text, mode=0o600)


def _internet(state: LabState) -> str:
    if state.internet_namespace is None:
        raise LabError(
            f"lab {state.name} has no lab internet (started with --overlay veth): "
            "impairment needs `storestack lab up --overlay ipsec`"
        )
    return state.internet_namespace


def _locate(state: LabState, store_id: str, link_name: str) -> tuple[str, str, str]:
    """(bridge port, store namespace, store interface) of a store's WAN link."""
    link = state.link(store_id, link_name)
    for attachment in wan_attachments(state.topology):
        if (attachment.site, attachment.ifname) == (link.a.appliance, link.a.ifname):
            return attachment.port, state.runtime(link.a.appliance).namespace, link.a.ifname
    raise LabError(f"link {store_id} {link_name} ends on an emulated appliance and has no lab line to impair")


def _chance(percent: int) -> str:
    """The match for `percent` % of packets (`numgen` yields 0-99: 100 % needs no match at all)."""
    return "" if percent >= 100 else f"numgen random mod 100 < {percent} "


def _ruleset(records: list[Impairment]) -> str:
    """The whole impairment table, replaced in one transaction."""
    lines = [
        f"table bridge {NFT_TABLE} {{}}",
        f"delete table bridge {NFT_TABLE}",
        f"table bridge {NFT_TABLE} {{",
        f"  set {DARK_SET} {{ type ifname; }}",
        "  chain from_site {",
        "    type filter hook prerouting priority -10; policy accept;",
        f"    iifname @{DARK_SET} counter drop",
    ]
    for record in records:
        if record.loss_percent is not None:
            lines.append(f'    iifname "{record.port}" meta protocol ip {_chance(record.loss_percent)}counter drop')
    lines += [
        "  }",
        "  chain to_site {",
        "    type filter hook postrouting priority -10; policy accept;",
        f"    oifname @{DARK_SET} counter drop",
    ]
    for record in records:
        if record.loss_percent is not None:
            lines.append(f'    oifname "{record.port}" meta protocol ip {_chance(record.loss_percent)}counter drop')
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _tc(namespace: str, ifname: str, rate_kbit: int | None) -> None:
    if rate_kbit is None:
        system.run(["ip", "netns", "exec", namespace, "tc", "qdisc", "del", "dev", ifname, "root"], check=False)
        return
    # A burst of 10 ms at the rate (at least a few full frames) and up to 100 ms of queue.
    burst = max(rate_kbit * 1000 // 8 // 100, 4 * 1600)
    system.run(
        [
            "ip", "netns", "exec", namespace, "tc", "qdisc", "replace", "dev", ifname, "root",
            "tbf", "rate", f"{rate_kbit}kbit", "burst", str(burst), "latency", "100ms",
        ]
    )  # fmt: skip


def _stop_flapper(record: Impairment, inet_ns: str) -> None:
    if record.flap_pid is not None:
        # Only our own worker: a pid recorded long ago may belong to something else by now.
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(record.flap_pid)
            if "storestack.lab.impair" in process.cmdline():
                process.terminate()
    system.run(
        ["ip", "netns", "exec", inet_ns, "nft", "delete", "element", "bridge", NFT_TABLE, DARK_SET, f'{{ "{record.port}" }}'],
        check=False,
    )


def _start_flapper(inet_ns: str, port: str, seconds: float) -> int:
    process = subprocess.Popen(
        [sys.executable, "-m", "storestack.lab.impair", inet_ns, port, str(seconds)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives the CLI call; `lab impair --clear` stops it
    )
    return process.pid


def impair(
    state_dir: Path,
    store_id: str,
    link_name: str,
    *,
    loss_percent: int | None = None,
    rate_kbit: int | None = None,
    flap_seconds: float | None = None,
) -> Impairment:
    """Set a store link's impairment (replacing what it had); returns what is now in force."""
    if loss_percent is None and rate_kbit is None and flap_seconds is None:
        raise LabError("nothing to do: give --loss, --rate or --flap (or --clear)")
    state = require_state(state_dir)
    inet_ns = _internet(state)
    port, namespace, ifname = _locate(state, store_id, link_name)
    records = impairments(state_dir)
    kept = []
    for record in records:
        if (record.store_id, record.link) == (store_id, link_name):
            _stop_flapper(record, inet_ns)
        else:
            kept.append(record)
    record = Impairment(
        store_id=store_id,
        link=link_name,
        port=port,
        site_namespace=namespace,
        site_ifname=ifname,
        loss_percent=loss_percent,
        rate_kbit=rate_kbit,
        flap_seconds=flap_seconds,
    )
    system.run(["ip", "netns", "exec", inet_ns, "nft", "-f", "-"], stdin=_ruleset([*kept, record]))
    _tc(inet_ns, port, rate_kbit)
    _tc(namespace, ifname, rate_kbit)
    if flap_seconds is not None:
        record = record.model_copy(update={"flap_pid": _start_flapper(inet_ns, port, flap_seconds)})
    _save(state_dir, [*kept, record])
    return record


def clear(state_dir: Path, store_id: str | None = None, link_name: str | None = None) -> list[Impairment]:
    """Remove the impairment of one link (or of every link of a store, or all); returns what was removed."""
    state = require_state(state_dir)
    inet_ns = _internet(state)
    if store_id is not None and link_name is not None:
        _locate(state, store_id, link_name)  # an unknown link is an error, not a no-op
    records = impairments(state_dir)
    removed: list[Impairment] = []
    kept: list[Impairment] = []
    for record in records:
        chosen = (store_id is None or record.store_id == store_id) and (link_name is None or record.link == link_name)
        (removed if chosen else kept).append(record)
    for record in removed:
        _stop_flapper(record, inet_ns)
        _tc(inet_ns, record.port, None)
        _tc(record.site_namespace, record.site_ifname, None)
    system.run(["ip", "netns", "exec", inet_ns, "nft", "-f", "-"], stdin=_ruleset(kept))
    _save(state_dir, kept)
    return removed


def _flap_forever(inet_ns: str, port: str, seconds: float) -> None:
    """The flap worker: dark for `seconds`, light for `seconds`, until killed or the lab is gone."""
    element = f'{{ "{port}" }}'
    base = ["ip", "netns", "exec", inet_ns, "nft"]
    while True:
        if subprocess.run([*base, "add", "element", "bridge", NFT_TABLE, DARK_SET, element], check=False).returncode:
            return  # the table or the namespace is gone: nothing left to flap
        time.sleep(seconds)
        if subprocess.run([*base, "delete", "element", "bridge", NFT_TABLE, DARK_SET, element], check=False).returncode:
            return
        time.sleep(seconds)


if __name__ == "__main__":  # the flap worker (see _start_flapper)
    _flap_forever(sys.argv[1], sys.argv[2], float(sys.argv[3]))
