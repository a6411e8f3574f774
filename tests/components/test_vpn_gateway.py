"""The OpenStack site's route-based VPN gateway config: one XFRM tunnel and BGP session per peer."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from storestack.components import vpn_gateway
from storestack.components.vpn_gateway import (
    GatewayPeer,
    GatewayReader,
    GatewaySettings,
    cloud_init,
    frr_conf,
    peer_config,
    swanctl_conf,
)
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
READER = GatewayReader(
    auth_url="https://keystone.example:5000/v3",
    region="RegionOne",
    credential_id="0f3c1e",
    credential_secret="reader.Secret-0123456789",
    container="fleet-ams-vpn-gateway",
)


def _document() -> dict[str, Any]:
    """The user data as cloud-init reads it (JSON after the header line)."""
    text = cloud_init(SETTINGS, READER)
    assert text.startswith("#cloud-config\n")
    document: dict[str, Any] = json.loads(text.split("\n", 1)[1])
    return document


def _files() -> dict[str, dict[str, str]]:
    """Every file the gateway holds once synced: the user data's and the peer config's, by path."""
    written = [*_document()["write_files"], *json.loads(peer_config(SETTINGS, PEERS))["files"]]
    return {f["path"]: f for f in written}


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
    files = _files()
    assert files["/etc/swanctl/conf.d/storestack.conf"]["permissions"] == "0600"
    script = files["/usr/local/sbin/storestack-tunnels"]["content"]
    assert 'ip link add x-aws0t1 type xfrm dev "$uplink" if_id 1' in script
    assert "ip addr replace 169.254.12.2/30 dev x-aws0t2" in script
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
    document = _document()
    unit = _files()["/etc/systemd/system/storestack-tunnels.service"]["content"].splitlines()
    assert "ExecStart=/usr/local/sbin/storestack-tunnels" in unit
    assert "WantedBy=multi-user.target" in unit
    assert "Before=strongswan.service frr.service" in unit
    assert ["systemctl", "enable", "storestack-tunnels.service"] in document["runcmd"]
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
    charon = _charon_settings(_document())
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
    script = _files()["/usr/local/sbin/storestack-tunnels"]["content"]
    reading = 'uplink_mtu=$(cat "/sys/class/net/$uplink/mtu")'
    assert reading in script
    for uplink_mtu in (1500, 1450):
        body = script.replace(reading, f"uplink_mtu={uplink_mtu}").replace("set -eu\n", 'set -eu\nip() { echo "ip $*"; }\n', 1)
        ran = subprocess.run(["sh", "-c", body], capture_output=True, text=True, check=True).stdout.splitlines()
        wanted = FLEET_CRYPTO.tunnel_mtu(uplink_mtu).mtu
        assert [line for line in ran if " mtu " in line] == [f"ip link set x-{peer.name} mtu {wanted} up" for peer in PEERS]


def test_the_user_data_holds_no_peer_and_no_key_and_the_peer_config_holds_them_all() -> None:
    """Nova takes user data at boot only: what a peer changes lives in the peer config, so the
    user data (the instance) is the same for any peers. The keys are in the swanctl file (0600)."""
    user_data = cloud_init(SETTINGS, READER)
    for peer in PEERS:
        assert peer.psk not in user_data and str(peer.outside_address) not in user_data
    files = {f["path"]: f for f in json.loads(peer_config(SETTINGS, PEERS))["files"]}
    keys = files["/etc/swanctl/conf.d/storestack.conf"]
    assert keys["permissions"] == "0600"
    assert all(f'secret = "{peer.psk}"' in keys["content"] for peer in PEERS)
    assert all(f" neighbor {peer.peer_inside} remote-as " in files["/etc/frr/frr.conf"]["content"] for peer in PEERS)
    credential = _files()["/etc/storestack/gateway-reader.json"]
    assert credential["permissions"] == "0600" and READER.credential_secret in credential["content"]


def _run_interfaces(existing: dict[str, str]) -> list[str]:
    """The interfaces script with `ip` stubbed: `existing` XFRM interfaces (name -> address) are
    there; returns the commands that would change something."""
    script = _files()["/usr/local/sbin/storestack-tunnels"]["content"]
    listing = "\\n".join(f"7: {name}@ens3: <NOARP,UP> mtu 1394" for name in existing)
    stub = "\n".join(
        [
            "ip() {",
            '    case "$*" in',
            f"        \"-o link show type xfrm\") printf '{listing}\\n' ;;",
            *(f'        "link show dev {n}") return 0 ;;' for n in existing),
            '        "link show dev "*) return 1 ;;',
            *(f"        \"-o -4 addr show dev {n}\") echo '8: {n} inet {a} scope global' ;;" for n, a in existing.items()),
            '        "-o -4 addr show dev "*) ;;',
            '        *) echo "ip $*" ;;',
            "    esac",
            "}",
        ]
    )
    body = script.replace('uplink_mtu=$(cat "/sys/class/net/$uplink/mtu")', "uplink_mtu=1450").replace(
        "set -eu\n", f"set -eu\n{stub}\n", 1
    )
    ran = subprocess.run(["sh", "-c", body], capture_output=True, text=True, check=True).stdout.splitlines()
    return [line for line in ran if not line.startswith(("ip -4 route", "ip addr replace"))]


def test_a_sync_removes_a_gone_peers_interface_and_leaves_a_kept_one_up() -> None:
    """A peer removed loses its interface; a kept peer's interface is not made anew (its tunnel
    and BGP session stay up); a new peer's is created; a kept interface holds only its own address."""
    ran = _run_interfaces({"x-aws0t1": "169.254.11.2/30", "x-hub3": "169.254.20.2/30", "xfrm9": "10.9.9.1/30"})
    assert "ip link del x-hub3" in ran
    assert "ip link del xfrm9" not in ran, "an interface the gateway did not make is left alone"
    assert not any(line.startswith("ip link add x-aws0t1") for line in ran), ran
    assert any(line.startswith("ip link add x-aws0t2 ") and line.endswith(" if_id 2") for line in ran), ran
    assert not any(line.startswith("ip addr del") for line in ran), ran
    moved = _run_interfaces({"x-aws0t1": "169.254.99.2/30"})
    assert "ip addr del 169.254.99.2/30 dev x-aws0t1" in moved


