"""The safe push of one appliance: backup ▸ diff ▸ apply ▸ verify ▸ save, or rollback.

One SSH session does backup, diff, apply and verify. Only the remediation lines are sent, so an
appliance already in its intended state gets zero config lines. Any failure after the first
line was sent triggers a rollback: the engine re-reads the running config, sends the lines that
lead back to the backup (computed from what is really on the appliance, not from a plan that a
half-applied change may have invalidated), and checks the running config equals the backup.

NAPALM's verbs map onto this: `compare_config` = `compare`, `commit_config` = `push_appliance`,
`rollback` = `restore_backup` (a backup pushed back as the intended config, as safely).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from storestack.common.polling import backoff, sleep_before_next
from storestack.devices.backups import DEFAULT_BACKUP_ROOT, DEFAULT_KEEP, BackupStore
from storestack.devices.companions import (
    CompanionChange,
    installed_digest,
    parse_digests,
    plan_companions,
    refuse_placeholders,
    result_of,
)
from storestack.devices.configdiff import (
    ConfigDiff,
    Redactor,
    compute_diff,
    parse,
    policy_change,
    redactor_for,
    remediation_lines,
    rollback_lines,
    secret_paths,
)
from storestack.devices.configdiff.moved_ports import moved_links, port_links
from storestack.devices.drivers import (
    CommitConfirm,
    commit_confirm_for,
    companion_delivery_for,
    driver_for,
    unconfirmable_for,
)
from storestack.devices.errors import (
    CommandRejectedError,
    CredentialsUnavailableError,
    PushConfigError,
    PushError,
    RefusedChangeError,
    RevertedChangeError,
    RollbackError,
    Stage,
    UnconfirmableChangeError,
    VerifyError,
)
from storestack.devices.health import (
    HealthSnapshot,
    parse_snapshot,
    required_new_peers,
    snapshot_commands,
    wait_healthy,
)
from storestack.devices.hostkeys import DEFAULT_KNOWN_HOSTS, KnownHostKeys
from storestack.devices.intended import IntendedConfig
from storestack.devices.report import CommitConfirmResult, DeviceResult, RollbackResult
from storestack.devices.secret_ledger import DEFAULT_SECRET_LEDGER, HELD_AS_SENT, SecretLedger
from storestack.devices.session import ApplianceSession, HostCommand, SessionOptions
from storestack.devices.targets import ApplianceTarget, Credentials, CredentialsError, CredentialsRef
from storestack.inventory.errors import InventoryIssue
from storestack.inventory.paths import STORES_DIR

StageCallback = Callable[[str, str], None]
DEFAULT_CONFIRM_TIMEOUT = 120


@dataclass(frozen=True)
class PushOptions:
    dry_run: bool = False
    session: SessionOptions = field(default_factory=SessionOptions)
    verify_health: bool = True
    health_timeout: float = 30.0
    health_poll: float = 0.5
    save: bool = True
    rollback_passes: int = 2
    backup_root: Path = DEFAULT_BACKUP_ROOT
    backup_keep: int = DEFAULT_KEEP
    known_hosts: Path = DEFAULT_KNOWN_HOSTS
    secret_ledger: Path = DEFAULT_SECRET_LEDGER
    # Commit-confirm: the appliance reverts a change by itself unless the push confirms it
    # within this many seconds (0: off). After a lost session the engine waits up to the
    # appliance's timer plus `revert_margin` for the backup to come back: it reconnects after
    # `revert_poll` seconds, then backs off to one login every `revert_poll_ceiling` seconds (a
    # timer of minutes costs a dozen logins, not one every poll). `force` pushes a change that
    # an appliance reverted before.
    confirm_timeout: int = DEFAULT_CONFIRM_TIMEOUT
    revert_margin: float = 30.0
    revert_poll: float = 2.0
    revert_poll_ceiling: float = 15.0
    force: bool = False


def checked_confirm_timeout(seconds: int, *, off_acknowledged: bool) -> int:
    """The commit-confirm timeout an operator asked for. Off (0) only when they said they know:
    without it, a change that cuts the push's own session leaves the appliance cut off."""
    if seconds < 0:
        raise PushConfigError(f"--confirm-timeout must be 0 or more seconds, got {seconds}")
    if seconds == 0 and not off_acknowledged:
        raise PushConfigError(
            "--confirm-timeout 0 turns off the appliances' own rollback timers: a change that cuts "
            "the push's session would then leave the appliance unreachable; add --no-confirm-i-know "
            "to do it anyway"
        )
    return seconds


