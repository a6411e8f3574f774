"""The appliance inventory of real stores, built from the validated fleet.

Hubs and store edges are reached at their management addresses on port 22, verified against
the host-key fingerprints the inventory records, with credentials from the environment.
"""

from __future__ import annotations

from collections.abc import Iterable

from storestack.devices.targets import (
    ApplianceInventory,
    AppliancesFileError,
    ApplianceTarget,
    CredentialsRef,
)
from storestack.inventory import Fleet, InventoryError
from storestack.network.secrets import fleet_secrets


def targets_from_fleet(fleet: Fleet, *, credentials: CredentialsRef | None = None) -> ApplianceInventory:
    credentials = credentials or CredentialsRef()
    appliances = [
        ApplianceTarget(
            name=hub.hostname,
            role="hub",
            store_id=None,
            platform=hub.platform,
            host=str(hub.management_address),
            host_key_fingerprint=hub.ssh_host_key,
            credentials=credentials,
        )
        for hub in fleet.hubs.values()
    ]
    for store in fleet:
        appliances.extend(
            ApplianceTarget(
                name=appliance.hostname,
                role="edge",
                store_id=store.id,
                platform=appliance.platform,
                host=str(appliance.management_address),
                host_key_fingerprint=appliance.ssh_host_key,
                credentials=credentials,
            )
            for appliance in store.appliances
        )
    return ApplianceInventory(source="fleet", appliances=appliances)


def refuse_contradictions(fleet: Fleet, targets: Iterable[ApplianceTarget]) -> None:
    """Refuse the entries of an appliance inventory file (`--targets`) that say otherwise than the
    fleet inventory of an appliance it has (its platform: another vendor's driver; its store or
    role): one AppliancesFileError (a usage error) with each at its file, line and field. Called
    with the appliances a command reaches, before any is reached."""
    expected = targets_from_fleet(fleet).by_name()
    issues = [
        issue
        for target in targets
        if (theirs := expected.get(target.name)) is not None
        for issue in target.contradictions(theirs)
    ]
    if issues:
        raise AppliancesFileError.of(InventoryError(issues))


def fleet_secret_values(fleet: Fleet) -> set[str]:
    """The device secrets the fleet's configs are rendered with (from its secret references), to redact."""
    values: set[str] = set()
    for slot in fleet_secrets(fleet, reveal=True).values():
        if slot.value is not None:
            values.add(slot.value.get_secret_value())
    return values
