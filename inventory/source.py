"""Safe YAML reading that remembers the line of every value.

Only the plain YAML types are accepted. Any explicit tag (`!!python/object`, `!custom`, even
`!!str`), anchors and aliases, and duplicate keys are errors: an inventory is data, never code,
and a reader must see each value where it stands.

The document is built straight from the parser's events (libyaml when available), so a tag or
an anchor is seen exactly as written, and no node graph is kept for thousands of store files.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import re
import select
import signal
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import Any

import yaml

from storestack.inventory.errors import InventoryError, InventoryIssue

Loc = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_FILE_BYTES = 1_000_000

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALAR_BUILDERS: dict[str, Any] = {
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
}
# Plain scalars repeat a lot across thousands of store files (`10`, `lte`, `true`); the value
# they resolve to is immutable, so it is cached (bounded, so a hostile file cannot grow it).
_PLAIN_CACHE: dict[str, Any] = {}
_PLAIN_CACHE_LIMIT = 50_000
_DISCARD = object()
_TYPED_FIRST_CHARS = frozenset(key for key in _RESOLVER.yaml_implicit_resolvers if key)


@dataclass
class SourceDocument:
    """One parsed file: its data, and the line of every mapping key and sequence item.

    Lines are only needed for error messages, so a document parsed from `text` works them
    out the first time one is asked for (most documents of a big fleet never need them).
    """

    display: str
    data: Any
    known_lines: dict[Loc, int] | None = None
    text: str | None = field(default=None, repr=False)
    path: Path | None = field(default=None, repr=False)

    @property
    def lines(self) -> dict[Loc, int]:
        if self.known_lines is None:
            if self.text is None and self.path is not None:
                # Already parsed once (elsewhere): only its lines are wanted now.
                self.text = self.path.read_bytes().decode("utf-8", errors="replace")
            self.known_lines = _parse_tracked(self.text, self.display).known_lines if self.text else {}
        return self.known_lines or {}

    def line_of(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest ancestor that has one."""
        lines = self.lines
        while loc:
            line = lines.get(loc)
            if line is not None:
                return line
            loc = loc[:-1]
        return lines.get((), 1)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def dotted(loc: Loc) -> str:
    """`('lan', 'pos', 'vlan')` → `lan.pos.vlan`; `('wan', 0, 'isp')` → `wan[0].isp`.

    A key that is not a plain word is shown quoted and escaped (`desktops['x\\n']`), so a
    hostile key can never break the one-line `file:line field: message` format.
    """
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _PLAIN_KEY.fullmatch(part):
            parts.append(("." if parts else "") + part)
        else:
            parts.append(f"[{_safe(part)}]")
    return "".join(parts)


def _plain_scalar(value: str, implicit: tuple[bool, bool]) -> Any:
    """The Python value of an untagged scalar, resolved the way YAML 1.1 safe loading does."""
    if not implicit[0]:  # quoted: always a string
        return value
    # YAML picks a plain scalar's type by its first character; most can only be strings, and
    # so can anything holding '/' or two dots (addresses, networks), whatever it starts with.
    if not value or value[0] not in _TYPED_FIRST_CHARS:
        return value if value else None
    if "/" in value or value.count(".") > 1:
        return value
    cached = _PLAIN_CACHE.get(value, _DISCARD)
    if cached is not _DISCARD:
        return cached
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, implicit)
    builder = _SCALAR_BUILDERS.get(tag)
    if builder is not None:
        result = builder(yaml.ScalarNode(tag, value))
    elif tag == "tag:yaml.org,2002:str":
        result = value
    else:
        # e.g. an unquoted date (timestamp): refused like any other non-plain type.
        raise _UnsupportedScalar(tag.replace("tag:yaml.org,2002:", ""))
    if len(_PLAIN_CACHE) >= _PLAIN_CACHE_LIMIT:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[value] = result
    return result


def resolve_plain_scalar(value: str) -> Any:
    """What an unquoted scalar reads back as (`'10'` → 10, `'yes'` → True, `'ab'` → 'ab').

    Raises ValueError for a scalar the inventory reader refuses (an unquoted date).
    """
    try:
        return _plain_scalar(value, (True, False))
    except _UnsupportedScalar as exc:
        raise ValueError(f"YAML {exc.kind} values are not allowed") from None


