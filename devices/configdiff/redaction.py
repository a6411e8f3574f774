"""Hiding secrets in anything shown, logged or written to a report (`Redactor`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from storestack.devices.drivers import driver_for
from storestack.devices.secrets import secret_spellings

REDACTED = "<redacted>"


# Values shorter than this are not redacted by value: replacing every "ab" would wreck output
# while not hiding anything worth hiding. Pattern-based redaction still covers them.
_MIN_SECRET_LENGTH = 4


class Redactor:
    """Hides secrets in anything shown, logged or written to a report.

    Two layers: known secret values (device password, PSKs from the intended config), in every
    spelling a rendered file carries them (`secret_spellings`), are replaced wherever they
    appear, and the platform's secret patterns (`password X`, `set psksecret X` …) hide values
    we were not told about, e.g. in a running config.
    """

    def __init__(self, *, patterns: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        self._patterns = tuple(re.compile(pattern, re.MULTILINE) for pattern in patterns)
        self._secrets = _longest_first(secrets)

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        redactor = Redactor()
        redactor._patterns = self._patterns
        redactor._secrets = _longest_first(secrets, known=self._secrets)
        return redactor

    @property
    def secret_values(self) -> tuple[str, ...]:
        return self._secrets

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in self._patterns:
            text = pattern.sub(_keep_prefix, text)
        return text

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        return [self.redact(line) for line in lines]


def _longest_first(secrets: Iterable[str], known: Iterable[str] = ()) -> tuple[str, ...]:
    """`known` (already spelled) and every spelling a rendered file may carry `secrets` in
    (chrony's key file holds the NTP key in hex), longest first so that no shorter value
    splits a longer one."""
    spelled = {*known, *(spelling for secret in secrets for spelling in secret_spellings(secret))}
    return tuple(sorted({s for s in spelled if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True))


def _keep_prefix(match: re.Match[str]) -> str:
    if match.group(0).endswith(REDACTED):
        return match.group(0)
    return f"{match.group(1)}{REDACTED}"


def redactor_for(platform: str, secrets: Iterable[str] = ()) -> Redactor:
    return Redactor(patterns=driver_for(platform).secret_patterns, secrets=secrets)
