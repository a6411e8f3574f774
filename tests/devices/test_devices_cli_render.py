"""`storestack devices render|show` as a user and CI see them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path

FLEET = ["--fleet", str(sample_chain_path())]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["devices", *args, *FLEET])
    return result.exit_code, result.output


def test_render_writes_one_file_per_appliance_then_nothing(tmp_path: Path) -> None:
    out = tmp_path / "configs"
    code, output = _run("render", "--out", str(out), "--json")
    assert code == 0
    first = json.loads(output)
    assert len(first["written"]) == 10 and first["unchanged"] == []
    assert {p.name for p in out.glob("*.cfg")} == {f"{name}.cfg" for name in first["written"]}
    frr_stores = ["nw-0001", "nw-0002", "nw-0004", "nw-0007", "nw-0008"]
    frr_hosts = [f"{s}-edge1" for s in frr_stores] + ["hq-hub1", "hq-hub2"]
    assert {p.name for p in out.glob("*.nftables.conf")} == {f"{h}.nftables.conf" for h in frr_hosts}
    # Every FRR appliance, hubs included, gets its IPsec and policy-routing files.
    assert {p.name for p in out.glob("*.swanctl.conf")} == {f"{h}.swanctl.conf" for h in frr_hosts}
    assert {p.name for p in out.glob("*.routing")} == {f"{h}.routing" for h in frr_hosts}
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    code, output = _run("render", "--out", str(out), "--json")
    second = json.loads(output)
    assert code == 0 and second["written"] == [] and len(second["unchanged"]) == 10
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes


def test_check_fails_when_a_file_would_change_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "configs"
    assert _run("render", "--out", str(out))[0] == 0
    assert _run("render", "--out", str(out), "--check")[0] == 0
    tampered = out / "hq-hub2.cfg"
    tampered.write_text("hostname someone-else\n")
    code, output = _run("render", "--out", str(out), "--check", "--json")
    assert code == 1
    assert json.loads(output)["would_change"] == ["hq-hub2"]
    assert tampered.read_text() == "hostname someone-else\n"


def test_render_selects_stores_and_hubs(tmp_path: Path) -> None:
    code, output = _run("render", "--out", str(tmp_path), "--store", "nw-0007", "--hub", "hq-hub2", "--json")
    assert code == 0
    assert json.loads(output)["written"] == ["nw-0007-edge1", "hq-hub2"]


def test_render_reports_planned_configs(tmp_path: Path) -> None:
    code, output = _run("render", "--out", str(tmp_path), "--store", "nw-0001")
    assert code == 0
    assert "wrote 1, unchanged 0" in output and "PLANNED" in output


def test_with_secrets_writes_private_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "push"
    # An FRR store's secrets are its tunnel PSKs, derived from the fleet PSK secret, and the
    # NTP keys chrony implements in its host's key file (AES-128-CMAC and the keyed SHA-256 digest).
    monkeypatch.setenv("STORESTACK_NTP_KEY", "Ntp.Cmac_Key_016")
    monkeypatch.setenv("STORESTACK_NTP_KEY_SHA256", "Ntp.Sha256_Key_45")
    # and the SNMPv3 user's passphrases in its SNMP agent's file.
    monkeypatch.setenv("STORESTACK_SNMP_AUTH_KEY", "Snmp.Auth_Key_42")
    monkeypatch.setenv("STORESTACK_SNMP_PRIV_KEY", "Snmp.Priv_Key_43")
    monkeypatch.delenv("STORESTACK_IPSEC_PSK", raising=False)
    code, output = _run("render", "--out", str(out), "--store", "nw-0001", "--with-secrets")
    assert code == 2 and "STORESTACK_IPSEC_PSK" in output and not out.exists()
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", "Fleet.Ipsec_Psk_Seed")
    monkeypatch.delenv("STORESTACK_NTP_KEY")
    code, output = _run("render", "--out", str(out), "--store", "nw-0001", "--with-secrets")
    assert code == 2 and "STORESTACK_NTP_KEY" in output and not out.exists()
    monkeypatch.setenv("STORESTACK_NTP_KEY", "Ntp.Cmac_Key_016")
    code, _ = _run("render", "--out", str(out), "--store", "nw-0001", "--with-secrets")
    assert code == 0
    assert stat.S_IMODE((out / "nw-0001-edge1.cfg").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "nw-0001-edge1.swanctl.conf").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "nw-0001-edge1.chrony.keys").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "nw-0001-edge1.snmpd.conf").stat().st_mode) == 0o600
    assert "Fleet.Ipsec_Psk_Seed" not in (out / "nw-0001-edge1.swanctl.conf").read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_with_secrets_missing_secret_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "push"
    code, output = _run("render", "--out", str(out), "--with-secrets")
    assert code == 2
    assert "STORESTACK_" in output
    assert not out.exists()


def test_unknown_store_or_hub_is_a_usage_error(tmp_path: Path) -> None:
    code, output = _run("render", "--out", str(tmp_path), "--store", "nw-0070")
    assert code == 2 and "did you mean" in output
    assert _run("render", "--out", str(tmp_path), "--hub", "hq-hub3")[0] == 2
    assert _run("show", "nw-9999")[0] == 2


def test_show_prints_the_store_configs(tmp_path: Path) -> None:
    code, output = _run("show", "nw-0005")
    assert code == 0
    assert "sysname nw-0005-edge1" in output
    code, output = _run("show", "hq-hub1", "--json")
    (hub,) = json.loads(output)
    # Every link of every store reaches both hubs: the hub holds a peer for each.
    links = sum(len(store.wan) for store in load_fleet(sample_chain_path()) if store.state != "decommissioned")
    assert hub["role"] == "hub" and hub["config"].count("remote-as 42000") == links


def test_parallel_rendering_gives_the_same_configs_in_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from storestack.devices import render
    from storestack.inventory import load_fleet

    fleet = load_fleet(sample_chain_path())
    sequential = [(c.name, c.text) for c in render.render_fleet(fleet, workers=1)]
    monkeypatch.setattr(render, "_PARALLEL_THRESHOLD", 0)
    parallel = [(c.name, c.text) for c in render.render_fleet(fleet, workers=2)]
    assert parallel == sequential


def test_check_reports_stale_config_files_of_removed_stores(tmp_path: Path) -> None:
    out = tmp_path / "configs"
    assert _run("render", "--out", str(out))[0] == 0
    (out / "nw-0099-edge1.cfg").write_text("hostname nw-0099-edge1\n")  # a store since removed
    (out / "nw-0099-edge1.nftables.conf").write_text("table inet x {}\n")
    code, output = _run("render", "--out", str(out), "--check", "--json")
    assert code == 1
    report = json.loads(output)
    assert report["ok"] is False and report["would_change"] == []
    assert report["stale"] == ["nw-0099-edge1.cfg", "nw-0099-edge1.nftables.conf"]
    code, output = _run("render", "--out", str(out), "--check")
    assert code == 1 and "stale: nw-0099-edge1.cfg" in output
    # One store's render cannot know what else is stale.
    assert _run("render", "--out", str(out), "--check", "--store", "nw-0001")[0] == 0


def test_a_render_task_leaves_no_cyclic_garbage() -> None:
    """Forked render workers freeze what each task leaves behind (devices/render.py
    `_run_forked`): that is only sound while rendering makes no reference cycles, which would
    otherwise stay in the worker until it ends."""
    import gc

    from storestack.devices import render
    from storestack.inventory import load_fleet

    fleet = load_fleet(sample_chain_path())
    job = render._Job(fleet, None, False)
    stores = sorted(fleet.stores)
    job.run(("stores", stores[:1]))  # templates compiled, caches warm
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        configs = job.run(("stores", stores[1:])) + job.run(("hub", ["hq-hub1"]))
        assert configs
        del configs
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_held_over_configs_are_written_with_the_folder_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--fleet-before`: hq-hub1, pushed twice when hq-hub3 is added, gets its first config in
    held-over/; a render stopped part-way leaves the folder as it was, held-over/ included; a
    render of one hub keeps the other files of held-over/, a whole-fleet one names them stale."""
    from testsupport.rendering import edited_sample_chain, three_hub_chain

    from storestack.devices import render

    before = edited_sample_chain(tmp_path / "before", "hq-hub2", "hq-hub2")
    args = ["devices", "render", "--fleet", str(three_hub_chain(tmp_path / "after")), "--fleet-before", str(before)]
    out = tmp_path / "configs"
    real = render.atomic_write_text

    def failing(path: Path, text: str, **kwargs: object) -> bool:
        if path.parent.name == "held-over":
            raise OSError(28, "No space left on device")
        return real(path, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "atomic_write_text", failing)
    assert CliRunner().invoke(cli, [*args, "--out", str(out)]).exit_code != 0
    assert not out.exists()
    monkeypatch.setattr(render, "atomic_write_text", real)
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert "held-over/hq-hub1" in payload["written"] and "hq-hub1" in payload["written"]
    held = out / "held-over" / "hq-hub1.cfg"
    assert held.read_text() != (out / "hq-hub1.cfg").read_text()
    (out / "held-over" / "hq-hub9.cfg").write_text("hostname hq-hub9\n")
    held.write_text("hostname hq-hub1\n")
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--hub", "hq-hub1", "--json"])
    assert json.loads(result.stdout)["written"] == ["held-over/hq-hub1"]
    assert (out / "held-over" / "hq-hub9.cfg").read_text() == "hostname hq-hub9\n"
    assert held.read_text() != "hostname hq-hub1\n"
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--check", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["stale"] == ["held-over/hq-hub9.cfg"]
