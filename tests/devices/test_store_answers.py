"""A store takes the answers of its flows on whichever hub tunnel they come back on (README,
"Return path"). A hub ranks a wired tunnel the store signalled out of its strictest class's SLA
(`<hub AS>:911`) below cellular, so it returns all the store's traffic over LTE, CCTV's and
IoT's answers too, while their flows still leave on the wire (they never leave over LTE/5G). A
stateless IOS-XE or VRP hub sends them into the LTE tunnel whatever tunnel the flow came in on.
Each store platform must take those answers there, and still refuse a new connection from the
LTE tunnel into those segments. Read from the configs storestack renders for the dual-WAN store
nw-0002 (wan1 fibre, lte1), every appliance on the platform under test."""

from __future__ import annotations

import ipaddress
import re

import pytest
from lint_files import broken_files, files_on_platform, rule_findings

from storestack.devices.lint import ConfigFile, Packet
from storestack.devices.lint.fortinet import parse
from storestack.devices.lint.frr import chain_verdict, tunnel_group
from storestack.inventory import Fleet

STORE = "nw-0002"
# The segments whose flows never leave over LTE/5G (network/build.py, `over_cellular`), and the
# HQ servers and ports they reach (the intent's flows for CCTV and IoT).
WIRE_ONLY = {"cctv": ("10.0.30.10", 554), "iot": ("10.0.20.10", 8883)}
PerPlatform = dict[str, tuple[Fleet, list[ConfigFile]]]


@pytest.fixture(scope="module")
def per_platform(fleet: Fleet) -> PerPlatform:
    return {platform: files_on_platform(fleet, platform) for platform in ("frr", "cisco_xe", "huawei_vrp", "fortinet")}


def _file(files: list[ConfigFile], name: str) -> ConfigFile:
    return next(f for f in files if f.name == name)


# ---------------------------------------------------------------- FRR


def _frr_store(per_platform: PerPlatform) -> tuple[str, set[str], frozenset[str]]:
    """The store's ruleset and its cellular and wired tunnels."""
    _, files = per_platform["frr"]
    store = _file(files, f"{STORE}-edge1.nftables.conf")
    routing = store.companions["routing"]
    cellular = set(re.findall(r"^link add (\S+) type xfrm dev lte\d+ ", routing, re.M))
    wired = (tunnel_group(routing) or frozenset()) - cellular
    return store.text, cellular, wired


def _frr_segment_prefix(ruleset: str, ifname: str) -> ipaddress.IPv4Network:
    found = re.search(rf'iifname "{re.escape(ifname)}" ip saddr != (\S+) drop', ruleset)
    assert found, ifname
    return ipaddress.IPv4Network(found[1])


def _segment_ifnames(ruleset: str) -> dict[str, str]:
    """CCTV's and IoT's interfaces, by the forward chain's rules that keep them off cellular."""
    kept_off = sorted(set(re.findall(r'iifname "(\S+)" oifname "xfrm\d+" drop', ruleset)))
    assert len(kept_off) == 2, kept_off
    cctv = next(ifname for ifname in kept_off if re.search(rf'iifname "{re.escape(ifname)}" oifgroup 10 ip daddr [^\n]*554', ruleset))
    return {"cctv": cctv, "iot": next(ifname for ifname in kept_off if ifname != cctv)}


def test_an_frr_store_takes_cctv_and_iot_answers_on_its_lte_tunnels_and_no_new_flow_there(per_platform: PerPlatform) -> None:
    """conntrack holds no interface, and the forward chain accepts a flow it holds before any
    rule on where a packet comes from: an answer on xfrm (lte1) to a flow that left by xfrm
    (wan1) is forwarded; a new connection on the same tunnel into the same segment is not."""
    ruleset, cellular, wired = _frr_store(per_platform)
    assert cellular and wired
    for kind, ifname in _segment_ifnames(ruleset).items():
        server, port = WIRE_ONLY[kind]
        host = _frr_segment_prefix(ruleset, ifname).network_address + 10
        answer = Packet("tcp", ipaddress.IPv4Address(server), host, port=40000, source_port=port, tcp_flags=frozenset({"ack"}), answer=True)
        opened = Packet("tcp", ipaddress.IPv4Address(server), host, port=port)
        for tunnel in sorted(cellular | wired):
            assert chain_verdict(ruleset, "forward", answer, tunnel, oifname=ifname).forwarded, (kind, tunnel)
            assert not chain_verdict(ruleset, "forward", opened, tunnel, oifname=ifname).forwarded, (kind, tunnel)


