"""HybridCloud under the mock runtime: what it registers, and the properties that keep the chain safe."""

from __future__ import annotations

import fnmatch
import ipaddress
import itertools
import json
import re
from typing import Any

import pytest
from component_harness import (
    DESKTOP_FLOWS,
    FLEET_TAGS,
    TEST_KEYS,
    Scenario,
    gateway_peer_files,
    hybrid_cloud_args,
    run_scenario,
    secret_value,
    store_args,
)
from pydantic import ValidationError

from storestack.components import HybridCloud, StoreSite, TransitGatewayRef
from storestack.components.aws_region import PROPAGATES_INTO
from storestack.components.cloud_args import WORKSPACES_ZONE_IDS, HubCloudTunnelArgs
from storestack.components.hybrid_cloud import AwsRegionArgs, HybridCloudArgs
from storestack.network.cloud import OPENSTACK_AWS_SITES, aws_inside_usable
from storestack.network.crypto import FLEET_CRYPTO
from storestack.stacks.contract import check_contract
from storestack.stacks.mocks import MockRun, StorestackMocks, is_secret
from storestack.stacks.resource_types import is_taggable

PROPAGATION = "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
ASSOCIATION = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
VPN = "aws:ec2/vpnConnection:VpnConnection"


@pytest.fixture(scope="module")
def cloud() -> Scenario:
    def build() -> dict[str, object]:
        hybrid = HybridCloud("acme", hybrid_cloud_args(), keys=TEST_KEYS)
        return {
            "regions": hybrid.regions,
            "hub_vpn_psks": hybrid.hub_vpn_psks,
            "staff_role_arns": hybrid.staff_role_arns,
            "openstack": hybrid.openstack,
        }

    return run_scenario(build)


def test_a_vpc_per_kind_with_private_subnets_in_two_zones(cloud: Scenario) -> None:
    vpcs = {r.inputs["cidrBlock"]: r for r in cloud.of_type("aws:ec2/vpc:Vpc")}
    assert set(vpcs) == {"10.32.0.0/20", "10.48.0.0/20"}
    subnets = cloud.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    for vpc_cidr, vpc in vpcs.items():
        own = [s for s in subnets if s.inputs["vpcId"] == vpc.resource_id]
        if vpc_cidr == "10.32.0.0/20":
            assert {s.inputs["availabilityZone"] for s in own} == {"eu-west-1a", "eu-west-1b"}
        else:
            # WorkSpaces and its directory: exactly two subnets, placed by AZ ID in zones WorkSpaces runs in.
            zone_ids = [s.inputs["availabilityZoneId"] for s in own]
            assert len(set(zone_ids)) == 2 and set(zone_ids) <= WORKSPACES_ZONE_IDS["eu-west-1"]
        for subnet in own:
            assert ipaddress.ip_network(subnet.inputs["cidrBlock"]).subnet_of(ipaddress.ip_network(vpc_cidr))
            assert subnet.inputs["mapPublicIpOnLaunch"] is False
    assert not cloud.of_type("aws:ec2/internetGateway:InternetGateway")


class _ImpairedZoneMocks(StorestackMocks):
    """An account whose `zone` is impaired: DescribeAvailabilityZones still lists it, in state
    `impaired`, so a `state = available` filter leaves it out (AvailabilityZone `State`)."""

    def __init__(self, zone: str) -> None:
        super().__init__()
        self.zone = zone

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        result, failures = super().call(args)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones" and args.args.get("state") == "available":
            keep = [n for n, zone in enumerate(result["zoneIds"]) if zone != self.zone]
            result = {**result, "zoneIds": [result["zoneIds"][n] for n in keep], "names": [result["names"][n] for n in keep]}
        return result, failures


def _desktop_zones(scenario: Scenario) -> dict[str, str]:
    return {s.name: s.inputs["availabilityZoneId"] for s in scenario.of_type("aws:ec2/subnet:Subnet") if "desktops" in s.name}


def test_an_impaired_zone_moves_no_desktops_subnet(cloud: Scenario) -> None:
    # A subnet's zone is create-only: had the impairment of a zone moved the desktops subnets to
    # others, the next `up` during it would replace them (their directory and every WorkSpace
    # with them) or stop with no second zone to pick.
    healthy = _desktop_zones(cloud)
    assert len(set(healthy.values())) == 2
    for zone in sorted(set(healthy.values())):
        impaired = run_scenario(
            lambda: {"regions": HybridCloud("acme", hybrid_cloud_args(), keys=TEST_KEYS).regions},
            mocks=_ImpairedZoneMocks(zone),
        )
        assert _desktop_zones(impaired) == healthy, f"{zone} impaired"


def test_every_vpcs_default_security_group_is_adopted_and_allows_nothing(cloud: Scenario) -> None:
    # A VPC's default group lets its members reach each other on every port and out anywhere, and
    # takes what is launched without a group (AWS Config vpc-default-security-group-closed).
    vpcs = {r.resource_id for r in cloud.of_type("aws:ec2/vpc:Vpc")}
    defaults = cloud.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert {group.inputs["vpcId"] for group in defaults} == vpcs and len(defaults) == len(vpcs)
    for group in defaults:
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group.name


def test_transit_gateway_attaches_nothing_by_default(cloud: Scenario) -> None:
    (tgw,) = cloud.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    assert tgw.inputs["defaultRouteTableAssociation"] == "disable"
    assert tgw.inputs["defaultRouteTablePropagation"] == "disable"
    tables = cloud.of_type("aws:ec2transitgateway/routeTable:RouteTable")
    assert sorted(t.inputs["tags"]["storestack:route-table"] for t in tables) == ["desktops", "hq", "stores", "workloads"]
    for attachment in cloud.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment"):
        assert attachment.inputs["transitGatewayDefaultRouteTableAssociation"] is False
        assert attachment.inputs["transitGatewayDefaultRouteTablePropagation"] is False


def test_customer_gateway_and_bgp_vpn_per_hub_with_secret_keys(cloud: Scenario) -> None:
    gateways = {r.inputs["ipAddress"]: r for r in cloud.of_type("aws:ec2/customerGateway:CustomerGateway")}
    assert gateways["198.51.100.10"].inputs["bgpAsn"] == "65001"
    assert gateways["198.51.100.11"].inputs["bgpAsn"] == "65002"
    hub_vpns = [r for r in cloud.of_type(VPN) if "-hub-" in r.name]
    assert len(hub_vpns) == 2
    for vpn in hub_vpns:
        assert vpn.inputs["staticRoutesOnly"] is False
        assert vpn.inputs["tunnel1IkeVersions"] == ["ikev2"]
        first, second = secret_value(vpn.inputs["tunnel1PresharedKey"]), secret_value(vpn.inputs["tunnel2PresharedKey"])
        assert first != second and len(first) >= 32
    psks = secret_value(cloud.monitor.component_outputs[cloud.named("acme").urn]["hub_vpn_psks"])
    assert set(psks) == {"eu-west-1/hub1", "eu-west-1/hub2"}


