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
    assert [(key.id, key.algorithm) for key in management.ntp_keys] == [(1, "aes128-cmac")]
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
            "  ntp_keys: [{id: 2, algorithm: aes128-cmac, secret: ntp-next}]",
            "fleet.yaml:{m} management: ntp_keys: key 2's secret 'ntp-next' has no reference in secrets",
        ),
        (
            "  ntp_keys: [{id: 0, algorithm: aes128-cmac, secret: ntp-key}]",
            "fleet.yaml:{n} management.ntp_keys[0].id: 0 is out of range",
        ),
        (
            "  ntp_keys: [{id: 1, algorithm: md5, secret: ntp-key}]",
            "fleet.yaml:{n} management.ntp_keys[0].algorithm: ",
        ),
        (
            "  ntp_keys: [{id: 1, algorithm: aes128-cmac, secret: ntp-key}, {id: 1, algorithm: sha256, secret: ntp-key}]",
            "fleet.yaml:{n} management.ntp_keys: two keys share one key id",
        ),
        (
            "  ntp_key_ids: {ntp-key: 1}",
            "fleet.yaml:{n} management.ntp_key_ids: replaced by ntp_keys: a list of {{id, algorithm, secret}}",
        ),
    ],
    ids=[
        "private-resolver",
        "shared-space-resolver",
        "key-without-secret",
        "key-id-zero",
        "md5-refused",
        "shared-key-id",
        "old-ntp-key-ids",
    ],
)
def test_management_errors_name_file_line_and_field(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]], extra: str, expected: str
) -> None:
    fleet_file = fleet_dir / "fleet.yaml"
    m = fleet_file.read_text().splitlines().index("management:") + 1
    n = _management(fleet_dir, extra)
    (error,) = errors_of(fleet_dir)
    assert error.startswith(expected.format(n=n, m=m)), error


def test_a_platform_without_a_key_it_can_compute_is_refused_where_it_is_named(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    """The default key is AES-128-CMAC, which VRP and FortiOS lack: a store on either would never
    authenticate its NTP servers, so the inventory names the store's platform line and the keys."""
    store_file = fleet_dir / "stores" / "sh-0002.yaml"
    lines = store_file.read_text().splitlines()
    at = lines.index("    platform: cisco_xe")
    lines[at] = "    platform: fortinet"
    store_file.write_text("\n".join(lines) + "\n")
    m = (fleet_dir / "fleet.yaml").read_text().splitlines().index("management:") + 1
    errors = errors_of(fleet_dir)
    assert [error for error in errors if "NTP" in error] == [
        f"stores/sh-0002.yaml:{at + 1} appliances[0].platform: fortinet implements none of the NTP keys' "
        f"algorithms (fleet.yaml:{m} management.ntp_keys: 1 aes128-cmac); it needs a key with sha256"
    ], errors
    _management(
        fleet_dir,
        "  ntp_keys:\n    - {id: 1, algorithm: aes128-cmac, secret: ntp-key}\n"
        "    - {id: 7, algorithm: sha256, secret: ntp-fortios}\n"
        "  secrets:\n    ipsec-psk: env:STORESTACK_IPSEC_PSK\n    ntp-fortios: env:STORESTACK_NTP_KEY_SHA256",
    )
    fleet = load_fleet(fleet_dir)
    keys = NetworkIntent(fleet).store("sh-0002").management.ntp_keys
    assert [(key.id, key.algorithm) for key in keys] == [(1, "aes128-cmac"), (7, "sha256")]


# ---------------------------------------------------------------- QoS classes


def _append(fleet_dir: Path, text: str) -> int:
    """Append `text` to fleet.yaml; the line number of its third line."""
    fleet_file = fleet_dir / "fleet.yaml"
    before = len(fleet_file.read_text().splitlines())
    fleet_file.write_text(fleet_file.read_text() + text)
    return before + 3


def test_default_qos_classes_reach_the_intent(fleet_dir: Path) -> None:
    store = NetworkIntent(load_fleet(fleet_dir)).store("sh-0001")
    classes = {q.name: (q.dscp_name, q.priority, q.bandwidth_percent, q.shape_percent) for q in store.qos}
    assert classes == {
        "voice": ("ef", True, 10, None),
        "pos": ("af31", False, 20, None),
        "business": ("af21", False, 25, None),
        "iot": ("af11", False, 10, None),
        "cctv": ("cs1", False, 0, 20),
        "best-effort": ("default", False, 0, None),
    }
    zones = {zone.name: zone.qos_class for zone in store.zones}
    assert zones["pos"] == "pos" and zones["office"] == "business"
    assert zones.get("guest-wifi", "best-effort") == "best-effort"
    # Every application's DSCP is a class's: the SLA steering and the queues agree.
    dscps = {q.dscp for q in store.qos}
    assert all(application.dscp in dscps for application in store.sla.applications)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sla:\n  applications:\n    video: {sla: business, segments: [office], protocol: udp, ports: ['3478'],"
            " dscp: af41}\n",
            "fleet.yaml:{n} sla.applications.video.dscp: DSCP af41 maps to no QoS class (qos.classes: voice ef, "
            "pos af31, business af21, iot af11, cctv cs1, best-effort default)",
        ),
        (
            "sla:\n  applications:\n    guest: {sla: best-effort, segments: [guest-wifi], protocol: udp,"
            " ports: ['5060'], dscp: ef}\n",
            "fleet.yaml:{n} sla.applications.guest.dscp: guest Wi-Fi traffic is best effort (default); "
            "it is never marked ef",
        ),
        (
            "sla:\n  applications:\n    pos: {sla: strict, segments: [pos], dscp: ef}\n",
            "fleet.yaml:{n} sla.applications.pos.dscp: takes all other pos traffic, which the trust boundary "
            "marks af31 (qos class 'pos'), not ef",
        ),
    ],
    ids=["dscp-without-class", "guest-marked-ef", "catch-all-off-class"],
)
def test_application_dscp_errors_name_file_line_and_field(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]], text: str, expected: str
) -> None:
    n = _append(fleet_dir, text)
    assert errors_of(fleet_dir) == [expected.format(n=n)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "qos:\n  classes:\n    voice: {dscp: ef, priority: true, bandwidth_percent: 60, segments: [office]}\n"
            "    pos: {dscp: af31, bandwidth_percent: 50, segments: [pos, cctv, iot]}\n"
            "    rest: {dscp: default, segments: [guest-wifi]}\n",
            "the classes guarantee 110% of a transport (at most 98: 2% is the routers' own BGP and BFD)",
        ),
        (
            "qos:\n  classes:\n    voice: {dscp: ef, priority: true, bandwidth_percent: 10, segments: [guest-wifi]}\n"
            "    rest: {dscp: default, segments: [pos, office, cctv, iot]}\n",
            "guest Wi-Fi must be best effort (dscp default): guests never choose their queue",
        ),
        (
            "qos:\n  classes:\n    pos: {dscp: af31, bandwidth_percent: 10, segments: [pos]}\n"
            "    rest: {dscp: default, segments: [office, cctv, guest-wifi]}\n",
            "no class for segment(s) iot",
        ),
    ],
    ids=["over-100-percent", "guest-priority", "segment-without-class"],
)
def test_qos_policy_errors(fleet_dir: Path, errors_of: Callable[[Path], list[str]], text: str, expected: str) -> None:
    n = _append(fleet_dir, text) - 2  # the `qos:` line
    (error,) = errors_of(fleet_dir)
    assert error.startswith(f"fleet.yaml:{n} qos") and error.endswith(expected), error


