"""The lock file's line reader reads what storestack writes exactly as the YAML reader does.

Anything else (a lock edited by hand, hostile text) is left to the YAML reader, which reports
what is wrong with it: the line reader may decline a file, never read it differently.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storestack.inventory import InventoryError, load_fleet, load_fleet_with_allocations, sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.inventory.ipam import LOCK_FILE_NAME, read_written_lock
from storestack.inventory.source import parse_text

SAMPLE_LOCK = (sample_chain_path() / LOCK_FILE_NAME).read_text()


def _same_as_yaml(text: str) -> bool | None:
    """None: the line reader declined; else whether it read what the YAML reader reads."""
    written = read_written_lock(text, LOCK_FILE_NAME)
    if written is None:
        return None
    document = parse_text(text, LOCK_FILE_NAME)
    return written.data == document.data and written.lines == document.lines


@pytest.fixture(scope="module")
def generated_lock(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("generated") / "fleet"
    write_fleet(generate_fleet(300, 5), root)
    return load_fleet_with_allocations(root).allocations.render()


def test_written_locks_are_read_by_lines_exactly_as_yaml_reads_them(generated_lock: str) -> None:
    assert "aws_inside:" in generated_lock and "stores: {}" not in generated_lock
    for text in (SAMPLE_LOCK, generated_lock, "version: 1\nhubs: {}\nstores: {}\n"):
        assert _same_as_yaml(text) is True


@pytest.mark.parametrize(
    "edit",
    [
        ("version: 1", "version: 1  # pinned"),  # a comment after a value
        ("version: 1", "version: 1\nversion: 1"),  # a duplicate key
        ("  hq-hub1:", "\thq-hub1:"),  # a tab
        ("    asn: ", "     asn: "),  # an odd indent
        ("    asn: ", "      asn: "),  # deeper than the mapping it is in
        ("version: 1", "version: &v 1"),  # an anchor
        ("version: 1", "version: '1'"),  # a quoted value
        ("version: 1", "version: 2024-01-01"),  # a date
        ("version: 1", "---\nversion: 1"),  # a document marker
        ("hubs:\n", "hubs:\nextra:\n"),  # a key whose mapping never comes (YAML: null)
    ],
)
def test_a_lock_edited_by_hand_is_left_to_the_yaml_reader(edit: tuple[str, str]) -> None:
    old, new = edit
    assert old in SAMPLE_LOCK
    assert read_written_lock(SAMPLE_LOCK.replace(old, new, 1), LOCK_FILE_NAME) is None


def test_a_duplicate_key_in_the_lock_is_reported_with_its_line(tmp_path: Path) -> None:
    fleet_dir = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet_dir)
    lock = fleet_dir / LOCK_FILE_NAME
    lines = lock.read_text().splitlines(keepends=True)
    number = next(index for index, line in enumerate(lines) if line.startswith("    asn: ")) + 1
    lines.insert(number, lines[number - 1])
    lock.write_text("".join(lines))
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{LOCK_FILE_NAME}:{number + 1} stores.nw-0001.asn: duplicate key 'asn'"
    ]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_an_edited_lock_is_read_as_yaml_reads_it_or_declined(data: st.DataObject) -> None:
    text = SAMPLE_LOCK
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            fragment = data.draw(
                st.sampled_from([" ", "  ", "\n", "\t", ":", ": ", ",", ", ", "{", "}", "{}", '"', "#", "-"])
                | st.sampled_from(["yes", "null", "~", "0x1f", "010", "1_0", "2001-01-01", "1.5", "&a ", "*a"])
                | st.text(alphabet="abz019./-", max_size=6)
            )
            text = text[:position] + fragment + text[position:]
        else:
            text = text[:position] + text[position + data.draw(st.integers(1, 12)) :]
    try:
        same = _same_as_yaml(text)
    except InventoryError:
        pytest.fail("the line reader read a lock the YAML reader refuses")
    assert same is not False
