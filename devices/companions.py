"""Companion files in a push: which of an appliance's rendered host files differ from what it has.

An FRR appliance's host takes the files rendered beside its config (nftables.conf, swanctl.conf,
chrony.keys …) through its login's companion verbs (devices/frr_confirm.py; the commands are
the platform's `CompanionDelivery`). One request gives the sha256 of every file the appliance
takes; only the files whose digest differs from the rendered text are read (for the redacted
diff, and to put them back without the appliance's timer) and installed. Nothing here knows a
file by name: a platform that renders a new companion gets it delivered as soon as the
appliance's allow-list takes it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storestack.devices.configdiff import REDACTED, Redactor
from storestack.devices.errors import PushError
from storestack.devices.platforms.base import CompanionDelivery
from storestack.devices.report import CompanionResult


def text_digest(text: str) -> str:
    """The sha256 of a file with this text, as the appliance computes it over the bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class CompanionChange:
    """One rendered companion against the appliance's file."""

    name: str
    text: str
    taken: bool  # the appliance's allow-list has it
    before_digest: str | None  # None: no such file there (or not taken)
    before_text: str | None = None  # read only for a file that differs

    @property
    def digest(self) -> str:
        return text_digest(self.text)

    @property
    def pending(self) -> bool:
        """Taken and different: the push installs it."""
        return self.taken and self.before_digest != self.digest


def parse_digests(output: str, appliance: str) -> dict[str, str | None]:
    """The `digests` command's JSON: companion name → sha256 (None: no file). PushError when it
    is anything else (an appliance that answers otherwise gets nothing installed)."""
    try:
        data = json.loads(output)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(name, str) and (digest is None or (isinstance(digest, str) and len(digest) == 64))
        for name, digest in data.items()
    ):
        raise PushError(
            f"{appliance}: the companion files' digests are not what was asked for (does the appliance's login "
            "run a storestack-confirm with the companion verbs?)",
            stage="backup",
        )
    return dict(data)


def plan_companions(rendered: Sequence[tuple[str, str]], digests: Mapping[str, str | None]) -> list[CompanionChange]:
    """Each rendered companion against the appliance's digests."""
    return [
        CompanionChange(name=name, text=text, taken=name in digests, before_digest=digests.get(name))
        for name, text in rendered
    ]


def refuse_placeholders(changes: Sequence[CompanionChange], appliance: str) -> None:
    """A companion to be installed that holds `<redacted>` comes from a display render (secrets
    left out): installed, it would replace the host's PSKs or NTP keys with the placeholder."""
    for change in changes:
        if change.pending and REDACTED in change.text:
            raise PushError(
                f"{appliance}: {change.name} holds {REDACTED} placeholders (a display render): render the push "
                "files with --with-secrets; nothing was sent",
                stage="diff",
            )


def changed_lines(before: str, after: str) -> int:
    """Lines added or removed between two texts of a file."""
    return sum(
        1
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def unified(before: str, after: str, *, appliance: str, name: str, redactor: Redactor) -> str:
    """A unified diff of a companion file, appliance → intended, every line redacted. Where
    only secret values differ the redacted lines are equal: then it says so."""
    if before == after:
        return ""
    shown = "".join(
        difflib.unified_diff(
            [line + "\n" for line in redactor.redact_lines(before.splitlines())],
            [line + "\n" for line in redactor.redact_lines(after.splitlines())],
            fromfile=f"{appliance}:{name} (appliance)",
            tofile=f"{appliance}:{name} (intended)",
        )
    )
    return shown or f"{appliance}:{name}: only secret values differ (not shown)\n"


def result_of(
    change: CompanionChange,
    *,
    appliance: str,
    redactor: Redactor,
    dry_run: bool,
    delivery: CompanionDelivery | None = None,
) -> CompanionResult:
    """How a push reports one companion before it acts on it (with the live sessions its install
    ends, `CompanionDelivery.ended_sessions`, read from the appliance's text)."""
    if not change.taken:
        status = "not-taken"
    elif not change.pending:
        status = "unchanged"
    else:
        status = "planned"
    before = change.before_text or ""
    return CompanionResult(
        name=change.name,
        status=status,
        sha256_before=change.before_digest,
        sha256_intended=change.digest,
        change_lines=changed_lines(before, change.text) if change.pending else 0,
        diff=unified(before, change.text, appliance=appliance, name=change.name, redactor=redactor)
        if dry_run and change.pending
        else None,
        ends_sessions=list(delivery.ended_sessions(change.name, before, change.text))
        if delivery is not None and change.pending and change.before_text is not None
        else [],
    )


def installed_digest(output: str) -> str | None:
    """The sha256 an `install` says the appliance has now."""
    words = output.split()
    if len(words) >= 4 and words[0] in ("installed", "unchanged") and words[2] == "sha256":
        return words[3]
    return None
