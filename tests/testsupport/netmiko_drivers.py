"""Plain Netmiko, as the lab tests drive an appliance with it: Netmiko's own driver per platform.

One change to one driver: Netmiko's `huawei` driver drops the `pattern` that Netmiko's
`check_config_mode` takes, so the base class reads until the channel has been quiet for two
seconds. Every check waits those two seconds, on a real VRP as on the emulator: two when
`send_config_set` enters `system-view`, two when it leaves, one more at `disconnect` (Netmiko's
issues 3062 and 3552 are the same delay in other drivers, which got a pattern). `HuaweiSSH` here
reads until the driver's own prompt pattern instead; what it sends, and what it takes for
configuration mode (a `]` prompt), are the stock driver's.
"""

from __future__ import annotations

from typing import Any

from netmiko import BaseConnection, ConnectHandler
from netmiko.cisco_base_connection import CiscoBaseConnection
from netmiko.huawei import HuaweiSSH as NetmikoHuaweiSSH

NETMIKO_TYPE = {"frr": "cisco_ios", "cisco_xe": "cisco_xe", "huawei_vrp": "huawei", "fortinet": "fortinet"}


class HuaweiSSH(NetmikoHuaweiSSH):
    """Netmiko's `huawei` SSH driver that tells configuration mode from the prompt it reads."""

    def check_config_mode(self, check_string: str = "]", pattern: str = "", force_regex: bool = False) -> bool:
        return CiscoBaseConnection.check_config_mode(
            self, check_string=check_string, pattern=pattern or self.prompt_pattern, force_regex=force_regex
        )


def netmiko_connect(platform: str, **options: Any) -> BaseConnection:
    """A Netmiko connection to an appliance of `platform` (`options`: ConnectHandler's)."""
    device_type = NETMIKO_TYPE[platform]
    if device_type == "huawei":
        return HuaweiSSH(device_type=device_type, **options)
    return ConnectHandler(device_type=device_type, **options)


def hang_up(connection: BaseConnection) -> None:
    """Close the SSH transport without Netmiko's polite logout, after a push that failed.

    The logout leaves configuration mode first (`return` on VRP, `end` on IOS-XE) and waits for
    the exec prompt: a VRP whose candidate holds uncommitted lines asks instead whether to commit
    them, and a device hanging on `save` answers nothing, so the logout waits out its read
    timeout for a prompt that does not come. storestack's own session hangs up the same way
    (`devices/session.py`); Netmiko's `disconnect` after this one closes its session log.
    """
    connection.paramiko_cleanup()
