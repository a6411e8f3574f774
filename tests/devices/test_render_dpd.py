"""Dead-peer detection on every vendor platform comes from the fleet crypto policy alone.

The policy (network/crypto.py, `FLEET_CRYPTO`) sets when a tunnel probes a silent peer and how
many unanswered probes make it dead; AWS's tunnel options and strongSwan already follow it. A
store or hub on IOS-XE, VRP or FortiOS must say the same: change the policy and every tunnel's
DPD lines change with it, no number left behind in a template.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import ConfigFile, cisco_xe, fortinet, huawei_vrp
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet
from storestack.network import crypto
from storestack.network.errors import NetworkIntentError

# Far from every current value and inside every platform's range.
_INTERVAL, _RETRIES = 17, 4


@pytest.fixture
def changed_policy(monkeypatch: pytest.MonkeyPatch) -> crypto.CryptoPolicy:
    policy = dataclasses.replace(crypto.FLEET_CRYPTO, dpd_interval_seconds=_INTERVAL, dpd_retries=_RETRIES)
    monkeypatch.setattr(crypto, "FLEET_CRYPTO", policy)
    return policy


def _texts(fleet: Fleet, platform: str) -> list[str]:
    """The hub (its store and cloud tunnels) and an AWS store (hub and AWS tunnels) on `platform`."""
    on = on_platform(fleet, platform)
    (store,) = render_store(on, SHAPES["aws"])
    return [render_hub(on, "hq-hub1").text, store.text]


def test_ios_xe_dpd_follows_the_policy(fleet: Fleet, changed_policy: crypto.CryptoPolicy) -> None:
    # Retransmissions spread over interval x retries (68 s / 5, rounded): `dpd 17 14 <mode>`.
    for text in _texts(fleet, "cisco_xe"):
        lines = re.findall(r"^ dpd .*$", text, re.M)
        assert lines, "no IKEv2 profile states DPD"
        assert set(lines) <= {" dpd 17 14 periodic", " dpd 17 14 on-demand"}, sorted(set(lines))


def test_vrp_dpd_follows_the_policy(fleet: Fleet, changed_policy: crypto.CryptoPolicy) -> None:
    for text in _texts(fleet, "huawei_vrp"):
        peers = re.findall(r"^ike peer .*\n((?: .*\n)*)", text, re.M)
        assert peers, "no IKE peer"
        for body in peers:
            assert " dpd idle-time 17\n" in body, body
            assert " dpd retransmit-interval 17\n" in body, body
            assert " dpd retry-limit 4\n" in body, body


def test_fortios_dpd_follows_the_policy(fleet: Fleet, changed_policy: crypto.CryptoPolicy) -> None:
    for text in _texts(fleet, "fortinet"):
        phase1 = text.split("config vpn ipsec phase1-interface\n", 1)[1].split("\nend\n", 1)[0]
        entries = re.findall(r"^    edit .*\n((?:        .*\n)*)", phase1 + "\n", re.M)
        assert entries, "no phase 1"
        for body in entries:
            assert "        set dpd on-idle\n" in body, body
            assert "        set dpd-retryinterval 17\n" in body, body
            assert "        set dpd-retrycount 4\n" in body, body


def test_a_policy_outside_a_platform_range_is_refused(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    # VRP counts at least 3 retransmissions: a policy of 2 cannot be spelled there.
    monkeypatch.setattr(crypto, "FLEET_CRYPTO", dataclasses.replace(crypto.FLEET_CRYPTO, dpd_retries=2))
    with pytest.raises(NetworkIntentError, match="retry-limit 2, the platform accepts 3-10"):
        render_hub(on_platform(fleet, "huawei_vrp"), "hq-hub1")


def test_ios_xe_hub_probes_its_stores_on_demand(fleet: Fleet) -> None:
    """A hub serves every store link: periodic DPD would cost an IKE exchange per store link and
    interval on its control plane, which Cisco advises against with many peers; on demand, the
    BGP keepalives in each tunnel make it probe a silent store as soon. A store's few hub tunnels
    stay periodic."""
    on = on_platform(fleet, "cisco_xe")
    hub = render_hub(on, "hq-hub1").text
    profiles = re.findall(r"^crypto ikev2 profile (\S+)\n((?: .*\n)*)", hub, re.M)
    stores = {name: body for name, body in profiles if name == "STORES" or name.startswith("STORE-")}
    assert "STORES" in stores and " virtual-template 1\n" in stores["STORES"]
    for name, body in stores.items():
        assert re.search(r"^ dpd \d+ \d+ on-demand$", body, re.M), (name, body)
    config = ConfigFile("hub.cfg", "cisco_xe", "hub", "hq-hub1", hub)
    assert list(cisco_xe.ipsec_dpd(config)) == []
    text = re.sub(r"(crypto ikev2 profile STORES\n(?: .*\n)*? dpd \d+ \d+) on-demand", r"\1 periodic", hub)
    periodic = dataclasses.replace(config, text=text)
    assert [f.message.split(": ", 1)[1] for f in cisco_xe.ipsec_dpd(periodic)] == [
        "periodic dead-peer detection on a profile every store dials into (an IKE exchange per peer "
        "and interval): on-demand"
    ]
    (store,) = render_store(on, SHAPES["aws"])
    modes = re.findall(r"^crypto ikev2 profile HUB-.*\n(?: .*\n)*? dpd \d+ \d+ (\S+)$", store.text, re.M)
    assert modes and set(modes) == {"periodic"}


# The literals the templates carried before the policy reached them, as a hand edit would
# bring them back.
_STALE = {
    "cisco_xe": (cisco_xe.ipsec_dpd, "cisco-ipsec-dpd", " dpd 10 6 on-demand\n", " dpd 10 3 on-demand\n"),
    "huawei_vrp": (huawei_vrp.ipsec_dpd, "vrp-ipsec-dpd", " dpd retransmit-interval 10\n", ""),
    # (the policy's 3 retries are FortiOS's default, which the config leaves out)
    "fortinet": (fortinet.ipsec_dpd, "fortios-ipsec-dpd", "        set dpd-retryinterval 10\n", ""),
}


@pytest.mark.parametrize("platform", sorted(_STALE))
def test_lint_finds_dpd_the_policy_does_not_give(fleet: Fleet, platform: str) -> None:
    rule, name, current, stale = _STALE[platform]
    hub = render_hub(on_platform(fleet, platform), "hq-hub1")
    config = ConfigFile(hub.filename, platform, "hub", hub.name, hub.text)
    assert list(rule(config)) == []
    assert current in hub.text
    broken = dataclasses.replace(config, text=hub.text.replace(current, stale, 1))
    found = list(rule(broken))
    assert [f.rule for f in found] == [name], found
    assert "dead-peer detection" in found[0].message
