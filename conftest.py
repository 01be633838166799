"""Repo-wide test policy: system-dependent tests skip locally, but must run in CI; under
pytest-xdist (`make test`), slow modules start first."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from phase1_foundations.container import docker_available
from testing.signals import restore_stop_signals


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`: `--dist loadfile`, each module on one worker, so its
    module-scoped fixtures are built once), hand out the modules that hold a slow test first, so
    no slow module starts last while the other workers sit idle. A serial run keeps its order."""
    if not hasattr(config, "workerinput"):  # not an xdist worker
        return
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow)  # stable: a module keeps its own order


@pytest.fixture(autouse=True)
def _stop_signals_reach_child_processes() -> None:
    """Every test starts with Ctrl-C and SIGTERM as a fresh process has them (see the helper)."""
    restore_stop_signals()
