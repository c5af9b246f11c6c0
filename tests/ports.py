"""Free local ports for the servers the tests start."""

import random
import socket
from pathlib import Path

# The kernel gives each outgoing connection a source port from its ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default). A port from bind(0) comes from
# that range, so between the pick and the server's bind one of the many client connections the
# tests make could take it ("Address already in use"). Ports below the range are never given out
# that way.
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_FIRST = 20000
_given: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A local port nothing listens on, below the ephemeral range, not handed out before by this
    process (two servers started together are never given the same one)."""
    ports = range(_FIRST, max(_ephemeral_start(), _FIRST + 1000))
    for _ in range(200):
        port = random.choice(ports)
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError("no free local port below the ephemeral range")
