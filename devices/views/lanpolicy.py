"""Huawei VRP: each LAN segment's one inbound traffic policy, which marks, steers and breaks out.

An AR router policy-routes forwarded traffic with a traffic policy applied inbound on the
interface it arrives on ("Configuring Interface PBR": a traffic behavior's redirection action,
in a traffic policy applied inbound; Huawei AR configuration guide, IP unicast routing, PBR,
https://support.huawei.com/enterprise/en/doc/EDOC1100069334/df2fa186/configuring-interface-pbr).
A segment's interface already applies its QoS marking policy inbound, and an interface applies
one traffic policy per direction, so marking and steering share one policy. In a traffic policy
the first classifier a packet matches decides (labnario, "ACL in traffic policy on Huawei
device"), and a packet that matches a `deny` rule of a classifier's ACL is dropped whatever the
behavior says (the same article; Huawei FAQ "What Is the Relationship Between the permit/deny
Rules in an ACL and Those in the Behavior of a Traffic Policy?"). Hence every ACL built here
holds permit rules only, and the classifiers come in this order:

1. traffic to what steering never takes (the view's `unsteered`: the store itself, its segments
   and the loopback, and the cloud where the store has AWS tunnels), with each QoS mark first:
   marked, never redirected (a redirect also catches packets to the router's own addresses, and
   the VPCs answer over the store's own AWS tunnels);
2. per application of the segment, in the intent's order (port-specific ones first), with each
   QoS mark first: a steered one (whose preferred path is not BGP's: `ViewBuilder._steering`)
   marked and redirected to its preferred path while that path's NQA test passes; one that
   follows BGP marked only (ROUTED-<APPLICATION>), where a later steered classifier would
   otherwise catch its packets (voice's ports before a steered back-office that takes all of the
   office's traffic), so it keeps BGP's path, as on the platforms that steer every application;
3. the segment's QoS marks, then everything else with the segment's class.

So each packet gets the QoS class of the first mark it matches and the path of the first
application it matches, as the marking and steering intents say. A classifier whose every packet
an earlier classifier of the same policy already takes (two applications on the same ports, a
QoS mark after an application that takes all of the segment's traffic) could never match: it is
left out, which changes no packet's mark or path (lint `vrp-shadowed-classifier` finds any left).
The final `if-match any` stays: the other classifiers match the segment's own source prefix
only, and a packet from any other source (a misconfigured or spoofing host) must still be
re-marked at the trust boundary.
"""

from __future__ import annotations

from storestack.devices.errors import RenderError
from storestack.devices.platforms.huawei_vrp import nqa_name
from storestack.devices.views.addresses import Net
from storestack.devices.views.model import (
    Acl,
    AclRule,
    LanClassView,
    LanPolicyView,
    MarkView,
    QosClassView,
    RedirectView,
    SegmentView,
    SteeringView,
    WanLinkView,
)
from storestack.network.sla import ApplicationPolicy

# The NQA test that guards the guest breakout's gateway (store template).
GUEST_GATEWAY_TEST = ("storestack", "guest_gateway")

Rule = tuple[str, tuple[int, int] | None]  # protocol, destination port range (None: any)


def _ranges(protocol: str, port_ranges: list[tuple[int, int]]) -> list[Rule]:
    return [(protocol, span) for span in port_ranges] if port_ranges else [(protocol, None)]


def _intersect(first: list[Rule], second: list[Rule]) -> list[Rule]:
    """The traffic both rule sets match (same source): protocols agree (`ip` is any) and the
    port ranges overlap."""
    both: list[Rule] = []
    for protocol_a, span_a in first:
        for protocol_b, span_b in second:
            if protocol_a != "ip" and protocol_b != "ip" and protocol_a != protocol_b:
                continue
            protocol = protocol_b if protocol_a == "ip" else protocol_a
            if span_a is None or span_b is None:
                span = span_b if span_a is None else span_a
            else:
                low, high = max(span_a[0], span_b[0]), min(span_a[1], span_b[1])
                if low > high:
                    continue
                span = (low, high)
            if span is not None and protocol == "ip":
                continue  # a port needs TCP or UDP; `ip` with ports never occurs in the intent
            if (protocol, span) not in both:
                both.append((protocol, span))
    return both


def _covers(earlier: Rule, rule: Rule) -> bool:
    """Every packet `rule` matches, `earlier` matches too (same source, any destination)."""
    (protocol_a, span_a), (protocol_b, span_b) = earlier, rule
    if protocol_a == "ip" and span_a is None:
        return True
    if protocol_a != protocol_b:
        return False
    return span_a is None or (span_b is not None and span_a[0] <= span_b[0] and span_b[1] <= span_a[1])


def _rules(source: Net, rules: list[Rule], destinations: list[Net | None]) -> list[AclRule]:
    found = []
    for destination in destinations:
        for protocol, span in rules:
            low, high = span if span is not None else (None, None)
            found.append(AclRule("permit", protocol, source, destination, low, high if high != low else None))
    return found


