"""The SSH side of the emulator: one listening port per device, all in one asyncio loop.

Connections are accepted by the emulator itself and then handed to asyncssh, which lets it
refuse connections (a bound port that does not listen), delay the SSH banner and choose which
host key to present per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import yaml

with warnings.catch_warnings():
    # asyncssh imports cryptography's DSA classes, which cryptography deprecates; every lab command
    # (`storestack demo`, `lab up`) would print the warnings. No emulator key or client uses DSA.
    warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh\.")
    import asyncssh

from storestack.common.files import atomic_write_text
from storestack.devices.hostkeys import public_key_line_fingerprint
from storestack.devices.targets import ApplianceInventory, ApplianceTarget, CredentialsRef
from storestack.lab.emulator.cli import CliSession, Reply, make_session
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import DeviceFaults, EmulatedDevice, EmulatorSpec
from storestack.lab.errors import LabError

LOOPBACK = "127.0.0.1"
# What the real devices announce in their SSH banner.
CREDENTIALS_FILE = "credentials.yaml"
INVENTORY_FILE = "inventory.yaml"


# Coalesce an emulated device's config writes: at most one per this many seconds of changes.
PERSIST_DELAY = 0.2

class EmulatorError(LabError):
    """The emulator could not start or was asked about a device it does not have."""


class _Device:
    def __init__(self, spec: EmulatedDevice, state: DeviceState) -> None:
        self.spec = spec
        self.state = state
        self.host_key: asyncssh.SSHKey | None = None
        self.impostor_key: asyncssh.SSHKey | None = None
        self.port = spec.port
        self.socket: socket.socket | None = None
        self.accept_task: asyncio.Task[None] | None = None
        self.listening = False


class _Auth(asyncssh.SSHServer):
    def __init__(self, device: _Device, username: str, password: str) -> None:
        self._device = device
        self._username = username
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        with self._device.state.lock:
            refused = self._device.state.faults.reject_auth
        if refused:
            return False
        return secrets.compare_digest(username, self._username) and secrets.compare_digest(
            password, self._password
        )


class Emulator:
    """Many emulated devices, each on its own loopback port, in one event loop.

    Use `EmulatorThread` to run it in the background of a synchronous program (tests).
    """

    def __init__(
        self,
        spec: EmulatorSpec | list[EmulatedDevice],
        *,
        password: str | None = None,
        state_dir: Path | None = None,
        persist_configs: bool = False,
        name: str = "emulator",
    ) -> None:
        self.spec = spec if isinstance(spec, EmulatorSpec) else EmulatorSpec(devices=spec)
        names = [device.name for device in self.spec.devices]
        if len(set(names)) != len(names):
            raise EmulatorError("emulated device names must be unique")
        self.name = name
        self.username = self.spec.username
        self._password = password or secrets.token_urlsafe(18)
        self._own_state_dir = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="storestack-emulator-"))
        self._persist = persist_configs
        self._unwritten: dict[str, DeviceState] = {}  # devices whose last changes await a write
        self._devices: dict[str, _Device] = {}
        for device_spec in self.spec.devices:
            state = DeviceState(device_spec, on_change=self._persist_device if persist_configs else None)
            self._devices[device_spec.name] = _Device(device_spec, state)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.state_dir / CREDENTIALS_FILE,
            yaml.safe_dump({"username": self.username, "password": self._password}),
            mode=0o600,
        )
        for device in self._devices.values():
            device.host_key, device.impostor_key = self._host_keys(device.spec.name)
            self._bind(device)
            self._apply_listening(device)
            if self._persist:
                self._write_device(device.state)
        self.inventory().save(self.state_dir / INVENTORY_FILE)

    async def stop(self) -> None:
        self._flush_unwritten()
        tasks: list[asyncio.Task[Any]] = []
        for device in self._devices.values():
            if device.accept_task is not None:
                tasks.append(device.accept_task)
                device.accept_task = None
            if device.socket is not None:
                device.socket.close()
                device.socket = None
        for connection in list(self._connections):
            connection.abort()
        # Connections and CLI sessions alike: asyncssh leaves a session's task running after its
        # connection is gone (one still waiting out a prompt delay, say), and the loop closes next.
        tasks += self._tasks
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _host_keys(self, name: str) -> tuple[asyncssh.SSHKey, asyncssh.SSHKey]:
        """The device's key (kept in the state dir across restarts) and an impostor's key."""
        key_path = self.state_dir / "keys" / name
        if key_path.exists():
            key = asyncssh.read_private_key(str(key_path))
        else:
            key = asyncssh.generate_private_key("ssh-ed25519")
            key_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(key_path, key.export_private_key().decode("ascii"), mode=0o600)
        return key, asyncssh.generate_private_key("ssh-ed25519")

    def _bind(self, device: _Device) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, device.port))
        except OSError as exc:
            sock.close()
            raise EmulatorError(f"{device.spec.name}: cannot bind port {device.port}: {exc}") from exc
        sock.setblocking(False)
        device.socket = sock
        device.port = sock.getsockname()[1]

    def _apply_listening(self, device: _Device) -> None:
        """Listen, or keep the port bound but deaf so that connections are refused."""
        with device.state.lock:
            refuse = device.state.faults.refuse_connection
        if refuse and device.listening:
            if device.accept_task is not None:
                device.accept_task.cancel()
                device.accept_task = None
            if device.socket is not None:
                device.socket.close()
            device.listening = False
            self._bind(device)
        elif not refuse and not device.listening:
            assert device.socket is not None
            device.socket.listen(128)
            device.listening = True
            device.accept_task = asyncio.get_running_loop().create_task(self._accept(device))

    async def _accept(self, device: _Device) -> None:
        loop = asyncio.get_running_loop()
        assert device.socket is not None
        listener = device.socket
        while True:
            client, _address = await loop.sock_accept(listener)
            self._track(loop.create_task(self._serve(device, client)))

    def _track(self, task: asyncio.Task[Any] | None) -> None:
        """Keep a task of a connection or session until it ends, for `stop` to end it."""
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, device: _Device, client: socket.socket) -> None:
        with device.state.lock:
            faults = device.state.faults
            device.state.sessions += 1
        if device.state.path_cut():
            # The change on the appliance cut the path this connection would arrive on.
            client.close()
            return
        if faults.banner_delay:
            await asyncio.sleep(faults.banner_delay)
        key = device.impostor_key if faults.wrong_host_key else device.host_key
        assert key is not None
        try:
            connection = await asyncssh.run_server(
                client,
                server_factory=lambda: _Auth(device, self.username, self._password),
                server_host_keys=[key],
                process_factory=lambda process: self._session(device, process),
                line_editor=False,
                encoding="utf-8",
                login_timeout=60,
                server_version=device.state.profile.ssh_server_version,
            )
        except (TimeoutError, OSError, asyncssh.Error):
            client.close()
            return
        self._connections.add(connection)
        try:
            await connection.wait_closed()
        finally:
            self._connections.discard(connection)

    async def _session(self, device: _Device, process: asyncssh.SSHServerProcess[str]) -> None:
        self._track(asyncio.current_task())
        session = make_session(device.state)
        with device.state.lock:
            prompt_delay = device.state.faults.prompt_delay
        try:
            if process.command:
                reply = session.handle(process.command)
                process.stdout.write(_crlf(reply.output))
                process.exit(0)
                return
            if prompt_delay:
                await asyncio.sleep(prompt_delay)
            process.stdout.write(_crlf(session.banner()) + session.prompt)
            await self._interact(session, process)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, asyncssh.DisconnectError, OSError):
            pass
        finally:
            if not process.is_closing():
                process.exit(0)

    async def _interact(self, session: CliSession, process: asyncssh.SSHServerProcess[str]) -> None:
        buffer = ""
        previous = ""
        while True:
            try:
                data = await process.stdin.read(4096)
            except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived):
                continue
            if not data:
                return
            # Echo is collected and written once per line or chunk: a client that sends its
            # last command and hangs up must not cause a write per character to a dead socket.
            echo = ""
            for char in data:
                if char == "\n" and previous == "\r":
                    previous = char
                    continue
                previous = char
                if char in "\r\n" or char == "\x1a":
                    # Ctrl+Z leaves configuration mode like `end`.
                    line = buffer if char != "\x1a" else "end"
                    process.stdout.write(echo + "\r\n")
                    echo = ""
                    buffer = ""
                    reply = session.handle(line)
                    if reply.action == "none" and session.device.path_cut():
                        # The line just made live cut the path the session rides on.
                        reply = Reply(reply.output, "drop")
                    if not await self._deliver(session, process, reply):
                        return
                    if process.is_closing():
                        return
                elif char in "\x7f\b":
                    if buffer:
                        buffer = buffer[:-1]
                        echo += "\b \b"
                elif char >= " " or char == "\t":
                    buffer += char
                    echo += char
            if echo:
                process.stdout.write(echo)

    async def _deliver(
        self, session: CliSession, process: asyncssh.SSHServerProcess[str], reply: Reply
    ) -> bool:
        """Write a reply; False when the session is over."""
        if reply.output:
            process.stdout.write(_crlf(reply.output))
        if reply.action == "close":
            process.exit(0)
            return False
        if reply.action == "drop":
            process.get_extra_info("connection").abort()
            return False
        if reply.action == "hang":
            # Never answer again; keep reading so that a closing client is noticed.
            while await process.stdin.read(4096):
                pass
            return False
        if not reply.awaiting_answer:
            process.stdout.write(session.prompt)
        return True

    # -- what tests and the push engine see -------------------------------------------------

    def _device(self, name: str) -> _Device:
        try:
            return self._devices[name]
        except KeyError as exc:
            raise EmulatorError(f"the emulator has no device {name}") from exc

    @property
    def device_names(self) -> list[str]:
        return list(self._devices)

    @property
    def credentials_path(self) -> Path:
        return self.state_dir / CREDENTIALS_FILE

    @property
    def inventory_path(self) -> Path:
        return self.state_dir / INVENTORY_FILE

    def port(self, name: str) -> int:
        return self._device(name).port

    def ports(self) -> dict[str, int]:
        return {name: device.port for name, device in self._devices.items()}

    def host_key_fingerprint(self, name: str) -> str:
        """Its host key's fingerprint, computed as the push engine computes the one it is shown."""
        return public_key_line_fingerprint(self.public_key_line(name))

    def public_key_line(self, name: str) -> str:
        key = self._device(name).host_key
        if key is None:
            raise EmulatorError("the emulator has not started")
        return key.export_public_key("openssh").decode("ascii").strip()

    def inventory(self) -> ApplianceInventory:
        credentials = CredentialsRef(kind="file", path=str(self.credentials_path))
        return ApplianceInventory(
            source=f"lab:{self.name}",
            appliances=[
                ApplianceTarget(
                    name=name,
                    role=device.spec.role,
                    store_id=device.spec.store_id,
                    platform=device.spec.platform,
                    host=LOOPBACK,
                    port=device.port,
                    host_key_fingerprint=self.host_key_fingerprint(name),
                    credentials=credentials,
                )
                for name, device in self._devices.items()
            ],
        )

    def write_known_hosts(self, path: Path) -> None:
        """An OpenSSH known_hosts file with each device's real key ("[127.0.0.1]:port …")."""
        lines = [
            f"[{LOOPBACK}]:{device.port} {self.public_key_line(name)}"
            for name, device in self._devices.items()
        ]
        atomic_write_text(path, "\n".join(lines) + "\n")

    def revert_armed(self, name: str) -> bool:
        """Whether the device has a rollback armed (IOS-XE revert timer) that nobody confirmed yet."""
        return self._device(name).state.revert_armed

    def running_config(self, name: str) -> str:
        """The running config, byte for byte as the device's show command prints it."""
        return self._device(name).state.running_text()

    def startup_config(self, name: str) -> str:
        state = self._device(name).state
        with state.lock:
            return state.startup_text

    def set_running_config(self, name: str, text: str, *, save: bool = False) -> None:
        state = self._device(name).state
        state.set_running_text(text)
        if save:
            state.save()

    def faults(self, name: str) -> DeviceFaults:
        state = self._device(name).state
        with state.lock:
            return state.faults

    def set_faults(self, name: str, faults: DeviceFaults) -> None:
        """Change a device's faults; safe to call from any thread."""
        device = self._device(name)
        with device.state.lock:
            device.state.faults = faults
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._apply_listening(device)
        else:

            async def apply() -> None:
                self._apply_listening(device)

            asyncio.run_coroutine_threadsafe(apply(), loop).result(timeout=10)

    def config_lines_received(self, name: str) -> int:
        state = self._device(name).state
        with state.lock:
            return state.config_lines

    def bgp_refreshes(self, name: str) -> list[tuple[str, str]]:
        """The BGP soft refreshes device `name` ran, as (neighbour, direction), in order."""
        state = self._device(name).state
        with state.lock:
            return list(state.bgp_refreshes)

    def dial_in(self, name: str, identity: str, remote: str) -> str | None:
        """A store link with IKE identity `identity` dials hub `name` from outside address
        `remote` and stays online: its interface's name, None where the hub does not authorize
        it (the profile's `dial_in`; IOS-XE: `profiles/cisco_xe.py` `LIVE_LINKS`)."""
        device = self._device(name)
        if device.state.profile.dial_in is None:
            raise EmulatorError(f"{name} ({device.state.profile.name}) binds no store link dialled in from outside")
        return device.state.profile.dial_in(device.state, identity, remote)

    def live_links(self, name: str) -> dict[str, list[str]]:
        """Hub `name`'s store links up now: identity -> its interface's lines (its interface line
        first), as the hub configured it when the link dialled in."""
        device = self._device(name)
        if device.state.profile.live_links is None:
            return {}
        return device.state.profile.live_links(device.state)

    def _persist_device(self, state: DeviceState) -> None:
        """Called after every config line. Rendering and writing the whole config each time runs
        on the event loop every session shares and grows with the square of a push (a 2,000-line
        push: seconds of CPU), stalling the other appliances' sessions past their read timeouts;
        so the writes of one device are coalesced into one, PERSIST_DELAY after its first
        unwritten change (and whatever is pending is written when the emulator stops)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write_device(state)
            return
        name = state.spec.name
        if name in self._unwritten:
            return
        self._unwritten[name] = state

        def flush() -> None:
            if self._unwritten.pop(name, None) is not None:
                self._write_device(state)

        loop.call_later(PERSIST_DELAY, flush)

    def _flush_unwritten(self) -> None:
        for state in list(self._unwritten.values()):
            self._write_device(state)
        self._unwritten.clear()

    def _write_device(self, state: DeviceState) -> None:
        # A device's configs carry its secrets (pushed passwords, keys, PSKs): owner only. The
        # copies only have to survive an emulator restart, not a power cut: no fsync (still
        # atomic: never a torn file).
        folder = self.state_dir / "devices" / state.spec.name
        atomic_write_text(folder / "running.cfg", state.running_text(), mode=0o600, durable=False)
        with state.lock:
            startup = state.startup_text
        atomic_write_text(folder / "startup.cfg", startup, mode=0o600, durable=False)


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


class EmulatorThread:
    """Runs an Emulator on its own event loop in a daemon thread (for synchronous callers)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"emulator-{emulator.name}", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.emulator.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.emulator.stop())
        self._loop.close()

    def start(self, timeout: float = 30.0) -> Emulator:
        self._thread.start()
        if not self._started.wait(timeout):
            raise EmulatorError(f"emulator did not start within {timeout:g} s")
        if self._error is not None:
            raise EmulatorError(f"emulator failed to start: {self._error}") from self._error
        return self.emulator

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_forever(emulator: Emulator, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set or the process gets SIGINT/SIGTERM (used by the CLI)."""
    import signal

    async def main() -> None:
        done = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, done.set)
        await emulator.start()
        atomic_write_text(emulator.state_dir / "ready", "ready\n")
        try:
            await done.wait()
        finally:
            (emulator.state_dir / "ready").unlink(missing_ok=True)
            await emulator.stop()

    asyncio.run(main())
