"""`storestack network …`: the network intent of a store, as the configs will carry it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from storestack.cli.common import console, emit_json, fleet_option, for_option, json_option
from storestack.cli.inventory import load_or_exit


@click.group()
def network() -> None:
    """Show the network intent: tunnels, BGP peers, routes, zones and flows."""


@network.command()
@click.argument("store_id", metavar="STORE|HUB")
@fleet_option
@json_option
def show(store_id: str, fleet_path: Path | None, as_json: bool) -> None:
    """Print a store's or a hub's network intent (planned values; PSKs by slot name only)."""
    from storestack.network.build import NetworkIntent
    from storestack.network.show import hub_report, store_report

    fleet = load_or_exit(fleet_path, as_json=as_json)
    if store_id in fleet.hubs:
        hub = hub_report(NetworkIntent(fleet), store_id)
        if as_json:
            emit_json(hub)
        else:
            _print_hub(hub)
        return
    with for_option("STORE|HUB"):  # an unknown store is a usage error (exit 2)
        report = store_report(NetworkIntent(fleet), store_id)
    if as_json:
        emit_json(report)
        return

    head(
        report["store"],
        f" {report['hostname']} AS{report['asn']} loopback {report['loopback']}"
        f"{' (planned)' if report['planned'] else ''}"
    )
    head("tunnels")
    for t in report["tunnels"]:
        out(
            f"  {t['id']:<34} {t['role']:<9} {t['local_inside'] or '-':>18} -> {t['peer_inside'] or '-':<16}"
            f" peer {t['peer_outside']:<15} lp {t['local_pref']:<3} mtu {t['mtu']} mss {t['tcp_mss']}"
            f" (underlay {t['underlay_mtu']}) psk {t['psk']}"
        )
    head("BGP peers")
    for p in report["peers"]:
        out(
            f"  {p['kind']:<10} {p['peer']:<20} {p['address']:<16} AS{p['asn']:<11} bfd {p['bfd'] or '-':<9}"
            f" {_limit_text(p['prefix_limit'])}"
        )
    head("routes")
    out(f"  announced: {', '.join(report['routes']['announced'])}")
    for route in report["routes"]["underlay"]:
        out(f"  underlay:  {route}")
    head("zones")
    for z in report["zones"]:
        out(
            f"  {z['name']:<11} vlan {z['vlan']:<4} {', '.join(z['prefixes']):<18} qos {z['qos_class']:<14}"
            f" overlay {'yes' if z['enters_overlay'] else 'no':<3} cellular {'yes' if z['over_cellular'] else 'no'}"
        )
    head("flows", " (everything else: " + report["default"] + ")")
    for f in report["flows"]:
        ports = ",".join(str(p) for p in f["ports"]) or "any"
        out(f"  {f['from']:<11} -> {f['to']:<13} {f['protocol']}/{ports:<9} {', '.join(f['prefixes'])}")
    control = report["control_queue"]
    head(
        "network control",
        f" {' '.join(control['dscps'])}: "
        + (f"no class: {control['no_class_because']}" if control["no_class_because"]
           else f"a class guaranteed {control['percent']}% of every WAN link's shaped rate"),
    )
    management = report["management"]
    head("management",
        f" {', '.join(management['ports'])} from {', '.join(management['from'])}"
        f", sourced from {management['source']}"
    )
    _print_ntp(report["ntp"], out)
    _print_snmp(report["snmp"], out)
    sla = report["sla"]
    head("SLA classes", " (loss / latency / jitter; probes; hold-down / recovery)")
    for c in sla["classes"]:
        out(
            f"  {c['name']:<12} {c['loss_percent']:g}% / {c['latency_ms']} ms / {c['jitter_ms']} ms;"
            f" every {c['probe_interval_ms']} ms, detect in {c['detection_seconds']} s"
            f" ({c['consecutive_losses']} lost in a row: notices >= {c['consecutive_loss_detector_notices_percent']:g}%"
            " loss in time);"
            f" {c['hold_down_seconds']} s / {c['recovery_seconds']} s"
        )
    head("applications", " (paths in order of preference)")
    for a in sla["applications"]:
        match = f"{a['protocol']}/{','.join(a['ports'])}" if a["ports"] else "all"
        out(
            f"  {a['name']:<12} sla {a['sla']:<11} {'+'.join(a['segments']):<12} {match:<16} dscp {a['dscp']:<7}"
            f" lte {'yes' if a['cellular'] else 'no':<3} {'; '.join(a['paths'])}"
            + (f" to {', '.join(a['destinations'])}" if a["destinations"] else "")
        )
    for t in sla["transports"]:
        cap = f", cap {t['data_cap_gb']} GB/month" if t["data_cap_gb"] else ""
        out(f"  transport {t['name']:<8} {t['kind']:<9} {t['cost_per_gb']:g}/GB{cap}")


def out(text: str) -> None:
    """One line of `network show`, the inventory's values in it as given."""
    console.print(Text(text), soft_wrap=True)


def head(heading: str, text: str = "") -> None:
    """A line of `network show` led by a bold heading (a section, a store or hub id)."""
    console.print(Text.assemble((heading, "bold"), text), soft_wrap=True)


def _limit_text(limit: dict[str, Any] | None) -> str:
    """A session's prefix limit as `network show` prints it."""
    if limit is None:
        return "no prefix limit"
    over = (
        f"over it logged only ({limit['logged_only_because']})"
        if limit["logged_only_because"]
        else f"over it closed {limit['restart_minutes']} min"
    )
    return f"max {limit['maximum']} prefixes (sized from {limit['allowed']}), {over}"


