"""Render intended appliance configs from the fleet (and, when live, the store stack outputs).

Templates live in the `storestack.templates` package under `devices/<platform>/`: `store.j2`
for store edge appliances and `hub.j2` for hubs. They render in a sandbox with
`StrictUndefined`; every value they print passes `_one_line`, so no inventory string (even one
that skipped validation) can end its line and start a new config command. Parts that are the
same for every appliance of a platform, or for many (an IOS-XE probe's settings and tracks),
render once per run (`Renderer.shared_block`).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import itertools
import multiprocessing as mp
import os
import re
import signal
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from storestack.common.files import atomic_write_text, linked_copy, staged_directory, would_change
from storestack.common.memory import without_cyclic_gc
from storestack.common.platforms import Platform
from storestack.devices import frr
from storestack.devices.announced import numbered_announcements
from storestack.devices.errors import RenderError
from storestack.devices.intended import HELD_OVER_DIR, STATED_PORTS_FILE, read_stated_ports, stated_ports_text
from storestack.devices.platforms import PLATFORMS, get_platform
from storestack.devices.secrets import REDACTED
from storestack.devices.views import HubView, Net, StoreApplianceView, ViewBuilder
from storestack.inventory.fleet import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.errors import StackOutputsError
from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs
from storestack.network.secrets import Secret

Role = Literal["edge", "hub"]
CONFIG_SUFFIX = ".cfg"
PUSH_FILE_MODE = 0o600
DISPLAY_FILE_MODE = 0o644

# A printed value must be printable ASCII: no newline, carriage return, tab, escape, NUL,
# unicode line separator or look-alike can reach a device CLI through a template.
_UNSAFE_LINE = re.compile(r"[^\x20-\x7e\n]")
_PRINTABLE_BYTES = bytes(range(0x20, 0x7F))
_LINE_BYTES = _PRINTABLE_BYTES + b"\n"


def template_root() -> Path:
    return Path(str(files("storestack.templates") / "devices"))


@dataclass(frozen=True)
class RenderedConfig:
    """One appliance's intended config."""

    name: str
    role: Role
    platform: Platform
    text: str = field(repr=False)
    planned: bool
    with_secrets: bool
    store_id: str | None = None
    # Files beside the config for what the platform's CLI cannot hold (FRR: the Linux host's
    # firewall and DHCP/DNS), as (file suffix, text). The push of `text` does not send them.
    companions: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # A store appliance's links whose WAN port the inventory states (`WanLink.port`): the push
    # moves such a link to another port, and refuses to move any other (`IntendedConfig`).
    stated_ports: frozenset[str] = frozenset()

    @property
    def filename(self) -> str:
        return f"{self.name}{CONFIG_SUFFIX}"

    def files(self) -> list[tuple[str, str]]:
        """(file name, text) of the config and its companions."""
        return [
            (self.filename, self.text),
            *((f"{self.name}.{suffix}", text) for suffix, text in self.companions),
        ]

    @property
    def file_mode(self) -> int:
        return PUSH_FILE_MODE if self.with_secrets else DISPLAY_FILE_MODE


class RenderedBlock(str):
    """Lines a sandboxed render of a block template produced (`Renderer.shared_block`), every
    value in them already checked by `_one_line`: the only multi-line value a template may print.
    Templates cannot make one; any string operation on it gives a plain `str` again."""

    __slots__ = ()


def _one_line(value: Any) -> Any:
    """Jinja `finalize`: what a template prints must stay on its line and be printable."""
    kind = type(value)
    if kind is str:
        if value.isascii() and value.isprintable():
            return value
        raise RenderError(f"refusing to render {value[:40]!r}: control or non-ASCII characters")
    if kind is int or kind is RenderedBlock:
        return value
    if isinstance(value, Secret):
        raise RenderError(f"template printed secret {value.name!r} without the `secret` filter")
    if value is None:
        raise RenderError("template printed None: a value the view should have provided is missing")
    if isinstance(value, str) and not (value.isascii() and value.isprintable()):
        raise RenderError(f"refusing to render {value[:40]!r}: control or non-ASCII characters")
    return value


