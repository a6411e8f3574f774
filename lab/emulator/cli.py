"""The interactive CLIs: prompts, modes, show/display/get commands, saving and rejections.

Each session turns one typed line into a `Reply`: text to print and, for faults, an action
(close the session, hang, drop the TCP connection). Commands are matched the way the vendors
do it, by word prefixes ("sh run", "conf t", "dis cur").
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from storestack.lab.emulator.device import IOS_VERSION, VRP_VERSION, DeviceState
from storestack.lab.emulator.forticonfig import (
    FortiBlock,
    FortiConfig,
    FortiEntry,
    split_words,
    unquote,
    unset_attribute,
)
from storestack.lab.emulator.lineconfig import ConfigNode, LineConfig

Action = Literal["none", "close", "hang", "drop"]

IOS_INVALID = "% Invalid input detected at '^' marker."
VRP_UNRECOGNIZED = "Error: Unrecognized command found at '^' position."
FORTI_PARSE_ERROR = "command parse error before '{token}'\nCommand fail. Return code -61"


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


# ---------------------------------------------------------------------------------------------
# Cisco IOS-XE


_IOS_MODE_NAMES = {
    "interface": "config-if",
    "router": "config-router",
    "address-family": "config-router-af",
    "line": "config-line",
    "route-map": "config-route-map",
    "ip access-list": "config-ext-nacl",
    "class-map": "config-cmap",
    "policy-map": "config-pmap",
    "class": "config-pmap-c",
    "vrf definition": "config-vrf",
}


class IosSession(CliSession):
    def __init__(self, device: DeviceState) -> None:
        super().__init__(device)
        self.config_mode = False
        self.context: list[ConfigNode] = []
        self.awaiting_copy_destination = False

    @property
    def prompt(self) -> str:
        host = self.device.hostname()
        if not self.config_mode:
            return f"{host}#"
        if not self.context:
            return f"{host}(config)#"
        kind = self.device.lines().dialect.section_kind(self.context[-1].text)
        return f"{host}({_IOS_MODE_NAMES.get(kind, 'config-' + kind.split()[0])})#"

    def invalid(self, line: str, column: int) -> str:
        return caret_error(self.prompt, line, column, IOS_INVALID)

    def handle(self, line: str) -> Reply:
        if self.awaiting_copy_destination:
            self.awaiting_copy_destination = False
            return self.save()
        if self.config_mode:
            return self.handle_config(line)
        return self.handle_exec(line)

    def handle_exec(self, line: str) -> Reply:
        command, filter_kind, filter_pattern = split_pipe(line.strip())
        tokens = command.split()
        if not tokens:
            return Reply("")
        if len(tokens) == 5 and matches(tokens[:4], "configure terminal revert timer"):
            return self.configure_with_revert(tokens[4])
        if matches(tokens, "configure confirm"):
            self.device.confirm_revert()
            return Reply("")
        if matches(tokens, "configure revert now"):
            # Rolls back to the archived config of the armed revert timer at once.
            self.device.revert_now()
            return Reply("")
        if matches(tokens, "configure terminal") or matches(tokens, "configure"):
            self.config_mode = True
            self.context = []
            return Reply("Enter configuration commands, one per line.  End with CNTL/Z.\n")
        if matches(tokens[:2], "terminal length") or matches(tokens[:2], "terminal width"):
            return Reply("")
        if matches(tokens, "terminal no monitor") or matches(tokens, "enable"):
            return Reply("")
        if matches(tokens, "show running-config"):
            return Reply(apply_filter(self.device.running_text(), filter_kind, filter_pattern))
        if matches(tokens, "show startup-config"):
            with self.device.lock:
                startup = self.device.startup_text
            return Reply(apply_filter(startup, filter_kind, filter_pattern))
        if matches(tokens, "show version"):
            text = (
                f"Cisco IOS XE Software, Version {IOS_VERSION}.3\n"
                f"Cisco IOS Software [Cupertino], Virtual XE Software, Version {IOS_VERSION}.3\n"
                f"{self.device.hostname()} uptime is 1 hour, 2 minutes\n"
            )
            return Reply(apply_filter(text, filter_kind, filter_pattern))
        if matches(tokens, "show ip interface brief"):
            return Reply(apply_filter(self.interface_brief(), filter_kind, filter_pattern))
        if matches(tokens, "write memory") or matches(tokens, "write"):
            return self.save()
        if matches(tokens, "copy running-config startup-config"):
            self.awaiting_copy_destination = True
            return Reply("Destination filename [startup-config]? ", awaiting_answer=True)
        if matches(tokens, "exit") or matches(tokens, "logout") or matches(tokens, "quit"):
            return Reply("", "close")
        column = self.unmatched_column(line)
        return Reply(self.invalid(line, column))

    def configure_with_revert(self, minutes: str) -> Reply:
        """`configure terminal revert timer <1-120>` (minutes): Configuration Rollback Confirmed
        Change. It needs the configuration archive (`archive` with a `path`); the running config
        of now comes back when the timer runs out, unless `configure confirm` cancels it."""
        line = f"configure terminal revert timer {minutes}"
        if not minutes.isdigit() or not 1 <= int(minutes) <= 120:
            return Reply(self.invalid(line, len(line) - len(minutes)))
        with self.device.lock:
            archive = self.device.lines().root.find("archive")
            has_path = archive is not None and any(c.text.startswith("path ") for c in archive.children)
        if not has_path:
            # The emulator's wording: IOS-XE refuses a revert timer without an archive path.
            return Reply("% Rollback Confirmed Change requires the archive path to be configured\n")
        self.device.arm_revert(int(minutes) * self.device.spec.timer_minute_seconds)
        self.config_mode = True
        self.context = []
        return Reply("Enter configuration commands, one per line.  End with CNTL/Z.\n")

    @staticmethod
    def unmatched_column(line: str) -> int:
        # The caret goes under the first word IOS could not parse; for an unknown command
        # that is the word after the last one shared with a known command.
        known = ("show", "configure", "terminal", "write", "copy", "exit", "enable")
        words = list(re.finditer(r"\S+", line))
        if words and any(k.startswith(words[0].group(0).lower()) for k in known) and len(words) > 1:
            return words[1].start()
        return words[0].start() if words else 0

    def save(self) -> Reply:
        with self.device.lock:
            hang = self.device.faults.hang_on_save
        if hang:
            return Reply("Building configuration...\n", "hang")
        self.device.save()
        return Reply("Building configuration...\n[OK]\n")

    def handle_config(self, line: str) -> Reply:
        text = line.strip()
        if not text:
            return Reply("")
        if text in ("end", "\x1a") or (text == "exit" and not self.context):
            self.config_mode = False
            self.context = []
            return Reply("")
        if text.split()[0] == "do" and len(text.split()) > 1:
            return self.handle_exec(text.split(" ", 1)[1])
        dialect = self.device.lines().dialect

        def apply() -> str:
            denied = deny_match(self.device.spec.reject_patterns, line)
            if denied is not None:
                return self.invalid(line, denied)
            at_top = not self.context or (not line[:1].isspace() and text.split()[0] in dialect.global_only)
            if at_top and text.split()[0] not in dialect.top_keywords:
                return self.invalid(line, len(line) - len(line.lstrip()))
            self.context = self.device.lines().apply(self.context, line)
            return ""

        return self.gate_config_line(line, self.invalid, apply)

    def interface_brief(self) -> str:
        rows = ["Interface              IP-Address      OK? Method Status                Protocol"]
        with self.device.lock:
            for node in self.device.lines().root.children:
                if not node.text.startswith("interface "):
                    continue
                name = node.text.split(" ", 1)[1]
                address = "unassigned"
                shutdown = False
                for child in node.children:
                    words = child.text.split()
                    if words[:2] == ["ip", "address"] and len(words) >= 3:
                        address = words[2]
                    if child.text == "shutdown":
                        shutdown = True
                status = "administratively down" if shutdown else "up"
                protocol = "down" if shutdown else "up"
                rows.append(f"{name:<22} {address:<15} YES manual {status:<21} {protocol}")
        return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------
# Huawei VRP


class VrpSession(CliSession):
    def __init__(self, device: DeviceState) -> None:
        super().__init__(device)
        self.system_view = False
        self.context: list[ConfigNode] = []
        self.awaiting_save_confirm = False
        # Two-phase validation (VRP8's default): lines edit this session's candidate, and only
        # `commit` (or `commit trial`) makes them the running config. `[*host]` while it differs.
        self.candidate: LineConfig | None = None
        self.uncommitted = False
        self.awaiting_exit_answer = False

    @property
    def prompt(self) -> str:
        host = self.device.hostname()
        if not self.system_view:
            return f"<{host}>"
        mark = "*" if self.uncommitted else "~"
        if not self.context:
            return f"[{mark}{host}]"
        return f"[{mark}{host}-{self.view_name()}]"

    def view_name(self) -> str:
        parts: list[str] = []
        for node in self.context:
            words = node.text.split()
            if words[0] == "interface" and len(words) > 1:
                parts = [words[1]]
            elif words[0] in ("ipv4-family", "ipv6-family"):
                parts.append("af-" + words[0].split("-")[0])
            elif words[0] in ("ospf", "area", "isis") and len(words) > 1:
                parts.append(f"{words[0]}-{words[1]}")
            else:
                parts.append(words[0])
        return "-".join(parts)

    def invalid(self, line: str, column: int) -> str:
        return caret_error(self.prompt, line, column, VRP_UNRECOGNIZED)

    def handle(self, line: str) -> Reply:
        if self.awaiting_exit_answer:
            self.awaiting_exit_answer = False
            answer = line.strip().lower()
            if answer in ("y", "yes"):
                self.commit_candidate()
            elif answer not in ("n", "no"):
                return Reply("")  # cancel: stay in the system view
            self.leave_system_view()
            return Reply("")
        if self.awaiting_save_confirm:
            self.awaiting_save_confirm = False
            if line.strip().lower() not in ("y", "yes"):
                return Reply("")
            with self.device.lock:
                hang = self.device.faults.hang_on_save
            if hang:
                return Reply("Now saving the current configuration to the slot 1.\n", "hang")
            self.device.save()
            return Reply(
                "Now saving the current configuration to the slot 1.\n"
                "Info: Save the configuration successfully.\n"
            )
        command, filter_kind, filter_pattern = split_pipe(line.strip())
        tokens = command.split()
        if not tokens:
            return Reply("")
        if matches(tokens, "display current-configuration"):
            return Reply(apply_filter(self.device.running_text(), filter_kind, filter_pattern))
        if matches(tokens, "display saved-configuration"):
            with self.device.lock:
                startup = self.device.startup_text
            return Reply(apply_filter(startup, filter_kind, filter_pattern))
        if matches(tokens, "display version"):
            text = (
                "Huawei Versatile Routing Platform Software\n"
                f"VRP (R) software, Version 8.210 ({VRP_VERSION})\n"
                f"{self.device.hostname()} uptime is 0 days, 1 hours, 2 minutes\n"
            )
            return Reply(apply_filter(text, filter_kind, filter_pattern))
        if matches(tokens, "save"):
            self.awaiting_save_confirm = True
            return Reply(
                "Warning: The current configuration will be written to the device. Continue? [Y/N]:",
                awaiting_answer=True,
            )
        if matches(tokens, "screen-length 0 temporary"):
            return Reply(
                "Info: The configuration takes effect on the current user terminal interface only.\n"
            )
        if not self.system_view:
            if matches(tokens, "system-view"):
                self.system_view = True
                self.context = []
                with self.device.lock:
                    self.candidate = self.device.lines().copy()
                self.uncommitted = False
                return Reply("Enter system view, return user view with return command.\n")
            if matches(tokens, "quit"):
                return Reply("", "close")
            if matches(tokens, "return"):
                return Reply("")
            return Reply(self.invalid(line, len(line) - len(line.lstrip())))
        if tokens == ["return"] or (tokens == ["quit"] and not self.context):
            if self.uncommitted:
                self.awaiting_exit_answer = True
                return Reply(
                    "Warning: Uncommitted configurations found. Are you sure to commit them before "
                    "exiting? [Y(yes)/N(no)/C(cancel)]:",
                    awaiting_answer=True,
                )
            self.leave_system_view()
            return Reply("")
        if tokens[0] == "commit" and not line[:1].isspace():
            return self.commit(tokens)
        if tokens == ["abort", "trial"]:
            if not self.device.revert_now():
                return Reply("Error: The system is not in the trial configuration mode.\n")
            self.reload_candidate()
            return Reply("Info: The trial configuration was aborted and the configuration rolled back.\n")
        assert self.candidate is not None
        candidate = self.candidate
        dialect = candidate.dialect

        def apply() -> str:
            denied = deny_match(self.device.spec.reject_patterns, line)
            if denied is not None:
                return self.invalid(line, denied)
            at_top = not self.context or (not line[:1].isspace() and tokens[0] in dialect.global_only)
            if at_top and tokens[0] not in dialect.top_keywords and tokens[0] not in dialect.exit_words:
                return self.invalid(line, len(line) - len(line.lstrip()))
            self.context = candidate.apply(self.context, line)
            self.uncommitted = True
            return ""

        return self.gate_config_line(line, self.invalid, apply)

    def commit(self, tokens: list[str]) -> Reply:
        """`commit` makes the candidate the running config, or confirms a trial run;
        `commit trial [<60-65535>]` (seconds, default 600) commits and reverts by itself unless
        a `commit` confirms it in time."""
        in_trial = self.device.revert_armed
        if tokens == ["commit"]:
            if in_trial and not self.uncommitted:
                self.device.confirm_revert()
                return Reply("Info: The trial configuration was confirmed.\n")
            if in_trial:
                return Reply("Error: The configuration cannot be changed during a trial run.\n")
            self.commit_candidate()
            return Reply("")
        if tokens[:2] != ["commit", "trial"] or len(tokens) > 3:
            return Reply(self.invalid(" ".join(tokens), 0))
        seconds = tokens[2] if len(tokens) == 3 else "600"
        if not seconds.isdigit() or not 60 <= int(seconds) <= 65535:
            return Reply("Error: Wrong parameter found at '^' position.\n")
        if in_trial:
            return Reply("Error: The configuration cannot be changed during a trial run.\n")
        with self.device.lock:
            before = self.device.running_text()
            self.commit_candidate()
            self.device.arm_revert(int(seconds) * self.device.spec.timer_minute_seconds / 60, to=before)
        return Reply(
            "Info: The system enters the trial configuration mode. The system will revert to previous "
            f"configuration if the trial configuration is not confirmed in {seconds} seconds.\n"
        )

    def commit_candidate(self) -> None:
        if self.uncommitted and self.candidate is not None:
            with self.device.lock:
                self.device.line_config = self.candidate.copy()
            self.device.changed()
        self.uncommitted = False

    def reload_candidate(self) -> None:
        with self.device.lock:
            self.candidate = self.device.lines().copy()
        self.uncommitted = False
        self.context = []

    def leave_system_view(self) -> None:
        self.system_view = False
        self.context = []
        self.candidate = None
        self.uncommitted = False


# ---------------------------------------------------------------------------------------------
# FortiOS


FORTI_CONFIG_PATHS = frozenset(
    {
        "system global",
        "system interface",
        "system console",
        "system dns",
        "system ntp",
        "system admin",
        "system settings",
        "system zone",
        "system sdwan",
        "system virtual-wan-link",
        "system dhcp server",
        "system snmp community",
        "system ha",
        "system accprofile",
        "system automation-action",
        "system link-monitor",
        "router static",
        "router bgp",
        "router ospf",
        "router route-map",
        "router prefix-list",
        "router access-list",
        "router policy",
        "firewall policy",
        "firewall address",
        "firewall addrgrp",
        "firewall service custom",
        "firewall service group",
        "firewall vip",
        "firewall ippool",
        "firewall shaping-policy",
        "firewall traffic-shaper",
        "firewall shaper traffic-shaper",
        "system dns-server",
        "system snmp sysinfo",
        "system snmp user",
        "user tacacs+",
        "vpn ipsec phase1-interface",
        "vpn ipsec phase2-interface",
        "log setting",
        "log syslogd setting",
        "user local",
        "user group",
        "switch-controller global",
        "wireless-controller setting",
    }
)


class FortiSession(CliSession):
    def __init__(self, device: DeviceState) -> None:
        super().__init__(device)
        # While inside a top-level `config` block, edits go to a staged copy that `end` commits.
        self.staged: FortiConfig | None = None
        self.scopes: list[FortiBlock | FortiEntry] = []
        self.labels: list[str] = []

    @property
    def prompt(self) -> str:
        host = self.device.hostname()
        if not self.labels:
            return f"{host} # "
        return f"{host} ({self.labels[-1]}) # "

    @staticmethod
    def parse_error(token: str) -> str:
        return FORTI_PARSE_ERROR.format(token=token) + "\n"

    def reject(self, line: str, _column: int) -> str:
        words = split_words(line)
        return self.parse_error(words[1] if len(words) > 1 else (words[0] if words else ""))

    def handle(self, line: str) -> Reply:
        text = line.strip()
        command, filter_kind, filter_pattern = split_pipe(text)
        words = split_words(command)
        if not words:
            return Reply("")
        self.restart_revert_timeout()
        if self.scopes:
            if words[0] == "end" and len(self.scopes) == 1:
                return self.commit()
            if words[0] == "show":
                return Reply(self.show_scope())
            if words[0] == "abort" and len(self.scopes) == 1:
                self.leave()
                return Reply("")
            return self.gate_config_line(line, self.reject, lambda: self.edit(words))
        if words[0] == "config":
            path = " ".join(words[1:])
            if path not in FORTI_CONFIG_PATHS:
                bad = words[1] if len(words) > 1 else "config"
                for index in range(2, len(words) + 1):
                    if not any(p.startswith(" ".join(words[1:index])) for p in FORTI_CONFIG_PATHS):
                        bad = words[index - 1]
                        break
                return Reply(self.parse_error(bad))

            def enter() -> str:
                denied = deny_match(self.device.spec.reject_patterns, line)
                if denied is not None:
                    return self.parse_error(words[1])
                with self.device.lock:
                    self.staged = self.device.forti().copy()
                block = self.staged.root.blocks.setdefault(path, FortiBlock())
                self.scopes = [block]
                self.labels = [words[-1]]
                return ""

            return self.gate_config_line(line, self.reject, enter)
        if words[0] == "show":
            return Reply(apply_filter(self.show(words[1:]), filter_kind, filter_pattern))
        if words[:3] == ["get", "system", "status"]:
            return Reply(apply_filter(self.system_status(), filter_kind, filter_pattern))
        if words[:3] == ["get", "system", "console"]:
            with self.device.lock:
                output = self.device.forti().attribute("system console", "output") or "more"
            text = (
                "mode                : line\n"
                "baudrate            : 9600\n"
                f"output              : {output}\n"
                "login               : enable\n"
            )
            return Reply(apply_filter(text, filter_kind, filter_pattern))
        if words[:3] == ["execute", "cfg", "save"]:
            with self.device.lock:
                hang = self.device.faults.hang_on_save
                unsaved = self.device.running_text() != self.device.startup_text
            if hang:
                return Reply("", "hang")
            self.device.confirm_revert()
            if not unsaved:
                return Reply("no config to be saved.\n")
            self.device.save()
            return Reply("config saved.\n")
        if words[0] == "execute":
            return Reply(self.parse_error(words[1] if len(words) > 1 else "execute"))
        if words[0] in ("exit", "quit"):
            return Reply("", "close")
        return Reply("Unknown action 0\n")

    def edit(self, words: list[str]) -> str:
        line = " ".join(words)
        denied = deny_match(self.device.spec.reject_patterns, line)
        if denied is not None:
            return self.parse_error(words[1] if len(words) > 1 else words[0])
        scope = self.scopes[-1]
        verb = words[0]
        if verb == "set" and len(words) >= 3:
            scope.attributes[words[1]] = " ".join(words[2:])
        elif verb == "unset" and len(words) == 2:
            unset_attribute(scope.attributes, words[1])
        elif verb == "edit" and len(words) >= 2 and isinstance(scope, FortiBlock):
            name = unquote(" ".join(words[1:]))
            self.scopes.append(scope.entries.setdefault(name, FortiEntry()))
            self.labels.append(name)
        elif verb == "next" and isinstance(scope, FortiEntry):
            self.scopes.pop()
            self.labels.pop()
        elif verb == "delete" and len(words) >= 2 and isinstance(scope, FortiBlock):
            if scope.entries.pop(unquote(" ".join(words[1:])), None) is None:
                return "entry not found in datasource\n" + self.parse_error(words[1])
        elif verb == "config" and len(words) >= 2:
            path = " ".join(words[1:])
            self.scopes.append(scope.blocks.setdefault(path, FortiBlock()))
            self.labels.append(words[-1])
        elif verb == "end" and len(self.scopes) > 1:
            # Leaves a nested block; an open `edit` inside it is closed with it.
            while len(self.scopes) > 1 and isinstance(self.scopes[-1], FortiEntry):
                self.scopes.pop()
                self.labels.pop()
            self.scopes.pop()
            self.labels.pop()
        else:
            return self.parse_error(words[1] if verb in ("set", "unset", "edit") and len(words) > 1 else verb)
        return ""

    def commit(self) -> Reply:
        staged = self.staged
        self.leave()
        if staged is None:
            return Reply("")
        with self.device.lock:
            revert = self.revert_timeout()
            self.device.forti_config = staged
            hang = self.device.faults.hang_on_save
        self.device.changed()
        if revert is not None:
            # `set cfg-save revert`: the change runs but is not saved; unless `execute cfg save`
            # comes before the administrative session has been idle for cfg-revert-timeout, the
            # unit goes back to its saved configuration.
            self.device.arm_revert(revert, to=self.device.startup_text)
            return Reply("")
        # FortiOS writes the configuration to flash when a top-level `end` commits it.
        if hang:
            return Reply("", "hang")
        self.device.save()
        return Reply("")

    def revert_timeout(self) -> float | None:
        """Seconds of idleness before unsaved changes revert, in `cfg-save revert` mode; else None."""
        with self.device.lock:
            forti = self.device.forti()
            if forti.attribute("system global", "cfg-save") != "revert":
                return None
            seconds = float(forti.attribute("system global", "cfg-revert-timeout") or 600)
        return seconds * self.device.spec.timer_minute_seconds / 60

    def restart_revert_timeout(self) -> None:
        """Any command is activity: an armed revert counts its idle timeout from now again."""
        timeout = self.revert_timeout()
        if timeout is not None and self.device.revert_armed:
            with self.device.lock:
                saved = self.device.startup_text
            self.device.arm_revert(timeout, to=saved)

    def leave(self) -> None:
        self.staged = None
        self.scopes = []
        self.labels = []

    def show(self, words: list[str]) -> str:
        if words[:1] == ["full-configuration"]:
            words = words[1:]
        with self.device.lock:
            if not words:
                return self.device.running_text()
            return self.device.forti().render(" ".join(words))

    def show_scope(self) -> str:
        # Inside a block: show what the staged block holds.
        if self.staged is None:
            return ""
        return self.staged.render()

    def system_status(self) -> str:
        return (
            "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)\n"
            "Serial-Number: FGVMEVSTORESTACK0\n"
            "BIOS version: 04000002\n"
            "Log hard disk: Not available\n"
            f"Hostname: {self.device.hostname()}\n"
            "Operation Mode: NAT\n"
            "Current virtual domain: root\n"
            "Max number of virtual domains: 1\n"
            "Virtual domains status: 1 in NAT mode, 0 in TP mode\n"
            "Virtual domain configuration: disable\n"
            "FIPS-CC mode: disable\n"
            "Current HA mode: standalone\n"
            "System time: Tue Nov 25 13:00:00 2025\n"
        )


def make_session(device: DeviceState) -> CliSession:
    if device.platform == "cisco_xe":
        return IosSession(device)
    if device.platform == "huawei_vrp":
        return VrpSession(device)
    return FortiSession(device)
