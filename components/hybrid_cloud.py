"""`HybridCloud`: the chain's shared foundation in AWS and OpenStack, one per fleet.

The account-wide parts (the staff data bucket, staff roles, the flow-log role) live here; each AWS
region is an `AwsRegion` child and each OpenStack cloud an `OpenStackSite` child. This component
wires them together: VPNs from every region and site to the HQ hubs, and between regions and sites.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from storestack.components.aws_region import ROUTE_TABLE_KINDS, AwsRegion, TransitGatewayOutputs
from storestack.components.cloud_args import (
    AwsRegionArgs,
    HqHubArgs,
    HybridCloudArgs,
    OpenStackSiteArgs,
    StaffRoleAccessArgs,
)
from storestack.components.common import TunnelKeys, component_tags
from storestack.components.openstack_site import OpenStackSite, OpenStackSiteOutputs
from storestack.network.cloud import store_aws_inside

COMPONENT = "hybrid-cloud"

__all__ = [
    "ROUTE_TABLE_KINDS",
    "AwsRegionArgs",
    "HqHubArgs",
    "HybridCloud",
    "HybridCloudArgs",
    "OpenStackSiteArgs",
    "OpenStackSiteOutputs",
    "StaffRoleAccessArgs",
    "TransitGatewayOutputs",
    "staff_role_policy",
]


class HybridCloud(pulumi.ComponentResource):
    """AWS regions joined by Transit Gateways, OpenStack sites, VPNs to HQ hubs, access per staff role."""

    transit: dict[str, TransitGatewayOutputs]
    openstack_sites: dict[str, OpenStackSiteOutputs]
    staff_role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: HybridCloudArgs, opts: pulumi.ResourceOptions | None = None, *, keys: TunnelKeys
    ) -> None:
        super().__init__("storestack:cloud:HybridCloud", name, None, opts)
        self._args = args
        self._tags = component_tags(args.tags, COMPONENT)
        self._child = pulumi.ResourceOptions(parent=self)
        hub_tunnels: dict[str, Any] = {}
        hub_psks: dict[str, Any] = {}
        openstack_psks: dict[str, Any] = {}

        self.data_bucket = self._data_bucket(args.data_region)
        self.staff_role_arns = self._staff_roles(self.data_bucket)
        flow_log_role = self._flow_log_role()
        regions = {
            region.region: AwsRegion(region, args, flow_log_role.arn, self._child, keys=keys)
            for region in args.aws_regions
        }
        for region in regions.values():
            hub_tunnels.update(region.hub_tunnels)
            hub_psks.update(region.hub_psks)
        for first, second in itertools.combinations(regions.values(), 2):
            first.peer(second)
        self.transit = {key: region.transit for key, region in regions.items()}
        sites = {
            site.name: OpenStackSite(site, args, index, self._child, keys=keys)
            for index, site in enumerate(args.openstack_sites)
        }
        openstack_hub_tunnels: dict[str, Any] = {}
        for site_args in args.openstack_sites:
            site = sites[site_args.name]
            s = site_args.name
            for hub in args.hubs:
                key = f"{s}/{hub.name}"
                openstack_hub_tunnels[key], openstack_psks[key] = site.add_hub(hub)
            for region_args in args.aws_regions:
                r = region_args.region
                # AWS starts IKE towards the gateway's address only once it is bound to the gateway.
                vpn, psks = regions[r].openstack_vpn(
                    s,
                    site_args.bgp_asn,
                    site.gateway_address,
                    depends_on=[site.gateway_association],
                    # Pinned per site and region (IPAM), clear of the gateway's other tunnels.
                    inside_cidrs=[store_aws_inside(site_args.aws_inside[r], n) for n in (1, 2)],
                )
                site.add_aws_tunnels(r, vpn, psks, [region_args.workloads_cidr, region_args.desktops_cidr])
                openstack_psks[f"{s}/{r}"] = pulumi.Output.secret(list(psks))
            site.finish()
        self.openstack_sites = {key: site.outputs for key, site in sites.items()}

        self.regions = pulumi.Output.from_input(
            {
                key: {
                    "transit_gateway_id": t.transit_gateway_id,
                    "amazon_side_asn": t.amazon_side_asn,
                    "route_table_ids": t.route_table_ids,
                    "workloads_vpc_id": t.workloads_vpc_id,
                    "desktops_vpc_id": t.desktops_vpc_id,
                    "workloads_subnet_ids": t.workloads_subnet_ids,
                    "desktops_subnet_ids": t.desktops_subnet_ids,
                    "desktops_security_group_id": t.desktops_security_group_id,
                }
                for key, t in self.transit.items()
            }
        )
        self.hub_vpn_tunnels = pulumi.Output.from_input(hub_tunnels)
        self.hub_vpn_psks = pulumi.Output.secret(hub_psks)
        self.openstack = pulumi.Output.from_input(
            {
                key: {
                    "project_id": s.project_id,
                    "workloads_network_id": s.workloads_network_id,
                    "desktops_project_id": s.desktops_project_id,
                    "desktops_network_id": s.desktops_network_id,
                }
                for key, s in self.openstack_sites.items()
            }
        )
        self.openstack_vpn_psks = pulumi.Output.secret(openstack_psks)
        self.openstack_hub_tunnels = pulumi.Output.from_input(openstack_hub_tunnels)
        self.register_outputs(
            {
                "regions": self.regions,
                "hub_vpn_tunnels": self.hub_vpn_tunnels,
                "hub_vpn_psks": self.hub_vpn_psks,
                "openstack": self.openstack,
                "openstack_vpn_psks": self.openstack_vpn_psks,
                "openstack_hub_tunnels": self.openstack_hub_tunnels,
                "staff_role_arns": self.staff_role_arns,
                "data_bucket": self.data_bucket.bucket,
            }
        )

    # --- access split by staff role -------------------------------------------------------

    def _data_bucket(self, region: str) -> aws.s3.Bucket:
        bucket = aws.s3.Bucket(
            "data",
            bucket=self._args.data_bucket_name,
            region=region,
            tags=self._tags,
            opts=self._child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "data-encryption",
            bucket=bucket.id,
            region=region,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}],
            opts=self._child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            "data-public-access",
            bucket=bucket.id,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child,
        )
        # S3 answers plain HTTP too unless the bucket policy denies requests without TLS (AWS
        # Knowledge Center "s3-bucket-ssl-requests-only"). After the public access block: S3
        # refuses a bucket's second configuration call while one is in flight (OperationAborted).
        aws.s3.BucketPolicy(
            "data-tls-only",
            bucket=bucket.id,
            region=region,
            policy=bucket.arn.apply(_tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        versioning = aws.s3.BucketVersioning(
            "data-versioning",
            bucket=bucket.id,
            region=region,
            versioning_configuration={"status": "Enabled"},
            opts=self._child,
        )
        # Noncurrent versions expire after `data_noncurrent_version_days`, not never: every
        # overwrite and delete keeps a whole copy. One rule for the whole bucket, with an empty
        # `filter` (the provider's "Specifying an empty filter"; the rule-level `prefix` is
        # deprecated by S3 and drifts), and one lifecycle configuration per bucket (two undo each
        # other). After versioning: S3 refuses a bucket's second configuration call while one is
        # in flight (OperationAborted).
        aws.s3.BucketLifecycleConfiguration(
            "data-lifecycle",
            bucket=bucket.id,
            region=region,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": self._args.data_noncurrent_version_days},
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        return bucket

    def _staff_roles(self, bucket: aws.s3.Bucket) -> dict[str, pulumi.Output[str]]:
        arns: dict[str, pulumi.Output[str]] = {}
        for role in self._args.staff_roles:
            trust = staff_role_trust(self._args.aws_account_id, self._args.staff_entry_roles, role)
            iam_role = aws.iam.Role(
                f"role-{role.name}",
                name=f"{self._args.fleet}-{role.name}",
                description=role.description or f"storestack staff role {role.name}",
                assume_role_policy=json.dumps(trust, sort_keys=True),
                max_session_duration=3600 * 8,
                tags=component_tags(self._args.tags, COMPONENT, role=role.name),
                opts=self._child,
            )
            aws.iam.RolePolicy(
                f"role-{role.name}-data",
                role=iam_role.id,
                policy=bucket.arn.apply(lambda arn, r=role: staff_role_policy(arn, r)),
                opts=self._child,
            )
            arns[role.name] = iam_role.arn
        return arns

    # --- AWS regions ------------------------------------------------------------------------

    def _flow_log_role(self) -> aws.iam.Role:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    # Confused-deputy guard: only flow logs of this account may assume the role.
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": self._args.aws_account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:*:{self._args.aws_account_id}:vpc-flow-log/*"},
                    },
                }
            ],
        }
        role = aws.iam.Role(
            "flow-logs",
            name=f"{self._args.fleet}-flow-logs",
            assume_role_policy=json.dumps(trust, sort_keys=True),
            tags=self._tags,
            opts=self._child,
        )
        # The least a flow-log role holds (VPC guide, "IAM role for publishing flow logs to
        # CloudWatch Logs"; the Transit Gateway guide names the same), writes held to the fleet's
        # own log groups. CreateLogGroup is left out: this stack creates its groups. DescribeLogGroups
        # is authorised against the whole log-group space, not a group's name (CloudWatch Logs
        # guide, "Logs sent to CloudWatch Logs": give it `log-group:*`); it lists names, no events.
        account = self._args.aws_account_id
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WriteFleetFlowLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": f"arn:aws:logs:*:{account}:log-group:/storestack/*",
                },
                {
                    "Sid": "FindLogGroups",
                    "Effect": "Allow",
                    "Action": "logs:DescribeLogGroups",
                    "Resource": f"arn:aws:logs:*:{account}:log-group:*",
                },
            ],
        }
        aws.iam.RolePolicy("flow-logs", role=role.id, policy=json.dumps(policy, sort_keys=True), opts=self._child)
        return role


def _tls_only_policy(bucket_arn: str) -> str:
    """The data bucket's policy: no request without TLS, from anyone."""
    statement = {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


# Session tags a staff user passes on AssumeRole: the values of the same tags on the user's own
# identity (from the user's directory entry), which the role's trust policy compares them with.
STORE_TAG = "storestack:store"
REGION_TAG = "storestack:region"
# The identity provider's claim that this sign-in used MFA, a principal tag of the federated
# session ("true"). AWS cannot tell whether an external provider required MFA: sessions from
# AssumeRoleWithSAML / AssumeRoleWithWebIdentity, and the role sessions chained from them, carry no
# `aws:MultiFactorAuthPresent` (IAM User Guide, "Configuring MFA-protected API access"; the key
# exists only for temporary credentials that support MFA, "AWS global condition context keys").
# `Bool` on it refused every staff member; `BoolIfExists` would admit every one, MFA or not, and
# long-term access keys too. The provider sets the claim only when it did require MFA (README,
# "Identity").
MFA_TAG = "storestack:mfa"
# Who may ask: an assumed-role session only (`aws:PrincipalType`, "AWS global condition context
# keys"), as a federated staff member's is. The trust names the whole account, and an IAM user's
# principal tags are its own IAM tags, which whoever holds `iam:TagUser` on it sets ("Controlling
# access to and for IAM users and roles using tags"): without this, a user tagged with the staff
# tags by itself came in on long-term keys, past the identity provider and its MFA.
STAFF_CALLER_TYPE = "AssumedRole"
# Which role sessions: those of the roles the identity provider signs staff into
# (`HybridCloudArgs.staff_entry_roles`). A role session's principal tags are its role's tags and
# its session tags ("Passing session tags in AWS STS"), so any role in the account someone may tag
# (`iam:TagRole`) or assume with tags of their choice (`sts:TagSession`) would otherwise carry the
# staff tags in. `aws:PrincipalArn` is the role's ARN for a role session, not the session's ("AWS
# global condition context keys"), and ArnLike takes the `*` of an IAM Identity Center role's suffix.
_SCOPE_KEYS = {
    "own": f"${{aws:PrincipalTag/{REGION_TAG}}}/${{aws:PrincipalTag/{STORE_TAG}}}/",
    "region": f"${{aws:PrincipalTag/{REGION_TAG}}}/",
    "all": "",
}


def staff_role_trust(account_id: str, entry_roles: Sequence[str], role: StaffRoleAccessArgs) -> dict[str, Any]:
    """Who may assume a staff role: sessions of the identity provider's sign-in roles in the account
    (`STAFF_CALLER_TYPE`, `entry_roles`) tagged with the role whose identity provider vouches for
    MFA (`MFA_TAG`), carrying the store and region session tags the role's scope needs, each with
    the value of the caller's own tag of that key."""
    required = {"own": [STORE_TAG, REGION_TAG], "region": [REGION_TAG], "all": []}[role.stores]
    condition: dict[str, Any] = {
        "StringEquals": {
            "aws:PrincipalType": STAFF_CALLER_TYPE,
            f"aws:PrincipalTag/{MFA_TAG}": "true",
            "aws:PrincipalTag/storestack:role": role.name,
        },
        "ArnLike": {"aws:PrincipalArn": [f"arn:aws:iam::{account_id}:role/{name}" for name in sorted(set(entry_roles))]},
    }
    if required:
        condition["Null"] = {f"aws:RequestTag/{tag}": "false" for tag in required}
        # The caller picks a session tag's value (AssumeRole `Tags`; IAM "Pass session tags in AWS
        # STS": `aws:RequestTag` is what limits the values a principal may pass): each must equal
        # the caller's own tag of that key, or a cashier of one store could name another store and
        # read its data and restart its desktops.
        condition["StringEquals"].update({f"aws:RequestTag/{tag}": f"${{aws:PrincipalTag/{tag}}}" for tag in required})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": condition,
            }
        ],
    }