def _redact(value: Any) -> str:
    if not isinstance(value, Secret):
        raise RenderError("the `secret` filter takes a secret slot")
    return REDACTED


def _reveal(value: Any) -> str:
    if not isinstance(value, Secret):
        raise RenderError("the `secret` filter takes a secret slot")
    return value.reveal()


def _slot_name(value: Any) -> str:
    """Lint mode: the slot's name where the secret would be, so both ends can be compared."""
    if not isinstance(value, Secret):
        raise RenderError("the `secret` filter takes a secret slot")
    return f"<{value.name}>"


SecretsMode = Literal["redact", "reveal", "slots"]
_SECRET_FILTERS = {"redact": _redact, "reveal": _reveal, "slots": _slot_name}


def _config_header(view: StoreApplianceView | HubView, comment: str, role_text: str) -> list[str]:
    """The first lines of every config and host file (`comment`: the file's comment marker):
    `{{ view | config_header(comment, role_text) | lines -}}` (common/header.j2 prints the same)."""
    lines = [f"{comment} storestack: PLANNED values (no live stack outputs)"] if view.planned else []
    lines.append(f"{comment} storestack: intended config of {view.hostname} ({role_text}), platform {view.platform}")
    lines.append(
        f"{comment} storestack: rendered from the inventory; changes made on the device are reverted by the next push"
    )
    return lines


def _numbered(items: Iterable[Any], step: int = 1, start: int | None = None) -> Iterator[tuple[int, Any]]:
    """`items` with their sequence numbers, `start` (default `step`), then every `step`:
    `{% for seq, rule in acl.rules | numbered(10) %}` numbers 10, 20, ... without a `loop`
    object (whose every read is a sandboxed attribute lookup)."""
    return zip(itertools.count(step if start is None else start, step), items)


def _lines(lines: Iterable[Any]) -> RenderedBlock:
    """`{{ rules | lines -}}`: lines a platform module built in typed code (`template_filters`),
    each ended by a newline; nothing for no lines. Every line must be a string of printable
    ASCII, as `_one_line` requires of a printed value, so none can end early and start a new
    command; the lines become one block, printed without a loop and a print per line. Checked on
    the lines joined without separators (C speed; a hub has tens of thousands of lines): only
    printable ASCII, so no line holds a newline or any other control character; the newlines
    are the ones the second join puts between them."""
    items = lines if isinstance(lines, list) else list(lines)
    if not items:
        return RenderedBlock("")
    try:
        joined = "".join(items)
    except TypeError:
        raise RenderError("a line builder gave something other than lines of text") from None
    if not joined.isascii() or joined.encode("ascii").translate(None, _PRINTABLE_BYTES):
        bad = next((line for line in items if not (line.isascii() and line.isprintable())), "")
        raise RenderError(f"refusing to render {bad[:40]!r}: control or non-ASCII characters")
    return RenderedBlock("\n".join(items) + "\n")


class _ViewSandbox(SandboxedEnvironment):
    """The stock sandbox, told through its public `is_safe_attribute` hook which attributes are
    plain data: the declared fields of storestack's view and intent dataclasses. Every other
    attribute (methods, properties, anything of any other type) gets the stock verdict."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr in _fields_of(type(obj)):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one plain dict (Jinja's public hook; the stock answer is a
        ChainMap over the environment's): every render copies them into its context, and an FRR
        appliance is ten renders. The environment's globals are fixed before any template loads
        (`_environment`), so a copy sees the same names."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`{{ view.hostname }}` (Jinja's public `Environment.getattr` hook): a declared field of
        a storestack dataclass is read directly, the answer the stock sandbox gives after its
        checks (the field exists, so no item lookup; its value is data, not a bound `str.format`
        to wrap; `is_safe_attribute` says yes). A template reads about 900 of them per store
        config. Anything else takes the stock path."""
        fields = _DATA_FIELDS.get(type(obj))
        if fields is None:
            fields = _fields_of(type(obj))
        if attribute in fields:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)


