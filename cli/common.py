"""What every command shares: the fleet option, --json, and turning typed errors into exit codes.

Exit codes: 0 ok, 1 the work ran and found failures (invalid inventory, failed devices, drift,
plan findings), 2 usage or configuration errors (bad flags, missing tools, unreadable files),
130 interrupted (Ctrl-C; 128 + SIGINT, as a shell reports it).
Every `StorestackError` a command lets escape becomes one of these through `EXIT_CODES`, the one
place that maps error families to exit codes (the command group applies it, `exit_code_for`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from operator import attrgetter
from pathlib import Path
from string import Formatter
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console, RenderableType
from rich.control import strip_control_codes
from rich.errors import MarkupError
from rich.style import Style
from rich.table import Table
from rich.text import Span, Text

from storestack.common.errors import (
    CommonFamily,
    DeviceFamily,
    InventoryFamily,
    LabFamily,
    NetworkFamily,
    RolloutFamily,
    StackFamily,
    StorestackError,
    UsageError,
)
from storestack.inventory.errors import InventoryError, InventoryIssue, RefusedFileError
from storestack.inventory.paths import sample_chain_path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Looked up in this order; the first family an error belongs to decides. A usage error of any
# family means nothing ran; any other error of a family means the work ran and failed.
EXIT_CODES: dict[type[StorestackError], int] = {
    UsageError: EXIT_USAGE,
    InventoryFamily: EXIT_FAILED,
    NetworkFamily: EXIT_FAILED,
    StackFamily: EXIT_FAILED,
    DeviceFamily: EXIT_FAILED,
    LabFamily: EXIT_FAILED,
    RolloutFamily: EXIT_FAILED,
    CommonFamily: EXIT_FAILED,
}

# ctx.meta key: whether the running command was asked for --json (the error handler answers in kind).
JSON_REQUESTED = "storestack.json"

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def default_fleet_path() -> Path:
    """STORESTACK_FLEET, else ./inventory when it holds a fleet, else the built-in sample chain."""
    env = os.environ.get("STORESTACK_FLEET")
    if env:
        return Path(env)
    local = Path("inventory")
    if (local / "fleet.yaml").is_file():
        return local
    return sample_chain_path()


def fleet_option(func: F) -> F:
    return click.option(
        "--fleet",
        "fleet_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Fleet directory (fleet.yaml + stores/). Default: $STORESTACK_FLEET, ./inventory, or the sample chain.",
    )(func)


class InputFile(click.Path):
    """A file a command reads: it must exist and be a regular file it can read, checked before the
    command runs (exit 2); the --json error names the option (`field`) and the path (`file`)."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=True, dir_okay=False, readable=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as error:
            raise _BadInputFile(error.message, ctx=ctx, param=param, file=os.fsdecode(value)) from None


class _BadInputFile(click.BadParameter):
    """An `InputFile` option's value that is no readable regular file, with its path: Click's
    own usage error (exit 2 by Click's rules), raised and answered in this module only
    (`fail_on_usage` puts the path in the --json error's `file`), never a storestack error."""

    def __init__(
        self, message: str, *, ctx: click.Context | None, param: click.Parameter | None, file: str
    ) -> None:
        super().__init__(message, ctx=ctx, param=param)
        self.file = file


def targets_option(default: str) -> Callable[[F], F]:
    """--targets, the appliance inventory a command reaches the appliances through (the format of
    the lab's `inventory.yaml`); `default` says where the appliances come from without it. Every
    command that takes it declares it here, so each refuses a directory or a missing file alike."""

    def decorate(func: F) -> F:
        return click.option(
            "--targets",
            "targets_file",
            type=InputFile(),
            default=None,
            help=f"Appliance inventory YAML (e.g. the lab's). Default: {default}.",
        )(func)

    return decorate


def core_outputs_option(func: F) -> F:
    """`--core-outputs FILE`: what every command rendering hubs takes the hubs' live cloud ends from."""
    return click.option(
        "--core-outputs",
        "core_outputs_path",
        type=InputFile(),
        default=None,
        help="The core stack's outputs (`pulumi stack output --json --show-secrets`, mode 0600): the "
        "cloud ends of the hub tunnels. Without them, the hubs' cloud peers are planned values.",
    )(func)


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, callback=_remember_json, help="Machine-readable output for CI."
    )(func)


def json_always_option(func: F) -> F:
    """--json of a command whose output is JSON anyway (errors, usage errors included)."""
    return click.option(
        "--json", "as_json", is_flag=True, flag_value=True, default=True, callback=_remember_json,
        help="Machine-readable output for CI (always on; taken as every command a CI parses takes it).",
    )(func)


def quiet_device_logs() -> None:
    """Netmiko and paramiko log at DEBUG what they send, which may include config secrets; and
    paramiko logs a traceback for every login the appliance cuts off, which a push waiting for
    an appliance to revert by itself tries repeatedly. The push reports every outcome itself."""
    for noisy in ("netmiko", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)


