"""A VRP push that renumbers an ACL never lets through, line by line, what the ACL denies before
and after it.

An AR in immediate validation (every V200R/V300R release) applies each line of a push as it is
typed. A rule put in the middle of an ACL moves every later rule to the next rule ID (the views
number them 5 apart), so the push deletes those rules and adds them again. Deleted from the top,
the ACL held its later permits without the denies above them: the office zone's `permit ip
source <office>` without `deny ... destination 10.0.0.0 0.255.255.255` (an office host opened a
session to the payment service through the zone firewall), a hub's store filter its `permit ip
source <store segment>` without the denies of the other stores' ranges. A traffic-filter passes
what no rule matches, so on a store filter the ACL's closing `rule N deny ip` stays until it is
swapped for the new one: deleted from the bottom up to it and added from the top, the ACL is at
every moment the start of the old or of the new one, closed by a deny. (A filter bound by
`traffic-filter`, such as a hub's store filter, is now rebuilt under its other name instead where
a change both deletes and adds rules: test_configdiff_vrp_swap.py.)
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from testsupport.rendering import vrp_acl_with_rule

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint import Packet
from storestack.devices.lint.huawei_vrp import acl_verdict
from storestack.devices.lint.linetree import parse

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"

# An office host opening a connection to the payment service, which the office's overlay ACL
# (a zone firewall's packet-filter: what no rule permits is denied) does not permit.
_OFFICE_TO_PAYMENT = Packet("tcp", ipaddress.IPv4Address("10.64.2.70"), ipaddress.IPv4Address("10.0.10.5"), 443)

_RULE = re.compile(r"^\s*rule (\d+) (.*)$")
_UNDO = re.compile(r"^\s*undo rule (\d+)$")
# Any deletion of a rule, also one that repeats the rule after its ID (which VRP does not document).
_ANY_UNDO = re.compile(r"^\s*undo rule (\d+)\b")


def _header(config: str, acl: str) -> str:
    return next(line for line in config.splitlines() if re.fullmatch(rf"acl name {re.escape(acl)} \d+", line))


def _rules(config: str, acl: str) -> dict[int, str]:
    header = _header(config, acl)
    rules: dict[int, str] = {}
    inside = False
    for line in config.splitlines():
        if not line[:1].isspace():
            inside = line == header
        elif inside and (found := _RULE.match(line)):
            rules[int(found.group(1))] = found.group(2)
    return rules


def _states_while_pushed(remediation: tuple[str, ...], running: str, acl: str) -> list[dict[int, str]]:
    """The ACL's rules after each line of the push that runs inside it. A `rule N` sent to an ID
    the ACL holds would edit that rule, its other fields kept: never sent."""
    header = _header(running, acl)
    rules = _rules(running, acl)
    states = [dict(rules)]
    inside = False
    for line in remediation:
        if not line[:1].isspace():
            inside = line == header
            continue
        if not inside or line.strip() == "quit":
            continue
        if found := _ANY_UNDO.match(line):
            del rules[int(found.group(1))]
        else:
            added = _RULE.match(line)
            assert added is not None, line
            assert int(added.group(1)) not in rules, f"{acl}: rule {added.group(1)} still held"
            rules[int(added.group(1))] = added.group(2)
        states.append(dict(rules))
    return states


def _passes(acl: str, rules: dict[int, str], packet: Packet, *, unmatched_passes: bool) -> bool:
    """Whether the ACL passes `packet`: its first matching rule decides; what none matches passes
    on a traffic-filter, not on a zone firewall's packet-filter."""
    text = f"acl name {acl} 3999\n" + "".join(f" rule {n} {rules[n]}\n" for n in sorted(rules))
    block = parse(text, ("#",)).children[0]
    verdict = acl_verdict(block, packet)
    matched = verdict.rule.startswith("rule ")
    return verdict.forwarded if matched else unmatched_passes


def test_an_office_host_never_reaches_the_payment_service_while_its_acl_is_renumbered() -> None:
    acl = "OFFICE-TO-OVERLAY"
    running = (GOLDEN / "dual-wan.cfg").read_text()
    intended = vrp_acl_with_rule(running, acl, 5, "permit ip source 10.64.2.64 0.0.0.63 destination 10.0.0.8 0.0.0.7")
    assert not _passes(acl, _rules(running, acl), _OFFICE_TO_PAYMENT, unmatched_passes=False)
    assert not _passes(acl, _rules(intended, acl), _OFFICE_TO_PAYMENT, unmatched_passes=False)
    states = _states_while_pushed(compute_diff(running, intended, "huawei_vrp").remediation, running, acl)
    assert states[-1] == _rules(intended, acl)
    assert [n for n, s in enumerate(states) if _passes(acl, s, _OFFICE_TO_PAYMENT, unmatched_passes=False)] == []


def test_a_rule_is_deleted_by_its_id_alone() -> None:
    acl = "OFFICE-TO-OVERLAY"
    running = (GOLDEN / "dual-wan.cfg").read_text()
    intended = vrp_acl_with_rule(running, acl, 5, "permit ip source 10.64.2.64 0.0.0.63 destination 10.0.0.8 0.0.0.7")
    diff = compute_diff(running, intended, "huawei_vrp")
    deletions = [line.strip() for line in (*diff.remediation, *diff.rollback) if line.strip().startswith("undo rule")]
    assert deletions
    assert all(_UNDO.match(line) for line in deletions)
