"""A fresh copy of the project to run lesson commands in and to break, as a learner's clone.

The copy holds what a new user gets from git (tracked files, plus new ones not committed yet), the
raw data, a git repository of its own, and its own `.venv`, which `make setup` fills from uv's
cache by hard links (seconds, not minutes). A bootstrapped clone also links the compiled modules
this checkout already has (its `.venv`'s and the project's own), where each still matches its
source, so its processes do not compile again what the suite's have compiled; a bare clone
(``bootstrap=False``) compiles as a new user's first commands do. Commands run there may break
the environment, the data or the code without touching this checkout or its `.venv`. Servers
started there run in a session of their own, so stopping them stops every process they started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.telco import CSV_SHA256, raw_dir

COMMAND_TIMEOUT_S = 900
STOP_TIMEOUT_S = 60
# Variables of the caller (a shell, make, pytest) that would point the clone at this checkout.
DROPPED_PREFIXES = ("MLOPS_", "MLFLOW_", "PYTEST_")
DROPPED_NAMES = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "CONDA_PREFIX",
    "UV",
    "UV_PROJECT_ENVIRONMENT",
    "PROMETHEUS_MULTIPROC_DIR",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
    "MAKEOVERRIDES",
)


def locked_uv() -> Path:
    """The uv binary this environment has (the locked one), else the one on PATH."""
    for candidate in (Path(sys.prefix) / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise FileNotFoundError("no uv binary: run `make setup`")


def project_files() -> list[str]:
    """What a clone holds: tracked files and new files git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [name for name in listed.split("\0") if name and (PROJECT_ROOT / name).is_file()]


def clean_env() -> dict[str, str]:
    """The caller's environment without this checkout on PATH or in settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(DROPPED_PREFIXES) and name not in DROPPED_NAMES
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(PROJECT_ROOT))]
    env["PATH"] = os.pathsep.join(path)
    return env


@dataclass
class Clone:
    root: Path
    env: dict[str, str]

    def sh(
        self, command: str, timeout: float = COMMAND_TIMEOUT_S, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as a lesson writes it, in bash, after `source .venv/bin/activate`."""
        return subprocess.run(
            ["bash", "-c", f"source .venv/bin/activate && {command}"],
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def make(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_S, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run make in the clone, from a plain shell (no environment activated)."""
        return subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, args: list[str], log: Path, **env: str) -> Session:
        """Start a long-running command (a server) in a session of its own."""
        marker = f"{self.root.name}-{time.monotonic_ns()}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args,
                cwd=self.root,
                env={**self.env, **env, SESSION_MARKER: marker},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Session(process, marker, log)

    def edit(self, relative: str, old: str, new: str) -> None:
        """Replace one exact piece of a file, as a learner's edit would."""
        path = self.root / relative
        text = path.read_text()
        assert text.count(old) == 1, f"{relative} no longer holds {old!r} exactly once"
        path.write_text(text.replace(old, new))


SESSION_MARKER = "MLOPS_TEST_SESSION"


def processes_marked(marker: str) -> list[int]:
    """Processes whose environment carries the marker: everything a session started, even
    processes that left its session or process group."""
    found = []
    needle = f"{SESSION_MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def processes_in_session(session_id: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id:  # state ppid pgrp session: the 4th field after comm
            found.append(int(entry.name))
    return found


@dataclass
class Session:
    process: subprocess.Popen[bytes]
    marker: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def processes(self) -> list[int]:
        """Every live process this session started (zombies of our own child excluded)."""
        alive = set(processes_marked(self.marker)) | set(processes_in_session(self.process.pid))
        if self.process.poll() is not None:
            alive.discard(self.process.pid)
        return sorted(alive)

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.log()}")
            if ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"not ready after {timeout:.0f}s:\n{self.log()[-4000:]}")

    def interrupt(self) -> None:
        """Ctrl-C in a terminal: SIGINT to the whole foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def terminate(self) -> None:
        """SIGTERM to make alone, as a supervisor or `kill PID` would send it."""
        self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_S) -> list[int]:
        """Wait for every process of the session to end; return those still running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not self.processes():
                return []
            time.sleep(0.5)
        return self.processes()

    def kill(self) -> None:
        """Last resort after a test: SIGKILL everything the session started."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)


def make_clone(target: Path, bootstrap: bool = True) -> Clone:
    """Copy the project into ``target``; with ``bootstrap``, run `make data` there as a user would.

    uv is not installed system-wide for the clone: `.tools/bin/uv` (where the Makefile puts its
    own copy) links to this environment's locked uv, so no network is needed.
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, destination)
    data = target / "data" / "raw" / "telco"
    data.mkdir(parents=True, exist_ok=True)
    for name in CSV_SHA256:
        shutil.copy2(raw_dir() / name, data / name)
    tools = target / ".tools" / "bin"
    tools.mkdir(parents=True, exist_ok=True)
    (tools / "uv").symlink_to(locked_uv())
    env = clean_env()
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *command], cwd=target, env=env, check=True, timeout=120)
    clone = Clone(target, env)
    if bootstrap:
        link_environment(clone)
        done = clone.make("data")
        assert done.returncode == 0, f"make data failed in the clone:\n{done.stdout}\n{done.stderr}"
    return clone


def link_environment(clone: Clone) -> None:
    """Give the clone its `.venv` (uv's sync, as `make setup` runs it) and the modules this
    checkout has compiled so far, by hard link: the clone's processes compile only the rest."""
    uv = clone.root / ".tools" / "bin" / "uv"
    synced = subprocess.run(
        [str(uv), "sync", "--frozen", "--all-extras", "--quiet"],
        cwd=clone.root,
        env=clone.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert synced.returncode == 0, f"uv sync failed in the clone:\n{synced.stderr}"
    link_bytecode(PROJECT_ROOT / ".venv", clone.root / ".venv")
    link_bytecode(PROJECT_ROOT, clone.root, skip=(".venv",))


def link_bytecode(source: Path, target: Path, skip: tuple[str, ...] = ()) -> int:
    """Hard-link each ``__pycache__/*.pyc`` under ``source`` to the same place under ``target``
    when the module beside it there has the size and modification time the compiled file was
    made from (what Python checks before it trusts a .pyc); return how many were linked."""
    linked = 0
    for directory, subdirs, files in os.walk(source):
        subdirs[:] = [d for d in subdirs if d not in skip and not d.startswith(".git")]
        if Path(directory).name != "__pycache__":
            continue
        cache = Path(directory)
        module_dir = target / cache.parent.relative_to(source)
        for name in files:
            module = module_dir / f"{name.split('.', 1)[0]}.py"
            original = cache.parent / module.name
            if not name.endswith(".pyc") or not module.is_file() or not original.is_file():
                continue
            there, here = module.stat(), original.stat()
            if (there.st_size, int(there.st_mtime)) != (here.st_size, int(here.st_mtime)):
                continue
            destination = module_dir / "__pycache__" / name
            if destination.exists():
                continue
            destination.parent.mkdir(exist_ok=True)
            try:
                os.link(cache / name, destination)
            except (FileExistsError, FileNotFoundError):
                continue  # the clone or this checkout compiled it meanwhile
            except OSError:  # another filesystem: copy instead
                shutil.copy2(cache / name, destination)
            linked += 1
    return linked
