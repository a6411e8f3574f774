"""storestack-confirm, the FRR appliance's host-side commit-confirm timer and restricted login.

Here against stand-ins for vtysh and frr-reload.py (a running config kept in a file), so every
path runs without root; tests/faults/test_faults_frr_lab.py runs it on real FRR behind sshd,
where a pushed change really cuts the push's session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storestack.devices import frr_confirm
from storestack.devices.frr_confirm import ConfirmConfig
from storestack.devices.frr_confirm import _VerbError as VerbError

PROGRAM = str(Path(frr_confirm.__file__).resolve())
BACKUP = "frr version 8.4.4\nhostname edge\n!\ninterface wan1\n description fiber\nexit\n!\nend\n"
CHANGED = BACKUP.replace(" description fiber\n", " description fiber\n shutdown\n")


@pytest.fixture
def appliance(tmp_path: Path) -> ConfirmConfig:
    """A config whose vtysh prints `running.conf` and whose frr-reload.py copies its file there."""
    running = tmp_path / "running.conf"
    running.write_text(BACKUP)
    vtysh = tmp_path / "vtysh"
    vtysh.write_text(
        f'#!/bin/sh\necho "$@" >> {tmp_path / "vtysh.log"}\n'
        f'printf "Building configuration...\\n\\nCurrent configuration:\\n"\ncat {running}\n'
    )
    reload = tmp_path / "frr-reload.py"
    reload.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "reloads.log"}\nfor last; do :; done\ncp "$last" {running}\n')
    for script in (vtysh, reload):
        script.chmod(0o755)
    watched = tmp_path / "nftables.conf"
    watched.write_text("table inet filter {}\n")
    path = tmp_path / "confirm.json"
    path.write_text(
        json.dumps(
            {
                "state_dir": str(tmp_path / "state"),
                "pathspace": "lab-edge",
                "vtysh": str(vtysh),
                "frr_reload": str(reload),
                "host_files": [
                    {"path": str(watched), "reload": ["sh", "-c", f"echo nft -f >> {tmp_path / 'host-reloads.log'}"]}
                ],
            }
        )
    )
    return ConfirmConfig.load(path)


def running(config: ConfirmConfig) -> str:
    return (Path(config.state_dir).parent / "running.conf").read_text()


def change(config: ConfirmConfig) -> None:
    (Path(config.state_dir).parent / "running.conf").write_text(CHANGED)


def status(config: ConfirmConfig) -> dict[str, object]:
    return dict(json.loads(frr_confirm.status(config)))


def timer_pid(config: ConfirmConfig) -> int:
    return int(json.loads((Path(config.state_dir) / "armed.json").read_text())["pid"])


def gone(pid: int) -> bool:
    """The process exited (reaped by us: the timer is our child when a test arms it)."""
    for _ in range(100):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            return True
        time.sleep(0.05)
    return False


def test_confirm_with_its_round_trip_cancels_the_timer_and_keeps_the_change(appliance: ConfirmConfig) -> None:
    said = frr_confirm.arm(appliance, 60)
    assert "60 s" in said
    pid = timer_pid(appliance)
    assert status(appliance)["armed"] is True
    # The snapshot is what the appliance ran at arm, without the banner `show` prints.
    assert (Path(appliance.state_dir) / "backup.conf").read_text() == BACKUP
    assert oct((Path(appliance.state_dir) / "backup.conf").stat().st_mode & 0o777) == "0o600"
    change(appliance)

    challenges: list[str] = []
    frr_confirm.confirm(appliance, lambda challenge: challenges.append(challenge) or challenge)
    assert len(challenges) == 1 and len(challenges[0]) == 16
    assert gone(pid), "the timer process outlived its confirm"
    assert status(appliance)["armed"] is False
    assert status(appliance)["last"]["outcome"] == "confirmed"  # type: ignore[index]
    assert running(appliance) == CHANGED
    assert not (Path(appliance.state_dir).parent / "reloads.log").exists()
    # Nothing is armed now: a second confirm says so rather than pretending.
    with pytest.raises(VerbError, match=r"nothing is armed to confirm .*confirmed"):
        frr_confirm.confirm(appliance, lambda challenge: challenge)


def test_a_confirm_whose_answer_never_comes_back_leaves_the_timer_armed(appliance: ConfirmConfig) -> None:
    frr_confirm.arm(appliance, 60)
    pid = timer_pid(appliance)
    change(appliance)
    # The confirm arrived, but the way back is cut: no answer, no confirm.
    with pytest.raises(VerbError, match=r"not answered .*timer stays armed"):
        frr_confirm.confirm(appliance, lambda challenge: None)
    with pytest.raises(VerbError):
        frr_confirm.confirm(appliance, lambda challenge: "someone else's token")
    assert status(appliance)["armed"] is True

    # The engine's abort: revert now, with FRR's reload of the snapshot, and disarm.
    said = frr_confirm.revert(appliance)
    assert "FRR reloaded the backup in 1 pass" in said
    assert running(appliance) == BACKUP
    assert gone(pid)
    assert status(appliance)["armed"] is False
    reloads = (Path(appliance.state_dir).parent / "reloads.log").read_text().split()
    assert reloads[:2] == ["--reload", "--stdout"] and "--pathspace" in reloads
    assert reloads[-1] == str(Path(appliance.state_dir) / "backup.conf")


def test_the_timer_running_out_restores_frr_and_the_host_files_that_changed(appliance: ConfirmConfig) -> None:
    watched = Path(appliance.host_files[0].path)
    frr_confirm.arm(appliance, 60)
    armed = json.loads((Path(appliance.state_dir) / "armed.json").read_text())
    # The deadline passes (the detached process would sleep the minute; this runs its expiry).
    os.kill(armed["pid"], 15)
    assert gone(armed["pid"])
    (Path(appliance.state_dir) / "armed.json").write_text(json.dumps({**armed, "deadline": time.time() - 1}))
    change(appliance)
    watched.write_text("table inet filter { chain input { drop } }\n")

    frr_confirm.timer(appliance, armed["token"])

    assert running(appliance) == BACKUP
    assert watched.read_text() == "table inet filter {}\n"
    assert (Path(appliance.state_dir).parent / "host-reloads.log").read_text() == "nft -f\n"
    last = status(appliance)["last"]
    assert last["outcome"] == "reverted"  # type: ignore[index]
    assert "not confirmed within 60 s" in last["detail"] and "nftables.conf restored" in last["detail"]  # type: ignore[index]
    # The push that comes back to confirm learns that it is too late.
    with pytest.raises(VerbError, match=r"nothing is armed .*reverted"):
        frr_confirm.confirm(appliance, lambda challenge: challenge)


def test_arm_refuses_a_second_timer_a_bad_duration_and_an_appliance_without_frr_reload(
    appliance: ConfirmConfig, tmp_path: Path
) -> None:
    for seconds in (frr_confirm.MIN_TIMER - 1, frr_confirm.MAX_TIMER + 1):
        with pytest.raises(VerbError, match="10 to 3600 seconds"):
            frr_confirm.arm(appliance, seconds)
    without = ConfirmConfig(
        state_dir=appliance.state_dir, vtysh=appliance.vtysh, frr_reload=str(tmp_path / "missing")
    )
    with pytest.raises(VerbError, match="frr-pythontools"):
        frr_confirm.arm(without, 60)
    assert status(appliance)["armed"] is False

    frr_confirm.arm(appliance, 60)
    pid = timer_pid(appliance)
    with pytest.raises(VerbError, match="armed already"):
        frr_confirm.arm(appliance, 60)
    frr_confirm.revert(appliance)
    assert gone(pid)


def test_a_timer_that_starts_at_once_finds_its_own_state_and_stays_armed(
    appliance: ConfirmConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy host the timer may read the state before `arm` is back from starting it: it must
    find its own token there, or it ends at once and nothing would ever revert the change."""
    start = frr_confirm._start_timer
    seen: list[str] = []

    def start_and_look(config: ConfirmConfig, token: str) -> int:
        armed = frr_confirm._read_armed(config)
        seen.append("own state" if armed is not None and armed.token == token else "no state")
        return start(config, token)

    monkeypatch.setattr(frr_confirm, "_start_timer", start_and_look)
    frr_confirm.arm(appliance, 60)
    pid = timer_pid(appliance)
    assert seen == ["own state"]
    time.sleep(1.0)  # the timer has read its state by now
    assert status(appliance)["armed"] is True
    frr_confirm.revert(appliance)
    assert gone(pid)


