"""The stacks build what the network intent plans, and what only the cloud assigns flows back.

- `StoreSite` takes its tunnels from the intent: under mocks, on every platform, its tunnels,
  keys and AWS inside /30s are the intent's, and the config it renders is the planned config.
- The core stack's outputs (AWS tunnel outside addresses, the OpenStack gateway's floating IP,
  the keys) reach the hub configs of every platform through `CoreCloudOutputs`, and the lint's
  cross-checks hold with them.
"""

from __future__ import annotations

import functools
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, on_platform
from testsupport.stack_outputs import run_store_stack

from storestack.cli.main import cli
from storestack.common.platforms import HUB_STATIC_PEERS_ONLY
from storestack.devices.lint.run import lint_fleet
from storestack.devices.render import render_fleet, render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.network.outputs import CoreCloudOutputs
from storestack.stacks import core, store
from storestack.stacks.config import CONFIG_NAMESPACE, PROJECTS
from storestack.stacks.device_bridge import appliance_config_renderer, outputs_from_core_stack
from storestack.stacks.mapping import core_config
from storestack.stacks.mocks import MockRun, StorestackMocks, run_program_under_mocks, unwrap_secrets
from storestack.stacks.plan import planned_stack_secrets

PLATFORMS = ("frr", "cisco_xe", "huawei_vrp", "fortinet")


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(*TEST_IPSEC_PSK_SEED)


def _values(run: MockRun) -> dict[str, Any]:
    return {name: unwrap_secrets(out.value) for name, out in run.outputs.items()}


# --- StoreSite <- intent -------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_store_site_builds_the_intents_tunnels_keys_and_config(fleet: Fleet, platform: str) -> None:
    # The store's end on every platform. Hubs that take statically addressed stores only would
    # need the chain's LTE links static, which makes them AWS-attached with inside /29s only IPAM
    # allocates: those stores are served by FRR hubs here (the hubs' end is the next test's).
    hubs = "frr" if platform in HUB_STATIC_PEERS_ONLY else None
    fleet = on_platform(fleet, platform, hubs=hubs)  # type: ignore[arg-type]
    intent = NetworkIntent(fleet, reveal_secrets=True)
    for store_id in ("nw-0001", "nw-0002"):  # with and without AWS affinity
        run = run_store_stack(
            fleet,
            store_id,
            preview=True,
            program=functools.partial(store.program, appliance_config_renderer(fleet)),
        )
        values = _values(run)
        built = {t["name"]: t for t in values["tunnels"]}
        keys = values["tunnel_psks"]
        planned = intent.store(store_id).tunnels
        assert set(built) == {t.id for t in planned}, "the stack builds exactly the intent's tunnels"
        vpns = {r.name: r for r in run.resources if r.type == "aws:ec2/vpnConnection:VpnConnection"}
        for tunnel in planned:
            got = built[tunnel.id]
            assert keys[tunnel.id] == tunnel.psk.reveal(), f"{tunnel.id}: the stack's key is the intent's"
            assert tunnel.local_inside is not None
            assert (got["inside_cidr"], got["local_inside_address"], got["peer_inside_address"]) == (
                str(tunnel.local_inside.network),
                str(tunnel.local_inside.ip),
                str(tunnel.peer_inside),
            )
            if tunnel.kind == "store-hub":
                assert (got["peer_name"], got["peer_outside_address"], got["peer_asn"]) == (
                    tunnel.peer,
                    str(tunnel.peer_outside),
                    tunnel.peer_asn,
                )
            else:
                number = tunnel.id[-1]
                (vpn,) = [v for name, v in vpns.items() if name == f"{store_id}-{tunnel.transport}-vpn"]
                assert vpn.inputs[f"tunnel{number}InsideCidr"] == str(tunnel.local_inside.network)
                assert unwrap_secrets(vpn.inputs[f"tunnel{number}PresharedKey"]) == tunnel.psk.reveal()
        # Under the plan's mocks AWS answers on the intent's planned addresses: with or without
        # AWS tunnels, the config the stack renders is the planned config, to the byte.
        configs = values["intended_configs"]
        for config in render_store(fleet, store_id, reveal_secrets=True):
            assert configs[config.name] == config.text, f"{platform} {config.name}"


