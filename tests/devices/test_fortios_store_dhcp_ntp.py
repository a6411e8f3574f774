"""What a FortiOS store's DHCP leases name as NTP server: none, as on every platform of the fleet.

No store serves NTP to its segments: FRR's dnsmasq hands out no NTP option, and a FortiOS store
leaves `system ntp` `server-mode` at its default (disable). A FortiOS DHCP server told `local`
hands out the segment's own gateway as NTP server, which never answers; its default, `specify`
with no `ntp-server1..3` (`SHOW_OMITS_DEFAULTS`), names none."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint.fortinet import parse
from storestack.devices.platforms.fortinet import SHOW_OMITS_DEFAULTS
from storestack.devices.render import render_store
from storestack.inventory import Fleet

NTP_SERVICE_DEFAULT = next(
    value for path, setting, value in SHOW_OMITS_DEFAULTS if path == ("system dhcp server",) and setting == "ntp-service"
)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fortios_leases_name_no_ntp_server_as_frr_ones_do(fleet: Fleet, shape: str) -> None:
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES[shape])
    parsed = parse(config.text)
    assert parsed["system ntp"].own.first("server-mode") in (None, "disable")
    ntp_servers = [e.first("server") for e in parsed["system ntp"].own.blocks["ntpserver"].entries]
    servers = parsed["system dhcp server"].entries
    assert servers
    for server in servers:
        # Option 42 as the Administration Guide ("DHCP options") gives it: `local` the
        # interface's own address, `default` the unit's NTP servers, `specify` ntp-server1..3.
        service = server.first("ntp-service") or NTP_SERVICE_DEFAULT
        handed = {
            "local": [server.first("default-gateway")],
            "default": ntp_servers,
            "specify": [v for n in (1, 2, 3) if (v := server.first(f"ntp-server{n}")) not in (None, "0.0.0.0")],
        }[service]
        assert handed == [], (server.first("interface"), service, handed)
    (frr,) = render_store(on_platform(fleet, "frr"), SHAPES[shape])
    (dnsmasq,) = [text for suffix, text in frr.companions if suffix == "dnsmasq.conf"]
    assert "dhcp-range=" in dnsmasq
    assert "ntp-server" not in dnsmasq and "option:42" not in dnsmasq