def login(
    config: ConfirmConfig, command: str | None, *, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """The login as sshd runs it: its ForceCommand line with the account's shell (`sh -c`), the
    request in the environment."""
    env = {"PATH": os.environ["PATH"]}
    if command is not None:
        env["SSH_ORIGINAL_COMMAND"] = command
    return subprocess.run(
        ["/bin/sh", "-c", frr_confirm.login_command(config, python=python, program=PROGRAM)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def vtysh_calls(config: ConfirmConfig) -> list[str]:
    log = Path(config.state_dir).parent / "vtysh.log"
    return log.read_text().splitlines() if log.exists() else []


def ended(pid: int) -> bool:
    """A process that is not our child ended (the timer an SSH login forked)."""
    for _ in range(100):
        if frr_confirm._process_start(pid) is None:
            return True
        time.sleep(0.05)
    return False


def test_the_login_runs_vtysh_or_one_timer_verb_and_refuses_anything_else(appliance: ConfirmConfig) -> None:
    interactive = login(appliance, None)
    assert interactive.returncode == 0 and interactive.stdout.startswith("Building configuration")
    for attack in (
        "sh",
        "id; storestack-confirm status",
        "storestack-confirm status; id",
        "storestack-confirm arm 60 && sh",
        "storestack-confirm timer deadbeef",
        "vtysh -c 'configure terminal'",
        "storestack-confirm arm $(id)",
        "storestack-confirm arm 60 stdin; sh",
        "storestack-confirm arm 60 stdin\nsh",
    ):
        refused = login(appliance, attack)
        assert refused.returncode == 126, attack
        assert "refused" in refused.stderr and refused.stdout == ""
    assert not Path(appliance.state_dir).exists() or status(appliance)["armed"] is False

    armed = login(appliance, "storestack-confirm arm 60")
    assert armed.returncode == 0, armed.stderr
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is True
    twice = login(appliance, "storestack-confirm arm 60")
    assert twice.returncode == 1 and "armed already" in twice.stderr
    reverted = login(appliance, "storestack-confirm revert")
    assert reverted.returncode == 0 and "reverted" in reverted.stdout
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is False


def test_a_login_without_a_command_execs_vtysh_from_the_shell_without_python(appliance: ConfirmConfig) -> None:
    """The interactive session of every push, most of them no-ops, starts no interpreter: with
    no Python at all on the path the login still reaches vtysh (with the appliance's pathspace)."""
    interactive = login(appliance, None, python="/nonexistent/python3")
    assert interactive.returncode == 0 and interactive.stdout.startswith("Building configuration")
    assert vtysh_calls(appliance) == ["-N lab-edge"]
    # A command always goes to the program, even one that is only blanks: it decides.
    verb = login(appliance, "storestack-confirm status", python="/nonexistent/python3")
    assert verb.returncode != 0 and "Building configuration" not in verb.stdout


class Guard:
    """`storestack-confirm arm 60 stdin` as the push engine drives it over its exec channel."""

    def __init__(self, config: ConfirmConfig, *, connection: str | None = None) -> None:
        env = {"PATH": os.environ["PATH"], "SSH_ORIGINAL_COMMAND": "storestack-confirm arm 60 stdin"}
        if connection is not None:
            env["SSH_CONNECTION"] = connection  # what sshd sets: the push's address and port, ours
        command = frr_confirm.login_command(config, python=sys.executable, program=PROGRAM)
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", command], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().decode().strip()

    def end(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out.decode(), err.decode()


# As the push engine's CLI session shows it: the banner, CRLF line ends, a blank line at the end.
SHOWN = "Building configuration...\r\n\r\nCurrent configuration:\r\n" + BACKUP.replace("\n", "\r\n") + "\r\n"


def test_the_guard_arms_with_the_backup_on_stdin_and_confirms_with_its_challenge(appliance: ConfirmConfig) -> None:
    guard = Guard(appliance)
    guard.send(frr_confirm.snapshot_frame(SHOWN))
    assert guard.line().startswith("armed: reverts to the running config of now in 60 s")
    assert (Path(appliance.state_dir) / "backup.conf").read_text() == BACKUP
    assert vtysh_calls(appliance) == [], "the arm dumped the running config again"
    state = json.loads((Path(appliance.state_dir) / "armed.json").read_text())
    pid = state["pid"]
    # The timer is a fork of the login (no second interpreter), in a session of its own.
    assert frr_confirm._process_start(pid) == state["started"]
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-2:] == [b"login", b""]
    assert os.getsid(pid) == pid
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is True
    change(appliance)

    guard.send(b"challenge\n")
    first = guard.line()
    assert first.startswith(frr_confirm.CHALLENGE_PREFIX)
    guard.send(b"challenge\n")  # a fresh one replaces it: only the last counts
    token = guard.line().removeprefix(frr_confirm.CHALLENGE_PREFIX)
    assert token != first.removeprefix(frr_confirm.CHALLENGE_PREFIX) and len(token) == 16
    guard.send(f"confirm {token}\n".encode())
    status, out, err = guard.end()
    assert (status, out.strip(), err) == (0, "confirmed: the timer is cancelled", "")
    assert ended(pid)
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is False
    assert running(appliance) == CHANGED


@pytest.mark.parametrize("answer", ["confirm deadbeefdeadbeef", "confirm ", "confirm"], ids=["wrong", "empty", "bare"])
def test_a_guard_confirm_without_its_challenge_leaves_the_timer_armed(appliance: ConfirmConfig, answer: str) -> None:
    guard = Guard(appliance)
    guard.send(frr_confirm.snapshot_frame(SHOWN))
    assert guard.line().startswith("armed")
    pid = timer_pid(appliance)
    if answer != "confirm":
        guard.send(b"challenge\n")
        assert guard.line().startswith(frr_confirm.CHALLENGE_PREFIX)
    guard.send(f"{answer}\n".encode())
    status, _, err = guard.end()
    assert status == 1 and "the timer stays armed" in err
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is True
    assert login(appliance, "storestack-confirm revert").returncode == 0
    assert ended(pid)


def test_a_guard_whose_session_ends_leaves_the_timer_armed(appliance: ConfirmConfig) -> None:
    guard = Guard(appliance)
    guard.send(frr_confirm.snapshot_frame(SHOWN))
    assert guard.line().startswith("armed")
    pid = timer_pid(appliance)
    status, out, _ = guard.end()  # stdin closes: the SSH session is gone
    assert status == 0 and "the timer stays armed" in out
    assert frr_confirm._process_start(pid) is not None
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is True
    assert login(appliance, "storestack-confirm revert").returncode == 0
    assert ended(pid)


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        (frr_confirm.snapshot_frame(BACKUP.replace("end\n", "")), "not whole"),
        (frr_confirm.snapshot_frame(BACKUP[: len(BACKUP) // 2]), "not whole"),
        (frr_confirm.snapshot_frame(""), "not whole"),
        (frr_confirm.snapshot_frame(BACKUP)[:-10], "stdin ended inside the running config"),
        (BACKUP.encode(), "no `snapshot LENGTH` line"),
    ],
    ids=["no-end", "cut-in-half", "empty", "short", "no-header"],
)
def test_the_guard_refuses_a_running_config_that_is_not_whole(appliance: ConfirmConfig, sent: bytes, said: str) -> None:
    guard = Guard(appliance)
    guard.send(sent)
    status, out, err = guard.end()
    assert status == 1 and said in err and "nothing is armed" in err and out == ""
    assert json.loads(login(appliance, "storestack-confirm status").stdout)["armed"] is False
    assert not (Path(appliance.state_dir) / "armed.json").exists()


ENDS = ("10.0.250.5", "10.255.0.3")  # the push's address, the appliance's address of the session


class KernelAnswers:
    """A stand-in for `kernel_route`: the answer of the moment, which a test changes as FRR would
    (staticd, zebra, then the kernel) while the guard settles."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, ends: tuple[str, str | None]) -> str:
        self.asked.append(ends)
        return self.answer


def settle_time(kernel: KernelAnswers, meanwhile: Callable[[], None]) -> float:
    """How long `settle` took toward the push while `meanwhile` ran beside it."""
    beside = threading.Thread(target=meanwhile)
    started = time.monotonic()
    beside.start()
    frr_confirm.settle(ENDS, probe=kernel)
    took = time.monotonic() - started
    beside.join()
    return took


def test_settle_waits_until_the_route_toward_the_push_stops_changing() -> None:
    """The kernel gets a pushed route after vtysh returned: the challenge must not go out while
    the route toward the push is still moving, or it proves a way back the change then cuts."""
    kernel = KernelAnswers("leaves from 10.255.0.3")
    stop = time.monotonic() + 1.2

    def keep_moving() -> None:  # a new answer every 0.1 s, as routes churning into the kernel
        index = 0
        while time.monotonic() < stop:
            index += 1
            kernel.answer = f"leaves from 100.64.0.{index}"
            time.sleep(0.1)

    assert settle_time(kernel, keep_moving) >= 1.2, "the challenge would have gone out while the route still moved"
    assert set(kernel.asked) == {ENDS}
    # A blackhole landing late is a change too: the wait covers it.
    kernel = KernelAnswers("leaves from 10.255.0.3")

    def blackhole() -> None:
        time.sleep(0.2)
        kernel.answer = "refused: errno 22"

    assert settle_time(kernel, blackhole) >= 0.2 + frr_confirm.SETTLE_INTERVAL
    assert kernel.answer == "refused: errno 22"


def test_settle_gives_up_after_its_bound_and_without_a_session_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frr_confirm, "SETTLE_TIMEOUT", 0.8)
    flapping = KernelAnswers("")

    def flap(ends: tuple[str, str | None]) -> str:
        return f"leaves from {time.monotonic()}"

    started = time.monotonic()
    frr_confirm.settle(ENDS, probe=flap)
    assert 0.8 <= time.monotonic() - started < 2.0
    frr_confirm.settle(None, probe=flapping)
    assert flapping.asked == []


def test_the_kernel_says_when_a_blackhole_route_cuts_the_way_to_the_push() -> None:
    """In a network namespace of its own (unshare, root as in CI), from the session's own address:
    a blackhole, unreachable and no route at all toward the push, then a route."""
    script = f"""
import sys; sys.path.insert(0, {str(Path(PROGRAM).parent)!r})
import subprocess
from frr_confirm import kernel_route
def ip(*args): subprocess.run(["ip", *args], check=True)
ip("link", "set", "lo", "up")
ip("addr", "add", "10.255.0.3/32", "dev", "lo")
ip("route", "add", "blackhole", "10.0.250.0/24")
print(kernel_route(("10.0.250.5", "10.255.0.3")))
ip("route", "replace", "unreachable", "10.0.250.0/24")
print(kernel_route(("10.0.250.5", "10.255.0.3")))
ip("route", "del", "10.0.250.0/24")
print(kernel_route(("10.0.250.5", "10.255.0.3")))
ip("route", "add", "10.0.250.0/24", "dev", "lo")
print(kernel_route(("10.0.250.5", "10.255.0.3")))
"""
    out = subprocess.run(["unshare", "--net", sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["refused: errno 22", "refused: errno 113", "refused: errno 101", "leaves from 10.255.0.3"]


def test_the_guard_settles_before_it_hands_out_its_challenge(appliance: ConfirmConfig) -> None:
    guard = Guard(appliance, connection="127.0.0.1 50522 127.0.0.1 22")
    guard.send(frr_confirm.snapshot_frame(SHOWN))
    assert guard.line().startswith("armed")
    pid = timer_pid(appliance)
    asked = time.monotonic()
    guard.send(b"challenge\n")
    token = guard.line().removeprefix(frr_confirm.CHALLENGE_PREFIX)
    assert time.monotonic() - asked >= frr_confirm.SETTLE_INTERVAL and len(token) == 16
    assert vtysh_calls(appliance) == [], "the settle asks the kernel, not vtysh"
    guard.send(f"confirm {token}\n".encode())
    status, out, _ = guard.end()
    assert (status, out.strip()) == (0, "confirmed: the timer is cancelled")
    assert ended(pid)
