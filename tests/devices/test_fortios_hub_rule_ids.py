"""A FortiGate hub's TO-STORES and HUB-STORES prefix-list rules keep their ids when a fleet change
adds a hub, so neither of the hub's two pushes leaves the stores' default route unannounced.

They were numbered by place: the hubs' loopbacks, then the default route. A third hub added made
hq-hub1's held-over config (network/transition.py `held_over`) hold one loopback more, so the push
turned the default's rule into hq-hub3's loopback before it added the default again under the next
number, and for those lines the hub announced its stores no default route (their internet through
HQ). Now the default's rule has an id of its own and a loopback's rule is its address: at every
line of both pushes the hub holds every rule that the configs on either side hold."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import (
    TEST_IPSEC_PSK_SEED,
    TEST_SECRETS,
    hubs_on_yaml,
    static_wan_yaml,
    three_hub_chain,
)

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_change_hubs, render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator.forticonfig import FortiBlock, FortiConfig, unquote
from storestack.lab.emulator.profiles.fortinet import FortiSession

HUB = "hq-hub1"
LISTS = ("TO-STORES", "HUB-STORES")
DEFAULT = "0.0.0.0 0.0.0.0"


def _rules(config: FortiConfig, name: str) -> dict[str, str]:
    """Each rule of prefix list `name` by id: the prefix it matches (with its `le`)."""
    lists = config.root.blocks.get("router prefix-list", FortiBlock())
    entry = next((e for key, e in lists.entries.items() if unquote(key) == name), None)
    rules = entry.blocks.get("rule", FortiBlock()) if entry is not None else FortiBlock()
    return {key: f"{rule.attributes.get('prefix')} le {rule.attributes.get('le')}" for key, rule in rules.entries.items()}


def _held(session: FortiSession) -> FortiConfig:
    return session.staged if session.staged is not None else session.device.forti()


def _push_holding_kept_rules(session: FortiSession, lines: tuple[str, ...], before: str, after: str) -> None:
    """Each line sent (a refused one fails); after every one, each list holds every prefix that
    it holds in both `before` and `after`."""
    kept = {
        name: set(_rules(FortiConfig(before), name).values()) & set(_rules(FortiConfig(after), name).values())
        for name in LISTS
    }
    assert any(rule.startswith(DEFAULT) for rule in kept["TO-STORES"]), "the default route is no rule both configs hold"
    for line in lines:
        send_to_fortios(session, [line])
        config = _held(session)
        for name in LISTS:
            missing = kept[name] - set(_rules(config, name).values())
            assert not missing, f"after {line!r} {name} matches no {sorted(missing)}"


@pytest.fixture
def configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """hq-hub1's config before a third hub is added, held over, and after, every hub a FortiGate."""
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    two = tmp_path / "two"
    shutil.copytree(sample_chain_path(), two)
    three = three_hub_chain(tmp_path / "three")
    for root, hubs in ((two, 2), (three, 3)):
        hubs_on_yaml(root, *(["fortinet"] * hubs))
        static_wan_yaml(root)
    before, after = load_fleet(two), load_fleet(three)
    (union,) = render_change_hubs(before, after, [HUB])
    return render_hub(before, HUB).text, union.text, render_hub(after, HUB).text


def test_the_held_over_config_keeps_every_rule_id(configs: tuple[str, str, str]) -> None:
    held, union, _ = configs
    for name in LISTS:
        old, new = _rules(FortiConfig(held), name), _rules(FortiConfig(union), name)
        assert len(new) > len(old) or name == "HUB-STORES"
        assert {key: rule for key, rule in new.items() if key in old} == old, f"{name} renumbered"


def test_no_line_of_either_push_leaves_the_stores_without_the_default_route(configs: tuple[str, str, str]) -> None:
    held, union, final = configs
    device, session = fortios_holding(held)
    for before, after in ((held, union), (union, final)):
        diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
        _push_holding_kept_rules(session, diff.remediation, before, after)
        assert compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT).in_sync
