"""One SSH session to one appliance, through Netmiko with the platform's driver.

The session does backup, diff, apply and verify over a single login: that, and sending only
the remediation lines, is what makes a push of hundreds of appliances fast.

Over a WAN a push costs round trips, not CPU, so every exchange is pipelined: the commands of one
step go down in one write (Netmiko's `write_channel`) and their outputs are read back in one go,
split at the prompts the appliance prints after each command. The appliance's own prompt after
login names it, so there is no prompt probe; paging is switched off by commands sent along with
the first real one. A config change is one write too, checked for rejections in the echoed
output and verified by reading the running config back, never by waiting for each line's echo.

Safety built in here:
- the host key is checked against the recorded fingerprint before authentication;
- every wait is bounded (connect, banner, auth, each command, save);
- a session that timed out or dropped is marked broken and never reused;
- Netmiko's session log is off unless asked for, and then redacted.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)
from netmiko.session_log import SessionLog

from storestack.devices import frr_confirm
from storestack.devices.configdiff import Redactor
from storestack.devices.drivers import PlatformDriver, ValidationMode, driver_for
from storestack.devices.errors import (
    AuthenticationError,
    CommandRejectedError,
    CommandTimeoutError,
    ConnectError,
    HostKeyError,
    SaveError,
    SessionError,
    SessionLostError,
)
from storestack.devices.hostkeys import FingerprintPolicy, KnownHostKeys
from storestack.devices.targets import ApplianceTarget, Credentials

HostKeyStatus = Literal["verified", "trusted-first-use"]

# A host command's request to prove its output reaches us (devices/frr_confirm.py).
_CHALLENGE = re.compile(rf"^{re.escape(frr_confirm.CHALLENGE_PREFIX)}(\w+)\r?\n", re.MULTILINE)
# Longer than any prompt: host names are at most 63 characters, modes a few dozen.
_LONGEST_PROMPT = 200
# What a slow CLI (IOS-XE parses a line in tens of milliseconds) may take per config line of a
# block, beyond the read timeout.
_SECONDS_PER_CONFIG_LINE = 0.1


@dataclass(frozen=True)
class SessionOptions:
    """Bounds on every wait, in seconds, and the opt-ins."""

    conn_timeout: float = 10.0
    banner_timeout: float = 10.0
    auth_timeout: float = 10.0
    read_timeout: float = 20.0
    save_timeout: float = 30.0
    trust_on_first_use: bool = False
    session_log_dir: Path | None = None


class _RedactedSessionLog(SessionLog):
    """Netmiko's session log hides `no_log` values; ours also hides the platform's secret patterns."""

    def __init__(self, file_name: str, redactor: Redactor) -> None:
        no_log = {f"secret{index}": value for index, value in enumerate(redactor.secret_values)}
        super().__init__(file_name=file_name, file_mode="append", no_log=no_log)
        self._redactor = redactor

    def no_log_filter(self, data: str) -> str:
        return self._redactor.redact(super().no_log_filter(data))


class ApplianceSession:
    """Netmiko session with verified host key, bounded waits and typed errors."""

    def __init__(
        self,
        target: ApplianceTarget,
        credentials: Credentials,
        *,
        options: SessionOptions | None = None,
        known_hosts: KnownHostKeys | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.target = target
        self.driver: PlatformDriver = driver_for(target.platform)
        self.options = options or SessionOptions()
        self._credentials = credentials
        self._known_hosts = known_hosts
        self._redactor = (redactor or Redactor()).with_secrets([credentials.password.get_secret_value()])
        self._conn: Any = None
        # The appliance's name as its prompt shows it; None until a prompt was read.
        self._host: str | None = None
        # Session set-up commands (paging off, the validation mode's probe), sent along with the
        # first exchange.
        self._pending_setup: tuple[str, ...] = ()
        # How the appliance takes configuration, where its platform has more than one way: learnt
        # from the prompt the driver's `mode_probe` leaves in the first exchange; None until then.
        self.mode: ValidationMode | None = None
        self._last_prompt = ""
        self.broken = False
        # The channel of the next host command, opening ahead of it (open_host_channel).
        self._host_channel: _OpeningChannel | None = None
        # The change's guard on the appliance's host, while it runs (arm_guard).
        self._guard: _Guard | None = None
        self.host_key: HostKeyStatus | None = None
        self.config_lines_sent = 0

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> ApplianceSession:
        target = self.target
        recorded = self._known_hosts.get(target.host, target.port) if self._known_hosts else None
        expected = target.host_key_fingerprint or recorded
        if target.host_key_fingerprint and recorded and recorded != target.host_key_fingerprint:
            # The inventory is the authority; a stale learned key must not weaken it.
            expected = target.host_key_fingerprint
        policy = FingerprintPolicy(target.name, expected, trust_on_first_use=self.options.trust_on_first_use)
        sock = open_appliance_socket(target, self.options.conn_timeout)
        try:
            conn = ConnectHandler(
                device_type=self.driver.netmiko_device_type,
                host=target.host,
                port=target.port,
                username=self._credentials.username,
                password=self._credentials.password.get_secret_value(),
                conn_timeout=self.options.conn_timeout,
                banner_timeout=self.options.banner_timeout,
                auth_timeout=self.options.auth_timeout,
                read_timeout_override=None,
                fast_cli=True,
                auto_connect=False,
                sock=sock,
                # Only our fingerprint policy decides; no ~/.ssh/known_hosts, agent or key files.
                system_host_keys=False,
                alt_host_keys=False,
                use_keys=False,
                allow_agent=False,
                session_log=self._session_log(),
                **(
                    {"disabled_algorithms": {"kex": list(self.driver.disabled_kex)}}
                    if self.driver.disabled_kex
                    else {}
                ),
            )
        except BaseException:
            sock.close()
            raise
        conn.key_policy = policy
        try:
            # What Netmiko's connect does, without the blind newline and fixed 0.1 s sleep before
            # the session preparation.
            conn.establish_connection()
            if self.driver.netmiko_session_preparation:
                conn.session_preparation()
                self._host = str(conn.base_prompt).strip()
            else:
                self._conn = conn
                conn.ansi_escape_codes = self.driver.strip_ansi
                self._read_login_prompt()
        except HostKeyError:
            _close(conn)
            raise
        except NetmikoAuthenticationException:
            _close(conn)
            raise AuthenticationError(
                f"{target.name}: authentication failed for user {self._credentials.username!r} "
                f"at {target.host}:{target.port}"
            ) from None
        except NetmikoTimeoutException as exc:
            _close(conn)
            raise ConnectError(
                f"{target.name}: cannot connect to {target.host}:{target.port}: {_first_line(exc)}"
            ) from None
        except (OSError, EOFError, paramiko.SSHException, ReadTimeout, ReadException) as exc:
            self._conn = None
            _close(conn)
            raise ConnectError(
                f"{target.name}: SSH session to {target.host}:{target.port} failed during login: "
                f"{self._redactor.redact(_first_line(exc))}"
            ) from None
        self._conn = conn
        self._watch_for_eof()
        if policy.learned is not None:
            self.host_key = "trusted-first-use"
            if self._known_hosts is not None:
                self._known_hosts.record(target.host, target.port, policy.learned)
        else:
            self.host_key = "verified"
        return self

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _close(conn)

    def __enter__(self) -> ApplianceSession:
        return self.open() if self._conn is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def usable(self) -> bool:
        return self._conn is not None and not self.broken

    # ------------------------------------------------------------------ commands

    def command(self, command: str, *, read_timeout: float | None = None) -> str:
        """One exec-mode command's output (its echo removed)."""
        return self.commands([command], read_timeout=read_timeout)[0]

    def commands(self, commands: Sequence[str], *, read_timeout: float | None = None) -> list[str]:
        """Exec-mode commands in one write and one read: one round trip for all of them."""
        if not commands:
            return []
        try:
            return self._exchange(commands, read_timeout=read_timeout or self.options.read_timeout)
        except SessionError:
            raise
        except Exception as exc:
            raise self._session_failure(exc, f"running {_describe(commands)}") from None

    def running_config(self) -> str:
        return self.command(self.driver.show_running)

    def running_and_listed(self, *more: str) -> tuple[str, frozenset[str] | None, list[str]]:
        """The running config, the keys of what the device lists of the lines it never shows
        (None where the platform has no such listing) and the outputs of `more`: one exchange."""
        listing = self.driver.unshown_listing
        outputs = self.commands([self.driver.show_running, *([listing.command] if listing else []), *more])
        if listing is None:
            return outputs[0], None, outputs[1:]
        return outputs[0], listing.keys(outputs[1]), outputs[2:]

    def mechanism(self, commands: Sequence[str], doing: str) -> list[str]:
        """Exec-mode commands of the commit-confirm mechanism (arm, confirm, abort); the first
        output that matches an error pattern raises CommandRejectedError naming its command."""
        outputs = self.commands(commands)
        error_pattern = re.compile(self.driver.error_pattern)
        for command, output in zip(commands, outputs, strict=False):
            match = error_pattern.search(output)
            if match:
                if not self._at_exec_prompt():
                    self._abandon_config()
                raise CommandRejectedError(
                    f"{self.target.name}: {doing}: {command!r} refused: {self._redactor.redact(_error_text(output, match))}",
                    line=command,
                    lines_sent=self.config_lines_sent,
                    output=self._redactor.redact("\n".join(outputs)),
                )
        return outputs

    def open_host_channel(self) -> None:
        """Start opening the channel of the next host command now, in the background.

        Called just before a CLI exchange that comes first anyway (the backup read before the
        arm, the verify read before the confirm): the channel's round trip rides along with it
        instead of costing one of its own. Opening a channel runs nothing on the appliance; one
        left unused goes with the session."""
        conn = self._require()
        if self._host_channel is None:
            self._host_channel = _OpeningChannel(conn.remote_conn_pre.get_transport(), self.options.read_timeout)

    def host_commands(self, commands: Sequence[str], doing: str) -> list[str]:
        """Commands for the appliance's host (FRR: `storestack-confirm revert`), each an SSH
        exec request on its own channel of this login, beside the CLI session; a non-zero exit
        status raises CommandRejectedError naming the command and what it printed."""
        conn = self._require()
        # A host command reads or writes the config as a save does (FRR's arm snapshots it).
        timeout = max(self.options.read_timeout, self.options.save_timeout)
        outputs = []
        for command in commands:
            opening, self._host_channel = self._host_channel, None
            try:
                channel = opening.channel() if opening is not None else None
                status, output = _exec_on_channel(
                    conn.remote_conn_pre.get_transport(), command, timeout, channel=channel
                )
            except Exception as exc:
                raise self._session_failure(exc, f"{doing} ({command!r})") from None
            if status != 0:
                raise CommandRejectedError(
                    f"{self.target.name}: {doing}: {command!r} refused (exit {status}): "
                    f"{self._redactor.redact(output.strip()) or 'no output'}",
                    line=command,
                    lines_sent=self.config_lines_sent,
                    output=self._redactor.redact(output),
                )
            outputs.append(output)
        return outputs

    def host_file_command(self, command: str, doing: str, *, stdin: bytes | None = None) -> str:
        """One host command that reads or writes a file (FRR's companion verbs): an exec request
        on a channel of its own, `stdin` sent whole and then closed; its output, not scanned for
        a challenge (a file's text may hold any line). A non-zero exit status raises
        CommandRejectedError with what it printed, redacted."""
        return self.start_host_file_command(command, doing, stdin=stdin).result()

    def start_host_file_command(self, command: str, doing: str, *, stdin: bytes | None = None) -> HostCommand:
        """`host_file_command` started in the background: its round trip rides along with what
        the caller does meanwhile (the backup read), `result()` waits for it."""
        conn = self._require()
        timeout = max(self.options.read_timeout, self.options.save_timeout)
        return HostCommand(self, conn.remote_conn_pre.get_transport(), command, doing, timeout, stdin)

    def arm_guard(self, command: str, backup: str, doing: str) -> str:
        """Start the change's guard on the appliance's host (FRR: `storestack-confirm arm 120
        stdin`, devices/frr_confirm.py `guard`) on the channel opened ahead, with the running
        config just backed up on its stdin, right behind the request; returns once it says it
        armed. It keeps running beside the CLI session until `confirm_guard`. A guard that ends
        instead raises CommandRejectedError with what it said."""
        conn = self._require()
        opening, self._host_channel = self._host_channel, None
        timeout = max(self.options.read_timeout, self.options.save_timeout)
        try:
            if opening is not None:
                channel = opening.channel()
            else:
                channel = conn.remote_conn_pre.get_transport().open_session(timeout=timeout)
            guard = _Guard(channel, command)
            guard.send(frr_confirm.snapshot_frame(backup))
            said = guard.read_line(_ARMED, timeout)
        except _GuardEnded as ended:
            raise self._guard_refused(command, doing, ended) from None
        except Exception as exc:
            raise self._session_failure(exc, f"{doing} ({command!r})") from None
        self._guard = guard
        return said

    def challenge_guard(self) -> None:
        """Ask the guard for its challenge now, without waiting: the answer comes back with the
        CLI exchange that follows (the verify read)."""
        if self._guard is not None:
            self._guard.ask_challenge()

    def confirm_guard(self, doing: str) -> str:
        """Answer the guard's challenge: it cancels the appliance's timer and ends. A challenge
        older than half its validity is asked for again (one round trip more)."""
        self._require()
        guard, self._guard = self._guard, None
        if guard is None:
            raise SessionLostError(f"{self.target.name}: {doing}: no guard runs on the appliance")
        timeout = self.options.read_timeout
        try:
            age = guard.challenge_age()
            if age is None or age > frr_confirm.CHALLENGE_TIMEOUT / 2:
                guard.ask_challenge()
            challenge = guard.challenge(timeout)
            guard.send(f"confirm {challenge}\n".encode())
            return guard.finish(timeout)
        except _GuardEnded as ended:
            raise self._guard_refused(guard.command, doing, ended) from None
        except Exception as exc:
            raise self._session_failure(exc, f"{doing} ({guard.command!r})") from None
        finally:
            guard.close()

    def _guard_refused(self, command: str, doing: str, ended: _GuardEnded) -> CommandRejectedError:
        output = self._redactor.redact(ended.output)
        return CommandRejectedError(
            f"{self.target.name}: {doing}: {command!r} refused (exit {ended.status}): {output.strip() or 'no output'}",
            line=command,
            lines_sent=self.config_lines_sent,
            output=output,
        )

    def configure(
        self,
        lines: Sequence[str],
        *,
        stop_on_error: bool = True,
        entered: bool = False,
        commit: str | None = None,
    ) -> list[str]:
        """Send config lines in one write, then find rejected lines in the echoed output.

        The lines are not sent one at a time waiting for each echo (a round trip per line over a
        WAN): the block goes down whole, with the commands that enter and leave configuration
        mode around it. A rejected line therefore does not stop the lines after it from being
        applied; the caller verifies by reading the running config back and rolls back from
        what is really there. Where each top-level block is a transaction committed by its
        closing line (FortiOS `config … end`), a block goes down without that line, which is
        sent with the next block only when every line of this one was accepted: a refused line
        leaves its block uncommitted.

        With stop_on_error, a rejection raises CommandRejectedError naming the first rejected
        line; without (rollback, which must do as much as it can), rejected lines are returned.
        Lines are never echoed into an error message unredacted.

        `entered`: configuration mode was entered already (IOS-XE's revert timer does that);
        `commit`: the command that makes the lines live, in place of the driver's own (VRP's
        `commit trial`).
        """
        if not lines:
            return []
        self._require()
        driver = self.driver
        rejected: list[tuple[str, str]] = []
        outputs: list[str] = []
        if driver.atomic_blocks:
            pending_close: list[str] = []
            for body, close in _top_level_blocks(lines, driver.block_opens, driver.block_closes):
                sent = [*pending_close, *body]
                batch = self._configure_batch(sent, sent)
                outputs += batch[len(pending_close) :]
                found = self._rejections(body, batch[len(pending_close) :])
                pending_close = []
                if found:
                    rejected += found
                    self._abandon_config()
                    if stop_on_error:
                        break
                elif close is not None:
                    pending_close = [close]
            if pending_close and not (rejected and stop_on_error):
                outputs += self._configure_batch(pending_close, pending_close)
        else:
            enter = [driver.config_enter] if driver.config_enter and not entered else []
            commit_command = commit or driver.commit_in(self.mode)
            commit_line = [commit_command] if commit_command else []
            sent = [*enter, *lines, *commit_line]
            if driver.config_enter:
                sent.append(driver.config_exit)
            batch = self._configure_batch(sent, lines)
            offset = len(enter)
            outputs = batch[offset : offset + len(lines)]
            rejected = self._rejections(lines, outputs)
            # A refused commit leaves every line uncommitted.
            rejected += self._rejections(
                commit_line, batch[offset + len(lines) : offset + len(lines) + len(commit_line)]
            )
        if not self._at_exec_prompt():
            self._abandon_config()
        if rejected and stop_on_error:
            shown, error = rejected[0]
            raise CommandRejectedError(
                f"{self.target.name}: line {shown!r} rejected: {error}"
                + (f" (and {len(rejected) - 1} more line(s))" if len(rejected) > 1 else ""),
                line=shown,
                lines_sent=self.config_lines_sent,
                output=self._redactor.redact("\n".join(outputs)),
            )
        return [shown for shown, _error in rejected]

    def _configure_batch(self, sent: Sequence[str], lines: Sequence[str]) -> list[str]:
        """One write of configuration commands; `lines` are the config lines among them."""
        # Every rename in the block changes the prompt from that line on.
        renamed = [m.group(1) for m in map(re.compile(self.driver.hostname_line).match, lines) if m]
        # The read timeout bounds a command; a block of many lines also gets a little per line.
        timeout = self.options.read_timeout + _SECONDS_PER_CONFIG_LINE * len(sent)
        try:
            return self._exchange(sent, read_timeout=timeout, also_hosts=renamed)
        except SessionError:
            raise
        except Exception as exc:
            raise self._session_failure(exc, "sending configuration") from None
        finally:
            self.config_lines_sent += len(lines)

    def _rejections(self, lines: Sequence[str], outputs: Sequence[str]) -> list[tuple[str, str]]:
        """(redacted line, redacted error) for every line whose output matches an error pattern."""
        error_pattern = re.compile(self.driver.error_pattern)
        found = []
        for line, output in zip(lines, outputs, strict=False):
            match = error_pattern.search(output)
            if match:
                found.append(
                    (self._redactor.redact(line.strip()), self._redactor.redact(_error_text(output, match)))
                )
        return found

    def save(self) -> str:
        """Save the running config the platform's way; a no-op where the platform saves itself."""
        command = self.driver.save_command
        if command is None:
            return ""
        self._require()
        confirmations = self.driver.save_confirmations
        try:
            if confirmations:
                output = self._send_until(command, self._confirm_or_prompt(), self.options.save_timeout)
                for pattern, answer in confirmations:
                    if re.search(pattern, output):
                        output += self._send_until(answer, self._prompt_at_end(), self.options.save_timeout)
            else:
                output = self._exchange([command], read_timeout=self.options.save_timeout)[0]
        except Exception as exc:
            failure = (
                exc
                if isinstance(exc, SessionError)
                else self._session_failure(exc, f"saving with {command!r}")
            )
            raise SaveError(f"{failure.message}") from None
        if not re.search(self.driver.save_success, output):
            raise SaveError(
                f"{self.target.name}: {command!r} did not confirm the save: "
                f"{self._redactor.redact(output.strip()[-200:])!r}"
            )
        return output

    # ------------------------------------------------------------------ exchanges

    def _read_login_prompt(self) -> None:
        """The prompt the appliance prints after login names it: no probe needed."""
        if not self.driver.login_prompt_consumed:
            output = self._read_until(
                lambda text: self._login_host(text) is not None, self.options.banner_timeout
            )
            self._set_host(self._login_host(output))
        probe = self.driver.mode_probe
        # The probe's prompt tells the mode; `config_exit` leaves the view it entered at once.
        self._pending_setup = (*self.driver.session_setup, *((probe, self.driver.config_exit) if probe else ()))

    def _login_host(self, output: str) -> str | None:
        last = output[output.rfind("\n") + 1 :]
        match = re.match(self.driver.login_prompt, last)
        return match.group("host") if match else None

    def _set_host(self, host: str | None) -> None:
        if host:
            self._host = host
            self._conn.base_prompt = host

    def _prompt_regex(self, also_hosts: Sequence[str] = ()) -> re.Pattern[str]:
        """Any prompt of this appliance, exec or configuration mode.

        Not anchored at a line start: a long write reaches a Linux appliance's terminal while
        its CLI runs the first lines, and the terminal echoes the rest at once, in front of the
        CLI's next prompt. Before the first prompt named the appliance (VRP), any name matches,
        so the prompt must start a line: `[primary]` in a description or `<…>` in a cipher's
        stored form would otherwise end the output there.
        """
        if self._host is None:
            hosts, start = self.driver.any_host, "(?m:^)"
        else:
            hosts, start = "|".join(_host_pattern(name) for name in (self._host, *also_hosts)), ""
        return re.compile(start + "(?:" + self.driver.any_prompt.replace("{host}", f"(?:{hosts})") + ")")

    def _exchange(
        self, commands: Sequence[str], *, read_timeout: float, also_hosts: Sequence[str] = ()
    ) -> list[str]:
        """Write the commands at once; read until the prompt after the last; outputs per command."""
        conn = self._require()
        setup, self._pending_setup = self._pending_setup, ()
        sent = [*setup, *commands]
        prompt = self._prompt_regex(also_hosts)
        conn.write_channel("".join(conn.normalize_cmd(command) for command in sent))
        seen = [0, 0, 0]  # prompts found, where the last one ended, how far the text was read

        def complete(text: str) -> bool:
            # A prompt may straddle two reads; none is longer than _LONGEST_PROMPT.
            for match in prompt.finditer(text, max(seen[1], seen[2] - _LONGEST_PROMPT)):
                seen[0] += 1
                seen[1] = match.end()
            seen[2] = len(text)
            return seen[0] >= len(sent) and not text[seen[1] :].strip()

        output = self._read_until(complete, read_timeout)
        self._last_prompt = output[output.rfind("\n") + 1 :]
        if self.driver.mode_probe and self.driver.mode_probe in setup:
            self._learn_mode([match.group(0) for match in prompt.finditer(output)], setup.index(self.driver.mode_probe))
        self._set_host(self._login_host(self._last_prompt))
        texts = prompt.split(output)
        results = [_without_echo(text, command) for text, command in zip(texts, sent, strict=False)]
        return results[len(setup) :]

    def _learn_mode(self, prompts: Sequence[str], probe: int) -> None:
        """The validation mode from the prompt the mode probe (command number `probe`) left."""
        if probe >= len(prompts):
            return
        for mode, pattern in self.driver.mode_prompts:
            if re.match(pattern, prompts[probe]):
                self.mode = mode
                return

    def _read_until(self, done: Any, timeout: float) -> str:
        """Read until `done(output)`; waits on the channel's socket, never in a polling loop."""
        conn = self._conn
        channel = conn.remote_conn
        deadline = time.monotonic() + timeout
        pager = re.compile(self.driver.more_prompt) if self.driver.more_prompt else None
        output = ""
        while True:
            chunk = conn.read_channel()
            if chunk:
                output += chunk
                # Only the end of the output can hold the pager's prompt.
                paged = (
                    pager.search(output, max(0, len(output) - _LONGEST_PROMPT)) if pager is not None else None
                )
                if paged is not None:
                    # The pager erases its prompt after the key: that leaves a blank line, which
                    # the platform's diff ignores.
                    output = output[: paged.start()]
                    conn.write_channel(" ")
                    continue
                if done(output):
                    return output
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReadTimeout(f"no prompt within {timeout:g} s")
            if isinstance(channel, paramiko.Channel):
                select.select([channel], [], [], min(remaining, 1.0))
            else:
                time.sleep(0.01)

    def _send_until(self, text: str, pattern: str, timeout: float) -> str:
        conn = self._require()
        conn.write_channel(conn.normalize_cmd(text))
        compiled = re.compile(pattern)
        return self._read_until(lambda output: compiled.search(output) is not None, timeout)

    def _prompt_at_end(self) -> str:
        return self.driver.prompt("exec", self._host or self._conn.base_prompt)

    def _confirm_or_prompt(self) -> str:
        return "|".join([self._prompt_at_end(), *(pattern for pattern, _ in self.driver.save_confirmations)])

    def _at_exec_prompt(self) -> bool:
        """Whether the last exchange ended in exec mode (read from the prompt already seen)."""
        return re.search(self._prompt_at_end(), self._last_prompt) is not None

    # ------------------------------------------------------------------ internals

    def _require(self) -> Any:
        if self._conn is None:
            raise SessionLostError(f"{self.target.name}: no open session")
        if self.broken:
            raise SessionLostError(f"{self.target.name}: the session broke earlier and is not reused")
        return self._conn

    def _session_failure(self, exc: BaseException, doing: str) -> SessionError:
        self.broken = True
        if isinstance(exc, ReadTimeout) and self._transport_alive():
            return CommandTimeoutError(
                f"{self.target.name}: no prompt within the read timeout while {doing}; session abandoned"
            )
        return SessionLostError(
            f"{self.target.name}: session lost while {doing}: {self._redactor.redact(_first_line(exc)) or type(exc).__name__}"
        )

    def _transport_alive(self) -> bool:
        conn = self._conn
        try:
            channel = conn.remote_conn
            return bool(
                channel.get_transport().is_active() and not channel.closed and not channel.eof_received
            )
        except Exception:
            return False

    def _watch_for_eof(self) -> None:
        """Make a closed channel raise at once instead of waiting out the read timeout."""
        conn = self._conn
        channel = getattr(conn, "channel", None)
        remote = getattr(conn, "remote_conn", None)
        if channel is None or not isinstance(remote, paramiko.Channel):
            return
        read = channel.read_channel

        def read_or_eof() -> str:
            data = str(read())
            if not data and (remote.closed or remote.eof_received):
                raise EOFError("the appliance closed the session")
            return data

        channel.read_channel = read_or_eof

    def _abandon_config(self) -> None:
        """After a rejected line, get back to exec mode (nested blocks each need their own exit).

        Where blocks are transactions, the block is abandoned (`abort`), never committed: its
        closing line is sent only to leave a nested level whose `abort` was refused.
        """
        driver = self.driver
        error_pattern = re.compile(driver.error_pattern)
        try:
            for _ in range(8):
                if self._at_exec_prompt():
                    return
                if driver.abandon_command is not None:
                    output = self._exchange([driver.abandon_command], read_timeout=self.options.read_timeout)[
                        0
                    ]
                    if not error_pattern.search(output):
                        continue
                self._exchange([driver.config_exit], read_timeout=self.options.read_timeout)
        except SessionError:
            raise
        except Exception as exc:
            raise self._session_failure(exc, "leaving configuration mode") from None
        self.broken = True

    def _session_log(self) -> SessionLog | None:
        directory = self.options.session_log_dir
        if directory is None:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        path = directory / f"{self.target.name}.log"
        # Created 0600 before Netmiko opens it for appending.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        return _RedactedSessionLog(str(path), self._redactor)


