"""The cloud VPN stand-in: AWS Site-to-Site VPN's end of each store's AWS tunnels, in the lab's
cloud namespace, configured from the offline plan.

For every FRR store of the lab the store stack's program runs under the plan's mocks
(`stacks.plan.planned_store_run`), and its `VpnConnection` and `CustomerGateway` values become
the stand-in's configuration: per tunnel the outside address (`tunnelN_address`), the inside
/30 (`tunnelN_inside_cidr`, AWS's end `.1`), the PSK (`tunnelN_preshared_key`), the IKE versions
and phase 1/2 encryption, integrity and DH groups and lifetimes, the customer gateway's address
(the store's identity) and ASN, and Amazon's ASN. Nothing comes from the network intent: the
store side runs what storestack renders for the store from the intent's planned values (as
`rollout --lab` pushes it and `devices push` / `drift` compare it), so a store's AWS tunnels come
up only when the Pulumi side and the device side agree.

The stand-in is one charon (kernel-libipsec, responder only: AWS answers, the customer
gateway initiates) and one bgpd with Amazon's ASN, announcing the cloud prefix to each store
over its tunnels, as the Transit Gateway announces the VPCs. Its WAN carries every tunnel's
outside address. Lab adaptation, as for the hubs (`lab.rendered`): a VXLAN over a /32 VTEP pair
per tunnel stands in for the route-based tunnel.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from storestack.common.files import atomic_write_text
from storestack.inventory import Fleet, load_fleet
from storestack.lab.errors import LabError
from storestack.lab.ipsec import LabTunnel, TunnelEnd
from storestack.lab.topology import LabTopology
from storestack.network.build import NetworkIntent
from storestack.network.crypto import CryptoPolicy, policy_from_aws_options

CLOUD_VPN = "cloud-vpn"  # the stand-in's name as a tunnel end
PSK_FILE = "cloud-vpn-psks.json"
_VPN = "aws:ec2/vpnConnection:VpnConnection"
_GATEWAY = "aws:ec2/customerGateway:CustomerGateway"


class CloudTunnel(BaseModel):
    """One AWS tunnel as the plan declares it (its PSK is kept apart, in a 0600 file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str  # the network intent's tunnel id: the store's swanctl connection
    store_id: str
    store: str
    transport: str
    number: int  # AWS's tunnel 1 or 2 of the VPN connection
    connection: str  # the VpnConnection resource
    outside: IPv4Address  # tunnelN_address
    customer_gateway: IPv4Address  # the CustomerGateway's ip_address: the store's IKE identity
    aws_inside: IPv4Interface  # tunnelN_vgw_inside_address / the inside /30
    store_inside: IPv4Interface  # tunnelN_cgw_inside_address
    amazon_asn: int
    store_asn: int
    ike_version: int
    ike_proposals: str
    esp_proposals: str
    ike_lifetime_seconds: int
    esp_lifetime_seconds: int
    dpd_seconds: int


class CloudPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tunnels: list[CloudTunnel]
    psks: dict[str, SecretStr]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _options(inputs: dict[str, Any], number: int) -> dict[str, Any]:
    prefix = f"tunnel{number}"
    return {_snake(key[len(prefix) :]).lstrip("_"): value for key, value in inputs.items() if key.startswith(prefix)}


def plan_cloud(fleet: Fleet, store_ids: list[str]) -> CloudPlan:
    """The AWS tunnels of `store_ids` as their stacks' offline plans declare them."""
    # Imported here: the plan runs under Pulumi's mocks, and importing Pulumi costs about a
    # second of CPU that every other lab command (status, fail-link, down, --help) skips.
    from storestack.stacks.mocks import unwrap_secrets
    from storestack.stacks.plan import planned_store_run

    intent = NetworkIntent(fleet)
    tunnels: list[CloudTunnel] = []
    psks: dict[str, SecretStr] = {}
    for store_id in store_ids:
        run = planned_store_run(fleet, store_id)
        gateways = {r.resource_id: r for r in run.resources if r.type == _GATEWAY}
        store = intent.store(store_id)
        aws = [t for t in store.tunnels if t.kind == "store-aws"]
        for vpn in (r for r in run.resources if r.type == _VPN):
            inputs = unwrap_secrets(vpn.inputs)
            state = {**inputs, **unwrap_secrets(vpn.outputs)}
            gateway = gateways.get(str(inputs.get("customerGatewayId")))
            if gateway is None:
                raise LabError(f"{store_id}: VPN connection {vpn.name} names no customer gateway of the plan")
            transport = str((inputs.get("tags") or {}).get("storestack:wan-link", ""))
            gateway_asn = gateway.inputs.get("bgpAsnExtended") or gateway.inputs.get("bgpAsn")
            for number in (1, 2):
                intent_tunnel = next(
                    (t for t in aws if t.transport == transport and t.peer.endswith(f":{number}")), None
                )
                if intent_tunnel is None:
                    continue
                options = _options(state, number)
                try:
                    policy: CryptoPolicy = policy_from_aws_options(options)
                except ValueError as exc:
                    raise LabError(f"{store_id}: VPN connection {vpn.name} tunnel {number}: {exc}") from exc
                inside = IPv4Interface(str(options["inside_cidr"]))
                versions = [str(v) for v in options.get("ike_versions") or ["ikev2"]]
                tunnels.append(
                    CloudTunnel(
                        id=intent_tunnel.id,
                        store_id=store_id,
                        store=store.hostname,
                        transport=transport,
                        number=number,
                        connection=vpn.name,
                        outside=IPv4Address(str(options["address"])),
                        customer_gateway=IPv4Address(str(gateway.inputs["ipAddress"])),
                        aws_inside=IPv4Interface(f"{options['vgw_inside_address']}/{inside.network.prefixlen}"),
                        store_inside=IPv4Interface(f"{options['cgw_inside_address']}/{inside.network.prefixlen}"),
                        amazon_asn=int(float(str(options["bgp_asn"]))),
                        store_asn=int(str(gateway_asn)),
                        # AWS answers IKEv2 when it is listed, else IKEv1.
                        ike_version=2 if "ikev2" in versions else 1,
                        ike_proposals=policy.strongswan_ike(),
                        esp_proposals=policy.strongswan_esp(),
                        ike_lifetime_seconds=policy.ike_lifetime_seconds,
                        esp_lifetime_seconds=policy.esp_lifetime_seconds,
                        dpd_seconds=max(1, int(float(str(options.get("dpd_timeout_seconds", 30)))) // 3),
                    )
                )
                psks[intent_tunnel.id] = SecretStr(str(options["preshared_key"]))
    return CloudPlan(tunnels=tunnels, psks=psks)


def lab_cloud_plan_needed(topology: LabTopology) -> bool:
    """A lab built from a fleet, with HQ and the cloud, and store tunnels: it gets the stand-in."""
    return topology.overlay == "ipsec" and topology.fleet_root is not None and topology.sites is not None and bool(topology.tunnels)


def lab_cloud_plan(topology: LabTopology) -> CloudPlan:
    assert topology.fleet_root is not None
    return plan_cloud(load_fleet(Path(topology.fleet_root)), sorted({t.store_id for t in topology.tunnels}))


def save_psks(state_dir: Path, psks: dict[str, SecretStr]) -> None:
    text = json.dumps({key: value.get_secret_value() for key, value in psks.items()})
    atomic_write_text(state_dir / PSK_FILE, text + "\n", mode=0o600)


def load_psks(state_dir: Path) -> dict[str, SecretStr]:
    try:
        raw = json.loads((state_dir / PSK_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {key: SecretStr(value) for key, value in raw.items()}


def cloud_lab_tunnels(
    tunnels: list[CloudTunnel],
    psks: dict[str, SecretStr],
    store_outside: dict[tuple[str, str], IPv4Address],
    store_ifnames: dict[str, str],
    vteps: list[tuple[IPv4Address, IPv4Address]],
    first_vni: int,
) -> list[LabTunnel]:
    """The stand-in's tunnels as the lab runs them: the store initiates (its rendered
    connection), the stand-in answers with the plan's proposals, PSK and IKE version."""
    result = []
    for index, tunnel in enumerate(tunnels):
        aws_vtep, store_vtep = vteps[index]
        result.append(
            LabTunnel(
                id=tunnel.id,
                vni=first_vni + index,
                initiator=TunnelEnd(
                    appliance=tunnel.store,
                    outside=store_outside[(tunnel.store, tunnel.transport)],
                    identity=str(tunnel.customer_gateway),
                    ifname=store_ifnames.get(f"{tunnel.store}/{tunnel.id}", f"aws-{tunnel.transport}-t{tunnel.number}")[:15],
                    inside=tunnel.store_inside,
                    vtep=store_vtep,
                ),
                responder=TunnelEnd(
                    appliance=CLOUD_VPN,
                    outside=tunnel.outside,
                    identity=str(tunnel.outside),
                    ifname=f"vpn{index}",
                    inside=tunnel.aws_inside,
                    vtep=aws_vtep,
                ),
                psk=psks.get(tunnel.id, SecretStr("")),
                ike_version=tunnel.ike_version,
                ike_proposals=tunnel.ike_proposals,
                esp_proposals=tunnel.esp_proposals,
                ike_lifetime_seconds=tunnel.ike_lifetime_seconds,
                esp_lifetime_seconds=tunnel.esp_lifetime_seconds,
                dpd_seconds=tunnel.dpd_seconds,
            )
        )
    return result


def bgp_config(tunnels: list[CloudTunnel], announce: list[str]) -> list[str]:
    """vtysh lines for the stand-in's bgpd: Amazon's ASN, a neighbour per tunnel, and the
    cloud prefixes announced (AWS sends the VPC CIDRs the Transit Gateway propagates)."""
    if not tunnels:
        return []
    asn = tunnels[0].amazon_asn
    lines = [
        "configure terminal",
        *(f"ip route {prefix} blackhole" for prefix in announce),
        f"router bgp {asn}",
        f"bgp router-id {tunnels[0].aws_inside.ip}",
        "no bgp ebgp-requires-policy",
        "no bgp network import-check",
    ]
    for tunnel in tunnels:
        lines += [
            f"neighbor {tunnel.store_inside.ip} remote-as {tunnel.store_asn}",
            # AWS's timers: keepalive 10 s, hold 30 s.
            f"neighbor {tunnel.store_inside.ip} timers 10 30",
        ]
    lines.append("address-family ipv4 unicast")
    lines += [f"network {prefix}" for prefix in announce]
    lines += ["exit-address-family", "end"]
    return lines