def _timers_text(timers: dict[str, int]) -> str:
    """A session's BGP timers as `network show` prints them."""
    return f"keepalive {timers['keepalive']} s hold {timers['hold']} s"


def _print_hub(report: dict[str, Any]) -> None:
    dc = report["dc"]
    head(
        report["hub"],
        f" AS{report['asn']} loopback {report['loopback']} public {report['public_address']}"
        f"{' (planned)' if report['planned'] else ''}"
    )
    head("DC core LAN", f" {dc['address']}: core AS{dc['core_asn']} routers {', '.join(dc['routers'])}")
    head("tunnels", " " + ", ".join(f"{kind} {count}" for kind, count in report["tunnels"].items()))
    rank = report["cloud_rank"]
    if rank:
        text = f" {rank['rank']}" + (" (carries the clouds' flows while its VPNs are up)" if rank["carries"] else "")
        if rank["rank"]:
            text += (
                f": cloud routes at local preference {rank['local_pref']}, AS{report['asn']} prepended"
                f" {rank['prepend']}x towards the clouds"
                + ("" if rank["carries"] else " (a better-ranked hub carries a site while its VPN is up)")
            )
        head("cloud rank", text)
    store_links = [p for p in report["peers"] if p["kind"] == "store-hub"]
    head("BGP peers",
        f" (store links: {len(store_links)}"
        + (
            f", each {_limit_text(store_links[0]['prefix_limit'])}, {_timers_text(store_links[0]['timers'])}"
            if store_links
            else ""
        )
        + ")"
    )
    for p in report["peers"]:
        if p["kind"] != "store-hub":
            out(
                f"  {p['kind']:<13} {p['peer']:<22} {p['address']:<16} AS{p['asn']:<11}"
                f" in {', '.join(p['accepts'])}  out {', '.join(p['announces'])}  {_limit_text(p['prefix_limit'])}"
                f"  {_timers_text(p['timers'])}"
            )
    head("originates", f" {', '.join(report['originates'])}")
    head("summaries",
        " (while a route inside is learned) "
        + "; ".join(f"{s['prefix']} from {', '.join(s['from'])}" for s in report["summaries"])
    )
    if report["beacon"]:
        head("beacon", f" {report['beacon']['address']}/32 to the stores while it offers {', '.join(report['beacon']['while'])}")
    elif report["no_beacon_because"]:
        head("beacon", f" none: {report['no_beacon_because']}")
    if report["no_queues_because"]:
        head("queues to the stores", f" none: {report['no_queues_because']}")
    else:
        shaped = (
            f"shaped to {report['uplink_queue_kbps']} kbit/s (uplink {report['uplink_mbps']} Mbit/s)"
            if report["uplink_queue_kbps"]
            else "not shaped (no uplink_mbps)"
        )
        head("queues to the stores", f" {shaped}: " + ", ".join(f"{q['class']} {q['dscp']}" for q in report["qos"]))
    trust = report["dc_trust"]
    if trust:
        head("trusted from the DC",
            f" {', '.join(trust['kept'])} kept; "
            f"{', '.join(trust['remarked'])} re-marked to {trust['to']} (network control is the hub's own)"
        )
    else:
        head("trusted from the DC", " every DSCP as marked (no queue of the hub classifies by it)")
    clouds = report["cloud_forwarding"]
    if clouds:
        answers = "; ".join(
            f"{a['why']} ({a['protocol']}{' ' + ','.join(a['ports']) if a['ports'] else ''}, {len(a['stores'])} segments)"
            for a in clouds["answers"]
        )
        opens = "; ".join(f"{o['why']} ({o['protocol']} {','.join(o['ports'])})" for o in clouds["cloud_opens"])
        but = f" but the DC core {', '.join(clouds['not_to_hq'])}" if clouds["not_to_hq"] else ""
        head("from the clouds",
            f" {', '.join(clouds['from'])}: anything to HQ{but}; to the stores only the answers to "
            f"{answers or 'nothing'}; opened by a cloud: {opens or 'nothing'}"
        )
    management = report["management"]
    head("management",
        f" {', '.join(management['ports'])} from {', '.join(management['from'])}"
        f", sourced from {management['source']}; syslog {', '.join(management['syslog']) or 'none'}"
        f", TACACS+ {', '.join(management['tacacs']) or 'none'}"
        f", DNS {', '.join(management['dns']) or 'none (resolves no names)'}"
    )
    _print_ntp(report["ntp"], out)
    _print_snmp(report["snmp"], out)


def _print_snmp(snmp: dict[str, Any], out: Callable[[str], None]) -> None:
    head("SNMP",
        f" the NMS polls {snmp['poll']} with SNMPv3 {snmp['security_level']}: "
        f"{snmp['auth_protocol']}, {snmp['priv_protocol']}"
    )


def _print_ntp(ntp: dict[str, Any], out: Callable[[str], None]) -> None:
    trusted = ", ".join(str(key_id) for key_id in ntp["trusted_key_ids"]) or "none"
    head("NTP", f" {ntp['platform']} trusts keys {trusted}, asks with key {ntp['asks_with']}")
    out(f"  the NTP servers {', '.join(ntp['servers'])} must hold every key:")
    for key in ntp["server_keys"]:
        out(
            f"  key {key['id']:<5} {key['algorithm']:<12} {key['mac']} secret {key['secret']}"
            f", used by {', '.join(key['platforms']) or 'no platform of the fleet'}"
        )