def test_every_aws_tunnel_keeps_the_fleets_anti_replay_window(cloud: Scenario) -> None:
    """The hubs queue ESP by class, so bulk arrives behind voice and POS: AWS's end of every VPN
    (hubs and OpenStack) keeps the fleet's window, as the hubs and the OpenStack gateway do."""
    vpns = cloud.of_type(VPN)
    assert vpns
    for vpn in vpns:
        for number in (1, 2):
            assert vpn.inputs[f"tunnel{number}ReplayWindowSize"] == FLEET_CRYPTO.replay_window_packets, vpn.name


def test_flow_logs_cover_every_vpc_and_the_transit_gateway(cloud: Scenario) -> None:
    logs = cloud.of_type("aws:ec2/flowLog:FlowLog")
    vpc_ids = {r.resource_id for r in cloud.of_type("aws:ec2/vpc:Vpc")}
    assert {r.inputs["vpcId"] for r in logs if "vpcId" in r.inputs} == vpc_ids
    (tgw_log,) = [r for r in logs if "transitGatewayId" in r.inputs]
    # AWS refuses traffic_type on transit gateway flow logs and accepts only a 60 s interval.
    assert "trafficType" not in tgw_log.inputs and tgw_log.inputs["maxAggregationInterval"] == 60
    assert all(r.inputs["trafficType"] == "ALL" for r in logs if "vpcId" in r.inputs)
    (group,) = cloud.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert all(r.inputs["logDestination"] == group.outputs["arn"] for r in logs)


def _allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    def listed(value: Any) -> list[str]:
        return value if isinstance(value, list) else [value]

    return any(
        s["Effect"] == "Allow"
        and action in listed(s["Action"])
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in listed(s["Resource"]))
        for s in statements
    )


