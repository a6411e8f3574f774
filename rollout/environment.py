"""What every store of a rollout (or a drift check) shares: the fleet, the appliances to reach, the
cloud outputs, one push context, and the locks that keep parallel stores from stepping on each other.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from storestack.devices.errors import DevicesError
from storestack.devices.fleet_targets import fleet_secret_values, refuse_contradictions, targets_from_fleet
from storestack.devices.inspect import ShowSessions
from storestack.devices.push import DEFAULT_CONFIRM_TIMEOUT, PushContext, PushOptions
from storestack.devices.render import render_fleet
from storestack.devices.session import SessionOptions
from storestack.devices.targets import ApplianceInventory, ApplianceTarget
from storestack.inventory import Fleet, InventoryError, UnknownStoreError, load_fleet_with_allocations
from storestack.lab import LabError, fail_link, lab_info, restore_link
from storestack.lab.frr_lab import require_state
from storestack.lab.overlay import carrying_link
from storestack.network.build import NetworkIntent
from storestack.network.errors import NetworkError, SecretUnavailableError
from storestack.rollout.errors import RolloutConfigError, RolloutInventoryError
from storestack.rollout.outputs import CloudOutputs, OutputsMode, choose_mode
from storestack.rollout.verify import HubBgpReader, expectation
from storestack.stacks.errors import StackError
from storestack.stacks.render import DEFAULT_OUT

DEFAULT_STATE_DIR = Path(".storestack")


@dataclass(frozen=True)
class ConnectionOptions:
    """How appliances are reached and how long a push may wait, as for `devices push`."""

    health_timeout: float = 30.0
    conn_timeout: float = 10.0
    read_timeout: float = 20.0
    save_timeout: float = 30.0
    trust_on_first_use: bool = False
    # The appliances' own rollback timer around each change, as `devices push --confirm-timeout`.
    confirm_timeout: int = DEFAULT_CONFIRM_TIMEOUT
    force: bool = False

    def session(self) -> SessionOptions:
        return SessionOptions(
            conn_timeout=self.conn_timeout,
            banner_timeout=self.conn_timeout,
            auth_timeout=self.conn_timeout,
            read_timeout=self.read_timeout,
            save_timeout=self.save_timeout,
            trust_on_first_use=self.trust_on_first_use,
        )


class LabLinks:
    """Fails and restores a store's WAN link in the lab (its veth), for the failover drill."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def fail(self, store_id: str, link: str) -> None:
        fail_link(self.state_dir, store_id, link)

    def restore(self, store_id: str, link: str) -> None:
        restore_link(self.state_dir, store_id, link)

    def link_of(self, store_id: str, interface: str) -> str:
        return carrying_link(self.state_dir, store_id, interface)

    def teaches_hq(self) -> bool:
        """Whether the lab's hubs learn HQ from a DC core (the "ipsec" overlay's HQ site):
        only then do they announce HQ to the stores, as their summaries follow what they learn."""
        sites = require_state(self.state_dir).topology.sites
        return sites is not None and sites.dc_core is not None


class TargetProbe:
    """Show commands by appliance name, over the push engine's sessions (kept open between polls)."""

    def __init__(self, targets: dict[str, ApplianceTarget], sessions: ShowSessions) -> None:
        self.targets = targets
        self.sessions = sessions

    def show(self, appliance: str, command: str) -> str:
        return self.sessions.show(self.targets[appliance], command)

    def show_many(self, appliance: str, commands: Sequence[str]) -> list[str]:
        return self.sessions.show_many(self.targets[appliance], commands)


def load_fleet_checked(fleet_path: Path) -> tuple[Fleet, set[str]]:
    """The fleet, and the stores whose allocations are not pinned in the lock file yet."""
    try:
        result = load_fleet_with_allocations(fleet_path)
    except InventoryError as exc:
        raise RolloutInventoryError(exc.issues) from None
    return result.fleet, set(result.fleet.provisional_stores)


