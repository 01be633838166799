"""A command line's ``main`` run in the test process, its output captured like a subprocess's.

A subprocess pays seconds of imports before it does anything; the cases a test only needs the
command's exit code and output for call the same ``main`` here instead.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Callable
from pathlib import Path


def run_in_process(
    main: Callable[[list[str]], int], *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``main(args)``: its return code and what it printed to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    argv = [str(arg) for arg in args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