def test_the_flow_log_role_holds_what_delivery_needs_and_writes_only_the_fleets_log_groups(cloud: Scenario) -> None:
    """The VPC and Transit Gateway guides name the least a flow-log role holds: CreateLogStream,
    PutLogEvents, DescribeLogGroups and DescribeLogStreams (with CreateLogGroup, for a group the
    service would create; this stack creates its own). DescribeLogGroups is authorised against the
    account's whole log-group space (CloudWatch Logs guide, "Logs sent to CloudWatch Logs": give it
    `log-group:*`, not a group's name), so scoped to /storestack/* it granted nothing."""
    (policy,) = [r for r in cloud.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "flow-logs"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    group = "arn:aws:logs:eu-west-1:210987654321:log-group:/storestack/acme/eu-west-1/flow-logs"
    stream = f"{group}:log-stream:eni-0a1b2c3d-all"
    assert _allows(statements, "logs:DescribeLogGroups", "arn:aws:logs:eu-west-1:210987654321:log-group::log-stream:")
    assert _allows(statements, "logs:DescribeLogStreams", f"{group}:log-stream:")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert _allows(statements, action, stream)
        # ... and only into the fleet's own groups.
        assert not _allows(statements, action, "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/lambda/payments:log-stream:x")
    assert not _allows(statements, "logs:DeleteLogGroup", group)


def test_the_staff_data_bucket_refuses_plain_http(cloud: Scenario) -> None:
    """S3 answers HTTP as well as HTTPS unless the bucket policy denies requests without TLS
    (AWS Knowledge Center, "s3-bucket-ssl-requests-only"): staff data (POS, HR, finance) would
    otherwise cross the internet in clear text from any client that asks over http://."""
    (bucket,) = cloud.of_type("aws:s3/bucket:Bucket")
    (policy,) = cloud.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.inputs["bucket"] == bucket.resource_id
    assert policy.inputs["region"] == bucket.inputs["region"]
    arn = bucket.outputs["arn"]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
    assert sorted(statement["Resource"]) == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # S3 refuses a second configuration call on a bucket while one is in flight (OperationAborted).
    (block,) = cloud.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in policy.dependencies


def test_the_staff_data_bucket_expires_earlier_versions_after_the_configured_days(cloud: Scenario) -> None:
    """Every overwrite and delete keeps a whole copy: noncurrent versions expire after
    `data_noncurrent_version_days` (90 by default), everywhere in the bucket, by one rule."""
    (bucket,) = cloud.of_type("aws:s3/bucket:Bucket")
    (lifecycle,) = cloud.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["bucket"] == bucket.resource_id
    assert lifecycle.inputs["region"] == bucket.inputs["region"]
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled"
    # The whole bucket by an empty filter, not the deprecated rule-level prefix (which drifts).
    assert rule.get("filter") == {} and "prefix" not in rule
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert "expiration" not in rule, "current versions stay"
    (versioning,) = cloud.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.urn in lifecycle.dependencies
    shorter = run_scenario(
        lambda: {"cloud": HybridCloud("acme", hybrid_cloud_args(data_noncurrent_version_days=30), keys=TEST_KEYS).data_bucket.id}
    )
    (lifecycle,) = shorter.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


OWN = "${aws:PrincipalTag/storestack:region}/${aws:PrincipalTag/storestack:store}/"
# The role the identity provider signs staff into (the harness's `staff_entry_roles`).
SIGN_IN = "arn:aws:iam::210987654321:role/federation/acme-staff-sign-in"


def _policy(cloud: Scenario, role: str) -> dict[str, dict[str, object]]:
    return {s["Sid"]: s for s in json.loads(cloud.named(f"role-{role}-data").inputs["policy"])["Statement"]}


def test_a_cashier_reads_only_its_own_stores_pos_data_and_writes_nothing(cloud: Scenario) -> None:
    statements = _policy(cloud, "cashier")
    assert set(statements) == {"ListPermittedData", "ReadPermittedData", "PermittedDesktops"}
    assert statements["ReadPermittedData"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert statements["ReadPermittedData"]["Resource"] == [f"arn:aws:s3:::acme-staff-data/pos/{OWN}*"]
    assert statements["ListPermittedData"]["Condition"] == {"StringLike": {"s3:prefix": [f"pos/{OWN}*"]}}
    text = json.dumps(statements)
    assert "s3:PutObject" not in text and "s3:DeleteObject" not in text
    # Desktops: only WorkSpaces of the cashier role at the user's own store.
    assert statements["PermittedDesktops"]["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/storestack:role": "cashier",
            "aws:ResourceTag/storestack:store": "${aws:PrincipalTag/storestack:store}",
        }
    }
    (trust,) = json.loads(cloud.named("role-cashier").inputs["assumeRolePolicy"])["Statement"]
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    cashier = {
        "aws:PrincipalArn": SIGN_IN,
        "aws:PrincipalType": "AssumedRole",
        "aws:PrincipalTag/storestack:mfa": "true",
        "aws:PrincipalTag/storestack:role": "cashier",
        "aws:PrincipalTag/storestack:store": "nw-0001",
        "aws:PrincipalTag/storestack:region": "eu-west-1",
    }
    own = {"aws:RequestTag/storestack:store": "nw-0001", "aws:RequestTag/storestack:region": "eu-west-1"}
    assert _trusts(trust, {**cashier, **own})
    assert not _trusts(trust, cashier), "a cashier session without its store tag is refused"
    # The caller chooses its session tags' values (AssumeRole `Tags`): naming another store or
    # region than its own gets no session.
    assert not _trusts(trust, {**cashier, **own, "aws:RequestTag/storestack:store": "nw-0002"})
    assert not _trusts(trust, {**cashier, **own, "aws:RequestTag/storestack:region": "us-east-1"})
    untagged = {k: v for k, v in cashier.items() if k != "aws:PrincipalTag/storestack:store"}
    assert not _trusts(trust, {**untagged, **own})
    assert not _trusts(trust, {**cashier, **own, "aws:PrincipalTag/storestack:role": "store-manager"})


def test_a_federated_staff_session_reaches_its_role_only_with_the_identity_providers_mfa_claim(cloud: Scenario) -> None:
    """Staff come in through the identity provider (README, "Identity"): AssumeRoleWithSAML (or
    WithWebIdentity) into the provider's role, then AssumeRole into the staff role. AWS cannot tell
    whether an external provider required MFA, so such sessions carry no `aws:MultiFactorAuthPresent`
    (IAM User Guide, "Configuring MFA-protected API access"; the key is only in requests signed with
    temporary credentials that support MFA), and a trust policy requiring it refused every staff
    member. The provider's own MFA claim, passed as the `storestack:mfa` principal tag, is what the
    trust holds to; `BoolIfExists` would admit anyone, as the key is absent for every such session."""
    (trust,) = json.loads(cloud.named("role-cashier").inputs["assumeRolePolicy"])["Statement"]
    federated = {
        "aws:PrincipalArn": SIGN_IN,
        "aws:PrincipalType": "AssumedRole",
        "aws:PrincipalTag/storestack:role": "cashier",
        "aws:PrincipalTag/storestack:store": "nw-0001",
        "aws:PrincipalTag/storestack:region": "eu-west-1",
        "aws:RequestTag/storestack:store": "nw-0001",
        "aws:RequestTag/storestack:region": "eu-west-1",
    }
    assert _trusts(trust, {**federated, "aws:PrincipalTag/storestack:mfa": "true"})
    # Signed in without MFA: the provider sends no claim, or another value.
    assert not _trusts(trust, federated)
    assert not _trusts(trust, {**federated, "aws:PrincipalTag/storestack:mfa": "false"})
    # An IAM user's long-term access keys carry no MFA context either: refused, not let through.
    assert "BoolIfExists" not in trust["Condition"]
    for role in ("hq-finance", "it-admin"):
        (other,) = json.loads(cloud.named(f"role-{role}").inputs["assumeRolePolicy"])["Statement"]
        assert other["Condition"]["StringEquals"]["aws:PrincipalTag/storestack:mfa"] == "true", role


def test_an_iam_user_carrying_the_staff_tags_itself_is_refused(cloud: Scenario) -> None:
    """An IAM user's principal tags are its own IAM tags, which anyone holding `iam:TagUser` on it
    sets (IAM User Guide, "Controlling access to and for IAM users and roles using tags"; "AWS
    global condition context keys", `aws:PrincipalTag`), and the trust names the whole account as
    its principal. So a user who tagged itself `storestack:mfa=true` and a staff role's
    `storestack:role`, `store` and `region` would be let straight in with long-term access keys and
    no identity provider, MFA or not. Staff come in as role sessions (AssumeRoleWithSAML or
    WithWebIdentity, then AssumeRole): every staff role takes only an assumed-role session
    (`aws:PrincipalType`), never an IAM user or the account's root."""
    tags = {
        "aws:PrincipalArn": SIGN_IN,
        "aws:PrincipalTag/storestack:mfa": "true",
        "aws:PrincipalTag/storestack:role": "cashier",
        "aws:PrincipalTag/storestack:store": "nw-0001",
        "aws:PrincipalTag/storestack:region": "eu-west-1",
        "aws:RequestTag/storestack:store": "nw-0001",
        "aws:RequestTag/storestack:region": "eu-west-1",
    }
    (trust,) = json.loads(cloud.named("role-cashier").inputs["assumeRolePolicy"])["Statement"]
    assert _trusts(trust, {**tags, "aws:PrincipalType": "AssumedRole"})
    for caller in ("User", "Account"):
        assert not _trusts(trust, {**tags, "aws:PrincipalType": caller}), caller
    assert not _trusts(trust, tags)
    for role in ("hq-finance", "it-admin"):
        (other,) = json.loads(cloud.named(f"role-{role}").inputs["assumeRolePolicy"])["Statement"]
        assert other["Condition"]["StringEquals"]["aws:PrincipalType"] == "AssumedRole", role


def test_only_the_identity_providers_sign_in_roles_reach_a_staff_role(cloud: Scenario) -> None:
    """A role session's principal tags are its role's tags and its session tags, and a role's tags
    are set by whoever holds `iam:TagRole` on it, its session tags by whoever may assume it with
    `sts:TagSession` (IAM User Guide, "Passing session tags in AWS STS"). With the whole account as
    the principal, a session of any role in the account that carried the staff tags (a CI role a
    developer may tag, a role trusting tagged sessions from anywhere) came into every staff role,
    past the identity provider and its MFA. The trust holds the caller to the roles the identity
    provider signs staff into (`aws:PrincipalArn`, which for a role session is the role's ARN, not
    the session's: IAM User Guide, "AWS global condition context keys")."""
    staff = {
        "aws:PrincipalType": "AssumedRole",
        "aws:PrincipalTag/storestack:mfa": "true",
        "aws:PrincipalTag/storestack:role": "cashier",
        "aws:PrincipalTag/storestack:store": "nw-0001",
        "aws:PrincipalTag/storestack:region": "eu-west-1",
        "aws:RequestTag/storestack:store": "nw-0001",
        "aws:RequestTag/storestack:region": "eu-west-1",
    }
    for role in ("cashier", "hq-finance", "it-admin"):
        (trust,) = json.loads(cloud.named(f"role-{role}").inputs["assumeRolePolicy"])["Statement"]
        tags = {**staff, "aws:PrincipalTag/storestack:role": role}
        assert _trusts(trust, {**tags, "aws:PrincipalArn": SIGN_IN}), role
        for other in (
            "arn:aws:iam::210987654321:role/ci-deploy",
            "arn:aws:iam::210987654321:role/acme-staff-sign-in",
            "arn:aws:iam::210987654321:role/federation/acme-staff-sign-in-test",
            "arn:aws:iam::123456789012:role/federation/acme-staff-sign-in",
        ):
            assert not _trusts(trust, {**tags, "aws:PrincipalArn": other}), (role, other)
        assert not _trusts(trust, tags), role
    # An IAM Identity Center permission set's role carries a suffix AWS picks: a trailing wildcard.
    sso = run_scenario(
        lambda: {
            "cloud": HybridCloud(
                "acme",
                hybrid_cloud_args(staff_entry_roles=["aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AcmeStaff_*"]),
                keys=TEST_KEYS,
            ).data_bucket.id
        }
    )
    (trust,) = json.loads(sso.named("role-cashier").inputs["assumeRolePolicy"])["Statement"]
    prefix = "arn:aws:iam::210987654321:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    assert _trusts(trust, {**staff, "aws:PrincipalArn": prefix + "AWSReservedSSO_AcmeStaff_0123456789abcdef"})
    assert not _trusts(trust, {**staff, "aws:PrincipalArn": prefix + "AWSReservedSSO_AcmeAdmin_0123456789abcdef"})


def test_a_staff_entry_role_names_one_role_not_a_wildcard_over_the_account() -> None:
    """A wildcard before the role's own name (`*`, `federation/*`) would pin nothing."""
    for pattern in ("*", "federation/*", "*/sign-in", "arn:aws:iam::210987654321:role/x", "/sign-in"):
        with pytest.raises(ValidationError):
            hybrid_cloud_args(staff_entry_roles=[pattern])
    with pytest.raises(ValidationError):
        hybrid_cloud_args(staff_entry_roles=[])
    assert hybrid_cloud_args(staff_entry_roles=["acme-sign-in", "saml/AcmeStaff*"]).staff_entry_roles


def _trusts(statement: dict[str, Any], context: dict[str, str]) -> bool:
    """Whether a trust statement's conditions hold for a request context (IAM's evaluation of the
    Bool, StringEquals and Null operators, `${...}` policy variables resolved from the context;
    a key or variable missing from it fails the comparison)."""
    for operator, tests in statement["Condition"].items():
        for key, wanted in tests.items():
            if operator == "Null":
                if (key not in context) != (wanted == "true"):
                    return False
                continue
            if operator == "ArnLike":
                if not any(fnmatch.fnmatchcase(context.get(key, ""), arn) for arn in wanted):
                    return False
                continue
            assert operator in ("Bool", "StringEquals"), operator
            variable = re.fullmatch(r"\$\{(.+)\}", wanted)
            expected = context.get(variable.group(1)) if variable else wanted
            if expected is None or context.get(key) != expected:
                return False
    return True


def test_all_store_roles_read_everywhere_and_only_admin_roles_write(cloud: Scenario) -> None:
    finance = _policy(cloud, "hq-finance")
    assert finance["ReadPermittedData"]["Resource"] == [
        "arn:aws:s3:::acme-staff-data/finance/*", "arn:aws:s3:::acme-staff-data/pos/*"
    ]
    assert "AdministerPermittedData" not in finance
    assert finance["PermittedDesktops"]["Condition"] == {"StringEquals": {"aws:ResourceTag/storestack:role": "hq-finance"}}
    admin = _policy(cloud, "it-admin")
    assert admin["AdministerPermittedData"]["Resource"] == [
        "arn:aws:s3:::acme-staff-data/it/*", "arn:aws:s3:::acme-staff-data/logs/*"
    ]
    assert "finance" not in json.dumps(admin) and "/pos/" not in json.dumps(admin)
    # Deletes leave a delete marker on the versioned bucket; no staff role removes a version.
    assert admin["AdministerPermittedData"]["Action"] == ["s3:PutObject", "s3:DeleteObject"]
    for role in ("cashier", "hq-finance", "it-admin"):
        text = json.dumps(_policy(cloud, role))
        assert "s3:DeleteObjectVersion" not in text and "s3:*" not in text and "s3:Delete*" not in text, role
    assert set(cloud.values["staff_role_arns"]) == {"cashier", "hq-finance", "it-admin"}


def test_a_region_scoped_role_sees_its_region_only() -> None:
    from storestack.components.hybrid_cloud import StaffRoleAccessArgs, staff_role_policy

    policy = json.loads(staff_role_policy("arn:aws:s3:::b", StaffRoleAccessArgs(name="ops", data_prefixes=["logistics"], stores="region")))
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["ReadPermittedData"]["Resource"] == ["arn:aws:s3:::b/logistics/${aws:PrincipalTag/storestack:region}/*"]
    assert statements["PermittedDesktops"]["Condition"]["StringEquals"]["aws:ResourceTag/storestack:region"] == (
        "${aws:PrincipalTag/storestack:region}"
    )


def test_openstack_roles_sit_on_per_role_projects_never_on_the_infrastructure_project(cloud: Scenario) -> None:
    projects = {r.inputs["name"]: r for r in cloud.of_type("openstack:identity/project:Project")}
    infrastructure = projects["acme-dc1-cloud"]
    groups = {r.inputs["name"]: r for r in cloud.of_type("openstack:identity/groupV3:GroupV3")}
    assert set(groups) == {"acme-cashier", "acme-hq-finance", "acme-it-admin"}
    assignments = [a for a in cloud.of_type("openstack:identity/roleAssignment:RoleAssignment") if a.inputs.get("groupId")]
    assert len(assignments) == 3
    by_group = {a.inputs["groupId"]: a for a in assignments}
    for name, group in groups.items():
        role = name.removeprefix("acme-")
        project_id = by_group[group.resource_id].inputs["projectId"]
        assert project_id == projects[f"acme-dc1-cloud-{role}"].resource_id
        assert project_id != infrastructure.resource_id
        assert project_id != projects["acme-dc1-cloud-desktops"].resource_id
    role_ids = {a.name.rsplit("-", 1)[-1]: a.inputs["roleId"] for a in assignments}
    assert len(set(role_ids.values())) == 3, "reader, member and manager resolve to different keystone roles"


def test_openstack_desktops_live_in_their_own_project(cloud: Scenario) -> None:
    projects = {r.inputs["name"]: r.resource_id for r in cloud.of_type("openstack:identity/project:Project")}
    networks = {r.inputs["name"]: r for r in cloud.of_type("openstack:networking/network:Network")}
    assert networks["acme-desktops"].inputs["tenantId"] == projects["acme-dc1-cloud-desktops"]
    assert networks["acme-workloads"].inputs["tenantId"] == projects["acme-dc1-cloud"]
    providers = {r.name: r for r in cloud.resources if r.type == "pulumi:providers:openstack"}
    assert providers["dc1-cloud-openstack-desktops"].inputs["tenantId"] == projects["acme-dc1-cloud-desktops"]


def test_what_lives_in_a_project_the_stack_creates_is_created_with_a_token_scoped_to_it() -> None:
    """Nova boots an instance with a port only in the port's own project (nova/network/neutron.py
    `_validate_requested_port_ids`: PortNotUsable), and Keystone scopes a token to a project only
    for a user with a role on it ("Keystone for Other Services"): the VPN gateway is booted with a
    provider scoped to the infrastructure project that owns its port, the desktops with one scoped
    to the desktops project, and each provider waits for the stack's own user's role there."""

    def build() -> dict[str, object]:
        hybrid = HybridCloud("acme", hybrid_cloud_args(), keys=TEST_KEYS)
        return {"openstack": hybrid.openstack}

    scenario = run_scenario(build)
    projects = {r.inputs["name"]: r.resource_id for r in scenario.of_type("openstack:identity/project:Project")}
    (scope,) = [i for i in scenario.monitor.invokes if i.token == "openstack:identity/getAuthScope:getAuthScope"]
    mine = {
        a.inputs["projectId"]: a
        for a in scenario.of_type("openstack:identity/roleAssignment:RoleAssignment")
        if a.inputs.get("userId") == scope.result["userId"]
    }
    assert set(mine) == {projects["acme-dc1-cloud"], projects["acme-dc1-cloud-desktops"]}
    roles = {i.result["id"]: i.args["name"] for i in scenario.monitor.invokes if i.token.endswith("getRole:getRole")}
    assert {roles[a.inputs["roleId"]] for a in mine.values()} == {"member"}
    providers = {r.urn: r for r in scenario.resources if r.type == "pulumi:providers:openstack"}
    (gateway,) = scenario.of_type("openstack:compute/instance:Instance")
    (port,) = scenario.of_type("openstack:networking/port:Port")
    assert gateway.inputs["networks"] == [{"port": port.resource_id}]
    provider = providers[gateway.provider]
    assert provider.inputs["tenantId"] == port.inputs["tenantId"] == projects["acme-dc1-cloud"]
    assert mine[projects["acme-dc1-cloud"]].urn in provider.dependencies
    desktops = scenario.named("dc1-cloud-openstack-desktops")
    assert desktops.inputs["tenantId"] == projects["acme-dc1-cloud-desktops"]
    assert mine[projects["acme-dc1-cloud-desktops"]].urn in desktops.dependencies


def test_openstack_networks_router_and_security_groups(cloud: Scenario) -> None:
    subnets = {r.inputs["name"]: r.inputs["cidr"] for r in cloud.of_type("openstack:networking/subnet:Subnet")}
    assert subnets == {"acme-workloads": "10.40.0.0/20", "acme-desktops": "10.56.0.0/20"}
    (router,) = cloud.of_type("openstack:networking/router:Router")
    assert router.inputs["externalNetworkId"]
    assert len(cloud.of_type("openstack:networking/routerInterface:RouterInterface")) == 2
    rules = cloud.of_type("openstack:networking/secGroupRule:SecGroupRule")
    assert rules
    for rule in rules:
        assert rule.inputs["remoteIpPrefix"] != "0.0.0.0/0"
        if rule.inputs.get("portRangeMin") == 22:
            assert rule.inputs["remoteIpPrefix"] == "10.0.10.0/24"


def test_openstack_reaches_aws_over_both_tunnels_of_a_route_based_bgp_vpn(cloud: Scenario) -> None:
    aws_vpn = cloud.named("eu-west-1-openstack-dc1-cloud-vpn")
    assert aws_vpn.inputs["staticRoutesOnly"] is False
    assert "localIpv4NetworkCidr" not in aws_vpn.inputs, "0.0.0.0/0 selectors: one SA pair per tunnel"
    first, second = secret_value(aws_vpn.inputs["tunnel1PresharedKey"]), secret_value(aws_vpn.inputs["tunnel2PresharedKey"])
    assert first != second
    cgw = cloud.by_id(aws_vpn.inputs["customerGatewayId"])
    assert cgw.inputs["bgpAsn"] == "64513", "the OpenStack ASN, not the HQ hubs' one"
    (address,) = cloud.of_type("openstack:networking/floatingIp:FloatingIp")
    assert cgw.inputs["ipAddress"] == address.outputs["address"]
    (binding,) = cloud.of_type("openstack:networking/floatingIpAssociate:FloatingIpAssociate")
    assert binding.urn in aws_vpn.dependencies, "AWS dials the gateway only once its address is bound"
    # No policy-based VPNaaS is left: it cannot keep one SA pair per AWS tunnel or two hub tunnels apart.
    assert not [r for r in cloud.resources if r.type.startswith("openstack:vpnaas/")]
    user_data = "".join(gateway_peer_files(cloud).values())
    assert f'id-2 = {aws_vpn.outputs["tunnel1Address"]}' in user_data and f'id-2 = {aws_vpn.outputs["tunnel2Address"]}' in user_data
    assert first in user_data and second in user_data
    assert "router bgp 64513" in user_data
    assert user_data.count("local_ts = 0.0.0.0/0") == 4  # two AWS tunnels, two hubs
    assert "aes256gcm16-prfsha384-ecp384" in user_data and "aes256gcm16-ecp384" in user_data
    routes = {r.inputs["destinationCidr"] for r in cloud.of_type("openstack:networking/routerRoute:RouterRoute")}
    assert {"10.32.0.0/20", "10.48.0.0/20", "10.64.0.0/12", "10.0.0.0/16"} <= routes
    # The AWS side learns the OpenStack networks over BGP: no static routes are needed.
    assert not cloud.of_type(TGW_ROUTE)


def test_each_hub_gets_its_own_route_based_tunnel_to_openstack(cloud: Scenario) -> None:
    outputs = cloud.monitor.component_outputs[cloud.named("acme").urn]
    tunnels = outputs["openstack_hub_tunnels"]
    assert set(tunnels) == {"dc1-cloud/hub1", "dc1-cloud/hub2"}
    assert len({t["inside_cidr"] for t in tunnels.values()}) == 2
    psks = secret_value(outputs["openstack_vpn_psks"])
    assert psks["dc1-cloud/hub1"] != psks["dc1-cloud/hub2"]
    user_data = gateway_peer_files(cloud)["/etc/frr/frr.conf"]
    for tunnel in tunnels.values():
        assert f"neighbor {tunnel['hub_inside_address']} remote-as" in user_data


def test_the_gateways_peers_are_a_private_object_only_its_reader_may_get(cloud: Scenario) -> None:
    """The gateway's tunnels and keys are one Swift object in the infrastructure project's account
    (written in place when a peer or key changes), read with an application credential that may GET
    that object and nothing else; the instance's user data holds that credential, no tunnel key."""
    outputs = cloud.monitor.component_outputs[cloud.named("acme").urn]
    held = secret_value(outputs["openstack_vpn_psks"]).values()
    psks = [psk for value in held for psk in (value if isinstance(value, list) else [value])]
    assert len(psks) == 4  # two AWS tunnels, two hubs
    (gateway,) = [r for r in cloud.of_type("openstack:compute/instance:Instance") if r.name.endswith("vpn-gateway")]
    (container,) = cloud.of_type("openstack:objectstorage/container:Container")
    (peers,) = cloud.of_type("openstack:objectstorage/containerObject:ContainerObject")
    (reader,) = cloud.of_type("openstack:identity/applicationCredential:ApplicationCredential")
    # The infrastructure project's provider, as the gateway's: its Swift account, not the desktops'.
    assert peers.provider == container.provider == reader.provider == gateway.provider
    assert "readAcl" not in container.inputs and "containerRead" not in container.inputs
    assert peers.inputs["containerName"] == container.inputs["name"]
    keys = gateway_peer_files(cloud)["/etc/swanctl/conf.d/storestack.conf"]
    assert all(f'secret = "{psk}"' in keys for psk in psks)
    assert reader.inputs["roles"] == ["member"]
    path = f"/v1/*/{container.inputs['name']}/{peers.inputs['name']}"
    assert reader.inputs["accessRules"] == [{"method": "GET", "path": path, "service": "object-store"}]
    user_data = secret_value(gateway.inputs["userData"])
    assert reader.resource_id in user_data and reader.outputs["secret"] in user_data
    assert not any(psk in user_data for psk in psks)
    assert peers.urn in gateway.dependencies, "the gateway boots once its peer config is there"


def test_a_new_upload_of_the_gateway_image_leaves_the_vpn_gateway_in_place(cloud: Scenario) -> None:
    """A cloud refreshes a named image (a new "debian-12" under a new id, the old one deleted or
    renamed); the provider then reads the gateway's image name back as the old image's new name or
    "Image not found", a change that replaces the instance (hashicorp/terraform#28965): every tunnel
    of the site would drop on the next `up`."""
    (gateway,) = [r for r in cloud.of_type("openstack:compute/instance:Instance") if r.name.endswith("vpn-gateway")]
    assert gateway.inputs["imageName"] == "debian-12"
    assert {"imageName", "imageId"} <= set(gateway.ignore_changes)
    # What the gateway boots with still reaches it (its peers are the peer config's, in place).
    assert "userData" not in gateway.ignore_changes


def test_every_taggable_resource_carries_fleet_and_component_tags(cloud: Scenario) -> None:
    taggable = [r for r in cloud.resources if r.custom and is_taggable(r.type)]
    assert len(taggable) > 20
    for resource in taggable:
        tags = resource.inputs.get("tags")
        if isinstance(tags, list):  # OpenStack
            tags = dict(t.split("=", 1) for t in tags)
        assert tags, f"{resource.urn} has no tags"
        for key, value in FLEET_TAGS.items():
            assert tags.get(key) == value, f"{resource.urn} misses {key}"
        assert tags.get("storestack:component") == "hybrid-cloud", resource.urn


def test_stores_never_reach_each_other_through_the_transit_gateway() -> None:
    def build() -> dict[str, object]:
        hybrid = HybridCloud("acme", hybrid_cloud_args(), keys=TEST_KEYS)
        transit = hybrid.transit["eu-west-1"]
        ref = TransitGatewayRef(
            region="eu-west-1",
            transit_gateway_id=transit.transit_gateway_id,
            stores_route_table_id=transit.route_table_ids["stores"],
            return_route_table_ids={k: transit.route_table_ids[k] for k in PROPAGATES_INTO["store"]},
        )
        first = StoreSite("sh-0001", store_args("sh-0001", 1), ref, keys=TEST_KEYS)
        second = StoreSite("sh-0002", store_args("sh-0002", 2), ref, keys=TEST_KEYS)
        return {"regions": hybrid.regions, "a": first.tunnels, "b": second.tunnels}

    scenario = run_scenario(build)
    table_ids = scenario.values["regions"]["eu-west-1"]["route_table_ids"]
    stores_table = table_ids["stores"]
    store_attachments = {
        r.outputs["transitGatewayAttachmentId"]
        for r in scenario.of_type(VPN)
        if r.name.startswith("sh-")
    }
    assert len(store_attachments) == 4  # two stores, two WAN links each
    into_stores = [r for r in scenario.of_type(PROPAGATION) if r.inputs["transitGatewayRouteTableId"] == stores_table]
    assert into_stores, "the stores table learns cloud and HQ routes"
    assert not {r.inputs["transitGatewayAttachmentId"] for r in into_stores} & store_attachments
    static_into_stores = [
        r for r in scenario.of_type(TGW_ROUTE)
        if r.inputs["transitGatewayRouteTableId"] == stores_table
        and r.inputs["transitGatewayAttachmentId"] in store_attachments
    ]
    assert not static_into_stores
    for association in scenario.of_type(ASSOCIATION):
        if association.inputs["transitGatewayAttachmentId"] in store_attachments:
            assert association.inputs["transitGatewayRouteTableId"] == stores_table


def test_overlapping_ranges_are_rejected() -> None:
    with pytest.raises(ValidationError, match="overlaps"):
        hybrid_cloud_args(store_supernet="10.32.0.0/12")


def test_a_single_availability_zone_is_rejected() -> None:
    with pytest.raises(ValidationError, match="at least 2"):
        AwsRegionArgs(
            region="eu-west-1", availability_zones=["eu-west-1a"], workloads_cidr="10.32.0.0/20",
            desktops_cidr="10.48.0.0/20",
        )


def test_a_transit_gateway_takes_every_private_asn_aws_takes_and_no_other() -> None:
    """AmazonSideAsn: "The range is 64512 to 65534 for 16-bit ASNs and 4200000000 to 4294967294
    for 32-bit ASNs" (EC2 API, TransitGatewayRequestOptions). A chain numbering its BGP in 4-byte
    private ASNs, as its stores already are, gets a Transit Gateway AWS creates."""

    def region(asn: int) -> AwsRegionArgs:
        return AwsRegionArgs(
            region="eu-west-1", availability_zones=["eu-west-1a", "eu-west-1b"], workloads_cidr="10.32.0.0/20",
            desktops_cidr="10.48.0.0/20", transit_gateway_asn=asn,
        )

    for asn in (64512, 65534, 4_200_000_000, 4_294_967_294):
        assert region(asn).transit_gateway_asn == asn
    for asn in (64511, 65535, 4_199_999_999, 4_294_967_295, 7224):
        with pytest.raises(ValidationError, match="Transit Gateway"):
            region(asn)
    scenario = run_scenario(
        lambda: {"cloud": HybridCloud("acme", hybrid_cloud_args(aws_regions=[region(4_200_000_100)]), keys=TEST_KEYS).regions}
    )
    (tgw,) = scenario.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    assert int(tgw.inputs["amazonSideAsn"]) == 4_200_000_100
    run = MockRun(project="core", stack="test", resources=scenario.resources, component_outputs={}, outputs={}, stack_urn="")
    assert list(check_contract(run)) == []


def test_a_customer_gateway_asn_aws_reserves_in_a_region_of_the_cloud_is_refused() -> None:
    """Every hub and every OpenStack gateway gets a customer gateway in each AWS region, and
    CreateCustomerGateway refuses 7224 in us-east-1 and 9059 in eu-west-1 (EC2 API): refused at
    once, not by AWS half-way through an `up`."""
    hubs = hybrid_cloud_args().hubs
    with pytest.raises(ValidationError, match=r"9059.*eu-west-1"):
        hybrid_cloud_args(hubs=[hubs[0].model_copy(update={"bgp_asn": 9059}), hubs[1]])
    site = hybrid_cloud_args().openstack_sites[0]
    with pytest.raises(ValidationError, match=r"9059.*eu-west-1"):
        hybrid_cloud_args(openstack_sites=[site.model_copy(update={"bgp_asn": 9059})])
    # 7224 is reserved in us-east-1 only; the test cloud is in eu-west-1.
    assert hybrid_cloud_args(hubs=[hubs[0].model_copy(update={"bgp_asn": 7224}), hubs[1]])
    with pytest.raises(ValidationError, match=r"9059.*eu-west-1"):
        store_args(bgp_asn=9059, aws_region="eu-west-1")
    assert store_args(bgp_asn=9059, aws_region="eu-central-1").bgp_asn == 9059


def test_hub_psks_output_is_secret(cloud: Scenario) -> None:
    outputs = cloud.monitor.component_outputs[cloud.named("acme").urn]
    assert is_secret(outputs["hub_vpn_psks"])
    assert is_secret(outputs["openstack_vpn_psks"])
    assert not is_secret(outputs["regions"])


def _two_regions(**overrides: object) -> HybridCloudArgs:
    """The test cloud in eu-west-1 and eu-central-1, each hub with its VPN to both."""
    regions = [
        AwsRegionArgs(
            region=region, availability_zones=[f"{region}a", f"{region}b"], workloads_cidr=workloads,
            desktops_cidr=desktops,
        )
        for region, workloads, desktops in (
            ("eu-west-1", "10.32.0.0/20", "10.48.0.0/20"),
            ("eu-central-1", "10.33.0.0/20", "10.49.0.0/20"),
        )
    ]
    hubs = []
    for index, hub in enumerate(hybrid_cloud_args().hubs):
        tunnels = list(hub.cloud_tunnels) + [
            HubCloudTunnelArgs(
                tunnel_id=f"{hub.name}-eu-central-1-aws{n}", cloud="aws", site="eu-central-1", number=n,
                inside_cidr=f"169.254.248.{64 + 8 * index + 4 * (n - 1)}/30",
            )
            for n in (1, 2)
        ]
        hubs.append(hub.model_copy(update={"cloud_tunnels": tunnels}))
    # The OpenStack gateway's /29 towards each region, as IPAM pins them (network/cloud.py).
    (site,) = hybrid_cloud_args().openstack_sites
    inside = {"eu-west-1": ipaddress.IPv4Network("169.254.244.0/29"), "eu-central-1": ipaddress.IPv4Network("169.254.244.8/29")}
    sites = [site.model_copy(update={"aws_inside": inside})]
    return hybrid_cloud_args(aws_regions=regions, hubs=hubs, openstack_sites=sites, **overrides)


def test_openstack_gateway_tunnels_to_every_region_and_hub_sit_in_distinct_planned_subnets() -> None:
    """Left to AWS, an OpenStack VPN's inside /30s are random picks in 169.254.0.0/16: one may be a
    hub tunnel's /30 on the same gateway, another region's, or a store link's /29 on the same
    transit gateway. Each is planned instead, and the gateway's tunnel interfaces never share a subnet."""
    args = _two_regions()
    hubs = args.hubs

    def build() -> dict[str, object]:
        hybrid = HybridCloud("acme", args, keys=TEST_KEYS)
        return {"regions": hybrid.regions}

    scenario = run_scenario(build)
    openstack_vpns = [r for r in scenario.of_type(VPN) if "-openstack-" in r.name]
    assert len(openstack_vpns) == 2
    planned = []
    for vpn in openstack_vpns:
        for n in (1, 2):
            assert vpn.inputs.get(f"tunnel{n}InsideCidr"), f"{vpn.name}: AWS would pick tunnel {n}'s /30 at random"
            inside = ipaddress.IPv4Network(vpn.inputs[f"tunnel{n}InsideCidr"])
            assert not aws_inside_usable(inside.supernet(new_prefix=29)), f"{inside} is a store link's /29"
            planned.append(inside)
    hub_thirties = {t.inside_cidr for hub in hubs for t in hub.cloud_tunnels}
    assert not hub_thirties & set(planned)
    script = gateway_peer_files(scenario)["/usr/local/sbin/storestack-tunnels"]
    interfaces = [ipaddress.IPv4Interface(line.split()[3]) for line in script.splitlines() if line.startswith("ip addr replace")]
    assert len(interfaces) == 6  # two tunnels per region, one per hub
    subnets = [interface.network for interface in interfaces]
    assert len(set(subnets)) == len(subnets), f"tunnel interfaces share a subnet: {sorted(map(str, subnets))}"


def test_more_openstack_sites_than_the_planned_pool_holds_are_rejected() -> None:
    site = hybrid_cloud_args().openstack_sites[0]
    sites = [
        site.model_copy(
            update={
                "name": f"site-{n}", "workloads_cidr": ipaddress.IPv4Network(f"10.{96 + n}.0.0/20"),
                "desktops_cidr": ipaddress.IPv4Network(f"10.{96 + n}.128.0/20"),
            }
        )
        for n in range(OPENSTACK_AWS_SITES + 1)
    ]
    with pytest.raises(ValidationError, match="OpenStack sites"):
        hybrid_cloud_args(openstack_sites=sites)


def test_no_staff_role_is_openstack_admin_of_the_whole_deployment() -> None:
    # Keystone's `admin` on a project is admin of every project under the services' default
    # policies, so a staff role given it on its own project would reach the infrastructure project.
    from storestack.components.hybrid_cloud import StaffRoleAccessArgs

    with pytest.raises(ValidationError, match="admin of the whole OpenStack deployment"):
        StaffRoleAccessArgs(name="it-admin", data_prefixes=["it"], stores="all", admin=True, openstack_role="admin")
    assert StaffRoleAccessArgs(name="it-admin", data_prefixes=["it"], admin=True, openstack_role="member").admin


TGW_ROUTE = "aws:ec2transitgateway/route:Route"
DESKTOP_CLIENT_PORT = 50124  # a Windows desktop's ephemeral source port (49152-65535)


def _rule_covers(rule: dict[str, Any], peer: ipaddress.IPv4Address, port: int, cidr_key: str) -> bool:
    cidrs = rule.get(cidr_key)
    cidrs = [cidrs] if isinstance(cidrs, str) else cidrs or []
    protocol_ok = rule["protocol"] == "-1" or (rule["protocol"] == "tcp" and rule["fromPort"] <= port <= rule["toPort"])
    return protocol_ok and any(peer in ipaddress.ip_network(c) for c in cidrs)


def _nacl_allows(acl: Any, direction: str, peer: ipaddress.IPv4Address, port: int) -> bool:
    for rule in sorted(acl.inputs.get(direction) or [], key=lambda r: r["ruleNo"]):
        if _rule_covers(rule, peer, port, "cidrBlock"):
            return bool(rule["action"] == "allow")
    return False


def _sg_allows(group: Any, direction: str, peer: ipaddress.IPv4Address, port: int) -> bool:
    return any(_rule_covers(rule, peer, port, "cidrBlocks") for rule in group.inputs.get(direction) or [])


def _transit_hop(scenario: Scenario, region: str, kind: str, target: ipaddress.IPv4Address) -> str | None:
    """Where `region`'s Transit Gateway sends a packet for `target` arriving from its `kind` VPC:
    the attachment of the static route in that VPC's table covering it, if any."""
    table = scenario.named(f"{region}-rt-{kind}").resource_id
    hops = [
        r.inputs["transitGatewayAttachmentId"]
        for r in scenario.of_type(TGW_ROUTE)
        if r.inputs["transitGatewayRouteTableId"] == table and target in ipaddress.ip_network(r.inputs["destinationCidrBlock"])
    ]
    assert len(hops) <= 1, hops
    return hops[0] if hops else None


def _delivers(scenario: Scenario, region: str, attachment: str, kind: str) -> bool:
    """Whether `region`'s table associated with `attachment` (arriving there) holds its `kind` VPC."""
    (association,) = [
        a for a in scenario.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
        if a.inputs["region"] == region and a.inputs["transitGatewayAttachmentId"] == attachment
    ]
    vpc = scenario.named(f"{region}-{kind}-attachment").resource_id
    return any(
        p.inputs["transitGatewayAttachmentId"] == vpc
        and p.inputs["transitGatewayRouteTableId"] == association.inputs["transitGatewayRouteTableId"]
        for p in scenario.of_type("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation")
    )


def test_a_desktop_reaches_the_other_regions_workloads_on_https_and_gets_the_answers() -> None:
    """The intent's desktop flows give every cloud desktop HTTPS to every cloud's workloads
    (`corporate` holds the whole cloud range), but each region's Transit Gateway knew only its own
    VPCs, HQ and OpenStack: a WorkSpace in one region found no route to the other region's
    workloads (its VPC sent nothing for them to the Transit Gateway, and the hubs, the only other
    way, pass a cloud's packets to HQ and the stores only). The two Transit Gateways peer, each
    side routing the other's workloads and desktops to the peering by static routes (peering
    attachments learn none: Transit Gateway guide, "Add a route to a transit gateway route table"),
    and the VPCs' tables, NACLs and groups carry HTTPS one way and its answers back."""
    args = _two_regions(
        desktop_flows=[
            flow.model_copy(update={"destinations": [*flow.destinations, ipaddress.IPv4Network("10.33.0.0/20")]})
            if flow.from_port == 443 else flow
            for flow in DESKTOP_FLOWS
        ]
    )
    scenario = run_scenario(lambda: {"regions": HybridCloud("acme", args, keys=TEST_KEYS).regions})
    hosts = {  # a desktop and a workload in each region
        "eu-west-1": (ipaddress.IPv4Address("10.48.0.20"), ipaddress.IPv4Address("10.32.0.20")),
        "eu-central-1": (ipaddress.IPv4Address("10.49.0.20"), ipaddress.IPv4Address("10.33.0.20")),
    }
    for here, there in itertools.permutations(hosts, 2):
        desktop, workload = hosts[here][0], hosts[there][1]
        target = workload
        tgw = scenario.named(f"{here}-tgw").resource_id
        vpc_routes = [
            r for r in scenario.of_type("aws:ec2/route:Route")
            if r.name.startswith(f"{here}-desktops-to-") and target in ipaddress.ip_network(r.inputs["destinationCidrBlock"])
        ]
        assert [r.inputs["transitGatewayId"] for r in vpc_routes] == [tgw], f"{here} desktops: no route to {target}"
        out = _transit_hop(scenario, here, "desktops", target)
        assert out is not None, f"{here}: the desktops table has no route to {there}'s workloads"
        assert _delivers(scenario, there, out, "workloads"), f"{there} does not deliver to its workloads"
        back = _transit_hop(scenario, there, "workloads", desktop)
        assert back == out, f"{there}: the answers to {desktop} do not go back over the peering"
        assert _delivers(scenario, here, back, "desktops")
        # The groups and NACLs on both ends: HTTPS out and in, the answers back to the desktop's port.
        assert _sg_allows(scenario.named(f"{here}-desktops-sg"), "egress", target, 443)
        assert _nacl_allows(scenario.named(f"{here}-desktops-acl"), "egress", target, 443)
        assert _nacl_allows(scenario.named(f"{here}-desktops-acl"), "ingress", target, DESKTOP_CLIENT_PORT)
        assert _sg_allows(scenario.named(f"{there}-workloads-sg"), "ingress", desktop, 443)
        assert _nacl_allows(scenario.named(f"{there}-workloads-acl"), "ingress", desktop, 443)
        assert _nacl_allows(scenario.named(f"{there}-workloads-acl"), "egress", desktop, DESKTOP_CLIENT_PORT)
        # Nothing else crosses: the other region's desktops stay out of reach of these desktops.
        assert _transit_hop(scenario, here, "desktops", ipaddress.IPv4Address(int(desktop) ^ (1 << 16))) is None
    # The peering attachment has one id on both sides, associated once on each: what AWS takes.
    run = MockRun(project="core", stack="test", resources=scenario.resources, component_outputs={}, outputs={}, stack_urn="")
    assert list(check_contract(run)) == []
