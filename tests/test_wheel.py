"""The wheel holds the product: every phase's code and data, no lesson, no test.

Lessons (walkthroughs, demos, self-checks, replays) sit beside the code they teach, in each
phase's ``lesson/``; the build leaves them out, as it leaves out tests and deployment files.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from testing.clone import locked_uv

PHASES = ("phase1_foundations", "phase2_pipelines", "phase3_serving", "phase4_monitoring")


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [str(locked_uv()), "build", "--wheel", "--quiet", "--out-dir", str(out)],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def lesson_files() -> list[str]:
    """What the checkout's lessons hold: every file the wheel must leave out."""
    return sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in PROJECT_ROOT.glob("phase*/lesson/**/*")
        if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.mark.slow
def test_the_built_wheel_holds_no_lesson_module(wheel_files: list[str]) -> None:
    lessons = lesson_files()
    assert any(name.endswith("/lesson/__main__.py") for name in lessons)  # there are lessons
    assert not set(lessons) & set(wheel_files)
    assert [name for name in wheel_files if "lesson" in Path(name).parts] == []
    assert [name for name in wheel_files if "tests" in Path(name).parts] == []


@pytest.mark.slow
def test_the_built_wheel_holds_the_product(wheel_files: list[str]) -> None:
    for phase in (*PHASES, "phase5_capstone"):
        assert f"{phase}/__main__.py" in wheel_files  # each phase's product commands
    assert "phase4_monitoring/monitor.py" in wheel_files
    assert "phase4_monitoring/alerts.yml" in wheel_files
    assert "phase5_capstone/scenarios/default.yml" in wheel_files
    assert "phase1_foundations/catalogue/covariate_shift.yml" in wheel_files  # World needs it
