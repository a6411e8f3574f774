"""A fleet change's partner-copy chain (`copies`, table `storestack_partner_copies`) sends no copy
of a packet the forward chain passes itself, or the second partner hub would deliver it a second
time. It spelled the forward chain's accepts again in words of its own (`oifname != "dc"` for
the store tunnels, any non-DC interface towards the DC port for a store's packet to HQ), which
had already drifted: a store's packet towards a cloud, which the forward chain passes into this
hub's cloud VPN, went to the second hub as well. Both chains now render one list
(devices/frr.py `ForwardAccepts`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, three_hub_chain

from storestack.devices.render import render_change_hubs
from storestack.inventory import load_fleet, sample_chain_path


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _chain(ruleset: str, name: str) -> list[str]:
    found = re.search(rf"(?ms)^    chain {name} \{{\n(.*?)^    \}}", ruleset)
    assert found, f"no chain {name}"
    return [line.strip() for line in found.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]


@pytest.fixture
def ruleset(tmp_path: Path) -> str:
    """hq-hub2's first push of adding hq-hub3: its moving stores' packets are copied to hq-hub3."""
    before, after = load_fleet(sample_chain_path()), load_fleet(three_hub_chain(tmp_path))
    text = dict(render_change_hubs(before, after, ["hq-hub2"])[0].companions)["nftables.conf"]
    assert "dup to " in text
    return text


def test_every_accept_of_the_copy_chain_is_one_the_forward_chain_passes_with(ruleset: str) -> None:
    copies = _chain(ruleset, "copies")
    forward = _chain(ruleset, "forward")
    # The chain's own gate (no partner mark) and routes (the packet itself reaches the second hub)
    own = [rule for rule in copies if "meta mark and" in rule or "@partner_copy_routes" in rule]
    skipped = [rule for rule in copies if rule.endswith(" accept") and rule not in own]
    assert skipped, copies
    assert [rule for rule in skipped if rule not in forward] == []
    # and every one of the forward chain's accepts of a store's packet towards HQ or of HQ's
    # management ranges into a store tunnel is skipped by the copy chain
    assert "iifgroup 10 ip saddr @store_sources ip daddr @corporate accept" in skipped
    assert any("ip saddr @hq_management oifname @store_tunnels accept" in rule for rule in skipped)


def test_the_copy_table_declares_every_set_its_accepts_read(ruleset: str) -> None:
    table = ruleset[ruleset.index("table ip storestack_partner_copies {") :]
    declared = set(re.findall(r"(?m)^    (?:set|map) (\S+) \{", table))
    used = set(re.findall(r"@(\w+)", "\n".join(_chain(ruleset, "copies"))))
    assert used <= declared
