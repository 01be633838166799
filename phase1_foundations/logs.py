"""Where log lines go: ours on the screen, the libraries' in a file under the state directory.

MLflow, alembic, uvicorn and friends log INFO and WARNING lines ("Detected uv project", "Failed
to resolve installed pip version", "Creating initial MLflow database tables") that a newcomer
reads as errors in the middle of our progress bar. An entry point (a ``main``, never an import)
calls ``configure_logging`` once: every library record goes to ``<state>/logs/<program>.log``;
our own packages' warnings still reach the screen. ``-v`` or ``MLOPS_LOG=debug`` (or ``info``)
puts everything back on the screen.

MLflow installs its own stderr handlers when it is first imported (``mlflow/__init__``), which
would undo this for a process that imports it later, so the rerouting waits for that import.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from phase1_foundations.settings import Settings, get_settings

LOG_ENV = "MLOPS_LOG"
VERBOSE_VALUES = {"debug": logging.DEBUG, "info": logging.INFO}
OUR_PACKAGES = frozenset(
    {
        "phase1_foundations",
        "phase2_pipelines",
        "phase3_serving",
        "phase4_monitoring",
        "phase5_capstone",
        "simulator",
        "docs",
        "bench",
        "__main__",
    }
)
# The loggers MLflow gives handlers of its own (mlflow.utils.logging_utils).
MLFLOW_LOGGERS = ("mlflow", "alembic", "sqlalchemy.engine", "huey")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_mlops_path_handler"  # on the handlers this module adds, so a second call replaces them


def verbosity(verbose: bool = False) -> int | None:
    """The level to show every library's lines at, or None to keep them off the screen."""
    if verbose:
        return logging.INFO
    return VERBOSE_VALUES.get(os.environ.get(LOG_ENV, "").strip().lower())


def is_ours(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in OUR_PACKAGES


def log_file(program: str, settings: Settings | None = None) -> Path:
    return (settings or get_settings()).state_dir / "logs" / f"{program}.log"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a test's capture, then the real
    one again), not to the stream that was current when the handler was made."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """The base class sets the stream it was given; this handler ignores it."""


def _tagged(handler: logging.Handler) -> logging.Handler:
    setattr(handler, _MARK, True)
    return handler


def configure_logging(
    program: str, verbose: bool = False, settings: Settings | None = None
) -> Path | None:
    """Send library log lines to ``<state>/logs/<program>.log`` (returned), or, when verbose,
    everything to stderr (None). Idempotent; handlers that others added (pytest's) are kept."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    level = verbosity(verbose)
    if level is not None:
        console = _tagged(_Stderr())
        console.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(console)
        root.setLevel(level)
        os.environ["MLFLOW_LOGGING_LEVEL"] = logging.getLevelName(level)
        return None
    path = log_file(program, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = _tagged(logging.FileHandler(path, encoding="utf-8"))
    to_file.setFormatter(logging.Formatter(FORMAT))
    ours = _tagged(_Stderr())
    ours.setLevel(logging.WARNING)
    ours.addFilter(is_ours)
    ours.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(to_file)
    root.addHandler(ours)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # a library's warnings.warn: to the file, as py.warnings
    when_imported("mlflow", _reroute_mlflow)
    return path


class _LinesToLogger:
    """A text stream whose lines become INFO records of a logger (MLflow's ``eprint`` prints
    "Created version '3' of model ..." to a stream of its own, not through a logger)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger, self.enabled, self._pending = logger, True, ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip() and self.enabled:
                self.logger.info(line)
        return len(text)

    def flush(self) -> None:
        """Lines are logged as they end; nothing is buffered past a newline."""


def _reroute_mlflow(module: ModuleType) -> None:
    """MLflow's loggers to the root's handlers (the file), and its ``eprint`` lines too.

    Phase 1 does not depend on MLflow: it only touches what an import of MLflow has loaded."""
    for name in MLFLOW_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging_utils = sys.modules.get("mlflow.utils.logging_utils")  # loaded by mlflow/__init__
    if logging_utils is not None:
        # eprint looks the stream up at each call; a duck-typed stream (write, flush, enabled).
        stream = _LinesToLogger(logging.getLogger("mlflow.eprint"))
        setattr(logging_utils, "MLFLOW_LOGGING_STREAM", stream)  # noqa: B010


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a callback once a module has been executed (the first time it is imported)."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, callback = spec.loader, self.callback
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            callback(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """``callback(module)`` now if ``name`` is imported already, else right after its import."""
    if name in sys.modules:
        callback(sys.modules[name])
        return
    for finder in sys.meta_path:
        if isinstance(finder, _AfterImport) and finder.name == name:
            sys.meta_path.remove(finder)
    sys.meta_path.insert(0, _AfterImport(name, callback))
