"""Importing any module of any phase has no side effects, and layers import only downwards.

Each phase holds its product code, its lesson (``lesson/``: walkthroughs, demos, self-checks,
replays) and its tests. The product never imports a lesson; a lesson uses its own phase and the
phases below it. Test helpers that tests and benchmarks share live in ``testing/``, which no phase
imports, and no benchmark imports a test module.
"""

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


def imported_modules(path: Path) -> list[str]:
    """Every absolute module a file imports, lazy imports included."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def part_of(path: Path) -> str:
    """ "tests", "lesson" or "product": what a file of a phase is."""
    parts = set(path.relative_to(PROJECT_ROOT).parts)
    return "tests" if "tests" in parts else "lesson" if "lesson" in parts else "product"


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" or "tests" in parts[1:] or "conftest" in parts


HELPERS = {"testing", "tests", "bench", "conftest"}


@pytest.mark.parametrize("layer", LAYERS)
def test_the_product_never_imports_a_lesson_or_a_test_helper(layer: str) -> None:
    for path in (PROJECT_ROOT / layer).rglob("*.py"):
        if part_of(path) != "product":
            continue
        for name in imported_modules(path):
            assert "lesson" not in name.split("."), f"{path} imports the lesson {name}"
            assert name.split(".")[0] not in HELPERS, f"{path} imports {name}"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_lesson_uses_its_phase_and_those_below_never_a_test_helper(layer: str) -> None:
    lesson = PROJECT_ROOT / layer / "lesson"
    assert (lesson / "__main__.py").is_file(), f"{layer} has no lesson commands"
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    for path in lesson.rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top not in HELPERS, f"{path} imports {name}"
            assert not is_test_module(name), f"{path} imports the test module {name}"
            if top.startswith("phase"):
                assert top in allowed, f"{path} imports {name} from above"


@pytest.mark.parametrize("folder", ["bench", "testing"])
def test_benchmarks_and_test_helpers_import_no_test_module(folder: str) -> None:
    paths = sorted((PROJECT_ROOT / folder).rglob("*.py"))
    assert paths
    for path in paths:
        if "tests" in path.relative_to(PROJECT_ROOT / folder).parts:
            continue  # the benchmarks' own tests
        for name in imported_modules(path):
            assert not is_test_module(name), f"{path} imports the test module {name}"


def test_the_rules_see_what_they_forbid() -> None:
    """The checks above can fail: they recognise each kind of import they refuse."""
    assert is_test_module("phase4_monitoring.tests.conftest")
    assert is_test_module("tests.lessons")
    assert not is_test_module("testing.clone")
    assert part_of(PROJECT_ROOT / "phase4_monitoring" / "lesson" / "replay.py") == "lesson"
    assert part_of(PROJECT_ROOT / "phase4_monitoring" / "tests" / "conftest.py") == "tests"
    assert part_of(PROJECT_ROOT / "phase4_monitoring" / "monitor.py") == "product"
