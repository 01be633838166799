"""Helpers for tests that build a project image and look inside it (phase 1's and phase 3's)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from phase1_foundations.settings import PROJECT_ROOT

BUILD_TIMEOUT_S = 1500
# The same uv as build-image.sh: $UV, else the one on PATH, else the copy `make setup` installs.
UV = os.environ.get("UV") or shutil.which("uv") or str(PROJECT_ROOT / ".tools" / "bin" / "uv")


@contextmanager
def one_build_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Parallel test workers (pytest-xdist) build one image at a time: without Docker Hub both
    builds debootstrap the same base image, and two builds at once would each build it."""
    lock = tmp_path_factory.getbasetemp().parent / "docker-build.lock"  # shared by the workers
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def build_image(script: Path, tag: str, **env: str) -> str:
    """Run a build script as its make target does, under a tag of the test's own."""
    done = subprocess.run(
        ["bash", str(script)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "IMAGE": tag, **env},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{script.name} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return tag


def docker(*args: str) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args)} failed:\n{done.stderr[-2000:]}"
    return done.stdout.strip()


def run_in(image: str, *command: str, user: str | None = None) -> str:
    user_args = ["--user", user] if user else []
    return docker("run", "--rm", "--network", "none", *user_args, image, *command)


def inspect(image: str, template: str) -> str:
    return docker("image", "inspect", "--format", template, image)


def locked_versions(python_full_version: str, extras: tuple[str, ...] = ()) -> dict[str, str]:
    """name -> version of every dependency uv.lock pins for these extras, for that Python."""
    extra_args = [arg for extra in extras for arg in ("--extra", extra)]
    exported = subprocess.run(
        [
            UV,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            *extra_args,
            "--format",
            "requirements-txt",
            "--no-hashes",
            "--quiet",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    python_version = ".".join(python_full_version.split(".")[:2])
    target = {"python_full_version": python_full_version, "python_version": python_version}
    versions: dict[str, str] = {}
    for line in exported.splitlines():
        if not line or line.startswith(("#", " ")):
            continue
        requirement, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(target):
            continue
        name, _, version = requirement.strip().partition("==")
        versions[canonicalize_name(name)] = version
    return versions
