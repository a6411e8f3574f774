"""Lint: the SLA detection and steering of FRR stores and hubs, against the network intent.

FRR's part of an SLA class is spread over four files of one appliance, and each must agree with
the intent and with the others, or a class silently stops moving (a mark no rule looks up, a
table nobody fills) or moves on the wrong signal (BFD timers that notice another loss rate):

- FRR config: every `bfd` profile named after a class runs that class's probe interval and
  count of consecutive losses (`network/sla.py`), and every tunnel's BFD peer runs the profile
  of the strictest class on its transport (`frr-bfd-profile`, `frr-bfd-peer`);
- steering.conf (storestack-steer): every overlay class is steered, with the intent's mark,
  table, hold-down, detection, recovery and paths in the intent's order, never an LTE/5G path for a class
  that may not use one (`frr-steering`);
- routing: every steered class's mark has its `ip rule fwmark … lookup <table>`, and the store's
  own prefixes are looked up in main before any of them (`frr-mark-rule`);
- nftables: every steered class's mark is set on its segments (`frr-mark-rule`);
- hub: every store tunnel marks its flows for the return path, every return mark has its rule
  and its table of store routes, and each tunnel's routes sit in the table its own mark looks
  up, so a flow is answered through the tunnel it came in on (`frr-return-path`), and only
  while BFD packets still come in over that tunnel: a flow pinned to a dead tunnel whose next
  packet is HQ's would never move (`frr-return-path`). The hub's ranking of the routes a store
  tags degraded, the return across hubs, is devices/lint/frr.py's `return_ranking` (same rule).
  And a hub that shares stores with another (`HubIntent.return_partners`) passes the DC's
  packets of a flow it did not see to that partner, never a packet a hub passed on, instead of
  dropping them as invalid: with two conntrack firewalls each holding half of a TCP flow, the
  flow fails both ways (`frr-partner-path`); what HQ's management ranges open without TCP stays on
  the hub (the partner would drop it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from storestack.devices.frr import STEERING_LOCAL_PREF, partner_slots
from storestack.devices.frr_steer import SteeringConfig
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.steering import hub_tunnels_by_hop, why_not_allowed
from storestack.network.build import NetworkIntent
from storestack.network.model import StoreIntent
from storestack.network.sla import PARTNER_MARK, SlaClassPolicy

PLATFORM = "frr"
# What FRR's bfdd runs (and leaves out of `show running-config`) when a profile does not say.
BFD_DEFAULT_INTERVAL_MS = 300
BFD_DEFAULT_MULTIPLIER = 3

_PROFILE = re.compile(r"^ profile (\S+)$")
_PEER = re.compile(r"^ peer (\S+) local-address \S+ interface (\S+)$")
_RULE = re.compile(r"^rule add (?:(?P<to>to \S+ lookup main)|fwmark (?P<mark>\S+) lookup (?P<table>\d+)) pref (?P<pref>\d+)$")
_NFT_MARK = re.compile(r"meta mark set (0x[0-9a-f]+)")


def frr_sla_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    for config in files:
        if config.platform != PLATFORM:
            continue
        if config.role == "hub":
            if config.suffix == "nftables.conf":
                yield from _return_path(config)
                yield from _partner_path(config, intent)
            continue
        if config.store_id is None:
            continue
        store = intent.store(config.store_id, config.hostname)
        if config.suffix == "":
            yield from _bfd(config, store)
        elif config.suffix == "steering.conf":
            yield from _steering(config, store)
        elif config.suffix == "routing":
            yield from _mark_rules(config)
        elif config.suffix == "nftables.conf":
            yield from _mark_set(config)


def _class_by_probe(store: StoreIntent) -> dict[str, SlaClassPolicy]:
    return {cls.probe: cls for cls in store.sla.classes}


def _bfd(config: ConfigFile, store: StoreIntent) -> Iterator[Finding]:
    """BFD profiles per class, and each tunnel's peer on the strictest class of its transport."""
    classes = {tunnel_class.probe: tunnel_class for t in store.tunnels if (tunnel_class := t.sla) is not None}
    classes |= _class_by_probe(store)
    in_bfd = False
    profile: tuple[int, str] | None = None
    settings: dict[str, int] = {}
    peer: tuple[int, str, str] | None = None
    tunnels = hub_tunnels_by_hop(store)

    def close_profile() -> Iterator[Finding]:
        if profile is None:
            return
        line, name = profile
        cls = classes.get(name)
        if cls is None:
            if name.startswith("SLA-"):
                yield config.finding(line, "frr-bfd-profile", f"BFD profile {name} names no SLA class of this store")
            return
        wanted = {
            "transmit-interval": cls.timers.probe_interval_ms,
            "receive-interval": cls.timers.probe_interval_ms,
            "detect-multiplier": cls.timers.consecutive_losses,
        }
        defaults = {
            "transmit-interval": BFD_DEFAULT_INTERVAL_MS,
            "receive-interval": BFD_DEFAULT_INTERVAL_MS,
            "detect-multiplier": BFD_DEFAULT_MULTIPLIER,
        }
        for key, value in wanted.items():
            spelled = settings.get(key, defaults[key])
            if spelled != value:
                yield config.finding(
                    line,
                    "frr-bfd-profile",
                    f"BFD profile {name}: {key} {spelled}, SLA class {cls.name} needs {value} "
                    f"({cls.timers.consecutive_losses} lost {cls.timers.probe_interval_ms} ms probes in a row "
                    f"notice {cls.thresholds.loss_percent:g} % loss within {cls.timers.detection_seconds} s)",
                )

    for number, line in enumerate(config.lines, start=1):
        if line == "bfd":
            in_bfd = True
            continue
        if not in_bfd:
            continue
        if line == "exit":
            yield from close_profile()
            in_bfd = False
            profile = None
            continue
        if match := _PROFILE.match(line):
            profile, settings = (number, match.group(1)), {}
        elif match := _PEER.match(line):
            peer = (number, match.group(1), match.group(2))
        elif line == " exit":
            yield from close_profile()
            profile, peer = None, None
        elif line.startswith("  profile ") and peer is not None:
            line_number, address, ifname = peer
            tunnel = tunnels.get(address)
            used = line.split()[1]
            if tunnel is None:
                yield config.finding(line_number, "frr-bfd-peer", f"BFD peer {address} is no hub tunnel of this store")
            elif tunnel.sla is not None and used != tunnel.sla.probe:
                yield config.finding(
                    line_number,
                    "frr-bfd-peer",
                    f"BFD peer {address} ({ifname}, over {tunnel.transport}) runs {used}; the strictest SLA "
                    f"class on {tunnel.transport} is {tunnel.sla.name} ({tunnel.sla.probe})",
                )
        elif profile is not None and (words := line.split()) and len(words) == 2 and words[1].isdigit():
            settings[words[0]] = int(words[1])


