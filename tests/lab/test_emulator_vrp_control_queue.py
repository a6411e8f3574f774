"""The VRP emulator takes the WAN queues' control class onto a unit that runs without it, and takes
it off again in the order an AR allows: a traffic classifier or behavior that a traffic policy binds
is not deleted ("To delete a traffic behavior, unbind the traffic policy containing the traffic
behavior from an interface and unbind the traffic behavior from a traffic classifier in the
traffic policy", AR command reference, "traffic behavior"), and each goes by its name alone
(`undo traffic classifier classifier-name`, `undo classifier classifier-name`)."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform

from storestack.devices.configdiff import remediation_lines, rollback_lines
from storestack.devices.platforms.huawei_vrp import CONTROL_CLASSIFIER
from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A VRP store's config as rendered, and the same without the control class (as it ran before)."""
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    (config,) = render_store(on_platform(load_fleet(sample_chain_path()), "huawei_vrp"), SHAPES["dual-wan"])
    lines = config.text.splitlines()
    without: list[str] = []
    skipping = False
    for line in lines:
        if not line.startswith(" "):
            skipping = line.startswith((f"traffic classifier {CONTROL_CLASSIFIER} ", f"traffic behavior {CONTROL_CLASSIFIER}-"))
        if skipping or line.startswith(f" classifier {CONTROL_CLASSIFIER} behavior "):
            continue
        without.append(line)
    assert len(without) < len(lines)
    return config.text, "\n".join(without) + "\n"


def _unit(config: str) -> tuple[DeviceState, VrpSession]:
    device = DeviceState(EmulatedDevice(name="ar", platform="huawei_vrp"))
    session = VrpSession(device)
    session.handle("system-view")
    lines = [line for line in config.splitlines() if line.strip() and not line.startswith(("#", "return"))]
    assert _send(session, [*lines, "commit"]) == []
    return device, session


def _send(session: VrpSession, lines: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """(line, output) of every line the unit refused."""
    refused = []
    for line in lines:
        output = session.handle(line).output
        if "Error:" in output:
            refused.append((line.strip(), output.strip()))
    return refused


def test_the_control_class_goes_on_and_comes_off_a_running_unit(configs: tuple[str, str]) -> None:
    intended, before = configs
    device, session = _unit(before)
    assert CONTROL_CLASSIFIER not in device.running_text()
    assert _send(session, [*remediation_lines(before, intended, "huawei_vrp"), "commit"]) == []
    running = device.running_text()
    assert f"traffic classifier {CONTROL_CLASSIFIER} operator or\n if-match dscp cs6 cs7\n" in running
    assert f" classifier {CONTROL_CLASSIFIER} behavior {CONTROL_CLASSIFIER}-wan1\n" in running
    back = rollback_lines(running, before, "huawei_vrp")
    assert _send(session, [*back, "commit"]) == []
    assert CONTROL_CLASSIFIER not in device.running_text()


def test_a_bound_classifier_or_behavior_is_not_deleted(configs: tuple[str, str]) -> None:
    intended, _ = configs
    device, session = _unit(intended)
    refused = _send(
        session,
        [
            f"undo traffic classifier {CONTROL_CLASSIFIER}",
            f"undo traffic behavior {CONTROL_CLASSIFIER}-wan1",
            f"undo traffic classifier {CONTROL_CLASSIFIER} operator or",
            "traffic policy QUEUE-wan1",
            f" undo classifier {CONTROL_CLASSIFIER} behavior {CONTROL_CLASSIFIER}-wan1",
        ],
    )
    assert [line for line, _ in refused] == [
        f"undo traffic classifier {CONTROL_CLASSIFIER}",
        f"undo traffic behavior {CONTROL_CLASSIFIER}-wan1",
        f"undo traffic classifier {CONTROL_CLASSIFIER} operator or",
        f"undo classifier {CONTROL_CLASSIFIER} behavior {CONTROL_CLASSIFIER}-wan1",
    ]
    assert "being used by a traffic policy" in refused[0][1]
    assert _send(session, ["quit", "commit"]) == []
    assert f" classifier {CONTROL_CLASSIFIER} behavior {CONTROL_CLASSIFIER}-wan1\n" in device.running_text()
    # unbound from its one policy, the wan1 behavior goes
    unbound = ["traffic policy QUEUE-wan1", f" undo classifier {CONTROL_CLASSIFIER}", "quit"]
    assert _send(session, [*unbound, f"undo traffic behavior {CONTROL_CLASSIFIER}-wan1", "commit"]) == []
    assert f"traffic behavior {CONTROL_CLASSIFIER}-wan1\n" not in device.running_text()
