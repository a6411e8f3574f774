"""storestack.network: the network intent, the one source of the store network's design.

Stacks, device templates, rollout, drift and the lab all read the network from here, so the two
ends of every tunnel are computed from the same data.

Public API:
- `NetworkIntent(fleet, outputs=None, core=None, reveal_secrets=False)`: `.store(id)` -> `StoreIntent`,
  `.hub(hostname)` -> `HubIntent`, `.services`;
- the types in `storestack.network.model` (`Transport`, `Tunnel`, `UnderlayRoute`, `BgpSession`,
  `Zone`, `Service`, `Flow`, `QosClass`, `ManagementAccess`);
- `derive_psk`, `tunnel_id`; `storestack.network.crypto.FLEET_CRYPTO` (the one crypto policy);
- `storestack.network.show.store_report` (what `storestack network show` prints).
"""