def _steered(config: ConfigFile) -> SteeringConfig | None:
    text = config.companions.get("steering.conf")
    if text is None:
        return None
    try:
        return SteeringConfig.parse(text)
    except ValueError:
        return None  # `_steering` reports it on the file itself


def _tunnel_ifnames(config: ConfigFile) -> dict[str, str]:
    """Hub inside address → the store's tunnel interface, from the FRR config's BFD peers."""
    found = {}
    for line in config.companions.get("", "").splitlines():
        if match := _PEER.match(line):
            found[match.group(1)] = match.group(2)
    return found


def _steering(config: ConfigFile, store: StoreIntent) -> Iterator[Finding]:
    try:
        steering = SteeringConfig.parse(config.text, config.name)
    except ValueError as exc:
        yield config.finding(0, "frr-steering", str(exc))
        return
    by_name = {steered.name: steered for steered in steering.classes}
    ifnames = _tunnel_ifnames(config)
    tunnels = hub_tunnels_by_hop(store)
    for ifname, path in steering.paths.items():
        tunnel = tunnels.get(path.peer)
        if tunnel is None:
            continue
        # storestack-steer knows a tunnel's link and hub only from its `path` line.
        declared = (
            ("over", path.transport, "link", tunnel.transport, "rides", "a brownout on a link would not keep the class off its other tunnels"),
            ("to", path.hub, "hub", tunnel.peer, "reaches", "a hub's outage would count as its links' brownout"),
        )  # fmt: skip
        for keyword, named, what, actual, verb, why in declared:
            if named != actual:
                said = f"{keyword} {named}" if named else f"{keyword} no {what}"
                yield config.finding(
                    config.line_of(f"path {ifname} "),
                    "frr-steering",
                    f"{ifname} ({path.peer}) is declared {said}, but its tunnel {verb} {actual}: {why}",
                )
        # How far apart one hub's outage spreads its tunnels' drops (`hub_outage_spread`) follows
        # from each path's detection time: the BFD its tunnel runs (its SLA class's probes).
        if not path.bgp_only and tunnel.sla is not None:
            detect_ms = tunnel.sla.timers.probe_interval_ms * tunnel.sla.timers.consecutive_losses
            if path.detect_ms != detect_ms:
                yield config.finding(
                    config.line_of(f"path {ifname} "),
                    "frr-steering",
                    f"{ifname} ({path.peer}) is declared detect-ms {path.detect_ms}, but its BFD ({tunnel.sla.probe}) "
                    f"goes down after {detect_ms} ms: a hub's outage would be taken for its links' trouble, or "
                    "their trouble for the hub's",
                )
    for application in store.sla.applications:
        allowed = [str(path.next_hop) for path in application.paths if path.next_hop is not None]
        steered = by_name.get(application.name)
        if not application.overlay or not allowed:
            if steered is not None:
                yield config.finding(
                    config.line_of(f"class {application.name} "),
                    "frr-steering",
                    f"{application.name} breaks out locally; it has no overlay path to steer",
                )
            continue
        if steered is None:
            yield config.finding(
                0,
                "frr-steering",
                f"{application.name}: not steered, so it follows BGP's best path whatever its paths' quality",
            )
            continue
        line = config.line_of(f"class {application.name} ")
        timers = application.sla.timers
        wanted = {
            "mark": (steered.mark, application.mark),
            "table": (steered.table, application.table),
            "hold-down": (steered.hold_down, timers.hold_down_seconds),
            "detection": (steered.detection, timers.detection_seconds),
            "recovery": (steered.recovery, timers.recovery_seconds),
        }
        for what, (spelled, value) in wanted.items():
            if spelled != value:
                yield config.finding(line, "frr-steering", f"{application.name}: {what} {spelled:g}, the intent says {value:g}")
        hops = [steering.paths[ifname].peer for ifname in steered.paths]
        for ifname, hop in zip(steered.paths, hops, strict=True):
            if ifnames.get(hop) not in (None, ifname):
                yield config.finding(line, "frr-steering", f"{application.name}: {ifname} does not lead to {hop} ({ifnames[hop]} does)")
            if hop in allowed:
                continue
            why = why_not_allowed(store, tunnels, application, hop)
            yield config.finding(line, "frr-steering", f"{application.name} is steered over {ifname} ({hop}): {why}")
        yield from _destinations(config, store, application.name, steered.destinations, line)
        if [hop for hop in hops if hop in allowed] != [hop for hop in allowed if hop in hops]:
            yield config.finding(
                line,
                "frr-steering",
                f"{application.name} prefers its paths in another order than the intent "
                f"({', '.join(hops)}; the intent: {', '.join(allowed)})",
            )


