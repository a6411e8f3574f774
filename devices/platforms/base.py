"""What a platform module provides: the types of the platform registry.

A platform is one object (`PlatformProfile`) holding everything the rest of storestack needs
to know about it, in the style of hier_config's `platforms/<os>/driver.py`:

- interface naming (how abstract links and segments become the platform's interface names),
- the push engine's session driver (`PlatformDriver`: Netmiko device type, prompts, noise
  lines, error patterns, save, secret patterns),
- the hier_config driver that computes remediation and rollback,
- the companion files rendered next to the config (FRR hosts: nftables, dnsmasq),
- whether the lab runs it in the vendor emulator,
- the template filters that spell its hot, repetitive parts (ACL rules) in typed code,
- how its store steers applications by SLA class, and which probe it answers as a hub,
- and the mechanism that confirms or reverts a commit (`CommitConfirm`; None where the
  platform has none the engine uses).

Outside `storestack.devices.platforms`, code asks the profile instead of comparing a platform's
name to a literal; the few exceptions are listed in DEVELOPERS.md ("How to add a platform") and
held there by a test (tests/devices/test_platform_registry.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from hier_config.platforms.driver_base import HConfigDriverBase
from pydantic import BaseModel, ConfigDict

from storestack.common.platforms import Platform
from storestack.common.snmp import SnmpAuth, SnmpPriv, snmp_pair_problem
from storestack.devices.errors import RenderError
from storestack.devices.naming import hub_interface_name, short_ifname
from storestack.devices.steering import IosProbeKind

HealthCheck = Literal["bgp_sessions", "interfaces_up", "bfd_registrations"]
# How an appliance takes configuration lines where its platform has more than one way
# (`PlatformDriver.mode_probe`): two-phase, into a candidate its commit makes live (VRP8), or
# immediate, each line live as it is typed (VRP5).
ValidationMode = Literal["two-phase", "immediate"]

# How a device steers applications by SLA class itself (devices/steering.py holds each one's
# timers): IOS-XE IP SLA operations and tracks (numbered 10 x tunnel + class) behind policy
# routes, with return-path signal routes; VRP NQA tests tracked by the redirects (interface PBR:
# `redirect ip-nexthop ... track-nqa`) in each segment's inbound traffic policy; FortiOS SD-WAN
# health checks and rules.
SteeringMechanism = Literal["ip-sla-tracks", "nqa-policy-routes", "sdwan-health-checks"]
# The store ACLs the view builder numbers (`PlatformProfile.acl_numbers`): CELLULAR-ALLOWED, the
# AWS tunnels' inbound filters, the QoS marks' classifiers, the LAN traffic policies' classifiers.
AclRole = Literal["cellular", "aws", "qos-mark", "lan-policy"]
# The QoS marks' classifiers are numbered in blocks, one per segment kind (the view builder's
# `_SEGMENT_ORDER`), of this many numbers each; the other roles run up from their first.
ACL_BLOCK = 10


class SendStage(BaseModel):
    """One step of a platform's send order: a top-level section (its opening line), or only the
    entries of it whose lines (in the config they end up in; for a deletion, the one they leave)
    match `entries`. An entry goes to the stage whose `entries` pattern it matches, else to the
    section's stage without a pattern; the section's own settings go to that one too."""

    model_config = ConfigDict(frozen=True)

    section: str
    entries: str | None = None
    # The stage of the entries of `section` emptied of what the push made
    # (`PlatformDriver.emptied_entries`): sent after every deletion, once nothing the push removes
    # names them any more, each entry's settings unset last-set first (a setting offered only
    # while another holds, FortiOS `mtu` under `mtu-override`, before that one).
    emptied: bool = False


class EmptiedEntry(BaseModel):
    """An entry of a kept section (`PlatformDriver.keep_entries`, one the device never deletes:
    a FortiOS port) that the push configured and the intended config no longer names: emptied
    rather than kept as it is. `entry` matches its entry line, `made` one of its setting lines
    where the push configured it (a WAN port's description naming its link); every setting but
    those matching `kept` is unset. An entry `made` matches none of the lines of (a port the
    unit was shipped with, or set up by hand) is kept."""

    model_config = ConfigDict(frozen=True)

    section: str
    entry: str
    made: str
    kept: str


class NamedObjects(BaseModel):
    """Objects of a platform that other lines name (IOS-XE tracks): a top-level line matching
    `defined_by` defines one, group 1 its name; every match of a pattern of `named_by` in any
    other line (at any depth, a deletion read without its negation) names one, group 1 its name.
    configdiff's `send_ordered` sends a line that names an object after the line that defines it,
    and the deletion of that line before the object's own.

    A top-level line matching a pattern of `parts` (group 1 the object's name) belongs to the
    object: it names it, and the device removes it with the object (IOS-XE's `no ip sla N` takes
    the operation's reaction configuration and schedule). Where the object is deleted, its parts'
    own deletions are not sent (the device would refuse them: they are gone); where it is deleted
    and defined again, every part it is meant to have is sent again after the new definition.

    `replaced_whole`: a definition block whose lines change is deleted and defined again whole,
    never changed in place (IOS-XE refuses to change a scheduled IP SLA operation)."""

    model_config = ConfigDict(frozen=True)

    defined_by: str
    named_by: tuple[str, ...]
    parts: tuple[str, ...] = ()
    replaced_whole: bool = False


class StoppedWhileChanged(BaseModel):
    """Blocks a device refuses to change while they run (a VRP NQA test: its ToS, frequency and
    other parameters "cannot be changed" while the test instance runs): a top-level block whose
    header matches `block` and which both sides hold but the remediation changes is stopped first
    (`stop`, its first line) and started again last (the line of the intended block that matches
    `start`, sent again after the changes, unless they send or delete it themselves)."""

    model_config = ConfigDict(frozen=True)

    block: str
    stop: str
    start: str


class WipedBy(BaseModel):
    """A line of a block whose change makes the device drop other lines of the block (IOS-XE:
    `vrf forwarding V` entered or removed on an interface removes its IP addresses). Where a
    remediation adds or deletes a line of a block both sides hold that matches `trigger` (read
    without its negation), every line of the intended block matching `wiped` is sent again
    after the block's changes, the unchanged ones too, which the delta lacks."""

    model_config = ConfigDict(frozen=True)

    trigger: str
    wiped: str


class LiveLinkAddresses(BaseModel):
    """Addresses held by interfaces the device makes for a live session from attributes of its
    running config, which it applies only when the session comes up (IOS-XE: the virtual-access
    of a FlexVPN store link, configured from its AAA attribute list's `interface-config`
    attributes when the link dials in). A push that drops or changes such an address (a top-level
    block matching `block`, a line of it matching `address`, groups `address` and `mask`) leaves
    the live interface holding it; where the push gives another interface an address in its
    subnet, that interface's own line matching `remote` (group `remote`: the link's outside
    address, where the link is known by it) names the session, which `freed_by` (`{remote}`) ends
    first, once the push no longer lets it come back (devices/configdiff/freed_addresses.py)."""

    model_config = ConfigDict(frozen=True)

    block: str
    address: str
    remote: str
    freed_by: str


class ExclusiveAddresses(BaseModel):
    """Interface addresses the device lets no two interfaces hold in one subnet at once (VRP:
    "the system prompts an IP address conflict. The configuration fails"; IOS-XE: "a subnet
    cannot appear on more than one active interface"). Where a push gives one interface (a
    top-level block matching `block`) an address (a line of it matching `address`, groups
    `address` and `mask`) in a subnet another interface holds and gives up later in the push
    (by deleting it, by another address replacing it, or with the interface), that address is
    deleted first, in a block of its own closed by `exit`
    (devices/configdiff/freed_addresses.py `addresses_freed_first`). Where the interfaces are
    entries of one top-level block (`section`: FortiOS `config system interface`), the block of
    its own is an entry of that section where it is sent; `freed_as` is the line that gives an
    address up where that is not the address line negated (FortiOS `unset ip`), and `removed`
    the line that removes an interface where that is not its line negated (`{name}`: the
    interface's line without the word before its name, FortiOS `delete {name}`)."""

    model_config = ConfigDict(frozen=True)

    block: str
    address: str
    exit: str
    section: str | None = None
    freed_as: str | None = None
    removed: str | None = None
    # Addresses live sessions hold outside the running config's interfaces (`LiveLinkAddresses`).
    live_links: LiveLinkAddresses | None = None


class UniqueNames(BaseModel):
    """A table whose entries, held by id (`edit N`), each carry a name no other entry of it may
    hold (FortiOS firewall policies: "Every policy name must be unique for the current VDOM
    regardless of policy type", FortiOS 6.0 Handbook, "Policy names"). Where a push gives an
    entry (a line of top-level block `section` matching `entry`) a name (its line matching
    `name`, group `name`) another entry holds until later in the push (deleted, or renamed), that
    other entry gives the name up first, in a block of its own at the head of the push (each
    entry closed by `exit`, the block by `section_exit`): `freed_as` with `{entry}` (its id) is
    the name line it holds meanwhile, a name no intended entry takes; it keeps every other setting, so what it permits stays permitted until its deletion
    (devices/configdiff/freed_names.py `names_freed_first`)."""

    model_config = ConfigDict(frozen=True)

    section: str
    entry: str
    name: str
    freed_as: str
    exit: str
    section_exit: str


class RemovedWhole(BaseModel):
    """An entry a block holds as several lines, which the device removes whole, with every other
    line that names it in the block and its sub-blocks, when the line that made it is deleted
    (IOS-XE `router bgp`: `no neighbor X remote-as N` removes neighbour X from the neighbour
    table, and `no neighbor G peer-group` a peer group; a later `no neighbor X ...` is refused,
    "% Specify remote-as or peer-group commands first"). Where a push deletes such a line (in a
    block whose header matches `section`; `made_by` matches it without its negation, its group
    `name` the entry's name) and the intended block makes no entry of that name, that deletion
    is the entry's only line sent: every other deletion of a line `names` (`{name}`: the name,
    escaped) matches in the block is left out (devices/configdiff/removed_whole.py). An entry
    removed too whose line `member_of` matches (group `name`, group `group`) names a removed
    entry as its group goes with that group: none of its lines is sent, not even its own making
    line, which the device would refuse once the group took it. Where the device so removes an
    entry the intended block still makes (made again by another line, a BGP neighbour's
    `remote-as` changed; or a member staying while its group goes), the removing deletion goes
    first and every intended line naming the entry is sent again after it, in the block and its
    sub-blocks (`remade_sent_whole`)."""

    model_config = ConfigDict(frozen=True)

    section: str
    made_by: tuple[str, ...]
    names: str
    member_of: str | None = None


class DeletedWith(BaseModel):
    """Table entries the device makes and deletes itself with the entry of the same name of
    another table (FortiOS: "For a route-based tunnel, the FortiGate also uses the name for the
    virtual IPsec interface that it creates automatically", Administration Guide, "Phase 1
    configuration"; that interface goes with its phase 1). Where a push deletes an entry of
    `owner` (a top-level block's header), the entry of `section` under its name is held gone with
    it: the push sends no deletion of its own for it, and the way back configures it whole again
    (devices/configdiff/deleted_with.py `gone_with_owner`)."""

    model_config = ConfigDict(frozen=True)

    section: str
    owner: str


class RecreatedEntries(BaseModel):
    """Table entries whose one setting the device takes only when the entry is configured, never
    changed afterwards (FortiOS: "The IPsec phase 1 interface type cannot be changed after it is
    configured ... a new interface must be configured", Administration Guide 7.4, "Phase 1
    configuration"). Where the lines of an entry of `section` (a top-level block's header)
    matching `setting` differ between the config the device holds and the intended one (a line
    absent on one side: the default), the entry is deleted and configured anew: the remediation
    first goes to the held config without it, and without what names it (a name left out of a
    setting that lists it; an entry whose setting named nothing else, and in turn whatever names
    that entry), then to the intended config (devices/configdiff/recreated.py `recreated`)."""

    model_config = ConfigDict(frozen=True)

    section: str
    setting: str


class NumberedEntries(BaseModel):
    """Blocks whose entries the device evaluates first match first and holds by a number each
    entry states, applied line by line as the push sends them (IOS ACLs: `10 permit ...`, deleted
    by `no 10 ...`; VRP ACLs: `rule 10 permit ...`, deleted by `undo rule 10`). `section`: a
    pattern of the block's header; `entry`: a pattern of an entry (read without its negation),
    group 1 its number; `deleted_as`: where the device deletes an entry by its number alone, that
    form (`{number}`), negated (VRP documents `undo rule rule-id`, never the whole rule after
    the number). An entry that moves to another number is deleted and added again, deletions from
    the highest number down before the additions from the lowest up, so that the block is at
    every moment the start of what the device held or of what is intended and never passes what
    both deny (devices/configdiff/numbered_entries.py `renumbered_from_the_ends`)."""

    model_config = ConfigDict(frozen=True)

    section: str
    entry: str = r"^(\d+) "
    deleted_as: str | None = None
    # Where the device passes what no entry matches (a VRP traffic-filter), the block's own last
    # entry denies everything (`rule N deny ip`), and the start of a block passes what that entry
    # denied: a pattern of such a closing entry. Where both the block the device holds and the
    # intended one close with one, at different numbers, the old one stays until every other
    # deletion and every addition below it is sent, and is deleted just before the new one is
    # added (sent before that deletion, it would repeat a rule the ACL holds).
    closing: str | None = None
    # Where the device renumbers a block's entries in place, keeping them and their order (IOS
    # `ip access-list resequence NAME START STEP`), the command, `{name}` the header's last word,
    # `{start}` and `{step}` the numbers; `highest`, the highest entry number the device takes.
    # A block held and intended whose change keeps the entries both hold in their order and
    # whose intended numbers run 10, 20, ... is changed without renumbering an entry: the new
    # entries go in at free numbers between the held ones they come between (the block numbered
    # apart first where a gap is too narrow), from the lowest up, the entries that go are
    # deleted from the highest down, then the command numbers the block as intended. Every
    # moment holds the kept entries and some of the others of either side, each side's first
    # ones: it passes what both sides pass (the closing `permit ip any any` of a hub's DC port,
    # the push's own SSH) and nothing both deny, where deleting a renumbered block from the
    # bottom left it without its closing permit for as long as the deletions ran
    # (devices/configdiff/resequence.py `resequenced_block`).
    resequence: str | None = None
    highest: int = 2147483647


class PolicyRefresh(BaseModel):
    """How a BGP speaker that applies a changed route-map, prefix list or community list only to
    the routes it receives or sends from then on (IOS-XE, FortiOS) is made to apply it to those it
    holds already: `commands`, exec commands run once the change is applied for each session
    (`{neighbor}`) whose policy changed: a soft refresh in and out, never a hard reset.

    Read from each line's path (the texts of the lines it sits under, then its own, joined by
    " / "): `objects`, patterns whose group `name` is the policy object the line belongs to (a
    route-map entry, a prefix list's entry); `sessions`, a pattern whose group `neighbor` is a
    BGP session the config holds; `bindings`, patterns whose group `neighbor` (a session or a
    peer group) uses group `policy`; `members`, a pattern whose group `neighbor` is a member of
    peer group `group`. A session's policy changed where its bindings changed, or an object it
    is bound to changed or names (any word of its lines) an object that changed; only sessions
    both configs hold are refreshed (a new session starts with the new policy).

    `applied_after_s`: a speaker that applies a changed policy to its routes itself, but only once
    a timer that every change restarts runs out (FRR's `bgp route-map delay-timer`), runs no
    `commands`; the push waits this long after the change, and after a rollback, wherever the
    policy of a session both configs hold changed (or a new session is bound to an object the
    appliance held that changed), before its checks and its confirm read the effect: a change
    that cuts the push's own path must do so while the appliance's timer can still revert it. A
    new session bound to objects the change adds starts with them (the platform's send order
    defines them first), and a deleted one takes its routes with it: no wait.

    `whole`: a speaker that holds every change to its routing policy from BGP until told (VRP
    with `route-policy-change notify-delay`, until the delay runs out or `refresh bgp all`):
    `commands` name no session and are run once wherever any policy object or binding changed,
    a new session's included (its objects are held back like any other change)."""

    model_config = ConfigDict(frozen=True)

    commands: tuple[str, ...] = ()
    applied_after_s: float = 0.0
    whole: bool = False
    objects: tuple[str, ...]
    sessions: str
    bindings: tuple[str, ...]
    members: str | None = None


class SwappedFilters(BaseModel):
    """Filters bound to interfaces whose change the device applies line by line and which no
    order of their entries can make safely (`NumberedEntries`: a change that both deletes and
    adds entries leaves, between the two, a block of only the entries both sides hold, which
    passes what both the old and the new one deny, as a deny-list closing with `permit ip` does,
    or drops what both permit). Such a filter is built whole under its other name, each binding
    switched to it, then the old one deleted (make before break; `devices/configdiff/slotted_filters.py`
    `slotted_filters`, `rebound_in_place`, which also keeps any other change of a binding
    from unbinding first or deleting a filter while it is bound). The two names alternate: the intended one and it with `suffix`; a
    filter held under either whose entries are the intended ones is in sync (drift compares by
    content). `definition`: a pattern of the filter's header, groups name and number;
    `binding`: a pattern of a line that binds it (under an interface), group 1 its name, the
    rest of the line kept when the name is switched (re-sent without deleting the old binding
    first: never a moment without a filter); `deleted_as`: the old filter's deletion, negated
    (`{name}`); `numbers`: where the other name takes a number, the range it takes it from, the
    highest neither side uses; `longest_name`: the device's limit on a name."""

    model_config = ConfigDict(frozen=True)

    definition: str
    binding: str
    suffix: str
    deleted_as: str
    numbers: tuple[int, int]
    longest_name: int
    entry: str = r"^rule (\d+) "


class HeldClassifiers(BaseModel):
    """Classifier ACLs (ACLs of permit rules a traffic classifier matches by number) whose change
    the device applies rule by rule and which no order of their rules makes safely: a change that
    both deletes and adds rules (a rule put in above others moves every later one to a new
    number) leaves, between the two, an ACL of only the rules both sides hold, and a packet that
    both the old and the new ACL classify falls to the policy's next classifier (a voice packet
    marked as business) for those lines. The classifier is held by a twin of the intended ACL,
    under a free number, for as long as the ACL is edited: the twin defined, the classifier
    matching it too (an `or` classifier takes a packet any one of its rules matches), the ACL
    edited, the twin's rule taken out of the classifier, the twin deleted
    (`devices/configdiff/held_classifiers.py` `classifiers_held`). The intended config never
    names the twin. `definition`: a pattern of the ACL's header, groups name and number;
    `classifier`: a pattern of the header of a classifier whose rules are ORed; `reference`: a
    pattern of its line matching an ACL, `{number}` the ACL's number; `twin` the twin's header
    and `deleted_as` its deletion, negated (`{number}`); `numbers`: the range the twin takes the
    highest number neither side nor the lines sent use from; `exit`: the line that leaves a
    block."""

    model_config = ConfigDict(frozen=True)

    definition: str
    classifier: str
    reference: str
    twin: str
    deleted_as: str
    numbers: tuple[int, int]
    exit: str
    entry: str = r"^rule (\d+) "


class DeletedForm(BaseModel):
    """A line the device deletes only in a form of its own, never as the line negated whole
    (VRP: a route-policy node by its number alone, `undo route-policy NAME node N`; an
    interface's filter by its direction alone, `undo traffic-filter inbound`). `line`: a pattern
    of the line (read without its negation, at any depth); `deleted_as`: its deletion, negated,
    with the match's groups (`\\1`). Applied to the lines as sent, once every ordering rule has
    read the deletions whole (devices/configdiff/send_order.py `send_ordered`)."""

    model_config = ConfigDict(frozen=True)

    line: str
    deleted_as: str


class RefusedChange(BaseModel):
    """A line the push never sends, whatever the diff asks: the appliance is refused at the diff
    (a dry run's plan, a push, a restore), before any line, with why and what to do instead.
    `line`: a pattern of a remediation line as sent (stripped); `why`: what the line does and why
    no push can send it; `remedy`: what the operator does instead; `causes`: by appliance role
    ("hub", "edge"), the inventory field whose change leads to the line (the error's `field`)
    and that change as the error names it; `held`: where set, the line is refused only on an
    appliance whose running config holds a line it matches (stripped), the setting the line
    would change (FortiOS `set as N`: a unit without BGP takes its first AS)."""

    model_config = ConfigDict(frozen=True)

    line: str
    why: str
    remedy: str
    causes: Mapping[str, tuple[str | None, str]]
    held: str | None = None

    def first_in(self, lines: Sequence[str], running: Sequence[str] = ()) -> str | None:
        """The first of `lines` this refuses, stripped, on an appliance running `running`; None
        when there is none."""
        if self.held is not None and not any(re.fullmatch(self.held, line.strip()) for line in running):
            return None
        return next((line.strip() for line in lines if re.fullmatch(self.line, line.strip())), None)


# What an appliance's own BGP AS comes from, by role, as a `RefusedChange` of it names it.
OWN_AS_CAUSES: Mapping[str, tuple[str | None, str]] = {
    "hub": ("asn.hq", "its own BGP AS changed, fleet.yaml `asn.hq`"),
    "edge": ("asn", "its own BGP AS changed, the store's `asn` (its stores/<id>.yaml, else allocations.yaml)"),
}


class PrefixLists(BaseModel):
    """Route filters held as top-level lines, one entry a line, numbered within the list (VRP
    `ip ip-prefix NAME index N permit ...`), applied line by line, where a list whose every entry
    is deleted stops existing and a route-policy naming a list that does not exist matches every
    route. hier_config deletes every changed entry before adding any, so a list whose entries all
    change (a cloud site's ranges, a store's segments readdressed) was for a moment no list, and
    each route-policy naming it let every route through. Remediation sends each list's changes
    so that it is never empty while intended: the entries at new numbers first, then each entry
    changed in place deleted and added again (where it is the list's last entry, the list held
    meanwhile by `placeholder` at a spare number after it, an entry that permits nothing), then
    the entries no longer intended from the highest number down; a list no longer intended at all
    is deleted last, once nothing sent names it (`devices/configdiff/prefix_lists.py` `prefix_lists_kept`).
    `entry`: a pattern of an entry, groups name and number; `deleted_as`: an entry's deletion by
    its number alone, negated (`{name}`, `{number}`); `placeholder`: an entry that denies every
    route (`{name}`, `{number}`)."""

    model_config = ConfigDict(frozen=True)

    entry: str
    deleted_as: str
    placeholder: str
    # The device takes no entry whose match (what follows the number) another entry of the list
    # holds at another number (FRR, silently): each held entry that changes or goes and whose
    # match the intended list holds elsewhere is deleted first, from the highest number down
    # (the list held meanwhile by `placeholder` where that would empty it).
    unique_matches: bool = False


class UnshownListing(BaseModel):
    """Where the device lists what its running config never shows (IOS-XE `show snmp user`): the
    command, read in the same exchange as the running config; `listed`, a multiline regex over its
    output, whose groups make the key of one listed item (joined by spaces); `key`, a regex over
    an unshown intended line, whose groups make its key, each group read through `shown` (the
    intended keyword -> the form the listing prints it in). An unshown line whose key the device
    does not list is not held: an item listed with other settings than the line's (an SNMPv3 user
    with another protocol) is sent again."""

    model_config = ConfigDict(frozen=True)

    command: str
    listed: str
    key: str
    shown: tuple[tuple[str, str], ...] = ()

    def keys(self, output: str) -> frozenset[str]:
        pattern = re.compile(self.listed, re.MULTILINE)
        return frozenset(" ".join(found.groups()) for found in pattern.finditer(output))

    def key_of(self, line: str) -> str | None:
        found = re.match(self.key, line)
        if found is None:
            return None
        shown = dict(self.shown)
        return " ".join(shown.get(group, group) for group in found.groups())


class PlatformDriver(BaseModel):
    """How the push engine drives one platform's CLI. Plain data, one per platform module."""

    model_config = ConfigDict(frozen=True)

    name: Platform
    netmiko_device_type: str
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
    # A line (regex) that closes one block of the running config and opens the next, after which
    # a block whose first line is indented by one space holds top-level lines, each printed one
    # space in (VRP5's `#`: ` sysname`, ` snmp-agent ...`); they are read one space out.
    indented_block_separator: str | None = None
    # Lines some releases print in another form for the same setting: (a regex matching the
    # whole line, the form the intended config writes). Both sides are read through it.
    equivalent_lines: tuple[tuple[str, str], ...] = ()
    # A line matching any of these in the output of a config line means the line was rejected.
    error_patterns: tuple[str, ...] = (r"^%",)
    save_command: str | None = "write memory"
    # Prompts the save command may ask before it saves, with the answer to send.
    save_confirmations: tuple[tuple[str, str], ...] = ()
    save_success: str = r"\[OK\]"
    # Top-level sections the platform cannot delete (a physical port), each a regex matching the
    # whole section line: when intended drops one, its children are negated instead of the
    # section itself. A section none matches (a logical interface) is deleted whole.
    keep_sections: tuple[str, ...] = ()
    # Sections whose entries the intended config may leave out without deleting them (FortiOS
    # physical ports under `config system interface`): entries it does not name are left alone.
    keep_entries: tuple[str, ...] = ()
    # Entries of those sections that are storestack's all the same (a pattern of the entry line):
    # deleted when the intended config no longer names them.
    owned_entries: str | None = None
    # And those holding a setting line (a pattern of it) that says the push made them (FortiOS: a
    # segment's VLAN interface, `<kind> segment vlan N`): deleted the same way.
    owned_settings: str | None = None
    # Entries of those sections the push configured and then no longer names (FortiOS: a WAN
    # port whose link the inventory removed): emptied instead of kept (`EmptiedEntry`).
    emptied_entries: tuple[EmptiedEntry, ...] = ()
    # Entries the device is shipped with that the intended config amends without owning them
    # (a pattern of the entry line) and, for each, the settings the device keeps as it shows
    # them (a pattern of the setting line): amended only where the device still has the entry,
    # never created again once someone removed it, and those settings never negated (FortiOS:
    # the factory `admin` account, whose password is the operator's).
    factory_entries: tuple[tuple[str, str], ...] = ()
    # Objects the device creates and shows by itself that the intended config never names (VRP:
    # an AR's default RADIUS template, PKI realm, AAA schemes): each the path of one block, a
    # regex per level matching the whole line read without its indentation (a top-level line;
    # a line of a top-level block). Where the intended config has no line of that path, the
    # running config's block is left out of the diff with everything under it: never undone,
    # never reported as drift. Where the intended config names it, it is compared as any block.
    factory_objects: tuple[tuple[str, ...], ...] = ()
    health_checks: tuple[HealthCheck, ...] = ()
    # Where a line that refers to an object is refused until the object exists and an object in
    # use cannot be deleted (FortiOS): the order remediation is sent in. Sections in these stages
    # are sent in this order, then every section not named (as it is); then every entry deletion
    # (`deletion` + the entry's name, inside its section) in the reverse order, once nothing
    # that is sent refers to it any more. Empty: remediation goes in hier_config's order.
    send_order: tuple[SendStage, ...] = ()
    # The word that opens an entry of a section (FortiOS `edit`) and the one that deletes it.
    entry_word: str | None = None
    deletion_word: str | None = None
    # Tables whose entries the device evaluates in the order it holds them, first match first
    # (FortiOS firewall policies), each the path of its `config` lines from the top, and the
    # command that moves one entry before or after another (`{entry}`, `{where}`: "before" or
    # "after", `{anchor}`): an entry's position is no line of it, so a table reordered on the
    # device would otherwise read as in sync.
    ordered_tables: tuple[tuple[str, ...], ...] = ()
    move_command: str | None = None
    # Where the platform has no send order: objects that other lines name by number, whose
    # definitions and deletions remediation orders around those lines (`NamedObjects`).
    named_objects: tuple[NamedObjects, ...] = ()
    # Blocks stopped before a change and started again after it (`StoppedWhileChanged`).
    stopped_while_changed: tuple[StoppedWhileChanged, ...] = ()
    # Lines a change of another line of their block wipes, sent again after it (`WipedBy`).
    wiped_by: tuple[WipedBy, ...] = ()
    # Interface addresses no two interfaces may hold in one subnet: an address given up is
    # deleted before another interface takes its subnet (`ExclusiveAddresses`).
    exclusive_addresses: ExclusiveAddresses | None = None
    # Tables whose entries' names are unique: a name taken from an entry that gives it up later
    # in the push is freed first (`UniqueNames`).
    unique_names: tuple[UniqueNames, ...] = ()
    # Blocks of first-match entries held by number and applied line by line (`NumberedEntries`):
    # renumbered entries are deleted from the highest number down, then added from the lowest up.
    numbered_entries: tuple[NumberedEntries, ...] = ()
    # Entries the device deletes with an entry of another table (`DeletedWith`).
    deleted_with: tuple[DeletedWith, ...] = ()
    # Entries removed whole by the deletion of the line that made them (`RemovedWhole`).
    removed_whole: tuple[RemovedWhole, ...] = ()
    # Entries deleted and configured anew where a setting they take only once changes
    # (`RecreatedEntries`).
    recreated_entries: tuple[RecreatedEntries, ...] = ()
    # Bound filters rebuilt under their other name where no in-place order is safe
    # (`SwappedFilters`).
    swapped_filters: SwappedFilters | None = None
    # Classifier ACLs held by a twin while edited where no in-place order is safe
    # (`HeldClassifiers`).
    held_classifiers: HeldClassifiers | None = None
    # Lines the device deletes only in a documented form of its own (`DeletedForm`).
    deleted_forms: tuple[DeletedForm, ...] = ()
    # Lines no push sends: an appliance whose remediation holds one is refused (`RefusedChange`).
    refused_changes: tuple[RefusedChange, ...] = ()
    # Route filters kept non-empty through a push that changes them (`PrefixLists`).
    prefix_lists: PrefixLists | None = None
    # Where a changed BGP policy applies only to routes received or sent after the change, the
    # soft refresh the push runs for the sessions whose policy it changed (`PolicyRefresh`).
    policy_refresh: PolicyRefresh | None = None
    # Config tokens that carry secrets: group 1 is kept, the rest of the match is redacted. The
    # rest is the secret in any form the device may show it in (a type digit, `ENC`, a cipher).
    secret_patterns: tuple[str, ...] = ()
    # Secret settings the device shows in a stored form of its own (encrypted, salted, hashed),
    # never as sent, in the form of `secret_patterns`: such a line is compared by its shape
    # (`secret_shape`), and the secret ledger tells whether the appliance holds the intended
    # value (devices/secret_ledger.py). Only settings a new value overwrites: never a secret that
    # names its line (an SNMP community), nor one the device shows as sent (FRR).
    stored_secret_patterns: tuple[str, ...] = ()
    # Top-level lines the device applies but never shows in its running config (IOS-XE SNMPv3
    # users): held, like a stored secret, when the ledger says storestack set them as intended
    # and the device lists them (`unshown_listing`).
    unshown_lines: tuple[str, ...] = ()
    unshown_listing: UnshownListing | None = None
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
    # Sent after the config lines and before `config_exit` where changes take effect only when
    # committed (VRP8's two-phase validation: a session that leaves without it changes nothing);
    # never to an appliance in immediate validation (`mode_probe`), which has no commit.
    commit_command: str | None = None
    # Where the platform's appliances take configuration in either validation mode, the command
    # whose prompt tells which (VRP: `system-view`), sent with a session's first exchange and left
    # at once with `config_exit` (no extra round trip), and a regex per mode matched at the start
    # of that prompt, the first that matches wins. None matching: the mode is unknown.
    mode_probe: str | None = None
    mode_prompts: tuple[tuple[ValidationMode, str], ...] = ()

    def commit_in(self, mode: ValidationMode | None) -> str | None:
        """The command that makes configuration lines live, in an appliance's validation mode."""
        return None if mode == "immediate" else self.commit_command

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

    def secret_shape(self, line: str) -> str:
        """`line` with each stored secret value (group 1 of its pattern kept) replaced by one
        placeholder: the same for a secret as sent and as the device stores and shows it."""
        for pattern in _secret_patterns(self.stored_secret_patterns):
            line = pattern.sub(lambda match: match.group(1) + SECRET_PLACEHOLDER, line)
        return line

    @property
    def hides_secrets(self) -> bool:
        """Whether the running config cannot show some intended secret line as it was sent."""
        return bool(self.stored_secret_patterns or self.unshown_lines)

    def is_unshown(self, line: str) -> bool:
        pattern = _any_of(self.unshown_lines)
        return pattern is not None and pattern.search(line) is not None

    def canonical(self, line: str) -> str:
        """`line` in the form the intended config writes it (`equivalent_lines`)."""
        for pattern, form in self.equivalent_lines:
            if _whole_line(pattern).fullmatch(line):
                return form
        return line


@cache
def days_hours_minutes(seconds: int) -> tuple[int, int, int]:
    """A duration as the days, hours and whole minutes DHCP lease commands take."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return days, hours, rest // 60


def _whole_line(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@cache
def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled regex for a set of patterns: every config line of every diff is tested."""
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns)) if patterns else None


SECRET_PLACEHOLDER = "<secret>"


@cache
def _secret_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.MULTILINE) for pattern in patterns)