@dataclass
class Environment:
    fleet_path: Path
    fleet: Fleet
    provisional: set[str]
    targets: dict[str, ApplianceTarget]
    outputs: CloudOutputs
    push_context: PushContext
    state_dir: Path
    stacks_dir: Path
    lab_state_dir: Path | None = None
    no_data_plane: frozenset[str] = frozenset()
    links: LabLinks | None = None
    sessions: ShowSessions = field(init=False)
    drills: DrillGate = field(default_factory=lambda: DrillGate())
    _pin_lock: threading.Lock = field(default_factory=threading.Lock)
    lock_written: bool = False

    def __post_init__(self) -> None:
        self.sessions = ShowSessions(self.push_context)

    def start_batch(self, stores: Sequence[str], *, after: HubBatch | None = None) -> HubBatch:
        """The next batch of stores: a fresh meeting point and a fresh hub reader; it pushes after
        `after`, the batch before, has pushed."""
        reader = HubBgpReader(self.probe())
        intent = NetworkIntent(self.fleet)
        reader.expect(expectation(self.fleet.store(store), intent) for store in stores)
        return HubBatch(stores, reader=reader, after=after)

    @property
    def platforms(self) -> dict[str, str]:
        return {name: target.platform for name, target in self.targets.items()}

    @property
    def outputs_mode(self) -> OutputsMode:
        return self.outputs.mode

    def probe(self) -> TargetProbe:
        return TargetProbe(self.targets, self.sessions)

    def secret_values(self) -> set[str]:
        """Values to redact from anything shown or recorded: device secrets and every PSK known."""
        return fleet_secret_values(self.fleet) | self.outputs.secret_values()

    def pin_allocations(self) -> bool:
        """Write the IPAM lock file once per run (every provisional store is pinned). True if written."""
        with self._pin_lock:
            if not self.lock_written and self.provisional:
                try:
                    result = load_fleet_with_allocations(self.fleet_path, write_lock=True)
                except InventoryError as exc:
                    raise RolloutInventoryError(exc.issues) from None
                self.lock_written = result.lock_changed
            return self.lock_written

    def close(self) -> None:
        self.sessions.close()


T = TypeVar("T")


class DrillGate:
    """Failover drills and hub pushes exclude each other; drills run together.

    A drill takes a store's link down: a hub push's health check would count the session that
    drops as broken by the push, and fail it. Batches overlap (one verifies while the next
    pushes), so a hub push waits for the running drills to end and holds new ones back.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._drills = 0
        self._pushes_waiting = 0
        self._pushing = False

    @contextlib.contextmanager
    def drill(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._pushing and not self._pushes_waiting)
            self._drills += 1
        try:
            yield
        finally:
            with self._changed:
                self._drills -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def hub_push(self) -> Iterator[None]:
        with self._changed:
            self._pushes_waiting += 1
            self._changed.wait_for(lambda: not self._pushing and not self._drills)
            self._pushes_waiting -= 1
            self._pushing = True
        try:
            yield
        finally:
            with self._changed:
                self._pushing = False
                self._changed.notify_all()


class HubBatch:
    """The stores of a batch meet here before their hubs are pushed: the push happens once.

    Every store of the batch either arrives (it is ready for its hubs) or leaves (it failed or
    stopped before, or is done); when none is still on its way, the first one through runs the
    hub push for all that arrived, and the others take its result. A batch starts its push step
    once every store of `after`, the batch before, has ended its own (`wait_for_previous`):
    batches push one after the other, the next one while the previous verifies. `reader` reads
    the hubs' BGP state for the batch's verify steps, together.
    """

    def __init__(
        self, stores: Iterable[str], *, reader: HubBgpReader | None = None, after: HubBatch | None = None
    ) -> None:
        self.reader = reader
        self._after = after
        self._on_the_way = set(stores)
        # Stores whose push step has not ended yet; the event is set when none is left.
        self._pushing = set(self._on_the_way)
        self.pushes_done = threading.Event()
        if not self._pushing:
            self.pushes_done.set()
        self._arrived: set[str] = set()
        self._ready = threading.Condition()
        self._push_lock = threading.Lock()
        self._result: tuple[str, Any] | None = None
        self._error: BaseException | None = None

    def wait_for_previous(self) -> None:
        """Before a store of this batch starts its push step: the previous batch pushed."""
        if self._after is not None:
            self._after.pushes_done.wait()

    def push_ended(self, store: str) -> None:
        with self._ready:
            self._pushing.discard(store)
            if not self._pushing:
                self.pushes_done.set()

    def leave(self, store: str) -> None:
        self.push_ended(store)
        with self._ready:
            self._on_the_way.discard(store)
            self._ready.notify_all()

    def arrive(self, store: str, push: Callable[[list[str]], T]) -> tuple[str, T]:
        """(the store that ran the push, its result): `push(stores)` runs once per batch."""
        with self._ready:
            self._arrived.add(store)
            self._on_the_way.discard(store)
            self._ready.notify_all()
            self._ready.wait_for(lambda: not self._on_the_way)
            arrived = sorted(self._arrived)
        with self._push_lock:
            # A push that raised is not run again by the next store: every store gets its error.
            if self._error is not None:
                raise self._error
            if self._result is None:
                try:
                    self._result = (store, push(arrived))
                except BaseException as exc:
                    self._error = exc
                    raise
            return self._result


def _check_device_secrets(fleet: Fleet, stores: Sequence[str]) -> None:
    """Render every config the run will push with its secrets, from planned values, before any
    step runs: the stores' appliances and their hubs. A secret the fleet cannot provide (unset,
    too weak) is a SecretUnavailableError naming its fleet.yaml entry (exit 2) now, not a failed
    render step or hub push after the store's stack was planned and brought up. Other render
    problems are the render and push steps' to report, with the live values."""
    if not stores:
        return
    hubs = sorted({hub for store_id in stores for hub in fleet.store(store_id).hubs})
    try:
        for _config in render_fleet(fleet, store_ids=list(stores), hubs=hubs, reveal_secrets=True):
            pass
    except SecretUnavailableError:
        raise
    except (DevicesError, NetworkError, StackError):
        return


