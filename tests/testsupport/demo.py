"""One `storestack demo` run for the tests that judge it: the demo's own test
(tests/rollout/test_demo.py) reads what it printed and left, the secrets audit
(tests/audit/test_secrets_audit.py) scans the same output and files for the known secrets it ran
with. A full demo takes minutes, so the run is a session fixture (`demo_run`, registered by
tests/conftest.py) and both tests share the `xdist_group` DEMO_GROUP, which keeps them on the one
worker that runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from testsupport.lab import require_frr_lab
from testsupport.stack_outputs import run_store_stack

DEMO_GROUP = "demo"

# Known values for every secret the audit looks for.
DEVICE_SECRETS = {
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Audit-Local-Admin-6911",
    "STORESTACK_SNMP_AUTH_KEY": "Audit-Snmp-Auth-5523",
    "STORESTACK_SNMP_PRIV_KEY": "Audit-Snmp-Priv-8832",
    "STORESTACK_TACACS_KEY": "Audit-Tacacs-Key-2290",
    "STORESTACK_NTP_KEY": "Audit-Ntp-Key-33",  # aes128-cmac: exactly 16 characters
    "STORESTACK_NTP_KEY_HMAC": "Audit-Ntp-Hmac-3382",
    "STORESTACK_NTP_KEY_SHA256": "Audit-Ntp-Sha-3383",
}
PASSPHRASE = "Audit-Pulumi-Passphrase-4471"
# The fleet secret tunnel PSKs derive from: like the passphrase, it must never appear anywhere.
IPSEC_PSK_SEED = ("STORESTACK_IPSEC_PSK", "Audit-Ipsec-Psk-Seed-5127")
# The one device secret the demo run leaves unset, so the demo fills it with a throwaway value as
# on a fresh machine (`make demo` with no secrets): the NTP key of AES-128-CMAC, whose value must
# be exactly 16 characters. The audit learns the value from the IOS-XE appliance that must hold
# it (`THROWAWAY_HOLDER`, its `ntp authentication-key 1 cmac-aes-128 VALUE`) and scans for it too.
THROWAWAY = "STORESTACK_NTP_KEY"
THROWAWAY_HOLDER = "nw-0003-edge1"
_THROWAWAY_LINE = re.compile(r"^ntp authentication-key \d+ cmac-aes-128 (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class DemoRun:
    """What one demo run printed and left: `root` its working directory (all it wrote is under
    it), `state` its `--state-dir`; `secrets` every secret value it ran with, by name (the
    throwaway one as the appliance holding it shows it, when the run got that far)."""

    root: Path
    state: Path
    result: subprocess.CompletedProcess[str]
    secrets: dict[str, str]
    sample_lock_before: str  # the shipped sample chain's allocations.yaml before the run


def _secrets_in_play() -> dict[str, str]:
    """The known device secrets, the passphrase, the PSK seed, and every tunnel PSK derived from
    it: the stacks' and the network intent's planned, per-tunnel ones the lab renders."""
    fleet = load_fleet(sample_chain_path())
    secrets = {**DEVICE_SECRETS, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, IPSEC_PSK_SEED[0]: IPSEC_PSK_SEED[1]}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(*IPSEC_PSK_SEED)
        for store in fleet:
            run = run_store_stack(fleet, store.id, preview=True)
            secrets |= {
                f"psk {store.id} {name}": value for name, value in run.outputs["tunnel_psks"].value.items()
            }
        intent = NetworkIntent(fleet, reveal_secrets=True)
        secrets |= {f"psk {t.id}": t.psk.reveal() for store in fleet for t in intent.store(store.id).tunnels}
    return secrets


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`storestack demo` as `make demo` runs it: no Pulumi CLI on the PATH, no secret of the
    caller's environment, but the known ones above except `THROWAWAY`, which the demo makes up."""
    require_frr_lab()
    root = tmp_path_factory.mktemp("demo-run")
    state = root / "demo"
    lock_before = (sample_chain_path() / "allocations.yaml").read_text()
    secrets = _secrets_in_play()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORESTACK_", "PULUMI_"))}
    env |= {
        **{name: value for name, value in DEVICE_SECRETS.items() if name != THROWAWAY},
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        IPSEC_PSK_SEED[0]: IPSEC_PSK_SEED[1],
        "COLUMNS": "120",
    }
    del secrets[THROWAWAY]
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if not (Path(p) / "pulumi").exists())
    storestack = Path(sys.executable).with_name("storestack")
    result = subprocess.run(
        [str(storestack), "demo", "--state-dir", str(state)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        # A ceiling, not a wait: the demo ends when its steps are done. Its lab, rollout and
        # brownout drill each wait for state (BFD up, the SLA's recovery time), which a loaded
        # machine stretches well past the few minutes an idle one takes.
        timeout=1200,
    )
    holder = state / "lab" / "emulator" / "devices" / THROWAWAY_HOLDER
    for config in sorted(holder.glob("*.cfg")):
        secrets |= {f"{THROWAWAY} (throwaway)": value for value in _THROWAWAY_LINE.findall(config.read_text())}
    yield DemoRun(root, state, result, secrets, lock_before)