class CredentialCache:
    """Resolves each credentials reference once per run (a file is read once, not 500 times)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resolved: dict[CredentialsRef, Credentials] = {}

    def resolve(self, ref: CredentialsRef) -> Credentials:
        try:
            return self._resolve(ref)
        except CredentialsError as exc:
            raise CredentialsUnavailableError(str(exc)) from None

    def _resolve(self, ref: CredentialsRef) -> Credentials:
        with self._lock:
            if ref not in self._resolved:
                self._resolved[ref] = ref.resolve()
            return self._resolved[ref]

    def check(self, targets: Iterable[ApplianceTarget]) -> None:
        """Resolve every login the targets need, before any is reached: a reference that cannot
        be resolved (an unset variable, a missing file) is the operator's configuration, not an
        appliance's failure. Raises one CredentialsError naming each, where it is configured
        and which appliances use it (with the issues of a credentials file the reader refused)."""
        users: dict[CredentialsRef, list[ApplianceTarget]] = {}
        for target in targets:
            users.setdefault(target.credentials, []).append(target)
        issues: list[InventoryIssue] = []
        for ref, using in users.items():
            try:
                self._resolve(ref)
            except CredentialsError as exc:
                names = ", ".join(target.name for target in using[:5]) + (" …" if len(using) > 5 else "")
                issues.append(using[0].credentials_issue(f"{exc} (the login of {len(using)} appliance(s): {names})"))
                issues.extend(exc.issues)
        if issues:
            raise CredentialsError(
                f"{len(issues)} problem(s) with appliance logins; nothing was reached: "
                + "; ".join(str(issue).strip() for issue in issues),
                issues,
            )


@dataclass
class PushContext:
    """What every appliance of a run shares."""

    options: PushOptions = field(default_factory=PushOptions)
    backups: BackupStore | None = None
    known_hosts: KnownHostKeys | None = None
    credentials: CredentialCache = field(default_factory=CredentialCache)
    ledger: SecretLedger | None = None

    def __post_init__(self) -> None:
        if self.ledger is None:
            self.ledger = SecretLedger(self.options.secret_ledger)
        if self.backups is None:
            self.backups = BackupStore(self.options.backup_root, keep=self.options.backup_keep)
        if self.known_hosts is None:
            self.known_hosts = KnownHostKeys(self.options.known_hosts)


def compare(running: str, intended: IntendedConfig | str, platform: str) -> ConfigDiff:
    """NAPALM's compare_config: what a push would change, without touching anything."""
    text = intended.text if isinstance(intended, IntendedConfig) else intended
    return compute_diff(running, text, platform)


class _EarlierTimerArmed(Exception):
    """The appliance refused the arm: an earlier, unconfirmed change's timer runs `left_s` more."""

    def __init__(self, left_s: int, refusal: PushError) -> None:
        super().__init__(refusal.message)
        self.left_s = left_s
        self.refusal = refusal


