"""One SSH session to one appliance, through Netmiko with the platform's driver.

The session does backup, diff, apply and verify over a single login: that, and sending only
the remediation lines, is what makes a push of hundreds of appliances fast.

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

from storestack.devices.configdiff import Redactor
from storestack.devices.drivers import PlatformDriver, driver_for
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
        self.broken = False
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
            # Only our fingerprint policy decides; no ~/.ssh/known_hosts, agent or key files.
            system_host_keys=False,
            alt_host_keys=False,
            use_keys=False,
            allow_agent=False,
            session_log=self._session_log(),
        )
        conn.key_policy = policy
        try:
            # Netmiko's `_open`, without the blind newline and fixed 0.1 s sleep before the
            # session preparation: every driver used here reads its own prompt (a tenth of a
            # second per login, and a login is most of a no-op push).
            conn._modify_connection_params()
            conn.establish_connection()
            conn._try_session_preparation(force_data=False)
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
            raise ConnectError(f"{target.name}: cannot connect to {target.host}:{target.port}: {_first_line(exc)}") from None
        except (OSError, EOFError, paramiko.SSHException, ReadTimeout, ReadException) as exc:
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

    def command(self, command: str, *, read_timeout: float | None = None, expect: str | None = None) -> str:
        conn = self._require()
        # Commands run in exec mode. Naming the exec prompt spares Netmiko a prompt probe (a
        # newline and a wait) before every command: a sixth of a small push's time.
        kwargs: dict[str, Any] = {
            "read_timeout": read_timeout or self.options.read_timeout,
            "expect_string": expect if expect is not None else self.driver.prompt("exec", conn.base_prompt),
        }
        try:
            return str(conn.send_command(command, **kwargs))
        except Exception as exc:
            raise self._session_failure(exc, f"running {command!r}") from None

    def running_config(self) -> str:
        return self.command(self.driver.show_running)

    def configure(self, lines: Sequence[str], *, stop_on_error: bool = True) -> list[str]:
        """Send config lines one by one in config mode, checking each against the error pattern.

        With stop_on_error, the first rejected line raises CommandRejectedError and nothing after
        it is sent. Without (used by rollback, which must do as much as it can), rejected lines
        are returned. Lines are never echoed into an error message unredacted.
        """
        if not lines:
            return []
        conn = self._require()
        rejected: list[str] = []
        error_pattern = re.compile(self.driver.error_pattern)
        hostname_line = re.compile(self.driver.hostname_line)
        try:
            self._enter_config()
            for line in lines:
                output = conn.send_config_set(
                    [line],
                    enter_config_mode=False,
                    exit_config_mode=False,
                    cmd_verify=True,
                    read_timeout=self.options.read_timeout,
                )
                self.config_lines_sent += 1
                match = error_pattern.search(output)
                if match:
                    shown = self._redactor.redact(line.strip())
                    if stop_on_error:
                        raise CommandRejectedError(
                            f"{self.target.name}: line {shown!r} rejected: {self._redactor.redact(_error_text(output, match))}",
                            line=shown,
                            lines_sent=self.config_lines_sent,
                            output=self._redactor.redact(output),
                        )
                    rejected.append(shown)
                    continue
                renamed = hostname_line.match(line)
                if renamed:
                    # The prompt follows the new name; Netmiko finds prompts by the old one.
                    conn.base_prompt = renamed.group(1)
            self._exit_config()
        except CommandRejectedError:
            self._abandon_config()
            raise
        except Exception as exc:
            raise self._session_failure(exc, "sending configuration") from None
        return rejected

    def save(self) -> str:
        """Save the running config the platform's way; a no-op where the platform saves itself."""
        command = self.driver.save_command
        if command is None:
            return ""
        conn = self._require()
        # Anchored at the end of the output: the bare name also appears in what save prints
        # (FRR: "saved to /etc/frr/<name>/frr.conf").
        prompt = self.driver.prompt("exec", conn.base_prompt)
        confirmations = self.driver.save_confirmations
        expect = "|".join([prompt, *(pattern for pattern, _ in confirmations)])
        try:
            output = str(conn.send_command(command, expect_string=expect, read_timeout=self.options.save_timeout))
            for pattern, answer in confirmations:
                if re.search(pattern, output):
                    output += str(
                        conn.send_command(answer, expect_string=prompt, read_timeout=self.options.save_timeout)
                    )
        except Exception as exc:
            failure = self._session_failure(exc, f"saving with {command!r}")
            raise SaveError(f"{failure.message}") from None
        if not re.search(self.driver.save_success, output):
            raise SaveError(
                f"{self.target.name}: {command!r} did not confirm the save: "
                f"{self._redactor.redact(output.strip()[-200:])!r}"
            )
        return output

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
            return bool(channel.get_transport().is_active() and not channel.closed and not channel.eof_received)
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

    def _enter_config(self) -> None:
        command = self.driver.config_enter
        if command is not None:
            conn = self._conn
            conn.send_command(
                command,
                expect_string=self.driver.prompt("config", conn.base_prompt),
                read_timeout=self.options.read_timeout,
            )

    def _exit_config(self) -> None:
        conn = self._conn
        exec_prompt = self.driver.prompt("exec", conn.base_prompt)
        if self.driver.config_enter is None and re.search(exec_prompt, conn.find_prompt() + " "):
            return  # the lines sent closed every block themselves
        conn.send_command(self.driver.config_exit, expect_string=exec_prompt, read_timeout=self.options.read_timeout)

    def _abandon_config(self) -> None:
        """After a rejected line, get back to exec mode (nested blocks each need their own exit)."""
        conn = self._conn
        exec_prompt = self.driver.prompt("exec", conn.base_prompt)
        try:
            for _ in range(8):
                prompt = conn.find_prompt() + " "
                if re.search(exec_prompt, prompt):
                    return
                conn.send_command(self.driver.config_exit, expect_string=r"[#>\]]\s*$", read_timeout=self.options.read_timeout)
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


def _close(conn: Any) -> None:
    """Close the SSH transport without a polite `exit`/`quit` (some CLIs take seconds to answer it)."""
    with contextlib.suppress(Exception):
        conn.paramiko_cleanup()
    with contextlib.suppress(Exception):
        if conn.remote_conn_pre is not None:
            conn.remote_conn_pre.close()
    with contextlib.suppress(Exception):
        if conn.session_log:
            conn.session_log.close()
    with contextlib.suppress(Exception):
        from netmiko.base_connection import log

        log.removeFilter(conn._secrets_filter)


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
