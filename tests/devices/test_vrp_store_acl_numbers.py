"""A VRP store's numbered ACLs stay in their ranges: its AWS tunnel filters, segment filters,
allowed flows and each segment's QoS marks are numbered up from the first of a range of their
own (devices/platforms/huawei_vrp.py, the ACL table), and the next number past a range is
another role's ACL, which the AR would take as the same ACL (lint `vrp-acl-number`). A store that
outgrows a range is refused by name, as one whose LAN traffic policies do. Each range is shrunk
here to one number short of what a sample store needs."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.errors import RenderError
from storestack.devices.platforms import base, huawei_vrp
from storestack.devices.render import render_store
from storestack.inventory import Fleet


def _render(fleet: Fleet, shape: str) -> str:
    (config,) = render_store(on_platform(fleet, "huawei_vrp", hubs="frr"), SHAPES[shape])
    return config.text


def test_the_sample_stores_keep_their_numbers(fleet: Fleet) -> None:
    text = _render(fleet, "aws")
    assert "acl name FROM-AWS-WAN1-T2 3021" in text and "acl name OFFICE-IN 3052" in text
    assert "acl name OFFICE-TO-OVERLAY 3102" in text
    assert "acl name QOS-OFFICE-VOICE 3311" in _render(fleet, "dual-wan")


def test_a_store_with_more_flows_than_their_range_is_refused(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huawei_vrp, "FLOW_ACL_NUMBERS", (3101, 3102))  # the store has 4 flows
    with pytest.raises(RenderError, match=r"store nw-0002: its allowed flows need more advanced ACLs than 3101-3102"):
        _render(fleet, "dual-wan")


def test_a_store_with_more_segments_than_their_range_is_refused(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huawei_vrp, "SEGMENT_FILTER_NUMBERS", (3051, 3053))  # 4 segments
    with pytest.raises(RenderError, match=r"store nw-0002: its segment filters need more advanced ACLs than 3051-3053"):
        _render(fleet, "dual-wan")


def test_a_store_with_more_aws_tunnels_than_their_range_is_refused(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(huawei_vrp.ACL_RANGES, "aws", (3020, 3020))  # 2 AWS tunnels
    with pytest.raises(RenderError, match=r"store nw-0001: its AWS tunnel filters need more advanced ACLs than 3020-3020"):
        _render(fleet, "aws")


def test_a_segment_with_more_qos_marks_than_its_block_is_refused(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    """The office's voice mark is the first of the office's block: with no room in the block, it
    would have taken the CCTV block's first number."""
    monkeypatch.setattr(base, "ACL_BLOCK", 0)
    monkeypatch.setattr(huawei_vrp, "ACL_BLOCK", 0)
    with pytest.raises(RenderError, match=r"store nw-0002: its QoS marks of one segment need more advanced ACLs"):
        _render(fleet, "dual-wan")
