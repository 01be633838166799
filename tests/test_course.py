"""One course: every lesson has the same skeleton, and the root README's map leads to each one.

The skeleton, as level-2 headings in this order (a heading may go on, as in "Exercise: protect
senior citizens"; other sections may sit between them): objectives, concepts, run, exercise,
self-check, what breaks, interview angle. Lessons are found as ``tests/lessons.py`` finds them,
so a new package's README is held to this the day it lands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from testing.readme import documented_make_targets
from tests.lessons import headings, lessons

SKELETON = (
    ("objectives", "Objectives"),
    ("concepts", "Concepts"),
    ("run", "Run it"),
    ("exercise", "Exercise"),
    ("self-check", "Self-check"),
    ("what breaks", "What breaks"),
    ("interview angle", "Interview"),
)
README = PROJECT_ROOT / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MAKE = re.compile(r"`make ([a-zA-Z0-9_-]+)[^`]*`")


def skeleton_problems(lesson: Path) -> list[str]:
    """What keeps the lesson's level-2 headings from following the skeleton, with lines."""
    found: list[tuple[int, str]] = []
    problems = []
    for part, start in SKELETON:
        matches = [(n, h) for n, h in headings(lesson) if h.startswith(start)]
        if len(matches) != 1:
            problems.append(f"{part}: {len(matches)} headings start with {start!r}, want 1")
        else:
            found.append(matches[0])
    if [n for n, _ in found] != sorted(n for n, _ in found):
        problems.append(f"out of order: {[h for _, h in found]}")
    return problems


def course_map() -> list[list[str]]:
    """The rows of the root README's course map table, as cells."""
    section = README.read_text().split("## Course map", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


@pytest.mark.parametrize(
    "lesson", [str(p.relative_to(PROJECT_ROOT)) for p in lessons() if p != README]
)
def test_every_lesson_follows_the_skeleton(lesson: str) -> None:
    assert skeleton_problems(PROJECT_ROOT / lesson) == []


def test_the_skeleton_check_fails_on_a_missing_or_misplaced_section(tmp_path: Path) -> None:
    lesson = tmp_path / "README.md"
    good = [f"## {start}\ntext\n" for _, start in SKELETON]
    lesson.write_text("# L\n" + "".join(good) + "```bash\n## Objectives\n```\n")
    assert skeleton_problems(lesson) == []  # a heading-like line in a code block is not one
    lesson.write_text("# L\n" + "".join(good[:4] + good[5:]))
    assert skeleton_problems(lesson) == ["self-check: 0 headings start with 'Self-check', want 1"]
    lesson.write_text("# L\n" + "".join([good[1], good[0], *good[2:]]))
    assert skeleton_problems(lesson)[0].startswith("out of order")


def test_the_course_map_links_every_lesson() -> None:
    linked = {(README.parent / t).resolve() for row in course_map() for t in LINK.findall(row[0])}
    lessons_ = {p.resolve() for p in lessons() if p != README}
    assert sorted(str(p) for p in lessons_ - linked) == []


def test_each_lesson_in_the_map_says_how_to_run_and_check_it() -> None:
    rows = course_map()
    assert rows, "no course map table in README.md"
    targets = documented_make_targets()
    for lesson, _, run, check in rows:
        assert MAKE.search(run), f"{lesson}: no `make ...` to run it"
        assert MAKE.search(check), f"{lesson}: no `make ...` to check it"
        unknown = [t for t in MAKE.findall(run + check) if t not in targets]
        assert unknown == [], f"{lesson}: no documented Makefile target {unknown}"
