"""The fleet's one IKEv2/IPsec crypto policy, and how each far end spells it.

Every tunnel storestack builds (store to hub, hub to hub, hub and store to AWS, hub to OpenStack)
negotiates from this policy. Devices, the strongSwan companion files and the AWS `VpnConnection`
tunnel options are all derived from it, so the two ends of a tunnel cannot drift apart.
"""

from __future__ import annotations

from storestack.common.records import record
from storestack.network.errors import NetworkIntentError

# DH group numbers (IANA "Transform Type 4") and the names strongSwan uses for them.
_STRONGSWAN_DH = {14: "modp2048", 19: "ecp256", 20: "ecp384", 21: "ecp521"}

# What ESP in UDP adds around an inner packet besides the cipher's own IV, padding and ICV
# (`EspProposal.overhead_bytes`): every tunnel is NAT-T encapsulated (a store behind a carrier's
# CGNAT always is; strongSwan's libipsec data plane always is), so the fleet counts UDP always.
_OUTER_IPV4 = 20
_NAT_T_UDP = 8
_ESP_HEADER = 8  # SPI 4 + sequence number 4
_ESP_TRAILER = 2  # pad length 1 + next header 1
_HMAC_ICV = {"sha1": 12, "sha256": 16, "sha384": 24, "sha512": 32}
# IPv4 20 + TCP 20 bytes: a TCP segment of `tunnel_mtu - TCP_IPV4_HEADERS` fills the tunnel.
TCP_IPV4_HEADERS = 40
# Tunnel MTUs are rounded down to a multiple of 8 bytes, the unit of the IPv4 fragment offset
# (RFC 791): a packet the tunnel must fragment before encryption splits on a boundary every
# fragment can keep.
TUNNEL_MTU_ALIGN = 8


@record
class TunnelMtu:
    """What one tunnel carries without fragmenting after encryption, from the MTU of the
    underlay it rides on (`CryptoPolicy.tunnel_mtu`); both ends of a tunnel hold the same one."""

    underlay: int  # the transport's IP MTU (the smaller end's, for a store link)
    overhead: int  # the most ESP-in-UDP adds with the fleet's proposals
    mtu: int  # the tunnel interface's IP MTU: underlay - overhead, rounded down to 8 bytes
    tcp_mss: int  # what TCP SYNs are clamped to on the tunnel: mtu - 40


@record
class IkeProposal:
    """One IKEv2 SA proposal. `encryption` is AEAD (GCM) or CBC; with GCM, `prf` is the only hash."""

    encryption: str  # "aes256gcm16" | "aes256"
    prf: str  # "sha384" | "sha256"
    dh_group: int

    @property
    def aead(self) -> bool:
        return "gcm" in self.encryption


@record
class EspProposal:
    """One ESP (child SA) proposal; `pfs_group` is the DH group of the rekey (perfect forward secrecy)."""

    encryption: str  # "aes256gcm16" | "aes256"
    integrity: str | None  # None for AEAD ciphers
    pfs_group: int

    def overhead_bytes(self) -> int:
        """The most bytes ESP in tunnel mode, UDP-encapsulated (NAT-T), adds to an inner IPv4
        packet with this proposal: new outer IPv4 header 20, UDP 8 (RFC 3948), SPI and sequence
        number 8 (RFC 4303), the IV, the padding (at most the cipher's alignment less one) with
        the pad length and next header bytes 2, and the ICV. AES-GCM (RFC 4106): IV 8, 4-byte
        alignment, ICV 16 with `gcm16`. AES-CBC (RFC 3602): IV 16, 16-byte blocks, the HMAC
        truncated to half its length (RFC 4868: SHA-256 16, SHA-384 24, SHA-512 32)."""
        if "gcm" in self.encryption:
            iv, align, icv = 8, 4, int(self.encryption.rsplit("gcm", 1)[1] or 16)
        else:
            iv, align, icv = 16, 16, _HMAC_ICV[self.integrity or "sha256"]
        return _OUTER_IPV4 + _NAT_T_UDP + _ESP_HEADER + iv + (align - 1) + _ESP_TRAILER + icv


