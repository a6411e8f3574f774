"""DesktopPool under the mock runtime, on both providers."""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi
import pytest
from component_harness import (
    AD_CONNECTOR,
    DESKTOP_FLOWS,
    FLEET_TAGS,
    Scenario,
    desktop_pool_args,
    run_scenario,
    secret_value,
)
from pydantic import ValidationError

from storestack.components import AwsDesktopNetwork, DesktopPool, OpenStackDesktopNetwork
from storestack.components.cloud_args import StoreFlowArgs
from storestack.components.desktop_pool import DesktopUser, SeatRequest, workspaces_default_role

WORKSPACE = "aws:workspaces/workspace:Workspace"


SERVICE_ROLE_CONFIG = {"storestack:aws-desktops-ad-connector-password": "Correct-Horse-9"}


@pytest.fixture(scope="module")
def aws_pool() -> Scenario:
    """A pool on an AD Connector: its named users already exist in the chain's directory."""

    def build() -> dict[str, object]:
        role = workspaces_default_role(FLEET_TAGS, pulumi.ResourceOptions())
        network = AwsDesktopNetwork(
            region="eu-west-1",
            vpc_id="vpc-desktops",
            subnet_ids=["subnet-a", "subnet-b"],
            security_group_id="sg-desktops",
            service_role=role,
        )
        pool = DesktopPool("aws-desktops", desktop_pool_args("aws", **AD_CONNECTOR), network)
        return {"seat_counts": pool.seat_counts, "seat_ids": pool.seat_ids}

    return run_scenario(build, config=SERVICE_ROLE_CONFIG)


@pytest.fixture(scope="module")
def managed_ad_pool() -> Scenario:
    def build() -> dict[str, object]:
        network = AwsDesktopNetwork(region="eu-west-1", vpc_id="vpc-desktops", subnet_ids=["subnet-a", "subnet-b"])
        pool = DesktopPool("aws-desktops", desktop_pool_args("aws"), network)
        return {"seat_counts": pool.seat_counts}

    return run_scenario(build)


@pytest.fixture(scope="module")
def openstack_pool() -> Scenario:
    def build() -> dict[str, object]:
        args = desktop_pool_args("openstack", users=AD_CONNECTOR["users"], desktop_flows=DESKTOP_FLOWS)
        pool = DesktopPool("os-desktops", args, OpenStackDesktopNetwork(None, "net-desktops"))
        return {"seat_counts": pool.seat_counts, "seat_ids": pool.seat_ids}

    return run_scenario(build)


def test_workspaces_belong_to_named_directory_users_not_shared_seats(aws_pool: Scenario) -> None:
    assert aws_pool.values["seat_counts"] == {"cashier": {"sh-0001": 2, "sh-0002": 1}, "hq-finance": {"hq": 2}}
    users = sorted(r.inputs["userName"] for r in aws_pool.of_type(WORKSPACE))
    assert users == ["anna.berg", "bo.lind", "cleo.ek"]
    assert sorted(aws_pool.values["seat_ids"]) == users
    (directory,) = aws_pool.of_type("aws:directoryservice/directory:Directory")
    assert directory.inputs["type"] == "ADConnector"
    settings = directory.inputs["connectSettings"]
    assert settings["customerUsername"] == "svc-workspaces" and settings["subnetIds"] == ["subnet-a", "subnet-b"]
    assert secret_value(directory.inputs["password"]) == "Correct-Horse-9"


def test_a_managed_ad_pool_registers_the_directory_but_declares_no_workspace(managed_ad_pool: Scenario) -> None:
    (directory,) = managed_ad_pool.of_type("aws:directoryservice/directory:Directory")
    assert directory.inputs["type"] == "MicrosoftAD" and directory.inputs["edition"] == "Standard"
    assert directory.inputs["vpcSettings"]["subnetIds"] == ["subnet-a", "subnet-b"]
    assert len(secret_value(directory.inputs["password"])) == 32
    assert not managed_ad_pool.of_type(WORKSPACE)
    assert not managed_ad_pool.of_type("aws:workspaces/ipGroup:IpGroup"), "no public egress ranges given"


def test_named_users_need_an_ad_connector_and_a_seat() -> None:
    with pytest.raises(ValidationError, match="need an AD Connector"):
        desktop_pool_args("aws", users=AD_CONNECTOR["users"])
    too_many = [DesktopUser(user_name=f"u{n}", role="cashier", store="sh-0002") for n in range(2)]
    with pytest.raises(ValidationError, match="only 1 seats"):
        desktop_pool_args("aws", **{**AD_CONNECTOR, "users": too_many})


