"""A real `storestack` command in its own process, held still at one point of its work and killed
there outright (SIGKILL: the OOM killer, a CI job's timeout), which runs no clean-up of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

# `python -c RUN_CLI ARGS…`: `storestack ARGS…` in a process of its own (the test's interpreter).
RUN_CLI = "import sys; from storestack.cli.main import cli; cli.main(sys.argv[1:], prog_name='storestack')"
# Runs the CLI with `argv`, once `hold` (Python source) has been run to put the hold in place.
# The hold writes its process id to `mark` (argv[1]) and sleeps; nothing else of the command changes.
HELD_CLI = """
import os, sys, time
from pathlib import Path
mark = Path(sys.argv[1])
def hold():
    mark.write_text(str(os.getpid()))
    time.sleep(600)
{hold}
from storestack.cli.main import cli
cli.main(sys.argv[2:], prog_name="storestack")
"""


def killed_when_held(hold: str, argv: list[str], mark: Path, env: dict[str, str] | None = None) -> None:
    """Run `storestack argv` with `hold` (source calling `hold()` where the command is to stop),
    wait until it is held (`mark` written), SIGKILL it and reap it; `mark` removed again."""
    mark.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", HELD_CLI.format(hold=hold), str(mark), *argv],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_hold(process, mark)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    mark.unlink()


def wait_for_hold(process: subprocess.Popen[bytes], mark: Path) -> None:
    """Wait until `process` (run with `HELD_CLI`) is held: its `mark` written."""
    deadline = time.monotonic() + 120
    while not mark.exists():
        assert process.poll() is None, "the held run ended before it was held"
        assert time.monotonic() < deadline, "the held run never reached its hold"
        time.sleep(0.05)
