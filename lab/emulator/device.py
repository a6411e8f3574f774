"""One emulated device's state, shared by all its SSH sessions; what differs per platform is its
profile's (`lab/emulator/profiles/`)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from storestack.lab.emulator.forticonfig import FortiConfig
from storestack.lab.emulator.lineconfig import LineConfig
from storestack.lab.emulator.models import DeviceFaults, EmulatedDevice
from storestack.lab.emulator.profiles import EmulatorProfile, get_profile


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
        # The BGP soft refreshes the device ran, as (neighbour, direction), in order.
        self.bgp_refreshes: list[tuple[str, str]] = []
        # The config whose routing policy BGP applies, where the platform holds policy changes back
        # from it (VRP's `route-policy-change notify-delay`); None: the running config's.
        self.held_policy: str | None = None
        self._on_change = on_change
        self.profile: EmulatorProfile = get_profile(spec.platform)
        initial = spec.running_config if spec.running_config is not None else self.profile.default_config(spec.name)
        self.config: Any = None  # the profile's config model: a LineConfig or a FortiConfig
        # What the platform keeps outside its running config (a table of users its running config
        # never shows), by the profile's own keys: loading or putting back a config text leaves it.
        self.outside_config: dict[str, Any] = {}
        self._load(initial)
        self.startup_text = self.running_text()
        # An armed rollback (IOS-XE `configure terminal revert timer`): the running config it
        # goes back to, and the timer that does it unless `configure confirm` comes first.
        self._revert_timer: threading.Timer | None = None

    @property
    def platform(self) -> str:
        return self.spec.platform

    def _load(self, text: str) -> None:
        self.config = self.profile.parse(text)

    def lines(self) -> LineConfig:
        """The config of a line-oriented platform (IOS-XE, VRP)."""
        assert isinstance(self.config, LineConfig)
        return self.config

    def forti(self) -> FortiConfig:
        assert isinstance(self.config, FortiConfig)
        return self.config

    def hostname(self) -> str:
        with self.lock:
            return self.profile.hostname(self.config) or self.spec.name

    def running_text(self) -> str:
        """The running config exactly as the device's own 'show running config' command prints it."""
        with self.lock:
            return self.profile.running_text(self.config)

    def policy_text(self) -> str:
        """The config whose routing policy BGP applies now (`held_policy`, else the running one)."""
        with self.lock:
            return self.held_policy if self.held_policy is not None else self.running_text()

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