def test_an_auto_stop_desktop_stops_after_whole_hours() -> None:
    # WorkSpaces takes RunningModeAutoStopTimeoutInMinutes "in 60-minute intervals": 90 minutes
    # is refused here, not left to an `up` that fails or to a timeout AWS reads back otherwise.
    with pytest.raises(ValidationError, match="multiple of 60"):
        desktop_pool_args("aws", auto_stop_minutes=90)
    assert desktop_pool_args("aws", auto_stop_minutes=120).auto_stop_minutes == 120


def test_every_workspace_is_encrypted_and_auto_stops(aws_pool: Scenario) -> None:
    workspaces = aws_pool.of_type(WORKSPACE)
    assert len(workspaces) == 3
    (key,) = [i for i in aws_pool.monitor.invokes if i.token == "aws:kms/getKey:getKey"]
    assert key.args["keyId"] == "alias/aws/workspaces"
    for workspace in workspaces:
        assert workspace.inputs["rootVolumeEncryptionEnabled"] is True
        assert workspace.inputs["userVolumeEncryptionEnabled"] is True
        # WorkSpaces reads the key back as its ARN: an alias here would replace every WorkSpace, and
        # its user volume, on the next `up` (hashicorp/terraform-provider-aws#16805).
        assert workspace.inputs["volumeEncryptionKey"] == key.result["arn"]
        assert ":key/" in workspace.inputs["volumeEncryptionKey"]
        properties = workspace.inputs["workspaceProperties"]
        assert properties["runningMode"] == "AUTO_STOP"
        assert properties["runningModeAutoStopTimeoutInMinutes"] == 60
    bundles = {w.inputs["userName"]: w.inputs["bundleId"] for w in workspaces}
    assert bundles["anna.berg"] == bundles["bo.lind"] == "wsb-abc123def"
    # A role given by bundle name gets an Amazon-owned public bundle, never an assumed custom one.
    (lookup,) = [i for i in aws_pool.monitor.invokes if i.token == "aws:workspaces/getBundle:getBundle"]
    assert lookup.args["owner"] == "AMAZON"
    assert bundles["cleo.ek"] == lookup.result["bundleId"]


def test_the_registration_uses_the_desktops_group_and_waits_for_the_service_role(aws_pool: Scenario) -> None:
    (directory,) = aws_pool.of_type("aws:workspaces/directory:Directory")
    assert directory.inputs["subnetIds"] == ["subnet-a", "subnet-b"]
    properties = directory.inputs["workspaceCreationProperties"]
    assert properties["enableInternetAccess"] is False
    assert properties["customSecurityGroupId"] == "sg-desktops"
    (role,) = aws_pool.of_type("aws:iam/role:Role")
    assert role.inputs["name"] == "workspaces_DefaultRole"
    attachments = aws_pool.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert {a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments} == {
        "AmazonWorkSpacesServiceAccess",
        "AmazonWorkSpacesSelfServiceAccess",
    }
    assert {a.urn for a in attachments} <= set(directory.dependencies)


def test_ip_access_groups_list_public_egress_ranges_only() -> None:
    with pytest.raises(ValidationError, match="not a public address"):
        desktop_pool_args("aws", client_public_ranges=["10.64.0.0/12"])

    def build() -> dict[str, object]:
        network = AwsDesktopNetwork(region="eu-west-1", vpc_id="vpc-desktops", subnet_ids=["subnet-a", "subnet-b"])
        DesktopPool("aws-desktops", desktop_pool_args("aws", client_public_ranges=["198.51.100.0/28"]), network)
        return {}

    scenario = run_scenario(build)
    (group,) = scenario.of_type("aws:workspaces/ipGroup:IpGroup")
    assert [rule["source"] for rule in group.inputs["rules"]] == ["198.51.100.0/28"]
    (directory,) = scenario.of_type("aws:workspaces/directory:Directory")
    assert directory.inputs["ipGroupIds"] == [group.resource_id]


def test_workspaces_are_tagged_with_role_store_and_region(aws_pool: Scenario) -> None:
    tags = {w.inputs["userName"]: w.inputs["tags"] for w in aws_pool.of_type(WORKSPACE)}
    assert tags["anna.berg"]["storestack:store"] == "sh-0001" and tags["anna.berg"]["storestack:region"] == "north"
    assert tags["cleo.ek"]["storestack:store"] == "hq"
    for value in tags.values():
        assert value["storestack:component"] == "desktop-pool"
        assert value["storestack:role"] in {"cashier", "hq-finance"}
        assert all(value[k] == v for k, v in FLEET_TAGS.items())


