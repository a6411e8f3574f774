"""The pipelined exchanges of a session, against a scripted terminal (no SSH, no appliance).

What a user of a WAN-connected appliance relies on: commands of one step go down in one write,
each command's output comes back separately, rejected config lines are found and named, and
prompts are found even where the terminal echoed typed-ahead lines in front of them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from storestack.devices.errors import CommandRejectedError, ConnectError
from storestack.devices.session import ApplianceSession, open_appliance_socket
from storestack.devices.targets import ApplianceTarget, Credentials


class ScriptedTerminal:
    """A Netmiko connection stand-in: each write is answered by `reply(write)` on the next read."""

    remote_conn = None  # no socket to wait on: the session polls

    def __init__(self, reply: Callable[[str], list[str]]) -> None:
        self.reply = reply
        self.writes: list[str] = []
        self.pending: list[str] = []
        self.base_prompt = ""

    def write_channel(self, text: str) -> None:
        self.writes.append(text)
        self.pending += self.reply(text)

    def read_channel(self) -> str:
        return self.pending.pop(0) if self.pending else ""

    @staticmethod
    def normalize_cmd(command: str) -> str:
        return command.rstrip("\n") + "\n"


def session_on(terminal: ScriptedTerminal, platform: str = "frr", host: str = "edge-1") -> ApplianceSession:
    target = ApplianceTarget(name=host, role="edge", store_id="s1", platform=platform, host="127.0.0.1")
    session = ApplianceSession(target, Credentials(username="u", password=SecretStr("p")))
    session._conn = terminal
    session._host = host
    return session


def vtysh(outputs: dict[str, str], host: str = "edge-1") -> Callable[[str], list[str]]:
    """Answers like vtysh: per line its echo, its output, then the prompt of the mode it leaves."""

    def reply(text: str) -> list[str]:
        chunks = []
        mode = ""
        for line in text.splitlines():
            word = line.strip()
            if word == "configure terminal":
                mode = "(config)"
            elif word.startswith("interface "):
                mode = "(config-if)"
            elif word == "end":
                mode = ""
            chunks.append(f"{line}\n{outputs.get(word, '')}{host}{mode}# ")
        return chunks

    return reply


def test_commands_go_in_one_write_and_come_back_one_output_each() -> None:
    terminal = ScriptedTerminal(vtysh({"show a": "alpha\n", "show b": "beta 1\nbeta 2\n"}))
    session = session_on(terminal)
    assert session.commands(["show a", "show b"]) == ["alpha\n", "beta 1\nbeta 2\n"]
    assert terminal.writes == ["show a\nshow b\n"]


def test_a_rejected_line_is_named_after_the_whole_block_went_down() -> None:
    terminal = ScriptedTerminal(vtysh({"neighbor 10.0.0.1 remote-as x": "% Unknown command: neighbor\n"}))
    session = session_on(terminal)
    lines = ["interface wan1", " description fiber", "neighbor 10.0.0.1 remote-as x", "ip route 10.0.0.0/8 wan1"]
    with pytest.raises(CommandRejectedError) as failure:
        session.configure(lines)
    assert "neighbor 10.0.0.1 remote-as x" in failure.value.message
    # One write with every line, between entering and leaving configuration mode.
    assert terminal.writes == ["configure terminal\n" + "\n".join(lines) + "\nend\n"]
    assert session.config_lines_sent == 4


def test_prompts_are_found_behind_lines_the_terminal_echoed_early() -> None:
    """A long write reaches a Linux terminal while vtysh runs its first lines: the terminal echoes
    the rest itself, without a newline, right in front of vtysh's next prompt."""

    def reply(text: str) -> list[str]:
        return [
            "configure terminal\n",
            "  description xedge-1(config)# interface wan1\n",
            "edge-1(config-if)#  description x\nedge-1(config-if)# end\nedge-1# ",
        ]

    session = session_on(ScriptedTerminal(reply))
    assert session.configure(["interface wan1", " description x"]) == []


