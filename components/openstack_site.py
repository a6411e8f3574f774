"""`OpenStackSite`: one OpenStack cloud of the hybrid cloud, a child of `HybridCloud`.

An infrastructure project holds the workloads network, the router and a route-based VPN gateway
(see `vpn_gateway`); a desktops project holds the desktops network, so desktop instances never
share a project with the infrastructure. Staff roles get their OpenStack role on a project of
their own, never on the infrastructure project (whose members could read the gateway's keys).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_openstack as openstack

from storestack.common.addressing import collapse
from storestack.components.cloud_args import HqHubArgs, HybridCloudArgs, OpenStackSiteArgs
from storestack.components.common import TunnelKeys, component_tags, openstack_tags
from storestack.components.network import TransitVpn, tcp_ingress_rules
from storestack.components.vpn_gateway import (
    PEER_OBJECT,
    GatewayPeer,
    GatewayReader,
    GatewaySettings,
    cloud_init,
    peer_config,
    reader_access_path,
)
from storestack.network.cloud import openstack_aws_if_id, openstack_aws_peer, openstack_hub_if_id

COMPONENT = "hybrid-cloud"
IKE_PORTS = (500, 4500)
# The role the stack's own OpenStack user takes on each project it creates and then works in (the
# infrastructure project, for the VPN gateway, and the desktops project). Keystone scopes a token to
# a project only for a user with a role on it ("a user with a role assignment on a project can get a
# token scoped to that project", Keystone "Keystone for Other Services"), and creating a project
# assigns none; `member` lets a provider scoped there create instances, volumes and groups.
DEPLOYER_ROLE = "member"


def gateway_address_name(site: str) -> str:
    """The resource name of a site's VPN gateway floating IP (the Pulumi mocks answer it with
    the network intent's planned gateway address)."""
    return f"{site}-vpn-gateway-address"


@dataclass(frozen=True)
class OpenStackSiteOutputs:
    name: str
    region: str
    provider: openstack.Provider
    desktops_provider: openstack.Provider
    project_id: pulumi.Output[str]
    desktops_project_id: pulumi.Output[str]
    workloads_network_id: pulumi.Output[str]
    desktops_network_id: pulumi.Output[str]
    desktops_subnet_id: pulumi.Output[str]


@dataclass
class _PendingPeer:
    name: str
    if_id: int  # its XFRM interface's, by its pinned slot (`network/cloud.py` `openstack_hub_if_id`)
    outside_address: pulumi.Input[str]
    psk: pulumi.Input[str]
    local_inside: pulumi.Input[str]  # address/prefix
    peer_inside: pulumi.Input[str]
    peer_asn: pulumi.Input[Any]
    accepts: tuple[ipaddress.IPv4Network, ...]