def test_an_frr_store_keeps_the_reverse_path_filter_loose_on_every_interface(per_platform: PerPlatform) -> None:
    """Strict reverse path filtering (rp_filter 1, which hardening guides set) drops an answer
    whose source's best route leaves by another interface: HQ's CCTV server is best reached over
    the fibre tunnel while its answers arrive on the LTE one. The kernel uses the larger of `all`
    and the interface's value, so `all` at 2 keeps every interface at loose (hubs too:
    test_lint_frr_host.py)."""
    _, files = per_platform["frr"]
    store = _file(files, f"{STORE}-edge1.sysctl.conf")
    settings = [line.replace(" ", "") for line in store.lines if line.strip() and not line.startswith("#")]
    assert "net.ipv4.conf.all.rp_filter=2" in settings


def test_the_lint_finds_an_frr_store_that_drops_answers_on_a_tunnel(per_platform: PerPlatform) -> None:
    fleet, files = per_platform["frr"]
    assert rule_findings(fleet, files, "frr-store-answers") == []
    ruleset, cellular, _ = _frr_store(per_platform)
    cctv = _segment_ifnames(ruleset)["cctv"]
    lte = sorted(cellular)[0]
    # A rule on the incoming tunnel ahead of conntrack's established flows: the answers die.
    broken = broken_files(
        files,
        f"{STORE}-edge1.nftables.conf",
        lambda t: t.replace(
            "        ct state established,related accept\n        ct state invalid drop\n        iifname",
            f'        iifname "{lte}" oifname "{cctv}" drop\n'
            "        ct state established,related accept\n        ct state invalid drop\n        iifname",
            1,
        ),
    )
    found = rule_findings(fleet, broken, "frr-store-answers")
    assert found and all(lte in f.message and cctv in f.message for f in found)
    # No loose reverse path filter: a hardened host's strict one drops them.
    broken = broken_files(files, f"{STORE}-edge1.sysctl.conf", lambda t: t.replace("net.ipv4.conf.all.rp_filter = 2\n", ""))
    (finding,) = rule_findings(fleet, broken, "frr-rp-filter")
    assert "rp_filter" in finding.message and finding.file == f"{STORE}-edge1.nftables.conf"


# ---------------------------------------------------------------- IOS-XE