@record
class CryptoPolicy:
    """Proposals in order of preference, lifetimes and dead-peer detection for every tunnel."""

    ike: tuple[IkeProposal, ...]
    esp: tuple[EspProposal, ...]
    ike_lifetime_seconds: int = 28800
    esp_lifetime_seconds: int = 3600
    # Dead-peer detection: a tunnel that has heard nothing from its peer for `dpd_interval_seconds`
    # probes it, and an end whose `dpd_retries` probes, `dpd_interval_seconds` apart, go unanswered
    # declares the peer dead: about `dpd_timeout_seconds` after the peer fell silent (AWS's
    # DPDTimeoutSeconds). Each platform module spells this with its own commands and says where
    # the platform cannot mean exactly that (`ios_ike_dpd`, `vrp_ike_dpd`, `fortios_ike_dpd` filters; strongSwan's
    # `dpd_delay` with its retransmit timers in devices/frr.py).
    dpd_interval_seconds: int = 10
    dpd_retries: int = 3
    # The anti-replay window every end keeps on its inbound SAs, in packets. The sender numbers
    # ESP packets as it encrypts them, then queues them by class (a store's WAN queues, a hub's
    # uplink queues, each classifying by the DSCP copied onto the ESP header): voice and POS
    # overtake the bulk queued before them, and the receiver drops as a replay every packet that
    # arrives further behind the highest number it has seen than its window, i.e. what the
    # lower classes had queued when QoS matters most. strongSwan's default window is 32 packets
    # and IOS-XE's 64; Huawei's AR default is 1024 ("ipsec anti-replay window"), as is the IOS-XE
    # store's and hub's rendered one. Each platform module renders it or says why it cannot
    # (`devices lint` rule `replay-window`).
    replay_window_packets: int = 1024

    def esp_overhead_bytes(self) -> int:
        """The most any of the policy's ESP proposals adds, NAT-T encapsulated."""
        return max(p.overhead_bytes() for p in self.esp)

    def tunnel_mtu(self, underlay_mtu: int) -> TunnelMtu:
        """A tunnel's MTU and TCP MSS over an underlay of `underlay_mtu` bytes (module comments
        above say why each number)."""
        overhead = self.esp_overhead_bytes()
        mtu = (underlay_mtu - overhead) // TUNNEL_MTU_ALIGN * TUNNEL_MTU_ALIGN
        if mtu - TCP_IPV4_HEADERS < 536:
            raise NetworkIntentError(f"an underlay MTU of {underlay_mtu} leaves a tunnel MTU of {mtu}: too small for TCP")
        return TunnelMtu(underlay_mtu, overhead, mtu, mtu - TCP_IPV4_HEADERS)

    @property
    def dpd_timeout_seconds(self) -> int:
        """How long after the peer fell silent an end declares it dead: interval x retries."""
        return self.dpd_interval_seconds * self.dpd_retries

    @property
    def ike_rekey_seconds(self) -> int:
        """When an end that rekeys by time (strongSwan's `rekey_time`) renews the IKE SA: a tenth
        before the lifetime both ends (and AWS) agree on, so it never waits for the far end's
        SA to run out."""
        return self.ike_lifetime_seconds * 9 // 10

    @property
    def esp_rekey_seconds(self) -> int:
        """When such an end renews a child SA: a tenth before the ESP lifetime."""
        return self.esp_lifetime_seconds * 9 // 10

    def strongswan_ike(self) -> str:
        """swanctl `proposals`: e.g. aes256gcm16-prfsha384-ecp384."""
        return ",".join(
            f"{p.encryption}-prf{p.prf}-{_STRONGSWAN_DH[p.dh_group]}"
            if p.aead
            else f"{p.encryption}-{p.prf}-{_STRONGSWAN_DH[p.dh_group]}"
            for p in self.ike
        )

    def strongswan_esp(self) -> str:
        """swanctl `esp_proposals`: e.g. aes256gcm16-ecp384 (the DH group makes PFS mandatory)."""
        return ",".join(
            f"{p.encryption}-{_STRONGSWAN_DH[p.pfs_group]}"
            if p.integrity is None
            else f"{p.encryption}-{p.integrity}-{_STRONGSWAN_DH[p.pfs_group]}"
            for p in self.esp
        )


