"""Turn pydantic's errors into inventory issues with file, line, field and a plain message."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

from pydantic import BaseModel, ValidationError

from storestack.inventory.errors import InventoryError, InventoryIssue
from storestack.inventory.source import MAX_FILE_BYTES, Loc, SourceDocument, dotted, read_document
from storestack.inventory.types import describe

ModelT = TypeVar("ModelT", bound=BaseModel)


def _unwrap(annotation: Any) -> list[Any]:
    """The types an annotation may hold, looking through Optional, list, dict and Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [inner for arg in typing.get_args(annotation) for inner in _unwrap(arg)]
    return [annotation]


def _container_item(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple) and args:
        return _unwrap(args[0])
    if origin is dict and len(args) == 2:
        return _unwrap(args[1])
    return []


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class whose fields apply at `loc`, or None where it is not a model."""
    candidates: list[Any] = [root]
    for part in loc:
        next_candidates: list[Any] = []
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
                field = candidate.model_fields.get(part)
                if field is not None:
                    next_candidates.extend(_unwrap(field.annotation))
            else:
                next_candidates.extend(_container_item(candidate))
        candidates = next_candidates
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _unknown_key_message(root: type[BaseModel], loc: Loc) -> str:
    key = str(loc[-1])
    model = _model_at(root, loc[:-1])
    known = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if not close and known:
        hint = f" (allowed: {', '.join(known)})"
    return f"unknown key {describe(key)}{hint}"


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "less_than_equal": ("at most", "le"),
    "greater_than": ("more than", "gt"),
    "less_than": ("less than", "lt"),
}


def _message(root: type[BaseModel], error: Any) -> str:
    kind = error["type"]
    loc = _error_loc(error)
    if kind == "extra_forbidden":
        return _unknown_key_message(root, loc)
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{describe(error['input'])} is not one of {expected}"
    if kind.startswith("storestack_"):
        return str(error["msg"])
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("too_short", "too_long"):
        ctx = error.get("ctx", {})
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"needs {'at least' if kind == 'too_short' else 'at most'} {bound} item(s)"
    if kind in _BOUNDS:
        word, key = _BOUNDS[kind]
        return f"{describe(error['input'])} is out of range (must be {word} {error.get('ctx', {}).get(key)})"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{describe(error['input'])} is not a whole number"
    if kind in ("bool_type", "bool_parsing"):
        return f"{describe(error['input'])} is not true or false"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping"
    if kind in ("list_type", "tuple_type"):
        return "must be a list"
    return f"{describe(error['input'])}: {error['msg']}"


def _error_loc(error: Any) -> Loc:
    """pydantic marks a bad dict key with a trailing '[key]'; the key itself is the location."""
    loc: Loc = tuple(error["loc"])
    return loc[:-1] if loc and loc[-1] == "[key]" else loc


def validate_document(
    model: type[ModelT], document: SourceDocument, base: Loc = ()
) -> tuple[ModelT | None, list[InventoryIssue]]:
    """Validate a document's data (or the part at `base`) against `model`, collecting every issue."""
    data: Any = document.data
    for part in base:
        data = data[part]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            loc: Loc = (*base, *_error_loc(error))
            issues.append(
                InventoryIssue(document.display, document.line_of(loc), dotted(loc), _message(model, error))
            )
        return None, issues


def read_model(model: type[ModelT], path: Path, *, limit: int = MAX_FILE_BYTES) -> ModelT:
    """A YAML file read by the inventory's safe reader (regular file, size and alias limits, no
    tags) and validated against `model`. Raises InventoryError naming file, line and field."""
    value, issues = validate_document(model, read_document(path, str(path), limit))
    if value is None:
        raise InventoryError(issues)
    return value
