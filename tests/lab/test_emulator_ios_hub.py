"""The IOS-XE emulator takes the rendered IOS-XE hub (no root): its FlexVPN sections (name mangler,
attribute lists, authorization policies, the virtual template) open modes as on a router, so the
running config shows them as rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform

from storestack.devices.render import render_hub
from storestack.devices.session import ApplianceSession
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread


def test_the_rendered_flexvpn_hub_is_taken_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = on_platform(load_fleet(sample_chain_path()), "cisco_xe")
    text = render_hub(fleet, "hq-hub1").text
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("!") and line != "end"]
    device = EmulatedDevice(name="hq-hub1", platform="cisco_xe", store_id="hq")
    with EmulatorThread(Emulator([device], state_dir=tmp_path)) as emulator:
        target = emulator.inventory().appliances[0]
        with ApplianceSession(target, target.credentials.resolve()).open() as session:
            session.configure(lines)  # raises on the first rejected line
        running = emulator.running_config("hq-hub1")
    for section in (
        "crypto ikev2 name-mangler STORES\n fqdn hostname\n",
        "crypto ikev2 authorization policy nw-0001-wan1\n aaa attribute list nw-0001-wan1\n",
        'aaa attribute list nw-0001-wan1\n attribute type interface-config "description ipsec nw-0001-wan1-hq-hub1 ',
        ' attribute type interface-config "ip address 100.64.0.0 255.255.255.254"\n',
        "interface Virtual-Template1 type tunnel\n description store links: one virtual-access per store transport\n",
        " aaa authorization group psk list STORES-LOCAL name-mangler STORES\n",
        " ip access-group HUB-INFRASTRUCTURE in\n",
    ):
        assert section in running, running[running.find(section.split("\n")[0]):][:400]
