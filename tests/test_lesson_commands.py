"""Every shell command a lesson shows is run: here, or by a named test that provably runs it.

Lessons are the root README and the README of every package (``*/README.md`` next to an
``__init__.py``), so a new lesson is held to this as soon as it lands. Their runnable blocks are
```bash, ```sh, ```shell and ```console (see ``tests/lessons.py``); output is shown in ```text.

Each command is either
- cheap, and run here as written (``RUN_HERE``); or
- named in its lesson's registry, ``COVERED_BY`` in ``<package>/tests/test_lesson.py`` (the root
  README's in ``tests/test_root_readme.py``), mapping the exact command to the test that runs it.
  The registry cannot lie: the named test's code (with the fixtures, helpers and constants it
  reaches, see ``tests/covering.py``) must show the command's make target, or the program with
  its subcommand, options and environment variables; or the test reads its commands from the
  lesson itself. Servers are started, and stopped, by those tests, each with a bounded wait.

A command that is neither run here nor provably covered fails with its file and line.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from tests.covering import reached_source
from tests.lessons import (
    RUNNABLE,
    LessonCommand,
    code_blocks,
    evidence,
    lesson_commands,
    lessons,
    registry_module,
)

COMMAND_TIMEOUT_S = 60


def activates_the_project_environment(command: str) -> None:
    done = subprocess.run(
        ["bash", "-c", f"{command} && command -v python dvc uv"],
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    venv = PROJECT_ROOT / ".venv" / "bin"
    assert done.stdout.split() == [str(venv / name) for name in ("python", "dvc", "uv")]


# Cheap commands, run here as written; each checks what the lesson says the command does.
RUN_HERE: dict[str, Callable[[str], None]] = {
    "source .venv/bin/activate": activates_the_project_environment,
}
# Commands too costly for any test to run, said so here: their named test dry-runs the target
# (`make -n`) and checks its recipe. Each one is reported by name, never silently skipped.
DRY_RUN_ONLY: dict[str, str] = {
    "make nannyml-env": "installs NannyML (~1.8 GB, not in the lock) from PyPI; optional",
}
MAKE_RULE = re.compile(r"^([a-zA-Z0-9_-]+):(?!=)", re.MULTILINE)
MAKE_VARIABLES = {"$(PY)": "python", "$(VENV)/bin/": "", "exec env ": ""}


def all_commands() -> list[LessonCommand]:
    return [command for lesson in lessons() for command in lesson_commands(lesson)]


def registry(lesson: Path) -> tuple[ModuleType | None, dict[str, str]]:
    try:
        module = importlib.import_module(registry_module(lesson))
    except ModuleNotFoundError:
        return None, {}
    covered: dict[str, str] = getattr(module, "COVERED_BY", {})
    return module, covered


def recipe(target: str) -> list[str]:
    """The commands ``make TARGET`` itself runs (its recipe, without housekeeping ``@`` lines)."""
    text = (PROJECT_ROOT / "Makefile").read_text()
    start = next((m.end() for m in MAKE_RULE.finditer(text) if m.group(1) == target), None)
    if start is None:
        return []
    joined: list[str] = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("\t") and not (joined and joined[-1].endswith("\\")):
            break
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + " " + line.strip()
        else:
            joined.append(line.strip())
    lines = []
    for command in joined:
        if command.startswith(("@", "#")):
            continue
        for variable, value in MAKE_VARIABLES.items():
            command = command.replace(variable, value)
        lines.append(re.sub(r"^(?:[A-Z_]+=\S+\s+)+", "", command))
    return lines


def shows(source: str, command: str) -> bool:
    return all(re.search(pattern, source) for pattern in evidence(command))


def read_from_lesson(node_id: str, source: str) -> list[str]:
    """Commands the test takes from the lesson itself: the zero-argument ``list[str]`` readers
    it calls, defined in its module or in a test helper module it imports them from."""
    module = importlib.import_module(node_id.partition("::")[0])
    commands: list[str] = []
    for name, function in inspect.getmembers(module, inspect.isfunction):
        signature = inspect.signature(function)
        if (
            ".tests." in f".{function.__module__}."
            and not signature.parameters
            and signature.return_annotation in ("list[str]", list[str])
            and re.search(rf"(?<![\w.]){name}\(", source)
        ):
            commands += function()
    return commands


def coverage_problem(command: LessonCommand, covered: dict[str, str]) -> str | None:
    """Why ``command`` is not provably run by the test its registry names (None: it is)."""
    node_id = covered.get(command.text)
    if node_id is None:
        return f"{command.where}: `{command.text}` is not run here nor named in {{registry}}"
    try:
        source = reached_source(node_id)
    except LookupError as error:
        return f"{command.where}: `{command.text}`: {error}"
    if shows(source, command.text) or command.text in read_from_lesson(node_id, source):
        return None
    if command.text in DRY_RUN_ONLY:
        target = re.escape(command.text.split()[1])
        if re.search(r"\"make\", \"-n\"", source) and re.search(rf"\"{target}\"", source):
            return None
    if command.text.startswith("make "):
        target = command.text.split()[1]
        if any(shows(source, line) for line in recipe(target)):
            return None  # the test runs what the target's recipe runs
    wanted = ", ".join(evidence(command.text))
    return f"{command.where}: `{command.text}`: {node_id} does not show it ({wanted})"


def test_lessons_are_found_generically() -> None:
    found = {str(p.relative_to(PROJECT_ROOT)) for p in lessons()}
    assert {"README.md", "docs/README.md"} <= found
    assert {f"{p.parent.name}/README.md" for p in PROJECT_ROOT.glob("phase*/README.md")} <= found


def test_every_code_block_says_what_it_is() -> None:
    """An untagged block could hide a command; output blocks are ```text."""
    untagged = [
        f"{block.lesson.relative_to(PROJECT_ROOT)}:{block.line}"
        for lesson in lessons()
        for block in code_blocks(lesson)
        if not block.language
    ]
    assert untagged == [], "tag these blocks (```bash to run, ```text for output)"


def test_every_lesson_command_is_run_or_provably_covered() -> None:
    problems = []
    for lesson in lessons():
        module, covered = registry(lesson)
        name = module.__name__ if module else registry_module(lesson)
        for command in lesson_commands(lesson):
            if command.text in RUN_HERE:
                continue
            problem = coverage_problem(command, covered)
            if problem:
                problems.append(problem.replace("{registry}", f"{name}.COVERED_BY"))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "command",
    sorted({c.text for c in all_commands() if c.text in RUN_HERE}),
)
def test_the_cheap_commands_run_as_written(command: str) -> None:
    RUN_HERE[command](command)


def test_a_block_of_each_runnable_kind_is_read(tmp_path: Path) -> None:
    lesson = tmp_path / "README.md"
    lesson.write_text(
        "```bash\nmake a  # note\n# comment\nmake b \\\n  X=1\n```\n"
        "```console\n$ make c\noutput\n```\n```text\n$ make d\n```\n```sh\nmake e\n```\n"
    )
    assert {block.language for block in code_blocks(lesson)} == RUNNABLE - {"shell"} | {"text"}
    found = [(c.line, c.text) for c in lesson_commands(lesson)]
    assert found == [(2, "make a"), (4, "make b X=1"), (8, "make c"), (15, "make e")]


def test_an_uncovered_or_falsely_covered_command_fails_with_file_and_line(tmp_path: Path) -> None:
    command = LessonCommand(PROJECT_ROOT / "README.md", 7, "make phase4")
    assert coverage_problem(command, {}) is not None
    assert str(coverage_problem(command, {})).startswith("README.md:7: `make phase4`")
    liar = {"make phase4": "tests.test_lesson_commands::test_lessons_are_found_generically"}
    assert "does not show it" in str(coverage_problem(command, liar))
    missing = {"make phase4": "tests.test_lesson_commands::test_nothing_here"}
    assert "has no test_nothing_here" in str(coverage_problem(command, missing))
    honest = {
        "make phase4": "phase4_monitoring.tests.test_walkthrough::"
        "test_make_phase4_serves_monitors_alerts_and_decides"
    }
    assert coverage_problem(command, honest) is None
