"""Render benchmark: the whole pipeline from inventory files to every config, beside a plain
Jinja2 loop over the same files as the floor; and one hub with up to 2,000 store peers.

For each size (default 1,000 and 10,000 generated stores), in a fresh child process:
- load: read and validate every file, resolve IPAM against the pinned lock file;
- stack configs: every stack's `Pulumi.<stack>.yaml` text (what `stacks render` writes);
- appliance configs: every store appliance and hub config (what `devices render` writes),
  on all cores;
- floor: what a plain script does with the same files: `yaml.load` (libyaml) each store and
  render one plain `jinja2.Environment` template per appliance; no schema, no IPAM, no
  sandbox, no hub configs. Its configs are shorter than storestack's (lines per config are
  printed), so the ratio per output line is printed too.

Targets (2-core machine): every appliance config of 10,000 stores in at most 12 s (issue 12), a
hub with 2,000 peers under 1 s (issue 3). Every figure is printed as wall time beside CPU seconds
(the process and its workers) with the load average when it was taken: on a shared machine the
wall time waits for other work, CPU seconds much less so, and CPU seconds / workers is the wall
time on idle cores. Prints figures and ratios; asserts nothing. Files are not written (disk
speed on a shared machine would swamp the figures); `stacks render` and `devices render` skip
the per-file fsync for these derived files.

Run: .venv/bin/python benchmarks/render.py [--stores 1000 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FLEET_TARGET_S = 12.0
HUB_TARGET_S = 1.0

# One appliance config from the raw store dict: interfaces, VLANs, BGP to the hubs, DHCP,
# ACLs and QoS per segment, as a hand-written template for a chain would have them.
FLOOR_TEMPLATE = """\
hostname {{ appliance.hostname }}
!
! {{ store.name }} ({{ store.city }}), {{ store.format }}, region {{ store.region }}
!
{% for link in store.wan %}
interface wan-{{ link.name }}
 description {{ link.kind }} {{ link.isp }} {{ link.bandwidth_mbps }}M
{% if link.addressing == 'static' %}
 ip address {{ link.address }}
{% else %}
 ip address dhcp
{% endif %}
 bandwidth {{ link.bandwidth_mbps * 1000 }}
 service-policy output SHAPE-{{ link.name }}
!
policy-map QUEUE-{{ link.name }}
 class POS
  priority percent 20
 class CCTV
  shape average 20000000
 class class-default
  fair-queue
!
policy-map SHAPE-{{ link.name }}
 class class-default
  shape average {{ link.bandwidth_mbps * 1000000 }}
   service-policy QUEUE-{{ link.name }}
!
crypto ikev2 keyring HUB-{{ link.name }}
 peer {{ store.hub }}
  identity fqdn {{ store.hub }}.example
  pre-shared-key <redacted>
!
interface Tunnel{{ loop.index }}
 description overlay {{ link.name }} to {{ store.hub }}
 tunnel source wan-{{ link.name }}
 tunnel mode ipsec ipv4
 tunnel protection ipsec profile HUB-{{ link.name }}
!
{% endfor %}
{% for kind, segment in store.lan.items() %}
interface lan.{{ segment.vlan }}
 description {{ kind }}
 encapsulation dot1Q {{ segment.vlan }}
 ip access-group IN-{{ kind | upper }} in
 service-policy input MARK-{{ kind | upper }}
!
ip access-list extended IN-{{ kind | upper }}
 permit udp any any eq 67
 permit udp any any eq 53
{% for other, _ in store.lan.items() if other != kind %}
 deny ip any {{ other }}
{% endfor %}
 permit ip any any
!
ip dhcp pool {{ kind | upper }}
 default-router vlan{{ segment.vlan }}
 dns-server vlan{{ segment.vlan }}
!
{% endfor %}
{% for link in store.wan %}
ip sla {{ loop.index }}
 icmp-echo 10.0.0.1 source-interface wan-{{ link.name }}
 frequency 10