# --- core outputs -> hub configs ----------------------------------------------------------------


class LiveCloudMocks(StorestackMocks):
    """A live cloud: AWS picks its tunnels' outside addresses itself, not the planned ones
    (TEST-NET-3 here, where planned addresses never are)."""

    def _computed(self, typ: str, name: str, state: Any, resource_id: str) -> dict[str, Any]:
        computed = super()._computed(typ, name, state, resource_id)
        if typ == "aws:ec2/vpnConnection:VpnConnection":
            for n in (1, 2):
                computed[f"tunnel{n}Address"] = f"203.0.113.{1 + zlib.crc32(f'{name}/{n}'.encode()) % 254}"
        return computed


@pytest.fixture(scope="module")
def core_outputs(fleet: Fleet) -> tuple[dict[str, Any], CoreCloudOutputs]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(*TEST_IPSEC_PSK_SEED)
        config = core_config(fleet)
        run = run_program_under_mocks(
            core.program,
            project=PROJECTS["core"],
            stack="core",
            config={
                f"{CONFIG_NAMESPACE}:core": json.dumps(config.model_dump(mode="json")),
                **planned_stack_secrets("core", config.model_dump(mode="json")),
            },
            mocks=LiveCloudMocks(),
            preview=False,
        )
    values = _values(run)
    return values, outputs_from_core_stack(values, planned=False)


def test_the_core_stack_keys_and_inside_addresses_are_the_intents(
    fleet: Fleet, core_outputs: tuple[dict[str, Any], CoreCloudOutputs]
) -> None:
    _, live = core_outputs
    planned = NetworkIntent(fleet, reveal_secrets=True)
    assert len(live.hub_aws) == 2 * len(fleet.hubs) and len(live.hub_openstack) == len(fleet.hubs)
    for hub in fleet.hubs:
        tunnels = {t.peer: t for t in planned.hub(hub).tunnels if t.kind in ("hub-aws", "hub-openstack")}
        for out in (t for t in live.hub_aws if t.hub == hub):
            tunnel = tunnels[f"aws:{out.region}:{out.tunnel}"]
            assert tunnel.local_inside is not None and out.psk is not None
            assert out.inside_cidr == tunnel.local_inside.network, "AWS took the intent's inside /30"
            assert out.psk.get_secret_value() == tunnel.psk.reveal(), "and the intent's key"
        for gateway in (t for t in live.hub_openstack if t.hub == hub):
            assert gateway.psk is not None
            assert gateway.psk.get_secret_value() == tunnels[f"openstack:{gateway.site}"].psk.reveal()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_core_outputs_reach_every_platforms_hub_config(
    fleet: Fleet, platform: str, core_outputs: tuple[dict[str, Any], CoreCloudOutputs]
) -> None:
    _, live = core_outputs
    fleet = on_platform(fleet, platform)  # type: ignore[arg-type]
    planned = NetworkIntent(fleet)
    intent = NetworkIntent(fleet, core=live)
    # FRR hubs keep their tunnels in companion files (swanctl.conf): read every file of a hub.
    configs = {
        c.name: "\n".join([c.text, *(text for _, text in c.companions)])
        for c in render_fleet(fleet, store_ids=[], reveal_secrets=True, core=live)
    }
    for hub in fleet.hubs:
        text = configs[hub]
        for tunnel in intent.hub(hub).tunnels:
            if tunnel.kind not in ("hub-aws", "hub-openstack"):
                continue
            assert tunnel.live and tunnel.psk_origin == "stack outputs"
            if tunnel.kind == "hub-aws":
                _, region, number = tunnel.peer.split(":")
                out = live.aws(hub, region, int(number))
                assert out is not None and tunnel.peer_outside == out.outside_address
            else:
                found = live.openstack(hub, tunnel.peer.split(":")[1])
                assert found is not None and tunnel.peer_outside == found.gateway_address
            (before,) = [t for t in planned.hub(hub).tunnels if t.id == tunnel.id]
            assert before.peer_outside != tunnel.peer_outside, "the planned stand-in address is replaced"
            assert str(tunnel.peer_outside) in text, f"{platform} {hub}: {tunnel.id} dials the live address"
            assert str(before.peer_outside) not in text
            assert tunnel.psk.value is not None and tunnel.psk.value.get_secret_value() in text


