"""Keep lesson READMEs honest: every command they show exists and is exercised by a named test."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT

FENCE = re.compile(r"```bash\n(.*?)```", re.DOTALL)
MAKE_TARGET = re.compile(r"^([a-zA-Z0-9_-]+):.*## ", re.MULTILINE)


def readme_commands(readme: Path) -> list[str]:
    """Each command line in the README's bash blocks, without its trailing comment."""
    commands = []
    for block in FENCE.findall(readme.read_text()):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def documented_make_targets() -> set[str]:
    return set(MAKE_TARGET.findall((PROJECT_ROOT / "Makefile").read_text()))


def missing_coverage(readme: Path, covered_by: dict[str, str]) -> list[str]:
    """Problems: commands with no covering test, unknown make targets, tests that don't exist."""
    problems = []
    targets = documented_make_targets()
    for command in readme_commands(readme):
        if command.startswith("make "):
            target = command.split()[1]
            if target not in targets:
                problems.append(f"{command!r}: no documented Makefile target {target!r}")
        if command not in covered_by:
            problems.append(f"{command!r}: no test is named as running it")
    for command, test in covered_by.items():
        module, _, function = test.partition("::")
        if not hasattr(importlib.import_module(module), function):
            problems.append(f"{command!r}: covering test {test} does not exist")
    return problems


def assert_make_runs(recipes: dict[str, str]) -> None:
    """Each ``make TARGET [VAR=...]`` (dry run) still runs the command its lesson promises."""
    for target, command in recipes.items():
        dry = subprocess.run(
            ["make", "-n", *target.split()],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert command in dry.stdout, f"make {target} no longer runs {command}"