class _Cloud:
    """Keystone and Swift on 127.0.0.1, as far as the gateway's sync uses them."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.requests: list[tuple[str, str, str]] = []
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                cloud.requests.append(("POST", self.path, json.dumps(body)))
                method = body["auth"]["identity"]["application_credential"]
                if (method["id"], method["secret"]) != (READER.credential_id, READER.credential_secret):
                    self.send_response(401)
                    self.end_headers()
                    return
                port = self.server.server_address[1]
                catalog = [
                    {"type": "object-store", "endpoints": [
                        {"interface": "internal", "region_id": "RegionOne", "url": "http://127.0.0.1:1/v1/AUTH_x"},
                        {"interface": "public", "region_id": "RegionTwo", "url": "http://127.0.0.1:1/v1/AUTH_x"},
                        {"interface": "public", "region_id": "RegionOne", "url": f"http://127.0.0.1:{port}/v1/AUTH_p"},
                    ]},
                ]
                answer = json.dumps({"token": {"catalog": catalog}}).encode()
                self.send_response(201)
                self.send_header("X-Subject-Token", "tok-1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self) -> None:
                cloud.requests.append(("GET", self.path, self.headers.get("X-Auth-Token", "")))
                data = cloud.content.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Cloud:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _sync(tmp_path: Path, port: int) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The gateway's sync with its paths under `tmp_path` and each apply step a logged no-op."""
    root = tmp_path / "root"
    credential = json.loads(_files()[vpn_gateway.SYNC_CREDENTIAL]["content"])
    credential["auth_url"] = f"http://127.0.0.1:{port}/v3"
    (root / "etc/storestack").mkdir(parents=True, exist_ok=True)
    (root / vpn_gateway.SYNC_CREDENTIAL.lstrip("/")).write_text(json.dumps(credential))
    log = tmp_path / "applied.log"
    steps = [["sh", "-c", f"echo {step[-1]} >> {log}"] for step in vpn_gateway.PEER_APPLY]
    lines = vpn_gateway.sync_script().splitlines()
    assert 'ROOT = "/"' in lines and sum(line.startswith("APPLY = ") for line in lines) == 1
    script = "\n".join(
        f"ROOT = {str(root)!r}" if line == 'ROOT = "/"' else f"APPLY = {steps!r}" if line.startswith("APPLY = ") else line
        for line in lines
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return ran, root


def test_the_gateway_applies_a_new_peer_config_once_with_its_keys_in_private_files(tmp_path: Path) -> None:
    """The sync reads the object with the application credential's token, from the region's public
    Swift endpoint; writes the keys 0600 and the others at their modes; runs the interfaces,
    swanctl and FRR reloads in that order; and applies the same object only once. It prints no key."""
    first = peer_config(SETTINGS, PEERS)
    with _Cloud(first) as cloud:
        port = cloud.server.server_address[1]
        ran, root = _sync(tmp_path, port)
        assert ran.returncode == 0, ran.stderr
        assert [r[:2] for r in cloud.requests] == [("POST", "/v3/auth/tokens"), ("GET", "/v1/AUTH_p/fleet-ams-vpn-gateway/peers.json")]
        assert cloud.requests[1][2] == "tok-1"
        keys = root / "etc/swanctl/conf.d/storestack.conf"
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600 and 'secret = "kSecret.1"' in keys.read_text()
        assert stat.S_IMODE((root / "etc/frr/frr.conf").stat().st_mode) == 0o640
        assert stat.S_IMODE((root / "usr/local/sbin/storestack-tunnels").stat().st_mode) == 0o755
        applied = (tmp_path / "applied.log").read_text().split()
        assert applied == ["/usr/local/sbin/storestack-tunnels", "--load-all", "/etc/frr/frr.conf"]
        for peer in PEERS:
            assert peer.psk not in ran.stdout + ran.stderr

        again, _ = _sync(tmp_path, port)
        assert again.returncode == 0 and (tmp_path / "applied.log").read_text().split() == applied

        rotated = [GatewayPeer(**{**p.__dict__, "psk": f"kRotated.{p.if_id}"}) for p in PEERS]
        cloud.content = peer_config(SETTINGS, rotated)
        third, _ = _sync(tmp_path, port)
        assert third.returncode == 0, third.stderr
        assert 'secret = "kRotated.2"' in keys.read_text() and stat.S_IMODE(keys.stat().st_mode) == 0o600
        assert (tmp_path / "applied.log").read_text().split() == applied * 2


def test_the_gateway_writes_no_file_the_peer_config_does_not_own(tmp_path: Path) -> None:
    """The object names its files, but the sync writes only the peer config's own paths: an object
    naming another (a unit, a key elsewhere) is refused and nothing is applied."""
    document = json.loads(peer_config(SETTINGS, PEERS))
    document["files"].append({"path": "/etc/systemd/system/evil.service", "permissions": "0644", "content": "x"})
    with _Cloud(json.dumps(document)) as cloud:
        ran, root = _sync(tmp_path, cloud.server.server_address[1])
    assert ran.returncode != 0 and "evil.service" in ran.stderr
    assert not (tmp_path / "applied.log").exists() and not (root / "etc/swanctl").exists()
