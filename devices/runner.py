"""Pushing many appliances: selection, bounded concurrency, canary waves, interrupts, journal.

Modelled on Nornir: a target set whose `filter()` returns a copy, failed appliances tracked so a
rerun can target only them. Unlike Nornir's `netmiko_send_config`, every appliance gets the full
safe cycle (push.py) over one session, with only the remediation lines sent.
"""

from __future__ import annotations

import dataclasses
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storestack.devices.errors import PushConfigError, PushError
from storestack.devices.intended import IntendedConfigSource
from storestack.devices.journal import DEFAULT_RUNS_DIR, new_run_id, push_journal, record_devices
from storestack.devices.push import PushContext, PushOptions, push_appliance
from storestack.devices.push_order import FleetChangeOrder
from storestack.devices.report import DeviceResult, RunReport
from storestack.devices.targets import ApplianceInventory, ApplianceTarget

DEFAULT_CONCURRENCY = 20


class PushTargets:
    """An ordered, immutable set of appliances to push. `filter()` and `shard()` return copies."""

    def __init__(self, targets: Iterable[ApplianceTarget], *, source: str = "") -> None:
        self._targets = tuple(targets)
        self.source = source
        names = [t.name for t in self._targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise PushConfigError(f"appliance names must be unique; duplicated: {', '.join(duplicates)}")

    @classmethod
    def from_inventory(cls, inventory: ApplianceInventory) -> PushTargets:
        return cls(inventory.appliances, source=inventory.source)

    def __iter__(self) -> Iterator[ApplianceTarget]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self._targets]

    def filter(
        self,
        predicate: Callable[[ApplianceTarget], bool] | None = None,
        *,
        names: Iterable[str] | None = None,
        stores: Iterable[str] | None = None,
        platform: str | None = None,
        role: str | None = None,
    ) -> PushTargets:
        wanted_names = set(names) if names is not None else None
        wanted_stores = set(stores) if stores is not None else None
        if wanted_names is not None:
            unknown = sorted(wanted_names - {t.name for t in self._targets})
            if unknown:
                raise PushConfigError(f"no such appliance in the targets: {', '.join(unknown)}")
        if wanted_stores is not None:
            known_stores = {t.store_id for t in self._targets}
            unknown = sorted(wanted_stores - known_stores)
            if unknown:
                raise PushConfigError(f"no appliance of store(s) {', '.join(unknown)} in the targets")

        def keep(target: ApplianceTarget) -> bool:
            return (
                (wanted_names is None or target.name in wanted_names)
                and (wanted_stores is None or target.store_id in wanted_stores)
                and (platform is None or target.platform == platform)
                and (role is None or target.role == role)
                and (predicate is None or predicate(target))
            )

        return PushTargets([t for t in self._targets if keep(t)], source=self.source)

    def shard(self, index: int, count: int) -> PushTargets:
        """Shard `index` of `count` (1-based), stable as the fleet grows: by a hash of the name."""
        if count < 1 or not 1 <= index <= count:
            raise PushConfigError(f"shard {index}/{count}: K must be between 1 and N")
        return PushTargets(
            [t for t in self._targets if zlib.crc32(t.name.encode()) % count == index - 1],
            source=self.source,
        )

    def ordered(self) -> PushTargets:
        """Hubs before store edges (an edge's new sessions need its hubs configured), then by name."""
        return PushTargets(sorted(self._targets, key=lambda t: (t.role != "hub", t.name)), source=self.source)


def parse_shard(text: str) -> tuple[int, int]:
    try:
        left, right = text.split("/", 1)
        index, count = int(left), int(right)
    except ValueError:
        raise PushConfigError(f"--shard takes K/N, e.g. 2/8; got {text!r}") from None
    if count < 1 or not 1 <= index <= count:
        raise PushConfigError(f"--shard {text}: K must be between 1 and N")
    return index, count


