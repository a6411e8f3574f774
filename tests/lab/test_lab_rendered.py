"""The lab's one adaptation of the rendered swanctl.conf (no root): only selectors, XFRM
interface ids and lease-hook includes change; connections the lab does not run are left out."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from storestack.lab.rendered import RenderedIpsec, adapt_qos, adapt_swanctl

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "frr"


def rendered(name: str) -> RenderedIpsec:
    return RenderedIpsec(
        swanctl=(GOLDEN / f"{name}.swanctl.conf").read_text(encoding="utf-8"),
        strongswan=(GOLDEN / f"{name}.strongswan.conf").read_text(encoding="utf-8"),
        routing=(GOLDEN / f"{name}.routing").read_text(encoding="utf-8"),
    )


def test_tunnel_devices_are_named_as_the_routing_file_names_them() -> None:
    files = rendered("dual-wan")

    interfaces = files.tunnel_interfaces()

    assert interfaces["nw-0002-wan1-hq-hub2"] == "xfrm1"
    assert set(interfaces.values()) == {"xfrm1", "xfrm2", "xfrm3", "xfrm4"}
    assert files.charon_settings()["retransmit_tries"] == "3"


def test_the_lab_loads_a_hubs_management_port_as_the_routing_file_renders_it() -> None:
    """The lab puts a hub's management address on its `mgmt` veth from the rendered routing
    file (it used to add it to the DC port by hand); its rules come with the other rules."""
    hub = rendered("hub")
    assert hub.management_routing() == [
        "link set mgmt up",
        "address replace 10.0.250.11/24 dev mgmt noprefixroute",
        "route replace 10.0.250.0/24 dev mgmt src 10.0.250.11 table 5400",
    ]
    assert "rule add from 10.0.250.11 lookup 5400 pref 950" in hub.policy_rules()
    assert rendered("dual-wan").management_routing() == []


def test_adapt_swanctl_changes_only_selectors_if_ids_and_lease_includes() -> None:
    files = rendered("aws")
    kept = "nw-0001-wan1-hq-hub1"
    vteps = {kept: (IPv4Address("198.19.0.1"), IPv4Address("198.19.0.0"))}

    text = adapt_swanctl(files.swanctl, vteps, {"wan1": IPv4Address("198.51.100.2"), "lte1": IPv4Address("198.18.1.7")})

    assert f"    {kept} " in text and f"ike-{kept} {{" in text
    # The AWS tunnels and the other hub tunnels are not run by this lab: gone with their secrets.
    assert "aws1" not in text and "nw-0001-lte1-hq-hub2" not in text
    assert "local_ts = 198.19.0.1/32" in text and "remote_ts = 198.19.0.0/32" in text
    assert "0.0.0.0/0" not in text and "if_id" not in text
    # Everything else is the rendered text, line for line.
    adapted = {line for line in text.splitlines() if not line.strip().startswith(("#", "local_ts", "remote_ts"))}
    assert adapted <= set(files.swanctl.splitlines())
    assert "proposals = aes256gcm16-prfsha384-ecp384" in text


def test_a_lease_hook_include_becomes_the_labs_address() -> None:
    files = rendered("dual-wan")
    kept = "nw-0002-lte1-hq-hub2"

    text = adapt_swanctl(
        files.swanctl, {kept: (IPv4Address("198.19.0.3"), IPv4Address("198.19.0.2"))}, {"lte1": IPv4Address("198.18.1.9")}
    )

    assert "include transport/" not in text
    assert "local_addrs = 198.18.1.9" in text


def test_template_sections_the_connections_inherit_are_kept_whole() -> None:
    files = rendered("dual-wan")
    kept = "nw-0002-wan1-hq-hub2"

    text = adapt_swanctl(files.swanctl, {kept: (IPv4Address("198.19.0.1"), IPv4Address("198.19.0.0"))}, {})

    template = files.swanctl[files.swanctl.index("storestack-ike {") : files.swanctl.index("storestack-initiator {")]
    assert template.strip() in text  # local/remote `auth = psk` included


def test_adapt_qos_puts_only_the_first_links_queues_on_the_tun_device() -> None:
    """libipsec's ESP leaves with DSCP 0, so the first WAN link's tree classifies the tunnels'
    packets on the TUN device, where they still carry it; every other line stays as rendered."""
    rendered = (
        "# wan1: 8000 kbit/s, shaped to 7600 kbit/s\n"
        "qdisc replace dev wan1 root handle 1: htb default 15\n"
        "filter add dev wan1 parent 1: protocol ip prio 2 u32 match ip dsfield 0x68 0xfc flowid 1:11  # af31\n"
        "# lte1: 150000 kbit/s, shaped to 142500 kbit/s\n"
        "qdisc replace dev lte1 root handle 1: htb default 15\n"
    )
    assert adapt_qos(rendered, "ipsec0", "198.19.0.0/16").splitlines() == [
        "# wan1: 8000 kbit/s, shaped to 7600 kbit/s",
        "qdisc replace dev ipsec0 root handle 1: htb default 15",
        "filter add dev ipsec0 parent 1: protocol ip prio 2 u32 match ip dsfield 0x68 0xfc flowid 1:11  # af31",
        "# lte1: 150000 kbit/s, shaped to 142500 kbit/s",
        "qdisc replace dev lte1 root handle 1: htb default 15",
    ]


def test_adapt_qos_gives_a_hubs_tree_the_tunnels_packets_as_the_lab_sends_them() -> None:
    """A hub queues only its public address's packets; on the TUN device its tunnels' packets come
    from the VTEPs, so the lab's tree matches those: the tunnels are queued, nothing else."""
    rendered = (
        "qdisc replace dev dc root handle 1: htb default 0\n"
        "filter add dev dc parent 1: protocol ip prio 2 u32 match ip src 203.0.113.11/32 match ip dsfield 0xb8 0xfc"
        " flowid 1:10  # ef\n"
        "filter add dev dc parent 1: protocol ip prio 3 u32 match ip src 203.0.113.11/32 flowid 1:15  # best-effort\n"
    )
    assert adapt_qos(rendered, "ipsec0", "198.19.0.0/16").splitlines() == [
        "qdisc replace dev ipsec0 root handle 1: htb default 0",
        "filter add dev ipsec0 parent 1: protocol ip prio 2 u32 match ip src 198.19.0.0/16 match ip dsfield 0xb8 0xfc"
        " flowid 1:10  # ef",
        "filter add dev ipsec0 parent 1: protocol ip prio 3 u32 match ip src 198.19.0.0/16 flowid 1:15  # best-effort",
    ]