# Type -> the field names `_data_fields` found: a plain dict (called for every attribute a
# template reads, and a dict lookup costs less than a cached function call).
_DATA_FIELDS: dict[type, frozenset[str]] = {}


def _fields_of(kind: type) -> frozenset[str]:
    fields = _DATA_FIELDS.get(kind)
    if fields is None:
        fields = _DATA_FIELDS[kind] = _data_fields(kind)
    return fields


def _data_fields(kind: type) -> frozenset[str]:
    """Field names of a storestack dataclass (none starting with "_"); empty for any other type.

    A shortcut, not a wider door: the stock verdict on such a name is "safe" too (an instance's
    data attribute is not one of the internals `is_internal_attribute` refuses), reached after
    more checks per read."""
    if not dataclasses.is_dataclass(kind) or not kind.__module__.startswith("storestack."):
        return frozenset()
    return frozenset(spec.name for spec in dataclasses.fields(kind) if not spec.name.startswith("_"))


@functools.cache
def _environment(secrets: SecretsMode) -> SandboxedEnvironment:
    """One sandbox per mode, shared by every Renderer: templates compile once per process."""
    env = _ViewSandbox(
        loader=FileSystemLoader(str(template_root())),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_one_line,
        auto_reload=False,
        cache_size=-1,  # a fixed, small template set: a plain dict, no LRU bookkeeping per include
    )
    # Jinja's default globals but `namespace` (the one the templates use): every render copies
    # them into its context, and a render of an FRR appliance is ten renders with their includes.
    for name in [name for name in env.globals if name != "namespace"]:
        del env.globals[name]
    secret = _SECRET_FILTERS[secrets]
    env.filters["secret"] = secret
    env.filters["numbered"] = _numbered
    env.filters["announced"] = numbered_announcements
    env.filters["lines"] = _lines
    env.filters["config_header"] = _config_header
    # Line builders that print secrets spell them with this mode's `secret` filter.
    for platform in PLATFORMS.values():
        env.filters.update(platform.template_filters)
        env.filters.update(_bound_to(secret, platform.secret_template_filters))
    env.filters.update(frr.TEMPLATE_FILTERS)
    env.filters.update(_bound_to(secret, frr.SECRET_TEMPLATE_FILTERS))
    return env


def _bound_to(
    secret: Callable[[Any], str], builders: Iterable[tuple[str, Callable[..., list[str]]]]
) -> dict[str, Callable[..., list[str]]]:
    return {name: functools.partial(builder, secret=secret) for name, builder in builders}


