"""Guest DNS and NTP keys in `management`: defaults, and errors naming file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storestack.inventory import load_fleet
from storestack.network.build import NetworkIntent


def _management(fleet_dir: Path, extra: str) -> int:
    """Add `extra` lines to fleet.yaml's management block; the line number of the first."""
    fleet_file = fleet_dir / "fleet.yaml"
    lines = fleet_file.read_text().splitlines()
    at = lines.index("  dns_forwarders: [10.0.1.53]") + 1
    lines[at:at] = extra.splitlines()
    fleet_file.write_text("\n".join(lines) + "\n")
    return at + 1


def test_defaults_public_guest_resolvers_and_one_ntp_key(fleet_dir: Path) -> None:
    fleet = load_fleet(fleet_dir)
    management = NetworkIntent(fleet).store("sh-0001").management
    assert [str(a) for a in management.guest_dns] == ["9.9.9.9", "149.112.112.112"]
    assert [key.id for key in management.ntp_keys] == [1]
    assert management.ntp_keys[0].secret.source == "env:STORESTACK_NTP_KEY"
    assert fleet.spec.management.secrets["ntp-key"] == "env:STORESTACK_NTP_KEY"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "  guest_dns: [10.0.1.53]",
            "fleet.yaml:{n} management.guest_dns: 10.0.1.53 is not a public resolver: guest Wi-Fi reaches "
            "nothing private (RFC 1918, RFC 6598, the fleet's ranges), so it resolves through public DNS",
        ),
        (
            "  guest_dns: [9.9.9.9, 100.64.0.53]",
            "fleet.yaml:{n} management.guest_dns: 100.64.0.53 is not a public resolver: guest Wi-Fi reaches "
            "nothing private (RFC 1918, RFC 6598, the fleet's ranges), so it resolves through public DNS",
        ),
        (
            "  ntp_key_ids: {ntp-next: 2}",
            "fleet.yaml:{m} management: ntp_key_ids: 'ntp-next' has no reference in secrets",
        ),
        ("  ntp_key_ids: {ntp-key: 0}", "fleet.yaml:{n} management.ntp_key_ids.ntp-key: 0 is out of range"),
    ],
    ids=["private-resolver", "shared-space-resolver", "key-without-secret", "key-id-zero"],
)
def test_management_errors_name_file_line_and_field(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]], extra: str, expected: str
) -> None:
    fleet_file = fleet_dir / "fleet.yaml"
    m = fleet_file.read_text().splitlines().index("management:") + 1
    n = _management(fleet_dir, extra)
    (error,) = errors_of(fleet_dir)
    assert error.startswith(expected.format(n=n, m=m)), error