def commit_confirm_options(func: F) -> F:
    """--confirm-timeout, --no-confirm-i-know and --force: every command that pushes configs."""
    func = click.option(
        "--force", is_flag=True, help="Push a change even though an appliance reverted the same change before."
    )(func)
    func = click.option(
        "--no-confirm-i-know", "no_confirm_i_know", is_flag=True,
        help="Allow --confirm-timeout 0: no rollback timer on the appliances.",
    )(func)
    return click.option(
        "--confirm-timeout", default=120, show_default=True, type=int, metavar="SECONDS",
        help="Each appliance reverts a change by itself unless it is confirmed (after verification) "
        "within this many seconds; 0 turns it off (needs --no-confirm-i-know).",
    )(func)


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[JSON_REQUESTED] = value
    return value


def exit_code_for(error: StorestackError) -> int:
    for family, code in EXIT_CODES.items():
        if isinstance(error, family):
            return code
    return EXIT_FAILED


def fail_on(error: StorestackError, *, as_json: bool = False, context: str = "") -> NoReturn:
    """Report a typed error and exit with its family's code; `context` is appended to the message."""
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    if as_json and isinstance(error, InventoryError | RefusedFileError) and error.issues:
        # Each issue of a file the inventory's reader refused, with its file, line and field.
        summary = error.one_line() if isinstance(error, InventoryError) else message
        emit_json(json_errors(inventory_issue_entries(error.issues), f"{summary}{context}"))
        sys.exit(exit_code_for(error))
    if as_json and (error.field is not None or error.file is not None):
        # A bad value of one option, argument or field, or a file (one missing, one that could not
        # be written) as its message names it (`StorestackError.field`, `.file`), in the entry.
        entry = json_error_entry(message, file=error.file, field=error.field)
        emit_json(json_errors([entry], f"{message}{context}"))
        sys.exit(exit_code_for(error))
    if isinstance(error, InventoryError | RefusedFileError) and error.field is not None:
        message = f"{error.field}: {message}"  # a file refused whole, named with its option
    fail(f"{message}{context}", exit_code_for(error), as_json=as_json)


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))


def markup(template: str, *values: object) -> Text:
    """Our own Rich markup (`template`) filled with values as given: each `{}` takes the next
    value, whose brackets, backslashes and colons are text (a path, a store id, a message quoting
    them), never markup. Every line that shows what a user, a file or a device supplied is
    printed through it.

    The text is built piece by piece: the template's text between its tags, read as Rich reads
    markup (a style tag styles what follows until its `[/style]`, or `[/]` closing the last one
    open, or the end; a `\\` before a tag makes it text; no emoji codes), and each value appended
    as it is, never parsed."""
    parsed = list(Formatter().parse(template))
    pieces = [literal for literal, _, _, _ in parsed]
    slots = [(field, spec, conversion) for _, field, spec, conversion in parsed if field is not None]
    if any(slot != ("", "", None) for slot in slots) or len(slots) != len(values):
        raise ValueError(f"markup {template!r}: {len(values)} value(s) for its slots, which are all '{{}}'")
    if len(pieces) == len(slots):  # the template ends with a slot
        pieces.append("")
    text = Text()
    open_styles: list[tuple[int, str, str]] = []  # (where it starts, tag name, style), innermost last
    spans: list[Span] = []
    for index, piece in enumerate(pieces):
        position = 0
        for tag in _MARKUP_TAG.finditer(piece):
            backslashes, escaped = divmod(len(tag[1]), 2)
            text.append(piece[position : tag.start()].replace("\\[", "[") + "\\" * backslashes)
            position = tag.end()
            if escaped:
                text.append(tag[0][len(tag[1]) :])
            else:
                _markup_tag(tag[2], len(text), open_styles, spans)
        text.append(piece[position:].replace("\\[", "["))
        if index < len(values):
            text.append(strip_control_codes(str(values[index])))
    spans += [Span(start, len(text), style) for start, _, style in reversed(open_styles)]
    # Rich's order of spans: by where each starts, an outer one before those it holds.
    text.spans = sorted(reversed(spans), key=attrgetter("start"))
    return text


# A tag of our markup, as Rich finds one: `[style]`, `[/style]` or `[/]`, the backslashes before it.
_MARKUP_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")


def _markup_tag(tag: str, at: int, open_styles: list[tuple[int, str, str]], spans: list[Span]) -> None:
    """Open the style `tag` names at `at`, or close the one it closes there (a span of it)."""
    name, equals, parameters = tag.partition("=")
    if not name.startswith("/"):
        name = Style.normalize(name)
        open_styles.append((at, name, f"{name} {parameters}" if equals else name))
        return
    closes = name[1:].strip() and Style.normalize(name[1:].strip())  # `[/]`: the last one open
    held = [index for index, (_, opened, _) in enumerate(open_styles) if not closes or opened == closes]
    if not held:
        raise MarkupError(f"closing tag [{tag}] closes no open tag")
    start, _, style = open_styles.pop(held[-1])
    spans.append(Span(start, at, style))