class _Run:
    """State of one appliance's push; a class so the stages can share it without long signatures."""

    def __init__(
        self,
        target: ApplianceTarget,
        intended: IntendedConfig,
        context: PushContext,
        on_stage: StageCallback | None,
        result: DeviceResult,
    ) -> None:
        self.target = target
        self.intended = intended
        self.context = context
        self.options = context.options
        self.driver = driver_for(target.platform)
        self.on_stage = on_stage
        self.result = result
        self.redactor: Redactor = redactor_for(target.platform, intended.secrets)
        self.credentials: Credentials | None = None
        self.session: ApplianceSession | None = None
        self.backup_text: str | None = None
        self.health_before: HealthSnapshot | None = None
        self.diff: ConfigDiff | None = None
        self.sent_any = False
        self.commit_confirm = (
            commit_confirm_for(target.platform) if self.options.confirm_timeout > 0 else None
        )
        self.armed = False
        # The companion files: delivered where the platform has a way and some were rendered.
        self.delivery = companion_delivery_for(target.platform) if intended.companions else None
        self.companion_changes: list[CompanionChange] = []
        self.installed: list[CompanionChange] = []
        # What the device lists of the lines its running config never shows, as last read.
        self.listed: frozenset[str] | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.result.stage = name
        if self.on_stage is not None:
            self.on_stage(self.target.name, name)
        started = time.monotonic()
        try:
            yield
        finally:
            self.result.timings[name] = round(
                self.result.timings.get(name, 0.0) + time.monotonic() - started, 4
            )

    def connect(self) -> ApplianceSession:
        assert self.credentials is not None
        session = ApplianceSession(
            self.target,
            self.credentials,
            options=self.options.session,
            known_hosts=self.context.known_hosts,
            redactor=self.redactor,
        )
        return session.open()

    def run_commands(self, commands: Sequence[str]) -> list[str]:
        assert self.session is not None
        return self.session.commands(commands)

    def read_state(self, *, health: bool = True) -> tuple[str, list[str]]:
        """The running config and, when health is checked, the health commands' outputs: one read.
        What the device lists of the lines its running config never shows rides along (`listed`)."""
        assert self.session is not None
        commands = snapshot_commands(self.driver) if health and self.options.verify_health else []
        running, self.listed, outputs = self.session.running_and_listed(*commands)
        return running, outputs

    # ------------------------------------------------------------------ the cycle

    def execute(self) -> None:
        result = self.result
        assert self.context.backups is not None
        digest = intended_digest(self.intended)
        if not (self.options.force or self.options.dry_run) and digest in self.context.backups.reverted(
            self.target
        ):
            raise RevertedChangeError(
                f"{self.target.name}: this intended config (sha256 {digest[:12]}) was reverted by the "
                "appliance itself in an earlier push, its change cut the appliance off; fix it, or "
                "push it again with --force"
            )
        with self.stage("credentials"):
            self.credentials = self.context.credentials.resolve(self.target.credentials)
            self.redactor = self.redactor.with_secrets([self.credentials.password.get_secret_value()])
        with self.stage("connect"):
            self.session = self.connect()
            result.host_key = self.session.host_key
        try:
            self._cycle_after_earlier_timers()
        finally:
            if self.session is not None:
                result.config_lines_sent += self.session.config_lines_sent
                self.session.close()

    def _cycle_after_earlier_timers(self) -> None:
        """The cycle; where the appliance refuses the arm because an earlier, unconfirmed change's
        timer still runs (a push killed after its arm), wait for that timer's revert and start
        again from a fresh backup in a new session. Nothing was sent: the arm comes first."""
        deadline: float | None = None
        while True:
            try:
                self._cycle()
                return
            except _EarlierTimerArmed as earlier:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + earlier.left_s + self.options.revert_margin
                if now >= deadline:
                    self._fail(earlier.refusal)
                    return
                with self.stage("await_earlier_timer"):
                    time.sleep(min(max(float(earlier.left_s), self.options.revert_poll), deadline - now))
                    if self.session is not None:
                        self.result.config_lines_sent += self.session.config_lines_sent
                        self.session.close()
                        self.session = None
                    self.session = self.connect()

    def _cycle(self) -> None:
        result = self.result
        session = self.session
        assert session is not None
        with self.stage("backup"):
            # One read for the backup and the health snapshot a change needs: an appliance in
            # sync costs this single exchange (and, with companion files, the one digests
            # request that runs beside it), and its health outputs are never parsed.
            health_outputs: list[str] = []
            # The companions' digests ride along with the running-config read.
            digests = (
                self._start_host_command(self.delivery.digests, "reading the companion files' digests")
                if self.delivery is not None
                else None
            )
            if self.options.dry_run:
                running, _ = self.read_state(health=False)
            else:
                self._open_host_channel_ahead()  # for the arm, should there be a change
                running, health_outputs = self.read_state()
            if digests is not None:
                self.companion_changes = plan_companions(
                    self.intended.companions, parse_digests(digests.result(), self.target.name)
                )
            assert self.context.backups is not None
            # Flushed to disk only before a change is sent (below): a no-op waits for no disk.
            backup = self.context.backups.save(self.target, running, durable=False)
            result.backup_path = str(backup)
            self.backup_text = running
        with self.stage("diff"):
            assert self.context.ledger is not None
            held = self.context.ledger.held(self.target.name).listing(self.listed)
            self._refuse_moved_ports(running)
            planned_over = self.intended.planned_over if self.options.dry_run else None
            diff = compute_diff(planned_over or running, self.intended.text, self.target.platform, held=held)
            self._refuse_unsendable(diff)
            self.diff = diff
            result.remediation = self.redactor.redact_lines(diff.remediation)
            result.rollback_plan = self.redactor.redact_lines(diff.rollback)
            result.change_lines = diff.change_lines
            pending = self._read_pending_companions()
            result.companions = [
                result_of(
                    change,
                    appliance=self.target.name,
                    redactor=self.redactor,
                    dry_run=self.options.dry_run,
                    delivery=self.delivery,
                )
                for change in self.companion_changes
            ]
        if self.options.dry_run:
            result.diff = diff.unified(self.redactor, name=self.target.name)
            result.outcome = "planned"
            return
        if diff.in_sync and not pending:
            result.outcome = "unchanged"
            self._record_secrets()
            return
        self._refuse_unconfirmable(session)
        # The backup is what a rollback restores: on disk before the first line goes out.
        BackupStore.make_durable(backup)

        if self.options.verify_health and self.driver.health_checks:
            with self.stage("health"):
                self.health_before = parse_snapshot(self.driver, health_outputs)
        mechanism = self.commit_confirm
        timeout = self.options.confirm_timeout
        try:
            entered, commit = False, None
            if mechanism is not None:
                with self.stage("arm"):
                    entered, commit = self._arm(mechanism, running)
            with self.stage("apply"):
                self.sent_any = True
                if commit is not None:
                    # The commit that makes the change live is the arm (VRP `commit trial`).
                    self.armed = True
                # The host's files first (the tunnels and firewall the routing config relies
                # on), under the timer armed above: its revert puts them back too.
                self._install_companions(pending)
                if diff.remediation or commit is not None or entered:
                    session.configure(diff.remediation, entered=entered, commit=commit)
                if diff.refresh:
                    # The changed BGP policy applied to the routes the sessions hold already
                    # (a soft refresh; PlatformDriver.policy_refresh), before the checks read them.
                    session.mechanism(diff.refresh, "applying the changed BGP policy")
                if diff.policy_wait_s:
                    # The appliance applies the changed BGP policy itself once its timer runs
                    # out (FRR): the checks and the confirm read it after that, never before.
                    time.sleep(diff.policy_wait_s)
            with self.stage("verify"):
                self._open_host_channel_ahead()  # for the confirm (or the abort)
                if mechanism is not None and mechanism.guard:
                    # Its challenge comes back with the verify read, after the change.
                    session.challenge_guard()
                self._verify(running)
            if mechanism is not None and result.commit_confirm is not None:
                with self.stage("confirm"):
                    confirm = mechanism.render(mechanism.confirm, timeout)
                    if mechanism.guard:
                        session.confirm_guard("confirming the change")
                    else:
                        self._mechanism(mechanism, confirm, "confirming the change")
                    result.commit_confirm.confirm = confirm
                    result.commit_confirm.confirmed = True
                    self.armed = False
            if self.options.save and not diff.in_sync:
                with self.stage("save"):
                    session.save()
        except _EarlierTimerArmed:
            raise
        except PushError as failure:
            self._fail(failure)
            self._recover()
            return
        except Exception as exc:
            self._fail(_unexpected(exc, self.result.stage))
            self._recover()
            return
        result.outcome = "changed"
        result.changed = True
        self._record_secrets()

    def _refuse_moved_ports(self, running: str) -> None:
        """Before the plan is shown or any line sent: a store link the intended config puts on
        another WAN port than the one the running config's port description names it on, whose
        port the inventory does not state (its place in the store's links, which changed), is
        refused: the push would empty the port its cable is in and configure one it is not in
        (devices/configdiff/moved_ports.py). A stated port is the operator's move: it goes ahead."""
        if self.target.role == "hub":
            return
        stated = self.intended.stated_ports
        moved = [move for move in moved_links(running, self.intended.text, self.target.platform) if move.link not in (stated or ())]
        if not moved:
            return
        store_file = f"{STORES_DIR}/{self.target.store_id}.yaml"
        unknown = (
            " (this intended config was read from a file, which does not say whether the inventory states the port: "
            "push it rendered from the inventory)"
            if stated is None
            else ""
        )
        raise RefusedChangeError(
            f"{self.target.name}: not changed, nothing was sent: "
            + "; ".join(
                f"link {move.link} is on {move.held} (the running config's port description names it) and the "
                f"intended config puts it on {move.intended}, its place among the store's links in {store_file}, "
                "which changed"
                for move in moved
            )
            + f"{unknown}. The push would empty the port the cable is in and configure one it is not in. State the "
            "port the link is cabled to in "
            + store_file
            + ": "
            + ", ".join(
                f"`port: {move.number}` on link {move.link}" if move.number is not None else f"its `port` on link {move.link}"
                for move in moved
            )
            + " keeps it where it is; the port it moves to, once the cable is moved",
            field="port",
        )

    def _refuse_unsendable(self, diff: ConfigDiff) -> None:
        """Before the plan is shown or any line sent: a change that needs a line no push sends
        (`PlatformDriver.refused_changes`) is refused, naming the line, the inventory field
        behind it, why, and what to do instead; so is one that would edit a bound filter in place
        because no number is free to build it anew beside the held one (`ConfigDiff.without_room`)."""
        if diff.without_room:
            names = ", ".join(diff.without_room)
            raise RefusedChangeError(
                f"{self.target.name}: not changed, nothing was sent: the bound filter(s) {names} "
                "must be built anew beside the one held (no order of their rules changes them safely "
                "in place, or another filter keeps their number), but every number of their range is "
                "held on the appliance or taken by the intended config. Edited in place instead, a "
                "filter passes for a moment what only the rules both sides hold pass, or merges into "
                "the other ACL of its number. Free numbers first (fewer stores or cloud sites on this "
                "hub, or unused ACLs of that range deleted by hand), then push again"
            )
        for refused in self.driver.refused_changes:
            line = refused.first_in(diff.remediation, diff.running)
            if line is None:
                continue
            field, cause = refused.causes[self.target.role]
            raise RefusedChangeError(
                f"{self.target.name}: not changed, nothing was sent: the change needs `{line}` "
                f"({cause}), which no push sends: {refused.why}. {refused.remedy}",
                field=field,
            )

    def _refuse_unconfirmable(self, session: ApplianceSession) -> None:
        """Before the first change line: an appliance that cannot arm the platform's commit-confirm
        in the mode it configures in (a VRP5 AR: immediate validation) is not changed without a
        net unless the operator turned the nets off."""
        if self.commit_confirm is None:
            return
        refusal = unconfirmable_for(self.target.platform, session.mode)
        if refusal is None:
            return
        with self.stage("arm"):
            raise UnconfirmableChangeError(
                f"{self.target.name}: not changed, nothing was sent: {refusal}. A change that cut the "
                "push's session would leave it unreachable. Push it with --confirm-timeout 0 "
                "--no-confirm-i-know to change it without the appliance's own rollback timer (the "
                "engine still rolls a failure back while it can reach the appliance)"
            )

    def _record_secrets(self) -> None:
        """The appliance holds the intended config: its secret lines go to the secret ledger."""
        if self.driver.hides_secrets:
            assert self.context.ledger is not None
            self.context.ledger.record(self.target.name, secret_paths(self.intended.text, self.target.platform))

    def _arm(self, mechanism: CommitConfirm, running: str) -> tuple[bool, str | None]:
        """Start the appliance's own rollback timer before the first change line; returns whether
        configuration mode was entered by it and the commit command that arms it, if that does."""
        session = self.session
        assert session is not None
        timeout = self.options.confirm_timeout
        if mechanism.requires and not re.search(mechanism.requires, running.replace("\r\n", "\n"), re.MULTILINE):
            # What the mechanism needs (IOS-XE: the archive) goes in before the timer is armed,
            # exactly as the intended config has it.
            needed = re.search(mechanism.requires, self.intended.text.replace("\r\n", "\n"), re.MULTILINE)
            if needed is None:
                raise PushError(
                    f"{self.target.name}: cannot arm the appliance's rollback timer: neither the running "
                    f"nor the intended config has what it needs (a config matching {mechanism.requires!r}); "
                    "add it to the intended config",
                    stage="arm",
                )
            session.configure(needed.group(0).splitlines())
        arm = mechanism.render(mechanism.arm, timeout)
        commit = mechanism.commit_command(timeout)
        self.result.commit_confirm = CommitConfirmResult(
            timeout_s=mechanism.timer_seconds(timeout), arm=[*arm, *([commit] if commit else [])]
        )
        if arm:
            self.armed = True
            try:
                doing = "arming the appliance's rollback timer"
                if mechanism.guard:
                    session.arm_guard(arm[0], running, doing)
                else:
                    self._mechanism(mechanism, arm, doing)
            except PushError as failure:
                failure.stage = "arm"
                if isinstance(failure, CommandRejectedError):
                    # Refused means not armed; aborting now could revert a timer someone else
                    # armed (the FRR host refuses a second timer for that reason).
                    self.armed = False
                    earlier = re.search(mechanism.armed_earlier, failure.message) if mechanism.armed_earlier else None
                    if earlier is not None:
                        raise _EarlierTimerArmed(int(earlier.group("left")), failure) from None
                raise
        self.result.commit_confirm.armed = True
        return mechanism.arm_enters_config, commit

    def _start_host_command(self, command: str, doing: str) -> HostCommand | None:
        if self.delivery is None or self.session is None:
            return None
        return self.session.start_host_file_command(command, doing)

    def _read_pending_companions(self) -> list[CompanionChange]:
        """The appliance's text of every companion that differs (read at once, each on its own
        channel): for the redacted diff, and to put it back without the appliance's timer."""
        pending = [change for change in self.companion_changes if change.pending]
        assert self.delivery is not None or not pending
        refuse_placeholders(pending, self.target.name)
        reads = [
            (change, self._start_host_command(self.delivery.read.replace("{name}", change.name), f"reading {change.name}"))
            for change in pending
            if change.before_digest is not None and self.delivery is not None
        ]
        for change, read in reads:
            assert read is not None
            change.before_text = read.result()
        return pending

    def _install_companions(self, pending: Sequence[CompanionChange]) -> None:
        """Install each differing companion; the appliance checks, replaces and reloads it."""
        if not pending:
            return
        assert self.delivery is not None and self.session is not None
        by_name = {item.name: item for item in self.result.companions}
        for change in pending:
            command = self.delivery.install.replace("{name}", change.name)
            output = self.session.host_file_command(
                command, f"installing {change.name}", stdin=change.text.encode("utf-8")
            )
            self.installed.append(change)
            if installed_digest(output) != change.digest:
                raise PushError(
                    f"{self.target.name}: {change.name}: the appliance did not confirm the file sent "
                    f"({self.redactor.redact(output.strip())[:200] or 'no output'})",
                    stage="apply",
                )
            by_name[change.name].status = "changed"

    def _companions_back(self, rollback: RollbackResult) -> None:
        """After a failure, once the config is back: every companion installed goes back to the
        appliance's text of before the push, last installed first (the push undone step by step,
        `CompanionDelivery`); the appliance's timer did it already when its revert ran: then this
        only checks. A file that did not exist before cannot be taken away here; it is reported."""
        if not self.installed or self.delivery is None or self.session is None:
            return
        session = self.session
        residual: list[str] = []
        now = parse_digests(
            session.host_file_command(self.delivery.digests, "reading the companion files' digests"), self.target.name
        )
        for change in reversed(self.installed):
            if now.get(change.name) == change.before_digest:
                continue
            if change.before_text is None:
                residual.append(f"companion {change.name}: did not exist before the push, it stays")
                continue
            try:
                session.host_file_command(
                    self.delivery.install.replace("{name}", change.name),
                    f"putting {change.name} back",
                    stdin=change.before_text.encode("utf-8"),
                )
            except PushError as exc:
                residual.append(f"companion {change.name}: {self.redactor.redact(exc.message)}")
        rollback.residual = [*rollback.residual, *residual]
        if residual:
            raise RollbackError(f"{self.target.name}: {len(residual)} companion file(s) not back as before the push")
        for item in self.result.companions:
            if item.status == "changed" or any(change.name == item.name for change in self.installed):
                item.status = "failed"

    def _open_host_channel_ahead(self) -> None:
        """Where the commit-confirm runs on the appliance's host, open the channel of its next
        command along with the CLI exchange that comes first: one round trip fewer."""
        if self.commit_confirm is not None and self.commit_confirm.via == "host" and self.session is not None:
            self.session.open_host_channel()

    def _mechanism(self, mechanism: CommitConfirm, commands: Sequence[str], doing: str) -> list[str]:
        """Commands of the commit-confirm mechanism, in the CLI or on the appliance's host."""
        assert self.session is not None
        if mechanism.via == "host":
            return self.session.host_commands(commands, doing)
        return self.session.mechanism(commands, doing)

    def _recover(self) -> None:
        """After a failure: with the session lost while the appliance's timer is armed, wait for
        the appliance to revert by itself (a change that cut its own path must not be retried
        blindly); otherwise stop the timer and roll back over the session."""
        mechanism = self.commit_confirm
        if self.armed and mechanism is not None and mechanism.abort and self._session_usable():
            # Revert now rather than when the timer runs out; the rollback checks the result.
            try:
                self._mechanism(
                    mechanism, mechanism.render(mechanism.abort, self.options.confirm_timeout), "reverting"
                )
                self.armed = False
            except PushError:
                pass
        # The session may have died before the failure was seen, or with the abort (a change
        # whose effect arrives late cuts an in-band path after the verify read): reconnecting
        # could not fix what the appliance's own timer fixes, so wait for it.
        if (
            self.armed
            and self.sent_any
            and mechanism is not None
            and not self._session_usable()
            and self._await_revert(mechanism)
        ):
            return
        self._rollback()
        rollback = self.result.rollback
        if self.armed and mechanism is not None and rollback is not None and rollback.ok and mechanism.settle:
            self._settle(mechanism)
            # Settling changed the running config (FortiOS leaves revert mode): compare again.
            if self.session is not None and self.session.usable:
                with contextlib.suppress(PushError):
                    rollback.byte_identical = _same_text(self.session.running_config(), self.backup_text or "")

    def _session_usable(self) -> bool:
        return self.session is not None and self.session.usable

    def _await_revert(self, mechanism: CommitConfirm) -> bool:
        """Reconnect until the running config equals the backup again, up to the appliance's
        timer plus the margin. True when it did: the appliance reverted by itself."""
        assert self.backup_text is not None and self.result.commit_confirm is not None
        if self.session is not None:
            self.result.config_lines_sent += self.session.config_lines_sent
            self.session.close()
            self.session = None
        failed_stage = self.result.stage
        lost_at = time.monotonic()
        deadline = lost_at + self.result.commit_confirm.timeout_s + self.options.revert_margin
        waits = backoff(self.options.revert_poll, max(self.options.revert_poll, self.options.revert_poll_ceiling))
        with self.stage("await_revert"):
            while True:
                session: ApplianceSession | None = None
                try:
                    session = self.connect()
                    now = session.running_config()
                    if not rollback_lines(now, self.backup_text, self.target.platform):
                        self.session = session
                        break
                except PushError:
                    pass
                finally:
                    if session is not None and session is not self.session:
                        session.close()
                if time.monotonic() >= deadline:
                    self.result.stage = failed_stage
                    return False
                sleep_before_next(waits, deadline)
        self.armed = False
        self.result.stage = failed_stage
        for item in self.result.companions:
            if any(change.name == item.name for change in self.installed):
                item.status = "failed"
        self.result.commit_confirm.reverted_by_appliance = True
        self.result.commit_confirm.waited_s = round(time.monotonic() - lost_at, 3)
        self.result.outcome = "reverted-by-appliance"
        self.result.changed = False
        assert self.context.backups is not None
        self.context.backups.record_reverted(self.target, intended_digest(self.intended))
        self._settle(mechanism)
        self.result.error = (
            f"{self.result.error}; the appliance reverted the change by itself and runs its backup again "
            f"({self.result.backup_path}); this change is refused until it is fixed or pushed with --force"
        )
        return True

    def _settle(self, mechanism: CommitConfirm) -> None:
        """Leave the mechanism off on an appliance that runs its backup again (FortiOS: out of
        revert mode, saved); a failure here is a finding, the config is already right."""
        if not mechanism.settle or self.session is None:
            return
        try:
            self._mechanism(
                mechanism, mechanism.render(mechanism.settle, self.options.confirm_timeout), "settling"
            )
        except PushError as exc:
            self.result.findings = [
                *self.result.findings,
                f"after revert: {self.redactor.redact(exc.message)}",
            ]

    def _verify(self, running_before: str) -> None:
        now, health_outputs = self.read_state()
        # Every intended secret line was either held already or sent just now.
        residual = remediation_lines(now, self.intended.text, self.target.platform, held=HELD_AS_SENT)
        if residual:
            shown = self.redactor.redact_lines(residual)
            self.result.findings = [f"still differs from intended: {line.strip()}" for line in shown]
            raise VerifyError(
                f"{self.target.name}: running config does not match intended after apply "
                f"({len(residual)} line(s) remain)",
                findings=self.result.findings,
            )
        if self.health_before is not None:
            must_establish: set[str] = set()
            if self.target.role == "edge":
                # The diff parsed both configs already; parsing is most of a diff's cost.
                diff = self.diff
                intended_config = diff.intended_config if diff is not None else None
                running_config = diff.running_config if diff is not None else None
                must_establish = required_new_peers(
                    intended_config or parse(self.intended.text, self.target.platform),
                    running_config or parse(running_before, self.target.platform),
                    self.health_before,
                )
            problems = wait_healthy(
                self.driver,
                self.run_commands,
                self.health_before,
                must_establish=must_establish,
                timeout=self.options.health_timeout,
                poll=self.options.health_poll,
                first=parse_snapshot(self.driver, health_outputs),
            )
            if problems:
                self.result.findings = problems
                raise VerifyError(
                    f"{self.target.name}: health check failed after {self.options.health_timeout:g} s: "
                    + "; ".join(problems),
                    findings=problems,
                )

    def _fail(self, failure: PushError) -> None:
        self.result.outcome = "failed"
        self.result.stage = failure.stage
        self.result.error = self.redactor.redact(failure.message)
        self.result.error_type = type(failure).__name__

    # ------------------------------------------------------------------ rollback

    def _rollback(self) -> None:
        """Bring the running config back to the backup, over a fresh session if the old one broke."""
        assert self.backup_text is not None
        rollback = RollbackResult(ok=False)
        self.result.rollback = rollback
        failed_stage = self.result.stage
        with self.stage("rollback"):
            try:
                self._restore(rollback)
            except PushError as exc:
                rollback.error = self.redactor.redact(exc.message)
            except Exception as exc:  # the appliance state is unknown: say so, never hide it
                rollback.error = self.redactor.redact(f"{type(exc).__name__}: {exc}")
        # The stage reported is the one that failed; the rollback is its consequence.
        self.result.stage = failed_stage
        if rollback.ok:
            self.result.changed = False
        else:
            self.result.changed = None
            detail = rollback.error or "running config still differs from the backup"
            self.result.error = (
                f"{self.result.error}; ROLLBACK FAILED: {detail}; "
                f"the appliance may be half-changed, restore it from {self.result.backup_path} "
                f"(storestack devices restore {self.target.name} --backup {self.result.backup_path})"
            )

    def _restore(self, rollback: RollbackResult) -> None:
        assert self.backup_text is not None
        platform = self.target.platform
        session = self.session
        if session is None or not session.usable:
            if session is not None:
                self.result.config_lines_sent += session.config_lines_sent
                session.close()
            self.session = session = self.connect()
            rollback.reconnected = True
        residual: tuple[str, ...] = ()
        now = ""
        changed_from = ""
        for _ in range(max(1, self.options.rollback_passes)):
            now = session.running_config()
            changed_from = changed_from or now
            lines = rollback_lines(now, self.backup_text, platform)
            if not lines:
                residual = ()
                break
            rollback.passes += 1
            before = session.config_lines_sent
            rollback.rejected_lines += session.configure(lines, stop_on_error=False)
            rollback.lines_sent += session.config_lines_sent - before
            now = session.running_config()
            residual = rollback_lines(now, self.backup_text, platform)
            if not residual:
                break
        rollback.running_matches_backup = not residual
        rollback.byte_identical = _same_text(now, self.backup_text)
        rollback.residual = self.redactor.redact_lines(residual)
        if residual:
            raise RollbackError(
                f"{self.target.name}: after {rollback.passes} rollback pass(es) {len(residual)} line(s) still differ from the backup"
            )
        refresh, wait = policy_change(changed_from, self.backup_text, platform)
        if refresh:
            # The BGP policy put back applied to the routes the sessions hold (soft refresh).
            session.mechanism(refresh, "applying the restored BGP policy")
        if wait:
            time.sleep(wait)  # the restored BGP policy applied by the appliance itself (FRR)
        self._companions_back(rollback)
        rollback.ok = True
        if self.health_before is not None:
            problems = wait_healthy(
                self.driver,
                session.commands,
                self.health_before,
                must_establish=set(),
                timeout=self.options.health_timeout,
                poll=self.options.health_poll,
            )
            rollback.health_restored = not problems
            if problems:
                self.result.findings = [*self.result.findings, *(f"after rollback: {p}" for p in problems)]