class _Policy:
    """The classifiers of one segment's policy, their ACLs numbered from a store-wide counter."""

    def __init__(
        self, store_id: str, acl_range: tuple[int, int], numbers: list[int], counters: dict[str, int]
    ) -> None:
        self.store_id = store_id
        self.acl_range = acl_range  # the platform's first and last number for these ACLs
        self.numbers = numbers  # [next free ACL number], shared by the store's segments
        self.counters = counters  # classifiers per stem (APP-VOICE-1, APP-VOICE-2 ...), store-wide
        self.classes: list[LanClassView] = []
        # What the classifiers so far match of the segment's traffic to any destination.
        self.taken: list[Rule] = []

    def shadowed(self, rules: list[Rule]) -> bool:
        """An earlier classifier of this policy takes every packet `rules` match."""
        return all(any(_covers(earlier, rule) for earlier in self.taken) for rule in rules)

    def add_general(
        self, stem: str, rules: list[Rule], qos: QosClassView, redirect: RedirectView | None, source: Net
    ) -> None:
        """A classifier of the segment's traffic to any destination, unless it is shadowed."""
        if self.shadowed(rules):
            return
        self.add(self.numbered(stem), _rules(source, rules, [None]), qos, redirect)
        self.taken += rules

    def add(
        self, name: str, rules: list[AclRule], qos: QosClassView, redirect: RedirectView | None = None
    ) -> None:
        number = self.numbers[0]
        first, last = self.acl_range
        if number > last:
            raise RenderError(
                f"store {self.store_id}: its LAN traffic policies need more advanced ACLs than "
                f"{first}-{last} hold"
            )
        self.numbers[0] += 1
        self.classes.append(LanClassView(name, Acl(name, number, rules), qos, redirect))

    def numbered(self, stem: str) -> str:
        self.counters[stem] = self.counters.get(stem, 0) + 1
        return f"{stem}-{self.counters[stem]}"


def lan_policies(
    store_id: str,
    segments: list[SegmentView],
    steering: SteeringView | None,
    local: list[Net],
    breakout: WanLinkView | None,
    applications: tuple[ApplicationPolicy, ...],
    acl_range: tuple[int, int],
) -> list[LanPolicyView]:
    """Every segment's inbound traffic policy (see the module's docstring for the order);
    `applications` are the intent's, in its order; the classifiers' ACLs are numbered up from
    `acl_range`'s first (the platform's: `PlatformProfile.acl_numbers("lan-policy")`)."""
    numbers, counters = [acl_range[0]], dict[str, int]()
    steered = {
        (view.segment.tag, application.name): application
        for view in (steering.segments if steering else [])
        for application in view.applications
    }
    policies = []
    for segment in segments:
        # (classifier name stem, what it matches, where to: None follows BGP) per application of
        # the segment that rides the overlay, in the intent's order.
        ordered: list[tuple[str, list[Rule], RedirectView | None]] = []
        for application in applications:
            if not (segment.overlay and application.overlay and segment.kind in application.segments):
                continue
            view = steered.get((segment.tag, application.name))
            if view is None:
                protocol = "ip" if application.protocol == "any" else application.protocol
                ordered.append((f"ROUTED-{application.name.upper()}", _ranges(protocol, list(application.ports)), None))
                continue
            probe = view.paths[0]
            ordered.append(
                (
                    f"APP-{view.tag}",
                    _ranges(view.protocol, view.port_ranges),
                    RedirectView(str(probe.tunnel.inside_peer), nqa_name(probe.sla.probe), probe.name),
                )
            )
        # What the policy classifies before its QoS marks: the steered applications, each
        # application that follows BGP where a later steered one would otherwise take some of its
        # packets (marked only, so they keep BGP's path), and the guest breakout.
        redirects = [
            (stem, match, redirect)
            for index, (stem, match, redirect) in enumerate(ordered)
            if redirect is not None
            or any(later is not None and _intersect(match, rules) for _, rules, later in ordered[index + 1 :])
        ]
        if segment.kind == "guest-wifi" and breakout is not None:
            if not breakout.static or breakout.gateway is None:
                raise RenderError(
                    f"store {store_id}: guest Wi-Fi breaks out through {breakout.name}, which has no "
                    "static gateway to redirect to"
                )
            redirects.append(
                ("GUEST-BREAKOUT", [("ip", None)], RedirectView(breakout.gateway, *GUEST_GATEWAY_TEST))
            )
        policy = _Policy(store_id, acl_range, numbers, counters)
        marks: list[tuple[MarkView, list[Rule]]] = [
            (mark, _ranges(mark.protocol, mark.port_ranges)) for mark in segment.marks
        ]
        if redirects:
            for index, (mark, rules) in enumerate(marks, start=1):
                policy.add(f"LOCAL-{segment.tag}-{index}", _rules(segment.net, rules, list(local)), mark.qos)
            policy.add(f"LOCAL-{segment.tag}", _rules(segment.net, [("ip", None)], list(local)), segment.qos)
        for stem, match, redirect in redirects:
            for mark, rules in marks:
                both = _intersect(match, rules)
                if both:
                    policy.add_general(stem, both, mark.qos, redirect, segment.net)
                if set(both) == set(match):
                    break  # the mark covers the application: nothing of it is left unmarked
            else:
                policy.add_general(stem, match, segment.qos, redirect, segment.net)
        for mark, rules in marks:
            if not policy.shadowed(rules):
                policy.classes.append(LanClassView(mark.name, mark.acl, mark.qos))
                policy.taken += rules
        policy.classes.append(LanClassView("ANY", None, segment.qos, defined=True))
        policies.append(LanPolicyView(segment, f"LAN-IN-{segment.tag}", policy.classes))
    return policies
