"""A throwaway PostgreSQL server for tests: initdb, start on 127.0.0.1, create a database, stop.

PostgreSQL refuses to run as root, and CI runs the tests as root, so there every server command
runs as an unprivileged user that owns the server's directory.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from phase1_foundations.ports import free_port

SUPERUSER = "mlflow"
# Users that may own the server when the tests run as root, most fitting first.
SERVER_USERS = ("postgres", "nobody")
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120


class PostgresError(RuntimeError):
    """The throwaway server could not be set up."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens, where it keeps its files, and one database's URI."""

    port: int
    base_dir: Path
    database: str

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def uri(self) -> str:
        """The plain URI a user would set as MLFLOW_TRACKING_URI (psycopg 3 serves it)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{self.database}"

    def connect(self, database: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            dbname=database or self.database,
            connect_timeout=10,
        )


def server_user() -> str | None:
    """The user to run the server as: None to run as ourselves, which root may not."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresError(f"running as root and none of {SERVER_USERS} exists to own the server")


def as_user(command: list[str], user: str | None) -> list[str]:
    if user is None:
        return command
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *command]
    # `nobody` has no login shell, so su needs one named.
    return ["su", "-s", "/bin/sh", user, "-c", shlex.join(command)]


def run_server_command(
    command: list[str], user: str | None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    # cwd is the server's own directory: the server user may not be able to enter ours.
    return subprocess.run(
        as_user(command, user),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def require_ok(done: subprocess.CompletedProcess[str], what: str, log: Path | None = None) -> None:
    if done.returncode == 0:
        return
    log_text = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise PostgresError(
        f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        f"\n{log_text}"
    )


@contextmanager
def running_postgres(bin_dir: Path, database: str = "mlflow") -> Iterator[PostgresServer]:
    """Start a fresh server with ``database`` created; stop it and delete its files on exit.

    Trust auth is safe here: the server listens only on 127.0.0.1, and its unix socket lives in
    its own 0700 directory rather than /var/run/postgresql.
    """
    user = server_user()
    # Under /tmp, not pytest's tmp_path: pytest's base directory is 0700 and root's, so the
    # server user could not enter it, and the socket path must stay under ~100 characters.
    base_dir = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    server = PostgresServer(port=free_port(), base_dir=base_dir, database=database)
    log = base_dir / "server.log"
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(base_dir, entry.pw_uid, entry.pw_gid)
        initdb = [
            str(bin_dir / "initdb"),
            f"--pgdata={server.data_dir}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        require_ok(run_server_command(initdb, user, base_dir), "initdb")
        # fsync off: the data is thrown away, and syncing is most of a migration's time.
        options = f"-k {base_dir} -h 127.0.0.1 -p {server.port} -F"
        start = [
            str(bin_dir / "pg_ctl"),
            "start",
            f"--pgdata={server.data_dir}",
            f"--log={log}",
            f"--options={options}",
            "--wait",
            f"--timeout={START_TIMEOUT_S}",
        ]
        require_ok(run_server_command(start, user, base_dir), "pg_ctl start", log)
        admin = server.connect("postgres")
        try:
            admin.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{database}"')
        finally:
            admin.close()
        yield server
    finally:
        stop_postgres(server, bin_dir, user)
        shutil.rmtree(base_dir, ignore_errors=True)


def stop_postgres(server: PostgresServer, bin_dir: Path, user: str | None) -> None:
    """Stop the server if it runs: fast (disconnects clients), then immediate if that fails."""
    if not (server.data_dir / "postmaster.pid").exists():
        return
    for mode in ("fast", "immediate"):
        stop = [
            str(bin_dir / "pg_ctl"),
            "stop",
            f"--pgdata={server.data_dir}",
            f"--mode={mode}",
            "--wait",
        ]
        if run_server_command(stop, user, server.base_dir).returncode == 0:
            return