class _UnsupportedScalar(Exception):
    def __init__(self, kind: str) -> None:
        self.kind = kind


class _Frame:
    """An open mapping or sequence while events stream in; `container` None means discard."""

    __slots__ = ("container", "is_map", "key", "loc")

    def __init__(self, container: dict[str, Any] | list[Any] | None, loc: Loc, is_map: bool) -> None:
        self.container = container
        self.loc = loc
        self.is_map = is_map
        self.key: Any = _EXPECT_KEY


_EXPECT_KEY = object()
_BAD_KEY = object()
_NODE_EVENTS = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent)
_END_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _describe_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _safe(value: object) -> str:
    text = ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_text(text: str, display: str) -> SourceDocument:
    """Parse one YAML document held in `text`. Raises InventoryError naming `display` and the line.

    The common case (a well-formed plain document) takes a fast path that builds only the
    data: first the plain-block reader, then libyaml's events for any other well-formed
    document; anything unusual is parsed again, tracking every location, to say what and where.
    """
    try:
        return SourceDocument(display, _parse_plain_block(text), None, text)
    except _NotPlainBlock:
        pass
    try:
        return SourceDocument(display, _parse_fast(text), None, text)
    except _NeedsTracking:
        return _parse_tracked(text, display)


class _NotPlainBlock(Exception):
    """The document uses more of YAML than the plain-block reader takes on; libyaml reads it."""


# What the plain-block reader takes on, and why it pays: nearly every inventory file is block
# mappings and sequences of one-line scalars, and libyaml hands each of those to Python as an
# event object with two position marks, which is most of a big fleet's parse. Reading such a
# document line by line builds the same data for about half the work. Anything else (tabs, CR,
# other line breaks, multi-line or escaped scalars, nested flow, anchors, tags, directives,
# duplicate keys, an indentation it does not expect) is left to libyaml, so what this reader
# accepts is a strict subset, read exactly as `_parse_fast` reads it (tests compare the two).
_BLOCK_CHARACTERS = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_BLOCK_LINE = re.compile(
    r"^( *)(?:(-)(?: +|$))?(?:([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +|$))?([^\n]*?) *$", re.MULTILINE
)
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"(?: +#.*)?')
_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'(?: +#.*)?")
_FLOW_ITEM = re.compile(r"[^\s,\[\]{}#&*!|>'\"%@`:?-][^,\[\]{}#:]*")
_SCALAR_INDICATORS = frozenset("?:,[]{}#&*!|>'\"%@`")


def _parse_plain_block(text: str) -> dict[str, Any]:
    if _BLOCK_CHARACTERS.search(text):
        raise _NotPlainBlock
    root: dict[str, Any] | None = None
    # Open containers, innermost last: (indent, container, is a mapping).
    frames: list[tuple[int, Any, bool]] = []
    # A key whose value starts on a later line: (its mapping, the key, the key's indent).
    pending: tuple[dict[str, Any], str, int] | None = None
    for line in _BLOCK_LINE.finditer(text):
        spaces, dash, key, rest = line.groups()
        if dash is None and key is None and (not rest or rest[0] == "#"):
            continue  # blank or comment
        indent = len(spaces)
        if pending is not None:
            mapping, pending_key, key_indent = pending
            pending = None
            if dash is not None and indent >= key_indent:
                mapping[pending_key] = []
                frames.append((indent, mapping[pending_key], False))
            elif indent > key_indent:
                mapping[pending_key] = {}
                frames.append((indent, mapping[pending_key], True))
            else:
                mapping[pending_key] = None
        elif root is None:
            if indent or dash is not None:
                raise _NotPlainBlock
            root = {}
            frames.append((0, root, True))
        # Close what this line's indent ends; a sequence at its key's indent ends at a key line.
        while frames and (
            frames[-1][0] > indent or (frames[-1][0] == indent and not frames[-1][2] and dash is None)
        ):
            frames.pop()
        if not frames or frames[-1][0] != indent:
            raise _NotPlainBlock
        container = frames[-1][1]
        if dash is not None:
            if frames[-1][2]:
                raise _NotPlainBlock
            if key is None:
                if not rest or (rest[0] == "-" and (len(rest) == 1 or rest[1] == " ")):
                    raise _NotPlainBlock
                container.append(_block_scalar(rest))
                continue
            item: dict[str, Any] = {}
            container.append(item)
            indent = line.start(3) - line.start()
            frames.append((indent, item, True))
            container = item
        elif key is None or not frames[-1][2]:
            raise _NotPlainBlock
        key = intern(key)
        if key in container:
            raise _NotPlainBlock
        if not rest:
            pending = (container, key, indent)
        elif rest[0] == "#":
            raise _NotPlainBlock
        else:
            container[key] = _block_scalar(rest)
    if pending is not None:
        pending[0][pending[1]] = None
    if root is None:
        raise _NotPlainBlock
    return root