class _PromptSocket(socket.socket):
    """A TCP socket that sends small packets at once and acknowledges what it receives at once.

    A CLI session is a string of small request/answer exchanges. sshd keeps Nagle's algorithm on
    until the session has a terminal, so an answer it writes while its previous packet is not
    yet acknowledged waits for our ACK, and Linux delays an ACK by up to 40 ms: the key
    exchange, the authentication and the channel open each waited for one (a login took 200 ms
    on loopback instead of 105 ms). Nagle is off here for the same reason in the other
    direction; TCP_QUICKACK is Linux's and does not stay set, so it is set before each read.
    """

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if _TCP_QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        return super().recv(bufsize, flags)


_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def open_appliance_socket(target: ApplianceTarget, timeout: float) -> socket.socket:
    """The TCP connection to an appliance's SSH port (every address it resolves to, in turn)."""
    failure: OSError | None = None
    try:
        addresses = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"{target.name}: cannot resolve {target.host}: {_first_line(exc)}") from None
    for family, kind, protocol, _name, address in addresses:
        sock = _PromptSocket(family, kind, protocol)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    reason = (failure.strerror or str(failure)) if failure is not None else "no address"
    raise ConnectError(f"{target.name}: cannot connect to {target.host}:{target.port}: {reason}")


def _close(conn: Any) -> None:
    """Close a Netmiko connection without a polite `exit`/`quit` (some CLIs take seconds to answer it).

    The transport goes first (`paramiko_cleanup`), so the driver's logout inside Netmiko's
    `disconnect` fails at once on the closed channel instead of waiting for a prompt;
    `disconnect` then closes the session log and unregisters the connection's secret filter
    from Netmiko's logger.
    """
    with contextlib.suppress(Exception):
        conn.paramiko_cleanup()
    with contextlib.suppress(Exception):
        conn.disconnect()


