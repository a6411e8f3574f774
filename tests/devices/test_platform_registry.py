"""The platform registry: every platform name has one module, and its naming is what the
golden configs show today."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from hier_config.platforms.driver_base import HConfigDriverBase

from storestack.common.platforms import EMULATED_PLATFORM_NAMES, PLATFORM_NAMES, Platform
from storestack.devices import frr_confirm
from storestack.devices.drivers import driver_for, hier_driver
from storestack.devices.errors import PushConfigError
from storestack.devices.platforms import PLATFORMS, UnknownPlatformError, get_platform
from storestack.rollout.verify import JSON_PLATFORMS

GOLDEN = Path(__file__).parent / "golden"

# Interface names as the golden configs spell them: (golden file, name) per naming rule. The
# dual-wan store has wan1 (priority 0) and lte1 (priority 1); its pos segment is VLAN 10. The
# hub's first store link is nw-0001's wan1 on transit /31 number 0.
EXPECTED: dict[Platform, dict[str, tuple[str, str]]] = {
    "frr": {
        "loopback": ("dual-wan", "lo"),
        "wan0": ("dual-wan", "wan1"),
        "wan1": ("dual-wan", "lte1"),
        "segment": ("dual-wan", "lan0.10"),
        "hub_tunnel1": ("dual-wan", "xfrm1"),
        "hub_tunnel4": ("dual-wan", "xfrm4"),
        "aws_tunnel": ("aws", "aws-wan1-t2"),
        "hub_peer": ("hub", "nw-0001-wan1"),
    },
    "cisco_xe": {
        "loopback": ("dual-wan", "Loopback0"),
        "wan0": ("dual-wan", "GigabitEthernet0/0/0"),
        "wan1": ("dual-wan", "GigabitEthernet0/0/1"),
        "segment": ("dual-wan", "GigabitEthernet0/1/0.10"),
        "hub_tunnel1": ("dual-wan", "Tunnel1"),
        "hub_tunnel4": ("dual-wan", "Tunnel4"),
        "aws_tunnel": ("aws", "Tunnel102"),
        "hub_peer": ("hub", "Virtual-Template1"),
    },
    "huawei_vrp": {
        "loopback": ("dual-wan", "LoopBack0"),
        "wan0": ("dual-wan", "GigabitEthernet0/0/1"),
        "wan1": ("dual-wan", "GigabitEthernet0/0/2"),
        "segment": ("dual-wan", "GigabitEthernet0/0/0.10"),
        "hub_tunnel1": ("dual-wan", "Tunnel0/0/1"),
        "hub_tunnel4": ("dual-wan", "Tunnel0/0/4"),
        "aws_tunnel": ("aws", "Tunnel0/0/102"),
        "hub_peer": ("hub", "Tunnel0/0/1"),
    },
    "fortinet": {
        "loopback": ("dual-wan", "lo0"),
        "wan0": ("dual-wan", "wan1"),
        "wan1": ("dual-wan", "wan2"),
        "segment": ("dual-wan", "pos"),
        "hub_tunnel1": ("dual-wan", "hq-hub2-wan1"),
        "hub_tunnel4": ("dual-wan", "hq-hub2-lte1"),
        "aws_tunnel": ("aws", "aws-wan1-t2"),
        "hub_peer": ("hub", "nw-0001-wan1"),
    },
}


def test_every_platform_name_has_exactly_one_registered_module() -> None:
    assert tuple(PLATFORMS) == PLATFORM_NAMES
    for name, platform in PLATFORMS.items():
        assert platform.name == name
        assert platform.driver.name == name
        assert get_platform(name) is platform


def test_the_emulated_flags_agree_with_the_emulated_platform_type() -> None:
    assert tuple(name for name, p in PLATFORMS.items() if p.emulated) == EMULATED_PLATFORM_NAMES


def test_every_emulated_platform_has_one_emulator_profile_and_no_other_has_one() -> None:
    from storestack.lab.emulator.device import DeviceState
    from storestack.lab.emulator.models import EmulatedDevice
    from storestack.lab.emulator.profiles import PROFILES

    assert sorted(PROFILES) == sorted(EMULATED_PLATFORM_NAMES)
    for name, profile in PROFILES.items():
        # The profile's factory config names the device, and its own reader finds the name there.
        device = DeviceState(EmulatedDevice(name="edge-x", platform=name, port=0))  # type: ignore[arg-type]
        assert device.hostname() == "edge-x"
        assert "edge-x" in profile.session(device).prompt  # the prompt names the device, as on the real one


def test_an_unknown_platform_is_refused_by_name() -> None:
    with pytest.raises(UnknownPlatformError, match="'junos'"):
        get_platform("junos")
    with pytest.raises(PushConfigError, match="'junos'"):
        driver_for("junos")


@pytest.mark.parametrize("name", PLATFORM_NAMES)
def test_naming_matches_the_golden_configs(name: Platform) -> None:
    platform = get_platform(name)
    computed = {
        "loopback": platform.loopback,
        "wan0": platform.wan_port(0, "wan1"),
        "wan1": platform.wan_port(1, "lte1"),
        "segment": platform.segment_interface(10, "pos"),
        # nw-0002 (dual-wan): wan1's home hub is hq-hub2; lte1's is hq-hub1, so tunnel 4 (lte1
        # to its other hub) reaches hq-hub2 too.
        "hub_tunnel1": platform.store_tunnel(0, "wan1", 1, "hq-hub2"),
        "hub_tunnel4": platform.store_tunnel(1, "lte1", 4, "hq-hub2"),
        "aws_tunnel": platform.aws_tunnel(0, "wan1", 2),
        "hub_peer": platform.hub_peer_interface("nw-0001", "wan1", 0),
    }
    assert computed == {rule: ifname for rule, (_, ifname) in EXPECTED[name].items()}
    for rule, (golden, ifname) in EXPECTED[name].items():
        text = (GOLDEN / name / f"{golden}.cfg").read_text()
        declared = rf'^(?:interface {re.escape(ifname)}(?: type tunnel)?|\s*edit "{re.escape(ifname)}")$'
        assert re.search(declared, text, re.MULTILINE), f"{rule}: {ifname} is not declared in {name}/{golden}.cfg"


@pytest.mark.parametrize("name", PLATFORM_NAMES)
def test_every_platform_has_its_templates_drivers_and_secret_patterns(name: Platform) -> None:
    platform = get_platform(name)
    folder = files("storestack.templates") / "devices" / name
    for template in ("store.j2", "hub.j2", *(template for _, template in platform.companions)):
        assert (folder / template).is_file(), f"{name}: {template} missing"
    assert isinstance(hier_driver(name), HConfigDriverBase)
    assert platform.secret_patterns, f"{name} declares no secret patterns"
    for pattern in platform.secret_patterns:
        assert re.compile(pattern).groups >= 1, f"{name}: {pattern} keeps no prefix group"


def test_only_frr_answers_show_commands_in_json() -> None:
    assert {"frr"} == JSON_PLATFORMS


def test_only_frr_hosts_carry_companion_files() -> None:
    assert {name for name, p in PLATFORMS.items() if p.companions or p.hub_companions} == {"frr"}
    # IPsec, routing, firewall, the authenticated NTP client (chrony and its key file), remote
    # syslog (rsyslog), the SNMPv3 agent (snmpd and its unit's drop-in), IPv4 forwarding
    # (sysctl.d) and the WAN queues (`tc -batch`; a hub's towards the stores)
    host = {"nftables.conf", "swanctl.conf", "strongswan.conf", "routing", "chrony.conf", "chrony.keys", "qos.tc"}
    host |= {"rsyslog.conf", "snmpd.conf", "snmpd.unit", "sysctl.conf"}
    # and the firewall at boot, which falls back to forwarding nothing (nftables.service's drop-in)
    host |= {"nftables.unit"}
    # Stores add DHCP/DNS and the SLA steering of their application classes (storestack-steer).
    assert set(dict(get_platform("frr").companions)) == host | {"dnsmasq.conf", "steering.conf"}
    assert set(dict(get_platform("frr").hub_companions)) == host


def test_fortios_confirm_saves_the_change_while_revert_mode_still_holds_it() -> None:
    """In revert mode `execute cfg save` writes the change; in automatic mode it has no effect
    (FortiOS CLI reference, `execute cfg save`). The confirm (and the settle after a revert)
    saves before the line that leaves revert mode, and once more after it."""
    forti = get_platform("fortinet").commit_confirm
    assert forti is not None
    for sequence in (forti.render(forti.confirm, 120), forti.render(forti.settle, 120)):
        leave = sequence.index("unset cfg-save")
        assert "execute cfg save" in sequence[:leave], sequence
        assert sequence[-1] == "execute cfg save"


def test_every_platform_arms_a_rollback_in_its_own_unit_and_range() -> None:
    xe, vrp, forti = (get_platform(name).commit_confirm for name in ("cisco_xe", "huawei_vrp", "fortinet"))
    assert xe is not None and vrp is not None and forti is not None
    # IOS-XE counts minutes (1-120): a timeout rounds up, never down to a shorter wait.
    assert xe.render(xe.arm, 61) == ["configure terminal revert timer 2"] and xe.timer_seconds(61) == 120
    assert xe.timer(10_000) == 120
    # VRP's trial run takes 60-65535 seconds, committed with the change; a plain commit confirms.
    assert vrp.commit_command(30) == "commit trial 60" and vrp.arm == ()
    assert "commit" in vrp.confirm and "abort trial" in vrp.abort
    # FortiOS: revert mode with an idle timeout, left and saved on confirm.
    assert forti.render(forti.arm, 120)[1:3] == ["set cfg-save revert", "set cfg-revert-timeout 120"]
    assert forti.confirm[-1] == "execute cfg save"
    # FRR: the host's storestack-confirm in seconds (10-3600), over the login's exec channel.
    frr = get_platform("frr").commit_confirm
    assert frr is not None and frr.via == "host"
    assert frr.render(frr.arm, 5) == ["storestack-confirm arm 10 stdin"] and frr.timer_seconds(120) == 120
    assert frr.timer(10_000) == 3600
    assert frr.guard and frr.confirm == ("confirm",) and frr.abort == ("storestack-confirm revert",)
    # Every command it sends is one the appliance's restricted login lets through; the confirm
    # is a line to the running arm (its guard), not a command of the login.
    for command in (*frr.render(frr.arm, 120), *frr.abort):
        assert frr_confirm.allowed(command)
    assert not frr_confirm.allowed("confirm")


def test_a_vrp_appliance_arms_its_trial_run_only_in_two_phase_validation() -> None:
    vrp = get_platform("huawei_vrp")
    # Told by the system view's prompt: `[~HUAWEI]` two-phase, `[HUAWEI]` immediate.
    modes = dict(vrp.driver.mode_prompts)
    assert vrp.driver.mode_probe == "system-view"
    assert re.match(modes["two-phase"], "[~HUAWEI]") and re.match(modes["two-phase"], "[*HUAWEI-GigabitEthernet0/0/1]")
    assert not re.match(modes["two-phase"], "[HUAWEI]") and re.match(modes["immediate"], "[HUAWEI]")
    assert not re.match(modes["immediate"], "[~HUAWEI]")
    # Immediate validation has no commit and no net: refused with a reason; so is an unknown mode.
    assert vrp.driver.commit_in("two-phase") == "commit" and vrp.driver.commit_in("immediate") is None
    assert vrp.unconfirmable("two-phase") is None
    assert "immediate validation" in (vrp.unconfirmable("immediate") or "")
    assert "unknown" in (vrp.unconfirmable(None) or "")
    # A platform with one way of configuring never refuses.
    assert all(get_platform(name).unconfirmable(None) is None for name in ("cisco_xe", "fortinet", "frr"))


# Where a platform's name may still be compared to a literal outside its module (DEVELOPERS.md,
# "How to add a platform", step 5): the inventory generator's serial formats (`inventory` may not
# import `devices`), FRR's template layout in the renderer, and the lint rules, one module each.
_NAMES_ALLOWED_IN = ("inventory/generate.py", "devices/render.py", "devices/lint/")
_NAME_COMPARED = re.compile(r'(?:==|!=)\s*"(?:frr|cisco_xe|huawei_vrp|fortinet)"|"(?:frr|cisco_xe|huawei_vrp|fortinet)"\s*(?:==|!=)')


def test_no_module_outside_the_registry_branches_on_a_platform_name() -> None:
    import importlib

    offenders = []
    for subpackage in ("cli", "common", "components", "devices", "inventory", "lab", "network", "rollout", "stacks"):
        folder = Path(str(importlib.import_module(f"storestack.{subpackage}").__file__)).parent
        offenders += _literal_comparisons(subpackage, folder)
    assert not offenders, "ask the platform's profile instead:\n" + "\n".join(offenders)


def _literal_comparisons(subpackage: str, folder: Path) -> list[str]:
    offenders = []
    for source in sorted(folder.rglob("*.py")):
        where = f"{subpackage}/{source.relative_to(folder).as_posix()}"
        if where.startswith(("devices/platforms/", "lab/emulator/profiles/", *_NAMES_ALLOWED_IN)):
            continue
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            if _NAME_COMPARED.search(line):
                offenders.append(f"{where}:{number}: {line.strip()}")
    return offenders
