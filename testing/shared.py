"""One expensive result per test session, shared by every module that reads it, on every
pytest-xdist worker: the first to ask builds it under a file lock, the others wait and read it.

A session-scoped fixture alone is built once per worker; this keeps one on disk for all of them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This session's temp directory that every worker sees: the workers' common parent under
    xdist, else the session's own (never a directory an earlier session left)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """The directory ``name``, filled by ``build`` once per test session. A build that failed
    part way is started over by the next worker that asks (and fails there too, if it must)."""
    root = session_root(tmp_path_factory)
    target, done = root / name, root / f"{name}.done"
    with (root / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            done.touch()
    return target
