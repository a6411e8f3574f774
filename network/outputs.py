"""What a store's cloud stack (`StoreSite`) hands to the device templates.

The stacks concern produces one `StoreCloudOutputs` per store from its live Pulumi outputs;
rendering uses it instead of the values planned from the inventory. PSKs are `SecretStr`, so
they never show in a repr, a log line or a JSON dump.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_core import ErrorDetails

from storestack.common.addressing import LINK_LOCAL
from storestack.inventory.errors import InventoryError, InventoryIssue
from storestack.inventory.source import Loc, SourceDocument, decode, dotted, parse_text, read_bytes
from storestack.inventory.types import Cidr, InterfaceAddress, IPv4, Slug, describe
from storestack.network.errors import StackOutputsError

# AWS's own rule for VPN pre-shared keys, which every platform here accepts on one CLI line
# without quoting: 8-64 letters, digits, '.' or '_', not starting with 0.
_PSK_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")


def _check_psk(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if not 8 <= len(text) <= 64 or text[0] == "0" or not set(text) <= _PSK_ALPHABET:
        # The message describes the rule only: the value itself is never echoed.
        raise ValueError("a PSK must be 8-64 letters, digits, '.' or '_' and must not start with 0")
    return value


Psk = Annotated[SecretStr, AfterValidator(_check_psk)]


class _Outputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubTunnelOutput(_Outputs):
    """The IPsec tunnel of one WAN link to one hub (every link reaches each of the store's hubs)."""

    link: Slug = Field(description="WAN link name in the store inventory")
    hub: str | None = Field(
        default=None, description="the hub's hostname; None (older stacks): the link's home hub"
    )
    outside_address: IPv4 = Field(description="public tunnel endpoint on the hub side")
    inside: InterfaceAddress = Field(description="store-side tunnel address; the BGP source")
    inside_peer: IPv4 = Field(description="hub-side tunnel address; the BGP neighbour")
    psk: Psk

    @model_validator(mode="after")
    def _peer_in_subnet(self) -> HubTunnelOutput:
        if self.inside_peer not in self.inside.network or self.inside_peer == self.inside.ip:
            raise ValueError(f"inside_peer {self.inside_peer} is not the other end of {self.inside}")
        return self


class AwsTunnelOutput(_Outputs):
    """One of the two tunnels of an AWS site-to-site VPN connection riding on a WAN link."""

    link: Slug = Field(description="WAN link whose customer gateway carries the tunnel")
    tunnel: Literal[1, 2]
    outside_address: IPv4 = Field(description="AWS tunnel endpoint")
    inside_cidr: Cidr = Field(
        description="/30 in 169.254.0.0/16: AWS uses the first host, the store the second"
    )
    psk: Psk

    @model_validator(mode="after")
    def _link_local_30(self) -> AwsTunnelOutput:
        if self.inside_cidr.prefixlen != 30 or not self.inside_cidr.subnet_of(LINK_LOCAL):
            raise ValueError(f"inside_cidr {self.inside_cidr} must be a /30 inside 169.254.0.0/16")
        return self

    @property
    def aws_inside(self) -> ipaddress.IPv4Address:
        return self.inside_cidr.network_address + 1

    @property
    def store_inside(self) -> ipaddress.IPv4Address:
        return self.inside_cidr.network_address + 2


class StoreCloudOutputs(_Outputs):
    """Everything the device side needs from one store stack."""

    store_id: Slug
    links: list[HubTunnelOutput] = Field(min_length=1)
    aws_tunnels: list[AwsTunnelOutput] = []
    planned: bool = Field(default=False, description="values from a plan or preview, not a live stack")

    @model_validator(mode="after")
    def _unique(self) -> StoreCloudOutputs:
        names = [(tunnel.link, tunnel.hub) for tunnel in self.links]
        if len(names) != len(set(names)):
            raise ValueError("each (WAN link, hub) appears once in links")
        keys = [(tunnel.link, tunnel.tunnel) for tunnel in self.aws_tunnels]
        if len(keys) != len(set(keys)):
            raise ValueError("each (link, tunnel) appears once in aws_tunnels")
        return self

    def hub_tunnel(self, link: str, hub: str, *, home: bool) -> HubTunnelOutput | None:
        """The tunnel of `link` to `hub`; an entry without a hub stands for the link's `home` hub."""
        for tunnel in self.links:
            if tunnel.link == link and (tunnel.hub == hub or (tunnel.hub is None and home)):
                return tunnel
        return None


class HubAwsTunnelOutput(_Outputs):
    """One tunnel of an HQ hub's VPN to a region's Transit Gateway, as the core stack created it."""

    hub: str
    region: str
    tunnel: Literal[1, 2]
    outside_address: IPv4 = Field(description="AWS tunnel endpoint")
    inside_cidr: Cidr
    psk: Psk | None = None

    @model_validator(mode="after")
    def _link_local_30(self) -> HubAwsTunnelOutput:
        if self.inside_cidr.prefixlen != 30 or not self.inside_cidr.subnet_of(LINK_LOCAL):
            raise ValueError(f"inside_cidr {self.inside_cidr} must be a /30 inside 169.254.0.0/16")
        return self


class HubOpenStackOutput(_Outputs):
    """An HQ hub's tunnel to an OpenStack site's VPN gateway, as the core stack created it."""

    hub: str
    site: str
    gateway_address: IPv4 = Field(description="the gateway's floating IP: its outside address and IKE id")
    psk: Psk | None = None


class CoreCloudOutputs(_Outputs):
    """What the hub configs need from the core stack: the cloud ends of the hub tunnels.

    PSKs are optional: the core stack derives them from the same fleet secret as the network
    intent, so an output without one means the intent's derived key."""

    hub_aws: list[HubAwsTunnelOutput] = []
    hub_openstack: list[HubOpenStackOutput] = []
    planned: bool = Field(default=False, description="values from a plan or preview, not a live stack")

    @model_validator(mode="after")
    def _unique(self) -> CoreCloudOutputs:
        aws = [(t.hub, t.region, t.tunnel) for t in self.hub_aws]
        if len(aws) != len(set(aws)):
            raise ValueError("each (hub, region, tunnel) appears once in hub_aws")
        openstack = [(t.hub, t.site) for t in self.hub_openstack]
        if len(openstack) != len(set(openstack)):
            raise ValueError("each (hub, site) appears once in hub_openstack")
        return self

    def aws(self, hub: str, region: str, tunnel: int) -> HubAwsTunnelOutput | None:
        return next(
            (t for t in self.hub_aws if (t.hub, t.region, t.tunnel) == (hub, region, tunnel)), None
        )

    def openstack(self, hub: str, site: str) -> HubOpenStackOutput | None:
        return next((t for t in self.hub_openstack if (t.hub, t.site) == (hub, site)), None)


def psk_values(outputs: Iterable[StoreCloudOutputs], core: CoreCloudOutputs | None = None) -> set[str]:
    """Every pre-shared key in these stores' outputs (hub tunnels and AWS tunnels) and the core's
    (the hubs' cloud tunnels that carry one), to redact."""
    values: set[str] = set()
    for store in outputs:
        values.update(link.psk.get_secret_value() for link in store.links)
        values.update(tunnel.psk.get_secret_value() for tunnel in store.aws_tunnels)
    if core is not None:
        keys = [t.psk for t in core.hub_aws] + [t.psk for t in core.hub_openstack]
        values.update(key.get_secret_value() for key in keys if key is not None)
    return values


def describe_validation_error(exc: ValidationError) -> str:
    """Where and what, never the input value: it may be a PSK."""
    return "; ".join(
        f"{'.'.join(_shown(part) for part in error['loc'])}: {_unquoted(error)}" if error["loc"] else _unquoted(error)
        for error in exc.errors()
    )


def _unquoted(error: ErrorDetails) -> str:
    """The error's message without its input: the inventory's types quote a refused value
    ("'…' is not an IPv4 address"), which is a PSK when one was pasted a line off."""
    message = str(error["msg"])
    value = error.get("input")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return message
    for shown in (describe(value), repr(value), ascii(value)):
        message = message.replace(shown, "the value given")
    if isinstance(value, str) and len(value) >= 4 and value in message:
        return "invalid value (not shown: the file holds secrets)"
    return message


def _shown(part: object) -> str:
    """A field name or key as it appears in a message: a hostile key must not break the line."""
    text = str(part)
    return text if text.isascii() and text.isprintable() else ascii(text)


def parse_stack_outputs(
    data: object, *, source: str = "stack outputs", document: SourceDocument | None = None
) -> dict[str, StoreCloudOutputs]:
    """Validate a mapping store id -> outputs (or a list of outputs) into typed outputs.

    With the `document` the data was read from, every problem is an issue naming its line and
    field there (the store's key, then the field: `nw-0001.links[0].inside_peer`)."""
    items: list[tuple[str, Loc, object]]
    if isinstance(data, Mapping):
        items = []
        for store_id, value in data.items():
            if isinstance(value, Mapping) and "store_id" not in value:
                value = {**value, "store_id": store_id}
            items.append((str(store_id), (str(store_id),), value))
    elif isinstance(data, list):
        items = [(f"item {index}", (index,), value) for index, value in enumerate(data)]
    else:
        raise StackOutputsError(f"{source}: expected a mapping of store id to outputs, or a list")
    result: dict[str, StoreCloudOutputs] = {}
    for label, at, item in items:
        try:
            outputs = StoreCloudOutputs.model_validate(item)
        except ValidationError as exc:
            # The store id is named as given: the slug check that failed may be about it.
            message = f"{source}: {label!r}: {describe_validation_error(exc)}"
            issues = validation_issues(exc, document, source, at)
            raise StackOutputsError(issues_line(issues, message), issues) from None
        if outputs.store_id in result:
            issue = outputs_issue(document, source, at, f"store {outputs.store_id!r} appears twice")
            raise StackOutputsError(str(issue), [issue])
        result[outputs.store_id] = outputs
    return result


def outputs_issue(document: SourceDocument | None, source: str, loc: Loc, message: str) -> InventoryIssue:
    """An issue at `loc` of the outputs: its line where the document is known, else none."""
    if document is not None:
        return document.issue(loc, message)
    return InventoryIssue(source, 0, dotted(loc), message)


def validation_issues(
    exc: ValidationError,
    document: SourceDocument | None,
    source: str,
    at: Loc,
    places: Mapping[str, Loc] | None = None,
) -> list[InventoryIssue]:
    """Each problem of a model validated from the outputs at `at`, as an issue at its place there
    (never quoting the value: it may be a PSK). `places` gives a field taken from elsewhere in
    the file its own place (the core stack's outputs spread one tunnel over several keys)."""
    issues = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        place = places.get(loc[0]) if places and loc and isinstance(loc[0], str) else None
        where = (*place, *loc[1:]) if place is not None else (*at, *loc)
        issues.append(outputs_issue(document, source, where, _unquoted(error)))
    return issues


def issues_line(issues: list[InventoryIssue], fallback: str) -> str:
    """The first issue with its line, and how many more: an error's message on one line."""
    if not issues or not issues[0].line:
        return fallback
    first = min(issues)
    return str(first) + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else "")


