"""storestack-confirm: the commit-confirm timer of an FRR appliance's Linux host, and its login.

IOS-XE, VRP and FortiOS revert an unconfirmed change by themselves; FRR has no such command, so
the host around it does it. This file is the program installed on the appliance (stdlib only,
run by the host's own python3, which FRR's `frr-reload.py` needs anyway):

    python3 -I -S /usr/lib/storestack/storestack-confirm --config /etc/storestack/confirm.json VERB

Verbs, each one line of output (errors on stderr, exit status 1):

- `arm SECONDS`: snapshot the running config (`vtysh -c 'show running-config'`) and the watched
  host files, then start a detached timer that survives the SSH session. Refused while a timer
  is armed, and when `frr-reload.py` is missing: a timer that cannot revert is never armed.
- `confirm`: cancel the timer, after a round trip: it prints `challenge TOKEN` and waits for the
  token on its stdin. A change that cut only the way back (a blackhole route to the management
  station) lets the confirm arrive but not its answer, so it must not count. Fails when nothing
  is armed, which after an `arm` means the timer ran out and the appliance reverted: the push
  engine then reports a failed confirm, not success.
- `revert`: revert now and disarm (the push engine's abort of a change that failed).
- `status`: JSON: armed or not, seconds left, the last outcome.

When the timer runs out it puts the snapshot back with FRR's own reload, `frr-reload.py
--reload`, which computes the difference between the running config and the file and applies
it, deletions included (a second pass if one did not converge). `vtysh -f` is not used: it only
adds lines, it would leave a bad route or a shut interface in place. Watched host files that
changed since `arm` are written back and their reload command run (nftables, swanctl …), before
FRR, so the routing config lands on the host it was made for. FRR's saved config is never
touched: the push engine saves only after it confirmed, so an appliance that reboots while armed
comes back on the saved (old) config, and a stale timer state found at the next `arm` is
discarded.

**The login** (`login`, the sshd `ForceCommand` of the push engine's account) is a restricted
command set, not a shell: without a command it execs `vtysh` (the push's interactive session);
with `storestack-confirm arm N|confirm|revert|status` (an SSH exec request, on its own channel of
the push's login) it runs that verb; anything else is refused. The account needs only the `frr`
and `frrvty` groups and its own state directory (0700): vtysh and frr-reload.py talk to the
daemons over their group-owned sockets. Writing back and reloading watched host files (nft,
swanctl) needs root, which that account lacks: where a config lists them, the login must run as
root (sudo limited to this exact command); with the plain account, list none.

The configuration (JSON, root-owned, readable by the account):
`{"state_dir": "/var/lib/storestack-confirm", "pathspace": null,
  "host_files": [{"path": "/etc/nftables.conf", "reload": ["nft", "-f", "/etc/nftables.conf"]}]}`
(`pathspace`: FRR's `-N`, one FRR instance of several on a host, as in the lab).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import secrets
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROGRAM = "storestack-confirm"
# The timer's bounds, in seconds: long enough for the reload itself, short enough that a store
# cut off by a change is back within the hour. The platform registry clamps to these.
MIN_TIMER = 10
MAX_TIMER = 3600
# What an SSH exec request may ask for; anything else is refused.
_ALLOWED = re.compile(rf"^{PROGRAM} (?:arm (?P<seconds>\d{{1,5}})|(?P<verb>confirm|revert|status))$")
# `confirm` prints this and a token, and cancels the timer only when the token comes back on
# its stdin: the confirm proves the way back from the appliance still works.
CHALLENGE_PREFIX = "challenge "
CHALLENGE_TIMEOUT = 10.0
# How long `arm` waits for the timer process to show up in /proc before it gives up.
TIMER_START_TIMEOUT = 10.0
VTYSH = "/usr/bin/vtysh"
FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
RELOAD_TIMEOUT = 120.0
_BANNER = re.compile(r"^(Building configuration|Current configuration)")
_RUNNING_NOISE = re.compile(r"^(Building configuration|Current configuration|frr version |end$|!)")


class _VerbError(Exception):
    """A verb that cannot do what it was asked; the message is for the operator. (Private: it
    never leaves this program, which runs on the appliance without storestack's errors.)"""


@dataclass(frozen=True)
class HostFile:
    path: Path
    reload: tuple[str, ...]


@dataclass(frozen=True)
class ConfirmConfig:
    state_dir: Path = Path("/var/lib/storestack-confirm")
    pathspace: str | None = None
    host_files: tuple[HostFile, ...] = ()
    vtysh: str = VTYSH
    frr_reload: str = FRR_RELOAD
    # The file this was read from: the timer started by `arm` reads the same one.
    source: Path | None = None

    @classmethod
    def load(cls, path: Path) -> ConfirmConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            source=path,
            state_dir=Path(data.get("state_dir", cls.state_dir)),
            pathspace=data.get("pathspace"),
            host_files=tuple(
                HostFile(Path(item["path"]), tuple(item.get("reload", ()))) for item in data.get("host_files", ())
            ),
            vtysh=data.get("vtysh", VTYSH),
            frr_reload=data.get("frr_reload", FRR_RELOAD),
        )

    def vtysh_argv(self, *args: str) -> list[str]:
        return [self.vtysh, *(["-N", self.pathspace] if self.pathspace else []), *args]


