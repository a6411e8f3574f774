"""BGP timers in the network intent (`BGP_TIMERS`, `BgpSession.timers`) as `network show` prints
them: an engineer reading a hub sees how long a crashed neighbour on the DC LAN keeps its routes
(hold 9 s), and that the store links and cloud VPNs keep 10/30."""

from __future__ import annotations

import json

from click.testing import CliRunner

from storestack.cli.main import cli


def test_network_show_prints_each_hub_session_s_timers() -> None:
    hub = json.loads(CliRunner().invoke(cli, ["network", "show", "hq-hub1", "--json"]).output)
    timers = {(p["kind"], p["peer"]): (p["timers"]["keepalive"], p["timers"]["hold"]) for p in hub["peers"]}
    assert timers[("hub-hub", "hq-hub2")] == (3, 9)
    assert timers[("hub-dc", "dc-core1")] == timers[("hub-dc", "dc-core2")] == (3, 9)
    assert {t for (kind, _), t in timers.items() if kind not in ("hub-hub", "hub-dc")} == {(10, 30)}
    text = CliRunner().invoke(cli, ["network", "show", "hq-hub1"]).output
    assert "store links: 17, each max 20 prefixes (sized from 5), over it closed 5 min, keepalive 10 s hold 30 s" in text
    lines = [line for line in text.splitlines() if line.lstrip().startswith(("hub-hub", "hub-dc"))]
    assert len(lines) == 3 and all(line.endswith("keepalive 3 s hold 9 s") for line in lines)


def test_network_show_prints_a_store_s_timers() -> None:
    store = json.loads(CliRunner().invoke(cli, ["network", "show", "nw-0001", "--json"]).output)
    assert {(p["kind"], p["timers"]["keepalive"], p["timers"]["hold"]) for p in store["peers"]} == {
        ("store-hub", 10, 30),
        ("store-aws", 10, 30),
    }
