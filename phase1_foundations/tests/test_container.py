"""The phase-1 image: built offline from the lockfile, non-root, and it reproduces the host."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata

import pytest
from packaging.utils import canonicalize_name

from phase1_foundations.container import compare_with_container
from phase1_foundations.repro import check_reproducibility, git_state, lockfile_hash
from phase1_foundations.settings import PROJECT_ROOT
from testing.images import (
    BUILD_TIMEOUT_S,
    inspect,
    locked_versions,
    one_build_at_a_time,
    run_in,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

TEST_IMAGE = "mlops-path:test"
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make")
# The base interpreters' own bundled pip/setuptools wheels (for ensurepip) are allowed.
BUNDLED_WHEEL_DIRS = ("*/ensurepip/_bundled/*", "/usr/share/python-wheels/*")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build the image with `make image`, as the lesson says, under a tag of its own."""
    with one_build_at_a_time(tmp_path_factory):
        done = subprocess.run(
            ["make", "--no-print-directory", "image", f"IMAGE={TEST_IMAGE}"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        pytest.fail(f"make image failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return TEST_IMAGE


def test_make_phase1_container_reproduces_the_host(image: str) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "phase1-container", f"IMAGE={image}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "=> EQUAL: the container reproduces the host" in done.stdout


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
