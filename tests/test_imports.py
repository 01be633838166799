"""Importing any module of any phase has no side effects, and layers import only downwards."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT

LAYERS = [
    "phase1_foundations",
    "phase2_pipelines",
    "phase3_serving",
    "phase4_monitoring",
    "phase5_capstone",
]


def test_importing_every_module_has_no_side_effects(tmp_path: Path) -> None:
    state, cwd, home = tmp_path / "state", tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    code = (
        "import importlib, pkgutil\n"
        f"for package in {LAYERS!r}:\n"
        "    root = importlib.import_module(package)\n"
        "    for m in pkgutil.walk_packages(root.__path__, package + '.'):\n"
        "        if '.tests' not in m.name and not m.name.endswith('__main__'):\n"
        "            importlib.import_module(m.name)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        # HOME apart: third-party caches (matplotlib's font cache) are not ours to judge.
        env={"MLOPS_STATE_DIR": str(state), "PATH": "/usr/bin:/bin", "HOME": str(home)},
        check=True,
    )
    assert not state.exists()  # nothing created on import
    assert list(cwd.iterdir()) == []  # nor in the working directory (no ./mlruns)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_phase_imports_only_from_phases_below(layer: str) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1 :]) | {"simulator"}
    for path in (PROJECT_ROOT / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in above, f"{path} imports {name} from above"
