"""The phase-1 image: built offline from the lockfile, non-root, and it reproduces the host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from phase1_foundations.container import compare_with_container
from phase1_foundations.repro import check_reproducibility, git_state, lockfile_hash
from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.telco import fetch_telco

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

BUILD_SCRIPT = PROJECT_ROOT / "phase1_foundations" / "docker" / "build-image.sh"
TEST_IMAGE = "mlops-path:test"
BUILD_TIMEOUT_S = 1500
# The same uv as build-image.sh: $UV, else the one on PATH, else the copy `make setup` installs.
UV = os.environ.get("UV") or shutil.which("uv") or str(PROJECT_ROOT / ".tools" / "bin" / "uv")
EXPORT_COMMAND = (
    UV, "export", "--frozen", "--no-dev", "--no-emit-project",
    "--format", "requirements-txt", "--no-hashes", "--quiet",
)  # fmt: skip
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make")
# The base interpreters' own bundled pip/setuptools wheels (for ensurepip) are allowed.
BUNDLED_WHEEL_DIRS = ("*/ensurepip/_bundled/*", "/usr/share/python-wheels/*")


@pytest.fixture(scope="module")
def image() -> str:
    """Build the image the way `make image` does, under a tag of its own."""
    fetch_telco()
    done = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "IMAGE": TEST_IMAGE},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"build-image.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return TEST_IMAGE


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


def locked_versions(python_full_version: str) -> dict[str, str]:
    """name -> version of every core dependency in uv.lock, for the given Python."""
    exported = subprocess.run(
        EXPORT_COMMAND, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=120
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


def test_container_reproduces_the_host(image: str) -> None:
    host = check_reproducibility()
    comparison = compare_with_container(host, image=image)
    assert host.identical  # the host itself retrains deterministically
    assert comparison.container_identical  # so does the container
    assert comparison.container_hash == comparison.host_hash  # and both get the same model


def test_runs_as_non_root(image: str) -> None:
    configured = inspect(image, "{{.Config.User}}")
    assert configured.split(":")[0] not in {"", "0", "root"}  # USER is set, and not to root
    assert run_in(image, "id", "-u") != "0"  # the process really is unprivileged


def test_has_a_working_healthcheck(image: str) -> None:
    check = json.loads(inspect(image, "{{json .Config.Healthcheck.Test}}") or "null")
    assert check, "no HEALTHCHECK in the image"
    assert check[0] == "CMD"  # exec form, no shell needed
    fingerprint = json.loads(run_in(image, *check[1:]))  # the check itself passes
    assert fingerprint["implementation"] == "CPython"


def test_final_image_has_no_build_leftovers(image: str) -> None:
    leftovers = ["/build", "/staging", "/root/.cache/pip", "/app/.cache"]
    present = run_in(
        image, "sh", "-c", 'for p in "$@"; do [ ! -e "$p" ] || echo "$p"; done', "sh", *leftovers
    )
    assert present == ""  # build inputs and pip caches stayed in the builder stages
    prune = [arg for pattern in BUNDLED_WHEEL_DIRS for arg in ("!", "-path", pattern)]
    wheels = run_in(image, "find", "/", "-xdev", "-name", "*.whl", *prune, user="0")
    assert wheels == ""  # no wheels directory was copied into the final image
    compilers = run_in(
        image, "sh", "-c", 'for c in "$@"; do command -v "$c" || true; done', "sh", *COMPILERS
    )
    assert compilers == ""  # no compiler toolchain in the runtime image
    has_pip = run_in(
        image, "python", "-c", "import importlib.util as u; print(bool(u.find_spec('pip')))"
    )
    assert has_pip == "False"  # the installer stayed in the builder too


def test_installed_packages_are_exactly_the_lockfile(image: str) -> None:
    listing = (
        "import importlib.metadata as m, json, platform; print(json.dumps({'python': "
        "platform.python_version(), 'dists': {d.metadata['Name']: d.version "
        "for d in m.distributions()}}))"
    )
    found = json.loads(run_in(image, "python", "-c", listing))
    installed = {canonicalize_name(name): version for name, version in found["dists"].items()}
    expected = locked_versions(found["python"])
    expected["mlops-path"] = metadata.version("mlops-path")
    assert installed == expected  # nothing missing, nothing extra, no version drift


def test_fingerprint_names_the_lockfile_and_commit(image: str) -> None:
    fingerprint = json.loads(
        run_in(image, "python", "-m", "phase1_foundations", "fingerprint", "--json")
    )
    assert fingerprint["lockfile_sha256"] == lockfile_hash()  # build arg from the host's uv.lock
    commit, _ = git_state()
    if commit is not None:
        assert fingerprint["git_commit"] == commit  # build arg from the host's checkout


def test_settings_point_at_the_data_mount(image: str) -> None:
    env = run_in(image, "sh", "-c", 'echo "$MLOPS_DATA_DIR $MLOPS_STATE_DIR $PWD"')
    assert env == "/app/data /tmp/var /app"  # settings point at the mount, state at a tmp dir