class Renderer:
    """Renders views; `reveal_secrets` makes push files, otherwise display files."""

    def __init__(self, *, reveal_secrets: bool = False, secrets: SecretsMode | None = None) -> None:
        """`secrets`: "reveal" (push files), "redact" (display), "slots" (lint: slot names)."""
        mode: SecretsMode = secrets or ("reveal" if reveal_secrets else "redact")
        self.reveal_secrets = mode == "reveal"
        self.env = _environment(mode)
        # Blocks rendered so far: key -> (text, the values it was rendered from). Holding the
        # values keeps them alive, so an identity in a key never belongs to a new object.
        self._blocks: dict[tuple[Any, ...], tuple[RenderedBlock, tuple[Any, ...]]] = {}

    def shared_block(self, template_name: str, **values: Any) -> RenderedBlock:
        """`template_name` rendered with `values` as its whole context, once per distinct values.

        For the parts of a config that are the same on every appliance of a platform (the
        management plane, the crypto suite) or on many (an IOS-XE probe with the same number,
        class and timers): a store template prints the block's text instead of re-running it
        for every store. The text is exactly what the block renders, since it
        sees nothing but `values`; they are immutable view objects (keyed by identity) or plain
        strings and numbers (keyed by type and value). A renderer has one secrets mode, so a
        push render and a redacted render never share a block.
        """
        key = (template_name, *((name, _block_key(value)) for name, value in sorted(values.items())))
        cached = self._blocks.get(key)
        if cached is None:
            for value in values.values():
                _check_immutable(value)
            if len(self._blocks) >= _MAX_BLOCKS:  # per-appliance values would only grow it
                self._blocks.clear()
            cached = (RenderedBlock(self._render(template_name, values)), tuple(values.values()))
            self._blocks[key] = cached
        return cached[0]

    def _render(self, template_name: str, context: dict[str, Any]) -> str:
        try:
            text = self.env.get_template(template_name).render(context)
        except RenderError:
            raise
        except TemplateError as exc:
            raise RenderError(f"{template_name}: {exc}") from exc
        # Every printed value was checked already; this also covers the template's own text.
        # Deleting the allowed bytes leaves nothing on a clean text (much faster than the
        # regex, which only runs to name the line of a failure).
        if not text.isascii() or text.encode("ascii").translate(None, _LINE_BYTES):
            bad = _UNSAFE_LINE.search(text)
            line = text.count("\n", 0, bad.start()) + 1 if bad else 0
            raise RenderError(f"{template_name}: rendered line {line} holds a control or non-ASCII character")
        return text

    def render_store_view(self, view: StoreApplianceView, *, companions: bool = True) -> RenderedConfig:
        """The appliance's config, and (`companions`) the files of its host, where it has any."""
        context: dict[str, Any] = {"view": view, "shared_block": self.shared_block}
        if view.platform == "frr":
            layout = frr.store_layout(view)
            context.update(
                static_routes=layout.static_routes,
                interfaces=layout.interfaces,
                networks=layout.networks,
                neighbors=layout.neighbors,
                bfd_peers=layout.bfd_peers,
                bfd_profiles=layout.bfd_profiles,
                connect_retry=frr.SLA_CONNECT_RETRY,
                aws_links=layout.aws_links,
                hub_routes=_hub_routes(view),
            )
        context.update(get_platform(view.platform).template_values)
        text = self._render(f"{view.platform}/store.j2", context)
        # The platform's host files; FRR's are built from the network intent (devices/frr.py).
        host = frr.store_host_context(view) if view.platform == "frr" else {"view": view}
        rendered_companions = tuple(
            (suffix, self._render(f"{view.platform}/{template}", host))
            for suffix, template in (get_platform(view.platform).companions if companions else ())
        )
        return RenderedConfig(
            view.hostname,
            "edge",
            view.platform,
            text,
            view.planned,
            self.reveal_secrets,
            view.store_id,
            rendered_companions,
            frozenset(link.name for link in view.wan if link.port_stated),
        )

    def render_hub_view(self, view: HubView) -> RenderedConfig:
        context: dict[str, Any] = {"view": view, "shared_block": self.shared_block}
        host: dict[str, Any] = {"view": view}
        if view.platform == "frr":
            layout = frr.hub_layout(view)
            context["layout"] = layout
            context["connect_retry"] = frr.SLA_CONNECT_RETRY
            context["beacon_recheck"] = frr.BEACON_RECHECK_SECONDS
            host = frr.hub_host_context(view, layout)
        context.update(get_platform(view.platform).template_values)
        rendered_companions = tuple(
            (suffix, self._render(f"{view.platform}/{template}", host))
            for suffix, template in get_platform(view.platform).hub_companions
        )
        text = self._render(f"{view.platform}/hub.j2", context)
        return RenderedConfig(
            view.hostname,
            "hub",
            view.platform,
            text,
            view.planned,
            self.reveal_secrets,
            companions=rendered_companions,
        )


# Enough for every platform's blocks and the IOS-XE probe blocks of a fleet (a few dozen
# distinct probes: number, class and timers).
_MAX_BLOCKS = 256
_PLAIN_KEYS = (str, int, bool, type(None))


def _block_key(value: Any) -> tuple[type, Any]:
    kind = type(value)
    return (kind, value) if kind in _PLAIN_KEYS else (kind, id(value))


