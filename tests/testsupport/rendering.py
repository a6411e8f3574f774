"""Values and helpers the device rendering tests share."""

from __future__ import annotations

import os
from pathlib import Path

from storestack.common.platforms import Platform
from storestack.inventory import Fleet

FIXTURES = Path(__file__).resolve().parents[1] / "devices" / "fixtures"

# One sample-chain store per shape the templates must cover.
SHAPES: dict[str, str] = {
    "dual-wan": "nw-0002",  # fibre (static) + LTE, no guest Wi-Fi, no cloud affinity
    "lte-only": "nw-0007",  # two cellular links
    "mall-guest": "nw-0003",  # mall: fibre + DHCP broadband + 5G, guest Wi-Fi
    "aws": "nw-0001",  # AWS affinity: AWS VPN tunnels beside the hub overlay
}

# Values only these tests use; the redaction test proves none of them leaks.
TEST_SECRETS = {
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Adm1n.Secret_Value",
    "STORESTACK_SNMP_AUTH_KEY": "Snmp.Auth_Key_42",
    "STORESTACK_SNMP_PRIV_KEY": "Snmp.Priv_Key_43",
    "STORESTACK_TACACS_KEY": "Tacacs.Shared_Key",
    "STORESTACK_NTP_KEY": "Ntp.Hmac_Key_44",
}
# The fleet secret planned tunnel PSKs derive from (HMAC per tunnel id): it never appears itself.
TEST_IPSEC_PSK_SEED = ("STORESTACK_IPSEC_PSK", "Fleet.Ipsec_Psk_Seed")


def on_platform(fleet: Fleet, platform: Platform) -> Fleet:
    """The same fleet with every store appliance and hub on `platform` (for per-platform tests)."""
    stores = {
        store.id: store.model_copy(
            update={"appliances": [a.model_copy(update={"platform": platform}) for a in store.appliances]}
        )
        for store in fleet
    }
    hubs = {name: hub.model_copy(update={"platform": platform}) for name, hub in fleet.hubs.items()}
    return Fleet(fleet.spec, hubs, stores, fleet.root)


def update_golden() -> bool:
    """STORESTACK_UPDATE_GOLDEN=1 rewrites golden files instead of comparing against them."""
    return os.environ.get("STORESTACK_UPDATE_GOLDEN") == "1"
