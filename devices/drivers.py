"""Platform drivers of the push engine: platform behaviour as data, in the style of hier_config.

Everything the push engine does differently per platform lives here: the Netmiko driver, the
command that shows the running config, which lines are noise to normalise away, what a rejected
line looks like, how to save, which health checks prove the appliance is well, and which
config lines carry secrets. The engine itself has no `if platform == …`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from hier_config import Platform as HierPlatform
from hier_config import get_hconfig_driver
from hier_config.child import HConfigChild
from hier_config.models import (
    IdempotentCommandsRule,
    MatchRule,
    NegationDefaultWithRule,
    OrderingRule,
    SectionalExitingRule,
)
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverBase, HConfigDriverRules
from hier_config.platforms.fortinet_fortios.driver import HConfigDriverFortinetFortiOS
from pydantic import BaseModel, ConfigDict

from storestack.devices.errors import PushConfigError
from storestack.devices.targets import Platform

HealthCheck = Literal["bgp_sessions", "interfaces_up"]


class PlatformDriver(BaseModel):
    """How to drive one platform. Plain data: adding a platform means adding one of these."""

    model_config = ConfigDict(frozen=True)

    name: Platform
    netmiko_device_type: str
    hier_platform: str = "CISCO_IOS"
    show_running: str = "show running-config"
    # Entering and leaving configuration mode, and the prompts that prove we did; `{host}` is
    # the appliance's prompt name. No config_enter: the platform configures from exec mode.
    config_enter: str | None = "configure terminal"
    config_exit: str = "end"
    config_prompt: str = r"{host}\([^)]*\)#\s*$"
    exec_prompt: str = r"{host}#\s*$"
    # Lines of the running config (and of intended configs) that are noise for the diff:
    # banners the show command prints and lines the platform always adds by itself.
    ignore_lines: tuple[str, ...] = ()
    # A line matching any of these in the output of a config line means the line was rejected.
    error_patterns: tuple[str, ...] = (r"^%",)
    save_command: str | None = "write memory"
    # Prompts the save command may ask before it saves, with the answer to send.
    save_confirmations: tuple[tuple[str, str], ...] = ()
    save_success: str = r"\[OK\]"
    # Top-level sections the platform cannot delete (e.g. a physical interface): when intended
    # drops one, its children are negated instead of the section itself.
    keep_sections: tuple[str, ...] = ()
    # Sections whose entries the intended config may leave out without deleting them (FortiOS
    # physical ports under `config system interface`): entries it does not name are left alone.
    keep_entries: tuple[str, ...] = ()
    health_checks: tuple[HealthCheck, ...] = ()
    # Config tokens that carry secrets: group 1 is kept, the rest of the match is redacted.
    secret_patterns: tuple[str, ...] = ()
    # A config line that renames the appliance, group 1 the new name: the prompt changes with it.
    hostname_line: str = r"^\s*hostname\s+(\S+)\s*$"

    # Logging in: Netmiko's own session preparation (prompt probes and all), or ours: the prompt
    # the appliance prints after login names it (`login_prompt`, group `host`, matched against
    # the last line; `login_prompt_consumed` when Netmiko's login handler has read it already),
    # and `session_setup` goes down with the first command.
    netmiko_session_preparation: bool = False
    login_prompt: str = r"(?P<host>[^\s#>()]+)#\s*$"
    login_prompt_consumed: bool = False
    session_setup: tuple[str, ...] = ("terminal length 0",)
    strip_ansi: bool = False
    # A pager's prompt at the end of output (answered with a space), and key exchanges refused.
    more_prompt: str | None = None
    disabled_kex: tuple[str, ...] = ()
    # Any prompt of the appliance, exec or configuration mode, at the start of a line; `{host}`
    # is the name, `any_host` what a name may look like before the first prompt named it.
    any_prompt: str = r"{host}(?:\([^)]*\))?#"
    any_host: str = r"[^\s<>\[\]#()]+"
    # Each top-level block is a transaction its closing line (config_exit) commits.
    atomic_blocks: bool = False
    # What abandons a block without committing it, where blocks are transactions, and the
    # words that open and close a level of nesting.
    abandon_command: str | None = None
    block_opens: tuple[str, ...] = ()
    block_closes: tuple[str, ...] = ()

    def prompt(self, kind: Literal["config", "exec"], host: str) -> str:
        template = self.config_prompt if kind == "config" else self.exec_prompt
        return template.replace("{host}", re.escape(host.strip()))

    @property
    def error_pattern(self) -> str:
        """One multiline regex for Netmiko's `error_pattern`."""
        return "|".join(f"(?m:{pattern})" for pattern in self.error_patterns)

    def is_ignored(self, line: str) -> bool:
        pattern = _any_of(self.ignore_lines)
        return pattern is not None and pattern.search(line) is not None


