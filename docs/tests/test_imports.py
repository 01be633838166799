"""The documents package follows the house rules: importing it does nothing, and no phase
imports it (it reads every layer, so it sits beside the house, not inside it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT

MODULES = [
    "docs",
    "docs.capstone_evidence",
    "docs.config_sources",
    "docs.live_sources",
    "docs.generate",
    "docs.site",
]


def test_importing_the_docs_modules_has_no_side_effects(tmp_path: Path) -> None:
    state, cwd, home = tmp_path / "state", tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    code = f"import importlib\nfor name in {MODULES!r}:\n    importlib.import_module(name)\n"
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={
            "MLOPS_STATE_DIR": str(state),
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "PYTHONPATH": str(PROJECT_ROOT),
        },
        check=True,
        timeout=300,
    )
    assert not state.exists()  # no MLflow store created on import
    assert list(cwd.iterdir()) == []


def test_no_phase_imports_the_docs_package() -> None:
    for path in PROJECT_ROOT.glob("phase*_*/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert all(name.split(".")[0] != "docs" for name in names), f"{path} imports docs"
