"""Gate for tests that need the real FRR lab.

They skip on a developer machine without root, FRR and sshd, but FAIL when the CI environment
variable is set: CI must never pass by skipping the real lab.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack import lab
from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.steering import steering_log
from storestack.lab.topology import LabTopology

# One ICMP echo request from a given source address (a raw socket: the lab has no ping binary);
# prints "reply" or "timeout".
BOUND_PING = (
    "import os, socket, struct, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "s.bind((sys.argv[1], 0)); s.settimeout(3)\n"
    "ident, body = os.getpid() & 0xFFFF, b'storestack-probe'\n"
    "words = sum(struct.unpack('!%dH' % (len(body) // 2 + 4), struct.pack('!BBHHH', 8, 0, 0, ident, 1) + body))\n"
    "words = (words & 0xFFFF) + (words >> 16); words += words >> 16\n"
    "s.sendto(struct.pack('!BBHHH', 8, 0, ~words & 0xFFFF, ident, 1) + body, (sys.argv[2], 0))\n"
    "try:\n"
    "    while True:\n"
    "        packet, (sender, _) = s.recvfrom(1500)\n"
    "        header = (packet[0] & 0x0F) * 4\n"
    "        kind, _, _, echoed = struct.unpack('!BBHH', packet[header:header + 6])\n"
    "        if kind == 0 and echoed == ident and sender == sys.argv[2]:\n"
    "            print('reply'); break\n"
    "except socket.timeout:\n"
    "    print('timeout')\n"
)


def require_frr_lab() -> None:
    try:
        lab.check_prerequisites()
    except lab.LabPrerequisiteError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab cannot run here: {exc}")
        pytest.skip(f"FRR lab unavailable: {exc}")


@contextlib.contextmanager
def cli_lab_dirs(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, Path]]:
    """A working directory and the lab state directory in it, for a test that brings the lab up
    through the command line; whatever it brought up is taken down at the end."""
    require_frr_lab()
    root = tmp_path_factory.mktemp(name)
    state_dir = root / "lab"
    try:
        yield root, state_dir
    finally:
        lab.down(state_dir)


def host_address(namespace: str) -> str:
    """A lab segment host's address (its eth0)."""
    shown = subprocess.run(
        ["ip", "-n", namespace, "-j", "-4", "addr", "show", "dev", "eth0"], capture_output=True, text=True, check=True
    )
    return str(json.loads(shown.stdout)[0]["addr_info"][0]["local"])


def install_observer(namespace: str, table: str, matches: dict[str, str]) -> None:
    """A counting table of the test's own in `namespace` (the appliance's rendered ruleset is not
    touched): after every other postrouting hook, one counter per `comment -> nft match`."""
    rules = "\n".join(f'        {match} counter comment "{comment}"' for comment, match in matches.items())
    ruleset = (
        f"table inet {table} {{\n    chain post {{\n        type filter hook postrouting priority 300; policy accept;\n"
        f"{rules}\n    }}\n}}\n"
    )
    subprocess.run(["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=ruleset, text=True, check=True)


def observer_counts(namespace: str, table: str) -> dict[str, int]:
    """Packets per comment of an observer table (`install_observer`)."""
    listing = subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "-j", "list", "table", "inet", table], capture_output=True, text=True, check=True
    )
    counts = {}
    for item in json.loads(listing.stdout)["nftables"]:
        rule = item.get("rule")
        if rule:
            counter = next(e["counter"] for e in rule["expr"] if "counter" in e)
            counts[rule["comment"]] = int(counter["packets"])
    return counts


PSK_VARIABLE = "STORESTACK_IPSEC_PSK"
NTP_KEY_VARIABLE = "STORESTACK_NTP_KEY"