def _destinations(config: ConfigFile, store: StoreIntent, name: str, spelled: Sequence[str], line: int) -> Iterator[Finding]:
    """A class's `to` is what it goes to through the hubs (`StoreIntent.destinations`): without
    one, storestack-steer keeps the class on a hub that lost its route there, as long as that
    hub's probes answer."""
    wanted = {str(prefix) for prefix in store.destinations(store.sla.application(name))}
    for missing in sorted(wanted - set(spelled)):
        yield config.finding(
            line, "frr-steering",
            f"{name}: {missing} is not among its destinations (`to`), so a hub that no longer routes there keeps its traffic",
        )
    for foreign in sorted(set(spelled) - wanted):
        yield config.finding(line, "frr-steering", f"{name}: {foreign} is not where the intent sends its traffic")


def _mark_rules(config: ConfigFile) -> Iterator[Finding]:
    steering = _steered(config)
    if steering is None:
        return
    rules: dict[int, tuple[int, str]] = {}  # mark -> (line, table)
    local_prefs: list[int] = []
    fwmark_prefs: list[int] = []
    for number, line in enumerate(config.lines, start=1):
        if match := _RULE.match(line):
            if match.group("to"):
                local_prefs.append(int(match.group("pref")))
            else:
                rules[int(match.group("mark"), 0)] = (number, match.group("table"))
                fwmark_prefs.append(int(match.group("pref")))
    for steered in steering.classes:
        found = rules.get(steered.mark)
        if found is None:
            yield config.finding(
                0, "frr-mark-rule", f"{steered.name}: no `ip rule fwmark {steered.mark:#010x}`: its marked packets follow BGP"
            )
        elif int(found[1]) != steered.table:
            yield config.finding(
                found[0],
                "frr-mark-rule",
                f"{steered.name}: fwmark {steered.mark:#010x} looks up table {found[1]}, storestack-steer fills {steered.table}",
            )
    if fwmark_prefs and (not local_prefs or max(local_prefs) >= min(fwmark_prefs)):
        yield config.finding(
            config.line_of("fwmark "),
            "frr-mark-rule",
            f"the store's own prefixes are not looked up in main (pref {STEERING_LOCAL_PREF}) before the class "
            "tables: store-local traffic of a steered class would leave through a tunnel",
        )


