"""Values and helpers the device rendering tests share."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from pathlib import Path

from storestack.common.ntp import PLATFORM_NTP_ALGORITHMS
from storestack.common.platforms import (
    HUB_NO_UPLINK_QUEUES,
    HUB_STATIC_PEERS_ONLY,
    STORE_ONE_FQDN_IDENTITY,
    Platform,
)
from storestack.devices.render import render_change_hubs, render_hub, render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path

FIXTURES = Path(__file__).resolve().parents[1] / "devices" / "fixtures"

# One sample-chain store per shape the templates must cover.
SHAPES: dict[str, str] = {
    "dual-wan": "nw-0002",  # fibre (static) + LTE, no guest Wi-Fi, no cloud affinity
    "lte-only": "nw-0007",  # two cellular links
    "mall-guest": "nw-0003",  # mall: fibre + DHCP broadband + 5G, guest Wi-Fi
    "aws": "nw-0001",  # AWS affinity: AWS VPN tunnels beside the hub overlay
}

# Values only these tests use; the redaction test proves none of them leaks.
TEST_SECRETS = {
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Adm1n.Secret_Value",
    "STORESTACK_SNMP_AUTH_KEY": "Snmp.Auth_Key_42",
    "STORESTACK_SNMP_PRIV_KEY": "Snmp.Priv_Key_43",
    "STORESTACK_TACACS_KEY": "Tacacs.Shared_Key",
    "STORESTACK_NTP_KEY": "Ntp.Cmac_Key_016",  # aes128-cmac: exactly 16 characters
    "STORESTACK_NTP_KEY_HMAC": "Ntp.Hmac_Key_0044",
    "STORESTACK_NTP_KEY_SHA256": "Ntp.Sha256_Key_45",
}
# The sample chain's NTP keys (fleet.yaml `ntp_keys`): each secret's algorithm. A platform's
# config carries only the keys whose algorithm it implements.
NTP_KEY_ALGORITHMS = {
    "STORESTACK_NTP_KEY": "aes128-cmac",
    "STORESTACK_NTP_KEY_HMAC": "hmac-sha256",
    "STORESTACK_NTP_KEY_SHA256": "sha256",
}


def secrets_carried_by(platform: Platform, secrets: dict[str, str]) -> dict[str, str]:
    """The values of `secrets` (variable -> value) a `platform` config carries: every device
    secret but the NTP keys whose algorithm the platform does not implement and those it carries
    only as a hash (`HASHED_SECRETS`)."""
    usable = PLATFORM_NTP_ALGORITHMS[platform]
    return {
        name: value
        for name, value in secrets.items()
        if (name not in NTP_KEY_ALGORITHMS or NTP_KEY_ALGORITHMS[name] in usable)
        and (platform, name) not in HASHED_SECRETS
    }


# Secrets a platform's config carries only as a one-way hash (IOS-XE's local user: `secret 9`).
HASHED_SECRETS = frozenset({("cisco_xe", "STORESTACK_LOCAL_ADMIN_PASSWORD")})


# A new store of the sample chain (state planned, one FRR edge, a broadband and an LTE link),
# for the rollouts of stores not rolled out yet: `new_store_file`.
_NEW_STORE_FILE = """\
id: {id}
name: Northwind Delft {n}
city: Delft
format: convenience
region: randstad
hub: hq-hub{hub}
state: planned
wan:
  - {{name: wan1, kind: broadband, isp: Ziggo Zakelijk, bandwidth_mbps: 200, monthly_cost: 60, priority: 10}}
  - {{name: lte1, kind: lte, isp: KPN Mobile, bandwidth_mbps: 100, monthly_cost: 40, priority: 50}}
lan:
  pos: {{vlan: 10}}
  office: {{vlan: 20}}
appliances:
  - {{hostname: {id}-edge1, platform: frr, serial: NW-EDGE-{serial}}}
