"""Strings that would inject config lines (or worse) never get past the loader.

Each case edits one line of a valid store file as an attacker or a careless copy-paste would,
and expects the exact message: the value is shown escaped, so the message stays one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from storestack.inventory import InventoryError, load_fleet
from storestack.inventory.types import Hostname, Slug, Text

TEXT_RULE = "is not allowed text (ASCII letters, digits, space and . , ' ( ) & / _ + -; 1-63 chars, no trailing space)"
HOSTNAME_RULE = "is not an RFC 1123 hostname (lower-case labels of a-z, 0-9 and '-', 1-63 chars)"
NAME_LINE = "name: Sandhill Leeds Central"
HOSTNAME_LINE = "  - hostname: sh-0001-edge1"

CASES = [
    pytest.param(
        NAME_LINE,
        'name: "Sandhill Leeds\\nno router bgp 65001"',
        [f"stores/sh-0001.yaml:2 name: 'Sandhill Leeds\\nno router bgp 65001' {TEXT_RULE}"],
        id="newline-then-cli-command",
    ),
    pytest.param(
        NAME_LINE,
        "name: |-\n  Sandhill Leeds\n  end\n  no router bgp 65001",
        [f"stores/sh-0001.yaml:2 name: 'Sandhill Leeds\\nend\\nno router bgp 65001' {TEXT_RULE}"],
        id="block-scalar-with-end",
    ),
    pytest.param(
        NAME_LINE,
        'name: "Sandhill Leeds\\rexit"',
        [f"stores/sh-0001.yaml:2 name: 'Sandhill Leeds\\rexit' {TEXT_RULE}"],
        id="carriage-return-exit",
    ),
    pytest.param(
        NAME_LINE,
        "name: Sandhill Leeds ! end",
        [f"stores/sh-0001.yaml:2 name: 'Sandhill Leeds ! end' {TEXT_RULE}"],
        id="comment-bang",
    ),
    pytest.param(
        NAME_LINE,
        'name: "Shop {what} $(reboot)"',
        [f"stores/sh-0001.yaml:2 name: 'Shop {{what}} $(reboot)' {TEXT_RULE}"],
        id="shell-substitution-and-braces",
    ),
    pytest.param(
        NAME_LINE,
        "name: S\u0430ndhill Leeds",  # Cyrillic a
        [f"stores/sh-0001.yaml:2 name: 'S\\u0430ndhill Leeds' {TEXT_RULE}"],
        id="unicode-confusable",
    ),
    pytest.param(
        NAME_LINE,
        'name: "Sandhill\\e[31mLeeds"',
        [f"stores/sh-0001.yaml:2 name: 'Sandhill\\x1b[31mLeeds' {TEXT_RULE}"],
        id="terminal-escape",
    ),
    pytest.param(
        NAME_LINE,
        'name: "Sandhill\\0Leeds"',
        [f"stores/sh-0001.yaml:2 name: 'Sandhill\\x00Leeds' {TEXT_RULE}"],
        id="nul-escape",
    ),
    pytest.param(
        NAME_LINE,
        "name: Sandhill\x07Leeds",
        ["stores/sh-0001.yaml:2 character #x0007 is not allowed (control characters are not allowed)"],
        id="raw-control-character",
    ),
    pytest.param(
        NAME_LINE,
        "name: Sandhill Leeds " + "A" * 10_000,
        [f"stores/sh-0001.yaml:2 name: 'Sandhill Leeds {'A' * 41}... {TEXT_RULE}"],
        id="very-long-value",
    ),
    pytest.param(
        NAME_LINE,
        'name: !!python/object/apply:os.system ["echo pwned"]',
        ["stores/sh-0001.yaml:2 name: YAML tag '!!python/object/apply:os.system' is not allowed"],
        id="python-object-tag",
    ),
    pytest.param(
        NAME_LINE,
        "name: !!str Sandhill Leeds",
        ["stores/sh-0001.yaml:2 name: YAML tag '!!str' is not allowed"],
        id="even-plain-explicit-tags",
    ),
    pytest.param(
        "city: Leeds",
        "city: &town Leeds\nlocation: *town",
        [
            "stores/sh-0001.yaml:3 city: YAML anchors and aliases are not allowed in an inventory",
            "stores/sh-0001.yaml:4 location: YAML anchors and aliases are not allowed in an inventory",
        ],
        id="anchor-and-alias",
    ),
    pytest.param(
        "city: Leeds",
        "city: Leeds\ncity: Bradford",
        ["stores/sh-0001.yaml:4 city: duplicate key 'city'"],
        id="duplicate-key",
    ),
    pytest.param(
        "city: Leeds",
        'city: Leeds\n"name\\nno router bgp 1": x',
        [
            "stores/sh-0001.yaml:4 ['name\\nno router bgp 1']: unknown key 'name\\nno router bgp 1' (allowed: "
            "appliances, asn, city, cloud, desktop_users, desktops, format, hub, id, lan, name, region, sla, state, wan)"
        ],
        id="hostile-key",
    ),
    pytest.param(
        HOSTNAME_LINE,
        "  - hostname: |-\n      sh-0001-edge1\n      end",
        [f"stores/sh-0001.yaml:27 appliances[0].hostname: 'sh-0001-edge1\\nend' {HOSTNAME_RULE}"],
        id="hostname-end-glued-on",
    ),
    pytest.param(
        HOSTNAME_LINE,
        "  - hostname: sh-0001-edge1 exit",
        [f"stores/sh-0001.yaml:27 appliances[0].hostname: 'sh-0001-edge1 exit' {HOSTNAME_RULE}"],
        id="hostname-exit-glued-on",
    ),
    pytest.param(
        HOSTNAME_LINE,
        "  - hostname: sh-0001\u2010edge1",  # unicode hyphen
        [f"stores/sh-0001.yaml:27 appliances[0].hostname: 'sh-0001\\u2010edge1' {HOSTNAME_RULE}"],
        id="hostname-unicode-hyphen",
    ),
    pytest.param(
        "hub: hq-hub1",
        "hub: hq-hub1;reload",
        [f"stores/sh-0001.yaml:6 hub: 'hq-hub1;reload' {HOSTNAME_RULE}"],
        id="reference-with-command",
    ),
    pytest.param(
        "    isp: BT Business",
        "    isp: BT`reboot`",
        [f"stores/sh-0001.yaml:11 wan[0].isp: 'BT`reboot`' {TEXT_RULE}"],
        id="backticks",
    ),
    # A FortiOS description is a double-quoted value: a double quote ends it early and a backslash
    # escapes the next character or continues the line (FortiAnalyzer 6.4.9 CLI Reference, "CLI
    # command syntax": quotes "must be used in pairs", a backslash escapes a space or continues a line).
    pytest.param(
        "    isp: BT Business",
        '    isp: \'BT "Business\'',
        [f"stores/sh-0001.yaml:11 wan[0].isp: 'BT \"Business' {TEXT_RULE}"],
        id="double-quote",
    ),
    pytest.param(
        "city: Leeds",
        "city: Leeds\\",
        [f"stores/sh-0001.yaml:3 city: 'Leeds\\\\' {TEXT_RULE}"],
        id="backslash",
    ),
    pytest.param(
        "  - name: wan1",
        "  - name: wan1 shutdown",
        [
            "stores/sh-0001.yaml:9 wan[0].name: 'wan1 shutdown' is not a slug"
            " (lower-case letters, digits and '-', 2-32 chars)"
        ],
        id="interface-name-with-command",
    ),
]


@pytest.mark.parametrize(("original", "replacement", "expected"), CASES)
def test_hostile_value_is_refused_with_exact_message(
    fleet_dir: Path, original: str, replacement: str, expected: list[str]
) -> None:
    store = fleet_dir / "stores" / "sh-0001.yaml"
    text = store.read_text()
    assert original in text
    store.write_text(text.replace(original, replacement, 1))
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == expected
    assert all("\n" not in str(issue) and "\r" not in str(issue) for issue in caught.value.issues)


def test_hostile_tag_value_in_fleet_file_is_refused(fleet_dir: Path) -> None:
    fleet = fleet_dir / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("  owner: platform-team", '  owner: "platform\\nteam"'))
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "fleet.yaml:74 tags.owner: 'platform\\nteam' is not an allowed tag value (1-128 chars, no control characters)"
    ]


@pytest.mark.parametrize(
    "hostname",
    ["a", "edge1", "sh-0001-edge1", "0-edge", "edge.sandhill.example", "a" * 63, ".".join(["a" * 63] * 3)],
)
def test_rfc1123_hostnames_are_accepted(hostname: str) -> None:
    assert TypeAdapter(Hostname).validate_python(hostname) == hostname


@pytest.mark.parametrize(
    "hostname",
    [
        "",
        "-edge",
        "edge-",
        "edge_1",
        "Edge1",
        "edge..sandhill",
        "edge.",
        "a" * 64,
        ".".join(["a" * 63] * 4) + ".ab",  # 256 characters
        "edge 1",
        "edge1\n",
        "édge",
    ],
)
def test_hostnames_outside_rfc1123_are_refused(hostname: str) -> None:
    with pytest.raises(ValidationError, match="is not an RFC 1123 hostname"):
        TypeAdapter(Hostname).validate_python(hostname)


@pytest.mark.parametrize("value", ["Sandhill Leeds", "O'Neill & Sons (Leeds) 2/3", "Co-op St. Ann's", "A"])
def test_ordinary_store_names_are_text(value: str) -> None:
    assert TypeAdapter(Text).validate_python(value) == value


@pytest.mark.parametrize("value", ["", " Leeds", "Leeds ", "Leeds; reload", 'Leeds "x"', "Leeds#1", "a" * 64])
def test_text_refuses_edges_and_metacharacters(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Text).validate_python(value)


@pytest.mark.parametrize("value", ["a", "-ab", "ab-", "AB", "a_b", "a" * 33])
def test_slugs_are_strict(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Slug).validate_python(value)


def test_bundle_with_lone_surrogate_is_an_inventory_error() -> None:
    from storestack.inventory import load_fleet_bundle

    with pytest.raises(InventoryError) as caught:
        load_fleet_bundle('organisation: "\ud800"\n')
    assert [str(issue) for issue in caught.value.issues] == [
        "<stdin> the bundle holds no store documents (expected the fleet, then stores)",
        "<stdin>:1 text is not valid Unicode (lone surrogate)",
    ]
