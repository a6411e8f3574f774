"""The seam between stacks and appliances: stack values in, the device side's types out.

- The renderer the store stack calls: `StoreEdge` hands over its live tunnel values and gets the
  appliance's intended config back, rendered by the same code as `storestack devices render`.
- A store stack's outputs read back as `StoreCloudOutputs` (rollout, drift, tests), and the core
  stack's as `CoreCloudOutputs` (the cloud ends of the hub tunnels, for the hub configs).

It lives in `stacks` because it knows stack shapes: `devices` stays below it and never hears of
a stack, while `rollout` and `cli` (above `stacks`) use it. `storestack.components` defines the
context (`EdgeRenderContext`); this module reads it by shape, so reading outputs back (rollout,
drift) does not import Pulumi.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from storestack.devices.render import render_appliance
from storestack.inventory import Fleet
from storestack.inventory.errors import InventoryIssue
from storestack.inventory.source import Loc, SourceDocument
from storestack.network.errors import StackOutputsError
from storestack.network.outputs import (
    AwsTunnelOutput,
    CoreCloudOutputs,
    HubAwsTunnelOutput,
    HubOpenStackOutput,
    HubTunnelOutput,
    StoreCloudOutputs,
    describe_validation_error,
    issues_line,
    outputs_issue,
    read_outputs_source,
    validation_issues,
)


class EdgeTunnelLike(Protocol):
    @property
    def peer_kind(self) -> str: ...
    @property
    def peer_name(self) -> str: ...
    @property
    def wan_link(self) -> str: ...
    @property
    def peer_outside_address(self) -> ipaddress.IPv4Address: ...
    @property
    def inside_cidr(self) -> ipaddress.IPv4Network: ...
    @property
    def local_inside_address(self) -> ipaddress.IPv4Address: ...
    @property
    def peer_inside_address(self) -> ipaddress.IPv4Address: ...
    @property
    def psk(self) -> SecretStr: ...


class EdgeWanLinkLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tunnels(self) -> Sequence[EdgeTunnelLike]: ...


class EdgeContextLike(Protocol):
    @property
    def store_id(self) -> str: ...
    @property
    def hostname(self) -> str: ...
    @property
    def store_wan_links(self) -> Sequence[EdgeWanLinkLike]: ...
    @property
    def planned(self) -> bool: ...


class EdgeConfigRenderer(Protocol):
    """What `StoreSite(renderer=...)` calls (its `ApplianceConfigRenderer`, read by shape)."""

    def __call__(self, context: EdgeContextLike) -> str: ...


def outputs_from_edge_context(context: EdgeContextLike) -> StoreCloudOutputs:
    """The store stack's tunnel values as the device templates take them."""
    links: list[dict[str, object]] = []
    aws: list[dict[str, object]] = []
    # The whole store's tunnels: the device render checks stack values against every WAN link.
    for link in context.store_wan_links:
        aws_number = 0
        for tunnel in link.tunnels:
            if tunnel.peer_kind == "hub":
                links.append(
                    {
                        "link": tunnel.wan_link,
                        "hub": tunnel.peer_name,
                        "outside_address": tunnel.peer_outside_address,
                        "inside": ipaddress.IPv4Interface(
                            (tunnel.local_inside_address, tunnel.inside_cidr.prefixlen)
                        ),
                        "inside_peer": tunnel.peer_inside_address,
                        "psk": tunnel.psk,
                    }
                )
            elif tunnel.peer_kind == "aws":
                aws_number += 1
                aws.append(
                    {
                        "link": tunnel.wan_link,
                        "tunnel": aws_number,
                        "outside_address": tunnel.peer_outside_address,
                        "inside_cidr": tunnel.inside_cidr,
                        "psk": tunnel.psk,
                    }
                )
    try:
        return StoreCloudOutputs(
            store_id=context.store_id,
            links=[HubTunnelOutput.model_validate(item) for item in links],
            aws_tunnels=[AwsTunnelOutput.model_validate(item) for item in aws],
            planned=context.planned,
        )
    except ValueError as exc:
        raise StackOutputsError(
            f"store {context.store_id}: stack values do not fit the device templates: {exc}"
        ) from None


