"""The interactive CLIs' common ground: replies, word-prefix matching, output filters, line faults.

Each session turns one typed line into a `Reply`: text to print and, for faults, an action
(close the session, hang, drop the TCP connection). Commands are matched the way the vendors
do it, by word prefixes ("sh run", "conf t", "dis cur").
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from storestack.lab.emulator.device import DeviceState

Action = Literal["none", "close", "hang", "drop"]



@dataclass
class Reply:
    output: str = ""
    action: Action = "none"
    # The output ends in a question ("Continue? [Y/N]:"): no prompt follows it.
    awaiting_answer: bool = False


def matches(tokens: list[str], command: str) -> bool:
    """True when every word of `command` is abbreviated by the corresponding token."""
    words = command.split()
    if len(tokens) != len(words):
        return False
    return all(word.startswith(token.lower()) for token, word in zip(tokens, words, strict=True))


def split_pipe(line: str) -> tuple[str, str | None, str | None]:
    """'show run | include bgp' → ('show run', 'include', 'bgp')."""
    if "|" not in line:
        return line, None, None
    command, _, rest = line.partition("|")
    parts = rest.strip().split(None, 1)
    if not parts:
        return command.strip(), None, None
    return command.strip(), parts[0].lower(), parts[1] if len(parts) > 1 else ""


def apply_filter(text: str, kind: str | None, pattern: str | None) -> str:
    if kind is None or pattern is None:
        return text
    lines = text.splitlines()
    try:
        regex = re.compile(pattern)
    except re.error:
        regex = re.compile(re.escape(pattern))
    if "include".startswith(kind) or kind == "grep":
        kept = [line for line in lines if regex.search(line)]
    elif "exclude".startswith(kind):
        kept = [line for line in lines if not regex.search(line)]
    elif "begin".startswith(kind):
        kept = []
        for index, line in enumerate(lines):
            if regex.search(line):
                kept = lines[index:]
                break
    elif "section".startswith(kind):
        kept = []
        keep = False
        for line in lines:
            if line and not line[0].isspace():
                keep = bool(regex.search(line))
            if keep:
                kept.append(line)
    else:
        kept = lines
    return "\n".join(kept) + ("\n" if kept else "")


def caret_error(prompt: str, line: str, column: int, message: str) -> str:
    return " " * (len(prompt) + column) + "^\n" + message + "\n"


def deny_match(patterns: list[str], line: str) -> int | None:
    for pattern in patterns:
        found = re.search(pattern, line)
        if found is not None:
            return found.start()
    return None


# A physical port is hardware: the device holds it whatever its config says, and refuses to
# delete it (`no interface GigabitEthernet1`, `undo interface GigabitEthernet0/0/1`); a port's
# sub-interface, a loopback, a tunnel, a VLAN interface are made by the config and deleted by it.
_PORT_DELETED = re.compile(
    r"^(?:no|undo) interface ((?:[A-Za-z-]*Ethernet|Cellular|Serial|MultiGE)\s*[\d/]+|Null\s*0|NULL\s*0)\s*$", re.I
)


def physical_port_deleted(line: str) -> int | None:
    """The column of the port's name where `line` deletes a physical port, else None."""
    found = _PORT_DELETED.match(line)
    return found.start(1) if found is not None else None


class CliSession(ABC):
    def __init__(self, device: DeviceState) -> None:
        self.device = device

    @property
    @abstractmethod
    def prompt(self) -> str: ...

    @abstractmethod
    def handle(self, line: str) -> Reply: ...

    def banner(self) -> str:
        return ""

    def gate_config_line(
        self, line: str, reject: Callable[[str, int], str], apply: Callable[[], str]
    ) -> Reply:
        """Count a config line, inject the line faults, else apply it (apply returns error text)."""
        with self.device.lock:
            self.device.config_lines += 1
            number = self.device.config_lines
            faults = self.device.faults
            if faults.reject_config_line == number:
                column = len(line) - len(line.lstrip())
                return Reply(reject(line, column))
            error = apply()
        if error:
            return Reply(error)
        self.device.changed()
        if faults.drop_after_config_lines == number:
            return Reply("", "drop")
        return Reply("")


def make_session(device: DeviceState) -> CliSession:
    """A new CLI session on `device`, of its platform's profile."""
    return device.profile.session(device)
