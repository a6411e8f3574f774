"""One emulated device's state, shared by all its SSH sessions, and its default configs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from storestack.lab.emulator.forticonfig import FortiConfig
from storestack.lab.emulator.lineconfig import IOS, VRP, LineConfig
from storestack.lab.emulator.models import DeviceFaults, EmulatedDevice

IOS_VERSION = "17.9"
VRP_VERSION = "V800R021C10SPC600"
FORTIOS_HEADER = (
    "#config-version=FGVM64-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin\n"
    "#conf_file_ver=1\n"
    "#buildno=1517\n"
    "#global_vdom=1\n"
)


def default_config(device: EmulatedDevice) -> str:
    name = device.name
    if device.platform == "cisco_xe":
        return (
            f"version {IOS_VERSION}\n"
            "service timestamps debug datetime msec\n"
            "service timestamps log datetime msec\n"
            f"hostname {name}\n"
            "!\n"
            "no aaa new-model\n"
            "!\n"
            "interface GigabitEthernet1\n"
            " no ip address\n"
            " shutdown\n"
            "!\n"
            "interface GigabitEthernet2\n"
            " no ip address\n"
            " shutdown\n"
            "!\n"
            "interface GigabitEthernet3\n"
            " no ip address\n"
            " shutdown\n"
            "!\n"
            "no ip http server\n"
            "!\n"
            "archive\n"
            " path bootflash:archive\n"
            "!\n"
            "line vty 0 4\n"
            " login local\n"
            " transport input ssh\n"
            "!\n"
            "end\n"
        )
    if device.platform == "huawei_vrp":
        return (
            f"#\nsysname {name}\n#\n"
            "interface GigabitEthernet0/0/0\n shutdown\n#\n"
            "interface GigabitEthernet0/0/1\n shutdown\n#\n"
            "interface GigabitEthernet0/0/2\n shutdown\n#\n"
            "interface LoopBack0\n#\nreturn\n"
        )
    return (
        FORTIOS_HEADER + "config system global\n"
        f'    set hostname "{name}"\n'
        "    set timezone 04\n"
        "end\n"
        "config system console\n"
        "    set output standard\n"
        "end\n"
        "config system interface\n"
        '    edit "port1"\n'
        '        set vdom "root"\n'
        "        set mode static\n"
        "        set allowaccess ping https ssh\n"
        "    next\n"
        '    edit "port2"\n'
        '        set vdom "root"\n'
        "    next\n"
        '    edit "port3"\n'
        '        set vdom "root"\n'
        "    next\n"
        "end\n"
    )


class DeviceState:
    """Running and startup config, fault settings and counters of one device.

    Sessions run on the emulator's event loop while tests read and write configs from their
    own thread, so every access goes through `lock`.
    """

    def __init__(self, spec: EmulatedDevice, on_change: Callable[[DeviceState], None] | None = None) -> None:
        self.spec = spec
        self.lock = threading.RLock()
        self.faults: DeviceFaults = spec.faults
        self.config_lines = 0
        self.sessions = 0
        self._on_change = on_change
        initial = spec.running_config if spec.running_config is not None else default_config(spec)
        self.line_config: LineConfig | None = None
        self.forti_config: FortiConfig | None = None
        self._load(initial)
        self.startup_text = self.running_text()
        # An armed rollback (IOS-XE `configure terminal revert timer`): the running config it
        # goes back to, and the timer that does it unless `configure confirm` comes first.
        self._revert_timer: threading.Timer | None = None

    @property
    def platform(self) -> str:
        return self.spec.platform

    def _load(self, text: str) -> None:
        if self.spec.platform == "fortinet":
            self.forti_config = FortiConfig(text)
        else:
            self.line_config = LineConfig(IOS if self.spec.platform == "cisco_xe" else VRP, text)

    def lines(self) -> LineConfig:
        assert self.line_config is not None
        return self.line_config

    def forti(self) -> FortiConfig:
        assert self.forti_config is not None
        return self.forti_config

    def hostname(self) -> str:
        with self.lock:
            if self.spec.platform == "cisco_xe":
                return self.lines().top_value("hostname") or self.spec.name
            if self.spec.platform == "huawei_vrp":
                return self.lines().top_value("sysname") or self.spec.name
            return self.forti().attribute("system global", "hostname") or self.spec.name

    def running_text(self) -> str:
        """The running config exactly as the device's own 'show running config' command prints it."""
        with self.lock:
            if self.spec.platform == "cisco_xe":
                body = "\n".join(["!", *self.lines().render_lines(), "end"]) + "\n"
                return f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}"
            if self.spec.platform == "huawei_vrp":
                lines = [f"!Software Version {VRP_VERSION}", "#", *self.lines().render_lines(), "return"]
                return "\n".join(lines) + "\n"
            return FORTIOS_HEADER + self.forti().render()

    def set_running_text(self, text: str) -> None:
        with self.lock:
            self._load(text)
        self.changed()

    def save(self) -> None:
        with self.lock:
            self.startup_text = self.running_text()
        self.changed()

    def arm_revert(self, seconds: float, *, to: str | None = None) -> None:
        """Put the running config of now (or `to`) back after `seconds`, unless confirmed; a new
        arm replaces the old."""
        with self.lock:
            if self._revert_timer is not None:
                self._revert_timer.cancel()
            snapshot = self.running_text() if to is None else to
            timer = threading.Timer(seconds, self._revert, args=(snapshot,))
            timer.daemon = True
            self._revert_timer = timer
        timer.start()

    def confirm_revert(self) -> bool:
        """Cancel the armed rollback; False when none was armed."""
        with self.lock:
            timer, self._revert_timer = self._revert_timer, None
        if timer is None:
            return False
        timer.cancel()
        return True

    @property
    def revert_armed(self) -> bool:
        with self.lock:
            return self._revert_timer is not None

    def revert_now(self) -> bool:
        """Put the armed rollback's config back at once (VRP `abort trial`); False when none was armed."""
        with self.lock:
            timer = self._revert_timer
            if timer is None:
                return False
            timer.cancel()
            snapshot = str(next(iter(timer.args)))  # the config the timer would put back
            self._revert_timer = None
            self._load(snapshot)
        self.changed()
        return True

    def path_cut(self) -> bool:
        """Whether the running config holds a line that cuts the management path (`cut_by_line`)."""
        with self.lock:
            pattern = self.faults.cut_by_line
            if pattern is None:
                return False
            return re.search(pattern, self.running_text(), re.MULTILINE) is not None

    def _revert(self, snapshot: str) -> None:
        with self.lock:
            if self._revert_timer is None or self._revert_timer is not threading.current_thread():
                return  # confirmed, or re-armed, while this timer was firing
            self._revert_timer = None
            self._load(snapshot)
        self.changed()

    def changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)
