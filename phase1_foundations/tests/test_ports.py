"""Ports handed out to parallel processes never collide, and a claim expires."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from phase1_foundations.ports import CLAIM_SECONDS, claim_port, claimed_socket, free_port

HANDOUTS_PER_PROCESS = 150
PROCESSES = 4


def test_a_claimed_port_is_refused_until_the_claim_expires(tmp_path: Path) -> None:
    assert claim_port(40000, tmp_path, now=1_000.0)
    assert not claim_port(40000, tmp_path, now=1_000.0 + CLAIM_SECONDS - 1)  # still claimed
    assert claim_port(40000, tmp_path, now=1_000.0 + CLAIM_SECONDS + 1)  # expired, taken again
    assert claim_port(40001, tmp_path, now=1_000.0)  # a different port is its own claim


def test_parallel_processes_never_get_the_same_port(tmp_path: Path) -> None:
    """Without the claims, bind-to-0-then-close hands the same number out twice under load
    (what broke the CI run: one test polled another test's server)."""
    script = (
        "import sys; from pathlib import Path; from phase1_foundations.ports import free_port; "
        f"print(*(free_port(Path(sys.argv[1])) for _ in range({HANDOUTS_PER_PROCESS})))"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    ports = [int(p) for w in workers for p in w.communicate(timeout=120)[0].split()]
    assert all(w.returncode == 0 for w in workers)
    assert len(ports) == PROCESSES * HANDOUTS_PER_PROCESS
    assert len(set(ports)) == len(ports)  # no port handed out twice
    assert {int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()} == set(ports)


def test_the_port_is_free_and_the_socket_is_bound_to_it(tmp_path: Path) -> None:
    port = free_port(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # nothing listens there
    with claimed_socket(tmp_path) as held:
        assert (tmp_path / str(held.getsockname()[1])).is_file()
        assert held.getsockname()[1] != port  # the first claim still holds
