"""The FortiOS lint reads a config line's words as the FortiOS CLI (and shlex) does: quoted
names whole and unquoted, escapes and odd quoting handled, on every line of the rendered
configs and on hand-made edge cases."""

from __future__ import annotations

import shlex

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint.fortinet import _words
from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet, sample_chain_path


def _shlex(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


@pytest.mark.parametrize(
    "line",
    [
        'set comments "a b  c"',
        'set member "POS" "OFFICE"',
        'set name ""',
        'set a"b c"',
        "set y 'q r'",
        'set z "a\\"b"',
        'set w "unterminated',
        "set  spaced   out ",
        'set k abc"',
        'set m "a"b',
        'edit "x"',
    ],
)
def test_edge_cases_read_as_shlex_reads_them(line: str) -> None:
    assert _words(line) == _shlex(line)


def test_every_rendered_line_reads_as_shlex_reads_it() -> None:
    fleet = on_platform(load_fleet(sample_chain_path()), "fortinet")
    texts = [render_store(fleet, store_id)[0].text for store_id in sorted(set(SHAPES.values()))]
    texts.append(render_hub(fleet, "hq-hub1").text)
    lines = {line.strip() for text in texts for line in text.splitlines() if line.strip()}
    assert len(lines) > 500
    assert [line for line in lines if _words(line) != _shlex(line)] == []
