"""A fleet domain too long for the IKE identities under it. Every store link and hub identifies
itself as `<name>.<domain>`, held to the 63 characters a FortiOS phase 1's local ID takes; a
domain over 54 characters leaves no room for even a shortened name. Such a fleet loaded cleanly
and `inventory validate` passed it, and the render then stopped with a network-intent error that
named neither file nor line. The inventory now refuses the domain at its own line, like any other
inventory error, and a domain of 54 characters is taken, with identities that fit."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from testsupport.rendering import LONG_LINK_NAME, LONG_STORE_ID, on_platform, renamed_store_chain

from storestack.cli.main import cli
from storestack.devices.lint.fortinet import _entries, parse
from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet

OLD = "nw-0003"
SAMPLE_DOMAIN = "domain: northwind.example\n"


def _chain(tmp_path: Path, domain: str) -> tuple[Path, int]:
    """The sample chain with a store of the longest id and link name, under `domain`; and the
    line of fleet.yaml that names the domain."""
    root = renamed_store_chain(tmp_path, OLD, LONG_STORE_ID, {"wan2": LONG_LINK_NAME})
    fleet_file = root / "fleet.yaml"
    text = fleet_file.read_text()
    assert text.count(SAMPLE_DOMAIN) == 1
    fleet_file.write_text(text.replace(SAMPLE_DOMAIN, f"domain: {domain}\n"))
    lines = fleet_file.read_text().splitlines()
    (line,) = (n for n, text in enumerate(lines, start=1) if text.strip() == f"domain: {domain}")
    return root, line


def test_validate_refuses_a_60_character_domain_at_its_line(tmp_path: Path) -> None:
    domain = ".".join(["d" * 25, "e" * 26, "example"])
    assert len(domain) == 60
    root, line = _chain(tmp_path, domain)
    result = CliRunner().invoke(cli, ["inventory", "validate", str(root), "--json"])
    assert result.exit_code == 1, result.output
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["file"], error["line"], error["field"]) == ("fleet.yaml", line, "organisation.domain")
    assert "60 characters" in error["message"] and "at most 54" in error["message"], error["message"]
    text = CliRunner().invoke(cli, ["inventory", "validate", str(root)])
    assert text.exit_code == 1
    assert " ".join(text.stderr.split()).startswith(f"fleet.yaml:{line} organisation.domain: ")
    # a command that loads the fleet to render refuses it the same way, before rendering anything
    shown = CliRunner().invoke(cli, ["network", "show", "hq-hub1", "--fleet", str(root)])
    assert shown.exit_code == 1, shown.output
    assert f"fleet.yaml:{line} organisation.domain: " in " ".join(shown.stderr.split())


def _phase1_ids(text: str) -> tuple[set[str], set[str]]:
    """The local IDs and the peer IDs of a FortiOS config's phase 1s."""
    entries = _entries(parse(text), "vpn ipsec phase1-interface")
    return (
        {local for entry in entries if (local := entry.first("localid")) is not None},
        {peer for entry in entries if (peer := entry.first("peerid")) is not None},
    )


def test_a_54_character_domain_is_taken_and_its_identities_fit(tmp_path: Path) -> None:
    domain = ".".join(["d" * 23, "e" * 22, "example"])
    assert len(domain) == 54
    root, _ = _chain(tmp_path, domain)
    result = CliRunner().invoke(cli, ["inventory", "validate", str(root)])
    assert result.exit_code == 0, result.output
    fleet = on_platform(load_fleet(root), "fortinet")
    (store,) = (c for c in render_store(fleet, LONG_STORE_ID) if c.role == "edge")
    local_ids, _ = _phase1_ids(store.text)
    # one identity per link of the store, each under the domain and within 63 characters
    assert len(local_ids) == 3, sorted(local_ids)
    assert all(i.endswith(f".{domain}") and len(i) <= 63 for i in local_ids), sorted(local_ids)
    for hub in fleet.hubs:
        hub_local, hub_peers = _phase1_ids(render_hub(fleet, hub).text)
        assert local_ids <= hub_peers, (hub, sorted(local_ids - hub_peers))  # each hub expects them
        assert all(len(i) <= 63 for i in hub_local | hub_peers), (hub, sorted(hub_local | hub_peers, key=len)[-1])
