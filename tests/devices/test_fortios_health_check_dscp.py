"""A FortiOS store's health-check probes carry the DSCP of the strictest SLA class steered over
their tunnel, so they are queued, and measured, as that class's traffic is: unmarked, a bulk
transfer filling the link fails the SLA of a class the priority queue keeps clean, and the
class leaves a path that serves it well."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint.fortinet import _nested, _sdwan, parse
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_health_check_is_marked_as_its_strictest_class(fleet: Fleet, shape: str) -> None:
    fortios = on_platform(fleet, "fortinet")
    store = NetworkIntent(fortios).store(SHAPES[shape])
    (config,) = render_store(fortios, SHAPES[shape])
    sdwan = _sdwan(parse(config.text))
    checks = _nested(sdwan, "health-check") if sdwan is not None else []
    hub_tunnels = {str(t.peer_inside): t.id for t in store.tunnels if t.kind == "store-hub"}
    overlay = [a for a in store.sla.applications if a.overlay]
    if not overlay:
        assert not checks
        return
    assert checks
    for check in checks:
        tunnel = hub_tunnels[check.first("server") or ""]
        classes = {a.sla for a in overlay if any(p.tunnel == tunnel for p in a.paths)}
        strictest = min(classes, key=lambda c: (c.thresholds.loss_percent, c.timers.detection_seconds, c.name))
        dscp = store.sla.probe_dscp(strictest.name)
        assert dscp, f"{strictest.name} rides the overlay unmarked"
        assert check.first("diffservcode") == f"{dscp:06b}", (check.name, strictest.name)