@cache
def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled regex for a set of patterns: every config line of every diff is tested."""
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns)) if patterns else None


# Secrets as they appear in IOS-like configs; FRR shares most of them.
_IOS_SECRETS = (
    r"(\b(?:password|secret)(?: \d)?\s+)\S+",
    r"(\bpre-shared-key(?: (?:local|remote))?(?: \d)?\s+)\S+",
    r"(\bkey-string(?: \d)?\s+)\S+",
    r"(\b(?:isakmp|tacacs-server|radius-server) key (?:\d )?)\S+",
    r"(^\s*key [067] )\S+",
    r"(\bauthentication-key \d+ md5\s+)\S+",
    r"(\bauth (?:md5|sha)\s+)\S+",
    r"(\bpriv (?:des|3des|aes(?: \d+)?)\s+)\S+",
    r"(\bsnmp-server community\s+)\S+",
)

FRR = PlatformDriver(
    name="frr",
    netmiko_device_type="cisco_ios",
    hier_platform="FRR",
    ignore_lines=(
        r"^Building configuration",
        r"^Current configuration",
        r"^frr version ",
        r"^frr defaults ",
        r"^service integrated-vtysh-config$",
        r"^(no )?ip(v6)? forwarding$",
        r"^\s*!",
        r"^\s*exit$",
        r"^\s*exit-vrf$",
        r"^\s*exit-address-family$",
        r"^end$",
        # An interface that is up shows no `no shutdown` line; intended configs often say it.
        r"^\s+no shutdown$",
    ),
    # vtysh marks most rejections with '%'; a command for a daemon that is not running prints
    # '… is not running' without one.
    error_patterns=(r"^\s*%", r"is not running"),
    save_command="write memory",
    save_success=r"\[OK\]",
    keep_sections=("interface ",),
    health_checks=("bgp_sessions", "interfaces_up"),
    secret_patterns=(*_IOS_SECRETS, r"(\bneighbor \S+ password\s+)\S+"),
)

CISCO_XE = PlatformDriver(
    name="cisco_xe",
    netmiko_device_type="cisco_xe",
    hier_platform="CISCO_IOS",
    ignore_lines=(
        r"^Building configuration",
        r"^Current configuration",
        r"^! (Last configuration change|NVRAM config last updated)",
        r"^\s*!",
        r"^version ",
        r"^end$",
        r"^\s+no shutdown$",
    ),
    error_patterns=(r"^\s*% ?(Invalid|Incomplete|Ambiguous|Unknown|Error|Bad)",),
    session_setup=("terminal length 0", "terminal width 511"),
    save_command="write memory",
    save_success=r"\[OK\]",
    keep_sections=("interface ",),
    secret_patterns=_IOS_SECRETS,
)

HUAWEI_VRP = PlatformDriver(
    name="huawei_vrp",
    netmiko_device_type="huawei",
    hier_platform="HUAWEI_VRP",
    show_running="display current-configuration",
    config_enter="system-view",
    config_exit="return",
    config_prompt=r"\[[~*]?{host}[^\]]*\]\s*$",
    exec_prompt=r"<{host}>\s*$",
    login_prompt=r"<(?P<host>[^>]+)>\s*$",
    # Netmiko's `huawei` login handler reads up to the first prompt (for its password-change
    # question); the host is then learnt from the first command's prompt.
    login_prompt_consumed=True,
    session_setup=("screen-length 0 temporary",),
    strip_ansi=True,
    any_prompt=r"<{host}>|\[[~*]?{host}[^\]\n]*\]",
    ignore_lines=(r"^\s*#", r"^!", r"^return$", r"^\s+undo shutdown$"),
    error_patterns=(r"^\s*Error:",),
    save_command="save",
    save_confirmations=((r"\[Y/N\]", "y"),),
    save_success=r"successfully|Save the configuration successfully",
    keep_sections=("interface ",),
    hostname_line=r"^\s*sysname\s+(\S+)\s*$",
    secret_patterns=(
        r"(\bcipher\s+)\S+",
        r"(\bpre-shared-key (?:cipher |simple )?)\S+",
        r"(\bpassword (?:cipher |simple |irreversible-cipher )?)\S+",
        r"(\bauthentication-mode \S+ (?:cipher )?)\S+",
        r"(\bprivacy-mode \S+ (?:cipher )?)\S+",
    ),
)

FORTINET = PlatformDriver(
    name="fortinet",
    netmiko_device_type="fortinet",
    hier_platform="FORTINET_FORTIOS",
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
    ignore_lines=(r"^#", r"^\s*$", r"^\s*next$", r"^\s*end$"),
    error_patterns=(r"Command fail", r"command parse error", r"^\s*(?:entry|value) not found"),
    # FortiOS writes every accepted `end` to flash itself.
    save_command=None,
    keep_entries=("config system interface",),
    hostname_line=r"^\s*set hostname\s+\"?([^\"\s]+)\"?\s*$",
    secret_patterns=(
        r"(\bset (?:psksecret|password|passwd|auth-pwd|priv-pwd|key)\s+)(?:ENC\s+)?\S+",
    ),
)

DRIVERS: dict[str, PlatformDriver] = {p.name: p for p in (FRR, CISCO_XE, HUAWEI_VRP, FORTINET)}


def driver_for(platform: str) -> PlatformDriver:
    try:
        return DRIVERS[platform]
    except KeyError:
        known = ", ".join(sorted(DRIVERS))
        raise PushConfigError(f"no push driver for platform {platform!r} (known: {known})") from None


def _neighbor_attribute(attribute: str) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(
        match_rules=(MatchRule(startswith="router bgp "), MatchRule(re_search=rf"^neighbor (\S+) ({attribute}) "))
    )


class HConfigDriverFRR(HConfigDriverCiscoIOS):
    """FRR's vtysh speaks IOS, with a few commands whose last value wins where IOS would stack.

    Idempotent here means: the new line replaces the old one on FRR, so the remediation must
    not negate the old line first. That matters: `no neighbor X remote-as A` would delete the
    neighbor with all its settings, where `neighbor X remote-as B` just changes it.
    """

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        # An FRR interface carries any number of addresses; a new one does not replace the old.
        kept = [
            rule
            for rule in rules.idempotent_commands
            if not (
                len(rule.match_rules) == 2
                and rule.match_rules[0].startswith == "interface "
                and rule.match_rules[1].startswith == "ip address "
            )
        ]
        added = [
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="hostname "),)),
            IdempotentCommandsRule(match_rules=(MatchRule(startswith="router bgp "), MatchRule(startswith="bgp router-id "))),
            _neighbor_attribute("remote-as"),
            _neighbor_attribute("description"),
            _neighbor_attribute("password"),
            _neighbor_attribute("update-source"),
            _neighbor_attribute("ebgp-multihop"),
            _neighbor_attribute("timers"),
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="router bgp "),
                    MatchRule(startswith="address-family "),
                    MatchRule(re_search=r"^neighbor (\S+) (route-map|prefix-list) \S+ (in|out)$"),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(MatchRule(re_search=r"^ip prefix-list (\S+) seq (\d+) "),)
            ),
            # A route-map entry holds one value per match/set kind.
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="route-map "),
                    MatchRule(re_search=r"^(match (?:ip address|ipv6 address|community|as-path)(?: prefix-list)?) "),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(
                    MatchRule(startswith="route-map "),
                    MatchRule(re_search=r"^(set (?:local-preference|metric|weight|as-path prepend|community|origin)) "),
                )
            ),
            IdempotentCommandsRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith="bandwidth ")),
            ),
        ]
        # vtysh rejects the value in these negations ("no description KPN" is an unknown command).
        negations = [
            NegationDefaultWithRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith="description ")),
                use="no description",
            ),
            NegationDefaultWithRule(
                match_rules=(MatchRule(startswith="route-map "), MatchRule(startswith="description ")),
                use="no description",
            ),
            NegationDefaultWithRule(
                match_rules=(MatchRule(startswith="route-map "), MatchRule(startswith="set as-path prepend ")),
                use="no set as-path prepend",
            ),
        ]
        # Deleting a neighbour (`no neighbor X remote-as`) deletes all its settings; negating
        # any of them afterwards fails ("Specify remote-as or peer-group commands first"). So it
        # goes last in its section, after the address families (weight 0) have been cleaned.
        ordering = [
            OrderingRule(
                match_rules=(MatchRule(startswith="router bgp "), MatchRule(re_search=r"^no neighbor \S+ remote-as ")),
                weight=100,
            )
        ]
        return rules.model_copy(
            update={
                "idempotent_commands": kept + added,
                "negate_with": [*rules.negate_with, *negations],
                "ordering": [*rules.ordering, *ordering],
            }
        )


class HConfigDriverCiscoXE(HConfigDriverCiscoIOS):
    """IOS-XE shows a class's `service-policy` indented under its `shape average`, though `shape`
    opens no mode: the remediation must not send an `exit` for it (that `exit` would leave the class,
    and the next one the policy-map, and configuration mode after that)."""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        no_mode = SectionalExitingRule(
            match_rules=(
                MatchRule(startswith="policy-map "),
                MatchRule(startswith="class "),
                MatchRule(startswith="shape "),
            ),
            exit_text="",
        )
        return rules.model_copy(update={"sectional_exiting": [no_mode, *rules.sectional_exiting]})


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


@cache
def hier_driver(platform: str) -> HConfigDriverBase:
    """The hier_config driver for a platform (one instance per platform: drivers are stateless)."""
    driver = driver_for(platform)
    if driver.hier_platform == "FRR":
        return HConfigDriverFRR()
    if driver.name == "cisco_xe":
        return HConfigDriverCiscoXE()
    if driver.name == "fortinet":
        return HConfigDriverFortiOS()
    return get_hconfig_driver(HierPlatform[driver.hier_platform])
