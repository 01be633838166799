"""Library log lines go to a file under the state directory; ours, and everything with -v, to
the terminal. The libraries here are stand-ins written by the test, so the oracle is what the
test itself logged."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from phase1_foundations.logs import configure_logging, when_imported
from phase1_foundations.settings import Settings


@pytest.fixture
def clean_root() -> Iterator[None]:
    """The root logger as it was (configure_logging changes it process-wide)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers, root.level = handlers, level
    logging.captureWarnings(False)


@pytest.mark.usefixtures("clean_root")
def test_library_lines_go_to_the_file_and_ours_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLOPS_LOG", raising=False)
    log = configure_logging("unit", settings=Settings(state_dir=tmp_path))
    assert log == tmp_path / "logs" / "unit.log"
    logging.getLogger("somelibrary.store").warning("Failed to resolve installed pip version")
    logging.getLogger("somelibrary").info("Creating initial database tables")
    logging.getLogger("phase3_serving").warning("challenger v7 failed: timeout")
    logging.getLogger("phase3_serving").info("serving v7")  # ours, but only a note
    err = capsys.readouterr().err
    assert "pip version" not in err
    assert "database tables" not in err
    assert "challenger v7 failed: timeout" in err
    assert "serving v7" not in err
    written = log.read_text()
    for line in ("pip version", "database tables", "challenger v7 failed", "serving v7"):
        assert line in written


@pytest.mark.usefixtures("clean_root")
def test_verbose_or_mlops_log_debug_puts_every_line_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLOPS_LOG", raising=False)
    assert configure_logging("unit", verbose=True, settings=Settings(state_dir=tmp_path)) is None
    logging.getLogger("somelibrary").info("Detected uv project")
    assert "Detected uv project" in capsys.readouterr().err
    monkeypatch.setenv("MLOPS_LOG", "debug")
    assert configure_logging("unit", settings=Settings(state_dir=tmp_path)) is None
    logging.getLogger("somelibrary").debug("a debug line")
    assert "a debug line" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


@pytest.mark.usefixtures("clean_root")
def test_a_second_call_replaces_its_handlers_and_keeps_others(tmp_path: Path) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    settings = Settings(state_dir=tmp_path)
    configure_logging("unit", settings=settings)
    count = len(root.handlers)
    configure_logging("unit", settings=settings)
    assert len(root.handlers) == count
    assert foreign in root.handlers


def test_a_callback_runs_after_the_module_first_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library that installs its own stderr handler on import (as MLflow does) is rerouted
    after that import, not before it, where the import would undo the rerouting."""
    (tmp_path / "noisylib.py").write_text(
        textwrap.dedent(
            """
            import logging, sys
            logging.getLogger("noisylib").handlers = [logging.StreamHandler(sys.stderr)]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "noisylib", raising=False)
    seen: list[int] = []
    when_imported(
        "noisylib", lambda module: seen.append(len(logging.getLogger(module.__name__).handlers))
    )
    assert seen == []
    import noisylib  # noqa: F401

    assert seen == [1]  # the module had run: its handler was there to remove
    when_imported("noisylib", lambda module: seen.append(0))  # imported already: at once
    assert seen == [1, 0]
    logging.getLogger("noisylib").handlers = []