MAX_OUTPUTS_BYTES = 64_000_000


def load_stack_outputs(path: Path) -> dict[str, StoreCloudOutputs]:
    """Read stack outputs from a JSON or YAML file that holds PSKs, so it must be mode 0600."""
    document = read_outputs_source(path)
    return parse_stack_outputs(document.data, source=str(path), document=document)


def read_outputs_source(path: Path) -> SourceDocument:
    """A stack outputs file (JSON or YAML) that holds PSKs, so it must be mode 0600: its data
    and the line of every key and list item."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError as exc:
        raise _refused(path, f"cannot read stack outputs ({exc.strerror})") from None
    if mode & 0o077:
        raise _refused(path, f"holds PSKs and must be mode 0600, is {mode:04o}")
    try:
        # The inventory's safe reader: a regular file of bounded size; YAML without aliases or
        # tags, whose messages never quote the file (it holds PSKs).
        text = decode(read_bytes(path, str(path), MAX_OUTPUTS_BYTES), str(path), MAX_OUTPUTS_BYTES)
        if path.suffix != ".json":
            return parse_text(text, str(path), mapping_root=False)
    except InventoryError as exc:
        raise StackOutputsError.of(exc) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StackOutputsError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    return SourceDocument(str(path), data, _json_lines(text, str(path)))


def _refused(path: Path, message: str) -> StackOutputsError:
    """A stack outputs file refused whole: its file named in the error's issue as in its message."""
    return StackOutputsError(f"{path}: {message}", [InventoryIssue(str(path), 0, "", message)])


def _json_lines(text: str, display: str) -> dict[Loc, int]:
    """The lines of a JSON document's keys and items, read by the YAML reader (JSON as Pulumi
    prints it is YAML); none where that reader refuses the text (tabs as indentation, say)."""
    try:
        return parse_text(text, display, mapping_root=False).lines
    except InventoryError:
        return {}
