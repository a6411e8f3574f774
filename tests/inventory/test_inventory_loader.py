"""The loader as other concerns use it: the sample chain, the resolved Fleet, bundles, parsing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from storestack.common.platforms import PLATFORM_NAMES
from storestack.inventory import (
    Fleet,
    InventoryError,
    ResolvedAppliance,
    ResolvedHub,
    ResolvedSegment,
    ResolvedStore,
    ResolvedWanLink,
    UnknownStoreError,
    load_fleet,
    load_fleet_bundle,
    sample_chain_path,
    source,
)
from storestack.inventory.generate import generate_fleet, write_fleet


@pytest.fixture(scope="module")
def sample() -> Fleet:
    return load_fleet(sample_chain_path())


def test_sample_chain_validates_and_reads_like_a_retailer(sample: Fleet) -> None:
    assert len(sample) == 8
    assert sorted(sample.hubs) == ["hq-hub1", "hq-hub2"]
    assert {store.format for store in sample} == {"hypermarket", "supermarket", "mall", "convenience"}
    assert {appliance.platform for store in sample for appliance in store.appliances} == set(PLATFORM_NAMES)
    assert [store.id for store in sample if store.lte_only] == ["nw-0007"]
    assert len(sample.spec.sites.openstack) == 1
    assert [region for account in sample.spec.sites.aws for region in account.regions] == ["eu-west-1"]
    # The committed lock file pins every sample store.
    assert sample.provisional_stores == []


def test_resolved_store_has_every_number_filled_in(sample: Fleet) -> None:
    store = sample.store("nw-0001")
    assert str(store.block) == "10.64.0.0/23"
    assert {kind: str(segment.subnet) for kind, segment in store.segments.items()} == {
        "pos": "10.64.0.0/26",
        "office": "10.64.0.64/26",
        "cctv": "10.64.0.128/26",
        "iot": "10.64.0.192/26",
        "guest-wifi": "10.64.1.0/25",
    }
    assert [str(prefix) for prefix in store.advertised_prefixes] == [
        "10.64.0.0/26",
        "10.64.0.64/26",
        "10.64.0.128/26",
        "10.64.0.192/26",
    ]
    primary, backup = store.wan
    assert (primary.name, primary.hub, primary.primary) == ("wan1", "hq-hub1", True)
    assert (backup.name, backup.hub, backup.cellular) == ("lte1", "hq-hub2", True)
    assert str(primary.overlay) == "100.64.0.1/31" and str(primary.overlay_peer) == "100.64.0.0"
    assert store.appliances[0].management_address == store.appliances[0].loopback
    # A cellular link's home hub is the backup, on an LTE-only store too: whether the store has
    # a wired link beside it does not move its tunnels (`test_push_order.py`).
    lte_only = sample.store("nw-0007")
    assert lte_only.primary_hub == "hq-hub1"
    assert [link.hub for link in lte_only.wan] == ["hq-hub2", "hq-hub2"]


def test_resolved_models_equal_what_validation_would_build(sample: Fleet) -> None:
    """The loader builds resolved models without re-validating; they must be exactly valid ones."""
    for store in sample:
        assert ResolvedStore.model_validate(store.model_dump()) == store
        for segment in store.segments.values():
            assert isinstance(segment, ResolvedSegment)
        assert all(isinstance(link, ResolvedWanLink) for link in store.wan)
        assert all(isinstance(appliance, ResolvedAppliance) for appliance in store.appliances)
        for model in (store, *store.segments.values(), *store.wan, *store.appliances):
            assert model.model_fields_set == set(type(model).model_fields) == set(vars(model))
    for hub in sample.hubs.values():
        assert ResolvedHub.model_validate(hub.model_dump()) == hub


def test_resolved_models_are_frozen(sample: Fleet) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        sample.store("nw-0001").name = "changed"  # type: ignore[misc]


def test_filter_returns_a_copy(sample: Fleet) -> None:
    before = list(sample.stores)
    randstad = sample.filter(region="randstad")
    assert sorted(randstad.stores) == ["nw-0001", "nw-0002", "nw-0003", "nw-0004", "nw-0007"]
    assert (
        randstad is not sample and randstad.stores is not sample.stores and randstad.hubs is not sample.hubs
    )
    randstad.stores.clear()
    randstad.hubs.clear()
    assert list(sample.stores) == before and len(sample.hubs) == 2
    assert [s.id for s in sample.filter(platform="fortinet")] == ["nw-0006"]
    assert [s.id for s in sample.filter(format="convenience", state="active")] == ["nw-0007"]
    assert [s.id for s in sample.filter(lambda s: s.lte_only)] == ["nw-0007"]
    assert [s.id for s in sample.filter(ids=["nw-0003", "nw-0005"])] == ["nw-0003", "nw-0005"]


def test_unknown_store_suggests_the_closest(sample: Fleet) -> None:
    with pytest.raises(
        UnknownStoreError, match=r"no store 'nw-001' in the inventory \(did you mean 'nw-0001'\?\)"
    ):
        sample.filter(ids=["nw-001"])


def test_bundle_reports_the_directorys_errors_at_the_bundles_lines(tmp_path: Path) -> None:
    """The same errors as the fleet on disk, named where they are: the bundle and its line (a
    piped bundle has no stores/<id>.yaml to open)."""
    generated = generate_fleet(30, seed=5)
    directory = tmp_path / "fleet"
    write_fleet(generated, directory)
    broken_store = directory / "stores" / "ms-00003.yaml"
    broken_store.write_text(broken_store.read_text().replace("vlan: 20", "vlan: 4097"))
    fleet_file = directory / "fleet.yaml"
    fleet_file.write_text(
        fleet_file.read_text().replace("  slug: meridian", "  slug: meridian\n  colour: blue")
    )
    with pytest.raises(InventoryError) as from_directory:
        load_fleet(directory)

    bundle = fleet_file.read_text() + "".join(
        f"---\n{path.read_text()}" for path in sorted((directory / "stores").glob("*.yaml"))
    )
    with pytest.raises(InventoryError) as from_bundle:
        load_fleet_bundle(bundle)
    assert [str(i) for i in from_directory.value.issues] == [
        "fleet.yaml:5 organisation.colour: unknown key 'colour' (allowed: domain, name, slug)",
        "stores/ms-00003.yaml:29 lan.office.vlan: 4097 is not a VLAN id (1-4094)",
    ]
    vlan_line = bundle.splitlines().index("    vlan: 4097") + 1
    assert [str(i) for i in from_bundle.value.issues] == [
        "<stdin>:5 organisation.colour: unknown key 'colour' (allowed: domain, name, slug)",
        f"<stdin>:{vlan_line} lan.office.vlan: 4097 is not a VLAN id (1-4094)",
    ]


def test_bundle_documents_without_a_usable_id_are_named_by_position() -> None:
    fleet = (sample_chain_path() / "fleet.yaml").read_text()
    store = (sample_chain_path() / "stores" / "nw-0001.yaml").read_text()
    bundle = f"{fleet}---\n{store}---\n{store}---\n" + store.replace("id: nw-0001", 'id: "nw 1"')
    with pytest.raises(InventoryError) as caught:
        load_fleet_bundle(bundle, name="chain.yaml")
    lines = [str(issue) for issue in caught.value.issues]
    text = bundle.splitlines()
    bad_id = text.index('id: "nw 1"') + 1
    first, third = [n for n, line in enumerate(text, 1) if line == "id: nw-0001"][:2]  # the two copies' ids
    assert f"chain.yaml:{bad_id} id: 'nw 1' is not a slug (lower-case letters, digits and '-', 2-32 chars)" in lines
    # The other document is named where it is in the bundle too: no stores/nw-0001.yaml exists.
    assert f"chain.yaml:{third} id: store id 'nw-0001' is already used by chain.yaml:{first}" in lines
    first_address = text.index("    address: 198.51.100.2/30") + 1
    assert any(line.endswith(f"is already used by chain.yaml:{first_address} wan[0].address") for line in lines)
    assert not any("stores/" in line for line in lines)


def test_empty_bundle_is_an_error() -> None:
    with pytest.raises(InventoryError, match="bundle is empty"):
        load_fleet_bundle("# nothing here\n---\n")


def test_the_reader_reads_the_sample_as_yaml_does_and_knows_every_line(sample: Fleet) -> None:
    for path in sorted(sample_chain_path().rglob("*.yaml")):
        text = path.read_text()
        document = source.parse_text(text, path.name)
        assert document.data == yaml.safe_load(text)
        lines = text.splitlines()
        for loc, line in document.lines.items():
            if loc and isinstance(loc[-1], str):
                assert f"{loc[-1]}:" in lines[line - 1], (path.name, loc, line)


def test_multiple_documents_in_a_store_file_are_refused(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    store = fleet_dir / "stores" / "sh-0002.yaml"
    store.write_text(store.read_text() + "---\nid: sh-0009\n")
    assert errors_of(fleet_dir) == ["stores/sh-0002.yaml:25 only one YAML document is allowed here"]




def test_a_desktop_policy_auto_stops_after_whole_hours(tmp_path: Path) -> None:
    # WorkSpaces takes the auto-stop timeout "in 60-minute intervals": the inventory says so with
    # file and line, before a stack is rendered.
    import shutil

    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    text = (fleet / "fleet.yaml").read_text()
    assert "auto_stop_minutes: 60" in text
    (fleet / "fleet.yaml").write_text(text.replace("auto_stop_minutes: 60", "auto_stop_minutes: 90"))
    with pytest.raises(InventoryError, match=r"fleet\.yaml:\d+ desktop_policies\[0\]\.auto_stop_minutes: 90: .*multiple of 60"):
        load_fleet(fleet)