def _check_immutable(value: Any) -> None:
    """A block's values must not change after it is rendered, or its text would go stale: plain
    values, or dataclass instances that hash. A record (common/records.py) or a frozen dataclass
    hashes its fields, so it holds no list, dict or set at any depth; any other dataclass with
    `eq` does not hash at all."""
    if type(value) in _PLAIN_KEYS:
        return
    try:
        immutable = dataclasses.is_dataclass(value) and not isinstance(value, type) and isinstance(hash(value), int)
    except TypeError:
        immutable = False
    if not immutable:
        raise RenderError(
            f"a shared block takes strings, numbers and frozen views without lists, not {type(value).__name__}"
        )


def _hub_routes(view: StoreApplianceView) -> list[Net]:
    """What a store accepts from its hubs: the default route, the HQ/cloud summaries and the
    hubs' loopbacks."""
    default = Net("0.0.0.0/0", "0.0.0.0", 0, "0.0.0.0", "255.255.255.255")
    loopbacks = [Net(f"{hub.loopback}/32", hub.loopback, 32, "255.255.255.255", "0.0.0.0") for hub in view.hubs]
    return [*([default] if view.accept_default else []), *view.hub_routes, *loopbacks]


# ---------------------------------------------------------------- fleet-level API


def render_fleet(
    fleet: Fleet,
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    store_ids: Sequence[str] | None = None,
    hubs: Sequence[str] | None = None,
    reveal_secrets: bool = False,
    workers: int = 1,
    secrets: SecretsMode | None = None,
    core: CoreCloudOutputs | None = None,
) -> Iterator[RenderedConfig]:
    """Intended configs, store appliances in store-id order, then hubs.

    `outputs` are store stacks' outputs by store id, `core` the core stack's (the cloud ends of
    the hub tunnels); what they do not give is planned by the network intent.

    `store_ids` / `hubs` select what to render: None means all, an empty list means none.
    Decommissioned stores are skipped. A hub always renders from the whole fleet, since its
    config carries every store link that terminates on it. With `workers` > 1 large fleets
    render in that many forked processes; the output is the same, in the same order.
    """
    unknown = sorted(set(outputs or {}) - set(fleet.stores))
    if unknown:
        # A store id mistyped in an outputs file would otherwise leave that store on planned values.
        raise StackOutputsError(
            f"stack outputs for stores that are not in the inventory: {', '.join(unknown)}"
        )
    selected = list(fleet.stores) if store_ids is None else [fleet.store(s).id for s in store_ids]
    selected = [store_id for store_id in selected if fleet.stores[store_id].state != "decommissioned"]
    hub_names = list(fleet.hubs) if hubs is None else list(hubs)
    for hub in hub_names:
        if hub not in fleet.hubs:
            raise RenderError(f"no hub {hub!r} in the fleet (known: {', '.join(sorted(fleet.hubs))})")
    job = _Job(fleet, outputs, reveal_secrets, secrets, core)
    if workers <= 1 or len(selected) < _PARALLEL_THRESHOLD or "fork" not in mp.get_all_start_methods():
        for start in range(0, len(selected), _SERIAL_CHUNK):
            yield from job.run(("stores", selected[start : start + _SERIAL_CHUNK]))
        for hub in hub_names:
            yield from job.run(("hub", [hub]))
        return
    yield from _render_parallel(job, selected, hub_names, workers)


_PARALLEL_THRESHOLD = 200
_SERIAL_CHUNK = 25  # stores per task: a bounded burst without the cyclic GC (`_Job.run`)
Task = tuple[str, list[str]]