def test_openstack_seats_boot_from_encrypted_volumes_of_their_role_image(openstack_pool: Scenario) -> None:
    volumes = {r.name: r for r in openstack_pool.of_type("openstack:blockstorage/volume:Volume")}
    instances = openstack_pool.of_type("openstack:compute/instance:Instance")
    # One instance per named user (3), none for the two seats nobody holds: no shared accounts.
    assert len(volumes) == len(instances) == 3
    assert sorted(i.inputs["metadata"]["storestack:user"] for i in instances) == ["anna.berg", "bo.lind", "cleo.ek"]
    (group,) = openstack_pool.of_type("openstack:compute/serverGroup:ServerGroup")
    (security_group,) = openstack_pool.of_type("openstack:networking/secGroup:SecGroup")
    images = {v.inputs["imageId"] for v in volumes.values()}
    assert len(images) == 2, "one image per role"
    for instance in instances:
        volume = volumes[f"{instance.name}-boot"]
        assert volume.inputs["volumeType"] == "luks"
        (device,) = instance.inputs["blockDevices"]
        assert device["uuid"] == volume.resource_id and device["bootIndex"] == 0
        assert instance.inputs["schedulerHints"] == [{"group": group.resource_id}]
        assert instance.inputs["securityGroups"] == [security_group.outputs["name"]]
        assert instance.inputs["networks"] == [{"uuid": "net-desktops"}]
        expected_flavor = "d4.large" if instance.inputs["metadata"]["storestack:role"] == "hq-finance" else "d2.medium"
        assert instance.inputs["flavorName"] == expected_flavor


def test_a_new_upload_of_a_role_image_leaves_existing_openstack_desktops_in_place(openstack_pool: Scenario) -> None:
    """The image is looked up by name, the newest upload first: after a monthly image refresh the
    lookup answers a new id, and a boot volume's image id is a create-only setting ("Changing this
    creates a new volume"): every desktop, its disk and the user's profile on it, would be replaced
    by the next `up`. New desktops take the newest image; existing ones keep theirs."""
    volumes = openstack_pool.of_type("openstack:blockstorage/volume:Volume")
    assert volumes
    for volume in volumes:
        assert "imageId" in volume.ignore_changes, volume.name
    for instance in openstack_pool.of_type("openstack:compute/instance:Instance"):
        assert "imageId" not in instance.inputs and "imageName" not in instance.inputs, "boots from its volume"


def _ingress(scenario: Scenario) -> list[Any]:
    rules = scenario.of_type("openstack:networking/secGroupRule:SecGroupRule")
    return [r for r in rules if r.inputs["direction"] == "ingress"]


def test_openstack_desktops_take_remote_desktop_from_the_management_network_only(openstack_pool: Scenario) -> None:
    rules = _ingress(openstack_pool)
    assert [r.inputs["remoteIpPrefix"] for r in rules] == ["10.0.10.0/24"]
    assert {r.inputs["portRangeMin"] for r in rules} == {3389}


def test_a_pool_open_to_the_internet_is_rejected() -> None:
    with pytest.raises(ValidationError, match="not a private"):
        desktop_pool_args("aws", management_ranges=["0.0.0.0/0"])


def test_seats_for_a_role_without_a_bundle_are_rejected() -> None:
    with pytest.raises(ValidationError, match="no bundle"):
        desktop_pool_args("aws", seats=[SeatRequest(role="it-admin", store=None, count=1)])


def test_openstack_desktops_admit_exactly_the_store_flows_they_are_given() -> None:
    """Office reaches the desktops when the network intent says so; nothing else from stores."""
    flow = StoreFlowArgs(protocol="tcp", ports=[443], destinations=["10.56.0.0/20"], why="office to desktops")

    def build() -> dict[str, object]:
        args = desktop_pool_args("openstack", store_supernet="10.64.0.0/12", store_flows=[flow])
        pool = DesktopPool("os-desktops", args, OpenStackDesktopNetwork(None, "net-desktops"))
        return {"seat_ids": pool.seat_ids}

    rules = _ingress(run_scenario(build))
    got = sorted((r.inputs["remoteIpPrefix"], r.inputs.get("protocol"), r.inputs.get("portRangeMin")) for r in rules)
    assert got == [("10.0.10.0/24", "tcp", 3389), ("10.64.0.0/12", "tcp", 443)]


@pytest.mark.parametrize(
    ("protocol", "ports"), [("tcp", [3389]), ("tcp", []), ("ip", []), ("tcp", [443, 3389])]
)
def test_a_store_flow_that_would_open_rdp_into_the_desktops_is_refused(protocol: str, ports: list[int]) -> None:
    """RDP reaches a desktop only from the management ranges, whatever a store flow says."""
    flow = StoreFlowArgs(protocol=protocol, ports=ports, destinations=["10.56.0.0/20"], why="office to desktops")
    with pytest.raises(ValidationError, match="would open RDP"):
        desktop_pool_args("openstack", store_supernet="10.64.0.0/12", store_flows=[flow])