ip sla schedule {{ loop.index }} life forever start-time now
track {{ loop.index }} ip sla {{ loop.index }} reachability
bfd-template single-hop BFD-{{ link.name }}
 interval min-tx 300 min-rx 300 multiplier 3
{% endfor %}
!
route-map PRIMARY-IN permit 10
 set local-preference 200
route-map BACKUP-IN permit 10
 set local-preference 50
route-map STORE-OUT permit 10
 match ip address prefix-list STORE-OUT
!
{% for kind, segment in store.lan.items() %}
ip prefix-list STORE-OUT seq {{ loop.index * 5 }} permit vlan{{ segment.vlan }}
{% endfor %}
{% for kind, segment in store.lan.items() if kind == 'guest-wifi' %}
ip nat inside source list GUEST interface wan-{{ store.wan[0].name }} overload
ip access-list standard GUEST
 permit vlan{{ segment.vlan }}
{% endfor %}
!
aaa new-model
aaa group server tacacs+ TACACS-HQ
 server name TACACS-1
aaa authentication login default group TACACS-HQ local
aaa authorization exec default group TACACS-HQ local if-authenticated
aaa accounting exec default start-stop group TACACS-HQ
username localadmin privilege 15 secret <redacted>
ip domain name {{ store.id }}.example
ip name-server 10.0.0.53
ip ssh version 2
ip access-list standard MGMT-HQ
 10 permit 10.0.250.0 0.0.0.255
tacacs server TACACS-1
 address ipv4 10.0.0.49
 key <redacted>
snmp-server group STORESTACK v3 priv access MGMT-HQ
class-map match-any POS
 match dscp ef
class-map match-any CCTV
 match dscp cs1
crypto ikev2 proposal STORESTACK
 encryption aes-gcm-256
 prf sha384
 group 20
crypto ikev2 policy STORESTACK
 proposal STORESTACK
crypto ipsec transform-set STORESTACK esp-gcm 256
 mode tunnel
!
router bgp {{ store.get('asn', 65000) }}
 bgp router-id 10.160.0.1
 bgp log-neighbor-changes
 address-family ipv4 unicast
  redistribute connected route-map STORE-OUT
 exit-address-family
{% for link in store.wan %}
 neighbor hub-{{ link.name }} remote-as 65000
 neighbor hub-{{ link.name }} description {{ store.hub }} over {{ link.name }}
 neighbor hub-{{ link.name }} fall-over bfd
 neighbor hub-{{ link.name }} route-map {{ 'BACKUP' if link.kind in ('lte', '5g') else 'PRIMARY' }}-IN in
 neighbor hub-{{ link.name }} prefix-list STORE-OUT out
{% endfor %}
!
ntp server 10.0.0.10
logging host 10.0.0.20
snmp-server user netops STORESTACK v3 auth sha <redacted> priv aes 128 <redacted>
line vty 0 4
 transport input ssh
end
"""

_CHILD_PIPELINE = r"""
import gc, json, os, resource, sys, time
from pathlib import Path
fleet_dir, workers = Path(sys.argv[1]), int(sys.argv[2])
from storestack.devices.render import render_fleet
from storestack.inventory import load_fleet, sample_chain_path, load_fleet_with_allocations
from storestack.stacks.render import config_documents, plan_stacks
# Warm-up, as a long-running process would be: templates compiled once.
list(render_fleet(load_fleet(sample_chain_path())))
def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
figures = {}
cpu0 = cpu()
figures["load_loadavg"] = os.getloadavg()[0]
t, c = time.perf_counter(), cpu()
fleet = load_fleet_with_allocations(fleet_dir).fleet
figures["load"], figures["load_cpu"] = time.perf_counter() - t, cpu() - c
gc.collect(); gc.freeze()  # as the CLI does once the inventory is loaded
figures["stacks_loadavg"] = os.getloadavg()[0]
t, c = time.perf_counter(), cpu()
_, configs = plan_stacks(fleet)
stack_bytes = sum(len(text) for text in config_documents(list(configs.values()), workers))
figures["stacks"], figures["stacks_cpu"] = time.perf_counter() - t, cpu() - c
figures["appliances_loadavg"] = os.getloadavg()[0]
t, c = time.perf_counter(), cpu()
count = lines = 0
for config in render_fleet(fleet, workers=workers):
    count += 1
    lines += config.text.count("\n")