class _Job:
    """What one render run needs; built lazily so a forked worker builds its own once."""

    def __init__(
        self,
        fleet: Fleet,
        outputs: Mapping[str, StoreCloudOutputs] | None,
        reveal_secrets: bool,
        secrets: SecretsMode | None = None,
        core: CoreCloudOutputs | None = None,
    ) -> None:
        self.fleet = fleet
        self.outputs = outputs
        self.reveal_secrets = reveal_secrets
        self.secrets = secrets
        self.core = core
        self._tools: tuple[ViewBuilder, Renderer] | None = None

    def tools(self) -> tuple[ViewBuilder, Renderer]:
        if self._tools is None:
            self._tools = (
                ViewBuilder(
                    self.fleet,
                    self.outputs,
                    reveal_secrets=self.reveal_secrets,
                    intent=NetworkIntent(self.fleet, self.outputs, core=self.core, reveal_secrets=self.reveal_secrets),
                ),
                Renderer(reveal_secrets=self.reveal_secrets, secrets=self.secrets),
            )
        return self._tools

    def run(self, task: Task) -> list[RenderedConfig]:
        builder, renderer = self.tools()
        kind, names = task
        # A task's views and template frames are acyclic garbage; the collector would only
        # rescan them (and the fleet's caches) many times over while rendering.
        with without_cyclic_gc():
            if kind == "hub":
                return [renderer.render_hub_view(builder.hub_view(name)) for name in names]
            return [
                renderer.render_store_view(view)
                for store_id in names
                for view in builder.store_views(self.fleet.stores[store_id])
            ]


# The job a forked worker inherits from its parent (fork shares it without pickling the fleet).
_FORKED_JOB: _Job | None = None


def _run_forked(task: Task) -> list[RenderedConfig]:
    """One task in a forked worker. What a task leaves behind is the intents it built, cached
    for the worker's later tasks (a render makes no cyclic garbage): frozen with the rest, so
    the collector does not walk them again after every task."""
    assert _FORKED_JOB is not None
    with without_cyclic_gc():
        configs = _FORKED_JOB.run(task)
        gc.freeze()
    return configs


def _start_worker(collect: bool) -> None:
    """A forked worker keeps what it inherited (the fleet) for its whole life: frozen, the
    cyclic GC never walks those objects (walking them would also copy their memory pages from
    the parent), only what the worker itself allocates.

    Ctrl-C reaches every process of the terminal's foreground group; a worker it killed mid-task
    would lose its task and the parent would wait for it forever. The parent alone stops on it,
    and its `pool.terminate()` ends the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    if collect:
        gc.enable()


def _render_parallel(job: _Job, stores: list[str], hubs: list[str], workers: int) -> Iterator[RenderedConfig]:
    global _FORKED_JOB
    # Tasks small enough that the last ones finish close together on every core.
    chunk = max(25, len(stores) // (workers * 32))
    store_tasks: list[Task] = [("stores", stores[i : i + chunk]) for i in range(0, len(stores), chunk)]
    hub_tasks: list[Task] = [("hub", [hub]) for hub in hubs]
    collect = gc.isenabled()
    # The parent builds nothing before forking: each worker builds the intents its tasks need,
    # so no serial step holds back both cores. A hub's intent holds the store ends of every
    # tunnel to it (and its own ends, built from them); a store task reuses the store ends its
    # worker has built (the hubs it rendered) and builds the others, about half the fleet's store
    # ends built twice in all (hub ends only where a hub renders), against 1.4-2 s of serial
    # building in the parent before.
    _FORKED_JOB = job
    pool = mp.get_context("fork").Pool(workers, initializer=_start_worker, initargs=(collect,))
    try:
        # Hubs are the longest single tasks: start them first, yield them last.
        hub_results = [pool.apply_async(_run_forked, (task,)) for task in hub_tasks]
        for configs in pool.imap(_run_forked, store_tasks):
            yield from configs
        for result in hub_results:
            yield from result.get()
    finally:
        _FORKED_JOB = None
        pool.terminate()
        pool.join()


def render_store(
    fleet: Fleet,
    store_id: str,
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    reveal_secrets: bool = False,
) -> list[RenderedConfig]:
    """The intended configs of one store's appliances."""
    return list(
        render_fleet(fleet, outputs=outputs, store_ids=[store_id], hubs=[], reveal_secrets=reveal_secrets)
    )


