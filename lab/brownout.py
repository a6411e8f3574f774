"""The brownout drill: loss on a lab store's preferred POS transport, judged from the lab's own
packets (`lab impair` puts the loss on, `lab path` reads where the till's packets leave; root,
no SSH), and the store of a fleet that shows it best (`failover_store`).

`storestack demo` runs it as its failover step; the drill prints nothing (it reports progress
through `on_progress`) and returns what it measured (`BrownoutDrill`), which the command judges
and shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storestack.devices.health import BFD_PEERS, parse_bfd_peers
from storestack.inventory import Fleet
from storestack.lab.errors import LabError
from storestack.lab.impair import clear, impair
from storestack.lab.path import ProbeFlow, path
from storestack.lab.state import require_state
from storestack.lab.status import vtysh
from storestack.network.build import NetworkIntent


def failover_store(fleet: Fleet, emulated: set[str]) -> str | None:
    """The first store the lab runs on FRR with a primary and a backup link: it shows the drill best."""
    for store in fleet:
        edge_on_frr = bool(store.appliances) and store.appliances[0].hostname not in emulated
        if edge_on_frr and len(store.wan) > 1 and not store.lte_only and any(link.primary for link in store.wan):
            return store.id
    return None


# How much sooner than the recovery time after the clear POS may be seen back: the drill clears
# the loss once `lab path` shows POS moved (a 1 s counter window, a CLI call), so the path POS left
# may have been up that much longer than the loss has been gone.
EARLY_SLACK_SECONDS = 5


@dataclass(frozen=True)
class BrownoutDrill:
    """A brownout on a store's preferred POS transport, judged from the till's own packets."""

    store_id: str
    link: str  # the transport that browned out
    loss_percent: int
    window_seconds: int  # the SLA's detection + hold-down: POS is gone within this on average
    # At this drill's loss: detection + hold-down on average, and within what in 95 of 100 drills
    # (`SlaClassPolicy.detection_seconds_within`): a single drill is one draw of a long-tailed time.
    mean_seconds: float
    likely_seconds: float
    recovery_seconds: int  # the SLA's recovery: POS may not come back sooner
    moved_to: str | None  # the transport POS left on during the brownout (None: it never moved)
    moved_after: float | None  # seconds from the loss starting to POS leaving on another transport
    returned_after: float | None  # seconds from the loss clearing to POS back on `link`

    @property
    def returned_early(self) -> bool:
        """Back on `link` sooner than the SLA's recovery allows. The recovery counts from the
        link's tunnel coming up after its last drop, which may precede the clear by the time
        the drill took to see POS move (`EARLY_SLACK_SECONDS` at most)."""
        return self.returned_after is not None and self.returned_after < self.recovery_seconds - EARLY_SLACK_SECONDS


def brownout_drill(
    fleet: Fleet,
    lab_dir: Path,
    store_id: str,
    *,
    loss_percent: int = 30,
    on_progress: Callable[[str], None] | None = None,
) -> BrownoutDrill:
    """Put `loss_percent` loss on the store's preferred POS transport while its till talks to HQ,
    time POS moving to another transport (`lab path`: the store's packet counters), clear the
    loss and time POS coming back. The impairment is always cleared."""
    progress = on_progress or (lambda text: None)
    state = require_state(lab_dir)
    sites = state.topology.sites
    if sites is None:
        raise LabError(f"lab {state.name} has no HQ to send POS traffic to (start it from a fleet)")
    pos = NetworkIntent(fleet).store(store_id).sla.application("pos")
    link = pos.paths[0].transport
    timers = pos.sla.timers
    window = timers.detection_seconds + timers.hold_down_seconds

    def transport() -> str | None:
        return path(lab_dir, store_id, "pos", window=1.0).transport

    def wait(condition: Callable[[str | None], bool], timeout: float) -> tuple[float | None, str | None]:
        """(seconds until the transport POS leaves on met `condition`, that transport)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            current = transport()
            if condition(current):
                return time.monotonic() - start, current
        return None, None

    edge = fleet.store(store_id).appliances[0].hostname

    def bfd_down() -> list[str]:
        """The edge's BFD peers that are not up: a brownout is seen through them, so the drill
        starts only once every one runs (right after a rollout some may still be coming up)."""
        peers = parse_bfd_peers(vtysh(lab_dir, edge, BFD_PEERS))
        return [peer.peer for peer in peers if not peer.up] if peers else ["(none yet)"]

    # Ceilings, not waits: each returns as soon as its state is there. They are generous because a
    # loaded machine slows BFD, storestack-steer and the packet counters alike.
    deadline = time.monotonic() + 120
    while (down := bfd_down()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if down:
        raise LabError(f"{edge}: BFD to {', '.join(down)} not up within 120 s; a brownout could not be seen")
    till = state.site_namespaces[f"{store_id}/pos"]
    moved_after: float | None = None
    moved_to: str | None = None
    with ProbeFlow(till, str(sites.hq_pos), 443, lab_dir / "brownout-pos.log"):
        progress(f"the till of {store_id} talks to the HQ POS service; waiting for it to leave on {link}")
        # Right after the rollout the link may still be serving the SLA's recovery time.
        if wait(lambda current: current == link, timers.recovery_seconds + 60)[0] is None:
            raise LabError(f"POS of {store_id} never left on {link} before the brownout")
        try:
            impair(lab_dir, store_id, link, loss_percent=loss_percent)
            progress(f"{loss_percent}% loss on {link}, both ways")
            moved_after, moved_to = wait(lambda current: current not in (link, None), window + 60)
        finally:
            clear(lab_dir, store_id, link)
        progress(f"loss on {link} cleared; POS may return after {timers.recovery_seconds} s of a clean path")
        returned_after = wait(lambda current: current == link, timers.recovery_seconds + 60)[0]
    return BrownoutDrill(
        store_id,
        link,
        loss_percent,
        window,
        pos.sla.expected_detection_seconds(loss_percent) + timers.hold_down_seconds,
        pos.sla.detection_seconds_within(loss_percent) + timers.hold_down_seconds,
        timers.recovery_seconds,
        moved_to,
        moved_after,
        returned_after,
    )
