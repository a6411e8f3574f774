"""An IOS-XE hub binds each store's own filter (FROM-STORE-<id>) to the store's links through the
AAA attribute list its IKEv2 authorization policy names (`attribute type interface-config "ip
access-group FROM-STORE-<id> in"`), which every virtual-access the store dials in gets in place
of the virtual template's FROM-STORES. The push did not read that line as naming the filter: a
store added to the hub got its keyring peer and its attribute list before its filter existed, so
a store link that came up between those lines of the push (a new store dials in as soon as its
PSK is there) was cloned bound to a filter the router did not hold yet, and filtered nothing
("You should create the ACL before applying it to an interface. With most versions of Cisco IOS
Software, an interface that has an empty ACL applied to it permits all traffic", Cisco Press,
Interconnecting Cisco Network Devices Part 2, "Managing Traffic with Access Control Lists"):
any source, another store's or HQ's infrastructure's, into HQ. Now the push reads that line as
naming the filter: the filter is defined first (and, as before, deleted only after the attribute
lists stop naming it)."""

from __future__ import annotations

import pytest
from testsupport.rendering import on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet

HUB = "hq-hub1"
STORE = "nw-0001"


def _hubs(fleet: Fleet) -> tuple[str, str]:
    """The IOS-XE hub's config without the store (decommissioned) and with it."""
    ios = on_platform(fleet, None, hubs="cisco_xe")
    stores = {s.id: (s.model_copy(update={"state": "decommissioned"}) if s.id == STORE else s) for s in ios}
    without = Fleet(ios.spec, ios.hubs, stores, ios.root)
    return render_hub(without, HUB).text, render_hub(ios, HUB).text


@pytest.fixture(scope="module")
def hubs(fleet: Fleet) -> tuple[str, str]:
    return _hubs(fleet)


def test_a_store_added_gets_its_filter_before_anything_binds_it(hubs: tuple[str, str]) -> None:
    without, with_store = hubs
    sent = compute_diff(without, with_store, "cisco_xe").remediation
    acl = sent.index(f"ip access-list extended FROM-STORE-{STORE}")
    # Its entries follow the definition before any line binds the filter.
    assert sent[acl + 1].lstrip().startswith(("10 ", "permit "))
    for binder in (f"aaa attribute list {STORE}-wan1", f"aaa attribute list {STORE}-lte1"):
        assert acl < sent.index(binder), f"{binder!r} is sent before FROM-STORE-{STORE} exists:\n" + "\n".join(sent)


# A store link is admitted by its keyring peer (its PSK) and given its per-link configuration by
# the authorization policy its mangled identity names, whose attribute list holds its /31, its
# filter and its MTU. A virtual-access is configured from the template and the per-user
# configuration once, when the link comes up: a link admitted before its authorization policy and
# attribute list were there came up with the template alone (FROM-STORES, no /31: its BGP
# session down) and stayed so until it dialled again.


def _link_lines(sent: tuple[str, ...], link: str) -> tuple[int, int, int]:
    """Where the keyring peer, the authorization policy and the attribute list of `link` are."""
    peer = next(i for i, line in enumerate(sent) if line.strip() in (f"peer {link}", f"no peer {link}"))
    policy = next(i for i, line in enumerate(sent) if line.endswith(f"crypto ikev2 authorization policy {link}"))
    attributes = next(i for i, line in enumerate(sent) if line.endswith(f"aaa attribute list {link}") and not line[0].isspace())
    return peer, policy, attributes


@pytest.mark.parametrize("link", [f"{STORE}-wan1", f"{STORE}-lte1"])
def test_a_store_added_is_admitted_only_once_its_links_are_authorized(hubs: tuple[str, str], link: str) -> None:
    without, with_store = hubs
    sent = compute_diff(without, with_store, "cisco_xe").remediation
    peer, policy, attributes = _link_lines(sent, link)
    assert attributes < policy < peer, f"{link}'s PSK is sent before its authorization is there:\n" + "\n".join(sent)


@pytest.mark.parametrize("link", [f"{STORE}-wan1", f"{STORE}-lte1"])
def test_a_store_decommissioned_is_refused_before_its_authorization_goes(hubs: tuple[str, str], link: str) -> None:
    without, with_store = hubs
    sent = compute_diff(with_store, without, "cisco_xe").remediation
    peer, policy, attributes = _link_lines(sent, link)
    assert peer < policy < attributes, f"{link} is still admitted after its authorization went:\n" + "\n".join(sent)