class OpenStackSite(pulumi.ComponentResource):
    """Projects, networks and router, security groups, staff access and the site's VPN gateway."""

    outputs: OpenStackSiteOutputs

    def __init__(
        self,
        site: OpenStackSiteArgs,
        cloud: HybridCloudArgs,
        index: int,
        opts: pulumi.ResourceOptions,
        *,
        keys: TunnelKeys,
    ) -> None:
        super().__init__("storestack:cloud:OpenStackSite", site.name, None, opts)
        self._site = site
        self._keys = keys
        self._cloud = cloud
        self._index = index
        self._tags = component_tags(cloud.tags, COMPONENT)
        self._moved = [pulumi.Alias(parent=opts.parent)]
        self._peers: list[_PendingPeer] = []
        s = site.name
        tags = openstack_tags(self._tags)
        self.provider = openstack.Provider(
            f"{s}-openstack",
            auth_url=site.auth_url,
            region=site.region,
            opts=pulumi.ResourceOptions(parent=self, aliases=self._moved),
        )
        on_site = pulumi.ResourceOptions(parent=self, provider=self.provider, aliases=self._moved)
        self._on_site = on_site
        project = openstack.identity.Project(
            f"{s}-project",
            name=f"{cloud.fleet}-{s}",
            description=f"storestack {cloud.fleet} infrastructure: workloads network, router, VPN gateway",
            tags=tags,
            opts=on_site,
        )
        desktops_project = openstack.identity.Project(
            f"{s}-desktops-project",
            name=f"{cloud.fleet}-{s}-desktops",
            description=f"storestack {cloud.fleet} desktops",
            tags=tags,
            opts=on_site,
        )
        self._project = project
        self._role_ids: dict[str, pulumi.Output[str]] = {}
        self._deployer = openstack.identity.get_auth_scope_output(
            name=f"{s}-deployer", opts=pulumi.InvokeOutputOptions(provider=self.provider)
        ).user_id
        # Nova boots an instance with a port only in the port's own project (PortNotUsable), so
        # the VPN gateway is booted with credentials scoped to the infrastructure project, and
        # desktop instances with credentials scoped to the desktops project.
        self._infrastructure_provider = self._scoped_provider("infrastructure", project)
        self.desktops_provider = self._scoped_provider("desktops", desktops_project)
        networks: dict[str, openstack.networking.Network] = {}
        subnets: dict[str, openstack.networking.Subnet] = {}
        owners = {"workloads": project, "desktops": desktops_project}
        for kind, cidr in (("workloads", site.workloads_cidr), ("desktops", site.desktops_cidr)):
            networks[kind] = openstack.networking.Network(
                f"{s}-{kind}",
                name=f"{cloud.fleet}-{kind}",
                tenant_id=owners[kind].id,
                admin_state_up=True,
                port_security_enabled=True,
                tags=tags,
                opts=on_site,
            )
            subnets[kind] = openstack.networking.Subnet(
                f"{s}-{kind}",
                name=f"{cloud.fleet}-{kind}",
                network_id=networks[kind].id,
                tenant_id=owners[kind].id,
                cidr=str(cidr),
                ip_version=4,
                enable_dhcp=True,
                dns_nameservers=[str(ns) for ns in site.dns_nameservers],
                # The router's address on the subnet (the VPN gateway routes the site's other
                # networks through it, see `router_address`), given rather than left to Neutron.
                gateway_ip=str(cidr[1]),
                # Addresses below .16 stay out of DHCP: the VPN gateway takes .4 (see `gateway_address`).
                allocation_pools=[{"start": str(cidr[16]), "end": str(cidr[-2])}],
                tags=tags,
                opts=on_site,
            )
        external = openstack.networking.get_network_output(
            name=site.external_network, external=True, opts=pulumi.InvokeOutputOptions(provider=self.provider)
        )
        router = openstack.networking.Router(
            f"{s}-router",
            name=f"{cloud.fleet}-edge",
            tenant_id=project.id,
            external_network_id=external.id,
            enable_snat=True,
            tags=tags,
            opts=on_site,
        )
        self._router = router
        self._interfaces = {
            kind: openstack.networking.RouterInterface(
                f"{s}-router-{kind}", router_id=router.id, subnet_id=subnet.id, opts=on_site
            )
            for kind, subnet in subnets.items()
        }
        self._security_groups(project)
        self._access()
        self._gateway_port(project, networks["workloads"], subnets["workloads"])
        self.outputs = OpenStackSiteOutputs(
            name=s,
            region=site.region,
            provider=self.provider,
            desktops_provider=self.desktops_provider,
            project_id=project.id,
            desktops_project_id=desktops_project.id,
            workloads_network_id=networks["workloads"].id,
            desktops_network_id=networks["desktops"].id,
            desktops_subnet_id=subnets["desktops"].id,
        )

    @property
    def gateway_inside_address(self) -> ipaddress.IPv4Address:
        """The gateway's address on the workloads network, below the DHCP pool."""
        return self._site.workloads_cidr[4]

    @property
    def router_address(self) -> ipaddress.IPv4Address:
        """The site router's address on the workloads subnet: how the gateway reaches the desktops."""
        return self._site.workloads_cidr[1]

    @property
    def local_cidrs(self) -> list[ipaddress.IPv4Network]:
        return [self._site.workloads_cidr, self._site.desktops_cidr]

    def _security_groups(self, project: openstack.identity.Project) -> None:
        s = self._site.name
        cloud = self._cloud
        # Out, the workloads keep the rules Neutron gives a new group: everything, IPv4 and IPv6
        # ("When a new security group is created, rules to allow all egress traffic is
        # automatically added", Neutron security groups). A decision of the chain's, unlike the AWS
        # workloads group (HTTPS to the peer services only): the internet through the router's
        # SNAT stays open; towards the stores and HQ's DC core the hubs' filters hold what a cloud
        # host may send (README, "The cloud").
        group = openstack.networking.SecGroup(
            f"{s}-workloads-sg",
            name=f"{cloud.fleet}-workloads",
            description="storestack workloads: HTTPS from stores, HQ and desktops; admin from management only",
            tenant_id=project.id,
            delete_default_rules=False,
            tags=openstack_tags(self._tags),
            opts=self._on_site,
        )
        # HQ but its DC core LAN (`hq_cut`, as the hubs forward): a group cannot deny.
        https_sources = sorted(
            {self._site.desktops_cidr, *cloud.hq_cut}
            | {r.desktops_cidr for r in cloud.aws_regions}
            | {r.workloads_cidr for r in cloud.aws_regions}
        )
        rules: list[tuple[str, int, ipaddress.IPv4Network]] = [("https", 443, src) for src in https_sources]
        rules += [("ssh", 22, src) for src in sorted(set(cloud.admin_ranges))]
        tcp_ingress_rules(f"{s}-workloads", security_group_id=group.id, rules=rules, opts=self._on_site, tenant_id=project.id)
        # Stores open exactly the network intent's flows that reach this site's workloads.
        for number, flow in enumerate(cloud.store_flows):
            if not any(self._site.workloads_cidr.overlaps(d) for d in flow.destinations):
                continue
            ports: list[int | None] = list(flow.ports) or [None]
            for port in ports:
                openstack.networking.SecGroupRule(
                    f"{s}-workloads-stores-{number}-{flow.protocol}{port or ''}",
                    security_group_id=group.id,
                    tenant_id=project.id,
                    direction="ingress",
                    ethertype="IPv4",
                    protocol=None if flow.protocol == "ip" else flow.protocol,
                    port_range_min=port,
                    port_range_max=port,
                    remote_ip_prefix=str(cloud.store_supernet),
                    description=f"stores, network intent: {flow.why}"[:255],
                    opts=self._on_site,
                )

    def _access(self) -> None:
        """Each staff role's group gets its OpenStack role on a project of its own."""
        for role in self._cloud.staff_roles:
            project = openstack.identity.Project(
                f"{self._site.name}-project-{role.name}",
                name=f"{self._cloud.fleet}-{self._site.name}-{role.name}",
                description=f"storestack staff role {role.name}: its own resources only",
                tags=openstack_tags(self._tags),
                opts=self._on_site,
            )
            group = openstack.identity.GroupV3(
                f"{self._site.name}-group-{role.name}",
                name=f"{self._cloud.fleet}-{role.name}",
                description=f"storestack staff role {role.name}",
                opts=self._on_site,
            )
            openstack.identity.RoleAssignment(
                f"{self._site.name}-group-{role.name}-{role.openstack_role}",
                group_id=group.id,
                project_id=project.id,
                role_id=self._role_id(role.openstack_role),
                opts=self._on_site,
            )

    def _scoped_provider(self, label: str, project: openstack.identity.Project) -> openstack.Provider:
        """A provider whose token is scoped to `project`, once the stack's own user holds
        `DEPLOYER_ROLE` there (the infrastructure project's provider is `<site>-openstack-<label>`,
        as the desktops one always was)."""
        s = self._site.name
        assignment = openstack.identity.RoleAssignment(
            f"{s}-deployer-{DEPLOYER_ROLE}-{label}",
            user_id=self._deployer,
            project_id=project.id,
            role_id=self._role_id(DEPLOYER_ROLE),
            opts=self._on_site,
        )
        return openstack.Provider(
            f"{s}-openstack-{label}",
            auth_url=self._site.auth_url,
            region=self._site.region,
            tenant_id=project.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[assignment]),
        )

    def _role_id(self, name: str) -> pulumi.Output[str]:
        """The id of the Keystone role `name`, looked up once per site."""
        if name not in self._role_ids:
            self._role_ids[name] = openstack.identity.get_role_output(
                name=name, opts=pulumi.InvokeOutputOptions(provider=self.provider)
            ).id
        return self._role_ids[name]

    # --- the route-based VPN gateway --------------------------------------------------------------

    def remote_ranges(self) -> list[ipaddress.IPv4Network]:
        """What the site reaches through its gateway: AWS VPCs, HQ and the stores (through the hubs)."""
        cloud = self._cloud
        ranges = [cloud.store_supernet, *cloud.hq_prefixes]
        for region in cloud.aws_regions:
            ranges += [region.workloads_cidr, region.desktops_cidr]
        return list(collapse(ranges))

    def _gateway_port(
        self,
        project: openstack.identity.Project,
        network: openstack.networking.Network,
        subnet: openstack.networking.Subnet,
    ) -> None:
        s = self._site.name
        fleet = self._cloud.fleet
        # Out, everything (Neutron's rules of a new group, kept): IKE and ESP to the hubs and AWS,
        # what it forwards into the site, its packages at first boot.
        self._gateway_sg = openstack.networking.SecGroup(
            f"{s}-vpn-gateway-sg",
            name=f"{fleet}-vpn-gateway",
            description="storestack VPN gateway: IKE/ESP from its peers, traffic to forward from the site",
            tenant_id=project.id,
            delete_default_rules=False,
            tags=openstack_tags(self._tags),
            opts=self._on_site,
        )
        for cidr in self.local_cidrs:
            openstack.networking.SecGroupRule(
                f"{s}-vpn-gateway-from-{str(cidr).replace('.', '-').replace('/', '-')}",
                security_group_id=self._gateway_sg.id,
                tenant_id=project.id,
                direction="ingress",
                ethertype="IPv4",
                remote_ip_prefix=str(cidr),
                description=f"site traffic to forward, from {cidr}",
                opts=self._on_site,
            )
        self._gateway_port_resource = openstack.networking.Port(
            f"{s}-vpn-gateway",
            name=f"{fleet}-vpn-gateway",
            network_id=network.id,
            tenant_id=project.id,
            fixed_ips=[{"subnet_id": subnet.id, "ip_address": str(self.gateway_inside_address)}],
            security_group_ids=[self._gateway_sg.id],
            # It forwards packets from the remote ranges into the site, so it may use their sources.
            allowed_address_pairs=[{"ip_address": str(n)} for n in self.remote_ranges()],
            tags=openstack_tags(self._tags),
            opts=self._on_site,
        )
        address = openstack.networking.FloatingIp(
            gateway_address_name(s),
            pool=self._site.external_network,
            tenant_id=project.id,
            description="storestack VPN gateway: the customer-gateway address AWS and the hubs dial",
            tags=openstack_tags(self._tags),
            opts=self._on_site,
        )
        # The floating IP can only be bound once the subnet sits on the router with the external gateway.
        self.gateway_association = openstack.networking.FloatingIpAssociate(
            gateway_address_name(s),
            floating_ip=address.address,
            port_id=self._gateway_port_resource.id,
            opts=pulumi.ResourceOptions.merge(
                self._on_site, pulumi.ResourceOptions(depends_on=[self._interfaces["workloads"]])
            ),
        )
        self.gateway_address: pulumi.Output[str] = address.address

    def _allow_peer(self, name: str, address: pulumi.Input[str]) -> None:
        """IKE (UDP 500/4500) and ESP from one peer's outside address only."""
        source = pulumi.Output.from_input(address).apply(lambda a: f"{a}/32")
        for protocol, port in (("udp", IKE_PORTS[0]), ("udp", IKE_PORTS[1]), ("esp", None)):
            openstack.networking.SecGroupRule(
                f"{self._site.name}-vpn-gateway-{name}-{protocol}{port or ''}",
                security_group_id=self._gateway_sg.id,
                tenant_id=self._project.id,
                direction="ingress",
                ethertype="IPv4",
                protocol=protocol,
                port_range_min=port,
                port_range_max=port,
                remote_ip_prefix=source,
                description=f"IKE/ESP from {name}",
                opts=self._on_site,
            )

    def add_aws_tunnels(
        self, region: str, vpn: TransitVpn, psks: Sequence[pulumi.Output[str]], accepts: Sequence[ipaddress.IPv4Network]
    ) -> None:
        """Both tunnels of one AWS VPN connection, each with its own key and BGP session, named
        after the connection's pinned /29 (`openstack_aws_peer`)."""
        block = self._site.aws_inside[region]
        peer = openstack_aws_peer(self._site.slot, block)
        for number in (1, 2):
            tunnel = vpn.tunnel(number)
            name = f"{peer}t{number}"
            prefix = tunnel["inside_cidr"].apply(lambda cidr: str(cidr).rsplit("/", 1)[1])
            self._peers.append(
                _PendingPeer(
                    name=name,
                    if_id=openstack_aws_if_id(block, number),
                    outside_address=tunnel["outside_address"],
                    psk=psks[number - 1],
                    local_inside=pulumi.Output.concat(tunnel["local_inside_address"], "/", prefix),
                    peer_inside=tunnel["peer_inside_address"],
                    peer_asn=tunnel["peer_asn"],
                    accepts=tuple(accepts),
                )
            )
            self._allow_peer(f"{name}-{region}", tunnel["outside_address"])

    def add_hub(self, hub: HqHubArgs) -> tuple[pulumi.Output[dict[str, Any]], pulumi.Output[str]]:
        """A route-based tunnel to an HQ hub: (what the hub's config needs, its pre-shared key).

        Its id, inside /30 and key are the network intent's (`hub.cloud_tunnels`): the hub's
        config is rendered from the same values."""
        planned = hub.cloud_tunnel("openstack", self._site.name)
        network = planned.inside_cidr
        hub_inside, gateway_inside = network[1], ipaddress.IPv4Interface((network[2], network.prefixlen))
        psk = self._keys.psk(planned.tunnel_id)
        # Named by the hub's slot (what its place in the fleet gave before IPAM pinned it): a hub
        # removed renames no other hub's security group rules (a renamed resource is replaced).
        name = f"hub{hub.slot + 1}"
        self._peers.append(
            _PendingPeer(
                name=name,
                if_id=openstack_hub_if_id(hub.slot),
                outside_address=str(hub.public_address),
                psk=psk,
                local_inside=str(gateway_inside),
                peer_inside=str(hub_inside),
                peer_asn=hub.bgp_asn,
                accepts=collapse([*hub.prefixes, self._cloud.store_supernet]),
            )
        )
        self._allow_peer(name, str(hub.public_address))
        description = pulumi.Output.from_input(
            {
                "site": self._site.name,
                "hub": hub.name,
                "peer_outside_address": self.gateway_address,
                "tunnel_id": planned.tunnel_id,
                "inside_cidr": str(network),
                "hub_inside_address": str(hub_inside),
                "peer_inside_address": str(gateway_inside.ip),
                "peer_asn": self._site.bgp_asn,
                "announces": [str(n) for n in self.local_cidrs],
            }
        )
        return description, psk

    def finish(self) -> None:
        """Write the peer config of every tunnel added, create the gateway instance that reads it,
        and route the remote ranges to it."""
        site = self._site
        s = site.name
        # By interface, not by the order the hubs and regions were given: a reorder changes no line
        # of the peer config.
        peers = sorted(self._peers, key=lambda peer: peer.if_id)

        def settings_of(public: str) -> GatewaySettings:
            return GatewaySettings(
                asn=site.bgp_asn,
                public_address=ipaddress.IPv4Address(public),
                announces=tuple(self.local_cidrs),
                routed=((site.desktops_cidr, self.router_address),),
            )

        def render(values: list[Any]) -> str:
            public, *rest = values
            built = []
            for n, peer in enumerate(peers):
                outside, psk, local, remote, asn = rest[5 * n : 5 * n + 5]
                built.append(
                    GatewayPeer(
                        name=peer.name,
                        if_id=peer.if_id,
                        outside_address=ipaddress.IPv4Address(outside),
                        psk=str(psk),
                        local_inside=ipaddress.IPv4Interface(local),
                        peer_inside=ipaddress.IPv4Address(remote),
                        peer_asn=int(asn),
                        accepts=peer.accepts,
                    )
                )
            return peer_config(settings_of(public), built)

        inputs: list[Any] = [self.gateway_address]
        for peer in peers:
            inputs += [peer.outside_address, peer.psk, peer.local_inside, peer.peer_inside, peer.peer_asn]
        rendered: pulumi.Output[str] = pulumi.Output.all(*inputs).apply(render)
        content: pulumi.Output[str] = pulumi.Output.secret(rendered)
        # In the infrastructure project's own Swift account (its provider is scoped there), which
        # only that project's members reach: no read ACL, so no one else.
        in_project = pulumi.ResourceOptions(parent=self, provider=self._infrastructure_provider, aliases=self._moved)
        container_name = f"{self._cloud.fleet}-{s}-vpn-gateway"
        container = openstack.objectstorage.Container(f"{s}-vpn-gateway-config", name=container_name, opts=in_project)
        # Its content is written in place (a PUT over the object): the instance stays.
        peer_object = openstack.objectstorage.ContainerObject(
            f"{s}-vpn-gateway-peers",
            container_name=container.name,
            name=PEER_OBJECT,
            content=content,
            content_type="application/json",
            opts=in_project,
        )
        # What the gateway reads the object with: a GET of that one object and nothing else, with
        # the deployer's member role on the infrastructure project (Keystone access rules).
        reader = openstack.identity.ApplicationCredential(
            f"{s}-vpn-gateway-reader",
            name=f"{self._cloud.fleet}-{s}-vpn-gateway",
            description="storestack VPN gateway: reads its peer config, nothing else",
            roles=[DEPLOYER_ROLE],
            access_rules=[
                {"service": "object-store", "method": "GET", "path": reader_access_path(container_name)}
            ],
            opts=in_project,
        )

        def user_data_of(values: list[Any]) -> str:
            public, credential_id, credential_secret = values
            return cloud_init(
                settings_of(public),
                GatewayReader(
                    auth_url=str(site.auth_url),
                    region=site.region,
                    credential_id=str(credential_id),
                    credential_secret=str(credential_secret),
                    container=container_name,
                ),
            )

        user_data: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(self.gateway_address, reader.id, reader.secret).apply(user_data_of)
        )
        openstack.compute.Instance(
            f"{s}-vpn-gateway",
            name=f"{self._cloud.fleet}-{s}-vpn-gateway",
            image_name=site.gateway_image,
            flavor_name=site.gateway_flavor,
            networks=[{"port": self._gateway_port_resource.id}],
            user_data=user_data,
            metadata={"storestack:role": "vpn-gateway"},
            tags=openstack_tags(self._tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self._infrastructure_provider,
                aliases=self._moved,
                depends_on=[self.gateway_association, peer_object],
                # A cloud refreshes a named image under a new id; the provider then reads the name
                # back as the old image's (renamed, or "Image not found" once deleted), which would
                # replace the gateway and drop every tunnel (hashicorp/terraform#28965). A new image
                # is taken on purpose with `pulumi up --replace`. New keys or peers change the peer
                # config object only.
                ignore_changes=["image_name", "image_id"],
            ),
        )
        for network in self.remote_ranges():
            openstack.networking.RouterRoute(
                f"{s}-route-{str(network).replace('.', '-').replace('/', '-')}",
                router_id=self._router.id,
                destination_cidr=str(network),
                next_hop=str(self.gateway_inside_address),
                opts=pulumi.ResourceOptions.merge(
                    self._on_site, pulumi.ResourceOptions(depends_on=list(self._interfaces.values()))
                ),
            )
        self.register_outputs({"project_id": self._project.id, "gateway_address": self.gateway_address})
