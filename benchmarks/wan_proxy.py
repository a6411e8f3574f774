"""A user-space TCP delay proxy on loopback: a WAN's round trip for the push benchmark.

This kernel has no `sch_netem`, so the WAN is made in user space: one listener on 127.0.0.1 per
upstream port, and every chunk read from either side is held RTT/2 before it is written to the
other side. Delays do not add up for pipelined data (each chunk is due RTT/2 after it arrived),
so the proxy behaves like a long, fat pipe, not like a slow one.

It counts what a WAN charges for: round trips. A round trip is one request→response turnaround
on a connection: the client sends after it has received something since it last sent (the TCP
handshake, SSH's key exchange and every command that waits for its answer each cost one).

Bounded: at most `max_pending` chunks wait per direction and connection (the reader stops
reading when they are queued), at most `max_connections` connections per listener.

It runs in a process of its own, so its CPU time is never counted as the tool's:

    with DelayProxyProcess(rtt_ms=80, upstreams=[("127.0.0.1", 2201), …]) as proxy:
        port = proxy.ports[("127.0.0.1", 2201)]   # connect here instead
        ...
        proxy.take_stats()  # {listen port: {"connections", "round_trips", "bytes_up", "bytes_down"}}, reset
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024


@dataclass
class PortStats:
    connections: int = 0
    round_trips: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class _Turnarounds:
    """Counts request→response turnarounds of one connection."""

    def __init__(self, stats: PortStats) -> None:
        self.stats = stats
        self.received_since_sent = True  # the client's first bytes start the first round trip

    def client_sent(self) -> None:
        if self.received_since_sent:
            self.stats.round_trips += 1
            self.received_since_sent = False

    def server_sent(self) -> None:
        self.received_since_sent = True


class DelayProxy:
    """The proxy itself, on the running asyncio loop."""

    def __init__(self, rtt_ms: float, *, max_pending: int = 64, max_connections: int = 64) -> None:
        if rtt_ms < 0:
            raise ValueError("rtt_ms cannot be negative")
        self.one_way = rtt_ms / 2000.0
        self.max_pending = max_pending
        self.max_connections = max_connections
        self.stats: dict[int, PortStats] = {}
        self._open: dict[int, int] = {}
        self._servers: list[asyncio.Server] = []

    async def listen(self, upstream_host: str, upstream_port: int) -> int:
        """A new loopback listener forwarding to the upstream; returns its port."""
        holder: dict[str, int] = {}

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # Connections still open when the proxy stops are cancelled: that is their end.
            with contextlib.suppress(asyncio.CancelledError):
                await self._connection(holder["port"], reader, writer, upstream_host, upstream_port)

        server = await asyncio.start_server(handle, LOOPBACK, 0)
        port = int(server.sockets[0].getsockname()[1])
        holder["port"] = port
        self.stats[port] = PortStats()
        self._open[port] = 0
        self._servers.append(server)
        return port

    def take_stats(self) -> dict[int, dict[str, int]]:
        taken = {port: asdict(stats) for port, stats in self.stats.items()}
        for port in self.stats:
            self.stats[port] = PortStats()
        return taken

    async def _connection(
        self,
        port: int,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_host: str,
        upstream_port: int,
    ) -> None:
        if self._open[port] >= self.max_connections:
            client_writer.close()
            return
        self._open[port] += 1
        try:
            try:
                server_reader, server_writer = await asyncio.open_connection(upstream_host, upstream_port)
            except OSError:
                client_writer.close()
                return
            # The SYN and its SYN-ACK: the TCP handshake is a round trip before any byte.
            await asyncio.sleep(2 * self.one_way)
            stats = self.stats[port]
            stats.connections += 1
            turns = _Turnarounds(stats)
            upstream = self._pump(client_reader, server_writer, turns.client_sent, lambda n: _add_up(stats, n))
            downstream = self._pump(server_reader, client_writer, turns.server_sent, lambda n: _add_down(stats, n))
            await asyncio.gather(upstream, downstream, return_exceptions=True)
        finally:
            self._open[port] -= 1
            client_writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_chunk: Any,
        count: Any,
    ) -> None:
        """Read chunks as they come; write each one RTT/2 after it arrived, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(self.max_pending)
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                if writer.can_write_eof():
                    writer.write_eof()

        delivery = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                if data:
                    on_chunk()
                    count(len(data))
                await queue.put((loop.time() + self.one_way, data))
                if not data:
                    break
        except (ConnectionError, OSError):
            await queue.put((loop.time(), b""))
        try:
            await delivery
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


def _add_up(stats: PortStats, size: int) -> None:
    stats.bytes_up += size


def _add_down(stats: PortStats, size: int) -> None:
    stats.bytes_down += size


def _serve(rtt_ms: float, upstreams: list[tuple[str, int]], control: Connection) -> None:
    """The proxy process: listeners for every upstream, then commands from the pipe."""

    async def main() -> None:
        proxy = DelayProxy(rtt_ms)
        ports = [await proxy.listen(host, port) for host, port in upstreams]
        control.send(ports)
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, _receive, control)
            if command == "stats":
                control.send(proxy.take_stats())
            else:
                return

    asyncio.run(main())


def _receive(control: Connection) -> str:
    try:
        return str(control.recv())
    except EOFError:
        return "stop"


class DelayProxyProcess:
    """The proxy in a process of its own (its CPU is not the tool's); a context manager."""

    def __init__(self, rtt_ms: float, upstreams: list[tuple[str, int]]) -> None:
        self.rtt_ms = rtt_ms
        self.upstreams = list(upstreams)
        self.ports: dict[tuple[str, int], int] = {}
        self._control: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def __enter__(self) -> DelayProxyProcess:
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        self._process = context.Process(target=_serve, args=(self.rtt_ms, self.upstreams, there), daemon=True)
        self._process.start()
        self._control = here
        if not here.poll(30):
            self.__exit__(None, None, None)
            raise RuntimeError("the WAN delay proxy did not start")
        self.ports = dict(zip(self.upstreams, here.recv(), strict=True))
        return self

    def take_stats(self) -> dict[int, dict[str, int]]:
        """Counts per listener port since the last call; resets them."""
        assert self._control is not None
        self._control.send("stats")
        return dict(self._control.recv())

    def cpu_seconds(self) -> float:
        """CPU the proxy process used so far (read from /proc; 0.0 when unavailable)."""
        if self._process is None or self._process.pid is None:
            return 0.0
        try:
            with open(f"/proc/{self._process.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._control is not None:
            with contextlib.suppress(OSError, BrokenPipeError):
                self._control.send("stop")
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=5)
            self._process = None


def _self_test() -> None:
    """Measure one echo round trip through the proxy (`python benchmarks/wan_proxy.py`)."""
    import socket
    import threading

    echo = socket.create_server((LOOPBACK, 0))
    echo_port = echo.getsockname()[1]

    def serve() -> None:
        connection, _ = echo.accept()
        with connection:
            while data := connection.recv(CHUNK):
                connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    with DelayProxyProcess(80, [(LOOPBACK, echo_port)]) as proxy:
        with socket.create_connection((LOOPBACK, proxy.ports[(LOOPBACK, echo_port)])) as client:
            started = time.perf_counter()
            for _ in range(5):
                client.sendall(b"ping")
                client.recv(16)
            print(f"5 echoes: {time.perf_counter() - started:.3f} s (expect about 0.4 s at 80 ms RTT)")
        time.sleep(0.2)
        print(proxy.take_stats())


if __name__ == "__main__":
    _self_test()