@dataclass
class Armed:
    """The state file of an armed timer."""

    token: str
    pid: int
    armed_at: float
    deadline: float
    timeout_s: int
    host_files: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- files of the state dir


def _state_file(config: ConfirmConfig) -> Path:
    return config.state_dir / "armed.json"


def _last_file(config: ConfirmConfig) -> Path:
    return config.state_dir / "last.json"


def backup_file(config: ConfirmConfig) -> Path:
    return config.state_dir / "backup.conf"


def _saved_host_file(config: ConfirmConfig, index: int) -> Path:
    return config.state_dir / f"host-file-{index}"


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    """Atomic: a reader (or a revert after a crash) never sees half a file. (This program runs
    on the appliance without storestack, so not storestack.common.files.)"""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    # No fsync: nothing here must outlive a reboot (the timer does not, and the saved config is
    # the old one), and on a busy host it would cost the arm seconds.
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _read_armed(config: ConfirmConfig) -> Armed | None:
    try:
        return Armed(**json.loads(_state_file(config).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def _write_armed(config: ConfirmConfig, armed: Armed) -> None:
    _write(_state_file(config), json.dumps(armed.__dict__) + "\n")


def _record_last(config: ConfirmConfig, outcome: str, detail: str) -> None:
    _write(_last_file(config), json.dumps({"outcome": outcome, "at": time.time(), "detail": detail}) + "\n")


def _read_last(config: ConfirmConfig) -> dict[str, Any] | None:
    try:
        last: dict[str, Any] = json.loads(_last_file(config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return last


@contextlib.contextmanager
def _locked(config: ConfirmConfig) -> Iterator[None]:
    """One verb or one timer expiry at a time: a confirm racing the timer sees its outcome."""
    config.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(config.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- the appliance


def running_config(config: ConfirmConfig) -> str:
    """The running config as a file FRR loads: without the banner lines `show` prints first."""
    result = subprocess.run(
        config.vtysh_argv("-c", "show running-config"), capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise _VerbError(f"cannot read the running config: {(result.stderr or result.stdout).strip()}")
    lines = result.stdout.splitlines()
    while lines and (not lines[0].strip() or _BANNER.match(lines[0])):
        lines.pop(0)
    return "\n".join(lines) + "\n"


def config_lines(text: str) -> list[str]:
    """A config's lines without FRR's header and separators: what a reload must make equal."""
    return [line.rstrip() for line in text.splitlines() if line.strip() and not _RUNNING_NOISE.match(line.strip())]


def _timer_alive(armed: Armed) -> bool:
    """The armed timer process still runs (its pid, running this program)."""
    try:
        cmdline = Path(f"/proc/{armed.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"timer" in cmdline and armed.token.encode() in cmdline


def _stop_timer(armed: Armed) -> None:
    if _timer_alive(armed):
        with contextlib.suppress(ProcessLookupError):
            os.kill(armed.pid, signal.SIGTERM)


def _restore_host_files(config: ConfirmConfig, armed: Armed) -> list[str]:
    """Watched host files that changed since `arm` go back, and their reload runs; what was done."""
    done: list[str] = []
    for index, host_file in enumerate(config.host_files):
        if str(host_file.path) not in armed.host_files:
            continue
        saved = _saved_host_file(config, index)
        before = saved.read_bytes() if saved.exists() else None
        now = host_file.path.read_bytes() if host_file.path.exists() else None
        if now == before:
            continue
        if before is None:
            host_file.path.unlink(missing_ok=True)
        else:
            mode = host_file.path.stat().st_mode & 0o777 if host_file.path.exists() else 0o644
            _write(host_file.path, before.decode("utf-8"), mode)
        if host_file.reload:
            result = subprocess.run(
                list(host_file.reload), capture_output=True, text=True, timeout=RELOAD_TIMEOUT, check=False
            )
            if result.returncode != 0:
                done.append(f"{host_file.path} restored, reload failed: {(result.stderr or result.stdout).strip()}")
                continue
        done.append(f"{host_file.path} restored")
    return done


def _reload_frr(config: ConfirmConfig) -> str:
    """FRR back on the snapshot with frr-reload.py; a second pass when one did not converge."""
    backup = backup_file(config)
    wanted = config_lines(backup.read_text(encoding="utf-8"))
    argv = [
        config.frr_reload,
        "--reload",
        "--stdout",
        "--rundir",
        str(config.state_dir),
        *(["--pathspace", config.pathspace] if config.pathspace else []),
        str(backup),
    ]
    problems = ""
    for attempt in (1, 2):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=RELOAD_TIMEOUT, check=False)
        if result.returncode != 0:
            problems = (result.stderr or result.stdout).strip()[-400:]
        if config_lines(running_config(config)) == wanted:
            return f"FRR reloaded the backup in {attempt} pass(es)"
    raise _VerbError(f"FRR still differs from the backup after 2 reloads: {problems or 'no error reported'}")


def _revert(config: ConfirmConfig, armed: Armed, why: str) -> str:
    """Put everything armed back; the state goes, whatever happens, so nothing reverts twice."""
    try:
        done = _restore_host_files(config, armed)
        done.append(_reload_frr(config))
    except (_VerbError, OSError, subprocess.SubprocessError) as exc:
        _record_last(config, "revert-failed", f"{why}: {exc}")
        raise _VerbError(f"{why}, but the revert failed: {exc}") from None
    finally:
        _state_file(config).unlink(missing_ok=True)
    detail = f"{why}: " + "; ".join(done)
    _record_last(config, "reverted", detail)
    return detail


# ---------------------------------------------------------------------- verbs


def arm(config: ConfirmConfig, seconds: int, *, program: str) -> str:
    if not MIN_TIMER <= seconds <= MAX_TIMER:
        raise _VerbError(f"the timer takes {MIN_TIMER} to {MAX_TIMER} seconds, got {seconds}")
    if not os.access(config.frr_reload, os.X_OK):
        raise _VerbError(
            f"cannot arm: {config.frr_reload} is missing (Debian: frr-pythontools), nothing could revert the change"
        )
    with _locked(config):
        armed = _read_armed(config)
        if armed is not None and _timer_alive(armed):
            left = max(0, round(armed.deadline - time.time()))
            raise _VerbError(
                f"a timer is armed already: it reverts an earlier, unconfirmed change in {left} s; push "
                f"again after that, or end it now with `{PROGRAM} revert`"
            )
        # A state without its timer is left from before a reboot: the saved config is running.
        _state_file(config).unlink(missing_ok=True)
        _write(backup_file(config), running_config(config))
        watched = []
        for index, host_file in enumerate(config.host_files):
            saved = _saved_host_file(config, index)
            saved.unlink(missing_ok=True)
            if host_file.path.exists():
                _write(saved, host_file.path.read_text(encoding="utf-8"))
            watched.append(str(host_file.path))
        now = time.time()
        token = secrets.token_hex(8)
        # The state goes down before the timer starts: a timer that reads no state (or another
        # token) ends at once, so on a busy host it must never start ahead of its own state.
        armed = Armed(token, 0, now, now + seconds, seconds, watched)
        _write_armed(config, armed)
        try:
            armed.pid = _start_timer(config, program, token)
        except (OSError, _VerbError):
            _state_file(config).unlink(missing_ok=True)
            raise
        _write_armed(config, armed)
    return f"armed: reverts to the running config of now in {seconds} s unless confirmed"


def _start_timer(config: ConfirmConfig, program: str, token: str) -> int:
    """A detached process (own session, no terminal, nothing of the SSH channel open) that runs
    `timer TOKEN`: it outlives the login that armed it, which is the point."""
    options = ["--config", str(config.source)] if config.source else []
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", program, *options, "timer", token],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    # Popen returns once the exec has begun, but /proc shows the new command line a moment later;
    # until it does, `status` and a second `arm` could not recognise the timer. Wait for it, and
    # never report armed with a timer that died on its way up.
    deadline = time.monotonic() + TIMER_START_TIMEOUT
    while not _timer_alive(Armed(token, process.pid, 0.0, 0.0, 0)):
        if process.poll() is not None or time.monotonic() > deadline:
            raise _VerbError("the timer did not start: nothing would revert the change, so nothing is armed")
        time.sleep(0.01)
    return process.pid


def timer(config: ConfirmConfig, token: str) -> None:
    """The detached timer: sleep until the deadline, then revert unless confirmed meanwhile."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        armed = _read_armed(config)
        if armed is None or armed.token != token:
            return
        left = armed.deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(left, 5.0))
    with _locked(config):
        armed = _read_armed(config)
        if armed is None or armed.token != token:
            return  # confirmed or reverted while we waited for the lock
        with contextlib.suppress(_VerbError):
            _revert(config, armed, f"not confirmed within {armed.timeout_s} s")


def confirm(config: ConfirmConfig, answer: Callable[[str], str | None]) -> str:
    """Cancel the timer, once whoever confirms proved they still hear the appliance: `answer`
    gets a fresh challenge and must return it. A change that cut the way back to the push lets
    the confirm itself arrive; its answer does not, and the timer stays armed."""
    with _locked(config):
        armed = _read_armed(config)
        if armed is None:
            last = _read_last(config)
            said = f" (last: {last['outcome']}: {last['detail']})" if last else ""
            raise _VerbError(f"nothing is armed to confirm{said}")
        challenge = secrets.token_hex(8)
        if answer(challenge) != challenge:
            raise _VerbError(
                f"the challenge was not answered within {CHALLENGE_TIMEOUT:g} s: the way back from this "
                "appliance may be cut, the timer stays armed"
            )
        _state_file(config).unlink()
        _stop_timer(armed)
        _record_last(config, "confirmed", f"confirmed {round(time.time() - armed.armed_at)} s after arm")
    return "confirmed: the timer is cancelled"


def revert(config: ConfirmConfig) -> str:
    with _locked(config):
        armed = _read_armed(config)
        if armed is None:
            raise _VerbError("nothing is armed to revert")
        _stop_timer(armed)
        return "reverted: " + _revert(config, armed, "revert asked")


def status(config: ConfirmConfig) -> str:
    armed = _read_armed(config)
    alive = armed is not None and _timer_alive(armed)
    report: dict[str, Any] = {
        "armed": alive,
        "seconds_left": max(0, round(armed.deadline - time.time())) if armed is not None and alive else None,
        "timeout_s": armed.timeout_s if armed is not None and alive else None,
        "last": _read_last(config),
    }
    return json.dumps(report, sort_keys=True)


# ---------------------------------------------------------------------- the login


def allowed(command: str) -> re.Match[str] | None:
    """The verb an SSH exec request asks for, or None: then the login refuses it."""
    return _ALLOWED.match(command.strip())


def login(config: ConfirmConfig, original_command: str | None, *, program: str) -> int:
    """The sshd ForceCommand: interactive vtysh, or one storestack-confirm verb, or nothing."""
    if not original_command or not original_command.strip():
        argv = config.vtysh_argv()
        os.execv(argv[0], argv)
    match = allowed(original_command)
    if match is None:
        shown = " ".join(shlex.quote(word) for word in original_command.split()[:3])
        print(
            f"refused: {shown!s}: this login runs vtysh, or {PROGRAM} arm SECONDS|confirm|revert|status",
            file=sys.stderr,
        )
        return 126
    seconds = match.group("seconds")
    return run_verb(config, "arm" if seconds else match.group("verb"), int(seconds or 0), program=program)


def _answer_on_stdin(challenge: str) -> str | None:
    """Print the challenge line and read the answer from stdin, within CHALLENGE_TIMEOUT."""
    print(f"{CHALLENGE_PREFIX}{challenge}", flush=True)
    ready, _, _ = select.select([sys.stdin], [], [], CHALLENGE_TIMEOUT)
    return sys.stdin.readline().strip() if ready else None


def run_verb(config: ConfirmConfig, verb: str, seconds: int, *, program: str) -> int:
    try:
        if verb == "arm":
            print(arm(config, seconds, program=program))
        elif verb == "confirm":
            print(confirm(config, _answer_on_stdin))
        elif verb == "revert":
            print(revert(config))
        else:
            print(status(config))
    except _VerbError as exc:
        print(f"{PROGRAM} {verb}: {exc}", file=sys.stderr)
        return 1
    except (OSError, subprocess.SubprocessError) as exc:
        # The host failed under us (a full disk, a missing vtysh): said, never a traceback.
        print(f"{PROGRAM} {verb}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="FRR appliance commit-confirm timer")
    parser.add_argument("--config", help="JSON configuration (state_dir, pathspace, host_files)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("login", help="sshd ForceCommand: vtysh or one verb from SSH_ORIGINAL_COMMAND")
    arm_parser = commands.add_parser("arm")
    arm_parser.add_argument("seconds", type=int)
    for verb in ("confirm", "revert", "status"):
        commands.add_parser(verb)
    timer_parser = commands.add_parser("timer", help=argparse.SUPPRESS)
    timer_parser.add_argument("token")
    args = parser.parse_args(argv)
    config = ConfirmConfig.load(Path(args.config)) if args.config else ConfirmConfig()
    program = str(Path(__file__).resolve())
    os.umask(0o077)
    if args.command == "login":
        return login(config, os.environ.get("SSH_ORIGINAL_COMMAND"), program=program)
    if args.command == "timer":
        timer(config, args.token)
        return 0
    return run_verb(config, args.command, getattr(args, "seconds", 0), program=program)


if __name__ == "__main__":
    sys.exit(main())
