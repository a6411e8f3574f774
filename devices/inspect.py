"""Read-only access to appliances over the push engine's session: fetch the running config, run
show commands. Nothing here enters configuration mode.

Drift detection and rollout verification use it, so they connect exactly as a push does: the same
host-key verification, credentials, bounded waits and redaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from storestack.devices.companions import CompanionChange, parse_digests, plan_companions
from storestack.devices.configdiff import redactor_for
from storestack.devices.drivers import companion_delivery_for
from storestack.devices.push import PushContext
from storestack.devices.session import ApplianceSession
from storestack.devices.targets import ApplianceTarget


def open_session(target: ApplianceTarget, context: PushContext) -> ApplianceSession:
    """A session opened as the push engine opens one. Raises PushError (connect, host key, auth)."""
    credentials = context.credentials.resolve(target.credentials)
    return ApplianceSession(
        target,
        credentials,
        options=context.options.session,
        known_hosts=context.known_hosts,
        redactor=redactor_for(target.platform),
    ).open()


@contextmanager
def read_only_session(target: ApplianceTarget, context: PushContext) -> Iterator[ApplianceSession]:
    """An open session to `target`, closed on exit."""
    session = open_session(target, context)
    try:
        yield session
    finally:
        session.close()


def fetch_running(target: ApplianceTarget, context: PushContext) -> str:
    """The appliance's running config (it may hold secrets: show it only through a Redactor)."""
    with read_only_session(target, context) as session:
        return session.running_config()


def fetch_state(
    target: ApplianceTarget, context: PushContext, companions: Sequence[tuple[str, str]] = ()
) -> tuple[str, frozenset[str] | None, list[CompanionChange]]:
    """The running config, what the appliance lists of the lines its running config never shows
    (`PlatformDriver.unshown_listing`; None where it has none) and, where the platform delivers
    companion files, each rendered companion against the appliance's file (the text read only
    where the digest differs; it may hold secrets: show it only through a Redactor). The
    listing and the digests ride along with the running-config read."""
    delivery = companion_delivery_for(target.platform) if companions else None
    with read_only_session(target, context) as session:
        digests = (
            session.start_host_file_command(delivery.digests, "reading the companion files' digests")
            if delivery is not None
            else None
        )
        running, listed, _ = session.running_and_listed()
        if digests is None or delivery is None:
            return running, listed, []
        changes = plan_companions(companions, parse_digests(digests.result(), target.name))
        reads = [
            (change, session.start_host_file_command(delivery.read.replace("{name}", change.name), f"reading {change.name}"))
            for change in changes
            if change.pending and change.before_digest is not None
        ]
        for change, read in reads:
            change.before_text = read.result()
        return running, listed, changes


class ShowSessions:
    """Sessions kept open per appliance for repeated show commands (verification polls).

    Thread-safe: one session per appliance, used by one caller at a time. A session that broke
    is replaced on the next command. Close with `close()` or use as a context manager.
    """

    def __init__(self, context: PushContext) -> None:
        self.context = context
        self._sessions: dict[str, ApplianceSession] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def show(self, target: ApplianceTarget, command: str) -> str:
        return self.show_many(target, [command])[0]

    def show_many(self, target: ApplianceTarget, commands: Sequence[str]) -> list[str]:
        """Show commands in one exchange with the appliance (one round trip for all)."""
        with self._lock_for(target.name):
            session = self._sessions.get(target.name)
            if session is None or not session.usable:
                if session is not None:
                    session.close()
                session = open_session(target, self.context)
                self._sessions[target.name] = session
            return session.commands(commands)

    def close(self) -> None:
        with self._guard:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def __enter__(self) -> ShowSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
