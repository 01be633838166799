"""Repo-wide test policy: system-dependent tests skip locally, but must run in CI; under
pytest-xdist (`make test`), tests that share a fixture or a system part run on one worker."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from phase1_foundations.container import docker_available


@cache
def docker_ready() -> bool:
    return docker_available()


@cache
def chromium_ready() -> bool:
    """A headless browser and the driver selenium steers it with."""
    browser = any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))
    return browser and shutil.which("chromedriver") is not None


def postgres_bin_dir() -> Path | None:
    """Where initdb, pg_ctl and postgres live: on PATH, or Debian's versioned directory."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


@cache
def postgres_ready() -> bool:
    return postgres_bin_dir() is not None


@cache
def wrk_ready() -> bool:
    return shutil.which("wrk") is not None


@cache
def prometheus_ready() -> bool:
    return shutil.which("prometheus") is not None and shutil.which("promtool") is not None


SYSTEM_PARTS: dict[str, tuple[Callable[[], bool], str]] = {
    "load": (wrk_ready, "no wrk load generator on PATH"),
    "docker": (docker_ready, "no Docker engine answers `docker info`"),
    "browser": (chromium_ready, "no headless Chromium and chromedriver on PATH"),
    "prometheus": (prometheus_ready, "no Prometheus server and promtool on PATH"),
    "postgres": (postgres_ready, "no PostgreSQL server binaries (initdb, pg_ctl)"),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (ready, missing) in SYSTEM_PARTS.items():
        if item.get_closest_marker(marker) is None or ready():
            continue
        if in_ci():
            pytest.fail(f"CI=true but {missing}; .ci/run must install it", pytrace=False)
        pytest.skip(f"{missing} (install it to run this test; CI runs it)")


# Tests that share a system part across modules, by marker: they run one after another on one
# worker. Docker: both image builds debootstrap the same base image when Docker Hub is out of
# reach (two at once would both build it), and two builds at once double the daemon's peak load.
SHARED_PARTS = ("docker",)


def xdist_group_of(item: pytest.Item) -> str:
    """The worker group of a test: its own xdist_group mark, else its shared system part, else
    its module. A module's tests share its module-scoped fixtures (a trained champion, a capstone
    run, a learner's clone, an image): one worker builds them once, a second would build again."""
    mark = item.get_closest_marker("xdist_group")
    if mark is not None:
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    for part in SHARED_PARTS:
        if item.get_closest_marker(part) is not None:
            return part
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`: `--dist loadgroup`), give every test its group, and hand
    out the groups that hold a slow test first, so no slow group starts last while the other
    workers sit idle. Within a group, and in a serial run, the order stays as collected."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))
    if hasattr(config, "workerinput"):  # a worker: its order is the order groups are handed out
        slow = {xdist_group_of(item) for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: xdist_group_of(item) not in slow)  # stable: keeps the rest