class _OpeningChannel:
    """An SSH session channel being opened in a background thread (`channel()` waits for it)."""

    def __init__(self, transport: paramiko.Transport, timeout: float) -> None:
        self._opened: paramiko.Channel | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._open, args=(transport, timeout), daemon=True)
        self._thread.start()

    def _open(self, transport: paramiko.Transport, timeout: float) -> None:
        try:
            self._opened = transport.open_session(timeout=timeout)
        except BaseException as exc:  # raised in the caller's thread by channel()
            self._failure = exc

    def channel(self) -> paramiko.Channel:
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        assert self._opened is not None
        return self._opened


class HostCommand:
    """A host command running in a background thread (`ApplianceSession.start_host_file_command`)."""

    def __init__(
        self,
        session: ApplianceSession,
        transport: paramiko.Transport,
        command: str,
        doing: str,
        timeout: float,
        stdin: bytes | None,
    ) -> None:
        self._session = session
        self.command = command
        self._doing = doing
        self._done: tuple[int, str, str] | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(transport, timeout, stdin), daemon=True, name="host-command"
        )
        self._thread.start()

    def _run(self, transport: paramiko.Transport, timeout: float, stdin: bytes | None) -> None:
        try:
            self._done = _exec_on_channel_split(transport, self.command, timeout, stdin=stdin)
        except BaseException as exc:  # raised in the caller's thread by result()
            self._failure = exc

    def result(self) -> str:
        self._thread.join()
        session = self._session
        if self._failure is not None:
            raise session._session_failure(self._failure, f"{self._doing} ({self.command!r})") from None
        assert self._done is not None
        status, output, errors = self._done
        if status != 0:
            output = output + errors
            shown = session._redactor.redact(output.strip()) or "no output"
            raise CommandRejectedError(
                f"{session.target.name}: {self._doing}: {self.command!r} refused (exit {status}): {shown}",
                line=self.command,
                lines_sent=session.config_lines_sent,
                output=session._redactor.redact(output),
            )
        return output