class PushObserver:
    """Receives progress; the CLI draws it. Called from the run's main thread, except on_stage."""

    def on_run_start(self, report: RunReport) -> None: ...
    def on_wave_start(self, wave: int, label: str, names: Sequence[str]) -> None: ...
    def on_device_start(self, name: str) -> None: ...
    def on_stage(self, name: str, stage: str) -> None: ...
    def on_device_done(self, result: DeviceResult) -> None: ...
    def on_interrupt(self, running: Sequence[str]) -> None: ...
    def on_wave_done(self, wave: int) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    canary: int | None = None
    max_failures: int | None = None
    push: PushOptions = field(default_factory=PushOptions)
    runs_dir: Path = DEFAULT_RUNS_DIR
    change: FleetChangeOrder | None = None
    """A fleet change's make-before-break order (`devices/push_order.py`): hubs, stores, then the hubs
    that drop store tunnels, each a wave of its own."""
    held_over: IntendedConfigSource | None = None
    """With `change`: the first config of its `held_over` hubs, pushed with the hubs (`step` "union")."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise PushConfigError("--concurrency must be at least 1")
        if self.canary is not None and self.canary < 1:
            raise PushConfigError("--canary must be at least 1")
        if self.max_failures is not None and self.max_failures < 0:
            raise PushConfigError("--max-failures cannot be negative")


def plan_waves(
    targets: PushTargets, canary: int | None, change: FleetChangeOrder | None = None
) -> tuple[list[list[str]], list[str]]:
    """Waves of appliance names, and their labels; a wave starts once the one before finished.

    Without a canary or a fleet change: the hubs, then the store appliances (a store's new
    sessions need its hubs configured: pushed beside them, its health check waits on sessions
    its hub does not have yet), or one wave ("all") where the selection holds only one of them.
    With `--canary N`: the hubs in a wave of their own (with `--max-failures 0`, a failing hub
    stops the run before any store is touched), then N store appliances, then the rest. With a
    fleet change (`change`, make before break): the hubs that keep their store tunnels in a wave
    of their own, the store appliances (split by the canary as above), then the hubs that drop
    or change a store tunnel ("hubs-last"), so that no store loses the old end of a tunnel before
    it has the new one; a hub that also gains one is in the first wave too, its first push of two
    (`step_of`); `run_push` starts no wave after one where an appliance failed.
    """
    ordered = targets.ordered()
    if not len(ordered):
        return [], []
    roles = {t.role == "hub" for t in ordered}
    if canary is None and change is None and len(roles) == 1:
        return [ordered.names], ["all"]
    last = set(change.after_stores) if change is not None else set()
    # A hub that gains and drops (`FleetChangeOrder.held_over`) is in the first wave too, with
    # what it holds before and after the change (`step_of`: "union").
    union = set(change.held_over) if change is not None else set()
    hubs = [t.name for t in ordered if t.role == "hub" and (t.name not in last or t.name in union)]
    stores = [t.name for t in ordered if t.role != "hub"]
    store_waves = [(stores, "stores")] if canary is None else [(stores[:canary], "canary"), (stores[canary:], "rest")]
    hubs_last = [t.name for t in ordered if t.role == "hub" and t.name in last]
    waves: list[list[str]] = []
    labels: list[str] = []
    for names, label in ((hubs, "hubs"), *store_waves, (hubs_last, "hubs-last")):
        if names:
            waves.append(names)
            labels.append(label)
    return waves, labels


def step_of(change: FleetChangeOrder | None, name: str, wave: int, waves: Sequence[Sequence[str]]) -> str | None:
    """Which push of a hub of a fleet change the one in wave `wave` (1-based) of `waves` is: the
    first ("union") or the last ("final") of a `held_over` hub pushed in two waves; None for an
    appliance's one push."""
    if change is None or name not in change.held_over or sum(name in names for names in waves) < 2:
        return None
    return "union" if wave == next(i for i, names in enumerate(waves, start=1) if name in names) else "final"


