"""Safe YAML reading that remembers the line of every value.

Only the plain YAML types are accepted. Any explicit tag (`!!python/object`, `!custom`, even
`!!str`), anchors and aliases, and duplicate keys are errors: an inventory is data, never code,
and a reader must see each value where it stands. Files are read only when they are regular
files of bounded size (never a FIFO, a device or a directory), and no message ever quotes a
file's text: a file that is not valid YAML may be anything, a secret included.

The document is built straight from the parser's events (libyaml when available), so a tag or
an anchor is seen exactly as written, no node graph is kept for thousands of store files, and
the line of every key and item is known for error messages.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
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
    """One parsed file: its data, and the line of every mapping key and sequence item."""

    display: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict, repr=False)

    def line_of(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest ancestor that has one."""
        lines = self.lines
        while loc:
            line = lines.get(loc)
            if line is not None:
                return line
            loc = loc[:-1]
        return lines.get((), 1)

    def issue(self, loc: Loc, message: str) -> InventoryIssue:
        """An issue at `loc` of this document: its file, line and field."""
        return InventoryIssue(self.display, self.line_of(loc), dotted(loc), message)

    def where(self, loc: Loc) -> str:
        """`file:line field`, to name another place in a message."""
        return f"{self.display}:{self.line_of(loc)} {dotted(loc)}"


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


_EXPECT_KEY = object()
_BAD_KEY = object()


def _describe_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _safe(value: object) -> str:
    text = ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."


_SCALAR = yaml.ScalarEvent
_MAPPING_START = yaml.MappingStartEvent
_SEQUENCE_START = yaml.SequenceStartEvent
_ALIAS = yaml.AliasEvent
_END_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_SEQUENCE = object()


def parse_text(text: str, display: str, *, mapping_root: bool = True) -> SourceDocument:
    """Parse one YAML document held in `text`. Raises InventoryError naming `display` and the line.

    Inventory files are mappings; `mapping_root=False` takes any document (other input files
    whose own parser checks the shape).

    Every problem of the document is reported, not just the first; what sits inside a refused
    node (the value of a duplicate key, a non-scalar key) is skipped.
    """
    issues: list[InventoryIssue] = []
    lines: dict[Loc, int] = {}
    # The open containers, innermost last (None: inside a refused node, skipped), their
    # locations, and what each expects next: for a mapping _EXPECT_KEY, _BAD_KEY (the value of a
    # refused key) or the location of the key whose value comes next; for a list _SEQUENCE.
    containers: list[Any] = []
    locations: list[Loc] = []
    expecting: list[Any] = []
    root: Any = None
    documents = 0

    def fail(line: int, loc: Loc, message: str) -> None:
        issues.append(InventoryIssue(display, line, dotted(loc), message))

    loader: Any = None
    try:
        loader = _Loader(text)
        next_event = loader.get_event
        while True:
            event: Any = next_event()
            kind = type(event)
            if kind in _END_EVENTS:
                containers.pop()
                locations.pop()
                expecting.pop()
                continue
            if kind is not _SCALAR and kind is not _MAPPING_START and kind is not _SEQUENCE_START:
                if kind is yaml.StreamEndEvent:
                    break
                if kind is yaml.DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        fail(event.start_mark.line + 1, (), "only one YAML document is allowed here")
                        break
                    continue
                if kind is not _ALIAS:
                    continue  # stream start, document end
            line = event.start_mark.line + 1
            is_container = kind is _MAPPING_START or kind is _SEQUENCE_START
            container: Any = containers[-1] if containers else root
            wanted: Any = expecting[-1] if expecting else None
            if containers and (container is None or wanted is _BAD_KEY):
                # Inside a refused node, or the value of a refused key: skipped.
                if wanted is _BAD_KEY:
                    expecting[-1] = _EXPECT_KEY
                if is_container:
                    containers.append(None)
                    locations.append(())
                    expecting.append(_SEQUENCE)
                continue
            loc: Loc
            if wanted is _EXPECT_KEY:
                loc = locations[-1]
            elif wanted is _SEQUENCE:
                loc = (*locations[-1], len(container))
            elif containers:
                loc = wanted  # the location of the key this value belongs to
            else:
                loc = ()  # the root
            if kind is _ALIAS or event.anchor is not None:
                fail(line, loc, "YAML anchors and aliases are not allowed in an inventory")
            if kind is not _ALIAS and event.tag is not None:
                fail(line, loc, f"YAML tag {_describe_tag(event.tag)!r} is not allowed")

            if wanted is _EXPECT_KEY:  # a mapping key
                if kind is _SCALAR and event.tag is None:
                    key = event.value
                    key_loc = (*loc, key)
                    if key in container:
                        fail(line, key_loc, f"duplicate key {_safe(key)}")
                        expecting[-1] = _BAD_KEY
                    else:
                        expecting[-1] = key_loc
                        lines[key_loc] = line
                    continue
                expecting[-1] = _BAD_KEY
                if is_container:
                    fail(line, loc, "mapping keys must be plain scalars")
                    containers.append(None)
                    locations.append(loc)
                    expecting.append(_SEQUENCE)
                continue

            value: Any
            if is_container:
                value = {} if kind is _MAPPING_START else []
            elif kind is _SCALAR and event.tag is None:
                try:
                    value = _plain_scalar(event.value, event.implicit)
                except _UnsupportedScalar as exc:
                    fail(line, loc, f"YAML {exc.kind} values are not allowed (quote the value)")
                    value = None
            else:
                value = None
            if not containers:
                root = value
                lines[()] = line
            elif wanted is _SEQUENCE:
                container.append(value)
                lines[loc] = line
            else:
                container[loc[-1]] = value
                expecting[-1] = _EXPECT_KEY
            if is_container:
                containers.append(value)
                locations.append(loc)
                expecting.append(_EXPECT_KEY if kind is _MAPPING_START else _SEQUENCE)
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
    finally:
        if loader is not None:
            loader.dispose()
    if issues:
        raise InventoryError(issues)
    if root is None:
        raise InventoryError([InventoryIssue(display, 1, "", "file is empty")])
    if mapping_root and not isinstance(root, dict):
        raise InventoryError([InventoryIssue(display, 1, "", "top level must be a mapping")])
    return SourceDocument(display, root, lines)


