"""What went wrong in a YAML file, told without quoting the file.

PyYAML's own message quotes the offending line with a caret under it. In a file that holds a
password or a PSK that line may be the secret, so a message says only where and what.
"""

from __future__ import annotations

import yaml


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """`:LINE: not valid YAML (problem)`, to follow a file name; never the file's text."""
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or "syntax error"
    return f"{line}: not valid YAML ({problem})"