@record
class IkeRetransmits:
    """strongSwan's IKE retransmissions (strongswan.conf `charon.retransmit_*`, strongSwan docs
    "Retransmission"): the n-th retransmission waits `timeout` x `base`^(n-1) s, and a request
    still unanswered `tries` retransmissions later ends the IKE SA. A DPD request is one such
    request: a dead peer is declared `give_up_seconds` after the first unanswered probe. The
    defaults (4 s, x1.8, 5 tries) take 165 s."""

    timeout: float
    tries: int
    base: float

    @property
    def give_up_seconds(self) -> float:
        return sum(self.timeout * self.base**n for n in range(self.tries + 1))


# A dead peer ~24 s after the first unanswered probe: with `dpd_interval_seconds` of silence
# before it, about as long as the far end's DPD takes (AWS: `dpd_timeout_seconds`).
STRONGSWAN_RETRANSMITS = IkeRetransmits(timeout=2.0, tries=3, base=1.8)


# IKE: AES-256-GCM with PRF SHA-384 and ECP-384 (group 20) first; then AES-256-CBC with
# HMAC-SHA-256 (integrity and PRF) and group 20, the suite Huawei AR routers take: their IKE
# proposal documents CBC ciphers only (`encryption-algorithm aes-256`, `integrity-algorithm`,
# `prf hmac-sha2-256`, `dh group20`), so a VRP end offers that one and every other end accepts it.
# ESP: AES-256-GCM with PFS group 20 everywhere (VRP: `esp encryption-algorithm aes-256-gcm-128`).
# AWS Site-to-Site VPN accepts all of it (AES256-GCM-16 / AES256, SHA2-384 / SHA2-256, group 20).
FLEET_CRYPTO = CryptoPolicy(
    ike=(IkeProposal("aes256gcm16", "sha384", 20), IkeProposal("aes256", "sha256", 20)),
    esp=(EspProposal("aes256gcm16", None, 20),),
)

def fleet_crypto() -> CryptoPolicy:
    """The fleet policy as it stands when a config is rendered (the name looked up at call time,
    so a render reads the policy, not a copy a module took at import)."""
    return FLEET_CRYPTO


def in_range(setting: str, value: int, bounds: tuple[int, int]) -> int:
    """`value`, or NetworkIntentError (a usage error: the policy cannot be rendered there) naming
    the device setting whose range (`bounds`, inclusive) it leaves."""
    low, high = bounds
    if not low <= value <= high:
        raise NetworkIntentError(f"fleet crypto policy: {setting} {value}, the platform accepts {low}-{high}")
    return value


# AWS Site-to-Site VPN spells algorithms its own way (VpnConnection tunnelN_* options).
_AWS_ENCRYPTION = {"aes256gcm16": "AES256-GCM-16", "aes256": "AES256", "aes128gcm16": "AES128-GCM-16"}
_AWS_INTEGRITY = {"sha384": "SHA2-384", "sha256": "SHA2-256", "sha512": "SHA2-512"}


# The SA lifetimes an AWS Site-to-Site VPN tunnel accepts (AWS Site-to-Site VPN User Guide,
# "Tunnel options for your Site-to-Site VPN connection"; EC2 API VpnTunnelOptionsSpecification:
# Phase1LifetimeSeconds 900-28800, default 28800; Phase2LifetimeSeconds 900-3600, default 3600).
AWS_IKE_LIFETIME_SECONDS = (900, 28800)
AWS_ESP_LIFETIME_SECONDS = (900, 3600)