def _block_scalar(text: str) -> Any:
    """A one-line value: quoted without escapes, a flat flow collection, or a plain scalar."""
    first = text[0]
    if first == '"':
        quoted = _DOUBLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _NotPlainBlock
        return quoted.group(1)
    if first == "'":
        quoted = _SINGLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _NotPlainBlock
        return quoted.group(1).replace("''", "'")
    if first == "{" or first == "[":
        return _flow_collection(text)
    if first in _SCALAR_INDICATORS or (first == "-" and (len(text) == 1 or text[1] == " ")):
        raise _NotPlainBlock
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment].rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise _NotPlainBlock
    return _flow_plain(text)


def _flow_plain(text: str) -> Any:
    try:
        return _plain_scalar(text, (True, False))
    except _UnsupportedScalar:
        raise _NotPlainBlock from None


def _flow_collection(text: str) -> Any:
    """`[a, b]` or `{k: v, k2: v2}` of plain words, on one line (what the lock file writes)."""
    close = "}" if text[0] == "{" else "]"
    end = text.find(close)
    after = text[end + 1 :].lstrip(" ") if end >= 0 else "x"
    if after and after[0] != "#":
        raise _NotPlainBlock
    inner = text[1:end].strip(" ")
    if close == "]":
        items = [item.strip(" ") for item in inner.split(",")] if inner else []
        if not all(_FLOW_ITEM.fullmatch(item) for item in items):
            raise _NotPlainBlock
        return [_flow_plain(item) for item in items]
    mapping: dict[str, Any] = {}
    for entry in inner.split(",") if inner else []:
        key, separator, value = entry.strip(" ").partition(": ")
        value = value.strip(" ")
        if not separator or key in mapping or not (_FLOW_ITEM.fullmatch(key) and _FLOW_ITEM.fullmatch(value)):
            raise _NotPlainBlock
        mapping[intern(key)] = _flow_plain(value)
    return mapping


class _NeedsTracking(Exception):
    """The fast path met something it does not handle; the tracked parse will explain it."""


