"""The patterns a cloud name or id is held to, spelled once: the inventory checks a value with
them (`inventory/types.py`, `re.fullmatch`) and the cloud components check it again
(`components/`, pydantic `Field(pattern=anchored(...))`), so both refuse the same values.

Each is unanchored; `anchored` gives the `^...$` form a pydantic `pattern` wants.
"""

from __future__ import annotations

# An IAM role's path and name (IAM identifiers: names of letters, digits and +=,.@_-, up to 64
# characters), with at most a trailing `*` on the name: a wildcard in the path or for the whole
# name would let in any role there, and the pin would hold nothing.
IAM_ROLE = r"(?:[A-Za-z0-9+=,.@_-]+/){0,8}[A-Za-z0-9+=,.@_-]{1,64}\*?"
# A tag's key (and the inventory's tag values): 1-128 chars, no control characters.
TAG = r"[A-Za-z0-9][A-Za-z0-9 ._:/=+@-]{0,127}"
HTTPS_URL = r"https://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?"
AWS_REGION = r"[a-z]{2}(-gov)?-[a-z]+-[0-9]"
AWS_ACCOUNT_ID = r"[0-9]{12}"
# A desktop user's name in the directory, and an AD Connector's service account.
DIRECTORY_USER = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
AD_SERVICE_ACCOUNT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def anchored(pattern: str) -> str:
    """`pattern` matching a whole string, as pydantic's `Field(pattern=...)` searches."""
    return f"^{pattern}$"
