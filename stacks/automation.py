"""preview / up / destroy / refresh / outputs through the Pulumi Automation API.

The program runs inline from the installed package; the workspace is the rendered stack folder,
so the engine reads the same `Pulumi.<stack>.yaml` that `pulumi up` in that folder would.
This is the only module in storestack that imports `pulumi.automation`.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from storestack.components import ApplianceConfigRenderer
from storestack.stacks.checks import redact
from storestack.stacks.config import CORE_STACK, PROJECTS, StackKind
from storestack.stacks.errors import (
    PassphraseMissingError,
    PulumiNotInstalledError,
    PulumiOperationError,
    StackConfigError,
)

Operation = Literal["preview", "up", "destroy", "refresh", "outputs"]
OPERATIONS: tuple[Operation, ...] = ("preview", "up", "destroy", "refresh", "outputs")
BACKEND_ENV = "STORESTACK_BACKEND"
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
MAX_PARALLEL = 64
DEFAULT_PARALLEL = 10


def default_backend(cwd: Path | None = None) -> str:
    """`--backend`, else $STORESTACK_BACKEND, else a local file backend under `.storestack/state`."""
    env = os.environ.get(BACKEND_ENV)
    if env:
        return env
    state = ((cwd or Path.cwd()) / ".storestack" / "state").resolve()
    return f"file://{state}"


@dataclass(frozen=True)
class ProgressEvent:
    """What the progress display shows; never carries resource inputs or outputs."""

    kind: Literal["start", "done", "failed", "diagnostic", "summary"]
    urn: str = ""
    resource_type: str = ""
    op: str = ""
    message: str = ""


@dataclass
class OperationResult:
    stack: str
    operation: Operation
    changes: dict[str, int] = field(default_factory=dict)
    # Secret outputs appear as "[secret]"; values are never shown.
    outputs: dict[str, Any] = field(default_factory=dict)
    # The outputs' real values, secrets included, only when asked for (`keep_values`): for code
    # that hands them on as secrets (device rendering), never for display.
    values: dict[str, Any] = field(default_factory=dict, repr=False)


def require_pulumi() -> str:
    """The `pulumi` CLI's path; the Automation API drives it and cannot work without it."""
    path = shutil.which("pulumi")
    if path is None:
        raise PulumiNotInstalledError()
    return path


def bounded_parallel(parallel: int | None) -> int:
    if parallel is None:
        return DEFAULT_PARALLEL
    if not 1 <= parallel <= MAX_PARALLEL:
        raise StackConfigError(f"--parallel must be between 1 and {MAX_PARALLEL}, got {parallel}")
    return parallel


def stack_kind(stack: str) -> StackKind:
    if stack == CORE_STACK:
        return "core"
    if stack.startswith("store-"):
        return "store"
    raise StackConfigError(f"{stack!r} is neither the core stack nor a store-<id> stack")


def run_operation(
    operation: Operation,
    stack: str,
    out_dir: Path,
    *,
    backend: str | None = None,
    parallel: int | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
    renderer: ApplianceConfigRenderer | None = None,
    keep_values: bool = False,
) -> OperationResult:
    """Run one operation on one rendered stack. Raises typed errors, never prints.

    A store stack given a `renderer` carries each appliance's intended config as a secret output,
    rendered from the live tunnel values (`storestack.stacks.device_bridge`). With `keep_values`,
    `up` and `outputs` also return the outputs' values, secrets included.
    """
    parallel = bounded_parallel(parallel)
    kind = stack_kind(stack)
    folder = out_dir / kind
    config_file = folder / f"Pulumi.{stack}.yaml"
    if not config_file.is_file():
        raise StackConfigError(f"{config_file} does not exist; run `storestack stacks render` first", file=str(config_file))
    require_pulumi()
    if not os.environ.get(PASSPHRASE_ENV) and not os.environ.get(f"{PASSPHRASE_ENV}_FILE"):
        raise PassphraseMissingError(PASSPHRASE_ENV)

    from pulumi import automation as auto

    from storestack.stacks import core, store

    program: Callable[[], None] = core.program if kind == "core" else functools.partial(store.program, renderer)
    env = {"PULUMI_BACKEND_URL": backend or default_backend()}
    if env["PULUMI_BACKEND_URL"].startswith("file://"):
        Path(env["PULUMI_BACKEND_URL"][len("file://") :]).mkdir(parents=True, exist_ok=True)
    workspace = auto.LocalWorkspaceOptions(
        work_dir=str(folder.resolve()),
        env_vars=env,
        secrets_provider="passphrase",
    )
    try:
        handle = auto.create_or_select_stack(
            stack_name=stack, project_name=PROJECTS[kind], program=program, opts=workspace
        )
        result = OperationResult(stack=stack, operation=operation)
        listener = _listener(on_event) if on_event else None
        if operation == "preview":
            preview = handle.preview(parallel=parallel, on_event=listener, color="never")
            result.changes = {str(k): int(v) for k, v in preview.change_summary.items()}
        elif operation == "up":
            up = handle.up(parallel=parallel, on_event=listener, color="never", show_secrets=False)
            result.changes = {str(k): int(v) for k, v in (up.summary.resource_changes or {}).items()}
            result.outputs = _redacted_outputs(up.outputs)
            if keep_values:
                result.values = {name: value.value for name, value in up.outputs.items()}
        elif operation == "destroy":
            destroyed = handle.destroy(parallel=parallel, on_event=listener, color="never", show_secrets=False)
            result.changes = {str(k): int(v) for k, v in (destroyed.summary.resource_changes or {}).items()}
        elif operation == "refresh":
            refreshed = handle.refresh(parallel=parallel, on_event=listener, color="never", show_secrets=False)
            result.changes = {str(k): int(v) for k, v in (refreshed.summary.resource_changes or {}).items()}
        else:
            outputs = handle.outputs()
            result.outputs = _redacted_outputs(outputs)
            if keep_values:
                result.values = {name: value.value for name, value in outputs.items()}
        return result
    except auto.errors.CommandError as exc:
        raise PulumiOperationError(f"{operation} {stack} failed: {_last_line(str(exc))}") from exc


def _redacted_outputs(outputs: Any) -> dict[str, Any]:
    return {name: "[secret]" if value.secret else redact(value.value, name) for name, value in outputs.items()}


def _listener(on_event: Callable[[ProgressEvent], None]) -> Callable[[Any], None]:
    def handle(event: Any) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            on_event(ProgressEvent("start", urn=meta.urn, resource_type=meta.type, op=str(meta.op.value)))
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            on_event(ProgressEvent("done", urn=meta.urn, resource_type=meta.type, op=str(meta.op.value)))
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            on_event(ProgressEvent("failed", urn=meta.urn, resource_type=meta.type, op=str(meta.op.value)))
        elif event.diagnostic_event is not None and event.diagnostic_event.severity in ("error", "warning"):
            on_event(ProgressEvent("diagnostic", message=event.diagnostic_event.message.strip()))
        elif event.summary_event is not None:
            changes = event.summary_event.resource_changes or {}
            on_event(ProgressEvent("summary", message=", ".join(f"{k}: {v}" for k, v in changes.items())))

    return handle


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"