def _parse_fast(text: str) -> dict[str, Any]:
    try:
        loader = _Loader(text)
    except UnicodeError:
        raise _NeedsTracking from None
    try:
        get = loader.get_event
        get()  # stream start
        if type(get()) is not yaml.DocumentStartEvent:
            raise _NeedsTracking
        containers: list[Any] = []
        keys: list[Any] = []
        typed_first = _TYPED_FIRST_CHARS
        root: Any = None
        while True:
            event: Any = get()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                if event.tag is not None or event.anchor is not None:
                    raise _NeedsTracking
                raw = event.value
                if not containers:
                    raise _NeedsTracking
                container = containers[-1]
                if type(container) is dict and keys[-1] is _EXPECT_KEY:
                    if raw in container:
                        raise _NeedsTracking
                    keys[-1] = intern(raw)
                    continue
                if event.implicit[0] and raw and raw[0] in typed_first:
                    try:
                        value = _plain_scalar(raw, event.implicit)
                    except _UnsupportedScalar:
                        raise _NeedsTracking from None
                else:
                    value = raw if raw or not event.implicit[0] else None
                if type(container) is dict:
                    container[keys[-1]] = value
                    keys[-1] = _EXPECT_KEY
                else:
                    container.append(value)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if event.tag is not None or event.anchor is not None:
                    raise _NeedsTracking
                new: Any = {} if kind is yaml.MappingStartEvent else []
                if containers:
                    container = containers[-1]
                    if type(container) is dict:
                        if keys[-1] is _EXPECT_KEY:
                            raise _NeedsTracking
                        container[keys[-1]] = new
                        keys[-1] = _EXPECT_KEY
                    else:
                        container.append(new)
                else:
                    root = new
                containers.append(new)
                keys.append(_EXPECT_KEY)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                containers.pop()
                keys.pop()
            elif kind is yaml.DocumentEndEvent:
                if type(get()) is not yaml.StreamEndEvent or type(root) is not dict:
                    raise _NeedsTracking
                return root
            else:  # an alias, or anything else unexpected
                raise _NeedsTracking
    except (yaml.YAMLError, UnicodeError):
        raise _NeedsTracking from None
    finally:
        loader.dispose()


def _parse_tracked(text: str, display: str) -> SourceDocument:
    issues: list[InventoryIssue] = []
    lines: dict[Loc, int] = {}
    stack: list[_Frame] = []
    root: Any = None
    documents = 0

    def fail(line: int, loc: Loc, message: str) -> None:
        issues.append(InventoryIssue(display, line, dotted(loc), message))

    try:
        event: Any
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)
            if kind in _END_EVENTS:
                stack.pop()
                continue
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    fail(event.start_mark.line + 1, (), "only one YAML document is allowed here")
                    break
                continue
            if kind not in _NODE_EVENTS:
                continue
            line = event.start_mark.line + 1
            top = stack[-1] if stack else None
            is_key = False
            discard = False
            loc: Loc = ()
            if top is not None:
                if top.container is None:
                    discard = True
                elif top.is_map and top.key is _EXPECT_KEY:
                    is_key = True
                    loc = top.loc
                elif top.is_map and top.key is _BAD_KEY:
                    discard = True
                    top.key = _EXPECT_KEY
                elif top.is_map:
                    loc = (*top.loc, top.key)
                else:
                    assert isinstance(top.container, list)
                    loc = (*top.loc, len(top.container))

            if not discard:
                if kind is yaml.AliasEvent or event.anchor is not None:
                    fail(line, loc, "YAML anchors and aliases are not allowed in an inventory")
                if kind is not yaml.AliasEvent and event.tag is not None:
                    fail(line, loc, f"YAML tag {_describe_tag(event.tag)!r} is not allowed")

            is_container = kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent
            if discard:
                if is_container:
                    stack.append(_Frame(None, loc, kind is yaml.MappingStartEvent))
                continue
            if is_key:
                assert top is not None and isinstance(top.container, dict)
                if kind is yaml.ScalarEvent and event.tag is None:
                    key = event.value
                    if key in top.container:
                        fail(line, (*loc, key), f"duplicate key {_safe(key)}")
                        top.key = _BAD_KEY
                    else:
                        top.key = key
                        lines[(*loc, key)] = line
                    continue
                top.key = _BAD_KEY
                if is_container:
                    fail(line, loc, "mapping keys must be plain scalars")
                    stack.append(_Frame(None, loc, kind is yaml.MappingStartEvent))
                continue

            value: Any
            if is_container:
                value = {} if kind is yaml.MappingStartEvent else []
            elif kind is yaml.ScalarEvent and event.tag is None:
                try:
                    value = _plain_scalar(event.value, event.implicit)
                except _UnsupportedScalar as exc:
                    fail(line, loc, f"YAML {exc.kind} values are not allowed (quote the value)")
                    value = None
            else:
                value = None
            if top is None:
                root = value
                lines.setdefault((), line)
            elif top.is_map:
                assert isinstance(top.container, dict)
                top.container[top.key] = value
                top.key = _EXPECT_KEY
                lines.setdefault(loc, line)
            else:
                assert isinstance(top.container, list)
                top.container.append(value)
                lines.setdefault(loc, line)
            if is_container:
                stack.append(_Frame(value, loc, kind is yaml.MappingStartEvent))
    except yaml.MarkedYAMLError as exc:
        mark: Any = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        issues.append(InventoryIssue(display, line, "", f"YAML syntax error: {exc.problem}"))
    except yaml.reader.ReaderError as exc:
        # A character YAML itself refuses (control characters, unpaired surrogates...).
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else 0
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        issues.append(
            InventoryIssue(display, line, "", f"character #x{code:04x} is not allowed ({exc.reason})")
        )
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        issues.append(InventoryIssue(display, 0, "", f"YAML error: {first_line}"))
    except UnicodeError:  # text holding lone surrogates: it did not come from a UTF-8 file
        issues.append(InventoryIssue(display, 0, "", "text is not valid Unicode (lone surrogate)"))
    if issues:
        raise InventoryError(issues)
    if root is None:
        raise InventoryError([InventoryIssue(display, 1, "", "file is empty")])
    if not isinstance(root, dict):
        raise InventoryError([InventoryIssue(display, 1, "", "top level must be a mapping")])
    return SourceDocument(display, root, lines, text)