# The rollout command's argument naming its stores, as its usage spells it (`storestack rollout --help`).
STORES_ARGUMENT = "STORES"


def prepare(
    fleet_path: Path,
    stores: list[str],
    *,
    lab_state_dir: Path | None,
    state_dir: Path = DEFAULT_STATE_DIR,
    stacks_dir: Path = DEFAULT_OUT,
    connection: ConnectionOptions | None = None,
    dry_run: bool = False,
    backend: str | None = None,
    targets: ApplianceInventory | None = None,
    mode: OutputsMode | None = None,
) -> Environment:
    """Load and check everything a run needs before anything changes. Raises typed errors only."""
    connection = connection or ConnectionOptions()
    fleet, provisional = load_fleet_checked(fleet_path)
    for store_id in stores:
        # A store the run cannot take is a bad value of the command's STORES argument.
        try:
            store = fleet.store(store_id)
        except UnknownStoreError as exc:
            raise RolloutConfigError(str(exc), field=STORES_ARGUMENT) from None
        if store.state == "decommissioned":
            raise RolloutConfigError(
                f"store {store_id} is decommissioned; a rollout cannot bring it live", field=STORES_ARGUMENT
            )
        if not store.appliances:
            raise RolloutConfigError(f"store {store_id} has no appliance to configure", field=STORES_ARGUMENT)
    no_data_plane: frozenset[str] = frozenset()
    links: LabLinks | None = None
    if lab_state_dir is not None:
        try:
            info = lab_info(lab_state_dir)
            state = require_state(lab_state_dir)
        except LabError as exc:
            raise RolloutConfigError(str(exc), field="--lab") from None
        inventory = targets or info.inventory
        no_data_plane = frozenset(a.name for a in state.topology.appliances if state.is_emulated(a.name))
        links = LabLinks(info.state_dir)
    else:
        inventory = targets or targets_from_fleet(fleet)
    by_name = inventory.by_name()
    needed = {hub for store_id in stores for hub in fleet.store(store_id).hubs}
    needed |= {a.hostname for store_id in stores for a in fleet.store(store_id).appliances}
    missing = sorted(needed - set(by_name))
    if missing:
        where = f"the lab in {lab_state_dir}" if lab_state_dir is not None else f"the targets ({inventory.source})"
        hint = (
            f"; start it with `storestack lab up --stores {','.join(stores)}`" if lab_state_dir is not None else ""
        )
        raise RolloutConfigError(
            f"{where} has no appliance {', '.join(missing)}{hint}",
            field="--targets" if targets else "--lab",
            file=targets.file if targets else None,
        )
    if targets is not None:
        # A --targets entry that says otherwise than the inventory of an appliance the run
        # pushes to (its platform: another vendor's driver; its store or role) is refused at its line.
        refuse_contradictions(fleet, (by_name[name] for name in sorted(needed)))
    push_options = PushOptions(
        dry_run=dry_run,
        health_timeout=connection.health_timeout,
        confirm_timeout=connection.confirm_timeout,
        force=connection.force,
        backup_root=state_dir / "backups",
        known_hosts=state_dir / "known_hosts.json",
        secret_ledger=state_dir / "secrets",
        session=connection.session(),
    )
    push_context = PushContext(options=push_options)
    # Every login the run needs, before anything is reached: a CredentialsError (exit 2) naming
    # each that cannot be resolved and where it is configured.
    push_context.credentials.check(by_name[name] for name in sorted(needed))
    _check_device_secrets(fleet, stores)
    return Environment(
        fleet_path=fleet_path,
        fleet=fleet,
        provisional=provisional,
        targets=by_name,
        outputs=CloudOutputs(
            fleet, mode or choose_mode(lab=lab_state_dir is not None), stacks_dir=stacks_dir, backend=backend
        ),
        push_context=push_context,
        state_dir=state_dir,
        stacks_dir=stacks_dir,
        lab_state_dir=lab_state_dir,
        no_data_plane=no_data_plane,
        links=links,
    )