def _mark_set(config: ConfigFile) -> Iterator[Finding]:
    steering = _steered(config)
    if steering is None:
        return
    set_marks = {int(mark, 16) for mark in _NFT_MARK.findall(config.text)}
    for steered in steering.classes:
        if steered.mark not in set_marks:
            yield config.finding(
                0,
                "frr-mark-rule",
                f"{steered.name}: nothing sets mark {steered.mark:#010x}, so its table is never looked up",
            )


_MAP_ELEMENT = re.compile(r'"([^"]+)" : (0x[0-9a-f]+)')
_HUB_RULE = re.compile(r"^rule add fwmark (\S+) lookup (\d+) ")
# The return path's map alone (the partner hubs' map names the store tunnels too)
_STORE_LINK_MARKS = re.compile(r"map store_link_marks \{[^}]*\}")
# The return path's liveness: BFD control packets from a store tunnel keep it in the set, and a
# restored mark whose tunnel is not in it is cleared before routing.
_LIVENESS_KEPT = re.compile(r"^\s*iifgroup 10 udp dport 3784 update @live_store_links \{ meta iif \}$", re.M)
_LIVENESS_GATE = re.compile(
    r"^\s*meta mark and \S+ == \S+ fib daddr \. mark oif != @live_store_links meta mark set 0x00000000$", re.M
)
# `ip route <prefix> <next hop> <tunnel> table <n>` in the hub's FRR config
_RETURN_ROUTE = re.compile(r"^ip route \S+ \S+ (\S+) table (\d+)$", re.M)
_ANY_TABLE_ROUTE = re.compile(r"^ip route \S+ \S+ \S+ table (\d+)$", re.M)


