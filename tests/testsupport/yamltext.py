"""YAML text for the tests that write or read many inventories (the property and fuzz tests):
through libyaml, as the loader itself reads (`inventory/source.py`), where PyYAML has it. The
pure-Python emitter and reader took most of those tests' time, not the code under test."""

from __future__ import annotations

from typing import Any

import yaml

_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump(data: Any, *, sort_keys: bool = True, allow_unicode: bool = False) -> str:
    """`yaml.safe_dump(data, sort_keys=..., allow_unicode=...)`, through libyaml."""
    text: str = yaml.dump(data, Dumper=_DUMPER, sort_keys=sort_keys, allow_unicode=allow_unicode)
    return text


def load(text: str) -> Any:
    """`yaml.safe_load(text)`, through libyaml."""
    return yaml.load(text, Loader=_LOADER)


def load_all(text: str) -> list[Any]:
    """`list(yaml.safe_load_all(text))`, through libyaml."""
    return list(yaml.load_all(text, Loader=_LOADER))