def run_push(
    targets: PushTargets,
    intended: IntendedConfigSource,
    *,
    options: RunOptions | None = None,
    observer: PushObserver | None = None,
    stop: threading.Event | None = None,
    selection: dict[str, str | list[str] | None] | None = None,
    context: PushContext | None = None,
) -> RunReport:
    """Push every target; returns (and journals) the run report. Never raises for appliance trouble;
    raises CredentialsError, before anything is reached, when a login the targets need cannot be resolved,
    and KeyFileError when the secret ledger's key file is refused.

    Ctrl-C (KeyboardInterrupt in the calling thread) or `stop` being set stops new appliances
    from starting; those already running finish their cycle, rolling back if they fail.
    """
    options = options or RunOptions()
    observer = observer or PushObserver()
    stop = stop or threading.Event()
    context = context or PushContext(options=options.push)
    # Every login first: one that cannot be resolved is a configuration error (CredentialsError,
    # exit 2) before any appliance is reached or a journal written, not a failure of each appliance.
    context.credentials.check(targets)
    # The secret ledger's key alike: one others may read is refused (KeyFileError, exit 2) here.
    if context.ledger is not None:
        context.ledger.check()
    by_name = {t.name: t for t in targets}
    waves, labels = plan_waves(targets, options.canary, options.change)
    if options.held_over is None and any(
        step_of(options.change, name, index, waves) for index, wave in enumerate(waves, start=1) for name in wave
    ):
        raise PushConfigError("the change pushes hubs twice, and no first config of theirs was given (RunOptions.held_over)")
    report = RunReport(
        run_id=new_run_id("push"),
        dry_run=options.push.dry_run,
        started_at=datetime.now(UTC),
        concurrency=options.concurrency,
        canary=options.canary,
        max_failures=options.max_failures,
        selection=selection or {},
        targets_source=targets.source or None,
        waves=waves,
        wave_labels=labels,
        retire_after=list(options.change.retired) if options.change is not None else [],
        change=options.change.change_id if options.change is not None else None,
    )
    # One result per push, by (wave, appliance): a hub of a fleet change may be pushed twice.
    results: dict[tuple[int, str], DeviceResult] = {}
    for wave_index, wave in enumerate(report.waves, start=1):
        for name in wave:
            step = step_of(options.change, name, wave_index, report.waves)
            results[(wave_index, name)] = DeviceResult.for_target(by_name[name], wave=wave_index, step=step)
    report.devices = list(results.values())
    journal = push_journal(options.runs_dir, report)
    journal.save()
    observer.on_run_start(report)

    failures = 0
    interrupted = False

    def too_many_failures() -> bool:
        return options.max_failures is not None and failures > options.max_failures

    def change_broken() -> bool:
        # Make before break: stores moved to a hub whose push failed, or a hub dropping the
        # tunnels of a store whose push failed (and kept its old hubs), would lose a hub.
        return options.change is not None and failures > 0

    def work(target: ApplianceTarget, wave_index: int) -> DeviceResult:
        result = results[(wave_index, target.name)]
        source = intended
        if result.step == "union":
            assert options.held_over is not None  # checked before the run
            source = options.held_over
        try:
            config = source.intended_config(target)
            if result.step == "final" and options.push.dry_run and options.held_over is not None:
                # Planned from the first config the run's first push of it would leave.
                config = dataclasses.replace(config, planned_over=options.held_over.intended_config(target).text)
        except Exception as exc:
            message = exc.message if isinstance(exc, PushError) else f"{type(exc).__name__}: {exc}"
            return result.model_copy(
                update={
                    "outcome": "failed",
                    "changed": False,
                    "stage": "intended",
                    "error": message,
                    "error_type": type(exc).__name__,
                }
            )
        pushed = push_appliance(target, config, context=context, on_stage=observer.on_stage, wave=wave_index)
        return pushed.model_copy(update={"step": result.step}) if result.step else pushed

    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="push") as pool:
        for wave_index, wave in enumerate(report.waves, start=1):
            if stop.is_set() or too_many_failures() or change_broken():
                break
            observer.on_wave_start(wave_index, report.wave_labels[wave_index - 1], wave)
            pending = deque(wave)
            running: dict[Future[DeviceResult], str] = {}
            finished: list[DeviceResult] = []
            while True:
                starting: list[str] = []
                while (
                    pending
                    and len(running) + len(starting) < options.concurrency
                    and not stop.is_set()
                    and not too_many_failures()
                ):
                    name = pending.popleft()
                    results[(wave_index, name)].outcome = "running"
                    # unknown until it finishes: the truth if we are killed now
                    results[(wave_index, name)].changed = None
                    starting.append(name)
                # Durable before any of them touches its appliance, with the results that just
                # came in: one flush to disk for both.
                record_devices(journal, [*finished, *(results[(wave_index, name)] for name in starting)])
                for result in finished:
                    observer.on_device_done(result)
                finished = []
                for name in starting:
                    observer.on_device_start(name)
                    running[pool.submit(work, by_name[name], wave_index)] = name
                if not running:
                    break
                try:
                    done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    interrupted = True
                    stop.set()
                    observer.on_interrupt(sorted(running.values()))
                    continue
                for future in done:
                    name = running.pop(future)
                    result = future.result()
                    results[(wave_index, name)] = result
                    if result.failed:
                        failures += 1
                    finished.append(result)
            observer.on_wave_done(wave_index)

    reason = None
    if interrupted or stop.is_set():
        reason = "interrupted: appliances not started were skipped"
    elif too_many_failures():
        reason = f"{failures} appliance(s) failed, more than --max-failures {options.max_failures}"
    elif change_broken() and any(result.outcome == "pending" for result in results.values()):
        reason = (
            f"{failures} appliance(s) of a fleet change failed: the next waves would move or cut stores' "
            "tunnels to a hub that is not ready (make before break)"
        )
    for result in results.values():
        if result.outcome == "pending":
            result.outcome = "skipped"
            result.changed = False
            result.error = f"not started ({reason})" if reason else "not started"
    report.devices = list(results.values())
    report.status = "interrupted" if interrupted or stop.is_set() else ("stopped" if reason else "finished")
    report.stop_reason = reason
    report.finished_at = datetime.now(UTC)
    journal.close()
    return report
