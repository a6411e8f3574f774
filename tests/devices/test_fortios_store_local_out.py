"""A FortiOS store's own traffic (DNS, NTP, syslog, TACACS+ from its loopback) leaves by the hub
tunnel HQ's answers come back through, on every store shape: the hubs' stateful firewalls drop
answers for a session another hub holds."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import ConfigFile
from storestack.devices.lint.fortinet import local_out_rule, parse
from storestack.devices.platforms.fortinet import sdwan_member_id
from storestack.devices.render import render_store
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet


def _loopback_rules(text: str) -> list[list[str]]:
    service = parse(text)["system sdwan"].own.blocks["service"]
    return [rule.get("priority-members") for rule in service.entries if "LOOPBACK" in rule.get("src")]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_fortios_stores_own_traffic_leaves_by_the_tunnel_hqs_answers_take(fleet: Fleet, shape: str) -> None:
    """Each hub tunnel in the order the hubs rank the store's paths back (its local preference,
    which the store's prepends give the DC core too): the first is the home hub's best path, the
    one HQ's answers to the loopback come back through. Without a rule the implicit rule spreads
    the loopback over every tunnel, the other hub's too (the LTE-only store had none)."""
    fleet = on_platform(fleet, "fortinet")
    store = fleet.store(SHAPES[shape])
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    (config,) = render_store(fleet, store.id)
    tunnels = [tunnel for link in view.wan for tunnel in link.tunnels]
    ranked = [str(sdwan_member_id(t)) for t in sorted(tunnels, key=lambda t: (-t.local_pref, t.prepend))]
    back = min(tunnels, key=lambda t: (t.prepend, -t.local_pref))
    assert _loopback_rules(config.text) == [ranked], shape
    assert ranked[0] == str(sdwan_member_id(back)), shape


def test_lint_finds_a_fortios_store_whose_own_traffic_has_no_rule(fleet: Fleet) -> None:
    (config,) = render_store(on_platform(fleet, "fortinet"), SHAPES["lte-only"])
    store = ConfigFile(config.filename, "fortinet", "edge", config.name, config.text, SHAPES["lte-only"])
    assert not list(local_out_rule(store))
    text = config.text
    start = text.index('            set name "local-out"')
    start = text.rindex("        edit ", 0, start)
    end = text.index("        next\n", start) + len("        next\n")
    broken = ConfigFile(config.filename, "fortinet", "edge", config.name, text[:start] + text[end:], store.store_id)
    assert [f.rule for f in local_out_rule(broken)] == ["fortios-local-out-hub"]
