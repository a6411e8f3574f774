"""Values that parse but are wrong where they are used are refused with file:line.

Network ranges the appliances and clouds would trust, WAN addresses that are no host's,
secret references outside the fleet's rule, copied device identities, a lock file of another
version, and anything `plan` would refuse later.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from storestack.common.secretrefs import SecretPolicy, parse_secret_ref, read_secret
from storestack.inventory import InventoryError, load_fleet
from storestack.inventory.paths import sample_chain_path

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def edit_fleet(fleet_dir: Path) -> Callable[[Edit], Path]:
    def edit(change: Edit) -> Path:
        path = fleet_dir / "fleet.yaml"
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return fleet_dir

    return edit


def _set(*path: Any, value: Any) -> Edit:
    def change(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        if isinstance(node, list) and path[-1] == len(node):
            node.append(value)
        else:
            node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("ip_plan", "management"),
            ["0.0.0.0/0"],
            [
                "fleet.yaml:{line} ip_plan.management[0]: 0.0.0.0/0 is not a private (RFC 1918) range",
                "fleet.yaml:{line} ip_plan.management[0]: 0.0.0.0/0 is wider than /16 "
                "(ip_plan.management_widest_prefix): appliances would accept management from all of it",
            ],
        ),
        (
            ("ip_plan", "management"),
            ["10.0.0.0/8"],
            [
                "fleet.yaml:{line} ip_plan.management[0]: 10.0.0.0/8 is wider than /16 "
                "(ip_plan.management_widest_prefix): appliances would accept management from all of it"
            ],
        ),
        (
            ("ip_plan", "stores"),
            "8.0.0.0/16",
            ["fleet.yaml:{line} ip_plan.stores: 8.0.0.0/16 is not a private (RFC 1918) range"],
        ),
        (
            ("ip_plan", "loopbacks"),
            "127.0.0.0/20",
            [
                "fleet.yaml:{line} ip_plan.loopbacks: 127.0.0.0/20 is neither RFC 1918 nor inside ip_plan.private_ranges"
            ],
        ),
        (
            ("sites", "hq", "hubs", 0, "public_address"),
            "10.9.9.9",
            [
                "fleet.yaml:{line} sites.hq.hubs[0].public_address: 10.9.9.9 is not a public address a VPN can reach"
            ],
        ),
        (
            ("management", "ntp_servers"),
            ["224.0.1.1"],
            [
                "fleet.yaml:{line} management.ntp_servers[0]: 224.0.1.1 is a multicast address, not a unicast host address"
            ],
        ),
        (
            ("management", "secrets"),
            {"local-admin-password": "env:PULUMI_CONFIG_PASSPHRASE"},
            [
                "fleet.yaml:{line} management.secrets.local-admin-password: env:PULUMI_CONFIG_PASSPHRASE names a "
                "variable without the fleet's secret prefix 'STORESTACK_' (management.secret_env_prefix)"
            ],
        ),
        (
            ("management", "secrets"),
            {"local-admin-password": "file:/etc/shadow"},
            [
                "fleet.yaml:{line} management.secrets.local-admin-password: file:/etc/shadow is not inside a secret "
                "directory of the fleet (management.secret_file_dirs: none declared)"
            ],
        ),
        (
            ("sites", "aws", 1),
            {
                "name": "sandhill-dev",
                "account_id": "123456789012",
                "regions": ["eu-west-1"],
                "staff_entry_roles": ["saml/staff-sign-in"],
            },
            ["fleet.yaml:{line} sites.aws: the core stack needs exactly one AWS account, not 2"],
        ),
        (
            # Without them the staff roles would trust every role of the account that carried the
            # staff tags (IAM User Guide, "AWS global condition context keys", aws:PrincipalArn).
            ("sites", "aws", 0, "staff_entry_roles"),
            [],
            [
                "fleet.yaml:{line} sites.aws[0]: staff_entry_roles: name the roles the identity provider "
                "signs staff into (the staff roles trust no other caller)"
            ],
        ),
        (
            ("sites", "aws", 0, "staff_entry_roles"),
            ["saml/*"],
            ["fleet.yaml:{line} sites.aws[0].staff_entry_roles[0]: 'saml/*' is not an IAM role's path and name "
             "(e.g. saml/staff-sign-in; a '*' only at the end)"],
        ),
        (
            ("sites", "hq", "hubs"),
            [
                {
                    "hostname": f"hq-hub{n}",
                    "platform": "frr",
                    "management_address": f"10.0.250.{10 + n}",
                    "public_address": f"203.0.113.{10 + n}",
                }
                for n in range(1, 10)
            ],
            ["fleet.yaml:{line} sites.hq.hubs: 9 hubs; an OpenStack site's gateway has tunnel addresses for 8"],
        ),
        (
            ("asn", "aws"),
            65535,
            ["fleet.yaml:{line} asn.aws: 65535 is not an AWS Transit Gateway ASN (64512-65534 or 4200000000-4294967294)"],
        ),
    ],
)
def test_fleet_values_that_parse_but_are_wrong_are_refused_with_file_and_line(
    edit_fleet: Callable[[Edit], Path],
    errors_of: Callable[[Path], list[str]],
    path: tuple[Any, ...],
    value: Any,
    expected: list[str],
) -> None:
    fleet = edit_fleet(_set(*path, value=value))
    errors = errors_of(fleet)
    assert len(errors) == len(expected), errors
    for error, wanted in zip(errors, expected, strict=True):
        line = error.split(" ", 1)[0].rsplit(":", 1)[1]
        assert int(line) > 1
        assert error == wanted.format(line=line)


def test_a_customer_gateway_asn_aws_reserves_in_a_region_of_the_fleet_is_refused(
    edit_fleet: Callable[[Edit], Path], errors_of: Callable[[Path], list[str]]
) -> None:
    """CreateCustomerGateway refuses 9059 in eu-west-1 (EC2 API): the hubs (asn.hq) and the
    OpenStack gateways (asn.openstack) have a customer gateway in every region of the fleet."""

    def edit(data: dict[str, Any]) -> None:
        data["sites"]["aws"][0]["regions"].append("eu-west-1")
        data["asn"]["hq"] = 9059

    errors = errors_of(edit_fleet(edit))
    assert [e.split(" ", 1)[1] for e in errors] == [
        "asn.hq: ASN 9059 is reserved by AWS in eu-west-1: no customer gateway there may have it"
    ], errors
    # The Transit Gateway takes a 4-byte private ASN, as AWS does.
    def four_byte(data: dict[str, Any]) -> None:
        data["asn"].update(hq=65000, aws=4_290_000_000)

    assert load_fleet(edit_fleet(four_byte)).spec.asn.aws == 4_290_000_000


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            _set("lan", "pos", value={"vlan": 10, "subnet": "8.8.8.0/24"}),
            "stores/sh-0002.yaml:{line} lan.pos.subnet: 8.8.8.0/24 is not a private (RFC 1918) range",
        ),
        (
            _set("lan", "pos", value={"vlan": 10, "subnet": "224.0.0.0/24"}),
            "stores/sh-0002.yaml:{line} lan.pos.subnet: 224.0.0.0/24 is not a private (RFC 1918) range",
        ),
        (
            _set("lan", "pos", value={"vlan": 10, "subnet": "192.168.7.0/24"}),
            "stores/sh-0002.yaml:{line} lan.pos.subnet: 192.168.7.0/24 is outside ip_plan.stores 10.64.0.0/16",
        ),
        (
            _set(
                "wan",
                0,
                value={
                    "name": "lte1",
                    "kind": "lte",
                    "isp": "EE",
                    "bandwidth_mbps": 100,
                    "addressing": "static",
                    "address": "224.1.1.2/30",
                    "gateway": "224.1.1.1",
                },
            ),
            "stores/sh-0002.yaml:{line} wan[0].address: 224.1.1.2 is a multicast address, not a unicast host address",
        ),
        (
            _set(
                "wan",
                0,
                value={
                    "name": "lte1",
                    "kind": "lte",
                    "isp": "EE",
                    "bandwidth_mbps": 100,
                    "addressing": "static",
                    "address": "198.51.100.7/30",
                    "gateway": "198.51.100.5",
                },
            ),
            "stores/sh-0002.yaml:{line} wan[0].address: 198.51.100.7 is the network or broadcast address "
            "of 198.51.100.4/30",
        ),
        (
            _set("appliances", 0, "management_address", value="203.0.113.99"),
            "stores/sh-0002.yaml:{line} appliances[0].management_address: 203.0.113.99 is neither RFC 1918 "
            "nor inside ip_plan.private_ranges",
        ),
    ],
)
def test_store_networks_that_parse_but_are_wrong_are_refused_with_file_and_line(
    fleet_dir: Path,
    edit_store: Callable[[str, Edit], Path],
    errors_of: Callable[[Path], list[str]],
    change: Edit,
    expected: str,
) -> None:
    edit_store("sh-0002", change)
    errors = errors_of(fleet_dir)
    (error,) = [e for e in errors if "sh-0002" in e and "wan[0].gateway" not in e]
    line = error.split(" ", 1)[0].rsplit(":", 1)[1]
    assert int(line) > 1 and error == expected.format(line=line)


def test_a_fleet_may_declare_its_own_secret_prefix_and_secret_directory(
    edit_fleet: Callable[[Edit], Path],
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["management"]["secret_env_prefix"] = "SANDHILL_"
        data["management"]["secret_file_dirs"] = ["/run/secrets"]
        data["management"]["secrets"] = {
            "local-admin-password": "env:SANDHILL_ADMIN",
            "tacacs-key": "file:/run/secrets/tacacs-key",
        }

    assert len(load_fleet(edit_fleet(change))) == 2


def test_secret_files_must_be_0600_regular_files_inside_the_allowed_directory(tmp_path: Path) -> None:
    allowed = tmp_path / "secrets"
    allowed.mkdir()
    policy = SecretPolicy(file_dirs=(str(allowed),))
    good = allowed / "admin"
    good.write_text("Str0ng.Passw0rd\n")
    good.chmod(0o600)
    assert read_secret(parse_secret_ref(f"file:{good}"), policy) == ("Str0ng.Passw0rd", None)
    good.chmod(0o644)
    value, problem = read_secret(parse_secret_ref(f"file:{good}"), policy)
    assert value is None and problem is not None and "secret files must be 0600" in problem
    outside = tmp_path / "elsewhere"
    outside.write_text("not-for-devices")
    outside.chmod(0o600)
    (allowed / "link").symlink_to(outside)
    value, problem = read_secret(parse_secret_ref(f"file:{allowed}/link"), policy)
    assert value is None and problem == f"file:{allowed}/link resolves outside the fleet's secret directories"
    os.mkfifo(allowed / "fifo")
    value, problem = read_secret(parse_secret_ref(f"file:{allowed}/fifo"), policy)
    assert value is None and problem == f"file:{allowed}/fifo is not a regular file"


def test_a_secret_outside_the_rule_is_never_read_even_for_a_push(monkeypatch: pytest.MonkeyPatch) -> None:
    from storestack.network.secrets import resolve_secret_refs

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "pulumi-state-passphrase")
    slots = resolve_secret_refs({"local-admin-password": "env:PULUMI_CONFIG_PASSPHRASE"}, reveal=True)
    slot = slots["local-admin-password"]
    assert slot.value is None and slot.problem is not None and "STORESTACK_" in slot.problem


@pytest.mark.parametrize("field", ["serial", "ssh_host_key"])
def test_a_device_identity_used_twice_across_stores_is_refused(
    fleet_dir: Path,
    edit_store: Callable[[str, Edit], Path],
    errors_of: Callable[[Path], list[str]],
    field: str,
) -> None:
    value = "SH-EDGE-0001" if field == "serial" else "SHA256:" + "A" * 43
    edit_store("sh-0001", _set("appliances", 0, field, value=value))
    edit_store("sh-0002", _set("appliances", 0, field, value=value))
    what = "serial" if field == "serial" else "SSH host key"
    (error,) = errors_of(fleet_dir)
    assert error.startswith("stores/sh-0002.yaml:")
    assert error.endswith(
        f"appliances[0].{field}: {what} {value} is already used by stores/sh-0001.yaml:"
        + error.rsplit("stores/sh-0001.yaml:", 1)[1]
    )


@pytest.mark.parametrize(("version", "extra"), [("99", ""), ("1", "\nrenumber: true")])
def test_a_lock_file_of_another_version_or_with_unknown_keys_is_refused(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]], version: str, extra: str
) -> None:
    load_fleet(fleet_dir, write_lock=True)
    lock = fleet_dir / "allocations.yaml"
    lock.write_text(lock.read_text().replace("version: 1", f"version: {version}{extra}"))
    (error,) = errors_of(fleet_dir)
    if version == "99":
        assert error == (
            "allocations.yaml:3 version: lock file version 99 is not supported "
            "(this storestack reads and writes version 1)"
        )
    else:
        assert error.startswith("allocations.yaml:4 renumber: unknown key 'renumber'")


def test_everything_plan_would_refuse_is_refused_by_validate_first(tmp_path: Path) -> None:
    """Schema-valid but wrong values, each either refused by validate or accepted by the stacks."""
    from storestack.stacks.errors import StackConfigError
    from storestack.stacks.mapping import core_config, store_config

    hostile_fleet_values: list[tuple[tuple[Any, ...], Any]] = [
        (("ip_plan", "stores"), "100.64.0.0/12"),
        (("ip_plan", "hq"), ["8.8.0.0/16"]),
        (("ip_plan", "management"), ["0.0.0.0/0"]),
        (("ip_plan", "cloud"), "172.32.0.0/14"),
        (("ip_plan", "desktops"), "100.65.0.0/16"),
        (("sites", "hq", "hubs", 0, "public_address"), "100.64.0.1"),
        (("sites", "hq", "hubs", 0, "public_address"), "127.0.0.1"),
        (("sites", "aws"), []),
        (("asn", "aws"), 4200000000),
    ]
    hostile_store_values: list[tuple[tuple[Any, ...], Any]] = [
        (("lan", "pos", "subnet"), "172.16.5.0/24"),
        (("lan", "pos", "subnet"), "11.0.0.0/24"),
    ]
    sample = sample_chain_path()
    cases = [("fleet.yaml", path, value) for path, value in hostile_fleet_values]
    cases += [("stores/nw-0001.yaml", path, value) for path, value in hostile_store_values]
    refused = 0
    for index, (file, path, value) in enumerate(cases):
        fleet_dir = tmp_path / f"case-{index}"
        shutil.copytree(sample, fleet_dir)
        target = fleet_dir / file
        data = yaml.safe_load(target.read_text())
        _set(*path, value=value)(data)
        target.write_text(yaml.safe_dump(data, sort_keys=False))
        try:
            fleet = load_fleet(fleet_dir)
        except InventoryError:
            refused += 1
            continue
        # Validate accepted it: the stacks must accept it too.
        try:
            core_config(fleet)
            for store in fleet:
                store_config(fleet, store)
        except StackConfigError as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"validate accepted {file} {path}={value!r} but plan refuses it: {exc}")
    assert refused == len(cases)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_fleet_validate_accepts_maps_onto_stacks_plan_accepts(tmp_path: Path, seed: int) -> None:
    from storestack.inventory.generate import generate_fleet, write_fleet
    from storestack.stacks.mapping import core_config, store_config

    write_fleet(generate_fleet(40, seed=seed), tmp_path / "fleet")
    fleet = load_fleet(tmp_path / "fleet")
    core_config(fleet)
    for store in fleet:
        store_config(fleet, store)


def test_named_desktop_users_are_bounded_by_the_stores_seats(
    fleet_dir: Path, edit_store: Callable[[str, Edit], Path], errors_of: Callable[[Path], list[str]]
) -> None:
    """Seats are entitlements; each desktop belongs to one named user, listed once."""

    def users(data: dict[str, Any]) -> None:
        data["desktops"] = {"cashier": 1}
        data["desktop_users"] = [
            {"user": "ann.ek", "role": "cashier"},
            {"user": "bo.lind", "role": "cashier"},
            {"user": "ann.ek", "role": "cashier"},
        ]

    edit_store("sh-0002", users)
    errors = [e for e in errors_of(fleet_dir) if "desktop_users" in e]
    assert len(errors) == 2, errors
    assert "desktop_users[1].role: more named cashier users than the store's 1 seat(s)" in errors[0]
    assert "desktop_users[2].user: user 'ann.ek' is listed twice" in errors[1]
