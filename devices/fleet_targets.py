"""The appliance inventory of real stores, built from the validated fleet.

Hubs and store edges are reached at their management addresses on port 22, verified against
the host-key fingerprints the inventory records, with credentials from the environment.
"""

from __future__ import annotations

from storestack.devices.targets import ApplianceInventory, ApplianceTarget, CredentialsRef
from storestack.inventory import Fleet
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


def fleet_secret_values(fleet: Fleet) -> set[str]:
    """The device secrets the fleet's configs are rendered with (from its secret references), to redact."""
    values: set[str] = set()
    for slot in fleet_secrets(fleet, reveal=True).values():
        if slot.value is not None:
            values.add(slot.value.get_secret_value())
    return values