def test_a_renamed_appliance_is_followed_by_its_new_prompt() -> None:
    def reply(text: str) -> list[str]:
        return ["configure terminal\nedge-1(config)# hostname edge-2\nedge-2(config)# end\nedge-2# "]

    session = session_on(ScriptedTerminal(reply))
    assert session.configure(["hostname edge-2"]) == []
    assert session._host == "edge-2"


def test_a_pager_prompt_is_answered_and_left_out_of_the_output() -> None:
    def reply(text: str) -> list[str]:
        if text == " ":
            return ["\n        \nend\nfw-1 # "]
        return ["show\nconfig system global\n    set hostname fw-1\n--More-- "]

    terminal = ScriptedTerminal(reply)
    session = session_on(terminal, platform="fortinet", host="fw-1")
    output = session.command("show")
    assert terminal.writes == ["show\n", " "]
    assert "--More--" not in output
    assert [line for line in output.splitlines() if line.strip()] == [
        "config system global",
        "    set hostname fw-1",
        "end",
    ]


def test_the_session_socket_sends_small_packets_at_once_and_a_refused_port_is_named() -> None:
    """Every exchange is a small packet; Nagle's algorithm would hold one back for an ACK."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    target = ApplianceTarget(name="edge-1", role="edge", store_id="s1", platform="frr", host="127.0.0.1", port=port)
    sock = open_appliance_socket(target, 5.0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()
        listener.close()
    with pytest.raises(ConnectError, match=f"edge-1: cannot connect to 127.0.0.1:{port}"):
        open_appliance_socket(target, 5.0)


class ScriptedGuard:
    """A paramiko channel stand-in for FRR's guard (`storestack-confirm arm N stdin`): each
    `challenge` line is answered with a fresh token, but only when the test lets it arrive;
    `confirm TOKEN` ends it, well only for the last token."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.sent: list[bytes] = []
        self.tokens: list[str] = []
        self.arriving = b""
        self.held = b""
        self.status: int | None = None
        self.eof_received = False
        self.closed = False

    def exec_command(self, command: str) -> None:
        self.commands.append(command)

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)
        line = data.decode().strip()
        if line == "challenge":
            self.tokens.append(f"{len(self.tokens) + 1:016x}")
            self.held += f"challenge {self.tokens[-1]}\n".encode()
        elif line.startswith("confirm "):
            ok = line == f"confirm {self.tokens[-1]}"
            self.arriving += b"confirmed: the timer is cancelled\n" if ok else b""
            self.status, self.eof_received = (0 if ok else 1), True

    def deliver(self) -> None:
        self.arriving, self.held = self.arriving + self.held, b""

    def recv_ready(self) -> bool:
        return bool(self.arriving)

    def recv(self, size: int) -> bytes:
        data, self.arriving = self.arriving, b""
        return data

    def recv_stderr_ready(self) -> bool:
        return False

    def exit_status_ready(self) -> bool:
        return self.status is not None

    def recv_exit_status(self) -> int:
        assert self.status is not None
        return self.status


