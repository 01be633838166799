"""The glossary: every term it defines that a lesson uses is linked there on its first use in
that lesson, and only then; every link lands on a heading of the glossary; the site has it."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from tests.lessons import lessons

GLOSSARY = PROJECT_ROOT / "docs" / "glossary.md"


@dataclass(frozen=True)
class Term:
    anchor: str  # the glossary heading's slug
    pattern: str  # how a lesson writes it (a regular expression)
    ignore_case: bool = False

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)


# The terms a newcomer needs before phase 2, and the ones each later phase adds.
TERMS = (
    Term("auc", r"(?<![\w-])AUC(?!\w)"),
    Term("dauc", r"(?<![\w-])dAUC(?!\w)"),
    Term("pr-auc", r"(?<![\w-])PR AUC(?!\w)"),
    Term("brier-score", r"\bBrier\b"),
    Term("calibration", r"\bcalibrat(?:ion|ed)\b", ignore_case=True),
    Term("holdout", r"\bholdout\b", ignore_case=True),
    Term("bootstrap", r"\bbootstrap\b(?![-\w])", ignore_case=True),
    Term("delong", r"\bDeLong\b"),
    Term("wilson-interval", r"\bWilson\b"),
    Term("clopper-pearson-interval", r"\bClopper-Pearson\b"),
    Term("effect-size", r"\beffect sizes?\b", ignore_case=True),
    Term("noise-floor", r"\bnoise floors?\b", ignore_case=True),
    Term("false-alarm-rate", r"\bfalse[- ]alarm rates?\b", ignore_case=True),
    Term("data-drift", r"\bdata drift\b", ignore_case=True),
    Term("covariate-drift", r"\bcovariate (?:drift|shift)\b", ignore_case=True),
    Term("concept-drift", r"\bconcept drift\b", ignore_case=True),
    Term("prediction-drift", r"\bprediction drift\b", ignore_case=True),
    Term("psi", r"(?<![\w-])PSI(?!\w)"),
    Term("jensen-shannon-distance", r"\bJensen-Shannon\b"),
    Term("wasserstein-distance", r"\bWasserstein\b"),
    Term("reference-profile", r"\breference profiles?\b", ignore_case=True),
    Term("cbpe", r"(?<![\w-])CBPE(?!\w)"),
    Term("label-delay", r"\blabel delay\b", ignore_case=True),
    Term("champion-and-challenger", r"\bchampions?\b", ignore_case=True),
    Term("champion-and-challenger", r"\bchallengers?\b", ignore_case=True),
    Term("alias", r"\balias(?:es)?\b", ignore_case=True),
    Term("shadow", r"\bshadow\b", ignore_case=True),
    Term("canary", r"\bcanary\b", ignore_case=True),
    Term("guardrail", r"\bguardrails?\b", ignore_case=True),
    Term("quarantine", r"\bquarantin(?:e|ed|es|ing)\b", ignore_case=True),
    Term("training-serving-skew", r"\btraining-serving skew\b", ignore_case=True),
)
FENCE = re.compile(r"^\s*(```|~~~)")
# Spans where a term is not prose: inline code, link targets, autolinks and HTML tags.
NOT_PROSE = re.compile(r"`[^`]*`|\]\([^)]*\)|<[^>\n]*>")
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


@dataclass(frozen=True)
class Use:
    line: int
    column: int
    text: str
    link: str | None  # the link's target when the use is a link's text


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside code blocks and headings, as a reader meets them."""
    found, inside = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside and not line.startswith("#"):
            found.append((number, line))
    return found


def uses(text: str, term: Term) -> list[Use]:
    """Every use of ``term`` in prose, in reading order, each with its glossary link if it has
    one (a use inside the text of another link cannot link here too, and is skipped)."""
    found = []
    for number, line in prose_lines(text):
        links = [(m.start("text"), m.end("text"), m["target"]) for m in LINK.finditer(line)]
        hidden = [(m.start(), m.end()) for m in NOT_PROSE.finditer(line)]
        for match in term.regex.finditer(line):
            if any(a <= match.start() < b for a, b in hidden):
                continue
            target = next((t for a, b, t in links if a <= match.start() < b), None)
            if target is not None and not target.endswith(f"glossary.md#{term.anchor}"):
                continue  # the text of another link ("PR AUC", another page): links do not nest
            found.append(Use(number, match.start(), match[0], target))
    return found


def glossary_target(lesson: Path, anchor: str) -> str:
    relative = posixpath.relpath(GLOSSARY.as_posix(), lesson.parent.as_posix())
    return f"{relative}#{anchor}"


def heading_slugs(path: Path) -> set[str]:
    """The anchors mkdocs (and GitHub) give the headings: lower case, words joined by hyphens."""
    slugs = set()
    for _, line in [(0, line) for line in path.read_text().splitlines() if line.startswith("#")]:
        title = line.lstrip("#").strip().lower()
        slugs.add(re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", title)))
    return slugs


def problems_in(lesson: Path) -> list[str]:
    text = lesson.read_text()
    problems = []
    name = lesson.relative_to(PROJECT_ROOT)
    for term in TERMS:
        found = uses(text, term)
        if not found:
            continue
        first, wanted = found[0], glossary_target(lesson, term.anchor)
        if first.link != wanted:
            problems.append(f"{name}:{first.line}: first use of {first.text!r} links {wanted}")
        repeated = [u for u in found[1:] if u.link is not None and "glossary.md" in u.link]
        problems += [
            f"{name}:{u.line}: {u.text!r} is linked to the glossary again (first use only)"
            for u in repeated
        ]
    return problems


@pytest.mark.parametrize("lesson", lessons(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_each_lesson_links_the_glossary_on_first_use_only(lesson: Path) -> None:
    assert problems_in(lesson) == []


def test_every_term_has_its_heading() -> None:
    assert {term.anchor for term in TERMS} <= heading_slugs(GLOSSARY)


def test_an_unlinked_first_use_and_a_second_link_are_found(tmp_path: Path) -> None:
    lesson = tmp_path / "phaseX" / "README.md"
    lesson.parent.mkdir()
    target = glossary_target(PROJECT_ROOT / "phase2_pipelines" / "README.md", "psi")
    lesson.write_text(
        f"# PSI in a heading is not a use\n```text\nPSI in code\n```\nThe `PSI` in code.\n"
        f"First PSI here, then [PSI]({target}).\n"
    )
    found = uses(lesson.read_text(), next(t for t in TERMS if t.anchor == "psi"))
    assert [(u.line, u.link) for u in found] == [(6, None), (6, target)]


def test_the_site_has_the_glossary(tmp_path: Path) -> None:
    from docs.site import stage_site

    pages = stage_site(tmp_path / "src", tmp_path / "site")
    assert {page.source: page.site for page in pages}["docs/glossary.md"] == "glossary.md"
    nav = (tmp_path / "src" / "mkdocs.yml").read_text()
    assert "Glossary: glossary.md" in nav
