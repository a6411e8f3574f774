"""`vrp-acl-number`: two ACLs of one number in one VRP config are one ACL to an AR (the second
`acl name` line renames the first or is refused), so the interface that names one of them
filters with the other's rules or none. The rule passes every rendered VRP config (the golden
texts, the sample chain) and finds a number duplicated into a golden text; the platform's one
ACL table (devices/platforms/huawei_vrp.py) gives no two store or hub ACLs one number."""

from __future__ import annotations

from pathlib import Path

import pytest

from storestack.devices.lint import ConfigFile, Finding, huawei_vrp
from storestack.devices.platforms import huawei_vrp as platform

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"


def _config(name: str, text: str | None = None) -> ConfigFile:
    path = GOLDEN / name
    role = "hub" if name == "hub.cfg" else "edge"
    return ConfigFile(name, "huawei_vrp", role, path.stem, text if text is not None else path.read_text())


def _found(config: ConfigFile) -> list[Finding]:
    return [f for f in huawei_vrp.acl_numbers(config) if f.rule == "vrp-acl-number"]


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.cfg")))
def test_golden_vrp_configs_give_each_acl_its_own_number(name: str) -> None:
    assert _found(_config(name)) == []


@pytest.mark.parametrize(
    ("name", "old", "new", "taken"),
    [
        # A store's WAN-ECHO numbered into its WAN-IN: the WAN port's `qos car ... acl 3099`
        # would police everything WAN-IN passes.
        ("aws.cfg", "acl name WAN-ECHO 3095\n", "acl name WAN-ECHO 3099\n", "WAN-IN"),
        # A hub's cloud filter numbered into WAN-ECHO (what the 16th cloud site once got).
        ("hub.cfg", "acl name FROM-CLOUD-AWS1 3080\n", "acl name FROM-CLOUD-AWS1 3095\n", "WAN-ECHO"),
        # A numbered-only ACL on the management ACL's number.
        ("aws.cfg", "acl name GUEST-NAT 2001\n", "acl number 2000\n", "MGMT-HQ"),
    ],
)
def test_a_duplicated_acl_number_is_found(name: str, old: str, new: str, taken: str) -> None:
    text = (GOLDEN / name).read_text()
    assert old in text
    found = _found(_config(name, text.replace(old, new, 1)))
    assert len(found) == 1
    assert taken in found[0].message


def test_the_same_acl_entered_twice_is_not_a_duplicate() -> None:
    text = (GOLDEN / "aws.cfg").read_text()
    assert _found(_config("aws.cfg", text + "acl name WAN-IN 3099\n")) == []


def test_the_acl_table_gives_no_two_acls_of_one_role_one_number() -> None:
    """Within a store and within a hub, the fixed numbers and the numbered ranges never meet."""
    store = [
        platform.MGMT_FILTER[1],
        platform.GUEST_NAT_FILTER[1],
        platform.CELLULAR_FILTER[1],
        platform.OVERLAY_FILTER[1],
        platform.HUB_FILTER[1],
        platform.WAN_ECHO_FILTER[1],
        platform.GUEST_FILTER[1],
        platform.STORE_WAN_FILTER[1],
        *(
            n
            for low, high in (
                platform.AWS_FILTER_NUMBERS,
                platform.SEGMENT_FILTER_NUMBERS,
                platform.FLOW_ACL_NUMBERS,
                platform.QOS_MARK_NUMBERS,
                platform.LAN_POLICY_NUMBERS,
            )
            for n in range(low, high + 1)
        ),
    ]
    assert len(store) == len(set(store))
    hub = [platform.MGMT_FILTER[1], *(n for _, n in platform.HUB_FIXED_ACLS)]
    assert len(hub) == len(set(hub))