def render_appliance(
    fleet: Fleet,
    store_id: str,
    hostname: str,
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    reveal_secrets: bool = False,
) -> RenderedConfig:
    """One store appliance's intended config alone, without its host's files.

    What a store stack carries per appliance: the same text `render_store` gives for it, for a
    fifth of the work on an FRR store (no other appliances, no nftables or dnsmasq files).
    """
    store = fleet.store(store_id)
    if not any(appliance.hostname == hostname for appliance in store.appliances):
        raise RenderError(f"store {store_id} has no appliance {hostname!r} in the inventory")
    unknown = sorted(set(outputs or {}) - set(fleet.stores))
    if unknown:
        raise StackOutputsError(
            f"stack outputs for stores that are not in the inventory: {', '.join(unknown)}"
        )
    view = ViewBuilder(fleet, outputs, reveal_secrets=reveal_secrets).store_view(store, hostname)
    return Renderer(reveal_secrets=reveal_secrets).render_store_view(view, companions=False)


def render_hub(
    fleet: Fleet,
    hub: str,
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    reveal_secrets: bool = False,
) -> RenderedConfig:
    """The intended config of one hub, carrying every store link that terminates on it."""
    (config,) = render_fleet(fleet, outputs=outputs, store_ids=[], hubs=[hub], reveal_secrets=reveal_secrets)
    return config


def render_change_hubs(
    before: Fleet,
    after: Fleet,
    hubs: Sequence[str],
    *,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    reveal_secrets: bool = False,
    core: CoreCloudOutputs | None = None,
) -> list[RenderedConfig]:
    """The first config of each of `hubs` in a change from `before` to `after`: its intent after
    the change with what it held before kept (`network/transition.py` `held_over`), rendered by
    its platform's one template. `outputs` of stores in one fleet only are used where they are;
    `core` as in `render_fleet`."""
    from storestack.network.transition import ChangeIntent

    for hub in hubs:
        if hub not in after.hubs or hub not in before.hubs:
            raise RenderError(f"hub {hub!r} is not in both fleets of the change: it has no config held over")
    live = dict(outputs or {})
    intent = ChangeIntent(
        NetworkIntent(
            before, {k: v for k, v in live.items() if k in before.stores}, core=core, reveal_secrets=reveal_secrets
        ),
        after,
        live,
        core=core,
        reveal_secrets=reveal_secrets,
    )
    builder = ViewBuilder(after, live, reveal_secrets=reveal_secrets, intent=intent)
    renderer = Renderer(reveal_secrets=reveal_secrets)
    with without_cyclic_gc():
        return [renderer.render_hub_view(builder.hub_view(hub)) for hub in hubs]


def render_held_over(
    before: Fleet,
    after: Fleet,
    *,
    hubs: Collection[str] | None = None,
    outputs: Mapping[str, StoreCloudOutputs] | None = None,
    reveal_secrets: bool = False,
    core: CoreCloudOutputs | None = None,
) -> list[RenderedConfig]:
    """The first configs of the hubs a change from `before` to `after` pushes twice
    (`devices/push_order.py` `FleetChangeOrder.held_over`), of those in `hubs` (None: all), as a
    push of the change renders them (`render_change_hubs`)."""
    from storestack.devices.push_order import fleet_change_order

    twice = [hub for hub in fleet_change_order(before, after).held_over if hubs is None or hub in hubs]
    return render_change_hubs(before, after, twice, outputs=outputs, reveal_secrets=reveal_secrets, core=core)


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written)