"""


def new_store_file(store_id: str, number: int) -> str:
    """The store file of a new store `store_id` of the sample chain, the `number`th (1 or 2: its
    primary hub, hq-hub1 or hq-hub2)."""
    return _NEW_STORE_FILE.format(id=store_id, n=number, hub=number, serial=f"2020{number}")


# The fleet secret planned tunnel PSKs derive from (HMAC per tunnel id): it never appears itself.
TEST_IPSEC_PSK_SEED = ("STORESTACK_IPSEC_PSK", "Fleet.Ipsec_Psk_Seed")


def on_platform(fleet: Fleet, platform: Platform | None, hubs: Platform | None = None) -> Fleet:
    """The same fleet with every store appliance on `platform` (None: as they are) and every hub
    on `hubs` (default: `platform`), for per-platform tests. Hubs that serve only statically
    addressed stores (`HUB_STATIC_PEERS_ONLY`) get a fleet whose links are all static
    (`make_links_static`), as the inventory would require; a store platform with one FQDN IKE
    identity per device (`STORE_ONE_FQDN_IDENTITY`) keeps one link without a static address
    (`one_dynamic_link`); hubs that queue nothing towards the stores lose their `uplink_mbps`
    (`hubs_on`)."""
    hub_platform = hubs or platform
    assert hub_platform is not None, "name the hubs' platform"
    stores = {
        store.id: store.model_copy(
            update={"appliances": [a.model_copy(update={"platform": platform}) for a in store.appliances]}
        )
        if platform is not None
        else store
        for store in fleet
    }
    result = hubs_on(Fleet(fleet.spec, fleet.hubs, stores, fleet.root, cloud_slots=fleet.cloud_slots), hub_platform)
    if hub_platform in HUB_STATIC_PEERS_ONLY:
        return make_links_static(result)
    return one_dynamic_link(result) if platform in STORE_ONE_FQDN_IDENTITY else result


def hubs_on(fleet: Fleet, platform: Platform) -> Fleet:
    """The same fleet with every hub on `platform` and its stores as they are. A platform that
    queues nothing towards the stores (`HUB_NO_UPLINK_QUEUES`) takes no `uplink_mbps`, as the
    inventory requires: its hubs lose theirs."""
    update: dict[str, object] = {"platform": platform}
    if platform in HUB_NO_UPLINK_QUEUES:
        update["uplink_mbps"] = None
    hubs = {name: hub.model_copy(update=update) for name, hub in fleet.hubs.items()}
    return Fleet(fleet.spec, hubs, {store.id: store for store in fleet}, fleet.root, cloud_slots=fleet.cloud_slots)


def steered_off_bgp(fleet: Fleet) -> Fleet:
    """The same fleet with a store that steers classes off BGP's best path: the lte-only store
    (`SHAPES["lte-only"]`: lte1 kind lte, lte2 kind 5g) with its `pos` and `back-office`
    applications preferring LTE to 5G, voice (realtime, the strictest class) still 5G first. The
    hubs and the store's BGP rank its links by voice (lte2 first), so pos and back-office leave
    over lte1, a path BGP does not prefer: a VRP store renders NQA tests (SLA_STRICT,
    SLA_BUSINESS) and tracked redirects for them, and none for voice."""
    store = fleet.stores[SHAPES["lte-only"]]
    applications = dict(store.sla.applications)
    for name in ("pos", "back-office"):
        applications[name] = applications[name].model_copy(update={"transports": ["fiber", "broadband", "lte", "5g"]})
    assert applications["voice"].transports.index("5g") < applications["voice"].transports.index("lte")
    sla = store.sla.model_copy(update={"applications": applications})
    stores = {each.id: each for each in fleet}
    stores[store.id] = store.model_copy(update={"sla": sla})
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root, cloud_slots=fleet.cloud_slots)


# Where `make_links_static` and `static_wan_yaml` number the links they make static: the top half
# of RFC 2544's benchmarking range (8192 /30s), which neither the sample chain nor a generated
# fleet uses (the lab's DHCP transports draw from the bottom of 198.18.0.0/16).
_STATIC_POOL = ipaddress.IPv4Network("198.18.128.0/17")


def make_links_static(fleet: Fleet) -> Fleet:
    """The same fleet with every DHCP or cellular WAN link given a static /30 (numbered from
    `_STATIC_POOL` in store and link order), as an operator would write it for hubs that accept
    only statically addressed stores."""
    return _static_links(fleet, int(_STATIC_POOL.network_address), keep_dynamic=0)


def one_dynamic_link(fleet: Fleet) -> Fleet:
    """The same fleet with every DHCP or cellular WAN link but each store's first given a static
    /30 (numbered from the top half of `_STATIC_POOL`, apart from `make_links_static`'s), as the
    inventory requires of a store platform with one FQDN IKE identity (`STORE_ONE_FQDN_IDENTITY`):
    a fixed-IP APN or business line for the second."""
    base = int(_STATIC_POOL.network_address) + _STATIC_POOL.num_addresses // 2
    return _static_links(fleet, base, keep_dynamic=1)


def _static_links(fleet: Fleet, base: int, keep_dynamic: int) -> Fleet:
    """Each store's DHCP or cellular links after its first `keep_dynamic` given a static /30,
    numbered from `base` in store and link order."""
    count = 0
    stores = {}
    for store in fleet:
        links, dynamic = [], 0
        for link in store.wan:
            if link.addressing != "static":
                dynamic += 1
                if dynamic > keep_dynamic:
                    network = base + 4 * count
                    count += 1
                    link = link.model_copy(
                        update={
                            "addressing": "static",
                            "address": ipaddress.IPv4Interface((network + 2, 30)),
                            "gateway": ipaddress.IPv4Address(network + 1),
                        }
                    )
            links.append(link)
        stores[store.id] = store.model_copy(update={"wan": links})
    return Fleet(fleet.spec, fleet.hubs, stores, fleet.root, cloud_slots=fleet.cloud_slots)


def edited_sample_chain(tmp_path: Path, old: str, new: str, file: str = "fleet.yaml") -> Path:
    """A copy of the sample chain under `tmp_path` with one text change to `file` (relative to
    the chain's root): the first `old`, which must be there, becomes `new`."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    path = root / file
    text = path.read_text()
    assert old in text, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1))
    return root


