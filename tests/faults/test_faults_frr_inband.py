"""Session cut by the change, in-band: an FRR store edge managed from HQ through the overlay (root).

The sample chain's nw-0001 in the IPsec lab, rolled out with `rollout --lab`, so the edge runs
its rendered config and the push reaches it as the chain does: from the HQ management
workstation, through the hub and the IPsec tunnel (`lab.inband`). The pushed change routes the
HQ management network into a blackhole on the edge: the session dies of it, and only the edge's
own `storestack-confirm` timer can bring the store back.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from faults_support import cli_push, journal_of, outcomes
from testsupport.frr_lab_configs import wait_for
from testsupport.lab import rolled_out_lab

from storestack import lab
from storestack.devices.errors import CommandTimeoutError
from storestack.devices.push import PushOptions
from storestack.devices.session import ApplianceSession, SessionOptions
from storestack.devices.targets import ApplianceInventory
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab
from storestack.lab.bgp import address_owners
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.sshd import confirm_dir
from storestack.lab.state import LabState

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("faults-frr-inband")]

FLEET = load_fleet(sample_chain_path())
STORE = "nw-0001"
EDGE = "nw-0001-edge1"
TOPOLOGY = topology_from_fleet(FLEET, [STORE], overlay="ipsec")
HUBS = ("hq-hub1", "hq-hub2")


@pytest.fixture(scope="module")
def rolled_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`lab up --overlay ipsec` for one store, then `rollout --lab`: the edge on its rendered config."""
    with rolled_out_lab(tmp_path_factory.mktemp("inband-cut"), TOPOLOGY, [STORE], "inband-cut-fleet-psk-0123456789") as state_dir:
        yield state_dir


def _last_outcome(timer_state: Path, *, since: float) -> dict[str, object] | None:
    """The last outcome storestack-confirm recorded on the edge, if recorded after `since`."""
    try:
        last: dict[str, object] = json.loads((timer_state / "last.json").read_text())
    except FileNotFoundError:
        return None
    at = last.get("at")
    return last if isinstance(at, (int, float)) and at >= since else None


def test_change_that_blackholes_hq_management_is_reverted_by_the_edge_and_a_good_push_follows(
    rolled_out: Path, tmp_path: Path
) -> None:
    info = frr_lab.lab_info(rolled_out)
    state = frr_lab.require_state(rolled_out)
    sites = TOPOLOGY.sites
    assert sites is not None
    management = sites.management_prefixes[0]
    before = lab.vtysh(rolled_out, EDGE, "show running-config")
    pushes = tmp_path / "push"

    def push(config: str, name: str) -> tuple[int, dict[str, object]]:
        intended = tmp_path / name
        intended.mkdir()
        (intended / f"{EDGE}.cfg").write_text(config)
        return cli_push(
            "--targets", str(info.inventory_path), "--appliance", EDGE, "--intended", str(intended),
            "--state-dir", str(pushes), "--confirm-timeout", "10", "--conn-timeout", "5", "--read-timeout", "8",
            "--health-timeout", "20",
        )

    # Management rides the overlay: the session comes from HQ, the rendered config is in sync.
    code, report = push(before, "in-sync")
    assert (code, outcomes(report)) == (0, {EDGE: "unchanged"}), report

    blackhole = f"ip route {management} blackhole"
    assert blackhole not in before
    cutting = before.replace("\n!\n", f"\n!\n{blackhole}\n!\n", 1)
    cut_at = time.time()
    code, report = push(cutting, "cutting")
    assert code == 1, report

    edge = journal_of(pushes).device(EDGE)
    assert (edge.outcome, edge.changed) == ("reverted-by-appliance", False), edge.error
    assert edge.error_type in ("SessionLostError", "CommandTimeoutError") and edge.rollback is None
    assert edge.stage in ("apply", "verify", "confirm")
    confirm = edge.commit_confirm
    assert confirm is not None and confirm.armed and not confirm.confirmed and confirm.reverted_by_appliance
    assert confirm.waited_s is not None and confirm.waited_s <= confirm.timeout_s + PushOptions().revert_margin
    assert journal_of(pushes).summary.reverted_by_appliance == 1
    after = lab.vtysh(rolled_out, EDGE, "show running-config")
    assert blackhole not in after and after == before
    # The push saw the backup running again as soon as frr-reload.py applied it; the timer records
    # its outcome after checking the reload with one more read, a moment later (longer on a
    # loaded machine): wait for a record newer than the cutting push (the rollout's confirm left
    # one before it).
    timer_state = confirm_dir(state.prefix) / state.runtime(EDGE).namespace
    wait_for(lambda: _last_outcome(timer_state, since=cut_at) is not None, 60, "the edge's timer to record its revert")
    last = _last_outcome(timer_state, since=cut_at)
    assert last is not None and last["outcome"] == "reverted" and "not confirmed within 10 s" in str(last["detail"]), last
    assert not (timer_state / "armed.json").exists()

    # The same change again is refused, nothing sent.
    code, report = push(cutting, "cutting-again")
    assert code == 1 and outcomes(report) == {EDGE: "failed"}
    again = journal_of(pushes).device(EDGE)
    assert again.error_type == "RevertedChangeError" and again.config_lines_sent == 0

    # A good change goes through the same way, armed and confirmed.
    description = next(line for line in before.splitlines() if line.startswith(" description "))
    good = before.replace(description, f"{description} (checked)", 1)
    code, report = push(good, "good")
    assert (code, outcomes(report)) == (0, {EDGE: "changed"}), report
    done = journal_of(pushes).device(EDGE).commit_confirm
    assert done is not None and done.confirmed and not done.reverted_by_appliance
    assert f"{description} (checked)" in lab.vtysh(rolled_out, EDGE, "show running-config")


