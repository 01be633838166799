"""CI installs every system part a marked test needs, and only what is missing."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import conftest
from phase1_foundations.settings import PROJECT_ROOT
from testing.images import one_build_at_a_time

CI = PROJECT_ROOT / ".ci" / "run"
# The Debian packages that provide what each marker's tests need.
PACKAGES = {
    "docker": {"docker.io", "debootstrap"},  # debootstrap: the base image without Docker Hub
    "browser": {"chromium", "chromium-driver"},
    "postgres": {"postgresql"},
    "load": {"wrk"},
    "prometheus": {"prometheus"},
}


def plan(path: str) -> set[str]:
    """The packages `.ci/run` would install with this PATH (it installs nothing with --plan)."""
    done = subprocess.run(
        ["/bin/bash", str(CI), "--plan"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(done.stdout.split())


def test_every_marker_has_its_packages() -> None:
    assert set(PACKAGES) == set(conftest.SYSTEM_PARTS)


def test_a_bare_machine_gets_every_part_found_on_path(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    dirname = shutil.which("dirname")
    assert dirname is not None
    (bare / "dirname").symlink_to(dirname)  # all the script needs before it looks around
    wanted = plan(str(bare))
    found_outside_path = {"debootstrap", "postgresql"}  # looked up at Debian's fixed paths
    everything = set().union(*PACKAGES.values())
    assert everything - found_outside_path <= wanted
    assert wanted <= everything


def test_a_machine_that_has_a_part_installs_nothing_for_it() -> None:
    wanted = plan(os.environ["PATH"])
    for marker, (ready, _) in conftest.SYSTEM_PARTS.items():
        if ready() and marker != "docker":  # docker: the daemon may be down while dockerd exists
            assert not PACKAGES[marker] & wanted, f"{marker} is here, yet CI would install it"


def dry_run(*args: str) -> list[str]:
    """The commands `make` would run for ``args`` in the project, without running them."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_ci_calls_make_test_after_installing() -> None:
    script = CI.read_text()
    assert script.index("apt-get install") < script.index("\nmake test\n")


def test_ci_runs_make_checks_static_half_before_the_suite() -> None:
    """Lint, types and workflows are CI's own step (the suite checks only `make check`'s recipe
    and test lane: tests/test_root_readme.py), run before the suite, by the targets `make check`
    runs."""
    script = CI.read_text()
    step = "\nmake lint typecheck actionlint\n"
    assert step in script
    assert script.index(step) < script.index("\nmake test\n")
    check = dry_run("check")
    lines = [line for line in dry_run(*step.split()[1:]) if "uv sync" not in line]
    assert lines
    assert all(line in check for line in lines)


def test_make_test_runs_the_suite_on_parallel_workers() -> None:
    pytest = next(
        line for line in dry_run("test", "PYTEST_ARGS=-k marker") if " -m pytest " in line
    )
    command = pytest.split()
    assert command[command.index("-n") + 1] == "auto"  # pytest-xdist, one worker per core
    assert command[command.index("--dist") + 1] == "loadfile"  # module fixtures built once
    assert command[-2:] == ["-k", "marker"]  # PYTEST_ARGS still reach pytest


def test_image_builds_wait_for_each_other(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The lock the two image-building fixtures take, as two xdist workers would take it."""
    lock = tmp_path_factory.getbasetemp().parent / "docker-build.lock"
    with (
        one_build_at_a_time(tmp_path_factory),
        lock.open("a") as other_worker,
        pytest.raises(BlockingIOError),  # held: another worker's build would wait here
    ):
        fcntl.flock(other_worker, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with lock.open("a") as other_worker:
        fcntl.flock(other_worker, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released after the build


def test_a_stop_signal_an_earlier_test_left_ignored_reaches_children_again() -> None:
    """Ignored stop signals are inherited by child processes; the autouse fixture undoes that."""
    import signal
    import subprocess

    from testing.signals import restore_stop_signals

    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a library may leave it
    try:
        deaf = subprocess.Popen(["sleep", "60"])
        deaf.terminate()
        with pytest.raises(subprocess.TimeoutExpired):  # the child ignores SIGTERM too
            deaf.wait(timeout=2)
        deaf.kill()
        deaf.wait(timeout=10)
        restore_stop_signals()
        child = subprocess.Popen(["sleep", "60"])
        child.terminate()
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