def hq_range_chain(tmp_path: Path) -> Path:
    """A copy of the sample chain under `tmp_path` with a second HQ range, 10.8.0.0/16, listed
    before 10.0.0.0/16, the DC core LAN kept where it was (its default is the first range's first
    /28)."""
    root = edited_sample_chain(tmp_path, "  hq:\n    - 10.0.0.0/16\n", "  hq:\n    - 10.8.0.0/16\n    - 10.0.0.0/16\n")
    fleet_yaml = root / "fleet.yaml"
    fleet_yaml.write_text(fleet_yaml.read_text().replace("    city: Amsterdam\n", "    city: Amsterdam\n    core: {subnet: 10.0.0.0/28}\n", 1))
    return root


# The longest names the inventory takes (`Slug`, 32 characters), for `renamed_store_chain`.
LONG_STORE_ID = "northwind-utrecht-catharijne-001"
LONG_LINK_NAME = "broadband-secondary-utrecht-cs-2"


def renamed_store_chain(tmp_path: Path, old: str, new: str, links: dict[str, str] | None = None) -> Path:
    """A copy of the sample chain under `tmp_path` whose store `old` is `new` (its file renamed
    with it) and whose links named by `links`' keys take its values' names (long ids and link
    names: the inventory takes up to 32 characters of each)."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    stores = root / "stores"
    text = (stores / f"{old}.yaml").read_text()
    (stores / f"{old}.yaml").unlink()
    assert f"id: {old}\n" in text
    text = text.replace(f"id: {old}\n", f"id: {new}\n", 1)
    for link, name in (links or {}).items():
        assert text.count(f"  - name: {link}\n") == 1, f"{old} has no single link {link}"
        text = text.replace(f"  - name: {link}\n", f"  - name: {name}\n")
    (stores / f"{new}.yaml").write_text(text)
    return root


# nw-0002's fibre link: without it the dual-WAN store is on its one LTE link.
NW_0002_WAN1 = """  - name: wan1
    kind: fiber
    isp: Eurofiber
    bandwidth_mbps: 500
    addressing: static
    address: 198.51.100.6/30
    gateway: 198.51.100.5
    monthly_cost: 310
    priority: 10
