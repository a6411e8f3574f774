"""Plan checks: what neither the providers nor the engine check when a stack runs under mocks.

Each check looks at the resources a program registered (inputs as the engine would receive them,
secrets still wrapped) and returns findings. A finding is an error unless the user marks its
check advisory.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from storestack.components import COMPONENT_TAG
from storestack.stacks.contract import ContractContext, check_contract
from storestack.stacks.mocks import MockRun, RecordedResource, StackOutput, is_secret
from storestack.stacks.resource_types import is_taggable

CheckName = Literal[
    "duplicate-urn",
    "invalid-cidr",
    "missing-tags",
    "open-admin-port",
    "unencrypted-volume",
    "unmarked-secret",
    "store-isolation",
    "contract",
]
CHECKS: tuple[str, ...] = get_args(CheckName)
ADMIN_PORTS = (22, 23, 3389, 5985, 5986)
ANYWHERE = {"0.0.0.0/0", "::/0"}
DEFAULT_ENCRYPTED_VOLUME_TYPES = frozenset({"luks", "encrypted"})
_SECRET_KEY = re.compile(r"(psk|preshared|password|passphrase|secret|privatekey|private_key|token|adminpass)", re.I)
_SECRET_OUTPUT = re.compile(r"(psk|password|passphrase|secret|config|private)", re.I)
_CIDR_KEY = re.compile(r"(cidr|cidrs|cidrblock|cidrblocks|cidripv4|remoteipprefix)$", re.I)


# Every resource of a type has the same input names, so each name is matched once per process.
@functools.lru_cache(maxsize=4096)
def _secret_named(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


@functools.lru_cache(maxsize=4096)
def _cidr_named(key: str) -> bool:
    return _CIDR_KEY.search(key) is not None


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str
    severity: Literal["error", "advisory"]
    stack: str
    urn: str | None
    message: str


@dataclass(frozen=True)
class CheckContext:
    stack: str
    required_tags: tuple[str, ...]
    advisory: frozenset[str] = frozenset()
    encrypted_volume_types: frozenset[str] = DEFAULT_ENCRYPTED_VOLUME_TYPES
    stores_route_tables: frozenset[str] = field(default_factory=frozenset)
    contract: ContractContext = field(default_factory=ContractContext)


Raw = tuple[str, str | None, str]  # (check, urn, message)


def run_checks(run: MockRun, context: CheckContext) -> list[Finding]:
    raw: list[Raw] = []
    for check in _CHECKS:
        raw.extend(check(run, context))
    return [
        Finding(
            check=name,
            severity="advisory" if name in context.advisory else "error",
            stack=context.stack,
            urn=urn,
            message=message,
        )
        for name, urn, message in raw
    ]


def _duplicate_urns(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    counts = Counter(r.urn for r in run.resources)
    for urn, count in sorted(counts.items()):
        if count > 1:
            yield "duplicate-urn", urn, f"registered {count} times; resources need unique names per type and parent"


def _invalid_cidrs(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    for resource in run.resources:
        for path, key, value in _walk(resource.inputs):
            if not (_cidr_named(key) or (key == "source" and "ipGroup" in resource.type)):
                continue
            for item in value if isinstance(value, list) else [value]:
                if is_secret(item) or not isinstance(item, str):
                    continue
                try:
                    ipaddress.ip_network(item, strict=True)
                except ValueError as exc:
                    yield "invalid-cidr", resource.urn, f"{path}: {item!r} is not a valid CIDR ({exc})"


def _missing_tags(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    wanted = (*context.required_tags, COMPONENT_TAG)
    for resource in run.resources:
        if not resource.custom or not is_taggable(resource.type):
            continue
        tags = _tags(resource.inputs.get("tags"))
        missing = [key for key in wanted if not tags.get(key)]
        if missing:
            yield "missing-tags", resource.urn, f"missing tag(s) {', '.join(missing)}"


def _open_admin_ports(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    for resource in run.resources:
        inputs = resource.inputs
        if resource.type == "openstack:networking/secGroupRule:SecGroupRule":
            if inputs.get("direction") != "ingress" or inputs.get("remoteGroupId"):
                continue
            source = inputs.get("remoteIpPrefix") or "0.0.0.0/0"
            ports = _exposed_admin_ports(inputs.get("portRangeMin"), inputs.get("portRangeMax"))
            if source in ANYWHERE and ports:
                yield "open-admin-port", resource.urn, f"ingress from {source} on admin port(s) {ports}"
        elif resource.type == "aws:ec2/securityGroup:SecurityGroup":
            for rule in inputs.get("ingress") or []:
                ports = _exposed_admin_ports(rule.get("fromPort"), rule.get("toPort"))
                if ANYWHERE & set(rule.get("cidrBlocks") or []) and ports:
                    yield "open-admin-port", resource.urn, f"ingress from anywhere on admin port(s) {ports}"
        elif resource.type in (
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        ):
            if inputs.get("type", "ingress") != "ingress":
                continue
            sources = set(inputs.get("cidrBlocks") or []) | {inputs.get("cidrIpv4") or ""}
            ports = _exposed_admin_ports(inputs.get("fromPort"), inputs.get("toPort"))
            if ANYWHERE & sources and ports:
                yield "open-admin-port", resource.urn, f"ingress from anywhere on admin port(s) {ports}"
        elif resource.type == "aws:workspaces/ipGroup:IpGroup":
            for rule in inputs.get("rules") or []:
                if rule.get("source") in ANYWHERE:
                    yield "open-admin-port", resource.urn, "desktops reachable from anywhere"


def _exposed_admin_ports(low: Any, high: Any) -> list[int]:
    if low is None and high is None:
        return list(ADMIN_PORTS)
    first, last = int(low if low is not None else 0), int(high if high is not None else 65535)
    return [port for port in ADMIN_PORTS if first <= port <= last]


def _unencrypted_volumes(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    for resource in run.resources:
        inputs = resource.inputs
        if resource.type == "aws:workspaces/workspace:Workspace":
            for key in ("rootVolumeEncryptionEnabled", "userVolumeEncryptionEnabled"):
                if inputs.get(key) is not True:
                    yield "unencrypted-volume", resource.urn, f"{key} is not true"
        elif resource.type == "aws:ebs/volume:Volume" and inputs.get("encrypted") is not True:
            yield "unencrypted-volume", resource.urn, "EBS volume without encrypted=true"
        elif resource.type == "aws:ec2/instance:Instance":
            devices = [inputs.get("rootBlockDevice") or {}, *(inputs.get("ebsBlockDevices") or [])]
            if any(device.get("encrypted") is not True for device in devices):
                yield "unencrypted-volume", resource.urn, "instance block device without encrypted=true"
        elif resource.type == "openstack:blockstorage/volume:Volume":
            volume_type = str(inputs.get("volumeType") or "")
            if volume_type not in context.encrypted_volume_types:
                yield (
                    "unencrypted-volume",
                    resource.urn,
                    f"volume type {volume_type or '(default)'!r} is not one of the encrypted types "
                    f"{sorted(context.encrypted_volume_types)}",
                )


def _unmarked_secrets(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    for resource in run.resources:
        for path, key, value in _walk(resource.inputs):
            if _secret_named(key) and value not in (None, "", [], {}) and not is_secret(value):
                yield "unmarked-secret", resource.urn, f"{path} holds a secret that is not marked secret"
    for name, output in run.outputs.items():
        if _SECRET_OUTPUT.search(name) and output.value not in (None, {}, []) and not output.secret:
            yield "unmarked-secret", None, f"stack output {name!r} is not marked secret"


def _store_isolation(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    if not context.stores_route_tables:
        return
    for resource in run.resources:
        if resource.type in (
            "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation",
            "aws:ec2transitgateway/route:Route",
        ) and resource.inputs.get("transitGatewayRouteTableId") in context.stores_route_tables:
            yield (
                "store-isolation",
                resource.urn,
                "a store attachment feeds the stores route table: stores could reach each other",
            )


def _contract(run: MockRun, context: CheckContext) -> Iterator[Raw]:
    """The provider and API rules a real `pulumi up` enforces (see `stacks/contract.py`)."""
    for _rule, urn, message in check_contract(run, context.contract):
        yield "contract", urn, message


_CHECKS: tuple[Callable[[MockRun, CheckContext], Iterator[Raw]], ...] = (
    _duplicate_urns,
    _invalid_cidrs,
    _missing_tags,
    _open_admin_ports,
    _unencrypted_volumes,
    _unmarked_secrets,
    _store_isolation,
    _contract,
)


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) below a dict, descending into lists and secret wrappers' siblings."""
    if isinstance(value, dict) and not is_secret(value):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            yield child, key, item
            yield from _walk(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _tags(value: Any) -> Mapping[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return dict(str(item).split("=", 1) for item in value if "=" in str(item))
    return {}


def secret_outputs(outputs: Mapping[str, StackOutput]) -> list[str]:
    return sorted(name for name, output in outputs.items() if output.secret)


def redact(value: Any, key: str = "") -> Any:
    """A JSON-friendly copy with every secret (marked, or named like one) replaced by `[secret]`."""
    if is_secret(value) or (key and _secret_named(key) and value not in (None, "", [], {})):
        return "[secret]"
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def resource_summary(resource: RecordedResource) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": resource.parent,
        "custom": resource.custom,
        "inputs": redact(resource.inputs),
        "protect": resource.protect,
        "ignore_changes": resource.ignore_changes,
    }