def _blocks(text: str, head: str) -> dict[str, list[str]]:
    """Each top-level block whose first line starts with `head`: its name and its indented lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(head):
            current = blocks.setdefault(line[len(head) :].strip(), [])
        elif line.startswith(" ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    return blocks


def test_an_ios_xe_store_takes_answers_on_any_hub_tunnel_by_its_zone_and_opens_nothing_from_it(per_platform: PerPlatform) -> None:
    """The zone firewall judges by zones, not interfaces: every hub tunnel, wired or cellular, is a
    member of zone OVERLAY, so an answer on the LTE tunnel meets CCTV-TO-OVERLAY's inspected
    session (Zone-Based Policy Firewall, "inspect": the return traffic of an inspected session is
    allowed). No tunnel filters what comes in (CELLULAR-ALLOWED is outbound), no unicast RPF, and
    no zone-pair lets OVERLAY open anything into CCTV or IoT (zones deny by default)."""
    _, files = per_platform["cisco_xe"]
    text = _file(files, f"{STORE}-edge1.cfg").text
    tunnels = {name: body for name, body in _blocks(text, "interface ").items() if name.startswith("Tunnel") and any("overlay to" in line for line in body)}
    cellular = [name for name, body in tunnels.items() if any(" via lte" in line for line in body)]
    assert cellular and len(tunnels) > len(cellular)
    for name, body in tunnels.items():
        assert "zone-member security OVERLAY" in body, name
        assert not any(re.fullmatch(r"ip access-group \S+ in", line) for line in body), name
    assert "ip verify unicast" not in text
    pairs = re.findall(r"^zone-pair security \S+ source (\S+) destination (\S+)$", text, re.M)
    for segment in ("CCTV", "IOT"):
        assert (segment, "OVERLAY") in pairs
        assert ("OVERLAY", segment) not in pairs
    policy = _blocks(text, "policy-map type inspect ")["CCTV-TO-OVERLAY"]
    assert policy[:2] == ["class type inspect CCTV-TO-OVERLAY", "inspect"]


# ---------------------------------------------------------------- VRP


def test_a_vrp_store_takes_answers_on_any_hub_tunnel_by_its_zone_and_opens_nothing_from_it(per_platform: PerPlatform) -> None:
    """The interzone firewall judges by zones: every hub tunnel, wired or cellular, is in zone
    OVERLAY behind the same inbound filter, FROM-HUBS, which refuses only the router's own
    addresses and permits the rest, so an answer to a CCTV host passes it on the LTE tunnel and
    meets the CCTV-OVERLAY session. That interzone filters only outbound (CCTV's flows), so
    with `firewall packet-filter default deny all` nothing from OVERLAY opens a session into
    CCTV or IoT."""
    _, files = per_platform["huawei_vrp"]
    text = _file(files, f"{STORE}-edge1.cfg").text
    tunnels = {name: body for name, body in _blocks(text, "interface ").items() if name.startswith("Tunnel") and any("overlay to" in line for line in body)}
    cellular = [name for name, body in tunnels.items() if any(" via lte" in line for line in body)]
    assert cellular and len(tunnels) > len(cellular)
    for name, body in tunnels.items():
        assert "zone OVERLAY" in body, name
        assert [line for line in body if "inbound" in line] == ["traffic-filter inbound acl name FROM-HUBS"], name
        assert not any("urpf" in line for line in body), name
    rules = next(body for name, body in _blocks(text, "acl name ").items() if name.startswith("FROM-HUBS "))
    denies = [rule for rule in rules if " deny " in f" {rule} "]
    assert rules[-1].endswith("permit ip")
    cctv_host = "10.64.2.138"  # nw-0002's CCTV segment, 10.64.2.128/26
    assert all(re.search(r"deny ip destination \S+ 0$", rule) and cctv_host not in rule for rule in denies)
    assert "firewall packet-filter default deny all" in text
    interzones = _blocks(text, "firewall interzone ")
    for segment in ("CCTV", "IOT"):
        body = interzones[f"{segment} OVERLAY"]
        assert any(re.fullmatch(r"packet-filter \d+ outbound", line) for line in body)
        assert not any("inbound" in line for line in body)


def _cellular_tunnel(text: str) -> tuple[str, str]:
    """The first cellular hub tunnel's interface line and its description line."""
    found = re.search(r"^(interface Tunnel\S+)\n( description ipsec \S+ overlay to \S+ via lte\S* .*)$", text, re.M)
    assert found, "no cellular hub tunnel"
    return found[1], found[2]


@pytest.mark.parametrize(
    ("platform", "rule", "breakages"),
    [
        (
            "cisco_xe",
            "cisco-store-answers",
            [
                ("zone-member security OVERLAY", "zone-member security CELLULAR"),
                ("no ip redirects", "no ip redirects\n ip verify unicast source reachable-via rx"),
                ("no ip redirects", "no ip redirects\n ip access-group CELLULAR-ALLOWED in"),
            ],
        ),
        (
            "huawei_vrp",
            "vrp-store-answers",
            [
                (" zone OVERLAY", " zone CELLULAR"),
                (" zone OVERLAY", " zone OVERLAY\n urpf strict"),
                ("traffic-filter inbound acl name FROM-HUBS", "traffic-filter inbound acl name CELLULAR-ALLOWED"),
            ],
        ),
    ],
)
def test_the_lint_finds_a_cellular_hub_tunnel_that_would_not_take_answers(
    per_platform: PerPlatform, platform: str, rule: str, breakages: list[tuple[str, str]]
) -> None:
    """A cellular hub tunnel in a zone of its own, behind a filter of its own or with a unicast
    reverse path check: the answers a hub returns into it meet no session, or are dropped."""
    fleet, files = per_platform[platform]
    assert rule_findings(fleet, files, rule) == []
    name = f"{STORE}-edge1.cfg"
    head, description = _cellular_tunnel(_file(files, name).text)
    for old, new in breakages:

        def change(text: str, old: str = old, new: str = new) -> str:
            start = text.index(f"{head}\n{description}\n")
            at = text.index(old, start)
            return text[:at] + new + text[at + len(old) :]

        found = rule_findings(fleet, broken_files(files, name, change), rule)
        assert len(found) == 1 and head.split()[1] in found[0].message, (old, found)


# ---------------------------------------------------------------- FortiOS


def test_a_fortios_store_takes_cctv_and_iot_answers_on_its_cellular_zone_as_auxiliary_sessions(per_platform: PerPlatform) -> None:
    """CCTV's and IoT's policies leave by zone "overlay" only. An answer arriving on a tunnel of
    "overlay-cellular" dirties the session, which is refreshed with that interface and judged by
    those policies: dropped, unless auxiliary sessions handle the change of interface. New
    sessions are still judged by the policies: none starts from either overlay zone into a
    segment. The LTE-only store (one zone) keeps FortiOS's default."""
    fleet, files = per_platform["fortinet"]
    text = _file(files, f"{STORE}-edge1.cfg").text
    settings = text.split("config system settings\n", 1)[1].split("\nend\n", 1)[0]
    assert "    set auxiliary-session enable" in settings.splitlines()
    policies = text.split("config firewall policy\n", 1)[1].split("\nend\n", 1)[0].split("\n    next")
    for kind in WIRE_ONLY:
        leaving = [p for p in policies if f'set srcintf "{kind}"' in p]
        assert leaving and all('set dstintf "overlay"\n' in p for p in leaving), kind
        assert not any(f'set dstintf "{kind}"' in p for p in policies), kind
    lte_only = next(store for store in fleet if store.lte_only)
    assert "auxiliary-session" not in _file(files, f"{lte_only.id}-edge1.cfg").text
    assert "auxiliary-session" not in _file(files, "hq-hub1.cfg").text


def test_the_lint_finds_a_fortios_store_whose_cellular_answers_die(per_platform: PerPlatform) -> None:
    fleet, files = per_platform["fortinet"]
    assert rule_findings(fleet, files, "fortios-store-answers") == []
    broken = broken_files(files, f"{STORE}-edge1.cfg", lambda t: t.replace("    set auxiliary-session enable\n", ""))
    (finding,) = rule_findings(fleet, broken, "fortios-store-answers")
    assert finding.file == f"{STORE}-edge1.cfg" and "overlay-cellular" in finding.message


def test_a_fortios_store_takes_an_answer_on_the_other_hubs_tunnel_of_the_link_it_left_by(per_platform: PerPlatform) -> None:
    """The DC core answers a store's prefix through whichever hub BGP prefers, so the answers of a
    flow the store sent through one hub may come back on its tunnel to the other hub ("Return
    path"). Each store link's tunnels to both hubs are members of one SD-WAN zone, the zone the
    policies name. With auxiliary sessions off, an answer on the other hub's tunnel dirties the
    session, which is refreshed with that interface and judged by the same policy, whose zone
    holds it; with them on (a store with cellular links), the change of interface becomes an
    auxiliary session (Administration Guide 7.4.4, "Controlling return path with auxiliary
    session"). A split zone would drop the answer with auxiliary sessions off."""
    fleet, files = per_platform["fortinet"]
    hubs = list(fleet.hubs)
    for store in fleet:
        parsed = parse(_file(files, f"{store.id}-edge1.cfg").text)
        zones: dict[str, dict[str, str]] = {}
        for member in parsed["system sdwan"].own.blocks["members"].entries:
            ifname, zone = member.first("interface"), member.first("zone")
            hub = next((h for h in hubs if ifname.startswith(f"{h}-")), None)
            if hub is not None:
                zones.setdefault(ifname.removeprefix(f"{hub}-"), {})[hub] = zone
        assert zones, store.id
        for link, by_hub in zones.items():
            assert set(by_hub) == set(hubs) and len(set(by_hub.values())) == 1, (store.id, link, by_hub)
