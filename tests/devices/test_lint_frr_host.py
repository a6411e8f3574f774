"""`devices lint` on an FRR host's own addresses (devices/lint/frr.py): the IKE endpoint every
swanctl connection names is on one of the host's interfaces, and dnsmasq asks its resolvers from
the loopback. Clean on what storestack renders; each rule catches a deliberately broken file."""

from __future__ import annotations

import ipaddress
import re

import pytest
from lint_files import broken_files, rule_findings

from storestack.devices.lint import ConfigFile, Packet
from storestack.devices.lint.frr import chain_verdict
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet

HUB = "hq-hub1"
STORE = "nw-0001-edge1"


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def test_what_storestack_renders_is_clean(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    found = rule_findings(fleet, rendered, "ipsec-local-address") + rule_findings(fleet, rendered, "dns-upstream-source")
    found += rule_findings(fleet, rendered, "frr-wan-ike") + rule_findings(fleet, rendered, "frr-guest-queue")
    found += rule_findings(fleet, rendered, "frr-segment-source")
    assert found == []
    assert any(f.name == f"{HUB}.swanctl.conf" for f in rendered)


def test_a_hub_whose_public_address_is_on_no_interface_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """The hub's IKE endpoint only in swanctl.conf: the kernel delivers no IKE packet to it and
    charon cannot send from it, so no store tunnel comes up."""
    hub = next(f for f in rendered if f.name == f"{HUB}.cfg")
    public = next(line for line in hub.lines if line.startswith(" ip address 203.0.113."))
    files = broken_files(rendered, f"{HUB}.cfg", lambda t: t.replace(public + "\n", "", 1))
    found = rule_findings(fleet, files, "ipsec-local-address")
    assert found and all(f.file == f"{HUB}.swanctl.conf" and f.line > 0 for f in found)
    assert public.split()[-1].removesuffix("/32") in found[0].message


def test_a_store_connection_from_an_address_it_does_not_hold_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    store = next(f for f in rendered if f.name == f"{STORE}.swanctl.conf")
    local = next(line for line in store.lines if "local_addrs = " in line).split("=")[1].strip()
    files = broken_files(rendered, f"{STORE}.swanctl.conf", lambda t: t.replace(f"local_addrs = {local}", "local_addrs = 192.0.2.99"))
    found = rule_findings(fleet, files, "ipsec-local-address")
    assert found and all("192.0.2.99" in f.message for f in found)


def test_dns_queries_from_the_tunnel_address_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """A `server=` without a source: the query carries the tunnel's inside address, which the DC
    has no route back to."""
    files = broken_files(rendered, f"{STORE}.dnsmasq.conf", lambda t: t.replace("@10.255.0.3", ""))
    found = rule_findings(fleet, files, "dns-upstream-source")
    assert len(found) == 2 and all(f.file == f"{STORE}.dnsmasq.conf" for f in found)
    assert "10.255.0.3" in found[0].message


def test_dns_queries_from_another_address_are_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(rendered, f"{STORE}.dnsmasq.conf", lambda t: t.replace("@10.255.0.3", "@10.64.0.1", 1))
    (finding,) = rule_findings(fleet, files, "dns-upstream-source")
    assert "not 10.64.0.1" in finding.message


def test_a_far_end_pinned_on_a_transport_without_a_next_hop_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """`ip route <hub>/32 wan1 table 101`: the kernel would ARP for the hub on the WAN link."""
    store = next(f for f in rendered if f.name == f"{STORE}.cfg")
    pinned = next(line for line in store.lines if line.startswith("ip route 203.0.113.11/32 ") and " wan1 " in line)
    gateway = pinned.split()[3]
    files = broken_files(rendered, f"{STORE}.cfg", lambda t: t.replace(pinned, pinned.replace(f" {gateway} ", " ")))
    (finding,) = rule_findings(fleet, files, "underlay-next-hop")
    assert finding.file == f"{STORE}.cfg" and "wan1" in finding.message and finding.line > 0


def test_a_transports_own_subnet_on_its_link_is_no_missing_next_hop(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """The transport table's route to the link's own subnet (its neighbours answer ARP there)."""
    store = next(f for f in rendered if f.name == f"{STORE}.cfg")
    assert any(re.fullmatch(r"ip route \S+/30 wan1 table 101", line) for line in store.lines)
    assert rule_findings(fleet, rendered, "underlay-next-hop") == []


def test_no_far_end_is_pinned_on_a_carrier_assigned_link(rendered: list[ConfigFile]) -> None:
    """A DHCP or cellular link's router is the lease's: its lease hook routes the link's table,
    and the rendered config pins no far end there (staticd cannot follow the lease)."""
    routes = [line for f in rendered if f.role == "edge" and not f.suffix for line in f.lines if line.startswith("ip route ")]
    assert any(" wan1 table " in line for line in routes)
    assert not [line for line in routes if re.search(r" (lte\d|wan2) table ", line)]


def test_store_management_comes_through_the_hub_tunnels_only(rendered: list[ConfigFile]) -> None:
    """SSH and SNMP from HQ's management network through the tunnels to the hubs, never through
    an AWS tunnel (same interface group): a VPC host sending from a management address must not
    reach them."""
    checked = 0
    for firewall in (f for f in rendered if f.role == "edge" and f.suffix == "nftables.conf"):
        main = firewall.companions[""]
        interfaces = re.findall(r"^interface (\S+)\n description (.*)$", main, re.M)
        hub_tunnels = {name for name, description in interfaces if re.search(r" to hq-hub\d ", description)}
        aws_tunnels = {name for name, description in interfaces if " aws vpn " in description}
        for line in (x for x in firewall.lines if "@hq_management" in x and "dport" in x):
            named = set(re.findall(r'"([^"]+)"', line))
            assert named == hub_tunnels and "iifgroup" not in line, line
        checked += bool(aws_tunnels)
    assert checked, "the sample chain has FRR stores with AWS tunnels"


_IKE_RULE = "iifname . ip saddr @ike_peers udp dport { 500, 4500 } accept"


def test_a_store_transport_taking_ike_from_anyone_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """The rule FRR stores had: IKE and ESP-in-UDP on the transports from any address."""
    files = broken_files(
        rendered, f"{STORE}.nftables.conf", lambda t: t.replace(_IKE_RULE, 'iifname { "wan1", "lte1" } udp dport { 500, 4500 } accept')
    )
    found = rule_findings(fleet, files, "frr-wan-ike")
    assert {(f.file, f.message.split()[0], f.message.split()[3]) for f in found} == {
        (f"{STORE}.nftables.conf", transport, port) for transport in ("lte1", "wan1") for port in ("500", "4500")
    }
    assert all("198.18.0.7" in f.message and f.line > 0 for f in found)


def test_a_hub_missing_from_a_transports_ike_peers_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """A far end the set leaves out: its rekeys and DPD never reach charon, so the tunnel dies."""
    files = broken_files(rendered, f"{STORE}.nftables.conf", lambda t: t.replace('"wan1" . 203.0.113.11, ', "", 1))
    found = rule_findings(fleet, files, "frr-wan-ike")
    assert sorted(f.message.split(":")[0] for f in found) == [
        f"wan1 drops udp {port} from its tunnel's far end 203.0.113.11" for port in (4500, 500)
    ]


def test_guest_wifi_breaking_out_without_its_best_effort_queue_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """A guest breakout not held to its link's best-effort class: a guest's UDP to port 500 or
    4500 takes the control class of the store's own IKE, BGP and BFD."""
    guest = "nw-0004-edge1.nftables.conf"
    rule = 'iifname "lan0.40" oifname "wan1" meta priority set 1:15'
    assert rule in next(f for f in rendered if f.name == guest).text
    found = rule_findings(fleet, broken_files(rendered, guest, lambda t: t.replace(rule, "counter")), "frr-guest-queue")
    assert [(f.file, f.message.split(" (")[0]) for f in found] == [
        (guest, "lan0.40 breaks out by wan1 in the clear but is not held to its best-effort class")
    ]


def test_a_segment_forwards_only_from_its_own_prefix(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """Spoofed sources stay in the store, as IOS-XE's and VRP's ACLs and FortiOS's `srcaddr`
    keep them: a guest's packet from a public address never leaves the breakout un-NATed, an
    office host sending as a till never reaches the payment servers, while each segment's own
    hosts keep their flows. Without the source rules every segment is found."""
    guest = "nw-0004-edge1.nftables.conf"
    firewall = next(f for f in rendered if f.name == guest).text
    main = next(f for f in rendered if f.name == "nw-0004-edge1.cfg").text
    segments = dict(re.findall(r"^interface (lan0\.\d+)\n description (\S+) segment", main, re.M))
    nets = {
        kind: ipaddress.IPv4Interface(re.search(rf"^interface {name}\n.*\n ip address (\S+)$", main, re.M)[1]).network
        for name, kind in segments.items()
    }
    ifname = {kind: name for name, kind in segments.items()}
    host = {kind: net.network_address + 20 for kind, net in nets.items()}
    public, payment = ipaddress.IPv4Address("93.184.216.34"), ipaddress.IPv4Address("10.0.11.5")

    def forwarded(kind: str, source: ipaddress.IPv4Address, destination: ipaddress.IPv4Address) -> bool:
        return chain_verdict(firewall, "forward", Packet("tcp", source, destination, 443), ifname[kind]).forwarded

    assert forwarded("guest-wifi", host["guest-wifi"], public)
    assert not forwarded("guest-wifi", ipaddress.IPv4Address("198.51.100.77"), public)
    assert not forwarded("guest-wifi", host["pos"], public)
    assert forwarded("pos", host["pos"], payment)
    assert not forwarded("office", host["pos"], payment)
    assert not forwarded("office", ipaddress.IPv4Address("10.64.8.20"), payment)  # another store's address
    assert not forwarded("office", ipaddress.IPv4Address("10.0.250.9"), public)  # HQ's management range
    unguarded = broken_files(rendered, guest, lambda t: re.sub(r'\n +iifname "\S+" ip saddr != \S+ drop', "", t))
    found = rule_findings(fleet, unguarded, "frr-segment-source")
    assert sorted(f.message.split()[0] for f in found) == sorted(segments)
    assert all(f.file == guest and "outside its prefix" in f.message for f in found)


def test_every_hub_session_retries_as_often_as_the_stores(rendered: list[ConfigFile]) -> None:
    """The hub's sessions with the other hub, the DC core and the cloud VPNs retry their
    connection every few seconds, as the store links' do: at bgpd's default ConnectRetry (120 s)
    the DC core's session would stay down up to two minutes after the core came back."""
    hub = next(f for f in rendered if f.name == f"{HUB}.cfg")
    for address in ("10.0.0.1", "10.0.0.4", "169.254.248.1", "169.254.252.2"):
        assert f" neighbor {address} timers connect 5" in hub.lines
    assert any(re.fullmatch(r" neighbor STORES-\S+ timers connect 5", line) for line in hub.lines)


def test_a_hub_session_at_bgpds_default_connect_retry_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    assert rule_findings(fleet, rendered, "frr-connect-retry") == []
    files = broken_files(rendered, f"{HUB}.cfg", lambda t: t.replace(" neighbor 10.0.0.1 timers connect 5\n", ""))
    found = rule_findings(fleet, files, "frr-connect-retry")
    assert [f.message for f in found] == ["neighbor 10.0.0.1 retries its connection every bgpd's default 120 s, not within 5 s"]
    assert found[0].file == f"{HUB}.cfg" and found[0].line > 0


def test_a_store_session_with_aws_retries_as_often_as_its_hub_sessions(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """A store's AWS sessions retry every few seconds like its hub sessions: at bgpd's default
    ConnectRetry (120 s) an AWS tunnel that came back would carry no routes for up to two
    minutes."""
    store = next(f for f in rendered if f.name == f"{STORE}.cfg")
    aws = [line.split()[1] for line in store.lines if re.fullmatch(r" neighbor \S+ description aws .*", line)]
    assert aws
    for address in aws:
        assert f" neighbor {address} timers connect 5" in store.lines
    files = broken_files(rendered, f"{STORE}.cfg", lambda t: t.replace(f" neighbor {aws[0]} timers connect 5\n", ""))
    found = rule_findings(fleet, files, "frr-connect-retry")
    assert [f.message for f in found] == [f"neighbor {aws[0]} retries its connection every bgpd's default 120 s, not within 5 s"]
    assert found[0].file == f"{STORE}.cfg"


def test_every_frr_appliance_sends_its_syslog_to_the_intents_servers_from_its_loopback(
    fleet: Fleet, rendered: list[ConfigFile]
) -> None:
    """Stores and hubs alike forward their messages to every syslog server of the intent, over
    UDP 514 as the vendor platforms send, from the loopback the DC routes back to."""
    servers = [str(s) for s in fleet.spec.management.syslog_servers]
    assert servers
    appliances = {f.hostname for f in rendered if f.platform == "frr"}
    syslog = {f.hostname: f for f in rendered if f.platform == "frr" and f.suffix == "rsyslog.conf"}
    assert set(syslog) == appliances and {HUB, STORE} <= appliances
    for hostname, config in syslog.items():
        loopback = re.search(r"^interface lo\n(?: .*\n)*? ip address (\S+)/32$", config.companions[""], re.M)
        assert loopback is not None, hostname
        targets = re.findall(r'target="([^"]+)" port="514" protocol="udp" address="([^"]+)"', config.text)
        assert targets == [(server, loopback[1]) for server in servers], hostname
    assert rule_findings(fleet, rendered, "frr-syslog") == []


def test_syslog_from_a_tunnel_address_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    store = next(f for f in rendered if f.name == f"{STORE}.rsyslog.conf")
    source = re.search(r'address="([^"]+)"', store.text)
    assert source is not None
    files = broken_files(rendered, f"{STORE}.rsyslog.conf", lambda t: t.replace(source[0], 'address="100.64.0.0"'))
    found = rule_findings(fleet, files, "frr-syslog")
    assert len(found) == 1 and found[0].file == f"{STORE}.rsyslog.conf" and found[0].line > 0
    assert "100.64.0.0" in found[0].message and source[1] in found[0].message


def test_syslog_the_host_firewall_drops_on_its_way_out_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """An output chain that lets only the tunnels' own traffic out silences the syslog servers."""
    output = (
        "    chain output {\n        type filter hook output priority filter; policy drop;\n"
        "        udp dport { 500, 4500 } accept\n    }\n\n    chain forward {"
    )
    files = broken_files(rendered, f"{HUB}.nftables.conf", lambda t: t.replace("    chain forward {", output, 1))
    found = rule_findings(fleet, files, "frr-syslog")
    assert len(found) == 1 and found[0].file == f"{HUB}.rsyslog.conf"
    assert "dropped by nftables.conf: chain output: policy drop" in found[0].message
    allowed = output.replace("udp dport { 500, 4500 } accept", "udp dport { 500, 514, 4500 } accept")
    files = broken_files(rendered, f"{HUB}.nftables.conf", lambda t: t.replace("    chain forward {", allowed, 1))
    assert rule_findings(fleet, files, "frr-syslog") == []


def test_every_frr_appliance_answers_snmpv3_read_only_on_its_loopback_alone(
    fleet: Fleet, rendered: list[ConfigFile]
) -> None:
    """HQ polls stores and hubs alike at their loopback with the fleet's SNMPv3 user, encrypted;
    no community, no write access, and no other address of the appliance answers."""
    appliances = {f.hostname for f in rendered if f.platform == "frr"}
    agents = {f.hostname: f for f in rendered if f.platform == "frr" and f.suffix == "snmpd.conf"}
    assert set(agents) == appliances
    user = fleet.spec.management.snmp_user
    for hostname, config in agents.items():
        loopback = re.search(r"^interface lo\n(?: .*\n)*? ip address (\S+)/32$", config.companions[""], re.M)
        assert loopback is not None, hostname
        lines = [re.sub(r'"[^"]+"', '"KEY"', line) for line in config.lines if line and not line.startswith("#")]
        assert lines == [
            f"agentaddress udp:{loopback[1]}:161",
            f'createUser {user} SHA "KEY" AES "KEY"',
            "view storestack included .1.3.6.1.2.1",
            "view storestack included .1.3.6.1.4.1.2021",
            f"rouser -s usm {user} priv -V storestack",
        ], hostname
        assert config.companions["snmpd.unit"].count("Restart=on-failure") == 1
    assert rule_findings(fleet, rendered, "frr-snmp") == []


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda t: re.sub(r"agentaddress udp:\S+", "agentaddress udp:0.0.0.0:161", t), "listens on udp:0.0.0.0:161"),
        (lambda t: re.sub(r"^agentaddress .*\n", "", t, flags=re.M), "no agentaddress"),
        (lambda t: t + "rocommunity public\n", "rocommunity: only SNMPv3 users"),
        (lambda t: t.replace(" priv -V storestack", " auth -V storestack"), "access without encryption"),
    ],
)
def test_an_snmp_agent_open_beyond_the_intent_is_found(
    fleet: Fleet, rendered: list[ConfigFile], change: object, said: str
) -> None:
    assert callable(change)
    files = broken_files(rendered, f"{STORE}.snmpd.conf", change)
    found = rule_findings(fleet, files, "frr-snmp")
    assert len(found) == 1 and found[0].file == f"{STORE}.snmpd.conf" and said in found[0].message


def test_every_frr_appliance_turns_ipv4_forwarding_on(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """A Debian 12 host forwards no IPv4 packet until net.ipv4.ip_forward is 1 (the kernel's and
    Debian's default is 0; FRR's zebra leaves it as it finds it): without its sysctl.d file a
    store would route none of its segments into the tunnels and a hub none of the stores' traffic,
    whatever its firewall's forward chain accepts. The lab turns it on itself, so only the rendered
    file says what a real appliance gets."""
    appliances = {f.hostname for f in rendered if f.platform == "frr"}
    settings = {f.hostname: f for f in rendered if f.platform == "frr" and f.suffix == "sysctl.conf"}
    assert set(settings) == appliances and {HUB, STORE} <= appliances
    for hostname, config in settings.items():
        lines = [line.replace(" ", "") for line in config.lines if line.strip() and not line.startswith("#")]
        assert lines[0] == "net.ipv4.ip_forward=1", hostname
    assert rule_findings(fleet, rendered, "frr-forwarding") == []


def test_every_frr_appliance_pins_reverse_path_filtering_loose(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """Strict reverse-path filtering (rp_filter 1, which Debian's /etc/sysctl.conf offers
    commented out and hardening baselines switch on) drops what arrives on a tunnel the main
    table does not route its source back through: HQ's answers on a store's LTE tunnel while
    BGP prefers the fibre one, a store's flows on a hub's backup tunnel. The kernel keeps the
    higher of `all` and an interface's own value, and a tunnel made after boot starts with
    `default`: both are pinned to 2 (loose) in the file that sorts last, so no distribution or
    operator default decides it, and an interface of its own at 1 is loose too."""
    settings = {f.hostname: f for f in rendered if f.platform == "frr" and f.suffix == "sysctl.conf"}
    assert {HUB, STORE} <= set(settings)
    for hostname, config in settings.items():
        lines = {line.replace(" ", "") for line in config.lines if line.strip() and not line.startswith("#")}
        assert {"net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf.default.rp_filter=2"} <= lines, hostname
    assert rule_findings(fleet, rendered, "frr-rp-filter") == []


@pytest.mark.parametrize("appliance", [HUB, STORE])
@pytest.mark.parametrize(
    "change",
    [
        lambda t: t + "net.ipv4.conf.all.rp_filter = 1\n",
        lambda t: t.replace("net.ipv4.conf.all.rp_filter = 2\n", "net.ipv4.conf.all.rp_filter = 0\n"),
        lambda t: t.replace("net.ipv4.conf.default.rp_filter = 2\n", ""),
    ],
)
def test_an_appliance_left_to_strict_reverse_path_filtering_is_found(
    fleet: Fleet, rendered: list[ConfigFile], appliance: str, change: object
) -> None:
    assert callable(change)
    (finding,) = rule_findings(fleet, broken_files(rendered, f"{appliance}.sysctl.conf", change), "frr-rp-filter")
    assert finding.file == f"{appliance}.nftables.conf" and "rp_filter" in finding.message


@pytest.mark.parametrize("appliance", [HUB, STORE])
def test_an_appliance_that_forwards_nothing_is_found(fleet: Fleet, rendered: list[ConfigFile], appliance: str) -> None:
    files = broken_files(rendered, f"{appliance}.sysctl.conf", lambda t: t.replace("ip_forward = 1", "ip_forward = 0"))
    (finding,) = rule_findings(fleet, files, "frr-forwarding")
    assert finding.file == f"{appliance}.nftables.conf" and "net.ipv4.ip_forward" in finding.message
    # The last assignment is the one the kernel keeps (sysctl.d(5)).
    files = broken_files(rendered, f"{appliance}.sysctl.conf", lambda t: t + "net.ipv4.ip_forward=0\n")
    assert len(rule_findings(fleet, files, "frr-forwarding")) == 1


RULESET_WITH_SETS = """table inet filter {
    set ranges {
        type ipv4_addr
        flags interval
        elements = { 10.1.0.0/16, 192.0.2.10-192.0.2.20, 198.51.100.7 }
    }
    set odd {
        type ipv4_addr
        flags interval
        elements = { 10.9.0.0/16, 10.8.0.0/40 }
    }
    set wans {
        type ifname
        elements = { "wan1", "wan2" }
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
        iifname @wans ip saddr @ranges tcp dport { 22, 8000-8080 } accept
        iifname { "lte1" } ip saddr @odd accept
    }
}
"""


@pytest.mark.parametrize(
    ("iifname", "source", "port", "forwarded", "line"),
    [
        ("wan1", "10.1.255.255", 22, True, 18),  # in the prefix, the port in the anonymous set
        ("wan2", "192.0.2.20", 8080, True, 18),  # the range's last address, the port range's last port
        ("wan2", "192.0.2.21", 8080, False, 17),  # just past the range: the policy
        ("wan1", "198.51.100.7", 8081, False, 17),  # the lone address, a port past the range
        ("wan3", "10.1.0.1", 22, False, 17),  # not a named interface
        ("lte1", "10.200.0.1", 22, True, 19),  # a prefix this reader cannot tell (/40): the accept holds
    ],
)
def test_the_nftables_reader_follows_prefixes_ranges_and_names_in_sets(
    iifname: str, source: str, port: int, forwarded: bool, line: int
) -> None:
    packet = Packet("tcp", ipaddress.IPv4Address(source), ipaddress.IPv4Address("10.200.0.9"), port)
    verdict = chain_verdict(RULESET_WITH_SETS, "forward", packet, iifname)
    assert (verdict.forwarded, verdict.line) == (forwarded, line)


def test_a_hub_taking_traffic_from_an_unlisted_tunnel_interface_is_found(
    fleet: Fleet, rendered: list[ConfigFile]
) -> None:
    # What storestack renders drops it; the same ruleset without that drop takes a store's own
    # source to HQ from any interface of the tunnel group (`iifgroup 10 ... @corporate accept`).
    assert not rule_findings(fleet, rendered, "frr-hub-unlisted-tunnel")
    unlisted = "\n        iifgroup 10 iifname != @store_tunnels iifname != @cloud_tunnels drop"
    files = broken_files(rendered, f"{HUB}.nftables.conf", lambda t: t.replace(unlisted, ""))
    found = rule_findings(fleet, files, "frr-hub-unlisted-tunnel")
    assert [f.file for f in found] == [f"{HUB}.nftables.conf"], found
    assert "iifgroup 10 ip saddr @store_sources ip daddr @corporate accept" in found[0].message, found[0].message
