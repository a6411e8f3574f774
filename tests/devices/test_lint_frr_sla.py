"""`devices lint` on the SLA parts of FRR appliances (devices/lint/frr_sla.py, and the hubs' ranking
of routes tagged degraded in devices/lint/frr.py): clean on what storestack renders, and each rule
catching a deliberately broken file."""

from __future__ import annotations

import re

import pytest
from lint_files import broken_files, rule_findings

from storestack.devices.lint import ConfigFile
from storestack.devices.lint.run import config_files, lint_configs
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

STORE = "nw-0001-edge1"


@pytest.fixture(scope="module")
def rendered(fleet: Fleet) -> list[ConfigFile]:
    return config_files(fleet)


def test_the_sample_chains_frr_sla_parts_are_clean(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    findings = lint_configs(rendered, NetworkIntent(fleet)).findings
    assert [f for f in findings if f.rule.startswith("frr-")] == []
    assert any(f.suffix == "steering.conf" for f in rendered)


def test_a_bfd_profile_that_notices_another_loss_rate_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(
        rendered, f"{STORE}.cfg", lambda t: t.replace("  receive-interval 200\n", "  receive-interval 200\n  detect-multiplier 10\n", 1)
    )
    (finding,) = rule_findings(fleet, files, "frr-bfd-profile")
    assert "detect-multiplier 10" in finding.message and "needs 3" in finding.message and finding.line > 0


def test_a_tunnel_on_another_class_profile_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(
        rendered,
        f"{STORE}.cfg",
        lambda t: re.sub(r"(interface xfrm2\n  profile )SLA-\S+", r"\1SLA-BEST-EFFORT", t),
    )
    (finding,) = rule_findings(fleet, files, "frr-bfd-peer")
    assert "xfrm2" in finding.message and "runs SLA-BEST-EFFORT" in finding.message


def test_bulk_steered_onto_lte_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    def lte_for_bulk(text: str) -> str:
        return re.sub(r"^(class bulk .* via \S+(?: \S+)*?)( to .*|)$", r"\1 xfrm4\2", text, flags=re.M)

    findings = rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", lte_for_bulk), "frr-steering")
    assert any("bulk is steered over xfrm4" in f.message and "LTE/5G path (lte1)" in f.message for f in findings)


def test_a_class_steered_without_its_destinations_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """Without `to`, storestack-steer keeps POS on a hub that lost HQ as long as its probes answer."""

    def blind(text: str) -> str:
        return re.sub(r"^(class pos .*) to .*$", r"\1", text, flags=re.M)

    messages = [f.message for f in rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", blind), "frr-steering")]
    assert any("pos: 10.0.10.0/24 is not among its destinations" in m for m in messages), messages


def test_a_class_in_another_order_or_with_other_timers_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    def reorder(text: str) -> str:
        return re.sub(r"^class pos (.*) recovery \d+ via (\S+) (\S+) (.*)$", r"class pos \1 recovery 1 via \3 \2 \4", text, flags=re.M)

    messages = [f.message for f in rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", reorder), "frr-steering")]
    assert any("pos prefers its paths in another order" in m for m in messages)
    assert any("pos: recovery 1, the intent says 30" in m for m in messages)


def test_a_class_that_forgets_a_drop_sooner_than_its_detection_time_is_found(
    fleet: Fleet, rendered: list[ConfigFile]
) -> None:
    def short_memory(text: str) -> str:
        return re.sub(r"^(class pos .* detection )\d+", r"\g<1>2", text, flags=re.M)

    messages = [f.message for f in rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", short_memory), "frr-steering")]
    assert any("pos: detection 2, the intent says 10" in m for m in messages)


def test_a_path_declared_over_the_wrong_link_or_none_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """storestack-steer keeps a class off every tunnel over a link one of them was just left on:
    it knows a tunnel's link only from its `path` line."""

    def swapped(text: str) -> str:
        return re.sub(r"^(path xfrm2 \S+) over lte1 ", r"\1 over wan1 ", text, flags=re.M)

    def unnamed(text: str) -> str:
        return re.sub(r"^(path xfrm1 \S+) over wan1 ", r"\1 ", text, flags=re.M)

    (finding,) = rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", swapped), "frr-steering")
    assert finding.message.startswith("xfrm2 (") and "declared over wan1, but its tunnel rides lte1" in finding.message
    assert finding.line > 0
    (finding,) = rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", unnamed), "frr-steering")
    assert "xfrm1" in finding.message and "declared over no link" in finding.message

    def other_hub(text: str) -> str:
        return re.sub(r"^(path xfrm1 .* hub )(\S+)", r"\1hq-hub9", text, flags=re.M)

    (finding,) = rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", other_hub), "frr-steering")
    assert "xfrm1" in finding.message and "declared to hq-hub9, but its tunnel reaches hq-hub" in finding.message


def test_a_path_declared_with_another_detection_time_than_its_bfd_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """storestack-steer tells one hub's outage from its links' trouble by how far apart its
    tunnels' drops come, which follows from each path's BFD detection time: it knows that only
    from its `path` line."""

    def slower(text: str) -> str:
        return re.sub(r"^(path xfrm2 .* detect-ms )600", r"\g<1>5000", text, flags=re.M)

    (finding,) = rule_findings(fleet, broken_files(rendered, f"{STORE}.steering.conf", slower), "frr-steering")
    assert finding.message.startswith("xfrm2 (") and "detect-ms 5000, but its BFD (SLA-REALTIME) goes down after 600 ms" in finding.message
    assert finding.line > 0
    unnamed = broken_files(rendered, f"{STORE}.steering.conf", lambda t: re.sub(r" detect-ms \d+", "", t))
    assert len(rule_findings(fleet, unnamed, "frr-steering")) == 4


def test_an_unsteered_class_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    files = broken_files(rendered, f"{STORE}.steering.conf", lambda t: re.sub(r"^class pos .*\n", "", t, flags=re.M))
    assert any(f.message.startswith("pos: not steered") for f in rule_findings(fleet, files, "frr-steering"))


def test_a_mark_without_its_rule_or_set_nowhere_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    no_rule = broken_files(rendered, f"{STORE}.routing", lambda t: re.sub(r"^rule add fwmark 0x00005102 .*\n", "", t, flags=re.M))
    assert any("pos: no `ip rule fwmark 0x00005102`" in f.message for f in rule_findings(fleet, no_rule, "frr-mark-rule"))
    other_table = broken_files(rendered, f"{STORE}.routing", lambda t: t.replace("lookup 5102 ", "lookup 5109 "))
    assert any("looks up table 5109" in f.message for f in rule_findings(fleet, other_table, "frr-mark-rule"))
    no_local = broken_files(rendered, f"{STORE}.routing", lambda t: re.sub(r"^rule add to .*\n", "", t, flags=re.M))
    assert any("store-local traffic" in f.message for f in rule_findings(fleet, no_local, "frr-mark-rule"))
    unmarked = broken_files(rendered, f"{STORE}.nftables.conf", lambda t: t.replace("meta mark set 0x00005102", "meta mark set 0x00005199"))
    assert any("nothing sets mark 0x00005102" in f.message for f in rule_findings(fleet, unmarked, "frr-mark-rule"))


def test_a_hub_return_path_with_a_gap_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    unmarked = broken_files(rendered, "hq-hub1.nftables.conf", lambda t: t.replace('"nw-0001-lte1" : 0x00005201, ', ""))
    assert any("nw-0001-lte1 marks no flows" in f.message for f in rule_findings(fleet, unmarked, "frr-return-path"))
    no_rule = broken_files(rendered, "hq-hub1.routing", lambda t: re.sub(r"^rule add fwmark 0x00005201 .*\n", "", t, flags=re.M))
    assert any("0x00005201 has no `ip rule fwmark`" in f.message for f in rule_findings(fleet, no_rule, "frr-return-path"))


def test_a_hub_return_path_that_keeps_flows_on_a_dead_tunnel_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    assert not rule_findings(fleet, rendered, "frr-return-path")
    ungated = broken_files(
        rendered, "hq-hub1.nftables.conf", lambda t: re.sub(r"^.*fib daddr \. mark oif .*\n", "", t, flags=re.M)
    )
    (finding,) = rule_findings(fleet, ungated, "frr-return-path")
    assert "flows stay pinned to a store tunnel that is dead" in finding.message and finding.file.endswith("hq-hub1.nftables.conf")
    unfed = broken_files(rendered, "hq-hub1.nftables.conf", lambda t: t.replace("udp dport 3784 update", "udp dport 3785 update"))
    assert [f.message for f in rule_findings(fleet, unfed, "frr-return-path")] == [finding.message]


DEGRADED_ENTRY = (
    "route-map FROM-nw-0001-wan1 permit 5\n"
    " match community RETURN-DEGRADED\n"
    " match ip address prefix-list STORE-nw-0001\n"
    " set local-preference 50\n"
    "exit\n"
)


def test_a_hub_that_keeps_a_stores_degraded_path_first_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    """A store tags its prefixes <hub AS>:911 over a path out of its SLA: the hub must rank them
    below the store's paths in SLA, or HQ's answers keep coming back over the degraded path (to a
    hub whose firewall has no connection for them)."""
    assert DEGRADED_ENTRY in next(f for f in rendered if f.name == "hq-hub1.cfg").text
    # No entry for tagged routes: they take the link's full local preference.
    ignored = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace(DEGRADED_ENTRY, ""))
    (finding,) = rule_findings(fleet, ignored, "frr-return-path")
    assert finding.file == "hq-hub1.cfg" and finding.line > 0
    assert "FROM-nw-0001-wan1: nothing takes the store's routes tagged degraded" in finding.message
    # Tagged routes ranked above the store's LTE path in SLA: nothing moves to it.
    level = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace(DEGRADED_ENTRY, DEGRADED_ENTRY.replace(" 50\n", " 200\n")))
    (finding,) = rule_findings(fleet, level, "frr-return-path")
    assert "STORE-nw-0001 get local preference 200, not below 100 of the store's paths in SLA" in finding.message
    # The community list the entries match is not defined: no route matches them.
    undefined = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace("bgp community-list standard RETURN-DEGRADED ", "bgp community-list standard OTHER ", 1))
    assert any("community list RETURN-DEGRADED is not defined" in f.message for f in rule_findings(fleet, undefined, "frr-return-path"))


def test_a_hub_answering_a_tunnels_flows_through_another_tunnel_is_found(fleet: Fleet, rendered: list[ConfigFile]) -> None:
    # nw-0001's LTE tunnel marks its flows like its fibre tunnel: HQ's answers to a flow that
    # came in over LTE would leave over the fibre.
    shared_mark = broken_files(
        rendered, "hq-hub1.nftables.conf", lambda t: t.replace('"nw-0001-lte1" : 0x00005201', '"nw-0001-lte1" : 0x00005200')
    )
    (finding,) = rule_findings(fleet, shared_mark, "frr-return-path")
    assert "nw-0001-lte1 marks its flows 0x00005200 (table 5200), but its routes are in table 5201" in finding.message
    # The fibre tunnel's routes moved into the LTE tunnel's table.
    moved = broken_files(rendered, "hq-hub1.cfg", lambda t: t.replace(" nw-0001-wan1 table 5200\n", " nw-0001-wan1 table 5201\n"))
    (finding,) = rule_findings(fleet, moved, "frr-return-path")
    assert "nw-0001-wan1 marks its flows 0x00005200 (table 5200), but its routes are in table 5201" in finding.message
    # A tunnel whose table has no route into it: its answers follow BGP.
    dropped = broken_files(rendered, "hq-hub1.cfg", lambda t: re.sub(r"^ip route .* nw-0002-wan1 table 5200\n", "", t, flags=re.M))
    (finding,) = rule_findings(fleet, dropped, "frr-return-path")
    assert "nw-0002-wan1 marks its flows 0x00005200, but table 5200 routes nothing into it" in finding.message