def _return_path(config: ConfigFile) -> Iterator[Finding]:
    """Hub: every store tunnel (interface group 10 with a store route-map) is in the return-path
    map, every return mark has its rule and a table with store routes, and each tunnel's routes
    sit in the very table its own mark looks up: a flow that came in over a tunnel is answered
    through that tunnel, never through another of the store's tunnels."""
    main = config.companions.get("", "")
    routing = config.companions.get("routing", "")
    elements: dict[str, int] = {}
    line_of_map = config.line_of("map store_link_marks")
    body = _STORE_LINK_MARKS.search(config.text)
    for element in _MAP_ELEMENT.finditer(body.group(0) if body else ""):
        elements[element.group(1)] = int(element.group(2), 16)
    tables = {int(m.group(1), 0): m.group(2) for line in routing.splitlines() if (m := _HUB_RULE.match(line))}
    return_tables = set(tables.values())
    # tunnel -> the return tables that route into it
    routed_into: dict[str, set[str]] = {}
    for match in _RETURN_ROUTE.finditer(main):
        if match.group(2) in return_tables:
            routed_into.setdefault(match.group(1), set()).add(match.group(2))
    routed = set(_ANY_TABLE_ROUTE.findall(main))
    for mark in sorted(set(elements.values())):
        table = tables.get(mark)
        if table is None:
            yield config.finding(line_of_map, "frr-return-path", f"return mark {mark:#010x} has no `ip rule fwmark` in the routing file")
        elif table not in routed:
            yield config.finding(line_of_map, "frr-return-path", f"return mark {mark:#010x} looks up table {table}, which has no store routes")
    if elements and not (_LIVENESS_KEPT.search(config.text) and _LIVENESS_GATE.search(config.text)):
        yield config.finding(
            line_of_map,
            "frr-return-path",
            "flows stay pinned to a store tunnel that is dead: no set of tunnels kept alive by their BFD "
            "packets (`update @live_store_links { meta iif }`) unpins them (`fib daddr . mark oif != "
            "@live_store_links meta mark set 0x00000000`), so HQ's packets of a flow whose store link died "
            "go into that tunnel until the store speaks again",
        )
    for ifname in sorted(set(routed_into) - set(elements)):
        yield config.finding(
            line_of_map, "frr-return-path", f"store tunnel {ifname} marks no flows: its replies follow BGP"
        )
    for ifname, mark in sorted(elements.items()):
        table = tables.get(mark)
        if table is None:
            continue  # reported above, per mark
        elsewhere = sorted(routed_into.get(ifname, set()) - {table}, key=int)
        if elsewhere:
            yield config.finding(
                line_of_map,
                "frr-return-path",
                f"store tunnel {ifname} marks its flows {mark:#010x} (table {table}), but its routes are in table "
                f"{', '.join(elsewhere)}: replies to those flows leave through another of the store's tunnels",
            )
        elif table not in routed_into.get(ifname, set()):
            yield config.finding(
                line_of_map,
                "frr-return-path",
                f"store tunnel {ifname} marks its flows {mark:#010x}, but table {table} routes nothing into it: "
                "its replies follow BGP",
            )


# The partner hub (`HubIntent.return_partners`, hub-nftables.j2): prerouting marks the DC's
# conntrack-invalid packets towards the shared stores with their partner's mark (map
# partner_stores), never one with TTL 255 (passed on by a hub); forward accepts the marked ones
# towards a partner's DC address, setting TTL 255.
_PARTNER_INVALID = re.compile(
    r'^\s*iifname "(?P<dc>[^"]+)" ip ttl != 255 ct state invalid meta mark set ip daddr map @partner_stores$', re.M
)
_PARTNER_ACCEPT = re.compile(
    r'^\s*iifname "(?P<dc>[^"]+)" oifname "(?P=dc)" meta mark and (?P<mask>0x[0-9a-f]+) == (?P<mark>0x[0-9a-f]+) '
    r"rt ip nexthop @partner_hops ip ttl set 255 accept$",
    re.M,
)
_PARTNER_STORES = re.compile(r"map partner_stores \{[^}]*elements = \{ (?P<elements>[^}]*) \}")
# What is new there without TCP: passed on unless HQ's management ranges opened it (an SNMP poll,
# a ping), which the partner, routing the store back over the DC LAN, would drop.
_PARTNER_NEW_UDP = re.compile(r"^\s*iifname \S+ ip ttl != 255 ct state new meta l4proto != tcp (?P<rest>.*)$", re.M)
_INVALID_DROP = re.compile(r"^\s*ct state invalid drop$", re.M)
_PARTNER_ROUTE = re.compile(r"^ip route (\S+) (\S+) table (\d+)$", re.M)