def test_a_fleet_whose_own_secrets_predate_ntp_keys_gets_the_default_reference(fleet_dir: Path) -> None:
    """A `secrets:` list written before NTP authentication keeps loading; its NTP key is read from
    the default reference, and the demo generates that variable like the other lab secrets."""
    from storestack.lab.workspace import secret_variables

    _management(fleet_dir, "  secrets:\n    ipsec-psk: env:STORESTACK_IPSEC_PSK\n    tacacs-key: env:STORESTACK_TACACS_KEY")
    fleet = load_fleet(fleet_dir)
    assert "ntp-key" not in fleet.spec.management.secrets
    (key,) = NetworkIntent(fleet).store("sh-0001").management.ntp_keys
    assert key.secret.source == "env:STORESTACK_NTP_KEY"
    assert "STORESTACK_NTP_KEY" in secret_variables(fleet)


def test_an_snmp_pair_a_platform_does_not_document_is_refused_where_it_is_named(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    """The fleet's one SNMPv3 user takes one protocol pair everywhere. IOS-XE documents no SHA-2
    for it: a fleet asking HMAC-SHA-256 is refused at the IOS-XE store's platform line, naming
    the pair, rather than that store keeping SHA-1 unnoticed. Without that store it loads, and
    the intent carries the pair."""
    _management(fleet_dir, "  snmp_auth: sha256")
    store_file = fleet_dir / "stores" / "sh-0002.yaml"
    at = store_file.read_text().splitlines().index("    platform: cisco_xe")
    management = (fleet_dir / "fleet.yaml").read_text().splitlines().index("management:") + 1
    assert [error for error in errors_of(fleet_dir) if "SNMP" in error] == [
        f"stores/sh-0002.yaml:{at + 1} appliances[0].platform: cisco_xe documents no SNMPv3 authentication "
        f"'sha256' (it documents sha1) (fleet.yaml:{management} management: snmp_auth sha256, snmp_priv aes128)"
    ]
    store_file.write_text(store_file.read_text().replace("    platform: cisco_xe", "    platform: frr"))
    management_access = NetworkIntent(load_fleet(fleet_dir)).store("sh-0002").management
    assert (management_access.snmp_auth, management_access.snmp_priv) == ("sha256", "aes128")


def test_the_snmp_pair_defaults_to_sha1_and_aes128_and_takes_no_other_name(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    management = NetworkIntent(load_fleet(fleet_dir)).store("sh-0001").management
    assert (management.snmp_auth, management.snmp_priv) == ("sha1", "aes128")
    n = _management(fleet_dir, "  snmp_priv: des")
    (error,) = errors_of(fleet_dir)
    assert error.startswith(f"fleet.yaml:{n} management.snmp_priv:"), error
