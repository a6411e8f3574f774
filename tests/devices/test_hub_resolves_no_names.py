"""A hub resolves no names (network/model.py HubIntent.management): every server it talks to is
configured by address, and its stateless DC-port filters (IOS-XE, VRP) cannot tie a DNS answer to
a query, so a permit for the answers would open every UDP port of the hub to anyone sending from
a resolver's address and port 53. No hub platform gets a DNS client; the stores keep theirs."""

from __future__ import annotations

import ipaddress
import json

from click.testing import CliRunner
from testsupport.rendering import on_platform

from storestack.cli.main import cli
from storestack.common.platforms import Platform
from storestack.devices.render import RenderedConfig, render_hub, render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

# What each platform's config holds when it resolves names through HQ's forwarders
# (management.dns_forwarders: 10.0.1.53 and 10.0.2.53 in the sample chain); FRR's in its
# dnsmasq companion file.
DNS_CLIENT: dict[Platform, tuple[str, ...]] = {
    "cisco_xe": ("ip name-server ", "ip domain lookup source-interface "),
    "huawei_vrp": ("dns resolve", "dns server ", "dns domain "),
    "fortinet": ("config system dns\n",),
    "frr": ("10.0.1.53", "10.0.2.53"),
}


def _text(config: RenderedConfig) -> str:
    return "\n".join([config.text, *(companion for _, companion in config.companions)])


def test_no_hub_has_a_dns_client_or_takes_dns_answers(fleet: Fleet) -> None:
    """On every hub platform; a store of the same platform still resolves through HQ's forwarders."""
    for platform, client in DNS_CLIENT.items():
        chain = on_platform(fleet, platform)
        hub = _text(render_hub(chain, "hq-hub1"))
        assert [line for line in client if line in hub] == [], platform
        # Nothing from a resolver's port 53 is let in (IOS-XE `eq domain`, VRP `source-port eq dns`).
        assert " eq domain host " not in hub and "source-port eq dns" not in hub, platform
        store = "\n".join(_text(config) for config in render_store(chain, "nw-0002"))
        assert [line for line in client if line in store] != [], platform
    # IOS-XE looks names up by default: the hub switches it off, and keeps its domain name (SSH's
    # RSA key is named after the host and domain).
    hub = render_hub(on_platform(fleet, "cisco_xe"), "hq-hub1").text
    assert "\nno ip domain lookup\n" in hub and "\nip domain name northwind.example\n" in hub


def test_the_intent_and_network_show_give_a_hub_no_resolvers(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    assert {intent.hub(hostname).management.dns_forwarders for hostname in fleet.hubs} == {()}
    resolvers = tuple(ipaddress.IPv4Address(a) for a in ("10.0.1.53", "10.0.2.53"))
    assert intent.store("nw-0002").management.dns_forwarders == resolvers
    result = CliRunner().invoke(cli, ["network", "show", "hq-hub1", "--json"])
    assert result.exit_code == 0, result.output
    management = json.loads(result.output)["management"]
    assert management["dns"] == [] and management["syslog"] == ["10.0.1.20"] and management["tacacs"] == ["10.0.1.49"]
    text = CliRunner().invoke(cli, ["network", "show", "hq-hub1"])
    assert text.exit_code == 0, text.output
    assert "DNS none (resolves no names)" in " ".join(text.output.split())
