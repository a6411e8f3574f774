"""Secret references (`env:NAME`, `file:/path`): the one parser, the fleet's rule, and reading one.

An inventory never holds a secret, only where to find it. Where may be an environment variable
whose name carries the fleet's prefix (default `STORESTACK_`, so a reference can never pick up
`PULUMI_CONFIG_PASSPHRASE` or `AWS_SECRET_ACCESS_KEY`), or a file of mode 0600 inside one of the
directories the fleet allows. Messages name the reference, never the value.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from typing import Literal

DEFAULT_ENV_PREFIX = "STORESTACK_"
MAX_SECRET_FILE_BYTES = 4096
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_FILE_PATH = re.compile(r"/[A-Za-z0-9._/+@=-]{1,254}")


@dataclass(frozen=True)
class SecretRef:
    """A parsed reference: an environment variable or a file."""

    kind: Literal["env", "file"]
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


@dataclass(frozen=True)
class SecretPolicy:
    """What a fleet's references may name: variables with `env_prefix`, files inside `file_dirs`."""

    env_prefix: str = DEFAULT_ENV_PREFIX
    file_dirs: tuple[str, ...] = ()


def parse_secret_ref(text: str) -> SecretRef:
    """`env:NAME` or `file:/absolute/path`; raises ValueError saying what form is expected."""
    kind, separator, target = text.partition(":")
    if separator and kind == "env" and ENV_NAME.fullmatch(target):
        return SecretRef("env", target)
    if separator and kind == "file" and _FILE_PATH.fullmatch(target) and _normal(target):
        return SecretRef("file", target)
    raise ValueError("a secret reference of the form env:NAME or file:/absolute/path")


def _normal(path: str) -> bool:
    """An absolute path without `.`/`..` parts or doubled slashes: it says where it points."""
    return os.path.normpath(path) == path


def policy_problem(ref: SecretRef, policy: SecretPolicy) -> str | None:
    """Why the fleet's rule refuses `ref` (None: it is allowed)."""
    if ref.kind == "env":
        if not ref.target.startswith(policy.env_prefix):
            return (
                f"{ref} names a variable without the fleet's secret prefix {policy.env_prefix!r} "
                "(management.secret_env_prefix)"
            )
        return None
    if not any(_inside(ref.target, directory) for directory in policy.file_dirs):
        allowed = ", ".join(policy.file_dirs) if policy.file_dirs else "none declared"
        return f"{ref} is not inside a secret directory of the fleet (management.secret_file_dirs: {allowed})"
    return None


def _inside(path: str, directory: str) -> bool:
    directory = directory.rstrip("/") or "/"
    return path.startswith(directory + "/") or (directory == "/" and path != "/")


def read_secret(ref: SecretRef, policy: SecretPolicy) -> tuple[str | None, str | None]:
    """(value, None), or (None, why it cannot be used). Never raises, never shows the value.

    A file must be a regular file of mode 0600 (or stricter), owned by this user, whose real
    path is still inside an allowed directory: a link cannot lead it elsewhere.
    """
    problem = policy_problem(ref, policy)
    if problem is not None:
        return None, problem
    if ref.kind == "env":
        return os.environ.get(ref.target), None
    real = os.path.realpath(ref.target)
    if not any(_inside(real, os.path.realpath(directory)) for directory in policy.file_dirs):
        return None, f"{ref} resolves outside the fleet's secret directories"
    try:
        descriptor = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    except OSError as exc:
        return None, f"{ref} cannot be read ({exc.strerror})"
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{ref} is not a regular file"
        if info.st_mode & 0o077:
            return None, f"{ref} has mode {stat.S_IMODE(info.st_mode):04o}; secret files must be 0600"
        if info.st_uid != os.geteuid():
            return None, f"{ref} belongs to another user"
        if info.st_size > MAX_SECRET_FILE_BYTES:
            return None, f"{ref} is larger than {MAX_SECRET_FILE_BYTES} bytes"
        raw = os.read(descriptor, MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        return None, f"{ref} cannot be read ({exc.strerror})"
    finally:
        os.close(descriptor)
    try:
        return raw.decode("utf-8").removesuffix("\n"), None
    except UnicodeDecodeError:
        return None, f"{ref} is not UTF-8 text"