def test_the_guard_is_confirmed_with_the_last_challenge_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A verify that outlasts half a challenge's validity asks for a fresh one before the
    confirm, while the first one has not been read yet: the confirm must answer the fresh one,
    the only one the guard still accepts."""
    from storestack.devices import session as session_module

    channel = ScriptedGuard()
    monkeypatch.setattr(session_module.select, "select", lambda *args: ([], [], []))
    guard = session_module._Guard(channel, "storestack-confirm arm 120 stdin")  # type: ignore[arg-type]
    assert channel.commands == ["storestack-confirm arm 120 stdin"]
    guard.ask_challenge()  # along with the verify read; its answer is not read meanwhile
    guard.ask_challenge()  # the verify took long: a fresh one
    channel.deliver()
    assert guard.challenge(timeout=1.0) == channel.tokens[1]
    guard.send(f"confirm {channel.tokens[1]}\n".encode())
    assert guard.finish(timeout=1.0).strip().endswith("confirmed: the timer is cancelled")


class LateStatusChannel:
    """An exec channel whose output and EOF are in, and whose exit status comes a moment later
    (OpenSSH sends it when it reaps the command, which may be after the EOF). Like paramiko's
    channel after EOF, it is always readable for `select`; `status_event` is set with the status."""

    def __init__(self, output: bytes, status: int, delay: float) -> None:
        import threading

        self.output = output
        self.status: int | None = None
        self.status_event = threading.Event()
        self.eof_received = True
        self.closed = False
        self.polls = 0
        self.commands: list[str] = []
        self._timer = threading.Timer(delay, self._arrive, args=(status,))

    def _arrive(self, status: int) -> None:
        self.status = status
        self.status_event.set()

    def exec_command(self, command: str) -> None:
        self.commands.append(command)
        self._timer.start()

    def recv_ready(self) -> bool:
        self.polls += 1
        return bool(self.output)

    def recv(self, size: int) -> bytes:
        data, self.output = self.output, b""
        return data

    def recv_stderr_ready(self) -> bool:
        return False

    def exit_status_ready(self) -> bool:
        return self.status is not None

    def recv_exit_status(self) -> int:
        self.status_event.wait()
        assert self.status is not None
        return self.status

    def close(self) -> None:
        self.closed = True


def test_a_host_command_whose_exit_status_comes_after_its_eof_is_waited_for_not_polled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The push's host commands (FRR's storestack-confirm) run beside up to 20 other pushes in
    one process: a wait that spins between the command's EOF and its exit status takes the CPU
    (and the interpreter lock) those pushes need."""
    from storestack.devices import session as session_module

    # After EOF a paramiko channel's pipe is readable for good: select returns at once.
    monkeypatch.setattr(session_module.select, "select", lambda read, *rest: (read, [], []))
    channel = LateStatusChannel(b"reverted: FRR reloaded the backup in 1 pass(es)\n", 0, delay=0.3)
    status, output = session_module._exec_on_channel(
        None,  # type: ignore[arg-type]
        "storestack-confirm revert",
        timeout=5.0,
        channel=channel,  # type: ignore[arg-type]
    )
    assert (status, output.strip()) == (0, "reverted: FRR reloaded the backup in 1 pass(es)")
    assert channel.polls < 10, f"{channel.polls} polls while the exit status was on its way"

    guard_channel = LateStatusChannel(b"armed: reverts in 120 s\nconfirmed: the timer is cancelled\n", 0, delay=0.3)
    guard = session_module._Guard(guard_channel, "storestack-confirm arm 120 stdin")  # type: ignore[arg-type]
    assert guard.finish(timeout=5.0).strip().endswith("confirmed: the timer is cancelled")
    assert guard_channel.polls < 10, f"{guard_channel.polls} polls while the exit status was on its way"


def test_the_first_read_of_a_vrp_appliance_is_not_cut_at_bracketed_text() -> None:
    """VRP's first prompt names the appliance only after the login, so the first exchange looks
    for any prompt: `[…]` or `<…>` inside a line (a cipher's stored form, a description) is no
    prompt, and the running config comes back whole."""
    config = (
        "sysname edge-1\n"
        "interface GigabitEthernet0/0/1\n"
        " description wan1 [primary] <fiber>\n"
        "ike peer HUB-1\n"
        " pre-shared-key cipher %^%#ab[Tu]Y<m-W>d7{%^%#\n"
        " ike-proposal 10\n"
        "return"
    )

    def reply(text: str) -> list[str]:
        chunks = []
        for line in text.splitlines():
            chunks.append(line + "\n")
            if line.startswith("display current-configuration"):
                chunks.append(config + "\n")
            chunks.append("<edge-1>")
        return chunks

    session = session_on(ScriptedTerminal(reply), platform="huawei_vrp")
    session._host = None
    (shown,) = session.commands(["display current-configuration"])
    assert shown.strip().endswith("return"), shown
    assert " ike-proposal 10" in shown
