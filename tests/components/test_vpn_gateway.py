"""The OpenStack site's route-based VPN gateway config: one XFRM tunnel and BGP session per peer."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

from storestack.components.vpn_gateway import GatewayPeer, GatewaySettings, cloud_init, frr_conf, swanctl_conf
from storestack.network.crypto import FLEET_CRYPTO, aws_tunnel_options

SETTINGS = GatewaySettings(
    asn=64513,
    public_address=ipaddress.IPv4Address("203.0.113.50"),
    announces=(ipaddress.IPv4Network("10.40.0.0/20"), ipaddress.IPv4Network("10.56.0.0/20")),
)
PEERS = [
    GatewayPeer(
        name=f"aws0t{n}",
        if_id=n,
        outside_address=ipaddress.IPv4Address(f"192.0.2.{n}"),
        psk=f"kSecret.{n}",
        local_inside=ipaddress.IPv4Interface(f"169.254.{10 + n}.2/30"),
        peer_inside=ipaddress.IPv4Address(f"169.254.{10 + n}.1"),
        peer_asn=64512,
        accepts=(ipaddress.IPv4Network("10.32.0.0/20"),),
    )
    for n in (1, 2)
]


def test_each_peer_is_its_own_route_based_child_sa_with_its_own_key() -> None:
    text = swanctl_conf(SETTINGS, PEERS)
    assert text.count("local_ts = 0.0.0.0/0") == 2 and text.count("remote_ts = 0.0.0.0/0") == 2
    assert "if_id_in = 1" in text and "if_id_out = 2" in text
    assert text.count(f"proposals = {FLEET_CRYPTO.strongswan_ike()}") == 2
    assert text.count(f"esp_proposals = {FLEET_CRYPTO.strongswan_esp()}") == 2
    secrets = text.split("secrets {", 1)[1]
    assert 'secret = "kSecret.1"' in secrets and 'secret = "kSecret.2"' in secrets
    assert "id-1 = 203.0.113.50" in secrets, "the floating IP is the identity AWS expects from the customer gateway"


def test_bgp_announces_only_the_site_and_accepts_only_what_each_peer_owns() -> None:
    text = frr_conf(SETTINGS, PEERS)
    assert "router bgp 64513" in text
    assert "ip prefix-list SITE seq 5 permit 10.40.0.0/20" in text
    assert "ip prefix-list FROM-AWS0T1 seq 5 permit 10.32.0.0/20 le 32" in text
    for peer in PEERS:
        assert f" neighbor {peer.peer_inside} remote-as 64512" in text
        assert f"  neighbor {peer.peer_inside} prefix-list SITE out" in text


def test_cloud_init_keeps_the_keys_in_a_private_file_and_creates_the_tunnels() -> None:
    text = cloud_init(SETTINGS, PEERS)
    assert text.startswith("#cloud-config\n")
    document = json.loads(text.split("\n", 1)[1])
    files = {f["path"]: f for f in document["write_files"]}
    assert files["/etc/swanctl/conf.d/storestack.conf"]["permissions"] == "0600"
    script = files["/usr/local/sbin/storestack-tunnels"]["content"]
    assert 'ip link add x-aws0t1 type xfrm dev "$uplink" if_id 1' in script
    assert "ip addr add 169.254.12.2/30 dev x-aws0t2" in script
    assert "net.ipv4.ip_forward = 1" in files["/etc/sysctl.d/60-storestack-gateway.conf"]["content"]


def test_every_tunnel_keeps_initiating_until_its_peer_answers() -> None:
    """AWS never starts IKE itself (startup action "add") and a hub is configured after the gateway
    boots: with strongSwan's default of one retransmission sequence, a peer that is not answering
    yet leaves its tunnel down until someone restarts the gateway."""
    connections = swanctl_conf(SETTINGS, PEERS).split("secrets {", 1)[0]
    for peer in PEERS:
        ike = connections.split(f"    {peer.name} {{\n", 1)[1].split("        children {", 1)[0]
        assert "        keyingtries = 0" in ike.splitlines(), f"{peer.name} gives up after one attempt"


def test_the_tunnel_interfaces_come_back_after_a_reboot() -> None:
    """`ip link` interfaces are gone after a reboot and cloud-init's runcmd runs at the first boot
    only: a systemd unit makes them at every boot, before strongSwan and FRR start."""
    document = json.loads(cloud_init(SETTINGS, PEERS).split("\n", 1)[1])
    files = {f["path"]: f["content"] for f in document["write_files"]}
    unit = files["/etc/systemd/system/storestack-tunnels.service"].splitlines()
    assert "ExecStart=/usr/local/sbin/storestack-tunnels" in unit
    assert "WantedBy=multi-user.target" in unit
    assert "Before=strongswan.service frr.service" in unit
    assert ["systemctl", "enable", "--now", "storestack-tunnels.service"] in document["runcmd"]
    # The script runs through the unit only: never a second time at the first boot.
    assert ["/usr/local/sbin/storestack-tunnels"] not in document["runcmd"]


def _charon_settings(document: dict[str, Any]) -> dict[str, str]:
    """The `charon { ... }` keys the gateway's strongswan.conf drop-ins set (strongSwan reads
    /etc/strongswan.conf, which includes strongswan.d/*.conf on Debian)."""
    settings: dict[str, str] = {}
    for entry in document["write_files"]:
        if entry["path"].startswith("/etc/strongswan.d/") and entry["path"].endswith(".conf"):
            for line in entry["content"].split("charon {", 1)[-1].splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    settings[key.strip()] = value.strip()
    return settings


def test_a_silent_aws_tunnel_is_declared_dead_about_when_aws_declares_the_gateway_dead() -> None:
    """The gateway probes a silent peer after `dpd_delay` and gives up when a probe's
    retransmissions go unanswered (strongSwan docs "Retransmission"; the defaults, 4 s x1.8 with
    5 retries, take 165 s). AWS clears the tunnel after its DPD timeout (the plan's
    `dpd_timeout_seconds`, action clear): with the defaults, the gateway would keep a dead SA
    and restart the tunnel minutes after AWS is ready for it again."""
    document = json.loads(cloud_init(SETTINGS, PEERS).split("\n", 1)[1])
    charon = _charon_settings(document)
    timeout = float(charon.get("retransmit_timeout", 4.0))
    tries = int(charon.get("retransmit_tries", 5))
    base = float(charon.get("retransmit_base", 1.8))
    gives_up = sum(timeout * base**n for n in range(tries + 1))
    dpd_delay = int(swanctl_conf(SETTINGS, PEERS).split("dpd_delay = ", 1)[1].split("s\n", 1)[0])
    aws_dpd = aws_tunnel_options(FLEET_CRYPTO)["dpd_timeout_seconds"]
    assert isinstance(aws_dpd, int)
    assert gives_up <= aws_dpd, (
        f"the gateway declares a silent AWS tunnel dead {dpd_delay + gives_up:.0f} s after it fell "
        f"silent ({gives_up:.0f} s after its first probe); AWS's DPD timeout is {aws_dpd} s"
    )


def test_the_gateway_renews_its_sas_before_the_lifetimes_aws_holds_them_to() -> None:
    """strongSwan renews an SA at `rekey_time` minus a random part of `rand_time` (swanctl.conf(5)),
    so at the latest at `rekey_time`. AWS's tunnels end an IKE SA after the plan's phase 1
    lifetime and a child SA after its phase 2 lifetime: a gateway that renewed only then could
    find the SA already gone and the tunnel down until it negotiates anew."""
    options = aws_tunnel_options(FLEET_CRYPTO)
    connection = swanctl_conf(SETTINGS, PEERS).split("secrets {", 1)[0].split(f"    {PEERS[0].name} {{\n", 1)[1]
    ike, child = connection.split("        children {", 1)
    ike_rekey = int(ike.split("rekey_time = ", 1)[1].split("s\n", 1)[0])
    child_rekey = int(child.split("rekey_time = ", 1)[1].split("s\n", 1)[0])
    phase1, phase2 = options["phase1_lifetime_seconds"], options["phase2_lifetime_seconds"]
    assert isinstance(phase1, int) and isinstance(phase2, int)
    assert ike_rekey < phase1, f"IKE SA renewed at {ike_rekey} s, AWS holds it {phase1} s"
    assert child_rekey < phase2, f"child SA renewed at {child_rekey} s, AWS holds it {phase2} s"


def test_a_session_whose_tunnel_came_back_is_retried_within_seconds() -> None:
    """bgpd waits its ConnectRetry time between attempts to open a session (FRR user guide,
    `neighbor PEER timers connect`, 120 s by default): after a tunnel restart the site would stay
    without the peer's routes for up to two minutes after the tunnel is up again."""
    text = frr_conf(SETTINGS, PEERS).splitlines()
    for peer in PEERS:
        retry = next(
            (int(line.rsplit(" ", 1)[1]) for line in text if line.startswith(f" neighbor {peer.peer_inside} timers connect ")),
            120,
        )
        assert retry <= 10, f"{peer.name}: a new attempt only every {retry} s"


def test_the_gateway_keeps_the_fleets_anti_replay_window_on_every_child_sa() -> None:
    """A hub queues its ESP by class (the DSCP copied onto the outer header), so voice and POS
    overtake bulk sent before them; a receiver whose window is narrower than that reordering
    drops the bulk as replays. swanctl's default window is 32 packets (swanctl.conf(5)
    `replay_window`); the fleet's ends keep `FLEET_CRYPTO.replay_window_packets`."""
    connections = swanctl_conf(SETTINGS, PEERS).split("secrets {", 1)[0]
    for peer in PEERS:
        child = connections.split(f"            {peer.name} {{\n", 1)[1].split("            }\n", 1)[0]
        assert f"replay_window = {FLEET_CRYPTO.replay_window_packets}\n" in child, (
            f"{peer.name}: child SA at strongSwan's default window of 32 packets"
        )


def test_each_tunnel_fits_the_uplink_neutron_gives_the_gateway() -> None:
    """The XFRM interfaces' MTU is the uplink's less the fleet's ESP overhead, as on the hubs and
    stores: on a VXLAN tenant network (1450) a tunnel sized for 1500 would have every full-size
    packet fragmented after encryption. The script runs here with `ip` stubbed and the uplink's
    MTU given."""
    document = json.loads(cloud_init(SETTINGS, PEERS).split("\n", 1)[1])
    script = {f["path"]: f["content"] for f in document["write_files"]}["/usr/local/sbin/storestack-tunnels"]
    reading = 'uplink_mtu=$(cat "/sys/class/net/$uplink/mtu")'
    assert reading in script
    for uplink_mtu in (1500, 1450):
        body = script.replace(reading, f"uplink_mtu={uplink_mtu}").replace("set -eu\n", 'set -eu\nip() { echo "ip $*"; }\n', 1)
        ran = subprocess.run(["sh", "-c", body], capture_output=True, text=True, check=True).stdout.splitlines()
        wanted = FLEET_CRYPTO.tunnel_mtu(uplink_mtu).mtu
        assert [line for line in ran if " mtu " in line] == [f"ip link set x-{peer.name} mtu {wanted} up" for peer in PEERS]