def staff_role_policy(bucket_arn: str, role: StaffRoleAccessArgs) -> str:
    """The IAM policy of one staff role, scoped as the inventory says and nothing more.

    Data: read (list and get) under each of the role's prefixes, narrowed to the user's store or
    region by the session tags; write and delete only for `admin` roles. Desktops: start, stop and
    reboot only WorkSpaces tagged with the role and the user's own store (or region).
    """
    scope = _SCOPE_KEYS[role.stores]
    keys = [f"{p}/{scope}*" for p in sorted(set(role.data_prefixes))]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListPermittedData",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": keys}},
        },
        {
            "Sid": "ReadPermittedData",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{bucket_arn}/{key}" for key in keys],
        },
    ]
    if role.admin:
        # Writes and deletes leave the earlier versions in place: on the versioned bucket a
        # DeleteObject without a version id only adds a delete marker, while DeleteObjectVersion
        # removes a version for good (S3 guide, "Deleting object versions from a
        # versioning-enabled bucket"). Versions are the bucket's safety net against a mistake or
        # ransomware under a staff session, so no staff role may destroy them.
        statements.append(
            {
                "Sid": "AdministerPermittedData",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{bucket_arn}/{key}" for key in keys],
            }
        )
    desktops: dict[str, str] = {"aws:ResourceTag/storestack:role": role.name}
    if role.stores == "own":
        desktops["aws:ResourceTag/storestack:store"] = f"${{aws:PrincipalTag/{STORE_TAG}}}"
    elif role.stores == "region":
        desktops["aws:ResourceTag/storestack:region"] = f"${{aws:PrincipalTag/{REGION_TAG}}}"
    statements.append(
        {
            "Sid": "PermittedDesktops",
            "Effect": "Allow",
            "Action": ["workspaces:StartWorkspaces", "workspaces:StopWorkspaces", "workspaces:RebootWorkspaces"],
            "Resource": "*",
            "Condition": {"StringEquals": desktops},
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