def outputs_from_store_stack(
    store_id: str,
    tunnels: Sequence[Mapping[str, object]],
    psks: Mapping[str, str],
    *,
    planned: bool,
) -> StoreCloudOutputs:
    """A store stack's `tunnels` and `tunnel_psks` outputs (live or planned) as the templates take them.

    The same shape `StoreEdge` renders from, read back from the stack's outputs.
    """
    links: list[HubTunnelOutput] = []
    aws: list[AwsTunnelOutput] = []
    aws_numbers: dict[str, int] = {}
    try:
        for tunnel in tunnels:
            name = str(tunnel["name"])
            if name not in psks:
                raise StackOutputsError(f"store {store_id}: tunnel {name} has no PSK in the stack outputs")
            inside_cidr = ipaddress.IPv4Network(str(tunnel["inside_cidr"]))
            if tunnel["peer_kind"] == "hub":
                links.append(
                    HubTunnelOutput.model_validate(
                        {
                            "link": tunnel["wan_link"],
                            "hub": tunnel.get("peer_name"),
                            "outside_address": tunnel["peer_outside_address"],
                            "inside": ipaddress.IPv4Interface(
                                (str(tunnel["local_inside_address"]), inside_cidr.prefixlen)
                            ),
                            "inside_peer": tunnel["peer_inside_address"],
                            "psk": psks[name],
                        }
                    )
                )
            elif tunnel["peer_kind"] == "aws":
                link = str(tunnel["wan_link"])
                aws_numbers[link] = aws_numbers.get(link, 0) + 1
                aws.append(
                    AwsTunnelOutput.model_validate(
                        {
                            "link": link,
                            "tunnel": aws_numbers[link],
                            "outside_address": tunnel["peer_outside_address"],
                            "inside_cidr": inside_cidr,
                            "psk": psks[name],
                        }
                    )
                )
        return StoreCloudOutputs(store_id=store_id, links=links, aws_tunnels=aws, planned=planned)
    except KeyError as exc:
        raise StackOutputsError(f"store {store_id}: stack outputs lack the tunnel field {exc.args[0]!r}") from None
    except ValidationError as exc:
        raise StackOutputsError(
            f"store {store_id}: stack outputs do not fit the device templates: {describe_validation_error(exc)}"
        ) from None
    except ValueError as exc:
        raise StackOutputsError(f"store {store_id}: stack outputs do not fit the device templates: {exc}") from None


def outputs_from_core_stack(
    values: Mapping[str, object], *, planned: bool, document: SourceDocument | None = None
) -> CoreCloudOutputs:
    """The core stack's hub tunnel outputs (live or planned) as the network intent takes them.

    `hub_vpn_tunnels` / `hub_vpn_psks` are keyed `<region>/<hub>`, `openstack_hub_tunnels` and
    `openstack_vpn_psks` `<site>/<hub>` (see `HybridCloud`). Every problem is reported at once,
    each at its place in the outputs: with the `document` they were read from, its file and line."""
    reader = _CoreOutputsReader(document)
    hub_aws: list[HubAwsTunnelOutput] = []
    hub_openstack: list[HubOpenStackOutput] = []
    aws_psks = reader.mapping(values.get("hub_vpn_psks"), ("hub_vpn_psks",))
    for key, vpn in sorted(reader.mapping(values.get("hub_vpn_tunnels"), ("hub_vpn_tunnels",)).items()):
        at: Loc = ("hub_vpn_tunnels", key)
        vpn = reader.mapping(vpn, at)
        keys = aws_psks.get(key)
        for index, tunnel in enumerate(reader.sequence(vpn.get("tunnels"), (*at, "tunnels"))):
            tunnel_at: Loc = (*at, "tunnels", index)
            tunnel = reader.mapping(tunnel, tunnel_at)
            psk = keys[index] if isinstance(keys, list) and len(keys) > index else None
            fields = {
                "hub": ((*at, "hub"), vpn.get("hub", _MISSING)),
                "region": ((*at, "region"), vpn.get("region", _MISSING)),
                "tunnel": (tunnel_at, index + 1),
                "outside_address": ((*tunnel_at, "outside_address"), tunnel.get("outside_address", _MISSING)),
                "inside_cidr": ((*tunnel_at, "inside_cidr"), tunnel.get("inside_cidr", _MISSING)),
                "psk": (("hub_vpn_psks", key, index), psk),
            }
            hub_aws += reader.model(HubAwsTunnelOutput, fields, tunnel_at)
    openstack_psks = reader.mapping(values.get("openstack_vpn_psks"), ("openstack_vpn_psks",))
    for key, tunnel in sorted(reader.mapping(values.get("openstack_hub_tunnels"), ("openstack_hub_tunnels",)).items()):
        at = ("openstack_hub_tunnels", key)
        tunnel = reader.mapping(tunnel, at)
        psk = openstack_psks.get(key)
        fields = {
            "hub": ((*at, "hub"), tunnel.get("hub", _MISSING)),
            "site": ((*at, "site"), tunnel.get("site", _MISSING)),
            "gateway_address": ((*at, "peer_outside_address"), tunnel.get("peer_outside_address", _MISSING)),
            "psk": (("openstack_vpn_psks", key), psk if isinstance(psk, str) else None),
        }
        hub_openstack += reader.model(HubOpenStackOutput, fields, at)
    if not reader.issues:
        try:
            return CoreCloudOutputs(hub_aws=hub_aws, hub_openstack=hub_openstack, planned=planned)
        except ValidationError as exc:
            reader.issues += validation_issues(exc, document, reader.source, ())
    raise StackOutputsError(
        issues_line(reader.issues, f"{reader.source} do not fit the hub configs: {reader.issues[0]}"), reader.issues
    )


