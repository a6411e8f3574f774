"""`devices lint`: an IOS-XE store's SLA operations are answered by the hub they probe. An
unanswered operation times out, and its track keeps the path out of every class it measures:
udp-jitter needs an IOS-XE hub's `ip sla responder` and its FROM-STORES filter letting the
control message (UDP 1967) and the test port in; icmp-jitter needs a Linux hub whose nftables
let ICMP timestamp requests in from the tunnels."""

from __future__ import annotations

import re

import pytest
from lint_files import broken_files
from testsupport.rendering import hubs_on

from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.cross import PROBE_UNANSWERED
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

IOS_STORE = "nw-0003-edge1.cfg"  # the sample chain's IOS-XE store


@pytest.fixture(scope="module")
def cisco_hubs(fleet: Fleet) -> tuple[list[ConfigFile], NetworkIntent]:
    mixed = hubs_on(fleet, "cisco_xe")
    return config_files(mixed), NetworkIntent(mixed)


@pytest.fixture(scope="module")
def frr_hubs(fleet: Fleet) -> tuple[list[ConfigFile], NetworkIntent]:
    return config_files(fleet), NetworkIntent(fleet)


def _unanswered(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.rule == PROBE_UNANSWERED]


def test_what_storestack_renders_is_answered(cisco_hubs: tuple[list[ConfigFile], NetworkIntent],
                                             frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:  # fmt: skip
    for files, intent in (cisco_hubs, frr_hubs):
        assert _unanswered(lint_configs(files, intent).findings) == []


def test_udp_jitter_needs_the_hubs_responder(cisco_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, intent = cisco_hubs
    broken = broken_files(files, "hq-hub1.cfg", lambda text: text.replace("ip sla responder\n", ""))
    found = _unanswered(lint_configs(broken, intent).findings)
    assert found and all(f.file == IOS_STORE and "hq-hub1 runs no `ip sla responder`" in f.message for f in found)


def test_udp_jitter_needs_the_control_port_let_in(cisco_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """The hub's filter lets the test ports in but not the control message on 1967: the sender
    never learns the responder opened the port, every operation times out."""
    files, intent = cisco_hubs
    hub = next(f for f in files if f.name == "hq-hub1.cfg")
    # Every filter's line (FROM-STORES and each store's own FROM-STORE-<id>)
    lines = [line for line in hub.lines if line.endswith(" eq 1967")]
    assert len(lines) > 1
    broken = broken_files(
        files, "hq-hub1.cfg", lambda text: "".join(line for line in text.splitlines(keepends=True) if not line.endswith(" eq 1967\n"))
    )
    found = _unanswered(lint_configs(broken, intent).findings)
    assert found and all("control port 1967" in f.message for f in found)


def test_udp_jitter_to_a_hub_without_responder_is_found(fleet: Fleet) -> None:
    """An IOS-XE store rendered for IOS-XE hubs, linted against FortiOS hubs (which answer ICMP
    echo only): its udp-jitter operations would never get an answer."""
    fortios = hubs_on(fleet, "fortinet")
    ios_store = next(f for f in config_files(hubs_on(fleet, "cisco_xe")) if f.name == IOS_STORE)
    files = [ios_store if f.name == IOS_STORE else f for f in config_files(fortios)]
    found = _unanswered(lint_configs(files, NetworkIntent(fortios)).findings)
    assert found and all("a fortinet hub answers icmp-echo only" in f.message for f in found)


def test_icmp_jitter_needs_timestamps_let_in(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    files, intent = frr_hubs
    broken = broken_files(
        files,
        "hq-hub1.nftables.conf",
        lambda text: text.replace(
            "and pings\n        icmp type { echo-request, timestamp-request } jump icmp_requests",
            "and pings\n        icmp type echo-request jump icmp_requests",
        ),
    )
    found = _unanswered(lint_configs(broken, intent).findings)
    assert found and all(f.file == IOS_STORE and "hq-hub1.nftables" not in f.file for f in found)
    assert all("drop ICMP timestamp requests" in f.message for f in found)


def test_fortios_health_check_the_hub_does_not_answer(frr_hubs: tuple[list[ConfigFile], NetworkIntent]) -> None:
    """A FortiOS store's health check sends what its `protocol` says: ping, which every hub
    answers, as rendered; TWAMP towards a Linux hub, which runs no TWAMP reflector, goes
    unanswered, and the member is out of every SLA for good."""
    files, intent = frr_hubs
    store = "nw-0006-edge1.cfg"  # the sample chain's FortiOS store
    # `protocol ping` is FortiOS's default, left out: the first check gets `protocol twamp`
    broken = broken_files(
        files, store, lambda text: re.sub(r"(\n            set server \S+\n)", r"\1            set protocol twamp\n", text, count=1)
    )
    found = _unanswered(lint_configs(broken, intent).findings)
    assert len(found) == 1 and found[0].file == store
    assert "twamp to 100.64.0.22 (hq-hub1): a frr hub answers icmp-jitter or icmp-echo only" in found[0].message