def test_lint_cross_checks_hold_with_the_core_outputs(
    fleet: Fleet, core_outputs: tuple[dict[str, Any], CoreCloudOutputs]
) -> None:
    _, live = core_outputs
    report = lint_fleet(fleet, core=live)
    assert report.ok, report.findings[:5]


def test_devices_commands_take_the_core_outputs_file(
    fleet: Fleet, core_outputs: tuple[dict[str, Any], CoreCloudOutputs], tmp_path: Path
) -> None:
    values, live = core_outputs
    path = tmp_path / "core-outputs.json"
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    runner = CliRunner()
    fleet_args = ["--fleet", str(sample_chain_path())]
    out = tmp_path / "configs"
    rendered = runner.invoke(
        cli, ["devices", "render", "--hub", "hq-hub1", "--out", str(out), "--core-outputs", str(path), *fleet_args]
    )
    assert rendered.exit_code == 0, rendered.output
    text = "\n".join(p.read_text() for p in sorted(out.iterdir()))  # FRR: tunnels in swanctl.conf
    gateway = live.openstack("hq-hub1", fleet.spec.sites.openstack[0].name)
    assert gateway is not None and str(gateway.gateway_address) in text
    assert all(value not in text for value in _psks(values)), "without --with-secrets the keys stay redacted"
    linted = runner.invoke(cli, ["devices", "lint", "--core-outputs", str(path), "--json", *fleet_args])
    assert linted.exit_code == 0, linted.output
    path.chmod(0o644)
    refused = runner.invoke(cli, ["devices", "lint", "--core-outputs", str(path), *fleet_args])
    assert refused.exit_code != 0 and "0600" in refused.output


def _psks(values: dict[str, Any]) -> list[str]:
    found = [psk for pair in values["hub_vpn_psks"].values() for psk in pair]
    return found + [v for v in values["openstack_vpn_psks"].values() if isinstance(v, str)]


def test_devices_push_renders_the_hubs_cloud_ends_from_the_core_outputs(
    fleet: Fleet, core_outputs: tuple[dict[str, Any], CoreCloudOutputs], tmp_path: Path
) -> None:
    """`devices push` rendering from the fleet took no core outputs: it pushed the hubs their
    planned cloud ends (TEST-NET-1 stand-ins, planned keys) where `devices render --core-outputs`
    showed the live ones, and a live hub's cloud tunnels went down. It takes the same file now."""
    from storestack.devices.fleet_targets import targets_from_fleet
    from storestack.devices.intended import rendered_held_over_configs, rendered_intended_configs

    values, live = core_outputs
    gateway = live.openstack("hq-hub1", fleet.spec.sites.openstack[0].name)
    aws = live.aws("hq-hub1", fleet.spec.sites.aws[0].regions[0], 1)
    assert gateway is not None and aws is not None
    planned = {str(t.peer_outside) for t in NetworkIntent(fleet).hub_cloud_tunnels("hq-hub1")}
    targets = [t for t in targets_from_fleet(fleet).appliances if t.name == "hq-hub1"]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TEST_SECRETS.items():
            patch.setenv(name, value)
        patch.setenv(*TEST_IPSEC_PSK_SEED)
        pushed = rendered_intended_configs(fleet, targets, core=live)
        first = rendered_held_over_configs(fleet, fleet, ["hq-hub1"], core=live)
    for configs in (pushed, first):
        (target,) = targets
        config = configs.intended_config(target)
        text = "\n".join([config.text, *(body for _, body in config.companions)])
        assert str(gateway.gateway_address) in text and str(aws.outside_address) in text
        assert not any(address in text for address in planned - {str(gateway.gateway_address), str(aws.outside_address)})
        assert set(_psks(values)) <= set(config.secrets), "the live keys are redacted from what the push shows"
    path = tmp_path / "core-outputs.json"
    path.write_text(json.dumps(values))
    path.chmod(0o644)
    refused = CliRunner().invoke(cli, ["devices", "push", "--core-outputs", str(path), "--fleet", str(sample_chain_path())])
    assert refused.exit_code == 2 and "0600" in refused.output, refused.output
