"""Objects other lines name (`NamedObjects`): defined before what names them, deleted after."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field

from hier_config import HConfig, get_hconfig
from hier_config.child import HConfigChild

from storestack.devices.configdiff.lines import only_deletions, without_deletions
from storestack.devices.platforms.base import NamedObjects

_Name = tuple[int, str]  # (the index of a kind of `NamedObjects`, an object's name)


@dataclass
class _Piece:
    """One top-level block of a delta (or the deletions or the rest of one), with the objects
    its lines define, delete, name and stop naming."""

    node: HConfigChild
    defines: set[_Name] = field(default_factory=set)
    deletes: set[_Name] = field(default_factory=set)
    names: set[_Name] = field(default_factory=set)
    unnames: set[_Name] = field(default_factory=set)


def around_named_objects(
    delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[NamedObjects, ...]
) -> tuple[str, ...]:
    """hier_config's remediation order (every top-level deletion first, then what is added or
    changed, in the order of the config it leads to), with what `kinds` says about objects that
    other lines name:

    - a line that stops naming object N (deleted, or a changed block's deleted line) goes before
      the deletion of N: nothing still names N when it goes;
    - the definition of N goes before every line that starts naming it;
    - where N is deleted and defined again (its defining line changed: an IOS-XE track of
      another type; or its block changed and its kind is `replaced_whole`: an IOS-XE IP SLA
      operation, sent as its deletion and the whole block `after` holds), the deletion goes
      before the new definition. The lines that name N and do not change are not in the delta,
      so they stay as they are;
    - the lines that belong to N (`NamedObjects.parts`), which the device removes with N, are
      not deleted again after N (nor before: N's own deletion takes them); where N is defined
      again, every part `after` gives it follows the new definition, in `after`'s order, the
      unchanged ones too, which the delta lacks.

    The top-level blocks keep hier_config's order except where these rules move one later (a
    stable topological sort). A changed block that both stops naming an object the delta
    deletes and starts naming one it defines (a route-map whose next hops move while the track
    they follow changes type) is sent as two blocks, its deletions and the rest, so that each
    can go where it must. Where the delta defines and deletes no such object, the order is
    hier_config's."""
    negation = delta.driver.negation_prefix
    definitions = [re.compile(kind.defined_by) for kind in kinds]
    # A part names its object too: it is sent after the object's definition.
    namings = [(i, re.compile(pattern)) for i, kind in enumerate(kinds) for pattern in (*kind.named_by, *kind.parts)]
    owners = [(i, re.compile(pattern)) for i, kind in enumerate(kinds) for pattern in kind.parts]
    whole = [definitions[i] for i, kind in enumerate(kinds) if kind.replaced_whole]

    def defined(text: str) -> set[_Name]:
        """The objects a top-level line defines."""
        return {(i, match.group(1)) for i, pattern in enumerate(definitions) if (match := pattern.search(text))}

    def owned(text: str) -> set[_Name]:
        """The objects a top-level line (read without its negation) is a part of."""
        return {(i, match.group(1)) for i, pattern in owners if (match := pattern.search(text.removeprefix(negation)))}

    def named(*texts: str) -> set[_Name]:
        return {(i, match.group(1)) for text in texts for i, pattern in namings for match in pattern.finditer(text)}

    def named_in(node: HConfigChild) -> set[_Name]:
        """The objects `node` and the lines under it name, a top-level definition not itself."""
        found = named(node.text, *(child.text for child in node.all_children()))
        return found - defined(node.text) if node.parent is node.root else found

    def changes(node: HConfigChild, old: HConfigChild, piece: _Piece) -> None:
        """What the lines under `node` (a block `old` held already) stop and start naming."""
        for child in node.children:
            if child.text.startswith(negation):
                text = child.text.removeprefix(negation)
                gone = old.get_child(equals=text)
                piece.unnames |= named_in(gone) if gone is not None else named(text)
            elif (prior := old.get_child(equals=child.text)) is not None:
                changes(child, prior, piece)
            else:
                piece.names |= named_in(child)

    pieces: list[_Piece] = []
    for node in sorted(delta.children):
        piece = _Piece(node)
        old = before.get_child(equals=node.text)
        gone = before.get_child(equals=node.text.removeprefix(negation)) if node.text.startswith(negation) else None
        new = after.get_child(equals=node.text)
        if old is not None and new is not None and any(pattern.search(node.text) for pattern in whole):
            # A block hier_config found changed (the order of its lines is no change to it) whose
            # kind cannot change in place: its deletion, then the whole block `after` holds.
            deletion = get_hconfig(delta.driver).add_child(negation + node.text)
            pieces.append(_Piece(deletion, deletes=defined(node.text), unnames=named_in(old)))
            piece.defines, piece.names, piece.node = defined(new.text), named_in(new), new
        elif old is not None:
            changes(node, old, piece)
        elif gone is not None and not node.children:
            piece.deletes, piece.unnames = defined(gone.text), named_in(gone)
        else:
            piece.defines, piece.names = defined(node.text), named_in(node)
        pieces.append(piece)
    deleted: set[_Name] = set().union(*(piece.deletes for piece in pieces))
    added: set[_Name] = set().union(*(piece.defines for piece in pieces))
    if not deleted and not added:
        return tuple(delta.lines(sectional_exiting=True))

    redefined = deleted & added
    kept: list[_Piece] = []
    for piece in pieces:
        parts_of = owned(piece.node.text)
        if piece.node.text.startswith(negation) and parts_of & deleted:
            continue  # gone with its object
        if parts_of & redefined:
            continue  # sent again below, with the parts that do not change
        kept.append(piece)
        for name in sorted(piece.defines & redefined):
            kept += [_Piece(part, names={name}) for part in after.children if name in owned(part.text)]
    pieces = kept

    split: list[_Piece] = []
    for piece in pieces:
        if piece.unnames & deleted and piece.names & added:
            deletions = only_deletions(piece.node, negation, reverse=False)
            rest = without_deletions(piece.node, negation)
            if deletions is not None and rest is not None:
                split += [_Piece(deletions, unnames=piece.unnames), _Piece(rest, names=piece.names)]
                continue
        split.append(piece)
    pieces = split

    def holding(attribute: str) -> dict[_Name, list[int]]:
        index: dict[_Name, list[int]] = {}
        for i, piece in enumerate(pieces):
            for name in getattr(piece, attribute):
                index.setdefault(name, []).append(i)
        return index

    deleting, defining, naming, unnaming = holding("deletes"), holding("defines"), holding("names"), holding("unnames")
    # later[i]: the blocks that must go after block i.
    later: list[set[int]] = [set() for _ in pieces]
    for name, indices in deleting.items():
        for i in unnaming.get(name, []):
            later[i].update(indices)
        for i in indices:
            later[i].update(defining.get(name, []))
    for name, indices in defining.items():
        for i in indices:
            later[i].update(naming.get(name, []))
    waiting = [0] * len(pieces)
    for i, successors in enumerate(later):
        successors.discard(i)
        for j in successors:
            waiting[j] += 1
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in later[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    # Objects that name each other in a circle: the blocks left go in hier_config's order.
    sent = set(order)
    order += [i for i in range(len(pieces)) if i not in sent]

    # Each piece is a top-level block of its tree (the delta's, or a split block's own).
    return tuple(line for i in order for line in pieces[i].node.lines(sectional_exiting=True))