def decode(raw: bytes, display: str, limit: int = MAX_FILE_BYTES) -> str:
    """Inventory files are UTF-8 text of bounded size."""
    if len(raw) > limit:
        raise InventoryError([InventoryIssue(display, 0, "", f"file is larger than {limit} bytes")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError([InventoryIssue(display, 0, "", f"not UTF-8 text ({exc.reason})")]) from None


def read_document(path: Path, display: str, limit: int = MAX_FILE_BYTES) -> SourceDocument:
    """Parse one inventory file. Raises InventoryError naming the file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InventoryError([InventoryIssue(display, 0, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_text(decode(raw, display, limit), display)


_DOCUMENT_MARKER = re.compile(r"^---(?=[ \t]|$)[ \t]*", re.MULTILINE)
_ONLY_COMMENTS = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n?)*")


@dataclass
class BundleChunk:
    """One document of a multi-document YAML stream: its text and where it starts (1-based line)."""

    number: int
    first_line: int
    text: str


def split_bundle(text: str) -> list[BundleChunk]:
    """Split a `---`-separated YAML stream into its documents, skipping empty ones.

    Each document is parsed on its own, exactly as if it were a file, so its line numbers
    match the file it came from and one broken document does not hide the others' errors.
    """
    chunks: list[BundleChunk] = []
    bodies = [0] + [match.end() for match in _DOCUMENT_MARKER.finditer(text)]
    ends = [match.start() for match in _DOCUMENT_MARKER.finditer(text)] + [len(text)]
    line, counted = 1, 0
    for body_start, body_end in zip(bodies, ends, strict=True):
        line += text.count("\n", counted, body_start)
        counted = body_start
        body = text[body_start:body_end]
        first_line = line
        if body.startswith("\n"):  # a bare `---` line: the document starts on the next line
            body, first_line = body[1:], line + 1
        if not _ONLY_COMMENTS.fullmatch(body):
            chunks.append(BundleChunk(len(chunks) + 1, first_line, body))
    return chunks


@dataclass(frozen=True)
class ParseJob:
    """One document to parse: from a file (`path`) or from text already in memory."""

    display: str
    path: Path | None = None
    text: str | None = None
    limit: int = MAX_FILE_BYTES


ParseOutcome = SourceDocument | list[InventoryIssue]
PARALLEL_MIN_DOCUMENTS = 1000


def _run_job(job: ParseJob) -> ParseOutcome:
    try:
        if job.path is not None:
            return read_document(job.path, job.display, job.limit)
        return parse_text(job.text or "", job.display)
    except InventoryError as exc:
        return exc.issues


def parse_many(
    jobs: list[ParseJob],
    *,
    meanwhile: Callable[[], None] | None = None,
    then: Callable[[int, ParseOutcome], None] | None = None,
) -> list[ParseOutcome]:
    """Parse many documents; each outcome is the document or the issues that stopped it.

    YAML parsing is most of a big fleet's load and runs one core at a time. When there are many
    documents, more than one core, and no other thread in this process (a fork copies only the
    calling thread), a forked child helps: this process runs `meanwhile` (other reading it has
    to do anyway), then takes batches from the front of the list while the child takes them
    from the back, until they meet, so a busy second core costs nothing but its share.

    `then(index, outcome)` runs here once for every job as soon as its outcome is here: the
    child sends each batch as it finishes it, so what is done with the documents (validating
    them, say) overlaps the child's parsing. If anything goes wrong with the child, what it did
    not deliver is parsed here, and the result is the same.
    """
    outcomes: list[ParseOutcome | None] = [None] * len(jobs)

    def keep(index: int, outcome: ParseOutcome) -> None:
        outcomes[index] = outcome
        if then is not None:
            then(index, outcome)

    def finish() -> list[ParseOutcome]:
        for index, outcome in enumerate(outcomes):
            if outcome is None:  # the serial path, or a share the child never delivered
                keep(index, _run_job(jobs[index]))
        return [outcome for outcome in outcomes if outcome is not None]

    if len(jobs) < PARALLEL_MIN_DOCUMENTS or not _can_fork():
        if meanwhile is not None:
            meanwhile()
        return finish()
    context = multiprocessing.get_context("fork")
    lock = context.Lock()
    bounds = context.RawArray("q", [0, len(jobs)])  # [next from the front, first taken from the back]
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        if meanwhile is not None:
            meanwhile()
        return finish()
    if pid == 0:  # the child: take batches from the back, send each, leave without cleanup
        status = 1
        try:
            os.close(read_end)
            while True:
                with lock:
                    end = bounds[1]
                    start = max(bounds[0], end - _BATCH)
                    bounds[1] = start
                if start >= end:
                    break
                # Documents travel as their data: text and lines are read again if ever needed.
                sent = [
                    (outcome.data,) if isinstance(outcome, SourceDocument) else outcome
                    for outcome in map(_run_job, jobs[start:end])
                ]
                _send(write_end, (start, sent))
            _send(write_end, None)  # all sent
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def receive(batch: object) -> bool:
        """Keep one batch from the child; False when it is the last one, or not a batch at all."""
        if not (isinstance(batch, tuple) and len(batch) == 2 and type(batch[0]) is int):
            return False
        start, items = batch
        if not (isinstance(items, list) and start >= 0 and start + len(items) <= len(jobs)):
            return False
        for index, item in enumerate(items, start):
            job = jobs[index]
            if outcomes[index] is not None:
                return False  # a share this process took: not the child's to give
            if isinstance(item, tuple):
                keep(index, SourceDocument(job.display, item[0], None, job.text, job.path))
            else:
                keep(index, item)
        return True

    child_sending = True  # until its last message, or a broken one
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            while child_sending and select.select([read_end], [], [], 0)[0]:
                child_sending = receive(_receive(read_end))
            with lock:
                start = bounds[0]
                end = min(bounds[1], start + _BATCH)
                bounds[0] = end
            if start >= end:
                break
            for index in range(start, end):
                keep(index, _run_job(jobs[index]))
        while child_sending:
            child_sending = receive(_receive(read_end))
    finally:
        # Done with the child, whatever it was doing: it has said all (and is leaving), or it
        # broke, or our own work failed. Killed, it can never be left blocked on a full pipe.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.close(read_end)
        os.waitpid(pid, 0)
    return finish()


_LENGTH = struct.Struct("!Q")


def _send(fd: int, message: object) -> None:
    """One message to the parent: its length, then its pickle."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int) -> object:
    """One message from the child (blocking until it is whole), or None if it died or sent garbage
    (finish() then parses its share here)."""
    try:
        header = _read_exactly(fd, _LENGTH.size)
        payload = _read_exactly(fd, _LENGTH.unpack(header)[0])
        return pickle.loads(payload)
    except Exception:
        return None


def _read_exactly(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the helper process closed its pipe early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


_BATCH = 64


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1 and threading.active_count() == 1
