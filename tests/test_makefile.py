"""`make` documents itself: its help lists every target with real values, not `$(NAME)`."""

from __future__ import annotations

import re
import subprocess

from phase1_foundations.settings import PROJECT_ROOT


def help_text(*overrides: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "help", *overrides],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)


def test_help_shows_values_not_variable_names() -> None:
    shown = help_text()
    assert "$(" not in shown
    assert "serve the champion on http://127.0.0.1:8000" in shown  # PORT ?= 8000
    assert "Streamlit on http://127.0.0.1:8501" in shown  # SIMULATOR_PORT ?= 8501
    assert "at http://127.0.0.1:3000" in shown  # DAGSTER_PORT ?= 3000


def test_help_shows_the_value_given_on_the_command_line() -> None:
    shown = help_text("PORT=9123", "SIMULATOR_PORT=9124")
    assert "serve the champion on http://127.0.0.1:9123" in shown
    assert "Streamlit on http://127.0.0.1:9124" in shown