def _refuse(display: str, message: str) -> InventoryError:
    return InventoryError([InventoryIssue(display, 0, "", message)])


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is, in words (None: it is a regular file)."""
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_bytes(
    path: str | os.PathLike[str], display: str, limit: int = MAX_FILE_BYTES, *, inside: Path | None = None
) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. Raises InventoryError.

    `inside`: a symlink is followed only when it resolves inside that directory. The type and
    size are checked before a byte is read, so a FIFO never hangs the reader and a device or a
    huge file never fills memory; the file is then opened without following a link and
    checked again, so a swap in between is caught.
    """
    target = os.fspath(path)
    try:
        if inside is not None and os.path.islink(target):
            target = os.path.realpath(target)
            if os.path.commonpath([target, os.path.realpath(inside)]) != os.path.realpath(inside):
                raise _refuse(display, "is a link to a file outside the fleet directory (refused)")
        kind = _not_regular(os.stat(target).st_mode)
        if kind is not None:
            raise _refuse(display, f"is {kind}, not a regular file (refused)")
        descriptor = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW)
    except OSError as exc:
        raise _refuse(display, f"cannot read file: {exc.strerror}") from None
    try:
        info = os.fstat(descriptor)
        kind = _not_regular(info.st_mode)
        if kind is not None:
            raise _refuse(display, f"is {kind}, not a regular file (refused)")
        if info.st_size > limit:
            raise _refuse(display, f"file is larger than {limit} bytes")
        raw = os.read(descriptor, info.st_size + 1)
        while len(raw) <= limit:  # a short read, or a file that grew: the rest, if any
            more = os.read(descriptor, min(limit + 1 - len(raw), 1 << 20))
            if not more:
                break
            raw += more
    except OSError as exc:
        raise _refuse(display, f"cannot read file: {exc.strerror}") from None
    finally:
        os.close(descriptor)
    if len(raw) > limit:  # grew since it was measured
        raise _refuse(display, f"file is larger than {limit} bytes")
    return raw


def decode(raw: bytes, display: str, limit: int = MAX_FILE_BYTES) -> str:
    """Inventory files are UTF-8 text of bounded size."""
    if len(raw) > limit:
        raise _refuse(display, f"file is larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(display, f"not UTF-8 text ({exc.reason})") from None


def read_document(
    path: str | os.PathLike[str], display: str, limit: int = MAX_FILE_BYTES, *, inside: Path | None = None
) -> SourceDocument:
    """Parse one inventory file. Raises InventoryError naming the file and line."""
    return parse_text(decode(read_bytes(path, display, limit, inside=inside), display, limit), display)


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
