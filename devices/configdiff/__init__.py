"""Normalise configs, compute remediation and rollback with hier_config, and redact what is shown.

The remediation (running → intended) is what gets sent; the rollback (intended → running) is
what would undo it. Both are computed from normalised text: the header lines a platform prints
by itself (FRR's `frr version`, `frr defaults`, `ip forwarding`, bare `exit` …) are dropped on
both sides, otherwise hier_config would emit lines that negate them.
"""

from __future__ import annotations

from storestack.devices.configdiff.diff import (
    ConfigDiff,
    compute_diff,
    remediation_lines,
    rollback_lines,
    secret_paths,
)
from storestack.devices.configdiff.lines import normalise, parse
from storestack.devices.configdiff.policy_refresh import policy_change
from storestack.devices.configdiff.redaction import REDACTED, Redactor, redactor_for
from storestack.devices.configdiff.send_order import send_ordered

__all__ = [
    "REDACTED",
    "ConfigDiff",
    "Redactor",
    "compute_diff",
    "normalise",
    "parse",
    "policy_change",
    "redactor_for",
    "remediation_lines",
    "rollback_lines",
    "secret_paths",
    "send_ordered",
]