def _unexpected(exc: Exception, stage: str | None) -> PushError:
    failure = PushError(f"unexpected {type(exc).__name__}: {exc}")
    if stage in _STAGES:
        failure.stage = stage  # type: ignore[assignment]
    return failure


# The stages of one appliance's push (the run-level "targets" and "intended" stages are not).
_STAGES = frozenset(get_args(Stage)) - {"targets", "intended"}


def intended_digest(intended: IntendedConfig) -> str:
    """What identifies one change to an appliance: the sha256 of its intended config (and of
    its companion files, when it has any)."""
    digest = hashlib.sha256(intended.text.replace("\r\n", "\n").encode("utf-8"))
    for name, text in intended.companions:
        digest.update(f"\0{name}\0".encode())
        digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def _same_text(left: str, right: str) -> bool:
    return left.replace("\r\n", "\n") == right.replace("\r\n", "\n")


def push_appliance(
    target: ApplianceTarget,
    intended: IntendedConfig,
    *,
    context: PushContext | None = None,
    on_stage: StageCallback | None = None,
    wave: int = 0,
) -> DeviceResult:
    """Push one appliance safely. Never raises for appliance trouble: the result says what happened."""
    context = context or PushContext()
    result = DeviceResult.for_target(target, wave=wave, outcome="running", started_at=datetime.now(UTC))
    started = time.monotonic()
    run = _Run(target, intended, context, on_stage, result)
    try:
        run.execute()
    except PushError as failure:
        if result.outcome != "failed":
            run._fail(failure)
            # Nothing was sent before this failure (connect, backup, diff), or the session broke
            # while sending: then the appliance may be half-changed and needs the rollback too.
            if run.sent_any and run.backup_text is not None and result.rollback is None:
                run._rollback()
    except Exception as exc:
        run._fail(_unexpected(exc, result.stage))
        if run.sent_any and run.backup_text is not None and result.rollback is None:
            run._rollback()
    finally:
        result.duration_s = round(time.monotonic() - started, 3)
    return result


def restore_backup(
    target: ApplianceTarget,
    backup: Path,
    *,
    context: PushContext | None = None,
    on_stage: StageCallback | None = None,
) -> DeviceResult:
    """NAPALM's rollback: put a backup back, with the same backup ▸ diff ▸ verify ▸ save safety.

    This is what an operator runs after a rollback failure was reported with the backup path.
    """
    try:
        text = Path(backup).read_text(encoding="utf-8")
    except OSError as exc:
        raise PushConfigError(f"cannot read backup {backup}: {exc.strerror or exc}") from None
    # Each link's port in the backup is one the appliance ran it on: a restore puts it back there.
    stated = frozenset(port_links(text, target.platform))
    return push_appliance(target, IntendedConfig(text, stated_ports=stated), context=context, on_stage=on_stage)
