"""A TCP echo server and a client that holds one connection open, for the namespace tests that
send real TCP through hubs' rendered rulesets (run with `ip netns exec ... python -c`)."""

from __future__ import annotations

import subprocess
import sys

# Echo server: answers every byte until the client closes or stays silent for argv[3] seconds;
# prints "listening" once bound.
SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(float(sys.argv[3]))
    try:
        while (data := c.recv(65536)):
            c.sendall(data)
    except OSError:
        pass
    c.close()
"""

# Client: connects from argv[1] to argv[2]:argv[3], sends 64 KiB per line it reads on stdin and
# prints "echoed" (or what went wrong) for each; the connection stays open between lines.
CLIENT = r"""
import socket, sys
c = socket.socket(); c.bind((sys.argv[1], 0)); c.settimeout(6)
try:
    c.connect((sys.argv[2], int(sys.argv[3])))
except OSError as error:
    print(f"connect {error}", flush=True); sys.exit(1)
print("connected", flush=True)
payload = bytes(range(256)) * 256
for _ in sys.stdin:
    try:
        c.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        print("echoed" if got == payload else f"short {len(got)}", flush=True)
    except OSError as error:
        print(f"error {error}", flush=True)
"""


def exchange(client: subprocess.Popen[str]) -> str:
    """64 KiB out and back over the client's open connection: "echoed" when all came back."""
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write("go\n")
    client.stdin.flush()
    return client.stdout.readline().strip()


def serve(namespace: str, address: str, port: int, idle_seconds: float = 8) -> subprocess.Popen[str]:
    """SERVER in `namespace` at `address`:`port`, once it listens; a connection silent for
    `idle_seconds` is closed."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", SERVER, address, str(port), str(idle_seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"
    return server


def connect(namespace: str, source: str, destination: str, port: int) -> subprocess.Popen[str]:
    """CLIENT in `namespace`, from `source` to `destination`:`port` (it prints "connected" first)."""
    return subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", CLIENT, source, destination, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
