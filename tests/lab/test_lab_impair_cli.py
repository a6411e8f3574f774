"""`lab impair` and `lab path` as a user meets them without a lab: usage errors, honest help."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.lab.impair import Impairment, _ruleset


def test_help_says_the_kernel_cannot_add_latency() -> None:
    result = CliRunner().invoke(cli, ["lab", "impair", "--help"])
    assert result.exit_code == 0
    assert "no sch_netem" in result.output and "latency" in result.output
    assert "--delay" not in result.output.replace("there is no --delay", "")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "none"), "--json"]
    no_link = CliRunner().invoke(cli, ["lab", "impair", "nw-0001", "--loss", "30", *state])
    assert no_link.exit_code == 2 and "LINK" in json.loads(no_link.output)["error"]
    both = CliRunner().invoke(cli, ["lab", "impair", "nw-0001", "wan1", "--clear", "--loss", "5", *state])
    assert both.exit_code == 2
    out_of_range = CliRunner().invoke(cli, ["lab", "impair", "nw-0001", "wan1", "--loss", "101", *state])
    assert out_of_range.exit_code == 2


def test_no_lab_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    for args in (["impair", "nw-0001", "wan1", "--loss", "30"], ["path", "nw-0001", "pos"]):
        result = CliRunner().invoke(cli, ["lab", *args, "--state-dir", str(tmp_path / "none"), "--json"])
        assert result.exit_code == 2, result.output
        assert "lab up" in json.loads(result.output)["error"]


def test_loss_is_dropped_both_ways_on_the_link_port_only() -> None:
    record = Impairment(
        store_id="nw-0001", link="wan1", port="s0-0", site_namespace="ns", site_ifname="wan1", loss_percent=30
    )
    rules = _ruleset([record])
    assert 'iifname "s0-0" meta protocol ip numgen random mod 100 < 30 counter drop' in rules
    assert 'oifname "s0-0" meta protocol ip numgen random mod 100 < 30 counter drop' in rules
    # All of it: no random match (numgen yields 0-99, so "< 100" is not even valid nftables).
    dark = _ruleset([record.model_copy(update={"loss_percent": 100})])
    assert 'iifname "s0-0" meta protocol ip counter drop' in dark and "numgen" not in dark
    # Clearing the last impairment leaves the table without a loss rule.
    assert "numgen" not in _ruleset([])
