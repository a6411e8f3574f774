"""The plain-block reader is a shortcut, never a second opinion.

Whatever it accepts, libyaml (through the event-based fast path) reads as exactly the same
data; whatever it does not take on is left to libyaml, so errors and odd documents read as
before. Documents are built line by line from YAML's sharp edges: quotes, comments, flow
collections, indicators, indentation, typed scalars and broken structure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from storestack.inventory import sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.inventory.source import _NotPlainBlock, _parse_fast, _parse_plain_block, parse_text

KEYS = ["a", "b", "id", "wan", "yes", "1", "a.b", "k-1", "_x", "a b", "a:b", "-k", "'q'", '"d"', "?"]
VALUES = [
    *["x", "x y", "O'Brien's", "Caf\u00e9", "x!", "a&b", "a{b}", "10.0.0.1/24", "SHA256:ab+/c"],
    *["'q'", "'it''s'", "''", '"d"', '""', '"a\\"b"', '"a #b"', "'a' # c", "'a'#c", "'", '"'],
    *["# c", "x # c", "x#c", "a: b", "a:", ":a", "?a", "-1", "-x", "- x", "-", "--"],
    *["[a, b]", "[ a , b ]", "[]", "[ ]", "{}", "{a: 1}", "{a: 1, b: x y}", "{a: 1, a: 2}", "[a, [b]]"],
    *["{a: b}, c", "[a, b] x", "[a,]", "{a:b}", "{a: }", "[a", "{a: 1} # c", "[-1, 2]", "[a:b]"],
    *["&a x", "*a", "!!str x", "!x", "|", ">", "%x", "@x", "`x`"],
    *["~", "null", "Null", "yes", "No", "on", "true", "010", "0x1F", "0o7", "1_000", "1:30", "+5"],
    *["2024-01-01", "1.5", "1e3", ".inf", "-.5", "0", "x\ty", "x\u2028y", "x\u0085", "\ufeffx"],
]
# Values the plain-block reader takes on itself; weighted in, so most documents exercise it.
READABLE = ["x", "x y", "O'Brien's", "Caf\u00e9", "x!", "10.0.0.1/24", "'it''s'", '"d"', "x # c", "x#c"]
READABLE += ["[a, b]", "{a: 1, b: x y}", "[]", "~", "yes", "010", "1.5", "-1", "0", "1:30", "-x"]
INDENTS = [0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 6]


@st.composite
def _line(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["key", "key", "key-value", "item", "item-key", "blank", "comment", "odd"]))
    indent = " " * draw(st.sampled_from(INDENTS))
    key = draw(st.sampled_from(KEYS))
    value = draw(st.sampled_from(VALUES))
    spaces = draw(st.sampled_from([" ", " ", "  ", ""]))
    trailing = draw(st.sampled_from(["", "", " ", " # note", "#x"]))
    return {
        "key": f"{indent}{key}:{trailing}",
        "key-value": f"{indent}{key}:{spaces}{value}{trailing}",
        "item": f"{indent}-{spaces}{value}{trailing}",
        "item-key": f"{indent}-{spaces}{key}:{spaces}{value}{trailing}",
        "blank": indent,
        "comment": f"{indent}# {value}",
        "odd": draw(st.sampled_from(["---", "...", "- - x", "-", "? x", "%YAML 1.1", "\r", "\t- x"])),
    }[shape]


@st.composite
def _block_document(draw: st.DrawFn) -> str:
    """A block document of tricky keys and values, well indented, then perhaps one line broken."""
    step = draw(st.sampled_from([1, 2, 2, 4]))
    values = st.sampled_from(READABLE * 6 + VALUES)
    keys = st.sampled_from(KEYS[:9] * 4 + KEYS[9:])
    trailing = st.sampled_from(["", "", "", " ", " # note"])

    def mapping(indent: int, depth: int, first_prefix: str = "") -> list[str]:
        lines: list[str] = []
        for number, key in enumerate(draw(st.lists(keys, min_size=1, max_size=3))):
            pad = first_prefix if number == 0 and first_prefix else " " * indent
            kind = draw(
                st.sampled_from(["value", "value", "map", "seq", "seq-same", "empty"] if depth else ["value"])
            )
            if kind == "value":
                lines.append(f"{pad}{key}: {draw(values)}{draw(trailing)}")
            elif kind == "empty":
                lines.append(f"{pad}{key}:{draw(trailing)}")
            elif kind == "map":
                lines.append(f"{pad}{key}:{draw(trailing)}")
                lines += mapping(indent + step, depth - 1)
            else:
                lines.append(f"{pad}{key}:")
                lines += sequence(indent + (0 if kind == "seq-same" else step), depth - 1)
        return lines

    def sequence(indent: int, depth: int) -> list[str]:
        lines: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            dash = " " * indent + "-" + " " * draw(st.sampled_from([1, 1, 3]))
            if depth and draw(st.booleans()):
                lines += mapping(len(dash), depth - 1, first_prefix=dash)
            else:
                lines.append(f"{dash}{draw(values)}{draw(trailing)}")
        return lines

    lines = mapping(0, 3)
    mutation = draw(st.sampled_from(["none", "none", "indent", "duplicate", "comment", "odd", "drop"]))
    where = draw(st.integers(0, len(lines) - 1))
    if mutation == "indent":
        lines[where] = " " * draw(st.sampled_from([1, 2, 3])) + lines[where]
    elif mutation == "duplicate":
        lines.insert(where, lines[where])
    elif mutation == "comment":
        lines.insert(where, " " * draw(st.sampled_from(INDENTS)) + "# " + draw(values))
    elif mutation == "odd":
        lines.insert(where, draw(_line()))
    elif mutation == "drop" and len(lines) > 1:
        del lines[where]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line(), min_size=1, max_size=12), st.booleans())
def test_any_lines_the_plain_block_reader_accepts_libyaml_reads_alike(
    lines: list[str], final_newline: bool
) -> None:
    _assert_read_alike("\n".join(lines) + ("\n" if final_newline else ""))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_block_document())
def test_block_documents_the_plain_block_reader_accepts_libyaml_reads_alike(text: str) -> None:
    _assert_read_alike(text)


def _assert_read_alike(text: str) -> None:
    try:
        data = _parse_plain_block(text)
    except _NotPlainBlock:
        event("left to libyaml")
        return
    event("read by the plain-block reader")
    assert data == _parse_fast(text)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)
    | st.sampled_from(["yes", "null", "1.5", "010", "a # b", "a: b", "x'y", '"', "- x"])
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_-]{0,8}", fullmatch=True),
        st.recursive(
            _SCALARS,
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True), children, max_size=3)
            ),
            max_leaves=10,
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([False, None]),
    st.sampled_from([2, 4]),
)
def test_documents_any_yaml_emitter_writes_read_alike(
    data: dict[str, Any], flow_style: bool | None, indent: int
) -> None:
    text = yaml.safe_dump(
        data, default_flow_style=flow_style, indent=indent, allow_unicode=True, sort_keys=False
    )
    try:
        block = _parse_plain_block(text)
    except _NotPlainBlock:
        event("left to libyaml")
        return
    event("read by the plain-block reader")
    assert block == _parse_fast(text) == yaml.safe_load(text)


def test_generated_fleets_and_their_lock_file_take_the_plain_block_path(tmp_path: Path) -> None:
    from storestack.inventory.loader import load_fleet_with_allocations

    root = tmp_path / "fleet"
    write_fleet(generate_fleet(40, seed=3), root)
    load_fleet_with_allocations(root, write_lock=True)
    files = [root / "fleet.yaml", root / "allocations.yaml", *sorted((root / "stores").glob("*.yaml"))]
    for path in files:
        text = path.read_text()
        assert _parse_plain_block(text) == _parse_fast(text), path.name


def test_sample_chain_files_read_the_same_whichever_reader_takes_them() -> None:
    read_by_block = 0
    for path in sorted(sample_chain_path().rglob("*.yaml")):
        text = path.read_text()
        try:
            block = _parse_plain_block(text)
        except _NotPlainBlock:
            continue
        read_by_block += 1
        assert block == _parse_fast(text), path.name
    assert read_by_block >= 8  # the store files at least


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a:\n- x\n- y\nb: 1\n", {"a": ["x", "y"], "b": 1}),
        (
            "a:\n  - k: 1\n    l: [p, q]\n  - k: 2\nb:\n",
            {"a": [{"k": 1, "l": ["p", "q"]}, {"k": 2}], "b": None},
        ),
        ("name: Shop #1\nnote: 'it''s' # c\ncode: 010\n", {"name": "Shop", "note": "it's", "code": 8}),
        ("m: {x: 10.0.0.1, y: 100.64.0.0/31}\n", {"m": {"x": "10.0.0.1", "y": "100.64.0.0/31"}}),
    ],
)
def test_plain_block_documents_read_as_yaml_says(text: str, expected: dict[str, Any]) -> None:
    assert _parse_plain_block(text) == expected
    assert parse_text(text, "x.yaml").data == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key: the tracked parse names it
        "a: &x 1\nb: *x\n",
        "a: !!python/object/apply:os.system ['id']\n",
        "a: |\n  text\n",
        "a: Foo\n  Bar\n",  # a plain scalar over two lines
        "a:\n    b: 1\n  c: 2\n",  # bad indentation
        "a: 1\r\nb: 2\r\n",
        "a: 2024-01-01\n",
    ],
)
def test_anything_unusual_is_left_to_libyaml(text: str) -> None:
    with pytest.raises(_NotPlainBlock):
        _parse_plain_block(text)
