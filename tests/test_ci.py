"""CI installs every system part a marked test needs, and only what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import conftest
from phase1_foundations.settings import PROJECT_ROOT

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


def test_ci_calls_make_test_after_installing() -> None:
    script = CI.read_text()
    assert script.index("apt-get install") < script.index("\nmake test\n")


def test_make_test_runs_the_suite_on_parallel_workers() -> None:
    dry = subprocess.run(
        ["make", "-n", "test", "PYTEST_ARGS=-k marker"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    command = next(line for line in dry.stdout.splitlines() if " -m pytest " in line).split()
    assert command[command.index("-n") + 1] == "auto"  # pytest-xdist, one worker per core
    assert command[command.index("--dist") + 1] == "loadgroup"  # honours conftest's groups
    assert command[-2:] == ["-k", "marker"]  # PYTEST_ARGS still reach pytest


GROUPS_PLUGIN = """
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    for item in items:
        groups = [mark.args[0] for mark in item.iter_markers("xdist_group")]
        docker = item.get_closest_marker("docker") is not None
        print("GROUP", item.nodeid, ",".join(groups), docker, sep="\t")
"""


def test_a_modules_tests_share_a_worker_and_docker_tests_share_one(tmp_path: Path) -> None:
    """Module-scoped fixtures (here: the serving image, Kubernetes manifests) are built once per
    worker, and two image builds must not run at once: the groups `--dist loadgroup` reads."""
    (tmp_path / "groups_plugin.py").write_text(GROUPS_PLUGIN)
    modules = ["phase3_serving/tests/test_deploy.py", "phase1_foundations/tests/test_container.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "groups_plugin", *modules],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("\t")[1:] for line in done.stdout.splitlines() if line.startswith("GROUP\t")]
    assert set(modules) <= {nodeid.split("::")[0] for nodeid, _, _ in rows}
    for nodeid, group, docker in rows:
        assert group == ("docker" if docker == "True" else nodeid.split("::")[0]), nodeid
    assert any(docker == "False" for _, _, docker in rows)  # test_deploy has both kinds
