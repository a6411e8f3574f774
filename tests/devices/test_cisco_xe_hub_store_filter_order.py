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
lists stop naming it). The keyring peers that admit the store's links go in after their
authorization, and out first; a decommissioned store's filter stays, denying everything, for its
links that may still be up (below)."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rendering import on_platform, three_hub_chain

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet
from storestack.network.build import NetworkIntent

HUB = "hq-hub1"
STORE = "nw-0001"


def _hubs(fleet: Fleet) -> tuple[str, str, str]:
    """The IOS-XE hub's config without the store (never added, or gone from the inventory), with
    it decommissioned, and with it."""
    ios = on_platform(fleet, None, hubs="cisco_xe")
    stores = {s.id: (s.model_copy(update={"state": "decommissioned"}) if s.id == STORE else s) for s in ios}
    decommissioned = Fleet(ios.spec, ios.hubs, stores, ios.root)
    absent = Fleet(ios.spec, ios.hubs, {s.id: s for s in ios if s.id != STORE}, ios.root)
    return render_hub(absent, HUB).text, render_hub(decommissioned, HUB).text, render_hub(ios, HUB).text


@pytest.fixture(scope="module")
def hubs(fleet: Fleet) -> tuple[str, str, str]:
    return _hubs(fleet)


def test_a_store_added_gets_its_filter_before_anything_binds_it(hubs: tuple[str, str, str]) -> None:
    absent, _, with_store = hubs
    sent = compute_diff(absent, with_store, "cisco_xe").remediation
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
def test_a_store_added_is_admitted_only_once_its_links_are_authorized(hubs: tuple[str, str, str], link: str) -> None:
    absent, _, with_store = hubs
    sent = compute_diff(absent, with_store, "cisco_xe").remediation
    peer, policy, attributes = _link_lines(sent, link)
    assert attributes < policy < peer, f"{link}'s PSK is sent before its authorization is there:\n" + "\n".join(sent)


@pytest.mark.parametrize("link", [f"{STORE}-wan1", f"{STORE}-lte1"])
def test_a_store_decommissioned_is_refused_before_its_authorization_goes(
    hubs: tuple[str, str, str], link: str
) -> None:
    _, decommissioned, with_store = hubs
    sent = compute_diff(with_store, decommissioned, "cisco_xe").remediation
    peer, policy, attributes = _link_lines(sent, link)
    assert peer < policy < attributes, f"{link} is still admitted after its authorization went:\n" + "\n".join(sent)


# A decommissioned store's links may stay up on the hub after its push: IOS-XE keeps a live IKEv2
# session whose keyring peer is gone, rekeying it (README, "Retire a store"). Each such
# virtual-access still applies FROM-STORE-<id>, by name, from the attribute list it was cloned
# with. Deleting that filter left each of them with a filter the router does not hold, which
# filters nothing ("an interface that has an empty ACL applied to it permits all traffic", as
# above): the retired store's tunnel took any source to any destination, other stores' segments
# and HQ's infrastructure included. The hub keeps the filter, denying everything, while the store
# is decommissioned.


def _filter(config: str, name: str) -> list[str] | None:
    """The entries of extended ACL `name` in `config`, None where it has none."""
    lines = config.splitlines()
    header = f"ip access-list extended {name}"
    if header not in lines:
        return None
    start = lines.index(header) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith(" "))
    return [line.split(maxsplit=1)[1] for line in lines[start:end]]


def test_a_decommissioned_store_s_filter_denies_everything(hubs: tuple[str, str, str]) -> None:
    absent, decommissioned, with_store = hubs
    assert _filter(with_store, f"FROM-STORE-{STORE}") is not None
    assert _filter(decommissioned, f"FROM-STORE-{STORE}") == ["deny ip any any"]
    assert _filter(absent, f"FROM-STORE-{STORE}") is None


def test_the_push_that_decommissions_a_store_never_leaves_its_filter_permitting(
    hubs: tuple[str, str, str],
) -> None:
    _, decommissioned, with_store = hubs
    sent = compute_diff(with_store, decommissioned, "cisco_xe").remediation
    assert f"no ip access-list extended FROM-STORE-{STORE}" not in sent
    # The entries go from the bottom up, so the filter only narrows while they do; its closing
    # `deny ip any any` stays through.
    block = sent.index(f"ip access-list extended FROM-STORE-{STORE}")
    end = next(i for i in range(block + 1, len(sent)) if not sent[i].startswith(" "))
    deleted = [int(line.split()[1]) for line in sent[block + 1 : end] if line.strip().startswith("no ")]
    assert deleted == sorted(deleted, reverse=True)
    assert not any("deny ip any any" in line for line in sent[block + 1 : end] if line.strip().startswith("no "))


def test_every_hub_keeps_a_decommissioned_store_s_filter(tmp_path: Path) -> None:
    """The hubs a store reaches move when a hub is added or removed (its backup is the next hub
    in the fleet's order): a hub it reached before may still hold a link of it, so every hub
    keeps its filter, one it does not reach now too (nw-0002, homed on hq-hub2, takes hq-hub3 as
    its backup in a chain of three and reaches hq-hub1 no more)."""
    ios = on_platform(load_fleet(three_hub_chain(tmp_path)), None, hubs="cisco_xe")
    stores = {s.id: (s.model_copy(update={"state": "decommissioned"}) if s.id == "nw-0002" else s) for s in ios}
    decommissioned = Fleet(ios.spec, ios.hubs, stores, ios.root)
    assert "hq-hub1" not in NetworkIntent(ios).store_hubs(ios.stores["nw-0002"])
    for hub in decommissioned.hubs:
        assert _filter(render_hub(decommissioned, hub).text, "FROM-STORE-nw-0002") == ["deny ip any any"], hub