# CPU of the render workers is counted once they are reaped, at the end of render_fleet.
figures["appliances"], figures["appliances_cpu"] = time.perf_counter() - t, cpu() - c
figures["appliances_loadavg_end"] = os.getloadavg()[0]
figures["total"] = figures["load"] + figures["stacks"] + figures["appliances"]
figures.update(
    cpu=cpu() - cpu0, stores=len(fleet), stack_configs=len(configs), stack_bytes=stack_bytes,
    configs=count, lines_per_config=lines / count,
    peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
)
print(json.dumps(figures))
"""

_CHILD_FLOOR = r"""
import json, resource, sys, time
from pathlib import Path
import jinja2, yaml
fleet_dir, template_text = Path(sys.argv[1]), sys.argv[2]
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
template = env.from_string(template_text)
t = time.perf_counter()
count = lines = 0
for path in sorted((fleet_dir / "stores").glob("*.yaml")):
    store = yaml.load(path.read_text(), Loader=loader)
    for appliance in store["appliances"]:
        text = template.render(store=store, appliance=appliance)
        count += 1
        lines += text.count("\n")
seconds = time.perf_counter() - t
print(json.dumps({"total": seconds, "configs": count, "lines_per_config": lines / count,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generated_fleet(stores: int, seed: int, into: Path) -> Path:
    """A generated fleet on disk with its IPAM lock pinned (the steady state a chain runs in)."""
    from storestack.inventory.generate import generate_fleet, write_fleet
    from storestack.inventory.loader import load_fleet_with_allocations

    target = into / f"fleet-{stores}"
    write_fleet(generate_fleet(stores, seed), target)
    load_fleet_with_allocations(target, write_lock=True)
    return target


def _child(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def pipeline(stores: int, seed: int, workers: int, tmp: Path) -> dict[str, object]:
    fleet_dir = generated_fleet(stores, seed, tmp)
    storestack = _child(_CHILD_PIPELINE, str(fleet_dir), str(workers))
    floor = _child(_CHILD_FLOOR, str(fleet_dir), FLOOR_TEMPLATE)
    return {
        "stores": stores,
        "storestack": storestack,
        "floor": floor,
        "ratio_to_floor": round(storestack["total"] / floor["total"], 2),
        "ratio_to_floor_per_line": round(
            (storestack["total"] / (storestack["configs"] * storestack["lines_per_config"]))
            / (floor["total"] / (floor["configs"] * floor["lines_per_config"])),
            2,
        ),
        "appliances_target_met": stores < 10_000 or storestack["appliances"] <= FLEET_TARGET_S,
        # The same on otherwise idle cores: CPU seconds spread over the workers.
        "appliances_idle_seconds": round(storestack["appliances_cpu"] / workers, 2),
        "appliances_idle_target_met": stores < 10_000 or storestack["appliances_cpu"] / workers <= FLEET_TARGET_S,
        # What the appliance configs cost, whatever the load: CPU seconds (workers included).
        "appliances_cpu_per_1000_stores": round(storestack["appliances_cpu"] * 1000 / stores, 3),
    }


def timed(work: Callable[[], int]) -> tuple[float, float]:
    """(wall, CPU) seconds of `work` in this process."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - cpu


def hub_scaling(tmp: Path, seed: int) -> dict[str, object]:
    """hq-hub1 with 500, 1,000 and 2,000 store peers (best of 3): time and per-peer cost."""
    from storestack.devices.render import render_hub
    from storestack.inventory import Fleet, ResolvedStore, load_fleet

    big = load_fleet(generated_fleet(4000, seed, tmp))

    def with_peers(wanted: int) -> Fleet:
        chosen: dict[str, ResolvedStore] = {}
        seen = 0
        for store in big:
            links = sum(1 for link in store.wan if link.hub == "hq-hub1")
            if seen + links > wanted:
                continue
            chosen[store.id] = store
            seen += links
            if seen == wanted:
                break
        return Fleet(big.spec, big.hubs, chosen, big.root)

    rows = []
    for wanted in (500, 1000, 2000):
        subset = with_peers(wanted)
        peers = len(subset.hub_peers("hq-hub1"))
        loadavg = os.getloadavg()[0]
        best, cpu = min(timed(lambda subset=subset: len(render_hub(subset, "hq-hub1").text)) for _ in range(3))
        rows.append({"peers": peers, "seconds": round(best, 3), "cpu": round(cpu, 3), "loadavg": loadavg,
                     "us_per_peer": round(best / peers * 1e6)})
    return {
        "rows": rows,
        "linearity": round(rows[-1]["us_per_peer"] / rows[0]["us_per_peer"], 2),
        "target_met": rows[-1]["seconds"] < HUB_TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="storestack-bench-render-") as tmp:
        results = {
            "workers": args.workers,
            "load_average_start": os.getloadavg()[0],
            "pipeline": [pipeline(size, args.seed, args.workers, Path(tmp)) for size in args.stores],
            "hub": hub_scaling(Path(tmp), args.seed),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"render pipeline ({args.workers} worker(s) for appliance configs; best is CPU-bound); "
          f"load average at start {results['load_average_start']:.2f}")
    print("each phase: wall s / CPU s (this process and its workers) @ 1-minute load average at its start")
    print(f"{'stores':>7} {'load+validate':>22} {'stack configs':>22} {'appliance configs':>22} "
          f"{'total':>13} {'RSS MiB':>8} {'configs':>8} {'lines':>6} | {'floor s':>7} {'lines':>6} {'x floor':>7} {'per line':>8}")
    for row in results["pipeline"]:  # type: ignore[union-attr]
        s, f = row["storestack"], row["floor"]
        phases = " ".join(
            f"{s[phase]:>6.2f} / {s[phase + '_cpu']:>6.2f} @{s[phase + '_loadavg']:>5.1f}"
            for phase in ("load", "stacks", "appliances")
        )
        print(f"{row['stores']:>7} {phases} {s['total']:>6.2f} / {s['cpu']:>5.2f} {s['peak_rss_mib']:>8.0f} "
              f"{int(s['configs']):>8} {s['lines_per_config']:>6.0f} | "
              f"{f['total']:>7.2f} {f['lines_per_config']:>6.0f} {row['ratio_to_floor']:>6.2f}x {row['ratio_to_floor_per_line']:>7.2f}x")
        print(f"  appliance configs: {s['appliances']:.2f} s wall, {s['appliances_cpu']:.2f} CPU s "
              f"(load average {s['appliances_loadavg']:.1f} at start, {s['appliances_loadavg_end']:.1f} at end); "
              f"{row['appliances_cpu_per_1000_stores']:.3f} CPU s per 1,000 stores; "
              f"{row['appliances_idle_seconds']:.2f} s on {args.workers} idle core(s)")
        if row["stores"] >= 10_000:
            print(f"  appliance configs of {row['stores']} stores, target <= {FLEET_TARGET_S:.0f} s: "
                  f"wall {s['appliances']:.2f} s {'met' if row['appliances_target_met'] else 'MISSED'}; "
                  f"idle cores (CPU s / {args.workers}) {row['appliances_idle_seconds']:.2f} s "
                  f"{'met' if row['appliances_idle_target_met'] else 'MISSED'}")
    hub = results["hub"]
    for item in hub["rows"]:  # type: ignore[index]
        print(f"  hub with {item['peers']:5d} peers: {item['seconds']:.3f} s wall / {item['cpu']:.3f} CPU s "
              f"@{item['loadavg']:.1f} ({item['us_per_peer']} us per peer)")
    print(f"  2000-peer hub target < {HUB_TARGET_S:.0f} s: {'met' if hub['target_met'] else 'MISSED'}; "  # type: ignore[index]
          f"per-peer cost 2000 vs 500 peers {hub['linearity']}x (1.0 = linear)")  # type: ignore[index]


if __name__ == "__main__":
    main()
