"""The blast-radius guard: no command destroys or removes much of the fleet by accident.

A renamed `stores/` folder, a bad merge or a wrong `--fleet` makes every store look removed;
the commands that would then destroy stacks or delete files stop unless the operator says how
many may go (`--allow-destroy N`), as Terragrunt users asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from storestack.common.errors import CommonFamily, UsageError

# Without --allow-destroy: at most this many, and at most this share of the fleet.
MAX_UNASKED = 1
MAX_UNASKED_SHARE = 0.10


class DestroyRefusedError(CommonFamily, UsageError):
    """More would be destroyed or removed than allowed; nothing was done. Every command that
    guards takes `--allow-destroy N`, the option that allows it: the error's field."""

    field = "--allow-destroy"


def guard_destroy(doomed: Sequence[str], total: int, allow: int | None, *, what: str = "stacks") -> None:
    """Raise DestroyRefusedError when destroying `doomed` (out of `total`) is more than allowed.

    `allow` is the operator's `--allow-destroy N` (None: not given): then at most N may go;
    without it, at most MAX_UNASKED and at most MAX_UNASKED_SHARE of `total`.
    """
    count = len(doomed)
    if count == 0:
        return
    named = ", ".join(doomed[:5]) + (f" … (+{count - 5})" if count > 5 else "")
    if allow is not None:
        if count <= allow:
            return
        raise DestroyRefusedError(
            f"{count} {what} would be destroyed ({named}); --allow-destroy {allow} allows at most {allow}"
        )
    if count <= MAX_UNASKED and count <= MAX_UNASKED_SHARE * max(total, 1):
        return
    raise DestroyRefusedError(
        f"{count} of {total} {what} would be destroyed ({named}): more than {MAX_UNASKED} or "
        f"{MAX_UNASKED_SHARE:.0%} of the fleet. Check the inventory (a renamed or missing store file?); "
        f"if this is intended, pass --allow-destroy {count}"
    )