def write_configs(
    configs: Iterable[RenderedConfig],
    out_dir: Path,
    *,
    check: bool = False,
    held_over: Iterable[RenderedConfig] = (),
) -> WriteReport:
    """Write one file per appliance, rewriting only changed files, the folder whole or as it was.

    The changed files are staged and take their places together (`staged_directory`): a run
    stopped part-way (an error, Ctrl-C) leaves `out_dir` as it was, never configs of two
    inventories side by side. With `check`, nothing is written: `written` lists what a real run
    would write. Push files (with secrets) are 0600; display files carry only `<redacted>`.
    Beside them goes each appliance's stated WAN ports (`STATED_PORTS_FILE`, which a push from
    the folder reads), those of appliances not rendered now kept, in the mode of the configs
    (a push folder holds 0600 files only); an appliance whose stated ports changed is written,
    whether or not its config text did. A push folder is 0700 from the moment it is there.

    `held_over` (`render_held_over`: the first configs of the hubs a fleet change pushes twice)
    go in `HELD_OVER_DIR` under `out_dir`, laid out as it, in the same one step; the report
    names them `held-over/<hub>`.
    """
    report = WriteReport()
    out = Path(out_dir)
    changes = _folder_changes(configs, out, report)
    held_changes = _folder_changes(held_over, out / HELD_OVER_DIR, report, prefix=f"{HELD_OVER_DIR}/")
    private = any(mode == PUSH_FILE_MODE for _, _, mode in (*changes, *held_changes))
    if (changes or held_changes) and not check:
        with staged_directory(out, private=private) as staging:
            for filename, text, mode in changes:
                atomic_write_text(staging / filename, text, mode=mode, durable=False)
            if held_changes:
                held = staging / HELD_OVER_DIR
                # The folder is staged whole (it replaces the one there): its files kept, then the changed ones.
                if (out / HELD_OVER_DIR).is_dir():
                    linked_copy(out / HELD_OVER_DIR, held)
                else:
                    held.mkdir(mode=0o700 if private else 0o777)
                for filename, text, mode in held_changes:
                    atomic_write_text(held / filename, text, mode=mode, durable=False)
    return report


def _folder_changes(
    configs: Iterable[RenderedConfig], folder: Path, report: WriteReport, *, prefix: str = ""
) -> list[tuple[str, str, int]]:
    """The files (name, text, mode) of `configs` and their stated ports sidecar that writing them
    to `folder` changes; each config named (`prefix` + its name) in `report`."""
    changes: list[tuple[str, str, int]] = []
    held = read_stated_ports(folder)
    stated = dict(held or {})
    sidecar_mode = DISPLAY_FILE_MODE
    rendered = False
    for config in configs:
        rendered = True
        if config.with_secrets:
            sidecar_mode = PUSH_FILE_MODE
        if config.planned:
            report.planned.append(prefix + config.name)
        changed = [
            (filename, text, config.file_mode)
            for filename, text in config.files()
            if would_change(folder / filename, text, config.file_mode)
        ]
        changes += changed
        ports_changed = held is None or held.get(config.name) != config.stated_ports
        stated[config.name] = config.stated_ports
        (report.written if changed or ports_changed else report.unchanged).append(prefix + config.name)
    sidecar = stated_ports_text(stated)
    if (rendered or not prefix) and would_change(folder / STATED_PORTS_FILE, sidecar, sidecar_mode):
        changes.append((STATED_PORTS_FILE, sidecar, sidecar_mode))
    return changes


def stale_files(
    configs: Iterable[RenderedConfig], out_dir: Path, *, held_over: Iterable[RenderedConfig] | None = None
) -> list[str]:
    """Files in `out_dir` that rendering `configs` (the whole fleet) does not produce: configs of
    removed stores or appliances, left behind. Hidden files are not counted. With `held_over`
    (all of a change's, `render_held_over`), those in its `HELD_OVER_DIR` it does not produce
    too, named `held-over/<file>`."""
    expected = {STATED_PORTS_FILE, *(filename for config in configs for filename, _ in config.files())}
    try:
        names = sorted(entry.name for entry in os.scandir(out_dir) if entry.is_file(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    stale = [name for name in names if name not in expected and not name.startswith(".")]
    if held_over is not None:
        stale += [f"{HELD_OVER_DIR}/{name}" for name in stale_files(held_over, Path(out_dir) / HELD_OVER_DIR)]
    return stale
