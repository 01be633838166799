"""Stage the course site for mkdocs: the lessons and the documents, with links that resolve.

The lessons live beside their code (``phaseN_*/README.md``) and the generated documents in
``docs/``; mkdocs wants one folder. ``stage_site`` copies each page there under its site path,
rewrites links between pages to their new places (a link to a source file, which is not a page,
becomes its text and the file's path as code), and writes a config that inherits the root
``mkdocs.yml`` and adds the navigation in course order and the page scripts the site serves
itself (``vendor.py``: no page loads anything from outside the site). A generated document that
does not exist yet gets a page saying what to run first, so the site builds (with ``--strict``)
in a fresh clone.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from docs.vendor import vendor_scripts
from phase1_foundations.settings import PROJECT_ROOT

LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
PAGES_DIR = "pages"
RENDERED_DIR = "rendered"  # documents rendered for the site alone (the ADRs)
CONFIG = "mkdocs.yml"


@dataclass(frozen=True)
class Page:
    source: str  # repository path
    site: str  # path inside the site
    title: str
    missing: str = ""  # what to run first, when the source is a generated document
    rendered: Path | None = None  # where the text is, when rendered here (not at ``source``)


SIMULATOR = Page("simulator/README.md", "simulator.md", "Simulator: incident drills")


def lessons(root: Path) -> list[Page]:
    found = [Page("README.md", "index.md", "Course map")]
    for readme in sorted(root.glob("phase*_*/README.md")):
        package = readme.parent.name
        number, _, name = package.partition("_")
        title = f"Phase {number.removeprefix('phase')}: {name.replace('_', ' ')}"
        found.append(Page(readme.relative_to(root).as_posix(), f"{package}.md", title))
    if (root / SIMULATOR.source).exists():
        found.append(SIMULATOR)
    return found


def postmortems(root: Path) -> list[Page]:
    """The postmortems ``make docs`` copied beside their index (linked from it, not in the nav)."""
    return [
        Page(path.relative_to(root).as_posix(), f"postmortems/{path.name}", title_of(path))
        for path in sorted((root / "docs" / "postmortems").glob("*.md"))
        if path.name != "index.md"
    ]


GENERATED = (
    Page(
        "docs/architecture.md", "architecture.md", "Architecture", "`make phase2`, then `make docs`"
    ),
    Page("docs/experiments.md", "experiments.md", "Experiments", "`make phase2`, then `make docs`"),
    Page(
        "docs/capstone.md", "capstone.md", "Last capstone run", "`make capstone`, then `make docs`"
    ),
    Page(
        "docs/postmortems/index.md",
        "postmortems.md",
        "Postmortems",
        "an incident drill in the simulator, then `make docs`",
    ),
)


def decisions(root: Path, out: Path) -> list[Page]:
    """The ADRs, rendered from their templates and ``params.yaml`` into ``out``, as ``make docs``
    renders them into ``docs/decisions``. They are not committed: a tuned threshold changes the
    next render, with no copy to keep in step."""
    from docs.config_sources import read_declared
    from docs.generate import DECISIONS, environment, render_decisions

    written = render_decisions(environment(), read_declared(root, root / "params.yaml"), out)
    return [
        Page(
            f"docs/{DECISIONS}/{path.name}",
            f"{DECISIONS}/{path.name}",
            title_of(path),
            rendered=path,
        )
        for path in written
    ]


def title_of(path: Path) -> str:
    first = next((line for line in path.read_text().splitlines() if line.startswith("# ")), "")
    return first.removeprefix("# ").strip() or path.stem


def rewrite_links(text: str, page: Page, by_source: dict[str, str]) -> str:
    """Links between staged pages point at their site paths; other relative links become text."""
    source_dir = posixpath.dirname(page.source)
    site_dir = posixpath.dirname(page.site)

    def replace(match: re.Match[str]) -> str:
        text_, target = match["text"], match["target"]
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            return match[0]
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(source_dir, path))
        if resolved in by_source:
            new = posixpath.relpath(by_source[resolved], site_dir or ".")
            return f"[{text_}]({new}{'#' + anchor if anchor else ''})"
        return text_ if resolved in text_ else f"{text_} (`{resolved}`)"

    return LINK.sub(replace, text)


def stub(page: Page) -> str:
    return (
        f"# {page.title}\n\n"
        f"This document is generated from the running system and has not been generated in this"
        f" checkout yet. Run {page.missing} to create it.\n"
    )


def stage_site(out: Path, site_dir: Path, root: Path = PROJECT_ROOT) -> list[Page]:
    """Copy every page into ``out/pages``, write ``out/mkdocs.yml`` (building into
    ``site_dir``); the pages staged."""
    pages_dir = out / PAGES_DIR
    shutil.rmtree(pages_dir, ignore_errors=True)
    design = Page("docs/design.md", "design.md", "Design")
    guide = Page("docs/README.md", "documents.md", "Documents from the running system")
    glossary = Page("docs/glossary.md", "glossary.md", "Glossary")
    pages = [
        *lessons(root),
        glossary,
        design,
        guide,
        *GENERATED,
        *decisions(root, out / RENDERED_DIR),
        *postmortems(root),
    ]
    by_source = {page.source: page.site for page in pages}
    for page in pages:
        source = page.rendered or root / page.source
        text = source.read_text() if source.exists() else stub(page)
        target = pages_dir / page.site
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rewrite_links(text, page, by_source), encoding="utf-8", newline="\n")
    adrs = [p for p in pages if p.site.startswith("decisions/")]
    nav = [
        {"Course map": "index.md"},
        {"Lessons": [{p.title: p.site} for p in pages[1 : len(lessons(root))]]},
        {glossary.title: glossary.site},
        {
            "The system": [
                {design.title: design.site},
                {guide.title: guide.site},
                *({p.title: p.site} for p in GENERATED),
            ]
        },
        {"Decisions": [{p.title: p.site} for p in adrs]},
    ]
    config = {
        "INHERIT": str((root / CONFIG).resolve()),
        "docs_dir": PAGES_DIR,
        "site_dir": str(site_dir.resolve()),
        "nav": nav,
        # Mermaid from the site itself: the theme fetches it from a CDN only when it is missing.
        "extra_javascript": vendor_scripts(pages_dir),
    }
    (out / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return pages
