"""Deterministic Pulumi mocks, shared by the component tests and the offline planner.

The mocks stand in for the engine and the providers. Every computed value (ids, ARNs, tunnel
addresses, generated passwords) is derived from the resource's type and name, so the same program
always produces the same plan. AWS's tunnel outside addresses are the network intent's planned
ones for the tunnel's inside /30 (`network.cloud.planned_aws_outside`), and an OpenStack site's
gateway floating IP the planned gateway of the site's slot
(`network.cloud.planned_openstack_gateway`): there is one model of planned values, and a plan's
outputs are its values. Referenced stacks answer with mock outputs, as Terragrunt's
`mock_outputs` do.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import ipaddress
import string
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, resource_pb2

from storestack.common.asn import TRANSIT_GATEWAY_ASN_DEFAULT, VPN_GATEWAY_ASN_DEFAULT
from storestack.components.openstack_site import gateway_address_name
from storestack.network.cloud import AWS_RESERVED_INSIDE, planned_aws_outside, planned_openstack_gateway
from storestack.stacks.errors import StackReferenceError

T = TypeVar("T")

MOCK_ACCOUNT_ID = "123456789012"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
VPN_GATEWAY = "aws:ec2/vpnGateway:VpnGateway"
# The Amazon-side ASN each kind of gateway gets when it is created without one.
_DEFAULT_AMAZON_ASN = {TRANSIT_GATEWAY: TRANSIT_GATEWAY_ASN_DEFAULT, VPN_GATEWAY: VPN_GATEWAY_ASN_DEFAULT}
# Public addresses the mocks hand out: the three documentation ranges (RFC 5737).
_TEST_NETS = [ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
_ALPHANUMERIC = string.ascii_letters + string.digits


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def _hex(*parts: str, length: int = 17) -> str:
    return _digest(*parts).hex()[:length]


def _public_address(*parts: str) -> str:
    value = int.from_bytes(_digest(*parts)[:4], "big")
    network = _TEST_NETS[value % len(_TEST_NETS)]
    return str(network[1 + (value >> 8) % 253])


def _inside_cidr(*parts: str) -> str:
    value = int.from_bytes(_digest(*parts)[:4], "big")
    while True:
        block = value % (1 << 14)
        cidr = str(ipaddress.IPv4Network((0xA9FE0000 + block * 4, 30)))
        if ipaddress.IPv4Network(cidr) not in AWS_RESERVED_INSIDE:
            return cidr
        value += 1


def _availability_zones(args: Mapping[str, Any]) -> dict[str, Any]:
    """Zones of a region as an account would see them; a `zone-id` filter keeps only those IDs.

    AZ names map to AZ IDs per account, so the mock pairs them in a fixed but non-obvious order.
    """
    region = str(args.get("region") or "eu-west-1")
    area, direction, number = region.split("-")[0], region.split("-")[1], region.split("-")[-1]
    short = {"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}.get(direction, direction[0])
    prefix = f"{area}{short}{number}"  # eu-west-1 -> euw1, ap-southeast-2 -> apse2, as AWS spells AZ IDs
    zone_ids = [f"{prefix}-az{n}" for n in (1, 2, 3, 4, 6)]
    for entry in args.get("filters") or []:
        if entry.get("name") == "zone-id":
            zone_ids = [z for z in zone_ids if z in set(entry.get("values") or [])]
    names = [f"{region}{letter}" for letter in "cabde"[: len(zone_ids)]]
    return {"zoneIds": zone_ids, "names": names, "region": region}


def referenced_gateway_asns(stack_outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The Amazon-side ASN of every Transit Gateway a referenced stack's outputs name: the core
    stack's `regions` output, one entry per region with its `transit_gateway_id` and
    `amazon_side_asn` (`HybridCloud.regions`, `stacks.core.mock_outputs`)."""
    asns: dict[str, int] = {}
    for outputs in stack_outputs.values():
        regions = outputs.get("regions")
        if not isinstance(regions, Mapping):
            continue
        for region in regions.values():
            if not isinstance(region, Mapping):
                continue
            gateway, asn = region.get("transit_gateway_id"), region.get("amazon_side_asn")
            # A malformed entry names no gateway: a VPN attached to it then fails for want of its ASN.
            number = asn if isinstance(asn, int | float) and not isinstance(asn, bool) else None
            if isinstance(gateway, str) and number is not None and float(number).is_integer():
                asns[gateway] = int(number)
    return asns


