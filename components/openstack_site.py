"""`OpenStackSite`: one OpenStack cloud of the hybrid cloud, a child of `HybridCloud`.

A project with workloads and desktops networks behind one router, security groups, staff access
per role, and a VPNaaS service whose site connections `HybridCloud` adds (HQ hubs, AWS regions).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_openstack as openstack

from storestack.components.cloud_args import HybridCloudArgs, OpenStackSiteArgs
from storestack.components.common import component_tags, openstack_tags, pre_shared_key
from storestack.components.network import tcp_ingress_rules

COMPONENT = "hybrid-cloud"

# IKEv2 proposals shared by every VPN the foundation builds, so both ends agree by construction.
IKE_ENCRYPTION = "aes-256"
IKE_INTEGRITY = "sha256"
IKE_PFS_GROUP = "group14"


@dataclass(frozen=True)
class OpenStackSiteOutputs:
    name: str
    region: str
    provider: openstack.Provider
    project_id: pulumi.Output[str]
    workloads_network_id: pulumi.Output[str]
    desktops_network_id: pulumi.Output[str]
    desktops_subnet_id: pulumi.Output[str]


class OpenStackSite(pulumi.ComponentResource):
    """A project, its networks and router, security groups, staff access and a VPN service."""

    outputs: OpenStackSiteOutputs
    router_address: pulumi.Output[str]

    def __init__(
        self, site: OpenStackSiteArgs, cloud: HybridCloudArgs, opts: pulumi.ResourceOptions
    ) -> None:
        super().__init__("storestack:cloud:OpenStackSite", site.name, None, opts)
        self._site = site
        self._cloud = cloud
        self._tags = component_tags(cloud.tags, COMPONENT)
        self._moved = [pulumi.Alias(parent=opts.parent)]
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
            description=f"storestack {cloud.fleet} workloads and desktops",
            tags=tags,
            opts=on_site,
        )
        self._project = project
        networks: dict[str, openstack.networking.Network] = {}
        subnets: dict[str, openstack.networking.Subnet] = {}
        for kind, cidr in (("workloads", site.workloads_cidr), ("desktops", site.desktops_cidr)):
            networks[kind] = openstack.networking.Network(
                f"{s}-{kind}",
                name=f"{cloud.fleet}-{kind}",
                tenant_id=project.id,
                admin_state_up=True,
                port_security_enabled=True,
                tags=tags,
                opts=on_site,
            )
            subnets[kind] = openstack.networking.Subnet(
                f"{s}-{kind}",
                name=f"{cloud.fleet}-{kind}",
                network_id=networks[kind].id,
                tenant_id=project.id,
                cidr=str(cidr),
                ip_version=4,
                enable_dhcp=True,
                dns_nameservers=[str(ns) for ns in site.dns_nameservers],
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
        for kind, subnet in subnets.items():
            openstack.networking.RouterInterface(
                f"{s}-router-{kind}", router_id=router.id, subnet_id=subnet.id, opts=on_site
            )
        self._security_groups(project)
        self._access(project)
        self.router_address = router.external_fixed_ips.apply(_first_fixed_ip)
        self._vpn_service(router, subnets)
        self.psks: dict[str, pulumi.Output[str]] = {}
        self.outputs = OpenStackSiteOutputs(
            name=s,
            region=site.region,
            provider=self.provider,
            project_id=project.id,
            workloads_network_id=networks["workloads"].id,
            desktops_network_id=networks["desktops"].id,
            desktops_subnet_id=subnets["desktops"].id,
        )
        self.register_outputs({"project_id": project.id})

    @property
    def local_cidrs(self) -> list[ipaddress.IPv4Network]:
        return [self._site.workloads_cidr, self._site.desktops_cidr]

    def _security_groups(self, project: openstack.identity.Project) -> None:
        s = self._site.name
        cloud = self._cloud
        group = openstack.networking.SecGroup(
            f"{s}-workloads-sg",
            name=f"{cloud.fleet}-workloads",
            description="storestack workloads: HTTPS from stores, HQ and desktops; admin from HQ only",
            tenant_id=project.id,
            delete_default_rules=False,
            tags=openstack_tags(self._tags),
            opts=self._on_site,
        )
        https_sources = sorted(
            {cloud.store_supernet, self._site.desktops_cidr, *cloud.hq_prefixes}
            | {r.desktops_cidr for r in cloud.aws_regions}
        )
        rules: list[tuple[str, int, ipaddress.IPv4Network]] = [("https", 443, src) for src in https_sources]
        rules += [("ssh", 22, src) for src in sorted(set(cloud.admin_ranges))]
        tcp_ingress_rules(f"{s}-workloads", security_group_id=group.id, rules=rules, opts=self._on_site, tenant_id=project.id)

    def _access(self, project: openstack.identity.Project) -> None:
        invoke_opts = pulumi.InvokeOutputOptions(provider=self.provider)
        role_ids: dict[str, pulumi.Output[str]] = {}
        for role in self._cloud.staff_roles:
            if role.openstack_role not in role_ids:
                role_ids[role.openstack_role] = openstack.identity.get_role_output(
                    name=role.openstack_role, opts=invoke_opts
                ).id
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
                role_id=role_ids[role.openstack_role],
                opts=self._on_site,
            )

    def _vpn_service(
        self, router: openstack.networking.Router, subnets: dict[str, openstack.networking.Subnet]
    ) -> None:
        s = self._site.name
        fleet = self._cloud.fleet
        project = self._project
        self._ike = openstack.vpnaas.IkePolicy(
            f"{s}-ike",
            name=f"{fleet}-ikev2",
            ike_version="v2",
            auth_algorithm=IKE_INTEGRITY,
            encryption_algorithm=IKE_ENCRYPTION,
            pfs=IKE_PFS_GROUP,
            phase1_negotiation_mode="main",
            tenant_id=project.id,
            opts=self._on_site,
        )
        self._ipsec = openstack.vpnaas.IpSecPolicy(
            f"{s}-ipsec",
            name=f"{fleet}-esp",
            transform_protocol="esp",
            encapsulation_mode="tunnel",
            auth_algorithm=IKE_INTEGRITY,
            encryption_algorithm=IKE_ENCRYPTION,
            pfs=IKE_PFS_GROUP,
            tenant_id=project.id,
            opts=self._on_site,
        )
        self._service = openstack.vpnaas.Service(
            f"{s}-vpn", name=f"{fleet}-vpn", router_id=router.id, tenant_id=project.id, opts=self._on_site
        )
        self._local = openstack.vpnaas.EndpointGroup(
            f"{s}-vpn-local",
            name=f"{fleet}-local",
            type="subnet",
            endpoints=[subnet.id for subnet in subnets.values()],
            tenant_id=project.id,
            opts=self._on_site,
        )

    def connect(
        self,
        peer: str,
        address: pulumi.Input[str],
        cidrs: list[ipaddress.IPv4Network],
        psk: pulumi.Output[str] | None = None,
    ) -> pulumi.Output[str]:
        """A site connection from the local subnets to `cidrs` behind `address`; returns its PSK."""
        s = self._site.name
        fleet = self._cloud.fleet
        project = self._project
        peer_group = openstack.vpnaas.EndpointGroup(
            f"{s}-vpn-peer-{peer}",
            name=f"{fleet}-{peer}",
            type="cidr",
            endpoints=[str(c) for c in cidrs],
            tenant_id=project.id,
            opts=self._on_site,
        )
        if psk is None:
            psk = pre_shared_key(f"{s}-vpn-{peer}-psk", self, aliases=self._moved)
        openstack.vpnaas.SiteConnection(
            f"{s}-vpn-{peer}",
            name=f"{fleet}-{peer}",
            vpnservice_id=self._service.id,
            ikepolicy_id=self._ike.id,
            ipsecpolicy_id=self._ipsec.id,
            local_ep_group_id=self._local.id,
            peer_ep_group_id=peer_group.id,
            peer_address=address,
            peer_id=address,
            psk=psk,
            initiator="bi-directional",
            dpds=[{"action": "restart", "interval": 10, "timeout": 40}],
            tenant_id=project.id,
            opts=self._on_site,
        )
        return psk


def _first_fixed_ip(fixed_ips: Any) -> str:
    if not fixed_ips:
        return ""
    first = fixed_ips[0]
    return str(first["ip_address"] if isinstance(first, dict) else first.ip_address)