def openstack_opens(scenario: Scenario, target: str, protocol: str, port: int) -> bool:
    """A new connection out of an OpenStack desktop, as Neutron decides it: the group's egress
    rules, or everything while the group keeps the rules Neutron gives a new group."""
    (group,) = scenario.of_type("openstack:networking/secGroup:SecGroup")
    if not group.inputs.get("deleteDefaultRules"):
        return True
    address = ipaddress.ip_address(target)
    return any(
        rule.inputs["direction"] == "egress"
        and rule.inputs["protocol"] == protocol
        and rule.inputs["portRangeMin"] <= port <= rule.inputs["portRangeMax"]
        and address in ipaddress.ip_network(rule.inputs["remoteIpPrefix"])
        for rule in scenario.of_type("openstack:networking/secGroupRule:SecGroupRule")
    )


@pytest.mark.parametrize(
    ("target", "protocol", "port", "opens"),
    [
        ("10.0.5.5", "tcp", 443, True),  # an HQ application
        ("10.40.1.20", "tcp", 443, True),  # an OpenStack workload
        ("10.0.1.53", "tcp", 445, True),  # a domain controller
        ("10.0.1.53", "udp", 53, True),
        ("10.0.1.10", "udp", 123, True),  # the NTP server
        ("169.254.169.254", "tcp", 80, True),  # the metadata service, at boot
        ("10.0.5.5", "tcp", 445, False),  # an HQ host that is no domain controller
        ("10.64.4.10", "tcp", 443, False),  # a till: desktops never open a connection into a store
        ("10.64.4.10", "tcp", 9100, False),
        ("8.8.8.8", "tcp", 443, False),  # the internet, though the site's router SNATs
        ("1.1.1.1", "udp", 53, False),
    ],
)
def test_openstack_desktops_open_exactly_the_network_intents_desktop_flows(
    openstack_pool: Scenario, target: str, protocol: str, port: int, opens: bool
) -> None:
    assert openstack_opens(openstack_pool, target, protocol, port) == opens


def test_openstack_desktops_have_no_ipv6_way_out(openstack_pool: Scenario) -> None:
    (group,) = openstack_pool.of_type("openstack:networking/secGroup:SecGroup")
    assert group.inputs["deleteDefaultRules"] is True, "Neutron's default rules let IPv4 and IPv6 out"
    rules = openstack_pool.of_type("openstack:networking/secGroupRule:SecGroupRule")
    assert {r.inputs["ethertype"] for r in rules} == {"IPv4"}


@pytest.mark.parametrize("pool", ["aws_pool", "managed_ad_pool"])
def test_a_new_directory_password_does_not_replace_the_directory(pool: str, request: pytest.FixtureRequest) -> None:
    """A directory's password is create-only in the provider and never read back
    (terraform-provider-aws#16745): the AD Connector's service account rotated at HQ and put in
    the stack config replaced the directory, the WorkSpaces registration and every WorkSpace with
    its user volume on the next `up`. The password is given at creation only."""
    scenario: Scenario = request.getfixturevalue(pool)
    (directory,) = scenario.of_type("aws:directoryservice/directory:Directory")
    assert "password" in directory.ignore_changes


DESKTOP_STATE = (
    "aws:directoryservice/directory:Directory",
    "aws:workspaces/directory:Directory",
    WORKSPACE,
)


@pytest.mark.parametrize("pool", ["aws_pool", "managed_ad_pool"])
def test_an_up_cannot_replace_or_delete_a_directory_or_a_workspace(pool: str, request: pytest.FixtureRequest) -> None:
    """A directory's name, type, size and subnets are create-only (ForceNew in the provider's
    aws_directory_service_directory): an inventory change there replaced the directory, the
    WorkSpaces registration and every WorkSpace with its user volume. Protected, such an `up`
    fails instead (Pulumi, "protect": a deployment that would delete it, a replacement included,
    is an error); a user who leaves is unprotected on purpose (README, "Desktop users")."""
    scenario: Scenario = request.getfixturevalue(pool)
    protected = [r for token in DESKTOP_STATE for r in scenario.of_type(token)]
    assert {r.type for r in protected} >= set(DESKTOP_STATE[:2])
    assert all(r.protect for r in protected), [r.name for r in protected if not r.protect]


def test_an_ad_connectors_dns_addresses_and_service_account_change_on_awss_side_not_by_replacement(
    aws_pool: Scenario,
) -> None:
    """AWS updates an AD Connector's DNS addresses and service account in place (Directory
    Service guide, "Update the DNS address for your AD Connector", "Update your AD Connector
    service account credentials"); the provider can only replace the connector for them
    (connect_settings ForceNew). A new value in the inventory is left to that update."""
    (directory,) = aws_pool.of_type("aws:directoryservice/directory:Directory")
    assert {"connectSettings.customerDnsIps", "connectSettings.customerUsername"} <= set(directory.ignore_changes)
    assert not {"connectSettings", "connectSettings.subnetIds", "name"} & set(directory.ignore_changes)
