"""Fortinet FortiOS (FortiGate edge firewalls): naming, session driver, hier_config options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hier_config.child import HConfigChild
from hier_config.platforms.fortinet_fortios.driver import HConfigDriverFortinetFortiOS

from storestack.devices.naming import short_ifname
from storestack.devices.platforms.base import CommitConfirm, PlatformDriver, PlatformProfile

if TYPE_CHECKING:
    from storestack.devices.views import AclRule, FlowView, Net


class HConfigDriverFortiOS(HConfigDriverFortinetFortiOS):
    """FortiOS blocks nest to any depth: every `config` block closes with `end`, every `edit` with
    `next`. The structure comes from indentation alone (the configdiff normaliser drops the `next`
    and `end` lines, which would otherwise parse as duplicate siblings of an empty `edit`), and the
    closing words are put back here when remediation lines are written."""

    def sectional_exit(self, config: HConfigChild) -> str | None:
        if config.text.startswith("config "):
            return "end"
        if config.text.startswith("edit "):
            return "next"
        return super().sectional_exit(config)


class FortinetPlatform(PlatformProfile):
    """FortiOS names ports `wan1`, `wan2`, then `port1` …, and segments are named VLAN
    interfaces (at most 15 characters) on the `internal` switch."""

    def wan_port(self, index: int, link_name: str) -> str:
        return f"wan{index + 1}" if index < 2 else f"port{index - 1}"

    def hub_dc_port(self) -> str:
        return "port1"  # wan1 holds the hub's public IKE address

    def segment_interface(self, vlan: int, kind: str) -> str:
        return short_ifname(kind, self.ifname_limit)


DRIVER = PlatformDriver(
    name="fortinet",
    netmiko_device_type="fortinet",
    show_running="show",
    # Every top-level `config` block is its own transaction, committed by its `end`.
    config_enter=None,
    config_exit="end",
    config_prompt=r"{host} \([^)]*\) # $",
    exec_prompt=r"{host} # $",
    # FortiOS pages long output unless the console's output mode is `standard`. Netmiko's session
    # preparation probes for VDOMs, version and output mode and reconfigures the console (four
    # round trips and a config change per login); instead, the pager's prompt is answered.
    login_prompt=r"(?P<host>\S+) # $",
    more_prompt=r"--More--\s*$",
    # Netmiko's `fortinet` driver restricts key exchange to finite-field Diffie-Hellman, SHA-1
    # included, for old FortiOS releases; FortiOS 7 offers curve25519 (and it costs a tenth of
    # the CPU). Only the SHA-1 exchanges are refused here.
    disabled_kex=(
        "diffie-hellman-group1-sha1",
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1",
    ),
    session_setup=(),
    any_prompt=r"{host}(?: \([^)]*\))? # ",
    atomic_blocks=True,
    abandon_command="abort",
    block_opens=("config ", "edit "),
    block_closes=("end", "next"),
    # `next` and `end` close blocks; the hier_config driver writes them back (HConfigDriverFortiOS).
    # The revert-mode settings are the push engine's own while a change is armed (CommitConfirm).
    ignore_lines=(
        r"^#",
        r"^\s*$",
        r"^\s*next$",
        r"^\s*end$",
        r"^\s*set cfg-save revert$",
        r"^\s*set cfg-revert-timeout \d+$",
    ),
    error_patterns=(r"Command fail", r"command parse error", r"^\s*(?:entry|value) not found"),
    # FortiOS writes every accepted `end` to flash itself.
    save_command=None,
    keep_entries=("config system interface",),
    hostname_line=r"^\s*set hostname\s+\"?([^\"\s]+)\"?\s*$",
    secret_patterns=(r"(\bset (?:psksecret|password|passwd|auth-pwd|priv-pwd|key)\s+)(?:ENC\s+)?\S+",),
)

# Confirms a change, and leaves an appliance that reverted by itself as it was before the push.
_LEAVE_REVERT_MODE_AND_SAVE = (
    "config system global",
    "unset cfg-save",
    "unset cfg-revert-timeout",
    "end",
    "execute cfg save",
)

# A firewall policy of one flow: action, protocol, destination port (None: any), and the
# destination networks' CIDRs (empty: "all").
PolicyGroup = tuple[str, str, int | None, tuple[str, ...]]


def policy_groups(rules: Sequence[AclRule]) -> list[PolicyGroup]:
    """One policy per set of a flow's rules with the same action, protocol, port and any-ness,
    in the order each set first appears (first match wins, as in the intent's ordered rules);
    a policy's destinations in rule order."""
    groups: dict[tuple[str, str, int | None, bool], list[str]] = {}
    for rule in rules:
        destinations = groups.setdefault((rule.action, rule.protocol, rule.port, rule.destination is None), [])
        if rule.destination is not None:
            destinations.append(rule.destination.cidr)
    return [(action, protocol, port, tuple(cidrs)) for (action, protocol, port, _), cidrs in groups.items()]


def flow_destinations(flows: Sequence[FlowView]) -> list[Net]:
    """Every network a flow's rule names as destination, once (by CIDR), in rule order: the
    firewall address objects the policies refer to."""
    seen: dict[str, Net] = {}
    for flow in flows:
        for rule in flow.rules:
            if rule.destination is not None:
                seen.setdefault(rule.destination.cidr, rule.destination)
    return list(seen.values())


def flow_services(flows: Sequence[FlowView]) -> list[tuple[str, int]]:
    """(protocol, port) of every custom service a flow's rule limits traffic to, once, grouped
    by port in the order ports first appear."""
    by_port: dict[int, dict[str, None]] = {}
    for flow in flows:
        for rule in flow.rules:
            if rule.port:
                by_port.setdefault(rule.port, {}).setdefault(rule.protocol)
    return [(protocol, port) for port, protocols in by_port.items() for protocol in protocols]


PLATFORM = FortinetPlatform(
    name="fortinet",
    comment="#",
    loopback="lo0",
    lan_trunk="internal",
    ifname_limit=15,
    driver=DRIVER,
    hier_driver=HConfigDriverFortiOS,
    emulated=True,
    # With `cfg-save revert`, committed changes run unsaved and the unit goes back to its saved
    # configuration once the session has been idle for cfg-revert-timeout seconds, unless
    # `execute cfg save` comes first. Confirming leaves revert mode, then saves.
    commit_confirm=CommitConfirm(
        minimum=10,
        maximum=4294967295,
        arm=("config system global", "set cfg-save revert", "set cfg-revert-timeout {timer}", "end"),
        confirm=_LEAVE_REVERT_MODE_AND_SAVE,
        settle=_LEAVE_REVERT_MODE_AND_SAVE,
    ),
    template_filters=(
        ("fortios_policy_groups", policy_groups),
        ("fortios_flow_destinations", flow_destinations),
        ("fortios_flow_services", flow_services),
    ),
)
