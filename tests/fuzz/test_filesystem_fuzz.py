"""A file-system fuzzer for the fleet reader: links, special files, permissions, encodings.

Each example lays a few hostile file-system changes over a valid fleet and runs
`storestack inventory validate` (text and --json) on it. Whatever the changes, the command
must end with an exit code and one-line issues (no traceback), in bounded time (a FIFO or a
device must never be waited on or read to the end), without echoing any content from outside
the fleet or from a file that is not text, and without writing anything anywhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storestack.cli.main import cli

BASE = Path(__file__).parents[1] / "inventory" / "fixtures" / "base"
FOREIGN = "F0REIGN-c0ntent-never-shown"
SECONDS = 30

Mutation = Callable[[Path, Path], None]  # (fleet directory, a directory outside it)


def _outside_file(outside: Path, name: str = "secret.yaml") -> Path:
    path = outside / name
    path.write_text(f"{FOREIGN}: {FOREIGN}\nid: sh-0001\npassword: {FOREIGN}\n")
    return path


def _target(fleet: Path, which: str) -> Path:
    return {
        "store": fleet / "stores" / "sh-0002.yaml",
        "new-store": fleet / "stores" / "zz-0001.yaml",
        "fleet": fleet / "fleet.yaml",
        "lock": fleet / "allocations.yaml",
    }[which]


def _replace(path: Path) -> Path:
    """`path`, with whatever was there (file, link, FIFO, socket, device, folder) removed."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    if not os.path.lexists(path.parent):  # an earlier change removed the stores folder
        path.parent.mkdir(parents=True)
    return path


def link_outside(which: str) -> Mutation:
    return lambda fleet, outside: _replace(_target(fleet, which)).symlink_to(_outside_file(outside))


def link_to_device(which: str) -> Mutation:
    return lambda fleet, outside: _replace(_target(fleet, which)).symlink_to("/dev/zero")


def fifo(which: str) -> Mutation:
    return lambda fleet, outside: os.mkfifo(_replace(_target(fleet, which)))


def device_inside(which: str) -> Mutation:
    def mutate(fleet: Path, outside: Path) -> None:
        os.mknod(_replace(_target(fleet, which)), 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero

    return mutate


def unix_socket(which: str) -> Mutation:
    def mutate(fleet: Path, outside: Path) -> None:
        path = _replace(_target(fleet, which))
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))

    return mutate


def link_loop(which: str) -> Mutation:
    def mutate(fleet: Path, outside: Path) -> None:
        path = _replace(_target(fleet, which))
        path.symlink_to(path.name + ".loop")
        path.with_name(path.name + ".loop").symlink_to(path.name)

    return mutate


def dangling(which: str) -> Mutation:
    return lambda fleet, outside: _replace(_target(fleet, which)).symlink_to(outside / "gone.yaml")


def directory(which: str) -> Mutation:
    return lambda fleet, outside: _replace(_target(fleet, which)).mkdir()


def no_permission(which: str) -> Mutation:
    def mutate(fleet: Path, outside: Path) -> None:
        path = _target(fleet, which)
        if path.is_file():
            path.chmod(0)

    return mutate


def sparse_huge(which: str) -> Mutation:
    def mutate(fleet: Path, outside: Path) -> None:
        with open(_replace(_target(fleet, which)), "wb") as handle:
            handle.truncate(32 * 1024**3)

    return mutate


ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-32": lambda text: text.encode("utf-32"),
    "latin-1": lambda text: (text + "caf\xe9\n").encode("latin-1"),
    "nul": lambda text: text.encode() + b"\x00" + FOREIGN.encode(),
    "binary": lambda text: bytes(range(256)) + FOREIGN.encode(),
    "bad-utf8": lambda text: b"\xff\xfe\xc3(" + FOREIGN.encode(),
}


def encoded(which: str, encoding: str) -> Mutation:
    def mutate(fleet: Path, outside: Path) -> None:
        path = _target(fleet, which)
        original = BASE / os.path.relpath(path, fleet)
        text = original.read_text() if original.is_file() else "id: zz-0001\n"
        _replace(path).write_bytes(ENCODINGS[encoding](f"# {FOREIGN}\n{text}"))

    return mutate


def stores_linked_outside(fleet: Path, outside: Path) -> None:
    copy = outside / "stores"
    shutil.copytree(BASE / "stores", copy)
    (copy / "sh-0009.yaml").write_text(f"id: sh-0009\n{FOREIGN}: 1\n")
    _replace(fleet / "stores").symlink_to(copy)


def fleet_linked_outside(fleet: Path, outside: Path) -> None:
    copy = outside / "whole-fleet"
    shutil.copytree(BASE, copy)
    _replace(fleet / "fleet.yaml").symlink_to(copy / "fleet.yaml")


def store_in_subfolder(fleet: Path, outside: Path) -> None:
    (fleet / "stores" / "north").mkdir(exist_ok=True)
    (fleet / "stores" / "north" / "sh-0005.yaml").write_text((BASE / "stores" / "sh-0002.yaml").read_text())


def wrong_extension(fleet: Path, outside: Path) -> None:
    shutil.copy(BASE / "stores" / "sh-0002.yaml", fleet / "stores" / "sh-0006.yml")


def stores_missing(fleet: Path, outside: Path) -> None:
    _replace(fleet / "stores")


WHICH = ["store", "new-store", "fleet", "lock"]
MUTATIONS: list[Mutation] = [
    *(
        factory(which)
        for factory in (link_outside, link_to_device, fifo, device_inside, unix_socket)
        for which in WHICH
    ),
    *(
        factory(which)
        for factory in (link_loop, dangling, directory, no_permission, sparse_huge)
        for which in WHICH
    ),
    *(encoded(which, encoding) for which in WHICH for encoding in ENCODINGS),
    stores_linked_outside,
    fleet_linked_outside,
    store_in_subfolder,
    wrong_extension,
    stores_missing,
]


class TookTooLong(Exception):
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TookTooLong(f"validate ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(*roots: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under `roots` (links not followed): type and size and modification time."""
    seen: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in dirnames + filenames:
                info = os.lstat(os.path.join(dirpath, name))
                seen[os.path.join(dirpath, name)] = (
                    stat.S_IFMT(info.st_mode),
                    info.st_size,
                    info.st_mtime_ns,
                )
    return seen


@pytest.mark.skipif(os.geteuid() != 0, reason="device nodes need root (the lab machines run as root)")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(range(len(MUTATIONS))), min_size=1, max_size=3, unique=True))
def test_hostile_file_systems_fail_closed(
    tmp_path_factory: pytest.TempPathFactory, chosen: list[int]
) -> None:
    root = tmp_path_factory.mktemp("fsfuzz")
    fleet, outside = root / "fleet", root / "outside"
    shutil.copytree(BASE, fleet)
    outside.mkdir()
    for index in chosen:
        MUTATIONS[index](fleet, outside)
    before = snapshot(root)
    cwd_before = sorted(os.listdir("."))
    runner = CliRunner()
    for extra in ((), ("--json",)):
        with deadline(SECONDS):
            result = runner.invoke(cli, ["inventory", "validate", str(fleet), *extra])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output
        assert FOREIGN not in result.output, result.output
    assert snapshot(root) == before
    assert sorted(os.listdir(".")) == cwd_before
