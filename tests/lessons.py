"""The course's lessons and the shell commands their code blocks show, with file and line.

Convention for a lesson's code blocks (every fence names its language):
- ```bash, ```sh, ```shell: every non-comment line is a command (a trailing ``  # ...`` is a
  note, a trailing backslash continues the command on the next line);
- ```console: a line starting with ``$ `` is a command, the other lines are its output;
- anything else (```text for output, ```yaml, ```python ...) is shown, never run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT

RUNNABLE = frozenset({"bash", "sh", "shell", "console"})
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
PROMPT = "$ "
NOTE = "  #"


@dataclass(frozen=True)
class Block:
    lesson: Path
    line: int  # of the opening fence, 1-based
    language: str
    lines: tuple[tuple[int, str], ...]  # (line number, text) of the body


@dataclass(frozen=True)
class LessonCommand:
    lesson: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.lesson.relative_to(PROJECT_ROOT)}:{self.line}"


def lessons(root: Path = PROJECT_ROOT) -> list[Path]:
    """The root README and the README of every package: each package's README is its lesson."""
    packages = (p for p in root.glob("*/README.md") if (p.parent / "__init__.py").is_file())
    return [root / "README.md", *sorted(packages)]


def code_blocks(lesson: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = lesson.read_text().splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if opened is None:
            i += 1
            continue
        fence, language, start = opened.group(1), opened.group(2), i + 1
        body: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append((i + 1, lines[i]))
            i += 1
        blocks.append(Block(lesson, start, language, tuple(body)))
        i += 1  # the closing fence
    return blocks


def block_commands(block: Block) -> list[LessonCommand]:
    """The commands of one runnable block, as a learner would type them."""
    if block.language not in RUNNABLE:
        return []
    commands: list[LessonCommand] = []
    pending: tuple[int, str] | None = None
    for number, raw in block.lines:
        text = raw.strip()
        if block.language == "console":
            if not text.startswith(PROMPT):
                continue
            text = text[len(PROMPT) :]
        if pending is None:
            text = text.split(NOTE)[0].strip()
            if not text or text.startswith("#"):
                continue
            pending = (number, text)
        else:
            pending = (pending[0], pending[1] + " " + text.split(NOTE)[0].strip())
        if pending[1].endswith("\\"):
            pending = (pending[0], pending[1][:-1].rstrip())
            continue
        commands.append(LessonCommand(block.lesson, *pending))
        pending = None
    if pending is not None:
        commands.append(LessonCommand(block.lesson, *pending))
    return commands


def lesson_commands(lesson: Path) -> list[LessonCommand]:
    return [command for block in code_blocks(lesson) for command in block_commands(block)]


def registry_module(lesson: Path, root: Path = PROJECT_ROOT) -> str:
    """Where a lesson names the tests that run its commands (its ``COVERED_BY``)."""
    if lesson.parent == root:
        return "tests.test_root_readme"
    return f"{lesson.parent.name}.tests.test_lesson"


# `make TARGET`, `make("TARGET")`, `["make", "--no-print-directory", "TARGET"]`; not `make -n`.
MAKE_CALL = r"make(?:[\s\"'(,\[]|--no-print-directory|-s\b)*{target}(?![\w-])"
WORD = re.compile(r"^[a-z][a-z0-9_.-]*$")


def bounded(word: str) -> str:
    return rf"(?<![\w-]){re.escape(word)}(?![\w-])"


def evidence(command: str) -> list[str]:
    """Patterns a test's source must contain to be running ``command``.

    What a test may adapt (paths under a temporary state dir, ports, placeholders) is left out;
    what makes the command this command stays in: the environment variables it sets, the make
    target, or the program (module) with its subcommand words and every option.
    """
    words = shlex.split(command.split(" && ")[-1].split(" | ")[0])
    patterns: list[str] = []
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        patterns.append(bounded(words.pop(0).split("=")[0]))
    if not words:
        return patterns
    program, rest = words[0], words[1:]
    if program == "make":
        target = rest[0]
        return [*patterns, MAKE_CALL.format(target=re.escape(target))]
    if Path(program).name.startswith("python") and rest[:1] == ["-m"]:
        program, rest = rest[1], rest[2:]
    patterns.append(bounded(Path(program).name if "/" in program else program))
    for word in rest:
        if not WORD.match(word) or "." in word:
            break
        patterns.append(bounded(word))
    patterns += [bounded(word.split("=")[0]) for word in rest if word.startswith("--")]
    return patterns


def headings(lesson: Path, level: int = 2) -> list[tuple[int, str]]:
    """(line, text) of the lesson's headings of one level, outside code blocks."""
    inside = {number for block in code_blocks(lesson) for number, _ in block.lines}
    mark = "#" * level + " "
    return [
        (number, line[len(mark) :].strip())
        for number, line in enumerate(lesson.read_text().splitlines(), start=1)
        if line.startswith(mark) and number not in inside
    ]