def _store_sessions_guarded_by_bfd(state_dir: Path, owners: dict[IPv4Address, str]) -> bool:
    """Whether every BGP session between the store edge and the hubs, on either side, is
    Established with its BFD session up as that side's bgpd sees it (`show bgp neighbors`): one per
    store link and hub on each side. FRR 8.4's bgpd does not wait for BFD to bring a session up, and
    takes it down only when BFD goes from up to down: a session that came up while its BFD session
    was down (BGP can be Established first after the previous drill's restore, or back before BFD
    after a BFD flap on a busy machine) outlives its link's death until BGP's hold timer runs out,
    and that hub keeps routing the store's loopback into the dead tunnel, its peer hub following it
    over iBGP. Only the three appliances concerned are read, once each (`owners`: who has each
    address of the lab, `address_owners`)."""
    links = {link.name for link in TOPOLOGY.links if link.store_id == STORE}
    found = 0
    for appliance, far in ((EDGE, set(HUBS)), *((hub, {EDGE}) for hub in HUBS)):
        neighbors = json.loads(lab.vtysh(state_dir, appliance, "show bgp neighbors json"))
        for address, seen in neighbors.items():
            with contextlib.suppress(ValueError):  # an interface-named neighbour
                if owners.get(IPv4Address(address)) not in far:
                    continue
                found += 1
                if seen.get("bgpState") != "Established" or seen.get("peerBfdInfo", {}).get("status") != "Up":
                    return False
    return found == 2 * len(HUBS) * len(links)


def _wait_for_guarded_sessions(state_dir: Path, state: LabState) -> None:
    """Wait for `_store_sessions_guarded_by_bfd`; on a timeout, say what each side's bgpd sees.
    A precondition, not what the drill proves: the time it may take (a session reset by the
    previous push or drill comes back after BGP's connect timer, then BFD) is generous."""
    guarded = "the BGP sessions between the store and the hubs to be up, each with its BFD session up"
    owners = address_owners(state)
    try:
        wait_for(lambda: _store_sessions_guarded_by_bfd(state_dir, owners), 90, guarded)
    except AssertionError as exc:
        # bfdd's own view beside bgpd's: a session bgpd holds down while bfdd has it up is not
        # a slow link but a missed BFD notification.
        views = "".join(
            f"{side}:\n{_bgp_bfd_views(state_dir, side)}{lab.vtysh(state_dir, side, 'show bfd peers brief')}"
            for side in (*HUBS, EDGE)
        )
        raise AssertionError(f"{exc}\n{views}") from exc