M = TypeVar("M", bound=BaseModel)

# A field the core stack's outputs lack: left out of what is validated, so the model names it.
_MISSING = object()


class _CoreOutputsReader:
    """The core stack's outputs read into the hub tunnels' models, every problem kept as an issue."""

    def __init__(self, document: SourceDocument | None) -> None:
        self.document = document
        self.source = document.display if document is not None else "core stack outputs"
        self.issues: list[InventoryIssue] = []

    def refuse(self, loc: Loc, message: str) -> None:
        self.issues.append(outputs_issue(self.document, self.source, loc, message))

    def mapping(self, value: object, loc: Loc) -> Mapping[str, object]:
        if value is None or isinstance(value, Mapping):
            return value or {}
        self.refuse(loc, f"should be a mapping, got {type(value).__name__}")
        return {}

    def sequence(self, value: object, loc: Loc) -> Sequence[object]:
        if isinstance(value, list):
            return value
        self.refuse(loc, f"should be a list, got {type(value).__name__}")
        return []

    def model(self, model: type[M], fields: Mapping[str, tuple[Loc, object]], at: Loc) -> list[M]:
        """`model` from `fields` (each its place and value), or nothing and its problems kept."""
        data = {name: value for name, (_, value) in fields.items() if value is not _MISSING}
        try:
            return [model.model_validate(data)]
        except ValidationError as exc:
            places = {name: loc for name, (loc, _) in fields.items()}
            self.issues += validation_issues(exc, self.document, self.source, at, places)
            return []


def load_core_outputs(path: Path) -> CoreCloudOutputs:
    """The core stack's outputs from a file (`pulumi stack output --json --show-secrets`, mode
    0600), every problem named by its file, line and field."""
    document = read_outputs_source(path)
    if not isinstance(document.data, Mapping):
        issue = document.issue((), "expected the core stack's outputs as a mapping")
        raise StackOutputsError(str(issue), [issue])
    return outputs_from_core_stack(document.data, planned=False, document=document)


def appliance_config_renderer(
    fleet: Fleet, *, reveal_secrets: bool = True
) -> EdgeConfigRenderer:
    """A renderer for `StoreSite(renderer=...)`: the intended config of the context's appliance.

    With `reveal_secrets` (the default, since the stack keeps the result as a secret output and
    the push takes it from there) device secrets come from the environment like any push file.
    """

    def render(context: EdgeContextLike) -> str:
        outputs = {context.store_id: outputs_from_edge_context(context)}
        store = fleet.store(context.store_id)
        if not any(appliance.hostname == context.hostname for appliance in store.appliances):
            raise StackOutputsError(
                f"store {context.store_id} has no appliance {context.hostname!r} in the inventory"
            )
        return render_appliance(
            fleet, context.store_id, context.hostname, outputs=outputs, reveal_secrets=reveal_secrets
        ).text

    return render
