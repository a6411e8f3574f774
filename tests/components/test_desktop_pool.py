"""DesktopPool under the mock runtime, on both providers."""

from __future__ import annotations

import pytest
from component_harness import FLEET_TAGS, Scenario, desktop_pool_args, run_scenario, secret_value
from pydantic import ValidationError

from storestack.components import AwsDesktopNetwork, DesktopPool, OpenStackDesktopNetwork
from storestack.components.desktop_pool import SeatRequest

WORKSPACE = "aws:workspaces/workspace:Workspace"


@pytest.fixture(scope="module")
def aws_pool() -> Scenario:
    def build() -> dict[str, object]:
        network = AwsDesktopNetwork(region="eu-west-1", vpc_id="vpc-desktops", subnet_ids=["subnet-a", "subnet-b"])
        pool = DesktopPool("aws-desktops", desktop_pool_args("aws"), network)
        return {"seat_counts": pool.seat_counts, "seat_ids": pool.seat_ids}

    return run_scenario(build)


@pytest.fixture(scope="module")
def openstack_pool() -> Scenario:
    def build() -> dict[str, object]:
        pool = DesktopPool("os-desktops", desktop_pool_args("openstack"), OpenStackDesktopNetwork(None, "net-desktops"))
        return {"seat_counts": pool.seat_counts, "seat_ids": pool.seat_ids}

    return run_scenario(build)


def test_seats_are_summed_per_role_and_store(aws_pool: Scenario) -> None:
    assert aws_pool.values["seat_counts"] == {"cashier": {"sh-0001": 2, "sh-0002": 1}, "hq-finance": {"hq": 2}}
    users = sorted(r.inputs["userName"] for r in aws_pool.of_type(WORKSPACE))
    assert users == [
        "hq-hq-finance-01", "hq-hq-finance-02", "sh-0001-cashier-01", "sh-0001-cashier-02", "sh-0002-cashier-01",
    ]
    assert sorted(aws_pool.values["seat_ids"]) == users


def test_every_workspace_is_encrypted_and_auto_stops(aws_pool: Scenario) -> None:
    workspaces = aws_pool.of_type(WORKSPACE)
    assert len(workspaces) == 5
    for workspace in workspaces:
        assert workspace.inputs["rootVolumeEncryptionEnabled"] is True
        assert workspace.inputs["userVolumeEncryptionEnabled"] is True
        assert workspace.inputs["volumeEncryptionKey"] == "alias/aws/workspaces"
        properties = workspace.inputs["workspaceProperties"]
        assert properties["runningMode"] == "AUTO_STOP"
        assert properties["runningModeAutoStopTimeoutInMinutes"] == 60
    bundles = {w.inputs["userName"]: w.inputs["bundleId"] for w in workspaces}
    assert bundles["sh-0002-cashier-01"] == "wsb-abc123def"
    # A role given by bundle name gets the id the WorkSpaces lookup returns.
    assert bundles["hq-hq-finance-01"].startswith("wsb-") and bundles["hq-hq-finance-01"] != "wsb-abc123def"
    assert bundles["hq-hq-finance-01"] == bundles["hq-hq-finance-02"]


def test_ip_access_group_allows_only_store_and_hq_ranges(aws_pool: Scenario) -> None:
    (group,) = aws_pool.of_type("aws:workspaces/ipGroup:IpGroup")
    assert sorted(rule["source"] for rule in group.inputs["rules"]) == ["10.0.0.0/16", "10.64.0.0/12"]
    (directory,) = aws_pool.of_type("aws:workspaces/directory:Directory")
    assert directory.inputs["ipGroupIds"] == [group.resource_id]
    assert directory.inputs["subnetIds"] == ["subnet-a", "subnet-b"]
    assert directory.inputs["workspaceCreationProperties"]["enableInternetAccess"] is False
    (directory_service,) = aws_pool.of_type("aws:directoryservice/directory:Directory")
    assert len(secret_value(directory_service.inputs["password"])) == 32


def test_workspaces_are_tagged_with_role_and_store(aws_pool: Scenario) -> None:
    for workspace in aws_pool.of_type(WORKSPACE):
        tags = workspace.inputs["tags"]
        assert tags["storestack:component"] == "desktop-pool"
        assert tags["storestack:role"] in {"cashier", "hq-finance"}
        assert workspace.inputs["userName"].startswith(tags["storestack:store"])
        assert all(tags[k] == v for k, v in FLEET_TAGS.items())


def test_openstack_seats_boot_from_encrypted_volumes_of_their_role_image(openstack_pool: Scenario) -> None:
    volumes = {r.name: r for r in openstack_pool.of_type("openstack:blockstorage/volume:Volume")}
    instances = openstack_pool.of_type("openstack:compute/instance:Instance")
    assert len(volumes) == len(instances) == 5
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
        expected_flavor = "d4.large" if "hq-finance" in instance.name else "d2.medium"
        assert instance.inputs["flavorName"] == expected_flavor


def test_openstack_security_group_opens_remote_desktop_to_allowed_ranges_only(openstack_pool: Scenario) -> None:
    rules = openstack_pool.of_type("openstack:networking/secGroupRule:SecGroupRule")
    assert sorted(r.inputs["remoteIpPrefix"] for r in rules) == ["10.0.0.0/16", "10.64.0.0/12"]
    assert {r.inputs["portRangeMin"] for r in rules} == {3389}


def test_a_pool_open_to_the_internet_is_rejected() -> None:
    with pytest.raises(ValidationError, match="not a private"):
        desktop_pool_args("aws", allowed_ranges=["0.0.0.0/0"])


def test_seats_for_a_role_without_a_bundle_are_rejected() -> None:
    with pytest.raises(ValidationError, match="no bundle"):
        desktop_pool_args("aws", seats=[SeatRequest(role="it-admin", store=None, count=1)])
