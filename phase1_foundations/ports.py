"""TCP ports on 127.0.0.1 that no other process of ours is about to take.

Binding port 0 and closing the socket is the usual way to find a free port, and it leaves a
window: until the server binds, another process asking the same question can be handed the same
number. Parallel test workers fell into it, and one test then polled another test's server. So
every port handed out here is also claimed in a directory shared by all processes on the
machine, under a lock, and a claim is honoured for ``CLAIM_SECONDS``.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import time
from pathlib import Path

LOCALHOST = "127.0.0.1"
CLAIM_SECONDS = 3 * 3600  # longer than any run that holds a port (the CI run is under one hour)
MAX_TRIES = 200


def claims_dir() -> Path:
    return Path(tempfile.gettempdir()) / "mlops-path-ports"


def claim_port(port: int, directory: Path | None = None, now: float | None = None) -> bool:
    """True if ``port`` was unclaimed (or its claim had expired) and is now ours."""
    directory = directory or claims_dir()
    directory.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    claim = directory / str(port)
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if claim.exists() and now - claim.stat().st_mtime < CLAIM_SECONDS:
                return False
            claim.write_text(f"{os.getpid()}\n")
            os.utime(claim, (now, now))
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def claimed_socket(directory: Path | None = None) -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1 that nobody else has claimed."""
    rejected: list[socket.socket] = []  # held open so the kernel cannot offer them again
    try:
        for _ in range(MAX_TRIES):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOCALHOST, 0))
            if claim_port(int(sock.getsockname()[1]), directory):
                return sock
            rejected.append(sock)
    finally:
        for sock in rejected:
            sock.close()
    raise RuntimeError(f"no unclaimed free port on {LOCALHOST} after {MAX_TRIES} tries")


def free_port(directory: Path | None = None) -> int:
    """A port nothing listens on now and no other caller of this function will be given."""
    with claimed_socket(directory) as sock:
        return int(sock.getsockname()[1])