def aws_tunnel_options(policy: CryptoPolicy = FLEET_CRYPTO) -> dict[str, object]:
    """The per-tunnel VpnConnection options (without the `tunnelN_` prefix) for `policy`.

    With an AEAD phase 2 cipher AWS still wants an integrity algorithm listed; the PRF's hash is
    given, which the AEAD suite ignores. Raises ValueError for a lifetime AWS does not accept."""
    for name, value, (low, high) in (
        ("IKE (phase 1) lifetime", policy.ike_lifetime_seconds, AWS_IKE_LIFETIME_SECONDS),
        ("ESP (phase 2) lifetime", policy.esp_lifetime_seconds, AWS_ESP_LIFETIME_SECONDS),
    ):
        if not low <= value <= high:
            raise ValueError(f"{name} {value} s: an AWS Site-to-Site VPN tunnel accepts {low}-{high} s")
    return {
        "ike_versions": ["ikev2"],
        "phase1_encryption_algorithms": sorted({_AWS_ENCRYPTION[p.encryption] for p in policy.ike}),
        "phase1_integrity_algorithms": sorted({_AWS_INTEGRITY[p.prf] for p in policy.ike}),
        "phase1_dh_group_numbers": sorted({p.dh_group for p in policy.ike}),
        "phase1_lifetime_seconds": policy.ike_lifetime_seconds,
        "phase2_encryption_algorithms": sorted({_AWS_ENCRYPTION[p.encryption] for p in policy.esp}),
        "phase2_integrity_algorithms": sorted(
            {_AWS_INTEGRITY[p.integrity or policy.ike[0].prf] for p in policy.esp}
        ),
        "phase2_dh_group_numbers": sorted({p.pfs_group for p in policy.esp}),
        "phase2_lifetime_seconds": policy.esp_lifetime_seconds,
        "dpd_timeout_seconds": policy.dpd_timeout_seconds,
    }


def policy_from_aws_options(options: dict[str, object]) -> CryptoPolicy:
    """The policy an AWS VpnConnection tunnel's options (without the `tunnelN_` prefix, as
    `aws_tunnel_options` spells them) accept: every combination AWS would negotiate.

    Raises ValueError naming an algorithm this mapping does not know."""
    encryption = {aws: ours for ours, aws in _AWS_ENCRYPTION.items()}
    integrity = {aws: ours for ours, aws in _AWS_INTEGRITY.items()}

    def names(key: str, table: dict[str, str]) -> list[str]:
        values = options.get(key) or []
        assert isinstance(values, list)
        unknown = [str(v) for v in values if str(v) not in table]
        if unknown:
            raise ValueError(f"{key}: {', '.join(unknown)} not known (known: {', '.join(sorted(table))})")
        return [table[str(v)] for v in values]

    def groups(key: str) -> list[int]:
        values = options.get(key) or []
        assert isinstance(values, list)
        numbers = [int(float(str(v))) for v in values]
        unknown = [str(n) for n in numbers if n not in _STRONGSWAN_DH]
        if unknown:
            raise ValueError(f"{key}: DH group {', '.join(unknown)} not known")
        return numbers

    hashes = names("phase1_integrity_algorithms", integrity)
    ike = tuple(
        IkeProposal(enc, prf, group)
        for enc in names("phase1_encryption_algorithms", encryption)
        for prf in hashes
        for group in groups("phase1_dh_group_numbers")
    )
    phase2_hashes: list[str | None] = [*names("phase2_integrity_algorithms", integrity)] or [None]
    esp = tuple(
        EspProposal(enc, None if "gcm" in enc else hash_, group)
        for enc in names("phase2_encryption_algorithms", encryption)
        for hash_ in phase2_hashes
        for group in groups("phase2_dh_group_numbers")
    )
    # AWS's lists are sets with no documented preference: AEAD suites first, as the fleet's.
    return CryptoPolicy(
        ike=tuple(sorted(dict.fromkeys(ike), key=lambda p: not p.aead)),
        esp=tuple(sorted(dict.fromkeys(esp), key=lambda p: p.integrity is not None)),
        ike_lifetime_seconds=int(float(str(options.get("phase1_lifetime_seconds", 28800)))),
        esp_lifetime_seconds=int(float(str(options.get("phase2_lifetime_seconds", 3600)))),
    )