class CommitConfirm(BaseModel):
    """How an appliance reverts a change by itself unless it is confirmed in time, so a change
    that cuts the push's own session cannot leave a store dark (IOS-XE `configure terminal
    revert timer`, VRP `commit trial`, FortiOS `cfg-save revert`, FRR's host-side
    `storestack-confirm`). Plain data: `{timer}` in a command is the timer in the platform's
    unit (`unit_seconds`), rounded up and clamped to what the platform accepts.

    `via`: "cli" sends the commands in the appliance's CLI session; "host" runs each on the
    appliance's host as an SSH exec request of the same login (its own channel), where the CLI
    has no such command (FRR's vtysh).

    The push engine sends `arm` (exec mode) before the first change line, the change, with
    `commit` in place of the driver's commit command, then verifies, then sends `confirm`.
    When the change fails while the session lives, `abort` reverts at once; when the session is
    lost, the appliance reverts by itself and `settle` leaves the mechanism off again."""

    model_config = ConfigDict(frozen=True)

    via: Literal["cli", "host"] = "cli"
    unit_seconds: int = 1
    minimum: int
    maximum: int
    # The config the mechanism needs (IOS-XE: the archive with a path), a multiline regex over
    # a config; missing from the running config, the intended config's own lines matched by it
    # are configured before the timer is armed.
    requires: str | None = None
    arm: tuple[str, ...] = ()
    # "host" only: the arm keeps running as the change's guard beside the CLI session
    # (devices/frr_confirm.py `guard`): it reads the running config the push backed up a moment
    # before on its stdin (no second dump), gives its challenge along with the verify read and
    # takes `confirm` as a line, so neither the confirm nor its challenge costs an interpreter or
    # a round trip of its own. `abort` stays a command of its own.
    guard: bool = False
    # True when the arm command itself enters configuration mode (IOS-XE).
    arm_enters_config: bool = False
    commit: str | None = None
    confirm: tuple[str, ...]
    abort: tuple[str, ...] = ()
    settle: tuple[str, ...] = ()
    # How the appliance refuses an arm while an earlier, unconfirmed change's timer still runs (a
    # push killed after its arm, whose rollout is resumed at once): a regex over the refusal,
    # group `left` the seconds until that timer reverts the earlier change. The push waits for
    # that revert, then starts again from a fresh backup. None: the refusal fails the push.
    armed_earlier: str | None = None

    def timer(self, timeout_seconds: int) -> int:
        """The timer in the platform's unit for a timeout in seconds."""
        units = -(-timeout_seconds // self.unit_seconds)
        return min(self.maximum, max(self.minimum, units))

    def timer_seconds(self, timeout_seconds: int) -> int:
        """How long the appliance really waits before it reverts."""
        return self.timer(timeout_seconds) * self.unit_seconds

    def render(self, commands: tuple[str, ...], timeout_seconds: int) -> list[str]:
        timer = str(self.timer(timeout_seconds))
        return [command.replace("{timer}", timer) for command in commands]

    def commit_command(self, timeout_seconds: int) -> str | None:
        return self.render((self.commit,), timeout_seconds)[0] if self.commit else None


class CompanionDelivery(BaseModel):
    """How the push engine delivers an appliance's companion files (`companions`): host
    commands, each an SSH exec request of the push's login (FRR: `storestack-confirm`'s
    companion verbs, devices/frr_confirm.py). `{name}` is a companion's name.

    `digests` prints JSON, every companion the appliance takes → the sha256 of its file (null
    when there is none): one request per push tells which rendered files differ; a rendered
    file the appliance does not take is reported, never sent. `read` prints one file (for the
    redacted diff and a rollback without the appliance's timer); `install` takes one on stdin
    and prints `installed NAME sha256 HEX` or `unchanged NAME sha256 HEX`.

    The order is the platform's (`companions`, `hub_companions`): the push installs the files in
    it, then changes the config. Undoing a push (the engine's rollback, the appliance's own
    revert) runs it backwards: the config first, then the files, last installed first, so the
    appliance only passes through states the push passed through."""

    model_config = ConfigDict(frozen=True)

    digests: str
    read: str
    install: str
    # The companions whose install ends live sessions, each with what it ends going from the
    # appliance's text to the intended one (FRR: swanctl.conf, the IKE_SAs of the connections it
    # drops, `frr_confirm.SessionEnds`): the push reports them, a dry run shows them.
    session_ends: tuple[tuple[str, Callable[[str, str], tuple[str, ...]]], ...] = ()

    def ended_sessions(self, name: str, before: str, after: str) -> tuple[str, ...]:
        """What installing companion `name`, `after` where the appliance has `before`, ends."""
        return next((ends(before, after) for known, ends in self.session_ends if known == name), ())


# The WAN port numbers `PlatformProfile.wan_port_number` reads a port name back to (0..N-1): more
# than any appliance storestack renders has.
WAN_PORT_NUMBERS = 64


@dataclass(frozen=True, slots=True)
class PlatformProfile:
    """Everything storestack knows about one platform. The base class derives interface names
    from the inventory's link and segment names, shortened to `ifname_limit` characters (as FRR's
    Linux hosts and FortiOS name them); a platform with numbered ports overrides the methods."""

    name: Platform
    comment: str  # line comment marker the platform ignores when a config is pasted or loaded
    loopback: str
    lan_trunk: str
    ifname_limit: int
    driver: PlatformDriver
    # The hier_config driver class that computes remediation and rollback for this platform.
    hier_driver: Callable[[], HConfigDriverBase]
    # True when the lab runs this platform in the vendor emulator, not as a real FRR router.
    emulated: bool
    # Files rendered next to the config for the appliance's host: (file suffix, template name
    # in the platform's template folder).
    companions: tuple[tuple[str, str], ...] = ()
    # The same for hubs.
    hub_companions: tuple[tuple[str, str], ...] = ()
    # True when show commands answer in JSON (`show bgp summary json` …): rollout verification
    # reads BGP and routing state only from such platforms, and reports the rest as skipped.
    json_show_commands: bool = False
    # Where a store's config says which link a WAN port carries: the path of a port's description
    # line, one pattern per level (the port's block with its name as group `port`, then the
    # description with the link's name, the description's first word, as group `link`); None
    # where the template renders no port description (FRR: its ports are named after their links,
    # so no link moves to another port). devices/configdiff/moved_ports.py reads it.
    port_description: tuple[str, ...] | None = None
    commit_confirm: CommitConfirm | None = None
    # Validation modes (`PlatformDriver.mode_prompts`) in which the appliance has no way the push
    # knows of to revert a change by itself, each with the reason: `commit_confirm` is not for
    # them, and a push with a confirm timeout refuses such an appliance before its first change
    # line; a push whose operator turned the timers off (`--confirm-timeout 0
    # --no-confirm-i-know`) changes it without one.
    unconfirmable_modes: tuple[tuple[ValidationMode, str], ...] = ()
    # How the push delivers the companion files; None: they are rendered, never pushed.
    companion_delivery: CompanionDelivery | None = None
    # The highest tunnel interface number the platform accepts, where it numbers them from a
    # fixed range (None: no range storestack can run into). A hub's store tunnels are numbered
    # by their link's transit slot from 1 up, its cloud tunnels from this number down.
    max_tunnel_number: int | None = None
    # Jinja filters the platform's templates use: (name, function). For what typed code does
    # better than a template, thousands of times per fleet: spelling ACL rules (a macro costs a
    # dozen sandboxed lookups per rule), grouping rules into the platform's policy objects.
    template_filters: tuple[tuple[str, Callable[..., Any]], ...] = ()
    # Constants its templates read, named once here: (name, value).
    template_values: tuple[tuple[str, Any], ...] = ()
    # Line builders that print secrets (name, builder): the renderer binds each to its mode's
    # `secret` filter (keyword `secret`), so they print a slot as the template's filter would.
    secret_template_filters: tuple[tuple[str, Callable[..., list[str]]], ...] = ()
    # How the store device steers applications by SLA class; None where the device does not
    # (FRR stores steer on their host: storestack-steer, devices/frr_steer.py).
    sla_steering: SteeringMechanism | None = None
    # A store on this platform runs its hub tunnels' BFD on the tunnel's SLA class profile (FRR:
    # BFD is its SLA probe, which storestack-steer follows); else on its link's profile (WIRED,
    # CELLULAR), its SLA classes measured by its own probes. A hub runs the store's choice.
    bfd_follows_sla: bool = False
    # The probe an IOS-XE store's IP SLA operation can run against this platform as its hub:
    # IOS-XE runs `ip sla responder` (UDP jitter: loss, jitter, latency); Linux answers ICMP
    # timestamp requests (ICMP jitter); any other hub answers ICMP echo (round trip only).
    answers_ios_probe: IosProbeKind = "icmp-echo"
    # True where a hub prints what its store tunnels take in (`HubIntent.store_forwarding`) as
    # packet-filter rules (`HubView.from_each_store`: IOS-XE's and VRP's FROM-STORE-<id>). FRR
    # (nftables sets) and FortiOS (address groups and policies) spell the intent in their own
    # objects, so their hub views carry no rules: on a large fleet's hub that is several rules
    # for every store tunnel, built for nothing.
    hub_filter_rules: bool = False
    # True where, beside each store's own filter, every store tunnel first takes one filter of all
    # the stores' (`HubView.from_stores`: IOS-XE's virtual template's FROM-STORES, which a
    # dialled-in link has before its AAA attribute list applies its own). VRP binds each store's
    # filter to its tunnels from the start, so it prints none; building it there was thousands of
    # rules for nothing on a large fleet's hub.
    hub_shared_store_filter: bool = False
    # True where a store link's tunnel applies its store's filter by name from configuration the
    # link was brought up with, and outlives the hub's config that made it (IOS-XE: a
    # virtual-access keeps the `ip access-group FROM-STORE-<id> in` of the AAA attribute list it
    # was cloned with, and a decommissioned store's live IKEv2 session keeps it up): deleting
    # the filter would leave the link applying one the router does not hold, which filters
    # nothing. Such a hub keeps a decommissioned store's filter, denying everything
    # (`HubView.retired_store_filters`).
    hub_retired_store_filters: bool = False
    # The ICMP errors (the platform's names in an ACL or nftables rule) a stateless hub filter
    # passes as the answers of a flow a store opened (`CloudForwarding.replies`: path MTU
    # discovery, a closed port, traceroute's expired hops), beside `echo-reply` for a flow of any
    # protocol: IOS-XE's and VRP's FROM-CLOUDS (`hub_filter_rules`), an FRR hub's cloud answers.
    icmp_errors: tuple[str, ...] = ()
    # True where each of `icmp_errors` is one ICMP code (VRP's `icmp-type`), so that every kind of
    # error a flow may meet takes several rules: a hub's cloud filter admits them once per cloud
    # range of the flows the stores open towards the stores' block (`cloud_rules`,
    # `errors_towards`) instead of once per flow and office segment, which would multiply its
    # rules by the stores' segments.
    icmp_errors_per_source: bool = False
    # True where a store prints the intent's flows as packet-filter rules per (segment, zone)
    # pair (`StoreApplianceView.flows`: IOS-XE's and VRP's ACLs, FortiOS's policies). FRR spells
    # them in nftables from the intent itself (devices/frr.py `store_firewall`), so its views
    # carry none: some twenty rules per store config, built for nothing.
    store_flow_rules: bool = True

    @property
    def secret_patterns(self) -> tuple[str, ...]:
        return self.driver.secret_patterns

    def unconfirmable(self, mode: ValidationMode | None) -> str | None:
        """Why an appliance in `mode` cannot arm `commit_confirm`, or None when it can. Where the
        platform tells modes apart, an unknown mode is refused too: `commit_confirm` is for the
        modes it names no reason for."""
        if not self.driver.mode_probe:
            return None
        if mode is None:
            return f"its validation mode is unknown: the prompt {self.driver.mode_probe!r} left matched no known form"
        return dict(self.unconfirmable_modes).get(mode)

    def wan_port(self, port: int, link_name: str) -> str:
        """The physical port of WAN port number `port` (`Transport.port`: the inventory's `port`,
        else the link's place in the store's links). Here the link's name: a Linux port is named
        after its link."""
        return link_name

    def wan_port_number(self, port_name: str, link_name: str) -> int | None:
        """The WAN port number (`wan_port`) whose port this platform names `port_name` for link
        `link_name`; None for a name it gives no WAN port."""
        return next((port for port in range(WAN_PORT_NUMBERS) if self.wan_port(port, link_name) == port_name), None)

    def wan_zone(self, link_name: str) -> str:
        """The security zone of a WAN link's port: one INTERNET zone for every WAN port unless the
        platform needs one per link."""
        return "INTERNET"

    def hub_dc_port(self) -> str:
        """A hub's port on the HQ data-centre core LAN: its first port (FRR: the `dc` link)."""
        return self.wan_port(0, "dc")

    def segment_interface(self, vlan: int, kind: str) -> str:
        """The interface of one store segment: a VLAN subinterface of the LAN trunk."""
        return f"{self.lan_trunk}.{vlan}"

    def store_tunnel(self, link_index: int, link_name: str, number: int, hub: str) -> str:
        """A store's tunnel to hub `hub` over WAN link `link_name`. `number` counts the store's
        hub tunnels by WAN port: 1..P are the links' tunnels to their home hubs (the link on WAN
        port `link_index`, `Transport.port`, has number `link_index` + 1), P+1..2P those to the
        other hub (P: up to the highest port a link is on). Platforms that name interfaces call it `<hub>-<link>` (`hq-hub1-wan1`), so the
        name says which hub the tunnel reaches."""
        return short_ifname(f"{hub}-{link_name}", self.ifname_limit)

    def cloud_tunnel(self, label: str, number: int) -> str:
        """A hub's tunnel interface to one cloud VPN tunnel: `label` names the far end
        (`aws<tunnel>-<connection>`, `os-<site>`), `number` is its place in a numbered range."""
        return short_ifname(label, self.ifname_limit)

    def route_filter_name(self, name: str) -> str:
        """A hub's prefix list or route-map named after a store (`STORE-<id>`,
        `FROM-<id>-<link>`) as the platform takes it: as it is, unless the platform holds such
        names to fewer characters than a store id and a link name can make."""
        return name

    def aws_tunnel(self, link_index: int, link_name: str, tunnel: int) -> str:
        """Store-side interface of one AWS VPN tunnel (two per WAN link)."""
        return short_ifname(f"aws-{link_name}-t{tunnel}", self.ifname_limit)

    def cloud_filter_numbers(self, hub: str, sites: int) -> list[int]:
        """The numbers of a hub's per-site cloud filters (`HubView.from_clouds`, in site order),
        where the platform numbers its ACLs (VRP: `hub_cloud_filter_numbers`). Others name them
        only: 1, 2, ..."""
        return list(range(1, sites + 1))

    def store_filter_numbers(self, hub: str, stores: int, sites: int) -> list[int]:
        """The numbers of a hub's per-store filters (`HubView.from_each_store`, in the hub's
        store order) beside its `sites` cloud filters, where the platform numbers its ACLs (VRP:
        `hub_store_filter_numbers`). Others name them only: 1, 2, ..."""
        return list(range(1, stores + 1))

    def acl_numbers(self, role: AclRole) -> tuple[int, int]:
        """The first and last number of a store's ACLs of one role, where the platform numbers
        its ACLs (VRP: `ACL_RANGES`); the builder numbers them up from the first. Others name
        them only: from 1."""
        return (1, 2**31 - 1)

    def acl_number(self, store_id: str, role: AclRole, index: int, block: int = 0) -> int:
        """The number of a store's ACL of one role: the `index`-th (from 0) up from the role's
        first (`acl_numbers`), in its `block`-th block of ACL_BLOCK (QoS marks: one per segment
        kind). A platform that numbers its ACLs refuses one past its range or block (VRP)."""
        return self.acl_numbers(role)[0] + ACL_BLOCK * block + index

    def hub_peer_interface(self, store_id: str, link_name: str, transit_index: int) -> str:
        """Hub-side overlay interface of one store link; numbered by the link's own pinned
        transit /31 (the same number on every hub), so adding or removing stores never
        renumbers another store's tunnel."""
        return hub_interface_name(store_id, link_name)


def snmp_keywords(
    platform: Platform,
    auths: Mapping[SnmpAuth, str],
    privs: Mapping[SnmpPriv, str],
    auth: SnmpAuth,
    priv: SnmpPriv,
) -> tuple[str, str]:
    """The platform's keywords for the fleet's SNMPv3 pair (`common/snmp.py`), from its module's
    maps; a pair it documents no keyword for is refused, never spelled as a weaker one (the
    inventory refuses it first, `snmp_checks`)."""
    if auth not in auths or priv not in privs:
        raise RenderError(snmp_pair_problem(platform, auth, priv) or f"{platform}: no keyword for SNMPv3 {auth}/{priv}")
    return auths[auth], privs[priv]