def _exec_on_channel(
    transport: paramiko.Transport, command: str, timeout: float, *, channel: paramiko.Channel | None = None
) -> tuple[int, str]:
    """`_exec_on_channel_split` answering a challenge, with stdout then stderr in one text."""
    status, out, err = _exec_on_channel_split(transport, command, timeout, channel=channel, challenges=True)
    return status, out + err


def _exec_on_channel_split(
    transport: paramiko.Transport,
    command: str,
    timeout: float,
    *,
    channel: paramiko.Channel | None = None,
    stdin: bytes | None = None,
    challenges: bool = False,
) -> tuple[int, str, str]:
    """Run one exec request, on `channel` if one was opened ahead; (exit status, stdout,
    stderr: sshd and the login's shell may write there, e.g. "Could not chdir to home
    directory"). `stdin` is sent whole, then closed. Bounded by `timeout` in all.

    A command that prints a challenge line (`challenge TOKEN`, FRR's `storestack-confirm
    confirm`) gets the token back on its stdin: the proof that its output reaches us."""
    deadline = time.monotonic() + timeout
    if channel is None:
        channel = transport.open_session(timeout=timeout)
    try:
        channel.exec_command(command)
        if stdin is not None:
            channel.sendall(stdin)
            channel.shutdown_write()
        out, err = bytearray(), bytearray()
        answered = not challenges
        while True:
            while channel.recv_ready():
                out += channel.recv(65536)
            if not answered:
                challenge = _CHALLENGE.search(out.decode("utf-8", "replace"))
                if challenge is not None:
                    channel.sendall(f"{challenge.group(1)}\n".encode())
                    answered = True
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            # Done when it exited and sent everything (EOF: no process of it holds the channel).
            ended = channel.eof_received or channel.closed
            if channel.exit_status_ready() and ended and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReadTimeout(f"{command!r} did not finish within {timeout:g} s")
            _wait_on_channel(channel, remaining)
        status = channel.recv_exit_status()
    finally:
        channel.close()
    return status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _wait_on_channel(channel: paramiko.Channel, remaining: float) -> None:
    """Until an exec channel has news: output, its end (EOF), or its exit status.

    Before EOF the channel's socket-like pipe wakes `select` for output and for the EOF. After
    the EOF that pipe stays readable for good, so `select` would return at once, every time,
    while the exit status (which may come after the EOF) is still on its way: the caller's loop
    would spin. Then the wait is on paramiko's `status_event`, which the exit status (or the
    channel's close) sets."""
    bound = min(remaining, 1.0)
    if channel.eof_received or channel.closed:
        channel.status_event.wait(bound)
    else:
        select.select([channel], [], [], bound)


