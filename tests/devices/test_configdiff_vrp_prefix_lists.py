"""A VRP push that changes a BGP route filter (`ip ip-prefix`) never leaves, line by line, a list
a route-policy names without entries.

An AR in immediate validation applies each line as typed; a list whose every entry is deleted
stops existing, and "If the if-match ip-prefix p1 command is used but the IP prefix named p1 is
not configured, all routes are permitted" (command reference, "if-match ip-prefix"). A push that
moved a cloud site's ranges deleted both entries of the hub's CLOUD-IN list before adding the new
ones: between the lines, the cloud's BGP peers had every route they sent accepted. Entries are
deleted by their index alone, `undo ip ip-prefix NAME index N`, the form the AR command reference
documents ("ip ip-prefix", EDOC1100064351).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storestack.devices.configdiff import compute_diff

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"

_ENTRY = re.compile(r"^ip ip-prefix (\S+) index (\d+) (.*)$")
_DELETION = re.compile(r"^undo ip ip-prefix (\S+) index (\d+)(?: .*)?$")
_DOCUMENTED_DELETION = re.compile(r"^undo ip ip-prefix \S+ index \d+$")
# an entry that keeps a list in existence and permits nothing
_DENY_ALL = "deny 0.0.0.0 0 less-equal 32"
_MATCHED = re.compile(r"^\s*if-match ip-prefix (\S+)$", re.MULTILINE)


def _lists(config: str) -> dict[str, dict[int, str]]:
    held: dict[str, dict[int, str]] = {}
    for line in config.splitlines():
        if (found := _ENTRY.match(line)) is not None:
            held.setdefault(found.group(1), {})[int(found.group(2))] = found.group(3)
    return held


def _states(running: str, lines: tuple[str, ...]) -> list[dict[str, dict[int, str]]]:
    """The device's prefix lists after each line (an entry sent to a held index replaces it)."""
    held = _lists(running)
    states = []
    for line in lines:
        if (found := _ENTRY.match(line)) is not None:
            held.setdefault(found.group(1), {})[int(found.group(2))] = found.group(3)
        elif line.startswith("undo ip ip-prefix "):
            deleted = _DELETION.match(line)
            assert deleted is not None, line
            entries = held[deleted.group(1)]
            del entries[int(deleted.group(2))]
            if not entries:
                del held[deleted.group(1)]
        states.append({name: dict(entries) for name, entries in held.items()})
    return states


def _replace(config: str, changes: dict[str, str]) -> str:
    for old, new in changes.items():
        assert old in config, old
        config = config.replace(old, new)
    return config


CLOUD_SITE_MOVED = {
    "ip ip-prefix CLOUD-IN-AWS1 index 5 permit 10.16.0.0 18 ": "ip ip-prefix CLOUD-IN-AWS1 index 5 permit 10.16.128.0 18 ",
    "ip ip-prefix CLOUD-IN-AWS1 index 10 permit 10.20.0.0 20 ": "ip ip-prefix CLOUD-IN-AWS1 index 10 permit 10.20.32.0 20 ",
}
STORE_READDRESSED = {
    f"ip ip-prefix STORE-nw-0006 index {index} permit 10.64.10.{low} 26": f"ip ip-prefix STORE-nw-0006 index {index} permit 10.64.11.{low} 26"
    for index, low in ((101, 0), (102, 64), (103, 128))
} | {"ip ip-prefix STORE-nw-0006 index 100 permit 10.255.0.8 32": "ip ip-prefix STORE-nw-0006 index 100 permit 10.255.0.80 32"}
AWS_REGION_MOVED = {
    "ip ip-prefix AWS-ROUTES index 5 permit 10.16.0.0 18 ": "ip ip-prefix AWS-ROUTES index 5 permit 10.16.64.0 18 ",
}


@pytest.mark.parametrize(
    ("golden", "changes"),
    [("hub.cfg", CLOUD_SITE_MOVED), ("hub.cfg", STORE_READDRESSED), ("aws.cfg", AWS_REGION_MOVED)],
    ids=["hub-cloud-site-moved", "hub-store-readdressed", "store-aws-region-moved"],
)
@pytest.mark.parametrize("way", ["push", "rollback"])
def test_a_named_prefix_list_is_never_missing_mid_push(golden: str, changes: dict[str, str], way: str) -> None:
    rendered = (GOLDEN / golden).read_text()
    changed = _replace(rendered, changes)
    before, after = (rendered, changed) if way == "push" else (changed, rendered)
    diff = compute_diff(before, after, "huawei_vrp")
    lines = diff.remediation
    assert any(line.startswith("undo ip ip-prefix ") for line in lines)
    named = set(_MATCHED.findall(after))
    old, new = _lists(before), _lists(after)
    states = _states(before, lines)
    for line, state in zip(lines, states, strict=True):
        for name in named:
            # every route-policy's list exists (else it permits every route) and holds only
            # entries the device held or is to hold
            assert state.get(name), f"{name} missing after {line!r}: every route permitted"
            allowed = set(old.get(name, {}).values()) | set(new.get(name, {}).values()) | {_DENY_ALL}
            assert set(state[name].values()) <= allowed, f"{name} after {line!r}: {state[name]}"
    assert states[-1] == new
    undocumented = [line for line in lines if line.startswith("undo ip ip-prefix ") and not _DOCUMENTED_DELETION.match(line)]
    assert not undocumented, "only `undo ip ip-prefix NAME index N` is documented"
    # the device then reads as intended: a second push sends nothing
    assert compute_diff(after, after, "huawei_vrp").remediation == ()


def test_a_prefix_list_no_longer_named_goes_after_the_policies_naming_it() -> None:
    rendered = (GOLDEN / "hub.cfg").read_text()
    gone = "\n".join(
        line
        for line in rendered.split("\n#\n")
        if not (line.startswith("route-policy FROM-nw-0008-") or line.startswith("ip ip-prefix STORE-nw-0008 "))
    )
    gone = "\n".join(line for line in gone.splitlines() if not line.startswith("ip ip-prefix STORE-nw-0008 "))
    gone = re.sub(r"\n  peer \S+ route-policy FROM-nw-0008-\w+ import", "", gone)
    lines = compute_diff(rendered, gone, "huawei_vrp").remediation
    deletions = [i for i, line in enumerate(lines) if line.startswith("undo ip ip-prefix STORE-nw-0008 ")]
    naming = [i for i, line in enumerate(lines) if "FROM-nw-0008-" in line]
    assert deletions and naming
    assert min(deletions) > max(naming)
    assert all(_DOCUMENTED_DELETION.match(lines[i]) for i in deletions)