@contextlib.contextmanager
def rolled_out_lab(
    root: Path,
    topology: LabTopology,
    stores: list[str],
    psk: str,
    *,
    fleet_dir: Path | None = None,
    verify_timeout: int = 60,
    health_timeout: int | None = None,
) -> Iterator[Path]:
    """`lab up` of `topology` in `root`, then `rollout <stores> --lab` (of `fleet_dir`, else the
    fleet the environment names): the appliances on their rendered configs, as a user has them
    before `lab check`. The fleet PSK is `psk`, the NTP keys and SNMP passphrases (the FRR hosts'
    chrony.keys and snmpd.conf in the push files) ones for the lab, and the working directory `root` (the rollout's journal goes
    to ./.storestack) until the lab is down. Yields the lab's state directory."""
    require_frr_lab()
    state_dir = root / "lab"
    lab_secrets = {
        PSK_VARIABLE: psk,
        NTP_KEY_VARIABLE: "lab-ntp-key-0123",  # aes128-cmac: exactly 16 characters
        "STORESTACK_NTP_KEY_HMAC": "lab-ntp-hmac-key-01",
        "STORESTACK_NTP_KEY_SHA256": "lab-ntp-sha256-key-01",
        "STORESTACK_SNMP_AUTH_KEY": "lab-snmp-auth-key-01",
        "STORESTACK_SNMP_PRIV_KEY": "lab-snmp-priv-key-01",
    }
    saved, saved_cwd = {name: os.environ.get(name) for name in lab_secrets}, Path.cwd()
    os.environ.update(lab_secrets)
    os.chdir(root)
    try:
        lab.up(topology, state_dir)
        arguments = ["rollout", *stores, "--lab", "--lab-dir", str(state_dir), "--no-failover"]
        arguments += ["--fleet", str(fleet_dir)] if fleet_dir is not None else []
        arguments += ["--verify-timeout", str(verify_timeout)]
        arguments += ["--health-timeout", str(health_timeout)] if health_timeout is not None else []
        rollout = CliRunner().invoke(cli, arguments)
        assert rollout.exit_code == 0, rollout.output
        yield state_dir
    finally:
        lab.down(state_dir)
        os.chdir(saved_cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def store_routing_report(state_dir: Path, edge: str, destination: str) -> str:
    """What a failed data-plane assertion needs to be explained: the store edge's steering log
    (each class's moves), its class tables, its BGP route to `destination`, and every hub's BGP
    sessions (the stores', the other hub's, the DC core's)."""
    state = frr_lab.require_state(state_dir)
    namespace = state.runtime(edge).namespace
    sections = []
    log = steering_log(namespace)
    sections.append("steering log:\n" + ("\n".join(log.read_text().splitlines()[-40:]) if log.exists() else "(none)"))
    rules = subprocess.run(["ip", "-n", namespace, "rule", "show"], capture_output=True, text=True).stdout
    for table in sorted({line.split("lookup ")[1].split()[0] for line in rules.splitlines() if "fwmark" in line}):
        routes = subprocess.run(["ip", "-n", namespace, "route", "show", "table", table], capture_output=True, text=True)
        sections.append(f"table {table}: {routes.stdout.strip() or routes.stderr.strip()}")
    address = destination.split("/")[0]
    sections.append(f"{edge}: " + lab.vtysh(state_dir, edge, f"show bgp ipv4 unicast {address}"))
    for runtime in state.appliances:
        if runtime.name != edge:
            peers = lab.bgp_peers(state_dir, runtime.name)
            sections.append(f"{runtime.name}: " + ", ".join(f"{p.peer} {p.description} {p.state}" for p in peers))
    return "\n".join(sections)


# The shared one-store IPsec lab: one store of the sample chain, `lab up --overlay ipsec`,
# `rollout --lab`, as several modules need it. Starting it takes a minute, so the modules that
# only observe it, or put back what they change (`one_store_lab` says how), share one, and keep
# the xdist_group ONE_STORE_GROUP so that they run on one worker, one after the other.
ONE_STORE = "nw-0001"
ONE_STORE_GROUP = "lab-one-store-ipsec"
ONE_STORE_FIXTURE = "one_store_lab"
_SETTLED_WITHIN = 120.0


@dataclass(frozen=True)
class OneStoreLab:
    """The shared lab: its working directory, the sample chain's copy it was rolled out from,
    its state directory and topology."""

    root: Path
    fleet_dir: Path
    state_dir: Path
    topology: LabTopology


@dataclass
class SharedOneStoreLab:
    """Brings the lab up for the first module that asks and down after the last one this run
    holds (so that it does not idle through the rest of the session); between two modules it
    waits until every BGP session the rollout left Established is Established again."""

    factory: pytest.TempPathFactory
    modules: set[str]
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    current: OneStoreLab | None = None
    established: dict[str, set[str]] = field(default_factory=dict)

    def _sessions(self, state_dir: Path) -> dict[str, set[str]]:
        assert self.current is not None
        return {
            appliance.name: {p.peer for p in lab.bgp_peers(state_dir, appliance.name) if p.state == "Established"}
            for appliance in self.current.topology.appliances
        }

    def _up(self) -> OneStoreLab:
        root = self.factory.mktemp("one-store")
        fleet_dir = root / "fleet"
        shutil.copytree(sample_chain_path(), fleet_dir)
        topology = topology_from_fleet(load_fleet(fleet_dir), [ONE_STORE], overlay="ipsec")
        rollout = rolled_out_lab(
            root, topology, [ONE_STORE], "lab-one-store-fleet-psk-0123456789abcdef",
            fleet_dir=fleet_dir, verify_timeout=90, health_timeout=90,
        )  # fmt: skip
        state_dir = self.stack.enter_context(rollout)
        self.current = OneStoreLab(root, fleet_dir, state_dir, topology)
        self.established = self._sessions(state_dir)
        return self.current

    def _settled(self, shared: OneStoreLab) -> None:
        deadline = time.monotonic() + _SETTLED_WITHIN
        while True:
            now = self._sessions(shared.state_dir)
            missing = {name: peers - now[name] for name, peers in self.established.items() if peers - now[name]}
            if not missing:
                return
            assert time.monotonic() < deadline, f"the shared lab did not settle: sessions not Established {missing}"
            time.sleep(1.0)

    @contextlib.contextmanager
    def lease(self, module: str) -> Iterator[OneStoreLab]:
        if self.current is None:
            shared = self._up()
        else:
            shared = self.current
            self._settled(shared)
        try:
            yield shared
        finally:
            self.modules.discard(module)
            if not self.modules:
                self.close()

    def close(self) -> None:
        self.current = None
        self.stack.close()