class TextTable(Table):
    """A table whose `str` cells are text as given (a path, an id, an inventory value), never
    markup; a styled cell is a `Text`, e.g. `markup("[green]{}[/]", value)`. So are its `str`
    headers (a matrix's targets), title and caption (a run id)."""

    def __init__(self, *headers: str, title: str | None = None, caption: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # A Text title or caption is drawn as it is: it takes the style the table would give a str.
        self.title = None if title is None else Text(title, style=self.title_style or "table.title")
        self.caption = None if caption is None else Text(caption, style=self.caption_style or "table.caption")
        for header in headers:
            self.add_column(header)

    def add_column(self, header: RenderableType = "", *args: Any, **kwargs: Any) -> None:
        super().add_column(Text(header) if isinstance(header, str) else header, *args, **kwargs)

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in renderables), **kwargs)


def print_table(table: Table, out: Console | None = None) -> None:
    """A table on a terminal; piped or redirected, plain full-width rows (no box, nothing cut
    short), so `| grep` and `| cut` see every value whole."""
    out = out or console
    if out.is_terminal:
        out.print(table)
        return
    headers = [_plain(column.header) for column in table.columns]
    cells = [[_plain(cell) for cell in column.cells] for column in table.columns]
    rows = [headers, *(list(row) for row in zip(*cells, strict=True))]
    widths = [max(len(row[index]) for row in rows) for index in range(len(headers))]
    if table.title:
        click.echo(_plain(table.title))
    for row in rows:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
    if table.caption:
        click.echo(_plain(table.caption))


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)


def json_error_entry(
    message: str, *, file: str | None = None, line: int | None = None, field: str | None = None
) -> dict[str, object]:
    """One error of a --json answer: where (null when unknown; `line` null, never 0) and what."""
    return {"file": file, "line": line or None, "field": field, "message": message}


def inventory_issue_entries(issues: Iterable[InventoryIssue]) -> list[dict[str, object]]:
    """An invalid inventory's issues as --json errors, each with its file, line and field."""
    return [json_error_entry(i.message, file=i.file or None, line=i.line, field=i.field or None) for i in issues]


def json_errors(errors: list[dict[str, object]], summary: str) -> dict[str, object]:
    """The one shape of every --json error answer: `errors`, a list of `json_error_entry`, and
    `error`, one line for the whole (what the first --json answers held alone)."""
    return {"ok": False, "error": summary, "errors": errors}


def fail_on_usage(error: click.UsageError, *, json_on_command_line: bool) -> bool:
    """Answer a usage error (an unknown option, a bad or missing value) of a command run with
    --json, or always answering in JSON, as one JSON error naming the option or argument, and
    exit 2; False, and nothing done, otherwise (Click then reports it as text)."""
    command = error.ctx.command if error.ctx else None
    as_json = [param for param in command.params if param.name == "as_json"] if command else []
    if not as_json or not (json_on_command_line or as_json[0].default is True):
        return False
    field: str | None = None
    if isinstance(error, click.NoSuchOption):
        field = error.option_name
    elif isinstance(error, click.BadParameter) and error.param is not None:
        param = error.param
        field = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
    message = error.format_message()
    file = error.file if isinstance(error, _BadInputFile) else None
    emit_json(json_errors([json_error_entry(message, file=file, field=field)], message))
    sys.exit(EXIT_USAGE)


@contextmanager
def for_option(option: str) -> Iterator[None]:
    """A usage error raised inside (an unknown store of --store, a --shard out of range) is a bad
    value of `option` (an option's name, or an argument's as its usage shows it): its message
    as it was, exit 2, and the option its `field`, which the --json error names (README: a bad
    value names its option, as Click's own checks do). A file the option names that was refused
    whole (not there, a mode that shows its secrets to others) names the option too: its issues
    that name no field of the file take the option as theirs."""
    try:
        yield
    except UsageError as error:
        error.field = option
        if isinstance(error, InventoryError | RefusedFileError):
            error.issues = [issue if issue.field else replace(issue, field=option) for issue in error.issues]
        raise


def fail(message: str, code: int = EXIT_USAGE, *, as_json: bool = False, field: str | None = None) -> NoReturn:
    """Report `message` and exit with `code`; `field`, the option or argument it is about, in
    its --json error."""
    if as_json:
        emit_json(json_errors([json_error_entry(message, field=field)], message))
    else:
        # The message quotes what was given (a store id, a path): its brackets are text, not markup.
        err_console.print(markup("[bold red]error:[/] {}", message), soft_wrap=True)
    sys.exit(code)
