"""On the VRP emulator in immediate validation (an AR applies each line as typed), a push that
puts a node into a route-policy a live BGP session uses never has BGP apply a half-built policy:
at every line the hub's import policy for a store's link takes the store's routes as before the
push or as after it, never otherwise.

Without `route-policy-change notify-delay`, the AR's route management hands each change to BGP
at once ("By default, the RM immediately notifies the protocol of applying the new policy when
the routing policy changes"): a store link's RETURN-DEGRADED node 5 put in ahead of node 10 took,
from its `route-policy ... node 5` line until its last clause, the store's routes without their
local preference (and, at the node's first line, every route the store sends: a node with no
`if-match` matches every route, as Huawei's Chinese route-policy guide and H3C's configuration
guides say; no English Huawei page found says so, and the test fails on main without it). With the delay, the RM holds the change until `refresh bgp all`, which "can be used
within the delay ... to trigger BGP to immediately use the new policy" (Huawei command reference
"route-policy-change notify-delay"; "Controlling the Valid Time of Routing Policies",
EDOC1000174069). The policy is read with the documented matching: nodes by number, the first
node whose every `if-match` matches decides, permit applies its `apply` clauses, a route no node
matches is denied (NetEngine 8000 F1A "Creating a Route-Policy"); an `if-match ip-prefix` naming
no list matches every route (command reference "if-match ip-prefix")."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from testsupport.emulator_push import vrp_immediate_with

from storestack.devices.configdiff import compute_diff

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp" / "hub.cfg"
POLICY = "FROM-nw-0001-wan1"
NODE_5 = re.compile(rf"^route-policy {POLICY} permit node 5\n(?: .*\n)*#\n", re.MULTILINE)
# (prefix, communities): the store's own segment, a degraded-return copy, a route it must not
# send (the hub's own default route).
ROUTES = (
    ("10.64.0.0/26", ()),
    ("10.64.0.0/26", ("65000:911",)),
    ("0.0.0.0/0", ()),
)
Verdict = tuple[tuple[bool, int | None], ...]


def _prefix_list(text: str, name: str, prefix: str) -> bool | None:
    """An `ip ip-prefix` list's verdict on `prefix`; None where no list of that name exists."""
    entries = re.findall(rf"^ip ip-prefix {re.escape(name)} index (\d+) (permit|deny) (\S+) (\d+)(.*)$", text, re.M)
    if not entries:
        return None
    route = ipaddress.ip_network(prefix)
    for _, action, address, length, rest in sorted(entries, key=lambda entry: int(entry[0])):
        net = ipaddress.ip_network(f"{address}/{length}", strict=False)
        ge = int(m.group(1)) if (m := re.search(r"greater-equal (\d+)", rest)) else None
        le = int(m.group(1)) if (m := re.search(r"less-equal (\d+)", rest)) else None
        low, high = (ge or net.prefixlen, le or (32 if ge else net.prefixlen))
        if route.subnet_of(net) and low <= route.prefixlen <= high:  # type: ignore[arg-type]
            return action == "permit"
    return False


def _verdict(text: str, policy: str) -> Verdict:
    """Each route's (permitted, local preference set) under `policy` as `text` defines it."""
    nodes = re.findall(rf"^route-policy {re.escape(policy)} (permit|deny) node (\d+)\n((?: .*\n)*)", text, re.M)
    result = []
    for prefix, communities in ROUTES:
        outcome: tuple[bool, int | None] = (False, None)
        for action, _, body in sorted(nodes, key=lambda node: int(node[1])):
            clauses = [line.strip() for line in body.splitlines()]
            matched = True
            for clause in clauses:
                if m := re.match(r"if-match ip-prefix (\S+)$", clause):
                    matched &= _prefix_list(text, m.group(1), prefix) is not False
                elif m := re.match(r"if-match community-filter (\S+)$", clause):
                    allowed = re.findall(rf"^ip community-filter basic {m.group(1)} permit (\S+)$", text, re.M)
                    matched &= any(c in allowed for c in communities)
            if matched:
                preference = next((int(c.split()[-1]) for c in clauses if c.startswith("apply local-preference ")), None)
                outcome = (action == "permit", preference if action == "permit" else None)
                break
        result.append(outcome)
    return tuple(result)


def test_a_node_put_into_a_live_route_policy_is_applied_whole() -> None:
    intended = GOLDEN.read_text()
    running = NODE_5.sub("", intended, count=1)
    assert running != intended
    device, session = vrp_immediate_with(running, "hub")
    device.held_policy = None  # the policy BGP took as the config was loaded
    before, after = _verdict(device.running_text(), POLICY), _verdict(intended, POLICY)
    assert before != after  # the degraded-return copy: 200 before, 50 after

    diff = compute_diff(device.running_text(), intended, "huawei_vrp")
    applied = []
    session.handle("system-view")
    for line in diff.remediation:
        assert "Error:" not in session.handle(line).output, line
        applied.append((line, _verdict(device.policy_text(), POLICY)))
    session.handle("return")
    for line in diff.refresh:
        assert "Error:" not in session.handle(line).output, line
        applied.append((line, _verdict(device.policy_text(), POLICY)))

    assert [(line, seen) for line, seen in applied if seen not in (before, after)] == []
    assert applied[-1][1] == after
