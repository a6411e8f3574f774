"""The Linux side of FRR store appliances: the nftables ruleset and dnsmasq config that carry
segmentation, guest NAT, the LTE policy, QoS marking, CCTV limits, DHCP and DNS."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from testsupport.rendering import on_platform

from storestack.devices.render import RenderedConfig, render_fleet
from storestack.inventory import Fleet


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (make system-deps installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def _frr_stores(fleet: Fleet) -> list[RenderedConfig]:
    return [c for c in render_fleet(on_platform(fleet, "frr"), hubs=[])]


def _companion(config: RenderedConfig, suffix: str) -> str:
    return dict(config.companions)[suffix]


def test_every_frr_store_ruleset_passes_nft_check(fleet: Fleet, tmp_path: Path) -> None:
    nft = _tool("nft")
    for config in _frr_stores(fleet):
        path = tmp_path / f"{config.name}.nft"
        path.write_text(_companion(config, "nftables.conf"))
        result = subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{config.name}: {result.stderr}"


def test_every_frr_store_dnsmasq_config_passes_its_check(fleet: Fleet, tmp_path: Path) -> None:
    dnsmasq = _tool("dnsmasq")
    for config in _frr_stores(fleet):
        path = tmp_path / f"{config.name}.dnsmasq.conf"
        path.write_text(_companion(config, "dnsmasq.conf"))
        result = subprocess.run(
            [dnsmasq, "--test", "-C", str(path)], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, f"{config.name}: {result.stderr}"


def test_guest_wifi_breaks_out_locally_and_never_reaches_the_overlay(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0004"], hubs=[])
    rules = _companion(config, "nftables.conf")
    guest = fleet.store("nw-0004").segments["guest-wifi"]
    assert f'oifname "wan1" ip saddr {guest.subnet} masquerade' in rules
    lines = rules.splitlines()
    accept = lines.index('        iifname "lan0.40" oifname "wan1" accept')
    assert lines[accept + 1] == '        iifname "lan0.40" drop'  # nothing else, the overlay included
    for protected in ("pos", "office"):
        assert f'iifname "lan0.50" ip daddr {fleet.store("nw-0004").segments[protected].subnet} drop' in rules


def test_lte_carries_only_pos_and_management(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    rules = [
        line.strip() for line in _companion(config, "nftables.conf").splitlines() if 'oifname "lte1"' in line
    ]
    store = fleet.store("nw-0001")
    assert rules == [
        f'oifname "lte1" ip saddr {store.appliances[0].loopback}/32 accept',
        f'oifname "lte1" ip saddr {store.segments["pos"].subnet} accept',
        'oifname "lte1" drop',
    ]


def test_every_segment_has_a_local_dhcp_scope(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0008"], hubs=[])
    dnsmasq = _companion(config, "dnsmasq.conf")
    for kind, segment in fleet.store("nw-0008").segments.items():
        assert f"dhcp-range=set:{kind},{segment.dhcp_start},{segment.dhcp_end}," in dnsmasq
