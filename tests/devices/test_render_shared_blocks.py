"""Blocks a renderer renders once and splices into every config (management plane, crypto suite).

The golden files prove a spliced block reads exactly like the include it replaced; these tests
prove the reuse never crosses what the block depends on: another fleet's management settings,
or the other secrets mode.
"""

from __future__ import annotations

import ipaddress

import pytest
from jinja2 import DictLoader
from testsupport.rendering import TEST_SECRETS, on_platform, secrets_carried_by

from storestack.common.platforms import Platform
from storestack.devices.errors import RenderError
from storestack.devices.render import Renderer, render_store
from storestack.devices.secrets import REDACTED
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet
from storestack.network.outputs import StoreCloudOutputs

SHARED_PLATFORMS: list[Platform] = ["cisco_xe", "huawei_vrp"]


def _with_ntp(fleet: Fleet, *servers: str) -> Fleet:
    management = fleet.spec.management.model_copy(
        update={"ntp_servers": [ipaddress.IPv4Address(server) for server in servers]}
    )
    spec = fleet.spec.model_copy(update={"management": management})
    return Fleet(spec, fleet.hubs, fleet.stores, fleet.root)


def _ntp_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("ntp server", "ntp-service unicast-server"))]


@pytest.mark.parametrize("platform", SHARED_PLATFORMS)
def test_one_renderer_follows_a_change_of_management_settings(fleet: Fleet, platform: Platform) -> None:
    """Views of two fleets through one renderer: each config carries its own fleet's NTP servers."""
    renderer = Renderer()
    before = on_platform(_with_ntp(fleet, "10.200.1.10"), platform)
    after = on_platform(_with_ntp(fleet, "10.200.9.1", "10.200.9.2"), platform)
    store = "nw-0002"
    old_view = ViewBuilder(before).store_view(before.store(store), before.store(store).appliances[0].hostname)
    new_view = ViewBuilder(after).store_view(after.store(store), after.store(store).appliances[0].hostname)

    old_text = renderer.render_store_view(old_view).text
    new_text = renderer.render_store_view(new_view).text

    assert [line.split()[2] for line in _ntp_lines(old_text)] == ["10.200.1.10"]
    assert [line.split()[2] for line in _ntp_lines(new_text)] == ["10.200.9.1", "10.200.9.2"]
    # Everything else is the same store, so only the lines naming an NTP server differ (the
    # `ntp server` lines, and on IOS-XE each server's entry in the overlay's policy to the router).
    old_mentions = [line for line in old_text.splitlines() if line.endswith(" 10.200.1.10") or " 10.200.1.10 " in line]
    new_mentions = [
        line
        for line in new_text.splitlines()
        if any(line.endswith(f" {s}") or f" {s} " in line for s in ("10.200.9.1", "10.200.9.2"))
    ]
    assert len(new_mentions) == 2 * len(old_mentions)
    assert len(new_text.splitlines()) - len(old_text.splitlines()) == len(new_mentions) - len(old_mentions)


@pytest.mark.parametrize("platform", SHARED_PLATFORMS)
def test_a_push_render_never_lends_its_blocks_to_a_redacted_one(
    fleet: Fleet, platform: Platform, device_secrets: dict[str, str], live_outputs: dict[str, StoreCloudOutputs]
) -> None:
    chain = on_platform(fleet, platform)
    (pushed,) = render_store(chain, "nw-0001", outputs=live_outputs, reveal_secrets=True)
    (shown,) = render_store(chain, "nw-0001", outputs=live_outputs)
    (pushed_again,) = render_store(chain, "nw-0001", outputs=live_outputs, reveal_secrets=True)

    assert all(value in pushed.text for value in secrets_carried_by(platform, TEST_SECRETS).values())
    assert not any(value in shown.text for value in TEST_SECRETS.values())
    assert REDACTED in shown.text
    assert pushed_again.text == pushed.text


def test_a_block_is_rendered_once_per_distinct_values(monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = Renderer()
    renderer.env = renderer.env.overlay(loader=DictLoader({"word.j2": "{{ word }} {{ count }}\n"}))
    rendered: list[dict[str, object]] = []
    render = renderer._render

    def counting(template_name: str, context: dict[str, object]) -> str:
        rendered.append(dict(context))
        return render(template_name, context)

    monkeypatch.setattr(renderer, "_render", counting)
    first = renderer.shared_block("word.j2", word="alpha", count=1)
    again = renderer.shared_block("word.j2", count=1, word="alpha")
    other = renderer.shared_block("word.j2", word="alpha", count=2)
    as_text = renderer.shared_block("word.j2", word="alpha", count="1")

    assert (first, again, other, as_text) == ("alpha 1\n", "alpha 1\n", "alpha 2\n", "alpha 1\n")
    assert rendered == [
        {"word": "alpha", "count": 1},
        {"word": "alpha", "count": 2},
        {"word": "alpha", "count": "1"},
    ]


def test_a_shared_block_refuses_mutable_values(fleet: Fleet) -> None:
    renderer = Renderer()
    renderer.env = renderer.env.overlay(
        loader=DictLoader({"list.j2": "{{ items | join(' ') }}\n", "ntp.j2": "{{ mgmt.ntp_servers | join(' ') }}\n"})
    )
    with pytest.raises(RenderError, match="frozen views"):
        renderer.shared_block("list.j2", items=["a", "b"])
    store = fleet.store("nw-0002")
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    with pytest.raises(RenderError, match="frozen views"):  # frozen, but it holds lists
        renderer.shared_block("ntp.j2", mgmt=view)
    assert renderer.shared_block("ntp.j2", mgmt=view.mgmt) == "10.0.1.10 10.0.1.11\n"


def test_only_a_shared_block_may_print_several_lines() -> None:
    """A template printing a multi-line string of its own is still refused."""
    renderer = Renderer()
    renderer.env = renderer.env.overlay(
        loader=DictLoader(
            {
                "block.j2": "one\ntwo\n",
                "uses-block.j2": "{{ shared_block('block.j2') }}end\n",
                "forges-block.j2": "{{ shared_block('block.j2') ~ 'three\n' }}end\n",
            }
        )
    )
    assert renderer._render("uses-block.j2", {"shared_block": renderer.shared_block}) == "one\ntwo\nend\n"
    with pytest.raises(RenderError, match="control or non-ASCII"):
        renderer._render("forges-block.j2", {"shared_block": renderer.shared_block})


def test_a_control_character_in_template_text_is_refused_with_its_line() -> None:
    renderer = Renderer()
    renderer.env = renderer.env.overlay(loader=DictLoader({"bad.j2": "hostname a\nbanner \x1b[2J\n"}))
    with pytest.raises(RenderError, match="line 2"):
        renderer._render("bad.j2", {})
