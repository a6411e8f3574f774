"""Property-based: generated fleets, mutated by hostile hands, only ever raise InventoryError.

And whatever the loader accepts is inside the allow-lists: every string a template or a cloud
resource name could receive is printable ASCII on one line, hostnames are RFC 1123, names are
allowed text. Every error is one line naming a known file.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from testsupport import yamltext

from storestack.inventory import Fleet, InventoryError, load_fleet, load_fleet_bundle
from storestack.inventory.generate import generate_fleet
from storestack.inventory.source import parse_text

HOSTILE_STRINGS = [
    "Sandhill\nno router bgp 65001",
    "hq-hub1\nend",
    "edge1 exit",
    "x\rreload",
    "! comment",
    "$(reboot)",
    "`id`",
    "a;b",
    "S\u0430ndhill",  # Cyrillic a
    "edge\u2010one",  # unicode hyphen
    "\x1b[31m",
    "\x00",
    "{value}",
    "A" * 5000,
    "",
    " ",
    "yes",
    "10.0.0.0/8",
    "300.1.1.1",
    "4097",
    "-1",
    "SHA256:" + "A" * 43,
    "https://evil.example/$(id)",
    "env:SECRET",
]
HOSTILE_YAML = [
    "!!python/object/apply:os.system ['id']",
    "!!str x",
    "!custom x",
    "&anchor x",
    "*anchor",
    "? [a, b]",
    "{a: 1, a: 2}",
    "<<: {x: 1}",
    "2024-01-01",
    "\t",
    "\x07",
    "---",
    "...",
    "%YAML 1.1",
    "'unterminated",
    "[",
    "key: value: other",
    "\ud800",
]

PRINTABLE_ONE_LINE = re.compile(r"[\x20-\x7e]*")
HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
TEXT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .,'()&/_+-]{0,61}[A-Za-z0-9.)'])?")
SLUG = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
DISPLAY = re.compile(r"fleet\.yaml|stores/[a-z][a-z0-9-]{0,30}[a-z0-9]\.yaml(#\d+)?|<stdin>(#\d+)?")  # the bundle itself, or one of its documents

values = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=40),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.sampled_from(HOSTILE_STRINGS), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
)


GLUE = [
    "\nend",
    "\nno router bgp 65001",
    "\r\nexit",
    " !",
    "!",
    "\u0430",
    "\x00",
    "\x1b",
    "\t",
    ";reload",
    "\u200b",
]


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> list[dict[str, Any]]:
    generated = generate_fleet(draw(st.integers(1, 6)), draw(st.integers(0, 10_000)))
    documents = [copy.deepcopy(generated.fleet), *copy.deepcopy(generated.stores)]
    for _ in range(draw(st.integers(0, 4))):
        target = draw(st.integers(0, len(documents) - 1))
        document = documents[target]
        operation = draw(
            st.sampled_from(["inject", "inject", "replace", "delete", "add", "duplicate", "rename-key"])
        )
        if operation == "duplicate" and target > 0:
            documents.append(copy.deepcopy(document))
            continue
        paths = _paths(document)
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if operation == "inject":
            # Glue hostile text onto a real string value, the way a config line would be smuggled.
            strings = [p for p in paths if isinstance(_get(document, p), str)]
            if strings:
                path = draw(st.sampled_from(strings))
                parent, last = _get(document, path[:-1]), path[-1]
                glue = draw(st.sampled_from(GLUE) | st.text(min_size=1, max_size=6))
                parent[last] = draw(st.sampled_from([parent[last] + glue, glue + parent[last]]))
        elif operation == "replace":
            parent[last] = draw(values)
        elif operation == "delete":
            del parent[last]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(HOSTILE_STRINGS[:12]) | st.text(min_size=1, max_size=10))] = draw(
                values
            )
        elif operation == "rename-key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["nmae", "hubb", "vlan_id", "Name", "id "]))] = parent.pop(last)
    return documents


def _bundle(documents: list[dict[str, Any]]) -> str:
    return "".join(
        "---\n" + yamltext.dump(document, sort_keys=False, allow_unicode=True) for document in documents
    )


def _assert_errors_are_one_line(error: InventoryError) -> None:
    assert error.issues
    for issue in error.issues:
        text = str(issue)
        assert "\n" not in text and "\r" not in text, text
        assert DISPLAY.fullmatch(issue.file), issue.file
        assert issue.line >= 0


def _assert_accepted_values_are_allow_listed(fleet: Fleet) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, str):
            assert PRINTABLE_ONE_LINE.fullmatch(value), ascii(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(fleet.spec.model_dump(mode="json"))
    for hub in fleet.hubs.values():
        assert HOSTNAME.fullmatch(hub.hostname)
    for store in fleet:
        walk(store.model_dump(mode="json"))
        assert SLUG.fullmatch(store.id) and SLUG.fullmatch(store.region)
        assert TEXT.fullmatch(store.name) and TEXT.fullmatch(store.city)
        assert all(TEXT.fullmatch(link.isp) and SLUG.fullmatch(link.name) for link in store.wan)
        assert all(HOSTNAME.fullmatch(appliance.hostname) for appliance in store.appliances)
        assert all(1 <= segment.vlan <= 4094 for segment in store.segments.values())
        assert store.primary_hub in fleet.hubs and store.backup_hub in fleet.hubs


def _load(text: str) -> None:
    try:
        fleet = load_fleet_bundle(text)
    except InventoryError as error:
        event("refused")
        _assert_errors_are_one_line(error)
    else:
        event("accepted")
        _assert_accepted_values_are_allow_listed(fleet)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_mutated_fleets_only_raise_inventory_errors(documents: list[dict[str, Any]]) -> None:
    _load(_bundle(documents))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4),
    st.integers(0, 1000),
    st.data(),
)
def test_hostile_text_spliced_into_the_yaml_only_raises_inventory_errors(
    stores: int, seed: int, data: st.DataObject
) -> None:
    text = generate_fleet(stores, seed).bundle()
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(text)))
        fragment = data.draw(
            st.sampled_from(HOSTILE_YAML) | st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=20)
        )
        text = text[:position] + fragment + text[position:]
    _load(text)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated_documents())
def test_mutated_fleet_directories_only_raise_inventory_errors(
    tmp_path: Path, documents: list[dict[str, Any]]
) -> None:
    root = tmp_path / f"fleet-{abs(hash(repr(documents))) % 10**12}"
    (root / "stores").mkdir(parents=True, exist_ok=True)
    (root / "fleet.yaml").write_text(yamltext.dump(documents[0], allow_unicode=True), encoding="utf-8")
    for index, store in enumerate(documents[1:]):
        (root / "stores" / f"doc-{index:02d}.yaml").write_text(yamltext.dump(store, allow_unicode=True))
    try:
        fleet = load_fleet(root)
    except InventoryError as error:
        for issue in error.issues:
            assert "\n" not in str(issue) and "\r" not in str(issue)
    else:
        _assert_accepted_values_are_allow_listed(fleet)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats(allow_nan=False),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_the_reader_reads_any_mapping_as_yaml_does(data: Any) -> None:
    text = yaml.safe_dump({"root": data}, allow_unicode=True)
    try:
        document = parse_text(text, "x.yaml")
    except InventoryError:
        return  # refused (e.g. a string YAML itself will not carry)
    assert document.data == yaml.safe_load(text)


UNPRINTABLE = [
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u00a0",
    "\u0430",
    "\u2010",
    "\u200b",
    "\ufeff",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(0, 1000), st.data())
def test_any_string_value_with_a_control_or_unicode_character_is_refused(
    stores: int, seed: int, data: st.DataObject
) -> None:
    generated = generate_fleet(stores, seed)
    documents = [copy.deepcopy(generated.fleet), *copy.deepcopy(generated.stores)]
    target = documents[data.draw(st.integers(0, len(documents) - 1))]
    strings = [path for path in _paths(target) if isinstance(_get(target, path), str)]
    path = data.draw(st.sampled_from(strings))
    original: str = _get(target, path)
    glue = data.draw(st.sampled_from(UNPRINTABLE)) + data.draw(
        st.sampled_from(["", "end", "no router bgp 1", "exit"])
    )
    cut = data.draw(st.integers(0, len(original)))
    _get(target, path[:-1])[path[-1]] = original[:cut] + glue + original[cut:]
    # Escaped, so YAML carries the character itself (a raw U+0085 would be read as a line break).
    text = "".join(
        "---\n" + yamltext.dump(document, sort_keys=False, allow_unicode=False) for document in documents
    )
    assert yamltext.load_all(text) == documents
    try:
        load_fleet_bundle(text)
    except InventoryError as error:
        _assert_errors_are_one_line(error)
    else:
        raise AssertionError(f"accepted {original[:cut] + glue + original[cut:]!a} at {path}")