def _partner_path(config: ConfigFile, intent: NetworkIntent) -> Iterator[Finding]:
    """Hub: where the intent gives the hub partners, the DC's invalid packets towards their
    stores are marked (TTL 255 excluded), the forward chain accepts them towards the partners
    before `ct state invalid drop`, each shared store's addresses carry its partner's mark, and
    each partner's mark has its `ip rule`, whose table routes everything to that partner's
    loopback (one route per partner)."""
    partners = intent.hub(config.hostname).return_partners
    if not partners:
        return
    text, line = config.text, config.line_of("chain return_path")
    marked = _PARTNER_INVALID.search(text)
    forward = text[text.find("chain forward") :]
    accept = _PARTNER_ACCEPT.search(forward)
    drop = _INVALID_DROP.search(forward)
    if (
        marked is None
        or accept is None
        or int(accept.group("mark"), 16) != PARTNER_MARK
        or (drop and drop.start() < accept.start())
    ):
        yield config.finding(
            line,
            "frr-partner-path",
            "HQ's packets of a flow the other hub saw (a store sends a class through it while the DC core "
            "answers the store's prefix through this hub) are dropped as invalid instead of passed to that "
            "hub (marked in prerouting, TTL 255 excluded; accepted towards its DC address before `ct state "
            "invalid drop`): the TCP flow fails both ways",
        )
        return
    bounced = [m for m in _PARTNER_NEW_UDP.finditer(text) if "ip saddr != @hq_management" not in m.group("rest")]
    if bounced:
        yield config.finding(
            config.line_of(bounced[0].group(0).strip()),
            "frr-partner-path",
            "what HQ's management ranges open without TCP (an SNMP poll, a ping) is passed to the partner hub, "
            "whose best path to the store leads back over the DC LAN: dropped there, no store answers it",
        )
    found = _PARTNER_STORES.search(text)
    store_marks = dict(
        (net.strip(), int(value, 16))
        for element in (found.group("elements").split(",") if found else [])
        for net, _, value in [element.partition(" : ")]
    )
    routing = config.companions.get("routing", "")
    tables = {int(m.group(1), 0): m.group(2) for line_ in routing.splitlines() if (m := _HUB_RULE.match(line_))}
    routes = {(m.group(1), m.group(2), m.group(3)) for m in _PARTNER_ROUTE.finditer(config.companions.get("", ""))}
    slots = partner_slots(intent.hub(config.hostname))
    for partner in partners:
        mark = PARTNER_MARK + slots[partner.hostname]
        table = tables.get(mark)
        unmarked = [str(net) for net in partner.destinations if store_marks.get(str(net)) != mark]
        problem = (
            "no `ip rule fwmark` in the routing file"
            if table is None
            else f"table {table} has no route to its loopback {partner.loopback}"
            if ("0.0.0.0/0", str(partner.loopback), table) not in routes
            else f"{', '.join(unmarked[:3])} not marked for it (map partner_stores)"
            if unmarked
            else ""
        )
        if problem:
            yield config.finding(
                line,
                "frr-partner-path",
                f"partner {partner.hostname}, mark {mark:#010x}: {problem}"
                + ": the packets it should take follow BGP into this hub's own tunnel, where the store's flow never was",
            )