def _password(name: str, length: int) -> str:
    raw = _digest("password", name) + _digest("password-2", name)
    return "".join(_ALPHANUMERIC[b % len(_ALPHANUMERIC)] for b in raw)[:length]


@dataclass
class RecordedResource:
    """One resource the program registered, with inputs as the engine saw them (secrets still wrapped)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    resource_id: str = ""
    # URNs the engine would wait for before creating this resource (inputs and `depends_on`).
    dependencies: tuple[str, ...] = ()
    # The URN of the explicit provider the resource is created with ("" for the default provider).
    provider: str = ""
    # Input properties a later `up` leaves as they are (the `ignore_changes` option, engine names).
    ignore_changes: tuple[str, ...] = ()
    # The `protect` option: an `up` that would delete the resource, a replacement included, fails.
    protect: bool = False


@dataclass(frozen=True)
class RecordedInvoke:
    """One data-source call (e.g. `aws:workspaces/getBundle:getBundle`) and its arguments."""

    token: str
    args: dict[str, Any]
    result: dict[str, Any] | None = None


class StorestackMocks(pulumi_mocks.Mocks):
    """Computed values for the resource types storestack uses; stack references answer with mocks.

    `openstack_sites` are the fleet's OpenStack sites with their slots (IPAM): each one's gateway
    floating IP is its planned gateway address (any other floating IP a stable documentation address).

    A VPN connection's tunnels report the Amazon-side ASN of the gateway it is attached to, as AWS
    does (the customer gateway configuration's `vpn_gateway/bgp/asn`, the provider's
    `tunnelN_bgp_asn`): a gateway the program creates (its `amazon_side_asn`, else AWS's default), a
    Transit Gateway a referenced stack names (`referenced_gateway_asns`), or one of `gateways`,
    those the account holds outside the program (id -> ASN). A VPN connection to any other gateway
    fails, as CreateVpnConnection does."""

    def __init__(
        self,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        secret_stack_outputs: Mapping[str, list[str]] | None = None,
        account_id: str = MOCK_ACCOUNT_ID,
        openstack_sites: Mapping[str, int] | None = None,
        gateways: Mapping[str, int] | None = None,
    ) -> None:
        self.stack_outputs = dict(stack_outputs or {})
        self.amazon_asns: dict[str, int] = {**referenced_gateway_asns(self.stack_outputs), **dict(gateways or {})}
        self.secret_stack_outputs = dict(secret_stack_outputs or {})
        self.account_id = account_id
        self.planned_gateways = {
            gateway_address_name(site): str(planned_openstack_gateway(slot))
            for site, slot in (openstack_sites or {}).items()
        }

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        typ, name = args.typ, args.name
        state = dict(args.inputs)
        if typ == "pulumi:pulumi:StackReference":
            ref = str(args.resource_id or state.get("name") or name)
            return ref, {
                "name": ref,
                "outputs": dict(self.stack_outputs.get(ref, {})),
                "secretOutputNames": sorted(self.secret_stack_outputs.get(ref, [])),
            }
        if not args.custom:
            return "", state
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider-id", state
        resource_id = self._resource_id(typ, name)
        computed = self._computed(typ, name, state, resource_id)
        for key, value in computed.items():
            state.setdefault(key, value)
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        wanted = str(args.args.get("name", ""))
        result: dict[str, Any] = {"id": _hex(args.token, wanted, length=32), "name": wanted}
        if args.token.endswith(":getNetwork"):
            result["external"] = True
        if args.token == "openstack:identity/getAuthScope:getAuthScope":
            result["userId"] = _hex("user", wanted, length=32)
        if args.token == "aws:kms/getKey:getKey":
            # DescribeKey answers an alias with the key it names: the key's id and ARN.
            region = str(args.args.get("region") or "eu-west-1")
            key = _hex("kms-key", str(args.args.get("keyId", "")), length=32)
            result["id"] = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
            result["arn"] = f"arn:aws:kms:{region}:{self.account_id}:key/{result['id']}"
        if args.token.endswith(":getBundle"):
            result["bundleId"] = f"wsb-{_hex('bundle', wanted, length=9)}"
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            result.update(_availability_zones(args.args))
        return result, []

    # --- computed values ----------------------------------------------------------------------

    @staticmethod
    def _resource_id(typ: str, name: str) -> str:
        prefixes = {
            "aws:ec2/vpc:Vpc": "vpc-",
            "aws:ec2/subnet:Subnet": "subnet-",
            "aws:ec2/customerGateway:CustomerGateway": "cgw-",
            "aws:ec2/vpnConnection:VpnConnection": "vpn-",
            "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw-",
            "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb-",
            "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach-",
            "aws:ec2/flowLog:FlowLog": "fl-",
            "aws:workspaces/workspace:Workspace": "ws-",
            "aws:workspaces/ipGroup:IpGroup": "wsipg-",
            "aws:directoryservice/directory:Directory": "d-",
        }
        prefix = prefixes.get(typ, "")
        return f"{prefix}{_hex(typ, name)}" if prefix else f"{name}-{_hex(typ, name, length=8)}"

    def _computed(self, typ: str, name: str, state: Mapping[str, Any], resource_id: str) -> dict[str, Any]:
        computed: dict[str, Any] = {}
        region = str(state.get("region") or "eu-west-1")
        if typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            computed["arn"] = f"arn:aws:{service}:{region}:{self.account_id}:{resource_id}"
            computed["tagsAll"] = dict(state.get("tags") or {})
        if typ == "aws:iam/role:Role":
            computed["arn"] = f"arn:aws:iam::{self.account_id}:role/{state.get('name', name)}"
        elif typ == "aws:s3/bucket:Bucket":
            computed["arn"] = f"arn:aws:s3:::{state.get('bucket', name)}"
            computed["bucket"] = state.get("bucket", name)
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            computed["arn"] = f"arn:aws:logs:{region}:{self.account_id}:log-group:{state.get('name', name)}"
        elif typ in _DEFAULT_AMAZON_ASN:
            asn = state.get("amazonSideAsn")
            self.amazon_asns[resource_id] = int(float(asn)) if asn is not None else _DEFAULT_AMAZON_ASN[typ]
            # The provider reads the ASN back: a number for a Transit Gateway, a string for a VGW.
            computed["amazonSideAsn"] = self.amazon_asns[resource_id] if typ == TRANSIT_GATEWAY else str(self.amazon_asns[resource_id])
        elif typ == "aws:ec2/vpnConnection:VpnConnection":
            computed["transitGatewayAttachmentId"] = f"tgw-attach-{_hex('attachment', name)}"
            amazon_asn = self._amazon_asn(name, state)
            for n in (1, 2):
                inside = str(state.get(f"tunnel{n}InsideCidr") or _inside_cidr(name, str(n)))
                network = ipaddress.IPv4Network(inside)
                computed[f"tunnel{n}InsideCidr"] = inside
                # The network intent's planned address for this /30: a plan, and the lab's cloud
                # VPN stand-in configured from it, answer where the planned configs dial.
                computed[f"tunnel{n}Address"] = str(planned_aws_outside(network))
                computed[f"tunnel{n}VgwInsideAddress"] = str(network[1])
                computed[f"tunnel{n}CgwInsideAddress"] = str(network[2])
                computed[f"tunnel{n}BgpAsn"] = str(amazon_asn)
                computed[f"tunnel{n}BgpHoldtime"] = 30
        elif typ == "aws:workspaces/directory:Directory":
            computed["directoryId"] = state.get("directoryId", resource_id)
        elif typ == "random:index/randomPassword:RandomPassword":
            length = int(state.get("length", 16))
            computed["result"] = _password(name, length)
            computed["bcryptHash"] = "$2a$10$" + _hex("bcrypt", name, length=53)
        elif typ == "openstack:networking/router:Router":
            computed["externalFixedIps"] = [
                {"ipAddress": _public_address("router", name), "subnetId": _hex("ext-subnet", name, length=32)}
            ]
        elif typ == "openstack:networking/floatingIp:FloatingIp":
            computed["address"] = self.planned_gateways.get(name) or _public_address("floating-ip", name)
        elif typ == "openstack:networking/secGroup:SecGroup":
            computed["name"] = state.get("name", name)
        elif typ == "openstack:identity/applicationCredential:ApplicationCredential":
            # Keystone generates the secret when none is given.
            computed["secret"] = _password(name, 40)
        return computed

    def _amazon_asn(self, name: str, state: Mapping[str, Any]) -> int:
        """The Amazon-side ASN of the gateway VPN connection `name` is attached to."""
        gateway = str(state.get("transitGatewayId") or state.get("vpnGatewayId") or "")
        if gateway not in self.amazon_asns:
            raise StackReferenceError(
                f"VPN connection {name}: gateway {gateway or '(none)'} is neither created by the program "
                "nor named by a referenced stack, so its Amazon-side ASN is unknown"
            )
        return self.amazon_asns[gateway]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also remembers parents, raw inputs and component outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: dict[str, RecordedResource] = {}
        self.registered_urns: list[str] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.invokes: list[RecordedInvoke] = []

    # The three calls below follow MockMonitor's, but serialise without pumping the event loop
    # (see `_serialize`), so they can run inline on the loop's thread without nesting.

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = rpc.deserialize_properties(request.object)
        resource_id, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                # storestack registers no resource transforms, so there are none to hand over.
                transforms=[],
            )
        )
        resource_id = resource_id or ""
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        self._record(request, urn, resource_id, inputs, state, custom=bool(request.custom))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=_serialize(state))

    def ReadResource(self, request: Any) -> Any:
        inputs = rpc.deserialize_properties(request.properties)
        resource_id, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.id,
            )
        )
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        self._record(request, urn, str(request.id), {}, state, custom=True)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=_serialize(state))

    def Invoke(self, request: Any) -> Any:
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)
        args = rpc.deserialize_properties(request.args)
        result, failures = self.mocks.call(pulumi_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        self.invokes.append(RecordedInvoke(token=request.tok, args=dict(args), result=dict(result)))
        checks = [provider_pb2.CheckFailure(property=prop, reason=reason) for prop, reason in failures or []]
        return resource_pb2.ResourceInvokeResponse(failures=checks, **{"return": _serialize(result)})

    def _record(
        self, request: Any, urn: str, resource_id: str, inputs: dict[str, Any], state: dict[str, Any], *, custom: bool
    ) -> None:
        self.registered_urns.append(urn)
        self.recorded[urn] = RecordedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=custom,
            inputs=inputs,
            outputs=dict(state),
            resource_id=resource_id,
            dependencies=tuple(getattr(request, "dependencies", ()) or ()),
            # A provider reference is "<provider URN>::<provider id>".
            provider=str(getattr(request, "provider", "") or "").rsplit("::", 1)[0],
            ignore_changes=tuple(getattr(request, "ignoreChanges", ()) or ()),
            protect=bool(getattr(request, "protect", False)),
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.component_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def _serialize(properties: dict[str, Any]) -> Any:
    """Serialise plain mock state at once.

    `rpc.serialize_properties` is a coroutine, but for plain values it never suspends, so it can be
    driven to completion directly instead of pumping the (possibly running) event loop. Should it
    ever suspend, the mock handed back something that is not plain data, which is a bug in the mock.
    """
    coroutine = rpc.serialize_properties(properties, {})
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("mock state must be plain values; serialising it suspended")


@dataclass
class StackOutput:
    value: Any
    secret: bool
    known: bool


@dataclass
class MockRun:
    """What one program did under mocks: its resources in registration order and its stack outputs."""

    project: str
    stack: str
    resources: list[RecordedResource]
    component_outputs: dict[str, dict[str, Any]]
    outputs: dict[str, StackOutput]
    stack_urn: str
    invokes: list[RecordedInvoke] = field(default_factory=list)


class _InlineExecutor(ThreadPoolExecutor):
    """Runs each submitted call at once on the calling thread.

    The SDK hands every monitor call to the loop's default executor because a real engine answers
    over gRPC; the mock monitor answers in microseconds, so the thread hop is pure overhead.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as a thread pool would
            future.set_exception(exc)
        return future


# What asyncio says of a future that failed and was never awaited, when the collector frees it.
_UNRETRIEVED = frozenset({"Future exception was never retrieved", "Task exception was never retrieved"})


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler: a failed output nobody awaited says nothing, the rest as usual.

    A program that fails raises its error from `pulumi.runtime.test`; the outputs that failed with
    it (every input of every resource fed from one bad stack output) are never awaited, and the SDK
    keeps them until the next run replaces its state. Left to the default handler, each would print
    its traceback on stderr then, in the middle of the next stack's plan; in CPython 3.11, printed
    from inside a running `compile()` (the collector can run there), it even breaks that compile
    ("SystemError: AST constructor recursion depth mismatch").
    """
    if context.get("message") in _UNRETRIEVED and "exception" in context:
        return
    loop.default_exception_handler(context)


def _isolated_loop() -> asyncio.AbstractEventLoop:
    """A fresh event loop whose default executor runs monitor calls inline, and that prints nothing
    of the failed outputs a failed run leaves behind (`_quiet_unretrieved`)."""
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_InlineExecutor(max_workers=1))
    loop.set_exception_handler(_quiet_unretrieved)
    return loop


def evaluate_under_mocks(
    build: Callable[[], pulumi.Output[T]],
    monitor: RecordingMonitor,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    preview: bool = True,
) -> T:
    """Run `build` in a fresh mock runtime and return what its result resolves to.

    Only public SDK entry points are used: the runtime state (root stack, settings, config) lives
    in context variables, so each run gets an empty `contextvars.Context` and its own event loop,
    `pulumi.runtime.set_mocks` installs the monitor, and `pulumi.runtime.test` waits for the
    result and every outstanding registration.
    """
    result: list[T] = []

    def run() -> None:
        loop = _isolated_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_all_config(dict(config or {}), [])
            pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)

            @pulumi.runtime.test
            def evaluate() -> pulumi.Output[None]:
                return build().apply(result.append)

            evaluate()
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    contextvars.Context().run(run)
    return result[0]


def run_program_under_mocks(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    mocks: StorestackMocks | None = None,
    preview: bool = True,
) -> MockRun:
    """Run `program` in a fresh mock runtime and return everything it registered and exported.

    Each call starts from an empty runtime (root stack, settings, config), so runs never see each
    other's state.
    """
    mocks = mocks or StorestackMocks()
    monitor = RecordingMonitor(mocks)

    def build() -> pulumi.Output[dict[str, StackOutput]]:
        program()
        root = pulumi.runtime.get_root_resource()
        exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
        return pulumi.Output.from_input(_resolve_outputs(exported))

    outputs = evaluate_under_mocks(build, monitor, project=project, stack=stack, config=config, preview=preview)
    resources = [monitor.recorded[urn] for urn in monitor.registered_urns]
    return MockRun(
        project=project,
        stack=stack,
        resources=resources,
        component_outputs=dict(monitor.component_outputs),
        outputs=outputs,
        stack_urn=f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}",
        invokes=list(monitor.invokes),
    )


async def _resolve_outputs(exported: Mapping[str, Any]) -> dict[str, StackOutput]:
    """Each stack output's value (unknowns as None), secret-ness and known-ness, by public Output methods."""
    outputs: dict[str, StackOutput] = {}
    for key in sorted(exported):
        value, secret, known = await _resolve(exported[key])
        outputs[key] = StackOutput(value=value if known else None, secret=secret, known=known)
    return outputs


async def _resolve(value: Any) -> tuple[Any, bool, bool]:
    """(value, secret, known) of an exported value, as `Output.from_input(value)` resolves it.

    `from_input` makes an Output of every nested value (each leaf of a list of dicts) and walks
    the whole value again at each level; a stack's outputs are mostly plain data, so walking them
    once here costs a fraction of that. Secret if any part is, known if every part is.
    """
    if isinstance(value, pulumi.Output):
        inner = await value.future(with_unknowns=True)
        secret, known = await value.is_secret(), await value.is_known()
        resolved, inner_secret, inner_known = await _resolve(inner)
        return resolved, secret or inner_secret, known and inner_known
    if isinstance(value, dict) and value:
        parts = {key: await _resolve(item) for key, item in value.items()}
        return (
            {key: part[0] for key, part in parts.items()},
            any(part[1] for part in parts.values()),
            all(part[2] for part in parts.values()),
        )
    if isinstance(value, list | tuple) and value:
        items = [await _resolve(item) for item in value]
        resolved = [item[0] for item in items]
        return (
            tuple(resolved) if isinstance(value, tuple) else resolved,
            any(item[1] for item in items),
            all(item[2] for item in items),
        )
    if value is None or isinstance(value, str | int | float | dict | list | tuple):
        return value, False, not rpc.contains_unknowns(value)
    # Anything else (an input class, an awaitable) resolves as the SDK does.
    output = pulumi.Output.from_input(value)
    return await output.future(with_unknowns=True), bool(await output.is_secret()), bool(await output.is_known())


def unwrap_secrets(value: Any) -> Any:
    """A value with every secret wrapper removed (for code that has already checked secret-ness)."""
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))