_ARMED = re.compile(r"^armed\b.*$", re.MULTILINE)


class _GuardEnded(Exception):
    """The guard ended (exit status, what it printed) before saying what was waited for."""

    def __init__(self, status: int, output: str) -> None:
        super().__init__(output)
        self.status = status
        self.output = output


class _Guard:
    """A host command that runs beside the CLI session and talks in lines (frr_confirm.guard)."""

    def __init__(self, channel: paramiko.Channel, command: str) -> None:
        self.channel = channel
        self.command = command
        self.out = ""
        self.err = ""
        self._asked = 0
        self._asked_at: float | None = None
        # paramiko's public exec_command waits for the server's answer to the request: one round
        # trip, which we pay rather than build the SSH message by hand from its private parts.
        channel.exec_command(command)

    def send(self, data: bytes) -> None:
        self.channel.sendall(data)

    def ask_challenge(self) -> None:
        self.send(b"challenge\n")
        self._asked += 1
        self._asked_at = time.monotonic()

    def challenge_age(self) -> float | None:
        return None if self._asked_at is None else time.monotonic() - self._asked_at

    def challenge(self, timeout: float) -> str:
        """The token of the last challenge asked for: only that one counts. (The guard answers
        each request with one line, in order; the earlier ones may not have been read yet.)"""
        self._wait(lambda: len(_CHALLENGE.findall(self.out)) >= self._asked, timeout)
        return str(_CHALLENGE.findall(self.out)[self._asked - 1])

    def read_line(self, pattern: re.Pattern[str], timeout: float) -> str:
        self._wait(lambda: pattern.search(self.out) is not None, timeout)
        match = pattern.search(self.out)
        assert match is not None
        return match.group(0)

    def finish(self, timeout: float) -> str:
        """Wait for the guard to end; its output when it ended well (exit 0)."""
        try:
            self._wait(lambda: False, timeout)
        except _GuardEnded as ended:
            if ended.status == 0:
                return ended.output
            raise
        raise AssertionError("unreachable: only the guard's end stops the wait")

    def _wait(self, done: Any, timeout: float) -> str:
        """Read until `done()`; _GuardEnded when the guard ends first (exit 0 included, with
        everything it printed), ReadTimeout after `timeout`."""
        channel = self.channel
        deadline = time.monotonic() + timeout
        while True:
            while channel.recv_ready():
                self.out += channel.recv(65536).decode("utf-8", "replace")
            while channel.recv_stderr_ready():
                self.err += channel.recv_stderr(65536).decode("utf-8", "replace")
            if done():
                return self.out
            if channel.exit_status_ready() and (channel.eof_received or channel.closed):
                if not channel.recv_ready() and not channel.recv_stderr_ready():
                    raise _GuardEnded(channel.recv_exit_status(), self.out + self.err)
                continue
            if channel.closed:
                raise paramiko.SSHException(f"the appliance closed the channel of {self.command!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReadTimeout(f"{self.command!r} did not answer within {timeout:g} s")
            _wait_on_channel(channel, remaining)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text


def _error_text(output: str, match: re.Match[str]) -> str:
    start = output.rfind("\n", 0, match.start()) + 1
    end = output.find("\n", match.end())
    return output[start : end if end != -1 else len(output)].strip()


def _describe(commands: Sequence[str]) -> str:
    return repr(commands[0]) if len(commands) == 1 else f"{len(commands)} commands starting {commands[0]!r}"


def _host_pattern(host: str) -> str:
    """A host name as its prompts show it: IOS shortens long names in configuration mode."""
    if len(host) > 16:
        return re.escape(host[:16]) + r"[^\s#<>()\[\]]*"
    return re.escape(host)


def _without_echo(text: str, command: str) -> str:
    """A command's output: what follows its echo (the rest of the prompt's line)."""
    first_end = text.find("\n")
    first = text if first_end == -1 else text[:first_end]
    if first.strip() == command.strip() or not first.strip():
        return "" if first_end == -1 else text[first_end + 1 :]
    return text


def _top_level_blocks(
    lines: Sequence[str], opens: tuple[str, ...], closes: tuple[str, ...]
) -> list[tuple[list[str], str | None]]:
    """Lines split into top-level blocks: (the block without its closing line, that line or None).

    Nesting is counted with the words that open and close a level (FortiOS: `config`/`edit` and
    `end`/`next`); indentation is not trusted, remediation writers indent closing lines freely.
    """
    blocks: list[tuple[list[str], str | None]] = []
    body: list[str] = []
    depth = 0
    for line in lines:
        word = line.strip()
        if word in closes and depth > 0:
            depth -= 1
            if depth == 0:
                blocks.append((body, line))
                body = []
                continue
        elif word.startswith(opens):
            depth += 1
        body.append(line)
    if body:
        blocks.append((body, None))
    return blocks
