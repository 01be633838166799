"""The phase-3 lesson's exercise and "Run it" commands, read from its README."""

from __future__ import annotations

from phase1_foundations.settings import PROJECT_ROOT
from testing.readme import FENCE

README = PROJECT_ROOT / "phase3_serving" / "README.md"


def exercise_commands() -> list[str]:
    """The command lines of the exercise section's bash blocks, in order."""
    section = README.read_text().split("## Exercise", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in FENCE.findall(section):
        commands += [line.strip() for line in block.splitlines() if line.strip()]
    return commands


def run_block_curls() -> list[str]:
    """The `curl` commands of the lesson's "Run it" block (they need the running service)."""
    section = README.read_text().split("## Run it", 1)[1].split("\n## ", 1)[0]
    blocks = FENCE.findall(section)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("curl ")]
