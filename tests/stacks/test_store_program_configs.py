"""The store stack program renders each appliance's intended config into its StoreEdge.

Under mocks, with the renderer `storestack devices render` uses: the config is a secret output
and is byte-for-byte what `storestack devices render --with-secrets` writes for the same
appliance when given the same stack outputs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS
from testsupport.stack_outputs import outputs_file, run_store_stack

from storestack.cli.main import cli
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.stacks import store
from storestack.stacks.config import store_stack_name
from storestack.stacks.device_bridge import appliance_config_renderer
from storestack.stacks.mocks import (
    MockRun,
    is_secret,
    unwrap_secrets,
)
from storestack.stacks.plan import make_tasks, plan_tasks
from storestack.stacks.render import plan_stacks


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated chain: its first store has two appliances sharing the store's WAN links."""
    target = tmp_path_factory.mktemp("generated") / "fleet"
    write_fleet(generate_fleet(3, 7), target)
    return target


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(*TEST_IPSEC_PSK_SEED)
    return dict(TEST_SECRETS)


def run_store_program(fleet: Fleet, store_id: str, *, preview: bool) -> MockRun:
    return run_store_stack(
        fleet, store_id, preview=preview, program=functools.partial(store.program, appliance_config_renderer(fleet))
    )


def devices_render(fleet_dir: Path, store_id: str, outputs: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "outputs.yaml"
    path.write_text(yaml.safe_dump(outputs))
    path.chmod(0o600)
    out = tmp_path / "push"
    result = CliRunner().invoke(
        cli,
        ["devices", "render", "--fleet", str(fleet_dir), "--store", store_id, "--outputs", str(path),
         "--with-secrets", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    return {p.stem: p.read_text() for p in out.glob("*.cfg")}


@pytest.mark.parametrize(
    ("chain", "store_id", "preview"),
    [("sample", "nw-0001", False), ("sample", "nw-0003", False), ("sample", "nw-0003", True),
     ("generated", "ms-00001", False)],
    ids=["frr-up", "cisco_xe-up", "cisco_xe-preview", "two-appliances"],
)
def test_store_edge_config_is_secret_and_equals_devices_render(
    fleet: Fleet,
    generated_dir: Path,
    secrets_env: dict[str, str],
    tmp_path: Path,
    chain: str,
    store_id: str,
    preview: bool,
) -> None:
    fleet_dir = sample_chain_path() if chain == "sample" else generated_dir
    fleet = fleet if chain == "sample" else load_fleet(generated_dir)
    run = run_store_program(fleet, store_id, preview=preview)
    appliances = [a.hostname for a in fleet.store(store_id).appliances]
    assert chain == "sample" or len(appliances) == 2

    exported = run.outputs["intended_configs"]
    assert exported.secret
    assert sorted(exported.value) == sorted(appliances)
    edges = {r.name: r for r in run.resources if r.type == "storestack:store:StoreEdge"}
    assert sorted(edges) == sorted(f"{store_id}-{hostname}" for hostname in appliances)
    for hostname in appliances:
        intended = run.component_outputs[edges[f"{store_id}-{hostname}"].urn]["intended_config"]
        assert is_secret(intended), f"{hostname}: intended_config is not a secret output"
        assert unwrap_secrets(intended) == exported.value[hostname]

    rendered = devices_render(fleet_dir, store_id, outputs_file(run, store_id, planned=preview), tmp_path)
    assert rendered == exported.value
    text = exported.value[appliances[0]]
    assert text.startswith("! storestack: PLANNED") == preview
    if fleet.store(store_id).appliances[0].platform == "cisco_xe":
        # A push file: the device secrets from the environment, the PSKs from the stack.
        assert secrets_env["STORESTACK_SNMP_AUTH_KEY"] in text
        assert all(psk in text for psk in run.outputs["tunnel_psks"].value.values())


def test_offline_plan_carries_the_configs_as_secrets_without_reading_device_secrets(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in TEST_SECRETS:
        monkeypatch.delenv(name, raising=False)
    _, configs = plan_stacks(fleet)
    tasks = [t for t in make_tasks(configs) if t.stack in (store_stack_name("nw-0001"), store_stack_name("nw-0003"))]
    sequential = plan_tasks(tasks, workers=1, fleet=fleet)
    parallel = plan_tasks(tasks, workers=2, fleet=fleet)
    assert [p.model_dump() for p in sequential] == [p.model_dump() for p in parallel]
    for plan in sequential:
        assert plan.outputs["intended_configs"] == "[secret]"
        assert "intended_configs" in plan.secret_outputs
        assert not [f for f in plan.findings if f.severity == "error"], plan.findings


def test_plan_renders_the_configs_only_when_asked(tmp_path: Path) -> None:
    def secret_outputs(*extra: str) -> list[str]:
        result = CliRunner().invoke(
            cli, ["plan", "--store", "nw-0003", "--json", "--plans-dir", str(tmp_path / "plans"), "--no-save", *extra]
        )
        assert result.exit_code == 0, result.output
        (stack,) = [s for s in json.loads(result.stdout)["stacks"] if s["stack"] == "store-nw-0003"]
        return list(stack["secret_outputs"])

    assert "intended_configs" not in secret_outputs()
    assert "intended_configs" in secret_outputs("--with-configs")
