"""Records: the immutable value classes the render path builds by the million."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

_Record = TypeVar("_Record")


@dataclass_transform(frozen_default=True)
def record(cls: type[_Record]) -> type[_Record]:
    """A slotted dataclass that the type checker holds immutable (PEP 681 `frozen_default`).

    What `@dataclass(frozen=True, slots=True)` gives, less the runtime guard: mypy refuses an
    assignment to a field as it does for a frozen dataclass, and instances compare and hash by
    their fields as a frozen dataclass's do (`unsafe_hash`: records are dict keys and
    `functools.lru_cache` arguments). A frozen dataclass's `__init__` must set every field
    through `object.__setattr__` to get past its own refusing `__setattr__`: on the render path
    that detour was about a fifth of a store config's instructions (benchmarks/RESULTS.md).
    """
    return dataclass(slots=True, unsafe_hash=True)(cls)