"""


def lte_only_configs(
    tmp_path: Path, platform: Platform, store: str = "nw-0002", port: int | None = None
) -> tuple[str, str]:
    """`store`'s config on `platform` (FRR hubs) in the sample chain, on two WAN links, and
    without its fibre link (`NW_0002_WAN1`), on its one LTE link (on WAN port `port` where
    given, `lte_only_chain`): without `port` each tunnel takes the inside address another held."""
    dual = on_platform(load_fleet(sample_chain_path()), platform, "frr")
    chain = lte_only_chain(tmp_path, port, store)
    ((before,), (after,)) = render_store(dual, store), render_store(on_platform(load_fleet(chain), platform, "frr"), store)
    return before.text, after.text


# nw-0002's LTE link, the one left when its fibre link goes, cabled to WAN port 1.
NW_0002_LTE1 = "  - name: lte1\n"


def lte_only_chain(tmp_path: Path, port: int | None = None, store: str = "nw-0002") -> Path:
    """The sample chain without `store`'s fibre link (`NW_0002_WAN1`), its LTE link left on WAN
    port `port` where given (`WanLink.port`), else on the one its place gives it."""
    chain = edited_sample_chain(tmp_path, NW_0002_WAN1, "", f"stores/{store}.yaml")
    if port is not None:
        path = chain / "stores" / f"{store}.yaml"
        text = path.read_text()
        assert text.count(NW_0002_LTE1) == 1
        path.write_text(text.replace(NW_0002_LTE1, f"{NW_0002_LTE1}    port: {port}\n"))
    return chain


def committed(root: Path) -> Path:
    """`root` with its lock file written, as a fleet is committed between two changes."""
    from storestack.inventory.loader import load_fleet_with_allocations

    load_fleet_with_allocations(root, write_lock=True)
    return root


def with_lock_of(root: Path, before: Path) -> Path:
    """`root` holding the lock file of `before`: a change made to a committed fleet."""
    from storestack.inventory.ipam import LOCK_FILE_NAME

    shutil.copy(before / LOCK_FILE_NAME, root / LOCK_FILE_NAME)
    return root


def three_hub_chain(tmp_path: Path) -> Path:
    """A copy of the sample chain with a third FRR hub after hq-hub2 in fleet.yaml: the stores
    homed on hq-hub2 take it as their backup and have no tunnel to hq-hub1 (the generator gives
    fleets of over 1,000 stores four hubs)."""
    third = (
        "        serial: NW-HUB-0002\n"
        "      - hostname: hq-hub3\n"
        "        platform: frr\n"
        "        management_address: 10.0.250.13\n"
        "        public_address: 203.0.113.13\n"
        "        serial: NW-HUB-0003\n"
    )
    return edited_sample_chain(tmp_path, "        serial: NW-HUB-0002\n", third)


def hub_removed_chain(tmp_path: Path) -> Path:
    """The three-hub chain (`three_hub_chain`) without hq-hub2, the stores homed on it homed on
    hq-hub3 instead: a hub decommissioned, its stores moved. hq-hub3 keeps its DC core LAN
    address, 10.0.0.5, unstated: IPAM pins it (the sample chain's lock holds hq-hub2's 10.0.0.4,
    the first free host after it is hq-hub3's)."""
    root = three_hub_chain(tmp_path)
    fleet = root / "fleet.yaml"
    text, removed = re.subn(r"      - hostname: hq-hub2\n(?:        .*\n)+?(?=      - hostname: hq-hub3)", "", fleet.read_text())
    assert removed == 1
    fleet.write_text(text)
    for store in (root / "stores").glob("*.yaml"):
        store.write_text(store.read_text().replace("hub: hq-hub2\n", "hub: hq-hub3\n"))
    return root


def ios_hub_change(tmp_path: Path, change: str) -> tuple[Fleet, Fleet]:
    """The fleets before and after a hub change, every hub on IOS-XE: "added", the sample
    chain's two hubs and then the three-hub chain (`three_hub_chain`); "removed", the committed
    three-hub chain and then the one without hq-hub2 (`hub_removed_chain`) holding its lock."""
    ios: tuple[Platform, ...] = ("cisco_xe", "cisco_xe", "cisco_xe")
    if change == "added":
        before_root = edited_sample_chain(tmp_path / "before", "hq-hub2", "hq-hub2")
        hubs_on_yaml(before_root, *ios[:2])
        after_root = three_hub_chain(tmp_path / "after")
        hubs_on_yaml(after_root, *ios)
    elif change == "removed":
        before_root = three_hub_chain(tmp_path / "before")
        hubs_on_yaml(before_root, *ios)
        after_root = hub_removed_chain(tmp_path / "after")
        hubs_on_yaml(after_root, *ios[:2])
        after_root = with_lock_of(after_root, committed(before_root))
    else:
        raise ValueError(f"no hub change {change!r}")
    return load_fleet(before_root), load_fleet(after_root)


def hub_change_configs(before: Fleet, after: Fleet, hub: str) -> tuple[str, str, str]:
    """A hub's configs through a fleet change: what it holds before, what its held-over push
    gives it (`render_change_hubs`), and its own config after."""
    (union,) = render_change_hubs(before, after, [hub])
    return render_hub(before, hub).text, union.text, render_hub(after, hub).text


def static_wan_yaml(root: Path) -> None:
    """Give every DHCP link in the store files under `root/stores` a static /30 (the same
    numbering as `make_links_static`): a chain a hub in `HUB_STATIC_PEERS_ONLY` can serve."""
    base = int(_STATIC_POOL.network_address)
    count = 0
    for path in sorted((root / "stores").glob("*.yaml")):
        parts = re.split(r"(?m)^(?=  - name: )", path.read_text())
        for index, part in enumerate(parts):
            if (
                not part.startswith("  - name: ")
                or "    bandwidth_mbps:" not in part
                or "addressing:" in part
            ):
                continue
            network = base + 4 * count
            count += 1
            address = ipaddress.IPv4Address(network + 2)
            gateway = ipaddress.IPv4Address(network + 1)
            parts[index] = re.sub(
                r"(?m)^(    bandwidth_mbps: .*\n)",
                rf"\1    addressing: static\n    address: {address}/30\n    gateway: {gateway}\n",
                part,
                count=1,
            )
        path.write_text("".join(parts))


def hubs_on_yaml(root: Path, *platforms: Platform) -> None:
    """Put the hubs of `root/fleet.yaml` on `platforms`, in the file's order (hubs past the last
    platform given stay as they are). A hub on a platform that queues nothing towards the stores
    (`HUB_NO_UPLINK_QUEUES`) loses its `uplink_mbps` line, as the inventory requires."""
    path = root / "fleet.yaml"
    parts = re.split(r"(?m)^(?=      - hostname: )", path.read_text())
    assert len(parts) > len(platforms), f"fleet.yaml has fewer than {len(platforms)} hubs"
    for index, platform in enumerate(platforms, start=1):
        part, found = re.subn(r"(?m)^        platform: .*$", f"        platform: {platform}", parts[index], count=1)
        assert found, f"hub {index} of fleet.yaml names no platform"
        if platform in HUB_NO_UPLINK_QUEUES:
            part = re.sub(r"(?m)^        uplink_mbps: .*\n", "", part, count=1)
        parts[index] = part
    path.write_text("".join(parts))


def update_golden() -> bool:
    """STORESTACK_UPDATE_GOLDEN=1 rewrites golden files instead of comparing against them."""
    return os.environ.get("STORESTACK_UPDATE_GOLDEN") == "1"


def config_without(config: str, pattern: str) -> str:
    """A rendered line-oriented config without the lines matching `pattern`; a top-level line
    goes with its block."""
    kept: list[str] = []
    dropping = False
    for line in config.splitlines():
        if not line[:1].isspace():
            dropping = re.search(pattern, line) is not None
        if dropping or re.search(pattern, line):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def assert_sent_in_order(sent: list[str], *lines: str) -> None:
    """Every one of `lines` is in `sent` (a remediation's stripped lines), in this order (each
    at its first occurrence)."""
    assert all(line in sent for line in lines), [line for line in lines if line not in sent]
    assert [sent.index(line) for line in lines] == sorted(sent.index(line) for line in lines), sent


def vrp_acl_with_rule(config: str, acl: str, after: int, rule: str) -> str:
    """A VRP `config` with `rule` put into ACL `acl` after its rule `after`, the later rules moved
    up one rule ID (5 apart), as a render with one more rule there numbers them."""
    lines: list[str] = []
    inside = False
    for line in config.splitlines():
        if not line[:1].isspace():
            inside = re.fullmatch(rf"acl name {re.escape(acl)} \d+", line) is not None
        elif inside and (found := re.match(r"^ rule (\d+) (.*)$", line)):
            number = int(found.group(1))
            if number > after:
                if number == after + 5:
                    lines.append(f" rule {after + 5} {rule}")
                line = f" rule {number + 5} {found.group(2)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def named_blocks(text: str, header: str) -> dict[str, list[str]]:
    """The blocks of `text` whose first line matches `header` (group 1: the name), by name."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if found := re.fullmatch(header, line):
            current = blocks.setdefault(found.group(1), [])
        elif current is not None and line.startswith(" "):
            current.append(line)
        else:
            current = None
    return blocks