def _bgp_bfd_views(state_dir: Path, hub: str) -> str:
    """An appliance's BGP sessions with the store or the hubs: state, BFD status as bgpd sees it,
    last reset."""
    neighbors = json.loads(lab.vtysh(state_dir, hub, "show bgp neighbors json"))
    return "".join(
        f"{address} {seen.get('bgpState')} bfd={seen.get('peerBfdInfo', {}).get('status')} "
        f"last reset {seen.get('lastResetTimerMsecs')} ms ago: {seen.get('lastResetDueTo')}\n"
        for address, seen in neighbors.items()
        if isinstance(seen, dict) and str(seen.get("nbrDesc", "")).startswith((f"{STORE} ", *HUBS))
    )


def _hub_views(state_dir: Path, loopback: str) -> str:
    """Each hub's BFD sessions, its route to the store's loopback and the BGP paths behind it (with
    the age of each), its BGP sessions' states, and for its sessions with the store the BFD status
    bgpd sees, for a failure's message."""
    return "\n".join(
        f"{hub}:\n{lab.vtysh(state_dir, hub, 'show bfd peers brief')}{lab.vtysh(state_dir, hub, f'show ip route {loopback}')}"
        f"{lab.vtysh(state_dir, hub, f'show bgp ipv4 unicast {loopback}')}{lab.vtysh(state_dir, hub, 'show bgp summary')}"
        f"{_bgp_bfd_views(state_dir, hub)}"
        for hub in HUBS
    )


def test_a_management_session_from_hq_follows_the_store_onto_its_backup_link(rolled_out: Path) -> None:
    """The session's packets came in over the store's primary link, so the hub pins its flow to
    that tunnel. The primary link dies while the session waits for HQ's next command: nothing
    comes from the store to move the flow, only the hub seeing the tunnel's BFD fall silent.
    The next command is answered over the backup link within a second or two, not after the
    read timeout (what the rollout's failover drill needs: it reads the edge's routes through
    such a session while the primary is down). Twice, each on a session of its own: a stray
    packet from the store can move one flow by chance."""
    info = frr_lab.lab_info(rolled_out)
    target = ApplianceInventory.load(info.inventory_path).by_name()[EDGE]
    route = "show ip route 10.0.0.0/16 json"
    state = frr_lab.require_state(rolled_out)
    for _ in range(2):
        wait_for(lambda: "xfrm1" in lab.vtysh(rolled_out, EDGE, route), 30, "HQ's route to be on wan1")
        _wait_for_guarded_sessions(rolled_out, state)
        options = SessionOptions(read_timeout=15)
        with ApplianceSession(target, target.credentials.resolve(), options=options).open() as session:
            assert "xfrm1" in session.command(route), "HQ is reached over the primary link's tunnel before the drill"
            # The drill is BFD's: every BGP session between the store and the hubs is up with its
            # BFD session up as bgpd sees it, checked again as the link is about to die (opening
            # the session takes seconds on a busy machine, time for a BFD flap): a hub whose
            # session came up before its BFD session learns of the dead link only when BGP's hold
            # timer runs out.
            _wait_for_guarded_sessions(rolled_out, state)
            lab.fail_link(rolled_out, STORE, "wan1")
            try:
                # BFD takes the tunnel down and BGP moves HQ onto the backup link on both sides.
                wait_for(lambda: "xfrm1" not in lab.vtysh(rolled_out, EDGE, route), 20, "HQ's route to leave wan1")
                started = time.monotonic()
                try:
                    answer = session.command(route)
                except CommandTimeoutError as exc:
                    raise AssertionError(f"{exc}\nthe hubs' BFD sessions and routes to the store:\n{_hub_views(rolled_out, str(TOPOLOGY.appliance(EDGE).management_address))}") from exc
                answered_in = time.monotonic() - started
            finally:
                lab.restore_link(rolled_out, STORE, "wan1")
        assert "xfrm1" not in answer and "xfrm" in answer, answer
        assert answered_in < 5, f"the session's next command took {answered_in:.1f} s to come back"
