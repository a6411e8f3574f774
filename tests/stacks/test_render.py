"""`storestack stacks render` and `stacks matrix`."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from stack_harness import copy_sample_chain, edit_store

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import derive_psk
from storestack.stacks.config import StoreStackConfig
from storestack.stacks.errors import StackConfigError
from storestack.stacks.mapping import store_config
from storestack.stacks.mocks import MockRun, StorestackMocks, run_program_under_mocks, unwrap_secrets
from storestack.stacks.render import Shard, project_file, render_stacks, stack_matrix


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_render_writes_a_project_folder_per_kind_and_a_config_per_stack(tmp_path: Path) -> None:
    fleet = load_fleet(sample_chain_path())
    result = render_stacks(fleet, tmp_path / "out")
    files = _tree(tmp_path / "out")
    assert "core/Pulumi.yaml" in files and "core/__main__.py" in files and "core/Pulumi.core.yaml" in files
    assert "name: storestack-store" in files["store/Pulumi.yaml"]
    assert "from storestack.stacks.store import program" in files["store/__main__.py"]
    assert sorted(f for f in files if f.startswith("store/Pulumi.store-")) == [
        f"store/Pulumi.store-nw-000{n}.yaml" for n in range(1, 9)
    ]
    assert len(result.written) == len(files) and not result.unchanged


def test_render_is_deterministic_and_rewrites_only_changed_files(tmp_path: Path) -> None:
    fleet_dir = copy_sample_chain(tmp_path)
    out = tmp_path / "out"
    render_stacks(load_fleet(fleet_dir), out)
    before = _tree(out)
    again = render_stacks(load_fleet(fleet_dir), out)
    assert again.written == [] and len(again.unchanged) == len(before)
    render_stacks(load_fleet(fleet_dir), tmp_path / "elsewhere")
    assert _tree(tmp_path / "elsewhere") == before

    edit_store(fleet_dir, "nw-0004", "bandwidth_mbps: 1000", "bandwidth_mbps: 900")  # not in the cloud config
    edit_store(fleet_dir, "nw-0006", "cashier: 5", "cashier: 7")
    changed = render_stacks(load_fleet(fleet_dir), out)
    assert [p.relative_to(out).as_posix() for p in changed.written] == ["core/Pulumi.core.yaml"]


def test_rendered_config_is_the_typed_store_config(tmp_path: Path) -> None:
    fleet = load_fleet(sample_chain_path())
    render_stacks(fleet, tmp_path)
    document = yaml.safe_load((tmp_path / "store" / "Pulumi.store-nw-0003.yaml").read_text())
    loaded = StoreStackConfig.model_validate(document["config"]["storestack:store"])
    assert loaded == store_config(fleet, fleet.store("nw-0003"))


def test_rendered_stacks_give_the_default_aws_provider_its_region(tmp_path: Path) -> None:
    # Pulumi AWS requires a region ("Installation & Configuration": `region`, Required): without
    # `aws:region` in the stack's file, `up` in its folder fails unless the runner's environment
    # sets AWS_REGION, which the documented CI jobs do not.
    fleet = load_fleet(sample_chain_path())
    render_stacks(fleet, tmp_path)

    def config(name: str) -> dict[str, object]:
        return dict(yaml.safe_load((tmp_path / name).read_text())["config"])

    assert config("core/Pulumi.core.yaml")["aws:region"] == "eu-west-1"
    # A store stack creates AWS resources only where the mapping kept its AWS affinity.
    regions = {store.id: store_config(fleet, store).site.aws_region for store in fleet}
    assert set(regions.values()) == {"eu-west-1", None}
    for store_id, region in regions.items():
        assert config(f"store/Pulumi.store-{store_id}.yaml").get("aws:region") == region, store_id


def test_the_main_shim_runs_the_installed_program_on_the_rendered_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = load_fleet(sample_chain_path())
    render_stacks(fleet, tmp_path)
    document = yaml.safe_load((tmp_path / "store" / "Pulumi.store-nw-0002.yaml").read_text())
    assert "STORESTACK_IPSEC_PSK" in str(document) and "Shim-Seed" not in str(document), "a reference, never a key"
    config = {key: json.dumps(value) for key, value in document["config"].items()}
    shim = tmp_path / "store" / "__main__.py"

    def run() -> MockRun:
        return run_program_under_mocks(
            lambda: runpy.run_path(str(shim)), project="storestack-store", stack="store-nw-0002", config=config,
            mocks=StorestackMocks(),
        )

    # `pulumi up` without the fleet secret: no stack with keys nobody can reproduce on a device.
    monkeypatch.delenv("STORESTACK_IPSEC_PSK", raising=False)
    with pytest.raises(StackConfigError, match="ipsec-psk"):
        run()
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", "Shim-Seed-4242-4242")
    result = run()
    (site,) = [r for r in result.resources if r.type == "storestack:store:StoreSite"]
    assert site.name == "nw-0002"
    assert result.outputs["tunnel_psks"].secret
    keys = unwrap_secrets(result.outputs["tunnel_psks"].value)
    assert keys and all(value == derive_psk("Shim-Seed-4242-4242", tid) for tid, value in keys.items())


def test_decommissioned_and_vanished_stores_are_listed_for_destroy(tmp_path: Path) -> None:
    fleet_dir = copy_sample_chain(tmp_path)
    out = tmp_path / "out"
    render_stacks(load_fleet(fleet_dir), out)
    edit_store(fleet_dir, "nw-0005", "state: active", "state: decommissioned")
    (fleet_dir / "stores" / "nw-0007.yaml").unlink()
    result = render_stacks(load_fleet(fleet_dir), out)
    assert result.destroy == ["store-nw-0005", "store-nw-0007"]
    assert result.orphaned == ["store-nw-0007"]
    assert (out / "store" / "Pulumi.store-nw-0005.yaml").is_file(), "destroy needs the stack's config"


def test_shards_split_the_store_stacks_without_overlap(tmp_path: Path) -> None:
    fleet = load_fleet(sample_chain_path())
    seen: list[str] = []
    for index in (1, 2, 3):
        result = render_stacks(fleet, tmp_path / str(index), shard=Shard(index, 3))
        seen += [s.name for s in result.stacks if s.kind == "store"]
        assert any(s.kind == "core" for s in result.stacks)
    assert sorted(seen) == [f"store-nw-000{n}" for n in range(1, 9)]
    matrix = stack_matrix(fleet, tmp_path, shards=3)
    assert matrix["core"]["stack"] == "core"
    assert sorted(s for shard in matrix["include"] for s in shard["stacks"]) == sorted(seen)
    assert [shard["shard"] for shard in matrix["include"]] == ["1/3", "2/3", "3/3"]


def test_cli_render_and_matrix(tmp_path: Path) -> None:
    runner = CliRunner()
    rendered = runner.invoke(cli, ["stacks", "render", "--out", str(tmp_path), "--json"])
    assert rendered.exit_code == 0, rendered.output
    payload = json.loads(rendered.output)
    assert len(payload["stacks"]) == 9 and payload["destroy"] == []
    assert "store-nw-0008" in payload["notes"]
    again = runner.invoke(cli, ["stacks", "render", "--out", str(tmp_path)])
    # The summary wraps at the terminal's width wherever the temporary folder's long path ends.
    assert "0 written" in " ".join(again.output.split())
    matrix = runner.invoke(cli, ["stacks", "matrix", "--shards", "2"])
    assert matrix.exit_code == 0
    assert len(json.loads(matrix.output)["include"]) == 2
    bad = runner.invoke(cli, ["stacks", "render", "--out", str(tmp_path), "--shard", "3/2"])
    assert bad.exit_code == 2 and "K must be between 1 and N" in bad.output


@pytest.mark.parametrize("kind", ["core", "store"])
def test_the_shipped_project_files_are_valid_yaml(kind: str) -> None:
    """`pulumi up` in a rendered folder reads this file first; a YAML error there stops everything."""
    project = yaml.safe_load(project_file(kind))
    assert project["name"] == f"storestack-{kind}"
    assert project["runtime"]["name"] == "python"
    assert project["description"].endswith(".")


def test_big_fleets_render_the_same_stack_configs_on_several_cores(tmp_path: Path) -> None:
    from storestack.inventory.generate import generate_fleet, write_fleet
    from storestack.stacks.render import config_documents, plan_stacks

    write_fleet(generate_fleet(600, 3), tmp_path / "fleet")
    _, configs = plan_stacks(load_fleet(tmp_path / "fleet"))
    ordered = list(configs.values())
    assert len(ordered) > 500, "above the threshold where a process pool is used"
    assert config_documents(ordered, workers=2) == config_documents(ordered, workers=1)
